// The installable phone app: it opens with no network (service worker), draws the map from the
// offline map pack, and records a patrol's track through no signal and a reload, which then
// arrives on the server exactly once.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, openPage, signIn, appStarted, mapIdle, renderedZones, shot, apiToken, PHONE, ARTIFACTS } from './helpers.mjs';

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

/** Errors a phone with no network provokes on purpose: failed fetches of what is not stored. */
const OFFLINE_NOISE = [/Failed to fetch|net::ERR|AJAXError|Failed to load resource|NetworkError|FetchEvent|TypeError: Load failed/i];

/**
 * Takes the phone off the network: the page's requests (setOffline) and the service worker's
 * (Chromium lets context.route see them). Returns what tried to reach the network meanwhile.
 */
async function goOffline(context) {
  const tried = [];
  const handler = (route) => {
    tried.push(route.request().url());
    return route.abort('internetdisconnected');
  };
  await context.setOffline(true);
  await context.route('**', handler);
  return {
    tried,
    async online() {
      await context.unroute('**', handler);
      await context.setOffline(false);
    },
  };
}

async function workerControls(page) {
  await page.waitForFunction(() => !!navigator.serviceWorker?.controller, null, { timeout: 30_000 });
}

/** Whether the worker has stored an answer for each of `paths` (the offline start needs them). */
async function storedAnswers(page, paths) {
  return page.evaluate(async (ps) => {
    const cache = await caches.open('xuncha-data');
    const found = await Promise.all(ps.map(async (p) => !!(await cache.match(p, { ignoreVary: true }))));
    return Object.fromEntries(ps.map((p, i) => [p, found[i]]));
  }, paths);
}

