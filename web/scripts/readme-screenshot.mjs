// Makes web/screenshot.png (the README's picture): the office view with the heatmap of the demo
// reports. `XUNCHA_BIN=… node scripts/readme-screenshot.mjs` after `npm run build`, then
// `pngquant --quality 70-95 --force --output screenshot.png screenshot.png` (keeps it < 400 KB).

import { join } from 'node:path';
import { startServer, launch, openPage, signIn, mapIdle, WEB, DESKTOP } from '../tests/helpers.mjs';

const srv = await startServer();
const browser = await launch();
try {
  const { page, errors } = await openPage(browser, srv.base, { viewport: DESKTOP });
  await signIn(page, 'office');
  await page.waitForSelector('.office .ranking a[data-zone]', { timeout: 30_000 });
  await page.waitForSelector('.office .day-chart svg');
  await page.evaluate(async () => {
    const fc = await (await fetch('/api/reports?limit=1000')).json();
    const xs = fc.features.map((f) => f.geometry.coordinates[0]).sort((a, b) => a - b);
    const ys = fc.features.map((f) => f.geometry.coordinates[1]).sort((a, b) => a - b);
    const q = (a, p) => a[Math.floor(p * (a.length - 1))];
    window.xuncha.ctrl.map.fitBounds([[q(xs, 0.02), q(ys, 0.02)], [q(xs, 0.98), q(ys, 0.98)]], { padding: 30, duration: 0, maxZoom: 13.9 });
    document.querySelector('.layers').open = false;
  });
  await mapIdle(page);
  await page.screenshot({ path: join(WEB, 'screenshot.png') });
  if (errors.length) console.error('console errors:', errors);
} finally {
  await browser.close();
  await srv.stop();
}
