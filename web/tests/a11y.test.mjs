// Accessibility: axe-core (from npm, run inside the page) finds no serious or critical violation
// on any view, in Chinese and in English; keyboard focus lands in the main panel after sign-in;
// the photo button works from the keyboard; the phone's primary controls are at least 44 × 44 px
// with text of at least 14 px; the office's statistics links have distinct names; the worklist
// opens a report with Enter, without the map.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { startServer, launch, openPage, signIn, mapIdle, shot, browserJpeg, DESKTOP, PHONE, ARTIFACTS, appStarted } from './helpers.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let srv;
let browser;
const JPEG = join(ARTIFACTS, 'a11y-photo.jpg');

before(async () => {
  srv = await startServer({ extraArgs: ['--public-map'] });
  browser = await launch();
  await browserJpeg(browser, JPEG, { w: 800, h: 600 });
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

/**
 * Runs axe-core in the page and returns its serious and critical violations. The script is
 * evaluated by Playwright (not a `<script>` tag), so the page's CSP stays strict.
 */
async function axeViolations(page) {
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })) }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

function describe(violations) {
  return violations.map((v) => `${v.impact} ${v.id} (${v.help}):\n${v.nodes.map((n) => `    ${n.target}\n      ${(n.summary || '').replace(/\n/g, '\n      ')}`).join('\n')}`).join('\n');
}

/** Opens the login page in `lang` ('zh' or 'en'), signs in as `user` (unless null). */
async function openAs(user, lang, viewport = DESKTOP, path = '') {
  const o = await openPage(browser, `${srv.base}${path}`, { viewport });
  if (lang === 'en') {
    await o.page.click('.lang');
    await o.page.waitForFunction(() => document.documentElement.lang === 'en');
  }
  if (user) {
    await signIn(o.page, user);
    await mapIdle(o.page, 60_000);
  }
  return o;
}

/** Asserts axe's serious/critical list is empty and that nothing broke in the console. */
async function checkAxe(name, { page, errors }) {
  const v = await axeViolations(page);
  await shot(page, `a11y-${name}`);
  assert.deepEqual(v.map((x) => x.id), [], `${name}: axe found serious/critical violations:\n${describe(v)}`);
  assert.deepEqual(errors, [], `${name}: console errors`);
}

/**
 * The aria-label, title and alt texts of the rendered elements that are not in the UI's language:
 * in Chinese each must contain a Chinese character, in English a Latin letter (data such as an
 * owner's name may add Chinese to an English label, never replace it).
 */
async function foreignLabels(page, lang) {
  return page.evaluate((lang) => {
    const ok = lang === 'en' ? /[A-Za-z]/ : /[\u4e00-\u9fff]/;
    const out = [];
    for (const n of document.querySelectorAll('[aria-label], [title], img[alt]')) {
      if (!n.getClientRects().length) continue;
      for (const a of ['aria-label', 'title', 'alt']) {
        const v = (n.getAttribute(a) || '').trim();
        if (v && !ok.test(v)) out.push(`<${n.tagName.toLowerCase()} class="${n.className}"> ${a}="${v}"`);
      }
    }
    return out;
  }, lang);
}

/** Rendered text smaller than `min` px: `[{text, size}]`. */
async function smallText(page, min = 14) {
  return page.evaluate((min) => {
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = n.textContent.trim();
      const el = n.parentElement;
      if (!text || !el || el.closest('svg, script, style, [aria-hidden=true]')) continue;
      if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') continue;
      const size = parseFloat(getComputedStyle(el).fontSize);
      if (size < min) out.push({ text: text.slice(0, 40), size, cls: el.className });
    }
    return out;
  }, min);
}

/** Width and height of every rendered element matching `sel`. */
async function sizes(page, sel) {
  return page.$$eval(sel, (els) =>
    els.filter((e) => e.getClientRects().length).map((e) => {
      const r = e.getBoundingClientRect();
      return { w: Math.round(r.width * 10) / 10, h: Math.round(r.height * 10) / 10, label: e.getAttribute('aria-label') || e.textContent.trim().slice(0, 20) };
    }),
  );
}

