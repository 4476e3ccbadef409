// Responsible organisation (责任单位) view, phone first: "我的待办" — the reports dispatched or
// escalated to the unit's owner, soonest due first, overdue ones marked red. A task opens on the
// map with its photos and history; 接单 acknowledges it (dispatched → in_progress) and 反馈
// answers it (→ resolved) with a note and after-photos from the camera, sent as multipart.

import { api, errorText } from './api.js';
import { t, categoryLabel, CAMERA_ICON } from './i18n.js';
import { html, raw, $, $$, toast, fmtTime } from './dom.js';
import { session } from './session.js';
import { normReport, lightbox } from './popups.js';
import { responsibleHtml } from './responsible.js';
import { dueHtml, overdueBadge, byDue } from './deadline.js';
import { eventsHtml, thumb } from './history.js';
import { shrinkPhoto, renderPhotoPreviews } from './photo.js';

/** Statuses fetched: the open ones a unit works on, and answered ones waiting for the office. */
const TODO = ['dispatched', 'in_progress', 'reopened'];
const FETCHED = [...TODO, 'resolved'];
const MAX_PAGES = 5;
/** Photos one report takes, as the server states it (`GET /api/meta`). */
const maxPhotos = () => session.meta.limits.max_photos;
const SRC = 'unit-tasks';

/** Whether the report is the unit's to answer: dispatched to it, or escalated to it. */
export function isMine(p, owner) {
  return !!owner && (p.assigned_to === owner || p.escalated_to === owner);
}

/** The unit's tasks from `GET /api/reports` (every page, up to a bound), as plain objects. */
async function loadTasks(owner) {
  const out = [];
  let cursor = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const q = new URLSearchParams({ status: FETCHED.join(','), limit: '1000' });
    if (cursor) q.set('cursor', cursor);
    const fc = await api(`/api/reports?${q}`);
    for (const f of fc.features || []) {
      const r = { ...f.properties, id: f.id ?? f.properties.id, lonlat: f.geometry?.coordinates };
      if (isMine(r, owner)) out.push(r);
    }
    cursor = fc.next_cursor;
    if (!cursor) break;
  }
  return out;
}

