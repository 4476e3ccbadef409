// The map everyone shares: the server's `/style.json` (vector source `xuncha` with source-layers
// zones, routes, reports, basemap), a layer switcher, and the tile-URL filters for reports.

import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import { api, ApiError } from './api.js';
import { t } from './i18n.js';
import { html, el, toast } from './dom.js';

maplibregl.setWorkerUrl(new URL(workerUrl, location.href).href);

export { maplibregl };

export const CENTER = [126.42, 41.94];
export const GROUPS = ['basemap', 'zones', 'routes', 'reports'];

/** Colours shared by the fallback style, the legend and client overlays. */
export const KIND_COLORS = {
  responsibility: '#e07b39',
  grid: '#5b7db1',
  patrol_route: '#2a9d8f',
  hotspot: '#d62828',
  green_adoption: '#43a047',
};
export const SECTOR_COLORS = {
  community: '#f4a261',
  village: '#a1887f',
  agency: '#e76f51',
  enterprise: '#9c6ade',
  school: '#f6c945',
  hospital: '#ef476f',
};

const FONT = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif";

/** Which layer group (source-layer) a style layer belongs to. */
export function groupOf(layer) {
  return layer['source-layer'] || (layer.metadata && layer.metadata['xuncha:group']) || null;
}

const abs = (u) => new URL(u, location.href).href;

/**
 * Loads `/style.json` and makes every source URL absolute. A vector source given by a TileJSON
 * `url` is inlined (tiles, zooms, bounds) so that re-setting its tiles later does not refetch it.
 * Returns `{style, tiled}`; when the server has no style yet, a GeoJSON fallback with `tiled: false`.
 */
async function loadStyle() {
  let res;
  try {
    res = await api('/style.json', { raw: true });
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return { style: await fallbackStyle(), tiled: false };
    throw e;
  }
  // Before the tile server lands, the SPA fallback answers /style.json with index.html.
  if (!(res.headers.get('content-type') || '').includes('json')) return { style: await fallbackStyle(), tiled: false };
  const style = await res.json();
  if (style.glyphs) delete style.glyphs; // never fetch remote or server glyphs: draw text locally
  if (style.sprite) delete style.sprite;
  for (const src of Object.values(style.sources || {})) {
    if (src.url && (src.type === 'vector' || src.type === 'raster')) {
      const tj = await api(src.url);
      src.tiles = tj.tiles;
      for (const k of ['minzoom', 'maxzoom', 'bounds', 'attribution']) if (tj[k] !== undefined && src[k] === undefined) src[k] = tj[k];
      delete src.url;
    }
    if (Array.isArray(src.tiles)) src.tiles = src.tiles.map(abs);
    if (typeof src.data === 'string') src.data = abs(src.data);
  }
  return { style, tiled: true };
}

/** Zones from `/api/zones` as GeoJSON, flattened to the tile properties (id, kind, name, owner_name, sector). */
async function fallbackStyle() {
  const fc = await api('/api/zones');
  const features = fc.features.map((f) => ({
    type: 'Feature',
    geometry: f.geometry,
    properties: {
      id: f.id,
      kind: f.properties.kind,
      name: f.properties.name,
      owner_name: f.properties.owner?.name ?? '',
      sector: f.properties.owner?.sector ?? '',
      level: f.properties.properties?.level ?? '',
      width_m: f.properties.width_m ?? f.properties.properties?.width_m ?? 0,
    },
  }));
  const kindColor = ['match', ['get', 'kind'], ...Object.entries(KIND_COLORS).flat(), '#888'];
  const fill = [
    'case',
    ['==', ['get', 'kind'], 'responsibility'],
    ['match', ['get', 'sector'], ...Object.entries(SECTOR_COLORS).flat(), '#e07b39'],
    kindColor,
  ];
  return {
    version: 8,
    sources: { 'xuncha-zones': { type: 'geojson', data: { type: 'FeatureCollection', features } } },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#eef1ea' } },
      {
        id: 'zones-fill',
        type: 'fill',
        source: 'xuncha-zones',
        metadata: { 'xuncha:group': 'zones' },
        filter: ['all', ['==', ['geometry-type'], 'Polygon'], ['!=', ['get', 'kind'], 'grid']],
        paint: { 'fill-color': fill, 'fill-opacity': 0.45 },
      },
      {
        id: 'grid-line',
        type: 'line',
        source: 'xuncha-zones',
        metadata: { 'xuncha:group': 'zones' },
        filter: ['==', ['get', 'kind'], 'grid'],
        paint: { 'line-color': KIND_COLORS.grid, 'line-width': ['match', ['get', 'level'], 'street', 2.5, 'community', 1.5, 0.8] },
      },
      {
        id: 'grid-fill',
        type: 'fill',
        source: 'xuncha-zones',
        metadata: { 'xuncha:group': 'zones' },
        filter: ['==', ['get', 'kind'], 'grid'],
        paint: { 'fill-color': KIND_COLORS.grid, 'fill-opacity': 0.04 },
      },
      {
        id: 'routes-line',
        type: 'line',
        source: 'xuncha-zones',
        metadata: { 'xuncha:group': 'routes' },
        filter: ['==', ['geometry-type'], 'LineString'],
        paint: { 'line-color': KIND_COLORS.patrol_route, 'line-width': 6, 'line-opacity': 0.7 },
      },
    ],
  };
}

