//! Precise drawing over real HTTP: gaps (slivers narrower than `gap_width_m`) between a drawn
//! zone and its neighbours of the same kind, machine codes on refused features, and the list
//! of retired zones.

mod common;

use common::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};
use xuncha::auth::Role;
use xuncha::zone::offset;

/// A south-west corner in Baishan (浑江区), `[lon, lat]`.
const ORIGIN: (f64, f64) = (126.42, 41.94);

/// A rectangle `w` × `h` metres whose south-west corner is `e`, `n` metres from [`ORIGIN`].
fn rect_m(id: &str, kind: &str, e: f64, n: f64, w: f64, h: f64) -> Value {
    let o = geo::Coord {
        x: ORIGIN.0,
        y: ORIGIN.1,
    };
    let p = |x: f64, y: f64| {
        let c = offset(o, x, y);
        json!([c.x, c.y])
    };
    json!({
        "type": "Feature",
        "id": id,
        "geometry": {"type": "Polygon", "coordinates": [[
            p(e, n), p(e + w, n), p(e + w, n + h), p(e, n + h), p(e, n)
        ]]},
        "properties": {
            "kind": kind,
            "name": format!("测试 {id}"),
            "owner": {"name": format!("单位 {id}"), "sector": "school"}
        }
    })
}

async fn post(s: &TestServer, path: &str, body: &Value) -> (StatusCode, Value) {
    let r = s.post(Role::Planner, path).json(body).send().await.unwrap();
    let st = r.status();
    (st, r.json().await.unwrap())
}

#[tokio::test]
async fn a_sliver_under_the_width_is_a_gap_with_its_area_and_a_street_is_not() {
    let s = TestServer::start().await;
    let (st, _) = post(
        &s,
        "/api/zones",
        &rect_m("west", "responsibility", 0.0, 0.0, 40.0, 50.0),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);

    // 0.4 m east of it, the same height: one gap of 0.4 m × 50 m = 20 m².
    let near = rect_m("near", "responsibility", 40.4, 0.0, 30.0, 50.0);
    let (st, dry) = post(&s, "/api/zones?dry_run=true", &near).await;
    assert_eq!(st, StatusCode::OK, "{dry}");
    let gaps = dry["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{dry}");
    assert_eq!(gaps[0]["zone"], "near");
    assert_eq!(gaps[0]["neighbour"], "west");
    assert_eq!(gaps[0]["neighbour_name"], "测试 west");
    let area = gaps[0]["area_m2"].as_f64().unwrap();
    assert!((area - 20.0).abs() < 0.6, "area {area} m²");
    let width = gaps[0]["width_m"].as_f64().unwrap();
    assert!((width - 0.4).abs() < 0.03, "width {width} m");
    assert_eq!(gaps[0]["geometry"]["type"], "Polygon");
    // The gap lies between the two: its longitudes are within the 0.4 m strip.
    let ring = gaps[0]["geometry"]["coordinates"][0].as_array().unwrap();
    let o = geo::Coord {
        x: ORIGIN.0,
        y: ORIGIN.1,
    };
    let (lo, hi) = (offset(o, 39.99, 0.0).x, offset(o, 40.41, 0.0).x);
    assert!(ring
        .iter()
        .all(|c| (lo..=hi).contains(&c[0].as_f64().unwrap())));
    assert_eq!(dry["overlaps"], json!([]));

    // The save reports the same gap.
    let (st, created) = post(&s, "/api/zones", &near).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    assert_eq!(created["gaps"], dry["gaps"]);

    // Flush against it (0 m): no gap, no overlap.
    let flush = rect_m("flush", "responsibility", -30.0, 0.0, 30.0, 50.0);
    let (_, dry) = post(&s, "/api/zones?dry_run=true", &flush).await;
    assert_eq!(dry["gaps"], json!([]), "{dry}");
    assert_eq!(dry["overlaps"], json!([]), "{dry}");

    // Across a 5 m street (wider than the 1 m width): none.
    let street = rect_m("street", "responsibility", 0.0, 55.0, 40.0, 30.0);
    let (_, dry) = post(&s, "/api/zones?dry_run=true", &street).await;
    assert_eq!(dry["gaps"], json!([]), "{dry}");

    // Another kind 0.4 m away does not count.
    let grid = rect_m("grid", "grid", 0.0, -30.4, 40.0, 30.0);
    let (_, dry) = post(&s, "/api/zones?dry_run=true", &grid).await;
    assert_eq!(dry["gaps"], json!([]), "{dry}");

    // An edit reports gaps too, never against the zone itself: move "near" to 0.3 m.
    let moved = rect_m("near", "responsibility", 40.3, 0.0, 30.0, 50.0);
    let r = s
        .put(Role::Planner, "/api/zones/near")
        .header("If-Match", "\"1\"")
        .json(&moved)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let edited: Value = r.json().await.unwrap();
    let gaps = edited["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{edited}");
    assert_eq!(gaps[0]["neighbour"], "west");
    let area = gaps[0]["area_m2"].as_f64().unwrap();
    assert!((area - 15.0).abs() < 0.5, "area {area} m²");
}

