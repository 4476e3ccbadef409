// The English UI is as complete as the Chinese: signed in with the English switch, each role's
// view shows no Chinese outside data (names of zones, owners and people, notes, the city's own
// labels), which the test gathers from the API and leaves out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, signIn, apiToken, shot, DESKTOP, PHONE } from './helpers.mjs';

let srv;
let browser;
let data;

before(async () => {
  srv = await startServer();
  browser = await launch();
  const token = await apiToken(srv.base, 'admin');
  const get = async (p) => (await fetch(`${srv.base}${p}`, { headers: { authorization: `Bearer ${token}` } })).json();
  const zones = await get('/api/zones');
  const reports = await get('/api/reports?limit=1000');
  const users = await get('/api/users');
  const words = new Set();
  const add = (v) => typeof v === 'string' && v.trim() && words.add(v.trim());
  for (const f of zones.features) {
    add(f.properties.name);
    add(f.properties.owner?.name);
    add(f.properties.owner?.contact);
  }
  for (const f of reports.features) {
    add(f.properties.note);
    add(f.properties.assigned_to);
    add(f.properties.escalated_to);
    add(f.properties.responsible?.owner?.name);
    add(f.properties.responsible?.zone_name);
    add(f.properties.responsible?.owner?.contact);
  }
  for (const u of users.users || []) {
    add(u.display_name);
    add(u.owner);
  }
  data = [...words].sort((a, b) => b.length - a.length);
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

/** Chinese text on the page that is not data: what is left once every data string is removed. */
async function untranslated(page) {
  const texts = await page.evaluate(() => {
    // Chinese characters and the full-width punctuation that goes with them (：，、（）).
    const CJK = /[\u4e00-\u9fff\uff1a\uff0c\u3001\uff08\uff09]/;
    const out = [];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const el = n.parentElement;
      // The language switch names Chinese in Chinese (中文), as language menus do.
      if (!el || el.closest('script, style, .maplibregl-canvas-container, .lang')) continue;
      if (!el.getClientRects().length && !el.closest('select')) continue;
      const s = n.textContent.trim();
      if (CJK.test(s)) out.push(s);
    }
    for (const el of document.querySelectorAll('[aria-label], [placeholder], [title]')) {
      if (el.closest('.lang')) continue;
      for (const a of ['aria-label', 'placeholder', 'title']) {
        const s = el.getAttribute(a);
        if (s && CJK.test(s)) out.push(`${a}=${s}`);
      }
    }
    return out;
  });
  return texts
    .map((s) => data.reduce((acc, w) => acc.split(w).join(' '), s))
    .filter((s) => /[\u4e00-\u9fff\uff1a\uff0c\u3001\uff08\uff09]/.test(s));
}

for (const [user, viewport, wait] of [
  ['patrol', PHONE, '.patrol'],
  ['office', DESKTOP, '.office .stats-table, .office .stats-panel .muted'],
  ['planner', DESKTOP, '.planner'],
  ['unit', PHONE, '.unit'],
  ['admin', DESKTOP, '.topbar'],
]) {
  test(`English UI for ${user}: no Chinese outside data`, async () => {
    const { context, page } = await openPage(browser, srv.base, { viewport });
    try {
      await page.click('.login .lang');
      await signIn(page, user);
      await page.waitForSelector(wait, { timeout: 60_000 });
      await page.waitForTimeout(1500); // lists and statistics arrive
      const left = await untranslated(page);
      await shot(page, `english-${user}`);
      assert.deepEqual([...new Set(left)], [], `untranslated in the ${user} view`);
    } finally {
      await context.close();
    }
  });
}
