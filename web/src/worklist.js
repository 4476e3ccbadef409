// The street office's work queue (工单队列): the open reports it sees, with each one's deadline,
// whom it was dispatched to and whom it was escalated to. Overdue reports are red (row and
// label); the list sorts by due time (soonest first) or by newest. A row opens the report's
// popup on the map, where the office acts on it. The list follows `GET /api/events` live: a
// report filed or changed elsewhere is fetched and put in (or taken out of) the list at once,
// new ones are marked and counted, and the stream reconnects when it drops.

import { api, ApiError, errorText } from './api.js';
import { t, categoryLabel } from './i18n.js';
import { html, $, $$ } from './dom.js';
import { session } from './session.js';
import { showReport, normReport } from './popups.js';
import { dueHtml, overdueBadge, byDue } from './deadline.js';

/** Statuses the queue lists: everything not yet closed or rejected. */
export const QUEUE_STATUSES = ['reported', 'dispatched', 'in_progress', 'resolved', 'reopened'];
const MAX_PAGES = 5;
const PAGE = 30;

const SORTS = {
  due: byDue,
  newest: (a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id,
};

/** Whether a report matches the search text: its number exactly, or words of its note or parties. */
function matches(r, text) {
  if (!text) return true;
  if (/^\d+$/.test(text)) return String(r.id) === text;
  const zones = Array.isArray(r.zones) ? r.zones.map((z) => z?.name) : [];
  const hay = [r.note, r.assigned_to, r.escalated_to, r.responsible?.owner?.name, r.responsible?.name, r.category_zh, ...zones].filter(Boolean).join(' ');
  return hay.includes(text);
}

/** Every open report the user may see (following `next_cursor`, up to a bound). */
async function loadQueue(signal) {
  const out = [];
  let cursor = null;
  let more = false;
  for (let i = 0; i < MAX_PAGES; i++) {
    const q = new URLSearchParams({ status: QUEUE_STATUSES.join(','), limit: '1000' });
    if (cursor) q.set('cursor', cursor);
    const fc = await api(`/api/reports?${q}`, { signal });
    for (const f of fc.features || []) out.push({ ...f.properties, id: f.id ?? f.properties.id, lonlat: f.geometry?.coordinates });
    cursor = fc.next_cursor;
    more = !!cursor;
    if (!cursor) break;
  }
  return { reports: out, truncated: more };
}

/** A report from `GET /api/reports/{id}` in the shape of a list row. */
function rowOf(v) {
  return { ...v, lonlat: v.location ? [v.location.lon, v.location.lat] : v.lonlat };
}

/** Longest wait between reconnection attempts, ms. */
const MAX_BACKOFF = 30_000;

/**
 * Subscribes to the server's live report events; `onReport({id, what, status})` per event and
 * `onResync()` whenever events may have been missed (a reconnect, or the server says so).
 * `onState('live' | 'connecting')` follows the connection. Returns a close function.
 */
export function subscribeReports({ onReport, onResync, onState }) {
  let es;
  let closed = false;
  let timer;
  let backoff = 1000;
  let connectedOnce = false;
  const connect = () => {
    if (closed) return;
    onState?.('connecting');
    es = new EventSource('/api/events');
    es.addEventListener('ready', () => {
      backoff = 1000;
      onState?.('live');
      if (connectedOnce) onResync?.();
      connectedOnce = true;
    });
    es.addEventListener('report', (ev) => {
      try {
        onReport(JSON.parse(ev.data));
      } catch {
        /* a malformed event is skipped; the next resync catches up */
      }
    });
    es.addEventListener('resync', () => onResync?.());
    es.addEventListener('error', () => {
      onState?.('connecting');
      // The browser retries by itself unless the stream was refused (then it is CLOSED).
      if (es.readyState !== EventSource.CLOSED) return;
      clearTimeout(timer);
      timer = setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF);
    });
  };
  connect();
  return () => {
    closed = true;
    clearTimeout(timer);
    es?.close();
  };
}

