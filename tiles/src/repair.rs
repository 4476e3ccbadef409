//! Snapping to the integer grid and repair into OGC-valid MVT polygons.
//!
//! The clipped, simplified rings are rounded to integer tile coordinates and
//! resolved by `i_overlay`'s integer overlay (non-zero fill, OGC mode). The
//! output has no self-intersections, no zero-area or degenerate rings, holes
//! strictly nested in their exterior, and exteriors with positive shoelace
//! area (clockwise on screen with `y` down, as MVT 2.1 requires) followed by
//! their holes with negative area.

use geo::Coord;
use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay::{ContourDirection, IntOverlayOptions, Overlay};
use i_overlay::core::solver::Solver;
use i_overlay::i_float::int::point::IntPoint;

/// An integer point in tile coordinates.
pub type TilePoint = IntPoint<i32>;

/// Rings in, valid polygons out; keeps the overlay's buffers between calls.
pub(crate) struct Repairer {
    overlay: Overlay<i32>,
    rings: Vec<Vec<TilePoint>>,
    used: usize,
}

impl Default for Repairer {
    fn default() -> Self {
        let options = IntOverlayOptions {
            output_direction: ContourDirection::CounterClockwise,
            ogc: true,
            ..IntOverlayOptions::default()
        };
        Self {
            overlay: Overlay::new_custom(256, options, Solver::default()),
            rings: Vec::new(),
            used: 0,
        }
    }
}

impl Repairer {
    /// Starts a new polygon.
    pub(crate) fn clear(&mut self) {
        self.used = 0;
    }

    /// Adds one ring in float tile coordinates; it is rounded to the grid and
    /// consecutive duplicates are dropped. Rings that collapse are skipped.
    pub(crate) fn push_ring(&mut self, pts: &[Coord<f64>]) {
        if self.used == self.rings.len() {
            self.rings.push(Vec::with_capacity(pts.len()));
        }
        let ring = &mut self.rings[self.used];
        ring.clear();
        for p in pts {
            let q = IntPoint::new(p.x.round() as i32, p.y.round() as i32);
            if ring.last() != Some(&q) {
                ring.push(q);
            }
        }
        while ring.len() > 1 && ring.first() == ring.last() {
            ring.pop();
        }
        if ring.len() >= 3 {
            self.used += 1;
        }
    }

    /// True if no ring survived snapping.
    pub(crate) fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// Resolves the rings added since [`Repairer::clear`] into valid shapes:
    /// each shape is its exterior followed by its holes.
    pub(crate) fn resolve(&mut self) -> Vec<Vec<Vec<TilePoint>>> {
        if self.used == 0 {
            return Vec::new();
        }
        self.overlay
            .simplify_source(&self.rings[..self.used], FillRule::NonZero)
    }
}

/// Shoelace area of an integer ring (twice the area, exact in i64).
pub(crate) fn twice_area(ring: &[TilePoint]) -> i64 {
    let n = ring.len();
    let mut sum = 0i64;
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        sum += i64::from(a.x) * i64::from(b.y) - i64::from(b.x) * i64::from(a.y);
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    #[test]
    fn bow_tie_becomes_two_valid_triangles() {
        let mut r = Repairer::default();
        r.clear();
        r.push_ring(&[c(0.0, 0.0), c(10.0, 10.0), c(10.0, 0.0), c(0.0, 10.0)]);
        let shapes = r.resolve();
        assert_eq!(shapes.len(), 2);
        for s in &shapes {
            assert_eq!(s.len(), 1);
            assert!(twice_area(&s[0]) > 0);
        }
    }

    #[test]
    fn hole_is_kept_and_wound_opposite() {
        let mut r = Repairer::default();
        r.clear();
        r.push_ring(&[c(0.0, 0.0), c(10.0, 0.0), c(10.0, 10.0), c(0.0, 10.0)]);
        r.push_ring(&[c(2.0, 2.0), c(2.0, 8.0), c(8.0, 8.0), c(8.0, 2.0)]);
        let shapes = r.resolve();
        assert_eq!(shapes.len(), 1);
        assert_eq!(shapes[0].len(), 2);
        assert_eq!(twice_area(&shapes[0][0]), 200);
        assert_eq!(twice_area(&shapes[0][1]), -72);
    }

    #[test]
    fn degenerate_rings_vanish() {
        let mut r = Repairer::default();
        r.clear();
        // Collapses to a line after rounding.
        r.push_ring(&[c(0.0, 0.0), c(5.0, 0.2), c(10.0, 0.0)]);
        // Zero-width spike along an edge (what Sutherland–Hodgman leaves behind).
        r.push_ring(&[
            c(0.0, 0.0),
            c(4.0, 0.0),
            c(4.0, 4.0),
            c(4.0, 0.0),
            c(8.0, 0.0),
            c(8.0, 4.0),
            c(0.0, 4.0),
        ]);
        let shapes = r.resolve();
        assert_eq!(shapes.len(), 1);
        assert_eq!(shapes[0].len(), 1);
        assert_eq!(twice_area(&shapes[0][0]), 64);
    }
}
