//! The closed loop (issue 11) against a real server: the responsibility chain, units that see and
//! answer only their own reports, scoped offices, time limits that run late and escalate exactly
//! once across restarts, signed webhooks delivered at least once, and an audit log that holds one
//! row per write and cannot be edited.

mod common;

use common::{database_args, jpeg, north, photo_part, rect_feature, TestServer};
use hmac::{Hmac, Mac};
use reqwest::multipart::Form;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use xuncha::auth::Role;

const BIN: &str = env!("CARGO_BIN_EXE_xuncha");

// ---------------------------------------------------------------------------------------------
// Hand-made zones: a street office S, its community C, a grid cell G of C, a 三包 zone R and a
// green-adoption area A inside G.

const R_SHOP: &str = "R商店";
const A_ADOPTER: &str = "A认养单位";
const G_OWNER: &str = "G网格";
const C_OWNER: &str = "C社区居委会";
const S_OWNER: &str = "S街道办事处";

/// Inside R.
const IN_R: (f64, f64) = (126.403, 41.933);
/// Inside A only (of the 三包 kinds).
const IN_A: (f64, f64) = (126.407, 41.933);
/// In grid cell G, far from R and A.
const IN_G: (f64, f64) = (126.405, 41.941);
/// In street office S, outside community C.
const IN_S: (f64, f64) = (126.430, 41.945);
/// Outside every zone.
const OUTSIDE: (f64, f64) = (126.50, 41.99);

fn zone(
    id: &str,
    kind: &str,
    b: [f64; 4],
    owner: &str,
    sector: &str,
    parent: Option<&str>,
) -> Value {
    let mut f = rect_feature(id, kind, b[0], b[1], b[2], b[3]);
    f["properties"]["owner"] =
        json!({"name": owner, "sector": sector, "contact": format!("{owner} 0439-1234567")});
    if let Some(p) = parent {
        f["properties"]["parent"] = json!(p);
    }
    f
}

fn hand_made_zones() -> Value {
    json!({"type": "FeatureCollection", "features": [
        zone("s", "grid", [126.400, 41.930, 126.440, 41.960], S_OWNER, "agency", None),
        zone("c", "grid", [126.400, 41.930, 126.420, 41.960], C_OWNER, "community", Some("s")),
        zone("g", "grid", [126.400, 41.930, 126.410, 41.945], G_OWNER, "community", Some("c")),
        zone("r", "responsibility", [126.402, 41.932, 126.404, 41.934], R_SHOP, "enterprise", None),
        zone("a", "green_adoption", [126.406, 41.932, 126.408, 41.934], A_ADOPTER, "enterprise", None),
    ]})
}

