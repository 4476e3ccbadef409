// The client's IndexedDB database: the report outbox and the patrol tracks, in one place so every
// module opens it at the same version.
//
// Stores: `outbox` (reports waiting to be sent, key `client_id`), `patrols` (patrols recorded on
// this phone, key `id`), `track_points` (their points waiting for the server, key `[patrol, seq]`).

const NAME = 'xuncha';
const VERSION = 2;

export function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(NAME, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      const has = (n) => db.objectStoreNames.contains(n);
      if (!has('outbox')) db.createObjectStore('outbox', { keyPath: 'client_id' });
      if (!has('patrols')) db.createObjectStore('patrols', { keyPath: 'id' });
      if (!has('track_points')) db.createObjectStore('track_points', { keyPath: ['patrol', 'seq'] });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Runs `fn(stores…)` in one transaction over `names`; resolves with its result once committed. */
export async function tx(names, mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const t = db.transaction(names, mode);
      let out;
      Promise.resolve(fn(...[].concat(names).map((n) => t.objectStore(n)))).then((v) => (out = v), reject);
      t.oncomplete = () => resolve(out);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  } finally {
    db.close();
  }
}

/** A request's result as a promise. */
export const done = (r) => new Promise((res, rej) => ((r.onsuccess = () => res(r.result)), (r.onerror = () => rej(r.error))));
