// Admin: the street-office tools and the planner tools in one panel.

import { t } from './i18n.js';
import { html } from './dom.js';
import * as office from './office.js';
import * as planner from './planner.js';

export async function mount({ ctrl, panel, extra }) {
  const wrap = document.createElement('div');
  wrap.innerHTML = html`
    <details class="tab" open><summary>${t('office_title')}</summary><div class="tab-office"></div></details>
    <details class="tab" open><summary>${t('planner_title')}</summary><div class="tab-planner"></div></details>`.toString();
  panel.appendChild(wrap);
  const a = await office.mount({ ctrl, panel: wrap.querySelector('.tab-office'), extra, embedded: true });
  const b = await planner.mount({ ctrl, panel: wrap.querySelector('.tab-planner'), extra, embedded: true });
  return () => {
    a();
    b();
    wrap.remove();
  };
}
