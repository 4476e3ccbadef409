// Patrol tracks on the phone: "开始巡查" records GPS points into IndexedDB (they survive no signal, a
// reload and a closed tab) and uploads them in batches to the server, which accepts each point once
// (`POST /api/patrols/{id}/points`, idempotent per `seq`). The patrol's id is made here, so a patrol
// can start with no network at all.

import { api, ApiError } from './api.js';
import { tx, done } from './idb.js';
import { uuid } from './queue.js';

/** A point is stored when the phone moved this far from the last stored one… */
export const MIN_STEP_M = 5;
/** …or this long passed (a patrol standing still still shows it was there). */
export const MAX_GAP_MS = 30_000;
/** Points per upload request (the server takes up to 2 000). */
const BATCH = 500;
const ACTIVE = 'xuncha.activePatrol';

const nowIso = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Metres between two `[lon, lat]` points (haversine on the mean Earth radius). */
export function distanceM(a, b) {
  const r = Math.PI / 180;
  const dLat = (b[1] - a[1]) * r;
  const dLon = (b[0] - a[0]) * r;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * r) * Math.cos(b[1] * r) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

const getPatrol = (id) => tx('patrols', 'readonly', (s) => done(s.get(id)));
const putPatrol = (p) => tx('patrols', 'readwrite', (s) => done(s.put(p)));
/**
 * Changes patrol `id` with `fn(patrol)` inside one transaction, so a point recorded meanwhile is
 * never overwritten by an older copy; resolves to the changed patrol (or null when it is gone).
 */
const updatePatrol = (id, fn) =>
  tx('patrols', 'readwrite', async (s) => {
    const p = await done(s.get(id));
    if (!p) return null;
    fn(p);
    s.put(p);
    return p;
  });
const pointsOf = (id, limit) => tx('track_points', 'readonly', (s) => done(s.getAll(IDBKeyRange.bound([id, 0], [id, Infinity]), limit)));
export const allPatrols = () => tx('patrols', 'readonly', (s) => done(s.getAll()));
/** Points of patrol `id` still waiting for the server. */
export const waiting = (id) => tx('track_points', 'readonly', (s) => done(s.count(IDBKeyRange.bound([id, 0], [id, Infinity]))));

/** The patrol being recorded on this phone, if any (it outlives a reload). */
export async function active() {
  const id = localStorage.getItem(ACTIVE);
  if (!id) return null;
  const p = await getPatrol(id).catch(() => null);
  return p && !p.ended_at ? p : null;
}

/** Starts a patrol of `route` (a patrol_route zone id, or null for a free patrol). */
export async function start(route, user) {
  const p = { id: uuid(), route: route || null, user, started_at: nowIso(), ended_at: null, next_seq: 0, last: null, distance_m: 0, points: 0, created_sent: false, end_sent: false, rejected: 0, checkins: [] };
  await putPatrol(p);
  localStorage.setItem(ACTIVE, p.id);
  return p;
}

/** Ends patrol `id` (the end is sent with the remaining points). */
export async function finish(id) {
  const p = await updatePatrol(id, (x) => (x.ended_at = x.ended_at || nowIso()));
  if (!p) return null;
  if (localStorage.getItem(ACTIVE) === id) localStorage.removeItem(ACTIVE);
  return p;
}

/**
 * Records a geolocation fix for patrol `id` when it moved at least [`MIN_STEP_M`] or
 * [`MAX_GAP_MS`] passed; returns the updated patrol, or null when the fix was not kept.
 */
export async function record(id, coords, at = Date.now()) {
  let kept = null;
  await tx(['patrols', 'track_points'], 'readwrite', async (patrols, points) => {
    const p = await done(patrols.get(id));
    if (!p || p.ended_at) return;
    const here = [Number(coords.longitude.toFixed(7)), Number(coords.latitude.toFixed(7))];
    const moved = p.last ? distanceM(p.last.lonlat, here) : Infinity;
    if (p.last && moved < MIN_STEP_M && at - p.last.at < MAX_GAP_MS) return;
    const point = { patrol: id, seq: p.next_seq, t: nowIso(at), lon: here[0], lat: here[1], accuracy_m: Math.round((coords.accuracy ?? 0) * 10) / 10 };
    points.put(point);
    p.distance_m += p.last ? moved : 0;
    p.last = { lonlat: here, at };
    p.next_seq += 1;
    p.points += 1;
    patrols.put(p);
    kept = p;
  });
  return kept;
}

let syncing = null;
/**
 * Sends every patrol's start, waiting points and end, oldest first. Resolves to the check-ins the
 * server recorded in this run. Stops at the first network or server failure (to retry later);
 * one sync runs at a time.
 */
export function sync(onCheckin) {
  if (syncing) return syncing;
  syncing = (async () => {
    try {
      const list = (await allPatrols()).sort((a, b) => (a.started_at < b.started_at ? -1 : 1));
      for (const p of list) if (!(await syncOne(p, onCheckin))) break;
    } finally {
      syncing = null;
    }
  })();
  return syncing;
}

const transient = (e) => !(e instanceof ApiError) || e.status === 0 || e.status >= 500 || [401, 408, 429].includes(e.status);

/** One patrol; false when the network or server failed and the rest should wait. */
async function syncOne(p, onCheckin) {
  const path = `/api/patrols/${encodeURIComponent(p.id)}`;
  try {
    if (!p.created_sent) {
      await api(path, { method: 'PUT', json: { route: p.route, started_at: p.started_at } });
      await updatePatrol(p.id, (x) => (x.created_sent = true));
    }
    for (;;) {
      const batch = await pointsOf(p.id, BATCH);
      if (!batch.length) break;
      const body = await api(`${path}/points`, { method: 'POST', json: { points: batch.map(({ seq, t, lon, lat, accuracy_m }) => ({ seq, t, lon, lat, accuracy_m })) } });
      // Accepted, duplicate and refused points are all settled: none is sent again.
      await tx('track_points', 'readwrite', (s) => batch.forEach((x) => s.delete([x.patrol, x.seq])));
      await updatePatrol(p.id, (x) => {
        x.rejected += (body.rejected || []).length;
        x.checkins = [...x.checkins, ...(body.checkins || [])];
      });
      for (const c of body.checkins || []) onCheckin?.(c);
    }
    const latest = await getPatrol(p.id);
    if (latest?.ended_at && !latest.end_sent) {
      await api(`${path}/end`, { method: 'POST', json: { ended_at: latest.ended_at } });
      // Everything is on the server: the phone forgets the patrol.
      await tx(['patrols', 'track_points'], 'readwrite', (s) => s.delete(p.id));
    }
    return true;
  } catch (e) {
    if (transient(e)) return false;
    // Refused for good (the route was retired, the patrol belongs to someone else): keep the
    // record so the patrol sees it, but stop sending it.
    await updatePatrol(p.id, (x) => Object.assign(x, { failed: e.message, end_sent: true, created_sent: true }));
    await tx('track_points', 'readwrite', async (s) => {
      const keys = await done(s.getAllKeys(IDBKeyRange.bound([p.id, 0], [p.id, Infinity])));
      keys.forEach((k) => s.delete(k));
    });
    return true;
  }
}
