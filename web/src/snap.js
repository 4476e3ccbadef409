// Snapping the planner's cursor onto existing zones' vertices and edges, within a tolerance in
// screen pixels, and the small geometry the planner needs for it (typed coordinates, closing a
// gap). Targets are the zones' exact coordinates from `/api/zones?bbox=` — the vector tiles are
// simplified and quantised to the tile grid, so a vertex snapped onto a tile edge would still
// leave a sliver the server sees. Coordinates are [lon, lat] WGS84; distances in metres.

import { api } from './api.js';

/** Below this zoom the view holds too many zones to fetch their exact shapes for snapping. */
const MIN_SNAP_ZOOM = 15;
const EARTH_M_PER_DEG_LAT = 111_132;

/** The rings and lines of a GeoJSON geometry, each a list of [lon, lat]. */
export function paths(geometry) {
  if (!geometry) return [];
  switch (geometry.type) {
    case 'Polygon':
      return geometry.coordinates;
    case 'MultiPolygon':
      return geometry.coordinates.flat();
    case 'LineString':
      return [geometry.coordinates];
    case 'MultiLineString':
      return geometry.coordinates;
    default:
      return [];
  }
}

/** The point of segment a–b nearest p, and its parameter t, in whatever plane they are given. */
function nearestOnSegment(p, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? Math.min(1, Math.max(0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2)) : 0;
  return { t, x: a[0] + t * dx, y: a[1] + t * dy };
}

/**
 * The point on a–b (both [lon, lat]) at parameter t, interpolated in lon/lat so that it lies on
 * the straight edge exactly as the server (planar in lon/lat) sees it; an end when t is 0 or 1.
 */
