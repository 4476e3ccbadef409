// Patrol on a phone: a report with a real JPEG (shrunk in the browser to ≤ 2048 px), the
// responsible owner shown after sending, and the offline outbox (IndexedDB, client_id) that sends
// exactly one report when the network returns.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, launch, openPage, signIn, mapIdle, offOrigin, shot, apiToken, PHONE, ARTIFACTS, browserJpeg } from './helpers.mjs';

let srv;
let browser;
const JPEG = join(ARTIFACTS, 'fixture-3000x2000.jpg');

before(async () => {
  srv = await startServer();
  browser = await launch();
  // A real 3000×2000 JPEG (a camera-sized photo), encoded by the browser's own JPEG encoder.
  await browserJpeg(browser, JPEG, { w: 3000, h: 2000 });
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

async function fillReport(page, note) {
  await page.waitForSelector('.patrol .loc-text');
  await page.waitForFunction(() => /±/.test(document.querySelector('.patrol .loc-text').textContent));
  await page.click('.patrol .cat[data-cat=garbage]');
  await page.setInputFiles('.patrol input[type=file]', JPEG);
  await page.waitForSelector('.patrol .previews img');
  await page.fill('.patrol textarea', note);
}

/** A point inside a frontage (三包) zone, with the owner the server matches it to. */
async function frontageSpot() {
  const token = await apiToken(srv.base, 'patrol');
  const h = { authorization: `Bearer ${token}` };
  const fc = await (await fetch(`${srv.base}/api/zones?kind=responsibility`, { headers: h })).json();
  for (const f of fc.features.slice(5)) {
    if (f.geometry.type !== 'Polygon') continue;
    const ring = f.geometry.coordinates[0].slice(0, -1);
    const lon = ring.reduce((s, p) => s + p[0], 0) / ring.length;
    const lat = ring.reduce((s, p) => s + p[1], 0) / ring.length;
    const m = await (await fetch(`${srv.base}/api/match?lon=${lon}&lat=${lat}&accuracy_m=5`, { headers: h })).json();
    if (m.responsible && !m.ambiguous) return { lon, lat, owner: m.responsible.owner.name, zone: m.responsible.zone_name };
  }
  throw new Error('no frontage zone with a clear owner');
}

async function reportsWithNote(note) {
  const token = await apiToken(srv.base, 'office');
  const fc = await (await fetch(`${srv.base}/api/reports?limit=1000`, { headers: { authorization: `Bearer ${token}` } })).json();
  return fc.features.filter((f) => f.properties.note === note);
}

test('offline: the report and its shrunk photo wait in IndexedDB with a client_id; a badge counts them', async () => {
  const { context, page, errors, requests } = await openPage(browser, srv.base, { viewport: PHONE });
  try {
    await signIn(page, 'patrol');
    await mapIdle(page);
    await context.setOffline(true);
    await fillReport(page, '离线测试 <script>alert(1)</script>');
    await page.click('.patrol .submit');
    await page.waitForSelector('.queue-badge:not([hidden])');
    assert.match(await page.textContent('.queue-badge'), /待发送 1/);
    const stored = await page.evaluate(async () => {
      const db = await new Promise((res, rej) => {
        const r = indexedDB.open('xuncha');
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      const recs = await new Promise((res) => {
        const r = db.transaction('outbox').objectStore('outbox').getAll();
        r.onsuccess = () => res(r.result);
      });
      const bmp = await createImageBitmap(recs[0].photos[0].blob);
      return { n: recs.length, client_id: recs[0].client_id, category: recs[0].category, w: bmp.width, h: bmp.height, type: recs[0].photos[0].blob.type, lon: recs[0].lon, lat: recs[0].lat };
    });
    assert.equal(stored.n, 1);
    assert.match(stored.client_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(stored.category, 'garbage');
    assert.equal(stored.type, 'image/jpeg');
    assert.equal(Math.max(stored.w, stored.h), 2048, 'shrunk to 2048 px on the long side');
    assert.deepEqual([stored.w, stored.h], [2048, 1365], 'landscape kept, aspect kept');
    assert.ok(Math.abs(stored.lon - 126.4185) < 1e-4 && Math.abs(stored.lat - 41.9405) < 1e-4, 'location from geolocation, lon/lat in order');
    await shot(page, 'patrol-offline-phone');
    // Survives a reload while offline (the queue is durable).
    assert.deepEqual(offOrigin(requests, srv.base), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('online: a report with a real JPEG shows the responsible owner', async () => {
  const spot = await frontageSpot();
  const { context, page, errors, requests } = await openPage(browser, srv.base, { viewport: PHONE, geolocation: spot });
  try {
    await signIn(page, 'patrol');
    await mapIdle(page);
    const note = `在线测试 ${Date.now()}`;
    await fillReport(page, note);
    await page.click('.patrol .submit');
    await page.waitForSelector('.patrol .result.ok', { timeout: 30_000 });
    const text = await page.textContent('.patrol .result');
    assert.match(text, /责任单位/);
    assert.equal(await page.textContent('.patrol .result .responsible .owner'), spot.owner, `the owner is named: ${text}`);
    assert.ok(text.includes(spot.zone), `the zone is named: ${text}`);
    await shot(page, 'patrol-sent-phone');
    const got = await reportsWithNote(note);
    assert.equal(got.length, 1);
    // The new report shows up in the reports tiles (the client refreshes them after sending).
    const id = await page.evaluate(() => window.xuncha.lastReport);
    assert.equal(String(id), String(got[0].id));
    await page.waitForFunction((id) => {
      const c = window.xuncha.ctrl;
      return c.map.queryRenderedFeatures({ layers: c.layersOf('reports') }).some((f) => String(f.properties.id) === String(id));
    }, id, { timeout: 20_000 });
    assert.deepEqual(offOrigin(requests, srv.base), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('offline then online: exactly one report arrives', async () => {
  const { context, page, errors } = await openPage(browser, srv.base, { viewport: PHONE, allowConsole: [/ERR_INTERNET_DISCONNECTED/] });
  try {
    await signIn(page, 'patrol');
    await mapIdle(page);
    await context.setOffline(true);
    const note = `离线后补发 ${Date.now()}`;
    await fillReport(page, note);
    await page.click('.patrol .submit');
    await page.waitForSelector('.queue-badge:not([hidden])');
    assert.equal((await reportsWithNote(note)).length, 0, 'nothing reached the server while offline');
    await context.setOffline(false);
    await page.waitForSelector('.queue-badge', { state: 'hidden', timeout: 30_000 });
    await page.waitForSelector('.patrol .result.ok', { timeout: 30_000 });
    // Another flush (timer, second online event) must not duplicate it.
    await page.evaluate(() => window.dispatchEvent(new Event('online')));
    await page.waitForTimeout(1500);
    const got = await reportsWithNote(note);
    assert.equal(got.length, 1, 'exactly one report');
    await shot(page, 'patrol-offline-sent-phone');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
