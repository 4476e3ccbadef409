// The patrol phone's bar above the report form: start and end a patrol (its track is recorded
// by track.js and drawn on the map), and the offline map pack of the patrol's area.

import { api, errorText } from './api.js';
import { t } from './i18n.js';
import { html, $, toast } from './dom.js';
import { session } from './session.js';
import * as track from './track.js';

/** How often the phone asks for a fix while a patrol runs (watchPosition may be sparse). */
const POLL_MS = 2000;
const TILE_CACHE = 'xuncha-tiles';
/** Metres of margin around a route when its area is packed. */
const PACK_MARGIN_M = 300;

const fmtKm = (m) => (m >= 1000 ? `${(m / 1000).toFixed(2)} km` : `${Math.round(m)} m`);
const fmtMb = (b) => `${(b / 1048576).toFixed(b < 1048576 ? 2 : 1)} MB`;
const fmtClock = (ms) => {
  const s = Math.max(0, Math.floor(ms / 1000));
  return [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((v) => String(v).padStart(2, '0')).join(':');
};

/** `[minLon, minLat, maxLon, maxLat]` of a GeoJSON geometry, grown by `margin_m`. */
function bboxOf(geometry, margin_m) {
  const pts = geometry.type === 'LineString' ? geometry.coordinates : geometry.coordinates.flat(geometry.type === 'MultiLineString' || geometry.type === 'Polygon' ? 1 : 2);
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of pts) {
    b[0] = Math.min(b[0], x);
    b[1] = Math.min(b[1], y);
    b[2] = Math.max(b[2], x);
    b[3] = Math.max(b[3], y);
  }
  const dLat = margin_m / 111_320;
  const dLon = margin_m / (111_320 * Math.cos((((b[1] + b[3]) / 2) * Math.PI) / 180));
  return [b[0] - dLon, b[1] - dLat, b[2] + dLon, b[3] + dLat].map((v) => Number(v.toFixed(6)));
}

