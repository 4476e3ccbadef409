//! Detected 脏乱差 hotspots: DBSCAN over the reports of a window (in metres), each cluster's
//! buffered convex hull stored as a zone of kind `hotspot` with `properties.source =
//! "detected"`. Re-running for the same window retires the hotspots detected before for it;
//! hand-drawn hotspots (no `source: "detected"`) are never touched.

use super::dbscan::dbscan;
use super::hull::buffered_hull;
use crate::crs::geodesy::LocalMetres;
use crate::report::Category;
use crate::store::stats::{self as sql, PointRow, ReportFilter};
use crate::store::{Store, StoreError};
use crate::zone::registry::{Overlap, RegistryError, ZoneRegistry};
use crate::zone::{Zone, ZoneDraft, ZoneGeometry, ZoneKind};
use geo::{Coord, MultiPolygon};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// Clustering settings.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DetectSettings {
    /// DBSCAN neighbourhood radius, metres.
    pub eps_m: f64,
    /// Reports within `eps_m` (the report itself included) that make a core point.
    pub min_points: usize,
    /// Margin added around a cluster's hull, metres.
    pub buffer_m: f64,
}

/// The window and filter of a detection.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub categories: Vec<Category>,
}

impl Window {
    /// Identifies "the same window": detections with equal keys replace each other.
    pub fn key(&self) -> String {
        let mut cats: Vec<&str> = self.categories.iter().map(|c| c.as_str()).collect();
        cats.sort();
        cats.dedup();
        format!(
            "{}|{}|{}",
            self.since.map(|v| v.to_string()).unwrap_or_default(),
            self.until.map(|v| v.to_string()).unwrap_or_default(),
            cats.join(",")
        )
    }

    fn to_json(&self) -> Value {
        json!({
            "since": self.since.map(crate::time::to_rfc3339),
            "until": self.until.map(crate::time::to_rfc3339),
            "category": self.categories,
        })
    }
}

/// One cluster found.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub report_ids: Vec<i64>,
    pub centre: [f64; 2],
    /// Largest distance from the centre to a report of the cluster, metres.
    pub radius_m: f64,
    pub by_category: Vec<(Category, usize)>,
    pub outline: geo::Polygon<f64>,
}

impl Cluster {
    pub fn dominant(&self) -> (Category, usize) {
        self.by_category[0]
    }
}

