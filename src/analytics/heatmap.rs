//! Raster heatmap tiles: kernel density of reports, with the kernel radius in metres on the
//! ground, drawn into a 256 × 256 RGBA PNG with a colour ramp and transparency.
//!
//! Reports are first counted into a grid of cells, then the grid is blurred by a separable
//! Gaussian (σ = a third of the radius, cut at the radius) and sampled at the pixel centres. A
//! tile costs O(reports in it + cells × taps): the kernel never touches r² pixels per report,
//! and a wide kernel runs on coarser cells (a power of two pixels, at most [`MAX_HALF_CELLS`]
//! cells per half-width), so the blur costs the same at any radius.
//!
//! Where the cells are no finer than the report counts the tiles keep (a cell of the Z-order
//! grid up to [`KEPT_MAX_LEVEL`]: one world pixel at zoom 10, coarser ones for wide kernels
//! further in), a report counts whole in the cell it lies in, and the counts come from the kept
//! ones when the source has them for the filter: such a tile reads no report, whatever the number
//! under it. Finer cells take each report split over the four cells around it (bilinear splat).
//!
//! A pixel's value depends only on the reports near it and on its place in the world, never on
//! which tile it is drawn in: the cells are aligned to the world pixel grid, and every tile reads
//! the reports whose splat reaches its grid. So tiles join without seams, and the colour scale is
//! absolute (reports per hectare), not stretched per tile.

use crate::crs::Bbox;
use crate::store::stats::ReportFilter;
use crate::tileset::{world_cell, CellBox, KEPT_MAX_LEVEL};
use image::{Rgba, RgbaImage};
use xuncha_tiles::{lonlat_to_world, world_to_lonlat, TileCoord};

/// Tile side in pixels.
pub const TILE_PX: u32 = 256;
/// Web Mercator's sphere circumference at the equator, metres (EPSG:3857 uses a = 6 378 137 m).
const EARTH_CIRCUMFERENCE_M: f64 = 2.0 * std::f64::consts::PI * 6_378_137.0;
/// Where the kernel is narrower than this many pixels it is widened to it, so no report falls
/// between pixel centres at low zoom; the density (reports per area) keeps its meaning.
const MIN_RADIUS_PX: f64 = 1.5;
/// The Gaussian's σ as a share of the radius: cut at the radius, the kernel has fallen to
/// e^(−4.5) ≈ 1.1 % of its peak there.
const SIGMA_PER_RADIUS: f64 = 1.0 / 3.0;
/// Largest kernel half-width in grid cells; a wider kernel doubles the cell size instead.
pub const MAX_HALF_CELLS: f64 = 12.0;

/// How a heatmap is drawn.
#[derive(Debug, Clone, Copy)]
pub struct HeatStyle {
    /// Kernel radius on the ground, metres.
    pub radius_m: f64,
    /// Density (reports per hectare) that reaches 63 % of the ramp (`1 − e⁻¹`).
    pub scale_per_ha: f64,
}

/// Metres per world pixel at latitude `lat` and zoom `z`.
fn metres_per_px(lat: f64, z: u8) -> f64 {
    EARTH_CIRCUMFERENCE_M * lat.to_radians().cos() / (f64::from(TILE_PX) * f64::from(1u32 << z))
}

/// Where one tile's density grid lies, in cells of the world pixel grid at the tile's zoom.
#[derive(Debug, Clone, Copy)]
struct Grid {
    tile: TileCoord,
    /// World pixels per cell side (a power of two).
    cell: u32,
    /// The Z-order level of the cells (2^level a side over the world), when a report counts
    /// whole in its cell; `None` when it is split over four (cells finer than the kept counts).
    binned: Option<u32>,
    /// Kernel half-width in cells.
    half: usize,
    sigma_cells: f64,
    /// Global index of the first cell column and row of the grid.
    gx0: i64,
    gy0: i64,
    /// Cells per row and rows.
    w: usize,
    h: usize,
    /// How many cells a side the pixel centres sample: those from `half` cells into the grid
    /// (the grid is the sampled cells and the kernel's reach around them).
    sw: usize,
    sh: usize,
}