export async function mountPatrolBar({ ctrl, section }) {
  const { map } = ctrl;
  const bar = document.createElement('div');
  bar.className = 'patrol-bar';
  section.prepend(bar);
  let routes = [];
  try {
    routes = (await api('/api/zones?kind=patrol_route')).features || [];
  } catch (e) {
    toast(errorText(e, t), 'error');
  }
  bar.innerHTML = html`
    <div class="track-idle">
      <label class="track-route-label">${t('track_route')}
        <select class="track-route">
          <option value="">${t('track_free')}</option>
          ${routes.map((r) => html`<option value="${r.id}">${r.properties.name}</option>`)}
        </select>
      </label>
      <button type="button" class="primary track-start">${t('track_start')}</button>
    </div>
    <div class="track-live" hidden role="status" aria-live="polite">
      <span class="track-dot" aria-hidden="true"></span>
      <span class="track-stats"></span>
      <button type="button" class="track-stop">${t('track_stop')}</button>
    </div>
    <div class="pack">
      <button type="button" class="link pack-get">${t('pack_get')}</button>
      <span class="pack-status" aria-live="polite"></span>
      <progress class="pack-progress" hidden max="1" value="0"></progress>
    </div>`.toString();
  const idle = $('.track-idle', bar);
  const live = $('.track-live', bar);
  const stats = $('.track-stats', bar);
  const routeSel = $('.track-route', bar);

  map.addSource('patrol-track', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'patrol-track-line', type: 'line', source: 'patrol-track', paint: { 'line-color': '#d81b60', 'line-width': 4, 'line-opacity': 0.85 } });
  const trail = [];
  const drawTrail = () => map.getSource('patrol-track')?.setData({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: trail.length > 1 ? trail : [] } });

  let current = null;
  let watchId = null;
  let poll = null;
  let tick = null;
  const onCheckin = (c) => toast(t('track_checkin', { name: c.name || c.checkpoint }), 'info', 6000);
  const upload = () => navigator.onLine && track.sync(onCheckin).then(show).catch(() => {});

  let shown = 0; // only the latest call of show() writes: an older one may have read older counts
  async function show() {
    const mine = ++shown;
    if (!current) {
      idle.hidden = false;
      live.hidden = true;
      return;
    }
    idle.hidden = true;
    live.hidden = false;
    const p = (await track.allPatrols()).find((x) => x.id === current.id) || current;
    const wait = await track.waiting(current.id).catch(() => 0);
    if (mine !== shown) return;
    const route = routes.find((r) => r.id === p.route)?.properties.name || t('track_free');
    stats.textContent = t('track_stats', { route, time: fmtClock(Date.now() - Date.parse(p.started_at)), dist: fmtKm(p.distance_m), n: p.points, wait });
    document.body.dataset.patrolPoints = String(p.points);
  }

  // A point the phone could not store (storage full, private mode) is said once per patrol, in
  // words the patrol sees; the next fixes are tried again.
  let writeWarned = null;
  const onFix = async (pos) => {
    if (!current) return;
    const p = await track.record(current.id, pos.coords).catch((e) => {
      if (writeWarned !== current?.id) {
        writeWarned = current?.id;
        toast(t('track_write_failed', { why: e?.name || e?.message || '' }), 'error', 8000);
      }
      return null;
    });
    if (p) {
      trail.push(p.last.lonlat);
      drawTrail();
      current = p;
      show();
    }
  };
  function follow() {
    if (!navigator.geolocation) return toast(t('no_geolocation'), 'error');
    const opts = { enableHighAccuracy: true, maximumAge: 0, timeout: 15000 };
    watchId = navigator.geolocation.watchPosition(onFix, () => {}, opts);
    poll = setInterval(() => navigator.geolocation.getCurrentPosition(onFix, () => {}, opts), POLL_MS);
    tick = setInterval(show, 1000);
  }
  function unfollow() {
    if (watchId != null) navigator.geolocation.clearWatch(watchId);
    clearInterval(poll);
    clearInterval(tick);
    watchId = poll = tick = null;
  }

  $('.track-start', bar).addEventListener('click', async () => {
    current = await track.start(routeSel.value || null, session.user.username);
    trail.length = 0;
    drawTrail();
    follow();
    show();
    upload();
  });
  $('.track-stop', bar).addEventListener('click', async () => {
    if (!current) return;
    unfollow();
    const p = await track.finish(current.id);
    current = null;
    show();
    toast(t('track_done', { dist: fmtKm(p?.distance_m || 0), n: p?.points || 0 }), 'info', 6000);
    upload();
  });

  // A patrol started before a reload (or with the tab closed) goes on.
  current = await track.active().catch(() => null);
  if (current) {
    if (current.route) routeSel.value = current.route;
    follow();
  }
  show();

  // --- offline map pack ---------------------------------------------------------------------
  const packStatus = $('.pack-status', bar);
  const packBar = $('.pack-progress', bar);
  const packBtn = $('.pack-get', bar);
  packBtn.addEventListener('click', async () => {
    const route = routes.find((r) => r.id === (routeSel.value || current?.route));
    const b = map.getBounds();
    const bbox = route ? bboxOf(route.geometry, PACK_MARGIN_M) : [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => Number(v.toFixed(6)));
    packBtn.disabled = true;
    packStatus.textContent = t('pack_planning');
    try {
      const plan = await api(`/api/offline/pack?bbox=${bbox.join(',')}`);
      const area = route ? route.properties.name : t('pack_view');
      if (!window.confirm(t('pack_confirm', { area, n: plan.count, size: fmtMb(plan.bytes), min: plan.minzoom, max: plan.maxzoom }))) {
        packStatus.textContent = '';
        return;
      }
      const cache = await caches.open(TILE_CACHE);
      const template = ctrl.tileTemplate || '/tiles/{z}/{x}/{y}.mvt';
      packBar.hidden = false;
      packBar.max = plan.count;
      let got = 0;
      let bytes = 0;
      const queue = [...plan.tiles];
      const worker = async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const [z, x, y] = next;
          const url = `${template.replace('{z}', z).replace('{x}', x).replace('{y}', y)}?layers=${plan.layers}`;
          const r = await fetch(url, { credentials: 'same-origin' });
          if (!r.ok) throw new Error(`${url}: ${r.status}`);
          const body = await r.arrayBuffer();
          bytes += body.byteLength;
          await cache.put(url, new Response(body, { status: r.status, headers: { 'content-type': r.headers.get('content-type') || 'application/vnd.mapbox-vector-tile' } }));
          got += 1;
          packBar.value = got;
          packStatus.textContent = t('pack_progress', { got, n: plan.count });
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      packStatus.textContent = t('pack_done', { n: got, size: fmtMb(bytes), area });
      document.body.dataset.packTiles = String(got);
    } catch (e) {
      packStatus.textContent = `${t('error')}: ${errorText(e, t)}`;
    } finally {
      packBtn.disabled = false;
      packBar.hidden = true;
    }
  });

  const onOnline = () => upload();
  window.addEventListener('online', onOnline);
  const every = setInterval(upload, 15000);
  upload();
  return () => {
    unfollow();
    clearInterval(every);
    window.removeEventListener('online', onOnline);
    bar.remove();
  };
}
