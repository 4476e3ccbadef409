//! `ZoneRegistry`: the zone store and the live `ZoneIndex` kept in step.
//!
//! Every edit runs under one async mutex: the store transaction commits first, then a new index
//! snapshot (reusing every unchanged prepared zone and the base R-tree; see [`ZoneIndex`]) is
//! swapped in with `ArcSwap`. Readers load the current snapshot without locking and never see a
//! half-applied edit.
//!
//! Each edit adds to the index's overlay; once the overlay holds [`MERGE_AT`] zones, a background
//! thread compacts a snapshot into a new base while edits go on, then replays the edits made
//! meanwhile onto it and swaps it in. Edits therefore cost the same at a thousand zones or a
//! million.

use crate::audit::{self, Actor};
use crate::crs::Bbox;
use crate::index::{IndexedZone, ZoneIndex};
use crate::store::changes::ChangeKind;
use crate::store::{self, Store, StoreError};
use crate::zone::{FeatureError, Zone, ZoneDraft, ZoneGeometry, ZoneKind};
use arc_swap::ArcSwap;
use geo::{BooleanOps, GeodesicArea, Intersects};
use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;

/// Errors of zone operations.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{} feature(s) were rejected", .0.len())]
    Invalid(Vec<FeatureError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An existing zone of the same kind that a new or edited zone overlaps.
#[derive(Debug, Clone, Serialize)]
pub struct Overlap {
    /// The submitted feature's index (or the edited zone's id).
    pub zone: String,
    pub overlaps: String,
    pub overlaps_name: String,
    /// Overlap area in square metres on the WGS84 ellipsoid.
    pub area_m2: f64,
    /// The shared area as a GeoJSON (Multi)Polygon, `[lon, lat]`.
    pub geometry: serde_json::Value,
}

/// A sliver narrower than the gap width between a new or edited zone and an existing zone of
/// the same kind (see [`crate::zone::slivers_between`]).
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    /// The submitted feature's index (or the edited zone's id).
    pub zone: String,
    /// The neighbour on the other side of the gap.
    pub neighbour: String,
    pub neighbour_name: String,
    /// Gap area in square metres on the WGS84 ellipsoid.
    pub area_m2: f64,
    /// Mean width of the gap, metres.
    pub width_m: f64,
    /// The gap as a GeoJSON Polygon, `[lon, lat]`.
    pub geometry: serde_json::Value,
}

/// Something that wants to know which areas changed (e.g. the tile cache).
pub type ChangeListener = Box<dyn Fn(&[Bbox]) + Send + Sync>;

/// What a bulk import does with this process's zone index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexing {
    /// The index follows every stored batch (a server, the demo, tests).
    Live,
    /// Only the store is written: for `xuncha import`, whose process ends after it (a server
    /// builds its index when it starts, or follows the change feed on a shared database). A
    /// million zones then cost the store's writes, not a growing index and its compactions.
    StoreOnly,
}

/// The batch before this one of the same import, written on another connection at the same
/// time (see [`ZoneRegistry::import`]).
pub struct EarlierBatch {
    /// The ids it stores: this batch may name them as parents, and may not store them again.
    pub ids: Arc<HashSet<String>>,
    /// Sent to once it has committed; dropped unsent when it failed.
    pub committed: tokio::sync::oneshot::Receiver<()>,
}

fn earlier_failed() -> StoreError {
    StoreError::Conflict("an earlier batch of this import was not stored".into())
}

/// Overlay size at which the registry starts compacting the index in the background.
pub const MERGE_AT: usize = 4096;

/// One applied change: the zones upserted and the ids removed.
type Change = (Vec<Arc<IndexedZone>>, Vec<String>);

/// The live index: the current snapshot, swapped on every change, and the background
/// compaction that keeps its overlay small. Cheap to share (`Arc`).
pub struct LiveIndex {
    index: ArcSwap<ZoneIndex>,
    /// `Some` while a compaction runs: the changes applied since its snapshot, to replay.
    merging: std::sync::Mutex<Option<Vec<Change>>>,
    /// [`MERGE_AT`] but for tests.
    merge_at: usize,
}

