// Street-office view: a count-weighted heatmap from the `reports` tiles, filters that re-request
// the tiles, a legend, and the zones with the most open reports in the window.

import { api, ApiError, errorText } from './api.js';
import { t, categoryLabel } from './i18n.js';
import { html, $, toast } from './dom.js';
import { geometryBounds } from './map.js';
import { session, metaList } from './session.js';
import { mountWorklist } from './worklist.js';
import { mountCampaign } from './campaign.js';
import { mountCoverage } from './coverage.js';
import { heatRadius, heatIntensity, HEAT_STOPS, HEAT_COLORS, reportsPerKm2 } from './heat.js';

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
 * The unfinished statuses (those with a time-limit stage: to dispatch, to handle, to verify) as
 * one filter value (`reported,dispatched,…`): the office's default, its work still to do.
 */
const openStatuses = () => metaList('statuses').filter((s) => s.stage != null).map((s) => s.id).join(',');

/** The legend's ramp: the colours placed at their density stops (the transparent first left out). */
function rampGradient() {
  const lo = HEAT_STOPS[1];
  const at = (d) => `${Math.round(((d - lo) / (1 - lo)) * 100)}%`;
  return `linear-gradient(90deg, ${HEAT_STOPS.slice(1).map((d, i) => `${HEAT_COLORS[i + 1]} ${at(d)}`).join(', ')})`;
}

