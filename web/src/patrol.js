// Patrol view (phone, one hand): locate, correct the pin, pick a category, take photos, send.
// Every report goes through the IndexedDB outbox first, so nothing is lost when offline.

import { api, ApiError, errorText } from './api.js';
import { t, categoryLabel, CATEGORY_ICONS, CAMERA_ICON } from './i18n.js';
import { html, raw, $, $$, toast, fmtTime } from './dom.js';
import { maplibregl, circlePolygon } from './map.js';
import { session } from './session.js';
import * as outbox from './queue.js';
import { shrinkPhoto, exifLonLat, renderPhotoPreviews } from './photo.js';
import { distanceM } from './track.js';
import { responsibleHtml } from './responsible.js';
import { mountPatrolBar } from './patrolbar.js';
import { openQueue, openMyReports } from './mylists.js';

/** Photos one report takes, as the server states it (`GET /api/meta`). */
const maxPhotos = () => session.meta.limits.max_photos;
/** A photo's EXIF position farther than this from the pin is pointed out (metres). */
const exifWarnM = () => session.meta.limits.exif_warn_m;

export async function mount({ ctrl, panel }) {
  const { map } = ctrl;
  const state = { lngLat: null, accuracy_m: null, moved: false, category: '', photos: [], busy: false };
  const cats = session.categories;

  const section = document.createElement('section');
  section.className = 'patrol';
  section.innerHTML = html`
    <h2>${t('patrol_title')}</h2>
    <div class="loc"><span class="loc-text">${t('locating')}</span><button type="button" class="icon relocate" aria-label="${t('a11y_relocate')}" title="${t('a11y_relocate')}">◎</button></div>
    <fieldset class="cats"><legend>${t('choose_category')}</legend>
      ${cats.map((c) => html`<button type="button" class="cat" data-cat="${c.id}" aria-pressed="false"><span class="ico">${raw(CATEGORY_ICONS[c.id] || CATEGORY_ICONS.other)}</span><span>${categoryLabel(cats, c.id)}</span></button>`)}
    </fieldset>
    <div class="nearby" hidden></div>
    <label class="photo-btn">${raw(CAMERA_ICON)} ${t('add_photos')}<input type="file" name="photo" class="sr-only" accept="image/*" capture="environment" multiple></label>
    <p class="photo-limit msg error" role="alert" hidden></p>
    <div class="exif-warn" role="alert" hidden></div>
    <div class="previews"></div>
    <textarea name="note" maxlength="2000" rows="2" placeholder="${t('note_placeholder')}"></textarea>
    <button type="button" class="primary submit">${t('submit')}</button>
    <div class="result" hidden aria-live="polite"></div>
    <button type="button" class="link open-mine">${t('mine_title')}</button>`.toString();
  panel.appendChild(section);
  const unmountBar = await mountPatrolBar({ ctrl, section });

  // --- location: accuracy ring + draggable pin --------------------------------------------------
  map.addSource('patrol-accuracy', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'patrol-accuracy-fill', type: 'fill', source: 'patrol-accuracy', paint: { 'fill-color': '#1e88e5', 'fill-opacity': 0.15 } });
  map.addLayer({ id: 'patrol-accuracy-line', type: 'line', source: 'patrol-accuracy', paint: { 'line-color': '#1e88e5', 'line-width': 1.5 } });
  const pinEl = document.createElement('div');
  pinEl.className = 'pin';
  pinEl.setAttribute('role', 'button');
  pinEl.setAttribute('aria-label', t('a11y_pin'));
  pinEl.tabIndex = 0;
  const marker = new maplibregl.Marker({ element: pinEl, draggable: true, anchor: 'bottom' });

  const locText = $('.loc-text', section);
  const showAccuracy = () => {
    const src = map.getSource('patrol-accuracy');
    src?.setData(state.lngLat && state.accuracy_m && !state.moved ? circlePolygon([state.lngLat.lng, state.lngLat.lat], state.accuracy_m) : { type: 'FeatureCollection', features: [] });
  };
  const setPin = (lngLat, fly) => {
    state.lngLat = lngLat;
    marker.setLngLat(lngLat);
    if (!marker._map) marker.addTo(map);
    showAccuracy();
    if (fly) {
      map.resize(); // the bottom sheet may just have changed the map's height
      map.easeTo({ center: lngLat, zoom: Math.max(map.getZoom(), 16) });
    }
    checkNearby();
  };
  const pinMoved = () => {
    state.moved = true;
    state.lngLat = marker.getLngLat();
    locText.textContent = t('pin_moved');
    showAccuracy();
    checkNearby();
  };
  marker.on('dragend', pinMoved);
  // Without a pointer the pin moves with the arrow keys (10 px a press, 50 px with Shift).
  const NUDGE = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  pinEl.addEventListener('keydown', (e) => {
    const d = NUDGE[e.key];
    if (!d || !state.lngLat) return;
    e.preventDefault();
    e.stopPropagation(); // or the map's keyboard handler pans the map as well
    const step = e.shiftKey ? 50 : 10;
    const p = map.project(marker.getLngLat());
    marker.setLngLat(map.unproject([p.x + d[0] * step, p.y + d[1] * step]));
    pinMoved();
  });
  const locate = () => {
    locText.textContent = t('locating');
    if (!navigator.geolocation) return noFix();
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        state.moved = false;
        state.accuracy_m = pos.coords.accuracy;
        locText.textContent = t('located', { m: Math.round(pos.coords.accuracy) });
        setPin(new maplibregl.LngLat(pos.coords.longitude, pos.coords.latitude), true);
      },
      () => noFix(),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 },
    );
  };
  // No fix: no pin is invented (the map's centre may be the river); the patrol taps the spot.
  const noFix = () => {
    if (state.lngLat) return;
    locText.textContent = t('no_geolocation_tap');
    section.classList.add('needs-pin');
  };
  ctrl.clickHandler = (e) => {
    if (state.lngLat) return false;
    state.moved = true;
    state.accuracy_m = null;
    section.classList.remove('needs-pin');
    locText.textContent = t('pin_placed');
    setPin(e.lngLat, false);
    return true;
  };
  $('.relocate', section).addEventListener('click', locate);
  locate();

  // --- category, nearby duplicates -------------------------------------------------------------
  $$('.cat', section).forEach((b) =>
    b.addEventListener('click', () => {
      state.category = b.dataset.cat;
      $$('.cat', section).forEach((x) => x.setAttribute('aria-pressed', String(x === b)));
      checkNearby();
    }),
  );
  const nearbyBox = $('.nearby', section);
  let nearbyTimer;
  let nearbyAbort;
  function checkNearby() {
    clearTimeout(nearbyTimer);
    if (!state.category || !state.lngLat || !navigator.onLine) {
      nearbyBox.hidden = true;
      return;
    }
    nearbyTimer = setTimeout(async () => {
      // The form may have been sent (and emptied) since this was scheduled.
      if (!state.category || !state.lngLat) return;
      nearbyAbort?.abort();
      nearbyAbort = new AbortController();
      const q = new URLSearchParams({ lon: state.lngLat.lng.toFixed(7), lat: state.lngLat.lat.toFixed(7), category: state.category });
      try {
        const body = await api(`/api/reports/nearby?${q}`, { signal: nearbyAbort.signal });
        const items = body.reports;
        nearbyBox.hidden = false;
        nearbyBox.innerHTML = items.length
          ? html`<h3>${t('nearby_title')}</h3><ul>${items.slice(0, 5).map((r) => html`<li>${t('report_no')} ${r.id} · ${categoryLabel(cats, r.category)} · ${t(`status_${r.status}`)} · ${Math.round(r.distance_m)} m · <small>${fmtTime(r.created_at)}</small>${r.note ? html`<br><small class="note">${r.note}</small>` : ''}<br><button type="button" class="same" data-id="${r.id}">${t('nearby_same')}</button></li>`)}</ul>`.toString()
          : html`<p class="muted">${t('nearby_none')}</p>`.toString();
        $$('.same', nearbyBox).forEach((b) => b.addEventListener('click', () => addToExisting(Number(b.dataset.id), b)));
      } catch (e) {
        if (e.name === 'AbortError') return;
        nearbyBox.hidden = !(e instanceof ApiError) || e.status === 0;
        nearbyBox.innerHTML = html`<p class="muted">${e.status === 404 ? t('reports_api_missing') : errorText(e, t)}</p>`.toString();
      }
    }, 300);
  }

  // --- photos -------------------------------------------------------------------------------------
  const input = $('input[type=file]', section);
  const previews = $('.previews', section);
  const renderPreviews = () => renderPhotoPreviews(previews, state.photos);
  const limitMsg = $('.photo-limit', section);
  const exifBox = $('.exif-warn', section);
  /** Points out a first photo taken far from the pin, and offers either position. */
  const checkExif = async (file) => {
    const at = await exifLonLat(file);
    if (!at || !state.lngLat) return;
    const d = distanceM(at, [state.lngLat.lng, state.lngLat.lat]);
    if (d <= exifWarnM()) return;
    exifBox.hidden = false;
    exifBox.innerHTML = html`<p>${t('exif_far', { m: Math.round(d) })}</p><button type="button" class="use-exif">${t('exif_use_photo')}</button> <button type="button" class="keep-pin">${t('exif_keep_pin')}</button>`.toString();
    $('.use-exif', exifBox).addEventListener('click', () => {
      state.moved = true;
      state.accuracy_m = null;
      locText.textContent = t('pin_from_photo');
      setPin(new maplibregl.LngLat(at[0], at[1]), true);
      exifBox.hidden = true;
    });
    $('.keep-pin', exifBox).addEventListener('click', () => (exifBox.hidden = true));
  };
  input.addEventListener('change', async () => {
    const room = maxPhotos() - state.photos.length;
    const chosen = [...input.files];
    const files = chosen.slice(0, room);
    input.value = '';
    limitMsg.hidden = chosen.length <= room;
    limitMsg.textContent = t('photos_limit', { max: maxPhotos(), left: chosen.length - files.length });
    if (!files.length) return;
    if (!state.photos.length) checkExif(files[0]);
    previews.insertAdjacentHTML('beforeend', html`<span class="loading shrinking">${t('shrinking')}</span>`.toString());
    for (const f of files) {
      const p = await shrinkPhoto(f);
      p.takenAt = f.lastModified ? new Date(f.lastModified).toISOString().replace(/\.\d{3}Z$/, 'Z') : null;
      state.photos.push(p);
    }
    renderPreviews();
  });

  // --- send -------------------------------------------------------------------------------------
  const submit = $('.submit', section);
  const result = $('.result', section);
  const badge = document.querySelector('.queue-badge');
  const updateBadge = async () => {
    const n = await outbox.count().catch(() => 0);
    if (!badge) return;
    badge.hidden = n === 0;
    badge.textContent = t('queue_badge', { n });
  };

  function resetForm() {
    clearTimeout(nearbyTimer);
    nearbyAbort?.abort();
    state.category = '';
    state.photos = [];
    limitMsg.hidden = true;
    exifBox.hidden = true;
    $$('.cat', section).forEach((x) => x.setAttribute('aria-pressed', 'false'));
    $('textarea', section).value = '';
    nearbyBox.hidden = true;
    renderPreviews();
  }

  /**
   * "是同一问题": the photos and note of the form go to report `id` as an update (an event with
   * photos, status unchanged); with neither, nothing is sent.
   */
  async function addToExisting(id, button) {
    const note = $('textarea', section).value.trim();
    if (!state.photos.length && !note) {
      resetForm();
      toast(t('same_nothing_added'), 'info');
      return;
    }
    button.disabled = true;
    const f = new FormData();
    if (note) f.set('note', note);
    state.photos.forEach((p, i) => f.append('photo', p.blob, p.name || `photo-${i + 1}.jpg`));
    try {
      const body = await api(`/api/reports/${id}/updates`, { method: 'POST', form: f });
      resetForm();
      result.hidden = false;
      result.className = 'result ok';
      result.innerHTML = html`<h3>✓ ${t('same_added', { id: body.id })}</h3>
        <div class="btns"><button type="button" class="again">${t('new_report')}</button><button type="button" class="mine">${t('mine_view')}</button></div>`.toString();
      $('.again', result).addEventListener('click', () => (result.hidden = true));
      $('.mine', result).addEventListener('click', openMyReports);
      result.scrollIntoView({ block: 'nearest' });
    } catch (e) {
      button.disabled = false;
      toast(errorText(e, t), 'error');
    }
  }

  function showResult(body, later) {
    window.xuncha.lastReport = body.id;
    const resp = body.responsible;
    const zones = body.zones;
    const dups = body.possible_duplicates;
    result.hidden = false;
    result.className = 'result ok';
    result.innerHTML = html`
      <h3>✓ ${later ? t('sent_later') : t('sent_ok')} <small>${t('report_no')} ${body.id}</small></h3>
      ${responsibleHtml(resp)}
      ${resp?.via === 'nearest' ? html`<p class="outside">! ${t('outside_zone', { zone: resp.zone_name || '', m: (Math.round((resp.distance_m ?? 0) * 10) / 10).toFixed(1) })}</p>` : ''}
      ${body.ambiguous ? html`<p class="ambiguous">! ${t('ambiguous')}</p><ul>${zones.filter((z) => z.inside !== false).map((z) => html`<li>${z.name} · ${z.owner?.name || ''}</li>`)}</ul>` : ''}
      ${dups.length ? html`<p class="muted">${t('duplicate_hint')}${dups.join(', ')}</p>` : ''}
      <div class="btns"><button type="button" class="again">${t('new_report')}</button><button type="button" class="mine">${t('mine_view')}</button></div>`.toString();
    $('.again', result).addEventListener('click', () => (result.hidden = true));
    $('.mine', result).addEventListener('click', openMyReports);
    result.scrollIntoView({ block: 'nearest' });
  }

  const onResult = (rec, r) => {
    if (r.ok) {
      showResult(r.body, rec.queuedOffline);
      ctrl.reloadTiles({ zones: false });
    } else if (!r.keep) {
      result.hidden = false;
      result.className = 'result error';
      result.textContent = `${t('error')}: ${errorText(r.error, t)}`;
    }
  };
  const flushAll = async () => {
    await outbox.flush(onResult).catch((e) => toast(errorText(e, t), 'error'));
    await updateBadge();
  };

  submit.addEventListener('click', async () => {
    if (state.busy) return;
    if (!state.category) return toast(t('need_category'), 'error');
    if (!state.lngLat) return toast(t('need_location'), 'error');
    state.busy = true;
    submit.disabled = true;
    submit.textContent = t('submitting');
    const rec = {
      client_id: outbox.uuid(),
      created: Date.now(),
      lon: Number(state.lngLat.lng.toFixed(7)),
      lat: Number(state.lngLat.lat.toFixed(7)),
      accuracy_m: state.moved ? null : state.accuracy_m,
      category: state.category,
      note: $('textarea', section).value.trim(),
      captured_at: state.photos[0]?.takenAt || new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      photos: state.photos.map((p) => ({ blob: p.blob, name: p.name })),
      queuedOffline: !navigator.onLine,
    };
    try {
      await outbox.put(rec);
      resetForm();
      if (!navigator.onLine) {
        toast(t('queued_offline'), 'info', 6000);
      } else {
        await outbox.flush(onResult);
        // A flush already running when this record was stored did not see it: flush once more.
        if ((await outbox.all()).some((x) => x.client_id === rec.client_id)) await outbox.flush(onResult);
        if ((await outbox.all()).some((x) => x.client_id === rec.client_id)) {
          await outbox.put({ ...rec, queuedOffline: true });
          toast(t('queued_offline'), 'info', 6000);
        }
      }
    } catch (e) {
      toast(errorText(e, t), 'error');
    } finally {
      await updateBadge();
      state.busy = false;
      submit.disabled = false;
      submit.textContent = t('submit');
    }
  });

  const openOutbox = () => openQueue({ retry: flushAll, changed: updateBadge });
  badge?.addEventListener('click', openOutbox);
  $('.open-mine', section).addEventListener('click', openMyReports);

  const onOnline = () => flushAll();
  window.addEventListener('online', onOnline);
  const timer = setInterval(() => navigator.onLine && flushAll(), 20000);
  updateBadge();
  if (navigator.onLine) flushAll();

  return () => {
    window.removeEventListener('online', onOnline);
    badge?.removeEventListener('click', openOutbox);
    clearInterval(timer);
    unmountBar();
    ctrl.clickHandler = null;
    marker.remove();
    section.remove();
  };
}
