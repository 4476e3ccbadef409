//! Small raster helpers for server-rendered sheets: alpha-blended polygon fill (even–odd, at
//! pixel centres), thick lines, discs, and text with a TrueType/OpenType font.
//!
//! Shapes are not anti-aliased here; the work-order map is drawn at twice its size and scaled
//! down, which smooths them. Text is anti-aliased by the glyph rasterizer itself.

use ab_glyph::{Font as _, FontArc, PxScale, ScaleFont};
use image::{Rgba, RgbaImage};
use std::sync::OnceLock;

/// Blends `c` (straight alpha) over the pixel at `(x, y)` with extra coverage `cov` in `[0, 1]`.
#[inline]
pub fn blend(img: &mut RgbaImage, x: i64, y: i64, c: Rgba<u8>, cov: f32) {
    if x < 0 || y < 0 || x >= img.width() as i64 || y >= img.height() as i64 {
        return;
    }
    let a = f32::from(c[3]) / 255.0 * cov.clamp(0.0, 1.0);
    if a <= 0.0 {
        return;
    }
    let p = img.get_pixel_mut(x as u32, y as u32);
    let da = f32::from(p[3]) / 255.0;
    let out_a = a + da * (1.0 - a);
    for k in 0..3 {
        let v = (f32::from(c[k]) * a + f32::from(p[k]) * da * (1.0 - a)) / out_a.max(1e-6);
        p[k] = v.round().clamp(0.0, 255.0) as u8;
    }
    p[3] = (out_a * 255.0).round() as u8;
}

/// Fills rings (pixel coordinates; holes are rings too, even–odd) with `c`.
pub fn fill_polygon(img: &mut RgbaImage, rings: &[Vec<(f64, f64)>], c: Rgba<u8>) {
    let (mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY);
    for r in rings {
        for p in r {
            y0 = y0.min(p.1);
            y1 = y1.max(p.1);
        }
    }
    if !y0.is_finite() {
        return;
    }
    let h = img.height() as i64;
    let w = img.width() as i64;
    let ys = (y0.floor() as i64).max(0);
    let ye = (y1.ceil() as i64).min(h - 1);
    let mut xs: Vec<f64> = Vec::new();
    for y in ys..=ye {
        let sy = y as f64 + 0.5;
        xs.clear();
        for r in rings {
            let n = r.len();
            for i in 0..n {
                let (a, b) = (r[i], r[(i + 1) % n]);
                // Half-open rule so a vertex on the scanline is counted once.
                if (a.1 <= sy) != (b.1 <= sy) {
                    xs.push(a.0 + (sy - a.1) / (b.1 - a.1) * (b.0 - a.0));
                }
            }
        }
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks(2) {
            if let [a, b] = pair {
                let xa = ((a - 0.5).ceil() as i64).max(0);
                let xb = ((b - 0.5).floor() as i64).min(w - 1);
                for x in xa..=xb {
                    blend(img, x, y, c, 1.0);
                }
            }
        }
    }
}

/// A line `width` pixels wide from `a` to `b`, with round ends.
pub fn line(img: &mut RgbaImage, a: (f64, f64), b: (f64, f64), width: f64, c: Rgba<u8>) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt();
    let h = width / 2.0;
    if len > 1e-9 {
        let (nx, ny) = (-dy / len * h, dx / len * h);
        fill_polygon(
            img,
            &[vec![
                (a.0 + nx, a.1 + ny),
                (b.0 + nx, b.1 + ny),
                (b.0 - nx, b.1 - ny),
                (a.0 - nx, a.1 - ny),
            ]],
            c,
        );
    }
    // Round joins: an opaque colour overdraws itself harmlessly.
    if c[3] == 255 {
        disc(img, a, h, c);
        disc(img, b, h, c);
    }
}

/// A polyline ring's outline.
pub fn ring_outline(img: &mut RgbaImage, ring: &[(f64, f64)], width: f64, c: Rgba<u8>) {
    for w in ring.windows(2) {
        line(img, w[0], w[1], width, c);
    }
}

/// A filled disc.
pub fn disc(img: &mut RgbaImage, centre: (f64, f64), r: f64, c: Rgba<u8>) {
    let (x0, x1) = ((centre.0 - r).floor() as i64, (centre.0 + r).ceil() as i64);
    let (y0, y1) = ((centre.1 - r).floor() as i64, (centre.1 + r).ceil() as i64);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (dx, dy) = (x as f64 + 0.5 - centre.0, y as f64 + 0.5 - centre.1);
            let d = (dx * dx + dy * dy).sqrt();
            // One pixel of soft edge.
            let cov = (r - d + 0.5).clamp(0.0, 1.0) as f32;
            if cov > 0.0 {
                blend(img, x, y, c, cov);
            }
        }
    }
}

