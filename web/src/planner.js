// Planner view: draw zones and patrol routes with terra-draw, snapping onto existing zones'
// vertices and edges (tolerance in pixels) or typing coordinates; see overlaps and gaps before
// saving (the server's dry run), close a gap with one click, confirm before saving an overlap;
// show the server's validation errors where they are; edit vertices and a zone's name, owner,
// sector and contact with optimistic concurrency; retire; read a zone's history, retired ones
// too from their list.

import {
  TerraDraw,
  TerraDrawPolygonMode,
  TerraDrawLineStringMode,
  TerraDrawSelectMode,
} from 'terra-draw';
import { TerraDrawMapLibreGLAdapter } from 'terra-draw-maplibre-gl-adapter';
import { api, ApiError, errorText } from './api.js';
import { t, hasKey } from './i18n.js';
import { html, $, toast, fmtTime } from './dom.js';
import { maplibregl } from './map.js';
import { uuid } from './queue.js';
import { metaList, session } from './session.js';
import { createSnapper, parseLonLat, snapRingOnto } from './snap.js';

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

/** A refused feature's reason in the UI's language, from its machine code. */
export function featureErrorText(d) {
  if (d && d.code && hasKey(`err_${d.code}`)) return t(`err_${d.code}`, d.params || {});
  return t('err_invalid_feature');
}

const SNAP_KEY = 'xuncha.snap_px';
/** The snapping tolerance in pixels: the planner's own choice, else the server's default. */
function snapPx() {
  const mine = localStorage.getItem(SNAP_KEY);
  if (mine !== null && mine !== '' && Number.isFinite(Number(mine))) return Number(mine);
  return session.meta?.limits?.snap_px ?? 10;
}
const gapWidthM = () => session.meta?.limits?.gap_width_m ?? 1;
/** Codes of the stand-ins the preview fills in; the form reports those when it is sent. */
const FORM_CODES = new Set(['zone_name_required', 'zone_owner_required', 'zone_owner_invalid']);

