// The campaign page (百日攻坚) of the office view: days left, the daily chart with the
// burn-down to the end date (SVG), target progress bars, and the 红黑榜 rankings with the best
// and worst rows highlighted. Everything comes from /api/campaigns/{id}/summary.

import { api, errorText } from './api.js';
import { t } from './i18n.js';
import { html, raw, toast } from './dom.js';

const pct = (v) => (v == null ? '—' : `${(v * 100).toFixed(1)}%`);

/** The daily found / closed bars, the backlog line and the dashed burn-down to the end. */
function chart(s) {
  const days = s.days || [];
  const burn = s.burndown || [];
  const n = days.length + Math.max(0, burn.length - 1);
  if (!n) return html`<p class="muted">${t('stats_empty')}</p>`.toString();
  const W = 320;
  const H = 120;
  const pad = { l: 26, r: 4, t: 6, b: 16 };
  const max = Math.max(1, ...days.map((d) => Math.max(d.found, d.closed, d.backlog)), ...burn.map((b) => b.backlog));
  const bw = (W - pad.l - pad.r) / n;
  const x = (i) => pad.l + i * bw;
  const y = (v) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const bars = days.map((d, i) => html`<g class="day" data-day="${d.date}"><title>${d.date}${t('colon')}${t('campaign_found')} ${d.found}${t('comma')}${t('campaign_closed')} ${d.closed}${t('comma')}${t('campaign_backlog')} ${d.backlog}</title>
    <rect x="${x(i).toFixed(2)}" y="${y(d.found).toFixed(2)}" width="${Math.max(0.6, bw / 2).toFixed(2)}" height="${(y(0) - y(d.found)).toFixed(2)}" class="found"/>
    <rect x="${(x(i) + bw / 2).toFixed(2)}" y="${y(d.closed).toFixed(2)}" width="${Math.max(0.6, bw / 2 - 0.5).toFixed(2)}" height="${(y(0) - y(d.closed)).toFixed(2)}" class="closed"/></g>`);
  const line = days.map((d, i) => `${(x(i) + bw / 2).toFixed(2)},${y(d.backlog).toFixed(2)}`).join(' ');
  const b0 = days.length - 1;
  const burnLine = burn.map((b, i) => `${(x(b0 + i) + bw / 2).toFixed(2)},${y(b.backlog).toFixed(2)}`).join(' ');
  const last = burn.length ? burn[burn.length - 1].date : days[days.length - 1]?.date;
  return html`<svg class="chart campaign-chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${t('campaign_title')}">
    <line x1="${pad.l}" x2="${W - pad.r}" y1="${y(0)}" y2="${y(0)}" class="axis"/>
    <text x="${pad.l - 3}" y="${y(max) + 4}" text-anchor="end">${max}</text>
    <text x="${pad.l - 3}" y="${y(0)}" text-anchor="end">0</text>
    ${bars}
    <polyline points="${line}" fill="none" stroke="#b2182b" stroke-width="1.5" class="backlog"/>
    ${burn.length ? html`<polyline points="${burnLine}" fill="none" stroke="#555" stroke-width="1.2" stroke-dasharray="4 3" class="burndown"/>` : ''}
    <text x="${pad.l}" y="${H - 3}">${s.campaign.start}</text>
    <text x="${W - pad.r}" y="${H - 3}" text-anchor="end">${last || s.campaign.end}</text>
  </svg>
  <div class="chart-key"><i class="sw" data-bg="#4393c3"></i>${t('campaign_found')} <i class="sw" data-bg="#9fbfb2"></i>${t('campaign_closed')} <i class="sw" data-bg="#b2182b"></i>${t('campaign_backlog')} <i class="sw" data-bg="#555"></i>${t('campaign_burndown')}</div>`.toString();
}

function targets(s) {
  return s.targets.map((g) => {
    const days = g.id === 'no_recurring_hotspot_days';
    const frac = g.value == null ? 0 : Math.min(1, days ? g.value / Math.max(1, g.target) : g.value / Math.max(1e-9, g.target));
    const val = days ? (g.value == null ? '—' : String(g.value)) : pct(g.value);
    const goal = days ? String(g.target) : pct(g.target);
    const met = g.met == null ? '' : g.met ? t('campaign_met') : t('campaign_not_met');
    return html`<div class="target ${g.met ? 'met' : 'unmet'}" data-target="${g.id}">
      <span class="name">${t(`campaign_target_${g.id}`)}</span>
      <svg class="bar" viewBox="0 0 100 6" width="120" height="8" aria-hidden="true"><rect width="100" height="6" fill="#ddd"/><rect width="${(frac * 100).toFixed(1)}" height="6" fill="${g.met ? '#1a9850' : '#d6604d'}"/></svg>
      <span class="value" data-value="${g.value == null ? '' : g.value}">${val} / ${goal}</span> <b>${met}</b></div>`;
  });
}

