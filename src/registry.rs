//! `ZoneRegistry`: the zone store and the live `ZoneIndex` kept in step.
//!
//! Every edit runs under one async mutex: the store transaction commits first, then a new index
//! snapshot (reusing every unchanged prepared zone) is swapped in with `ArcSwap`. Readers load the
//! current snapshot without locking and never see a half-applied edit.

use crate::index::{IndexedZone, ZoneIndex};
use crate::store::changes::ChangeKind;
use crate::store::{self, Store, StoreError};
use crate::zone::{FeatureError, Zone, ZoneDraft, ZoneGeometry};
use arc_swap::ArcSwap;
use geo::{BooleanOps, GeodesicArea, Intersects};
use serde::Serialize;
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
}

/// Something that wants to know which areas changed (e.g. the tile cache).
pub type ChangeListener = Box<dyn Fn(&[[f64; 4]]) + Send + Sync>;

pub struct ZoneRegistry {
    store: Store,
    index: ArcSwap<ZoneIndex>,
    edit: tokio::sync::Mutex<()>,
    listeners: std::sync::RwLock<Vec<ChangeListener>>,
}

impl ZoneRegistry {
    /// Loads every live zone from the store and builds the index.
    pub fn load(store: Store) -> Result<Self, StoreError> {
        let zones = store.read_sync(|c| store::zones::list_live(c, None))?;
        Ok(ZoneRegistry {
            store,
            index: ArcSwap::from_pointee(ZoneIndex::from_zones(zones)),
            edit: tokio::sync::Mutex::new(()),
            listeners: Default::default(),
        })
    }

    /// The current index snapshot.
    pub fn index(&self) -> Arc<ZoneIndex> {
        self.index.load_full()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Registers a callback told the bounding boxes of every committed change.
    pub fn on_change(&self, f: ChangeListener) {
        self.listeners
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(f);
    }

    fn notify(&self, boxes: &[[f64; 4]]) {
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
            let area = mp.intersection(other).geodesic_area_unsigned();
            if area > 0.01 {
                out.push(Overlap {
                    zone: label.into(),
                    overlaps: e.zone.id.clone(),
                    overlaps_name: e.zone.name.clone(),
                    area_m2: (area * 10.0).round() / 10.0,
                });
            }
        }
        out
    }

    /// Stores new zones all together (or none) and indexes them; reports overlaps with
    /// existing zones of the same kind.
    pub async fn create(
        &self,
        drafts: Vec<ZoneDraft>,
        user: &str,
    ) -> Result<(Vec<Zone>, Vec<Overlap>), RegistryError> {
        self.create_inner(drafts, user, true).await
    }

    /// [`ZoneRegistry::create`] without the overlap report (bulk imports).
    pub async fn create_unchecked_overlaps(
        &self,
        drafts: Vec<ZoneDraft>,
        user: &str,
    ) -> Result<(Vec<Zone>, Vec<Overlap>), RegistryError> {
        self.create_inner(drafts, user, false).await
    }

    async fn create_inner(
        &self,
        drafts: Vec<ZoneDraft>,
        user: &str,
        with_overlaps: bool,
    ) -> Result<(Vec<Zone>, Vec<Overlap>), RegistryError> {
        let _guard = self.edit.lock().await;
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
        let user = user.to_string();
        let now = crate::time::now_ms();
        let origin = self.store.origin().to_string();
        let zones = self
            .store
            .write(move |tx| {
                let zones = store::zones::insert(tx, &with_ids, &user, now)?;
                for z in &zones {
                    store::changes::record(tx, &origin, ChangeKind::Zone, &z.id, now)?;
                }
                Ok(zones)
            })
            .await?;
        self.apply(&zones, &[]);
        Ok((zones, overlaps))
    }

    /// Replaces a zone's content if it is still at `expected` version.
    pub async fn update(
        &self,
        id: &str,
        expected: i64,
        draft: ZoneDraft,
        user: &str,
    ) -> Result<(Zone, Vec<Overlap>), RegistryError> {
        let _guard = self.edit.lock().await;
        let overlaps = self.overlaps(id, Some(id), &draft);
        let before = self.index().get(id).and_then(|e| e.zone.geometry.bbox());
        let (id2, user, now) = (id.to_string(), user.to_string(), crate::time::now_ms());
        let origin = self.store.origin().to_string();
        let zone = self
            .store
            .write(move |tx| {
                let z = store::zones::update(tx, &id2, expected, &draft, &user, now)?;
                store::changes::record(tx, &origin, ChangeKind::Zone, &z.id, now)?;
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
        user: &str,
    ) -> Result<Zone, RegistryError> {
        let _guard = self.edit.lock().await;
        let (id2, user, now) = (id.to_string(), user.to_string(), crate::time::now_ms());
        let origin = self.store.origin().to_string();
        let zone = self
            .store
            .write(move |tx| {
                let z = store::zones::retire(tx, &id2, expected, &user, now)?;
                store::changes::record(tx, &origin, ChangeKind::Zone, &z.id, now)?;
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
        let boxes: Vec<[f64; 4]> = zones
            .iter()
            .filter_map(|z| index.get(&z.id).and_then(|e| e.zone.geometry.bbox()))
            .collect();
        self.apply(&zones, &boxes);
        Ok(())
    }

    fn apply(&self, changed: &[Zone], extra_boxes: &[[f64; 4]]) {
        let upserts: Vec<Arc<IndexedZone>> = changed
            .iter()
            .map(|z| Arc::new(IndexedZone::new(Arc::new(z.clone()))))
            .collect();
        let removed: Vec<String> = changed
            .iter()
            .filter(|z| !z.is_live())
            .map(|z| z.id.clone())
            .collect();
        let mut boxes: Vec<[f64; 4]> = upserts.iter().map(|u| u.envelope).collect();
        boxes.extend_from_slice(extra_boxes);
        let next = self.index().with_changes(upserts, &removed);
        self.index.store(Arc::new(next));
        self.notify(&boxes);
    }
}

/// A new zone id: `z` and 12 hex digits.
pub fn new_zone_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 6];
    rand::thread_rng().fill_bytes(&mut b);
    format!("z{}", hex::encode(b))
}
