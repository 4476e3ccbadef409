//! OGC Simple Features validity for submitted geometry, as GEOS and shapely apply it.
//!
//! Accepted: a hole touching its shell (or another hole) at one point; MultiPolygon parts
//! touching at points; repeated consecutive positions (they are dropped); any winding (fixed to
//! RFC 7946: exteriors counter-clockwise, holes clockwise). Rejected, with the place: rings that
//! cross or touch themselves, spikes, rings crossing or sharing an edge, two rings touching at two
//! or more points (the interior would be split), holes outside their shell or inside another
//! hole, and MultiPolygon parts that overlap or share an edge.
//!
//! Segment pairs are found with an R-tree of segment envelopes, so a ring of 100 000 vertices is
//! checked in O(n log n), not O(n²).

use geo::coordinate_position::{CoordPos, CoordinatePosition};
use geo::{BoundingRect, Coord, LineString, MultiLineString, MultiPolygon, Polygon, Winding};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// Why a geometry is not acceptable, and where (`[lon, lat]`) when there is a place to point at.
#[derive(Debug, Clone, PartialEq)]
pub struct GeometryError {
    pub reason: String,
    pub location: Option<[f64; 2]>,
    /// A stable machine code for clients to word the reason in their user's language.
    pub code: &'static str,
}

impl GeometryError {
    pub fn new(reason: impl Into<String>) -> Self {
        GeometryError {
            reason: reason.into(),
            location: None,
            code: "invalid_geometry",
        }
    }

    fn at(reason: impl Into<String>, c: Coord<f64>) -> Self {
        GeometryError {
            reason: reason.into(),
            location: Some([c.x, c.y]),
            code: "invalid_geometry",
        }
    }

    /// This error with the machine code `code`.
    pub fn coded(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }
}

