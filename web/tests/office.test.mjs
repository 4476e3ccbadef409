// Street office: the count-weighted heatmap from the `reports` tiles renders, filters re-request
// the tiles with since/until/category/status, the ranked zone list flies to a zone, and a report
// popup dispatches.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, signIn, mapIdle, offOrigin, shot, DESKTOP, PHONE, ARTIFACTS } from './helpers.mjs';

let srv;
let browser;

before(async () => {
  srv = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

const tileUrls = (requests) => requests.filter((u) => /\/tiles\/\d+\/\d+\/\d+\.mvt/.test(u));
const reportTileUrls = (requests) => tileUrls(requests).filter((u) => /[?&]layers=reports(&|$)/.test(u));
/**
 * The last request of each report tile: what the map ended up drawing. A live report event just
 * before a filter change may still re-request a tile with the old filter (a refresh already on its
 * way), so only each tile's latest request has to carry the new filter.
 */
const lastPerTile = (urls) => [...new Map(urls.map((u) => [u.match(/\/tiles\/(\d+\/\d+\/\d+)\.mvt/)[1], u])).values()];

for (const [size, viewport] of [
  ['desktop', DESKTOP],
  ['phone', PHONE],
]) {
  test(`office heatmap renders and filters change the tile requests (${size})`, async () => {
    const { context, page, requests, errors } = await openPage(browser, srv.base, { viewport });
    try {
      await signIn(page, 'office');
      await page.evaluate(() => window.xuncha.ctrl.map.jumpTo({ zoom: 12.5 }));
      await mapIdle(page);
      const heat = await page.evaluate(() => {
        const m = window.xuncha.ctrl.map;
        return { visible: m.getLayoutProperty('reports-heat', 'visibility'), weight: m.getPaintProperty('reports-heat', 'heatmap-weight') };
      });
      assert.equal(heat.visible, 'visible', 'the heatmap is on for the office');
      assert.match(JSON.stringify(heat.weight), /"count"/, 'weighted by count');
      // Open reports by default; the legend says what the colours count and how many are shown.
      const legend = await page.evaluate(async () => {
        const meta = await (await fetch('/api/meta')).json();
        const ticks = [...document.querySelectorAll('.office .ramp-ticks span')].map((s) => Number(s.textContent.replace('≥', '')));
        return {
          status: document.querySelector('.office select[name=status]').value,
          open: meta.statuses.filter((s) => s.stage != null).map((s) => s.id).join(','),
          ticks,
          unit: document.querySelector('.office .ramp-unit').textContent,
        };
      });
      assert.equal(legend.status, legend.open, 'the status filter starts at the unfinished reports (to dispatch, handle or verify)');
      assert.equal(legend.ticks.length, 6, `${legend.ticks}`);
      assert.ok(legend.ticks.every((v, i) => v > 0 && (i === 0 || v > legend.ticks[i - 1])), `ascending counts: ${legend.ticks}`);
      assert.match(legend.unit, /平方公里/);
      await page.waitForFunction(() => /\d/.test(document.querySelector('.office .heat-total').textContent));
      const shown = await page.evaluate(async (open) => {
        const since = new URL(window.xuncha.ctrl.map.getSource(window.xuncha.ctrl.reportsSource).tiles[0]).searchParams.get('since');
        const st = await (await fetch(`/api/stats?group=category&status=${open}&since=${encodeURIComponent(since)}`)).json();
        return { text: document.querySelector('.office .heat-total').textContent, total: st.totals.total };
      }, legend.open);
      assert.ok(shown.total > 0, 'the demo has open reports in the window');
      assert.match(shown.text, new RegExp(`共 ${shown.total} 件`), `${shown.text} vs ${shown.total}`);
      const src = await page.evaluate(() => {
        const c = window.xuncha.ctrl;
        return c.map.querySourceFeatures(c.reportsSource, { sourceLayer: 'reports' }).map((f) => f.properties);
      });
      assert.ok(src.length > 0, 'reports layer has features');
      assert.ok(src.every((p) => p.count >= 1 && p.id === undefined), 'aggregated bins with count below z14');
      // The heat is drawn: the canvas under the densest bin is not the plain map colour.
      const hot = await page.evaluate(() => {
        const c = window.xuncha.ctrl;
        const fs = c.map.querySourceFeatures(c.reportsSource, { sourceLayer: 'reports' });
        const top = fs.reduce((a, b) => (b.properties.count > a.properties.count ? b : a));
        return { count: top.properties.count, at: top.geometry.coordinates };
      });
      assert.ok(hot.count >= 2, `a bin counts several reports: ${hot.count}`);
      await shot(page, `office-heatmap-${size}`);
      const before = requests.length;
      const baseBefore = tileUrls(requests).filter((u) => !/layers=reports/.test(u)).length;
      await page.selectOption('.office select[name=category]', 'garbage');
      await mapIdle(page);
      const byCategory = reportTileUrls(requests.slice(before));
      assert.ok(byCategory.length > 0, 'report tiles were re-requested for the category');
      assert.ok(lastPerTile(byCategory).every((u) => /category=garbage/.test(u) && /since=/.test(u)), `category tile URLs: ${byCategory}`);
      const mid = requests.length;
      await page.selectOption('.office select[name=status]', 'reported');
      await mapIdle(page);
      const byStatus = reportTileUrls(requests.slice(mid));
      assert.ok(byStatus.length > 0, 'report tiles were re-requested for the status');
      assert.ok(lastPerTile(byStatus).every((u) => /category=garbage/.test(u) && /status=reported/.test(u) && /since=/.test(u)), `filtered tile URLs: ${byStatus}`);
      assert.equal(tileUrls(requests).filter((u) => !/layers=reports/.test(u)).length, baseBefore, 'zone and basemap tiles are not re-requested for a report filter');
      const filtered = await page.evaluate(() => {
        const c = window.xuncha.ctrl;
        return c.map.querySourceFeatures(c.reportsSource, { sourceLayer: 'reports' }).reduce((s, f) => s + f.properties.count, 0);
      });
      assert.ok(filtered < src.reduce((s, p) => s + p.count, 0), 'fewer reports after filtering');
      await shot(page, `office-heatmap-filtered-${size}`);
      assert.deepEqual(offOrigin(requests, srv.base), []);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}

test('ranked zones fly to the zone; a report popup dispatches', async () => {
  const { context, page, errors } = await openPage(browser, srv.base);
  try {
    await signIn(page, 'office');
    await page.waitForSelector('.office .ranking a[data-zone]', { timeout: 30_000 });
    const z0 = await page.evaluate(() => window.xuncha.ctrl.map.getCenter());
    await page.click('.office .ranking a[data-zone]');
    await page.waitForFunction((z0) => {
      const c = window.xuncha.ctrl.map.getCenter();
      return Math.abs(c.lng - z0.lng) + Math.abs(c.lat - z0.lat) > 1e-5;
    }, z0);
    await mapIdle(page);
    // An open report from the list, then its point on the map (z17, reports are points from z14).
    const rep = await page.evaluate(async () => {
      const fc = await (await fetch('/api/reports?status=reported&limit=1')).json();
      const f = fc.features[0];
      window.xuncha.ctrl.map.jumpTo({ center: f.geometry.coordinates, zoom: 17 });
      return { id: f.properties.id, at: f.geometry.coordinates };
    });
    await mapIdle(page);
    const pt = await page.evaluate((id) => {
      const c = window.xuncha.ctrl;
      const f = c.map.queryRenderedFeatures({ layers: c.layersOf('reports') }).find((f) => f.properties.id === id);
      if (!f) return null;
      const p = c.map.project(f.geometry.coordinates);
      const r = c.map.getCanvas().getBoundingClientRect();
      return { x: r.left + p.x, y: r.top + p.y, id: f.properties.id, status: f.properties.status };
    }, rep.id);
    assert.ok(pt, `report ${rep.id} is rendered as a point from the tiles`);
    assert.equal(pt.status, 'reported');
    await page.mouse.click(pt.x, pt.y);
    await page.waitForSelector('.report-pop [data-status=dispatched]', { timeout: 15_000 });
    await page.click('.report-pop [data-status=dispatched]');
    await page.waitForSelector('.report-pop .st-dispatched', { timeout: 15_000 });
    // The point's tile is re-requested and now carries the new status.
    await page.waitForFunction((id) => {
      const c = window.xuncha.ctrl;
      return c.map.queryRenderedFeatures({ layers: c.layersOf('reports') }).some((f) => f.properties.id === id && f.properties.status === 'dispatched');
    }, pt.id, { timeout: 20_000 });
    await shot(page, 'office-report-popup-desktop');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('statistics panel: day chart and table agree with /api/stats; work order links; hotspot detection shows the detected zones', async () => {
  const { context, page, requests, errors } = await openPage(browser, srv.base);
  try {
    await signIn(page, 'office');
    await page.waitForSelector('.office .stats-table tbody tr', { timeout: 30_000 });
    // Bars of quiet days have no height (so are not "visible"); which days are quiet depends on the calendar.
    await page.waitForSelector('.office .day-chart svg .bar', { state: 'attached' });
    // The same window the panel uses, asked of the server directly.
    const api = await page.evaluate(async () => {
      const since = new Date(`${document.querySelector('.office input[name=since]').value}T00:00:00`).toISOString().replace(/\.\d{3}Z$/, 'Z');
      // The panel starts at the open reports (the status filter's default).
      const status = document.querySelector('.office select[name=status]').value;
      const get = async (g) => (await fetch(`/api/stats?group=${g}&since=${encodeURIComponent(since)}&status=${status}`)).json();
      return { since, status, day: await get('day'), owner: await get('owner'), zone: await get('zone') };
    });
    assert.ok(api.day.rows.length > 0 && api.owner.rows.length > 0);
    assert.ok(api.status.split(',').includes('resolved') && !api.status.includes('closed') && !api.status.includes('rejected'), `unfinished statuses: ${api.status}`);
    assert.equal(await page.locator('.office .day-chart svg .bar').count(), api.day.rows.length, 'one bar per day');
    const rows = await page.$$eval('.office .stats-table tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
    const top = api.owner.rows.filter((r) => r.key != null).sort((a, b) => b.open - a.open || b.total - a.total)[0];
    assert.equal(rows[0][0], top.label, 'the owner with most open reports first (reports without an owner last)');
    assert.deepEqual([Number(rows[0][1]), Number(rows[0][2])], [top.total, top.open]);
    assert.match(await page.textContent('.office .stats-sum'), new RegExp(`共 ${api.owner.totals.total} 件，未结案 ${api.owner.totals.open} 件`));
    // The ranking follows the stored match of each report (stats by zone), containers left out.
    const rank = await page.$$eval('.office .ranking a[data-zone]', (as) => as.map((a) => a.dataset.zone));
    assert.ok(rank.length > 0 && rank.every((id) => !/^(street|comm)-/.test(id)), `ranking: ${rank}`);
    const byZone = new Map(api.zone.rows.map((r) => [r.key, r.open]));
    const opens = rank.map((id) => byZone.get(id));
    assert.deepEqual(opens, [...opens].sort((a, b) => b - a), 'ranked by open reports');

    // Work order of the first owner: a same-origin HTML page naming the owner.
    const link = page.locator('.office .stats-table a.workorder').first();
    const href = await link.getAttribute('href');
    assert.match(href, /^\/api\/workorders\/[^?]+\?since=/);
    const [popup] = await Promise.all([context.waitForEvent('page'), link.click()]);
    await popup.waitForLoadState('load');
    assert.equal(new URL(popup.url()).origin, new URL(srv.base).origin);
    const woText = await popup.textContent('body');
    assert.ok(woText.includes(decodeURIComponent(href.split('/')[3].split('?')[0])), 'the work order names the owner');
    await popup.screenshot({ path: `${ARTIFACTS}/office-workorder-desktop.png`, fullPage: false });
    await popup.close();

    // Group by zone: the table changes, the CSV link follows.
    await page.selectOption('.office .stats-panel select[name=group]', 'zone');
    await page.waitForFunction(() => /group=zone/.test(document.querySelector('.office .stats-panel .csv').getAttribute('href')) && !document.querySelector('.office .stats-table-wrap .loading'));
    assert.equal(await page.locator('.office .stats-table a.workorder').count(), 0);
    const csv = await page.evaluate(async () => {
      const r = await fetch(document.querySelector('.office .stats-panel .csv').getAttribute('href'));
      return { status: r.status, type: r.headers.get('content-type') };
    });
    assert.equal(csv.status, 200);
    assert.match(csv.type, /text\/csv/);
    await page.selectOption('.office .stats-panel select[name=group]', 'owner');

    // Detect hotspots: polygons on the map (overlay), listed, and in the zone tiles after refresh.
    await page.click('.office .detect');
    await page.waitForSelector('.office .detect-result .detected li, .office .detect-result .error', { timeout: 30_000 });
    assert.equal(await page.locator('.office .detect-result .error').count(), 0, await page.textContent('.office .detect-result'));
    const ids = await page.$$eval('.office .detect-result [data-hotspot]', (as) => as.map((a) => a.dataset.hotspot));
    assert.ok(ids.length >= 2, `hotspots found on the demo data: ${ids}`);
    await mapIdle(page);
    const shown = await page.evaluate((ids) => {
      const c = window.xuncha.ctrl;
      const overlay = c.map.queryRenderedFeatures({ layers: ['xc-detected-fill'] }).map((f) => String(f.properties.id));
      const hot = c.map.getStyle().layers.filter((l) => l.source === c.source && l['source-layer'] === 'zones').map((l) => l.id);
      const tiles = c.map.querySourceFeatures(c.source, { sourceLayer: 'zones', filter: ['==', ['get', 'kind'], 'hotspot'] }).map((f) => String(f.properties.id ?? f.id));
      const rendered = c.map.queryRenderedFeatures({ layers: hot }).filter((f) => f.properties.kind === 'hotspot').map((f) => String(f.properties.id ?? f.id));
      return { overlay: ids.filter((id) => overlay.includes(id)), tiles: ids.filter((id) => tiles.includes(id)), rendered: ids.filter((id) => rendered.includes(id)) };
    }, ids);
    assert.deepEqual(shown.overlay.sort(), [...ids].sort(), 'every detected polygon is drawn');
    await page.waitForFunction((ids) => {
      const c = window.xuncha.ctrl;
      const got = new Set(c.map.querySourceFeatures(c.source, { sourceLayer: 'zones' }).map((f) => String(f.properties.id ?? f.id)));
      return ids.every((id) => got.has(id));
    }, ids, { timeout: 20_000 });
    await shot(page, 'office-hotspots-desktop');
    // A detected hotspot is clickable like any zone.
    const z = await page.evaluate(async (id) => (await fetch(`/api/zones/${id}`)).json(), ids[0]);
    assert.equal(z.properties.kind, 'hotspot');
    assert.equal(z.properties.properties.source, 'detected');
    // Detecting again for the same window replaces the earlier ones, no duplicates.
    await page.click('.office .detect');
    await page.waitForFunction(() => /替换/.test(document.querySelector('.office .detect-result').textContent), null, { timeout: 30_000 });
    const all = await page.evaluate(async () => (await (await fetch('/api/zones?kind=hotspot')).json()).features.filter((f) => f.properties.properties?.source === 'detected').length);
    assert.equal(all, ids.length, 'the second detection replaced the first');
    await page.locator('.office .stats-panel').scrollIntoViewIfNeeded();
    await shot(page, 'office-stats-desktop');
    assert.deepEqual(offOrigin(requests, srv.base), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('statistics panel fits a phone (390×844)', async () => {
  const { context, page, errors } = await openPage(browser, srv.base, { viewport: PHONE });
  try {
    await signIn(page, 'office');
    await page.waitForSelector('.office .stats-table tbody tr', { timeout: 30_000 });
    await page.locator('.office .stats-panel').scrollIntoViewIfNeeded();
    const fit = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, panel: document.querySelector('.panel').scrollWidth, w: window.innerWidth, panelW: document.querySelector('.panel').clientWidth }));
    assert.ok(fit.doc <= fit.w, `no horizontal page scroll: ${JSON.stringify(fit)}`);
    assert.ok(fit.panel <= fit.panelW, `the panel does not scroll sideways: ${JSON.stringify(fit)}`);
    await shot(page, 'office-stats-phone');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
