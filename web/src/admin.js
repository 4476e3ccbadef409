// Admin: the street-office tools and the planner tools in one panel over the map, and the
// system console (users, time limits, webhooks, audit log) behind a top-bar switch.

import { t } from './i18n.js';
import { html, $ } from './dom.js';
import * as office from './office.js';
import * as planner from './planner.js';
import { createConsole } from './console.js';

export async function mount({ ctrl, panel, extra }) {
  const wrap = document.createElement('div');
  wrap.innerHTML = html`
    <details class="tab" open><summary>${t('office_title')}</summary><div class="tab-office"></div></details>
    <details class="tab" open><summary>${t('planner_title')}</summary><div class="tab-planner"></div></details>`.toString();
  panel.appendChild(wrap);
  const a = await office.mount({ ctrl, panel: wrap.querySelector('.tab-office'), extra, embedded: true });
  const b = await planner.mount({ ctrl, panel: wrap.querySelector('.tab-planner'), extra, embedded: true });

  // The switch sits in the top bar, left of the user's name.
  const toggle = document.createElement('button');
  toggle.type = 'button';
  toggle.className = 'console-toggle';
  toggle.setAttribute('aria-pressed', 'false');
  toggle.textContent = t('console_open');
  const con = createConsole(document.querySelector('.layout').parentElement, {
    onHide: () => {
      toggle.setAttribute('aria-pressed', 'false');
      toggle.textContent = t('console_open');
      ctrl.map.resize();
    },
  });
  toggle.addEventListener('click', () => {
    if (con.visible) return con.hide();
    toggle.setAttribute('aria-pressed', 'true');
    toggle.textContent = t('back_to_map');
    con.show();
  });
  $('.topbar .spacer').after(toggle);
  return () => {
    con.destroy();
    toggle.remove();
    a();
    b();
    wrap.remove();
  };
}
