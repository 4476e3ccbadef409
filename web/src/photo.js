// Photos taken in the browser: oriented, shrunk and re-encoded before they are sent.

import { t } from './i18n.js';

const MAX_SIDE_PX = 2048;

/**
 * Draws the chosen `photos` (`{blob, name}`) into `previews`, each with a × that removes it from
 * the list and draws again; object URLs of the previous drawing are released.
 */
export function renderPhotoPreviews(previews, photos) {
  previews.querySelectorAll('img').forEach((img) => URL.revokeObjectURL(img.src));
  previews.innerHTML = '';
  photos.forEach((p, i) => {
    const fig = document.createElement('figure');
    const img = document.createElement('img');
    img.src = URL.createObjectURL(p.blob);
    img.alt = p.name;
    const x = document.createElement('button');
    x.type = 'button';
    x.textContent = '×';
    x.className = 'photo-remove';
    x.setAttribute('aria-label', t('a11y_photo_remove', { n: i + 1 }));
    x.addEventListener('click', () => {
      photos.splice(i, 1);
      renderPhotoPreviews(previews, photos);
    });
    fig.append(img, x);
    previews.appendChild(fig);
  });
}

/**
 * Decodes a photo with its EXIF orientation applied, shrinks it to ≤ 2048 px on the long side and
 * re-encodes it as JPEG (which also drops EXIF, GPS included). Files the browser cannot decode
 * (e.g. HEIC) are sent as they are and the server says what it accepts.
 */
export async function shrinkPhoto(file) {
  let bmp;
  try {
    bmp = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    return { blob: file, name: file.name, width: null, height: null, shrunk: false };
  }
  const scale = Math.min(1, MAX_SIDE_PX / Math.max(bmp.width, bmp.height));
  const w = Math.max(1, Math.round(bmp.width * scale));
  const h = Math.max(1, Math.round(bmp.height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  canvas.getContext('2d').drawImage(bmp, 0, 0, w, h);
  bmp.close?.();
  const blob = await new Promise((res) => canvas.toBlob(res, 'image/jpeg', 0.86));
  const name = `${(file.name || 'photo').replace(/\.[^.]*$/, '')}.jpg`;
  return { blob: blob || file, name, width: w, height: h, shrunk: true };
}

/**
 * The GPS position in a JPEG's EXIF (`[lon, lat]` WGS84), or null when it has none. Reads only the
 * file's first 256 KiB (EXIF sits at the start).
 */
export async function exifLonLat(file) {
  try {
    const buf = new DataView(await file.slice(0, 256 * 1024).arrayBuffer());
    if (buf.getUint16(0) !== 0xffd8) return null;
    let p = 2;
    while (p + 4 <= buf.byteLength) {
      const marker = buf.getUint16(p);
      const len = buf.getUint16(p + 2);
      if (marker === 0xffe1 && buf.getUint32(p + 4) === 0x45786966) return gpsOfTiff(buf, p + 10);
      if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) return null;
      p += 2 + len;
    }
  } catch {
    /* a truncated or odd file: no position */
  }
  return null;
}

function gpsOfTiff(v, tiff) {
  const le = v.getUint16(tiff) === 0x4949;
  const u16 = (o) => v.getUint16(tiff + o, le);
  const u32 = (o) => v.getUint32(tiff + o, le);
  const entries = (ifd) => {
    const out = new Map();
    const n = u16(ifd);
    for (let i = 0; i < n; i++) out.set(u16(ifd + 2 + i * 12), ifd + 2 + i * 12);
    return out;
  };
  const gpsAt = entries(u32(4)).get(0x8825);
  if (gpsAt === undefined) return null;
  const gps = entries(u32(gpsAt + 8));
  const ref = (tag) => (gps.has(tag) ? String.fromCharCode(v.getUint8(tiff + gps.get(tag) + 8)) : '');
  const dms = (tag) => {
    if (!gps.has(tag)) return null;
    const at = u32(gps.get(tag) + 8);
    const r = (k) => u32(at + k * 8) / (u32(at + k * 8 + 4) || 1);
    return r(0) + r(1) / 60 + r(2) / 3600;
  };
  const lat = dms(2);
  const lon = dms(4);
  if (lat == null || lon == null || (lat === 0 && lon === 0)) return null;
  return [ref(3) === 'W' ? -lon : lon, ref(1) === 'S' ? -lat : lat];
}