impl fmt::Display for GeometryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some([lon, lat]) => write!(f, "{} (at [{lon}, {lat}])", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for GeometryError {}

/// Checks lines of a patrol route: every part needs two distinct positions.
pub fn validate_line(ml: &MultiLineString<f64>) -> Result<(), GeometryError> {
    if ml.0.is_empty() {
        return Err(GeometryError::new("a route needs at least one line"));
    }
    for (i, l) in ml.0.iter().enumerate() {
        let first = l.0.first().copied();
        if l.0.len() < 2 || l.0.iter().all(|c| Some(*c) == first) {
            return Err(GeometryError::new(format!(
                "line {i} needs at least two distinct positions"
            )));
        }
    }
    Ok(())
}

/// Validates an area and returns it with repeated positions removed and RFC 7946 winding.
pub fn validate_area(mp: MultiPolygon<f64>) -> Result<MultiPolygon<f64>, GeometryError> {
    if mp.0.is_empty() {
        return Err(GeometryError::new(
            "a MultiPolygon needs at least one polygon",
        ));
    }
    let mut polys = Vec::with_capacity(mp.0.len());
    for (pi, p) in mp.0.into_iter().enumerate() {
        let (ext, ints) = p.into_inner();
        let mut rings = Vec::with_capacity(1 + ints.len());
        for (ri, r) in std::iter::once(ext).chain(ints).enumerate() {
            let r = dedup(r);
            if r.0.len() < 4 {
                return Err(GeometryError {
                    reason: format!(
                        "{} has fewer than 3 distinct corners",
                        ring_name(pi, ri, true)
                    ),
                    location: r.0.first().map(|c| [c.x, c.y]),
                    code: "too_few_corners",
                });
            }
            rings.push(r);
        }
        polys.push(rings);
    }
    check_segments(&polys)?;
    check_nesting(&polys)?;

    let fixed = polys
        .into_iter()
        .map(|mut rings| {
            let mut ext = rings.remove(0);
            ext.make_ccw_winding();
            for h in &mut rings {
                h.make_cw_winding();
            }
            Polygon::new(ext, rings)
        })
        .collect();
    Ok(MultiPolygon(fixed))
}

fn ring_name(poly: usize, ring: usize, multi: bool) -> String {
    let base = if ring == 0 {
        "the exterior ring".to_string()
    } else {
        format!("hole {}", ring - 1)
    };
    if multi && poly > 0 {
        format!("{base} of polygon {poly}")
    } else {
        base
    }
}

fn dedup(mut r: LineString<f64>) -> LineString<f64> {
    r.0.dedup();
    r
}

#[derive(Clone, Copy)]
struct Seg {
    a: Coord<f64>,
    b: Coord<f64>,
    poly: u32,
    ring: u32,
    idx: u32,
    ring_segs: u32,
}

enum Meet {
    None,
    Touch(Coord<f64>),
    Cross(Coord<f64>),
    Overlap(Coord<f64>),
}

fn orient(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>) -> f64 {
    robust::orient2d(
        robust::Coord { x: a.x, y: a.y },
        robust::Coord { x: b.x, y: b.y },
        robust::Coord { x: c.x, y: c.y },
    )
}

fn meet(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>, d: Coord<f64>) -> Meet {
    let o1 = orient(a, b, c);
    let o2 = orient(a, b, d);
    if o1 == 0.0 && o2 == 0.0 {
        // Collinear: compare the intervals along the dominant axis.
        let key = if (b.x - a.x).abs() >= (b.y - a.y).abs() {
            |p: Coord<f64>| p.x
        } else {
            |p: Coord<f64>| p.y
        };
        let (p0, p1) = sorted(a, b, key);
        let (q0, q1) = sorted(c, d, key);
        let lo = if key(p0) >= key(q0) { p0 } else { q0 };
        let hi = if key(p1) <= key(q1) { p1 } else { q1 };
        return if key(lo) < key(hi) {
            Meet::Overlap(Coord {
                x: (lo.x + hi.x) / 2.0,
                y: (lo.y + hi.y) / 2.0,
            })
        } else if key(lo) == key(hi) {
            Meet::Touch(lo)
        } else {
            Meet::None
        };
    }
    if (o1 > 0.0 && o2 > 0.0) || (o1 < 0.0 && o2 < 0.0) {
        return Meet::None;
    }
    let o3 = orient(c, d, a);
    let o4 = orient(c, d, b);
    if (o3 > 0.0 && o4 > 0.0) || (o3 < 0.0 && o4 < 0.0) {
        return Meet::None;
    }
    if o1 == 0.0 {
        Meet::Touch(c)
    } else if o2 == 0.0 {
        Meet::Touch(d)
    } else if o3 == 0.0 {
        Meet::Touch(a)
    } else if o4 == 0.0 {
        Meet::Touch(b)
    } else {
        let t = o3 / (o3 - o4);
        Meet::Cross(Coord {
            x: a.x + t * (b.x - a.x),
            y: a.y + t * (b.y - a.y),
        })
    }
}

fn sorted(a: Coord<f64>, b: Coord<f64>, key: fn(Coord<f64>) -> f64) -> (Coord<f64>, Coord<f64>) {
    if key(a) <= key(b) {
        (a, b)
    } else {
        (b, a)
    }
}

fn check_segments(polys: &[Vec<LineString<f64>>]) -> Result<(), GeometryError> {
    let multi = polys.len() > 1;
    let mut segs = Vec::new();
    for (pi, rings) in polys.iter().enumerate() {
        for (ri, r) in rings.iter().enumerate() {
            let n = r.0.len() - 1;
            for (k, w) in r.0.windows(2).enumerate() {
                segs.push(Seg {
                    a: w[0],
                    b: w[1],
                    poly: pi as u32,
                    ring: ri as u32,
                    idx: k as u32,
                    ring_segs: n as u32,
                });
            }
        }
    }
    let env = |s: &Seg| {
        AABB::from_corners(
            [s.a.x.min(s.b.x), s.a.y.min(s.b.y)],
            [s.a.x.max(s.b.x), s.a.y.max(s.b.y)],
        )
    };
    let tree = RTree::bulk_load(
        segs.iter()
            .enumerate()
            .map(|(i, s)| {
                let e = env(s);
                GeomWithData::new(Rectangle::from_corners(e.lower(), e.upper()), i as u32)
            })
            .collect(),
    );
    // Distinct touch points between two rings of one polygon.
    let mut touches: HashMap<(u32, u32, u32), HashSet<(u64, u64)>> = HashMap::new();
    for (i, s) in segs.iter().enumerate() {
        for cand in tree.locate_in_envelope_intersecting(env(s)) {
            let j = cand.data as usize;
            if j <= i {
                continue;
            }
            let t = &segs[j];
            let m = meet(s.a, s.b, t.a, t.b);
            if matches!(m, Meet::None) {
                continue;
            }
            if s.poly == t.poly && s.ring == t.ring {
                let adjacent = t.idx == s.idx + 1 || (s.idx == 0 && t.idx == s.ring_segs - 1);
                let name = ring_name(s.poly as usize, s.ring as usize, multi);
                match m {
                    Meet::Overlap(p) if adjacent => {
                        return Err(GeometryError::at(
                            format!("{name} doubles back on itself (a spike)"),
                            p,
                        )
                        .coded("ring_spike"))
                    }
                    _ if adjacent => {}
                    Meet::Touch(p) | Meet::Cross(p) | Meet::Overlap(p) => {
                        return Err(GeometryError::at(
                            format!("{name} intersects itself (self-intersection)"),
                            p,
                        )
                        .coded("self_intersection"))
                    }
                    Meet::None => {}
                }
            } else if s.poly == t.poly {
                let a = ring_name(s.poly as usize, s.ring as usize, multi);
                let b = ring_name(t.poly as usize, t.ring as usize, multi);
                match m {
                    Meet::Cross(p) => {
                        return Err(
                            GeometryError::at(format!("{a} and {b} cross"), p).coded("rings_cross")
                        )
                    }
                    Meet::Overlap(p) => {
                        return Err(GeometryError::at(
                            format!("{a} and {b} share a stretch of boundary"),
                            p,
                        ))
                    }
                    Meet::Touch(p) => {
                        let set = touches.entry((s.poly, s.ring, t.ring)).or_default();
                        set.insert((p.x.to_bits(), p.y.to_bits()));
                        if set.len() > 1 {
                            return Err(GeometryError::at(
                                format!("{a} and {b} touch at more than one point, which splits the polygon's interior"),
                                p,
                            ));
                        }
                    }
                    Meet::None => {}
                }
            } else {
                match m {
                    Meet::Cross(p) => {
                        return Err(GeometryError::at(
                            format!("polygons {} and {} of the MultiPolygon overlap", s.poly, t.poly),
                            p,
                        ))
                    }
                    Meet::Overlap(p) => {
                        return Err(GeometryError::at(
                            format!(
                                "polygons {} and {} of the MultiPolygon share an edge; merge them into one polygon",
                                s.poly, t.poly
                            ),
                            p,
                        ))
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// A vertex of `inner` that is not on `outer`'s boundary, with its position relative to `outer`.
fn position_of_ring(
    inner: &LineString<f64>,
    outer: &Polygon<f64>,
) -> Option<(CoordPos, Coord<f64>)> {
    inner
        .0
        .iter()
        .find_map(|c| match outer.coordinate_position(c) {
            CoordPos::OnBoundary => None,
            pos => Some((pos, *c)),
        })
}

fn check_nesting(polys: &[Vec<LineString<f64>>]) -> Result<(), GeometryError> {
    let multi = polys.len() > 1;
    let shells: Vec<Polygon<f64>> = polys
        .iter()
        .map(|r| Polygon::new(r[0].clone(), vec![]))
        .collect();
    for (pi, rings) in polys.iter().enumerate() {
        let holes: Vec<Polygon<f64>> = rings[1..]
            .iter()
            .map(|h| Polygon::new(h.clone(), vec![]))
            .collect();
        for (hi, h) in rings[1..].iter().enumerate() {
            if let Some((CoordPos::Outside, c)) = position_of_ring(h, &shells[pi]) {
                return Err(GeometryError::at(
                    format!(
                        "{} lies outside its exterior ring",
                        ring_name(pi, hi + 1, multi)
                    ),
                    c,
                ));
            }
            for (hj, other) in holes.iter().enumerate() {
                if hj == hi {
                    continue;
                }
                if let Some((CoordPos::Inside, c)) = position_of_ring(h, other) {
                    return Err(GeometryError::at(
                        format!(
                            "{} lies inside {}",
                            ring_name(pi, hi + 1, multi),
                            ring_name(pi, hj + 1, multi)
                        ),
                        c,
                    ));
                }
            }
        }
    }
    if polys.len() > 1 {
        let full: Vec<Polygon<f64>> = polys
            .iter()
            .map(|r| Polygon::new(r[0].clone(), r[1..].to_vec()))
            .collect();
        let rects: Vec<_> = full.iter().map(|p| p.bounding_rect()).collect();
        for i in 0..full.len() {
            for j in 0..full.len() {
                if i == j {
                    continue;
                }
                let (Some(a), Some(b)) = (rects[i], rects[j]) else {
                    continue;
                };
                if a.min().x > b.max().x
                    || b.min().x > a.max().x
                    || a.min().y > b.max().y
                    || b.min().y > a.max().y
                {
                    continue;
                }
                if let Some((CoordPos::Inside, c)) = position_of_ring(&polys[i][0], &full[j]) {
                    return Err(GeometryError::at(
                        format!("polygons {i} and {j} of the MultiPolygon overlap"),
                        c,
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, Area};

    fn square(x0: f64, y0: f64, s: f64) -> LineString<f64> {
        LineString::from(vec![
            (x0, y0),
            (x0 + s, y0),
            (x0 + s, y0 + s),
            (x0, y0 + s),
            (x0, y0),
        ])
    }

    fn mp(rings: Vec<Vec<LineString<f64>>>) -> MultiPolygon<f64> {
        MultiPolygon(
            rings
                .into_iter()
                .map(|mut r| {
                    let e = r.remove(0);
                    Polygon::new(e, r)
                })
                .collect(),
        )
    }

    #[test]
    fn fixes_clockwise_winding() {
        let cw = polygon![(x: 0., y: 0.), (x: 0., y: 1.), (x: 1., y: 1.), (x: 1., y: 0.), (x: 0., y: 0.)];
        assert!(cw.signed_area() < 0.0);
        let fixed = validate_area(MultiPolygon(vec![cw])).unwrap();
        assert!(fixed.0[0].signed_area() > 0.0);
    }

    #[test]
    fn rejects_bowtie_with_location() {
        let bow = polygon![(x: 0., y: 0.), (x: 2., y: 2.), (x: 2., y: 0.), (x: 0., y: 2.), (x: 0., y: 0.)];
        let e = validate_area(MultiPolygon(vec![bow])).unwrap_err();
        assert!(e.reason.contains("self-intersection"), "{e}");
        assert_eq!(e.location, Some([1.0, 1.0]));
    }

    #[test]
    fn rejects_spike() {
        let spike = polygon![(x: 0., y: 0.), (x: 2., y: 0.), (x: 3., y: 0.), (x: 2., y: 0.), (x: 2., y: 2.), (x: 0., y: 0.)];
        let e = validate_area(MultiPolygon(vec![spike])).unwrap_err();
        assert!(
            e.reason.contains("spike") || e.reason.contains("self-intersection"),
            "{e}"
        );
    }

    #[test]
    fn hole_touching_shell_at_one_point_is_valid() {
        let shell = square(0., 0., 4.);
        let hole = LineString::from(vec![(0., 2.), (2., 1.), (2., 3.), (0., 2.)]);
        assert!(validate_area(mp(vec![vec![shell, hole]])).is_ok());
    }

    #[test]
    fn hole_touching_shell_at_two_points_is_invalid() {
        let shell = square(0., 0., 4.);
        let hole = LineString::from(vec![(0., 2.), (2., 1.), (4., 2.), (2., 3.), (0., 2.)]);
        let e = validate_area(mp(vec![vec![shell, hole]])).unwrap_err();
        assert!(e.reason.contains("more than one point"), "{e}");
    }

    #[test]
    fn multipolygon_parts_touching_at_a_point_are_valid() {
        assert!(
            validate_area(mp(vec![vec![square(0., 0., 1.)], vec![square(1., 1., 1.)]])).is_ok()
        );
    }

    #[test]
    fn multipolygon_parts_sharing_an_edge_are_invalid() {
        let e = validate_area(mp(vec![vec![square(0., 0., 1.)], vec![square(1., 0., 1.)]]))
            .unwrap_err();
        assert!(e.reason.contains("share an edge"), "{e}");
    }

    #[test]
    fn nested_multipolygon_parts_are_invalid() {
        let e = validate_area(mp(vec![vec![square(0., 0., 4.)], vec![square(1., 1., 1.)]]))
            .unwrap_err();
        assert!(e.reason.contains("overlap"), "{e}");
    }

    #[test]
    fn island_inside_a_hole_is_valid() {
        let outer = vec![square(0., 0., 10.), square(2., 2., 6.)];
        let island = vec![square(4., 4., 1.)];
        assert!(validate_area(mp(vec![outer, island])).is_ok());
    }

    #[test]
    fn hole_outside_shell_is_invalid() {
        let e = validate_area(mp(vec![vec![square(0., 0., 1.), square(5., 5., 1.)]])).unwrap_err();
        assert!(e.reason.contains("outside"), "{e}");
    }

    #[test]
    fn hole_inside_hole_is_invalid() {
        let e = validate_area(mp(vec![vec![
            square(0., 0., 10.),
            square(1., 1., 8.),
            square(2., 2., 1.),
        ]]))
        .unwrap_err();
        assert!(e.reason.contains("inside hole"), "{e}");
    }

    #[test]
    fn repeated_points_are_dropped_not_rejected() {
        let p = polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 0.)];
        let v = validate_area(MultiPolygon(vec![p])).unwrap();
        assert_eq!(v.0[0].exterior().0.len(), 4);
    }

    #[test]
    fn collinear_triangle_is_rejected() {
        let p = polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 2., y: 0.), (x: 0., y: 0.)];
        assert!(validate_area(MultiPolygon(vec![p])).is_err());
    }
}
