// The map everyone shares: the server's `/style.json` (vector source `xuncha` with source-layers
// zones, routes, reports, basemap), a layer switcher, and the tile-URL filters for reports.

import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import { api, ApiError, errorText } from './api.js';
import { t, getLang } from './i18n.js';
import { html, el, toast } from './dom.js';
import { metaList, colourOf } from './session.js';

maplibregl.setWorkerUrl(new URL(workerUrl, location.href).href);

export { maplibregl };

export const CENTER = [126.42, 41.94];
export const GROUPS = ['basemap', 'zones', 'routes', 'reports', 'heat'];

/** Local fonts for labels: the style has no `glyphs`, so MapLibre draws text with these. */
const FONT_STACK = ['Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', 'sans-serif'];
const FONT = FONT_STACK.map((f) => (f === 'sans-serif' ? f : `'${f}'`)).join(', ');

/** The vector source of the server style (zones, routes, basemap) and our reports-only copy. */
export const REPORTS_SOURCE = 'xuncha-reports';
const BASE_LAYERS = 'zones,routes,basemap';

/** Which layer group (source-layer) a style layer belongs to. */
export function groupOf(layer) {
  return (layer.metadata && layer.metadata['xuncha:group']) || layer['source-layer'] || null;
}

/**
 * A URL on this page's origin: tile templates keep their `{z}/{x}/{y}` (the WHATWG URL parser
 * would percent-encode the braces), and an absolute URL naming another host (a proxy, `localhost`
 * versus `127.0.0.1`) is re-based so that every request stays on the origin the page came from.
 */