impl LiveIndex {
    pub fn new(index: ZoneIndex) -> Arc<Self> {
        Arc::new(LiveIndex {
            index: ArcSwap::from_pointee(index),
            merging: std::sync::Mutex::new(None),
            merge_at: MERGE_AT,
        })
    }

    /// The current snapshot.
    pub fn load(&self) -> Arc<ZoneIndex> {
        self.index.load_full()
    }

    /// Whether a background compaction is running.
    pub fn compacting(&self) -> bool {
        self.merging
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Applies a change and swaps the new snapshot in; starts a compaction when the overlay is
    /// large enough and none is running.
    pub fn apply(self: &Arc<Self>, upserts: Vec<Arc<IndexedZone>>, removed: Vec<String>) {
        let mut merging = self.merging.lock().unwrap_or_else(|e| e.into_inner());
        let next = Arc::new(self.index.load().with_changes(upserts.clone(), &removed));
        if let Some(log) = merging.as_mut() {
            log.push((upserts, removed));
        }
        self.index.store(next.clone());
        if merging.is_none() && next.overlay_len() >= self.merge_at {
            *merging = Some(Vec::new());
            let live = self.clone();
            let spawned = crate::background::spawn("zone-index-merge", move || live.compact(next));
            if spawned.is_err() {
                // No thread: the overlay keeps growing until `with_changes` compacts it inline.
                *merging = None;
            }
        }
    }

    fn compact(&self, snapshot: Arc<ZoneIndex>) {
        let started = std::time::Instant::now();
        let mut merged = snapshot.compacted();
        drop(snapshot);
        // Catch up with the edits made meanwhile outside the lock, then take the last few (and
        // swap) under it, so edits never wait for more than a short replay.
        let mut replayed = 0;
        loop {
            let mut merging = self.merging.lock().unwrap_or_else(|e| e.into_inner());
            let log = std::mem::take(merging.as_mut().unwrap_or(&mut Vec::new()));
            replayed += log.len();
            if log.len() <= 64 {
                merged = replay(merged, log);
                self.index.store(Arc::new(merged));
                *merging = None;
                break;
            }
            drop(merging);
            merged = replay(merged, log);
        }
        tracing::debug!(
            replayed,
            ms = started.elapsed().as_millis() as u64,
            "zone index compacted"
        );
    }
}

/// Applies logged changes in one step: the last state of each zone wins.
fn replay(index: ZoneIndex, log: Vec<Change>) -> ZoneIndex {
    if log.is_empty() {
        return index;
    }
    let mut last: std::collections::HashMap<String, Arc<IndexedZone>> = Default::default();
    let mut removed: Vec<String> = Vec::new();
    for (upserts, gone) in log {
        for u in upserts {
            last.insert(u.zone.id.clone(), u);
        }
        for id in gone {
            last.remove(&id);
            removed.push(id);
        }
    }
    // A zone removed and later upserted again is in both: `with_changes` keeps the upsert.
    index.with_changes(last.into_values().collect(), &removed)
}

pub struct ZoneRegistry {
    store: Store,
    /// The webhooks told of every zone change (set once the application has them).
    hooks: std::sync::OnceLock<Arc<crate::webhooks::Hooks>>,
    live: Arc<LiveIndex>,
    edit: tokio::sync::Mutex<()>,
    listeners: std::sync::RwLock<Vec<ChangeListener>>,
}

impl ZoneRegistry {
    /// Loads every live zone from the store and builds the index.
    pub fn load(store: Store) -> Result<Self, StoreError> {
        let zones = store.read_sync(|c| store::zones::list_live(c, None))?;
        Ok(ZoneRegistry {
            store,
            hooks: Default::default(),
            live: LiveIndex::new(ZoneIndex::from_zones(zones)),
            edit: tokio::sync::Mutex::new(()),
            listeners: Default::default(),
        })
    }

