// Shared set-up for the browser tests: a real `xuncha serve --demo` on a free port with a temp data
// folder, and Debian's chromium driven by playwright-core.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync, writeFileSync, cpSync, renameSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const WEB = resolve(here, '..');
export const ROOT = resolve(WEB, '..');
export const ARTIFACTS = join(WEB, 'test-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

export const BIN = resolve(WEB, process.env.XUNCHA_BIN || '../target/debug/xuncha');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const USERS = {
  patrol: 'patrol-2026',
  office: 'office-2026',
  chengnan: 'chengnan-2026',
  unit: 'unit-2026',
  planner: 'planner-2026',
  admin: 'admin-2026',
};
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
/** A spot on the river-park north bank in the demo city (inside zones). */
export const SPOT = { lon: 126.4185, lat: 41.9405 };

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

/** Spawns `xuncha --data DATA serve --demo ...` and waits until it answers `/healthz`. */
async function spawnServer(data, extraArgs) {
  const port = await freePort();
  const args = ['--data', data, 'serve', '--demo', '--addr', `127.0.0.1:${port}`, '--geodata', join(ROOT, 'geodata', 'baishan'), '--web', join(WEB, 'dist'), ...extraArgs];
  const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  // Loading the demo city (400 reports with photos) takes a while in a debug build on a busy machine.
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited ${proc.exitCode}:\n${log}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL'); // or the test file never exits, waiting on the child
      throw new Error(`server did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    base,
    get log() {
      return log;
    },
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
    },
  };
}

/**
 * The demo city loaded once per test run (every test file of one `node --test` shares the parent
 * process) and copied for each server: loading it takes about 20 s in a debug build, copying it a
 * few milliseconds. The copy is the city as `--demo` leaves it on a fresh data folder; a server
 * started on it with `--demo` serves it as it is. The folder is built aside and renamed into
 * place, so it exists only when whole. One older than the server binary or than an hour (the
 * demo's report ages count from when it was loaded) is built again.
 */
async function demoTemplate() {
  const prefix = 'xuncha-web-demo-';
  const dir = join(tmpdir(), `${prefix}${process.ppid}`);
  const fresh = (path) => {
    const made = statSync(path).mtimeMs;
    return made > statSync(BIN).mtimeMs && Date.now() - made < 3_600_000;
  };
  if (existsSync(dir) && fresh(dir)) return dir;
  // Templates (and half-built ones) of this and earlier runs that are no longer fresh.
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(prefix)) continue;
    const path = join(tmpdir(), name);
    try {
      if (!fresh(path)) rmSync(path, { recursive: true, force: true });
    } catch {
      /* another run's clean-up got there first */
    }
  }
  const building = mkdtempSync(join(tmpdir(), `${prefix}build-`));
  try {
    const srv = await spawnServer(building, []);
    await srv.stop(); // a clean shutdown: the database is whole in its file
    renameSync(building, dir);
  } catch (e) {
    rmSync(building, { recursive: true, force: true });
    // Another test file built it at the same time: use theirs.
    if (!existsSync(dir)) throw e;
  }
  return dir;
}

/** Starts the server (with `extraArgs` after `serve`) on a copy of the demo city; returns `{base, stop, data, log}`. */
export async function startServer({ extraArgs = [] } = {}) {
  if (!existsSync(BIN)) throw new Error(`server binary ${BIN} not found: build it (cargo build) or set XUNCHA_BIN`);
  if (!existsSync(join(WEB, 'dist', 'index.html'))) throw new Error('web/dist is missing: run npm run build');
  const data = mkdtempSync(join(tmpdir(), 'xuncha-web-'));
  cpSync(await demoTemplate(), data, { recursive: true });
  const srv = await spawnServer(data, extraArgs);
  return {
    base: srv.base,
    data,
    get log() {
      return srv.log;
    },
    async stop() {
      await srv.stop();
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** Signs in over the API (not the browser), asking for a bearer token (`"token": true`). */
export async function apiToken(base, user) {
  const r = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, password: USERS[user], token: true }) });
  if (!r.ok) throw new Error(`login ${user}: ${r.status}`);
  const body = await r.json();
  if (!body.token) throw new Error(`login ${user}: no token in ${JSON.stringify(body)}`);
  return body.token;
}

/** The policy every page must be served under (see src/http/guard.rs). */
const CSP_MUST = ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"];

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--lang=zh-CN'],
  });
}

/**
 * A fresh context (its own storage and worker) and page that records every request URL, console
 * error and page error. `allowConsole` lists console errors a test provokes on purpose (a refused
 * edit, going offline); `setup(context)` runs before the page is opened, e.g. to route requests.
 */
export async function openPage(browser, base, { viewport = DESKTOP, geolocation = SPOT, allowConsole = [], setup } = {}) {
  const context = await browser.newContext({
    viewport,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    geolocation: { latitude: geolocation.lat, longitude: geolocation.lon, accuracy: 12 },
    permissions: ['geolocation'],
    deviceScaleFactor: 1,
    isMobile: viewport.width < 700,
    hasTouch: viewport.width < 700,
  });
  // Every Content-Security-Policy violation becomes a console error that no allowConsole hides.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile || '?'}:${e.lineNumber}`);
    });
  });
  await setup?.(context);
  const page = await context.newPage();
  const requests = [];
  const errors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = `${m.text()} @ ${m.location()?.url || ''}`;
    const csp = /CSP violation|Content Security Policy/i.test(text);
    if (!csp && allowConsole.some((re) => re.test(text))) return;
    errors.push(text);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  const resp = await page.goto(base);
  const csp = resp.headers()['content-security-policy'] || '';
  const missing = CSP_MUST.filter((d) => !csp.includes(d));
  if (missing.length) throw new Error(`the page is not served under the CSP (missing ${missing.join(', ')}): ${csp}`);
  return { context, page, requests, errors };
}

