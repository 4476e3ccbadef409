//! Every report as a point in memory, so a tile can count thousands of reports without a
//! database round trip. Loaded from the store at start, kept current by the report service's
//! change notifications.
//!
//! The points lie in Z-order (a Morton curve over the Web Mercator square): a box is a few
//! contiguous runs of the array, found by binary search and read front to back, with no tree
//! to walk and no random memory access per point. Reports added since the last layout are
//! appended and found through a small R-tree; when they reach a quarter of the laid-out ones
//! (at least [`RELAYOUT_MIN`]), everything is laid out again on a background thread: it copies
//! the points under the read lock, sorts the copy with no lock held, and takes the write lock
//! only to swap it in and replay what changed meanwhile, so tiles are never held up by a sort.

use super::count_grid::{unfinished, CountGrid};
use super::{CellBox, ReportFilter, ReportPoint, ReportSource};
use crate::crs::Bbox;
use crate::report::service::ReportChange;
use crate::report::{Category, Status};
use crate::store::{Store, StoreError};
use rstar::primitives::GeomWithData;
use rstar::{RTree, AABB};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use xuncha_tiles::TileCoord;

/// Fewest appended points that trigger a new layout.
const RELAYOUT_MIN: usize = 50_000;
/// Z-order cells a side at the finest level.
const Z_LEVEL: u32 = 24;

#[derive(Default)]
struct Inner {
    /// `points[..codes.len()]` in Z-order, then the appended ones.
    points: Vec<ReportPoint>,
    /// The Z-order codes of the laid-out points (sorted).
    codes: Vec<u64>,
    /// The appended points (indices into `points`).
    tail: RTree<GeomWithData<[f64; 2], u32>>,
    by_id: HashMap<i64, u32>,
    /// Scope tags (`z:zone`, `o:owner`) to their numbers.
    tags: HashMap<String, u32>,
    /// The distinct sets of tag numbers (sorted) that reports carry; [`ReportPoint::tags`] is an
    /// index here. Set 0 is the empty set. Reports of one zone and owner share one set.
    sets: Vec<Box<[u32]>>,
    set_ids: HashMap<Box<[u32]>, u32>,
    /// Bumped by every synchronous layout or reload: a background layout begun before is void.
    generation: u64,
    /// While a background layout runs: the points (indices) changed since it copied them.
    touched: Vec<u32>,
    /// Counts per bin and day, for tiles of count bins (kept with every point added).
    grid: CountGrid,
}

/// A background layout's copy of the points, taken under the read lock.
struct Snapshot {
    generation: u64,
    points: Vec<ReportPoint>,
}

/// A background layout, sorted with no lock held, waiting to be swapped in.
struct Layout {
    generation: u64,
    points: Vec<ReportPoint>,
    codes: Vec<u64>,
    by_id: HashMap<i64, u32>,
    /// Where each point of the snapshot went.
    new_index: Vec<u32>,
}

impl Inner {
    /// The number of the set of `tags`, interning the tags and the set.
    fn intern(&mut self, tags: impl IntoIterator<Item = String>) -> u32 {
        let mut out: Vec<u32> = tags
            .into_iter()
            .map(|t| {
                let next = self.tags.len() as u32;
                *self.tags.entry(t).or_insert(next)
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        if self.sets.is_empty() {
            self.sets.push(Box::new([]));
            self.set_ids.insert(Box::new([]), 0);
        }
        if let Some(&n) = self.set_ids.get(out.as_slice()) {
            return n;
        }
        let n = self.sets.len() as u32;
        let set = out.into_boxed_slice();
        self.sets.push(set.clone());
        self.set_ids.insert(set, n);
        n
    }
}

impl Inner {
    /// Sorts every point along the Z-order curve; nothing is appended after.
    fn lay_out(&mut self) {
        let mut keyed: Vec<(u64, ReportPoint)> = std::mem::take(&mut self.points)
            .into_iter()
            .map(|p| (z_order(p.world), p))
            .collect();
        keyed.sort_unstable_by_key(|(code, _)| *code);
        (self.codes, self.points) = keyed.into_iter().unzip();
        // Built in bulk here (a load or an explicit compaction); a background layout leaves the
        // grid alone, since it is kept as points come and does not depend on their order.
        let reports: Vec<(u64, i64, bool)> = (self.codes.iter().zip(&self.points))
            .map(|(&c, p)| (c, p.created_at, unfinished(p.status)))
            .collect();
        self.grid = CountGrid::build(self.grid.offset_ms(), &reports);
        self.by_id = self
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, i as u32))
            .collect();
        self.tail = RTree::new();
        self.generation += 1;
        self.touched.clear();
    }