export function onOrigin(u) {
  if (/^\/(?!\/)/.test(u)) return location.origin + u;
  const m = /^https?:\/\/[^/]+(\/.*)?$/i.exec(u);
  if (m) return location.origin + (m[1] || '/');
  return location.origin + '/' + u.replace(/^\.?\//, '');
}

const withQuery = (u, q) => (q ? `${u}${u.includes('?') ? '&' : '?'}${q}` : u);

/**
 * Loads `/style.json`, keeps every request on this origin (no glyphs, no sprite, tile URLs
 * re-based), and splits the one vector source in two: `xuncha` for zones, routes and basemap
 * (`?layers=zones,routes,basemap`, refreshed after zone edits) and `xuncha-reports`
 * (`?layers=reports&since=…`, re-requested when the office changes its filters).
 */
async function loadStyle(path = '/style.json', split = true) {
  const style = await api(path, { noAuthRedirect: !split });
  delete style.glyphs; // never fetch glyphs: labels are drawn with local fonts
  delete style.sprite;
  const vector = Object.keys(style.sources || {}).find((k) => style.sources[k].type === 'vector');
  if (!vector) throw new Error('/style.json has no vector source');
  const src = style.sources[vector];
  if (src.url && !src.tiles) {
    const tj = await api(new URL(onOrigin(src.url)).pathname);
    src.tiles = tj.tiles;
    for (const k of ['minzoom', 'maxzoom', 'bounds', 'attribution']) if (tj[k] !== undefined && src[k] === undefined) src[k] = tj[k];
    delete src.url;
  }
  const templates = src.tiles.map((u) => onOrigin(u).split('?')[0]);
  if (!split) {
    src.tiles = templates;
    polish(style, vector);
    return { style, vector, templates };
  }
  src.tiles = templates.map((u) => withQuery(u, `layers=${BASE_LAYERS}`));
  style.sources[REPORTS_SOURCE] = { ...src, tiles: templates.map((u) => withQuery(u, 'layers=reports')) };
  for (const l of style.layers) {
    if (l.source === vector && l['source-layer'] === 'reports') l.source = REPORTS_SOURCE;
  }
  polish(style, vector);
  return { style, vector, templates };
}

/** The layer with `id` in a style object. */
const layerIn = (style, id) => style.layers.find((l) => l.id === id);

/**
 * Client-side polish on top of the server style: softer basemap, casing for roads, river
 * centre line, zone outlines at every zoom, a hover outline, and labels (districts, roads, the
 * river, zone names) drawn with local fonts. Everything here is additive or paint-only, so a
 * changed server style still works.
 */
function polish(style, vector) {
  const label = (id, filter, field, extra = {}) => ({
    id,
    type: 'symbol',
    source: vector,
    ...extra,
    filter,
    layout: {
      'text-field': ['get', field],
      'text-font': FONT_STACK,
      'text-size': 12,
      'text-max-width': 8,
      ...(extra.layout || {}),
    },
    paint: { 'text-color': '#37474f', 'text-halo-color': 'rgba(255,255,255,0.92)', 'text-halo-width': 1.6, ...(extra.paint || {}) },
  });
  const insertAfter = (afterId, layer) => {
    const i = style.layers.findIndex((l) => l.id === afterId);
    style.layers.splice(i < 0 ? style.layers.length : i + 1, 0, layer);
  };
  const bg = layerIn(style, 'background');
  if (bg) bg.paint = { 'background-color': '#eef0ea' };
  const dfill = layerIn(style, 'basemap-district-fill');
  if (dfill) dfill.paint = { 'fill-color': '#f6f4ee', 'fill-opacity': 1 };
  const road = layerIn(style, 'basemap-road');
  if (road) {
    road.paint = { ...road.paint, 'line-color': '#ffffff' };
    style.layers.splice(style.layers.indexOf(road), 0, {
      ...road,
      id: 'xc-road-casing',
      metadata: { 'xuncha:group': 'basemap' },
      paint: {
        'line-color': '#d3d0c6',
        'line-width': ['interpolate', ['exponential', 1.6], ['zoom'], 11, 1.2, 16, ['match', ['get', 'class'], 'road_main', 12, 7.5]],
      },
    });
  }
  const river = layerIn(style, 'basemap-river');
  if (river) {
    river.paint = { 'fill-color': '#a9cde8', 'fill-outline-color': '#86b5d9' };
    insertAfter('basemap-river', {
      id: 'xc-river-centerline',
      type: 'line',
      source: vector,
      'source-layer': 'basemap',
      filter: ['==', ['get', 'class'], 'river_centerline'],
      maxzoom: 12,
      paint: { 'line-color': '#86b5d9', 'line-width': ['interpolate', ['linear'], ['zoom'], 8, 1, 12, 3] },
    });
  }
  // Grid cells: streets bold, communities medium, cells hairline; cells only from z13.
  const grid = layerIn(style, 'zones-grid-line');
  if (grid) {
    grid.paint = {
      'line-color': ['match', ['get', 'level'], 'street', '#4a5d7a', 'community', '#6a7d98', '#8797ad'],
      'line-opacity': ['interpolate', ['linear'], ['zoom'], 13, ['match', ['get', 'level'], 'cell', 0, 0.85], 14, ['match', ['get', 'level'], 'cell', 0.7, 0.85]],
      'line-width': ['interpolate', ['linear'], ['zoom'], 11, ['match', ['get', 'level'], 'street', 1.5, 'community', 1, 0.5], 16, ['match', ['get', 'level'], 'street', 2.4, 'community', 1.5, 0.8]],
      'line-dasharray': ['match', ['get', 'level'], 'cell', ['literal', [3, 2]], ['literal', [1, 0]]],
    };
  }
  // Frontage (三包) zones: a crisp outline at every zoom so small ones read as shapes.
  const resp = layerIn(style, 'zones-responsibility-line');
  if (resp) {
    delete resp.minzoom;
    resp.paint = { ...resp.paint, 'line-width': ['interpolate', ['linear'], ['zoom'], 13, 0.6, 17, 1.8] };
  }
  const hot = layerIn(style, 'zones-hotspot');
  if (hot) {
    insertAfter('zones-hotspot', {
      id: 'xc-hotspot-line',
      type: 'line',
      source: vector,
      'source-layer': 'zones',
      filter: ['==', ['get', 'kind'], 'hotspot'],
      paint: { 'line-color': '#c1121f', 'line-width': 1.5, 'line-dasharray': [2, 1.5] },
    });
  }
  const green = layerIn(style, 'zones-green');
  if (green) {
    insertAfter('zones-green', {
      id: 'xc-green-line',
      type: 'line',
      source: vector,
      'source-layer': 'zones',
      filter: ['==', ['get', 'kind'], 'green_adoption'],
      paint: { 'line-color': '#2d6a4f', 'line-width': 1 },
    });
  }
  // The heatmap is its own group, off by default; the street-office view turns it on.
  const heat = layerIn(style, 'reports-heat');
  if (heat) {
    heat.metadata = { ...(heat.metadata || {}), 'xuncha:group': 'heat' };
    heat.layout = { ...(heat.layout || {}), visibility: 'none' };
  }
  // Labels: districts (low zoom), river and roads along their lines, zone names when close.
  style.layers.push(
    label('xc-label-road', ['in', ['get', 'class'], ['literal', ['road_main', 'road_secondary']]], 'name', {
      'source-layer': 'basemap',
      minzoom: 14,
      metadata: { 'xuncha:group': 'basemap' },
      layout: { 'symbol-placement': 'line', 'text-size': 11, 'text-max-angle': 30, 'symbol-spacing': 300 },
      paint: { 'text-color': '#6d6a60' },
    }),
    label('xc-label-river', ['==', ['get', 'class'], 'river_centerline'], 'name', {
      'source-layer': 'basemap',
      minzoom: 11,
      metadata: { 'xuncha:group': 'basemap' },
      layout: { 'symbol-placement': 'line', 'text-size': 13, 'text-letter-spacing': 0.3, 'symbol-spacing': 400 },
      paint: { 'text-color': '#2f6f9f' },
    }),
    // From the tiles' `zone_labels` points (one per zone): labelling the polygons themselves
    // would name a zone once in every tile it crosses.
    label('xc-label-zone', ['in', ['get', 'kind'], ['literal', ['responsibility', 'green_adoption', 'hotspot']]], 'name', {
      'source-layer': 'zone_labels',
      metadata: { 'xuncha:group': 'zones' },
      minzoom: 16.5,
      layout: { 'text-size': 11, 'text-max-width': 7, 'text-optional': true },
    }),
    label('xc-label-district', ['==', ['get', 'class'], 'district'], 'name', {
      'source-layer': 'basemap',
      maxzoom: 11,
      metadata: { 'xuncha:group': 'basemap' },
      layout: { 'text-size': 14 },
      paint: { 'text-color': '#6b5e70' },
    }),
  );
}

/** Centroid of the largest ring set of a (Multi)Polygon, area-weighted (planar, fine at city scale). */
export function centroid(geom) {
  const polys = geom.type === 'Polygon' ? [geom.coordinates] : geom.type === 'MultiPolygon' ? geom.coordinates : [];
  let best = null;
  for (const poly of polys) {
    const ring = poly[0];
    let a = 0;
    let cx = 0;
    let cy = 0;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const f = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
      a += f;
      cx += (ring[j][0] + ring[i][0]) * f;
      cy += (ring[j][1] + ring[i][1]) * f;
    }
    if (a !== 0 && (!best || Math.abs(a) > best.a)) best = { a: Math.abs(a), c: [cx / (3 * a), cy / (3 * a)] };
  }
  return best ? best.c : null;
}

