// The phone form cannot mislead: no report without a real location, a photo taken far from the
// pin is pointed out, the photo limit is said, and the send button stays on screen.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, openPage, signIn, mapIdle, shot, PHONE, ARTIFACTS } from './helpers.mjs';

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

/** An EXIF APP1 segment holding only a GPS position (little-endian TIFF). */
function exifGps(lon, lat) {
  const t = Buffer.alloc(128);
  t.write('II', 0, 'latin1');
  t.writeUInt16LE(42, 2);
  t.writeUInt32LE(8, 4);
  t.writeUInt16LE(1, 8); // IFD0: one entry, the GPS IFD pointer
  t.writeUInt16LE(0x8825, 10);
  t.writeUInt16LE(4, 12);
  t.writeUInt32LE(1, 14);
  t.writeUInt32LE(26, 18);
  t.writeUInt32LE(0, 22);
  t.writeUInt16LE(4, 26); // GPS IFD: 4 entries
  const entry = (i, tag, type, count, value) => {
    const o = 28 + i * 12;
    t.writeUInt16LE(tag, o);
    t.writeUInt16LE(type, o + 2);
    t.writeUInt32LE(count, o + 4);
    if (typeof value === 'string') t.write(value, o + 8, 'latin1');
    else t.writeUInt32LE(value, o + 8);
  };
  entry(0, 1, 2, 2, 'N\0');
  entry(1, 2, 5, 3, 80);
  entry(2, 3, 2, 2, 'E\0');
  entry(3, 4, 5, 3, 104);
  t.writeUInt32LE(0, 28 + 48);
  const dms = (v, at) => {
    const d = Math.floor(v);
    const m = Math.floor((v - d) * 60);
    const s = Math.round(((v - d) * 60 - m) * 60 * 10000);
    [[d, 1], [m, 1], [s, 10000]].forEach(([n, den], k) => {
      t.writeUInt32LE(n, at + k * 8);
      t.writeUInt32LE(den, at + k * 8 + 4);
    });
  };
  dms(lat, 80);
  dms(lon, 104);
  const head = Buffer.from([0xff, 0xe1, 0, 0]);
  head.writeUInt16BE(2 + 6 + t.length, 2);
  return Buffer.concat([head, Buffer.from('Exif\0\0', 'latin1'), t]);
}

async function canvasJpeg(page) {
  const b64 = await page.evaluate(async () => {
    const c = document.createElement('canvas');
    c.width = 640;
    c.height = 480;
    const g = c.getContext('2d');
    g.fillStyle = '#8b6d45';
    g.fillRect(0, 0, 640, 480);
    const blob = await new Promise((r) => c.toBlob(r, 'image/jpeg', 0.8));
    const buf = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
    return btoa(s);
  });
  return Buffer.from(b64, 'base64');
}

test('geolocation denied: no pin is invented; a tap places it; EXIF far away and the photo limit are said; send stays on screen', async () => {
  const { context, page, errors } = await openPage(browser, srv.base, { viewport: PHONE });
  try {
    await context.clearPermissions(); // the patrol said no to sharing its position
    await signIn(page, 'patrol');
    await mapIdle(page);
    await page.waitForFunction(() => /点选/.test(document.querySelector('.patrol .loc-text').textContent));
    assert.equal(await page.locator('.maplibregl-marker.pin, .pin').count(), 0, 'no pin at the map centre');
    await page.click('.patrol .cat[data-cat=garbage]');
    await page.click('.patrol .submit');
    await page.waitForSelector('.toast');
    assert.match(await page.locator('.toast').last().textContent(), /位置/);
    assert.equal(await page.locator('.patrol .result:not([hidden])').count(), 0, 'nothing was sent');

    // The patrol taps the spot: the pin is there.
    const box = await page.locator('#map').boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForFunction(() => /已在地图上放置图钉/.test(document.querySelector('.patrol .loc-text').textContent));
    const pin = await page.evaluate(() => {
      const c = window.xuncha.ctrl.map.getCenter();
      return [c.lng, c.lat];
    });

    // A photo whose EXIF says it was taken 1.5 km north of the pin.
    const plain = await canvasJpeg(page);
    const far = Buffer.concat([plain.subarray(0, 2), exifGps(pin[0], pin[1] + 1500 / 111_320), plain.subarray(2)]);
    const farPath = join(ARTIFACTS, 'exif-far.jpg');
    writeFileSync(farPath, far);
    await page.setInputFiles('.patrol input[type=file]', farPath);
    await page.waitForSelector('.patrol .exif-warn:not([hidden])');
    const warn = await page.locator('.patrol .exif-warn').textContent();
    const m = Number(warn.match(/(\d+) 米/)[1]);
    assert.ok(Math.abs(m - 1500) < 30, warn);

    // Six more photos (seven in all, one over the limit of six): the extra one is announced.
    const paths = [];
    for (let i = 0; i < 6; i++) {
      const p = join(ARTIFACTS, `plain-${i}.jpg`);
      writeFileSync(p, plain);
      paths.push(p);
    }
    await page.setInputFiles('.patrol input[type=file]', paths);
    await page.waitForSelector('.patrol .photo-limit:not([hidden])');
    assert.match(await page.locator('.patrol .photo-limit').textContent(), /最多 6 张.*1 张未添加/);
    await page.waitForFunction(() => document.querySelectorAll('.patrol .previews img').length === 6);
    const send = await page.locator('.patrol .submit').boundingBox();
    assert.ok(send.y >= 0 && send.y + send.height <= PHONE.height, `send button at ${send.y}–${send.y + send.height}`);
    assert.ok(send.height >= 44, `send button ${send.height} px high`);
    await shot(page, 'phone-form-limits');
    await page.click('.patrol .exif-warn .keep-pin');
    await page.click('.patrol .submit');
    await page.waitForSelector('.patrol .result.ok:not([hidden])', { timeout: 60_000 });
    await shot(page, 'phone-form-sent');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
