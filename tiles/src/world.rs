//! Geometry pre-projected to world coordinates, so a server projects once
//! when it builds its index and every tile request skips the trigonometry.
//!
//! World coordinates are Web Mercator scaled to `[0, 1]²`, `x` eastward and
//! `y` southward (see [`crate::tile`]).

use crate::simplify::Simplifier;
use crate::tile::{lonlat_to_world, MAX_ZOOM};
use geo::{Coord, LineString, MultiLineString, MultiPolygon, Point};

/// Axis-aligned bounds in world coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorldBounds {
    /// West edge.
    pub min_x: f64,
    /// North edge (world `y` grows southward).
    pub min_y: f64,
    /// East edge.
    pub max_x: f64,
    /// South edge.
    pub max_y: f64,
}

impl WorldBounds {
    const EMPTY: Self = Self {
        min_x: f64::INFINITY,
        min_y: f64::INFINITY,
        max_x: f64::NEG_INFINITY,
        max_y: f64::NEG_INFINITY,
    };

    fn of(points: &[Coord<f64>]) -> Self {
        let mut b = Self::EMPTY;
        for p in points {
            b.extend(*p);
        }
        b
    }

    fn extend(&mut self, p: Coord<f64>) {
        self.min_x = self.min_x.min(p.x);
        self.min_y = self.min_y.min(p.y);
        self.max_x = self.max_x.max(p.x);
        self.max_y = self.max_y.max(p.y);
    }

    fn union(&mut self, o: &Self) {
        self.min_x = self.min_x.min(o.min_x);
        self.min_y = self.min_y.min(o.min_y);
        self.max_x = self.max_x.max(o.max_x);
        self.max_y = self.max_y.max(o.max_y);
    }

    /// True when the two bounds share at least one point.
    pub fn intersects(&self, o: &Self) -> bool {
        self.min_x <= o.max_x
            && o.min_x <= self.max_x
            && self.min_y <= o.max_y
            && o.min_y <= self.max_y
    }

    /// True when `self` lies entirely inside `o`.
    pub fn within(&self, o: &Self) -> bool {
        self.min_x >= o.min_x
            && self.max_x <= o.max_x
            && self.min_y >= o.min_y
            && self.max_y <= o.max_y
    }
}

/// A ring in world coordinates without the closing duplicate point.
#[derive(Debug, Clone)]
pub(crate) struct WorldRing {
    pub(crate) points: Vec<Coord<f64>>,
    pub(crate) bounds: WorldBounds,
}

/// One polygon: an exterior and its holes, normalised so the exterior has
/// positive shoelace area in world coordinates (y south) and holes negative.
#[derive(Debug, Clone)]
pub(crate) struct WorldPolygonPart {
    pub(crate) exterior: WorldRing,
    pub(crate) holes: Vec<WorldRing>,
}

/// A (multi)polygon projected to world coordinates. Build it once with
/// [`WorldPolygon::from_lonlat`] and reuse it for every tile.
#[derive(Debug, Clone)]
pub struct WorldPolygon {
    pub(crate) parts: Vec<WorldPolygonPart>,
    bounds: WorldBounds,
    vertex_count: usize,
}

/// A (multi)linestring projected to world coordinates.
#[derive(Debug, Clone)]
pub struct WorldLine {
    pub(crate) parts: Vec<WorldRing>,
    bounds: WorldBounds,
}

/// Projects a lon/lat multipolygon to world coordinates (see [`WorldPolygon`]).
pub fn project_polygon(geom: &MultiPolygon<f64>) -> WorldPolygon {
    WorldPolygon::from_lonlat(geom)
}

/// Projects a lon/lat multilinestring to world coordinates (see [`WorldLine`]).
pub fn project_line(geom: &MultiLineString<f64>) -> WorldLine {
    WorldLine::from_lonlat(geom)
}

/// Projects a lon/lat point to world coordinates as a [`Point`] (`x` east, `y` south).
pub fn project_point(p: &Point<f64>) -> Point<f64> {
    let (x, y) = lonlat_to_world(p.x(), p.y());
    Point::new(x, y)
}

