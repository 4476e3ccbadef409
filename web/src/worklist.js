// The street office's work queue (工单队列): the reports in the office's current filter (open ones
// by default), with each one's deadline, whom it was dispatched to and whom it was escalated to.
// Overdue reports are red (row and label). Sorting, searching (a report number or words of the
// note, an organisation or a zone name) and paging happen on the server (`GET /api/reports?
// sort=&q=&cursor=&count=true`), so the list costs the same in a small town and a province. A
// row opens the report's popup on the map, where the office acts on it. The list follows
// `GET /api/events` live: a report filed or changed elsewhere reloads the rows shown (at most a
// few times a second), new ones are marked and counted, and the stream reconnects when it drops.

import { api, errorText } from './api.js';
import { t, categoryLabel } from './i18n.js';
import { html, $, $$ } from './dom.js';
import { session } from './session.js';
import { showReport } from './popups.js';
import { dueHtml, overdueBadge } from './deadline.js';

/** Rows per page (the server's `limit`); a live reload asks for as many as are shown. */
const PAGE = 30;
const MAX_ROWS = 1000;
/** Live events within this many ms reload the list once. */
const LIVE_DEBOUNCE_MS = 250;
const SORTS = ['due', 'newest'];

/** A list row from a GeoJSON feature of `GET /api/reports`. */
function rowOf(f) {
  return { ...f.properties, id: f.id ?? f.properties.id, lonlat: f.geometry?.coordinates };
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

/**
 * Mounts the queue into `box`; returns `{reload, destroy}`. `filter()` gives the office's
 * current filter (`since`, `until`, `category`, `status`); `onLive` is told of live changes.
 */
export function mountWorklist(ctrl, box, { filter = () => ({}), onLive } = {}) {
  // `pinned`: new reports (from live events) shown on top, whatever the order and the page,
  // until the office has seen them (the count's button).
  const state = { rows: [], pinned: [], next: null, counts: null, sort: 'due', lateOnly: false, text: '', fresh: new Set() };
  box.classList.add('worklist');
  box.innerHTML = html`
    <h3>${t('queue_title')}</h3>
    <div class="wl-controls">
      <label>${t('sort_by')}<select name="sort">${SORTS.map((k) => html`<option value="${k}">${t(`sort_${k}`)}</option>`)}</select></label>
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
    reload();
  });
  late.addEventListener('change', () => {
    state.lateOnly = late.checked;
    reload();
  });
  const search = $('input[name=q]', box);
  let typing;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      state.text = search.value.trim();
      reload();
    }, 200);
  });
  more.addEventListener('click', () => loadMore());
  const conn = $('.wl-conn', box);
  const newCount = $('.wl-new-count', box);
  // Seeing the new ones: newest first, then the marks go.
  newCount.addEventListener('click', async () => {
    state.sort = 'newest';
    sortSel.value = 'newest';
    state.fresh.clear();
    state.pinned = [];
    await reload();
    newCount.hidden = true;
    $$('.wl-row.fresh', rows).forEach((li) => li.classList.remove('fresh'));
  });

  const row = (r) => html`<li class="wl-row${r.overdue ? ' overdue' : ''}${state.fresh.has(Number(r.id)) ? ' fresh' : ''}" data-report="${r.id}" data-due="${r.due_at || ''}">
    <a href="#" class="wl-open">
      <span class="wl-line">${state.fresh.has(Number(r.id)) ? html`<span class="badge new">${t('live_new')}</span> ` : ''}<strong>${categoryLabel(session.categories, r.category)}</strong> <small class="muted">${t('report_no')} ${r.id}</small> <span class="badge st-${r.status}">${t(`status_${r.status}`)}</span> ${overdueBadge(r)}</span>
      <span class="wl-line">${dueHtml(r)}</span>
      <span class="wl-line wl-who"><span class="assigned">${t('assigned_to')}${t('colon')}${r.assigned_to || t('not_dispatched')}</span>${r.escalated_to ? html` · <span class="escalated">${t('escalated_to')}${t('colon')}${r.escalated_to}</span>` : ''}</span>
    </a></li>`;

  function render() {
    const c = state.counts;
    sum.textContent = c ? t('queue_sum', { n: c.matched, late: c.overdue }) : '';
    const pinnedIds = new Set(state.pinned.map((r) => String(r.id)));
    const shown = [...state.pinned, ...state.rows.filter((r) => !pinnedIds.has(String(r.id)))];
    rows.innerHTML = shown.length ? shown.map(row).join('') : html`<li class="muted">${t('queue_empty')}</li>`.toString();
    rows.dataset.q = state.text;
    more.hidden = !state.next;
    newCount.hidden = state.fresh.size === 0;
    newCount.textContent = t('live_new_count', { n: state.fresh.size });
    $$('.wl-open', rows).forEach((a) =>
      a.addEventListener('click', (ev) => {
        ev.preventDefault();
        const id = a.closest('[data-report]').dataset.report;
        const r = [...state.pinned, ...state.rows].find((x) => String(x.id) === id);
        if (r?.lonlat) ctrl.map.easeTo({ center: r.lonlat, zoom: Math.max(ctrl.map.getZoom(), 17), duration: 600 });
        showReport(ctrl, id, r?.lonlat || ctrl.map.getCenter(), { focus: true });
      }),
    );
  }

  /** The list's query: the office's filter, the sort, the search and the overdue switch. */
  function params({ limit, cursor = null, text = state.text, count = !cursor }) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filter())) if (v) q.set(k, v);
    q.set('sort', state.sort);
    if (text) q.set('q', text);
    if (state.lateOnly) q.set('overdue', 'true');
    q.set('limit', String(limit));
    if (cursor) q.set('cursor', cursor);
    if (count) q.set('count', 'true');
    return q;
  }

  let abort;
  /** Loads the list from the top: a page, or as many rows as are shown (a live refresh). */
  async function reload({ keep = false } = {}) {
    abort?.abort();
    abort = new AbortController();
    const limit = keep ? Math.min(MAX_ROWS, Math.max(PAGE, state.rows.length)) : PAGE;
    try {
      const fc = await api(`/api/reports?${params({ limit })}`, { signal: abort.signal });
      state.rows = (fc.features || []).map(rowOf);
      state.next = fc.next_cursor || null;
      state.pinned = await freshRows(abort.signal);
      state.counts = { matched: fc.number_matched ?? state.rows.length, overdue: fc.number_overdue ?? 0 };
      render();
    } catch (e) {
      if (e.name === 'AbortError') return;
      rows.innerHTML = html`<li class="error" role="alert">${errorText(e, t)}</li>`.toString();
    }
  }

  /**
   * The new reports as they are now, each while it still matches the list's filter (asked of
   * the server by its number, so the rules are the server's). A search shows what it finds, in
   * its order, with nothing pinned.
   */
  async function freshRows(signal) {
    if (state.text) return [];
    const out = [];
    for (const id of [...state.fresh].slice(-PAGE).reverse()) {
      const fc = await api(`/api/reports?${params({ limit: 1, text: String(id), count: false })}`, { signal });
      if (fc.features?.length) out.push(rowOf(fc.features[0]));
    }
    return out;
  }

  async function loadMore() {
    if (!state.next) return;
    more.disabled = true;
    try {
      const fc = await api(`/api/reports?${params({ limit: PAGE, cursor: state.next })}`);
      const have = new Set(state.rows.map((r) => String(r.id)));
      state.rows.push(...(fc.features || []).map(rowOf).filter((r) => !have.has(String(r.id))));
      state.next = fc.next_cursor || null;
      render();
    } catch (e) {
      toastError(e);
    } finally {
      more.disabled = false;
    }
  }
  const toastError = (e) => {
    sum.textContent = errorText(e, t);
  };

  // Live: events close together reload the shown rows once.
  let liveTimer;
  const pending = [];
  function live(ev) {
    if (ev) pending.push(ev);
    clearTimeout(liveTimer);
    liveTimer = setTimeout(async () => {
      const evs = pending.splice(0);
      for (const e of evs) if (e.what === 'created') state.fresh.add(Number(e.id));
      await reload({ keep: true });
      for (const e of evs) onLive?.(e);
      if (!evs.length) onLive?.(null);
    }, LIVE_DEBOUNCE_MS);
  }

  reload();
  const unsubscribe = subscribeReports({
    onReport: (ev) => live(ev),
    onResync: () => live(null),
    onState: (s) => {
      conn.dataset.state = s;
      conn.textContent = t(s === 'live' ? 'live_on' : 'live_connecting');
    },
  });
  return {
    reload: () => reload({ keep: true }),
    destroy() {
      unsubscribe();
      clearTimeout(liveTimer);
      clearTimeout(typing);
      abort?.abort();
      box.innerHTML = '';
    },
  };
}
