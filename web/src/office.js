// Street-office view: a count-weighted heatmap from the `reports` tiles, filters that re-request
// the tiles, a legend, and the zones with the most open reports in the window.

import { api, ApiError, errorText } from './api.js';
import { t, categoryLabel } from './i18n.js';
import { html, $, toast } from './dom.js';
import { geometryBounds } from './map.js';
import { isOpen } from './popups.js';
import { session } from './session.js';

const STATUSES = ['reported', 'dispatched', 'in_progress', 'resolved', 'closed', 'rejected', 'reopened'];
/** Heat intensity at z12 (calibrated on the demo city's seeded reports). */
const HEAT_I12 = 0.08;
const HEAT_COLORS = ['rgba(33,102,172,0)', '#4393c3', '#92c5de', '#fddbc7', '#f4a582', '#d6604d', '#b2182b'];

function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

/** `YYYY-MM-DD` (local day) → RFC 3339 UTC without fractions; `end` gives the next midnight. */
function dayToRfc3339(day, end = false) {
  if (!day) return '';
  const d = new Date(`${day}T00:00:00`);
  if (end) d.setDate(d.getDate() + 1);
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Turns on the style's `reports-heat` layer and tunes it so the same density of reports gives the
 * same colour at every zoom. Below z14 a feature is a bin carrying `count` (bins are a fixed
 * pixel grid, so each zoom-in splits a bin's count over four); from z14 a feature is one report.
 * The heat at a pixel is intensity × Σ weight × kernel, and the number of reports under a kernel
 * of r px grows with r² × 4^-zoom for a fixed ground density: so weight = count and intensity
 * ∝ 4^zoom / r² keep the colour a function of reports per km².
 */
export function tuneHeat(map, layer = 'reports-heat') {
  if (!map.getLayer(layer)) return false;
  const radius = (z) => (z <= 8 ? 22 : z >= 17 ? 48 : 22 + ((z - 8) * (48 - 22)) / 9);
  const stops = [];
  for (let z = 8; z <= 18; z++) stops.push(z, HEAT_I12 * 4 ** (z - 12) * (radius(12) / radius(z)) ** 2);
  const rstops = [];
  for (let z = 8; z <= 18; z++) rstops.push(z, radius(z));
  map.setPaintProperty(layer, 'heatmap-weight', ['coalesce', ['to-number', ['get', 'count']], 1]);
  map.setPaintProperty(layer, 'heatmap-radius', ['interpolate', ['linear'], ['zoom'], ...rstops]);
  map.setPaintProperty(layer, 'heatmap-intensity', ['interpolate', ['exponential', 4], ['zoom'], ...stops]);
  map.setPaintProperty(layer, 'heatmap-color', ['interpolate', ['linear'], ['heatmap-density'], 0, HEAT_COLORS[0], 0.1, HEAT_COLORS[1], 0.25, HEAT_COLORS[2], 0.45, HEAT_COLORS[3], 0.65, HEAT_COLORS[4], 0.85, HEAT_COLORS[5], 1, HEAT_COLORS[6]]);
  map.setPaintProperty(layer, 'heatmap-opacity', ['interpolate', ['linear'], ['zoom'], 14, 0.8, 16, 0.55, 17.5, 0]);
  map.setLayerZoomRange(layer, 0, 18);
  map.setLayoutProperty(layer, 'visibility', 'visible');
  return true;
}

/** Mounts the office panel into `panel`; returns a teardown. `extra` receives layer toggles. */
export async function mount({ ctrl, panel, extra, embedded = false }) {
  const since0 = new Date(Date.now() - 90 * 86400_000);
  const cats = session.categories;
  const section = document.createElement('section');
  section.className = 'office';
  section.innerHTML = html`
    ${embedded ? '' : html`<h2>${t('office_title')}</h2>`}
    <form class="filters">
      <label>${t('since')}<input type="date" name="since" value="${isoDay(since0)}"></label>
      <label>${t('until')}<input type="date" name="until" value=""></label>
      <label>${t('category')}<select name="category"><option value="">${t('all')}</option>${cats.map((c) => html`<option value="${c.id}">${categoryLabel(cats, c.id)}</option>`)}</select></label>
      <label>${t('status')}<select name="status"><option value="">${t('all')}</option>${STATUSES.map((s) => html`<option value="${s}">${t(`status_${s}`)}</option>`)}</select></label>
      <button type="submit" class="primary">${t('apply')}</button>
    </form>
    <div class="legend">
      <h3>${t('legend')}</h3>
      <div class="heat-ramp" style="background: linear-gradient(90deg, ${HEAT_COLORS.slice(1).join(', ')})"></div>
      <div class="ramp-labels"><span>${t('legend_heat_low')}</span><span>${t('legend_heat_high')}</span></div>
    </div>
    <h3>${t('ranking')}</h3>
    <ol class="ranking"><li class="loading">${t('loading')}</li></ol>`.toString();
  panel.appendChild(section);

  tuneHeat(ctrl.map);

  const form = $('form', section);
  const current = () => ({
    since: dayToRfc3339(form.since.value),
    until: dayToRfc3339(form.until.value, true),
    category: form.category.value,
    status: form.status.value,
  });
  let rankAbort;
  const apply = () => {
    const f = current();
    ctrl.setReportFilters(f);
    rankAbort?.abort();
    rankAbort = new AbortController();
    loadRanking(ctrl, section, f, rankAbort.signal);
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    apply();
  });
  form.addEventListener('change', apply);
  ctrl.onReportChanged = () => loadRanking(ctrl, section, current());
  apply();
  return () => {
    rankAbort?.abort();
    section.remove();
  };
}

function zoneOf(p) {
  let r = p.responsible;
  if (typeof r === 'string') {
    try {
      r = JSON.parse(r);
    } catch {
      r = null;
    }
  }
  if (r && r.zone_id) return { id: r.zone_id, name: r.zone_name || r.zone_id };
  let zones = p.zones;
  if (typeof zones === 'string') {
    try {
      zones = JSON.parse(zones);
    } catch {
      zones = null;
    }
  }
  if (Array.isArray(zones) && zones.length) {
    const z = zones[0];
    return typeof z === 'string' ? { id: z, name: z } : { id: z.id || z.zone_id, name: z.name || z.zone_name || z.id };
  }
  if (p.zone_id) return { id: p.zone_id, name: p.zone_name || p.zone_id };
  return null;
}

async function loadRanking(ctrl, section, f, signal) {
  const list = $('.ranking', section);
  list.innerHTML = html`<li class="loading">${t('loading')}</li>`.toString();
  const counts = new Map();
  try {
    let cursor = '';
    for (let page = 0; page < 10; page++) {
      const q = new URLSearchParams({ limit: '1000' });
      for (const k of ['since', 'until', 'category', 'status']) if (f[k]) q.set(k, f[k]);
      if (cursor) q.set('cursor', cursor);
      const fc = await api(`/api/reports?${q}`, { signal });
      for (const r of fc.features || []) {
        if (!isOpen(r.properties.status)) continue;
        const z = zoneOf(r.properties);
        if (!z || !z.id) continue;
        const c = counts.get(z.id) || { ...z, n: 0 };
        c.n += 1;
        counts.set(z.id, c);
      }
      cursor = fc.next_cursor || fc.cursor || '';
      if (!cursor || !(fc.features || []).length) break;
    }
  } catch (e) {
    if (e.name === 'AbortError') return;
    list.innerHTML = html`<li class="muted">${e instanceof ApiError && e.status === 404 ? t('reports_api_missing') : errorText(e, t)}</li>`.toString();
    return;
  }
  const top = [...counts.values()].sort((a, b) => b.n - a.n).slice(0, 15);
  list.innerHTML = top.length
    ? top.map((z) => html`<li><a href="#" data-zone="${z.id}">${z.name}</a><span class="count">${t('reports_n', { n: z.n })}</span></li>`).join('')
    : html`<li class="muted">${t('ranking_empty')}</li>`.toString();
  list.querySelectorAll('[data-zone]').forEach((a) =>
    a.addEventListener('click', async (ev) => {
      ev.preventDefault();
      try {
        const zf = await api(`/api/zones/${encodeURIComponent(a.dataset.zone)}`);
        ctrl.map.fitBounds(geometryBounds(zf.geometry), { padding: 60, maxZoom: 17, duration: 800 });
      } catch (e) {
        toast(errorText(e, t), 'error');
      }
    }),
  );
}
