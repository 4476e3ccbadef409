//! `ZoneIndex`: every live zone in a packed R-tree of envelopes, with prepared geometry for the
//! exact test. Immutable once built: an edit makes a new snapshot (sharing everything that did
//! not change: the base tree, every prepared zone) and the registry swaps it in, so readers
//! never see a half-applied edit. An edit costs O(k log k) in the k zones edited since the base
//! was last compacted, not O(n) in the whole city.

mod cells;
mod packed;
mod prepared;

pub use packed::PackedTree;
pub use prepared::{Location, PreparedArea};

use crate::crs::Bbox;
use cells::CellIndex;
use prepared::{GridParams, RectClass};

use crate::crs::geodesy::LocalMetres;
use crate::zone::{Zone, ZoneGeometry, ZoneKind};
use geo::{Area, Coord, MultiLineString};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
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
    /// The geometry's own bounding box (for a corridor, its centre line's).
    line_bbox: [f64; 4],
    /// Projected on first use by the tile engine, then reused for every tile.
    world: std::sync::OnceLock<WorldGeometry>,
    /// Where the zone's name is drawn, on first use (an area's interior point).
    label: std::sync::OnceLock<Option<(f64, f64)>>,
}

impl IndexedZone {
    /// Prepares a zone for matching (the costly part of indexing; done outside any lock).
    pub fn new(zone: Arc<Zone>) -> Self {
        let bbox = zone.geometry.bbox().map(Bbox::to_array).unwrap_or([0.0; 4]);
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
            line_bbox: bbox,
            zone,
            shape,
            envelope,
            world: std::sync::OnceLock::new(),
            label: std::sync::OnceLock::new(),
        }
    }

    /// `[lon, lat]` where the zone's name goes: a point inside its largest polygon (so the
    /// label of an L-shaped frontage lies on the frontage, not beside it); `None` for routes.
    pub fn label_point(&self) -> Option<(f64, f64)> {
        *self.label.get_or_init(|| match &self.zone.geometry {
            ZoneGeometry::Area(mp) => {
                use geo::{Area, InteriorPoint};
                mp.0.iter()
                    .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))
                    .and_then(|p| p.interior_point())
                    .map(|p| (p.x(), p.y()))
            }
            ZoneGeometry::Route { .. } => None,
        })
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

    /// Heap bytes of this entry beyond the zone itself: the struct and its prepared shape.
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + match &self.shape {
                Shape::Area { prepared, .. } => prepared.heap_bytes(),
                Shape::Corridor { line, .. } => {
                    line.0.iter().map(|l| 24 + l.0.len() * 16).sum::<usize>()
                }
            }
    }

    /// How the zone lies relative to a rectangle (conservatively; corridors by envelope).
    fn classify_rect(&self, r: [f64; 4]) -> RectClass {
        let b = self.envelope;
        if r[2] < b[0] || r[0] > b[2] || r[3] < b[1] || r[1] > b[3] {
            return RectClass::Disjoint;
        }
        match &self.shape {
            Shape::Area { prepared, .. } => prepared.classify_rect(r),
            Shape::Corridor { line, .. } => {
                // The rectangle widened by the corridor (as the envelope was): no centre-line
                // segment reaching it means no point of the rectangle is in the corridor.
                let (mx, my) = (
                    (b[2] - b[0]) - self.line_bbox[2] + self.line_bbox[0],
                    (b[3] - b[1]) - self.line_bbox[3] + self.line_bbox[1],
                );
                let w = [
                    r[0] - mx / 2.0,
                    r[1] - my / 2.0,
                    r[2] + mx / 2.0,
                    r[3] + my / 2.0,
                ];
                let near = line
                    .0
                    .iter()
                    .flat_map(|l| l.0.windows(2))
                    .any(|s| prepared::segment_meets_rect_xy(s[0], s[1], w));
                if near {
                    RectClass::Boundary
                } else {
                    RectClass::Disjoint
                }
            }
        }
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

/// The answer to "whose zone is this point in?".
#[derive(Debug, Clone, Serialize)]
pub struct MatchResult {
    pub matches: Vec<ZoneMatch>,
    /// The point is within `accuracy_m` of two or more responsibility zones.
    pub ambiguous: bool,
}

/// Overlay size (edited zones plus dead base slots) at which [`ZoneIndex::with_changes`] folds
/// everything into a new base itself, for callers that do not compact in the background (the
/// registry does, much earlier): at least this many, or a quarter of the base.
const COMPACT_AT: usize = 65_536;

/// The first, cheap test of a candidate: the classification grids of the areas that have one,
/// copied side by side in the entries' (Hilbert) order, so that most candidates are answered
/// from one small array without touching the zone itself.
#[derive(Debug, Default)]
struct Quick {
    /// Per entry: its grid in `grids`, or (with `SMALL`) its edges in `small`, or `u32::MAX`.
    of: Vec<u32>,
    /// `(offset, count)` of small areas' edges in `edges`.
    small: Vec<(u32, u32)>,
    edges: Vec<prepared::Edge>,
    /// Grid parameters and the offset of the grid's cells in `cells`.
    grids: Vec<(GridParams, u32)>,
    cells: Vec<u8>,
}

/// Areas with at most this many edges are tested from `Quick::edges`.
const SMALL_EDGES: usize = 12;
const SMALL: u32 = 1 << 31;

impl Quick {
    fn new(entries: &[Arc<IndexedZone>]) -> Self {
        let mut q = Quick {
            of: Vec::with_capacity(entries.len()),
            ..Default::default()
        };
        for e in entries {
            let grid = match &e.shape {
                Shape::Area { prepared, .. } => prepared.grid(),
                Shape::Corridor { .. } => None,
            };
            let small = match (&e.shape, &grid) {
                (Shape::Area { prepared, .. }, None) => prepared.small_edges(SMALL_EDGES),
                _ => None,
            };
            match (grid, small) {
                (Some((params, cells)), _) => {
                    q.of.push(q.grids.len() as u32);
                    q.grids.push((params, q.cells.len() as u32));
                    q.cells.extend_from_slice(cells);
                }
                (None, Some(edges)) => {
                    q.of.push(q.small.len() as u32 | SMALL);
                    q.small.push((q.edges.len() as u32, edges.len() as u32));
                    q.edges.extend_from_slice(&edges);
                }
                (None, None) => q.of.push(u32::MAX),
            }
        }
        q
    }

    /// `Some` when entry `i`'s grid alone answers (then never `Boundary`), or its edges (exact).
    #[inline]
    fn locate(&self, i: u32, p: Coord<f64>) -> Option<Location> {
        let g = self.of[i as usize];
        if g == u32::MAX {
            return None;
        }
        if g & SMALL != 0 {
            let (at, n) = self.small[(g & !SMALL) as usize];
            return Some(prepared::locate_by_edges(
                &self.edges[at as usize..(at + n) as usize],
                p,
            ));
        }
        let (params, offset) = &self.grids[g as usize];
        params.locate(&self.cells[*offset as usize..], p.x, p.y)
    }

    fn heap_bytes(&self) -> usize {
        self.of.capacity() * 4
            + self.small.capacity() * 8
            + self.edges.capacity() * std::mem::size_of::<prepared::Edge>()
            + self.grids.capacity() * std::mem::size_of::<(GridParams, u32)>()
            + self.cells.capacity()
    }
}

/// What a match needs of an entry, side by side in the entries' order, so that matching a
/// point does not have to visit the prepared zone.
#[derive(Debug)]
struct Hot {
    zone: Arc<Zone>,
    /// Area in square degrees for areas (the smallest responsibility zone wins), `None` for
    /// corridors.
    area_deg2: Option<f64>,
}

impl Hot {
    fn of(e: &IndexedZone) -> Self {
        Hot {
            zone: e.zone.clone(),
            area_deg2: match e.shape {
                Shape::Area { area_deg2, .. } => Some(area_deg2),
                Shape::Corridor { .. } => None,
            },
        }
    }
}

/// The bulk of an index: immutable, shared by every snapshot until the next compaction.
#[derive(Debug, Default)]
struct Base {
    /// In the tree's Hilbert order, so that neighbours in space are neighbours in memory.
    entries: Vec<Arc<IndexedZone>>,
    /// Point location: which zones reach each cell, and which cover it whole.
    cells: CellIndex,
    quick: Quick,
    hot: Vec<Hot>,
    /// `(hash of id, entry)` sorted: 12 bytes a zone instead of a second copy of every id.
    ids: Vec<(u64, u32)>,
    tree: PackedTree,
    /// The responsibility zones alone, for the nearest-zone search (most points fall outside
    /// every 三包 zone, so this runs often and should not wade through grid cells).
    responsibility: PackedTree,
}

fn id_hash(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same in every run, which keeps builds reproducible.
    let mut h = std::hash::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

fn trees(entries: &[Arc<IndexedZone>]) -> (PackedTree, PackedTree) {
    let all = PackedTree::new(
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| (i as u32, e.envelope)),
    );
    let resp = PackedTree::new(
        entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.zone.kind == ZoneKind::Responsibility)
            .map(|(i, e)| (i as u32, e.envelope)),
    );
    (all, resp)
}