impl Grid {
    fn new(tile: TileCoord, radius_m: f64) -> Grid {
        let b = tile.bounds_lonlat();
        let mpp = metres_per_px((b.min().y + b.max().y) / 2.0, tile.z);
        let r_px = radius_m.max(MIN_RADIUS_PX * mpp) / mpp;
        let mut cell = 1u32;
        while r_px / f64::from(cell) > MAX_HALF_CELLS && cell < 1 << 24 {
            cell *= 2;
        }
        let c = f64::from(cell);
        let binned = (u32::from(tile.z) + 8)
            .checked_sub(cell.trailing_zeros())
            .filter(|level| *level <= KEPT_MAX_LEVEL);
        // A bilinear splat blurs by a tent of one cell (variance 1/6 cell²), and so does the
        // bilinear sampling where cells are wider than a pixel: the Gaussian makes up the rest of
        // σ². A report counted whole sits at its cell's centre (off by at most half a cell, not
        // blurred), so there the Gaussian is all of σ at pixel-sized cells.
        let spread = match binned {
            None => 1.0 / 3.0,
            Some(_) if cell == 1 => 0.0,
            Some(_) => 1.0 / 6.0,
        };
        let half = (r_px / c).ceil().max(1.0) as usize;
        // Pixel centres X + 0.5 sample cells floor(u) and floor(u) + 1 with u = (X + 0.5)/c − 0.5.
        let first = |p0: f64| ((p0 + 0.5) / c - 0.5).floor() as i64;
        let last = |p0: f64| ((p0 + f64::from(TILE_PX) - 0.5) / c - 0.5).floor() as i64 + 1;
        let (px0, py0) = (
            f64::from(tile.x) * f64::from(TILE_PX),
            f64::from(tile.y) * f64::from(TILE_PX),
        );
        let (fx, lx, fy, ly) = (first(px0), last(px0), first(py0), last(py0));
        let gx0 = fx - half as i64;
        let gy0 = fy - half as i64;
        Grid {
            tile,
            cell,
            binned,
            half,
            sigma_cells: ((r_px * SIGMA_PER_RADIUS / c).powi(2) - spread)
                .max(0.0)
                .sqrt(),
            gx0,
            gy0,
            w: (lx + half as i64 - gx0 + 1) as usize,
            h: (ly + half as i64 - gy0 + 1) as usize,
            sw: (lx - fx + 1) as usize,
            sh: (ly - fy + 1) as usize,
        }
    }

    /// The box of reports that can colour the tile: those whose splat reaches a grid cell.
    fn fetch_bbox(&self) -> Bbox {
        let c = f64::from(self.cell);
        let scale = f64::from(TILE_PX) * f64::from(1u32 << self.tile.z);
        let x0 = (self.gx0 as f64 - 0.5) * c / scale;
        let x1 = ((self.gx0 + self.w as i64) as f64 + 0.5) * c / scale;
        let y0 = (self.gy0 as f64 - 0.5) * c / scale;
        let y1 = ((self.gy0 + self.h as i64) as f64 + 0.5) * c / scale;
        let (west, north) = world_to_lonlat(x0.max(0.0), y0.max(0.0));
        let (east, south) = world_to_lonlat(x1.min(1.0), y1.min(1.0));
        Bbox::new(west, south.max(-90.0), east, north.min(90.0))
    }

    /// Gaussian taps from −half to +half, summing to one.
    fn taps(&self) -> Vec<f32> {
        let s2 = 2.0 * self.sigma_cells * self.sigma_cells;
        let k: Vec<f64> = (-(self.half as i64)..=self.half as i64)
            .map(|i| match i {
                0 => 1.0,
                _ if s2 == 0.0 => 0.0,
                _ => (-((i * i) as f64) / s2).exp(),
            })
            .collect();
        let sum: f64 = k.iter().sum();
        k.iter().map(|v| (v / sum) as f32).collect()
    }
}

/// The box of reports that can colour `tile` with `style`'s kernel.
pub fn fetch_bbox(tile: TileCoord, style: &HeatStyle) -> Bbox {
    Grid::new(tile, style.radius_m).fetch_bbox()
}

/// Reports counted into one tile's grid, then turned into a density per pixel.
pub struct Density {
    grid: Grid,
    counts: Vec<f32>,
}

impl Density {
    /// An empty grid for `tile` and a kernel of `radius_m` metres.
    pub fn new(tile: TileCoord, radius_m: f64) -> Self {
        let grid = Grid::new(tile, radius_m);
        Density {
            grid,
            counts: vec![0.0; grid.w * grid.h],
        }
    }

    /// The box of reports worth adding.
    pub fn fetch_bbox(&self) -> Bbox {
        self.grid.fetch_bbox()
    }