function ranking(key, rows) {
  return html`<h4>${t(`campaign_rank_${key}`)}</h4>
  <table class="campaign-rank" data-rank="${key}"><thead><tr><th>#</th><th>${t('campaign_col_name')}</th><th>${t('campaign_col_total')}</th><th>${t('campaign_col_closed_share')}</th><th>${t('campaign_col_on_time')}</th><th>${t('campaign_col_repeats')}</th><th></th></tr></thead>
  <tbody>${rows.map((r, i) => html`<tr class="${r.best ? 'best' : r.worst ? 'worst' : ''}" data-key="${r.key}"><td>${i + 1}</td><td>${r.label}</td><td>${r.total}</td><td>${pct(r.closed_share)}</td><td>${pct(r.on_time_share)}</td><td>${r.repeats}</td><td>${r.best ? t('campaign_best') : r.worst ? t('campaign_worst') : ''}</td></tr>`)}</tbody></table>`;
}

/** Patrol coverage per route and team over the campaign days so far. */
function patrolTable(pc) {
  if (!pc || !pc.routes.length) return html`<p class="muted">${t('campaign_patrol_none')}</p>`;
  return html`<p class="muted">${t('campaign_patrol_threshold', { v: pct(pc.threshold) })}</p>
  <table class="campaign-patrols"><thead><tr><th>${t('campaign_col_route')}</th><th>${t('campaign_col_team')}</th><th>${t('campaign_col_days')}</th><th>${t('campaign_col_points')}</th><th>${t('campaign_col_mean_share')}</th><th>${t('campaign_col_checkins')}</th></tr></thead>
  <tbody>${pc.routes.map((r) => html`<tr class="route" data-route="${r.id}"><th scope="row">${r.name}</th><td>${t('campaign_all_teams')}</td><td>${t('campaign_days_met', { n: r.days_met, total: r.days })}</td><td></td><td>${pct(r.mean_share)}</td><td>${t('campaign_missed', { n: r.missed_windows })}</td></tr>
    ${r.teams.map((m) => html`<tr data-team="${m.user}"><td></td><td>${m.user}</td><td>${m.days}</td><td>${m.points}</td><td>${pct(m.mean_share)}</td><td>${m.checkins}</td></tr>`)}`)}</tbody></table>`;
}

/** Renders the newest campaign into `section` (replacing its content). */
export async function mountCampaign(section) {
  section.innerHTML = html`<h3>${t('campaign_title')}</h3><p class="loading">${t('loading')}</p>`.toString();
  try {
    const { campaigns } = await api('/api/campaigns');
    if (!campaigns.length) {
      section.innerHTML = html`<h3>${t('campaign_title')}</h3><p class="muted">${t('campaign_none')}</p>`.toString();
      return;
    }
    const c = campaigns[0];
    const s = await api(`/api/campaigns/${c.id}/summary`);
    const today = s.today;
    const week = s.days.length ? s.days[Math.max(0, s.days.length - 7)].date : c.start;
    section.innerHTML = html`<h3>${c.name}</h3>
      <p class="days-left" data-days-left="${s.days_left}">${t('campaign_days_left', { n: s.days_left, total: s.days_total })}</p>
      <p class="totals">${t('campaign_found')} <b data-total="found">${s.totals.found}</b> · ${t('campaign_closed')} <b data-total="closed">${s.totals.closed}</b> · ${t('campaign_backlog')} <b data-total="open">${s.totals.open}</b></p>
      <div class="campaign-chart-wrap">${raw(chart(s))}</div>
      ${s.burndown_rate_per_day != null ? html`<p class="rate">${t('campaign_rate', { n: s.burndown_rate_per_day })}</p>` : ''}
      <h4>${t('campaign_targets')}</h4>
      <div class="targets">${targets(s)}</div>
      ${ranking('street', s.rankings.street)}
      ${ranking('community', s.rankings.community)}
      ${ranking('sector', s.rankings.sector)}
      <section class="patrol-coverage"><h4>${t('campaign_patrol_title')}</h4>${patrolTable(s.patrol_coverage)}</section>
      <p><a class="bulletin" href="/api/campaigns/${c.id}/bulletin?week=${week}" target="_blank" rel="noopener" data-today="${today}">${t('campaign_bulletin')}</a>
        · <a class="bulletin-png" href="/api/campaigns/${c.id}/bulletin?week=${week}&format=png" target="_blank" rel="noopener">${t('campaign_bulletin_png')}</a></p>`.toString();
  } catch (e) {
    toast(errorText(e, t), 'error');
    section.innerHTML = html`<h3>${t('campaign_title')}</h3><p class="muted">${errorText(e, t)}</p>`.toString();
  }
}