function along(a, b, t) {
  if (t <= 0) return [a[0], a[1]];
  if (t >= 1) return [b[0], b[1]];
  return [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
}

/** Metres between two [lon, lat] positions (local plane; fine over a few hundred metres). */
export function metresBetween(p, q) {
  const k = Math.cos(((p[1] + q[1]) / 2) * (Math.PI / 180));
  const dx = (q[0] - p[0]) * EARTH_M_PER_DEG_LAT * k;
  const dy = (q[1] - p[1]) * EARTH_M_PER_DEG_LAT;
  return Math.hypot(dx, dy);
}

/**
 * The place on `geometry`'s boundary nearest `p` ([lon, lat]) with its distance in metres: a
 * vertex when one is within `vertexM` metres, else the nearest point of an edge.
 */
export function nearestOnBoundary(p, geometry, vertexM = 0) {
  const k = Math.cos(p[1] * (Math.PI / 180));
  const toM = (c) => [(c[0] - p[0]) * EARTH_M_PER_DEG_LAT * k, (c[1] - p[1]) * EARTH_M_PER_DEG_LAT];
  let vertex = null;
  let edge = null;
  for (const ring of paths(geometry)) {
    for (let i = 0; i < ring.length; i++) {
      const a = ring[i];
      const am = toM(a);
      const dv = Math.hypot(am[0], am[1]);
      if (dv <= vertexM && (!vertex || dv < vertex.distanceM)) vertex = { at: [a[0], a[1]], distanceM: dv };
      if (i + 1 >= ring.length) continue;
      const b = ring[i + 1];
      const n = nearestOnSegment([0, 0], am, toM(b));
      const de = Math.hypot(n.x, n.y);
      if (!edge || de < edge.distanceM) edge = { at: along(a, b, n.t), distanceM: de };
    }
  }
  return vertex || edge;
}

/**
 * Parses typed or pasted coordinates: one or more `lon,lat` pairs (comma, Chinese comma or
 * spaces between the numbers; pairs separated by `;`, `；` or new lines). Returns
 * `{ points: [[lon, lat], …] }` or `{ error: i18nKey, params }`.
 */
export function parseLonLat(text) {
  const parts = String(text || '')
    .split(/[;；\n]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (!parts.length) return { error: 'coord_empty', params: {} };
  const points = [];
  for (const part of parts) {
    const m = part.match(/^\[?\s*([-+]?\d+(?:\.\d+)?)\s*(?:[,，、]\s*|\s+)([-+]?\d+(?:\.\d+)?)\s*\]?$/);
    if (!m) return { error: 'coord_bad_format', params: { value: part } };
    // terra-draw keeps 9 decimals (0.1 mm); more would make it refuse the shape.
    const lon = Number(Number(m[1]).toFixed(9));
    const lat = Number(Number(m[2]).toFixed(9));
    if (Math.abs(lat) > 90) {
      return { error: Math.abs(lon) <= 90 && Math.abs(lat) <= 180 ? 'coord_swapped' : 'coord_lat_range', params: { value: part } };
    }
    if (Math.abs(lon) > 180) return { error: 'coord_lon_range', params: { value: part } };
    points.push([lon, lat]);
  }
  return { points };
}

/**
 * Keeps the exact shapes of the zones in view and snaps positions onto them.
 * `tolerancePx()` is read on every snap (0 turns snapping off); `excludeId()` names a zone not to
 * snap to (the one being edited: its old shape would hold the vertices where they were).
 */
export function createSnapper(map, { tolerancePx, excludeId = () => null }) {
  let features = [];
  let loaded = null; // [w, s, e, n] covered by `features`
  let seq = 0;
  let pending = null;

  function covers(b) {
    return loaded && b[0] >= loaded[0] && b[1] >= loaded[1] && b[2] <= loaded[2] && b[3] <= loaded[3];
  }

  /** Fetches the zones around the view unless they are already there; resolves when loaded. */
  function refresh() {
    if (map.getZoom() < MIN_SNAP_ZOOM) return Promise.resolve();
    const v = map.getBounds();
    const view = [v.getWest(), v.getSouth(), v.getEast(), v.getNorth()];
    if (covers(view)) return pending || Promise.resolve();
    const padX = (view[2] - view[0]) / 2;
    const padY = (view[3] - view[1]) / 2;
    const want = [view[0] - padX, view[1] - padY, view[2] + padX, view[3] + padY].map((x) => Number(x.toFixed(6)));
    const my = ++seq;
    pending = api(`/api/zones?bbox=${want.join(',')}`)
      .then((fc) => {
        if (my !== seq) return;
        features = fc.features.map((f) => ({ id: f.id, kind: f.properties.kind, geometry: f.geometry, bbox: bboxOf(f.geometry) }));
        loaded = want;
      })
      .catch(() => {
        /* snapping is a help: without it the planner still draws */
      })
      .finally(() => {
        if (my === seq) pending = null;
      });
    return pending;
  }
  map.on('moveend', refresh);

  /** Drops what is cached (a zone was saved, edited or retired) and loads again. */
  function invalidate() {
    loaded = null;
    return refresh();
  }

  /**
   * The snapped [lon, lat] for a pointer at container pixel (x, y), or undefined when nothing is
   * within the tolerance. Vertices win over edges.
   */
  function snapPixel(x, y) {
    const tol = Number(tolerancePx()) || 0;
    if (tol <= 0 || !features.length) return undefined;
    const sw = map.unproject([x - tol, y + tol]);
    const ne = map.unproject([x + tol, y - tol]);
    const skip = excludeId();
    let vertex = null;
    let edge = null;
    for (const f of features) {
      if (f.id === skip) continue;
      const b = f.bbox;
      if (b[0] > ne.lng || b[2] < sw.lng || b[1] > ne.lat || b[3] < sw.lat) continue;
      for (const ring of paths(f.geometry)) {
        let prev = null;
        for (let i = 0; i < ring.length; i++) {
          const c = ring[i];
          const p = map.project(c);
          const pp = [p.x, p.y];
          const dv = Math.hypot(pp[0] - x, pp[1] - y);
          if (dv <= tol && (!vertex || dv < vertex.d)) vertex = { d: dv, at: [c[0], c[1]] };
          if (prev) {
            const n = nearestOnSegment([x, y], prev.px, pp);
            const de = Math.hypot(n.x - x, n.y - y);
            if (de <= tol && (!edge || de < edge.d)) edge = { d: de, at: along(prev.c, c, n.t) };
          }
          prev = { c, px: pp };
        }
      }
    }
    const hit = vertex || edge;
    if (!hit) return undefined;
    lastSnap = { at: hit.at, to: vertex ? 'vertex' : 'edge' };
    return hit.at;
  }

  let lastSnap = null;
  return {
    refresh,
    invalidate,
    snapPixel,
    /** terra-draw's `snapping.toCustom`: (event) → [lon, lat] | undefined. */
    toCustom: (event) => snapPixel(event.containerX, event.containerY),
    /** The exact shape of a cached zone, or null. */
    geometryOf: (id) => features.find((f) => f.id === id)?.geometry || null,
    get lastSnap() {
      return lastSnap;
    },
    get count() {
      return features.length;
    },
  };
}

function bboxOf(geometry) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  for (const ring of paths(geometry)) {
    for (const [x, y] of ring) {
      if (x < b[0]) b[0] = x;
      if (y < b[1]) b[1] = y;
      if (x > b[2]) b[2] = x;
      if (y > b[3]) b[3] = y;
    }
  }
  return b;
}

/**
 * Closes a gap: every vertex of `ring` (a closed polygon ring, [lon, lat]) within `reachM`
 * metres of `neighbour`'s boundary moves onto it (onto a vertex of it within `vertexM`, else
 * the nearest point of an edge). Returns the new ring and how many vertices moved.
 */
export function snapRingOnto(ring, neighbour, reachM, vertexM = 0.05) {
  let moved = 0;
  const open = ring.slice(0, -1).map((p) => {
    const n = nearestOnBoundary(p, neighbour, vertexM);
    if (n && n.distanceM > 0 && n.distanceM <= reachM) {
      moved++;
      return n.at;
    }
    return p;
  });
  return { ring: [...open, open[0]], moved };
}
