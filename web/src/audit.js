// Admin: the audit log (`GET /api/audit`), newest first. Filters by user, action (an action or a
// prefix ending in "."), since and until (local time in the form, RFC 3339 on the wire); "older"
// pages with `before=next_before`; a CSV link that carries the same filters.

import { api, errorText } from './api.js';
import { t } from './i18n.js';
import { html, $, fmtTime } from './dom.js';

const PAGE = 50;
/** Actions the server records (src/audit.rs callers), and the prefixes that group them. */
const ACTIONS = ['auth.', 'auth.login', 'auth.login_failed', 'auth.logout', 'user.', 'user.create', 'user.update', 'user.password', 'user.password_reset', 'report.', 'report.create', 'report.update', 'report.dispatched', 'report.in_progress', 'report.resolved', 'report.closed', 'report.rejected', 'report.reopened', 'report.overdue', 'settings.time_limits', 'webhook.', 'webhook.create', 'webhook.delete'];

/** `datetime-local` value (the browser's time zone) → RFC 3339 UTC, or '' when empty. */
export function localToRfc3339(v) {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A summary object as short `key: value` text (nested values as compact JSON). */
function summaryText(s) {
  if (s == null) return '';
  if (typeof s !== 'object') return String(s);
  return Object.entries(s)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join('; ');
}

export async function mount(box) {
  box.innerHTML = html`<section class="adm-audit"><h3>${t('audit_title')}</h3>
    <form class="audit-filters adm-form" novalidate>
      <div class="grid">
        <label>${t('audit_user')}<input name="user" autocomplete="off" autocapitalize="none"></label>
        <label>${t('audit_action')}<input name="action" list="audit-actions" autocomplete="off" placeholder="${t('audit_action_hint')}"></label>
        <label>${t('since')}<input name="since" type="datetime-local"></label>
        <label>${t('until')}<input name="until" type="datetime-local"></label>
      </div>
      <datalist id="audit-actions">${ACTIONS.map((a) => html`<option value="${a}"></option>`)}</datalist>
      <div class="btns"><button type="submit" class="primary">${t('apply')}</button><button type="button" class="clear">${t('clear')}</button><a class="csv" href="/api/audit?format=csv" download="audit.csv">${t('stats_csv')}</a></div>
    </form>
    <p class="msg error" role="alert" hidden></p>
    <div class="table-wrap"><table class="adm-table audit-table">
      <thead><tr><th>ID</th><th>${t('time')}</th><th>${t('audit_user')}</th><th>${t('role')}</th><th>IP</th><th>${t('audit_action')}</th><th>${t('audit_object')}</th><th>${t('audit_summary')}</th></tr></thead>
      <tbody></tbody></table></div>
    <button type="button" class="older" hidden>${t('audit_older')}</button></section>`.toString();
  const form = $('form', box);
  const tbody = $('tbody', box);
  const older = $('.older', box);
  const csv = $('.csv', box);
  const err = $('.msg.error', box);
  let next = null;

  const params = () => {
    const q = new URLSearchParams();
    if (form.user.value.trim()) q.set('user', form.user.value.trim());
    if (form.action.value.trim()) q.set('action', form.action.value.trim());
    const since = localToRfc3339(form.since.value);
    const until = localToRfc3339(form.until.value);
    if (since) q.set('since', since);
    if (until) q.set('until', until);
    return q;
  };
  const row = (e) => html`<tr data-entry="${e.id}" data-action="${e.action}"><td>${e.id}</td><td class="at">${fmtTime(e.at)}</td><td class="user">${e.user || '—'}</td><td>${e.role ? t(`role_${e.role}`) : ''}</td><td>${e.ip || ''}</td>
    <td class="action"><code>${e.action}</code></td><td class="object">${e.object || ''}</td><td class="summary">${summaryText(e.summary)}</td></tr>`;

  async function load(append) {
    const q = params();
    const c = new URLSearchParams(q);
    c.set('format', 'csv');
    c.set('limit', '10000');
    csv.href = `/api/audit?${c}`;
    q.set('limit', String(PAGE));
    if (append && next != null) q.set('before', String(next));
    if (!append) tbody.innerHTML = html`<tr><td colspan="8" class="loading">${t('loading')}</td></tr>`.toString();
    older.disabled = true;
    try {
      const body = await api(`/api/audit?${q}`);
      err.hidden = true;
      const rows = (body.entries || []).map(row).join('');
      if (append) tbody.insertAdjacentHTML('beforeend', rows);
      else tbody.innerHTML = rows || html`<tr><td colspan="8" class="muted">${t('audit_empty')}</td></tr>`.toString();
      next = body.next_before ?? null;
      older.hidden = next == null;
    } catch (e) {
      err.hidden = false;
      err.textContent = errorText(e, t);
      if (!append) tbody.innerHTML = '';
    } finally {
      older.disabled = false;
    }
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load(false);
  });
  $('.clear', form).addEventListener('click', () => {
    form.reset();
    load(false);
  });
  older.addEventListener('click', () => load(true));
  await load(false);
  return () => box.replaceChildren();
}