impl Base {
    fn new(entries: Vec<Arc<IndexedZone>>) -> Self {
        let envelopes: Vec<[f64; 4]> = entries.iter().map(|e| e.envelope).collect();
        let mut slots: Vec<Option<Arc<IndexedZone>>> = entries.into_iter().map(Some).collect();
        let entries: Vec<Arc<IndexedZone>> = packed::hilbert_order(&envelopes)
            .into_iter()
            .filter_map(|k| slots[k as usize].take())
            .collect();
        let mut ids: Vec<(u64, u32)> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (id_hash(&e.zone.id), i as u32))
            .collect();
        ids.sort_unstable();
        let (tree, responsibility) = trees(&entries);
        let envelopes: Vec<[f64; 4]> = entries.iter().map(|e| e.envelope).collect();
        let extent = envelopes.iter().fold(
            [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ],
            |a, b| {
                [
                    a[0].min(b[0]),
                    a[1].min(b[1]),
                    a[2].max(b[2]),
                    a[3].max(b[3]),
                ]
            },
        );
        let cells = if entries.is_empty() {
            CellIndex::default()
        } else {
            CellIndex::new(extent, &envelopes, &|i: u32, r: [f64; 4]| {
                entries[i as usize].classify_rect(r)
            })
        };
        Base {
            cells,
            quick: Quick::new(&entries),
            hot: entries.iter().map(|e| Hot::of(e)).collect(),
            entries,
            ids,
            tree,
            responsibility,
        }
    }

    fn find(&self, id: &str) -> Option<u32> {
        let h = id_hash(id);
        let start = self.ids.partition_point(|&(k, _)| k < h);
        self.ids[start..]
            .iter()
            .take_while(|&&(k, _)| k == h)
            .map(|&(_, i)| i)
            .find(|&i| self.entries[i as usize].zone.id == id)
    }
}

