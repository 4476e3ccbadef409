//! `ZoneIndex`: every live zone in an R-tree of envelopes, with prepared geometry for the
//! exact test. Immutable once built: an edit builds a new index (reusing the prepared zones that
//! did not change) and swaps it in, so readers never see a half-applied edit.

mod prepared;

pub use prepared::{Location, PreparedArea};

use crate::geodesy::LocalMetres;
use crate::zone::{Owner, Sector, Zone, ZoneGeometry, ZoneKind};
use geo::{Area, Coord, MultiLineString};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use std::collections::HashMap;
use std::sync::Arc;

/// Radius in metres within which the nearest responsibility zone is offered when none covers the
/// point (widened to the GPS accuracy when that is larger).
pub const NEAREST_RESPONSIBILITY_M: f64 = 30.0;

/// How a zone's shape is tested.
#[derive(Debug)]
enum Shape {
    Area {
        prepared: PreparedArea,
        area_deg2: f64,
    },
    Corridor {
        line: MultiLineString<f64>,
        half_width_m: f64,
    },
}

/// A zone's geometry projected to Web Mercator world coordinates, for tiles.
#[derive(Debug)]
pub enum WorldGeometry {
    Area(xuncha_tiles::WorldPolygon),
    Line(xuncha_tiles::WorldLine),
}

/// A live zone with its prepared shape.
#[derive(Debug)]
pub struct IndexedZone {
    pub zone: Arc<Zone>,
    shape: Shape,
    /// `[min_lon, min_lat, max_lon, max_lat]`, corridor included.
    pub envelope: [f64; 4],
    /// Projected on first use by the tile engine, then reused for every tile.
    world: std::sync::OnceLock<WorldGeometry>,
}

impl IndexedZone {
    /// Prepares a zone for matching (the costly part of indexing; done outside any lock).
    pub fn new(zone: Arc<Zone>) -> Self {
        let bbox = zone.geometry.bbox().unwrap_or([0.0; 4]);
        let (shape, envelope) = match &zone.geometry {
            ZoneGeometry::Area(mp) => (
                Shape::Area {
                    prepared: PreparedArea::new(mp),
                    area_deg2: mp.unsigned_area(),
                },
                bbox,
            ),
            ZoneGeometry::Route { line, width_m } => {
                let half = width_m / 2.0;
                // Widen by the corridor at the latitude where a degree of longitude is shortest.
                let far_lat = if bbox[1].abs() > bbox[3].abs() {
                    bbox[1]
                } else {
                    bbox[3]
                };
                let (dlon, dlat) = LocalMetres::new(bbox[0], far_lat).degrees_for(half);
                (
                    Shape::Corridor {
                        line: line.clone(),
                        half_width_m: half,
                    },
                    [
                        bbox[0] - dlon,
                        bbox[1] - dlat,
                        bbox[2] + dlon,
                        bbox[3] + dlat,
                    ],
                )
            }
        };
        IndexedZone {
            zone,
            shape,
            envelope,
            world: std::sync::OnceLock::new(),
        }
    }

    /// The geometry in world coordinates (projected once).
    pub fn world(&self) -> &WorldGeometry {
        self.world.get_or_init(|| match &self.zone.geometry {
            ZoneGeometry::Area(mp) => {
                WorldGeometry::Area(xuncha_tiles::WorldPolygon::from_lonlat(mp))
            }
            ZoneGeometry::Route { line, .. } => {
                WorldGeometry::Line(xuncha_tiles::WorldLine::from_lonlat(line))
            }
        })
    }

    /// Whether the point is in the zone (boundary inclusive; corridors by distance), with the
    /// distance in metres (0 inside an area; to the centre line for a corridor).
    fn test(&self, p: Coord<f64>) -> Option<f64> {
        match &self.shape {
            Shape::Area { prepared, .. } => prepared.covers(p).then_some(0.0),
            Shape::Corridor { line, half_width_m } => {
                let d = line_distance_m(line, p, *half_width_m)?;
                (d <= *half_width_m).then_some(d)
            }
        }
    }
}

fn line_distance_m(line: &MultiLineString<f64>, p: Coord<f64>, max_m: f64) -> Option<f64> {
    let lm = LocalMetres::new(p.x, p.y);
    let best = line
        .0
        .iter()
        .flat_map(|l| l.0.windows(2))
        .map(|w| lm.distance_to_segment_m(w[0], w[1]))
        .fold(f64::INFINITY, f64::min);
    (best <= max_m).then_some(best)
}

