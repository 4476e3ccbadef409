// The installable app: registers the service worker (src/sw.js), reloads once when a new release
// takes over, and clears what the worker stored about the signed-in user on sign-out.

/** Caches of data (not code) that belong to the signed-in user (named as in src/sw.js). */
const DATA_CACHE = 'xuncha-data';
const PRIVATE_CACHES = [DATA_CACHE, 'xuncha-tiles'];
/** Whether the worker controlled this page when it loaded (not on the very first visit). */
let controlledAtLoad = false;

export function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  // A page that had a worker before reloads once when a new one takes control, so it never runs
  // an old app against a new server (the new worker deleted the old build's files).
  controlledAtLoad = !!navigator.serviceWorker.controller;
  let reloaded = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!controlledAtLoad) return warm();
    if (reloaded) return;
    reloaded = true;
    location.reload();
  });
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
    /* no worker (plain http on a non-local host): the app still works online */
  });
}

/**
 * The answers the map page starts from. A page that was not controlled by the worker when it
 * loaded (the very first visit) made some of its requests past the worker, so they were not
 * stored: `warm` fetches those again through the worker, so the very next start works with no
 * network, whichever came first, the worker taking control or the sign-in.
 */
const START_URLS = ['/api/me', '/api/meta', '/style.json', '/tiles.json', '/api/zones?kind=grid', '/api/zones?kind=patrol_route'];

/** Fetches, through the worker, each start answer it has not stored; only when signed in. */
async function warm() {
  if (!controlled() || !('caches' in self) || localStorage.getItem('xuncha.signedIn') !== '1') return;
  const cache = await caches.open(DATA_CACHE);
  await Promise.all(
    START_URLS.map(async (u) => {
      if (await cache.match(u, { ignoreVary: true })) return;
      await fetch(u, { credentials: 'same-origin' }).catch(() => {});
    }),
  ).catch(() => {});
}

/**
 * Called when the signed-in map page has started. A page the worker controlled from its load
 * sent every request through it, so there is nothing to do; otherwise the worker may have taken
 * control halfway through the sign-in, after some start answers had gone past it.
 */
export function warmAfterStart() {
  if (!controlledAtLoad) warm();
}

/** Deletes the stored API answers and tiles (sign-out: the next user must not see them). */
export async function clearPrivateCaches() {
  if (!('caches' in self)) return;
  await Promise.all(PRIVATE_CACHES.map((c) => caches.delete(c))).catch(() => {});
}

/** Whether the app is running from the worker (an offline start is possible). */
export const controlled = () => !!navigator.serviceWorker?.controller;