/// Recent edits on top of a base: the zones added or replaced since it was built (sorted by id,
/// with their own small trees), and the base entries they replaced or retired.
#[derive(Debug, Default, Clone)]
struct Overlay {
    entries: Vec<Arc<IndexedZone>>,
    tree: PackedTree,
    responsibility: PackedTree,
    /// One bit per base entry: replaced or retired.
    dead: Option<Arc<Vec<u64>>>,
    dead_count: usize,
}

impl Overlay {
    #[inline]
    fn is_dead(&self, i: u32) -> bool {
        self.dead
            .as_ref()
            .is_some_and(|d| d[i as usize >> 6] >> (i & 63) & 1 == 1)
    }

    fn position(&self, id: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|e| e.zone.id.as_str().cmp(id))
    }
}

/// An immutable snapshot of every live zone.
///
/// Edits make a new snapshot in time independent of the number of zones: the zones of the last
/// few thousand edits sit in a small overlay over a shared base, and [`ZoneIndex::compacted`]
/// (run in the background by the registry) folds them into a new base.
#[derive(Debug, Default)]
pub struct ZoneIndex {
    base: Arc<Base>,
    overlay: Overlay,
}

impl ZoneIndex {
    /// Builds an index: a packed R-tree over the envelopes, O(n log n).
    pub fn new(entries: Vec<Arc<IndexedZone>>) -> Self {
        ZoneIndex {
            base: Arc::new(Base::new(entries)),
            overlay: Overlay::default(),
        }
    }

    /// Prepares and indexes live zones.
    pub fn from_zones(zones: impl IntoIterator<Item = Zone>) -> Self {
        // Allocated in separate passes so the zones (touched by every match) lie together in
        // memory, not scattered among the much larger prepared geometry.
        let zones: Vec<Arc<Zone>> = zones
            .into_iter()
            .filter(Zone::is_live)
            .map(Arc::new)
            .collect();
        let prepared: Vec<IndexedZone> = zones.into_iter().map(IndexedZone::new).collect();
        Self::new(prepared.into_iter().map(Arc::new).collect())
    }