/**
 * Creates the map in `container`. Resolves to a controller with the map, whether tiles are served,
 * layer visibility and report-filter helpers.
 */
export async function createMap(container, { onStatus } = {}) {
  const { style, tiled } = await loadStyle();
  const map = new maplibregl.Map({
    container,
    style,
    center: style.center || CENTER,
    zoom: style.zoom ?? 14,
    localIdeographFontFamily: FONT,
    attributionControl: false,
    maxPitch: 0,
    dragRotate: false,
    cooperativeGestures: false,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  map.on('error', (e) => {
    const msg = e && e.error && e.error.message ? e.error.message : 'map error';
    // Aborted requests are part of normal panning; everything else is shown.
    if (/abort/i.test(msg)) return;
    onStatus?.(msg, 'error');
    console.warn('map:', msg);
  });
  await new Promise((resolve) => map.once('load', resolve));

  const source = tiled ? Object.keys(style.sources).find((k) => style.sources[k].type === 'vector') : null;
  const baseTiles = source ? map.getSource(source).tiles.map((u) => u.split('?')[0]) : [];
  let filters = {};
  let revision = 0;

  const ctrl = {
    map,
    tiled,
    source,
    /** Layer ids of a group (source-layer), in style order. */
    layersOf(group) {
      return map.getStyle().layers.filter((l) => groupOf(l) === group).map((l) => l.id);
    },
    setGroupVisible(group, visible) {
      for (const id of ctrl.layersOf(group)) map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
    },
    /** The current report filters as a query string (without `?`). */
    filterQuery() {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
      if (revision) q.set('rev', String(revision));
      return q.toString();
    },
    /** Sets `since`, `until`, `category`, `status` on the tile URL so that tiles are re-requested. */
    setReportFilters(f) {
      filters = { ...f };
      ctrl.reloadTiles(false);
    },
    /** Re-requests every tile (after an edit); `bust` adds a revision so no cache can answer. */
    reloadTiles(bust = true) {
      if (!source) {
        // GeoJSON fallback: fetch the zones again.
        if (bust) fallbackStyle().then((st) => map.getSource('xuncha-zones')?.setData(st.sources['xuncha-zones'].data)).catch((e) => onStatus?.(e.message, 'error'));
        return;
      }
      if (bust) revision += 1;
      const q = ctrl.filterQuery();
      map.getSource(source).setTiles(baseTiles.map((u) => (q ? `${u}?${q}` : u)));
    },
  };
  if (!tiled) onStatus?.(t('tiles_missing'), 'info');
  return ctrl;
}

/** A collapsible layer switcher listing the groups that exist in the style, plus extra toggles. */
export function layerSwitcher(ctrl, extra = []) {
  const groups = GROUPS.filter((g) => ctrl.layersOf(g).length);
  const box = el(html`<details class="layers panel-float" open>
    <summary>${t('layers')}</summary>
    ${groups.map((g) => html`<label><input type="checkbox" data-group="${g}" checked> ${t(`layer_${g}`)}</label>`)}
    ${extra.map((x) => html`<label><input type="checkbox" data-extra="${x.id}" ${x.checked === false ? '' : 'checked'}> ${x.label}</label>`)}
  </details>`);
  box.addEventListener('change', (e) => {
    const cb = e.target;
    if (cb.dataset.group) ctrl.setGroupVisible(cb.dataset.group, cb.checked);
    if (cb.dataset.extra) extra.find((x) => x.id === cb.dataset.extra)?.toggle(cb.checked);
  });
  if (window.matchMedia('(max-width: 700px)').matches) box.open = false;
  return box;
}

/** A GeoJSON circle polygon of `radius_m` around `[lon, lat]` (for accuracy rings). */
export function circlePolygon([lon, lat], radius_m, steps = 48) {
  const dLat = radius_m / 111_320;
  const dLon = radius_m / (111_320 * Math.cos((lat * Math.PI) / 180));
  const ring = [];
  for (let i = 0; i <= steps; i++) {
    const a = (i / steps) * 2 * Math.PI;
    ring.push([lon + dLon * Math.cos(a), lat + dLat * Math.sin(a)]);
  }
  return { type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] }, properties: {} };
}

/** Bounds `[[minLon,minLat],[maxLon,maxLat]]` of any GeoJSON geometry. */
export function geometryBounds(geom) {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      minX = Math.min(minX, c[0]);
      minY = Math.min(minY, c[1]);
      maxX = Math.max(maxX, c[0]);
      maxY = Math.max(maxY, c[1]);
    } else c.forEach(walk);
  };
  walk(geom.coordinates);
  return [
    [minX, minY],
    [maxX, maxY],
  ];
}

export function showStatus(msg, kind) {
  toast(msg, kind === 'error' ? 'error' : 'info', kind === 'error' ? 8000 : 5000);
}
