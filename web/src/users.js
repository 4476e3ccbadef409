// Admin: users (`/api/users`). The list with role, owner (unit), scope (office) and state; a form
// to create one; per row disable/enable (`PATCH {disabled}`) and a password reset
// (`POST /api/users/{id}/password`).

import { api, errorText } from './api.js';
import { t } from './i18n.js';
import { html, $, $$, fmtTime, toast } from './dom.js';
import { session } from './session.js';

export const ROLES = ['patrol', 'office', 'unit', 'planner', 'admin'];

let zonesCache;
/** Owner names (for units) and street/community grid zones (for office scopes), from `/api/zones`. */
export function bindings() {
  zonesCache ??= api('/api/zones').then((fc) => {
    const owners = new Set();
    const scopes = [];
    for (const f of fc.features || []) {
      const p = f.properties;
      if (p.owner?.name) owners.add(p.owner.name);
      const level = p.properties?.level;
      if (p.kind === 'grid' && (level === 'street' || level === 'community')) scopes.push({ id: String(f.id), name: p.name, level });
    }
    scopes.sort((a, b) => (a.level === b.level ? a.name.localeCompare(b.name, 'zh') : a.level === 'street' ? -1 : 1));
    return { owners: [...owners].sort((a, b) => a.localeCompare(b, 'zh')), scopes };
  });
  return zonesCache.catch((e) => {
    zonesCache = null;
    throw e;
  });
}

