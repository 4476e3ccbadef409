//! Every report as a point in memory (an R-tree), so a tile can count thousands of reports
//! without a database round trip. Loaded from the store at start, kept current by the report
//! service's change notifications.

use super::{ReportFilter, ReportPoint, ReportSource};
use crate::report::{Category, Status};
use crate::report_service::ReportChange;
use crate::store::{Store, StoreError};
use rstar::primitives::GeomWithData;
use rstar::{RTree, AABB};
use std::collections::HashMap;
use std::sync::RwLock;

#[derive(Default)]
struct Inner {
    tree: RTree<GeomWithData<[f64; 2], u32>>,
    points: Vec<ReportPoint>,
    by_id: HashMap<i64, u32>,
}

/// The in-memory report points behind the `reports` tile layer.
#[derive(Default)]
pub struct ReportPoints {
    inner: RwLock<Inner>,
}

impl ReportPoints {
    /// Loads every report from the store.
    pub fn load(store: &Store) -> Result<Self, StoreError> {
        let me = ReportPoints::default();
        me.reload(store)?;
        Ok(me)
    }

    /// Replaces the points with what the store holds (after a bulk load such as the demo).
    pub fn reload(&self, store: &Store) -> Result<usize, StoreError> {
        let points = store.read_sync(|c| {
            let mut out = Vec::new();
            let mut bad = None;
            c.for_each(
                "SELECT id, lon, lat, category, status, created_at FROM reports",
                &[],
                &mut |r| {
                    let id: i64 = r.get(0)?;
                    let category = r.str(3)?.and_then(|s| s.parse::<Category>().ok());
                    let status = r.str(4)?.and_then(|s| s.parse::<Status>().ok());
                    let (Some(category), Some(status)) = (category, status) else {
                        bad = Some(id);
                        return Ok(());
                    };
                    out.push(ReportPoint {
                        id,
                        lon: r.get(1)?,
                        lat: r.get(2)?,
                        category: category.as_str(),
                        status: status.as_str(),
                        created_at: r.get(5)?,
                    });
                    Ok(())
                },
            )?;
            if let Some(id) = bad {
                return Err(StoreError::Corrupt(format!(
                    "report {id} has an unknown category or status"
                )));
            }
            Ok(out)
        })?;
        let n = points.len();
        let tree = RTree::bulk_load(
            points
                .iter()
                .enumerate()
                .map(|(i, p)| GeomWithData::new([p.lon, p.lat], i as u32))
                .collect(),
        );
        let by_id = points
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, i as u32))
            .collect();
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = Inner {
            tree,
            points,
            by_id,
        };
        Ok(n)
    }

    /// Adds new reports and updates changed ones.
    pub fn apply(&self, changes: &[ReportChange]) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        for c in changes {
            match inner.by_id.get(&c.id).copied() {
                Some(i) => {
                    let p = &mut inner.points[i as usize];
                    p.status = c.status.as_str();
                    p.category = c.category.as_str();
                }
                None => {
                    let i = inner.points.len() as u32;
                    inner.points.push(ReportPoint {
                        id: c.id,
                        lon: c.lon,
                        lat: c.lat,
                        category: c.category.as_str(),
                        status: c.status.as_str(),
                        created_at: c.created_at,
                    });
                    inner.by_id.insert(c.id, i);
                    inner.tree.insert(GeomWithData::new([c.lon, c.lat], i));
                }
            }
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
    fn for_each_in(&self, bbox: [f64; 4], filter: &ReportFilter, f: &mut dyn FnMut(&ReportPoint)) {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let env = AABB::from_corners([bbox[0], bbox[1]], [bbox[2], bbox[3]]);
        for g in inner.tree.locate_in_envelope(env) {
            let p = &inner.points[g.data as usize];
            if filter.accepts(p) {
                f(p);
            }
        }
    }
}