    /// The current index snapshot.
    pub fn index(&self) -> Arc<ZoneIndex> {
        self.live.index.load_full()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Zone `id` as stored: the live version, or the last one of a retired zone.
    pub async fn stored(&self, id: &str) -> Result<Option<Zone>, StoreError> {
        let id = id.to_string();
        self.store.read(move |c| store::zones::get(c, &id)).await
    }

    /// The retired zones (of `kind`, or all).
    pub async fn retired(&self, kind: Option<ZoneKind>) -> Result<Vec<Zone>, StoreError> {
        self.store
            .read(move |c| store::zones::list_retired(c, kind))
            .await
    }

    /// Every version of zone `id`, oldest first; empty when no such zone was ever stored.
    pub async fn history(&self, id: &str) -> Result<Vec<store::zones::HistoryEntry>, StoreError> {
        let id = id.to_string();
        self.store
            .read(move |c| store::zones::history_of(c, &id))
            .await
    }

    /// Registers a callback told the bounding boxes of every committed change.
    pub fn on_change(&self, f: ChangeListener) {
        self.listeners
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(f);
    }

    fn notify(&self, boxes: &[Bbox]) {
        for l in self
            .listeners
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            l(boxes);
        }
    }

    /// Existing live zones of the same kind that `geometry` overlaps, with the area in m².
    pub fn overlaps(&self, label: &str, skip_id: Option<&str>, d: &ZoneDraft) -> Vec<Overlap> {
        let ZoneGeometry::Area(mp) = &d.geometry else {
            return Vec::new();
        };
        let Some(bbox) = d.geometry.bbox() else {
            return Vec::new();
        };
        let index = self.index();
        let mut out = Vec::new();
        for e in index.in_bbox(bbox) {
            if e.zone.kind != d.kind || Some(e.zone.id.as_str()) == skip_id {
                continue;
            }
            let ZoneGeometry::Area(other) = &e.zone.geometry else {
                continue;
            };
            if !mp.intersects(other) {
                continue;
            }
            let shared = mp.intersection(other);
            let area = shared.geodesic_area_unsigned();
            if area > 0.01 {
                out.push(Overlap {
                    zone: label.into(),
                    overlaps: e.zone.id.clone(),
                    overlaps_name: e.zone.name.clone(),
                    area_m2: (area * 10.0).round() / 10.0,
                    geometry: crate::zone::geometry_to_json(&ZoneGeometry::Area(shared)),
                });
            }
        }
        out
    }

    /// Slivers narrower than `width_m` metres between `d` and existing live zones of the same
    /// kind, with their area in m². CPU work: call it off the async workers.
    pub fn gaps(
        &self,
        label: &str,
        skip_id: Option<&str>,
        d: &ZoneDraft,
        width_m: f64,
    ) -> Vec<Gap> {
        let ZoneGeometry::Area(mp) = &d.geometry else {
            return Vec::new();
        };
        let Some(bbox) = d.geometry.bbox() else {
            return Vec::new();
        };
        let local = crate::crs::geodesy::LocalMetres::new(bbox.west, bbox.south);
        let (dlon, dlat) = local.degrees_for(width_m);
        let near = Bbox::new(
            bbox.west - dlon,
            bbox.south - dlat,
            bbox.east + dlon,
            bbox.north + dlat,
        );
        let index = self.index();
        let mut out = Vec::new();
        for e in index.in_bbox(near) {
            if e.zone.kind != d.kind || Some(e.zone.id.as_str()) == skip_id {
                continue;
            }
            let ZoneGeometry::Area(other) = &e.zone.geometry else {
                continue;
            };
            for s in crate::zone::slivers_between(mp, other, width_m) {
                let area = s.polygon.geodesic_area_unsigned();
                out.push(Gap {
                    zone: label.into(),
                    neighbour: e.zone.id.clone(),
                    neighbour_name: e.zone.name.clone(),
                    area_m2: (area * 100.0).round() / 100.0,
                    width_m: (s.width_m * 100.0).round() / 100.0,
                    geometry: crate::zone::geometry_to_json(&ZoneGeometry::Area(
                        geo::MultiPolygon(vec![s.polygon]),
                    )),
                });
            }
        }
        out
    }

