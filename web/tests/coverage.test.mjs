// Office coverage view: a patrol walks part of the demo route 沿江公园北岸 on a fixed past day
// (uploaded over the API); the office picks that day and route; the table shows the share the
// API reports and the segment layer draws walked segments green and the rest red.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, openPage, signIn, mapIdle, apiToken, shot, offOrigin, DESKTOP, ROOT } from './helpers.mjs';

let srv;
let browser;
const DATE = '2025-06-10';

before(async () => {
  srv = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

/** Points every ~5 m along the first `n` vertices of a line, one a second. */
function walk(coords, n, start) {
  const out = [];
  let seq = 0;
  for (let i = 0; i + 1 < n; i++) {
    const [a, b] = [coords[i], coords[i + 1]];
    const dx = (b[0] - a[0]) * 82_900;
    const dy = (b[1] - a[1]) * 111_100;
    const steps = Math.max(1, Math.round(Math.hypot(dx, dy) / 5));
    for (let k = 0; k < steps; k++) {
      const f = k / steps;
      out.push({ seq, t: new Date(start + seq * 1000).toISOString(), lon: a[0] + (b[0] - a[0]) * f, lat: a[1] + (b[1] - a[1]) * f, accuracy_m: 6 });
      seq++;
    }
  }
  return out;
}

test('office coverage view: table share equals the API, the layer draws', async () => {
  const zones = JSON.parse(readFileSync(join(ROOT, 'geodata', 'baishan', 'zones.geojson'), 'utf8'));
  const route = zones.features.find((f) => f.id === 'route-north-bank');
  const start = Date.parse(`${DATE}T07:10:00+08:00`);
  const token = await apiToken(srv.base, 'patrol');
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const id = 'browser-test-patrol-1';
  let r = await fetch(`${srv.base}/api/patrols/${id}`, { method: 'PUT', headers: auth, body: JSON.stringify({ route: 'route-north-bank', started_at: new Date(start).toISOString() }) });
  assert.equal(r.status, 201);
  const points = walk(route.geometry.coordinates, 30, start);
  r = await fetch(`${srv.base}/api/patrols/${id}/points`, { method: 'POST', headers: auth, body: JSON.stringify({ points }) });
  const up = await r.json();
  assert.equal(up.accepted, points.length, JSON.stringify(up.rejected?.slice(0, 3)));
  assert.ok(up.checkins.length >= 1, 'the first check-in point was passed');

  const officeToken = await apiToken(srv.base, 'office');
  const cov = await (await fetch(`${srv.base}/api/patrols/coverage?route=route-north-bank&date=${DATE}`, { headers: { authorization: `Bearer ${officeToken}` } })).json();
  assert.ok(cov.share > 0.2 && cov.share < 0.6, `part of the route walked: ${cov.share}`);

  const { context, page, requests, errors } = await openPage(browser, srv.base, { viewport: DESKTOP });
  try {
    await signIn(page, 'office');
    await page.waitForSelector('.coverage-panel form');
    await page.fill('.coverage-panel input[name=date]', DATE);
    await page.waitForFunction(() => document.querySelector('.coverage-panel select[name=route] option[value="route-north-bank"]'));
    await page.selectOption('.coverage-panel select[name=route]', 'route-north-bank');
    await page.click('.coverage-panel button[type=submit]');
    await page.waitForFunction((d) => document.querySelector('.coverage-panel')?.dataset.loaded === `route-north-bank@${d}`, DATE);
    await page.waitForFunction(() => document.querySelector('.coverage-table tr.cov-team[data-route="route-north-bank"]'));
    const shown = await page.textContent('.coverage-table tr.cov-route[data-route="route-north-bank"] .share');
    assert.equal(shown.trim(), `${Math.round(cov.share * 1000) / 10}%`);
    const team = await page.textContent('.coverage-table tr.cov-team[data-route="route-north-bank"] .share');
    assert.equal(team.trim(), `${Math.round(cov.teams[0].share * 1000) / 10}%`);
    assert.match(await page.textContent('.coverage-table'), new RegExp(cov.checkins[0].name));
    const bounds = cov.segments.features.flatMap((f) => f.geometry.coordinates);
    await page.evaluate((b) => {
      const lons = b.map((c) => c[0]);
      const lats = b.map((c) => c[1]);
      window.xuncha.ctrl.map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]], { padding: 20, duration: 0 });
    }, bounds);
    await mapIdle(page);
    const drawn = await page.evaluate(() => {
      const m = window.xuncha.ctrl.map;
      const fs = m.queryRenderedFeatures({ layers: ['xuncha-coverage-line'] });
      return { walked: fs.filter((f) => f.properties.walked).length, missed: fs.filter((f) => !f.properties.walked).length };
    });
    assert.ok(drawn.walked > 0 && drawn.missed > 0, JSON.stringify(drawn));
    await shot(page, 'office-coverage');
    assert.deepEqual(offOrigin(requests, srv.base), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