/// Clusters `points` (pure; no I/O). Clusters come largest first.
pub fn find_clusters(points: &[PointRow], s: DetectSettings) -> (Vec<Cluster>, usize) {
    if points.is_empty() {
        return (Vec::new(), 0);
    }
    let n = points.len() as f64;
    let lon0 = points.iter().map(|p| p.lon).sum::<f64>() / n;
    let lat0 = points.iter().map(|p| p.lat).sum::<f64>() / n;
    // One tangent plane for the whole city: over ±20 km its scale error is under 0.5 %,
    // far below the uncertainty of eps itself.
    let lm = LocalMetres::new(lon0, lat0);
    let xy: Vec<[f64; 2]> = points
        .iter()
        .map(|p| {
            let c = lm.project(Coord { x: p.lon, y: p.lat });
            [c.x, c.y]
        })
        .collect();
    let (labels, k) = dbscan(&xy, s.eps_m, s.min_points.max(1));
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    let mut noise = 0;
    for (i, l) in labels.iter().enumerate() {
        match l {
            Some(c) => members[*c].push(i),
            None => noise += 1,
        }
    }
    let mut out: Vec<Cluster> = members
        .into_iter()
        .filter_map(|m| {
            let cnt = m.len() as f64;
            let cx = m.iter().map(|&i| xy[i][0]).sum::<f64>() / cnt;
            let cy = m.iter().map(|&i| xy[i][1]).sum::<f64>() / cnt;
            let radius_m = m
                .iter()
                .map(|&i| ((xy[i][0] - cx).powi(2) + (xy[i][1] - cy).powi(2)).sqrt())
                .fold(0.0, f64::max);
            let mut counts: Vec<(Category, usize)> = Category::ALL
                .iter()
                .map(|c| (*c, m.iter().filter(|&&i| points[i].category == *c).count()))
                .filter(|(_, n)| *n > 0)
                .collect();
            // Largest first; ties keep the order of Category::ALL (stable sort).
            counts.sort_by_key(|c| std::cmp::Reverse(c.1));
            let lonlat: Vec<[f64; 2]> = m.iter().map(|&i| [points[i].lon, points[i].lat]).collect();
            let outline = buffered_hull(&lonlat, s.buffer_m)?;
            let mut ids: Vec<i64> = m.iter().map(|&i| points[i].id).collect();
            ids.sort_unstable();
            Some(Cluster {
                report_ids: ids,
                centre: [
                    round6(lon0 + cx / lm.m_per_deg_lon),
                    round6(lat0 + cy / lm.m_per_deg_lat),
                ],
                radius_m: (radius_m * 10.0).round() / 10.0,
                by_category: counts,
                outline,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.report_ids
            .len()
            .cmp(&a.report_ids.len())
            .then(a.report_ids[0].cmp(&b.report_ids[0]))
    });
    (out, noise)
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// What a detection did.
#[derive(Debug, Clone)]
pub struct Detection {
    pub zones: Vec<Zone>,
    /// Ids of the detected hotspots of the same window that were retired.
    pub retired: Vec<String>,
    /// Overlaps of the new hotspots with other live hotspots (e.g. hand-drawn ones).
    pub overlaps: Vec<Overlap>,
    pub points: usize,
    pub noise: usize,
}

/// Errors of a detection.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Serializes detections: two concurrent runs for one window would each retire only what the
/// other had not yet created.
static DETECTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Detects hotspots in `window` and stores them, replacing the earlier detection of the window.
pub async fn detect(
    store: &Store,
    zones: &ZoneRegistry,
    window: Window,
    settings: DetectSettings,
    actor: &crate::audit::Actor,
) -> Result<Detection, DetectError> {
    let _one_at_a_time = DETECTING.lock().await;
    let filter = ReportFilter {
        since: window.since,
        until: window.until,
        categories: window.categories.clone(),
        ..Default::default()
    };
    let points = store.read(move |c| sql::points(c, &filter)).await?;
    let n = points.len();
    let (clusters, noise) = tokio::task::spawn_blocking(move || find_clusters(&points, settings))
        .await
        .map_err(|e| StoreError::TaskFailed(e.to_string()))?;
    let key = window.key();
    let stale: Vec<String> = zones
        .index()
        .iter()
        .filter(|e| {
            let p = &e.zone.properties;
            e.zone.kind == ZoneKind::Hotspot
                && p.get("source").and_then(Value::as_str) == Some("detected")
                && p.get("window_key").and_then(Value::as_str) == Some(key.as_str())
        })
        .map(|e| e.zone.id.clone())
        .collect();
    for id in &stale {
        zones.retire(id, None, actor).await?;
    }
    let now = crate::time::now_ms();
    let drafts: Vec<ZoneDraft> = clusters
        .iter()
        .enumerate()
        .map(|(i, c)| draft(i, c, &window, &key, settings, now))
        .collect();
    let (created, overlaps) = if drafts.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        zones.create(drafts, actor).await?
    };
    Ok(Detection {
        zones: created,
        retired: stale,
        overlaps,
        points: n,
        noise,
    })
}

fn draft(i: usize, c: &Cluster, w: &Window, key: &str, s: DetectSettings, now: i64) -> ZoneDraft {
    let (dom, dom_n) = c.dominant();
    let mut p = Map::new();
    p.insert("source".into(), json!("detected"));
    p.insert("window".into(), w.to_json());
    p.insert("window_key".into(), json!(key));
    p.insert("report_count".into(), json!(c.report_ids.len()));
    p.insert("dominant_category".into(), json!(dom));
    p.insert("dominant_category_zh".into(), json!(dom.label_zh()));
    p.insert("dominant_count".into(), json!(dom_n));
    p.insert(
        "categories".into(),
        Value::Object(
            c.by_category
                .iter()
                .map(|(k, n)| (k.as_str().to_string(), json!(n)))
                .collect(),
        ),
    );
    p.insert("centre".into(), json!(c.centre));
    p.insert("radius_m".into(), json!(c.radius_m));
    p.insert("report_ids".into(), json!(c.report_ids));
    p.insert("parameters".into(), json!(s));
    p.insert("detected_at".into(), json!(crate::time::to_rfc3339(now)));
    ZoneDraft {
        id: None,
        kind: ZoneKind::Hotspot,
        name: format!(
            "检测热点 #{} · {} · {} 起",
            i + 1,
            dom.label_zh(),
            c.report_ids.len()
        ),
        owner: None,
        parent: None,
        properties: p,
        geometry: ZoneGeometry::Area(MultiPolygon(vec![c.outline.clone()])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(id: i64, lon: f64, lat: f64, category: Category) -> PointRow {
        PointRow {
            id,
            lon,
            lat,
            category,
        }
    }

    #[test]
    fn a_dense_spot_among_spread_reports() {
        let lm = LocalMetres::new(126.42, 41.93);
        let mut pts = Vec::new();
        // 20 reports within 10 m, mostly garbage.
        for i in 0..20 {
            let a = i as f64;
            let c = if i < 15 {
                Category::Garbage
            } else {
                Category::Weeds
            };
            pts.push(pt(
                i,
                126.42 + (a.cos() * 10.0) / lm.m_per_deg_lon,
                41.93 + (a.sin() * 10.0) / lm.m_per_deg_lat,
                c,
            ));
        }
        // 100 reports on a 200 m grid.
        for i in 0..100 {
            let (gx, gy) = ((i % 10) as f64 * 200.0, (i / 10) as f64 * 200.0 + 500.0);
            pts.push(pt(
                100 + i,
                126.42 + gx / lm.m_per_deg_lon,
                41.93 + gy / lm.m_per_deg_lat,
                Category::Debris,
            ));
        }
        let s = DetectSettings {
            eps_m: 30.0,
            min_points: 10,
            buffer_m: 10.0,
        };
        let (c, noise) = find_clusters(&pts, s);
        assert_eq!(c.len(), 1);
        assert_eq!(noise, 100);
        assert_eq!(c[0].report_ids.len(), 20);
        assert_eq!(c[0].dominant(), (Category::Garbage, 15));
        assert!((c[0].centre[0] - 126.42).abs() < 1e-5);
    }

    #[test]
    fn window_key_ignores_category_order() {
        let a = Window {
            since: Some(1),
            until: None,
            categories: vec![Category::Weeds, Category::Garbage],
        };
        let b = Window {
            categories: vec![Category::Garbage, Category::Weeds],
            ..a.clone()
        };
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key(), "1||garbage,weeds");
    }
}