    /// Calls `f` with the index of every point whose position is inside `bbox` (not yet
    /// filtered).
    fn for_each_index_in(&self, bbox: &Bbox, f: &mut dyn FnMut(usize)) {
        let inside = |p: &ReportPoint| bbox.contains(p.lon, p.lat);
        for (start, end) in z_ranges(bbox) {
            let lo = self.codes.partition_point(|c| *c < start);
            let hi = lo + self.codes[lo..].partition_point(|c| *c < end);
            for i in lo..hi {
                if inside(&self.points[i]) {
                    f(i);
                }
            }
        }
        let env = AABB::from_corners([bbox.west, bbox.south], [bbox.east, bbox.north]);
        for g in self.tail.locate_in_envelope(env) {
            f(g.data as usize);
        }
    }
}

/// Sorts a snapshot along the Z-order curve (no lock held).
fn sort(snapshot: Snapshot) -> Layout {
    let mut keyed: Vec<(u64, u32)> = snapshot
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| (z_order(p.world), i as u32))
        .collect();
    keyed.sort_unstable();
    let mut new_index = vec![0u32; keyed.len()];
    let mut points = Vec::with_capacity(keyed.len());
    let mut by_id = HashMap::with_capacity(keyed.len());
    for (k, &(_, i)) in keyed.iter().enumerate() {
        let p = snapshot.points[i as usize];
        new_index[i as usize] = k as u32;
        by_id.insert(p.id, k as u32);
        points.push(p);
    }
    Layout {
        generation: snapshot.generation,
        points,
        codes: keyed.into_iter().map(|(c, _)| c).collect(),
        by_id,
        new_index,
    }
}

/// The Z-order code ranges (`[start, end)`) that together hold every point of `bbox`: the cells
/// it meets at the level where it spans at most about five cells a side, adjacent ones merged.
fn z_ranges(bbox: &Bbox) -> Vec<(u64, u64)> {
    let (x0, y0) = xuncha_tiles::lonlat_to_world(bbox.west, bbox.north);
    let (x1, y1) = xuncha_tiles::lonlat_to_world(bbox.east, bbox.south);
    let span = (x1 - x0).max(y1 - y0).max(1e-12);
    let level = ((1.0 / span).log2().floor() + 2.0).clamp(0.0, f64::from(Z_LEVEL)) as u32;
    let cells = f64::from(1u32 << level);
    let cell = |v: f64| (v * cells).clamp(0.0, cells - 1.0) as u32;
    let shift = 2 * (Z_LEVEL - level);
    let mut out: Vec<(u64, u64)> = Vec::new();
    for cy in cell(y0)..=cell(y1) {
        for cx in cell(x0)..=cell(x1) {
            let c = interleave(cx, cy);
            out.push((c << shift, (c + 1) << shift));
        }
    }
    out.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(out.len());
    for r in out {
        match merged.last_mut() {
            Some(last) if last.1 == r.0 => last.1 = r.1,
            _ => merged.push(r),
        }
    }
    merged
}

