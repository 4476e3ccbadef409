//! Raster heatmap tiles: kernel density of reports, with the kernel radius in metres on the
//! ground, drawn into a 256 × 256 RGBA PNG with a colour ramp and transparency.
//!
//! A pixel's value depends only on the reports within one kernel radius of its centre and on
//! the pixel's place in the world, never on which tile it is drawn in: distances are measured
//! in world (Web Mercator) pixels scaled by each report's own latitude, and every tile reads
//! the reports in a margin of one radius around itself. So tiles join without seams, and the
//! colour scale is absolute (reports per hectare), not stretched per tile.

use crate::crs::Bbox;
use crate::store::stats::ReportFilter;
use image::{Rgba, RgbaImage};
use xuncha_tiles::{lonlat_to_world, TileCoord};

/// Tile side in pixels.
pub const TILE_PX: u32 = 256;
/// Web Mercator's sphere circumference at the equator, metres (EPSG:3857 uses a = 6 378 137 m).
const EARTH_CIRCUMFERENCE_M: f64 = 2.0 * std::f64::consts::PI * 6_378_137.0;
/// Where the kernel is narrower than this many pixels it is widened to it, so no report falls
/// between pixel centres at low zoom; the density (reports per area) keeps its meaning.
const MIN_RADIUS_PX: f64 = 1.5;

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

/// The box of reports that can colour `tile`: the tile and a margin of one (possibly widened)
/// kernel radius.
pub fn fetch_bbox(tile: TileCoord, style: &HeatStyle) -> Bbox {
    let b = tile.bounds_lonlat();
    let (s, n) = (b.min().y, b.max().y);
    let (equatorward, poleward) = if s.abs() < n.abs() { (s, n) } else { (n, s) };
    let margin_m = style
        .radius_m
        .max(MIN_RADIUS_PX * metres_per_px(equatorward, tile.z))
        * 1.05;
    let lm = crate::crs::geodesy::LocalMetres::new(b.min().x, poleward);
    let (dlon, dlat) = lm.degrees_for(margin_m);
    Bbox::new(
        b.min().x - dlon,
        (s - dlat).max(-90.0),
        b.max().x + dlon,
        (n + dlat).min(90.0),
    )
}

/// Density in reports per hectare at every pixel centre of `tile`.
pub struct Density {
    pub values: Vec<f32>,
}

impl Density {
    pub fn new() -> Self {
        Density {
            values: vec![0.0; (TILE_PX * TILE_PX) as usize],
        }
    }

    /// Adds one report at `[lon, lat]` with a quartic (biweight) kernel.
    pub fn add(&mut self, tile: TileCoord, radius_m: f64, lon: f64, lat: f64) {
        let scale = f64::from(TILE_PX) * f64::from(1u32 << tile.z);
        let (wx, wy) = lonlat_to_world(lon, lat);
        let px = wx * scale - f64::from(tile.x * TILE_PX);
        let py = wy * scale - f64::from(tile.y * TILE_PX);
        let mpp = metres_per_px(lat, tile.z);
        let r_m = radius_m.max(MIN_RADIUS_PX * mpp);
        let r_px = r_m / mpp;
        // ∫ of (1 − d²/r²)² over the disc is π r² / 3: each report adds one report in total.
        let norm = 3.0 / (std::f64::consts::PI * r_m * r_m) * 10_000.0;
        let side = TILE_PX as i64;
        let x0 = ((px - r_px - 0.5).floor() as i64).max(0);
        let x1 = ((px + r_px - 0.5).ceil() as i64).min(side - 1);
        let y0 = ((py - r_px - 0.5).floor() as i64).max(0);
        let y1 = ((py + r_px - 0.5).ceil() as i64).min(side - 1);
        let inv_r2 = 1.0 / (r_px * r_px);
        for y in y0..=y1 {
            let dy = y as f64 + 0.5 - py;
            for x in x0..=x1 {
                let dx = x as f64 + 0.5 - px;
                let q = (dx * dx + dy * dy) * inv_r2;
                if q < 1.0 {
                    let k = (1.0 - q) * (1.0 - q);
                    self.values[(y * side + x) as usize] += (norm * k) as f32;
                }
            }
        }
    }

    /// Colours the densities.
    pub fn to_image(&self, scale_per_ha: f64) -> RgbaImage {
        let inv = 1.0 / scale_per_ha.max(1e-9);
        RgbaImage::from_fn(TILE_PX, TILE_PX, |x, y| {
            let v = f64::from(self.values[(y * TILE_PX + x) as usize]);
            ramp(1.0 - (-v * inv).exp())
        })
    }
}

impl Default for Density {
    fn default() -> Self {
        Self::new()
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
/// tile layer: no database round trip, an R-tree query of the tile plus one kernel radius).
pub fn render_points(
    points: &dyn crate::tileset::ReportSource,
    tile: TileCoord,
    filter: &ReportFilter,
    style: &HeatStyle,
) -> RgbaImage {
    let mut d = Density::new();
    let f = crate::tileset::ReportFilter::of(filter);
    points.for_each_in(fetch_bbox(tile, style), &f, &mut |p| {
        d.add(tile, style.radius_m, p.lon, p.lat)
    });
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

    #[test]
    fn one_report_adds_up_to_one_report() {
        // z16 at 42°N: ~1.8 m per pixel; a 60 m kernel covers ~33 px radius.
        let t = TileCoord::containing(126.42, 41.93, 16).unwrap();
        let b = t.bounds_lonlat();
        let (lon, lat) = ((b.min().x + b.max().x) / 2.0, (b.min().y + b.max().y) / 2.0);
        let mut d = Density::new();
        d.add(t, 60.0, lon, lat);
        let mpp = metres_per_px(lat, 16);
        let sum_ha: f64 =
            d.values.iter().map(|v| f64::from(*v)).sum::<f64>() * mpp * mpp / 10_000.0;
        assert!((sum_ha - 1.0).abs() < 0.02, "{sum_ha}");
    }

    #[test]
    fn two_tiles_equal_one_wide_render() {
        // A report right on the edge between two tiles colours both, and each pixel has the value
        // it would have in a render that ignores tile boundaries.
        let z = 15;
        let left = TileCoord::containing(126.42, 41.93, z).unwrap();
        let right = TileCoord::new(z, left.x + 1, left.y).unwrap();
        let edge_lon = right.bounds_lonlat().min().x;
        let lat = (left.bounds_lonlat().min().y + left.bounds_lonlat().max().y) / 2.0;
        let mut a = Density::new();
        let mut b = Density::new();
        for (i, dl) in [-0.0002, 0.0, 0.00015].iter().enumerate() {
            let p = (edge_lon + dl, lat + i as f64 * 0.0001);
            a.add(left, 60.0, p.0, p.1);
            b.add(right, 60.0, p.0, p.1);
        }
        let w = TILE_PX as usize;
        let mut differs = 0.0f32;
        for y in 0..w {
            let l = a.values[y * w + w - 1];
            let r = b.values[y * w];
            // Neighbouring pixel centres 1 px apart: the density changes little between them.
            differs = differs.max((l - r).abs());
        }
        let peak = a
            .values
            .iter()
            .chain(&b.values)
            .cloned()
            .fold(0.0, f32::max);
        assert!(peak > 0.0);
        assert!(differs < peak * 0.1, "{differs} vs {peak}");
    }

    #[test]
    fn ramp_is_transparent_at_zero_and_red_at_one() {
        assert_eq!(ramp(0.0)[3], 0);
        let hot = ramp(1.0);
        assert!(hot[0] > 200 && hot[1] < 30 && hot[3] > 200);
    }
}