#[tokio::test]
async fn the_gap_width_is_a_setting_in_metres() {
    let s = TestServer::start_with(|c| c.gap_width_m = 0.3).await;
    post(
        &s,
        "/api/zones",
        &rect_m("west", "responsibility", 0.0, 0.0, 40.0, 50.0),
    )
    .await;
    let near = rect_m("near", "responsibility", 40.4, 0.0, 30.0, 50.0);
    let (_, dry) = post(&s, "/api/zones?dry_run=true", &near).await;
    assert_eq!(dry["gaps"], json!([]), "0.4 m is wider than 0.3 m: {dry}");
    let closer = rect_m("closer", "responsibility", 40.2, 0.0, 30.0, 50.0);
    let (_, dry) = post(&s, "/api/zones?dry_run=true", &closer).await;
    assert_eq!(dry["gaps"].as_array().unwrap().len(), 1, "{dry}");
    let meta: Value = s
        .get(Role::Planner, "/api/meta")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["limits"]["gap_width_m"], 0.3);
    assert_eq!(meta["limits"]["snap_px"], 10.0);
}

#[tokio::test]
async fn refused_features_carry_a_code() {
    let s = TestServer::start().await;
    let mut nameless = rect_m("a", "responsibility", 0.0, 0.0, 10.0, 10.0);
    nameless["properties"]["name"] = json!("  ");
    let mut bowtie = rect_m("b", "responsibility", 20.0, 0.0, 10.0, 10.0);
    let ring = bowtie["geometry"]["coordinates"][0].clone();
    bowtie["geometry"]["coordinates"] = json!([[ring[0], ring[2], ring[1], ring[3], ring[0]]]);
    let mut ownerless = rect_m("c", "responsibility", 40.0, 0.0, 10.0, 10.0);
    ownerless["properties"]
        .as_object_mut()
        .unwrap()
        .remove("owner");
    let batch = json!({"type": "FeatureCollection", "features": [nameless, bowtie, ownerless]});
    let (st, body) = post(&s, "/api/zones", &batch).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "features_rejected");
    assert_eq!(body["params"]["count"], 3);
    let codes: Vec<&str> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "zone_name_required",
            "self_intersection",
            "zone_owner_required"
        ]
    );
    // The dry run's errors carry them too, and so do the store's refusals.
    post(
        &s,
        "/api/zones",
        &rect_m("taken", "responsibility", 0.0, 0.0, 10.0, 10.0),
    )
    .await;
    let (_, dry) = post(
        &s,
        "/api/zones?dry_run=true",
        &rect_m("taken", "responsibility", 0.0, 0.0, 10.0, 10.0),
    )
    .await;
    assert_eq!(dry["errors"][0]["code"], "zone_id_taken", "{dry}");
}

#[tokio::test]
async fn retired_zones_are_listed_for_planners_with_their_history() {
    let s = TestServer::start().await;
    for id in ["keep", "gone"] {
        let (st, _) = post(
            &s,
            "/api/zones",
            &rect_m(id, "responsibility", 0.0, 0.0, 10.0, 10.0),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
    }
    let r = s
        .delete(Role::Planner, "/api/zones/gone")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let list = |role: Role, q: &'static str| {
        let req = s.get(role, q);
        async move {
            let r = req.send().await.unwrap();
            let st = r.status();
            (st, r.json::<Value>().await.unwrap())
        }
    };
    let (st, fc) = list(Role::Planner, "/api/zones?retired=true").await;
    assert_eq!(st, StatusCode::OK, "{fc}");
    let ids: Vec<&str> = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["gone"]);
    assert!(fc["features"][0]["properties"]["retired_at"].is_string());
    assert_eq!(fc["features"][0]["properties"]["retired_by"], "planner");
    // The live list does not have it; the kind filter applies; admins may list too.
    let (_, live) = list(Role::Planner, "/api/zones").await;
    assert!(live["features"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["id"] != "gone"));
    let (_, grid) = list(Role::Planner, "/api/zones?retired=true&kind=grid").await;
    assert_eq!(grid["features"], json!([]));
    let (st, _) = list(Role::Admin, "/api/zones?retired=true").await;
    assert_eq!(st, StatusCode::OK);
    // Other roles may not; a bad flag is a 400.
    for role in [Role::Patrol, Role::Office, Role::Unit] {
        let (st, body) = list(role, "/api/zones?retired=true").await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{role:?}");
        assert_eq!(body["code"], "forbidden_role");
    }
    let (st, body) = list(Role::Planner, "/api/zones?retired=yes").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "bad_flag");
    // Its history opens from the list.
    let (st, h) = list(Role::Planner, "/api/zones/gone/history").await;
    assert_eq!(st, StatusCode::OK);
    let actions: Vec<&str> = h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "retire"]);
}