    /// A new index with `upserts` added or replaced and `removed` ids dropped. Costs
    /// O(k log k) for the k zones edited since the base was built, not O(n).
    pub fn with_changes(&self, upserts: Vec<Arc<IndexedZone>>, removed: &[String]) -> Self {
        let mut ov = self.overlay.clone();
        let mut dead: Option<Vec<u64>> = None;
        let ids = removed
            .iter()
            .map(String::as_str)
            .chain(upserts.iter().map(|u| u.zone.id.as_str()));
        for id in ids {
            if let Ok(k) = ov.position(id) {
                ov.entries.remove(k);
            }
            if let Some(i) = self.base.find(id) {
                if !ov.is_dead(i) || dead.is_some() {
                    let bits = dead.get_or_insert_with(|| match &ov.dead {
                        Some(d) => d.as_ref().clone(),
                        None => vec![0; self.base.entries.len().div_ceil(64)],
                    });
                    let (w, b) = (i as usize >> 6, i & 63);
                    if bits[w] >> b & 1 == 0 {
                        bits[w] |= 1 << b;
                        ov.dead_count += 1;
                    }
                }
            }
        }
        if let Some(d) = dead {
            ov.dead = Some(Arc::new(d));
        }
        for u in upserts.into_iter().filter(|u| u.zone.is_live()) {
            match ov.position(&u.zone.id) {
                Ok(k) => ov.entries[k] = u,
                Err(k) => ov.entries.insert(k, u),
            }
        }
        (ov.tree, ov.responsibility) = trees(&ov.entries);
        let next = ZoneIndex {
            base: self.base.clone(),
            overlay: ov,
        };
        if next.overlay_len() >= COMPACT_AT.max(self.base.entries.len() / 4) {
            next.compacted()
        } else {
            next
        }
    }

    /// Edited zones and dead base entries on top of the base: what compaction would fold in.
    pub fn overlay_len(&self) -> usize {
        self.overlay.entries.len() + self.overlay.dead_count
    }

    /// The same zones in a freshly built index without overlay (O(n log n)).
    pub fn compacted(&self) -> Self {
        Self::new(self.iter().cloned().collect())
    }

    pub fn len(&self) -> usize {
        self.base.entries.len() - self.overlay.dead_count + self.overlay.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, id: &str) -> Option<&Arc<IndexedZone>> {
        if let Ok(k) = self.overlay.position(id) {
            return Some(&self.overlay.entries[k]);
        }
        self.base
            .find(id)
            .filter(|&i| !self.overlay.is_dead(i))
            .map(|i| &self.base.entries[i as usize])
    }