export async function signIn(page, user) {
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', USERS[user]);
  await page.click('button[type=submit]');
  await appStarted(page);
}

/** Waits for the app to report itself started; when it does not, says what the page shows. */
export async function appStarted(page, timeout = 60_000) {
  try {
    await page.waitForFunction(() => window.xuncha && window.xuncha.ready === true, null, { timeout });
  } catch (e) {
    const shown = await page.evaluate(() => document.body.innerText.replace(/\s+/g, ' ').slice(0, 300)).catch(() => '?');
    throw new Error(`the app did not start (${e.message}); the page shows: ${shown}`);
  }
}

/** Waits until the map has no pending tiles or sources. */
export async function mapIdle(page, timeout = 30_000) {
  await page.waitForFunction(
    () => {
      const m = window.xuncha.ctrl && window.xuncha.ctrl.map;
      return m && m.loaded() && m.areTilesLoaded() && !m.isMoving();
    },
    null,
    { timeout, polling: 200 },
  );
  await page.waitForTimeout(300);
}

/**
 * Rendered zone and route features from the vector tiles (source-layers `zones` and `routes`;
 * client label layers from other sources are left out). Routes carry no `kind` in the tiles.
 */
export async function renderedZones(page) {
  return page.evaluate(() => {
    const c = window.xuncha.ctrl;
    const style = c.map.getStyle();
    const layers = style.layers.filter((l) => l.source === c.source && ['zones', 'routes'].includes(l['source-layer'])).map((l) => l.id);
    return c.map.queryRenderedFeatures({ layers }).map((f) => ({
      id: f.properties.id ?? f.id,
      kind: f.properties.kind ?? (f.sourceLayer === 'routes' ? 'patrol_route' : undefined),
      name: f.properties.name,
      layer: f.layer.id,
      sourceLayer: f.sourceLayer || null,
      source: f.source,
    }));
  });
}

export function offOrigin(requests, base) {
  const origin = new URL(base).origin;
  return requests.filter((u) => {
    if (u.startsWith('data:') || u.startsWith('blob:')) return false;
    try {
      return new URL(u).origin !== origin;
    } catch {
      return true;
    }
  });
}

export async function shot(page, name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Screen position of a lon/lat on the map canvas, in page pixels. */
export async function project(page, lon, lat) {
  return page.evaluate(
    ([lon, lat]) => {
      const m = window.xuncha.ctrl.map;
      const p = m.project([lon, lat]);
      const r = m.getCanvas().getBoundingClientRect();
      return { x: r.left + p.x, y: r.top + p.y };
    },
    [lon, lat],
  );
}

/**
 * Writes a real `w`×`h` JPEG to `path`, encoded by the browser's own JPEG encoder: a gradient
 * from `from` to `to` with a light square in the middle. Returns `path`.
 */
export async function browserJpeg(browser, path, { w = 1600, h = 1200, from = '#6b8e23', to = '#8b4513', quality = 0.9 } = {}) {
  const ctx = await browser.newContext();
  try {
    const p = await ctx.newPage();
    const b64 = await p.evaluate(
      async ({ w, h, from, to, quality }) => {
        const c = document.createElement('canvas');
        c.width = w;
        c.height = h;
        const g = c.getContext('2d');
        const grad = g.createLinearGradient(0, 0, w, h);
        grad.addColorStop(0, from);
        grad.addColorStop(1, to);
        g.fillStyle = grad;
        g.fillRect(0, 0, w, h);
        g.fillStyle = '#fff';
        g.fillRect(w * 0.4, h * 0.35, w * 0.2, h * 0.3);
        const blob = await new Promise((r) => c.toBlob(r, 'image/jpeg', quality));
        const buf = new Uint8Array(await blob.arrayBuffer());
        let s = '';
        for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
        return btoa(s);
      },
      { w, h, from, to, quality },
    );
    writeFileSync(path, Buffer.from(b64, 'base64'));
    return path;
  } finally {
    await ctx.close();
  }
}
