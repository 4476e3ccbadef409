// The public map (随手拍) with --public-map: anyone opens /public without signing in, taps an
// open report and sees its category, status, time, thumbnail and the responsible unit with its
// contact — and no reporter's name; the page asks the API only for /api/public/….

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, apiToken, mapIdle, project, shot, PHONE, appStarted } from './helpers.mjs';

let srv;
let browser;

before(async () => {
  srv = await startServer({ extraArgs: ['--public-map'] });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

/** An open report of the demo city with a photo, as the office sees it. */
async function openReportWithPhoto() {
  const token = await apiToken(srv.base, 'office');
  const r = await fetch(`${srv.base}/api/reports?status=reported&limit=200`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.equal(body.type, 'FeatureCollection');
  const f = body.features.find((f) => (f.properties.photos || []).length > 0);
  assert.ok(f, 'the demo has an open report with a photo');
  const [lon, lat] = f.geometry.coordinates;
  return { ...f.properties, id: f.id ?? f.properties.id, lon, lat };
}

test('anyone sees an open report and its responsible unit, without names', async () => {
  const report = await openReportWithPhoto();
  const { context, page, requests, errors } = await openPage(browser, `${srv.base}/public`, { viewport: PHONE });
  try {
    await appStarted(page);
    assert.equal(await page.textContent('.topbar .brand'), '随手拍 · 公众地图');
    const { lon, lat } = report;
    await page.evaluate(([lon, lat]) => window.xuncha.ctrl.map.jumpTo({ center: [lon, lat], zoom: 17.5 }), [lon, lat]);
    await mapIdle(page);
    const at = await project(page, lon, lat);
    // The nearest rendered report point to the report's position (others may sit close by).
    const hit = await page.evaluate(({ x, y }) => {
      const m = window.xuncha.ctrl.map;
      const r = m.getCanvas().getBoundingClientRect();
      const fs = m.queryRenderedFeatures([[x - r.left - 6, y - r.top - 6], [x - r.left + 6, y - r.top + 6]]).filter((f) => f.sourceLayer === 'reports');
      return fs.map((f) => f.properties.id);
    }, at);
    assert.ok(hit.includes(report.id), `report ${report.id} is drawn at its place: ${hit}`);
    await page.mouse.click(at.x, at.y);
    await page.waitForSelector('#panel .card[data-shown^="reports/"]');
    const shownId = Number((await page.getAttribute('#panel .card', 'data-shown')).split('/')[1]);
    const pub = await page.evaluate(async (id) => (await fetch(`/api/public/reports/${id}`)).json(), shownId);
    const card = await page.textContent('#panel .card');
    assert.ok(card.includes(pub.category_zh) && card.includes(pub.status_zh), card);
    assert.ok(card.includes(`#${pub.id}`));
    // Every demo report has a responsible zone with an owner and a contact.
    assert.ok(pub.zone && pub.zone.owner && pub.zone.owner.contact, JSON.stringify(pub));
    assert.ok(card.includes(pub.zone.owner.name), card);
    assert.ok(card.includes(pub.zone.owner.contact), card);
    // Thumbnails load; no name of the reporter shows.
    await page.waitForFunction(() => [...document.querySelectorAll('#panel .thumbs img')].every((i) => i.complete && i.naturalWidth > 0));
    assert.ok(!card.includes(report.created_by), `the reporter ${report.created_by} is not named`);
    await shot(page, 'public-map-report');
    // A tap inside a 三包 zone (the middle of rz-0003) shows its unit and phone number.
    const token = await apiToken(srv.base, 'office');
    const zf = await (await fetch(`${srv.base}/api/zones/rz-0003`, { headers: { authorization: `Bearer ${token}` } })).json();
    const ring = zf.geometry.coordinates[0].slice(0, -1);
    const mid = [ring.reduce((a, c) => a + c[0], 0) / ring.length, ring.reduce((a, c) => a + c[1], 0) / ring.length];
    await page.evaluate((c) => window.xuncha.ctrl.map.jumpTo({ center: c, zoom: 18 }), mid);
    await mapIdle(page);
    const zp = await project(page, mid[0], mid[1]);
    await page.mouse.click(zp.x, zp.y);
    await page.waitForSelector('#panel .card[data-shown="zones/rz-0003"]');
    const z = await page.evaluate(async () => (await fetch('/api/public/zones/rz-0003')).json());
    const zcard = await page.textContent('#panel .card');
    assert.equal(z.kind, 'responsibility');
    assert.ok(zcard.includes(z.name) && zcard.includes(z.owner.name) && zcard.includes(z.owner.contact), zcard);
    const tel = await page.getAttribute('#panel .card .contact a', 'href');
    assert.match(tel, /^tel:\d{7,}$/);
    await shot(page, 'public-map-zone');
    const api = requests.filter((u) => new URL(u).pathname.startsWith('/api/'));
    const notPublic = api.filter((u) => !new URL(u).pathname.startsWith('/api/public/'));
    assert.deepEqual(notPublic, [], 'the public page asks only the public API');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
