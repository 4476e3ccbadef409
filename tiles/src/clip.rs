//! Clipping to the tile plus its buffer, in tile coordinates (f64).
//!
//! Rings are clipped with Sutherland–Hodgman against the four edges of the
//! clip square. This computes the true intersection points (no vertex
//! dropping) and yields the exact clipped area; where a concave ring leaves
//! and re-enters the square it adds zero-width connecting edges along the
//! square's border. Those are removed by the integer overlay in
//! [`crate::repair`], which resolves the ring set into OGC-valid polygons.
//! Lines are clipped segment by segment (Liang–Barsky) and split into parts.

use geo::Coord;

/// The clip square in tile coordinates: `[min, max]²`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClipSquare {
    pub(crate) min: f64,
    pub(crate) max: f64,
}

#[derive(Clone, Copy)]
enum Edge {
    Left,
    Right,
    Top,
    Bottom,
}

impl ClipSquare {
    #[inline]
    fn inside(&self, p: Coord<f64>, e: Edge) -> bool {
        match e {
            Edge::Left => p.x >= self.min,
            Edge::Right => p.x <= self.max,
            Edge::Top => p.y >= self.min,
            Edge::Bottom => p.y <= self.max,
        }
    }

    #[inline]
    fn intersect(&self, a: Coord<f64>, b: Coord<f64>, e: Edge) -> Coord<f64> {
        match e {
            Edge::Left | Edge::Right => {
                let x = if matches!(e, Edge::Left) {
                    self.min
                } else {
                    self.max
                };
                let t = (x - a.x) / (b.x - a.x);
                Coord {
                    x,
                    y: a.y + t * (b.y - a.y),
                }
            }
            Edge::Top | Edge::Bottom => {
                let y = if matches!(e, Edge::Top) {
                    self.min
                } else {
                    self.max
                };
                let t = (y - a.y) / (b.y - a.y);
                Coord {
                    x: a.x + t * (b.x - a.x),
                    y,
                }
            }
        }
    }
}

/// Clips a closed ring (no closing duplicate) to the square. The result is
/// left in `out` (possibly empty); `tmp` is scratch space.
pub(crate) fn clip_ring(
    sq: &ClipSquare,
    ring: &[Coord<f64>],
    out: &mut Vec<Coord<f64>>,
    tmp: &mut Vec<Coord<f64>>,
) {
    // Left: ring -> out, Right: out -> tmp, Top: tmp -> out, Bottom: out -> tmp; then swap.
    clip_edge(sq, ring, out, Edge::Left);
    clip_edge(sq, out, tmp, Edge::Right);
    clip_edge(sq, tmp, out, Edge::Top);
    clip_edge(sq, out, tmp, Edge::Bottom);
    std::mem::swap(out, tmp);
}

fn clip_edge(sq: &ClipSquare, src: &[Coord<f64>], dst: &mut Vec<Coord<f64>>, e: Edge) {
    dst.clear();
    let Some(&last) = src.last() else {
        return;
    };
    let mut prev = last;
    let mut prev_in = sq.inside(prev, e);
    for &cur in src {
        let cur_in = sq.inside(cur, e);
        if cur_in {
            if !prev_in {
                dst.push(sq.intersect(prev, cur, e));
            }
            dst.push(cur);
        } else if prev_in {
            dst.push(sq.intersect(prev, cur, e));
        }
        prev = cur;
        prev_in = cur_in;
    }
}

/// Clips an open polyline to the square, calling `emit` with each maximal
/// inside part (at least two points).
pub(crate) fn clip_line(
    sq: &ClipSquare,
    line: &[Coord<f64>],
    part: &mut Vec<Coord<f64>>,
    mut emit: impl FnMut(&[Coord<f64>]),
) {
    part.clear();
    for w in line.windows(2) {
        let (a, b) = (w[0], w[1]);
        match liang_barsky(sq, a, b) {
            Some((p, q, b_inside)) => {
                if part.last() != Some(&p) {
                    if part.len() >= 2 {
                        emit(part);
                    }
                    part.clear();
                    part.push(p);
                }
                part.push(q);
                if !b_inside {
                    if part.len() >= 2 {
                        emit(part);
                    }
                    part.clear();
                }
            }
            None => {
                if part.len() >= 2 {
                    emit(part);
                }
                part.clear();
            }
        }
    }
    if part.len() >= 2 {
        emit(part);
    }
}

/// Clips segment `a→b`; returns the visible sub-segment and whether `b` itself is visible.
fn liang_barsky(
    sq: &ClipSquare,
    a: Coord<f64>,
    b: Coord<f64>,
) -> Option<(Coord<f64>, Coord<f64>, bool)> {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let mut t0 = 0.0f64;
    let mut t1 = 1.0f64;
    for (p, q) in [
        (-dx, a.x - sq.min),
        (dx, sq.max - a.x),
        (-dy, a.y - sq.min),
        (dy, sq.max - a.y),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                if r > t1 {
                    return None;
                }
                t0 = t0.max(r);
            } else {
                if r < t0 {
                    return None;
                }
                t1 = t1.min(r);
            }
        }
    }
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            Coord {
                x: a.x + t * dx,
                y: a.y + t * dy,
            }
        }
    };
    Some((at(t0), at(t1), t1 == 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::signed_area;

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    #[test]
    fn ring_clip_computes_intersections_and_area() {
        let sq = ClipSquare {
            min: 0.0,
            max: 10.0,
        };
        // A diamond |x-5| + |y-5| <= 7 poking out of every side.
        let ring = [c(5.0, -2.0), c(12.0, 5.0), c(5.0, 12.0), c(-2.0, 5.0)];
        let (mut out, mut tmp) = (Vec::new(), Vec::new());
        clip_ring(&sq, &ring, &mut out, &mut tmp);
        assert_eq!(out.len(), 8);
        // The square loses four corner triangles with legs of 3 (area 4.5 each).
        assert!((signed_area(&out).abs() - 82.0).abs() < 1e-9);
        assert!(out
            .iter()
            .all(|p| p.x >= 0.0 && p.x <= 10.0 && p.y >= 0.0 && p.y <= 10.0));
    }

    #[test]
    fn ring_outside_is_empty_and_ring_around_is_the_square() {
        let sq = ClipSquare {
            min: 0.0,
            max: 10.0,
        };
        let (mut out, mut tmp) = (Vec::new(), Vec::new());
        clip_ring(
            &sq,
            &[c(20.0, 20.0), c(30.0, 20.0), c(30.0, 30.0)],
            &mut out,
            &mut tmp,
        );
        assert!(out.is_empty());
        clip_ring(
            &sq,
            &[c(-5.0, -5.0), c(15.0, -5.0), c(15.0, 15.0), c(-5.0, 15.0)],
            &mut out,
            &mut tmp,
        );
        assert!((signed_area(&out) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn line_is_split_into_parts() {
        let sq = ClipSquare {
            min: 0.0,
            max: 10.0,
        };
        // In, out to the right, back in, and out again.
        let line = [
            c(5.0, 1.0),
            c(15.0, 1.0),
            c(15.0, 5.0),
            c(5.0, 5.0),
            c(5.0, 20.0),
        ];
        let mut parts = Vec::new();
        clip_line(&sq, &line, &mut Vec::new(), |p| parts.push(p.to_vec()));
        assert_eq!(
            parts,
            vec![
                vec![c(5.0, 1.0), c(10.0, 1.0)],
                vec![c(10.0, 5.0), c(5.0, 5.0), c(5.0, 10.0)]
            ]
        );
    }
}