export async function mount({ ctrl, panel, embedded = false }) {
  const { map } = ctrl;
  const section = document.createElement('section');
  section.className = 'planner';
  section.innerHTML = html`
    ${embedded ? '' : html`<h2>${t('planner_title')}</h2>`}
    <div class="tools">
      <button type="button" data-draw="polygon">▱ ${t('draw_polygon')}</button>
      <button type="button" data-draw="linestring">〰 ${t('draw_route')}</button>
      <button type="button" class="retired-open">${t('pl_retired_list')}</button>
    </div>
    <div class="precise">
      <label class="snap-tol">${t('pl_snap')} <input name="snap_px" type="number" min="0" max="50" step="1" value="${snapPx()}"> ${t('pl_px')}</label>
      <form class="coord-form" novalidate>
        <label>${t('pl_coord_label')} <textarea name="coord" rows="1" autocomplete="off" spellcheck="false" placeholder="126.4250,41.9400" aria-describedby="pl-coord-msg"></textarea></label>
        <button type="submit">${t('pl_coord_add')}</button>
        <p class="coord-msg" id="pl-coord-msg" aria-live="polite"></p>
      </form>
    </div>
    <p class="hint">${t('select_zone_hint')}</p>
    <div class="retired-list" hidden></div>
    <form class="zone-form" hidden novalidate>
      <label>${t('kind')}<select name="kind">${metaList('zone_kinds').map((k) => html`<option value="${k.id}">${t(`kind_${k.id}`)}</option>`)}</select></label>
      <label class="only-grid" hidden>${t('level')}<select name="level">${['street', 'community', 'cell'].map((l) => html`<option value="${l}">${t(`level_${l}`)}</option>`)}</select></label>
      <label class="only-route" hidden>${t('width_m')}<input name="width_m" type="number" min="1" max="1000" step="1" value="30"></label>
      <label>${t('name')}<input name="name" required maxlength="200"></label>
      <label>${t('owner')}<input name="owner_name" maxlength="200"></label>
      <label>${t('sector')}<select name="sector"><option value=""></option>${metaList('sectors').map((s) => html`<option value="${s.id}">${t(`sector_${s.id}`)}</option>`)}</select></label>
      <label>${t('contact')}<input name="contact" maxlength="200"></label>
      <div class="overlaps" aria-live="polite"></div>
      <div class="gaps" aria-live="polite"></div>
      <div class="errors" aria-live="assertive"></div>
      <div class="confirm-overlap" role="alertdialog" aria-labelledby="pl-confirm-title" hidden></div>
      <div class="btns"><button type="submit" class="primary">${t('save')}</button><button type="button" class="cancel">${t('cancel')}</button></div>
    </form>
    <div class="selected" hidden></div>`.toString();
  panel.appendChild(section);

  // Overlay sources: overlaps (red) and validation-error locations (markers).
  map.addSource('planner-overlaps', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'planner-overlaps-fill', type: 'fill', source: 'planner-overlaps', paint: { 'fill-color': '#d00000', 'fill-opacity': 0.45 } });
  map.addLayer({ id: 'planner-overlaps-line', type: 'line', source: 'planner-overlaps', paint: { 'line-color': '#d00000', 'line-width': 2, 'line-dasharray': [2, 1] } });
  map.addSource('planner-gaps', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'planner-gaps-fill', type: 'fill', source: 'planner-gaps', paint: { 'fill-color': '#e85d04', 'fill-opacity': 0.6 } });
  map.addLayer({ id: 'planner-gaps-line', type: 'line', source: 'planner-gaps', paint: { 'line-color': '#9d0208', 'line-width': 3 } });
  map.addSource('planner-typed', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'planner-typed-points', type: 'circle', source: 'planner-typed', paint: { 'circle-radius': 5, 'circle-color': '#3a0ca3', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  map.addSource('planner-selected', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'planner-selected-line', type: 'line', source: 'planner-selected', paint: { 'line-color': '#ffb703', 'line-width': 3 } });
  let errorMarkers = [];
  const clearErrors = () => {
    errorMarkers.forEach((m) => m.remove());
    errorMarkers = [];
    $('.errors', section).innerHTML = '';
  };

  const st = { drawnId: null, editing: null, selected: null, typed: [], last: null };
  // Existing zones' exact shapes near the view; the zone being edited is no target.
  const snapper = createSnapper(map, { tolerancePx: snapPx, excludeId: () => st.editing?.id ?? null });
  snapper.refresh();
  const snapping = { toCustom: snapper.toCustom };
  const coordFlags = { midpoints: true, draggable: true, deletable: true, snappable: snapping };
  const draw = new TerraDraw({
    adapter: new TerraDrawMapLibreGLAdapter({ map }),
    modes: [
      new TerraDrawPolygonMode({ snapping }),
      new TerraDrawLineStringMode({ snapping }),
      new TerraDrawSelectMode({
        flags: {
          polygon: { feature: { draggable: false, coordinates: coordFlags } },
          linestring: { feature: { draggable: false, coordinates: coordFlags } },
        },
      }),
    ],
  });
  draw.start();

  const form = $('.zone-form', section);
  const selectedBox = $('.selected', section);
  const hint = $('.hint', section);
  window.xuncha.draw = draw; // for tests and debugging
  window.xuncha.snapper = snapper;

  const snapInput = $('input[name=snap_px]', section);
  snapInput.addEventListener('change', () => {
    const v = Number(snapInput.value);
    if (Number.isFinite(v) && v >= 0 && v <= 50) localStorage.setItem(SNAP_KEY, String(v));
    else snapInput.value = String(snapPx());
  });

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
    const id = st.editing ? st.editing.drawId : st.drawnId;
    if (!id) return null;
    const f = draw.getSnapshot().find((x) => x.id === id);
    return f ? f.geometry : null;
  };

  const resetDraw = () => {
    draw.clear();
    draw.setMode('static');
    st.drawnId = null;
    st.editing = null;
    st.typed = [];
    st.last = null;
    form.hidden = true;
    map.getSource('planner-overlaps').setData(EMPTY);
    map.getSource('planner-gaps').setData(EMPTY);
    map.getSource('planner-typed').setData(EMPTY);
    $('.gaps', section).innerHTML = '';
    hideConfirm();
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
    showForm();
  });

  function showForm() {
    form.hidden = false;
    hint.textContent = '';
    form.name.focus();
    previewOverlaps();
  }

  // --- typed or pasted coordinates ------------------------------------------------------------
  const coordForm = $('.coord-form', section);
  const coordMsg = $('.coord-msg', section);
  // Enter adds (Shift+Enter starts a new line); pasted lines keep their breaks in the textarea.
  coordForm.coord.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey) {
      ev.preventDefault();
      coordForm.requestSubmit();
    }
  });
  coordForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const parsed = parseLonLat(coordForm.coord.value);
    coordMsg.className = 'coord-msg';
    if (parsed.error) {
      coordMsg.classList.add('error');
      coordMsg.textContent = t(parsed.error, parsed.params);
      return;
    }
    const centre = map.getCenter();
    const far = parsed.points.find((p) => Math.abs(p[0] - centre.lng) > 1 || Math.abs(p[1] - centre.lat) > 1);
    if (far) {
      coordMsg.classList.add('error');
      coordMsg.textContent = t('coord_far', { value: far.join(',') });
      return;
    }
    addTypedVertices(parsed.points);
    coordForm.coord.value = '';
    coordMsg.textContent = t('coord_added', { n: parsed.points.length });
  });

  /**
   * Appends typed vertices: to the polygon already drawn (or being edited), else to a new one
   * made of typed vertices alone, which appears once it has three.
   */
  function addTypedVertices(points) {
    const targetId = st.editing ? st.editing.drawId : st.drawnId;
    const f = targetId && draw.getSnapshot().find((x) => x.id === targetId);
    if (f && f.geometry.type === 'Polygon') {
      const ring = f.geometry.coordinates[0].slice(0, -1).concat(points);
      draw.updateFeatureGeometry(targetId, { type: 'Polygon', coordinates: [[...ring, ring[0]]] });
      if (!st.editing) previewOverlaps();
      return;
    }
    if (draw.getMode() !== 'static') {
      draw.setMode('static');
      section.querySelectorAll('[data-draw]').forEach((b) => b.classList.remove('active'));
    }
    st.typed.push(...points);
    map.getSource('planner-typed').setData({ type: 'FeatureCollection', features: st.typed.map((c) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: {} })) });
    if (st.typed.length < 3) {
      hint.textContent = t('coord_need_more', { n: 3 - st.typed.length });
      return;
    }
    const id = uuid();
    const ring = [...st.typed, st.typed[0]];
    const res = draw.addFeatures([{ type: 'Feature', id, geometry: { type: 'Polygon', coordinates: [ring] }, properties: { mode: 'polygon' } }]);
    if (res && res[0] && res[0].valid === false) {
      coordMsg.classList.add('error');
      coordMsg.textContent = t('coord_bad_shape');
      return;
    }
    st.typed = [];
    map.getSource('planner-typed').setData(EMPTY);
    st.drawnId = id;
    form.kind.value = 'responsibility';
    syncKindFields();
    showForm();
  }

  let overlapSeq = 0;
  let previewTimer = null;
  /** Asks the server (debounced) which same-kind zones the drawn shape overlaps. */
  function previewOverlaps() {
    clearTimeout(previewTimer);
    const box = $('.overlaps', form.hidden ? selectedBox : section);
    const geom = drawnGeometry();
    const seq = ++overlapSeq;
    hideConfirm();
    if (!geom || geom.type === 'LineString') {
      box.innerHTML = '';
      $('.gaps', form.hidden ? selectedBox : section).innerHTML = '';
      map.getSource('planner-overlaps').setData(EMPTY);
      map.getSource('planner-gaps').setData(EMPTY);
      st.last = null;
      return;
    }
    box.innerHTML = html`<span class="loading">${t('loading')}</span>`.toString();
    previewTimer = setTimeout(async () => {
      try {
        const res = await checkShape(geom);
        if (seq !== overlapSeq) return;
        st.last = res;
        showOverlaps(res.overlaps, true);
        showGaps(res.gaps);
        const bad = res.errors.filter((e) => !FORM_CODES.has(e.code));
        if (bad.length) box.insertAdjacentHTML('beforeend', html`<ul class="error">${bad.map((e) => html`<li>${featureErrorText(e)}</li>`)}</ul>`.toString());
      } catch (e) {
        if (seq === overlapSeq) box.innerHTML = html`<span class="error">${errorText(e, t)}</span>`.toString();
      }
    }, PREVIEW_DEBOUNCE_MS);
  }

  /**
   * The server's dry run for `geom` as the form stands: `{errors, overlaps, gaps}`. While a
   * saved zone is edited its own old shape is no neighbour, so what concerns it is left out.
   */
  async function checkShape(geom) {
    const res = await dryRun(previewFeature(geom));
    const self = st.editing?.id;
    if (!self) return res;
    return {
      ...res,
      errors: res.errors || [],
      overlaps: res.overlaps.filter((o) => o.overlaps !== self),
      gaps: (res.gaps || []).filter((g) => g.neighbour !== self),
    };
  }

  /** Lists the gaps left towards neighbours and draws them, each with its "close" button. */
  function showGaps(list = []) {
    const box = $('.gaps', form.hidden ? selectedBox : section);
    map.getSource('planner-gaps').setData({ type: 'FeatureCollection', features: list.map((g) => ({ type: 'Feature', geometry: g.geometry, properties: { neighbour: g.neighbour } })) });
    if (!box) return;
    box.innerHTML = list.length
      ? html`<h4>! ${t('gaps_title', { w: gapWidthM() })}</h4><ul>${list.map((g, i) => html`<li data-gap="${g.neighbour}">${g.neighbour_name || g.neighbour} · ${t('gap_area', { a: fmtArea(g.area_m2), w: g.width_m.toFixed(2) })} <button type="button" class="close-gap" data-i="${i}">${t('close_gap')}</button></li>`)}</ul>`.toString()
      : html`<p class="ok">✓ ${t('no_gaps', { w: gapWidthM() })}</p>`.toString();
    box.querySelectorAll('.close-gap').forEach((b) => b.addEventListener('click', () => closeGap(list[Number(b.dataset.i)])));
  }

  /** Moves the drawn zone's vertices near `gap` onto the neighbour's boundary, then checks again. */
  async function closeGap(gap) {
    const drawId = st.editing ? st.editing.drawId : st.drawnId;
    const f = drawId && draw.getSnapshot().find((x) => x.id === drawId);
    if (!f || f.geometry.type !== 'Polygon') return;
    let neighbour = snapper.geometryOf(gap.neighbour);
    if (!neighbour) {
      try {
        neighbour = (await api(`/api/zones/${encodeURIComponent(gap.neighbour)}`)).geometry;
      } catch (e) {
        return toast(errorText(e, t), 'error');
      }
    }
    // Vertices up to the gap's width (and a margin) from the neighbour belong to the gap.
    const reach = Math.max(gapWidthM(), gap.width_m) * 1.5 + 0.05;
    const { ring, moved } = snapRingOnto(f.geometry.coordinates[0], neighbour, reach);
    if (!moved) return toast(t('close_gap_none'), 'error');
    draw.updateFeatureGeometry(drawId, { type: 'Polygon', coordinates: [ring, ...f.geometry.coordinates.slice(1)] });
    toast(t('close_gap_done', { n: moved }), 'ok');
    previewOverlaps();
  }

  const fmtArea = (a) => (a < 10 ? a.toFixed(1) : Math.round(a).toLocaleString());
  // Reshaping the drawn zone asks again once the vertices stop moving.
  draw.on('change', (ids) => {
    if (st.drawnId && !st.editing && ids.includes(st.drawnId)) previewOverlaps();
    else if (st.editing && ids.includes(st.editing.drawId)) previewOverlaps();
  });

  /**
   * The drawn shape as the form stands, with stand-ins for a name and owner not typed yet, so
   * that the dry run checks the geometry and its overlaps before the form is complete.
   */
  function previewFeature(geom) {
    if (st.editing) return editedFeature(geom, st.editing.properties, false);
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
    if (form.hidden && box) box.closest('.selected').hidden = false;
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
    box.innerHTML = html`<p class="error">${t('validation_failed')} ${errorText(e, t)}</p><ul>${e.details.map((d) => html`<li>${featureErrorText(d)}</li>`)}</ul>`.toString();
    for (const d of e.details) {
      if (!Array.isArray(d.location)) continue;
      const dot = document.createElement('div');
      dot.className = 'error-marker';
      dot.title = featureErrorText(d);
      const m = new maplibregl.Marker({ element: dot })
        .setLngLat(d.location)
        .setPopup(new maplibregl.Popup({ offset: 10, className: 'xpopup' }).setText(featureErrorText(d)))
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

  const confirmBox = $('.confirm-overlap', form);
  function hideConfirm() {
    confirmBox.hidden = true;
    confirmBox.innerHTML = '';
  }
  /**
   * Asks before saving a shape that overlaps zones of the same kind: resolves true to save,
   * false to go back. `box` is where the question appears (the form, or an edited zone's panel).
   */
  function confirmOverlap(overlaps, box = confirmBox) {
    const total = overlaps.reduce((s, o) => s + o.area_m2, 0);
    box.hidden = false;
    box.innerHTML = html`<p id="pl-confirm-title"><strong>${t('confirm_overlap', { n: overlaps.length, a: fmtArea(total) })}</strong></p>
      <ul>${overlaps.map((o) => html`<li>${o.overlaps_name || o.overlaps} · ${t('overlap_area', { a: fmtArea(o.area_m2) })}</li>`)}</ul>
      <div class="btns"><button type="button" class="confirm-save danger">${t('confirm_overlap_save')}</button><button type="button" class="confirm-back">${t('confirm_overlap_back')}</button></div>`.toString();
    return new Promise((resolve) => {
      $('.confirm-save', box).addEventListener('click', () => {
        box.hidden = true;
        box.innerHTML = '';
        resolve(true);
      });
      $('.confirm-back', box).addEventListener('click', () => {
        box.hidden = true;
        box.innerHTML = '';
        resolve(false);
      });
      $('.confirm-back', box).focus();
    });
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const geom = drawnGeometry();
    if (!geom) return;
    const btn = $('button[type=submit]', form);
    btn.disabled = true;
    clearErrors();
    try {
      const feature = featureFromForm(geom);
      if (geom.type !== 'LineString') {
        // Ask the server now rather than trust a preview that may be older than the last move.
        const check = await dryRun(previewFeature(geom));
        if (check.overlaps.length && !(await confirmOverlap(check.overlaps))) return;
      }
      const body = await api('/api/zones', { method: 'POST', json: feature });
      const saved = body.features[0];
      toast(`${t('saved')}: ${saved.properties.name}`, 'ok');
      const overlaps = body.overlaps || [];
      const gaps = body.gaps || [];
      resetDraw();
      ctrl.reloadTiles({ reports: false });
      snapper.invalidate();
      selectZone(saved);
      if (overlaps.length) showOverlaps(overlaps);
      if (gaps.length) showGaps(gaps);
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
      <h3>${t('selected')}${t('colon')}<span class="sel-name">${p.name}</span></h3>
      <p class="muted">${t(`kind_${p.kind}`)} · ${t('version')} ${p.version} · ${feature.id}</p>
      <p class="sel-owner muted">${p.owner ? [p.owner.name, p.owner.sector ? t(`sector_${p.owner.sector}`) : '', p.owner.contact || ''].filter(Boolean).join(' · ') : ''}</p>
      <div class="btns">
        <button type="button" class="edit">${t('edit_shape')}</button>
        <button type="button" class="edit-props">${t('pl_edit_props')}</button>
        <button type="button" class="save-edit" hidden>${t('save_edit')}</button>
        <button type="button" class="retire danger">${t('retire')}</button>
        <button type="button" class="hist">${t('history')}</button>
      </div>
      <form class="props-form" hidden novalidate>
        <label>${t('name')}<input name="name" required maxlength="200" value="${p.name}"></label>
        <label>${t('owner')}<input name="owner_name" maxlength="200" value="${p.owner?.name || ''}"></label>
        <label>${t('sector')}<select name="sector"><option value=""></option>${metaList('sectors').map((s) => html`<option value="${s.id}" ${p.owner?.sector === s.id ? 'selected' : ''}>${t(`sector_${s.id}`)}</option>`)}</select></label>
        <label>${t('contact')}<input name="contact" maxlength="200" value="${p.owner?.contact || ''}"></label>
        <p class="props-msg error" aria-live="assertive"></p>
        <div class="btns"><button type="submit" class="primary">${t('pl_save_props')}</button><button type="button" class="props-cancel">${t('cancel')}</button></div>
      </form>
      <div class="overlaps"></div>
      <div class="gaps"></div>
      <div class="confirm-overlap" role="alertdialog" hidden></div>
      <div class="conflict"></div>
      <ol class="history"></ol>`.toString();
    $('.edit', selectedBox).addEventListener('click', () => startEdit(feature.id));
    const propsForm = $('.props-form', selectedBox);
    $('.edit-props', selectedBox).addEventListener('click', () => {
      propsForm.hidden = false;
      propsForm.name.focus();
    });
    $('.props-cancel', propsForm).addEventListener('click', () => {
      propsForm.hidden = true;
    });
    propsForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      saveProps(feature, propsForm);
    });
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
        snapper.invalidate();
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
    if (!['Polygon', 'LineString'].includes(f.geometry.type)) return toast(t('pl_multi_not_editable'), 'error');
    draw.clear();
    const did = uuid();
    const mode = f.geometry.type === 'Polygon' ? 'polygon' : 'linestring';
    const geometry = f.geometry.type === 'Polygon' ? { type: 'Polygon', coordinates: [f.geometry.coordinates[0]] } : f.geometry;
    const results = draw.addFeatures([{ type: 'Feature', id: did, geometry, properties: { mode } }]);
    if (results && results[0] && results[0].valid === false) return toast(t('coord_bad_shape'), 'error');
    st.editing = { id, version, drawId: did, properties: f.properties };
    draw.setMode('select');
    draw.selectFeature(did);
    ctrl.map.getSource('planner-selected').setData(EMPTY);
    hint.textContent = t('edit_hint');
    $('.save-edit', selectedBox).hidden = false;
    $('.conflict', selectedBox).innerHTML = '';
  }

  /** A zone's Feature for PUT (or, without `withId`, for a dry run) from its stored properties. */
  function editedFeature(geometry, p, withId = true) {
    const f = {
      type: 'Feature',
      geometry,
      properties: { kind: p.kind, name: p.name, owner: p.owner || undefined, parent: p.parent ?? undefined, properties: p.properties || {}, ...(p.width_m ? { width_m: p.width_m } : {}) },
    };
    if (withId && st.editing) f.id = st.editing.id;
    return f;
  }

  async function saveEdit() {
    const ed = st.editing;
    if (!ed) return;
    const f = draw.getSnapshot().find((x) => x.id === ed.drawId);
    if (!f) return;
    const body = editedFeature(f.geometry, ed.properties);
    clearErrors();
    try {
      if (f.geometry.type === 'Polygon') {
        const check = await checkShape(f.geometry);
        if (check.overlaps.length && !(await confirmOverlap(check.overlaps, $('.confirm-overlap', selectedBox)))) return;
      }
      const saved = await api(`/api/zones/${encodeURIComponent(ed.id)}`, { method: 'PUT', json: body, headers: { 'if-match': `"${ed.version}"` } });
      toast(`${t('saved')}: ${saved.properties.name} (${t('version')} ${saved.properties.version})`, 'ok');
      const overlaps = saved.overlaps || [];
      const gaps = saved.gaps || [];
      resetDraw();
      ctrl.reloadTiles({ reports: false });
      snapper.invalidate();
      await selectZone(saved);
      if (overlaps.length) showOverlaps(overlaps);
      if (gaps.length) showGaps(gaps);
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) showValidation(e);
      else handleConflict(e, ed.id);
    }
  }

  /**
   * Saves a zone's name, owner, sector and contact (its shape unchanged) against the version
   * shown, with If-Match; a stale version offers to reload like a shape edit.
   */
  async function saveProps(feature, propsForm) {
    const msg = $('.props-msg', propsForm);
    msg.textContent = '';
    const p = feature.properties;
    const name = propsForm.name.value.trim();
    const owner = { name: propsForm.owner_name.value.trim(), sector: propsForm.sector.value, contact: propsForm.contact.value.trim() };
    if (!name) {
      msg.textContent = t('err_zone_name_required');
      return propsForm.name.focus();
    }
    const kind = metaList('zone_kinds').find((k) => k.id === p.kind);
    if ((owner.name || owner.contact || kind?.requires_owner) && (!owner.name || !owner.sector)) {
      msg.textContent = t('pl_owner_incomplete');
      return (owner.name ? propsForm.sector : propsForm.owner_name).focus();
    }
    const props = { ...p, name, owner: owner.name ? { name: owner.name, sector: owner.sector, ...(owner.contact ? { contact: owner.contact } : {}) } : null };
    const body = { type: 'Feature', id: feature.id, geometry: feature.geometry, properties: { kind: props.kind, name: props.name, owner: props.owner || undefined, parent: props.parent ?? undefined, properties: props.properties || {}, ...(props.width_m ? { width_m: props.width_m } : {}) } };
    const btn = $('button[type=submit]', propsForm);
    btn.disabled = true;
    try {
      const saved = await api(`/api/zones/${encodeURIComponent(feature.id)}`, { method: 'PUT', json: body, headers: { 'if-match': `"${p.version}"` } });
      toast(`${t('saved')}: ${saved.properties.name} (${t('version')} ${saved.properties.version})`, 'ok');
      ctrl.reloadTiles({ reports: false });
      await selectZone(saved);
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) msg.textContent = [errorText(e, t), ...e.details.map(featureErrorText)].join(' ');
      else handleConflict(e, feature.id);
    } finally {
      btn.disabled = false;
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

  async function showHistory(id, list = $('.history', selectedBox)) {
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

  // --- retired zones and their history ----------------------------------------------------------
  const retiredBox = $('.retired-list', section);
  $('.retired-open', section).addEventListener('click', async () => {
    if (!retiredBox.hidden) {
      retiredBox.hidden = true;
      return;
    }
    retiredBox.hidden = false;
    retiredBox.innerHTML = html`<p class="loading">${t('loading')}</p>`.toString();
    try {
      const fc = await api('/api/zones?retired=true');
      retiredBox.innerHTML = fc.features.length
        ? html`<h3>${t('pl_retired_list')}</h3><ul>${fc.features.map((f) => html`<li data-id="${f.id}"><span class="r-name">${f.properties.name}</span> <small class="muted">${t(`kind_${f.properties.kind}`)} · ${t('pl_retired_at', { at: fmtTime(f.properties.retired_at), by: f.properties.retired_by || '' })}</small> <button type="button" class="r-hist">${t('history')}</button><ol class="history"></ol></li>`)}</ul>`.toString()
        : html`<p class="muted">${t('pl_retired_none')}</p>`.toString();
      retiredBox.querySelectorAll('li[data-id]').forEach((li) => {
        $('.r-hist', li).addEventListener('click', () => showHistory(li.dataset.id, $('.history', li)));
      });
    } catch (e) {
      retiredBox.innerHTML = html`<p class="error">${errorText(e, t)}</p>`.toString();
    }
  });

  return () => {
    clearErrors();
    draw.stop();
    delete window.xuncha.draw;
    delete window.xuncha.snapper;
    map.off('moveend', snapper.refresh);
    section.remove();
  };
}
