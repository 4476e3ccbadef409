// The installable phone app: it opens with no network (service worker), draws the map from the
// offline map pack, and records a patrol's track through no signal and a reload, which then
// arrives on the server exactly once.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, openPage, signIn, mapIdle, renderedZones, shot, apiToken, PHONE, ARTIFACTS } from './helpers.mjs';

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
    await page.waitForFunction(() => window.xuncha && window.xuncha.ready === true, null, { timeout: 60_000 });
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
