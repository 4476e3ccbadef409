// The planner draws zones with terra-draw (real mouse clicks on the canvas), sees overlaps before
// saving, saves, and the zone appears on the map; a bad shape's 422 is shown where it is; an edit
// against a stale version offers to reload; history and retire work.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, signIn, mapIdle, offOrigin, shot, apiToken } from './helpers.mjs';

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

async function canvasBox(page) {
  return page.locator('#map canvas').boundingBox();
}

/** Clicks the points (canvas pixels relative to the centre) and closes the ring on the first. */
async function drawPolygon(page, pts) {
  await page.click('[data-draw=polygon]');
  const b = await canvasBox(page);
  const cx = b.x + b.width / 2;
  const cy = b.y + b.height / 2;
  for (const [dx, dy] of [...pts, pts[0]]) {
    await page.mouse.move(cx + dx, cy + dy, { steps: 3 });
    await page.mouse.click(cx + dx, cy + dy);
    await page.waitForTimeout(150);
  }
}

async function renderedIds(page) {
  return page.evaluate(() => {
    const c = window.xuncha.ctrl;
    return c.map.queryRenderedFeatures({ layers: c.layersOf('zones') }).filter((f) => f.sourceLayer === 'zones').map((f) => String(f.properties.id));
  });
}

test('planner draws a zone, sees no overlap, saves it, and it appears on the map', async () => {
  const { context, page, errors, requests } = await openPage(browser, srv.base);
  try {
    await signIn(page, 'planner');
    // An empty spot south of the river, away from frontage zones.
    await page.evaluate(() => window.xuncha.ctrl.map.jumpTo({ center: [126.4065, 41.9305], zoom: 17.5 }));
    await mapIdle(page);
    await drawPolygon(page, [
      [-60, -40],
      [60, -40],
      [60, 40],
      [-60, 40],
    ]);
    await page.waitForSelector('.zone-form:not([hidden])');
    await page.waitForSelector('.zone-form .overlaps :is(.ok, h4)');
    await page.fill('.zone-form input[name=name]', '<b>测试</b>学校门前三包责任区');
    await page.fill('.zone-form input[name=owner_name]', '白山市第九中学');
    await page.selectOption('.zone-form select[name=sector]', 'school');
    await page.fill('.zone-form input[name=contact]', '0439-1234567');
    await shot(page, 'planner-drawn-desktop');
    await page.click('.zone-form button[type=submit]');
    const id = await page.waitForFunction(() => window.xuncha.lastSavedZone, null, { timeout: 20_000 }).then((h) => h.jsonValue());
    await page.waitForSelector('.selected:not([hidden])');
    // Escaped, not interpreted: the name shows its angle brackets.
    assert.equal(await page.textContent('.selected .sel-name'), '<b>测试</b>学校门前三包责任区');
    assert.equal(await page.locator('.selected .sel-name b').count(), 0);
    await page.waitForFunction((id) => {
      const c = window.xuncha.ctrl;
      return c.map.queryRenderedFeatures({ layers: c.layersOf('zones') }).some((f) => f.source === c.source && f.sourceLayer === 'zones' && String(f.properties.id) === id);
    }, id, { timeout: 30_000 });
    assert.ok((await renderedIds(page)).includes(id), 'the new zone is in the vector tiles');
    assert.ok(!requests.some((u) => /[?&]rev=/.test(u)), 'no cache-busting parameter: tiles are revalidated by ETag');
    await mapIdle(page);
    await shot(page, 'planner-saved-desktop');
    // History shows the creation.
    await page.click('.selected .hist');
    await page.waitForSelector('.selected .history li strong');
    assert.match(await page.textContent('.selected .history'), /v1/);
    assert.deepEqual(offOrigin(requests, srv.base), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('overlaps with same-kind zones are highlighted with their area before saving', async () => {
  const { context, page, errors } = await openPage(browser, srv.base);
  try {
    await signIn(page, 'planner');
    const target = await page.evaluate(async () => {
      const fc = await (await fetch('/api/zones?kind=responsibility')).json();
      const f = fc.features[10];
      const ring = f.geometry.coordinates[0];
      const lon = ring.slice(0, -1).reduce((s, p) => s + p[0], 0) / (ring.length - 1);
      const lat = ring.slice(0, -1).reduce((s, p) => s + p[1], 0) / (ring.length - 1);
      window.xuncha.ctrl.map.jumpTo({ center: [lon, lat], zoom: 18 });
      return { id: f.id, name: f.properties.name };
    });
    await mapIdle(page);
    await drawPolygon(page, [
      [-90, -70],
      [90, -70],
      [90, 70],
      [-90, 70],
    ]);
    await page.waitForSelector('.zone-form .overlaps h4', { timeout: 15_000 });
    const text = await page.textContent('.zone-form .overlaps');
    assert.ok(text.includes(target.name), `overlap list names ${target.name}: ${text}`);
    assert.match(text, /重叠 [\d,]+ 平方米/);
    const red = await page.evaluate(() => window.xuncha.ctrl.map.queryRenderedFeatures({ layers: ['planner-overlaps-fill'] }).length);
    assert.ok(red > 0, 'overlap area drawn on the map');
    await shot(page, 'planner-overlap-desktop');
    await page.click('.zone-form .cancel');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a self-intersecting zone is refused and the server says where', async () => {
  const { context, page, errors } = await openPage(browser, srv.base, { allowConsole: [/status of 422.*\/api\/zones/] });
  try {
    await signIn(page, 'planner');
    await page.evaluate(() => window.xuncha.ctrl.map.jumpTo({ center: [126.4065, 41.9295], zoom: 17.5 }));
    await mapIdle(page);
    // A bow tie: the edges cross in the middle.
    await drawPolygon(page, [
      [-60, -40],
      [60, 40],
      [60, -40],
      [-60, 40],
    ]);
    const drawn = await page.waitForSelector('.zone-form:not([hidden])', { timeout: 5000 }).then(() => true).catch(() => false);
    if (!drawn) {
      // terra-draw itself refused the crossing ring: nothing invalid can reach the server.
      test.diagnostic('terra-draw refused the self-intersecting ring before saving');
      return;
    }
    await page.fill('.zone-form input[name=name]', '自相交测试区');
    await page.fill('.zone-form input[name=owner_name]', '测试单位');
    await page.selectOption('.zone-form select[name=sector]', 'enterprise');
    await page.click('.zone-form button[type=submit]');
    await page.waitForSelector('.zone-form .errors .error', { timeout: 15_000 });
    assert.ok((await page.locator('.error-marker').count()) >= 1, 'the offending place is marked on the map');
    await shot(page, 'planner-422-desktop');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('editing a stale version offers to reload (409); retire works', async () => {
  const { context, page, errors } = await openPage(browser, srv.base, { allowConsole: [/status of 409.*\/api\/zones/] });
  try {
    const token = await apiToken(srv.base, 'planner');
    const h = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await (await fetch(`${srv.base}/api/zones`, {
      method: 'POST',
      headers: h,
      body: JSON.stringify({ type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[126.4040, 41.9290], [126.4046, 41.9290], [126.4046, 41.9294], [126.4040, 41.9294], [126.4040, 41.9290]]] }, properties: { kind: 'hotspot', name: '冲突测试点位' } }),
    })).json();
    const id = created.features[0].id;
    await signIn(page, 'planner');
    await page.evaluate(() => window.xuncha.ctrl.map.jumpTo({ center: [126.4043, 41.9292], zoom: 18 }));
    await mapIdle(page);
    const b = await canvasBox(page);
    await page.mouse.click(b.x + b.width / 2, b.y + b.height / 2);
    await page.waitForSelector('.selected:not([hidden]) .edit');
    assert.equal(await page.textContent('.selected .sel-name'), '冲突测试点位');
    await page.click('.selected .edit');
    await page.waitForSelector('.selected .save-edit:not([hidden])');
    // Someone else saves version 2 meanwhile.
    const cur = await (await fetch(`${srv.base}/api/zones/${id}`, { headers: h })).json();
    const put = await fetch(`${srv.base}/api/zones/${id}`, { method: 'PUT', headers: { ...h, 'if-match': '"1"' }, body: JSON.stringify({ ...cur, properties: { ...cur.properties, name: '冲突测试点位（他人修改）' } }) });
    assert.equal(put.status, 200);
    await page.click('.selected .save-edit');
    await page.waitForSelector('.selected .conflict .reload', { timeout: 15_000 });
    assert.match(await page.textContent('.selected .conflict'), /版本 2/);
    await shot(page, 'planner-409-desktop');
    await page.click('.selected .conflict .reload');
    await page.waitForFunction(() => document.querySelector('.selected .sel-name')?.textContent.includes('他人修改'));
    await page.waitForSelector('.selected .save-edit:not([hidden])');
    await page.click('.selected .save-edit');
    await page.waitForFunction(() => /版本 3/.test(document.querySelector('.selected')?.textContent || ''), null, { timeout: 15_000 });
    await page.click('.selected .retire');
    await page.click('.selected .retire');
    await page.waitForSelector('.selected', { state: 'hidden' });
    const after = await (await fetch(`${srv.base}/api/zones/${id}`, { headers: h })).json();
    assert.ok(after.properties.retired_at, 'retired on the server');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
