// Click popups for zones and reports, shared by every role. Office roles get report actions.

import { api, ApiError, errorText } from './api.js';
import { t, categoryLabel } from './i18n.js';
import { html, el, raw, fmtTime, toast } from './dom.js';
import { maplibregl } from './map.js';
import { session, metaList } from './session.js';
import { responsibleInline } from './responsible.js';
import { dueHtml, overdueBadge, spanText } from './deadline.js';
import { eventsHtml, thumb } from './history.js';

/** Whether the server counts `status` as open (`GET /api/meta`). */
export const isOpen = (status) => metaList('statuses').some((s) => s.id === status && s.open);

/** Most specific first: a frontage zone beats the grid cell it lies in, a cell beats its street. */
const KIND_RANK = { responsibility: 0, green_adoption: 1, hotspot: 2, patrol_route: 3, grid: 4 };
const LEVEL_RANK = { cell: 0, community: 1, street: 2 };

let popup;

function openPopup(map, lngLat, node) {
  popup?.remove();
  popup = new maplibregl.Popup({ maxWidth: '340px', className: 'xpopup', focusAfterOpen: false })
    .setLngLat(lngLat)
    .setDOMContent(node)
    .addTo(map);
  return popup;
}

export function closePopup() {
  popup?.remove();
}

/** Handles a map click: a report point wins, then an aggregate (zoom in), then zones. */
export function handleMapClick(ctrl, e) {
  const { map } = ctrl;
  const p = e.point;
  const box = [
    [p.x - 6, p.y - 6],
    [p.x + 6, p.y + 6],
  ];
  const ids = (g) => ctrl.layersOf(g).filter((id) => map.getLayoutProperty(id, 'visibility') !== 'none');
  const reportLayers = ids('reports');
  const reports = reportLayers.length ? map.queryRenderedFeatures(box, { layers: reportLayers }) : [];
  // Points (z ≥ 14) carry an id; bins below carry only a count.
  const point = reports.find((f) => f.properties.id !== undefined);
  if (point) return showReport(ctrl, String(point.properties.id), e.lngLat);
  const zl = [...ids('zones'), ...ids('routes')];
  // Label points name the polygon under them; the polygon itself is the hit.
  const zones = zl.length ? map.queryRenderedFeatures(e.point, { layers: zl }).filter((f) => f.sourceLayer !== 'zone_labels') : [];
  if (!zones.length) return closePopup();
  showZones(ctrl, zones, e.lngLat);
}

function zoneId(f) {
  return String(f.properties.id ?? f.id);
}

/** A tile feature's zone kind (route features carry no `kind`: their source-layer says it). */
const kindOf = (f) => f.properties.kind || (f.sourceLayer === 'routes' ? 'patrol_route' : '');

/** Dedupes and orders rendered zone features, most specific first. */
export function rankZones(features) {
  const seen = new Map();
  for (const f of features) {
    const id = zoneId(f);
    if (!seen.has(id)) seen.set(id, f);
  }
  return [...seen.values()].sort((a, b) => {
    const ka = KIND_RANK[kindOf(a)] ?? 9;
    const kb = KIND_RANK[kindOf(b)] ?? 9;
    if (ka !== kb) return ka - kb;
    return (LEVEL_RANK[a.properties.level] ?? 3) - (LEVEL_RANK[b.properties.level] ?? 3);
  });
}

function showZones(ctrl, features, lngLat) {
  const ranked = rankZones(features);
  const node = el(html`<div class="zone-pop"><div class="loading">${t('loading')}</div></div>`);
  openPopup(ctrl.map, lngLat, node);
  renderZone(ctrl, node, zoneId(ranked[0]), ranked.slice(1), lngLat);
}

