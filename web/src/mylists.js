// Two lists a patrol opens from the phone page: the waiting queue (reports stored on the phone
// that the server has not acknowledged yet: each with its photos, retry and delete) and
// 我的上报 (the patrol's own reports from `GET /api/reports?mine=true`, with their status and
// the answer they got).

import { api, errorText } from './api.js';
import { t, categoryLabel } from './i18n.js';
import { html, el, $, $$, fmtTime, toast } from './dom.js';
import { session } from './session.js';
import * as outbox from './queue.js';

function dialog(cls, title) {
  const dlg = el(html`<dialog class="list-dialog ${cls}" aria-labelledby="${cls}-title">
    <div class="head"><h3 id="${cls}-title">${title}</h3><button type="button" class="close" aria-label="${t('close')}">×</button></div>
    <div class="body"><p class="loading">${t('loading')}</p></div>
  </dialog>`);
  document.body.appendChild(dlg);
  $('.close', dlg).addEventListener('click', () => dlg.close());
  dlg.addEventListener('close', () => {
    $$('img', dlg).forEach((i) => i.src.startsWith('blob:') && URL.revokeObjectURL(i.src));
    dlg.remove();
  });
  dlg.showModal();
  return { dlg, body: $('.body', dlg) };
}

/**
 * The waiting queue. `retry()` sends everything waiting (resolves when done); `changed()` is
 * called after a delete or a retry so the badge can follow.
 */
export async function openQueue({ retry, changed }) {
  const { dlg, body } = dialog('queue-dialog', t('outbox_title'));
  const render = async () => {
    const recs = (await outbox.all()).sort((a, b) => a.created - b.created);
    $$('img', body).forEach((i) => URL.revokeObjectURL(i.src));
    if (!recs.length) {
      body.innerHTML = html`<p class="muted empty">${t('outbox_empty')}</p>`.toString();
      return;
    }
    body.innerHTML = html`<p class="muted">${navigator.onLine ? t('outbox_online') : t('outbox_offline')}</p>
      <ul class="queue-list">${recs.map((r) => html`<li data-client-id="${r.client_id}">
        <div><b>${categoryLabel(session.categories, r.category)}</b> · <small>${fmtTime(new Date(r.created).toISOString())}</small></div>
        ${r.note ? html`<div class="note">${r.note}</div>` : ''}
        <div class="thumbs"></div>
        <div class="btns"><button type="button" class="retry">${t('retry')}</button><button type="button" class="delete danger">${t('delete')}</button></div>
      </li>`)}</ul>`.toString();
    for (const r of recs) {
      const li = body.querySelector(`li[data-client-id="${r.client_id}"]`);
      const box = $('.thumbs', li);
      (r.photos || []).forEach((p, i) => {
        const img = document.createElement('img');
        img.src = URL.createObjectURL(p.blob);
        img.alt = t('public_photo_n', { n: i + 1 });
        img.width = 64;
        img.height = 64;
        box.appendChild(img);
      });
      $('.retry', li).addEventListener('click', async () => {
        $$('button', body).forEach((b) => (b.disabled = true));
        await retry();
        await changed();
        await render();
        if (!dlg.open) return;
        if ((await outbox.all()).some((x) => x.client_id === r.client_id)) toast(t('outbox_still_waiting'), 'error');
      });
      $('.delete', li).addEventListener('click', async () => {
        if (!window.confirm(t('outbox_delete_confirm'))) return;
        await outbox.remove(r.client_id);
        await changed();
        await render();
      });
    }
  };
  await render();
  return dlg;
}

/** 我的上报: the patrol's own reports, newest first, with status and the latest answer. */
export async function openMyReports() {
  const { body } = dialog('mine-dialog', t('mine_title'));
  try {
    const fc = await api('/api/reports?mine=true&limit=50');
    if (!fc.features.length) {
      body.innerHTML = html`<p class="muted empty">${t('mine_empty')}</p>`.toString();
      return;
    }
    body.innerHTML = html`<ul class="mine-list">${fc.features.map((f) => {
      const p = f.properties;
      const who = p.assigned_to || p.responsible?.owner?.name || '';
      return html`<li data-id="${f.id ?? p.id}" class="status-${p.status}">
        <div><b>${t('report_no')} ${f.id ?? p.id}</b> · ${categoryLabel(session.categories, p.category)} · <span class="status">${t(`status_${p.status}`)}</span></div>
        <div class="muted"><small>${fmtTime(p.created_at)}</small>${who ? html` · ${who}` : ''}${p.overdue ? html` · <b class="overdue">${t('overdue')}</b>` : ''}</div>
        <div class="answer" hidden></div>
        <button type="button" class="link details">${t('mine_details')}</button>
      </li>`;
    })}</ul>`.toString();
    $$('.mine-list li', body).forEach((li) =>
      $('.details', li).addEventListener('click', async () => {
        const box = $('.answer', li);
        box.hidden = false;
        box.textContent = t('loading');
        try {
          const r = await api(`/api/reports/${li.dataset.id}`);
          const events = (r.events || []).filter((e) => e.note || (e.photos || []).length);
          const last = events[events.length - 1];
          box.innerHTML = last
            ? html`<small>${fmtTime(last.at)} · ${t(`status_${last.to}`)}</small>${last.note ? html`<p>${last.note}</p>` : ''}${(last.photos || []).map((ph) => html`<img src="${ph.thumb_url}" alt="${t('mine_answer_photo')}" width="64" height="64">`)}`.toString()
            : html`<small class="muted">${t('mine_no_answer')}</small>`.toString();
        } catch (e) {
          box.textContent = errorText(e, t);
        }
      }),
    );
  } catch (e) {
    body.innerHTML = html`<p class="error">${errorText(e, t)}</p>`.toString();
  }
}