/// Bits of `x` and `y` interleaved (x in the even bits).
pub(super) fn interleave(x: u32, y: u32) -> u64 {
    let spread = |v: u32| {
        let mut v = u64::from(v);
        v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
        v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
        v = (v | (v << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        (v | (v << 1)) & 0x5555_5555_5555_5555
    };
    spread(x) | (spread(y) << 1)
}

fn world_of(lon: f64, lat: f64) -> [f64; 2] {
    let (x, y) = xuncha_tiles::lonlat_to_world(lon, lat);
    [x, y]
}

/// The column and row of a Z-order code (x in the even bits): [`interleave`] undone.
pub(super) fn deinterleave(code: u64) -> (u32, u32) {
    let compact = |v: u64| {
        let mut v = v & 0x5555_5555_5555_5555;
        v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
        v = (v | (v >> 2)) & 0x0f0f_0f0f_0f0f_0f0f;
        v = (v | (v >> 4)) & 0x00ff_00ff_00ff_00ff;
        v = (v | (v >> 8)) & 0x0000_ffff_0000_ffff;
        ((v | (v >> 16)) & 0xffff_ffff) as u32
    };
    (compact(code), compact(code >> 1))
}

/// The column and row of the cell holding world point `[x, y]` (the unit square, y down) in
/// the grid of 2^`level` cells a side, `level` ≤ [`Z_LEVEL`]: the cell its Z-order code is in,
/// so whatever counts by cell agrees with the kept counts to the report.
pub fn world_cell([x, y]: [f64; 2], level: u32) -> (u32, u32) {
    let cells = f64::from(1u32 << Z_LEVEL);
    let cell = |v: f64| (v * cells).clamp(0.0, cells - 1.0) as u32 >> (Z_LEVEL - level);
    (cell(x), cell(y))
}

/// The position of a world point on the Z-order curve, 2^[`Z_LEVEL`] cells a side (~2.4 m at
/// the equator): a tile of any zoom up to that is one contiguous run of it.
fn z_order(world: [f64; 2]) -> u64 {
    let (x, y) = world_cell(world, Z_LEVEL);
    interleave(x, y)
}

/// The scope tags of a report: its matched zones and the organisations it concerns.
fn tags_of<'a>(
    zones: impl IntoIterator<Item = &'a str>,
    owners: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    zones
        .into_iter()
        .map(|z| format!("z:{z}"))
        .chain(owners.into_iter().map(|o| format!("o:{o}")))
        .collect()
}

/// The in-memory report points behind the `reports` tile layer.
#[derive(Default)]
pub struct ReportPoints {
    inner: RwLock<Inner>,
    /// Whether a background layout runs (at most one does).
    relaying: AtomicBool,
    /// Where the count grid's days start: midnight this far ahead of UTC.
    day_offset_ms: i64,
}

impl ReportPoints {
    /// No points yet; the count grid's days start at midnight `day_offset_ms` ahead of UTC (the
    /// city's offset, as the report filters' day boundaries are).
    pub fn new(day_offset_ms: i64) -> Self {
        let inner = Inner {
            grid: CountGrid::new(day_offset_ms),
            ..Inner::default()
        };
        ReportPoints {
            inner: RwLock::new(inner),
            relaying: AtomicBool::new(false),
            day_offset_ms,
        }
    }

    /// Loads every report from the store.
    pub fn load(store: &Store, day_offset_ms: i64) -> Result<Self, StoreError> {
        let me = ReportPoints::new(day_offset_ms);
        me.reload(store)?;
        Ok(me)
    }

    /// Replaces the points with what the store holds (after a bulk load such as the demo).
    pub fn reload(&self, store: &Store) -> Result<usize, StoreError> {
        let mut inner = Inner::default();
        let (points, mut tags) = store.read_sync(|c| {
            let mut out = Vec::new();
            let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
            let mut bad = None;
            c.for_each(
                "SELECT report_id, zone_id FROM report_zones",
                &[],
                &mut |r| {
                    let id: i64 = r.get(0)?;
                    let zone = r.str(1)?.unwrap_or("");
                    tags.entry(id).or_default().push(format!("z:{zone}"));
                    Ok(())
                },
            )?;
            c.for_each(
                "SELECT id, lon, lat, category, status, created_at, responsible_owner, assigned_owner, escalated_to FROM reports",
                &[],
                &mut |r| {
                    let id: i64 = r.get(0)?;
                    let category = r.str(3)?.and_then(|s| s.parse::<Category>().ok());
                    let status = r.str(4)?.and_then(|s| s.parse::<Status>().ok());
                    let (Some(category), Some(status)) = (category, status) else {
                        bad = Some(id);
                        return Ok(());
                    };
                    let owners = [r.str(6)?, r.str(7)?, r.str(8)?];
                    let t = tags.entry(id).or_default();
                    t.extend(tags_of([], owners.into_iter().flatten()));
                    let (lon, lat) = (r.get(1)?, r.get(2)?);
                    out.push(ReportPoint {
                        id,
                        lon,
                        lat,
                        world: world_of(lon, lat),
                        category,
                        status,
                        created_at: r.get(5)?,
                        tags: 0,
                    });
                    Ok(())
                },
            )?;
            if let Some(id) = bad {
                return Err(StoreError::Corrupt(format!(
                    "report {id} has an unknown category or status"
                )));
            }
            Ok((out, tags))
        })?;
        let mut points = points;
        inner.grid = CountGrid::new(self.day_offset_ms);
        for p in &mut points {
            p.tags = inner.intern(tags.remove(&p.id).unwrap_or_default());
        }
        let n = points.len();
        inner.points = points;
        inner.lay_out();
        let mut live = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.generation = live.generation + 1;
        *live = inner;
        Ok(n)
    }

    /// Lays the points out again in spatial order (see [`Inner::lay_out`]): reports added since
    /// the last load sit at the end, in the order they came.
    pub fn compact(&self) {
        self.inner
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .lay_out();
    }

    /// Adds new reports and updates changed ones; starts a background layout when the appended
    /// ones have grown to a quarter of the laid-out ones.
    pub fn apply(self: &Arc<Self>, changes: &[ReportChange]) {
        if self.apply_changes(changes) && !self.relaying.swap(true, Ordering::SeqCst) {
            let me = self.clone();
            let started = crate::background::spawn("report-layout", move || {
                let snapshot = me.snapshot();
                me.finish(sort(snapshot));
            });
            if let Err(e) = started {
                tracing::warn!("could not start the report layout thread: {e}");
                self.relaying.store(false, Ordering::SeqCst);
            }
        }
    }

    /// Applies `changes`; whether the tail is now due for a layout.
    fn apply_changes(&self, changes: &[ReportChange]) -> bool {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        // Read under the lock: a layout that starts later copies the points after this change.
        let relaying = self.relaying.load(Ordering::SeqCst);
        for c in changes {
            let tags = inner.intern(tags_of(
                c.zones.iter().map(String::as_str),
                c.owners.iter().map(String::as_str),
            ));
            match inner.by_id.get(&c.id).copied() {
                Some(i) => {
                    let p = &mut inner.points[i as usize];
                    let was = unfinished(p.status);
                    p.status = c.status;
                    p.category = c.category;
                    p.tags = tags;
                    let now = unfinished(c.status);
                    if was != now {
                        let (code, at) = (z_order(p.world), p.created_at);
                        inner.grid.restage(code, at, now);
                    }
                    if relaying {
                        inner.touched.push(i);
                    }
                }
                None => {
                    let i = inner.points.len() as u32;
                    let world = world_of(c.lon, c.lat);
                    inner.points.push(ReportPoint {
                        id: c.id,
                        lon: c.lon,
                        lat: c.lat,
                        world,
                        category: c.category,
                        status: c.status,
                        created_at: c.created_at,
                        tags,
                    });
                    inner.by_id.insert(c.id, i);
                    inner.tail.insert(GeomWithData::new([c.lon, c.lat], i));
                    inner
                        .grid
                        .add(z_order(world), c.created_at, unfinished(c.status));
                }
            }
        }
        inner.tail.size() >= RELAYOUT_MIN.max(inner.codes.len() / 4)
    }

    /// A copy of the points for a background layout (the read lock only: tiles go on).
    fn snapshot(&self) -> Snapshot {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        Snapshot {
            generation: inner.generation,
            points: inner.points.clone(),
        }
    }

    /// Swaps a background layout in: the points changed or added since its snapshot are
    /// carried over, so nothing applied meanwhile is lost.
    fn finish(&self, mut layout: Layout) {
        let old = {
            let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
            self.relaying.store(false, Ordering::SeqCst);
            if inner.generation != layout.generation {
                return;
            }
            let n = layout.new_index.len();
            for &i in &inner.touched {
                if (i as usize) < n {
                    layout.points[layout.new_index[i as usize] as usize] = inner.points[i as usize];
                }
            }
            // Points added since keep their indices (the first `n` are the snapshot's).
            let added = &inner.points[n..];
            layout.points.extend_from_slice(added);
            let mut tail = Vec::with_capacity(added.len());
            for (k, p) in added.iter().enumerate() {
                layout.by_id.insert(p.id, (n + k) as u32);
                tail.push(GeomWithData::new([p.lon, p.lat], (n + k) as u32));
            }
            inner.tail = RTree::bulk_load(tail);
            inner.codes = layout.codes;
            inner.touched.clear();
            let by_id = std::mem::replace(&mut inner.by_id, layout.by_id);
            (std::mem::replace(&mut inner.points, layout.points), by_id)
        };
        // The old arrays are freed after the lock is let go.
        drop(old);
    }

    /// `[lon, lat]` of each of `ids` (`None` for a report not loaded here), under one read lock.
    pub fn positions(&self, ids: &[i64]) -> Vec<Option<(f64, f64)>> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        ids.iter()
            .map(|id| {
                let p = &inner.points[*inner.by_id.get(id)? as usize];
                Some((p.lon, p.lat))
            })
            .collect()
    }

    /// Bytes the points and their lookups hold on the heap (capacities, not lengths; the hash
    /// maps at their bucket size plus one control byte a bucket).
    pub fn heap_bytes(&self) -> usize {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let map = |cap: usize, entry: usize| cap * (entry + 1);
        inner.points.capacity() * std::mem::size_of::<ReportPoint>()
            + inner.codes.capacity() * 8
            + map(inner.by_id.capacity(), 12)
            + inner.tail.size() * 48
            + inner.tags.keys().map(|k| k.capacity() + 4).sum::<usize>()
            + map(inner.tags.capacity(), 28)
            + inner.sets.iter().map(|s| s.len() * 8 + 16).sum::<usize>()
            + map(inner.set_ids.capacity(), 20)
            + inner.grid.heap_bytes()
    }

    /// The count grid's entries (every level and time span), for the memory figures.
    pub fn grid_len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .grid
            .len()
    }

    /// Waits until no background layout runs (benchmarks and tests want a settled layout).
    pub fn settle(&self) {
        while self.relaying.load(Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .points
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReportSource for ReportPoints {
    fn count_bins(&self, coord: TileCoord, filter: &ReportFilter) -> Option<Vec<u64>> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner.grid.tile_bins(coord.z, coord.x, coord.y, filter)
    }

    fn count_cells(
        &self,
        level: u32,
        cells: CellBox,
        filter: &ReportFilter,
        f: &mut dyn FnMut(u32, u32, u64),
    ) -> bool {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner.grid.for_each_cell(level, cells, filter, f)
    }

    fn for_each_in(&self, bbox: Bbox, filter: &ReportFilter, f: &mut dyn FnMut(&ReportPoint)) {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let scope = match &filter.scope {
            None => None,
            // A tag nobody carries: nothing is visible.
            Some(t) => match inner.tags.get(t) {
                Some(&n) => Some(n),
                None => return,
            },
        };
        inner.for_each_index_in(&bbox, &mut |i| {
            let p = &inner.points[i];
            if scope.is_none_or(|n| inner.sets[p.tags as usize].binary_search(&n).is_ok())
                && filter.accepts(p)
            {
                f(p);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::count_grid::MAX_LEVEL as MAX_BIN_LEVEL;
    use super::super::TileSet;
    use super::*;
    use crate::report::service::ChangeWhat;

    fn change(id: i64, lon: f64, lat: f64) -> ReportChange {
        ReportChange {
            id,
            what: ChangeWhat::Created,
            lon,
            lat,
            category: Category::ALL[id as usize % Category::ALL.len()],
            status: Status::Reported,
            created_at: id,
            zones: Vec::new(),
            owners: Vec::new(),
        }
    }

    fn found(points: &ReportPoints, bbox: Bbox) -> Vec<i64> {
        let mut ids = Vec::new();
        points.for_each_in(bbox, &ReportFilter::default(), &mut |p| ids.push(p.id));
        ids.sort_unstable();
        ids
    }

    #[test]
    fn boxes_find_exactly_the_points_inside_them_before_and_after_a_relayout() {
        // A seeded spread over Baishan and a few far places, boxes of every size.
        let mut seed = 16u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let all: Vec<(i64, f64, f64)> = (1..=RELAYOUT_MIN as i64 + 20_000)
            .map(|id| match id % 50 {
                0 => (id, -170.0 + 340.0 * next(), -80.0 + 160.0 * next()),
                _ => (id, 126.2 + 0.5 * next(), 41.8 + 0.3 * next()),
            })
            .collect();
        let boxes = [
            Bbox::new(126.40, 41.92, 126.43, 41.94),
            Bbox::new(126.4, 41.9, 126.405, 41.904),
            Bbox::new(126.0, 41.0, 127.0, 43.0),
            Bbox::WORLD,
            Bbox::new(-10.0, -5.0, 10.0, 5.0),
        ];
        let brute = |upto: usize, b: &Bbox| {
            let mut ids: Vec<i64> = all[..upto]
                .iter()
                .filter(|(_, lon, lat)| b.contains(*lon, *lat))
                .map(|p| p.0)
                .collect();
            ids.sort_unstable();
            ids
        };
        let points = Arc::new(ReportPoints::default());
        // 1 000 laid out, then appended ones in the tail, then enough for a relayout.
        let changes: Vec<ReportChange> = all.iter().map(|p| change(p.0, p.1, p.2)).collect();
        points.apply(&changes[..1_000]);
        points.compact();
        points.apply(&changes[1_000..3_000]);
        assert!(points.inner.read().unwrap().tail.size() == 2_000);
        for b in &boxes {
            assert_eq!(found(&points, *b), brute(3_000, b), "{b:?}");
        }
        points.apply(&changes[3_000..]);
        points.settle();
        assert!(points.inner.read().unwrap().tail.size() < RELAYOUT_MIN);
        for b in &boxes {
            let want = brute(all.len(), b);
            assert!(!want.is_empty(), "{b:?}");
            assert_eq!(found(&points, *b), want, "{b:?}");
        }
        // A change to a laid-out point is seen where it lies.
        let mut moved = change(5, 0.0, 0.0);
        moved.status = Status::Closed;
        points.apply(&[moved]);
        let closed = ReportFilter {
            statuses: vec![Status::Closed],
            ..Default::default()
        };
        let mut ids = Vec::new();
        points.for_each_in(Bbox::WORLD, &closed, &mut |p| ids.push(p.id));
        assert_eq!(ids, vec![5]);
    }

    /// A source with the same points and no kept counts: tiles count the reports themselves.
    struct Counting(Arc<ReportPoints>);

    impl ReportSource for Counting {
        fn for_each_in(&self, bbox: Bbox, f: &ReportFilter, out: &mut dyn FnMut(&ReportPoint)) {
            self.0.for_each_in(bbox, f, out)
        }
    }

    #[test]
    fn kept_counts_equal_counting_the_reports_of_every_tile_and_window() {
        const DAY: i64 = crate::time::DAY_MS;
        let offset = 8 * 3_600_000;
        // City midnights, 2026-12-01 and around it.
        let today = (1_796_054_400_000 + offset) / DAY * DAY - offset;
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut made = 0i64;
        let mut batch = |n: usize, next: &mut dyn FnMut() -> f64| -> Vec<ReportChange> {
            (0..n)
                .map(|k| {
                    made += 1;
                    let (lon, lat) = match k % 4 {
                        // Dense downtown, the wider district, and exactly on bin corners of z14.
                        0 | 1 => (126.41 + 0.03 * next(), 41.93 + 0.02 * next()),
                        2 => (126.2 + 0.5 * next(), 41.8 + 0.3 * next()),
                        _ => {
                            let cells = f64::from(1u32 << MAX_BIN_LEVEL);
                            let (x, y) = xuncha_tiles::lonlat_to_world(126.42, 41.94);
                            let (cx, cy) = ((x * cells).floor(), (y * cells).floor());
                            xuncha_tiles::world_to_lonlat(
                                (cx + (next() * 8.0).floor()) / cells,
                                (cy + (next() * 8.0).floor()) / cells,
                            )
                        }
                    };
                    let mut c = change(made, lon, lat);
                    c.status = Status::ALL[k % Status::ALL.len()];
                    // Two years back, some exactly at midnight, a few later today.
                    c.created_at = today - (next() * 730.0 * DAY as f64) as i64 + DAY / 2;
                    if k % 9 == 0 {
                        c.created_at = c.created_at / DAY * DAY - offset;
                    }
                    c
                })
                .collect()
        };
        let points = Arc::new(ReportPoints::new(offset));
        let plain = Counting(points.clone());
        let mut set = TileSet::new(super::super::Basemap::default());
        set.reports = Some(points.clone());
        let mut counting = TileSet::new(super::super::Basemap::default());
        counting.reports = Some(Arc::new(plain));
        let (index, layers) = (
            crate::index::ZoneIndex::default(),
            super::super::Layers {
                zones: false,
                routes: false,
                reports: true,
                basemap: false,
                hotspots: false,
            },
        );
        let windows = [
            (None, None),
            (Some(today - 90 * DAY), None),
            (Some(today - 365 * DAY), Some(today - 30 * DAY)),
            (Some(today - 3 * DAY), Some(today - 2 * DAY)),
            (None, Some(today - 600 * DAY)),
            (Some(today + 10 * DAY), None),
        ];
        // Each window with every status, and with the unfinished ones (the office's default).
        let open: Vec<Status> = Status::ALL
            .into_iter()
            .filter(|s| super::super::count_grid::unfinished(*s))
            .collect();
        let filters: Vec<ReportFilter> = windows
            .iter()
            .flat_map(|&(since, until)| {
                [Vec::new(), open.clone()].map(|statuses| ReportFilter {
                    since,
                    until,
                    statuses,
                    ..Default::default()
                })
            })
            .collect();
        let check = |what: &str| {
            let mut answered = 0;
            for z in 6u8..=15 {
                let centre = TileCoord::containing(126.42, 41.94, z).expect("tile");
                let around = [(0i64, 0i64), (1, 0), (0, 1), (-1, -1), (3, 2)];
                for (dx, dy) in around {
                    let t = TileCoord::new(
                        z,
                        (i64::from(centre.x) + dx) as u32,
                        (i64::from(centre.y) + dy) as u32,
                    )
                    .expect("tile");
                    for f in &filters {
                        let f = f.clone();
                        let kept = points.count_bins(t, &f);
                        assert_eq!(kept.is_some(), z <= 14, "{what} {t:?}");
                        if let Some(kept) = kept {
                            let mut world = Vec::new();
                            let b = t.bounds_lonlat();
                            let exact = Bbox::new(b.min().x, b.min().y, b.max().x, b.max().y);
                            points.for_each_in(exact, &f, &mut |p| {
                                world.push(geo::Point::new(p.world[0], p.world[1]))
                            });
                            let want = xuncha_tiles::aggregate_world_points(t, world, 16).unwrap();
                            let got = xuncha_tiles::bins_of_counts(t, &kept, 16).unwrap();
                            assert_eq!(got, want, "{what} {t:?} {f:?}");
                            answered += usize::from(!want.is_empty());
                        }
                        assert_eq!(
                            set.render(&index, t, &f, layers),
                            counting.render(&index, t, &f, layers),
                            "{what} {t:?} {f:?}"
                        );
                    }
                }
            }
            assert!(answered > 100, "{what}: {answered} non-empty answers");
            // Heatmap tiles: from kept counts wherever their cells are a kept level, the same
            // pixels as counting each report in its cell.
            let counting = Counting(points.clone());
            let (mut kept_heat, mut coloured) = (0, 0);
            for (z, radius_m) in [
                (3u8, 60.0),
                (6, 60.0),
                (9, 60.0),
                (10, 60.0),
                (11, 60.0),
                (10, 1000.0),
                (13, 1000.0),
            ] {
                let style = crate::analytics::heatmap::HeatStyle {
                    radius_m,
                    scale_per_ha: 2.0,
                };
                let centre = TileCoord::containing(126.42, 41.94, z).expect("tile");
                let t = TileCoord::new(z, centre.x + 1, centre.y).expect("tile");
                for tile in [centre, t] {
                    for f in &filters {
                        let d = crate::analytics::heatmap::Density::new(tile, radius_m);
                        let answers = d.binned_level().is_some_and(|level| {
                            points.count_cells(level, d.cells(), f, &mut |_, _, _| ())
                        });
                        assert_eq!(
                            answers,
                            z <= 10 || radius_m > 100.0,
                            "{what} {tile:?} r {radius_m}"
                        );
                        kept_heat += usize::from(answers);
                        let heat = |src: &dyn ReportSource| {
                            crate::analytics::heatmap::render(src, tile, f, &style).into_raw()
                        };
                        let got = heat(points.as_ref());
                        coloured += usize::from(got.iter().any(|v| *v != 0));
                        assert!(got == heat(&counting), "{what} {tile:?} r {radius_m} {f:?}");
                    }
                }
            }
            assert!(
                kept_heat >= 40 && coloured >= 40,
                "{what}: {kept_heat}, {coloured}"
            );
        };
        points.apply(&batch(3_000, &mut next));
        check("appended");
        points.compact();
        check("laid out");
        // Enough for a background layout, and more while it runs.
        points.apply(&batch(RELAYOUT_MIN, &mut next));
        points.apply(&batch(2_000, &mut next));
        points.settle();
        check("after a background layout");
        // Reports closed, and finished ones reopened: they leave and rejoin the unfinished.
        let restaged: Vec<ReportChange> = (1..made)
            .step_by(3)
            .map(|id| {
                let mut c = change(id, 0.0, 0.0);
                c.status = if id % 2 == 0 {
                    Status::Closed
                } else {
                    Status::Reopened
                };
                c
            })
            .collect();
        points.apply(&restaged);
        check("after status changes");

        // A window that is not whole city days, or any other filter: the tile counts.
        let t = TileCoord::containing(126.42, 41.94, 10).expect("tile");
        let off_midnight = ReportFilter {
            since: Some(today - 90 * DAY + 1),
            ..Default::default()
        };
        assert!(points.count_bins(t, &off_midnight).is_none());
        let scoped = ReportFilter {
            scope: Some("z:a".into()),
            ..Default::default()
        };
        assert!(points.count_bins(t, &scoped).is_none());
        let closed = ReportFilter {
            statuses: vec![Status::Closed],
            ..Default::default()
        };
        assert!(points.count_bins(t, &closed).is_none());
    }

    fn with_status(ids: &[i64], status: Status, points: &ReportPoints) -> Vec<i64> {
        let f = ReportFilter {
            statuses: vec![status],
            ..Default::default()
        };
        let mut out = Vec::new();
        points.for_each_in(Bbox::WORLD, &f, &mut |p| out.push(p.id));
        out.sort_unstable();
        assert!(out.iter().all(|id| ids.contains(id)), "{out:?}");
        out
    }

    #[test]
    fn a_background_layout_keeps_every_change_made_while_it_sorted() {
        let spot = |id: i64| {
            let k = id as f64;
            (
                126.3 + (k * 0.618).fract() * 0.3,
                41.85 + (k * 0.414).fract() * 0.2,
            )
        };
        let points = Arc::new(ReportPoints::default());
        let first: Vec<ReportChange> = (1..=60_000)
            .map(|id| {
                let (lon, lat) = spot(id);
                change(id, lon, lat)
            })
            .collect();
        points.apply(&first);
        // That many appended start a background layout of their own: let it end first.
        points.settle();
        points.compact();
        let tail: Vec<ReportChange> = (60_001..=65_000)
            .map(|id| {
                let (lon, lat) = spot(id);
                change(id, lon, lat)
            })
            .collect();
        points.apply(&tail);

        // A layout copies the points; changes come in while it sorts.
        points.relaying.store(true, Ordering::SeqCst);
        let snapshot = points.snapshot();
        let mut laid_out = change(5, 0.0, 0.0);
        laid_out.status = Status::Closed;
        let mut appended = change(60_002, 0.0, 0.0);
        appended.status = Status::Resolved;
        let late: Vec<ReportChange> = (65_001..=65_100)
            .map(|id| {
                let (lon, lat) = spot(id);
                change(id, lon, lat)
            })
            .collect();
        points.apply(&[laid_out, appended]);
        points.apply(&late);
        points.finish(sort(snapshot));
        assert!(!points.relaying.load(Ordering::SeqCst));
        {
            let inner = points.inner.read().unwrap();
            assert_eq!(inner.codes.len(), 65_000);
            assert_eq!(
                inner.tail.size(),
                100,
                "only the reports that came meanwhile"
            );
            assert!(inner.codes.windows(2).all(|w| w[0] <= w[1]));
        }
        assert_eq!(with_status(&[5], Status::Closed, &points), vec![5]);
        assert_eq!(
            with_status(&[60_002], Status::Resolved, &points),
            vec![60_002]
        );
        let b = Bbox::new(126.35, 41.9, 126.45, 41.98);
        let want: Vec<i64> = (1..=65_100)
            .filter(|&id| {
                let (lon, lat) = spot(id);
                b.contains(lon, lat)
            })
            .collect();
        assert!(want.len() > 1_000);
        assert_eq!(found(&points, b), want);
        // Ids find their new places: later changes land on the right points.
        let mut again = change(5, 0.0, 0.0);
        again.status = Status::Reopened;
        let mut new_one = change(65_050, 0.0, 0.0);
        new_one.status = Status::Reopened;
        points.apply(&[again, new_one]);
        assert_eq!(
            with_status(&[5, 65_050], Status::Reopened, &points),
            vec![5, 65_050]
        );

        // A layout begun before a reload or a synchronous layout is dropped, not swapped in.
        points.relaying.store(true, Ordering::SeqCst);
        let stale = points.snapshot();
        points.compact();
        points.finish(sort(stale));
        assert!(!points.relaying.load(Ordering::SeqCst));
        assert_eq!(points.inner.read().unwrap().tail.size(), 0);
        assert_eq!(found(&points, b), want);
        assert_eq!(
            with_status(&[5, 65_050], Status::Reopened, &points),
            vec![5, 65_050]
        );
    }
}
