// The public map (随手拍) at /public: anyone sees the 三包 zones with their responsible owner and
// contact, and the open reports (category, status, time, thumbnails) — no names, no notes, no
// original photos. The server answers 404 when the deployment has not turned it on.

import { api, errorText } from './api.js';
import { t, getLang, setLang } from './i18n.js';
import { html, $, toast, fmtTime } from './dom.js';
import { createPublicMap, maplibregl } from './map.js';

const pick = (o, key) => (getLang() === 'en' ? o[`${key}_en`] : o[`${key}_zh`]) || o[key] || '';

/** A contact line ("网格员王丽 0439-3629316") with its phone number as a tel: link. */
function phone(contact) {
  const m = /\+?\d[\d-]{6,}\d/.exec(contact);
  if (!m) return html`${contact}`;
  return html`${contact.slice(0, m.index)}<a href="tel:${m[0].replace(/-/g, '')}">${m[0]}</a>${contact.slice(m.index + m[0].length)}`;
}

function zoneCard(z) {
  if (!z) return html`<p class="muted">${t('public_no_zone')}</p>`;
  const o = z.owner;
  return html`<dl class="public-zone">
    <dt>${pick(z, 'kind')}</dt><dd class="zone-name">${z.name}</dd>
    ${o ? html`<dt>${t('public_owner')}</dt><dd class="owner">${o.name}${t('paren', { x: pick(o, 'sector') })}</dd>` : ''}
    ${o && o.contact ? html`<dt>${t('public_contact')}</dt><dd class="contact">${phone(o.contact)}</dd>` : ''}
  </dl>`;
}

function reportCard(r) {
  return html`<h2 class="report-title">${pick(r, 'category')} · <span class="status">${pick(r, 'status')}</span></h2>
    <p class="muted">#${r.id} · ${fmtTime(r.created_at)}</p>
    ${r.thumbs.length ? html`<div class="thumbs">${r.thumbs.map((u, i) => html`<img src="${u}" alt="${t('public_photo_n', { n: i + 1 })}" width="96" height="96" loading="lazy">`)}</div>` : ''}
    <h3>${t('public_responsible')}</h3>
    ${r.zone ? zoneCard(r.zone) : r.responsible_owner ? html`<p class="owner">${r.responsible_owner}</p>` : html`<p class="muted">${t('public_no_zone')}</p>`}`;
}

let mounts = 0;

/** Mounts the public page into `app`. */
export async function mountPublic(app) {
  const my = ++mounts; // a language switch re-mounts while the first map may still be loading
  document.body.className = 'public-page';
  document.title = t('public_title');
  app.innerHTML = html`
    <header class="topbar">
      <strong class="brand">${t('public_title')}</strong>
      <span class="spacer"></span>
      <a class="link" href="/">${t('sign_in')}</a>
      <button type="button" class="link lang">${t('lang_switch')}</button>
    </header>
    <div class="layout">
      <aside class="panel" id="panel" aria-live="polite" aria-label="${t('a11y_main_panel')}"><p class="intro">${t('public_intro')}</p><div class="card"></div></aside>
      <div class="map-wrap"><div id="map" class="map" role="region" aria-label="${t('public_title')}"></div><div class="map-loading">${t('loading_map')}</div></div>
    </div>`.toString();
  $('.lang').addEventListener('click', () => {
    setLang(getLang() === 'en' ? 'zh' : 'en');
    mountPublic(app);
  });
  const card = $('#panel .card');
  let map;
  try {
    map = await createPublicMap($('#map'));
  } catch (e) {
    if (my !== mounts) return;
    const msg = e.status === 404 ? t('public_disabled') : errorText(e, t);
    $('.map-loading').innerHTML = html`<div class="error">${msg}</div>`.toString();
    return;
  }
  if (my !== mounts) return map.remove();
  $('.map-loading').remove();
  const show = async (what, id) => {
    card.innerHTML = html`<p class="loading">${t('loading')}</p>`.toString();
    try {
      const v = await api(`/api/public/${what}/${encodeURIComponent(id)}`, { noAuthRedirect: true });
      card.innerHTML = (what === 'reports' ? reportCard(v) : zoneCard(v)).toString();
      card.dataset.shown = `${what}/${id}`;
    } catch (e) {
      card.innerHTML = html`<p class="error">${errorText(e, t)}</p>`.toString();
      if (e.status === 429) toast(errorText(e, t), 'error');
    }
  };
  map.on('click', (e) => {
    const hits = map.queryRenderedFeatures(e.point);
    const report = hits.find((f) => f.sourceLayer === 'reports' && f.properties.id != null);
    if (report) return show('reports', report.properties.id);
    const zone = hits.find((f) => f.sourceLayer === 'zones' && f.properties.kind !== 'hotspot');
    if (zone) return show('zones', zone.properties.id);
    card.innerHTML = '';
    delete card.dataset.shown;
  });
  map.on('mousemove', (e) => {
    const hit = map.queryRenderedFeatures(e.point).some((f) => f.sourceLayer === 'reports' || f.sourceLayer === 'zones');
    map.getCanvas().style.cursor = hit ? 'pointer' : '';
  });
  // For the browser tests, shaped like the signed-in views' hook.
  window.xuncha = { ctrl: { map }, maplibregl, ready: true };
  document.body.dataset.ready = '1';
}