fn project_ring(ls: &LineString<f64>, want_positive: bool) -> Option<WorldRing> {
    let mut points: Vec<Coord<f64>> =
        ls.0.iter()
            .map(|c| {
                let (x, y) = lonlat_to_world(c.x, c.y);
                Coord { x, y }
            })
            .collect();
    if points.len() > 1 && points.first() == points.last() {
        points.pop();
    }
    if points.len() < 3 {
        return None;
    }
    if (signed_area(&points) > 0.0) != want_positive {
        points.reverse();
    }
    let bounds = WorldBounds::of(&points);
    Some(WorldRing { points, bounds })
}

/// Shoelace area (positive for the MVT exterior winding when `y` points down).
pub(crate) fn signed_area(points: &[Coord<f64>]) -> f64 {
    let n = points.len();
    let mut sum = 0.0;
    for i in 0..n {
        let a = points[i];
        let b = points[(i + 1) % n];
        sum += a.x * b.y - b.x * a.y;
    }
    sum / 2.0
}

impl WorldPolygon {
    /// Projects and normalises a lon/lat multipolygon. Rings with fewer than
    /// three distinct points are dropped.
    pub fn from_lonlat(geom: &MultiPolygon<f64>) -> Self {
        let mut parts = Vec::with_capacity(geom.0.len());
        let mut bounds = WorldBounds::EMPTY;
        let mut vertex_count = 0;
        for poly in &geom.0 {
            let Some(exterior) = project_ring(poly.exterior(), true) else {
                continue;
            };
            let holes: Vec<WorldRing> = poly
                .interiors()
                .iter()
                .filter_map(|h| project_ring(h, false))
                .collect();
            bounds.union(&exterior.bounds);
            vertex_count +=
                exterior.points.len() + holes.iter().map(|h| h.points.len()).sum::<usize>();
            parts.push(WorldPolygonPart { exterior, holes });
        }
        Self {
            parts,
            bounds,
            vertex_count,
        }
    }

    /// Bounds in world coordinates.
    pub fn bounds(&self) -> WorldBounds {
        self.bounds
    }

    /// Total number of vertices (without closing duplicates).
    pub fn vertex_count(&self) -> usize {
        self.vertex_count
    }

    /// Shoelace area in world units² (the world is 1×1).
    pub fn area(&self) -> f64 {
        self.parts
            .iter()
            .map(|p| {
                signed_area(&p.exterior.points)
                    + p.holes.iter().map(|h| signed_area(&h.points)).sum::<f64>()
            })
            .sum()
    }

    /// Is the polygon empty (all rings degenerate)?
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// A copy simplified once for every tile of zoom `z`: Douglas–Peucker
    /// with `tolerance` units of a tile of `extent` units (use half the
    /// [`crate::TileConfig::tolerance`] so the per-tile pass still has room).
    /// Rings that collapse are dropped; an exterior's holes go with it.
    ///
    /// Tiles built from the copy are still clipped, simplified and repaired
    /// per tile, so they stay valid; what this saves is re-simplifying every
    /// vertex of a large polygon for each tile of a low zoom (export, z0–8).
    pub fn simplified(&self, z: u8, extent: u32, tolerance: f64) -> WorldPolygon {
        let tol = tolerance / (f64::from(1u32 << z.min(MAX_ZOOM)) * f64::from(extent));
        let mut s = Simplifier::default();
        let mut out = Vec::new();
        let mut ring = |r: &WorldRing| -> Option<WorldRing> {
            if (r.bounds.max_x - r.bounds.min_x) < tol && (r.bounds.max_y - r.bounds.min_y) < tol {
                return None;
            }
            s.ring(&r.points, tol, &mut out);
            (out.len() >= 3).then(|| WorldRing {
                points: out.clone(),
                bounds: WorldBounds::of(&out),
            })
        };
        let mut parts = Vec::new();
        let mut bounds = WorldBounds::EMPTY;
        let mut vertex_count = 0;
        for p in &self.parts {
            let Some(exterior) = ring(&p.exterior) else {
                continue;
            };
            let holes: Vec<WorldRing> = p.holes.iter().filter_map(&mut ring).collect();
            bounds.union(&exterior.bounds);
            vertex_count +=
                exterior.points.len() + holes.iter().map(|h| h.points.len()).sum::<usize>();
            parts.push(WorldPolygonPart { exterior, holes });
        }
        WorldPolygon {
            parts,
            bounds,
            vertex_count,
        }
    }
}

