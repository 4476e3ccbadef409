// The patrol's lists on a phone: the waiting queue opens from its badge (each waiting report with
// its photo; delete asks first; retry sends it once), "是同一问题" adds the photo and note to the
// existing report as an update instead of throwing them away, and 我的上报 lists one's reports.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, launch, openPage, signIn, mapIdle, shot, apiToken, browserJpeg, PHONE, ARTIFACTS, SPOT } from './helpers.mjs';

let srv;
let browser;
const JPEG = join(ARTIFACTS, 'fixture-lists.jpg');

before(async () => {
  srv = await startServer();
  browser = await launch();
  await browserJpeg(browser, JPEG, { w: 1200, h: 900 });
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

async function office(path) {
  const token = await apiToken(srv.base, 'office');
  const r = await fetch(`${srv.base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200, path);
  return r.json();
}

async function fill(page, { note, photo = true, category = 'garbage' }) {
  await page.waitForFunction(() => /±/.test(document.querySelector('.patrol .loc-text').textContent));
  await page.click(`.patrol .cat[data-cat=${category}]`);
  if (photo) {
    await page.setInputFiles('.patrol input[type=file]', JPEG);
    await page.waitForSelector('.patrol .previews img');
  }
  await page.fill('.patrol textarea', note);
}

test('the waiting queue opens from its badge: photos shown, delete asks, retry sends once', async () => {
  const { context, page, errors } = await openPage(browser, srv.base, { viewport: PHONE, allowConsole: [/ERR_INTERNET_DISCONNECTED/] });
  try {
    await signIn(page, 'patrol');
    await mapIdle(page);
    await context.setOffline(true);
    const gone = `删除测试 ${Date.now()}`;
    await fill(page, { note: gone });
    await page.click('.patrol .submit');
    await page.waitForSelector('.queue-badge:not([hidden])');
    await page.click('.queue-badge');
    await page.waitForSelector('.queue-dialog .queue-list li');
    assert.equal(await page.locator('.queue-dialog .queue-list li').count(), 1);
    assert.ok((await page.textContent('.queue-dialog .queue-list li')).includes(gone));
    await page.waitForFunction(() => [...document.querySelectorAll('.queue-dialog .thumbs img')].some((i) => i.complete && i.naturalWidth > 0));
    await shot(page, 'patrol-queue-list');
    // Delete asks first: dismissing keeps it, accepting removes it.
    page.once('dialog', (d) => d.dismiss());
    await page.click('.queue-dialog .delete');
    assert.equal(await page.locator('.queue-dialog .queue-list li').count(), 1);
    page.once('dialog', (d) => d.accept());
    await page.click('.queue-dialog .delete');
    await page.waitForSelector('.queue-dialog .empty');
    await page.waitForSelector('.queue-badge', { state: 'hidden' });
    await page.click('.queue-dialog .close');
    // Another one waits; back online, Retry in the list sends it, exactly once.
    const kept = `重试测试 ${Date.now()}`;
    await fill(page, { note: kept });
    await page.click('.patrol .submit');
    await page.waitForSelector('.queue-badge:not([hidden])');
    await page.click('.queue-badge');
    await page.waitForSelector('.queue-dialog .queue-list li');
    await context.setOffline(false);
    await page.click('.queue-dialog .retry');
    await page.waitForSelector('.queue-dialog .empty', { timeout: 30_000 });
    await page.waitForSelector('.queue-badge', { state: 'hidden' });
    const all = (await office('/api/reports?limit=1000')).features;
    assert.equal(all.filter((f) => f.properties.note === kept).length, 1, 'sent once');
    assert.equal(all.filter((f) => f.properties.note === gone).length, 0, 'the deleted one never reached the server');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('"same problem" adds the photo and note to the existing report; 我的上报 lists it', async () => {
  // An open report at the patrol's spot, filed by the patrol over the API.
  const token = await apiToken(srv.base, 'patrol');
  const r = await fetch(`${srv.base}/api/reports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ lon: SPOT.lon, lat: SPOT.lat, category: 'weeds', note: '原始上报' }),
  });
  assert.equal(r.status, 201);
  const original = await r.json();
  const { context, page, errors } = await openPage(browser, srv.base, { viewport: PHONE });
  try {
    await signIn(page, 'patrol');
    await mapIdle(page);
    const note = `同一问题补充 ${Date.now()}`;
    await fill(page, { note, category: 'weeds' });
    const same = `.patrol .nearby .same[data-id="${original.id}"]`;
    await page.waitForSelector(same, { timeout: 20_000 });
    await page.click(same);
    await page.waitForSelector('.patrol .result.ok');
    assert.ok((await page.textContent('.patrol .result')).includes(`已补充到上报 ${original.id}`));
    const after = await office(`/api/reports/${original.id}`);
    const update = after.events.find((e) => e.kind === 'update');
    assert.ok(update, `an update event: ${JSON.stringify(after.events)}`);
    assert.equal(update.note, note);
    assert.equal(update.photos.length, 1, 'the photo went with it');
    assert.equal(after.status, original.status, 'the status is unchanged');
    const all = (await office('/api/reports?limit=1000')).features;
    assert.equal(all.filter((f) => f.properties.note === note).length, 0, 'no new report');
    // The form is empty again; 我的上报 lists the original with its status.
    assert.equal(await page.inputValue('.patrol textarea'), '');
    await page.click('.patrol .result .mine');
    await page.waitForSelector(`.mine-dialog .mine-list li[data-id="${original.id}"]`);
    const row = await page.textContent(`.mine-dialog .mine-list li[data-id="${original.id}"]`);
    assert.ok(row.includes('已上报'), row);
    const n = await page.locator('.mine-dialog .mine-list li').count();
    const mine = (await (await fetch(`${srv.base}/api/reports?mine=true&limit=50`, { headers: { authorization: `Bearer ${token}` } })).json()).features;
    assert.equal(n, mine.length);
    await page.click(`.mine-dialog li[data-id="${original.id}"] .details`);
    await page.waitForFunction((id) => {
      const box = document.querySelector(`.mine-dialog li[data-id="${id}"] .answer`);
      return box && !box.hidden && !/加载/.test(box.textContent);
    }, original.id);
    await shot(page, 'patrol-my-reports');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
