// Every role signs in, sees zone features on the map (queryRenderedFeatures), and the page makes
// no request off the server's origin and logs no console error. Screenshots at desktop and phone size.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, signIn, mapIdle, renderedZones, offOrigin, shot, DESKTOP, PHONE, appStarted } from './helpers.mjs';

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

for (const role of ['patrol', 'office', 'planner', 'admin']) {
  for (const [size, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ]) {
    test(`${role} signs in and sees zones (${size})`, async () => {
      const { context, page, requests, errors } = await openPage(browser, srv.base, { viewport });
      try {
        await signIn(page, role);
        await mapIdle(page);
        const zones = await renderedZones(page);
        assert.ok(zones.length > 20, `expected many rendered zones, got ${zones.length}`);
        const kinds = new Set(zones.map((z) => z.kind));
        assert.ok(kinds.has('grid'), `grid cells rendered: ${[...kinds]}`);
        assert.ok(kinds.has('responsibility') || kinds.has('patrol_route'), `zones rendered: ${[...kinds]}`);
        assert.ok(zones.every((z) => z.source === 'xuncha' && (z.sourceLayer === 'zones' || z.sourceLayer === 'routes')), 'zones come from the vector tiles');
        const who = await page.textContent('.who');
        assert.match(who, new RegExp(role));
        if (role === 'patrol') await page.waitForSelector('.patrol .cat');
        if (role === 'office' || role === 'admin') await page.waitForSelector('.office .ranking');
        if (role === 'planner' || role === 'admin') await page.waitForSelector('.planner [data-draw=polygon]');
        await page.waitForTimeout(4500); // let the info toast fade before the screenshot
        await shot(page, `${role}-${size}`);
        assert.deepEqual(offOrigin(requests, srv.base), [], 'every request stays on the server origin');
        assert.deepEqual(errors, [], 'no console errors');
      } finally {
        await context.close();
      }
    });
  }
}

test('session survives reload, zone popup shows the owner, sign-out returns to the login', async () => {
  const { context, page, errors, requests } = await openPage(browser, srv.base);
  try {
    await signIn(page, 'office');
    await page.reload();
    await appStarted(page);
    await mapIdle(page);
    assert.match(await page.textContent('.who'), /office/);
    // Click the centre of a rendered frontage zone and read its popup.
    const target = await page.evaluate(() => {
      const c = window.xuncha.ctrl;
      const fs = c.map.queryRenderedFeatures({ layers: c.layersOf('zones') }).filter((f) => f.properties.kind === 'responsibility');
      const f = fs[Math.floor(fs.length / 2)];
      const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
      const lon = ring.slice(0, -1).reduce((s, p) => s + p[0], 0) / (ring.length - 1);
      const lat = ring.slice(0, -1).reduce((s, p) => s + p[1], 0) / (ring.length - 1);
      c.map.jumpTo({ center: [lon, lat], zoom: 18 });
      return { id: f.properties.id, name: f.properties.name };
    });
    await mapIdle(page);
    const box = await page.locator('#map canvas').boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForSelector('.zone-pop .zone-owner', { timeout: 15_000 });
    const popup = await page.textContent('.zone-pop');
    assert.ok(popup.includes(target.name), `popup names ${target.name}: ${popup}`);
    assert.match(popup, /责任单位/);
    await shot(page, 'office-zone-popup-desktop');
    await page.click('.signout');
    await page.waitForSelector('.login .msg.ok');
    await page.reload();
    await page.waitForSelector('.login form');
    assert.deepEqual(offOrigin(requests, srv.base), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('an expired session returns to the login screen with a message', async () => {
  const { context, page } = await openPage(browser, srv.base, { allowConsole: [/status of 401/] });
  try {
    await signIn(page, 'patrol');
    // The server answers an expired token with 401 "your session has expired"; expiring a real
    // token would need a 12-hour wait, so the next /api/me gets that exact answer instead. The
    // context's route also sees what the service worker fetches on the page's behalf.
    await context.route('**/api/me', (route) =>
      route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ error: 'your session has expired; sign in again', details: [] }) }),
    );
    await page.reload();
    await page.waitForSelector('.login .msg.error');
    assert.match(await page.textContent('.login .msg'), /过期/);
  } finally {
    await context.close();
  }
});

test('English switch', async () => {
  const { context, page } = await openPage(browser, srv.base);
  try {
    await page.click('.login .lang');
    assert.match(await page.textContent('.login button[type=submit]'), /Sign in/);
    await signIn(page, 'planner');
    assert.match(await page.textContent('.planner'), /Draw zone/);
    await page.click('.topbar .lang');
    await page.waitForFunction(() => window.xuncha.ready === true);
    assert.match(await page.textContent('.planner'), /绘制区域/);
  } finally {
    await context.close();
  }
});

test('the page runs under the CSP: an inline script or style is refused and reported', async () => {
  const { context, page, errors } = await openPage(browser, srv.base);
  try {
    await page.evaluate(() => {
      const d = document.createElement('div');
      d.innerHTML = '<p style="color: red">x</p><img src="x" onerror="window.__ran = 1">';
      document.body.appendChild(d);
      const s = document.createElement('script');
      s.textContent = 'window.__ran = 2';
      document.body.appendChild(s);
    });
    await page.waitForFunction(() => true, null, { timeout: 1000 });
    await page.waitForTimeout(500);
    assert.equal(await page.evaluate(() => window.__ran), undefined, 'no inline script ran');
    assert.ok(errors.some((e) => /CSP violation: style-src/.test(e)), `an inline style is reported: ${errors.join('\n')}`);
    assert.ok(errors.some((e) => /CSP violation: script-src/.test(e)), `an inline script is reported: ${errors.join('\n')}`);
    const headers = (await page.request.get(`${srv.base}/api/categories`)).headers();
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['referrer-policy'], 'same-origin');
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.equal(headers['cache-control'], 'no-store');
  } finally {
    await context.close();
  }
});