    /// The Z-order level of the grid's cells when a report counts whole in its cell (so kept
    /// counts of that level can fill it, see [`Density::add_cell`]); `None` for finer cells.
    pub fn binned_level(&self) -> Option<u32> {
        self.grid.binned
    }

    /// The grid's cells at [`Density::binned_level`] (within the world).
    pub fn cells(&self) -> CellBox {
        let g = &self.grid;
        let side = 1i64 << g.binned.unwrap_or(0);
        let clip = |v: i64| v.clamp(0, side) as u32;
        CellBox {
            x0: clip(g.gx0),
            y0: clip(g.gy0),
            x1: clip(g.gx0 + g.w as i64),
            y1: clip(g.gy0 + g.h as i64),
        }
    }

    /// Adds `n` reports in the cell at `column`, `row` of [`Density::binned_level`] (nothing
    /// outside the grid).
    pub fn add_cell(&mut self, column: u32, row: u32, n: f32) {
        let g = &self.grid;
        let (x, y) = (i64::from(column) - g.gx0, i64::from(row) - g.gy0);
        if x >= 0 && y >= 0 && (x as usize) < g.w && (y as usize) < g.h {
            self.counts[y as usize * g.w + x as usize] += n;
        }
    }

    /// Adds one report at `[lon, lat]`: whole in its cell, or split over the four cells around
    /// it where the cells are finer than the kept counts.
    pub fn add(&mut self, lon: f64, lat: f64) {
        let (wx, wy) = lonlat_to_world(lon, lat);
        self.add_world(wx, wy)
    }

    /// [`Density::add`] with the report's place in world coordinates (the unit square).
    pub fn add_world(&mut self, wx: f64, wy: f64) {
        if let Some(level) = self.grid.binned {
            let (x, y) = world_cell([wx, wy], level);
            return self.add_cell(x, y, 1.0);
        }
        let g = &self.grid;
        let scale = f64::from(TILE_PX) * f64::from(1u32 << g.tile.z) / f64::from(g.cell);
        let u = wx * scale - 0.5 - g.gx0 as f64;
        let v = wy * scale - 0.5 - g.gy0 as f64;
        let (i, j) = (u.floor(), v.floor());
        let (fu, fv) = ((u - i) as f32, (v - j) as f32);
        let (i, j) = (i as i64, j as i64);
        for (di, wu) in [(0, 1.0 - fu), (1, fu)] {
            for (dj, wv) in [(0, 1.0 - fv), (1, fv)] {
                let (x, y) = (i + di, j + dj);
                if x >= 0 && y >= 0 && (x as usize) < g.w && (y as usize) < g.h {
                    self.counts[y as usize * g.w + x as usize] += wu * wv;
                }
            }
        }
    }

    /// Density in reports per hectare at every pixel centre of the tile, row by row.
    pub fn values(&self) -> Vec<f32> {
        let g = &self.grid;
        let taps = g.taps();
        let n = taps.len();
        // Horizontal pass: every grid row, only the sampled columns.
        let mut across = vec![0.0f32; g.h * g.sw];
        for y in 0..g.h {
            let row = &self.counts[y * g.w..(y + 1) * g.w];
            if row.iter().all(|c| *c == 0.0) {
                continue;
            }
            let out = &mut across[y * g.sw..(y + 1) * g.sw];
            for (sx, o) in out.iter_mut().enumerate() {
                // Sampled cell `half + sx`: its taps start `half` cells to the left, at `sx`.
                let src = &row[sx..sx + n];
                *o = src.iter().zip(&taps).map(|(a, b)| a * b).sum();
            }
        }
        // Vertical pass: only the sampled rows.
        let mut blurred = vec![0.0f32; g.sh * g.sw];
        for sy in 0..g.sh {
            let out = &mut blurred[sy * g.sw..(sy + 1) * g.sw];
            for (k, t) in taps.iter().enumerate() {
                let src = &across[(sy + k) * g.sw..(sy + k + 1) * g.sw];
                for (o, a) in out.iter_mut().zip(src) {
                    *o += a * t;
                }
            }
        }
        // Bilinear samples at the pixel centres, over each pixel row's cell area in hectares.
        let c = f64::from(g.cell);
        let scale = f64::from(TILE_PX) * f64::from(1u32 << g.tile.z);
        let side = TILE_PX as usize;
        // Global index of the first sampled cell column and row.
        let fx = (g.gx0 + g.half as i64) as f64;
        let fy = (g.gy0 + g.half as i64) as f64;
        let cols: Vec<(usize, f32)> = (0..side)
            .map(|x| {
                let u = (f64::from(g.tile.x) * f64::from(TILE_PX) + x as f64 + 0.5) / c - 0.5 - fx;
                let i = u.floor();
                ((i as usize).min(g.sw - 2), (u - i) as f32)
            })
            .collect();
        let mut values = vec![0.0f32; side * side];
        for y in 0..side {
            let py = f64::from(g.tile.y) * f64::from(TILE_PX) + y as f64 + 0.5;
            let v = py / c - 0.5 - fy;
            let j = v.floor();
            let (j, fv) = ((j as usize).min(g.sh - 2), (v - j) as f32);
            let (_, lat) = world_to_lonlat(0.0, py / scale);
            let cell_ha = (c * metres_per_px(lat, g.tile.z)).powi(2) / 10_000.0;
            let inv = (1.0 / cell_ha) as f32;
            let (r0, r1) = (
                &blurred[j * g.sw..(j + 1) * g.sw],
                &blurred[(j + 1) * g.sw..(j + 2) * g.sw],
            );
            for (x, &(i, fu)) in cols.iter().enumerate() {
                let top = r0[i] + (r0[i + 1] - r0[i]) * fu;
                let bottom = r1[i] + (r1[i + 1] - r1[i]) * fu;
                values[y * side + x] = (top + (bottom - top) * fv) * inv;
            }
        }
        values
    }

