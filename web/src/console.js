// Admin console (系统管理): a full-width page over the map with one tab per tool — users, time
// limits, webhooks, audit log. Each tab is mounted fresh when shown, so it shows current data.

import { t } from './i18n.js';
import { html, el, $, $$ } from './dom.js';

const TABS = {
  users: () => import('./users.js'),
  limits: () => import('./timelimits.js'),
  hooks: () => import('./webhooks.js'),
  audit: () => import('./audit.js'),
};

/** Creates the console (hidden) inside `parent`; returns `{show(tab?), hide(), destroy()}`. */
export function createConsole(parent, { onHide } = {}) {
  const root = el(html`<div class="console" hidden>
    <nav class="console-tabs" role="tablist">
      ${Object.keys(TABS).map((k) => html`<button type="button" role="tab" data-tab="${k}" aria-selected="false">${t(`tab_${k}`)}</button>`)}
    </nav>
    <div class="console-body" role="tabpanel"></div>
  </div>`);
  parent.appendChild(root);
  const body = $('.console-body', root);
  let teardown = null;
  let current = null;
  let seq = 0;

  async function open(tab) {
    const my = ++seq;
    current = tab;
    $$('[data-tab]', root).forEach((b) => b.setAttribute('aria-selected', String(b.dataset.tab === tab)));
    teardown?.();
    teardown = null;
    body.innerHTML = html`<p class="loading">${t('loading')}</p>`.toString();
    const mod = await TABS[tab]();
    if (my !== seq) return;
    const box = document.createElement('div');
    box.className = `console-tab tab-${tab}`;
    body.replaceChildren(box);
    teardown = await mod.mount(box);
  }
  $$('[data-tab]', root).forEach((b) => b.addEventListener('click', () => open(b.dataset.tab)));

  const api = {
    get visible() {
      return !root.hidden;
    },
    show(tab = current || 'users') {
      root.hidden = false;
      document.body.classList.add('console-open');
      return open(tab);
    },
    hide() {
      root.hidden = true;
      document.body.classList.remove('console-open');
      onHide?.();
    },
    destroy() {
      teardown?.();
      document.body.classList.remove('console-open');
      root.remove();
    },
  };
  return api;
}
