// The installable app: registers the service worker (src/sw.js), reloads once when a new release
// takes over, and clears what the worker stored about the signed-in user on sign-out.

/** Caches of data (not code) that belong to the signed-in user. */
const PRIVATE_CACHES = ['xuncha-data', 'xuncha-tiles'];

export function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  // A page that had a worker before reloads once when a new one takes control, so it never runs
  // an old app against a new server (the new worker deleted the old build's files).
  const hadController = !!navigator.serviceWorker.controller;
  let reloaded = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!hadController) return warm();
    if (reloaded) return;
    reloaded = true;
    location.reload();
  });
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
    /* no worker (plain http on a non-local host): the app still works online */
  });
}

/**
 * The answers the map page starts from, fetched once through a worker that just took control
 * (the first page load ran before it did), so the very next start works with no network.
 */
const START_URLS = ['/api/me', '/api/meta', '/style.json', '/tiles.json', '/api/zones?kind=grid', '/api/zones?kind=patrol_route'];
function warm() {
  if (localStorage.getItem('xuncha.signedIn') !== '1') return;
  for (const u of START_URLS) fetch(u, { credentials: 'same-origin' }).catch(() => {});
}

/** Deletes the stored API answers and tiles (sign-out: the next user must not see them). */
export async function clearPrivateCaches() {
  if (!('caches' in self)) return;
  await Promise.all(PRIVATE_CACHES.map((c) => caches.delete(c))).catch(() => {});
}

/** Whether the app is running from the worker (an offline start is possible). */
export const controlled = () => !!navigator.serviceWorker?.controller;