    /// Colours the densities.
    pub fn to_image(&self, scale_per_ha: f64) -> RgbaImage {
        let inv = 1.0 / scale_per_ha.max(1e-9);
        let values = self.values();
        RgbaImage::from_fn(TILE_PX, TILE_PX, |x, y| {
            let v = f64::from(values[(y * TILE_PX + x) as usize]);
            if v <= 0.0 {
                return Rgba([0, 0, 0, 0]);
            }
            ramp(1.0 - (-v * inv).exp())
        })
    }
}

/// Colour stops: transparent → blue → green → yellow → orange → red, more opaque as it heats.
const STOPS: [(f64, [f64; 4]); 6] = [
    (0.0, [0.0, 90.0, 255.0, 0.0]),
    (0.12, [0.0, 120.0, 255.0, 110.0]),
    (0.35, [0.0, 200.0, 120.0, 165.0]),
    (0.6, [250.0, 225.0, 0.0, 200.0]),
    (0.82, [255.0, 120.0, 0.0, 220.0]),
    (1.0, [215.0, 0.0, 0.0, 235.0]),
];

/// The colour of `t` in `[0, 1]`.
pub fn ramp(t: f64) -> Rgba<u8> {
    if t <= 0.01 {
        return Rgba([0, 0, 0, 0]);
    }
    let t = t.min(1.0);
    let i = STOPS
        .iter()
        .position(|s| s.0 >= t)
        .unwrap_or(STOPS.len() - 1)
        .max(1);
    let (t0, a) = STOPS[i - 1];
    let (t1, b) = STOPS[i];
    let f = ((t - t0) / (t1 - t0)).clamp(0.0, 1.0);
    let c = |k: usize| (a[k] + (b[k] - a[k]) * f).round().clamp(0.0, 255.0) as u8;
    Rgba([c(0), c(1), c(2), c(3)])
}

/// Renders `tile` from the in-memory report points (the same index as the `reports` vector
/// tile layer: no database round trip): from their kept counts where the source has them for
/// the cells and the filter, else from the reports of the tile plus the kernel's reach.
pub fn render_points(
    points: &dyn crate::tileset::ReportSource,
    tile: TileCoord,
    filter: &ReportFilter,
    style: &HeatStyle,
) -> RgbaImage {
    render(
        points,
        tile,
        &crate::tileset::ReportFilter::of(filter),
        style,
    )
}

/// [`render_points`] with the tiles' form of the filter (what the tile cache keys on).
pub fn render(
    points: &dyn crate::tileset::ReportSource,
    tile: TileCoord,
    filter: &crate::tileset::ReportFilter,
    style: &HeatStyle,
) -> RgbaImage {
    let mut d = Density::new(tile, style.radius_m);
    let kept = d.binned_level().is_some_and(|level| {
        let cells = d.cells();
        points.count_cells(level, cells, filter, &mut |x, y, n| {
            d.add_cell(x, y, n as f32)
        })
    });
    if !kept {
        points.for_each_in(d.fetch_bbox(), filter, &mut |p| {
            d.add_world(p.world[0], p.world[1])
        });
    }
    d.to_image(style.scale_per_ha)
}

