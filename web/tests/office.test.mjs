// Street office: the count-weighted heatmap from the `reports` tiles renders, filters re-request
// the tiles with since/until/category/status, the ranked zone list flies to a zone, and a report
// popup dispatches.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, signIn, mapIdle, offOrigin, shot, serverFeatures, DESKTOP, PHONE } from './helpers.mjs';

let srv;
let browser;
let features;
const allow = [];
const NO_TILES = 'GET /style.json and /tiles/{z}/{x}/{y}.mvt (issue 4) are not on main yet';
const NO_REPORTS = 'GET /api/reports and PATCH /api/reports/{id} (issue 3) are not on main yet';

before(async () => {
  srv = await startServer();
  browser = await launch();
  features = await serverFeatures(srv.base);
  if (!features.categories) allow.push(/status of 404.*\/api\/categories/);
  if (!features.reports) allow.push(/status of 404.*\/api\/reports/);
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

const tileUrls = (requests) => requests.filter((u) => /\/tiles\/\d+\/\d+\/\d+\.mvt/.test(u));

for (const [size, viewport] of [
  ['desktop', DESKTOP],
  ['phone', PHONE],
]) {
  test(`office heatmap renders and filters change the tile requests (${size})`, async (t) => {
    if (!features.tiles) return t.skip(NO_TILES);
    const { context, page, requests, errors } = await openPage(browser, srv.base, { viewport, allowConsole: allow });
    try {
      await signIn(page, 'office');
      await page.evaluate(() => window.xuncha.ctrl.map.jumpTo({ zoom: 12.5 }));
      await mapIdle(page);
      const heat = await page.evaluate(() => window.xuncha.ctrl.map.queryRenderedFeatures({ layers: ['office-heat'] }).length);
      const src = await page.evaluate(() => {
        const c = window.xuncha.ctrl;
        return c.map.querySourceFeatures(c.source, { sourceLayer: 'reports' }).map((f) => f.properties);
      });
      assert.ok(src.length > 0, 'reports layer has features');
      assert.ok(src.some((p) => p.count !== undefined), 'aggregated bins with count below z14');
      assert.ok(heat >= 0);
      await shot(page, `office-heatmap-${size}`);
      const before = tileUrls(requests).length;
      await page.selectOption('.office select[name=category]', 'garbage');
      await page.selectOption('.office select[name=status]', 'reported');
      await mapIdle(page);
      const after = tileUrls(requests).slice(before);
      assert.ok(after.length > 0, 'tiles were re-requested');
      assert.ok(after.every((u) => /category=garbage/.test(u) && /status=reported/.test(u) && /since=/.test(u)), `filtered tile URLs: ${after.slice(0, 3)}`);
      await shot(page, `office-heatmap-filtered-${size}`);
      assert.deepEqual(offOrigin(requests, srv.base), []);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}

test('ranked zones fly to the zone; a report popup dispatches', async (t) => {
  if (!features.reports) return t.skip(NO_REPORTS);
  if (!features.tiles) return t.skip(NO_TILES);
  const { context, page, errors } = await openPage(browser, srv.base, { allowConsole: allow });
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
    await page.evaluate(() => window.xuncha.ctrl.map.jumpTo({ zoom: 16 }));
    await mapIdle(page);
    const pt = await page.evaluate(() => {
      const c = window.xuncha.ctrl;
      const f = c.map.queryRenderedFeatures({ layers: c.layersOf('reports') }).find((f) => f.properties.id !== undefined && ['reported', 'reopened'].includes(f.properties.status));
      if (!f) return null;
      const p = c.map.project(f.geometry.coordinates);
      const r = c.map.getCanvas().getBoundingClientRect();
      return { x: r.left + p.x, y: r.top + p.y };
    });
    if (!pt) return t.skip('no open report rendered near the top-ranked zone');
    await page.mouse.click(pt.x, pt.y);
    await page.waitForSelector('.report-pop [data-status=dispatched]', { timeout: 15_000 });
    await page.click('.report-pop [data-status=dispatched]');
    await page.waitForSelector('.report-pop .st-dispatched', { timeout: 15_000 });
    await shot(page, 'office-report-popup-desktop');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
