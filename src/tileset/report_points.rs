//! Every report as a point in memory (an R-tree), so a tile can count thousands of reports
//! without a database round trip. Loaded from the store at start, kept current by the report
//! service's change notifications.

use super::{ReportFilter, ReportPoint, ReportSource};
use crate::crs::Bbox;
use crate::report::service::ReportChange;
use crate::report::{Category, Status};
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
    /// Scope tags (`z:zone`, `o:owner`) to their numbers in [`ReportPoint::tags`].
    tags: HashMap<String, u32>,
}

impl Inner {
    fn intern(&mut self, tags: impl IntoIterator<Item = String>) -> Box<[u32]> {
        let mut out: Vec<u32> = tags
            .into_iter()
            .map(|t| {
                let next = self.tags.len() as u32;
                *self.tags.entry(t).or_insert(next)
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out.into_boxed_slice()
    }
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
                    out.push(ReportPoint {
                        id,
                        lon: r.get(1)?,
                        lat: r.get(2)?,
                        category: category.as_str(),
                        status: status.as_str(),
                        created_at: r.get(5)?,
                        tags: Box::new([]),
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
        for p in &mut points {
            p.tags = inner.intern(tags.remove(&p.id).unwrap_or_default());
        }
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
        inner.tree = tree;
        inner.points = points;
        inner.by_id = by_id;
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = inner;
        Ok(n)
    }

    /// Adds new reports and updates changed ones.
    pub fn apply(&self, changes: &[ReportChange]) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        for c in changes {
            let tags = inner.intern(tags_of(
                c.zones.iter().map(String::as_str),
                c.owners.iter().map(String::as_str),
            ));
            match inner.by_id.get(&c.id).copied() {
                Some(i) => {
                    let p = &mut inner.points[i as usize];
                    p.status = c.status.as_str();
                    p.category = c.category.as_str();
                    p.tags = tags;
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
                        tags,
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
    fn for_each_in(&self, bbox: Bbox, filter: &ReportFilter, f: &mut dyn FnMut(&ReportPoint)) {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let env = AABB::from_corners([bbox.west, bbox.south], [bbox.east, bbox.north]);
        let scope = match &filter.scope {
            None => None,
            // A tag nobody carries: nothing is visible.
            Some(t) => match inner.tags.get(t) {
                Some(&n) => Some(n),
                None => return,
            },
        };
        for g in inner.tree.locate_in_envelope(env) {
            let p = &inner.points[g.data as usize];
            if scope.is_none_or(|n| p.tags.binary_search(&n).is_ok()) && filter.accepts(p) {
                f(p);
            }
        }
    }
}
