// The closed loop in the browser, on one demo server: a street office scoped to its zone sees only
// its reports; the responsible unit (宏达酸菜馆) on a phone acknowledges a task and answers it with
// an after-photo, and the office then sees it resolved; an admin creates and disables a user and
// reads both in the audit log; a report made overdue for real by a short time limit is red in the
// office queue. The time-limit test runs last: it changes a setting the others do not depend on.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startServer, launch, openPage, signIn, mapIdle, offOrigin, shot, apiToken, DESKTOP, PHONE, ARTIFACTS, SPOT, browserJpeg, appStarted } from './helpers.mjs';

let srv;
let browser;
const JPEG = join(ARTIFACTS, 'fixture-after-1600x1200.jpg');
const UNIT_OWNER = '宏达酸菜馆';
const OPEN = ['reported', 'dispatched', 'in_progress', 'resolved', 'reopened'];

before(async () => {
  srv = await startServer();
  browser = await launch();
  // A real JPEG "after" photo, encoded by the browser's own JPEG encoder.
  await browserJpeg(browser, JPEG, { w: 1600, h: 1200, from: '#9aa7a0', to: '#e7efe9' });
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

/** A JSON API call with a bearer token; throws with the server's answer on a non-2xx status. */
async function call(token, path, { method = 'GET', json } = {}) {
  const headers = { authorization: `Bearer ${token}` };
  if (json !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${srv.base}${path}`, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path} → ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Every report a token's user may list with `query` (all pages). */
async function listAll(token, query = '') {
  const out = [];
  let cursor = '';
  for (;;) {
    const fc = await call(token, `/api/reports?limit=1000${query ? `&${query}` : ''}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...fc.features);
    if (!fc.next_cursor) return out;
    cursor = fc.next_cursor;
  }
}

/** The ids shown in the office queue (every page of it). */
async function queueIds(page) {
  await page.waitForSelector('.worklist .wl-rows .wl-row, .worklist .wl-rows .muted', { timeout: 30_000 });
  // Each "more" loads the next page from the server; wait for it before asking again.
  const more = page.locator('.worklist .wl-more');
  while (!(await more.isHidden())) {
    const n = await page.locator('.worklist .wl-row').count();
    await more.click();
    await page.waitForFunction((n) => document.querySelectorAll('.worklist .wl-row').length > n || document.querySelector('.worklist .wl-more').hidden, n, { timeout: 15_000 });
  }
  return page.$$eval('.worklist .wl-row', (rows) => rows.map((r) => Number(r.dataset.report)));
}

/** Whether a CSS colour is clearly red (red channel well above green and blue). */
function reddish(css) {
  const m = css.match(/rgba?\((\d+), (\d+), (\d+)/);
  if (!m) return false;
  const [r, g, b] = m.slice(1).map(Number);
  return r > 150 && r - g > 25 && r - b > 25;
}

test('a street office scoped to 城南街道 sees fewer reports than the city office, none outside its zone', async () => {
  const office = await apiToken(srv.base, 'office');
  const scoped = await apiToken(srv.base, 'chengnan');
  const me = await call(scoped, '/api/me');
  assert.equal(me.scope, 'street-chengnan');
  const status = `status=${OPEN.join(',')}`;
  const cityOpen = await listAll(office, status);
  const inZone = new Set((await listAll(office, `${status}&zone=street-chengnan`)).map((f) => f.id));
  assert.ok(inZone.size > 0 && inZone.size < cityOpen.length, `the demo city has open reports inside and outside the zone: ${inZone.size} of ${cityOpen.length}`);

  // What each office sees in its queue.
  const seen = {};
  for (const user of ['office', 'chengnan']) {
    const { context, page, errors, requests } = await openPage(browser, srv.base);
    try {
      await signIn(page, user);
      seen[user] = await queueIds(page);
      await page.locator('.worklist').scrollIntoViewIfNeeded();
      await shot(page, `queue-${user}-desktop`);
      assert.deepEqual(offOrigin(requests, srv.base), []);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  }
  assert.equal(seen.office.length, cityOpen.length, 'the city office queue lists every open report');
  assert.ok(seen.chengnan.length < seen.office.length, `chengnan sees fewer (${seen.chengnan.length}) than office (${seen.office.length})`);
  assert.deepEqual(seen.chengnan.filter((id) => !inZone.has(id)), [], 'no queue row outside street-chengnan');
  assert.equal(seen.chengnan.length, inZone.size, 'every open report of the zone is in its queue');

  // What the server gives the scoped office: only reports whose stored match includes its zone.
  const asScoped = await listAll(scoped, status);
  const outside = asScoped.filter((f) => !f.properties.zones.some((z) => z.id === 'street-chengnan')).map((f) => f.id);
  assert.deepEqual(outside, [], `GET /api/reports as chengnan lists no report outside street-chengnan (got ${asScoped.length}, ${outside.length} outside, e.g. ${outside.slice(0, 5)})`);
  assert.deepEqual(asScoped.map((f) => f.id).sort((a, b) => a - b), [...inZone].sort((a, b) => a - b), 'the scoped list is the zone query of the city office');
});

test('the unit on a phone acknowledges its task and answers it with a photo; the office then sees it resolved', async () => {
  const office = await apiToken(srv.base, 'office');
  const unit = await apiToken(srv.base, 'unit');
  assert.equal((await call(unit, '/api/me')).owner, UNIT_OWNER);
  // The demo seeds dispatched tasks for the restaurant; pick one from the city office's list.
  const all = await listAll(office, `status=${OPEN.join(',')}`);
  const mine = all.filter((f) => f.properties.assigned_to === UNIT_OWNER || f.properties.escalated_to === UNIT_OWNER);
  const task = mine.find((f) => f.properties.status === 'dispatched');
  assert.ok(task, `a dispatched task for ${UNIT_OWNER} in the demo data: ${mine.map((f) => `${f.id}:${f.properties.status}`)}`);

  const note = `已清理完毕 ${randomUUID().slice(0, 8)}`;
  const { context, page, errors, requests } = await openPage(browser, srv.base, { viewport: PHONE });
  try {
    await signIn(page, 'unit');
    await page.waitForSelector(`.unit .task[data-report="${task.id}"]`, { timeout: 30_000 });
    // The list: exactly the unit's open tasks, soonest due first, overdue ones red.
    const rows = await page.$$eval('.unit .todo .task', (ls) =>
      ls.map((l) => ({ id: Number(l.dataset.report), due: l.dataset.due, overdue: l.classList.contains('overdue'), label: !!l.querySelector('.overdue-badge'), bg: getComputedStyle(l.querySelector('.task-open')).backgroundColor })),
    );
    const todo = mine.filter((f) => ['dispatched', 'in_progress', 'reopened'].includes(f.properties.status));
    assert.deepEqual(rows.map((r) => r.id).sort((a, b) => a - b), todo.map((f) => f.id).sort((a, b) => a - b), 'the list holds the open tasks dispatched or escalated to the unit');
    const dues = rows.map((r) => (r.due ? Date.parse(r.due) : Infinity));
    assert.deepEqual(dues, [...dues].sort((a, b) => a - b), 'sorted by due time');
    for (const r of rows) {
      const f = todo.find((x) => x.id === r.id);
      // A deadline passing right now may be marked by the sweep between the two reads.
      if (f.properties.due_at && Math.abs(Date.parse(f.properties.due_at) - Date.now()) < 60_000) continue;
      assert.equal(r.overdue, f.properties.overdue, `task ${r.id} is marked overdue exactly when the server says so`);
      assert.equal(r.label, f.properties.overdue, `task ${r.id} carries the 已超时 label exactly when overdue`);
      if (r.overdue) assert.ok(reddish(r.bg) || /253, 236, 234/.test(r.bg), `overdue task ${r.id} is red: ${r.bg}`);
    }
    if (rows.some((r) => r.overdue)) assert.match(await page.textContent('.unit .task.overdue'), /已超时/);
    const fit = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, w: window.innerWidth }));
    assert.ok(fit.doc <= fit.w, `no sideways scroll at 390 px: ${JSON.stringify(fit)}`);
    await mapIdle(page);
    await shot(page, 'unit-tasks-phone');

    // The task: on the map, with its photo and history.
    await page.click(`.unit .task[data-report="${task.id}"] .task-open`);
    await page.waitForSelector('.unit .task-detail .task-title');
    await page.waitForSelector('.unit .task-detail .thumbs img');
    assert.ok((await page.locator('.unit .task-detail .events li').count()) >= 2, 'its events are listed');
    await mapIdle(page);
    const centre = await page.evaluate(() => window.xuncha.ctrl.map.getCenter().toArray());
    const [lon, lat] = task.geometry.coordinates;
    assert.ok(Math.abs(centre[0] - lon) < 2e-4 && Math.abs(centre[1] - lat) < 2e-4, `the map centres on the task: ${centre} vs ${[lon, lat]}`);
    const onMap = await page.evaluate((id) => window.xuncha.ctrl.map.queryRenderedFeatures({ layers: ['unit-tasks-dot'] }).some((f) => f.properties.id === id), task.id);
    assert.ok(onMap, 'the task is drawn on the map');
    await shot(page, 'unit-task-phone');

    // 接单: dispatched → in_progress.
    await page.click('.unit .task-detail .ack');
    await page.waitForSelector('.unit .task-detail .task-title .st-in_progress', { timeout: 15_000 });
    assert.equal((await call(office, `/api/reports/${task.id}`)).status, 'in_progress');

    // 反馈 without a photo is refused before anything is sent, with a clear message.
    await page.fill('.unit .answer textarea', note);
    await page.click('.unit .answer .send');
    await page.waitForSelector('.unit .task-detail .msg.error:not([hidden])');
    assert.match(await page.textContent('.unit .task-detail .msg.error'), /照片/);
    assert.equal((await call(office, `/api/reports/${task.id}`)).status, 'in_progress', 'nothing was sent');

    // With the after-photo (multipart): → resolved.
    await page.setInputFiles('.unit .answer input[type=file]', JPEG);
    await page.waitForSelector('.unit .answer .previews img');
    await shot(page, 'unit-answer-phone');
    await page.click('.unit .answer .send');
    await page.waitForSelector('.unit .task-detail .task-title .st-resolved', { timeout: 30_000 });
    const done = await call(office, `/api/reports/${task.id}`);
    assert.equal(done.status, 'resolved');
    const last = done.events.filter((e) => e.to === 'resolved').at(-1);
    assert.equal(last.note, note);
    assert.equal(last.user, 'unit');
    assert.ok(last.photos.length >= 1, 'the after-photo is stored with the answer');
    assert.ok((await page.locator('.unit .task-detail .events .thumbs img').count()) >= 1, 'the after-photo shows in the history');
    await shot(page, 'unit-answered-phone');
    // Back in the list it waits for the office under 已反馈.
    await page.click('.unit .task-detail .back');
    await page.waitForSelector(`.unit .answered .task[data-report="${task.id}"]`, { state: 'attached' });
    assert.equal(await page.locator(`.unit .todo .task[data-report="${task.id}"]`).count(), 0);
    assert.deepEqual(offOrigin(requests, srv.base), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }

  // The office finds it in its queue and opens it: resolved, with the unit's note and photo.
  const o = await openPage(browser, srv.base);
  try {
    await signIn(o.page, 'office');
    await o.page.waitForSelector('.worklist .wl-row', { timeout: 30_000 });
    await o.page.fill('.worklist .wl-search', String(task.id));
    const row = o.page.locator(`.worklist .wl-row[data-report="${task.id}"]`);
    await row.waitFor();
    assert.match(await row.textContent(), /已处置/);
    await row.locator('.wl-open').click();
    await o.page.waitForSelector('.report-pop .st-resolved', { timeout: 15_000 });
    const pop = await o.page.textContent('.report-pop');
    assert.ok(pop.includes(note), `the popup shows the answer: ${pop}`);
    assert.ok(pop.includes(UNIT_OWNER));
    assert.ok((await o.page.locator('.report-pop [data-status=closed]').count()) === 1, 'the office can verify and close it');
    await mapIdle(o.page);
    await shot(o.page, 'office-sees-resolved-desktop');
    assert.deepEqual(o.errors, []);
  } finally {
    await o.context.close();
  }
});

test('admin creates a user, the user changes its password, admin disables it; the audit log shows it all', async () => {
  const admin = await apiToken(srv.base, 'admin');
  const name = `xc${randomUUID().slice(0, 8)}`;
  const pw1 = 'qingshan river walk 7';
  const pw2 = 'baishan autumn leaves 9';
  // The refused creation below is answered 422 on purpose.
  const { context, page, errors, requests } = await openPage(browser, srv.base, { allowConsole: [/status of 422 .*\/api\/users$/] });
  let userId;
  try {
    await signIn(page, 'admin');
    await page.click('.topbar .console-toggle');
    await page.waitForSelector('.console .users-table tbody tr[data-user]');
    // A refused creation shows the server's reason.
    await page.fill('.user-form input[name=username]', name);
    await page.fill('.user-form input[name=password]', 'short');
    await page.click('.user-form button[type=submit]');
    await page.waitForSelector('.user-form .msg.error:not([hidden])');
    assert.match(await page.textContent('.user-form .msg'), /10/);
    // An office user bound to 城南街道.
    await page.selectOption('.user-form select[name=role]', 'office');
    await page.waitForSelector('.user-form select[name=scope] option[value="street-chengnan"]', { state: 'attached' });
    await page.selectOption('.user-form select[name=scope]', 'street-chengnan');
    await page.fill('.user-form input[name=password]', pw1);
    await page.click('.user-form button[type=submit]');
    await page.waitForSelector('.user-form .msg.ok:not([hidden])');
    const row = page.locator(`.users-table tr[data-username="${name}"]`);
    await row.waitFor();
    userId = Number(await row.getAttribute('data-user'));
    assert.match(await row.textContent(), /城南街道/);
    const created = (await call(admin, '/api/users')).users.find((u) => u.username === name);
    assert.deepEqual([created.role, created.scope, created.disabled], ['office', 'street-chengnan', false]);
    await shot(page, 'admin-users-desktop');

    // The new user changes its own password in the account dialog (a wrong current one is refused).
    const u = await openPage(browser, srv.base);
    try {
      await u.page.fill('input[name=username]', name);
      await u.page.fill('input[name=password]', pw1);
      await u.page.click('button[type=submit]');
      await appStarted(u.page);
      await u.page.click('.topbar .who');
      await u.page.waitForSelector('dialog.account-dialog[open]');
      await u.page.fill('.pw-form input[name=current]', 'not my password 1');
      await u.page.fill('.pw-form input[name=password]', pw2);
      await u.page.fill('.pw-form input[name=repeat]', pw2);
      await u.page.click('.pw-form button[type=submit]');
      await u.page.waitForSelector('.pw-form .msg.error:not([hidden])');
      await u.page.fill('.pw-form input[name=current]', pw1);
      await u.page.fill('.pw-form input[name=password]', pw2);
      await u.page.fill('.pw-form input[name=repeat]', pw2);
      await u.page.click('.pw-form button[type=submit]');
      // Either the dialog says so, or (when the change ended this session too) the sign-in screen does.
      await u.page.waitForSelector('.pw-form .msg.ok:not([hidden]), .login .msg.ok:not([hidden])');
      assert.match(await u.page.textContent('.msg.ok'), /密码已修改/);
      await u.page.screenshot({ path: join(ARTIFACTS, 'account-password-desktop.png') });
      const login = async (password) => (await fetch(`${srv.base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: name, password }) })).status;
      assert.equal(await login(pw2), 200, 'the new password works');
      assert.notEqual(await login(pw1), 200, 'the old one does not');
    } finally {
      await u.context.close();
    }

    // Admin resets its password.
    const pw3 = 'mountain pine road 4';
    await row.locator('.reset').click();
    await page.fill('.reset-row input[name=password]', pw3);
    await page.click('.reset-row button[type=submit]');
    await page.waitForSelector('.reset-row', { state: 'detached' });
    const reset = await fetch(`${srv.base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: name, password: pw3 }) });
    assert.equal(reset.status, 200, 'the reset password works');

    // Disable it (the confirmation is accepted).
    page.once('dialog', (d) => d.accept());
    await row.locator('.toggle').click();
    await page.waitForSelector(`.users-table tr.disabled[data-username="${name}"]`);
    assert.match(await page.textContent(`.users-table tr[data-username="${name}"] .state`), /已停用/);
    assert.equal((await call(admin, '/api/users')).users.find((u) => u.username === name).disabled, true);
    const refused = await fetch(`${srv.base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: name, password: pw3 }) });
    assert.ok(refused.status >= 400, `a disabled user cannot sign in: ${refused.status}`);

    // The audit log, filtered to admin's user actions: the creation and the disabling.
    await page.click('.console [data-tab=audit]');
    await page.waitForSelector('.audit-table tbody tr[data-entry]');
    await page.fill('.audit-filters input[name=user]', 'admin');
    await page.fill('.audit-filters input[name=action]', 'user.');
    await page.click('.audit-filters button[type=submit]');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('.audit-table tbody tr[data-entry]')];
      return rows.length && rows.every((r) => r.dataset.action.startsWith('user.') && r.querySelector('.user').textContent === 'admin');
    });
    const entries = await page.$$eval('.audit-table tbody tr[data-entry]', (rs) => rs.map((r) => ({ action: r.dataset.action, object: r.querySelector('.object').textContent, summary: r.querySelector('.summary').textContent })));
    const about = entries.filter((e) => e.object === `user:${userId}`);
    assert.deepEqual(about.map((e) => e.action), ['user.update', 'user.password_reset', 'user.create'], `newest first: ${JSON.stringify(entries)}`);
    assert.match(about[0].summary, /"disabled":true/);
    assert.ok(about[2].summary.includes(name));
    // The user's own password change is the user's entry, not admin's.
    await page.fill('.audit-filters input[name=user]', name);
    await page.fill('.audit-filters input[name=action]', '');
    await page.click('.audit-filters button[type=submit]');
    await page.waitForSelector('.audit-table tbody tr[data-action="user.password"]');
    // The CSV link carries the filters and downloads the same rows.
    const href = await page.getAttribute('.audit-filters a.csv', 'href');
    assert.match(href, new RegExp(`user=${name}`));
    assert.match(href, /format=csv/);
    const csv = await page.evaluate(async (h) => {
      const r = await fetch(h);
      return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
    }, href);
    assert.equal(csv.status, 200);
    assert.match(csv.type, /text\/csv/);
    assert.match(csv.text, /user\.password/);
    await shot(page, 'admin-audit-desktop');
    // Paging: without filters the log has more than a page; "older" continues with next_before.
    await page.click('.audit-filters .clear');
    await page.waitForSelector('.adm-audit .older:not([hidden])');
    const first = await page.$$eval('.audit-table tbody tr[data-entry]', (rs) => rs.map((r) => Number(r.dataset.entry)));
    await page.click('.adm-audit .older');
    await page.waitForFunction((n) => document.querySelectorAll('.audit-table tbody tr[data-entry]').length > n, first.length);
    const ids = await page.$$eval('.audit-table tbody tr[data-entry]', (rs) => rs.map((r) => Number(r.dataset.entry)));
    assert.equal(first.length, 50);
    assert.deepEqual(ids.slice(0, 50), first);
    assert.ok(ids.every((id, i) => i === 0 || id < ids[i - 1]), 'newest first, no repeats across pages');
    assert.deepEqual(offOrigin(requests, srv.base), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('admin webhooks: a refused hook shows why; create one, see its deliveries, delete it', async () => {
  const { context, page, errors } = await openPage(browser, srv.base, { allowConsole: [/status of 422 .*\/api\/webhooks$/] });
  try {
    await signIn(page, 'admin');
    await page.click('.topbar .console-toggle');
    await page.click('.console [data-tab=hooks]');
    await page.waitForSelector('.hook-form');
    // Nothing listens on port 9 of loopback: deliveries fail and are retried.
    await page.fill('.hook-form input[name=url]', 'http://127.0.0.1:9/xuncha');
    await page.check('.hook-form input[name=events][value="report.created"]');
    await page.fill('.hook-form input[name=secret]', 'too short');
    await page.click('.hook-form button[type=submit]');
    await page.waitForSelector('.hook-form .msg.error:not([hidden])');
    assert.match(await page.textContent('.hook-form .msg'), /16/);
    await page.click('.hook-form .gen');
    assert.equal((await page.inputValue('.hook-form input[name=secret]')).length, 32);
    await page.selectOption('.hook-form select[name=format]', 'wecom');
    await page.click('.hook-form button[type=submit]');
    await page.waitForSelector('.hooks-table tr[data-hook]');
    const id = await page.getAttribute('.hooks-table tr[data-hook]', 'data-hook');
    assert.match(await page.textContent('.hooks-table'), /企业微信/);
    // A new report makes a delivery to it.
    const patrol = await apiToken(srv.base, 'patrol');
    await call(patrol, '/api/reports', { method: 'POST', json: { lon: SPOT.lon, lat: SPOT.lat, category: 'garbage', note: 'webhook test', client_id: randomUUID() } });
    await page.click(`.hooks-table tr[data-hook="${id}"] .show-deliveries`);
    await page.waitForSelector('.deliveries:not([hidden]) h4');
    // The delivery row appears once the outbox has it; attempts and the last error follow.
    for (let i = 0; i < 40 && !(await page.locator('.deliveries-table tr[data-delivery]').count()); i++) {
      await page.waitForTimeout(500);
      await page.click('.deliveries .refresh');
      await page.waitForSelector('.deliveries h4');
    }
    assert.ok(await page.locator('.deliveries-table tr[data-delivery]').count(), 'the delivery is listed');
    // Nothing listens there: the first attempt fails and its error is shown.
    for (let i = 0; i < 40 && !Number(await page.textContent('.deliveries-table tr[data-delivery] .attempts')); i++) {
      await page.waitForTimeout(500);
      await page.click('.deliveries .refresh');
      await page.waitForSelector('.deliveries-table tr[data-delivery]');
    }
    assert.ok(Number(await page.textContent('.deliveries-table tr[data-delivery] .attempts')) >= 1, 'an attempt was made');
    assert.notEqual((await page.textContent('.deliveries-table tr[data-delivery] .last-error')).trim(), '—', 'the last error is shown');
    await shot(page, 'admin-webhooks-desktop');
    page.once('dialog', (d) => d.accept());
    await page.click(`.hooks-table tr[data-hook="${id}"] .delete`);
    await page.waitForSelector('.hooks-list .empty');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('the time-limit editor shows hours and minutes and stores seconds', async () => {
  const admin = await apiToken(srv.base, 'admin');
  const original = await call(admin, '/api/settings/time-limits');
  const { context, page, errors } = await openPage(browser, srv.base, { allowConsole: [/status of 422 .*time-limits$/] });
  try {
    await signIn(page, 'admin');
    await page.click('.topbar .console-toggle');
    await page.click('.console [data-tab=limits]');
    await page.waitForSelector('.limits-form');
    const d = original.default.dispatch_s;
    assert.equal(Number(await page.inputValue('.limits-form input[name="default.dispatch.h"]')), Math.floor(d / 3600));
    assert.equal(Number(await page.inputValue('.limits-form input[name="default.dispatch.m"]')), Math.floor((d % 3600) / 60));
    const own = Object.keys(original.categories || {});
    assert.equal(await page.locator('.limits-table tr.own').count(), own.length, 'categories with their own limits are ticked');
    // "other" gets its own handling limit of 1 h 30 min; the wire says 5400 s.
    await page.check('.limits-form input[name="own.other"]');
    await page.fill('.limits-form input[name="other.handle.h"]', '1');
    await page.fill('.limits-form input[name="other.handle.m"]', '30');
    await page.click('.limits-form button[type=submit]');
    await page.waitForSelector('.limits-body .msg.ok:not([hidden])');
    const stored = await call(admin, '/api/settings/time-limits');
    assert.equal(stored.categories.other.handle_s, 5400);
    assert.equal(stored.categories.other.dispatch_s, original.default.dispatch_s, 'the other stages start from the default');
    assert.deepEqual(stored.default, original.default);
    // Zero is refused before sending, with the row named.
    await page.fill('.limits-form input[name="default.verify.h"]', '0');
    await page.fill('.limits-form input[name="default.verify.m"]', '0');
    await page.click('.limits-form button[type=submit]');
    await page.waitForSelector('.limits-form .msg.error:not([hidden])');
    assert.match(await page.textContent('.limits-form .msg'), /默认/);
    await shot(page, 'admin-limits-desktop');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await call(admin, '/api/settings/time-limits', { method: 'PUT', json: original });
  }
});

test('a report past its time limit is red in the office queue, with its due time and escalation', async () => {
  const admin = await apiToken(srv.base, 'admin');
  const patrol = await apiToken(srv.base, 'patrol');
  const office = await apiToken(srv.base, 'office');
  const original = await call(admin, '/api/settings/time-limits');
  try {
    // Category "other" must be dispatched within 3 seconds (the sweep runs every few seconds).
    const limits = structuredClone(original);
    limits.categories = { ...limits.categories, other: { dispatch_s: 3, handle_s: 3600, verify_s: 3600 } };
    await call(admin, '/api/settings/time-limits', { method: 'PUT', json: limits });
    const made = await call(patrol, '/api/reports', { method: 'POST', json: { lon: SPOT.lon, lat: SPOT.lat, category: 'other', note: `超时测试 ${randomUUID().slice(0, 8)}`, client_id: randomUUID() } });
    assert.equal(made.overdue, false);
    assert.ok(made.due_at, 'the new report has a dispatch deadline');
    let r;
    const deadline = Date.now() + 45_000;
    for (;;) {
      r = await call(office, `/api/reports/${made.id}`);
      if (r.overdue) break;
      assert.ok(Date.now() < deadline, `the sweep marks report ${made.id} overdue within 45 s (due ${r.due_at})`);
      await new Promise((res) => setTimeout(res, 500));
    }
    assert.ok(r.events.some((e) => e.kind === 'overdue'), 'an overdue event is recorded');

    const { context, page, errors } = await openPage(browser, srv.base);
    try {
      await signIn(page, 'office');
      await page.waitForSelector('.worklist .wl-row', { timeout: 30_000 });
      await page.fill('.worklist .wl-search', String(made.id));
      const row = page.locator(`.worklist .wl-row[data-report="${made.id}"]`);
      await row.waitFor();
      assert.match(await row.getAttribute('class'), /\boverdue\b/);
      const look = await row.evaluate((el) => ({ bg: getComputedStyle(el).backgroundColor, edge: getComputedStyle(el).borderLeftColor, title: getComputedStyle(el.querySelector('strong')).color, label: el.querySelector('.overdue-badge')?.textContent, labelBg: el.querySelector('.overdue-badge') && getComputedStyle(el.querySelector('.overdue-badge')).backgroundColor }));
      assert.equal(look.label, '已超时');
      assert.ok(reddish(look.edge) && reddish(look.title) && reddish(look.labelBg), `the row is red: ${JSON.stringify(look)}`);
      assert.ok(/253, 236, 234/.test(look.bg), `a red-tinted row background: ${look.bg}`);
      const text = await row.textContent();
      assert.match(text, /期限/);
      if (r.escalated_to) assert.ok(text.includes(r.escalated_to), `the escalation is shown: ${text}`);
      await page.fill('.worklist .wl-search', '');
      // Overdue only, soonest due first: every row red, dues ascending.
      await page.check('.worklist input[name=late]');
      await page.waitForFunction(() => [...document.querySelectorAll('.worklist .wl-row')].every((r) => r.classList.contains('overdue')));
      const dues = await page.$$eval('.worklist .wl-row', (rs) => rs.map((x) => Date.parse(x.dataset.due)));
      assert.ok(dues.length > 0);
      assert.deepEqual(dues, [...dues].sort((a, b) => a - b), 'sorted by due time');
      // Newest first puts the new report on top.
      await page.selectOption('.worklist select[name=sort]', 'newest');
      assert.equal(await page.getAttribute('.worklist .wl-row >> nth=0', 'data-report'), String(made.id));
      await page.locator('.worklist').scrollIntoViewIfNeeded();
      await shot(page, 'office-queue-overdue-desktop');
      // Its popup says it too.
      await page.click('.worklist .wl-row >> nth=0 >> .wl-open');
      await page.waitForSelector('.report-pop .overdue-badge');
      assert.match(await page.textContent('.report-pop .deadline'), /期限/);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  } finally {
    await call(admin, '/api/settings/time-limits', { method: 'PUT', json: original });
  }
});