impl WorldLine {
    /// Projects a lon/lat multilinestring; parts with fewer than two points are dropped.
    pub fn from_lonlat(geom: &MultiLineString<f64>) -> Self {
        let mut bounds = WorldBounds::EMPTY;
        let parts: Vec<WorldRing> = geom
            .0
            .iter()
            .filter(|ls| ls.0.len() >= 2)
            .map(|ls| {
                let points: Vec<Coord<f64>> =
                    ls.0.iter()
                        .map(|c| {
                            let (x, y) = lonlat_to_world(c.x, c.y);
                            Coord { x, y }
                        })
                        .collect();
                let b = WorldBounds::of(&points);
                bounds.union(&b);
                WorldRing { points, bounds: b }
            })
            .collect();
        Self { parts, bounds }
    }

    /// Bounds in world coordinates.
    pub fn bounds(&self) -> WorldBounds {
        self.bounds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn rings_are_normalised_to_mvt_winding() {
        // Exterior given counter-clockwise in lon/lat (y north), hole clockwise:
        // after the y-flip of the projection both must still come out right.
        let p = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 1.0)],
            interiors: [[(x: 0.2, y: 0.2), (x: 0.2, y: 0.8), (x: 0.8, y: 0.8), (x: 0.8, y: 0.2)]],
        );
        let w = WorldPolygon::from_lonlat(&MultiPolygon(vec![p.clone()]));
        assert!(signed_area(&w.parts[0].exterior.points) > 0.0);
        assert!(signed_area(&w.parts[0].holes[0].points) < 0.0);
        assert_eq!(w.vertex_count(), 8);
        let mut reversed = p;
        reversed.exterior_mut(|e| e.0.reverse());
        let w2 = WorldPolygon::from_lonlat(&MultiPolygon(vec![reversed]));
        assert!(signed_area(&w2.parts[0].exterior.points) > 0.0);
        assert!((w.area() - w2.area()).abs() < 1e-18 && w.area() > 0.0);
    }

    #[test]
    fn per_zoom_copy_drops_detail_and_tiny_rings() {
        // A 1°-wide square with 400 collinear-ish vertices per side, plus a tiny island.
        let mut ext = Vec::new();
        for i in 0..400 {
            ext.push((
                126.0 + f64::from(i) / 400.0,
                42.0 + if i % 2 == 0 { 0.0 } else { 1e-6 },
            ));
        }
        ext.extend([(127.0, 42.0), (127.0, 43.0), (126.0, 43.0)]);
        let island = vec![(128.0, 42.0), (128.0001, 42.0), (128.0001, 42.0001)];
        let mp = MultiPolygon(vec![
            geo::Polygon::new(LineString::from(ext), vec![]),
            geo::Polygon::new(LineString::from(island), vec![]),
        ]);
        let w = WorldPolygon::from_lonlat(&mp);
        let s = w.simplified(6, 4096, 0.5);
        assert_eq!(s.parts.len(), 1, "the island is far below a unit at z6");
        assert_eq!(s.vertex_count(), 4);
        assert!(
            (s.area()
                - w.parts[0..1]
                    .iter()
                    .map(|p| signed_area(&p.exterior.points))
                    .sum::<f64>())
            .abs()
                / s.area()
                < 1e-3
        );
        // At z22 the island survives and the detail (1e-6° ≈ 0.1 m ≫ one unit) stays.
        let fine = w.simplified(22, 4096, 0.5);
        assert_eq!(fine.parts.len(), 2);
        assert!(fine.vertex_count() > 400);
    }
}