async function renderZone(ctrl, node, id, others, lngLat) {
  node.innerHTML = html`<div class="loading">${t('loading')}</div>`.toString();
  let f;
  try {
    f = await api(`/api/zones/${encodeURIComponent(id)}`);
  } catch (e) {
    node.innerHTML = html`<div class="error">${errorText(e, t)}</div>`.toString();
    return;
  }
  const p = f.properties;
  const level = p.properties && p.properties.level;
  node.innerHTML = html`
    <h3 class="zone-name">${p.name}</h3>
    <dl>
      <dt>${t('kind')}</dt><dd>${t(`kind_${p.kind}`)}${level ? html` · ${t(`level_${level}`)}` : ''}</dd>
      <dt>${t('owner')}</dt><dd class="zone-owner">${p.owner?.name || t('none')}</dd>
      ${p.owner?.sector ? html`<dt>${t('sector')}</dt><dd>${t(`sector_${p.owner.sector}`)}</dd>` : ''}
      ${p.owner?.contact ? html`<dt>${t('contact')}</dt><dd>${p.owner.contact}</dd>` : ''}
      ${p.width_m ? html`<dt>${t('width_m')}</dt><dd>${p.width_m}</dd>` : ''}
    </dl>
    <h4>${t('open_reports')}</h4>
    <ul class="zone-reports"><li class="loading">${t('loading')}</li></ul>
    ${others.length ? html`<h4>${t('more_zones')}</h4><ul class="others">${others.map((o) => html`<li><a href="#" data-zone="${zoneId(o)}">${o.properties.name}</a> <small>${t(`kind_${kindOf(o)}`)}</small></li>`)}</ul>` : ''}
  `.toString();
  node.querySelectorAll('[data-zone]').forEach((a) =>
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      const rest = others.filter((o) => zoneId(o) !== a.dataset.zone);
      renderZone(ctrl, node, a.dataset.zone, rest, lngLat);
    }),
  );
  ctrl.onZoneShown?.(f);
  const list = node.querySelector('.zone-reports');
  try {
    const fc = await api(`/api/reports?zone=${encodeURIComponent(id)}&limit=200`);
    const open = (fc.features || []).filter((r) => isOpen(r.properties.status));
    list.innerHTML = open.length
      ? open
          .slice(0, 20)
          .map(
            (r) =>
              html`<li><a href="#" data-report="${r.id ?? r.properties.id}">${categoryLabel(session.categories, r.properties.category)}</a> · ${t(`status_${r.properties.status}`)} · <small>${fmtTime(r.properties.captured_at || r.properties.created_at)}</small></li>`,
          )
          .join('')
      : html`<li>${t('none')}</li>`.toString();
    list.querySelectorAll('[data-report]').forEach((a) =>
      a.addEventListener('click', (ev) => {
        ev.preventDefault();
        showReport(ctrl, a.dataset.report, lngLat);
      }),
    );
  } catch (e) {
    list.innerHTML = html`<li class="muted">${e instanceof ApiError && e.status === 404 ? t('reports_api_missing') : errorText(e, t)}</li>`.toString();
  }
}

/** Normalises a report from `GET /api/reports/{id}` (plain object or GeoJSON Feature). */
export function normReport(b) {
  if (b && b.type === 'Feature') {
    const r = { ...b.properties, id: b.id ?? b.properties.id };
    if (!r.location && b.geometry) r.location = { lon: b.geometry.coordinates[0], lat: b.geometry.coordinates[1] };
    return r;
  }
  return b;
}

/** The label of the button that moves a report to each status. */
const ACTION_KEYS = {
  dispatched: 'act_dispatch',
  in_progress: 'act_start',
  resolved: 'act_resolve',
  closed: 'act_close',
  rejected: 'act_reject',
  reopened: 'act_reopen',
};

/** The moves the signed-in role may make from `status`, from the server's transition table. */
function actionsFrom(status) {
  const to = metaList('transitions')[session.user?.role]?.[status] || [];
  return Object.entries(ACTION_KEYS)
    .filter(([s]) => to.includes(s))
    .map(([s, key]) => ({ status: s, key: status === 'rejected' && s === 'reopened' ? 'act_undo_reject' : key }));
}

let limitsCache;
/** The time limits (office and admin may read them), fetched once per page. */
function timeLimits() {
  limitsCache ??= api('/api/settings/time-limits').catch((e) => {
    limitsCache = null;
    throw e;
  });
  return limitsCache;
}

/** `Date` → the value of a `datetime-local` input (local time, minutes). */
function localInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/**
 * Fills the dispatch's due-time input with what the category's limit gives from now, and says
 * so; a time the office picks instead is sent as `due_at`.
 */
async function fillDue(node, category) {
  const input = node.querySelector('.act-due');
  const hint = node.querySelector('.act-due-hint');
  if (!input) return;
  try {
    const lim = await timeLimits();
    const s = (lim.categories?.[category] || lim.default).handle_s;
    const d = new Date(Date.now() + s * 1000);
    input.value = localInput(d);
    input.dataset.default = input.value;
    input.min = localInput(new Date());
    hint.textContent = t('dispatch_due_hint', { span: spanText(s * 1000) });
  } catch (e) {
    hint.textContent = errorText(e, t);
  }
}

