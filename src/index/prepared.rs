//! A polygon prepared for fast, exact point-in-polygon tests and distance queries.
//!
//! The edges of all rings are bucketed into horizontal bands (an edge index in CSR form), so a
//! test looks only at the edges of the point's band instead of every edge: a county of 2 000
//! vertices costs a handful of edge tests. Orientation uses Shewchuk's robust predicate, so the
//! answer is exact, and points on the boundary are reported as covered.

use crate::geodesy::LocalMetres;
use geo::{Coord, MultiPolygon};

#[derive(Debug, Clone, Copy)]
struct Edge {
    ax: f64,
    ay: f64,
    bx: f64,
    by: f64,
}

/// Where a point lies relative to a prepared area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Inside,
    Boundary,
    Outside,
}

/// A MultiPolygon with an edge index.
#[derive(Debug, Clone)]
pub struct PreparedArea {
    min_y: f64,
    max_y: f64,
    inv_band_h: f64,
    bands: usize,
    /// `band_start[k]..band_start[k + 1]` indexes `band_edges` for band `k`.
    band_start: Vec<u32>,
    band_edges: Vec<Edge>,
}

impl PreparedArea {
    pub fn new(mp: &MultiPolygon<f64>) -> Self {
        let mut edges = Vec::new();
        for p in &mp.0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for w in ring.0.windows(2) {
                    if w[0] != w[1] {
                        edges.push(Edge {
                            ax: w[0].x,
                            ay: w[0].y,
                            bx: w[1].x,
                            by: w[1].y,
                        });
                    }
                }
            }
        }
        let (min_y, max_y) = edges
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), e| {
                (lo.min(e.ay.min(e.by)), hi.max(e.ay.max(e.by)))
            });
        // About four edges per band keeps each test to a few edge checks.
        let bands = (edges.len() / 4).clamp(1, 1 << 16);
        let height = (max_y - min_y).max(f64::MIN_POSITIVE);
        let inv_band_h = bands as f64 / height;
        let mut area = PreparedArea {
            min_y,
            max_y,
            inv_band_h,
            bands,
            band_start: Vec::new(),
            band_edges: Vec::new(),
        };
        let mut counts = vec![0u32; bands + 1];
        for e in &edges {
            let (lo, hi) = area.band_range(e.ay.min(e.by), e.ay.max(e.by));
            for k in lo..=hi {
                counts[k + 1] += 1;
            }
        }
        for k in 0..bands {
            counts[k + 1] += counts[k];
        }
        let mut fill = counts.clone();
        let mut slots = vec![
            Edge {
                ax: 0.0,
                ay: 0.0,
                bx: 0.0,
                by: 0.0
            };
            counts[bands] as usize
        ];
        for e in &edges {
            let (lo, hi) = area.band_range(e.ay.min(e.by), e.ay.max(e.by));
            for slot in fill.iter_mut().take(hi + 1).skip(lo) {
                slots[*slot as usize] = *e;
                *slot += 1;
            }
        }
        area.band_start = counts;
        area.band_edges = slots;
        area
    }

    #[inline]
    fn band_of(&self, y: f64) -> usize {
        // Monotone in y, so an edge spanning y always lies in y's band.
        let k = ((y - self.min_y) * self.inv_band_h) as isize;
        k.clamp(0, self.bands as isize - 1) as usize
    }

    #[inline]
    fn band_range(&self, lo: f64, hi: f64) -> (usize, usize) {
        (self.band_of(lo), self.band_of(hi))
    }

    #[inline]
    fn band(&self, k: usize) -> &[Edge] {
        &self.band_edges[self.band_start[k] as usize..self.band_start[k + 1] as usize]
    }

    /// Locates `[lon, lat]` exactly (boundary included).
    pub fn locate(&self, p: Coord<f64>) -> Location {
        if !(p.y >= self.min_y && p.y <= self.max_y) {
            return Location::Outside;
        }
        let (px, py) = (p.x, p.y);
        let mut inside = false;
        for e in self.band(self.band_of(py)) {
            let (ylo, yhi) = if e.ay < e.by {
                (e.ay, e.by)
            } else {
                (e.by, e.ay)
            };
            if py < ylo || py > yhi {
                continue;
            }
            let (xlo, xhi) = if e.ax < e.bx {
                (e.ax, e.bx)
            } else {
                (e.bx, e.ax)
            };
            if px > xhi {
                continue; // entirely left of the point: neither crossed by the ray nor touched
            }
            let straddles = (e.ay > py) != (e.by > py);
            if px < xlo {
                if straddles {
                    inside = !inside;
                }
                continue;
            }
            let o = robust::orient2d(
                robust::Coord { x: e.ax, y: e.ay },
                robust::Coord { x: e.bx, y: e.by },
                robust::Coord { x: px, y: py },
            );
            if o == 0.0 {
                return Location::Boundary;
            }
            if straddles && ((e.by > e.ay) == (o > 0.0)) {
                inside = !inside;
            }
        }
        if inside {
            Location::Inside
        } else {
            Location::Outside
        }
    }

    /// Whether `[lon, lat]` is inside or on the boundary.
    #[inline]
    pub fn covers(&self, p: Coord<f64>) -> bool {
        self.locate(p) != Location::Outside
    }

    /// Distance in metres from `p` to the area: 0 when covered, else to the nearest edge.
    /// Only edges within `max_m` are looked at; returns `None` when none is that close.
    pub fn distance_m(&self, p: Coord<f64>, max_m: f64) -> Option<f64> {
        if self.covers(p) {
            return Some(0.0);
        }
        let lm = LocalMetres::new(p.x, p.y);
        let (_, dlat) = lm.degrees_for(max_m);
        if p.y + dlat < self.min_y || p.y - dlat > self.max_y {
            return None;
        }
        let (lo, hi) = self.band_range(p.y - dlat, p.y + dlat);
        let mut best = f64::INFINITY;
        for k in lo..=hi {
            for e in self.band(k) {
                let d = lm
                    .distance_to_segment_m(Coord { x: e.ax, y: e.ay }, Coord { x: e.bx, y: e.by });
                best = best.min(d);
            }
        }
        (best <= max_m).then_some(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, Contains, Intersects, MultiPolygon, Point};

    fn ring_with_hole() -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon!(
            exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 5., y: 12.), (x: 0., y: 10.), (x: 0., y: 0.)],
            interiors: [[(x: 3., y: 3.), (x: 3., y: 6.), (x: 6., y: 6.), (x: 6., y: 3.), (x: 3., y: 3.)]],
        )])
    }

    #[test]
    fn boundary_vertices_holes() {
        let mp = ring_with_hole();
        let a = PreparedArea::new(&mp);
        assert_eq!(a.locate(Coord { x: 1., y: 1. }), Location::Inside);
        assert_eq!(a.locate(Coord { x: 4., y: 4. }), Location::Outside); // in the hole
        assert_eq!(a.locate(Coord { x: 3., y: 4. }), Location::Boundary); // on the hole
        assert_eq!(a.locate(Coord { x: 0., y: 0. }), Location::Boundary); // a vertex
        assert_eq!(a.locate(Coord { x: 5., y: 12. }), Location::Boundary); // the apex
        assert_eq!(a.locate(Coord { x: 10., y: 5. }), Location::Boundary);
        assert_eq!(a.locate(Coord { x: 11., y: 5. }), Location::Outside);
        assert_eq!(a.locate(Coord { x: -1., y: 10. }), Location::Outside); // level with a vertex
        assert_eq!(a.locate(Coord { x: 2., y: 10. }), Location::Inside);
    }

    #[test]
    fn agrees_with_geo_on_a_grid() {
        let mp = ring_with_hole();
        let a = PreparedArea::new(&mp);
        for i in -4..=56 {
            for j in -4..=64 {
                let p = Point::new(i as f64 * 0.25, j as f64 * 0.25);
                let expect = mp.intersects(&p);
                assert_eq!(a.covers(p.0), expect, "{p:?}");
                if a.locate(p.0) == Location::Inside {
                    assert!(mp.contains(&p));
                }
            }
        }
    }
}
