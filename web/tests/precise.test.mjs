// Precise drawing in the planner, with real mouse clicks on the canvas: a vertex dropped 4 px
// from an existing zone's edge snaps onto it (the server's dry run then finds no gap and no
// overlap); with snapping off the same drawing leaves a sliver the server reports as a gap with
// its area, and "闭合缝隙" closes it; typed coordinates are checked and draw a zone; saving an
// overlap asks first; a saved zone's name, owner, sector and contact can be edited; retired
// zones are listed and their history opens.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, signIn, mapIdle, shot, apiToken, project } from './helpers.mjs';

let srv;
let browser;
let headers;

// A neighbour zone on open ground south of the river (checked empty before it is made).
const W = 126.415;
const E = 126.4156;
const S = 41.9253;
const WEST = Number((E - 0.0002).toFixed(6));
const EAST = Number((E + 0.0004).toFixed(6));
const N = 41.9257;
const NEIGHBOUR = {
  type: 'Feature',
  id: 'precise-neighbour',
  geometry: { type: 'Polygon', coordinates: [[[W, S], [E, S], [E, N], [W, N], [W, S]]] },
  properties: { kind: 'responsibility', name: '精确绘制测试邻区', owner: { name: '测试邻居单位', sector: 'enterprise' } },
};

before(async () => {
  srv = await startServer();
  browser = await launch();
  headers = { authorization: `Bearer ${await apiToken(srv.base, 'planner')}`, 'content-type': 'application/json' };
  const around = await (await fetch(`${srv.base}/api/zones?kind=responsibility&bbox=${W - 0.002},${S - 0.002},${E + 0.004},${N + 0.002}`, { headers })).json();
  assert.deepEqual(around.features.map((f) => f.id), [], 'the test ground has no responsibility zones of the demo');
  const r = await fetch(`${srv.base}/api/zones`, { method: 'POST', headers, body: JSON.stringify(NEIGHBOUR) });
  assert.equal(r.status, 201);
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

/** Opens the planner at zoom 19 on the neighbour's east edge, its exact shape loaded for snapping. */
async function atTheEdge(page) {
  await signIn(page, 'planner');
  await page.evaluate(([lon, lat]) => window.xuncha.ctrl.map.jumpTo({ center: [lon, lat], zoom: 19 }), [E + 0.0002, (S + N) / 2]);
  await mapIdle(page);
  await page.waitForFunction(() => window.xuncha.snapper && window.xuncha.snapper.count > 0, null, { timeout: 15_000 });
}

/** Draws a rectangle whose west side runs `offPx` pixels east of the neighbour's east edge. */
async function drawBeside(page, offPx) {
  const a = await project(page, E, S + 0.00008);
  const b = await project(page, E, S + 0.00032);
  const pts = [
    [a.x + offPx, a.y],
    [a.x + 90, a.y],
    [a.x + 90, b.y],
    [b.x + offPx, b.y],
  ];
  await page.click('[data-draw=polygon]');
  for (const [x, y] of [...pts, pts[0]]) {
    await page.mouse.move(x, y, { steps: 3 });
    await page.mouse.click(x, y);
    await page.waitForTimeout(150);
  }
  await page.waitForSelector('.zone-form:not([hidden])');
}

/** The drawn polygon's open ring. */
async function drawnRing(page) {
  return page.evaluate(() => {
    const f = window.xuncha.draw.getSnapshot().find((x) => x.geometry.type === 'Polygon');
    return f.geometry.coordinates[0].slice(0, -1);
  });
}

/** The server's dry run for a ring, outside the UI. */
async function serverCheck(ring) {
  const f = { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[...ring, ring[0]]] }, properties: { kind: 'responsibility', name: '检查', owner: { name: '检查', sector: 'school' } } };
  return (await fetch(`${srv.base}/api/zones?dry_run=true`, { method: 'POST', headers, body: JSON.stringify(f) })).json();
}

/** Error texts in the UI are Chinese: none is ASCII only. */
async function assertChineseErrors(page) {
  const texts = await page.$$eval('.planner .error, .planner .coord-msg.error', (els) => els.map((e) => e.textContent.trim()).filter(Boolean));
  for (const s of texts) assert.match(s, /[\u4e00-\u9fff]/, `error text is Chinese: ${s}`);
}