export async function showReport(ctrl, id, lngLat, { move = false, focus = false } = {}) {
  const node = el(html`<div class="report-pop"><div class="loading">${t('loading')}</div></div>`);
  const pop = openPopup(ctrl.map, lngLat, node);
  let r;
  try {
    r = normReport(await api(`/api/reports/${encodeURIComponent(id)}`));
  } catch (e) {
    node.innerHTML = html`<div class="error">${e instanceof ApiError && e.status === 404 ? t('reports_api_missing') : errorText(e, t)}</div>`.toString();
    return;
  }
  // Opened without a known place (a link to another report): move to where it is.
  if (move && r.location) {
    pop.setLngLat([r.location.lon, r.location.lat]);
    ctrl.map.easeTo({ center: [r.location.lon, r.location.lat], duration: 400 });
  }
  renderReport(ctrl, node, r);
  // Opened from a list: the keyboard goes on in the popup, not at the row behind it.
  if (focus) {
    const h = node.querySelector('h3');
    h.tabIndex = -1;
    h.focus({ preventScroll: true });
  }
}

/** Links to the original of a duplicate and to the duplicates of an original. */
function duplicateLinks(r) {
  const link = (id) => html`<a href="#" class="dup-link" data-report="${id}">${t('report_no')} ${id}</a>`;
  const dups = r.duplicated_by || [];
  return html`${r.duplicate_of ? html`<dt>${t('duplicate_of')}</dt><dd class="dup-of">${link(r.duplicate_of)}</dd>` : ''}
    ${dups.length ? html`<dt>${t('duplicated_by')}</dt><dd class="dup-by">${raw(dups.map((d) => String(link(d))).join(t('list_sep')))}</dd>` : ''}`;
}

