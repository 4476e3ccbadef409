// The office heatmap's colour ramp and what its colours stand for.
//
// MapLibre draws each feature as a Gaussian kernel: at x px from the point the heat is
// weight × intensity × GAUSS_COEF × exp(−4.5 (x / r)²) (GAUSS_COEF = 1/√(2π), σ = r / 3; see its
// heatmap shader), so a uniform density of ρ reports per px² gives the heatmap density
// D = intensity × ρ × GAUSS_COEF × 2π σ² = intensity × ρ × 0.2785 r². `tuneHeat` in office.js
// keeps D a function of reports per km² at every zoom; `reportsPerKm2` turns a density stop of
// the ramp back into that number, so the legend can say what each colour counts.

/** Heat kernel radius in px: at least the spacing of the server's aggregation bins (about 46 px
 * on screen) below z14, or the bins show as a lattice of separate blobs. */
export const heatRadius = (z) => (z <= 14 ? 56 : z >= 17 ? 48 : 56 - ((z - 14) * 8) / 3);
/** Heat intensity at z12 (calibrated on the demo city's seeded reports with a 33.6 px kernel). */
export const HEAT_I12 = 0.08 * (33.6 / heatRadius(12)) ** 2;
/** Heatmap density stops and their colours (the first is transparent). */
export const HEAT_STOPS = [0, 0.1, 0.25, 0.45, 0.65, 0.85, 1];
/** Blue → purple → red: every drawn stop has at least 4.3 : 1 contrast on white (3.8 : 1 on the land colour). */
export const HEAT_COLORS = ['rgba(59,117,175,0)', '#3b75af', '#6a51a3', '#ae017e', '#d7301f', '#b30000', '#7f0000'];

const GAUSS_COEF = 1 / Math.sqrt(2 * Math.PI);
const EARTH_CIRCUMFERENCE_M = 40075016.686;
/** MapLibre's world is 512 px wide at zoom 0. */
const WORLD_PX = 512;

/** Heatmap intensity at zoom `z` (`tuneHeat`'s interpolation stops are these values). */
export const heatIntensity = (z) => HEAT_I12 * 4 ** (z - 12) * (heatRadius(12) / heatRadius(z)) ** 2;

/** Ground metres per CSS pixel at zoom `z` and latitude `lat`. */
export const metresPerPx = (z, lat) => (EARTH_CIRCUMFERENCE_M * Math.cos((lat * Math.PI) / 180)) / (WORLD_PX * 2 ** z);

/** Reports per km² that give heatmap density `d` at latitude `lat` (the same at every zoom). */
export function reportsPerKm2(d, lat, z = 12) {
  const r = heatRadius(z);
  const perPx2 = d / (heatIntensity(z) * GAUSS_COEF * 2 * Math.PI * (r / 3) ** 2);
  return (perPx2 * 1e6) / metresPerPx(z, lat) ** 2;
}