/** Asserts every control matching each selector is rendered and at least 44 × 44 px. */
async function assertThumbSized(page, selectors) {
  const measured = {};
  for (const sel of selectors) {
    const got = await sizes(page, sel);
    assert.ok(got.length > 0, `${sel} is on screen`);
    measured[sel] = got;
    for (const g of got) assert.ok(g.w >= 44 && g.h >= 44, `${sel} "${g.label}" is ${g.w} × ${g.h} px, under 44 × 44`);
  }
  return measured;
}

const VIEWS = [
  { name: 'login', user: null, viewport: PHONE },
  { name: 'patrol', user: 'patrol', viewport: PHONE },
  { name: 'office', user: 'office', viewport: DESKTOP },
  { name: 'planner', user: 'planner', viewport: DESKTOP },
  { name: 'admin', user: 'admin', viewport: DESKTOP },
  { name: 'unit', user: 'unit', viewport: DESKTOP },
];

for (const lang of ['zh', 'en']) {
  for (const v of VIEWS) {
    test(`axe: ${v.name} (${lang})`, async () => {
      const o = await openAs(v.user, lang, v.viewport);
      try {
        if (v.user) {
          // After signing in keyboard focus is in the view's panel, not lost on the page.
          const where = await o.page.evaluate(() => (document.activeElement?.closest('#panel') ? 'panel' : `${document.activeElement?.tagName}.${document.activeElement?.className}`));
          assert.equal(where, 'panel', `${v.name}: focus after sign-in`);
        }
        await checkAxe(`${v.name}-${lang}`, o);
        assert.deepEqual(await foreignLabels(o.page, lang), [], `${v.name}: labels not in ${lang}`);
        if (v.viewport === PHONE) assert.deepEqual(await smallText(o.page), [], `${v.name}: text under 14 px on the phone`);
      } finally {
        await o.context.close();
      }
    });
  }

  test(`axe: admin console (${lang})`, async () => {
    const o = await openAs('admin', lang, DESKTOP);
    try {
      await o.page.click('.console-toggle');
      await o.page.waitForSelector('.console .tab-users');
      await o.page.waitForFunction(() => !document.querySelector('.console .loading'));
      await checkAxe(`admin-console-${lang}`, o);
    } finally {
      await o.context.close();
    }
  });

  test(`axe: public map (${lang})`, async () => {
    const o = await openAs(null, lang, PHONE, '/public');
    try {
      await appStarted(o.page);
      await checkAxe(`public-${lang}`, o);
      assert.deepEqual(await foreignLabels(o.page, lang), [], `public: labels not in ${lang}`);
      assert.deepEqual(await smallText(o.page), [], 'public: text under 14 px on the phone');
      await assertThumbSized(o.page, ['.maplibregl-ctrl-zoom-in', '.maplibregl-ctrl-zoom-out', '.topbar .lang', '.topbar a.link']);
    } finally {
      await o.context.close();
    }
  });
}

