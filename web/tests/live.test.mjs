// The office worklist follows the server live: a report filed through the API by another client
// appears in an open worklist within 2 s (marked and counted as new), and the search finds it by
// number and by the responsible owner's name.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, signIn, apiToken, shot, mapIdle, DESKTOP, SPOT } from './helpers.mjs';

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

async function fileReport(token, at, category = 'garbage') {
  const r = await fetch(`${srv.base}/api/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ lon: at.lon, lat: at.lat, category, note: '实时测试' }),
  });
  assert.equal(r.status, 201, await r.clone().text());
  return r.json();
}

test('a report filed through the API appears in the open office worklist within 2 s', async () => {
  const { context, page, errors } = await openPage(browser, srv.base, { viewport: DESKTOP });
  try {
    await signIn(page, 'office');
    await page.waitForSelector('.worklist .wl-conn[data-state=live]', { timeout: 30_000 });
    await page.waitForSelector('.worklist .wl-row', { timeout: 60_000 });
    assert.ok(await page.locator('.worklist .wl-new-count').isHidden(), 'no new reports yet');
    const patrol = await apiToken(srv.base, 'patrol');
    const filed = await fileReport(patrol, SPOT);
    const t0 = Date.now();
    // New reports are listed on top, whatever the order and the page.
    await page.waitForSelector(`.worklist .wl-row[data-report="${filed.id}"]`, { timeout: 2000 });
    assert.ok(Date.now() - t0 <= 2000, `arrived after ${Date.now() - t0} ms`);
    assert.equal(await page.$eval('.worklist .wl-row', (e) => e.dataset.report), String(filed.id), 'the new report is first');
    const badge = page.locator('.worklist .wl-new-count');
    await badge.waitFor({ state: 'visible', timeout: 1000 });
    assert.match(await badge.textContent(), /新上报 1 件/);

    // Search by number (on the server): exactly that report.
    const rowIds = () => page.$$eval('.worklist .wl-row', (els) => els.map((e) => e.dataset.report));
    await page.fill('.worklist input[name=q]', String(filed.id));
    await page.waitForFunction((q) => document.querySelector('.worklist .wl-rows').dataset.q === q, String(filed.id), { timeout: 5000 });
    assert.deepEqual(await rowIds(), [String(filed.id)]);
    assert.ok(await page.locator(`.wl-row[data-report="${filed.id}"].fresh .badge.new`).isVisible(), 'marked new');
    // Search by the responsible owner's name finds it too.
    const owner = filed.responsible?.owner?.name;
    assert.ok(owner, `the demo spot has a responsible owner: ${JSON.stringify(filed.responsible)}`);
    await page.fill('.worklist input[name=q]', owner);
    // The rows carry the search they answer once they are drawn.
    await page.waitForFunction((q) => document.querySelector('.worklist .wl-rows').dataset.q === q, owner, { timeout: 5000 });
    const byOwner = await rowIds();
    assert.ok(byOwner.includes(String(filed.id)), `owner search ${owner}: ${byOwner.slice(0, 10)}`);
    await shot(page, 'office-worklist-live');

    // A change made elsewhere updates the row; leaving the queue (rejected) removes it.
    const office = await apiToken(srv.base, 'office');
    const patch = (body) =>
      fetch(`${srv.base}/api/reports/${filed.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json', authorization: `Bearer ${office}` }, body: JSON.stringify(body) });
    assert.equal((await patch({ status: 'dispatched' })).status, 200);
    await page.waitForSelector(`.wl-row[data-report="${filed.id}"] .badge.st-dispatched`, { timeout: 2000 });
    assert.equal((await patch({ status: 'rejected', reason: 'invalid' })).status, 200);
    await page.waitForSelector(`.wl-row[data-report="${filed.id}"]`, { state: 'detached', timeout: 2000 });

    // Showing the new ones clears the count.
    await page.fill('.worklist input[name=q]', '');
    const second = await fileReport(patrol, { lon: SPOT.lon + 0.002, lat: SPOT.lat }, 'weeds');
    await page.waitForSelector(`.wl-row[data-report="${second.id}"]`, { timeout: 2000 });
    await badge.click();
    await badge.waitFor({ state: 'hidden', timeout: 5000 });
    assert.equal(await page.inputValue('.worklist select[name=sort]'), 'newest');
    assert.equal(await page.$eval('.worklist .wl-row', (e) => e.dataset.report), String(second.id), 'newest first');
    assert.equal(await page.locator('.worklist .wl-row.fresh').count(), 0, 'the marks are gone');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

/** Opens report `id` through the worklist's search (no map click needed). */
async function openFromWorklist(page, id) {
  await page.fill('.worklist input[name=q]', String(id));
  await page.waitForSelector(`.worklist .wl-row[data-report="${id}"]`, { timeout: 10_000 });
  await page.click(`.worklist .wl-row[data-report="${id}"] .wl-open`);
  await page.waitForSelector(`.report-pop dl dd:text-is("${id}")`, { timeout: 10_000 });
  // The map eases to the report and carries the popup with it: act once it has settled.
  await mapIdle(page);
}

test('rejecting asks for a reason and, for a duplicate, the original; both reports link to each other', async () => {
  const { context, page, requests, errors } = await openPage(browser, srv.base, { viewport: DESKTOP });
  try {
    const patrol = await apiToken(srv.base, 'patrol');
    const original = await fileReport(patrol, { lon: SPOT.lon - 0.003, lat: SPOT.lat + 0.001 }, 'weeds');
    const dup = await fileReport(patrol, { lon: SPOT.lon - 0.003, lat: SPOT.lat + 0.0011 }, 'weeds');
    await signIn(page, 'office');
    await page.waitForSelector('.worklist .wl-row', { timeout: 60_000 });
    await openFromWorklist(page, dup.id);
    const pop = page.locator('.report-pop');
    const patches = () => requests.filter((u) => u.endsWith(`/api/reports/${dup.id}`)).length;
    const before = patches();

    // No reason chosen: refused in the form, nothing sent.
    assert.equal(await pop.locator('.act-reason').inputValue(), '', 'no reason is preselected');
    await pop.locator('button[data-status=rejected]').click();
    await pop.locator('.act-error').waitFor({ state: 'visible' });
    assert.equal(await pop.locator('.act-error').textContent(), '驳回前请选择原因。');
    assert.equal(await pop.locator('.act-reason').evaluate((e) => document.activeElement === e), true, 'focus on the reason');

    // A duplicate without its original: refused too.
    await pop.locator('.act-reason').selectOption('duplicate');
    await pop.locator('.act-dup').waitFor({ state: 'visible' });
    await pop.locator('button[data-status=rejected]').click();
    assert.equal(await pop.locator('.act-error').textContent(), '重复上报请填写原上报的编号。');
    assert.equal(patches(), before, 'no request was sent for a refused rejection');
    const still = await (await fetch(`${srv.base}/api/reports/${dup.id}`, { headers: { authorization: `Bearer ${patrol}` } })).json();
    assert.equal(still.status, 'reported');

    await pop.locator('.act-dup').fill(String(original.id));
    await pop.locator('button[data-status=rejected]').click();
    await pop.locator('.badge.st-rejected').first().waitFor({ timeout: 5000 });
    const link = pop.locator(`.dup-of a[data-report="${original.id}"]`);
    assert.ok(await link.isVisible(), 'the duplicate links to its original');
    const stored = await (await fetch(`${srv.base}/api/reports/${dup.id}`, { headers: { authorization: `Bearer ${patrol}` } })).json();
    assert.equal(stored.reject_reason, 'duplicate');
    assert.equal(stored.duplicate_of, original.id);

    // The original links back.
    await link.click();
    await page.waitForSelector(`.report-pop .dup-by a[data-report="${dup.id}"]`, { timeout: 5000 });
    assert.equal(await page.locator('.report-pop dl dd').first().textContent(), String(original.id));
    await shot(page, 'office-reject-duplicate');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('dispatch shows whom and when (the limit by default, another time if chosen); a rejection is undone by reopening', async () => {
  const { context, page, errors } = await openPage(browser, srv.base, { viewport: DESKTOP });
  try {
    const patrol = await apiToken(srv.base, 'patrol');
    const office = await apiToken(srv.base, 'office');
    const get = async (id) => (await fetch(`${srv.base}/api/reports/${id}`, { headers: { authorization: `Bearer ${office}` } })).json();
    const original = await fileReport(patrol, { lon: SPOT.lon + 0.001, lat: SPOT.lat - 0.001 }, 'garbage');
    const dup = await fileReport(patrol, { lon: SPOT.lon + 0.0011, lat: SPOT.lat - 0.001 }, 'garbage');
    await signIn(page, 'office');
    await page.waitForSelector('.worklist .wl-row', { timeout: 60_000 });

    // Reject as a duplicate, then undo.
    await openFromWorklist(page, dup.id);
    const pop = page.locator('.report-pop');
    await pop.locator('.act-reason').selectOption('duplicate');
    await pop.locator('.act-dup').fill(String(original.id));
    await pop.locator('button[data-status=rejected]').click();
    await pop.locator('.badge.st-rejected').first().waitFor({ timeout: 5000 });
    const undo = pop.locator('button[data-status=reopened]');
    assert.equal((await undo.textContent()).trim(), '撤销驳回（重新打开）');
    await undo.click();
    await pop.locator('.badge.st-reopened').first().waitFor({ timeout: 5000 });
    assert.equal(await pop.locator('.dup-of').count(), 0, 'the duplicate link is gone');
    const reopened = await get(dup.id);
    assert.equal(reopened.status, 'reopened');
    assert.equal(reopened.duplicate_of, null);

    // Dispatch: the default owner and the limit's due time are shown; a chosen time is stored.
    const box = pop.locator('.dispatch-box');
    await box.waitFor();
    assert.match(await box.locator('.act-assign').getAttribute('placeholder'), new RegExp(reopened.responsible.owner.name));
    await page.waitForFunction(() => document.querySelector('.report-pop .act-due').value !== '');
    const limits = await (await fetch(`${srv.base}/api/settings/time-limits`, { headers: { authorization: `Bearer ${office}` } })).json();
    const handle = (limits.categories.garbage || limits.default).handle_s;
    // Local times are read and written in the page (its time zone, not the test runner's).
    const shown = await box.locator('.act-due').evaluate((e) => ({ value: e.value, ms: new Date(e.value).getTime(), now: Date.now() }));
    assert.ok(Math.abs(shown.ms - (shown.now + handle * 1000)) < 3 * 60_000, `default due ${shown.value} is the ${handle} s limit from now`);
    assert.match(await box.locator('.act-due-hint').textContent(), /默认/);
    const chosen = await page.evaluate(() => {
      const d = new Date(Date.now() + 3 * 86400_000);
      d.setSeconds(0, 0);
      const p = (n) => String(n).padStart(2, '0');
      return { ms: d.getTime(), local: `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}` };
    });
    await box.locator('.act-due').fill(chosen.local);
    await pop.locator('button[data-status=dispatched]').click();
    await pop.locator('.badge.st-dispatched').first().waitFor({ timeout: 5000 });
    const stored = await get(dup.id);
    assert.equal(new Date(stored.due_at).getTime(), chosen.ms, `${stored.due_at} vs ${chosen.local}`);
    assert.equal(stored.assigned_to, reopened.responsible.owner.name);
    await shot(page, 'office-dispatch-due');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('server errors in the Chinese UI are Chinese (from the error code)', async () => {
  const { context, page, errors } = await openPage(browser, srv.base, { viewport: DESKTOP, allowConsole: [/400/, /Failed to load resource/] });
  try {
    await signIn(page, 'office');
    await page.waitForSelector('.office .ranking li:not(.loading)', { timeout: 60_000 });
    await page.fill('.office input[name=since]', '2026-06-01');
    await page.fill('.office input[name=until]', '2026-01-01');
    await page.click('.office form.filters button[type=submit]');
    const shown = page.locator('.office .ranking li.muted');
    await shown.waitFor({ timeout: 10_000 });
    assert.equal(await shown.textContent(), '开始日期不能晚于结束日期。');
    await page.waitForSelector('.stats-panel .error', { timeout: 10_000 });
    const areas = await page.$$eval('.office .error, .office .ranking li.muted', (els) => els.map((e) => e.textContent.trim()));
    assert.ok(areas.length >= 2, JSON.stringify(areas));
    for (const text of areas) assert.ok(/[\u4e00-\u9fff]/.test(text) && !/since|until|must/.test(text), `not Chinese: ${text}`);
    // An error without a code known to the client reads as a Chinese message with its status.
    const generic = await page.evaluate(async () => {
      const { errorText, ApiError } = window.xuncha.api;
      return [errorText(new ApiError(418, 'teapot says no', [], { error: 'teapot says no' })), errorText(new ApiError(404, 'gone', [], { error: 'gone', code: 'not_found', params: {} }))];
    });
    assert.deepEqual(generic, ['操作未成功（HTTP 418），请稍后重试或联系管理员。', '找不到该记录，可能已被删除或不在您的权限范围内。']);
    assert.deepEqual(errors.filter((e) => !/pageerror/.test(e) && !/4\d\d/.test(e)), []);
  } finally {
    await context.close();
  }
});