export async function mount(box) {
  box.innerHTML = html`
    <section class="adm-users">
      <h3>${t('users_title')}</h3>
      <form class="user-form adm-form" novalidate>
        <h4>${t('user_create')}</h4>
        <div class="grid">
          <label>${t('username')}<input name="username" required autocomplete="off" autocapitalize="none" maxlength="64"></label>
          <label>${t('role')}<select name="role">${ROLES.map((r) => html`<option value="${r}">${t(`role_${r}`)}</option>`)}</select></label>
          <label>${t('password')}<input name="password" type="password" required autocomplete="new-password" minlength="10"></label>
          <label class="for-unit" hidden>${t('owner')}<input name="owner" list="adm-owners" autocomplete="off" placeholder="${t('owner_placeholder')}"></label>
          <label class="for-office" hidden>${t('scope')}<select name="scope"><option value="">${t('scope_all')}</option></select></label>
        </div>
        <datalist id="adm-owners"></datalist>
        <p class="hint">${t('password_hint')}</p>
        <p class="msg" role="alert" hidden></p>
        <button type="submit" class="primary">${t('user_create')}</button>
      </form>
      <div class="table-wrap"><table class="adm-table users-table">
        <thead><tr><th>ID</th><th>${t('username')}</th><th>${t('role')}</th><th>${t('owner')} / ${t('scope')}</th><th>${t('created')}</th><th>${t('state')}</th><th></th></tr></thead>
        <tbody><tr><td colspan="7" class="loading">${t('loading')}</td></tr></tbody>
      </table></div>
    </section>`.toString();
  const form = $('.user-form', box);
  const msg = $('.msg', form);
  const tbody = $('tbody', box);
  const say = (text, kind) => {
    msg.hidden = !text;
    msg.className = `msg ${kind}`;
    msg.textContent = text;
  };
  const scopeNames = new Map();
  const showBinding = () => {
    $('.for-unit', form).hidden = form.role.value !== 'unit';
    $('.for-office', form).hidden = form.role.value !== 'office';
  };
  form.role.addEventListener('change', showBinding);
  bindings()
    .then(({ owners, scopes }) => {
      $('#adm-owners', box).innerHTML = owners.map((o) => html`<option value="${o}"></option>`).join('');
      form.scope.insertAdjacentHTML('beforeend', scopes.map((s) => html`<option value="${s.id}">${s.name}${t('paren', { x: t(`level_${s.level}`) })}</option>`).join(''));
      scopes.forEach((s) => scopeNames.set(s.id, s.name));
      load();
    })
    .catch((e) => say(errorText(e, t), 'error'));

  const binding = (u) => (u.owner ? u.owner : u.scope ? `${t('scope')} ${scopeNames.get(u.scope) || u.scope}` : '—');
  const row = (u) => html`<tr data-user="${u.id}" data-username="${u.username}" class="${u.disabled ? 'disabled' : ''}">
    <td>${u.id}</td><td class="uname">${u.username}</td><td>${t(`role_${u.role}`)}</td><td>${binding(u)}</td><td>${fmtTime(u.created_at)}</td>
    <td class="state">${u.disabled ? html`<span class="badge off">${t('user_disabled')}</span>` : html`<span class="badge on">${t('user_enabled')}</span>`}</td>
    <td class="row-actions">
      ${u.username === session.user?.username ? '' : html`<button type="button" class="toggle" data-disabled="${u.disabled ? '1' : ''}">${u.disabled ? t('user_enable') : t('user_disable')}</button>`}
      <button type="button" class="reset">${t('password_reset')}</button>
    </td></tr>`;

  async function load() {
    try {
      const body = await api('/api/users');
      const users = [...(body.users || [])].sort((a, b) => a.id - b.id);
      tbody.innerHTML = users.map(row).join('');
      wireRows();
    } catch (e) {
      tbody.innerHTML = html`<tr><td colspan="7" class="error">${errorText(e, t)}</td></tr>`.toString();
    }
  }

  function wireRows() {
    $$('.toggle', tbody).forEach((b) =>
      b.addEventListener('click', async () => {
        const tr = b.closest('tr');
        const disable = !b.dataset.disabled;
        if (disable && !confirm(t('confirm_disable', { name: tr.dataset.username }))) return;
        b.disabled = true;
        try {
          await api(`/api/users/${tr.dataset.user}`, { method: 'PATCH', json: { disabled: disable } });
          toast(disable ? t('user_disabled_done', { name: tr.dataset.username }) : t('user_enabled_done', { name: tr.dataset.username }), 'ok');
          load();
        } catch (e) {
          b.disabled = false;
          toast(errorText(e, t), 'error', 8000);
        }
      }),
    );
    $$('.reset', tbody).forEach((b) =>
      b.addEventListener('click', () => {
        const tr = b.closest('tr');
        if (tr.nextElementSibling?.classList.contains('reset-row')) return tr.nextElementSibling.remove();
        const form = document.createElement('tr');
        form.className = 'reset-row';
        form.innerHTML = html`<td colspan="7"><form class="inline-form" novalidate>
          <label>${t('new_password_for', { name: tr.dataset.username })}<input name="password" type="password" autocomplete="new-password" required minlength="10"></label>
          <button type="submit" class="primary">${t('password_reset')}</button>
          <span class="msg" role="alert" hidden></span></form></td>`.toString();
        tr.after(form);
        const f = $('form', form);
        f.password.focus();
        f.addEventListener('submit', async (ev) => {
          ev.preventDefault();
          const m = $('.msg', f);
          try {
            await api(`/api/users/${tr.dataset.user}/password`, { method: 'POST', json: { password: f.password.value } });
            toast(t('password_reset_done', { name: tr.dataset.username }), 'ok');
            form.remove();
          } catch (e) {
            m.hidden = false;
            m.className = 'msg error';
            m.textContent = errorText(e, t);
          }
        });
      }),
    );
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const role = form.role.value;
    const body = { username: form.username.value.trim(), role, password: form.password.value };
    if (!body.username || !body.password) return say(t('user_missing'), 'error');
    if (role === 'unit') body.owner = form.owner.value.trim();
    if (role === 'office' && form.scope.value) body.scope = form.scope.value;
    const btn = $('button[type=submit]', form);
    btn.disabled = true;
    try {
      const out = await api('/api/users', { method: 'POST', json: body });
      say(t('user_created', { name: out.user?.username || body.username }), 'ok');
      form.reset();
      showBinding();
      load();
    } catch (e) {
      say(errorText(e, t), 'error');
    } finally {
      btn.disabled = false;
    }
  });
  return () => box.replaceChildren();
}