async fn load_zones(s: &TestServer) {
    let r = s
        .post(Role::Planner, "/api/zones")
        .json(&hand_made_zones())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn file_report(s: &TestServer, role: Role, p: (f64, f64), note: &str) -> i64 {
    let (st, v) = json_of(
        s.post(role, "/api/reports")
            .json(&json!({"lon": p.0, "lat": p.1, "category": "garbage", "note": note}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    v["id"].as_i64().unwrap()
}

/// Makes a user through the admin API; returns its id and API token.
async fn make_user(s: &TestServer, body: Value) -> (i64, String) {
    let mut body = body;
    body["token"] = json!(true);
    let (st, v) = json_of(
        s.post(Role::Admin, "/api/users")
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    (
        v["user"]["id"].as_i64().unwrap(),
        v["token"].as_str().unwrap().to_string(),
    )
}

fn ids_of(fc: &Value) -> Vec<i64> {
    let mut v: Vec<i64> = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_responsible_party_follows_the_chain_and_never_falls_through() {
    let s = TestServer::start().await;
    load_zones(&s).await;
    let answer = |p: (f64, f64)| {
        let s = &s;
        async move {
            let (st, v) = json_of(
                s.get(Role::Patrol, &format!("/api/match?lon={}&lat={}", p.0, p.1))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(st, 200, "{v}");
            v
        }
    };
    // 1. In a 三包 zone.
    let v = answer(IN_R).await;
    let r = &v["responsible"];
    assert_eq!(r["via"], "responsibility", "{v}");
    assert_eq!(r["zone_id"], "r");
    assert_eq!(r["owner"]["name"], R_SHOP);
    assert_eq!(r["id"], R_SHOP);
    let chain: Vec<&str> = v["escalation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["owner"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        chain,
        [G_OWNER, C_OWNER, S_OWNER],
        "deepest grid first: {v}"
    );
    // 2. In a green-adoption area only.
    let v = answer(IN_A).await;
    assert_eq!(v["responsible"]["via"], "green_adoption", "{v}");
    assert_eq!(v["responsible"]["owner"]["name"], A_ADOPTER);
    // 3. 20 m north of R: the nearest 三包 zone within 30 m.
    let p = north((IN_R.0, 41.934), 20.0);
    let v = answer(p).await;
    assert_eq!(v["responsible"]["via"], "nearest", "{v}");
    assert_eq!(v["responsible"]["zone_id"], "r");
    let d = v["responsible"]["distance_m"].as_f64().unwrap();
    assert!((d - 20.0).abs() < 1.0, "20 m north of R is {d} m from it");
    // 40 m north is beyond 30 m: the grid cell answers.
    let v = answer(north((IN_R.0, 41.934), 40.0)).await;
    assert_eq!(v["responsible"]["via"], "grid", "{v}");
    // ... unless the fix is only good to 50 m.
    let far = north((IN_R.0, 41.934), 40.0);
    let (_, v) = json_of(
        s.get(
            Role::Patrol,
            &format!("/api/match?lon={}&lat={}&accuracy_m=50", far.0, far.1),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(v["responsible"]["via"], "nearest", "{v}");
    // 4. In a grid cell only: its owner.
    let v = answer(IN_G).await;
    assert_eq!(v["responsible"]["via"], "grid", "{v}");
    assert_eq!(v["responsible"]["zone_id"], "g");
    assert_eq!(v["responsible"]["owner"]["name"], G_OWNER);
    // In the street office outside its community: the street office.
    let v = answer(IN_S).await;
    assert_eq!(v["responsible"]["zone_id"], "s", "{v}");
    assert_eq!(v["responsible"]["owner"]["name"], S_OWNER);
    // 5. Outside everything: nobody.
    let v = answer(OUTSIDE).await;
    assert!(v["responsible"].is_null(), "{v}");

    // The stored match of a report says the same.
    let id = file_report(&s, Role::Patrol, IN_A, "草坪上有垃圾").await;
    let (_, v) = json_of(
        s.get(Role::Office, &format!("/api/reports/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["responsible"]["via"], "green_adoption", "{v}");
    assert_eq!(v["responsible"]["owner"]["name"], A_ADOPTER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_city_has_a_responsible_party_for_nearly_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let state = xuncha::App::open(xuncha::Config {
        data_dir: dir.path().to_path_buf(),
        database: common::fresh_database(),
        ..xuncha::Config::default()
    })
    .unwrap();
    assert!(xuncha::demo::load(&state, &common::geodata())
        .await
        .unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(xuncha::run(
        listener,
        state.clone(),
        std::future::pending::<()>(),
    ));
    let http = reqwest::Client::new();
    let (st, v) = json_of(
        http.post(format!("{base}/api/login"))
            .json(&json!({"username": "office", "password": "office-2026", "token": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    let get = |path: &str| {
        let r = http.get(format!("{base}{path}")).bearer_auth(&token);
        async move { json_of(r.send().await.unwrap()).await }
    };
    let (st, v) = get("/api/stats?group=owner").await;
    assert_eq!(st, 200, "{v}");
    let total = v["totals"]["total"].as_u64().unwrap();
    let nobody: u64 = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["key"].is_null())
        .map(|r| r["total"].as_u64().unwrap())
        .sum();
    assert!(total >= 400, "{total} seeded reports");
    assert!(
        nobody * 100 <= total * 5,
        "{nobody} of {total} reports have no responsible party"
    );
    // Every grid cell has an owner and a contact.
    let (_, zones) = get("/api/zones?kind=grid").await;
    for z in zones["features"].as_array().unwrap() {
        let o = &z["properties"]["owner"];
        assert!(o["name"].is_string(), "grid {} has no owner", z["id"]);
        assert!(o["contact"].is_string(), "grid {} has no contact", z["id"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_sees_and_answers_only_its_own_reports() {
    let s = TestServer::start().await;
    load_zones(&s).await;
    let (_, unit) = make_user(
        &s,
        json!({"username": "r-shop", "role": "unit", "password": "Hunjiang-river-7391", "owner": R_SHOP}),
    )
    .await;
    // A unit must be bound to an owner that exists.
    let (st, v) = json_of(
        s.post(Role::Admin, "/api/users")
            .json(&json!({"username": "ghost", "role": "unit", "password": "Hunjiang-river-7391", "owner": "不存在的单位"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 422, "{v}");
    assert!(v["error"].as_str().unwrap().contains("owner"), "{v}");

    let mine = file_report(&s, Role::Patrol, IN_R, "门前有垃圾").await;
    let theirs = file_report(&s, Role::Patrol, IN_A, "绿地有垃圾").await;
    let as_unit =
        |m: reqwest::Method, path: &str| s.http.request(m, s.url(path)).bearer_auth(&unit);
    // Lists and single reports: its own only; anyone else's does not exist.
    let (st, list) = json_of(
        as_unit(reqwest::Method::GET, "/api/reports")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(ids_of(&list), [mine]);
    let (st, _) = json_of(
        as_unit(reqwest::Method::GET, &format!("/api/reports/{theirs}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 404);
    for body in [
        json!({"status": "in_progress"}),
        json!({"status": "resolved", "note": "x"}),
    ] {
        let (st, v) = json_of(
            as_unit(reqwest::Method::PATCH, &format!("/api/reports/{theirs}"))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(st, 404, "{v}");
    }
    let (st, v) = json_of(
        as_unit(
            reqwest::Method::POST,
            &format!("/api/reports/{theirs}/updates"),
        )
        .json(&json!({"note": "看看"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    // Units do not add sightings to any report; nothing of the report comes back.
    assert_eq!(st, 403, "{v}");
    assert!(v.get("status").is_none() && v["error"].is_string(), "{v}");
    // Zones: its own only.
    let (_, zones) = json_of(
        as_unit(reqwest::Method::GET, "/api/zones")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let zone_ids: Vec<&str> = zones["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(zone_ids, ["r"]);
    let (st, _) = json_of(
        as_unit(reqwest::Method::GET, "/api/zones/a")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 404);
    // Routes for others: refused.
    for (m, path) in [
        (reqwest::Method::GET, "/api/stats"),
        (reqwest::Method::GET, "/api/users"),
        (reqwest::Method::GET, "/api/audit"),
        (reqwest::Method::GET, "/api/webhooks"),
        (reqwest::Method::GET, "/api/zones/r/history"),
        (
            reqwest::Method::GET,
            "/api/reports/nearby?lon=126.403&lat=41.933&category=garbage",
        ),
        (reqwest::Method::POST, "/api/hotspots/detect"),
    ] {
        let (st, v) = json_of(as_unit(m.clone(), path).send().await.unwrap()).await;
        assert_eq!(st, 403, "{m} {path}: {v}");
        assert!(v["error"].is_string(), "{m} {path}: {v}");
    }
    let (st, _) = json_of(
        as_unit(reqwest::Method::POST, "/api/reports")
            .json(&json!({"lon": IN_R.0, "lat": IN_R.1, "category": "garbage"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 403);
    let (st, _) = json_of(
        as_unit(reqwest::Method::PUT, "/api/settings/time-limits")
            .json(&json!({"default": {"dispatch_s": 1, "handle_s": 1, "verify_s": 1}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 403);
    // Work orders: its own organisation's only.
    let wo = |owner: &str| format!("/api/workorders/{}?format=json", urlencoding(owner));
    let (st, v) = json_of(
        as_unit(reqwest::Method::GET, &wo(R_SHOP))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let (st, _) = json_of(
        as_unit(reqwest::Method::GET, &wo(A_ADOPTER))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 404);
    // Tiles: its own report only.
    assert_eq!(tile_report_count(&s, &unit, IN_R).await, 1);
    assert_eq!(
        tile_report_count(&s, &s.tokens[&Role::Office], IN_R).await,
        2
    );

    // The workflow: not before dispatch; acknowledge; answer with a photo; never close.
    let change = |body: Value| {
        let r = as_unit(reqwest::Method::PATCH, &format!("/api/reports/{mine}")).json(&body);
        async move { json_of(r.send().await.unwrap()).await }
    };
    let (st, v) = change(json!({"status": "in_progress"})).await;
    assert!(st == 403 || st == 409 || st == 422, "{st} {v}");
    let (st, v) = json_of(
        s.http
            .patch(s.url(&format!("/api/reports/{mine}")))
            .bearer_auth(&s.tokens[&Role::Office])
            .json(&json!({"status": "dispatched"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["assigned_to"], R_SHOP, "{v}");
    assert!(v["due_at"].is_string(), "{v}");
    let (st, v) = change(json!({"status": "in_progress", "note": "收到，马上处理"})).await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = change(json!({"status": "resolved", "note": "已清理"})).await;
    assert_eq!(st, 422, "an answer needs an after-photo: {v}");
    let form = Form::new()
        .text("status", "resolved")
        .text("note", "已清理干净")
        .part("photo", photo_part(jpeg(64, 48, 9), "after.jpg"));
    let (st, v) = json_of(
        as_unit(reqwest::Method::PATCH, &format!("/api/reports/{mine}"))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "resolved");
    let (st, v) = change(json!({"status": "closed"})).await;
    assert!(st == 403 || st == 422, "a unit cannot close: {st} {v}");
    // The office sees the answer, with who gave it.
    let (_, v) = json_of(
        s.get(Role::Office, &format!("/api/reports/{mine}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["status"], "resolved");
    let events = v["events"].as_array().unwrap();
    let last = events.last().unwrap();
    assert_eq!(last["to"], "resolved", "{last}");
    assert_eq!(last["user"], "r-shop", "{last}");
    assert_eq!(last["photos"].as_array().map(Vec::len), Some(1), "{last}");
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The z/x/y of the z-`z` tile holding `p`.
fn tile_of(p: (f64, f64), z: u8) -> (u8, u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((p.0 + 180.0) / 360.0 * n).floor() as u32;
    let lat = p.1.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor()
        as u32;
    (z, x, y)
}

/// Reports counted in the `reports` layer of the z12 tile around `p`, as `token` sees it.
async fn tile_report_count(s: &TestServer, token: &str, p: (f64, f64)) -> i64 {
    let (z, x, y) = tile_of(p, 12);
    let r = s
        .http
        .get(s.url(&format!("/tiles/{z}/{x}/{y}.mvt?layers=reports")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let bytes = r.bytes().await.unwrap().to_vec();
    if bytes.is_empty() {
        return 0;
    }
    let reader = mvt_reader::Reader::new(bytes).unwrap();
    let names = reader.get_layer_names().unwrap();
    let Some(i) = names.iter().position(|n| n == "reports") else {
        return 0;
    };
    reader
        .get_features_as::<f64>(i)
        .unwrap()
        .iter()
        .map(
            |f| match f.properties.as_ref().and_then(|p| p.get("count")) {
                Some(mvt_reader::feature::Value::Int(n)) => *n,
                Some(mvt_reader::feature::Value::UInt(n)) => *n as i64,
                Some(mvt_reader::feature::Value::SInt(n)) => *n,
                _ => 1,
            },
        )
        .sum()
}

/// Alpha of every pixel of the heatmap tile around `p` summed, as `token` sees it.
async fn heat(s: &TestServer, token: &str, p: (f64, f64)) -> u64 {
    let (z, x, y) = tile_of(p, 15);
    let r = s
        .http
        .get(s.url(&format!("/heatmap/{z}/{x}/{y}.png")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let img = image::load_from_memory(&r.bytes().await.unwrap())
        .unwrap()
        .to_rgba8();
    img.pixels().map(|p| u64::from(p[3])).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoped_office_sees_exactly_the_reports_inside_its_zone() {
    let s = TestServer::start().await;
    load_zones(&s).await;
    let (_, scoped) = make_user(
        &s,
        json!({"username": "c-office", "role": "office", "password": "Hunjiang-river-7391", "scope": "c"}),
    )
    .await;
    let (st, v) = json_of(
        s.post(Role::Admin, "/api/users")
            .json(&json!({"username": "nowhere", "role": "office", "password": "Hunjiang-river-7391", "scope": "no-such-zone"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 422, "{v}");
    let inside = [
        file_report(&s, Role::Patrol, IN_R, "一").await,
        file_report(&s, Role::Patrol, IN_A, "二").await,
        file_report(&s, Role::Patrol, IN_G, "三").await,
    ];
    let outside = file_report(&s, Role::Patrol, IN_S, "四").await;
    let get = |token: &str, path: &str| {
        let r = s.http.get(s.url(path)).bearer_auth(token);
        async move { json_of(r.send().await.unwrap()).await }
    };
    let city = s.tokens[&Role::Office].clone();
    // Lists.
    let (_, list) = get(&scoped, "/api/reports").await;
    assert_eq!(ids_of(&list), inside);
    let (_, all) = get(&city, "/api/reports").await;
    assert_eq!(ids_of(&all).len(), 4);
    // One report outside: 404, and no dispatching it.
    let (st, _) = get(&scoped, &format!("/api/reports/{outside}")).await;
    assert_eq!(st, 404);
    let (st, _) = json_of(
        s.http
            .patch(s.url(&format!("/api/reports/{outside}")))
            .bearer_auth(&scoped)
            .json(&json!({"status": "dispatched"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 404);
    let (st, _) = get(&scoped, &format!("/api/reports/{}", inside[0])).await;
    assert_eq!(st, 200);
    // Statistics.
    let (st, v) = get(&scoped, "/api/stats?group=category").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["totals"]["total"], 3, "{v}");
    let (_, v) = get(&city, "/api/stats?group=category").await;
    assert_eq!(v["totals"]["total"], 4, "{v}");
    let (_, v) = get(&scoped, "/api/stats?group=owner").await;
    let owners: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["key"].as_str())
        .collect();
    assert!(!owners.contains(&S_OWNER), "{owners:?}");
    // Tiles (a z12 tile holds all four) and the heatmap (a z15 tile around the one outside).
    assert_eq!(tile_report_count(&s, &scoped, IN_S).await, 3);
    assert_eq!(tile_report_count(&s, &city, IN_S).await, 4);
    assert_eq!(
        heat(&s, &scoped, IN_S).await,
        0,
        "the scoped heatmap shows the report outside"
    );
    assert!(heat(&s, &city, IN_S).await > 0);
    assert!(heat(&s, &scoped, IN_R).await > 0);
    // Open311 and OGC read the same scope.
    let (st, v) = get(&scoped, "/ogc/collections/reports/items?f=json").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["features"].as_array().unwrap().len(), 3, "{v}");
    // City-wide detection is not for a scoped office.
    let r = s
        .http
        .post(s.url("/api/hotspots/detect"))
        .bearer_auth(&scoped)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

// ---------------------------------------------------------------------------------------------
// Webhook receivers: a real HTTP listener on 127.0.0.1 that records every request.

#[derive(Debug, Clone)]
struct Received {
    event: String,
    delivery: String,
    signature: String,
    body: Vec<u8>,
    answered: u16,
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer, in order; 200 when used up.
    plan: Arc<Mutex<Vec<u16>>>,
}

impl Receiver {
    /// Listens on `port` (0: any); returns the port and a handle that stops it.
    async fn listen(&self, port: u16) -> (u16, tokio::task::JoinHandle<()>) {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket
            .bind(format!("127.0.0.1:{port}").parse().unwrap())
            .unwrap();
        let listener = socket.listen(64).unwrap();
        let port = listener.local_addr().unwrap().port();
        let me = self.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let me = me.clone();
                    async move {
                        let h = |k: &str| {
                            headers
                                .get(k)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_string()
                        };
                        let status = {
                            let mut plan = me.plan.lock().unwrap();
                            if plan.is_empty() {
                                200
                            } else {
                                plan.remove(0)
                            }
                        };
                        me.got.lock().unwrap().push(Received {
                            event: h("x-xuncha-event"),
                            delivery: h("x-xuncha-delivery"),
                            signature: h("x-xuncha-signature"),
                            body: body.to_vec(),
                            answered: status,
                        });
                        axum::http::StatusCode::from_u16(status).unwrap()
                    }
                },
            ),
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        (port, task)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const SECRET: &str = "a-secret-of-the-street-office";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_retried_and_delivered_exactly_once_after_success() {
    let s = TestServer::start_with(|c| c.webhook_retry_base_ms = 300).await;
    load_zones(&s).await;
    let rx = Receiver::default();
    rx.plan.lock().unwrap().push(500);
    let (port, _task) = rx.listen(0).await;
    let wecom = Receiver::default();
    let (wport, _wtask) = wecom.listen(0).await;
    let register = |body: Value| {
        let r = s.post(Role::Admin, "/api/webhooks").json(&body);
        async move { json_of(r.send().await.unwrap()).await }
    };
    // Bad registrations change nothing.
    for bad in [
        json!({"url": "ftp://127.0.0.1/hook", "events": ["report.created"], "secret": SECRET}),
        json!({"url": format!("http://127.0.0.1:{port}/hook"), "events": ["report.eaten"], "secret": SECRET}),
        json!({"url": format!("http://127.0.0.1:{port}/hook"), "events": ["report.created"], "secret": "short"}),
        json!({"url": format!("http://127.0.0.1:{port}/hook"), "events": ["report.created"], "secret": SECRET, "format": "telegram"}),
    ] {
        let (st, v) = register(bad.clone()).await;
        assert!(st == 422 || st == 400, "{bad}: {st} {v}");
        assert!(v["error"].is_string(), "{v}");
    }
    let (st, v) = register(json!({
        "url": format!("http://127.0.0.1:{port}/hook"),
        "events": ["report.created", "report.dispatched", "zone.changed"],
        "secret": SECRET, "format": "json"
    }))
    .await;
    assert_eq!(st, 201, "{v}");
    let hook_id = v["webhook"]["id"].as_i64().unwrap();
    assert!(
        v["webhook"].get("secret").is_none(),
        "the secret is never shown: {v}"
    );
    let (st, v) = register(json!({
        "url": format!("http://127.0.0.1:{wport}/hook"),
        "events": ["report.created"],
        "secret": SECRET, "format": "wecom", "owner": R_SHOP
    }))
    .await;
    assert_eq!(st, 201, "{v}");

    let id = file_report(&s, Role::Patrol, IN_R, "门前有垃圾").await;
    // First answered 500, then 200: exactly one more attempt of that delivery.
    wait_for("the retried delivery", Duration::from_secs(20), || {
        rx.got().iter().filter(|r| r.answered == 200).count() >= 1
    })
    .await;
    let (st, _) = json_of(
        s.http
            .patch(s.url(&format!("/api/reports/{id}")))
            .bearer_auth(&s.tokens[&Role::Office])
            .json(&json!({"status": "dispatched"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    wait_for("the dispatch event", Duration::from_secs(20), || {
        rx.got().iter().any(|r| r.event == "report.dispatched")
    })
    .await;
    // A zone retired: zone.changed, with the zone.
    let r = s
        .delete(Role::Planner, "/api/zones/a")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_for("zone.changed", Duration::from_secs(20), || {
        rx.got().iter().any(|r| r.event == "zone.changed")
    })
    .await;
    let z = rx
        .got()
        .into_iter()
        .find(|r| r.event == "zone.changed")
        .unwrap();
    let z: Value = serde_json::from_slice(&z.body).unwrap();
    assert_eq!(z["subject"]["action"], "retire", "{z}");
    assert_eq!(z["subject"]["zone"]["id"], "a", "{z}");
    // A zone created: zone.changed too (the event is built only because this webhook listens).
    let r = s
        .post(Role::Planner, "/api/zones")
        .json(&json!({"type": "FeatureCollection", "features": [
            zone("n", "responsibility", [126.450, 41.930, 126.452, 41.932], R_SHOP, "enterprise", None),
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let zone_created = || {
        rx.got()
            .into_iter()
            .filter(|r| r.event == "zone.changed")
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
            .find(|v| v["subject"]["action"] == "create")
    };
    wait_for("zone.changed on create", Duration::from_secs(20), || {
        zone_created().is_some()
    })
    .await;
    let created_zone = zone_created().unwrap();
    assert_eq!(created_zone["subject"]["zone"]["id"], "n", "{created_zone}");
    // Time for any wrong extra attempt to arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = rx.got();
    let created: Vec<&Received> = got.iter().filter(|r| r.event == "report.created").collect();
    assert_eq!(created.len(), 2, "{created:?}");
    assert_eq!(created[0].answered, 500);
    assert_eq!(created[1].answered, 200);
    assert_eq!(
        created[0].delivery, created[1].delivery,
        "the delivery id is stable across retries"
    );
    assert_eq!(created[0].body, created[1].body);
    let dispatched: Vec<&Received> = got
        .iter()
        .filter(|r| r.event == "report.dispatched")
        .collect();
    assert_eq!(dispatched.len(), 1, "{dispatched:?}");
    assert_ne!(dispatched[0].delivery, created[0].delivery);
    for r in &got {
        assert_eq!(
            r.signature,
            sign(SECRET, &r.body),
            "a bad signature on {r:?}"
        );
    }
    let body: Value = serde_json::from_slice(&created[1].body).unwrap();
    assert_eq!(body["event"], "report.created", "{body}");
    let feature = &body["subject"];
    assert_eq!(feature["type"], "Feature", "{body}");
    assert_eq!(feature["id"], id);
    let c = feature["geometry"]["coordinates"].as_array().unwrap();
    assert!(
        (c[0].as_f64().unwrap() - IN_R.0).abs() < 1e-9
            && (c[1].as_f64().unwrap() - IN_R.1).abs() < 1e-9,
        "[lon, lat]: {c:?}"
    );
    // The group-robot format is markdown with the Chinese headline.
    wait_for("the WeCom message", Duration::from_secs(20), || {
        !wecom.got().is_empty()
    })
    .await;
    let w: Value = serde_json::from_slice(&wecom.got()[0].body).unwrap();
    assert_eq!(w["msgtype"], "markdown", "{w}");
    let text = w["markdown"]["content"].as_str().unwrap();
    assert!(text.contains(R_SHOP), "{text}");
    // Admins see each delivery's attempts.
    let (st, v) = json_of(
        s.get(Role::Admin, &format!("/api/webhooks/{hook_id}/deliveries"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let list = v["deliveries"].as_array().unwrap();
    let first = list
        .iter()
        .find(|d| d["event"] == "report.created")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(first["attempts"], 2, "{first}");
    assert_eq!(first["last_status"], 200, "{first}");
    assert!(
        first["delivered_at"].is_string() || first["delivered_at"].is_number(),
        "{first}"
    );
    // Deleting a webhook stops deliveries to it.
    let r = s
        .delete(Role::Admin, &format!("/api/webhooks/{hook_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let before = rx.got().len();
    file_report(&s, Role::Patrol, IN_G, "又一处").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(rx.got().len(), before);
}

// ---------------------------------------------------------------------------------------------
// Time limits across restarts: a real server process, stopped and started again.

struct Proc {
    child: Child,
    base: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn spawn(data: &Path) -> Proc {
    let mut child = Command::new(BIN)
        .args(database_args(data))
        .args(["--data", data.to_str().unwrap()])
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--web",
            "/nonexistent",
            "--webhook-retry",
            "0.3",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = common::await_listening(&mut child)
        .unwrap_or_else(|said| panic!("the server exited before listening: {said}"));
    Proc { child, base }
}

fn admin_token(data: &Path) -> String {
    let out = Command::new(BIN)
        .args(database_args(data))
        .args(["--data", data.to_str().unwrap()])
        .args([
            "user",
            "add",
            "boss",
            "--role",
            "admin",
            "--password",
            "Hunjiang-river-7391",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string()
}

async fn events_of(http: &reqwest::Client, p: &Proc, token: &str, id: i64) -> Value {
    let r = http
        .get(format!("{}/api/reports/{id}", p.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn count_kind(report: &Value, kind: &str) -> usize {
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_report_is_marked_overdue_and_escalated_exactly_once_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = admin_token(&data);
    let http = reqwest::Client::new();
    let rx = Receiver::default();
    let (port, rx_task) = rx.listen(0).await;

    let server = spawn(&data);
    let send = |m: reqwest::Method, base: &str, path: &str| {
        http.request(m, format!("{base}{path}")).bearer_auth(&token)
    };
    let r = send(reqwest::Method::POST, &server.base, "/api/zones")
        .json(&hand_made_zones())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let limits =
        json!({"default": {"dispatch_s": 4, "handle_s": 3600, "verify_s": 3600}, "categories": {}});
    let r = send(
        reqwest::Method::PUT,
        &server.base,
        "/api/settings/time-limits",
    )
    .json(&limits)
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = send(reqwest::Method::POST, &server.base, "/api/webhooks")
        .json(&json!({
            "url": format!("http://127.0.0.1:{port}/hook"),
            "events": ["report.created", "report.overdue", "report.escalated"],
            "secret": SECRET
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = send(reqwest::Method::POST, &server.base, "/api/reports")
        .json(&json!({"lon": IN_R.0, "lat": IN_R.1, "category": "garbage", "note": "无人处理"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let report: Value = r.json().await.unwrap();
    let id = report["id"].as_i64().unwrap();
    let due = report["due_at"].as_str().unwrap().to_string();
    assert!(!report["overdue"].as_bool().unwrap());
    wait_for(
        "report.created at the receiver",
        Duration::from_secs(20),
        || rx.got().iter().any(|r| r.event == "report.created"),
    )
    .await;
    // The server stops before the report is due, and the receiver goes down with it.
    drop(server);
    rx_task.abort();
    let _ = rx_task.await;
    let due_ms = xuncha::time::parse_rfc3339(&due).unwrap();
    while xuncha::time::now_ms() < due_ms + 500 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Started again after the deadline: the sweep marks it overdue and escalates it, once.
    let server = spawn(&data);
    let start = Instant::now();
    let v = loop {
        let v = events_of(&http, &server, &token, id).await;
        if v["overdue"] == true {
            break v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never overdue: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(v["escalated_to"], G_OWNER, "{v}");
    // The receiver comes back while deliveries are being retried.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, _rx_task) = rx.listen(port).await;
    drop(server);
    let server = spawn(&data);
    wait_for(
        "overdue and escalated deliveries",
        Duration::from_secs(30),
        || {
            let got = rx.got();
            ["report.overdue", "report.escalated"]
                .iter()
                .all(|e| got.iter().any(|r| r.event == *e && r.answered == 200))
        },
    )
    .await;
    // Two sweeps later, after another restart, still exactly once.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let v = events_of(&http, &server, &token, id).await;
    assert_eq!(count_kind(&v, "overdue"), 1, "{v}");
    assert_eq!(count_kind(&v, "escalated"), 1, "{v}");
    let mut per_event: HashMap<String, Vec<String>> = HashMap::new();
    for r in rx.got().iter().filter(|r| r.answered == 200) {
        assert_eq!(r.signature, sign(SECRET, &r.body));
        per_event
            .entry(r.event.clone())
            .or_default()
            .push(r.delivery.clone());
    }
    for e in ["report.created", "report.overdue", "report.escalated"] {
        assert_eq!(
            per_event.get(e).map(Vec::len),
            Some(1),
            "{e}: {per_event:?}"
        );
    }
    // The office queue finds it with overdue=true; the statistics count it.
    let r = send(
        reqwest::Method::GET,
        &server.base,
        "/api/reports?overdue=true",
    )
    .send()
    .await
    .unwrap();
    let list: Value = r.json().await.unwrap();
    assert_eq!(ids_of(&list), [id]);
    let r = send(reqwest::Method::POST, &server.base, "/api/reports")
        .json(&json!({"lon": IN_G.0, "lat": IN_G.1, "category": "garbage", "note": "刚报的"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let fresh = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let r = send(
        reqwest::Method::GET,
        &server.base,
        "/api/reports?overdue=false",
    )
    .send()
    .await
    .unwrap();
    let list: Value = r.json().await.unwrap();
    assert_eq!(ids_of(&list), [fresh]);
    let r = send(
        reqwest::Method::GET,
        &server.base,
        "/api/reports?overdue=true",
    )
    .send()
    .await
    .unwrap();
    let list: Value = r.json().await.unwrap();
    assert_eq!(ids_of(&list), [id]);
    let r = send(reqwest::Method::GET, &server.base, "/api/stats?group=owner")
        .send()
        .await
        .unwrap();
    let stats: Value = r.json().await.unwrap();
    assert_eq!(stats["totals"]["overdue"], 1, "{stats}");
    assert_eq!(
        stats["totals"]["on_time_share"], 0.5,
        "one of two ran late: {stats}"
    );
}

// ---------------------------------------------------------------------------------------------
// The audit log.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_leaves_one_audit_row_and_the_log_cannot_be_edited() {
    let s = TestServer::start().await;
    let mut expected: Vec<&str> = Vec::new();
    // Sign-in, failed sign-in, sign-out.
    let login = |user: &str, pw: &str| {
        let r = s
            .http
            .post(s.url("/api/login"))
            .json(&json!({"username": user, "password": pw, "token": true}));
        async move { json_of(r.send().await.unwrap()).await }
    };
    let (st, v) = login("office", "office-pw").await;
    assert_eq!(st, 200, "{v}");
    let session = v["token"].as_str().unwrap().to_string();
    expected.push("auth.login");
    let (st, _) = login("office", "wrong-password").await;
    assert_eq!(st, 401);
    expected.push("auth.login_failed");
    let r = s
        .http
        .post(s.url("/api/logout"))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    expected.push("auth.logout");
    // Zones: create, edit, retire.
    load_zones(&s).await;
    expected.extend(["zone.create"; 5]);
    let (_, z) = json_of(s.get(Role::Planner, "/api/zones/a").send().await.unwrap()).await;
    let mut edited = z.clone();
    edited["name"] = json!("改名的认养绿地");
    let r = s
        .put(Role::Planner, "/api/zones/a")
        .header("if-match", "\"1\"")
        .json(&edited)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    expected.push("zone.update");
    let r = s
        .delete(Role::Planner, "/api/zones/a")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    expected.push("zone.retire");
    // A report and its transitions.
    let id = file_report(&s, Role::Patrol, IN_R, "审计").await;
    expected.push("report.create");
    let (st, _) = json_of(
        s.http
            .patch(s.url(&format!("/api/reports/{id}")))
            .bearer_auth(&s.tokens[&Role::Office])
            .json(&json!({"status": "dispatched"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    expected.push("report.dispatched");
    // Users: create, disable (its token stops at once), reset a password.
    let (uid, utoken) = make_user(
        &s,
        json!({"username": "temp", "role": "patrol", "password": "Hunjiang-river-7391"}),
    )
    .await;
    expected.push("user.create");
    let ok = s
        .http
        .get(s.url("/api/me"))
        .bearer_auth(&utoken)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let r = s
        .http
        .patch(s.url(&format!("/api/users/{uid}")))
        .bearer_auth(&s.tokens[&Role::Admin])
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    expected.push("user.update");
    let gone = s
        .http
        .get(s.url("/api/me"))
        .bearer_auth(&utoken)
        .send()
        .await
        .unwrap();
    assert_eq!(
        gone.status(),
        401,
        "a disabled user's token must stop working at once"
    );
    let r = s
        .post(Role::Admin, &format!("/api/users/{uid}/password"))
        .json(&json!({"password": "Another-river-8412"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    expected.push("user.password_reset");
    // Settings and webhooks.
    let r = s
        .put(Role::Admin, "/api/settings/time-limits")
        .json(&json!({"default": {"dispatch_s": 7200, "handle_s": 86400, "verify_s": 86400}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    expected.push("settings.time_limits");
    let (st, v) = json_of(
        s.post(Role::Admin, "/api/webhooks")
            .json(&json!({"url": "http://127.0.0.1:9/hook", "events": ["zone.changed"], "secret": SECRET}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    expected.push("webhook.create");
    let r = s
        .delete(
            Role::Admin,
            &format!("/api/webhooks/{}", v["webhook"]["id"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    expected.push("webhook.delete");
    // Refused writes leave nothing.
    let r = s
        .put(Role::Office, "/api/settings/time-limits")
        .json(&json!({"default": {"dispatch_s": 1, "handle_s": 1, "verify_s": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let (st, log) = json_of(
        s.get(Role::Admin, "/api/audit?limit=1000")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200, "{log}");
    let entries = log["entries"].as_array().unwrap();
    let mut got: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "one row per write");
    for e in entries {
        assert!(e["at"].is_string(), "{e}");
        assert!(e["user"].is_string(), "{e}");
    }
    let failed = entries
        .iter()
        .find(|e| e["action"] == "auth.login_failed")
        .unwrap();
    assert_eq!(failed["user"], "office");
    assert_eq!(failed["ip"], "127.0.0.1");
    let dispatched = entries
        .iter()
        .find(|e| e["action"] == "report.dispatched")
        .unwrap();
    assert_eq!(dispatched["user"], "office");
    assert_eq!(dispatched["role"], "office");
    assert_eq!(dispatched["object"], format!("report:{id}"));
    // Filters and paging.
    let (_, v) = json_of(
        s.get(Role::Admin, "/api/audit?action=zone.")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["entries"].as_array().unwrap().len(), 7, "{v}");
    let (_, v) = json_of(
        s.get(Role::Admin, "/api/audit?user=planner&limit=3")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let page1 = v["entries"].as_array().unwrap().clone();
    assert_eq!(page1.len(), 3);
    let before = v["next_before"].as_i64().unwrap();
    let (_, v) = json_of(
        s.get(
            Role::Admin,
            &format!("/api/audit?user=planner&limit=3&before={before}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let page2 = v["entries"].as_array().unwrap();
    assert!(!page2.is_empty());
    assert!(page2.iter().all(|e| e["id"].as_i64().unwrap() < before));
    // CSV for spreadsheets.
    let r = s
        .get(Role::Admin, "/api/audit?format=csv&limit=1000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let csv = r.text().await.unwrap();
    assert_eq!(csv.lines().count(), expected.len() + 1, "{csv}");
    // Append-only: no route edits or deletes it.
    for m in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        let r = s
            .http
            .request(m.clone(), s.url("/api/audit"))
            .bearer_auth(&s.tokens[&Role::Admin])
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{m} /api/audit");
    }
    let (_, after) = json_of(
        s.get(Role::Admin, "/api/audit?limit=1000")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(after["entries"].as_array().unwrap().len(), expected.len());
    // Only admins read it.
    let r = s.get(Role::Office, "/api/audit").send().await.unwrap();
    assert_eq!(r.status(), 403);
}

/// The office chooses when a dispatch is due (or takes the category's limit); a time that has
/// passed or is too far off is refused and changes nothing; a rejection is undone by reopening,
/// which drops the duplicate link while the history keeps both steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_sets_its_due_time_and_a_rejection_is_undone_by_reopening() {
    let s = TestServer::start().await;
    load_zones(&s).await;
    let patch = |id: i64, body: Value| {
        let r = s
            .http
            .patch(s.url(&format!("/api/reports/{id}")))
            .bearer_auth(&s.tokens[&Role::Office])
            .json(&body);
        async move { json_of(r.send().await.unwrap()).await }
    };
    let get = |id: i64| {
        let r = s.get(Role::Office, &format!("/api/reports/{id}"));
        async move { json_of(r.send().await.unwrap()).await.1 }
    };
    let now_s = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    let rfc = |unix_s: i64| xuncha::time::to_rfc3339(unix_s * 1000);

    let id = file_report(&s, Role::Patrol, IN_R, "门前堆放垃圾").await;
    let before = get(id).await;
    for (due, code) in [
        (rfc(now_s() - 60), "due_at_past"),
        (rfc(now_s() + 91 * 86_400), "due_at_too_far"),
        ("tomorrow".to_string(), "bad_time"),
    ] {
        let (st, v) = patch(id, json!({"status": "dispatched", "due_at": due})).await;
        assert_eq!((st, v["code"].as_str()), (422, Some(code)), "{due}: {v}");
    }
    let (st, v) = patch(
        id,
        json!({"status": "rejected", "reason": "invalid", "due_at": rfc(now_s() + 3600)}),
    )
    .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (422, Some("due_at_without_dispatch")),
        "{v}"
    );
    assert_eq!(
        get(id).await,
        before,
        "refused changes leave the report as it was"
    );

    // A chosen due time, three days ahead (beyond the category's 24 h limit).
    let due = now_s() + 3 * 86_400;
    let (st, v) = patch(id, json!({"status": "dispatched", "due_at": rfc(due)})).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["due_at"], rfc(due), "{v}");
    assert_eq!(v["assigned_to"], R_SHOP);
    // Without one, the category's limit (garbage: 24 h to handle) applies.
    let other = file_report(&s, Role::Patrol, IN_R, "又一处垃圾").await;
    let t0 = now_s();
    let (st, v) = patch(other, json!({"status": "dispatched"})).await;
    assert_eq!(st, 200, "{v}");
    let due_ms = xuncha::time::parse_rfc3339(v["due_at"].as_str().unwrap()).unwrap();
    let due_s = due_ms / 1000;
    assert!(
        (t0 + 86_400 - 2..=now_s() + 86_400 + 2).contains(&due_s),
        "24 h from now: {v}"
    );

    // Reject as a duplicate of the first, then undo by reopening.
    let (st, v) = patch(
        other,
        json!({"status": "rejected", "reason": "duplicate", "duplicate_of": id}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["duplicate_of"], id);
    assert_eq!(get(id).await["duplicated_by"], json!([other]));
    let (st, v) = patch(
        other,
        json!({"status": "reopened", "note": "不是重复，撤销驳回"}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "reopened");
    assert!(v["duplicate_of"].is_null(), "{v}");
    assert!(
        v["due_at"].is_string(),
        "a reopened report is due for dispatch again: {v}"
    );
    assert_eq!(
        get(id).await["duplicated_by"],
        json!([]),
        "the original no longer lists it"
    );
    let kinds: Vec<String> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        kinds.ends_with(&["dispatched".into(), "rejected".into(), "reopened".into()]),
        "{kinds:?}"
    );
}
