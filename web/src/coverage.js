// Office: route coverage of patrols for a chosen day (`GET /api/patrols/coverage`). The chosen
// route's 10 m segments are drawn from a GeoJSON source (walked green, missed red); a table per
// route and per team shows the share, check-ins and missed schedule windows.

import { api, errorText } from './api.js';
import { t } from './i18n.js';
import { html, $ } from './dom.js';

const SRC = 'xuncha-coverage';
const LAYER = 'xuncha-coverage-line';
const pct = (s) => `${Math.round((s ?? 0) * 1000) / 10}%`;
const hhmm = (iso) => (iso ? new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }) : '');

/** Yesterday as `YYYY-MM-DD` (local). */
function yesterday() {
  const d = new Date(Date.now() - 86400_000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function drawSegments(map, fc) {
  const data = fc || { type: 'FeatureCollection', features: [] };
  if (map.getSource(SRC)) map.getSource(SRC).setData(data);
  else {
    map.addSource(SRC, { type: 'geojson', data });
    map.addLayer({
      id: LAYER,
      type: 'line',
      source: SRC,
      layout: { 'line-cap': 'round' },
      paint: { 'line-width': 6, 'line-color': ['case', ['get', 'walked'], '#1a9850', '#d73027'] },
    });
  }
}

function table(rows) {
  return html`<table class="coverage-table"><thead><tr><th>${t('cov_route')}</th><th>${t('cov_team')}</th><th>${t('cov_share')}</th><th>${t('cov_points')}</th><th>${t('cov_time')}</th></tr></thead><tbody>
    ${rows.map((r) => html`<tr class="cov-route" data-route="${r.route.id}"><td>${r.route.name}</td><td>${t('cov_all_teams')}</td><td class="share">${pct(r.share)}</td><td></td>
      <td>${r.windows.map((w) => html`<span class="cov-window ${w.missed ? 'missed' : w.met ? 'met' : ''}" title="${w.missed ? t('cov_missed') : ''}">${w.label} ${pct(w.share)}${w.missed ? ` ⚠ ${t('cov_missed')}` : ''}</span> `)}</td></tr>
      ${r.teams.map((m) => html`<tr class="cov-team" data-route="${r.route.id}" data-user="${m.user}"><td></td><td>${m.user}</td><td class="share">${pct(m.share)}</td><td>${m.points}</td><td>${hhmm(m.first_at)}–${hhmm(m.last_at)}</td></tr>`)}
      ${r.checkins.length ? html`<tr class="cov-checkins" data-route="${r.route.id}"><td></td><td colspan="4">${t('cov_checkins')}: ${r.checkins.map((k) => `${k.name} (${k.user} ${hhmm(k.at)})`).join(t('list_sep'))}</td></tr>` : ''}`)}
  </tbody></table>`;
}

/** Mounts the coverage section into `box`; returns a teardown. */
export function mountCoverage(ctrl, box) {
  box.innerHTML = html`<h3>${t('cov_title')}</h3>
    <form class="cov-form"><label>${t('cov_date')}<input type="date" name="date" value="${yesterday()}"></label>
    <label>${t('cov_route')}<select name="route"><option value="">${t('loading')}</option></select></label>
    <button type="submit" class="primary">${t('apply')}</button></form>
    <p class="hint">${t('cov_legend')}</p>
    <div class="cov-body" aria-live="polite"></div>`.toString();
  const form = $('form', box);
  const body = $('.cov-body', box);
  const map = ctrl.map;

  async function load() {
    const date = form.date.value;
    if (!date) return;
    body.innerHTML = html`<span class="loading">${t('loading')}</span>`.toString();
    try {
      const all = await api(`/api/patrols/coverage?date=${encodeURIComponent(date)}`);
      const keep = form.route.value;
      form.route.innerHTML = all.map((r) => html`<option value="${r.route.id}">${r.route.name}</option>`).join('');
      if (keep && all.some((r) => r.route.id === keep)) form.route.value = keep;
      body.innerHTML = all.length ? table(all).toString() : html`<p>${t('cov_none')}</p>`.toString();
      const route = form.route.value;
      if (!route) return drawSegments(map, null);
      const one = await api(`/api/patrols/coverage?route=${encodeURIComponent(route)}&date=${encodeURIComponent(date)}`);
      const draw = () => drawSegments(map, one.segments);
      if (map.isStyleLoaded()) draw();
      else map.once('load', draw);
      box.dataset.loaded = `${route}@${date}`;
    } catch (e) {
      body.innerHTML = html`<p class="error">${errorText(e, t)}</p>`.toString();
    }
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load();
  });
  form.route.addEventListener('change', load);
  load();
  return () => {
    if (map.getLayer(LAYER)) map.removeLayer(LAYER);
    if (map.getSource(SRC)) map.removeSource(SRC);
  };
}
