// The campaign page: the office signs in, opens it from the office panel, and the days left,
// totals, target values and ranking rows equal /api/campaigns/{id}/summary.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, signIn, shot, DESKTOP } from './helpers.mjs';

let srv;
let browser;

before(async () => {
  srv = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

test('campaign page shows the summary of the demo campaign', async () => {
  const { context, page, errors } = await openPage(browser, srv.base, { viewport: DESKTOP });
  try {
    await signIn(page, 'office');
    await page.click('.office .open-campaign');
    await page.waitForSelector('.campaign-panel .days-left');
    const api = await page.evaluate(async () => {
      const { campaigns } = await (await fetch('/api/campaigns')).json();
      return (await fetch(`/api/campaigns/${campaigns[0].id}/summary`)).json();
    });
    assert.equal(api.campaign.name, '白山市城乡环境卫生百日攻坚');
    const shown = await page.evaluate(() => {
      const p = document.querySelector('.campaign-panel');
      const num = (sel) => Number(p.querySelector(sel).textContent);
      return {
        title: p.querySelector('h3').textContent,
        daysLeft: Number(p.querySelector('.days-left').dataset.daysLeft),
        found: num('[data-total=found]'),
        closed: num('[data-total=closed]'),
        open: num('[data-total=open]'),
        days: p.querySelectorAll('.campaign-chart .day').length,
        burndown: !!p.querySelector('.campaign-chart .burndown'),
        targets: [...p.querySelectorAll('.target .value')].map((e) => e.dataset.value),
        sector: [...p.querySelectorAll('[data-rank=sector] tbody tr')].map((r) => ({ key: r.dataset.key, cls: r.className })),
        text: p.textContent,
        patrolRoutes: [...p.querySelectorAll('.campaign-patrols tr.route')].map((r) => r.dataset.route),
      };
    });
    assert.equal(shown.title, api.campaign.name);
    assert.equal(shown.daysLeft, api.days_left);
    assert.match(shown.text, new RegExp(`剩余 ${api.days_left} 天`));
    assert.equal(shown.found, api.totals.found);
    assert.equal(shown.closed, api.totals.closed);
    assert.equal(shown.open, api.totals.open);
    assert.equal(shown.days, api.days.length);
    assert.equal(shown.burndown, api.burndown.length > 0);
    assert.deepEqual(shown.targets, api.targets.map((g) => (g.value == null ? '' : String(g.value))));
    assert.deepEqual(shown.sector.map((r) => r.key), api.rankings.sector.map((r) => r.key));
    assert.ok(shown.sector.length >= 2, 'several sectors ranked');
    assert.equal(shown.sector[0].cls, 'best');
    assert.equal(shown.sector[shown.sector.length - 1].cls, 'worst');
    assert.deepEqual(shown.patrolRoutes, api.patrol_coverage.routes.map((r) => r.id));
    assert.ok(shown.patrolRoutes.length >= 2, 'the demo routes are in the patrol coverage table');
    await shot(page, 'campaign-page');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
