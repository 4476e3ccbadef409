// The signed-in user's own account: a dialog to change one's password
// (`POST /api/me/password {current, password}`), open to every role.

import { api, errorText } from './api.js';
import { t } from './i18n.js';
import { html, el, $, toast } from './dom.js';
import { session } from './session.js';

/** Opens the dialog; resolves when it closes. */
export function openAccountDialog() {
  const u = session.user;
  const dlg = el(html`<dialog class="account-dialog" aria-labelledby="account-title">
    <form class="pw-form" method="dialog" novalidate>
      <h3 id="account-title">${t('account_title')}</h3>
      <p class="muted">${u.username} · ${t(`role_${u.role}`)}${u.owner ? html` · ${u.owner}` : ''}${u.scope ? html` · ${t('scope')} ${u.scope}` : ''}</p>
      <h4>${t('change_password')}</h4>
      <label>${t('current_password')}<input name="current" type="password" autocomplete="current-password" required></label>
      <label>${t('new_password')}<input name="password" type="password" autocomplete="new-password" required minlength="8"></label>
      <label>${t('repeat_password')}<input name="repeat" type="password" autocomplete="new-password" required></label>
      <p class="hint">${t('password_hint')}</p>
      <p class="msg" role="alert" hidden></p>
      <div class="btns">
        <button type="submit" class="primary" value="save">${t('change_password')}</button>
        <button type="button" class="cancel">${t('close')}</button>
      </div>
    </form>
  </dialog>`);
  document.body.appendChild(dlg);
  const form = $('form', dlg);
  const msg = $('.msg', dlg);
  const say = (text, kind) => {
    msg.hidden = false;
    msg.className = `msg ${kind}`;
    msg.textContent = text;
  };
  $('.cancel', dlg).addEventListener('click', () => dlg.close());
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!form.current.value || !form.password.value) return say(t('password_missing'), 'error');
    if (form.password.value !== form.repeat.value) return say(t('password_mismatch'), 'error');
    const btn = $('button[type=submit]', form);
    btn.disabled = true;
    try {
      await api('/api/me/password', { method: 'POST', json: { current: form.current.value, password: form.password.value } });
      form.reset();
      // The server ends the user's browser sessions; when this one went too, sign in again.
      const still = await api('/api/me', { noAuthRedirect: true }).then(
        () => true,
        (e) => e.status !== 401,
      );
      if (!still) {
        dlg.close();
        window.dispatchEvent(new CustomEvent('xuncha:signed-out', { detail: { message: t('password_changed_signin'), kind: 'ok' } }));
        return;
      }
      say(t('password_changed'), 'ok');
      toast(t('password_changed'), 'ok');
    } catch (e) {
      say(errorText(e, t), 'error');
    } finally {
      btn.disabled = false;
    }
  });
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve();
    });
    dlg.showModal();
    form.current.focus();
  });
}