/// One zone a point matched.
#[derive(Debug, Clone)]
pub struct ZoneMatch {
    pub zone: Arc<Zone>,
    /// Covered by the area or inside the corridor.
    pub inside: bool,
    /// Metres: 0 inside an area, to the centre line for a route, to the edge when outside.
    pub distance_m: f64,
}

impl Serialize for ZoneMatch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ZoneMatch", 6)?;
        st.serialize_field("id", &self.zone.id)?;
        st.serialize_field("kind", &self.zone.kind)?;
        st.serialize_field("name", &self.zone.name)?;
        st.serialize_field("owner", &self.zone.owner)?;
        st.serialize_field("inside", &self.inside)?;
        st.serialize_field("distance_m", &((self.distance_m * 10.0).round() / 10.0))?;
        st.end()
    }
}

/// The organisation responsible for a point, and through which zone.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Responsible {
    pub zone_id: String,
    pub zone_name: String,
    pub name: String,
    pub sector: Sector,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

impl Responsible {
    fn of(zone: &Zone) -> Option<Self> {
        let Owner {
            name,
            sector,
            contact,
        } = zone.owner.clone()?;
        Some(Responsible {
            zone_id: zone.id.clone(),
            zone_name: zone.name.clone(),
            name,
            sector,
            contact,
        })
    }
}

/// The answer to "whose zone is this point in?".
#[derive(Debug, Clone, Serialize)]
pub struct MatchResult {
    pub matches: Vec<ZoneMatch>,
    pub responsible: Option<Responsible>,
    /// The point is within `accuracy_m` of two or more responsibility zones.
    pub ambiguous: bool,
}

/// An immutable snapshot of every live zone.
#[derive(Debug, Default)]
pub struct ZoneIndex {
    entries: Vec<Arc<IndexedZone>>,
    by_id: HashMap<String, u32>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, u32>>,
    /// The responsibility zones alone, for the nearest-zone search (most points fall outside
    /// every 三包 zone, so this runs often and should not wade through grid cells).
    responsibility: RTree<GeomWithData<Rectangle<[f64; 2]>, u32>>,
}