test('phone: the photo button works from the keyboard and the primary controls are thumb-sized', async () => {
  const o = await openAs('patrol', 'zh', PHONE);
  const { page } = o;
  try {
    // From the panel (where sign-in left the focus), Tab reaches the photo input.
    let tabs = 0;
    for (; tabs < 60; tabs++) {
      if (await page.evaluate(() => document.activeElement?.matches('.patrol input[type=file]'))) break;
      await page.keyboard.press('Tab');
    }
    assert.ok(tabs < 60, 'Tab reaches the photo button');
    // One listener for the whole test, registered before any key press: Playwright turns the
    // browser's file-chooser interception on when the first listener is added and off when the
    // last is removed, and a press that lands while it is off opens a chooser nobody hears of.
    // Choosers are queued as they open.
    const choosers = [];
    page.on('filechooser', (c) => choosers.push(c));
    await page.evaluate(() => 1);
    const nextChooser = async (ms) => {
      const until = Date.now() + ms;
      while (!choosers.length && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      return choosers.shift() ?? null;
    };
    for (const [key, n] of [['Enter', 1], ['Space', 2]]) {
      // A wait, not a speed check. Chromium now and then reports no file chooser for a key
      // press that opened one (its `Page.fileChooserOpened` event is known to go missing), so a
      // press that shows nothing in 10 s is made again, up to three times, as a person would;
      // a button that never opens the chooser still fails.
      let chooser = null;
      for (let attempt = 0; attempt < 3 && !chooser; attempt++) {
        await page.focus('.patrol input[type=file]');
        await page.keyboard.press(key);
        chooser = await nextChooser(attempt === 2 ? 30_000 : 10_000);
      }
      assert.ok(chooser, `${key} on the photo button opens the file chooser`);
      await chooser.setFiles(JPEG);
      await page.waitForFunction((n) => document.querySelectorAll('.patrol .previews img').length === n, n);
    }
    const focusRing = await page.evaluate(() => getComputedStyle(document.querySelector('.patrol .photo-btn')).outlineStyle);
    assert.notEqual(focusRing, 'none', 'the focused photo button shows its focus');
    await shot(page, 'a11y-patrol-photos');
    const measured = await assertThumbSized(page, [
      '.maplibregl-ctrl-zoom-in',
      '.maplibregl-ctrl-zoom-out',
      '.topbar .signout',
      '.topbar .lang',
      '.topbar .who',
      '.layers summary',
      '.patrol .relocate',
      '.patrol .cat',
      '.patrol .photo-btn',
      '.patrol .previews .photo-remove',
      '.patrol .submit',
      '.patrol .open-mine',
      '.patrol-bar .track-start',
      '.patrol-bar .pack-get',
    ]);
    const span = (v, k) => `${Math.min(...v.map((x) => x[k]))}–${Math.max(...v.map((x) => x[k]))}`;
    console.log('phone control sizes (px):', JSON.stringify(Object.fromEntries(Object.entries(measured).map(([k, v]) => [k, `${span(v, 'w')} × ${span(v, 'h')}`]))));
    assert.deepEqual(await smallText(page), [], 'text under 14 px on the phone');
    // The remove button says which photo it removes, in Chinese, and works.
    assert.equal(await page.getAttribute('.patrol .previews figure:nth-child(2) .photo-remove', 'aria-label'), '删除照片 2');
    await page.focus('.patrol .previews figure:nth-child(2) .photo-remove');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('.patrol .previews img').length === 1);
    // The pin moves with the arrow keys.
    await page.waitForFunction(() => /±/.test(document.querySelector('.patrol .loc-text').textContent));
    const before = await page.evaluate(() => document.querySelector('.pin').getBoundingClientRect().x);
    await page.focus('.pin');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    const after = await page.evaluate(() => document.querySelector('.pin').getBoundingClientRect().x);
    assert.ok(Math.abs(after - before - 20) < 2, `the pin moved 20 px right (${before} → ${after})`);
    assert.equal(await page.textContent('.patrol .loc-text'), '已手动修正位置');
    assert.deepEqual(o.errors, []);
  } finally {
    await o.context.close();
  }
});

test('phone: the admin console tabs and switch are thumb-sized', async () => {
  const o = await openAs('admin', 'zh', PHONE);
  try {
    await assertThumbSized(o.page, ['.topbar .console-toggle', '.topbar .signout', '.maplibregl-ctrl-zoom-in']);
    await o.page.click('.console-toggle');
    await o.page.waitForSelector('.console .tab-users');
    await assertThumbSized(o.page, ['.console-tabs [role=tab]']);
    await shot(o.page, 'a11y-admin-console-phone');
    assert.deepEqual(o.errors, []);
  } finally {
    await o.context.close();
  }
});

