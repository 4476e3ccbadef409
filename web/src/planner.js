// Planner view: draw zones and patrol routes with terra-draw, see overlaps before saving, show the
// server's validation errors where they are, edit vertices with optimistic concurrency, retire,
// and read a zone's history.

import {
  TerraDraw,
  TerraDrawPolygonMode,
  TerraDrawLineStringMode,
  TerraDrawSelectMode,
} from 'terra-draw';
import { TerraDrawMapLibreGLAdapter } from 'terra-draw-maplibre-gl-adapter';
import { api, ApiError, errorText } from './api.js';
import { t } from './i18n.js';
import { html, $, toast, fmtTime } from './dom.js';
import { maplibregl } from './map.js';
import { uuid } from './queue.js';
import { metaList } from './session.js';

const EMPTY = { type: 'FeatureCollection', features: [] };

/** How long drawing must pause before the server is asked for overlaps, ms. */
const PREVIEW_DEBOUNCE_MS = 300;

/**
 * `POST /api/zones?dry_run=true` for `feature`: the server's own validation and overlaps
 * (geodesic area, the same threshold as a save), nothing stored.
 */
export function dryRun(feature) {
  return api('/api/zones?dry_run=true', { method: 'POST', json: feature });
}

export async function mount({ ctrl, panel, embedded = false }) {
  const { map } = ctrl;
  const section = document.createElement('section');
  section.className = 'planner';
  section.innerHTML = html`
    ${embedded ? '' : html`<h2>${t('planner_title')}</h2>`}
    <div class="tools">
      <button type="button" data-draw="polygon">▱ ${t('draw_polygon')}</button>
      <button type="button" data-draw="linestring">〰 ${t('draw_route')}</button>
    </div>
    <p class="hint">${t('select_zone_hint')}</p>
    <form class="zone-form" hidden novalidate>
      <label>${t('kind')}<select name="kind">${metaList('zone_kinds').map((k) => html`<option value="${k.id}">${t(`kind_${k.id}`)}</option>`)}</select></label>
      <label class="only-grid" hidden>${t('level')}<select name="level">${['street', 'community', 'cell'].map((l) => html`<option value="${l}">${t(`level_${l}`)}</option>`)}</select></label>
      <label class="only-route" hidden>${t('width_m')}<input name="width_m" type="number" min="1" max="1000" step="1" value="30"></label>
      <label>${t('name')}<input name="name" required maxlength="200"></label>
      <label>${t('owner')}<input name="owner_name" maxlength="200"></label>
      <label>${t('sector')}<select name="sector"><option value=""></option>${metaList('sectors').map((s) => html`<option value="${s.id}">${t(`sector_${s.id}`)}</option>`)}</select></label>
      <label>${t('contact')}<input name="contact" maxlength="200"></label>
      <div class="overlaps" aria-live="polite"></div>
      <div class="errors" aria-live="assertive"></div>
      <div class="btns"><button type="submit" class="primary">${t('save')}</button><button type="button" class="cancel">${t('cancel')}</button></div>
    </form>
    <div class="selected" hidden></div>`.toString();
  panel.appendChild(section);

  // Overlay sources: overlaps (red) and validation-error locations (markers).
  map.addSource('planner-overlaps', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'planner-overlaps-fill', type: 'fill', source: 'planner-overlaps', paint: { 'fill-color': '#d00000', 'fill-opacity': 0.45 } });
  map.addLayer({ id: 'planner-overlaps-line', type: 'line', source: 'planner-overlaps', paint: { 'line-color': '#d00000', 'line-width': 2, 'line-dasharray': [2, 1] } });
  map.addSource('planner-selected', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'planner-selected-line', type: 'line', source: 'planner-selected', paint: { 'line-color': '#ffb703', 'line-width': 3 } });
  let errorMarkers = [];
  const clearErrors = () => {
    errorMarkers.forEach((m) => m.remove());
    errorMarkers = [];
    $('.errors', section).innerHTML = '';
  };

  const draw = new TerraDraw({
    adapter: new TerraDrawMapLibreGLAdapter({ map }),
    modes: [
      new TerraDrawPolygonMode(),
      new TerraDrawLineStringMode(),
      new TerraDrawSelectMode({
        flags: {
          polygon: { feature: { draggable: false, coordinates: { midpoints: true, draggable: true, deletable: true } } },
          linestring: { feature: { draggable: false, coordinates: { midpoints: true, draggable: true, deletable: true } } },
        },
      }),
    ],
  });
  draw.start();

  const form = $('.zone-form', section);
  const selectedBox = $('.selected', section);
  const hint = $('.hint', section);
  const st = { drawnId: null, editing: null, selected: null };
  window.xuncha.draw = draw; // for tests and debugging

  let finishedAt = 0;
  // The click that closes a drawing arrives after terra-draw has already gone back to static.
  const busy = () => draw.getMode() !== 'static' || Date.now() - finishedAt < 400;
  ctrl.clickHandler = () => busy(); // while drawing or editing, clicks belong to terra-draw

  const syncKindFields = () => {
    const k = form.kind.value;
    $('.only-grid', form).hidden = k !== 'grid';
    $('.only-route', form).hidden = k !== 'patrol_route';
  };
  form.kind.addEventListener('change', () => {
    syncKindFields();
    previewOverlaps();
  });

  const drawnGeometry = () => {
    if (!st.drawnId) return null;
    const f = draw.getSnapshot().find((x) => x.id === st.drawnId);
    return f ? f.geometry : null;
  };

  const resetDraw = () => {
    draw.clear();
    draw.setMode('static');
    st.drawnId = null;
    st.editing = null;
    form.hidden = true;
    map.getSource('planner-overlaps').setData(EMPTY);
    clearErrors();
    hint.textContent = t('select_zone_hint');
    section.querySelectorAll('[data-draw]').forEach((b) => b.classList.remove('active'));
  };

  section.querySelectorAll('[data-draw]').forEach((b) =>
    b.addEventListener('click', () => {
      resetDraw();
      selectZone(null);
      const mode = b.dataset.draw;
      b.classList.add('active');
      draw.setMode(mode);
      hint.textContent = mode === 'polygon' ? t('draw_hint_polygon') : t('draw_hint_route');
      form.kind.value = mode === 'linestring' ? 'patrol_route' : 'responsibility';
      syncKindFields();
    }),
  );

  draw.on('finish', (id, context) => {
    if (context && context.action && context.action !== 'draw') return;
    if (st.editing) return;
    finishedAt = Date.now();
    st.drawnId = id;
    draw.setMode('static');
    section.querySelectorAll('[data-draw]').forEach((b) => b.classList.remove('active'));
    form.hidden = false;
    hint.textContent = '';
    form.name.focus();
    previewOverlaps();
  });

  let overlapSeq = 0;
  let previewTimer = null;
  /** Asks the server (debounced) which same-kind zones the drawn shape overlaps. */
  function previewOverlaps() {
    clearTimeout(previewTimer);
    const box = $('.overlaps', section);
    const geom = drawnGeometry();
    const seq = ++overlapSeq;
    if (!geom || geom.type === 'LineString') {
      box.innerHTML = '';
      map.getSource('planner-overlaps').setData(EMPTY);
      return;
    }
    box.innerHTML = html`<span class="loading">${t('loading')}</span>`.toString();
    previewTimer = setTimeout(async () => {
      try {
        const res = await dryRun(previewFeature(geom));
        if (seq !== overlapSeq) return;
        showOverlaps(res.overlaps, true);
        const bad = res.errors.filter((e) => !/properties\.(name|owner)/.test(e.reason));
        if (bad.length) box.insertAdjacentHTML('beforeend', html`<ul class="error">${bad.map((e) => html`<li>${e.reason}</li>`)}</ul>`.toString());
      } catch (e) {
        if (seq === overlapSeq) box.innerHTML = html`<span class="error">${errorText(e, t)}</span>`.toString();
      }
    }, PREVIEW_DEBOUNCE_MS);
  }
  // Reshaping the drawn zone asks again once the vertices stop moving.
  draw.on('change', (ids) => {
    if (st.drawnId && !st.editing && ids.includes(st.drawnId)) previewOverlaps();
  });

  /**
   * The drawn shape as the form stands, with stand-ins for a name and owner not typed yet, so
   * that the dry run checks the geometry and its overlaps before the form is complete.
   */
  function previewFeature(geom) {
    const f = featureFromForm(geom);
    if (!f.properties.name) f.properties.name = '—';
    const kind = metaList('zone_kinds').find((k) => k.id === f.properties.kind);
    if (kind?.requires_owner && !f.properties.owner?.name) f.properties.owner = { name: '—', sector: form.sector.value || metaList('sectors')[0].id };
    else if (f.properties.owner && !f.properties.owner.sector) f.properties.owner.sector = metaList('sectors')[0].id;
    return f;
  }

  /** Lists `list` (the server's overlaps); `paint` also draws their shared areas red. */
  function showOverlaps(list, paint = true) {
    const box = $('.overlaps', form.hidden ? selectedBox : section);
    if (paint) map.getSource('planner-overlaps').setData({ type: 'FeatureCollection', features: list.map((o) => ({ type: 'Feature', geometry: o.geometry, properties: { id: o.overlaps } })) });
    if (!box) return;
    box.innerHTML = list.length
      ? html`<h4>! ${t('overlaps_title')}</h4><ul>${list.map((o) => html`<li data-overlap="${o.overlaps}">${o.overlaps_name || o.overlaps} · ${t('overlap_area', { a: Math.round(o.area_m2).toLocaleString() })}</li>`)}</ul>`.toString()
      : html`<p class="ok">✓ ${t('no_overlaps')}</p>`.toString();
  }

  /** Shows a 422's details on the map where they happened and in the form. */
  function showValidation(e) {
    clearErrors();
    const box = $('.errors', section);
    box.innerHTML = html`<p class="error">${t('validation_failed')} ${e.message}</p><ul>${e.details.map((d) => html`<li>${d.reason || JSON.stringify(d)}</li>`)}</ul>`.toString();
    for (const d of e.details) {
      if (!Array.isArray(d.location)) continue;
      const dot = document.createElement('div');
      dot.className = 'error-marker';
      dot.title = d.reason || '';
      const m = new maplibregl.Marker({ element: dot })
        .setLngLat(d.location)
        .setPopup(new maplibregl.Popup({ offset: 10, className: 'xpopup' }).setText(d.reason || ''))
        .addTo(map);
      m.togglePopup();
      errorMarkers.push(m);
    }
  }

  function featureFromForm(geometry) {
    const kind = form.kind.value;
    const props = { kind, name: form.name.value.trim() };
    const owner = { name: form.owner_name.value.trim(), sector: form.sector.value, contact: form.contact.value.trim() };
    if (owner.name || owner.sector || owner.contact) {
      props.owner = {};
      for (const [k, v] of Object.entries(owner)) if (v) props.owner[k] = v;
    }
    props.properties = {};
    if (kind === 'grid') props.properties.level = form.level.value;
    if (kind === 'patrol_route') props.width_m = Number(form.width_m.value);
    return { type: 'Feature', geometry, properties: props };
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const geom = drawnGeometry();
    if (!geom) return;
    const btn = $('button[type=submit]', form);
    btn.disabled = true;
    clearErrors();
    try {
      const body = await api('/api/zones', { method: 'POST', json: featureFromForm(geom) });
      const saved = body.features[0];
      toast(`${t('saved')}: ${saved.properties.name}`, 'ok');
      const overlaps = body.overlaps || [];
      resetDraw();
      ctrl.reloadTiles({ reports: false });
      selectZone(saved);
      if (overlaps.length) showOverlaps(overlaps);
      window.xuncha.lastSavedZone = saved.id;
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) showValidation(e);
      else $('.errors', section).innerHTML = html`<p class="error">${errorText(e, t)}</p>`.toString();
    } finally {
      btn.disabled = false;
    }
  });
  $('.cancel', form).addEventListener('click', resetDraw);

  // --- selection, vertex editing, retire, history ---------------------------------------------
  async function selectZone(feature) {
    st.selected = feature;
    map.getSource('planner-selected').setData(feature ? { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: feature.geometry, properties: {} }] } : EMPTY);
    if (!feature) {
      selectedBox.hidden = true;
      return;
    }
    const p = feature.properties;
    selectedBox.hidden = false;
    selectedBox.innerHTML = html`
      <h3>${t('selected')}：<span class="sel-name">${p.name}</span></h3>
      <p class="muted">${t(`kind_${p.kind}`)} · ${t('version')} ${p.version} · ${feature.id}</p>
      <div class="btns">
        <button type="button" class="edit">${t('edit_shape')}</button>
        <button type="button" class="save-edit" hidden>${t('save_edit')}</button>
        <button type="button" class="retire danger">${t('retire')}</button>
        <button type="button" class="hist">${t('history')}</button>
      </div>
      <div class="overlaps"></div>
      <div class="conflict"></div>
      <ol class="history"></ol>`.toString();
    $('.edit', selectedBox).addEventListener('click', () => startEdit(feature.id));
    $('.save-edit', selectedBox).addEventListener('click', saveEdit);
    $('.hist', selectedBox).addEventListener('click', () => showHistory(feature.id));
    const retireBtn = $('.retire', selectedBox);
    retireBtn.addEventListener('click', async () => {
      if (!retireBtn.dataset.confirm) {
        retireBtn.dataset.confirm = '1';
        retireBtn.textContent = t('confirm_retire', { name: p.name });
        return;
      }
      try {
        await api(`/api/zones/${encodeURIComponent(feature.id)}`, { method: 'DELETE', headers: { 'if-match': `"${p.version}"` } });
        toast(`${t('retired')}: ${p.name}`, 'ok');
        resetDraw();
        selectZone(null);
        ctrl.reloadTiles({ reports: false });
      } catch (e) {
        handleConflict(e, feature.id);
      }
    });
  }
  ctrl.onZoneShown = (f) => {
    if (!busy() && !st.drawnId) selectZone(f);
  };

  async function startEdit(id) {
    let res;
    try {
      res = await api(`/api/zones/${encodeURIComponent(id)}`, { withHeaders: true });
    } catch (e) {
      return toast(errorText(e, t), 'error');
    }
    const f = res.body;
    const version = Number((res.headers.get('etag') || '').replace(/\W/g, '')) || f.properties.version;
    if (!['Polygon', 'LineString'].includes(f.geometry.type)) return toast(`${f.geometry.type}: ${t('error')}`, 'error');
    draw.clear();
    const did = uuid();
    const mode = f.geometry.type === 'Polygon' ? 'polygon' : 'linestring';
    const geometry = f.geometry.type === 'Polygon' ? { type: 'Polygon', coordinates: [f.geometry.coordinates[0]] } : f.geometry;
    const results = draw.addFeatures([{ type: 'Feature', id: did, geometry, properties: { mode } }]);
    if (results && results[0] && results[0].valid === false) return toast(results[0].reason || t('error'), 'error');
    st.editing = { id, version, drawId: did, properties: f.properties };
    draw.setMode('select');
    draw.selectFeature(did);
    ctrl.map.getSource('planner-selected').setData(EMPTY);
    hint.textContent = t('edit_hint');
    $('.save-edit', selectedBox).hidden = false;
    $('.conflict', selectedBox).innerHTML = '';
  }

  async function saveEdit() {
    const ed = st.editing;
    if (!ed) return;
    const f = draw.getSnapshot().find((x) => x.id === ed.drawId);
    if (!f) return;
    const p = ed.properties;
    const body = {
      type: 'Feature',
      id: ed.id,
      geometry: f.geometry,
      properties: { kind: p.kind, name: p.name, owner: p.owner, parent: p.parent ?? undefined, properties: p.properties || {}, ...(p.width_m ? { width_m: p.width_m } : {}) },
    };
    clearErrors();
    try {
      const saved = await api(`/api/zones/${encodeURIComponent(ed.id)}`, { method: 'PUT', json: body, headers: { 'if-match': `"${ed.version}"` } });
      toast(`${t('saved')}: ${saved.properties.name} (${t('version')} ${saved.properties.version})`, 'ok');
      const overlaps = saved.overlaps || [];
      resetDraw();
      ctrl.reloadTiles({ reports: false });
      await selectZone(saved);
      if (overlaps.length) showOverlaps(overlaps);
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) showValidation(e);
      else handleConflict(e, ed.id);
    }
  }

  function handleConflict(e, id) {
    const box = $('.conflict', selectedBox) || $('.errors', section);
    if (e instanceof ApiError && e.status === 409) {
      const v = e.details.find((d) => d.current_version != null)?.current_version ?? '?';
      box.innerHTML = html`<p class="error">${t('conflict_reload', { v })}</p><button type="button" class="reload">${t('retry')}</button>`.toString();
      $('.reload', box).addEventListener('click', async () => {
        resetDraw();
        const fresh = await api(`/api/zones/${encodeURIComponent(id)}`);
        await selectZone(fresh);
        startEdit(id);
      });
    } else {
      box.innerHTML = html`<p class="error">${errorText(e, t)}</p>`.toString();
    }
  }

  async function showHistory(id) {
    const list = $('.history', selectedBox);
    list.innerHTML = html`<li class="loading">${t('loading')}</li>`.toString();
    try {
      const body = await api(`/api/zones/${encodeURIComponent(id)}/history`);
      list.innerHTML = body.history
        .map((h) => html`<li><strong>v${h.version}</strong> ${t(`history_${h.action}`)} · ${h.user} · <small>${fmtTime(h.at)}</small></li>`)
        .join('');
    } catch (e) {
      list.innerHTML = html`<li class="error">${errorText(e, t)}</li>`.toString();
    }
  }

  return () => {
    clearErrors();
    draw.stop();
    delete window.xuncha.draw;
    section.remove();
  };
}
