// Admin: webhooks (`/api/webhooks`). The list (secrets are never shown back), a form to add one
// (URL, events, signing secret, JSON / WeCom / DingTalk robot format, optional owner or zone
// filter), delete, and each hook's deliveries with attempts, last status and last error.

import { api, errorText } from './api.js';
import { t } from './i18n.js';
import { html, $, $$, fmtTime, toast } from './dom.js';
import { bindings } from './users.js';

const FORMATS = ['json', 'wecom', 'dingtalk'];

/** A random signing secret (32 hex digits). */
function newSecret() {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export async function mount(box) {
  box.innerHTML = html`<section class="adm-hooks"><h3>${t('hooks_title')}</h3><p class="hint">${t('hooks_hint')}</p>
    <div class="hooks-list"><p class="loading">${t('loading')}</p></div>
    <div class="deliveries" hidden></div>
    <div class="hooks-form"></div></section>`.toString();
  const listBox = $('.hooks-list', box);
  const formBox = $('.hooks-form', box);
  const delBox = $('.deliveries', box);
  let events = [];

  async function load() {
    let body;
    try {
      body = await api('/api/webhooks');
    } catch (e) {
      listBox.innerHTML = html`<p class="msg error" role="alert">${errorText(e, t)}</p>`.toString();
      return;
    }
    const first = !events.length;
    events = body.events || [];
    const hooks = body.webhooks || [];
    listBox.innerHTML = hooks.length
      ? html`<div class="table-wrap"><table class="adm-table hooks-table">
        <thead><tr><th>ID</th><th>URL</th><th>${t('hook_events')}</th><th>${t('hook_format')}</th><th>${t('hook_filter')}</th><th>${t('created')}</th><th></th></tr></thead>
        <tbody>${hooks.map(
          (h) => html`<tr data-hook="${h.id}"><td>${h.id}</td><td class="url">${h.url}</td><td class="evs">${h.events.map((e) => html`<span class="chip">${t(`event_${e}`)}</span>`)}</td>
          <td>${t(`format_${h.format}`)}</td><td>${h.owner || (h.scope ? `${t('scope')} ${h.scope}` : t('all'))}</td><td>${fmtTime(h.created_at)}<br><small class="muted">${h.created_by}</small></td>
          <td class="row-actions"><button type="button" class="show-deliveries">${t('hook_deliveries')}</button> <button type="button" class="danger delete">${t('delete')}</button></td></tr>`,
        )}</tbody></table></div>`.toString()
      : html`<p class="muted empty">${t('hooks_empty')}</p>`.toString();
    $$('.delete', listBox).forEach((b) => b.addEventListener('click', () => remove(b.closest('tr'))));
    $$('.show-deliveries', listBox).forEach((b) => b.addEventListener('click', () => deliveries(b.closest('tr').dataset.hook)));
    if (first) renderForm();
  }

  async function remove(tr) {
    const id = tr.dataset.hook;
    if (!confirm(t('confirm_hook_delete', { url: $('.url', tr).textContent }))) return;
    try {
      await api(`/api/webhooks/${id}`, { method: 'DELETE' });
      toast(t('hook_deleted'), 'ok');
      if (delBox.dataset.hook === id) delBox.hidden = true;
      load();
    } catch (e) {
      toast(errorText(e, t), 'error', 8000);
    }
  }

  async function deliveries(id) {
    delBox.hidden = false;
    delBox.dataset.hook = id;
    delBox.innerHTML = html`<h4>${t('hook_deliveries_of', { id })}</h4><p class="loading">${t('loading')}</p>`.toString();
    let list;
    try {
      list = (await api(`/api/webhooks/${id}/deliveries?limit=100`)).deliveries || [];
    } catch (e) {
      delBox.innerHTML = html`<h4>${t('hook_deliveries_of', { id })}</h4><p class="msg error" role="alert">${errorText(e, t)}</p>`.toString();
      return;
    }
    delBox.innerHTML = html`<div class="deliveries-head"><h4>${t('hook_deliveries_of', { id })}</h4><button type="button" class="link refresh">${t('refresh')}</button><button type="button" class="link close">${t('close')}</button></div>
      ${list.length
        ? html`<div class="table-wrap"><table class="adm-table deliveries-table">
        <thead><tr><th>${t('time')}</th><th>${t('hook_event')}</th><th>${t('state')}</th><th>${t('hook_attempts')}</th><th>${t('hook_last_status')}</th><th>${t('hook_last_error')}</th><th>${t('hook_next')}</th></tr></thead>
        <tbody>${list.map(
          (d) => html`<tr class="dl-${d.state}" data-delivery="${d.delivery_id}"><td>${fmtTime(d.created_at)}</td><td>${t(`event_${d.event}`)}</td><td><span class="badge dl-state">${t(`delivery_${d.state}`)}</span></td>
          <td class="attempts">${d.attempts}</td><td>${d.last_status ?? '—'}</td><td class="last-error">${d.last_error || '—'}</td><td>${d.state === 'pending' ? fmtTime(d.next_attempt_at) : d.delivered_at ? fmtTime(d.delivered_at) : '—'}</td></tr>`,
        )}</tbody></table></div>`
        : html`<p class="muted">${t('hook_no_deliveries')}</p>`}`.toString();
    $('.refresh', delBox).addEventListener('click', () => deliveries(id));
    $('.close', delBox).addEventListener('click', () => (delBox.hidden = true));
  }

  function renderForm() {
    formBox.innerHTML = html`<form class="hook-form adm-form" novalidate>
      <h4>${t('hook_create')}</h4>
      <label>URL<input name="url" type="url" required placeholder="https://" autocomplete="off"></label>
      <fieldset class="events-pick"><legend>${t('hook_events')}</legend>${events.map((e) => html`<label class="check"><input type="checkbox" name="events" value="${e}"> ${t(`event_${e}`)} <small class="muted">${e}</small></label>`)}</fieldset>
      <div class="grid">
        <label>${t('hook_secret')}<span class="with-btn"><input name="secret" required minlength="16" autocomplete="off"><button type="button" class="gen">${t('generate')}</button></span></label>
        <label>${t('hook_format')}<select name="format">${FORMATS.map((f) => html`<option value="${f}">${t(`format_${f}`)}</option>`)}</select></label>
        <label>${t('hook_owner')}<input name="owner" list="hook-owners" autocomplete="off" placeholder="${t('hook_any')}"></label>
        <label>${t('hook_scope')}<select name="scope"><option value="">${t('hook_any')}</option></select></label>
      </div>
      <datalist id="hook-owners"></datalist>
      <p class="hint">${t('hook_secret_hint')}</p>
      <p class="msg" role="alert" hidden></p>
      <button type="submit" class="primary">${t('hook_create')}</button>
    </form>`.toString();
    const form = $('form', formBox);
    const msg = $('.msg', form);
    const say = (text, kind) => {
      msg.hidden = false;
      msg.className = `msg ${kind}`;
      msg.textContent = text;
    };
    $('.gen', form).addEventListener('click', () => (form.secret.value = newSecret()));
    bindings()
      .then(({ owners, scopes }) => {
        $('#hook-owners', formBox).innerHTML = owners.map((o) => html`<option value="${o}"></option>`).join('');
        form.scope.insertAdjacentHTML('beforeend', scopes.map((s) => html`<option value="${s.id}">${s.name}${t('paren', { x: t(`level_${s.level}`) })}</option>`).join(''));
      })
      .catch(() => {
        /* the filters stay free text and "any"; the server checks them */
      });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = {
        url: form.url.value.trim(),
        events: $$('input[name=events]:checked', form).map((i) => i.value),
        secret: form.secret.value,
        format: form.format.value,
      };
      if (form.owner.value.trim()) body.owner = form.owner.value.trim();
      if (form.scope.value) body.scope = form.scope.value;
      if (!body.url) return say(t('hook_need_url'), 'error');
      if (!body.events.length) return say(t('hook_need_events'), 'error');
      const btn = $('button[type=submit]', form);
      btn.disabled = true;
      try {
        const out = await api('/api/webhooks', { method: 'POST', json: body });
        form.reset();
        say(t('hook_created', { id: out.webhook?.id ?? '' }), 'ok');
        load();
      } catch (e) {
        say(errorText(e, t), 'error');
      } finally {
        btn.disabled = false;
      }
    });
  }

  await load();
  return () => box.replaceChildren();
}
