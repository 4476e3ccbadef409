//! Douglas–Peucker simplification in tile coordinates.
//!
//! The tolerance is in tile units (1.0 = one unit of the 4096 extent), so the
//! same tolerance simplifies per zoom: a tile unit covers half the ground at
//! each deeper zoom. Simplification may create self-intersections; the
//! overlay in [`crate::repair`] removes them afterwards.

use geo::Coord;

/// Squared distance from `p` to segment `a→b`, multiplied by the squared
/// segment length `len2` so the hot loop needs no division. Within one span
/// the factor is constant, so comparisons between points stay exact.
#[inline]
fn scaled_dist2(p: Coord<f64>, a: Coord<f64>, dx: f64, dy: f64, len2: f64) -> f64 {
    let (px, py) = (p.x - a.x, p.y - a.y);
    let dot = px * dx + py * dy;
    if len2 == 0.0 {
        px * px + py * py
    } else if dot <= 0.0 {
        (px * px + py * py) * len2
    } else if dot >= len2 {
        let (qx, qy) = (px - dx, py - dy);
        (qx * qx + qy * qy) * len2
    } else {
        let cross = px * dy - py * dx;
        cross * cross
    }
}

/// Reusable scratch space for [`Simplifier::line`] and [`Simplifier::ring`].
#[derive(Debug, Default)]
pub(crate) struct Simplifier {
    keep: Vec<bool>,
    stack: Vec<(usize, usize)>,
}

impl Simplifier {
    /// Douglas–Peucker on an open polyline; endpoints are always kept.
    pub(crate) fn line(&mut self, pts: &[Coord<f64>], tolerance: f64, out: &mut Vec<Coord<f64>>) {
        out.clear();
        let n = pts.len();
        if n <= 2 || tolerance <= 0.0 {
            out.extend_from_slice(pts);
            return;
        }
        self.mark(pts, 0, n - 1, tolerance * tolerance);
        out.extend(
            pts.iter()
                .zip(&self.keep)
                .filter(|(_, k)| **k)
                .map(|(p, _)| *p),
        );
    }

    /// Douglas–Peucker on a closed ring (no closing duplicate): split at the
    /// first vertex and the vertex farthest from it, simplify both halves.
    pub(crate) fn ring(&mut self, pts: &[Coord<f64>], tolerance: f64, out: &mut Vec<Coord<f64>>) {
        out.clear();
        let n = pts.len();
        if n <= 4 || tolerance <= 0.0 {
            out.extend_from_slice(pts);
            return;
        }
        let p0 = pts[0];
        let far = (1..n)
            .max_by(|&i, &j| {
                let di = (pts[i].x - p0.x).powi(2) + (pts[i].y - p0.y).powi(2);
                let dj = (pts[j].x - p0.x).powi(2) + (pts[j].y - p0.y).powi(2);
                di.total_cmp(&dj)
            })
            .unwrap_or(n / 2);
        // Walk the ring as an open polyline 0..=n where index n is vertex 0 again.
        let tol2 = tolerance * tolerance;
        self.keep.clear();
        self.keep.resize(n + 1, false);
        self.keep[0] = true;
        self.keep[n] = true;
        self.keep[far] = true;
        self.run(|i| pts[i], 0, far, tol2);
        // Index `n` is vertex 0 again.
        self.run(|i| if i < n { pts[i] } else { pts[0] }, far, n, tol2);
        out.extend((0..n).filter(|&i| self.keep[i]).map(|i| pts[i]));
    }

    fn mark(&mut self, pts: &[Coord<f64>], first: usize, last: usize, tol2: f64) {
        self.keep.clear();
        self.keep.resize(pts.len(), false);
        self.keep[first] = true;
        self.keep[last] = true;
        self.run(|i| pts[i], first, last, tol2);
    }

    fn run(&mut self, at: impl Fn(usize) -> Coord<f64>, first: usize, last: usize, tol2: f64) {
        self.stack.clear();
        self.stack.push((first, last));
        while let Some((a, b)) = self.stack.pop() {
            if b <= a + 1 {
                continue;
            }
            let (pa, pb) = (at(a), at(b));
            let (dx, dy) = (pb.x - pa.x, pb.y - pa.y);
            let len2 = dx * dx + dy * dy;
            let mut best = (0.0, a);
            for i in a + 1..b {
                let d = scaled_dist2(at(i), pa, dx, dy, len2);
                if d > best.0 {
                    best = (d, i);
                }
            }
            if best.0 > tol2 * if len2 == 0.0 { 1.0 } else { len2 } {
                self.keep[best.1] = true;
                self.stack.push((a, best.1));
                self.stack.push((best.1, b));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    #[test]
    fn line_drops_points_within_tolerance_only() {
        let pts = [
            c(0.0, 0.0),
            c(1.0, 0.4),
            c(2.0, 0.0),
            c(3.0, 5.0),
            c(4.0, 0.0),
        ];
        let mut s = Simplifier::default();
        let mut out = Vec::new();
        s.line(&pts, 1.0, &mut out);
        assert_eq!(
            out,
            vec![c(0.0, 0.0), c(2.0, 0.0), c(3.0, 5.0), c(4.0, 0.0)]
        );
        s.line(&pts, 0.1, &mut out);
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn ring_keeps_corners_and_drops_noise() {
        let mut ring = Vec::new();
        for i in 0..100 {
            ring.push(c(f64::from(i), if i % 2 == 0 { 0.0 } else { 0.3 }));
        }
        ring.push(c(100.0, 0.0));
        ring.push(c(100.0, 100.0));
        ring.push(c(0.0, 100.0));
        let mut s = Simplifier::default();
        let mut out = Vec::new();
        s.ring(&ring, 1.0, &mut out);
        assert_eq!(out.len(), 4, "{out:?}");
        for corner in [c(0.0, 0.0), c(100.0, 0.0), c(100.0, 100.0), c(0.0, 100.0)] {
            assert!(out.contains(&corner));
        }
    }
}