    /// Sends `zone.changed` to the webhooks from now on.
    pub fn send_events_to(&self, hooks: Arc<crate::webhooks::Hooks>) {
        let _ = self.hooks.set(hooks);
    }

    /// Stores new zones all together (or none) and indexes them; reports overlaps with
    /// existing zones of the same kind.
    pub async fn create(
        &self,
        drafts: Vec<ZoneDraft>,
        actor: &Actor,
    ) -> Result<(Vec<Zone>, Vec<Overlap>), RegistryError> {
        self.create_inner(drafts, actor, true, Indexing::Live, None)
            .await
    }

    /// What [`ZoneRegistry::create`] would answer for `drafts` (each with its position in the
    /// submission), storing nothing: the store's refusals (ids taken, unknown parents) as
    /// feature errors, and the overlaps computed exactly as a create computes them.
    pub async fn dry_run(
        &self,
        drafts: &[(usize, ZoneDraft)],
    ) -> Result<(Vec<FeatureError>, Vec<Overlap>), RegistryError> {
        let mut overlaps = Vec::new();
        for (i, d) in drafts {
            let label = d.id.clone().unwrap_or_else(|| i.to_string());
            overlaps.extend(self.overlaps(&label, None, d));
        }
        let keys: Vec<(usize, Option<String>, Option<String>)> = drafts
            .iter()
            .map(|(i, d)| (*i, d.id.clone(), d.parent.clone()))
            .collect();
        let refused = self
            .store
            .read(move |c| store::zones::check_new(c, &keys))
            .await?;
        let errors = refused
            .into_iter()
            .map(|(i, code, reason)| FeatureError {
                index: i,
                id: drafts
                    .iter()
                    .find(|d| d.0 == i)
                    .and_then(|d| d.1.id.clone()),
                reason,
                code,
                location: None,
            })
            .collect();
        Ok((errors, overlaps))
    }

    /// [`ZoneRegistry::create`] for bulk imports: no overlap report, and one audit row per call
    /// (`zone.import`, with the count and the ids) instead of one per zone.
    ///
    /// With `earlier`, this batch commits only after that one has, and fails if it failed. On
    /// PostgreSQL with [`Indexing::StoreOnly`] the two are written at the same time, each on its
    /// own connection; otherwise this one starts when that one has committed.
    pub async fn import(
        &self,
        drafts: Vec<ZoneDraft>,
        actor: &Actor,
        indexing: Indexing,
        earlier: Option<EarlierBatch>,
    ) -> Result<Vec<Zone>, RegistryError> {
        Ok(self
            .create_inner(drafts, actor, false, indexing, earlier)
            .await?
            .0)
    }

    /// Whether [`ZoneRegistry::import`] writes a batch at the same time as the one before:
    /// only where each transaction has a connection of its own, and only when nothing else
    /// orders the commits. Otherwise the batch before is waited for first.
    pub fn side_by_side(&self, indexing: Indexing) -> bool {
        indexing == Indexing::StoreOnly && self.store.backend() == store::Backend::Postgres
    }