/** Writes under the ramp what each colour stop counts, in reports per km² at the map's latitude. */
function labelRamp(section, lat) {
  const lo = HEAT_STOPS[1];
  const ticks = $('.ramp-ticks', section);
  ticks.innerHTML = HEAT_STOPS.slice(1)
    .map((d) => html`<span data-at="${Math.round(((d - lo) / (1 - lo)) * 100)}">${d === 1 ? '≥' : ''}${Math.round(reportsPerKm2(d, lat))}</span>`)
    .join('');
  // Placed through the CSSOM: the page's CSP allows no style attributes.
  for (const s of ticks.children) s.style.left = `${s.dataset.at}%`;
  $('.ramp-unit', section).textContent = t('legend_heat_unit');
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
  const stops = [];
  for (let z = 8; z <= 18; z++) stops.push(z, heatIntensity(z));
  const rstops = [];
  for (let z = 8; z <= 18; z++) rstops.push(z, heatRadius(z));
  map.setPaintProperty(layer, 'heatmap-weight', ['coalesce', ['to-number', ['get', 'count']], 1]);
  map.setPaintProperty(layer, 'heatmap-radius', ['interpolate', ['linear'], ['zoom'], ...rstops]);
  map.setPaintProperty(layer, 'heatmap-intensity', ['interpolate', ['exponential', 4], ['zoom'], ...stops]);
  map.setPaintProperty(layer, 'heatmap-color', ['interpolate', ['linear'], ['heatmap-density'], ...HEAT_STOPS.flatMap((d, i) => [d, HEAT_COLORS[i]])]);
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
      <label>${t('status')}<select name="status"><option value="">${t('all')}</option><option value="${openStatuses()}" selected>${t('status_open_any')}</option>${metaList('statuses').map(({ id }) => html`<option value="${id}">${t(`status_${id}`)}</option>`)}</select></label>
      <button type="submit" class="primary">${t('apply')}</button>
    </form>
    <div class="legend">
      <h3>${t('legend')}</h3>
      <div class="heat-ramp" data-bg="${rampGradient()}"></div>
      <div class="ramp-ticks" aria-hidden="true"></div>
      <p class="ramp-unit"></p>
      <p class="heat-total" aria-live="polite"></p>
    </div>
    <section class="queue-panel"></section>
    <button type="button" class="open-campaign">${t('campaign_open')}</button>
    <section class="campaign-panel" hidden></section>
    <h3>${t('ranking')}</h3>
    <ol class="ranking"><li class="loading">${t('loading')}</li></ol>
    <section class="hotspots">
      <h3>${t('hotspots_title')}</h3>
      <p class="hint">${t('hotspots_hint')}</p>
      <button type="button" class="detect">${t('detect_hotspots')}</button>
      <div class="detect-result" aria-live="polite"></div>
    </section>
    <section class="stats-panel">
      <h3>${t('stats_title')}</h3>
      <div class="day-chart" aria-live="polite"><span class="loading">${t('loading')}</span></div>
      <div class="stats-controls">
        <label>${t('stats_group')}<select name="group">${['owner', 'zone', 'sector', 'category'].map((g) => html`<option value="${g}">${t(`group_${g}`)}</option>`)}</select></label>
        <a class="csv" href="#" download>${t('stats_csv')}</a>
      </div>
      <div class="stats-table-wrap"><span class="loading">${t('loading')}</span></div>
    </section>
    <section class="coverage-panel"></section>`.toString();
  panel.appendChild(section);

  tuneHeat(ctrl.map);
  const relabel = () => labelRamp(section, ctrl.map.getCenter().lat);
  relabel();
  ctrl.map.on('moveend', relabel);
  const campaignPanel = $('.campaign-panel', section);
  $('.open-campaign', section).addEventListener('click', () => {
    campaignPanel.hidden = !campaignPanel.hidden;
    if (!campaignPanel.hidden) mountCampaign(campaignPanel);
  });
  // A street office bound to a zone starts looking at it (it sees nothing outside).
  const scope = session.user?.scope;
  if (scope) {
    api(`/api/zones/${encodeURIComponent(scope)}`)
      .then((zf) => ctrl.map.fitBounds(geometryBounds(zf.geometry), { padding: 30, duration: 0 }))
      .catch((e) => toast(errorText(e, t), 'error'));
  }
  // Live changes redraw the dots and, at most once a second, the ranking and statistics.
  let liveTimer;
  const onLive = () => {
    if (liveTimer) return;
    liveTimer = setTimeout(() => {
      liveTimer = null;
      ctrl.reloadTiles({ zones: false });
      loadRanking(ctrl, section, current());
      loadStats(section, current(), groupSel.value);
    }, 1000);
  };
  const form = $('form', section);
  const current = () => ({
    since: dayToRfc3339(form.since.value),
    until: dayToRfc3339(form.until.value, true),
    category: form.category.value,
    status: form.status.value,
  });
  // The queue follows the category and status chosen, not the date window: open work is never
  // hidden by its age.
  const worklist = mountWorklist(ctrl, $('.queue-panel', section), {
    filter: () => {
      const { category, status } = current();
      return { category, status };
    },
    onLive,
  });
  const coverage = mountCoverage(ctrl, $('.coverage-panel', section));
  let rankAbort;
  const groupSel = $('.stats-panel select[name=group]', section);
  const apply = () => {
    const f = current();
    ctrl.setReportFilters(f);
    worklist.reload();
    rankAbort?.abort();
    rankAbort = new AbortController();
    loadRanking(ctrl, section, f, rankAbort.signal);
    loadStats(section, f, groupSel.value, rankAbort.signal);
  };
  groupSel.addEventListener('change', (ev) => {
    ev.stopPropagation();
    loadStats(section, current(), groupSel.value, rankAbort?.signal);
  });
  const detected = detectedOverlay(ctrl);
  $('.detect', section).addEventListener('click', () => detectHotspots(ctrl, section, current(), detected));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    apply();
  });
  form.addEventListener('change', apply);
  ctrl.onReportChanged = () => {
    worklist.reload();
    loadRanking(ctrl, section, current());
    loadStats(section, current(), groupSel.value);
  };
  apply();
  return () => {
    ctrl.map.off('moveend', relabel);
    clearTimeout(liveTimer);
    rankAbort?.abort();
    worklist.destroy();
    coverage();
    detected.remove();
    section.remove();
  };
}

let containers;
/** Ids of street and community grid zones: areas that contain the cells, left out of the ranking. */
function containerIds() {
  containers ??= api('/api/zones?kind=grid').then((fc) => new Set((fc.features || []).filter((f) => ['street', 'community'].includes(f.properties.properties?.level)).map((f) => String(f.id))));
  return containers.catch((e) => {
    containers = null;
    throw e;
  });
}

/**
 * The zones with the most open reports in the window, from `GET /api/stats?group=zone` (counted by
 * each report's stored match). Street and community areas are left out: they contain the cells
 * and frontage zones and would always top the list.
 */
async function loadRanking(ctrl, section, f, signal) {
  const list = $('.ranking', section);
  list.innerHTML = html`<li class="loading">${t('loading')}</li>`.toString();
  let top;
  try {
    const q = filterParams(f);
    q.set('group', 'zone');
    const [tb, skip] = await Promise.all([api(`/api/stats?${q}`, { signal }), containerIds()]);
    top = (tb.rows || [])
      .filter((r) => r.key != null && r.open > 0 && !skip.has(String(r.key)))
      .sort((a, b) => b.open - a.open || b.total - a.total)
      .slice(0, 15)
      .map((r) => ({ id: r.key, name: r.label || r.key, kind: r.kind, n: r.open }));
  } catch (e) {
    if (e.name === 'AbortError') return;
    list.innerHTML = html`<li class="muted">${e instanceof ApiError && e.status === 404 ? t('stats_api_missing') : errorText(e, t)}</li>`.toString();
    return;
  }
  list.innerHTML = top.length
    ? top.map((z) => html`<li><a href="#" data-zone="${z.id}">${z.name}</a>${z.kind ? html` <small class="muted">${t(`kind_${z.kind}`)}</small>` : ''}<span class="count">${t('reports_n', { n: z.n })}</span></li>`).join('')
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

/** The filters as a query string; `keys` picks which ones an endpoint takes. */
function filterParams(f, keys = ['since', 'until', 'category', 'status']) {
  const q = new URLSearchParams();
  for (const k of keys) if (f[k]) q.set(k, f[k]);
  return q;
}

const pct = (x) => (x == null ? '–' : `${Math.round(x * 100)}%`);
const hours = (x) => (x == null ? '–' : x < 48 ? `${x.toFixed(1)} h` : `${(x / 24).toFixed(1)} d`);

/**
 * Statistics (`GET /api/stats`): reports per day as a small stacked SVG bar chart (open on top of
 * the rest) and a table by owner, zone, sector or category. By owner, each row links to the
 * owner's printable work order (HTML, opened in a new tab on this origin).
 */
async function loadStats(section, f, group, signal) {
  const chart = $('.day-chart', section);
  const wrap = $('.stats-table-wrap', section);
  const csv = $('.stats-panel .csv', section);
  const q = filterParams(f);
  q.set('group', group);
  csv.href = `/api/stats?${q}&format=csv`;
  csv.setAttribute('download', `xuncha-stats-${group}.csv`);
  wrap.innerHTML = html`<span class="loading">${t('loading')}</span>`.toString();
  chart.innerHTML = html`<span class="loading">${t('loading')}</span>`.toString();
  const dq = filterParams(f);
  dq.set('group', 'day');
  const fail = (e) => html`<p class="error">${e instanceof ApiError && e.status === 404 ? t('stats_api_missing') : errorText(e, t)}</p>`.toString();
  const [byDay, table] = await Promise.allSettled([api(`/api/stats?${dq}`, { signal }), api(`/api/stats?${q}`, { signal })]);
  if ([byDay, table].some((r) => r.status === 'rejected' && r.reason?.name === 'AbortError')) return;
  chart.innerHTML = byDay.status === 'fulfilled' ? dayChart(byDay.value) : fail(byDay.reason);
  if (table.status === 'rejected') {
    wrap.innerHTML = fail(table.reason);
    return;
  }
  const tb = table.value;
  const rows = [...(tb.rows || [])].sort((a, b) => (a.key == null) - (b.key == null) || b.open - a.open || b.total - a.total).slice(0, 40);
  const woq = filterParams(f, ['since', 'until']).toString();
  const label = (r) => {
    if (r.key == null) return t('no_owner');
    if (group === 'category') return categoryLabel(session.categories, r.key);
    if (group === 'sector') return t(`sector_${r.key}`);
    return r.label || r.key;
  };
  const tot = tb.totals || {};
  $('.heat-total', section).textContent = t('legend_total', { n: tot.total ?? 0 });
  wrap.innerHTML = html`
    <p class="stats-sum">${t('stats_sum', { total: tot.total ?? 0, open: tot.open ?? 0, share: pct(tot.closed_within_48h_share), median: hours(tot.median_close_hours) })}</p>
    ${rows.length
      ? html`<table class="stats-table">
      <thead><tr><th>${t(`group_${group}`)}</th><th title="${t('stats_total')}">${t('stats_total')}</th><th>${t('stats_open')}</th><th title="${t('stats_48h_long')}">${t('stats_48h')}</th><th>${t('stats_median')}</th>${group === 'owner' ? html`<th><span class="sr-only">${t('work_order')}</span></th>` : ''}</tr></thead>
      <tbody>${rows.map(
        (r) => html`<tr>
        <td class="lbl">${label(r)}</td><td>${r.total}</td><td class="${r.open ? 'open' : ''}">${r.open}</td><td>${pct(r.closed_within_48h_share)}</td><td>${hours(r.median_close_hours)}</td>
        ${group === 'owner' ? html`<td>${r.key != null ? html`<a class="workorder" target="_blank" rel="noopener" aria-label="${t('a11y_work_order_of', { owner: label(r) })}" href="/api/workorders/${encodeURIComponent(r.key)}${woq ? `?${woq}` : ''}">${t('work_order')}</a>` : ''}</td>` : ''}
      </tr>`,
      )}</tbody></table>`
      : html`<p class="muted">${t('stats_empty')}</p>`}`.toString();
}

/** Reports per day: stacked bars, open (red) over the rest (grey-green), as inline SVG. */
function dayChart(tb) {
  const rows = tb.rows || [];
  if (!rows.length) return html`<p class="muted">${t('stats_empty')}</p>`.toString();
  const W = 300;
  const H = 96;
  const pad = { l: 24, r: 4, t: 6, b: 16 };
  const max = Math.max(1, ...rows.map((r) => r.total));
  const bw = (W - pad.l - pad.r) / rows.length;
  const y = (v) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const bars = rows.map((r, i) => {
    const x = pad.l + i * bw;
    const w = Math.max(0.6, bw - (bw > 3 ? 1 : 0));
    const rest = r.total - r.open;
    return html`<g class="bar" data-day="${r.key}"><title>${r.key}${t('colon')}${t('stats_total')} ${r.total}${t('comma')}${t('stats_open')} ${r.open}</title>
      <rect x="${x.toFixed(2)}" y="${y(r.total).toFixed(2)}" width="${w.toFixed(2)}" height="${(y(r.open) - y(r.total)).toFixed(2)}" class="done"/>
      <rect x="${x.toFixed(2)}" y="${y(r.open).toFixed(2)}" width="${w.toFixed(2)}" height="${(y(0) - y(r.open)).toFixed(2)}" class="open"/>${rest < 0 ? '' : ''}</g>`;
  });
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${t('chart_label')}">
    <line x1="${pad.l}" x2="${W - pad.r}" y1="${y(0)}" y2="${y(0)}" class="axis"/>
    <line x1="${pad.l}" x2="${W - pad.r}" y1="${y(max)}" y2="${y(max)}" class="grid"/>
    <text x="${pad.l - 3}" y="${y(max) + 4}" text-anchor="end">${max}</text>
    <text x="${pad.l - 3}" y="${y(0)}" text-anchor="end">0</text>
    ${bars}
    <text x="${pad.l}" y="${H - 3}">${rows[0].key}</text>
    <text x="${W - pad.r}" y="${H - 3}" text-anchor="end">${rows[rows.length - 1].key}</text>
  </svg>
  <div class="chart-key"><i class="sw" data-bg="#d6604d"></i>${t('stats_open')} <i class="sw" data-bg="#9fbfb2"></i>${t('stats_other')}</div>`.toString();
}

