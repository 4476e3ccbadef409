// Boot: sign-in screen or the role's view over the shared map.

import './style.css';
import { api, onUnauthorized, errorText, ApiError } from './api.js';
import { t, getLang, setLang } from './i18n.js';
import { html, el, $, toast, paintAdded } from './dom.js';
import { createMap, layerSwitcher, showStatus } from './map.js';
import { handleMapClick, closePopup } from './popups.js';
import { session, loadMeta, forget } from './session.js';
import { registerServiceWorker, clearPrivateCaches, warmAfterStart } from './pwa.js';

const app = document.getElementById('app');
const SIGNED_IN = 'xuncha.signedIn';
let view = null; // the active role view's teardown
let ctrl = null;

// For the browser tests: the session, the map controller and how errors are worded.
window.xuncha = { session, get ctrl() { return ctrl; }, ready: false, api: { errorText, ApiError } };

setLang(getLang());
paintAdded();
registerServiceWorker();
onUnauthorized((e) => {
  if (!session.user) return;
  signedOut(/expired/i.test(e.message) ? t('session_expired') : t('session_expired'));
});

function remember(on) {
  try {
    if (on) localStorage.setItem(SIGNED_IN, '1');
    else localStorage.removeItem(SIGNED_IN);
  } catch {
    /* storage unavailable: the cookie alone decides */
  }
}

function wasSignedIn() {
  try {
    return localStorage.getItem(SIGNED_IN) === '1';
  } catch {
    return true;
  }
}

function signedOut(message, kind = 'error') {
  forget();
  clearPrivateCaches();
  remember(false);
  teardown();
  showLogin(message, kind);
}
// A view that ended the session itself (e.g. a password change) says so with this event.
window.addEventListener('xuncha:signed-out', (e) => signedOut(e.detail?.message || '', e.detail?.kind || 'error'));

function teardown() {
  closePopup();
  view?.();
  view = null;
  ctrl?.map.remove();
  ctrl = null;
  window.xuncha.ready = false;
}

function showLogin(message = '', kind = 'error') {
  document.body.className = 'login-page';
  app.innerHTML = html`
    <main class="login">
      <form class="login-card" autocomplete="on" novalidate>
        <div class="login-head">
          <h1>${t('app_title')}</h1>
          <button type="button" class="link lang">${t('lang_switch')}</button>
        </div>
        <p class="msg ${kind}" role="alert" ${message ? '' : 'hidden'}>${message}</p>
        <label>${t('username')}<input name="username" autocomplete="username" required autocapitalize="none"></label>
        <label>${t('password')}<input name="password" type="password" autocomplete="current-password" required></label>
        <button type="submit" class="primary">${t('sign_in')}</button>
        <p class="hint">${t('login_hint')}</p>
      </form>
    </main>`.toString();
  const form = $('form', app);
  $('.lang', form).addEventListener('click', () => {
    setLang(getLang() === 'en' ? 'zh' : 'en');
    showLogin(message, kind);
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = $('button[type=submit]', form);
    const msg = $('.msg', form);
    btn.disabled = true;
    btn.textContent = t('signing_in');
    try {
      const body = await api('/api/login', {
        method: 'POST',
        json: { username: form.username.value.trim(), password: form.password.value },
        noAuthRedirect: true,
      });
      // The token stays in the HttpOnly cookie; /api/me adds what the user is bound to (owner, scope).
      session.user = { username: body.username, role: body.role };
      try {
        session.user = await api('/api/me', { noAuthRedirect: true });
      } catch {
        /* the sign-in answer is enough to start; views that need owner or scope say so */
      }
      remember(true);
      await start();
    } catch (e) {
      msg.hidden = false;
      msg.className = 'msg error';
      msg.textContent = errorText(e, t);
      btn.disabled = false;
      btn.textContent = t('sign_in');
    }
  });
  form.username.focus();
}