    async fn create_inner(
        &self,
        drafts: Vec<ZoneDraft>,
        actor: &Actor,
        with_overlaps: bool,
        indexing: Indexing,
        earlier: Option<EarlierBatch>,
    ) -> Result<(Vec<Zone>, Vec<Overlap>), RegistryError> {
        // The lock orders the store's commits with the index's updates; a write that leaves the
        // index alone needs neither, so batches of one import can be written side by side.
        let _guard = match indexing {
            Indexing::Live => Some(self.edit.lock().await),
            Indexing::StoreOnly => None,
        };
        let (earlier_ids, mut committed) = match earlier {
            Some(e) => (e.ids, Some(e.committed)),
            None => (Arc::default(), None),
        };
        if !self.side_by_side(indexing) {
            if let Some(rx) = committed.take() {
                rx.await.map_err(|_| earlier_failed())?;
            }
        }
        let mut overlaps = Vec::new();
        if with_overlaps {
            for (i, d) in drafts.iter().enumerate() {
                let label = d.id.clone().unwrap_or_else(|| i.to_string());
                overlaps.extend(self.overlaps(&label, None, d));
            }
        }
        let with_ids: Vec<(String, ZoneDraft)> = drafts
            .into_iter()
            .map(|d| (d.id.clone().unwrap_or_else(new_zone_id), d))
            .collect();
        let actor = actor.clone();
        let now = crate::time::now_ms();
        let origin = self.store.origin().to_string();
        let hooks = self.hooks.get().cloned();
        let zones = self
            .store
            .write(move |tx| {
                let zones =
                    store::zones::insert(tx, &with_ids, &earlier_ids, actor.username(), now)?;
                let w = ZoneWrite {
                    origin: &origin,
                    hooks: hooks.as_ref(),
                    actor: &actor,
                    now,
                };
                w.record_created(tx, &zones, with_overlaps)?;
                if !with_overlaps {
                    let ids: Vec<&str> = zones.iter().map(|z| z.id.as_str()).collect();
                    audit::record(
                        tx,
                        &actor,
                        "zone.import",
                        None,
                        serde_json::json!({"count": zones.len(), "ids": ids}),
                    )?;
                }
                // Commit after the batch before, so that its zones exist (as parents, say) by
                // the time these do, and none of these stays when it failed.
                if let Some(rx) = committed {
                    rx.blocking_recv().map_err(|_| earlier_failed())?;
                }
                Ok(zones)
            })
            .await?;
        if indexing == Indexing::Live {
            self.apply(&zones, &[]);
        }
        Ok((zones, overlaps))
    }

    /// Replaces a zone's content if it is still at `expected` version.
    pub async fn update(
        &self,
        id: &str,
        expected: i64,
        draft: ZoneDraft,
        actor: &Actor,
    ) -> Result<(Zone, Vec<Overlap>), RegistryError> {
        let _guard = self.edit.lock().await;
        let overlaps = self.overlaps(id, Some(id), &draft);
        let index = self.index();
        let old = index.get(id);
        let before = old.as_ref().and_then(|e| e.zone.geometry.bbox());
        let old_summary = old.map(|e| zone_summary(&e.zone));
        let (id2, actor, now) = (id.to_string(), actor.clone(), crate::time::now_ms());
        let origin = self.store.origin().to_string();
        let hooks = self.hooks.get().cloned();
        let zone = self
            .store
            .write(move |tx| {
                let z = store::zones::update(tx, &id2, expected, &draft, actor.username(), now)?;
                let w = ZoneWrite {
                    origin: &origin,
                    hooks: hooks.as_ref(),
                    actor: &actor,
                    now,
                };
                let data = serde_json::json!({"before": old_summary, "after": zone_summary(&z)});
                w.record(tx, &z, "update", Some(data))?;
                Ok(z)
            })
            .await?;
        self.apply(std::slice::from_ref(&zone), before.as_slice());
        Ok((zone, overlaps))
    }

    /// Retires a zone: it leaves the index and the tiles but stays in the store for history.
    pub async fn retire(
        &self,
        id: &str,
        expected: Option<i64>,
        actor: &Actor,
    ) -> Result<Zone, RegistryError> {
        let _guard = self.edit.lock().await;
        let (id2, actor, now) = (id.to_string(), actor.clone(), crate::time::now_ms());
        let origin = self.store.origin().to_string();
        let hooks = self.hooks.get().cloned();
        let zone = self
            .store
            .write(move |tx| {
                let z = store::zones::retire(tx, &id2, expected, actor.username(), now)?;
                let w = ZoneWrite {
                    origin: &origin,
                    hooks: hooks.as_ref(),
                    actor: &actor,
                    now,
                };
                w.record(tx, &z, "retire", Some(zone_summary(&z)))?;
                Ok(z)
            })
            .await?;
        self.apply(std::slice::from_ref(&zone), &[]);
        Ok(zone)
    }

