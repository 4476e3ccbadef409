//! The `reports` tile layer: raw points at z ≥ 14, count bins below whose totals are the same
//! at every zoom, filters, and a new report or status change showing in the next tile.

mod common;

use mvt_reader::feature::Value as ReadValue;
use mvt_reader::Reader;
use serde_json::json;
use xuncha_tiles::{tiles_covering, TileCoord};

async fn tile(s: &common::Srv, t: TileCoord, q: &str) -> Vec<u8> {
    let r = s
        .get(
            "office",
            &format!("/tiles/{}/{}/{}.mvt?layers=reports{q}", t.z, t.x, t.y),
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.bytes().await.unwrap().to_vec()
}

/// (count, id, status) of each feature of the reports layer.
fn features(bytes: &[u8]) -> Vec<(i64, Option<i64>, Option<String>)> {
    if bytes.is_empty() {
        return vec![];
    }
    let reader = Reader::new(bytes.to_vec()).unwrap();
    let names = reader.get_layer_names().unwrap();
    let Some(i) = names.iter().position(|n| n == "reports") else {
        return vec![];
    };
    let num = |v: Option<&ReadValue>| match v {
        Some(ReadValue::Int(n)) => Some(*n),
        Some(ReadValue::UInt(n)) => Some(*n as i64),
        Some(ReadValue::SInt(n)) => Some(*n),
        _ => None,
    };
    reader
        .get_features_as::<f64>(i)
        .unwrap()
        .iter()
        .map(|f| {
            let p = f.properties.as_ref().unwrap();
            let status = match p.get("status") {
                Some(ReadValue::String(s)) => Some(s.clone()),
                _ => None,
            };
            (num(p.get("count")).unwrap_or(0), num(p.get("id")), status)
        })
        .collect()
}

/// Total count over every tile of zoom `z` covering the demo city.
async fn total(s: &common::Srv, z: u8, q: &str) -> i64 {
    let city = geo::Rect::new(
        geo::coord! {x: 126.37, y: 41.90},
        geo::coord! {x: 126.47, y: 41.98},
    );
    let mut n = 0;
    for t in tiles_covering(city, z) {
        n += features(&tile(s, t, q).await)
            .iter()
            .map(|f| f.0)
            .sum::<i64>();
    }
    n
}

#[tokio::test]
async fn counts_agree_across_zooms_and_follow_filters_and_changes() {
    let s = common::start().await;
    // 30 reports: 20 garbage in a cluster, 10 weeds spread out.
    let mut ids = Vec::new();
    for i in 0..30 {
        let (lon, lat, cat) = if i < 20 {
            (
                126.4200 + (i as f64) * 1e-5,
                41.9400 + (i as f64) * 1e-5,
                "garbage",
            )
        } else {
            (
                126.39 + (i as f64) * 2e-3,
                41.93 + (i as f64) * 1e-3,
                "weeds",
            )
        };
        let (st, v) = s
            .post_json("patrol", json!({"lon": lon, "lat": lat, "category": cat}))
            .await;
        assert_eq!(st, 201, "{v}");
        ids.push(v["id"].as_i64().unwrap());
    }
    for z in [8u8, 11, 13, 14, 16] {
        assert_eq!(
            total(&s, z, "").await,
            30,
            "z{z}: every report counted exactly once"
        );
        assert_eq!(total(&s, z, "&category=garbage").await, 20, "z{z}");
        assert_eq!(
            total(&s, z, "&category=weeds&status=reported").await,
            10,
            "z{z}"
        );
    }
    // Below z14 bins carry counts; at z14 each feature is a report with id and status.
    let centre = TileCoord::containing(126.4201, 41.9401, 12).unwrap();
    let bins = features(&tile(&s, centre, "").await);
    assert!(bins.iter().any(|b| b.0 >= 10 && b.1.is_none()), "{bins:?}");
    let t16 = TileCoord::containing(126.4201, 41.9401, 16).unwrap();
    let pts = features(&tile(&s, t16, "").await);
    assert!(pts
        .iter()
        .all(|p| p.0 == 1 && p.1.is_some() && p.2.as_deref() == Some("reported")));
    // A status change shows in the cached tile at once.
    let (st, v) = s
        .patch_json(
            "office",
            ids[0],
            json!({"status": "dispatched", "note": "派遣"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let pts = features(&tile(&s, t16, "").await);
    let changed = pts
        .iter()
        .find(|p| p.1 == Some(ids[0]))
        .expect("report in its tile");
    assert_eq!(changed.2.as_deref(), Some("dispatched"));
    assert_eq!(total(&s, 12, "&status=dispatched").await, 1);
    // A new report shows in the already cached low-zoom tile.
    let before = total(&s, 11, "").await;
    let (st, _) = s
        .post_json(
            "patrol",
            json!({"lon": 126.4202, "lat": 41.9402, "category": "garbage"}),
        )
        .await;
    assert_eq!(st, 201);
    assert_eq!(total(&s, 11, "").await, before + 1);
}

#[tokio::test]
async fn a_bad_tile_filter_is_the_same_400_as_in_stats() {
    let s = common::start_with(false, |_| {}).await;
    let t = TileCoord::new(14, 14_137, 6_119).unwrap();
    for q in [
        "category=typo",
        "category=garbage,typo",
        "status=finished",
        "since=2026-09-02T00:00:00Z&until=2026-09-01T00:00:00Z",
        "since=yesterday",
    ] {
        let r = s
            .get(
                "office",
                &format!("/tiles/{}/{}/{}.mvt?layers=reports&{q}", t.z, t.x, t.y),
            )
            .send()
            .await
            .unwrap();
        let tile_status = r.status();
        let tile_body: serde_json::Value = r.json().await.unwrap();
        let (stats_status, stats_body) = s.get_json("office", &format!("/api/stats?{q}")).await;
        assert_eq!(tile_status, 400, "{q}: {tile_body}");
        assert_eq!(stats_status, 400, "{q}: {stats_body}");
        assert_eq!(tile_body, stats_body, "{q}");
    }
    let (_, body) = s.get_json("office", "/api/stats?category=typo").await;
    assert!(
        body.to_string().contains("typo"),
        "the 400 names the bad value: {body}"
    );
    // Known names still pass.
    tile(&s, t, "&category=garbage,weeds&status=reported").await;
}

#[tokio::test]
async fn a_point_tile_with_more_reports_than_its_limit_carries_bins() {
    let s = common::start_with(false, |c| c.tile_max_points = 10).await;
    // 12 reports within 10 m of each other (one z16 tile), 2 of them weeds; 3 more 5 km away.
    for i in 0..15 {
        let (lon, lat) = if i < 12 {
            (126.4200 + (i as f64) * 1e-5, 41.9400)
        } else {
            (126.36 + (i as f64) * 1e-3, 41.91)
        };
        let category = if i < 2 { "weeds" } else { "garbage" };
        let (st, v) = s
            .post_json(
                "patrol",
                json!({"lon": lon, "lat": lat, "category": category}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
    }
    let dense = TileCoord::containing(126.42005, 41.9400, 16).unwrap();
    let f = features(&tile(&s, dense, "").await);
    assert!(
        !f.is_empty() && f.iter().all(|b| b.1.is_none() && b.2.is_none()),
        "{f:?}"
    );
    assert_eq!(f.iter().map(|b| b.0).sum::<i64>(), 12, "{f:?}");
    // A filter that leaves it under the limit gives points again.
    let f = features(&tile(&s, dense, "&category=weeds").await);
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(f.iter().all(|p| p.0 == 1 && p.1.is_some()), "{f:?}");
    let sparse = TileCoord::containing(126.373, 41.91, 16).unwrap();
    let f = features(&tile(&s, sparse, "").await);
    assert!(
        !f.is_empty() && f.iter().all(|p| p.0 == 1 && p.1.is_some()),
        "{f:?}"
    );
    // Every report is counted once at every zoom, whether the tile has points or bins.
    for z in [13u8, 14, 16] {
        assert_eq!(total(&s, z, "").await, 15, "z{z}");
    }
    // The style draws status circles only for features that are one report.
    let (st, style) = s.get_json("office", "/style.json").await;
    assert_eq!(st, 200, "{style}");
    let point = style["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == "reports-point")
        .expect("reports-point layer");
    assert_eq!(point["filter"], json!(["has", "id"]));
}
