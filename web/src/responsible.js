// The responsible party (责任单位) of a report or a point, as the server names it:
// `{id, zone_id, zone_name, owner: {name, sector, contact}, via, distance_m?}` or null.

import { t } from './i18n.js';
import { html } from './dom.js';

/** Which rule named the party: its own frontage zone, a green-adoption area, the nearest zone, the grid. */
export function viaText(resp) {
  if (!resp) return '';
  return resp.via === 'nearest' ? t('via_nearest', { m: Math.round(resp.distance_m ?? 0) }) : t(`via_${resp.via}`);
}

/** A block for the patrol's result and the unit's task: owner, sector, rule, zone, contact. */
export function responsibleHtml(resp) {
  if (!resp) return html`<p class="responsible none">${t('no_responsible')}</p>`;
  const o = resp.owner || {};
  return html`<p class="responsible via-${resp.via}"><strong>${t('responsible')}${t('colon')}</strong><span class="owner">${o.name}</span>${o.sector ? html` · ${t(`sector_${o.sector}`)}` : ''}<br><small class="via">${viaText(resp)}${resp.zone_name ? html` · ${resp.zone_name}` : ''}${o.contact ? html` · ${o.contact}` : ''}</small></p>`;
}

/** The same, compact, for a popup's definition list. */
export function responsibleInline(resp, ambiguous) {
  if (!resp) return ambiguous ? t('ambiguous') : t('no_responsible');
  const o = resp.owner || {};
  return html`<span class="owner">${o.name}</span>${resp.zone_name ? html` <small>${t('paren', { x: resp.zone_name })}</small>` : ''}${o.contact ? html`<br><small>${o.contact}</small>` : ''}<br><small class="via">${t('via_label')}${viaText(resp)}</small>`;
}