    /// Applies zones changed by another server (read back from the shared store): live ones
    /// are upserted, retired ones leave the index. Zones are never deleted, so every id is found.
    pub async fn refresh(&self, ids: Vec<String>) -> Result<(), StoreError> {
        let _guard = self.edit.lock().await;
        let zones = self
            .store
            .read(move |c| {
                let mut out = Vec::new();
                for id in &ids {
                    out.extend(store::zones::get(c, id)?);
                }
                Ok(out)
            })
            .await?;
        let index = self.index();
        let boxes: Vec<Bbox> = zones
            .iter()
            .filter_map(|z| index.get(&z.id).and_then(|e| e.zone.geometry.bbox()))
            .collect();
        self.apply(&zones, &boxes);
        Ok(())
    }

    fn apply(&self, changed: &[Zone], extra_boxes: &[Bbox]) {
        let upserts: Vec<Arc<IndexedZone>> = changed
            .iter()
            .map(|z| Arc::new(IndexedZone::new(Arc::new(z.clone()))))
            .collect();
        let removed: Vec<String> = changed
            .iter()
            .filter(|z| !z.is_live())
            .map(|z| z.id.clone())
            .collect();
        let mut boxes: Vec<Bbox> = upserts.iter().map(|u| Bbox::from(u.envelope)).collect();
        boxes.extend_from_slice(extra_boxes);
        self.live.apply(upserts, removed);
        self.notify(&boxes);
    }
}

/// What the audit log keeps of a zone: enough to tell versions apart, not its geometry.
fn zone_summary(z: &Zone) -> serde_json::Value {
    serde_json::json!({
        "kind": z.kind,
        "name": z.name,
        "owner": z.owner.as_ref().map(|o| &o.name),
        "version": z.version,
    })
}

/// What every zone write leaves in its own transaction: a change-feed row (other servers
/// follow it), the `zone.changed` webhook event (`action`: create, update, retire) and, with
/// `audit`, the audit row `zone.{action}` carrying that data.
struct ZoneWrite<'a> {
    origin: &'a str,
    hooks: Option<&'a Arc<crate::webhooks::Hooks>>,
    actor: &'a Actor,
    now: i64,
}

impl ZoneWrite<'_> {
    /// [`Self::record`] for newly created zones, the change rows written together; an audit
    /// row for each when `audit_each` (else the caller writes one for the batch).
    fn record_created(
        &self,
        tx: &dyn store::Conn,
        zones: &[Zone],
        audit_each: bool,
    ) -> Result<(), StoreError> {
        let ids: Vec<&str> = zones.iter().map(|z| z.id.as_str()).collect();
        store::changes::record_many(tx, self.origin, ChangeKind::Zone, &ids, self.now)?;
        for z in zones {
            if let Some(h) = self.hooks {
                h.enqueue_lazy(tx, "zone.changed", || {
                    crate::webhooks::zone_event(z, "create")
                })?;
            }
            if audit_each {
                audit::record(
                    tx,
                    self.actor,
                    "zone.create",
                    Some(&format!("zone:{}", z.id)),
                    zone_summary(z),
                )?;
            }
        }
        Ok(())
    }

    fn record(
        &self,
        tx: &dyn store::Conn,
        z: &Zone,
        action: &'static str,
        audit: Option<serde_json::Value>,
    ) -> Result<(), StoreError> {
        store::changes::record(tx, self.origin, ChangeKind::Zone, &z.id, self.now)?;
        if let Some(h) = self.hooks {
            h.enqueue_lazy(tx, "zone.changed", || {
                crate::webhooks::zone_event(z, action)
            })?;
        }
        if let Some(data) = audit {
            audit::record(
                tx,
                self.actor,
                &format!("zone.{action}"),
                Some(&format!("zone:{}", z.id)),
                data,
            )?;
        }
        Ok(())
    }
}