export async function mount({ ctrl, panel }) {
  const { map } = ctrl;
  const owner = session.user.owner || '';
  const state = { tasks: [], selected: null, photos: [], busy: false };

  const section = document.createElement('section');
  section.className = 'unit';
  section.innerHTML = html`
    <div class="unit-head">
      <h2>${t('unit_title')}</h2>
      <button type="button" class="link refresh">${t('refresh')}</button>
    </div>
    <p class="unit-owner">${owner || t('unit_no_owner')}</p>
    <div class="task-list" aria-live="polite"><p class="loading">${t('loading')}</p></div>
    <div class="task-detail" hidden></div>`.toString();
  panel.appendChild(section);
  const listBox = $('.task-list', section);
  const detail = $('.task-detail', section);

  // --- the tasks on the map --------------------------------------------------------------------
  // Every report of the tiles would bury the unit's own few; the layer switcher brings them back.
  ctrl.setGroupVisible('reports', false);
  map.addSource(SRC, { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({
    id: `${SRC}-ring`,
    type: 'circle',
    source: SRC,
    filter: ['==', ['get', 'id'], -1],
    paint: { 'circle-radius': 16, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#0f5f4a', 'circle-stroke-width': 3 },
  });
  map.addLayer({
    id: `${SRC}-dot`,
    type: 'circle',
    source: SRC,
    paint: {
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 11, 5, 17, 9],
      'circle-color': ['case', ['get', 'overdue'], '#c62828', ['==', ['get', 'status'], 'resolved'], '#2e7d32', '#f59e0b'],
      'circle-stroke-color': '#fff',
      'circle-stroke-width': 2,
    },
  });
  const drawTasks = () => {
    map.getSource(SRC)?.setData({
      type: 'FeatureCollection',
      features: state.tasks.filter((r) => r.lonlat).map((r) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: r.lonlat }, properties: { id: r.id, overdue: !!r.overdue, status: r.status } })),
    });
    map.setFilter(`${SRC}-ring`, ['==', ['get', 'id'], state.selected?.id ?? -1]);
  };
  ctrl.clickHandler = (e) => {
    const box = [
      [e.point.x - 8, e.point.y - 8],
      [e.point.x + 8, e.point.y + 8],
    ];
    const hit = map.queryRenderedFeatures(box, { layers: [`${SRC}-dot`] })[0];
    if (!hit) return false;
    openTask(hit.properties.id);
    return true;
  };

  // --- the list --------------------------------------------------------------------------------
  const row = (r) => html`<li class="task${r.overdue ? ' overdue' : ''}" data-report="${r.id}" data-due="${r.due_at || ''}">
    <button type="button" class="task-open">
      <span class="task-line"><strong>${categoryLabel(session.categories, r.category)}</strong> <small class="muted">${t('report_no')} ${r.id}</small> <span class="badge st-${r.status}">${t(`status_${r.status}`)}</span> ${overdueBadge(r)}</span>
      <span class="task-line">${dueHtml(r)}</span>
      ${r.note ? html`<span class="task-line note muted">${r.note}</span>` : ''}
    </button></li>`;
  const renderList = () => {
    const todo = state.tasks.filter((r) => TODO.includes(r.status)).sort(byDue);
    const answered = state.tasks.filter((r) => r.status === 'resolved').sort(byDue);
    const late = todo.filter((r) => r.overdue).length;
    listBox.innerHTML = html`
      <p class="task-sum">${t('unit_sum', { n: todo.length })}${late ? html`${t('comma')}<span class="late">${t('unit_sum_late', { n: late })}</span>` : ''}</p>
      ${todo.length ? html`<ul class="tasks todo">${todo.map(row)}</ul>` : html`<p class="muted empty">${t('unit_empty')}</p>`}
      ${answered.length ? html`<details class="answered"><summary>${t('unit_answered', { n: answered.length })}</summary><ul class="tasks">${answered.map(row)}</ul></details>` : ''}`.toString();
    $$('.task-open', listBox).forEach((b) => b.addEventListener('click', () => openTask(Number(b.closest('[data-report]').dataset.report))));
  };
  const refresh = async () => {
    try {
      state.tasks = await loadTasks(owner);
      renderList();
      drawTasks();
    } catch (e) {
      listBox.innerHTML = html`<p class="msg error" role="alert">${errorText(e, t)} <button type="button" class="retry">${t('retry')}</button></p>`.toString();
      $('.retry', listBox).addEventListener('click', refresh);
    }
  };
  $('.refresh', section).addEventListener('click', refresh);

  // --- one task --------------------------------------------------------------------------------
  const showList = () => {
    state.selected = null;
    state.photos = [];
    detail.hidden = true;
    listBox.hidden = false;
    drawTasks();
  };
  async function openTask(id) {
    listBox.hidden = true;
    detail.hidden = false;
    detail.innerHTML = html`<button type="button" class="link back">← ${t('back_to_list')}</button><p class="loading">${t('loading')}</p>`.toString();
    $('.back', detail).addEventListener('click', showList);
    let r;
    try {
      r = normReport(await api(`/api/reports/${encodeURIComponent(id)}`));
    } catch (e) {
      detail.insertAdjacentHTML('beforeend', html`<p class="msg error" role="alert">${errorText(e, t)}</p>`.toString());
      $('.loading', detail)?.remove();
      return;
    }
    state.photos = [];
    renderTask(r, true);
  }

  function renderTask(r, fly) {
    state.selected = r;
    drawTasks();
    const canAck = r.status === 'dispatched';
    const canAnswer = r.status === 'dispatched' || r.status === 'in_progress';
    detail.innerHTML = html`
      <button type="button" class="link back">← ${t('back_to_list')}</button>
      <h3 class="task-title">${categoryLabel(session.categories, r.category)} <span class="badge st-${r.status}">${t(`status_${r.status}`)}</span> ${overdueBadge(r)}</h3>
      <dl class="task-facts">
        <dt>${t('report_no')}</dt><dd>${r.id}</dd>
        <dt>${t('reported_at')}</dt><dd>${fmtTime(r.captured_at || r.created_at)}</dd>
        ${r.status !== 'resolved' ? html`<dt>${t('deadline')}</dt><dd class="deadline">${dueHtml(r)}</dd>` : ''}
        ${r.escalated_to ? html`<dt>${t('escalated_to')}</dt><dd class="escalated late">${r.escalated_to}</dd>` : ''}
        ${r.note ? html`<dt>${t('note')}</dt><dd class="note">${r.note}</dd>` : ''}
      </dl>
      ${responsibleHtml(r.responsible)}
      ${(r.photos || []).length ? html`<h4>${t('photos')}</h4><div class="thumbs">${r.photos.map(thumb)}</div>` : ''}
      ${eventsHtml(r.events)}
      ${canAnswer ? '' : html`<p class="msg error" role="alert" hidden></p>`}
      ${canAck ? html`<button type="button" class="primary ack">${t('act_ack')}</button>` : ''}
      ${canAnswer
        ? html`<form class="answer" novalidate>
        <h4>${t('answer_title')}</h4>
        <textarea name="note" rows="3" maxlength="2000" placeholder="${t('answer_note')}"></textarea>
        <label class="photo-btn">${raw(CAMERA_ICON)} ${t('answer_photo')}<input type="file" name="photo" class="sr-only" accept="image/*" capture="environment" multiple></label>
        <div class="previews"></div>
        <p class="msg error" role="alert" hidden></p>
        <button type="submit" class="primary send">${t('act_answer')}</button>
      </form>`
        : html`<p class="hint wait">${r.status === 'reopened' ? t('unit_wait_redispatch') : t('unit_wait_verify')}</p>`}`.toString();
    $('.back', detail).addEventListener('click', showList);
    $$('[data-full]', detail).forEach((a) =>
      a.addEventListener('click', (ev) => {
        ev.preventDefault();
        lightbox(a.dataset.full);
      }),
    );
    $('.ack', detail)?.addEventListener('click', () => change(r, { json: { status: 'in_progress' } }, t('ack_done')));
    const form = $('.answer', detail);
    if (form) wireAnswer(r, form);
    const at = r.location ? [r.location.lon, r.location.lat] : null;
    if (fly && at) {
      map.resize(); // the sheet's height follows its content on phones
      map.easeTo({ center: at, zoom: Math.max(map.getZoom(), 17), duration: 600 });
    }
  }

  function clearError() {
    const box = $('.msg.error', detail);
    if (box) box.hidden = true;
  }

  function showError(message) {
    const box = $('.msg.error', detail);
    if (!box) return toast(message, 'error', 8000);
    box.hidden = false;
    box.textContent = message;
    box.scrollIntoView({ block: 'nearest' });
  }

  /** Sends one change; on success re-renders the task from the server's answer and reloads the list. */
  async function change(r, body, done) {
    if (state.busy) return;
    state.busy = true;
    $$('button', detail).forEach((b) => (b.disabled = true));
    try {
      const updated = normReport(await api(`/api/reports/${encodeURIComponent(r.id)}`, { method: 'PATCH', ...body }));
      const fresh = updated?.events ? updated : normReport(await api(`/api/reports/${encodeURIComponent(r.id)}`));
      toast(done, 'ok');
      state.photos = [];
      renderTask(fresh, false);
      ctrl.reloadTiles({ zones: false });
      refresh();
    } catch (e) {
      $$('button', detail).forEach((b) => (b.disabled = false));
      showError(`${t('error')}: ${errorText(e, t)}`);
    } finally {
      state.busy = false;
    }
  }

  function wireAnswer(r, form) {
    const input = $('input[type=file]', form);
    const previews = $('.previews', form);
    const renderPreviews = () => renderPhotoPreviews(previews, state.photos);
    input.addEventListener('change', async () => {
      const files = [...input.files].slice(0, maxPhotos() - state.photos.length);
      input.value = '';
      if (!files.length) return;
      previews.insertAdjacentHTML('beforeend', html`<span class="loading shrinking">${t('shrinking')}</span>`.toString());
      for (const f of files) state.photos.push(await shrinkPhoto(f));
      clearError();
      renderPreviews();
    });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const note = form.note.value.trim();
      if (!note) return showError(t('answer_need_note'));
      if (!state.photos.length) return showError(t('answer_need_photo'));
      const fd = new FormData();
      fd.set('status', 'resolved');
      fd.set('note', note);
      state.photos.forEach((p, i) => fd.append('photo', p.blob, p.name || `after-${i + 1}.jpg`));
      change(r, { form: fd }, t('answer_done'));
    });
  }

  await refresh();
  return () => {
    ctrl.clickHandler = null;
    for (const id of [`${SRC}-dot`, `${SRC}-ring`]) if (map.getLayer(id)) map.removeLayer(id);
    if (map.getSource(SRC)) map.removeSource(SRC);
    section.remove();
  };
}
