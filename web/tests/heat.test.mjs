// The heatmap legend's numbers against a direct simulation of MapLibre's heatmap kernel: a
// uniform field of points at a known density, summed with the shader's formula at the map's
// intensity and radius, must give the density stop the legend names, at every zoom.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heatRadius, heatIntensity, metresPerPx, reportsPerKm2, HEAT_STOPS } from '../src/heat.js';

// MapLibre's heatmap fragment shader (src/shaders/heatmap.fragment.glsl).
const GAUSS_COEF = 0.3989422804014327;
const kernel = (x, r) => GAUSS_COEF * Math.exp(-0.5 * 3 * 3 * (x / r) ** 2);

/**
 * Mean heatmap density over the pixels amid points spaced `step` px apart on a square lattice
 * (sampled every 4 px or finer in a lattice cell: sparse points make the heat lumpy, and the
 * legend names its mean).
 */
function simulatedDensity(z, step) {
  const r = heatRadius(z);
  const n = Math.ceil(r / step) + 1;
  let total = 0;
  const k = Math.max(8, Math.ceil(step / 4));
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
    let sum = 0;
    for (let i = -n; i <= n; i++) for (let j = -n; j <= n; j++) {
      const d = Math.hypot((i + a / k) * step, (j + b / k) * step);
      if (d < r) sum += kernel(d, r);
    }
    total += sum;
  }
  return (heatIntensity(z) * total) / (k * k);
}

test('the legend names the reports per km² that give each colour, at every zoom', () => {
  const lat = 41.94; // Baishan
  for (const z of [11, 12, 13.5, 15, 16.5]) {
    for (const d of HEAT_STOPS.slice(1)) {
      const perKm2 = reportsPerKm2(d, lat);
      // The lattice spacing in px that puts perKm2 reports on a km².
      const m2PerReport = 1e6 / perKm2;
      const step = Math.sqrt(m2PerReport) / metresPerPx(z, lat);
      const sim = simulatedDensity(z, step);
      assert.ok(Math.abs(sim - d) / d < 0.03, `z${z} stop ${d}: ${perKm2.toFixed(1)}/km² simulate to ${sim.toFixed(4)}`);
    }
  }
});

test('the numbers are of the right size for Baishan and grow towards the equator', () => {
  const top = reportsPerKm2(1, 41.94);
  assert.ok(top > 100 && top < 400, `${top}`);
  assert.ok(reportsPerKm2(1, 0) < top, 'a pixel covers more ground at the equator');
  assert.ok(reportsPerKm2(0.1, 41.94) < reportsPerKm2(0.25, 41.94));
});
