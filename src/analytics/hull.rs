//! A cluster's outline: the convex hull of its points, buffered by a margin in metres.
//!
//! Buffering a convex polygon is its Minkowski sum with a disc; the hull of every point
//! replaced by a small regular polygon around it is exactly that (to the polygon's chord
//! error), and it also gives a proper area for clusters of one or two points or a line.

use crate::crs::geodesy::LocalMetres;
use geo::{ConvexHull, Coord, MultiPoint, Point, Polygon};

/// Vertices of the disc approximation; chord error `buffer_m · (1 − cos(π/16))` ≈ 2 %.
const DISC_VERTICES: usize = 16;

/// The convex hull of `points_lonlat` (`[lon, lat]`) grown by `buffer_m` metres, as a
/// counter-clockwise WGS84 polygon (RFC 7946 winding).
pub fn buffered_hull(points_lonlat: &[[f64; 2]], buffer_m: f64) -> Option<Polygon<f64>> {
    if points_lonlat.is_empty() {
        return None;
    }
    let (mut lon0, mut lat0) = (0.0, 0.0);
    for p in points_lonlat {
        lon0 += p[0];
        lat0 += p[1];
    }
    let n = points_lonlat.len() as f64;
    let lm = LocalMetres::new(lon0 / n, lat0 / n);
    // Circumscribe the disc so the buffer is at least `buffer_m` everywhere.
    let r = buffer_m.max(0.5) / (std::f64::consts::PI / DISC_VERTICES as f64).cos();
    let mut pts: Vec<Point<f64>> = Vec::with_capacity(points_lonlat.len() * DISC_VERTICES);
    for p in points_lonlat {
        let c = lm.project(Coord { x: p[0], y: p[1] });
        for k in 0..DISC_VERTICES {
            let a = k as f64 * std::f64::consts::TAU / DISC_VERTICES as f64;
            pts.push(Point::new(c.x + r * a.cos(), c.y + r * a.sin()));
        }
    }
    let hull = MultiPoint(pts).convex_hull();
    let (lon_c, lat_c) = (lon0 / n, lat0 / n);
    let back = |c: &Coord<f64>| Coord {
        x: lon_c + c.x / lm.m_per_deg_lon,
        y: lat_c + c.y / lm.m_per_deg_lat,
    };
    let ring: Vec<Coord<f64>> = hull.exterior().coords().map(back).collect();
    Some(Polygon::new(geo::LineString(ring), vec![]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Contains, GeodesicArea};

    #[test]
    fn covers_points_with_margin_and_is_ccw() {
        let pts = [[126.42, 41.93], [126.4203, 41.9301], [126.4201, 41.9304]];
        let poly = buffered_hull(&pts, 10.0).unwrap();
        for p in pts {
            assert!(poly.contains(&Point::new(p[0], p[1])));
        }
        // 9 m away from a corner point is still inside.
        let lm = LocalMetres::new(126.42, 41.93);
        assert!(poly.contains(&Point::new(126.42 - 9.0 / lm.m_per_deg_lon, 41.93)));
        assert!(!poly.contains(&Point::new(126.42 - 12.0 / lm.m_per_deg_lon, 41.93)));
        assert!(poly.geodesic_area_signed() > 0.0, "counter-clockwise");
    }

    #[test]
    fn one_point_gives_a_disc() {
        let poly = buffered_hull(&[[126.42, 41.93]], 10.0).unwrap();
        let a = poly.geodesic_area_unsigned();
        assert!((a - std::f64::consts::PI * 100.0).abs() < 20.0, "{a}");
    }
}
