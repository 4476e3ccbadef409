// The service worker: the app opens with no network.
//
// - The app shell (index.html and the built, content-hashed scripts and styles) is stored at
//   install in a cache named after the build, and the caches of older builds are deleted when the
//   new worker activates, so a release never leaves a stale app behind.
// - Navigations go to the network first (a new release is seen at once) and fall back to the
//   stored index.html.
// - The map's style, TileJSON and the API answers the map page starts from are network-first with
//   a stored copy for offline starts; tiles too, in their own cache, which the offline map pack fills.
// - Writes and photos are never cached: reports wait in the page's IndexedDB outbox instead.
//
// `__BUILD__` and `__SHELL__` are filled in by the build (vite.config.js).

const BUILD = '__BUILD__';
const SHELL = __SHELL__;
const SHELL_CACHE = `xuncha-shell-${BUILD}`;
/** Kept across releases: it holds data, not code. Cleared on sign-out by the page. */
const DATA_CACHE = 'xuncha-data';
const TILE_CACHE = 'xuncha-tiles';

/** GET answers the map page needs to start, by path (query strings are part of the key). */
const DATA_PATHS = ['/style.json', '/tiles.json', '/api/me', '/api/meta', '/api/categories', '/api/zones'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((c) => c.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('xuncha-shell-') && k !== SHELL_CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

/**
 * Network first; a good answer is stored in `cacheName`; when the network fails, the stored copy.
 * A slow network is waited for: a stale tile after an edit would mislead more than a slow one.
 */
async function networkFirst(request, cacheName) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (e) {
    const stored = await cache.match(request, { ignoreVary: true });
    if (stored) return stored;
    throw e;
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith(
      fetch(request).catch(async () => (await caches.match('/index.html', { cacheName: SHELL_CACHE })) || Response.error()),
    );
    return;
  }
  if (url.pathname.startsWith('/tiles/')) {
    event.respondWith(networkFirst(request, TILE_CACHE));
    return;
  }
  if (DATA_PATHS.includes(url.pathname)) {
    event.respondWith(networkFirst(request, DATA_CACHE));
    return;
  }
  if (url.pathname.startsWith('/assets/') || SHELL.includes(url.pathname)) {
    event.respondWith(caches.match(request, { cacheName: SHELL_CACHE }).then((r) => r || fetch(request)));
  }
});