/// A filled axis-aligned rectangle.
pub fn rect(img: &mut RgbaImage, x: i64, y: i64, w: i64, h: i64, c: Rgba<u8>) {
    for yy in y.max(0)..(y + h).min(img.height() as i64) {
        for xx in x.max(0)..(x + w).min(img.width() as i64) {
            blend(img, xx, yy, c, 1.0);
        }
    }
}

/// A font for labels.
#[derive(Clone)]
pub struct Font(FontArc);

/// Noto Sans CJK SC, cut down to GB 2312 (every Hanzi of names and notes in practice), ASCII and
/// CJK punctuation: `assets/fonts/README.md` says how it was made. Built into the binary so a
/// server-rendered work order never depends on a system font.
static EMBEDDED: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-GB2312.otf");

impl Font {
    /// The built-in Chinese font, parsed once for the life of the process.
    pub fn embedded() -> &'static Font {
        static FONT: OnceLock<Font> = OnceLock::new();
        FONT.get_or_init(|| {
            Font(FontArc::new(
                ab_glyph::FontRef::try_from_slice(EMBEDDED).expect("the embedded font parses"),
            ))
        })
    }

    /// Whether the font draws `ch` (rather than the box of a missing glyph).
    pub fn has_glyph(&self, ch: char) -> bool {
        self.0.glyph_id(ch).0 != 0
    }

    /// Width of `text` at `size` pixels.
    pub fn width(&self, size: f32, text: &str) -> f32 {
        let f = self.0.as_scaled(PxScale::from(size));
        text.chars().map(|ch| f.h_advance(f.glyph_id(ch))).sum()
    }

    /// Draws `text` with its top-left at `(x, y)`; returns the width drawn.
    pub fn draw(
        &self,
        img: &mut RgbaImage,
        x: f32,
        y: f32,
        size: f32,
        c: Rgba<u8>,
        text: &str,
    ) -> f32 {
        let scale = PxScale::from(size);
        let f = self.0.as_scaled(scale);
        let mut pen = x;
        let base = y + f.ascent();
        for ch in text.chars() {
            let id = f.glyph_id(ch);
            let g = id.with_scale_and_position(scale, ab_glyph::point(pen, base));
            if let Some(o) = self.0.outline_glyph(g) {
                let bb = o.px_bounds();
                o.draw(|gx, gy, cov| {
                    blend(
                        img,
                        bb.min.x as i64 + gx as i64,
                        bb.min.y as i64 + gy as i64,
                        c,
                        cov,
                    )
                });
            }
            pen += f.h_advance(id);
        }
        pen - x
    }

    /// Draws `text` cut to `max_w` pixels (with "…") and returns the width drawn.
    #[allow(clippy::too_many_arguments)] // a text call reads best with every part named in place
    pub fn draw_fit(
        &self,
        img: &mut RgbaImage,
        x: f32,
        y: f32,
        size: f32,
        c: Rgba<u8>,
        text: &str,
        max_w: f32,
    ) -> f32 {
        if self.width(size, text) <= max_w {
            return self.draw(img, x, y, size, c, text);
        }
        let ell = self.width(size, "…");
        let mut s = String::new();
        for ch in text.chars() {
            let mut t = s.clone();
            t.push(ch);
            if self.width(size, &t) + ell > max_w {
                break;
            }
            s = t;
        }
        s.push('…');
        self.draw(img, x, y, size, c, &s)
    }

    /// Wraps `text` into lines of at most `max_w` pixels (by character: Chinese has no spaces).
    pub fn wrap(&self, size: f32, text: &str, max_w: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut cur = String::new();
        for ch in text.chars() {
            if ch == '\n' {
                lines.push(std::mem::take(&mut cur));
                continue;
            }
            let mut t = cur.clone();
            t.push(ch);
            if self.width(size, &t) > max_w && !cur.is_empty() {
                lines.push(std::mem::replace(&mut cur, ch.to_string()));
            } else {
                cur = t;
            }
        }
        if !cur.is_empty() {
            lines.push(cur);
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_fill_covers_exactly_its_pixels() {
        let mut img = RgbaImage::new(10, 10);
        fill_polygon(
            &mut img,
            &[vec![(2.0, 2.0), (6.0, 2.0), (6.0, 5.0), (2.0, 5.0)]],
            Rgba([255, 0, 0, 255]),
        );
        let filled = img.pixels().filter(|p| p[3] == 255).count();
        assert_eq!(filled, 4 * 3);
        assert_eq!(img.get_pixel(2, 2)[0], 255);
        assert_eq!(img.get_pixel(6, 2)[3], 0);
    }

    #[test]
    fn hole_stays_empty() {
        let mut img = RgbaImage::new(10, 10);
        fill_polygon(
            &mut img,
            &[
                vec![(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)],
                vec![(3.0, 3.0), (7.0, 3.0), (7.0, 7.0), (3.0, 7.0)],
            ],
            Rgba([0, 0, 255, 255]),
        );
        assert_eq!(img.get_pixel(5, 5)[3], 0);
        assert_eq!(img.get_pixel(1, 1)[3], 255);
    }
}