    /// Every live zone (base order, then the recently edited ones by id).
    pub fn iter(&self) -> impl Iterator<Item = &Arc<IndexedZone>> {
        self.base
            .entries
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.overlay.is_dead(*i as u32))
            .map(|(_, e)| e)
            .chain(self.overlay.entries.iter())
    }

    /// Zones whose envelope intersects `bbox`.
    pub fn in_bbox(&self, bbox: Bbox) -> impl Iterator<Item = &Arc<IndexedZone>> {
        let hits = |e: &IndexedZone| bbox.intersects(&Bbox::from(e.envelope));
        let bbox = bbox.to_array();
        let mut out: Vec<&Arc<IndexedZone>> = Vec::new();
        self.base.tree.in_box(bbox, |i| {
            let e = &self.base.entries[i as usize];
            if !self.overlay.is_dead(i) && hits(e) {
                out.push(e);
            }
        });
        self.overlay.tree.in_box(bbox, |i| {
            let e = &self.overlay.entries[i as usize];
            if hits(e) {
                out.push(e);
            }
        });
        out.into_iter()
    }

    /// Calls `f(zone, area_deg2, distance_m)` for every live zone covering `p` (corridors:
    /// containing it), as [`IndexedZone::test`] decides, but mostly without running it: the
    /// cell index knows the zones covering the point's whole cell, and the classification grids
    /// answer most of the rest.
    #[inline]
    fn covering(&self, p: Coord<f64>, mut f: impl FnMut(&Arc<Zone>, Option<f64>, f64)) {
        let (base, ov) = (&*self.base, &self.overlay);
        base.cells.at_point(p.x, p.y, |i, whole| {
            if ov.is_dead(i) {
                return;
            }
            let d = if whole {
                Some(0.0)
            } else {
                match base.quick.locate(i, p) {
                    Some(Location::Outside) => None,
                    Some(_) => Some(0.0),
                    None => base.entries[i as usize].test(p),
                }
            };
            if let Some(d) = d {
                let h = &base.hot[i as usize];
                f(&h.zone, h.area_deg2, d)
            }
        });
        ov.tree.at_point(p.x, p.y, |i| {
            let e = &ov.entries[i as usize];
            if let Some(d) = e.test(p) {
                let area = match e.shape {
                    Shape::Area { area_deg2, .. } => Some(area_deg2),
                    Shape::Corridor { .. } => None,
                };
                f(&e.zone, area, d)
            }
        });
    }

    /// Calls `f` with every live responsibility zone whose envelope may meet `bbox`.
    fn responsibility_in(&self, bbox: [f64; 4], mut f: impl FnMut(&Arc<IndexedZone>)) {
        let (base, ov) = (&*self.base, &self.overlay);
        base.responsibility.in_box(bbox, |i| {
            if !ov.is_dead(i) {
                f(&base.entries[i as usize])
            }
        });
        ov.responsibility
            .in_box(bbox, |i| f(&ov.entries[i as usize]));
    }

    /// Heap bytes of the index structures themselves (trees, id table, overlay), not of the
    /// zones they point to; for the memory figures in `bench/README.md`.
    pub fn structure_bytes(&self) -> usize {
        let b = &self.base;
        b.entries.capacity() * std::mem::size_of::<Arc<IndexedZone>>()
            + b.ids.capacity() * std::mem::size_of::<(u64, u32)>()
            + b.tree.heap_bytes()
            + b.responsibility.heap_bytes()
            + b.quick.heap_bytes()
            + b.hot.capacity() * std::mem::size_of::<Hot>()
            + b.cells.heap_bytes()
            + self.overlay.entries.capacity() * std::mem::size_of::<Arc<IndexedZone>>()
            + self.overlay.tree.heap_bytes()
            + self.overlay.responsibility.heap_bytes()
            + self.overlay.dead.as_ref().map_or(0, |d| d.capacity() * 8)
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
        self.covering(p, |zone, _area, d| {
            matches.push(ZoneMatch {
                zone: zone.clone(),
                inside: true,
                distance_m: d,
            });
        });
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
        let any_responsibility =
            self.base.responsibility.len() + self.overlay.responsibility.len() > 0;
        if search_m > 0.0 && any_responsibility {
            let (dlon, dlat) = LocalMetres::new(lon, lat).degrees_for(search_m);
            let env = [lon - dlon, lat - dlat, lon + dlon, lat + dlat];
            let mut near: Vec<ZoneMatch> = Vec::new();
            self.responsibility_in(env, |e| {
                let Shape::Area { prepared, .. } = &e.shape else {
                    return;
                };
                let b = e.envelope;
                if b[0] > env[2] || env[0] > b[2] || b[1] > env[3] || env[1] > b[3] {
                    return;
                }
                if matches.iter().any(|m| Arc::ptr_eq(&m.zone, &e.zone)) {
                    return;
                }
                if let Some(d) = prepared.distance_m(p, search_m) {
                    near.push(ZoneMatch {
                        zone: e.zone.clone(),
                        inside: false,
                        distance_m: d,
                    });
                }
            });
            for m in near {
                if m.distance_m <= accuracy_m {
                    near_within_accuracy += 1;
                    matches.push(m.clone());
                }
                // The nearest; equal distances by id, so the answer does not depend on order.
                if nearest.as_ref().is_none_or(|n| {
                    m.distance_m < n.distance_m
                        || (m.distance_m == n.distance_m && m.zone.id < n.zone.id)
                }) {
                    nearest = Some(m);
                }
            }
        }
        if resp_inside == 0 {
            if let Some(n) = nearest {
                if !matches.iter().any(|m| Arc::ptr_eq(&m.zone, &n.zone)) {
                    matches.push(n);
                }
            }
        }
        if matches.len() > 1 {
            matches.sort_by(|a, b| {
                (a.zone.kind != ZoneKind::Responsibility, !a.inside)
                    .cmp(&(b.zone.kind != ZoneKind::Responsibility, !b.inside))
                    .then(a.distance_m.total_cmp(&b.distance_m))
                    .then_with(|| a.zone.id.cmp(&b.zone.id))
            });
        }
        MatchResult {
            matches,
            ambiguous: resp_inside + near_within_accuracy >= 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::{Owner, Sector};
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

    /// The responsible zone by the rules of [`crate::zone::responsibility`].
    fn resp(idx: &ZoneIndex, r: &MatchResult) -> Option<String> {
        crate::zone::responsibility::resolve(idx, r)
            .responsible
            .map(|r| r.zone_id)
    }

    #[test]
    fn inside_one_zone() {
        let idx = two_neighbours();
        let r = idx.match_point(126.4195, 41.9402, 0.0);
        assert_eq!(resp(&idx, &r).as_deref(), Some("a"));
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
        let idx = two_neighbours();
        let unsure = idx.match_point(lon, 41.9402, 10.0);
        assert!(unsure.ambiguous);
        assert_eq!(resp(&idx, &unsure).as_deref(), Some("a"));
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
        let idx = two_neighbours();
        let r = idx.match_point(126.4195, 41.9400 - 0.00018, 0.0);
        let n = &r.matches[0];
        assert_eq!(n.zone.id, "a");
        assert!(
            !n.inside && (n.distance_m - 20.0).abs() < 0.5,
            "{}",
            n.distance_m
        );
        assert_eq!(resp(&idx, &r).as_deref(), Some("a"));
        // ~50 m away: no 三包 zone within 30 m unless the accuracy is wider (the grid answers).
        let far = idx.match_point(126.4195, 41.9400 - 0.00045, 0.0);
        assert!(!far.matches.iter().any(|m| m.zone.id == "a"));
        let wide = idx.match_point(126.4195, 41.9400 - 0.00045, 60.0);
        assert_eq!(resp(&idx, &wide).as_deref(), Some("a"));
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
        let moved_off = idx2.match_point(126.4195, 41.9402, 0.0);
        assert!(!moved_off.matches.iter().any(|m| m.zone.id == "a"));
        let moved_to = idx2.match_point(126.0005, 41.0005, 0.0);
        assert_eq!(resp(&idx2, &moved_to).as_deref(), Some("a"));
        // the old snapshot is untouched
        let before = idx.match_point(126.4195, 41.9402, 0.0);
        assert_eq!(resp(&idx, &before).as_deref(), Some("a"));
    }

    /// Compares everything a caller can see of two indexes.
    fn assert_same(a: &ZoneIndex, b: &ZoneIndex, probes: &[(f64, f64)], step: usize) {
        assert_eq!(a.len(), b.len(), "step {step}");
        let mut ids_a: Vec<&str> = a.iter().map(|e| e.zone.id.as_str()).collect();
        let mut ids_b: Vec<&str> = b.iter().map(|e| e.zone.id.as_str()).collect();
        ids_a.sort();
        ids_b.sort();
        assert_eq!(ids_a, ids_b, "step {step}");
        for id in &ids_b {
            let (x, y) = (a.get(id).unwrap(), b.get(id).unwrap());
            assert!(Arc::ptr_eq(&x.zone, &y.zone), "step {step}: {id}");
        }
        assert!(a.get("nope").is_none());
        let view = |idx: &ZoneIndex, r: MatchResult| {
            let m: Vec<(String, bool, u64)> = r
                .matches
                .iter()
                .map(|m| (m.zone.id.clone(), m.inside, m.distance_m.to_bits()))
                .collect();
            (m, resp(idx, &r), r.ambiguous)
        };
        for &(x, y) in probes {
            for acc in [0.0, 25.0] {
                assert_eq!(
                    view(a, a.match_point(x, y, acc)),
                    view(b, b.match_point(x, y, acc)),
                    "step {step} at {x},{y}"
                );
            }
            let bb = Bbox::new(x - 0.0004, y - 0.0003, x + 0.0004, y + 0.0003);
            let mut ia: Vec<&str> = a.in_bbox(bb).map(|e| e.zone.id.as_str()).collect();
            let mut ib: Vec<&str> = b.in_bbox(bb).map(|e| e.zone.id.as_str()).collect();
            ia.sort();
            ib.sort();
            assert_eq!(ia, ib, "step {step}");
        }
    }

    #[test]
    fn incremental_edits_equal_a_fresh_build() {
        let mut s = 0x1234_5678_9abc_def0u64;
        let mut r = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let place = |r: &mut dyn FnMut() -> f64, id: &str, v: i64| {
            let (x, y) = (126.40 + r() * 0.02, 41.93 + r() * 0.015);
            let (w, h) = (0.0002 + r() * 0.0006, 0.0002 + r() * 0.0004);
            let kind = if r() < 0.8 {
                ZoneKind::Responsibility
            } else {
                ZoneKind::Grid
            };
            let mut z = zone(id, kind, rect(x, y, x + w, y + h));
            z.version = v;
            z
        };
        let mut live: Vec<Zone> = (0..150)
            .map(|i| place(&mut r, &format!("z{i:03}"), 1))
            .collect();
        let mut idx = ZoneIndex::from_zones(live.clone());
        let probes: Vec<(f64, f64)> = (0..120)
            .map(|_| (126.40 + r() * 0.02, 41.93 + r() * 0.015))
            .collect();
        let mut next_id = 150;
        for step in 0..130 {
            let pick = (r() * live.len() as f64) as usize;
            let roll = r();
            let (upserts, removed): (Vec<Zone>, Vec<String>) = if roll < 0.4 {
                // Edit: move and reshape a zone (a base one or one edited before).
                let old = &live[pick];
                let z = place(&mut r, &old.id.clone(), old.version + 1);
                live[pick] = z.clone();
                (vec![z], vec![])
            } else if roll < 0.6 {
                let mut z = live.swap_remove(pick);
                z.retired_at = Some(1);
                let id = z.id.clone();
                (vec![z], vec![id])
            } else {
                let n = 1 + (r() * 3.0) as usize;
                let zs: Vec<Zone> = (0..n)
                    .map(|k| place(&mut r, &format!("n{:03}", next_id + k), 1))
                    .collect();
                next_id += n;
                live.extend(zs.iter().cloned());
                (zs, vec![])
            };
            let upserts = upserts
                .into_iter()
                .map(|z| Arc::new(IndexedZone::new(Arc::new(z))))
                .collect();
            idx = idx.with_changes(upserts, &removed);
            if step % 40 == 39 {
                idx = idx.compacted();
                assert_eq!(idx.overlay_len(), 0);
            }
            // The fresh build shares the prepared zones of `idx`, so `get` can compare pointers.
            let fresh = ZoneIndex::new(idx.iter().cloned().collect());
            assert_eq!(fresh.len(), live.len());
            assert_same(&idx, &fresh, &probes, step);
        }
        assert!(idx.overlay_len() > 0);
    }

    #[test]
    fn cell_index_agrees_with_testing_every_zone() {
        let mut s = 0x0bad_cafe_u64;
        let mut r = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut zones: Vec<Zone> = (0..400)
            .map(|i| {
                let (x, y) = (126.40 + r() * 0.02, 41.93 + r() * 0.015);
                let (w, h) = (0.0001 + r() * 0.002, 0.0001 + r() * 0.001);
                zone(
                    &format!("a{i}"),
                    ZoneKind::Responsibility,
                    rect(x, y, x + w, y + h),
                )
            })
            .collect();
        for i in 0..4 {
            let pts: Vec<(f64, f64)> = (0..6)
                .map(|_| (126.40 + r() * 0.02, 41.93 + r() * 0.015))
                .collect();
            zones.push(zone(
                &format!("route{i}"),
                ZoneKind::PatrolRoute,
                ZoneGeometry::Route {
                    line: MultiLineString(vec![LineString::from(pts)]),
                    width_m: 40.0,
                },
            ));
        }
        let idx = ZoneIndex::from_zones(zones);
        for _ in 0..3000 {
            let p = Coord {
                x: 126.399 + r() * 0.022,
                y: 41.929 + r() * 0.017,
            };
            let mut got: Vec<String> = Vec::new();
            idx.covering(p, |z, _, _| got.push(z.id.clone()));
            got.sort();
            let mut want: Vec<String> = idx
                .iter()
                .filter(|e| e.test(p).is_some())
                .map(|e| e.zone.id.clone())
                .collect();
            want.sort();
            assert_eq!(got, want, "at {p:?}");
        }
    }
}
