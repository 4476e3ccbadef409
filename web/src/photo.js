// Photos taken in the browser: oriented, shrunk and re-encoded before they are sent.

const MAX_SIDE_PX = 2048;

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