test('office: distinct link names, and the worklist opens a report with the keyboard', async () => {
  const o = await openAs('office', 'zh', DESKTOP);
  const { page } = o;
  try {
    // The statistics table (grouped by owner by default): one work-order link per owner, each named.
    await page.waitForSelector('.stats-table a.workorder');
    const links = await page.$$eval('.stats-table tbody tr', (trs) =>
      trs.filter((tr) => tr.querySelector('a.workorder')).map((tr) => ({ owner: tr.querySelector('td.lbl').textContent.trim(), name: tr.querySelector('a.workorder').getAttribute('aria-label') || tr.querySelector('a.workorder').textContent.trim(), text: tr.querySelector('a.workorder').textContent.trim() })),
    );
    assert.ok(links.length > 5, `work-order links: ${links.length}`);
    assert.equal(new Set(links.map((l) => l.name)).size, links.length, 'every work-order link has its own name');
    for (const l of links) {
      assert.equal(l.text, '工单');
      assert.equal(l.name, `工单：${l.owner}`);
    }
    // Links with the same name anywhere on the page lead to the same place.
    const clash = await page.evaluate(() => {
      const byName = new Map();
      for (const a of document.querySelectorAll('a[href]')) {
        if (!a.getClientRects().length) continue;
        const name = (a.getAttribute('aria-label') || a.textContent).trim().replace(/\s+/g, ' ');
        const to = a.getAttribute('href') === '#' ? JSON.stringify(a.dataset) + (a.closest('[data-report]')?.dataset.report || '') : a.href;
        if (!byName.has(name)) byName.set(name, new Set());
        byName.get(name).add(to);
      }
      return [...byName].filter(([, to]) => to.size > 1).map(([name, to]) => `${name} → ${[...to].join(' | ')}`);
    });
    assert.deepEqual(clash, [], 'links with one name and different targets');

    // A worklist row takes focus and opens its report with Enter, without touching the map.
    await page.waitForSelector('.wl-rows .wl-row .wl-open');
    const id = await page.getAttribute('.wl-rows .wl-row:nth-child(2)', 'data-report');
    await page.focus('.wl-rows .wl-row:nth-child(2) .wl-open');
    assert.ok(await page.evaluate(() => document.activeElement.matches('.wl-row:nth-child(2) .wl-open')), 'the row takes focus');
    await page.keyboard.press('Enter');
    await page.waitForFunction((id) => {
      const dd = [...document.querySelectorAll('.report-pop dd')];
      return dd.some((d) => d.textContent.trim() === id);
    }, id);
    await page.waitForFunction(() => document.activeElement?.closest('.report-pop') != null);
    assert.ok(await page.evaluate(() => document.activeElement.matches('.report-pop h3')), 'focus moves into the opened report');
    assert.deepEqual(o.errors, []);
  } finally {
    await o.context.close();
  }
});

test('map symbols: report dots and the heat ramp have at least 3 : 1 contrast on white and on the land', async () => {
  const o = await openAs('office', 'zh', DESKTOP);
  try {
    const got = await o.page.evaluate(() => {
      const m = window.xuncha.ctrl.map;
      const heat = m.getPaintProperty('reports-heat', 'heatmap-color');
      const dots = m.getPaintProperty('reports-point', 'circle-color');
      const land = m.getPaintProperty('background', 'background-color');
      return { heat, dots, land: typeof land === 'string' ? land : null };
    });
    const meta = await o.page.evaluate(async () => (await fetch('/api/meta')).json());
    const colours = [];
    // ["interpolate", ["linear"], ["heatmap-density"], 0, c0, 0.1, c1, …]: the stops above 0 are drawn.
    for (let i = 6; i < got.heat.length; i += 2) colours.push(['heat', got.heat[i]]);
    for (const st of meta.statuses) colours.push([`status ${st.id}`, st.colour]);
    const land = hex(got.land || '#eef0ea');
    const low = [];
    for (const [what, c] of colours) {
      const rgb = hex(c);
      for (const [bgName, bg] of [['white', [255, 255, 255]], ['land', land]]) {
        const r = contrast(rgb, bg);
        if (r < 3) low.push(`${what} ${c} on ${bgName}: ${r.toFixed(2)}`);
      }
    }
    assert.ok(colours.length >= 12, JSON.stringify(colours));
    assert.deepEqual(low, [], 'map symbols under 3 : 1');
  } finally {
    await o.context.close();
  }
});

function hex(c) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c);
  if (m) return [1, 2, 3].map((i) => parseInt(m[i], 16));
  const r = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(c);
  if (r) return [1, 2, 3].map((i) => Number(r[i]));
  throw new Error(`colour ${c}`);
}

/** WCAG 2.x contrast ratio of two sRGB colours. */
function contrast(a, b) {
  const lum = ([r, g, b]) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}