/// Encodes an image as PNG (fast compression: tiles are made on request).
pub fn encode_png(img: &RgbaImage) -> Vec<u8> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    use image::ImageEncoder;
    let mut out = Vec::new();
    let enc = PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive);
    // Writing into a Vec cannot fail for a well-formed RGBA buffer.
    let _ = enc.write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgba8,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The centre of `t`.
    fn centre(t: TileCoord) -> (f64, f64) {
        let b = t.bounds_lonlat();
        ((b.min().x + b.max().x) / 2.0, (b.min().y + b.max().y) / 2.0)
    }

    /// The density at pixel (x, y) of `t` straight from the definition: a Gaussian of σ = r/3
    /// in world pixels around each report, per hectare.
    fn brute(t: TileCoord, radius_m: f64, reports: &[(f64, f64)], x: u32, y: u32) -> f64 {
        let scale = f64::from(TILE_PX) * f64::from(1u32 << t.z);
        let (cx, cy) = (
            f64::from(t.x * TILE_PX + x) + 0.5,
            f64::from(t.y * TILE_PX + y) + 0.5,
        );
        let (_, lat) = world_to_lonlat(0.0, cy / scale);
        let mpp = metres_per_px(centre(t).1, t.z);
        let sigma = radius_m.max(MIN_RADIUS_PX * mpp) / mpp * SIGMA_PER_RADIUS;
        let per_px2: f64 = reports
            .iter()
            .map(|&(lon, lat)| {
                let (wx, wy) = lonlat_to_world(lon, lat);
                let (dx, dy) = (wx * scale - cx, wy * scale - cy);
                (-(dx * dx + dy * dy) / (2.0 * sigma * sigma)).exp()
                    / (2.0 * std::f64::consts::PI * sigma * sigma)
            })
            .sum();
        per_px2 / (metres_per_px(lat, t.z).powi(2) / 10_000.0)
    }

    /// The largest difference between `values` and [`brute`] over a sample of pixels, and the
    /// peak of `values` (not zero).
    fn worst_and_peak(t: TileCoord, r: f64, reports: &[(f64, f64)], values: &[f32]) -> (f64, f64) {
        let peak = values.iter().cloned().fold(0.0, f32::max) as f64;
        assert!(peak > 0.0);
        let mut worst = 0.0f64;
        for y in (0..TILE_PX).step_by(7) {
            for x in (0..TILE_PX).step_by(5) {
                let want = brute(t, r, reports, x, y);
                let got = f64::from(values[(y * TILE_PX + x) as usize]);
                worst = worst.max((got - want).abs());
            }
        }
        (worst, peak)
    }

    #[test]
    fn one_report_adds_up_to_one_report_at_any_radius() {
        // z16 at 42°N: ~1.8 m per pixel. 60 m: 33 px (cells of 8 px); 5 m: widened to 1.5 px
        // (cells of 1 px); at z12, 2 km: 69 px (cells of 16 px), the kernel inside the tile.
        for (z, r) in [(16u8, 60.0), (16, 5.0), (12, 2000.0)] {
            let t = TileCoord::containing(126.42, 41.93, z).unwrap();
            let (lon, lat) = centre(t);
            let mut d = Density::new(t, r);
            d.add(lon, lat);
            let mpp = metres_per_px(lat, z);
            let sum_ha: f64 =
                d.values().iter().map(|v| f64::from(*v)).sum::<f64>() * mpp * mpp / 10_000.0;
            assert!((sum_ha - 1.0).abs() < 0.02, "z{z} r {r}: {sum_ha}");
        }
    }

    #[test]
    fn the_binned_blur_equals_the_kernel_sum() {
        // Reports scattered around a z16 tile's centre and over its edges; every pixel within 3 %
        // of the peak of the density computed report by report.
        let t = TileCoord::containing(126.42, 41.93, 16).unwrap();
        let (lon, lat) = centre(t);
        let reports: Vec<(f64, f64)> = (0..40)
            .map(|i| {
                let a = f64::from(i) * 2.4;
                let d = 0.0004 * f64::from(i % 9);
                (lon + d * a.cos() * 1.6, lat + d * a.sin())
            })
            .collect();
        for r in [60.0, 15.0] {
            let mut d = Density::new(t, r);
            for &(lon, lat) in &reports {
                d.add(lon, lat);
            }
            let v = d.values();
            let (worst, peak) = worst_and_peak(t, r, &reports, &v);
            assert!(
                worst < peak * 0.02,
                "r {r}: off by {worst} of a {peak} peak"
            );
        }
    }

    #[test]
    fn counted_whole_in_their_cells_the_reports_blur_to_the_kernel_sum_at_the_cell_centres() {
        // Cells no finer than the kept counts' (z10 at 1 km: 9 px a radius on cells of 1 px;
        // z13 at 1 km: cells of 8 px; both level 18, ~114 m here): each report counts at its
        // cell's centre, so a blob is off by at most half a cell, and the Gaussian takes that
        // spread out of σ². Every pixel is within 2 % of the peak of the Gaussian sum over the
        // cell centres, and the density still adds up to the reports.
        for (z, r, spread) in [(10u8, 1000.0, 0.02), (10, 1000.0, 0.0), (13, 1000.0, 0.008)] {
            let t = TileCoord::containing(126.42, 41.93, z).unwrap();
            let (lon, lat) = centre(t);
            let reports: Vec<(f64, f64)> = (0..60)
                .map(|i| {
                    let a = f64::from(i) * 2.4;
                    let d = spread * f64::from(i % 9) / 9.0;
                    (lon + d * a.cos() * 1.6, lat + d * a.sin())
                })
                .collect();
            let mut d = Density::new(t, r);
            assert_eq!(d.binned_level(), Some(18), "z{z} r {r}");
            let cells = f64::from(1u32 << 18);
            let centres: Vec<(f64, f64)> = reports
                .iter()
                .map(|&(lon, lat)| {
                    d.add(lon, lat);
                    let (wx, wy) = lonlat_to_world(lon, lat);
                    let (x, y) = world_cell([wx, wy], 18);
                    world_to_lonlat((f64::from(x) + 0.5) / cells, (f64::from(y) + 0.5) / cells)
                })
                .collect();
            let v = d.values();
            let (worst, peak) = worst_and_peak(t, r, &centres, &v);
            assert!(
                worst < peak * 0.02,
                "z{z} r {r}: off by {worst} of a {peak} peak"
            );
            let mpp = metres_per_px(lat, z);
            let sum: f64 = v.iter().map(|v| f64::from(*v)).sum::<f64>() * mpp * mpp / 10_000.0;
            assert!((sum / 60.0 - 1.0).abs() < 0.02, "z{z} r {r}: {sum} reports");
        }
    }

    #[test]
    fn a_report_is_read_by_every_tile_it_colours() {
        // Two neighbouring tiles: a report near the shared edge is in both fetch boxes, and the
        // pixels on either side of the edge have the values of one seamless render.
        let z = 15;
        let left = TileCoord::containing(126.42, 41.93, z).unwrap();
        let right = TileCoord::new(z, left.x + 1, left.y).unwrap();
        let edge_lon = right.bounds_lonlat().min().x;
        let lat = centre(left).1;
        let reports = [
            (edge_lon - 0.0002, lat),
            (edge_lon, lat + 0.0001),
            (edge_lon + 0.00015, lat + 0.0002),
        ];
        let style = HeatStyle {
            radius_m: 60.0,
            scale_per_ha: 20.0,
        };
        for t in [left, right] {
            let bbox = fetch_bbox(t, &style);
            assert!(reports.iter().all(|&(lon, lat)| bbox.contains(lon, lat)));
            let mut d = Density::new(t, style.radius_m);
            for &(lon, lat) in &reports {
                d.add(lon, lat);
            }
            let v = d.values();
            let x = if t == left { TILE_PX - 1 } else { 0 };
            let peak = v.iter().cloned().fold(0.0, f32::max) as f64;
            for y in 0..TILE_PX {
                let want = brute(t, style.radius_m, &reports, x, y);
                let got = f64::from(v[(y * TILE_PX + x) as usize]);
                assert!((got - want).abs() < peak * 0.03, "{got} vs {want}");
            }
        }
    }

    #[test]
    fn ramp_is_transparent_at_zero_and_red_at_one() {
        assert_eq!(ramp(0.0)[3], 0);
        let hot = ramp(1.0);
        assert!(hot[0] > 200 && hot[1] < 30 && hot[3] > 200);
    }
}