/** A GeoJSON overlay outlining the hotspots the last detection found (the tiles fill them). */
function detectedOverlay(ctrl) {
  const { map } = ctrl;
  const id = 'xc-detected';
  map.addSource(id, { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: `${id}-fill`, type: 'fill', source: id, metadata: { 'xuncha:group': 'hotspots' }, paint: { 'fill-color': '#c1121f', 'fill-opacity': 0.12 } });
  map.addLayer({ id: `${id}-line`, type: 'line', source: id, metadata: { 'xuncha:group': 'hotspots' }, paint: { 'line-color': '#c1121f', 'line-width': 2.5, 'line-dasharray': [2, 1] } });
  map.addLayer({
    id: `${id}-label`,
    type: 'symbol',
    source: id,
    metadata: { 'xuncha:group': 'hotspots' },
    layout: { 'text-field': ['get', 'label'], 'text-font': ['Noto Sans CJK SC', 'sans-serif'], 'text-size': 12, 'text-allow-overlap': false },
    paint: { 'text-color': '#8a0c16', 'text-halo-color': '#fff', 'text-halo-width': 1.6 },
  });
  return {
    set(features) {
      map.getSource(id)?.setData({ type: 'FeatureCollection', features });
    },
    remove() {
      for (const l of [`${id}-label`, `${id}-line`, `${id}-fill`]) if (map.getLayer(l)) map.removeLayer(l);
      if (map.getSource(id)) map.removeSource(id);
    },
  };
}

