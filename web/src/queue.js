// The offline outbox: reports (with their photo Blobs) wait in IndexedDB, keyed by the client-made
// `client_id`, until the server acknowledges them. The server treats a repeated `client_id` as the
// same report, so a retry after a lost response cannot create a duplicate.

import { api, ApiError } from './api.js';
import { tx as idbTx, done } from './idb.js';

const STORE = 'outbox';
const tx = (mode, fn) => idbTx(STORE, mode, fn);
const req2p = done;

export const put = (rec) => tx('readwrite', (s) => req2p(s.put(rec)));
export const remove = (id) => tx('readwrite', (s) => req2p(s.delete(id)));
export const all = () => tx('readonly', (s) => req2p(s.getAll()));
export const count = () => tx('readonly', (s) => req2p(s.count()));

/** A random UUID v4, also where `crypto.randomUUID` is missing (plain-http deployments). */
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function formOf(rec) {
  const f = new FormData();
  f.set('lon', String(rec.lon));
  f.set('lat', String(rec.lat));
  if (rec.accuracy_m != null) f.set('accuracy_m', String(Math.round(rec.accuracy_m * 10) / 10));
  f.set('category', rec.category);
  if (rec.note) f.set('note', rec.note);
  if (rec.captured_at) f.set('captured_at', rec.captured_at);
  f.set('client_id', rec.client_id);
  (rec.photos || []).forEach((p, i) => f.append('photo', p.blob, p.name || `photo-${i + 1}.jpg`));
  return f;
}

/**
 * Sends one record. Resolves to `{ok: true, body}` when the server stored it (201, or 200 for a
 * retry), `{ok: false, keep: true, error}` when it should wait (offline, 5xx, not signed in, API
 * missing), or `{ok: false, keep: false, error}` when the server refused it for good (4xx).
 */
export async function send(rec) {
  try {
    const body = await api('/api/reports', { method: 'POST', form: formOf(rec) });
    return { ok: true, body };
  } catch (e) {
    const transient = !(e instanceof ApiError) || e.status === 0 || e.status >= 500 || [401, 404, 408, 429].includes(e.status);
    return { ok: false, keep: transient, error: e };
  }
}

let flushing = null;
/**
 * Sends every waiting record, oldest first; `onResult(rec, result)` after each. Only one flush
 * runs at a time; a second call waits for the running one.
 */
export function flush(onResult) {
  if (flushing) return flushing;
  flushing = (async () => {
    try {
      const recs = (await all()).sort((a, b) => a.created - b.created);
      for (const rec of recs) {
        const r = await send(rec);
        if (r.ok || !r.keep) await remove(rec.client_id);
        onResult?.(rec, r);
        if (!r.ok && r.keep) break; // the network or server is down: try again later
      }
    } finally {
      flushing = null;
    }
  })();
  return flushing;
}
