//! Gaps: slivers narrower than a width between a zone and a neighbour.
//!
//! A sliver is what a morphological closing by half the width fills between the two areas but
//! fills in neither alone: `close(A ∪ B) − (close(A) ∪ close(B))`, with
//! `close(X) = (X ⊕ r) ⊖ r`, `r = width_m / 2`. A strip between A and B narrower than the width
//! is filled by the closing of their union; a street wider than the width is not; a notch of A
//! alone is filled by A's own closing too and so does not count. The work is done in a local
//! tangent plane in metres around the zone (the buffers need metres, never degrees), and the
//! result is carried back to `[lon, lat]`.

use crate::crs::geodesy::LocalMetres;
use geo::algorithm::buffer::{BufferStyle, LineJoin};
use geo::{
    Area, BooleanOps, BoundingRect, Buffer, Coord, Euclidean, Length, MapCoords, MultiPolygon,
    Polygon,
};

/// Pieces smaller than this are rounding noise of the buffers, not gaps, m².
const MIN_AREA_M2: f64 = 0.01;
/// Pieces whose mean width is below this are rounding noise along a shared edge, metres.
const MIN_WIDTH_M: f64 = 0.005;

/// One sliver between two areas.
#[derive(Debug, Clone)]
pub struct Sliver {
    /// The sliver itself, `[lon, lat]`.
    pub polygon: Polygon<f64>,
    /// Its mean width (area over half the perimeter), metres.
    pub width_m: f64,
}

/// The slivers narrower than `width_m` metres between `zone` and `neighbour` (both `[lon, lat]`).
/// Areas that overlap or share edges exactly leave none; areas farther apart than `width_m`
/// leave none.
pub fn slivers_between(
    zone: &MultiPolygon<f64>,
    neighbour: &MultiPolygon<f64>,
    width_m: f64,
) -> Vec<Sliver> {
    if !(width_m.is_finite() && width_m > 0.0) {
        return Vec::new();
    }
    let Some(rect) = zone.bounding_rect() else {
        return Vec::new();
    };
    let c = rect.center();
    let local = LocalMetres::new(c.x, c.y);
    let to_m = |mp: &MultiPolygon<f64>| mp.map_coords(|p| local.project(p));
    let (a, b) = (to_m(zone), to_m(neighbour));
    let r = width_m / 2.0;
    let close = |mp: &MultiPolygon<f64>| -> MultiPolygon<f64> {
        // Mitred joins keep straight edges and ordinary corners where they were.
        let out = mp.buffer_with_style(BufferStyle::new(r).line_join(LineJoin::Miter(0.2)));
        out.buffer_with_style(BufferStyle::new(-r).line_join(LineJoin::Miter(0.2)))
    };
    let both = close(&a.union(&b));
    let alone = close(&a).union(&close(&b));
    let gap = both.difference(&alone);
    gap.0
        .into_iter()
        .filter_map(|p| {
            let area = p.unsigned_area();
            let half_perimeter = Euclidean.length(p.exterior()) / 2.0;
            let width = if half_perimeter > 0.0 {
                area / half_perimeter
            } else {
                0.0
            };
            (area >= MIN_AREA_M2 && width >= MIN_WIDTH_M).then(|| Sliver {
                polygon: p.map_coords(|m| local.unproject(m)),
                width_m: width,
            })
        })
        .collect()
}

/// `[lon, lat]` of a point `east_m`, `north_m` metres from `origin` (for tests and fixtures).
pub fn offset(origin: Coord<f64>, east_m: f64, north_m: f64) -> Coord<f64> {
    LocalMetres::new(origin.x, origin.y).unproject(Coord {
        x: east_m,
        y: north_m,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, GeodesicArea};

    /// A rectangle `w` × `h` metres whose south-west corner is `e`, `n` metres from Baishan.
    fn rect(e: f64, n: f64, w: f64, h: f64) -> MultiPolygon<f64> {
        let o = Coord {
            x: 126.42,
            y: 41.94,
        };
        let p = |x: f64, y: f64| offset(o, x, y);
        let (a, b, c, d) = (p(e, n), p(e + w, n), p(e + w, n + h), p(e, n + h));
        MultiPolygon(vec![polygon![a, b, c, d, a]])
    }

    #[test]
    fn a_narrow_strip_is_one_sliver_with_its_area() {
        let a = rect(0.0, 0.0, 40.0, 50.0);
        let b = rect(40.4, 0.0, 30.0, 50.0);
        let s = slivers_between(&a, &b, 1.0);
        assert_eq!(s.len(), 1, "{s:?}");
        let area = s[0].polygon.geodesic_area_unsigned();
        assert!((area - 20.0).abs() < 0.6, "{area}");
        assert!((s[0].width_m - 0.4).abs() < 0.02, "{}", s[0].width_m);
    }

    #[test]
    fn shared_edges_and_streets_leave_none() {
        let a = rect(0.0, 0.0, 40.0, 50.0);
        assert!(slivers_between(&a, &rect(40.0, 0.0, 30.0, 50.0), 1.0).is_empty());
        assert!(slivers_between(&a, &rect(45.0, 0.0, 30.0, 50.0), 1.0).is_empty());
        // Offset along the shared edge: the corners stay flush, no wedge appears.
        assert!(slivers_between(&a, &rect(40.0, 20.0, 30.0, 50.0), 1.0).is_empty());
        // Overlapping is not a gap.
        assert!(slivers_between(&a, &rect(30.0, 0.0, 30.0, 50.0), 1.0).is_empty());
    }

    #[test]
    fn a_notch_of_one_zone_alone_is_not_a_gap() {
        let o = Coord {
            x: 126.42,
            y: 41.94,
        };
        let p = |x: f64, y: f64| offset(o, x, y);
        // A 0.5 m wide notch cut into the far side of A, away from B.
        let a = MultiPolygon(vec![polygon![
            p(0.0, 0.0),
            p(40.0, 0.0),
            p(40.0, 50.0),
            p(0.0, 50.0),
            p(0.0, 25.25),
            p(20.0, 25.25),
            p(20.0, 24.75),
            p(0.0, 24.75),
            p(0.0, 0.0)
        ]]);
        assert!(slivers_between(&a, &rect(40.0, 0.0, 30.0, 50.0), 1.0).is_empty());
    }
}