async function start() {
  document.body.className = `role-${session.user.role}`;
  const role = session.user.role;
  app.innerHTML = html`
    <header class="topbar">
      <strong class="brand">${t('app_title')}</strong>
      <span class="spacer"></span>
      <button type="button" class="queue-badge" hidden></button>
      <button type="button" class="link who" title="${t('account_title')}">${session.user.username} · ${t(`role_${role}`)}</button>
      <button type="button" class="link lang">${t('lang_switch')}</button>
      <button type="button" class="link signout">${t('sign_out')}</button>
    </header>
    <div class="layout">
      <main class="panel" id="panel" tabindex="-1" aria-label="${t('a11y_main_panel')}"></main>
      <div class="map-wrap">
        <div id="map" class="map"></div>
        <div class="map-loading">${t('loading_map')}</div>
      </div>
    </div>`.toString();
  $('.signout').addEventListener('click', async () => {
    try {
      await api('/api/logout', { method: 'POST', noAuthRedirect: true });
    } catch (e) {
      toast(errorText(e, t), 'error');
    }
    signedOut('');
    const msg = $('.login .msg');
    if (msg) {
      msg.hidden = false;
      msg.className = 'msg ok';
      msg.textContent = t('signed_out');
    }
  });
  $('.topbar .who').addEventListener('click', async () => {
    const { openAccountDialog } = await import('./account.js');
    openAccountDialog();
  });
  $('.lang').addEventListener('click', () => {
    setLang(getLang() === 'en' ? 'zh' : 'en');
    teardown();
    start();
  });
  const panel = $('#panel');
  try {
    await loadMeta();
    ctrl = await createMap($('#map'), { onStatus: showStatus, onAuthLost: () => session.user && signedOut(t('session_expired')) });
  } catch (e) {
    $('.map-loading').innerHTML = html`<div class="error">${t('error')}: ${errorText(e, t)} <button type="button" class="retry">${t('retry')}</button></div>`.toString();
    $('.map-loading .retry').addEventListener('click', () => {
      teardown();
      start();
    });
    return;
  }
  $('.map-loading').remove();
  const extra = [];
  let mod;
  if (role === 'patrol') mod = await import('./patrol.js');
  else if (role === 'office') mod = await import('./office.js');
  else if (role === 'planner') mod = await import('./planner.js');
  else if (role === 'unit') mod = await import('./unit.js');
  else mod = await import('./admin.js');
  view = await mod.mount({ ctrl, panel, extra });
  ctrl.map.getContainer().parentElement.appendChild(layerSwitcher(ctrl, extra));
  ctrl.map.on('click', (e) => {
    if (ctrl.clickHandler && ctrl.clickHandler(e) === true) return;
    handleMapClick(ctrl, e);
  });
  for (const g of ['zones', 'routes', 'reports']) {
    for (const id of ctrl.layersOf(g)) {
      ctrl.map.on('mouseenter', id, () => (ctrl.map.getCanvas().style.cursor = 'pointer'));
      ctrl.map.on('mouseleave', id, () => (ctrl.map.getCanvas().style.cursor = ''));
    }
  }
  // Keyboard and screen-reader users start in the view's panel, not on a removed sign-in button.
  if (!document.activeElement || document.activeElement === document.body || !document.activeElement.isConnected) panel.focus({ preventScroll: true });
  window.xuncha.ready = true;
  document.body.dataset.ready = '1';
  warmAfterStart();
}

async function boot() {
  if (location.pathname === '/public') {
    const { mountPublic } = await import('./public.js');
    return mountPublic(app);
  }
  if (!wasSignedIn()) return showLogin('');
  app.innerHTML = html`<div class="boot">${t('loading')}</div>`.toString();
  try {
    const me = await api('/api/me', { noAuthRedirect: true });
    session.user = me;
    await start();
  } catch (e) {
    remember(false);
    // The session ended while the app was closed: what the worker stored for it goes too, so
    // the next user to sign in on this phone does not start from it.
    if (e.status === 401) {
      clearPrivateCaches();
      showLogin(/expired/i.test(e.message) ? t('session_expired') : '');
    } else showLogin(errorText(e, t));
  }
}

boot();
