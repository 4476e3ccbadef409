// Admin: time limits (工作时限, `GET/PUT /api/settings/time-limits`). Seconds per stage on the
// wire (`dispatch_s`, `handle_s`, `verify_s`; a default and per-category overrides); hours and
// minutes for people, with seconds shown only when a stored limit has them.

import { api, errorText } from './api.js';
import { t, categoryLabel } from './i18n.js';
import { html, $, $$ } from './dom.js';
import { session } from './session.js';

export const STAGES = ['dispatch', 'handle', 'verify'];
const MAX_S = 90 * 86400;

/** Seconds → `{h, m, s}`. */
export function split(sec) {
  const v = Math.max(0, Math.round(sec));
  return { h: Math.floor(v / 3600), m: Math.floor((v % 3600) / 60), s: v % 60 };
}

/** `{h, m, s}` → seconds. */
export function join({ h = 0, m = 0, s = 0 }) {
  return Math.round(h) * 3600 + Math.round(m) * 60 + Math.round(s);
}

function cell(prefix, stage, sec) {
  const { h, m, s } = split(sec);
  const name = `${prefix}.${stage}`;
  return html`<td class="limit" data-limit="${name}">
    <span class="hm"><input type="number" name="${name}.h" min="0" max="2160" step="1" value="${h}" aria-label="${t(`stage_${stage}`)} ${t('hours')}"><small>${t('hours_short')}</small>
    <input type="number" name="${name}.m" min="0" max="59" step="1" value="${m}" aria-label="${t(`stage_${stage}`)} ${t('minutes')}"><small>${t('minutes_short')}</small>
    ${s ? html`<input type="number" name="${name}.s" min="0" max="59" step="1" value="${s}" aria-label="${t(`stage_${stage}`)} ${t('seconds')}"><small>${t('seconds_short')}</small>` : ''}</span></td>`;
}

export async function mount(box) {
  box.innerHTML = html`<section class="adm-limits"><h3>${t('limits_title')}</h3><p class="hint">${t('limits_hint')}</p><div class="limits-body"><p class="loading">${t('loading')}</p></div></section>`.toString();
  const body = $('.limits-body', box);

  async function load() {
    let limits;
    try {
      limits = await api('/api/settings/time-limits');
    } catch (e) {
      body.innerHTML = html`<p class="msg error" role="alert">${errorText(e, t)}</p>`.toString();
      return;
    }
    render(limits);
  }

  function render(limits) {
    const cats = session.categories;
    body.innerHTML = html`<form class="limits-form" novalidate>
      <div class="table-wrap"><table class="adm-table limits-table">
        <thead><tr><th>${t('category')}</th><th>${t('limit_own')}</th>${STAGES.map((s) => html`<th>${t(`stage_${s}`)}</th>`)}</tr></thead>
        <tbody>
          <tr data-cat="default" class="default-row"><td><strong>${t('limit_default')}</strong></td><td></td>${STAGES.map((s) => cell('default', s, limits.default[`${s}_s`]))}</tr>
          ${cats.map((c) => {
            const own = limits.categories?.[c.id];
            const l = own || limits.default;
            return html`<tr data-cat="${c.id}" class="${own ? 'own' : 'inherit'}"><td>${categoryLabel(cats, c.id)}</td>
              <td><input type="checkbox" name="own.${c.id}" ${own ? 'checked' : ''} aria-label="${t('limit_own')} ${categoryLabel(cats, c.id)}"></td>
              ${STAGES.map((s) => cell(c.id, s, l[`${s}_s`]))}</tr>`;
          })}
        </tbody></table></div>
      <p class="msg" role="alert" hidden></p>
      <div class="btns"><button type="submit" class="primary">${t('save')}</button><button type="button" class="reload">${t('reload')}</button></div>
    </form>`.toString();
    const form = $('form', body);
    // A category without its own limits shows the default's, as typed.
    const sync = () =>
      $$('tr[data-cat]', form).forEach((tr) => {
        const cb = tr.querySelector('input[type=checkbox]');
        if (!cb) return;
        tr.className = cb.checked ? 'own' : 'inherit';
        $$('td.limit input', tr).forEach((i) => {
          i.disabled = !cb.checked;
          const twin = form.elements[i.name.replace(/^[^.]+/, 'default')];
          if (!cb.checked) i.value = twin ? twin.value : '0';
        });
      });
    form.addEventListener('input', sync);
    form.addEventListener('change', sync);
    sync();
    $('.reload', form).addEventListener('click', load);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      save(form);
    });
  }

  function read(form, prefix) {
    const out = {};
    for (const s of STAGES) {
      const v = (k) => Number(form.elements[`${prefix}.${s}.${k}`]?.value || 0);
      out[`${s}_s`] = join({ h: v('h'), m: v('m'), s: v('s') });
    }
    return out;
  }

  async function save(form) {
    const msg = $('.msg', form);
    const say = (text, kind) => {
      msg.hidden = false;
      msg.className = `msg ${kind}`;
      msg.textContent = text;
    };
    const limits = { default: read(form, 'default'), categories: {} };
    for (const c of session.categories) if (form.elements[`own.${c.id}`]?.checked) limits.categories[c.id] = read(form, c.id);
    const bad = [['default', limits.default], ...Object.entries(limits.categories)].find(([, l]) => STAGES.some((s) => !(l[`${s}_s`] >= 1 && l[`${s}_s`] <= MAX_S)));
    if (bad) return say(t('limits_range', { what: bad[0] === 'default' ? t('limit_default') : categoryLabel(session.categories, bad[0]) }), 'error');
    const btn = $('button[type=submit]', form);
    btn.disabled = true;
    try {
      const stored = await api('/api/settings/time-limits', { method: 'PUT', json: limits });
      render(stored);
      const m = $('.msg', body);
      m.hidden = false;
      m.className = 'msg ok';
      m.textContent = t('limits_saved');
    } catch (e) {
      say(errorText(e, t), 'error');
      btn.disabled = false;
    }
  }

  await load();
  return () => box.replaceChildren();
}