function renderReport(ctrl, node, r) {
  const resp = r.responsible;
  const canAct = ['office', 'admin'].includes(session.user?.role);
  const actions = actionsFrom(r.status);
  const photos = r.photos || [];
  const events = r.events || [];
  const open = isOpen(r.status) || r.status === 'resolved';
  node.innerHTML = html`
    <h3>${categoryLabel(session.categories, r.category)} <span class="badge st-${r.status}">${t(`status_${r.status}`)}</span> ${overdueBadge(r)}</h3>
    <dl>
      <dt>${t('report_no')}</dt><dd>${r.id}</dd>
      <dt>${t('time')}</dt><dd>${fmtTime(r.captured_at || r.created_at)}</dd>
      ${r.note ? html`<dt>${t('note')}</dt><dd class="note">${r.note}</dd>` : ''}
      ${r.reject_reason ? html`<dt>${t('reason')}</dt><dd>${t(`reason_${r.reject_reason}`)}</dd>` : ''}
      <dt>${t('responsible')}</dt><dd class="resp">${responsibleInline(resp, r.ambiguous)}</dd>
      ${r.assigned_to ? html`<dt>${t('assigned_to')}</dt><dd class="assigned">${r.assigned_to}</dd>` : ''}
      ${open ? html`<dt>${t('deadline')}</dt><dd class="deadline">${dueHtml(r)}</dd>` : ''}
      ${r.escalated_to ? html`<dt>${t('escalated_to')}</dt><dd class="escalated">${r.escalated_to}</dd>` : ''}
      ${duplicateLinks(r)}
    </dl>
    ${photos.length ? html`<div class="thumbs">${photos.map(thumb)}</div>` : ''}
    ${eventsHtml(events)}
    ${canAct && actions.length ? html`<div class="actions">
      <input class="act-note" placeholder="${t('note')}" maxlength="2000">
      ${actions.some((a) => a.status === 'dispatched') ? html`<fieldset class="dispatch-box">
        <legend>${t('dispatch_legend')}</legend>
        <label>${t('dispatch_to')}<input class="act-assign" placeholder="${t('assign_placeholder', { owner: resp?.owner?.name || t('none') })}" maxlength="200"></label>
        <label>${t('dispatch_due')}<input class="act-due" type="datetime-local"></label>
        <small class="act-due-hint muted"></small>
      </fieldset>` : ''}
      ${actions.some((a) => a.status === 'rejected') ? html`<fieldset class="reject-box">
        <legend>${t('reject_legend')}</legend>
        <select class="act-reason" aria-label="${t('reason')}">
          <option value="">${t('reason_choose')}</option>
          ${['duplicate', 'not_responsible', 'invalid'].map((x) => html`<option value="${x}">${t(`reason_${x}`)}</option>`)}
        </select>
        <input class="act-dup" type="text" inputmode="numeric" placeholder="${t('duplicate_of_placeholder')}" aria-label="${t('duplicate_of')}" hidden>
        <p class="act-error error" role="alert" hidden></p>
      </fieldset>` : ''}
      <div class="btns">${actions.map((a) => html`<button type="button" data-status="${a.status}">${t(a.key)}</button>`)}</div>
    </div>` : ''}
  `.toString();
  node.querySelectorAll('[data-full]').forEach((a) =>
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      lightbox(a.dataset.full);
    }),
  );
  node.querySelectorAll('.dup-link').forEach((a) =>
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      showReport(ctrl, a.dataset.report, ctrl.map.getCenter(), { move: true });
    }),
  );
  const reasonSel = node.querySelector('.act-reason');
  const dupInput = node.querySelector('.act-dup');
  const actError = node.querySelector('.act-error');
  const refuse = (key, field) => {
    actError.textContent = t(key);
    actError.hidden = false;
    field.setAttribute('aria-invalid', 'true');
    field.focus();
  };
  const refuseDue = (field) => {
    toast(t('err_due_at_past'), 'error', 6000);
    field.setAttribute('aria-invalid', 'true');
    field.focus();
  };
  fillDue(node, r.category);
  reasonSel?.addEventListener('change', () => {
    dupInput.hidden = reasonSel.value !== 'duplicate';
    actError.hidden = true;
    reasonSel.removeAttribute('aria-invalid');
  });
  dupInput?.addEventListener('input', () => {
    actError.hidden = true;
    dupInput.removeAttribute('aria-invalid');
  });
  node.querySelectorAll('[data-status]').forEach((b) =>
    b.addEventListener('click', async () => {
      const status = b.dataset.status;
      const body = { status, note: node.querySelector('.act-note').value || undefined };
      if (status === 'rejected') {
        // A rejection names its reason, and a duplicate its original: nothing is assumed.
        const reason = reasonSel.value;
        if (!reason) return refuse('reason_required', reasonSel);
        body.reason = reason;
        if (reason === 'duplicate') {
          const orig = dupInput.value.trim();
          if (!/^\d+$/.test(orig)) return refuse('duplicate_of_required', dupInput);
          if (Number(orig) === Number(r.id)) return refuse('duplicate_of_self', dupInput);
          body.duplicate_of = Number(orig);
        }
      }
      const assign = node.querySelector('.act-assign')?.value.trim();
      if (status === 'dispatched' && assign) body.assign_to = assign;
      const due = node.querySelector('.act-due');
      // Only a time the office changed is sent; otherwise the server applies the limit itself.
      if (status === 'dispatched' && due?.value && due.value !== due.dataset.default) {
        const at = new Date(due.value);
        if (Number.isNaN(at.getTime()) || at <= new Date()) return refuseDue(due);
        body.due_at = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
      }
      node.querySelectorAll('button').forEach((x) => (x.disabled = true));
      try {
        const updated = normReport(await api(`/api/reports/${encodeURIComponent(r.id)}`, { method: 'PATCH', json: body }));
        toast(t('action_done'), 'ok');
        const fresh = updated && updated.events ? updated : normReport(await api(`/api/reports/${encodeURIComponent(r.id)}`));
        renderReport(ctrl, node, fresh);
        ctrl.reloadTiles({ zones: false });
        ctrl.onReportChanged?.();
      } catch (e) {
        toast(errorText(e, t), 'error', 8000);
        node.querySelectorAll('button').forEach((x) => (x.disabled = false));
      }
    }),
  );
}

export function lightbox(src) {
  const box = el(html`<div class="lightbox" role="dialog" aria-modal="true"><img src="${src}" alt="${t('photos')}"><button type="button" class="lb-close">${t('close')}</button></div>`);
  box.addEventListener('click', () => box.remove());
  document.body.appendChild(box);
}

/** Exposed for templates that render report lines elsewhere. */
export { raw };
