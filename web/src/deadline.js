// A report's deadline for its current stage (`due_at`, RFC 3339) and whether it ran late
// (`overdue`, set once by the server's sweep), as people read them.

import { t } from './i18n.js';
import { html, fmtTime } from './dom.js';

/** "3 小时" / "2 天" / "25 分钟" for a span in milliseconds. */
export function spanText(ms) {
  const min = Math.max(1, Math.round(Math.abs(ms) / 60_000));
  if (min < 60) return t('n_minutes', { n: min });
  const h = Math.round(min / 60);
  if (h < 48) return t('n_hours', { n: h });
  return t('n_days', { n: Math.round(h / 24) });
}

/** Milliseconds since epoch of `due_at`, or Infinity when there is none (sorts last). */
export function dueMs(r) {
  const ms = r.due_at ? Date.parse(r.due_at) : NaN;
  return Number.isNaN(ms) ? Infinity : ms;
}

/** Sorts reports by due time, soonest (most overdue) first; those without a deadline last. */
export function byDue(a, b) {
  return dueMs(a) - dueMs(b) || (a.id ?? 0) - (b.id ?? 0);
}

/**
 * The due time with what is left or how late it is. The red mark follows the server's
 * `overdue` flag; a deadline that passed before the next sweep reads "due" without the mark.
 */
export function dueHtml(r, now = Date.now()) {
  if (!r.due_at) return html`<span class="due none">${t('no_deadline')}</span>`;
  const left = dueMs(r) - now;
  const rel = left >= 0 ? t('due_left', { span: spanText(left) }) : t('due_ago', { span: spanText(left) });
  return html`<span class="due${r.overdue ? ' late' : ''}">${t('due')} ${fmtTime(r.due_at)} <small>${t('paren', { x: rel })}</small></span>`;
}

/** The red 已超时 label (empty when not overdue). */
export function overdueBadge(r) {
  return r.overdue ? html`<span class="badge overdue-badge">${t('overdue')}</span>` : '';
}
