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
        let mut shapes = self
            .overlay
            .simplify_source(&self.rings[..self.used], FillRule::NonZero);
        reassign_holes(&mut shapes);
        shapes
    }
}

/// `i_overlay` 9.1 in OGC mode occasionally files a hole under the wrong
/// exterior (found by `tests/random.rs`). Each hole is checked against its
/// exterior and, when outside it, moved to the exterior that does contain
/// it; a hole no exterior contains is dropped.
fn reassign_holes(shapes: &mut [Vec<Vec<TilePoint>>]) {
    if shapes.iter().all(|s| s.len() <= 1) {
        return;
    }
    let mut misplaced: Vec<Vec<TilePoint>> = Vec::new();
    for shape in shapes.iter_mut() {
        if shape.len() <= 1 {
            continue;
        }
        let (exterior, holes) = shape.split_at_mut(1);
        let exterior = &exterior[0];
        let mut keep = vec![true; holes.len()];
        for (k, hole) in holes.iter().enumerate() {
            if hole_inside(hole, exterior) == Some(false) {
                keep[k] = false;
            }
        }
        if keep.iter().all(|&k| k) {
            continue;
        }
        let mut k = 0;
        shape.retain_mut(|ring| {
            let idx = k;
            k += 1;
            if idx == 0 || keep[idx - 1] {
                true
            } else {
                misplaced.push(std::mem::take(ring));
                false
            }
        });
    }
    for hole in misplaced {
        let target = shapes
            .iter()
            .position(|s| hole_inside(&hole, &s[0]) == Some(true));
        if let Some(i) = target {
            shapes[i].push(hole);
        }
    }
}

/// Is `hole` inside `exterior`? Decided at the midpoint of the first hole
/// edge that does not lie on the exterior's boundary (valid output rings only
/// touch at points); `None` if every midpoint is on the boundary.
fn hole_inside(hole: &[TilePoint], exterior: &[TilePoint]) -> Option<bool> {
    let n = hole.len();
    (0..n).find_map(|i| {
        let (a, b) = (hole[i], hole[(i + 1) % n]);
        // Doubled coordinates keep the midpoint on the integer grid.
        let m = (
            i64::from(a.x) + i64::from(b.x),
            i64::from(a.y) + i64::from(b.y),
        );
        point_in_ring_doubled(m, exterior)
    })
}

/// Even-odd point-in-ring test for a point given in doubled coordinates,
/// exact in integers; `None` when the point lies on the ring.
fn point_in_ring_doubled(p: (i64, i64), ring: &[TilePoint]) -> Option<bool> {
    let n = ring.len();
    let mut inside = false;
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        let (ax, ay) = (2 * i64::from(a.x), 2 * i64::from(a.y));
        let (bx, by) = (2 * i64::from(b.x), 2 * i64::from(b.y));
        let cross = (bx - ax) * (p.1 - ay) - (by - ay) * (p.0 - ax);
        if cross == 0
            && p.0 >= ax.min(bx)
            && p.0 <= ax.max(bx)
            && p.1 >= ay.min(by)
            && p.1 <= ay.max(by)
        {
            return None;
        }
        if (ay > p.1) != (by > p.1) {
            // x of the edge at p.y compared with p.x, sign-corrected for edge direction.
            let left = if by > ay { cross > 0 } else { cross < 0 };
            if left {
                inside = !inside;
            }
        }
    }
    Some(inside)
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
    fn misfiled_holes_are_moved_to_their_exterior() {
        let sq = |x: i32, y: i32, s: i32| {
            vec![
                TilePoint::new(x, y),
                TilePoint::new(x + s, y),
                TilePoint::new(x + s, y + s),
                TilePoint::new(x, y + s),
            ]
        };
        let hole = |x: i32, y: i32, s: i32| {
            let mut r = sq(x, y, s);
            r.reverse();
            r
        };
        // The hole at (12, 12) belongs to the second square, not the first.
        let mut shapes = vec![
            vec![sq(0, 0, 10), hole(12, 12, 2), hole(2, 2, 2)],
            vec![sq(10, 10, 10)],
        ];
        reassign_holes(&mut shapes);
        assert_eq!(shapes[0], vec![sq(0, 0, 10), hole(2, 2, 2)]);
        assert_eq!(shapes[1], vec![sq(10, 10, 10), hole(12, 12, 2)]);
        assert_eq!(point_in_ring_doubled((10, 10), &sq(0, 0, 10)), Some(true));
        assert_eq!(point_in_ring_doubled((20, 10), &sq(0, 0, 10)), None);
        assert_eq!(point_in_ring_doubled((21, 10), &sq(0, 0, 10)), Some(false));
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