impl ZoneIndex {
    /// Builds an index with `rstar`'s bulk load (O(n log n)).
    pub fn new(entries: Vec<Arc<IndexedZone>>) -> Self {
        let rect = |(i, e): (usize, &Arc<IndexedZone>)| {
            let [a, b, c, d] = e.envelope;
            GeomWithData::new(Rectangle::from_corners([a, b], [c, d]), i as u32)
        };
        let tree = RTree::bulk_load(entries.iter().enumerate().map(rect).collect());
        let responsibility = RTree::bulk_load(
            entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.zone.kind == ZoneKind::Responsibility)
                .map(rect)
                .collect(),
        );
        let by_id = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.zone.id.clone(), i as u32))
            .collect();
        ZoneIndex {
            entries,
            by_id,
            tree,
            responsibility,
        }
    }

    /// Prepares and indexes live zones.
    pub fn from_zones(zones: impl IntoIterator<Item = Zone>) -> Self {
        Self::new(
            zones
                .into_iter()
                .filter(Zone::is_live)
                .map(|z| Arc::new(IndexedZone::new(Arc::new(z))))
                .collect(),
        )
    }

    /// A new index with `upserts` added or replaced and `removed` ids dropped.
    pub fn with_changes(&self, upserts: Vec<Arc<IndexedZone>>, removed: &[String]) -> Self {
        let mut entries: Vec<Arc<IndexedZone>> = self
            .entries
            .iter()
            .filter(|e| {
                !removed.contains(&e.zone.id) && !upserts.iter().any(|u| u.zone.id == e.zone.id)
            })
            .cloned()
            .collect();
        entries.extend(upserts.into_iter().filter(|u| u.zone.is_live()));
        Self::new(entries)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Arc<IndexedZone>> {
        self.by_id.get(id).map(|&i| &self.entries[i as usize])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<IndexedZone>> {
        self.entries.iter()
    }

    /// Zones whose envelope intersects `[min_lon, min_lat, max_lon, max_lat]`.
    pub fn in_bbox(&self, bbox: [f64; 4]) -> impl Iterator<Item = &Arc<IndexedZone>> {
        let env = AABB::from_corners([bbox[0], bbox[1]], [bbox[2], bbox[3]]);
        self.tree
            .locate_in_envelope_intersecting(env)
            .map(|g| &self.entries[g.data as usize])
    }

    /// Matches `[lon, lat]` (WGS84) with a GPS accuracy radius in metres (0 when unknown).
    pub fn match_point(&self, lon: f64, lat: f64, accuracy_m: f64) -> MatchResult {
        let p = Coord { x: lon, y: lat };
        let accuracy_m = if accuracy_m.is_finite() {
            accuracy_m.max(0.0)
        } else {
            0.0
        };
        let mut matches: Vec<ZoneMatch> = Vec::new();
        let mut best_inside: Option<(f64, &Arc<Zone>)> = None;
        for g in self.tree.locate_all_at_point([lon, lat]) {
            let e = &self.entries[g.data as usize];
            if let Some(d) = e.test(p) {
                if let Shape::Area { area_deg2, .. } = e.shape {
                    if e.zone.kind == ZoneKind::Responsibility
                        // The smallest (most specific) zone; equal areas by id, so the answer
                        // does not depend on R-tree order.
                        && best_inside.is_none_or(|(a, z)| {
                            area_deg2 < a || (area_deg2 == a && e.zone.id < z.id)
                        })
                    {
                        best_inside = Some((area_deg2, &e.zone));
                    }
                }
                matches.push(ZoneMatch {
                    zone: e.zone.clone(),
                    inside: true,
                    distance_m: d,
                });
            }
        }
        let resp_inside = matches
            .iter()
            .filter(|m| m.zone.kind == ZoneKind::Responsibility)
            .count();
        let search_m = if resp_inside == 0 {
            accuracy_m.max(NEAREST_RESPONSIBILITY_M)
        } else {
            accuracy_m
        };
        let mut near_within_accuracy = 0;
        let mut nearest: Option<ZoneMatch> = None;
        if search_m > 0.0 && self.responsibility.size() > 0 {
            let (dlon, dlat) = LocalMetres::new(lon, lat).degrees_for(search_m);
            let env = AABB::from_corners([lon - dlon, lat - dlat], [lon + dlon, lat + dlat]);
            for g in self.responsibility.locate_in_envelope_intersecting(env) {
                let e = &self.entries[g.data as usize];
                let Shape::Area { prepared, .. } = &e.shape else {
                    continue;
                };
                if matches.iter().any(|m| Arc::ptr_eq(&m.zone, &e.zone)) {
                    continue;
                }
                let Some(d) = prepared.distance_m(p, search_m) else {
                    continue;
                };
                let m = ZoneMatch {
                    zone: e.zone.clone(),
                    inside: false,
                    distance_m: d,
                };
                if d <= accuracy_m {
                    near_within_accuracy += 1;
                    matches.push(m.clone());
                }
                if nearest.as_ref().is_none_or(|n| d < n.distance_m) {
                    nearest = Some(m);
                }
            }
        }
        let responsible = match (best_inside, &nearest) {
            (Some((_, z)), _) => Responsible::of(z),
            (None, Some(n)) => Responsible::of(&n.zone),
            (None, None) => None,
        };
        if resp_inside == 0 {
            if let Some(n) = nearest {
                if !matches.iter().any(|m| Arc::ptr_eq(&m.zone, &n.zone)) {
                    matches.push(n);
                }
            }
        }
        matches.sort_by(|a, b| {
            (a.zone.kind != ZoneKind::Responsibility, !a.inside)
                .cmp(&(b.zone.kind != ZoneKind::Responsibility, !b.inside))
                .then(a.distance_m.total_cmp(&b.distance_m))
                .then_with(|| a.zone.id.cmp(&b.zone.id))
        });
        MatchResult {
            matches,
            responsible,
            ambiguous: resp_inside + near_within_accuracy >= 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, LineString, MultiPolygon};

    fn zone(id: &str, kind: ZoneKind, geometry: ZoneGeometry) -> Zone {
        Zone {
            id: id.into(),
            kind,
            name: id.into(),
            owner: Some(Owner {
                name: format!("owner of {id}"),
                sector: Sector::School,
                contact: None,
            }),
            parent: None,
            properties: Default::default(),
            geometry,
            version: 1,
            created_at: 0,
            created_by: "t".into(),
            updated_at: 0,
            updated_by: "t".into(),
            retired_at: None,
            retired_by: None,
        }
    }

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> ZoneGeometry {
        ZoneGeometry::Area(MultiPolygon(vec![polygon![
            (x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1), (x: x0, y: y0)
        ]]))
    }

    fn two_neighbours() -> ZoneIndex {
        // Two 三包 zones side by side near Baishan, sharing the edge lon = 126.4200.
        ZoneIndex::from_zones([
            zone(
                "a",
                ZoneKind::Responsibility,
                rect(126.4190, 41.9400, 126.4200, 41.9404),
            ),
            zone(
                "b",
                ZoneKind::Responsibility,
                rect(126.4200, 41.9400, 126.4210, 41.9404),
            ),
            zone("grid", ZoneKind::Grid, rect(126.41, 41.93, 126.43, 41.95)),
            zone(
                "route",
                ZoneKind::PatrolRoute,
                ZoneGeometry::Route {
                    line: MultiLineString(vec![LineString::from(vec![
                        (126.41, 41.9410),
                        (126.43, 41.9410),
                    ])]),
                    width_m: 40.0,
                },
            ),
        ])
    }

    #[test]
    fn inside_one_zone() {
        let r = two_neighbours().match_point(126.4195, 41.9402, 0.0);
        assert_eq!(r.responsible.unwrap().zone_id, "a");
        assert!(!r.ambiguous);
        let ids: Vec<_> = r.matches.iter().map(|m| m.zone.id.as_str()).collect();
        assert_eq!(ids, ["a", "grid"]);
    }

    #[test]
    fn shared_boundary_matches_both_and_is_ambiguous() {
        let r = two_neighbours().match_point(126.4200, 41.9402, 0.0);
        assert!(r.ambiguous);
        let ids: Vec<_> = r.matches.iter().map(|m| m.zone.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "grid"]);
    }

    #[test]
    fn accuracy_near_boundary_is_ambiguous() {
        // ~4 m west of the shared edge (a degree of longitude is ~82.9 km here).
        let lon = 126.4200 - 4.0 / 82_900.0;
        let sure = two_neighbours().match_point(lon, 41.9402, 2.0);
        assert!(!sure.ambiguous);
        let unsure = two_neighbours().match_point(lon, 41.9402, 10.0);
        assert!(unsure.ambiguous);
        assert_eq!(unsure.responsible.unwrap().zone_id, "a");
        let b = unsure.matches.iter().find(|m| m.zone.id == "b").unwrap();
        assert!(
            !b.inside && (b.distance_m - 4.0).abs() < 0.2,
            "{}",
            b.distance_m
        );
    }

    #[test]
    fn nearest_within_30_m_when_outside() {
        // ~20 m south of zone a: 0.00018° of latitude ≈ 20 m.
        let r = two_neighbours().match_point(126.4195, 41.9400 - 0.00018, 0.0);
        let n = &r.matches[0];
        assert_eq!(n.zone.id, "a");
        assert!(
            !n.inside && (n.distance_m - 20.0).abs() < 0.5,
            "{}",
            n.distance_m
        );
        assert_eq!(r.responsible.unwrap().zone_id, "a");
        // ~50 m away: nothing within 30 m unless the accuracy is wider.
        let far = two_neighbours().match_point(126.4195, 41.9400 - 0.00045, 0.0);
        assert!(far.responsible.is_none());
        let wide = two_neighbours().match_point(126.4195, 41.9400 - 0.00045, 60.0);
        assert_eq!(wide.responsible.unwrap().zone_id, "a");
    }

    #[test]
    fn patrol_corridor_in_metres() {
        let idx = two_neighbours();
        // 0.00015° of latitude ≈ 16.7 m from the route: inside a 40 m corridor.
        let r = idx.match_point(126.415, 41.9410 + 0.00015, 0.0);
        assert!(r.matches.iter().any(|m| m.zone.id == "route" && m.inside));
        // ≈ 25 m: outside.
        let r = idx.match_point(126.415, 41.9410 + 0.000225, 0.0);
        assert!(!r.matches.iter().any(|m| m.zone.id == "route"));
    }

    #[test]
    fn edits_swap_whole_entries() {
        let idx = two_neighbours();
        let moved = zone(
            "a",
            ZoneKind::Responsibility,
            rect(126.0, 41.0, 126.001, 41.001),
        );
        let idx2 = idx.with_changes(
            vec![Arc::new(IndexedZone::new(Arc::new(moved)))],
            &["b".into()],
        );
        assert_eq!(idx2.len(), 3);
        assert!(idx2
            .match_point(126.4195, 41.9402, 0.0)
            .responsible
            .is_none());
        assert_eq!(
            idx2.match_point(126.0005, 41.0005, 0.0)
                .responsible
                .unwrap()
                .zone_id,
            "a"
        );
        // the old snapshot is untouched
        assert_eq!(
            idx.match_point(126.4195, 41.9402, 0.0)
                .responsible
                .unwrap()
                .zone_id,
            "a"
        );
    }
}
