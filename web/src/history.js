// A report's events (处理记录): status changes, overdue marks, escalations, updates.

import { t } from './i18n.js';
import { html, fmtTime } from './dom.js';

/** A photo thumbnail that opens the full-size photo (server paths only: same origin). */
export function thumb(p) {
  const full = `/api/photos/${encodeURIComponent(p.id)}`;
  return html`<a href="${full}" data-full="${full}"><img src="${full}/thumb" alt="${t('photos')}" loading="lazy"></a>`;
}

function what(ev) {
  if (ev.kind === 'overdue') return html`<span class="ev-late">${t('ev_overdue', { stage: t(`stage_${ev.data?.stage || 'handle'}`) })}</span>`;
  if (ev.kind === 'escalated') return html`<span class="ev-late">${t('ev_escalated', { to: ev.data?.to || '' })}</span>`;
  if (ev.kind === 'update') return t('ev_update');
  if (ev.kind === 'assigned') return t('ev_assigned', { to: ev.data?.assigned_to || '' });
  const to = t(`status_${ev.to || ev.status}`);
  return ev.data?.assigned_to ? html`${to} → ${ev.data.assigned_to}` : to;
}

/** The events, oldest first, with who, the note, the reason and the photos of each. */
export function eventsHtml(events) {
  if (!events?.length) return '';
  return html`<h4>${t('events')}</h4><ol class="events">${events.map(
    (ev) => html`<li class="ev ev-${ev.kind || 'status'}"><small>${fmtTime(ev.at)}</small> · ${what(ev)}${ev.user && ev.user !== 'system' ? html` · <small>${ev.user}</small>` : ''}${ev.note ? html` — <span class="note">${ev.note}</span>` : ''}${ev.reason ? html` (${t(`reason_${ev.reason}`)})` : ''}${(ev.photos || []).length ? html`<div class="thumbs">${ev.photos.map(thumb)}</div>` : ''}</li>`,
  )}</ol>`;
}