/**
 * Street and community names, once per area. Tiles cut a polygon into pieces and MapLibre would
 * label every piece, so these labels are points computed from `/api/zones?kind=grid` instead.
 */
async function addGridLabels(map) {
  const fc = await api('/api/zones?kind=grid');
  const features = [];
  for (const f of fc.features || []) {
    const level = f.properties.properties?.level;
    if (level !== 'street' && level !== 'community') continue;
    const c = centroid(f.geometry);
    if (c) features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: { id: f.id, name: f.properties.name, level, kind: 'grid' } });
  }
  if (!map.getStyle()) return; // the map was removed meanwhile
  map.addSource('xc-grid-labels', { type: 'geojson', data: { type: 'FeatureCollection', features } });
  const before = map.getLayer('xc-label-zone') ? 'xc-label-zone' : undefined;
  const common = { type: 'symbol', source: 'xc-grid-labels', metadata: { 'xuncha:group': 'zones' } };
  const paint = { 'text-halo-color': 'rgba(255,255,255,0.92)', 'text-halo-width': 1.8 };
  map.addLayer({ ...common, id: 'xc-label-street', filter: ['==', ['get', 'level'], 'street'], minzoom: 11, maxzoom: 13.5, layout: { 'text-field': ['get', 'name'], 'text-font': FONT_STACK, 'text-size': 15, 'text-letter-spacing': 0.15 }, paint: { ...paint, 'text-color': '#3a4a63' } }, before);
  map.addLayer({ ...common, id: 'xc-label-community', filter: ['==', ['get', 'level'], 'community'], minzoom: 13.5, maxzoom: 16, layout: { 'text-field': ['get', 'name'], 'text-font': FONT_STACK, 'text-size': 12 }, paint: { ...paint, 'text-color': '#5b6f8a' } }, before);
}