/// A new zone id: `z` and 12 hex digits.
pub fn new_zone_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 6];
    rand::thread_rng().fill_bytes(&mut b);
    format!("z{}", hex::encode(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::{Owner, Sector, ZoneKind};
    use geo::{polygon, MultiPolygon};

    fn zone(i: usize, shift: f64, live: bool) -> Arc<IndexedZone> {
        let (x, y) = (
            126.0 + (i % 50) as f64 * 0.001 + shift,
            41.0 + (i / 50) as f64 * 0.001,
        );
        let (x1, y1) = (x + 0.0008, y + 0.0008);
        Arc::new(IndexedZone::new(Arc::new(Zone {
            id: format!("z{i}"),
            kind: ZoneKind::Responsibility,
            name: format!("z{i}"),
            owner: Some(Owner {
                name: "o".into(),
                sector: Sector::School,
                contact: None,
            }),
            parent: None,
            properties: Default::default(),
            geometry: ZoneGeometry::Area(MultiPolygon(vec![polygon![
                (x: x, y: y), (x: x1, y: y), (x: x1, y: y1), (x: x, y: y1), (x: x, y: y)
            ]])),
            version: 1,
            created_at: 0,
            created_by: "t".into(),
            updated_at: 0,
            updated_by: "t".into(),
            retired_at: (!live).then_some(1),
            retired_by: None,
        })))
    }

    #[test]
    fn background_compaction_keeps_every_edit() {
        let live = Arc::new(LiveIndex {
            index: ArcSwap::from_pointee(ZoneIndex::new(
                (0..500).map(|i| zone(i, 0.0, true)).collect(),
            )),
            merging: std::sync::Mutex::new(None),
            merge_at: 16,
        });
        // Moves, retirements and new zones, many while compactions run.
        for i in 0..400 {
            match i % 4 {
                0 | 1 => live.apply(vec![zone(i, 0.0004, true)], vec![]),
                2 => live.apply(vec![zone(i, 0.0, false)], vec![format!("z{i}")]),
                _ => live.apply(vec![zone(1000 + i, 0.0, true)], vec![]),
            }
        }
        let t = std::time::Instant::now();
        while live.merging.lock().unwrap().is_some() {
            assert!(t.elapsed().as_secs() < 30, "compaction never finished");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let idx = live.index.load_full();
        assert_eq!(idx.len(), 500 - 100 + 100);
        for i in 0..400 {
            let z = idx.get(&format!("z{i}"));
            match i % 4 {
                0 | 1 => assert_eq!(z.unwrap().envelope[0], zone(i, 0.0004, true).envelope[0]),
                2 => assert!(z.is_none()),
                _ => {
                    assert!(z.is_some());
                    assert!(idx.get(&format!("z{}", 1000 + i)).is_some());
                }
            }
        }
        // At least one compaction ran, and the overlay is far smaller than the edits made.
        assert!(idx.overlay_len() < 300, "{}", idx.overlay_len());
        let fresh = ZoneIndex::new(idx.iter().cloned().collect());
        for i in 0..500 {
            let (x, y) = (
                126.0004 + (i % 50) as f64 * 0.001,
                41.0004 + (i / 50) as f64 * 0.001,
            );
            let a: Vec<String> = idx
                .match_point(x, y, 0.0)
                .matches
                .iter()
                .map(|m| m.zone.id.clone())
                .collect();
            let b: Vec<String> = fresh
                .match_point(x, y, 0.0)
                .matches
                .iter()
                .map(|m| m.zone.id.clone())
                .collect();
            assert_eq!(a, b);
        }
    }
}