test('a vertex dropped 4 px from an existing edge lands on it: no gap, no overlap', async () => {
  const { context, page, errors } = await openPage(browser, srv.base);
  try {
    await atTheEdge(page);
    await drawBeside(page, 4);
    await page.waitForSelector('.zone-form .gaps .ok', { timeout: 15_000 });
    await page.waitForSelector('.zone-form .overlaps .ok');
    const ring = await drawnRing(page);
    const onEdge = ring.filter((p) => Math.abs(p[0] - E) < 1e-9);
    assert.equal(onEdge.length, 2, `two vertices snapped onto the edge at lon ${E}: ${JSON.stringify(ring)}`);
    for (const p of onEdge) assert.ok(p[1] > S && p[1] < N, 'on the edge, between its ends');
    const dry = await serverCheck(ring);
    assert.deepEqual(dry.gaps, [], 'the server finds no gap');
    assert.deepEqual(dry.overlaps, [], 'and no overlap');
    assert.match(await page.textContent('.zone-form .gaps'), /无缝隙/);
    await shot(page, 'precise-snapped-desktop');
    await page.click('.zone-form .cancel');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('without snapping the same drawing leaves a sliver, reported with its area and closed in one click', async () => {
  const { context, page, errors } = await openPage(browser, srv.base);
  try {
    await atTheEdge(page);
    await page.fill('input[name=snap_px]', '0');
    await page.dispatchEvent('input[name=snap_px]', 'change');
    await drawBeside(page, 4);
    await page.waitForSelector('.zone-form .gaps h4', { timeout: 15_000 });
    const ring = await drawnRing(page);
    const west = ring.filter((p) => p[0] < E + 0.00002);
    assert.equal(west.length, 2, 'two vertices near the edge');
    assert.ok(west.every((p) => p[0] > E), 'not on it: snapping was off');
    // The sliver's expected area from the drawn vertices: mean offset × height, in metres.
    const mLon = 111_320 * Math.cos((((S + N) / 2) * Math.PI) / 180);
    const widthM = ((west[0][0] + west[1][0]) / 2 - E) * mLon;
    const heightM = Math.abs(west[0][1] - west[1][1]) * 111_050;
    assert.ok(widthM > 0.2 && widthM < 1, `a sliver under 1 m: ${widthM} m`);
    const text = await page.textContent('.zone-form .gaps');
    assert.match(text, /精确绘制测试邻区/);
    const shown = Number(text.match(/缝隙 ([\d.,]+) 平方米/)[1].replace(/,/g, ''));
    const expected = widthM * heightM;
    assert.ok(Math.abs(shown - expected) / expected < 0.1, `gap area shown ${shown} m², expected about ${expected.toFixed(1)} m²`);
    const dry = await serverCheck(ring);
    assert.equal(dry.gaps.length, 1, 'the server reports one gap');
    const red = await page.evaluate(() => window.xuncha.ctrl.map.queryRenderedFeatures({ layers: ['planner-gaps-fill'] }).length);
    assert.ok(red > 0, 'the gap is drawn on the map');
    await shot(page, 'precise-gap-desktop');
    // One click closes it: the vertices move onto the neighbour's edge.
    await page.click('.zone-form .gaps .close-gap');
    await page.waitForSelector('.zone-form .gaps .ok', { timeout: 15_000 });
    const closed = await drawnRing(page);
    assert.equal(closed.filter((p) => Math.abs(p[0] - E) < 1e-9).length, 2, JSON.stringify(closed));
    const after = await serverCheck(closed);
    assert.deepEqual(after.gaps, []);
    assert.deepEqual(after.overlaps, []);
    await page.click('.zone-form .cancel');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('typed coordinates are checked, draw a zone, and an overlap asks before it is saved', async () => {
  const { context, page, errors, requests } = await openPage(browser, srv.base);
  try {
    await atTheEdge(page);
    const posts = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && /\/api\/zones(\?|$)/.test(r.url()) && !/dry_run=true/.test(r.url())) posts.push(r.url());
    });
    const add = async (text) => {
      await page.fill('.coord-form textarea[name=coord]', text);
      await page.click('.coord-form button[type=submit]');
    };
    await add('41.9255,126.4152');
    await page.waitForSelector('.coord-msg.error');
    assert.match(await page.textContent('.coord-msg'), /写反/);
    await add('东经126度');
    assert.match(await page.textContent('.coord-msg'), /经度,纬度/);
    await assertChineseErrors(page);
    // Overlapping the neighbour's east part by 0.0002° of longitude.
    await add(`${WEST},41.9254; ${EAST}，41.9254`);
    assert.match(await page.textContent('.coord-msg'), /已添加 2 个顶点/);
    assert.equal(await page.isHidden('.zone-form'), true, 'two vertices are no area yet');
    await add(`${EAST} 41.9256\n${WEST},41.9256`);
    await page.waitForSelector('.zone-form:not([hidden])');
    await page.waitForSelector('.zone-form .overlaps h4', { timeout: 15_000 });
    const ring = await drawnRing(page);
    assert.deepEqual(ring[0], [WEST, 41.9254]);
    await page.fill('.zone-form input[name=name]', '坐标输入测试区');
    await page.fill('.zone-form input[name=owner_name]', '坐标测试单位');
    await page.selectOption('.zone-form select[name=sector]', 'agency');
    await page.click('.zone-form button[type=submit]');
    await page.waitForSelector('.zone-form .confirm-overlap:not([hidden])', { timeout: 15_000 });
    assert.match(await page.textContent('.zone-form .confirm-overlap'), /重叠.*仍要保存/s);
    assert.match(await page.textContent('.zone-form .confirm-overlap'), /精确绘制测试邻区/);
    await shot(page, 'precise-confirm-overlap-desktop');
    assert.deepEqual(posts, [], 'nothing is saved before the answer');
    await page.click('.zone-form .confirm-back');
    assert.equal(await page.isHidden('.zone-form .confirm-overlap'), true);
    assert.equal(await page.isVisible('.zone-form'), true, 'back to the form');
    assert.deepEqual(posts, []);
    await page.click('.zone-form button[type=submit]');
    await page.click('.zone-form .confirm-save');
    const id = await page.waitForFunction(() => window.xuncha.lastSavedZone, null, { timeout: 20_000 }).then((h) => h.jsonValue());
    assert.equal(posts.length, 1);
    const saved = await (await fetch(`${srv.base}/api/zones/${id}`, { headers })).json();
    assert.equal(saved.properties.name, '坐标输入测试区');
    assert.deepEqual(saved.geometry.coordinates[0][0], [WEST, 41.9254]);
    await fetch(`${srv.base}/api/zones/${id}`, { method: 'DELETE', headers });
    assert.ok(requests.length > 0);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test("a saved zone's name, owner, sector and contact are edited with its version", async () => {
  const { context, page, errors } = await openPage(browser, srv.base);
  try {
    const f = {
      type: 'Feature',
      geometry: { type: 'Polygon', coordinates: [[[126.4170, 41.9253], [126.4176, 41.9253], [126.4176, 41.9257], [126.4170, 41.9257], [126.4170, 41.9253]]] },
      properties: { kind: 'responsibility', name: '改名前的责任区', owner: { name: '旧单位', sector: 'school', contact: '0439-1111111' } },
    };
    const created = await (await fetch(`${srv.base}/api/zones`, { method: 'POST', headers, body: JSON.stringify(f) })).json();
    const id = created.features[0].id;
    await signIn(page, 'planner');
    await page.evaluate(() => window.xuncha.ctrl.map.jumpTo({ center: [126.4173, 41.9255], zoom: 19 }));
    await mapIdle(page);
    const c = await project(page, 126.4173, 41.9255);
    await page.mouse.click(c.x, c.y);
    await page.waitForSelector('.selected:not([hidden]) .edit-props', { timeout: 15_000 });
    assert.equal(await page.textContent('.selected .sel-name'), '改名前的责任区');
    await page.click('.selected .edit-props');
    const pf = '.selected .props-form';
    assert.equal(await page.inputValue(`${pf} input[name=owner_name]`), '旧单位');
    // An empty name is refused in Chinese before anything is sent.
    await page.fill(`${pf} input[name=name]`, ' ');
    await page.click(`${pf} button[type=submit]`);
    assert.match(await page.textContent(`${pf} .props-msg`), /请填写区域名称/);
    await page.fill(`${pf} input[name=name]`, '改名后的责任区');
    await page.fill(`${pf} input[name=owner_name]`, '新单位');
    await page.selectOption(`${pf} select[name=sector]`, 'hospital');
    await page.fill(`${pf} input[name=contact]`, '0439-2222222');
    await page.click(`${pf} button[type=submit]`);
    await page.waitForFunction(() => document.querySelector('.selected .sel-name')?.textContent === '改名后的责任区', null, { timeout: 15_000 });
    assert.match(await page.textContent('.selected'), /版本 2/);
    assert.match(await page.textContent('.selected .sel-owner'), /新单位 · 医院 · 0439-2222222/);
    const got = await (await fetch(`${srv.base}/api/zones/${id}`, { headers })).json();
    assert.equal(got.properties.version, 2);
    assert.deepEqual(got.properties.owner, { name: '新单位', sector: 'hospital', contact: '0439-2222222' });
    assert.deepEqual(got.geometry, created.features[0].geometry, 'the shape is unchanged');
    await shot(page, 'precise-props-desktop');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('retired zones are listed and each opens its history', async () => {
  const { context, page, errors } = await openPage(browser, srv.base);
  try {
    const f = {
      type: 'Feature',
      id: 'precise-retired',
      geometry: { type: 'Polygon', coordinates: [[[126.4180, 41.9253], [126.4184, 41.9253], [126.4184, 41.9256], [126.4180, 41.9256], [126.4180, 41.9253]]] },
      properties: { kind: 'hotspot', name: '已退役测试点位' },
    };
    assert.equal((await fetch(`${srv.base}/api/zones`, { method: 'POST', headers, body: JSON.stringify(f) })).status, 201);
    assert.equal((await fetch(`${srv.base}/api/zones/precise-retired`, { method: 'DELETE', headers })).status, 200);
    await signIn(page, 'planner');
    await page.click('.planner .retired-open');
    const row = '.retired-list li[data-id="precise-retired"]';
    await page.waitForSelector(row, { timeout: 15_000 });
    assert.match(await page.textContent(row), /已退役测试点位/);
    assert.match(await page.textContent(row), /由 planner 退役/);
    await page.click(`${row} .r-hist`);
    await page.waitForSelector(`${row} .history li strong`);
    const hist = await page.textContent(`${row} .history`);
    assert.match(hist, /v1.*创建/s);
    assert.match(hist, /v2.*退役/s);
    await shot(page, 'precise-retired-desktop');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