test('the app installs (manifest, icons, worker), opens with no network and draws the offline map pack', async () => {
  const { context, page, errors } = await openPage(browser, srv.base, { viewport: PHONE, allowConsole: OFFLINE_NOISE });
  try {
    const manifest = await (await fetch(`${srv.base}/manifest.webmanifest`)).json();
    assert.equal(manifest.lang, 'zh-CN');
    assert.match(manifest.name, /巡查/);
    assert.equal(manifest.display, 'standalone');
    for (const icon of manifest.icons.filter((i) => i.type === 'image/png')) {
      const r = await fetch(new URL(icon.src, srv.base));
      assert.equal(r.status, 200, icon.src);
      const png = Buffer.from(await r.arrayBuffer());
      const [w, h] = icon.sizes.split('x').map(Number);
      assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [w, h], `${icon.src} is ${icon.sizes}`);
    }
    await signIn(page, 'patrol');
    await workerControls(page);
    await mapIdle(page);

    // The pack of the north-bank route: its size is shown before anything is downloaded.
    await page.selectOption('.patrol-bar .track-route', 'route-north-bank');
    let question = '';
    page.once('dialog', (d) => {
      question = d.message();
      d.accept();
    });
    await page.click('.patrol-bar .pack-get');
    await page.waitForFunction(() => Number(document.body.dataset.packTiles) > 0, null, { timeout: 120_000 });
    const token = await apiToken(srv.base, 'patrol');
    const route = await (await fetch(`${srv.base}/api/zones/route-north-bank`, { headers: { authorization: `Bearer ${token}` } })).json();
    const xs = route.geometry.coordinates.map((c) => c[0]);
    const ys = route.geometry.coordinates.map((c) => c[1]);
    const plan = await (await fetch(`${srv.base}/api/offline/pack?bbox=${[Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)].join(',')}`, { headers: { authorization: `Bearer ${token}` } })).json();
    assert.ok(plan.count > 20 && plan.bytes > 0, JSON.stringify({ count: plan.count, bytes: plan.bytes }));
    assert.match(question, /沿江公园北岸巡逻路线/);
    assert.match(question, /\d+ 个瓦片，约 [\d.]+ MB/);
    const packed = Number(await page.evaluate(() => document.body.dataset.packTiles));
    // The pack has a 300 m margin around the route, so it holds at least the route's own tiles.
    assert.ok(packed >= plan.count, `${packed} tiles packed, the route alone needs ${plan.count}`);
    const stored = await page.evaluate(async () => (await (await caches.open('xuncha-tiles')).keys()).length);
    assert.ok(stored >= packed, `${stored} tiles in the cache`);

    // No network: the page opens from the worker, signed in, and the map draws from the pack.
    const net = await goOffline(context);
    const t0 = Date.now();
    await page.reload();
    await appStarted(page);
    await page.evaluate(() => window.xuncha.ctrl.map.jumpTo({ center: [126.405, 41.9412], zoom: 15 }));
    await mapIdle(page);
    const offlineStartMs = Date.now() - t0;
    const drawn = await renderedZones(page);
    assert.ok(drawn.length > 5, `${drawn.length} zones drawn offline`);
    assert.equal(await page.evaluate(() => navigator.onLine), false);
    assert.ok(await page.locator('.patrol .submit').isVisible(), 'the report form is there');
    writeFileSync(join(ARTIFACTS, 'pwa-offline-start.json'), JSON.stringify({ offline_start_ms: offlineStartMs, pack_tiles: packed, pack_bytes_planned: plan.bytes }, null, 2));
    console.log(`# offline start (reload with no network → drawn map): ${offlineStartMs} ms; pack ${packed} tiles`);
    await shot(page, 'pwa-offline-map');
    await net.online();
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

// The worker can take control at any moment of the first visit. Here it does so at the worst one:
// after the page asked who signed in (past the worker, so not stored) and before the answer.
test('a worker that takes control halfway through the first sign-in still leaves an offline start', async () => {
  let releaseWorker;
  const workerHeld = new Promise((resolve) => (releaseWorker = resolve));
  let page;
  let staged = null;
  const opened = await openPage(browser, srv.base, {
    viewport: PHONE,
    allowConsole: OFFLINE_NOISE,
    async setup(context) {
      // The worker's script is held until the page asks who signed in...
      await context.route('**/sw.js', async (route) => {
        await workerHeld;
        await route.continue();
      });
      // ...and the page's question waits until the worker controls the page.
      await context.route('**/api/me', async (route) => {
        if (!route.request().serviceWorker() && staged === null) {
          const before = await page.evaluate(() => !!navigator.serviceWorker.controller);
          releaseWorker();
          await workerControls(page);
          staged = { controlledWhenAsked: before };
        }
        await route.continue();
      });
    },
  });
  page = opened.page;
  const { context, errors } = opened;
  try {
    await signIn(page, 'patrol');
    assert.deepEqual(staged, { controlledWhenAsked: false }, 'the sign-in asked /api/me past the worker, and the worker took control before the answer');
    const needed = ['/api/me', '/api/meta', '/style.json', '/api/zones?kind=patrol_route'];
    let stored = {};
    for (let i = 0; i < 100; i++) {
      stored = await storedAnswers(page, needed);
      if (Object.values(stored).every(Boolean)) break;
      await page.waitForTimeout(100);
    }
    assert.deepEqual(stored, Object.fromEntries(needed.map((p) => [p, true])), 'the worker stored every answer the next start needs');

    const net = await goOffline(context);
    await page.reload();
    await appStarted(page);
    assert.equal(await page.evaluate(() => window.xuncha.session.user?.username), 'patrol');
    assert.ok(await page.locator('.patrol .submit').isVisible(), 'the report form is there');
    await net.online();
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

/** Metres between two `[lon, lat]` points (haversine), written out here for the test. */
function metres(a, b) {
  const r = Math.PI / 180;
  const h = Math.sin(((b[1] - a[1]) * r) / 2) ** 2 + Math.cos(a[1] * r) * Math.cos(b[1] * r) * Math.sin(((b[0] - a[0]) * r) / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

/** The point `s` metres along a line, and the distance along it of each vertex. */
function along(line) {
  const cum = [0];
  for (let i = 1; i < line.length; i++) cum.push(cum[i - 1] + metres(line[i - 1], line[i]));
  return {
    length: cum[cum.length - 1],
    at(s) {
      let i = 1;
      while (i < line.length - 1 && cum[i] < s) i++;
      const f = Math.min(1, Math.max(0, (s - cum[i - 1]) / (cum[i] - cum[i - 1] || 1)));
      return [line[i - 1][0] + f * (line[i][0] - line[i - 1][0]), line[i - 1][1] + f * (line[i][1] - line[i - 1][1])];
    },
    /** Distance along the line of the vertex nearest to `p`. */
    nearest(p) {
      let best = 0;
      line.forEach((v, i) => {
        if (metres(v, p) < metres(line[best], p)) best = i;
      });
      return cum[best];
    },
  };
}

const localDate = (iso) => new Date(Date.parse(iso) + 8 * 3600_000).toISOString().slice(0, 10);

test('a patrol walked half offline, with a reload, arrives once and covers what was walked, with its check-in', async () => {
  const { context, page, errors } = await openPage(browser, srv.base, { viewport: PHONE, allowConsole: OFFLINE_NOISE });
  try {
    const token = await apiToken(srv.base, 'patrol');
    const office = await apiToken(srv.base, 'office');
    const get = async (tok, path) => {
      const r = await fetch(`${srv.base}${path}`, { headers: { authorization: `Bearer ${tok}` } });
      assert.equal(r.status, 200, `${path}: ${r.status} ${await r.clone().text()}`);
      return r.json();
    };
    const route = await get(token, '/api/zones/route-north-bank');
    const line = route.geometry.coordinates;
    const checkpoint = route.properties.properties.checkpoints[0];
    const geo = along(line);
    // A 300 m stretch of the centreline around the first check-in point, in 10 m steps.
    const mid = geo.nearest([checkpoint.lon, checkpoint.lat]);
    const s0 = Math.max(0, Math.min(mid - 150, geo.length - 300));
    const s1 = s0 + 300;
    const steps = [];
    for (let s = s0; s <= s1 + 1e-6; s += 10) steps.push(geo.at(s));
    const points = () => page.evaluate(() => Number(document.body.dataset.patrolPoints || 0));

    await context.setGeolocation({ longitude: steps[0][0], latitude: steps[0][1], accuracy: 8 });
    await signIn(page, 'patrol');
    await workerControls(page);
    await page.selectOption('.patrol-bar .track-route', 'route-north-bank');
    await page.click('.patrol-bar .track-start');
    await page.waitForSelector('.patrol-bar .track-live:not([hidden])');
    // The first fix (where the patrol stands) is the first point.
    await page.waitForFunction(() => Number(document.body.dataset.patrolPoints || 0) === 1, null, { timeout: 15_000 });
    await page.waitForTimeout(1500);
    let net = null;
    const log = [];
    for (let i = 1; i < steps.length; i++) {
      if (i === Math.floor(steps.length / 2)) net = await goOffline(context);
      if (i === Math.floor(steps.length / 2) + 5) {
        // Reloaded by the river with no signal: the page opens and the patrol goes on.
        await page.reload();
        await appStarted(page);
        await page.waitForSelector('.patrol-bar .track-live:not([hidden])');
        // The count shown is the stored one again before the walk goes on.
        await page.waitForFunction(() => document.body.dataset.patrolPoints !== undefined);
      }
      const before = await points();
      await context.setGeolocation({ longitude: steps[i][0], latitude: steps[i][1], accuracy: 8 });
      await page.waitForFunction((n) => Number(document.body.dataset.patrolPoints || 0) > n, before, { timeout: 15_000 });
      await page.waitForTimeout(1500); // a walk, not a jump: under 15 m/s between points
      log.push(`${i}:${before}→${await points()}`);
    }
    const recorded = await points();
    assert.equal(recorded, steps.length, `one point per 10 m step (${log.join(' ')})`);
    await shot(page, 'pwa-patrol-offline');
    await page.click('.patrol-bar .track-stop');
    await page.waitForSelector('.patrol-bar .track-idle:not([hidden])');
    // Nothing could have reached the server while offline.
    const mine = (await get(token, '/api/patrols?mine=true')).filter?.((p) => p.route === 'route-north-bank') ?? [];
    assert.ok(mine.every((p) => p.points < recorded), 'the offline half has not arrived yet');
    await net.online();
    await page.evaluate(() => window.dispatchEvent(new Event('online')));
    let patrol;
    for (let i = 0; i < 120; i++) {
      const list = await get(token, '/api/patrols?mine=true');
      patrol = (Array.isArray(list) ? list : list.patrols || []).find((p) => p.route === 'route-north-bank' && p.ended_at);
      if (patrol && patrol.points === recorded) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(patrol, 'the patrol arrived and ended');
    assert.equal(patrol.points, recorded, 'every point arrived, none twice');
    const full = await get(token, `/api/patrols/${patrol.id}`);
    assert.equal(full.track.coordinates.length, recorded);
    // Nothing is left waiting on the phone.
    assert.equal(await page.evaluate(() => new Promise((res) => {
      const req = indexedDB.open('xuncha');
      req.onsuccess = () => {
        const c = req.result.transaction('track_points').objectStore('track_points').count();
        c.onsuccess = () => res(c.result);
      };
    })), 0);

    // Coverage: the walked stretch and only it. A segment counts as walked when a point lies within
    // the corridor's half-width of it, so the walked part reaches half a width past each end.
    const dates = [...new Set([localDate(patrol.started_at), localDate(patrol.ended_at)])];
    const walked = new Set();
    let cov;
    for (const d of dates) {
      cov = await get(office, `/api/patrols/coverage?route=route-north-bank&date=${d}`);
      for (const f of cov.segments.features) if (f.properties.walked) walked.add(f.properties.i);
    }
    const seg = cov.segment_m;
    const reach = cov.route.width_m / 2;
    assert.equal(seg, 10);
    for (let i = 0; i < cov.segments_total; i++) {
      const a = i * seg;
      const b = a + seg;
      if (a >= s0 && b <= s1) assert.ok(walked.has(i), `segment ${i} (${a}–${b} m) lies on the walk`);
      if (b < s0 - reach - 1 || a > s1 + reach + 1) assert.ok(!walked.has(i), `segment ${i} (${a}–${b} m) is off the walk`);
    }
    const expected = (s1 - s0 + 2 * reach) / seg;
    assert.ok(Math.abs(walked.size - expected) <= 2, `${walked.size} segments walked, ${expected.toFixed(1)} expected`);
    assert.ok(Math.abs(cov.share - walked.size / cov.segments_total) < 1e-9 || dates.length > 1, `share ${cov.share}`);
    assert.ok(cov.checkins.some((c) => c.checkpoint === (checkpoint.id ?? checkpoint.name) || c.name === checkpoint.name), JSON.stringify(cov.checkins));
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