/**
 * `POST /api/hotspots/detect` over the current window and category: the server clusters the
 * reports, stores each cluster as a zone of kind `hotspot` (`properties.source = "detected"`)
 * and replaces the hotspots it detected earlier for the same window. The zone tiles are
 * refreshed so the new hotspots show through the style's hotspot layer too.
 */
async function detectHotspots(ctrl, section, f, overlay) {
  const btn = $('.detect', section);
  const out = $('.detect-result', section);
  btn.disabled = true;
  out.innerHTML = html`<span class="loading">${t('detecting')}</span>`.toString();
  try {
    const fc = await api(`/api/hotspots/detect?${filterParams(f, ['since', 'until', 'category'])}`, { method: 'POST' });
    const feats = (fc.features || []).map((z) => {
      const p = z.properties.properties || {};
      return { ...z, properties: { id: z.id, name: z.properties.name, n: p.report_count, cat: p.dominant_category, label: z.properties.name } };
    });
    overlay.set(feats);
    ctrl.reloadTiles({ zones: true, reports: false });
    const bounds = feats.length ? feats.map((z) => geometryBounds(z.geometry)).reduce((a, b) => [[Math.min(a[0][0], b[0][0]), Math.min(a[0][1], b[0][1])], [Math.max(a[1][0], b[1][0]), Math.max(a[1][1], b[1][1])]]) : null;
    out.innerHTML = html`
      <p class="ok">${t('detected_n', { n: feats.length, considered: fc.reports_considered ?? '?', noise: fc.noise_reports ?? '?' })}${(fc.retired || []).length ? html` ${t('detected_replaced', { n: fc.retired.length })}` : ''}</p>
      ${feats.length ? html`<ol class="detected">${feats.map((z) => html`<li><a href="#" data-hotspot="${z.id}">${z.properties.name}</a></li>`)}</ol>` : ''}`.toString();
    out.querySelectorAll('[data-hotspot]').forEach((a) =>
      a.addEventListener('click', (ev) => {
        ev.preventDefault();
        const z = feats.find((x) => String(x.id) === a.dataset.hotspot);
        if (z) ctrl.map.fitBounds(geometryBounds(z.geometry), { padding: 80, maxZoom: 17, duration: 800 });
      }),
    );
    if (bounds) ctrl.map.fitBounds(bounds, { padding: 60, maxZoom: 15, duration: 800 });
  } catch (e) {
    out.innerHTML = html`<p class="error">${e instanceof ApiError && e.status === 404 ? t('stats_api_missing') : errorText(e, t)}</p>`.toString();
  } finally {
    btn.disabled = false;
  }
}