/** Mounts the queue into `box`; returns `{reload, destroy}`. `onLive` is told of live changes. */
export function mountWorklist(ctrl, box, { onLive } = {}) {
  const state = { reports: [], truncated: false, sort: 'due', lateOnly: false, text: '', shown: PAGE, fresh: new Set() };
  box.classList.add('worklist');
  box.innerHTML = html`
    <h3>${t('queue_title')}</h3>
    <div class="wl-controls">
      <label>${t('sort_by')}<select name="sort">${Object.keys(SORTS).map((k) => html`<option value="${k}">${t(`sort_${k}`)}</option>`)}</select></label>
      <label class="check"><input type="checkbox" name="late"> ${t('overdue_only')}</label>
    </div>
    <input type="search" name="q" class="wl-search" placeholder="${t('queue_search')}" aria-label="${t('queue_search')}" autocomplete="off">
    <p class="wl-live"><span class="wl-conn" data-state="connecting">${t('live_connecting')}</span>
      <button type="button" class="link wl-new-count" hidden></button></p>
    <p class="wl-sum" aria-live="polite"></p>
    <ol class="wl-rows"><li class="loading">${t('loading')}</li></ol>
    <button type="button" class="link wl-more" hidden>${t('show_more')}</button>`.toString();
  const rows = $('.wl-rows', box);
  const sum = $('.wl-sum', box);
  const more = $('.wl-more', box);
  const sortSel = $('select[name=sort]', box);
  const late = $('input[name=late]', box);
  // The office form listens to `change` on its own form only; these controls are outside it.
  sortSel.addEventListener('change', () => {
    state.sort = sortSel.value;
    state.shown = PAGE;
    render();
  });
  late.addEventListener('change', () => {
    state.lateOnly = late.checked;
    state.shown = PAGE;
    render();
  });
  const search = $('input[name=q]', box);
  search.addEventListener('input', () => {
    state.text = search.value.trim();
    state.shown = PAGE;
    render();
  });
  more.addEventListener('click', () => {
    state.shown += PAGE;
    render();
  });
  const conn = $('.wl-conn', box);
  const newCount = $('.wl-new-count', box);
  // Seeing the new ones: newest first, then the marks go.
  newCount.addEventListener('click', () => {
    state.sort = 'newest';
    sortSel.value = 'newest';
    state.shown = PAGE;
    render();
    state.fresh.clear();
    newCount.hidden = true;
    $$('.wl-row.fresh', rows).forEach((li) => li.classList.remove('fresh'));
  });

  const row = (r) => html`<li class="wl-row${r.overdue ? ' overdue' : ''}${state.fresh.has(Number(r.id)) ? ' fresh' : ''}" data-report="${r.id}" data-due="${r.due_at || ''}">
    <a href="#" class="wl-open">
      <span class="wl-line">${state.fresh.has(Number(r.id)) ? html`<span class="badge new">${t('live_new')}</span> ` : ''}<strong>${categoryLabel(session.categories, r.category)}</strong> <small class="muted">${t('report_no')} ${r.id}</small> <span class="badge st-${r.status}">${t(`status_${r.status}`)}</span> ${overdueBadge(r)}</span>
      <span class="wl-line">${dueHtml(r)}</span>
      <span class="wl-line wl-who"><span class="assigned">${t('assigned_to')}：${r.assigned_to || t('not_dispatched')}</span>${r.escalated_to ? html` · <span class="escalated">${t('escalated_to')}：${r.escalated_to}</span>` : ''}</span>
    </a></li>`;

  function render() {
    // New ones stay on top until seen (the count's button), whatever the order.
    const isNew = (r) => (state.fresh.has(Number(r.id)) ? 0 : 1);
    const list = state.reports.filter((r) => (!state.lateOnly || r.overdue) && matches(r, state.text)).sort((a, b) => isNew(a) - isNew(b) || SORTS[state.sort](a, b));
    const lateN = state.reports.filter((r) => r.overdue).length;
    sum.textContent = t('queue_sum', { n: state.reports.length, late: lateN }) + (state.truncated ? ` ${t('queue_truncated')}` : '');
    rows.innerHTML = list.length ? list.slice(0, state.shown).map(row).join('') : html`<li class="muted">${t('queue_empty')}</li>`.toString();
    more.hidden = list.length <= state.shown;
    newCount.hidden = state.fresh.size === 0;
    newCount.textContent = t('live_new_count', { n: state.fresh.size });
    $$('.wl-open', rows).forEach((a) =>
      a.addEventListener('click', (ev) => {
        ev.preventDefault();
        const id = a.closest('[data-report]').dataset.report;
        const r = state.reports.find((x) => String(x.id) === id);
        if (r?.lonlat) ctrl.map.easeTo({ center: r.lonlat, zoom: Math.max(ctrl.map.getZoom(), 17), duration: 600 });
        showReport(ctrl, id, r?.lonlat || ctrl.map.getCenter());
      }),
    );
  }

  let abort;
  async function reload() {
    abort?.abort();
    abort = new AbortController();
    try {
      const got = await loadQueue(abort.signal);
      state.reports = got.reports;
      state.truncated = got.truncated;
      render();
    } catch (e) {
      if (e.name === 'AbortError') return;
      rows.innerHTML = html`<li class="error" role="alert">${errorText(e, t)}</li>`.toString();
    }
  }
  /** Puts one report (fetched afresh) into the list, or takes it out when it left the queue. */
  async function refreshOne(ev) {
    let r = null;
    try {
      r = rowOf(normReport(await api(`/api/reports/${encodeURIComponent(ev.id)}`)));
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) return;
    }
    const id = Number(ev.id);
    state.reports = state.reports.filter((x) => Number(x.id) !== id);
    if (r && QUEUE_STATUSES.includes(r.status)) {
      state.reports.push(r);
      if (ev.what === 'created') state.fresh.add(id);
    } else {
      state.fresh.delete(id);
    }
    render();
  }

  reload();
  const unsubscribe = subscribeReports({
    onReport: (ev) => {
      refreshOne(ev).then(() => onLive?.(ev));
    },
    onResync: () => {
      reload();
      onLive?.(null);
    },
    onState: (s) => {
      conn.dataset.state = s;
      conn.textContent = t(s === 'live' ? 'live_on' : 'live_connecting');
    },
  });
  return {
    reload,
    destroy() {
      unsubscribe();
      abort?.abort();
      box.innerHTML = '';
    },
  };
}