/** MapLibre's own control labels (aria-labels, titles) in the UI's language. */
function mapLocale() {
  return {
    'Map.Title': t('ml_map'),
    'NavigationControl.ZoomIn': t('ml_zoom_in'),
    'NavigationControl.ZoomOut': t('ml_zoom_out'),
    'NavigationControl.ResetBearing': t('ml_reset_bearing'),
    'AttributionControl.ToggleAttribution': t('ml_attribution'),
    'Marker.Title': t('ml_marker'),
    'Popup.Close': t('ml_popup_close'),
    'GeolocateControl.FindMyLocation': t('ml_locate'),
    'FullscreenControl.Enter': t('ml_fullscreen_enter'),
    'FullscreenControl.Exit': t('ml_fullscreen_exit'),
    'CooperativeGesturesHandler.MobileHelpText': t('ml_two_fingers'),
    'CooperativeGesturesHandler.WindowsHelpText': t('ml_ctrl_scroll'),
  };
}

/** A MapLibre map of `style` in `container`, with the controls every view has. */
function newMap(container, style) {
  const map = new maplibregl.Map({
    container,
    style,
    locale: mapLocale(),
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
  map.addControl(new maplibregl.AttributionControl({ compact: true }), 'bottom-right');
  return map;
}

/**
 * The public map (随手拍): `/api/public/style.json` (zones, open reports, basemap in one source),
 * no sign-in. Resolves to the loaded map.
 */
export async function createPublicMap(container) {
  const { style } = await loadStyle('/api/public/style.json', false);
  const map = newMap(container, style);
  map.on('error', (e) => {
    const msg = e && e.error && e.error.message ? e.error.message : 'map error';
    if (!/abort/i.test(msg)) console.warn('map:', msg);
  });
  await new Promise((resolve) => map.once('load', resolve));
  return map;
}

/**
 * Creates the map in `container`. Resolves to a controller with the map, layer visibility,
 * report-filter and refresh helpers.
 */
export async function createMap(container, { onStatus, onAuthLost } = {}) {
  const { style, vector, templates } = await loadStyle();
  const map = newMap(container, style);
  map.on('error', (e) => {
    // A tile refused with 401: the session expired while the map was open.
    if (e && e.error && e.error.status === 401) return onAuthLost?.();
    const msg = e && e.error && e.error.message ? e.error.message : 'map error';
    // Aborted requests are part of normal panning; everything else is shown, in the UI's
    // language (a refused tile by its status; MapLibre's own English only in the English UI).
    if (/abort/i.test(msg)) return;
    const status = e && e.error && e.error.status;
    const why = status ? errorText(new ApiError(status, msg), t) : getLang() === 'en' ? msg : '';
    onStatus?.(why ? `${t('map_error')}: ${why}` : t('map_error'), 'error');
    console.warn('map:', msg);
  });
  await new Promise((resolve) => map.once('load', resolve));

  addGridLabels(map).catch((e) => console.warn('grid labels:', e.message));
  // The attribution starts folded on phones (it is one tap away).
  if (window.matchMedia('(max-width: 700px)').matches) {
    container.querySelector('.maplibregl-ctrl-attrib')?.classList.remove('maplibregl-compact-show');
  }
  let filters = {};

  const ctrl = {
    map,
    source: vector,
    reportsSource: REPORTS_SOURCE,
    /** Layer ids of a group (source-layer or `xuncha:group` metadata), in style order. */
    layersOf(group) {
      return map.getStyle().layers.filter((l) => groupOf(l) === group).map((l) => l.id);
    },
    groupVisible(group) {
      return ctrl.layersOf(group).some((id) => map.getLayoutProperty(id, 'visibility') !== 'none');
    },
    setGroupVisible(group, visible) {
      for (const id of ctrl.layersOf(group)) map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
    },
    /** The base tiles' URL template (`…/tiles/{z}/{x}/{y}.mvt`, without the query). */
    tileTemplate: templates[0],
    /** The current report filters as a query string (without `?`). */
    filterQuery() {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
      return q.toString();
    },
    /** Sets `since`, `until`, `category`, `status` on the reports tile URL: the tiles are re-requested. */
    setReportFilters(f) {
      filters = { ...f };
      const q = ctrl.filterQuery();
      map.getSource(REPORTS_SOURCE).setTiles(templates.map((u) => withQuery(`${u}?layers=reports`, q)));
    },
    /**
     * Re-requests the tiles on screen after an edit. Zone edits invalidate the server's cached
     * tiles at once and tiles are sent `no-cache` with a strong ETag, so the browser revalidates
     * (304 for tiles that did not change) and no cache-busting parameter is needed.
     */
    reloadTiles({ zones = true, reports = true } = {}) {
      if (zones) map.refreshTiles(vector);
      if (reports) map.refreshTiles(REPORTS_SOURCE);
    },
  };
  return ctrl;
}

/** A collapsible layer switcher listing the groups that exist in the style, plus extra toggles. */
export function layerSwitcher(ctrl, extra = []) {
  const groups = GROUPS.filter((g) => ctrl.layersOf(g).length);
  const box = el(html`<details class="layers panel-float" open>
    <summary>${t('layers')}</summary>
    ${groups.map((g) => html`<label><input type="checkbox" data-group="${g}" ${ctrl.groupVisible(g) ? 'checked' : ''}> ${t(`layer_${g}`)}</label>`)}
    ${extra.map((x) => html`<label><input type="checkbox" data-extra="${x.id}" ${x.checked === false ? '' : 'checked'}> ${x.label}</label>`)}
    <details class="key"><summary>${t('legend')}</summary>
      <ul>
        ${metaList('sectors').map((s) => html`<li><i class="sw" data-bg="${s.colour}"></i>${t('kind_responsibility_short')} · ${t(`sector_${s.id}`)}</li>`)}
        <li><i class="sw" data-bg="${colourOf('zone_kinds', 'green_adoption')}"></i>${t('kind_green_adoption')}</li>
        <li><i class="sw dash" data-border="${colourOf('zone_kinds', 'hotspot')}"></i>${t('kind_hotspot')}</li>
        <li><i class="sw line" data-bg="${colourOf('zone_kinds', 'grid')}"></i>${t('kind_grid')}</li>
        <li><i class="sw band" data-bg="${colourOf('zone_kinds', 'patrol_route')}"></i>${t('kind_patrol_route')}</li>
        ${metaList('statuses').map((st) => html`<li><i class="sw dot" data-bg="${st.colour}"></i>${t(`status_${st.id}`)}</li>`)}
      </ul>
    </details>
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
