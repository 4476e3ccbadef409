//! Patrol tracks and route coverage against a real server (issue 14).
//!
//! A hand-made straight route of 0.005° of longitude (≈ 415 m) at 41.90°N near 白山市, 20 m wide,
//! and a track along its first 60 %, 6 m north of the centreline. Coverage is computed again
//! here, segment by segment, with its own projection. Dates are fixed in the past.

mod common;

use serde_json::{json, Value};

const LON0: f64 = 126.42;
const LAT0: f64 = 41.90;
const LON1: f64 = 126.425;
const HALF_W: f64 = 10.0;

/// Metres per degree at `lat` (the usual series on the WGS84 ellipsoid), independent of the server's.
fn m_per_deg(lat: f64) -> (f64, f64) {
    let p = lat.to_radians();
    let lat_m = 111_132.954 - 559.822 * (2.0 * p).cos() + 1.175 * (4.0 * p).cos();
    let lon_m = 111_412.84 * p.cos() - 93.5 * (3.0 * p).cos() + 0.118 * (5.0 * p).cos();
    (lon_m, lat_m)
}

/// `[lon, lat]` of a point `east_m` along the route and `north_m` from it.
fn at(east_m: f64, north_m: f64) -> (f64, f64) {
    let (mx, my) = m_per_deg(LAT0);
    (LON0 + east_m / mx, LAT0 + north_m / my)
}

/// Which 10 m segments of the route the points walk: within `HALF_W` of the segment.
fn expected_walked(points: &[(f64, f64)]) -> Vec<bool> {
    let (mx, my) = m_per_deg(LAT0);
    let len = (LON1 - LON0) * mx;
    let n = (len / 10.0).ceil() as usize;
    (0..n)
        .map(|i| {
            let (a, b) = (i as f64 * 10.0, ((i + 1) as f64 * 10.0).min(len));
            points.iter().any(|(lon, lat)| {
                let x = (lon - LON0) * mx;
                let y = (lat - LAT0) * my;
                let dx = if x < a {
                    a - x
                } else if x > b {
                    x - b
                } else {
                    0.0
                };
                (dx * dx + y * y).sqrt() <= HALF_W
            })
        })
        .collect()
}

async fn send(
    srv: &common::Srv,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let r = srv
        .http
        .request(method, srv.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn t(sec: i64) -> String {
    // 2025-06-10 07:05:00 +08:00 plus `sec` seconds.
    let base = xuncha::time::parse_rfc3339("2025-06-10T07:05:00+08:00").unwrap();
    xuncha::time::to_rfc3339(base + sec * 1000)
}

#[tokio::test]
async fn tracks_coverage_checkins_and_missed_windows() {
    let srv = common::start().await;
    let tok = |r: &str| srv.tokens[r].clone();
    let put = reqwest::Method::PUT;
    let post = reqwest::Method::POST;

    // The route, with a check-in point at its start.
    let start_cp = at(0.0, 0.0);
    let route = json!({
        "type": "Feature", "id": "route-test",
        "geometry": {"type": "LineString", "coordinates": [[LON0, LAT0], [LON1, LAT0]]},
        "properties": {
            "kind": "patrol_route", "name": "测试巡逻路线",
            "owner": {"name": "测试巡逻队", "sector": "community", "contact": "0439-0000000"},
            "properties": {
                "width_m": 2.0 * HALF_W, "schedule": "每日 07:00、16:00 两巡",
                "checkpoints": [{"name": "西入口", "lon": start_cp.0, "lat": start_cp.1, "radius_m": 15}]
            }
        }
    });
    let (s, b) = send(
        &srv,
        post.clone(),
        &tok("planner"),
        "/api/zones",
        route.clone(),
    )
    .await;
    assert!(s == 201 || s == 200, "{s} {b}");
    // A bad check-in point is refused by the zone parser with a reason.
    let mut bad = route.clone();
    bad["id"] = json!("route-bad");
    bad["properties"]["properties"]["checkpoints"][0]["radius_m"] = json!(-3);
    let (s, b) = send(&srv, post.clone(), &tok("planner"), "/api/zones", bad).await;
    assert!((400..500).contains(&s), "{s} {b}");
    assert!(b.to_string().contains("radius_m"), "{b}");

    // Starting: 201, then 200 with the first record; another user's id → 409; roles.
    let id = "0f8e2a34-patrol-a";
    let body = json!({"route": "route-test", "started_at": t(0)});
    let (s, first) = send(
        &srv,
        put.clone(),
        &tok("patrol"),
        &format!("/api/patrols/{id}"),
        body.clone(),
    )
    .await;
    assert_eq!(s, 201, "{first}");
    assert_eq!(first["user"], "patrol");
    assert_eq!(first["points"], 0);
    let (s, again) = send(
        &srv,
        put.clone(),
        &tok("patrol"),
        &format!("/api/patrols/{id}"),
        json!({"route": null, "started_at": t(99)}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(again, first, "first write wins");
    let (s, b) = send(
        &srv,
        put.clone(),
        &tok("office"),
        &format!("/api/patrols/{id}"),
        body.clone(),
    )
    .await;
    assert_eq!(s, 409, "{b}");
    assert_eq!(b["code"], "patrol_id_taken");
    let (s, _) = send(
        &srv,
        put.clone(),
        &tok("unit"),
        "/api/patrols/unit-patrol-1",
        body.clone(),
    )
    .await;
    assert_eq!(s, 403);
    let (s, b) = send(
        &srv,
        put.clone(),
        &tok("patrol"),
        "/api/patrols/x-patrol-2",
        json!({"route": "no-such-route", "started_at": t(0)}),
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("unknown_route")), "{b}");
    let (s, b) = send(
        &srv,
        post.clone(),
        &tok("patrol"),
        "/api/patrols/never-started/points",
        json!({"points": []}),
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (404, Some("patrol_not_found")),
        "{b}"
    );

    // The track: every 7 m, 6 m north, along the first 60 % (≈ 249 m), one point a second.
    let mut pts = Vec::new();
    let mut track = Vec::new();
    let mut seq = 0;
    let mut x = 0.5;
    while x < 249.0 {
        let (lon, lat) = at(x, 6.0);
        track.push((lon, lat));
        pts.push(json!({"seq": seq, "t": t(seq), "lon": lon, "lat": lat, "accuracy_m": 8.0}));
        seq += 1;
        x += 7.0;
    }
    let n_track = pts.len();
    // A repeated seq in the same batch, a poor one, an impossible jump and bad coordinates.
    let mut batch = pts.clone();
    batch.push(pts[3].clone());
    let far = at(x, 6.0);
    batch.push(json!({"seq": 500, "t": t(seq), "lon": far.0, "lat": far.1, "accuracy_m": 80.0}));
    let jump = at(x + 1000.0, 6.0);
    batch.push(
        json!({"seq": 501, "t": t(seq + 1), "lon": jump.0, "lat": jump.1, "accuracy_m": 5.0}),
    );
    batch.push(json!({"seq": 502, "t": t(seq + 2), "lon": 200.0, "lat": 41.9, "accuracy_m": 5.0}));
    batch.push(json!({"seq": 503, "t": "yesterday", "lon": LON0, "lat": LAT0, "accuracy_m": 5.0}));
    let path = format!("/api/patrols/{id}/points");
    let (s, r) = send(
        &srv,
        post.clone(),
        &tok("patrol"),
        &path,
        json!({"points": batch}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["accepted"], n_track, "{r}");
    assert_eq!(r["duplicates"], 1, "{r}");
    let codes: Vec<(i64, String)> = r["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["seq"].as_i64().unwrap(),
                x["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(codes.contains(&(500, "poor_accuracy".into())), "{codes:?}");
    assert!(
        codes.contains(&(501, "impossible_jump".into())),
        "{codes:?}"
    );
    assert!(
        codes.contains(&(502, "bad_coordinates".into())),
        "{codes:?}"
    );
    assert!(codes.contains(&(503, "bad_time".into())), "{codes:?}");
    assert!(r["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["reason"].as_str().is_some_and(|s| !s.is_empty())));
    assert_eq!(r["checkins"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["checkins"][0]["name"], "西入口");
    // The same batch again: nothing new, all duplicates, no second check-in.
    let (s, r) = send(
        &srv,
        post.clone(),
        &tok("patrol"),
        &path,
        json!({"points": pts}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        (r["accepted"].as_i64(), r["duplicates"].as_i64()),
        (Some(0), Some(n_track as i64)),
        "{r}"
    );
    assert!(r["checkins"].as_array().unwrap().is_empty());
    // Too many points in one request; JSON that is not a batch.
    let many: Vec<Value> = (0..2001)
        .map(|i| json!({"seq": 10_000 + i, "t": t(0), "lon": LON0, "lat": LAT0, "accuracy_m": 1}))
        .collect();
    let (s, b) = send(
        &srv,
        post.clone(),
        &tok("patrol"),
        &path,
        json!({"points": many}),
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (413, Some("too_many_points")),
        "{b}"
    );
    let (s, b) = send(
        &srv,
        post.clone(),
        &tok("patrol"),
        &path,
        json!({"dots": 1}),
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("bad_points")), "{b}");

    // End (idempotent); a point after the end is refused, one before still counts.
    let end = format!("/api/patrols/{id}/end");
    let (s, e1) = send(
        &srv,
        post.clone(),
        &tok("patrol"),
        &end,
        json!({"ended_at": t(seq + 10)}),
    )
    .await;
    assert_eq!(s, 200, "{e1}");
    let (_, e2) = send(
        &srv,
        post.clone(),
        &tok("patrol"),
        &end,
        json!({"ended_at": t(seq + 500)}),
    )
    .await;
    assert_eq!(e1, e2);
    assert_eq!(e1["points"], n_track);
    let last = at(x - 7.0 + 3.0, 6.0);
    let (_, r) = send(
        &srv,
        post.clone(),
        &tok("patrol"),
        &path,
        json!({"points": [
            {"seq": 900, "t": t(seq + 20), "lon": last.0, "lat": last.1, "accuracy_m": 5},
        ]}),
    )
    .await;
    assert_eq!(r["rejected"][0]["code"], "after_end", "{r}");

    // The record with its track, to its owner and to the office; not to another patrol.
    let (s, rec) = srv.get_json("patrol", &format!("/api/patrols/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(rec["track"]["type"], "LineString");
    assert_eq!(
        rec["track"]["coordinates"].as_array().unwrap().len(),
        n_track
    );
    assert!(
        (rec["distance_m"].as_f64().unwrap() - 7.0 * (n_track - 1) as f64).abs() < 1.0,
        "{}",
        rec["distance_m"]
    );
    let (other, other_tok) = srv
        .state
        .add_user("patrol2", xuncha::auth::Role::Patrol, "a-long-password-2")
        .unwrap();
    assert_eq!(other.username, "patrol2");
    let r = srv
        .http
        .get(srv.url(&format!("/api/patrols/{id}")))
        .bearer_auth(&other_tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let (s, _) = send(
        &srv,
        put.clone(),
        &other_tok,
        "/api/patrols/patrol2-free-1",
        json!({"route": null, "started_at": t(0)}),
    )
    .await;
    assert_eq!(s, 201);
    let r: Value = srv
        .http
        .get(srv.url("/api/patrols?date=2025-06-10"))
        .bearer_auth(&other_tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["patrol2-free-1"], "a patrol sees only its own");
    let (_, all) = srv.get_json("office", "/api/patrols?date=2025-06-10").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (_, none) = srv.get_json("office", "/api/patrols?date=2025-06-11").await;
    assert!(none.as_array().unwrap().is_empty());

    // Coverage equals the independent computation, segment by segment.
    let (s, cov) = srv
        .get_json(
            "office",
            "/api/patrols/coverage?route=route-test&date=2025-06-10",
        )
        .await;
    assert_eq!(s, 200, "{cov}");
    let want = expected_walked(&track);
    let got: Vec<bool> = cov["segments"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["walked"].as_bool().unwrap())
        .collect();
    assert_eq!(cov["segments_total"], want.len());
    assert_eq!(got, want);
    let walked = want.iter().filter(|w| **w).count();
    assert_eq!(cov["segments_walked"], walked);
    assert!((cov["share"].as_f64().unwrap() - walked as f64 / want.len() as f64).abs() < 1e-12);
    assert!(
        (cov["route"]["length_m"].as_f64().unwrap() - (LON1 - LON0) * m_per_deg(LAT0).0).abs()
            < 0.5
    );
    assert!(
        cov["share"].as_f64().unwrap() > 0.55 && cov["share"].as_f64().unwrap() < 0.65,
        "{}",
        cov["share"]
    );
    assert_eq!(cov["teams"][0]["user"], "patrol");
    assert_eq!(cov["checkins"][0]["name"], "西入口");
    assert_eq!(cov["windows"][0]["label"], "07:00");
    assert_eq!(cov["windows"][0]["met"], false);
    assert_eq!(cov["windows"][0]["missed"], false, "not flagged yet");
    // Another day has nothing walked.
    let (_, other_day) = srv
        .get_json(
            "office",
            "/api/patrols/coverage?route=route-test&date=2025-06-11",
        )
        .await;
    assert_eq!(other_day["segments_walked"], 0);
    // CSV, the summary of every route, roles.
    let csv = srv
        .get(
            "office",
            "/api/patrols/coverage?route=route-test&date=2025-06-10&format=csv",
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("route-test") && csv.contains(",patrol,"),
        "{csv}"
    );
    let (s, sum) = srv
        .get_json("admin", "/api/patrols/coverage?date=2025-06-10")
        .await;
    assert_eq!(s, 200);
    assert!(sum
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["route"]["id"] == "route-test"));
    assert!(sum
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["route"]["id"] == "route-north-bank"));
    for role in ["patrol", "unit", "planner"] {
        let (s, _) = srv
            .get_json(
                role,
                "/api/patrols/coverage?route=route-test&date=2025-06-10",
            )
            .await;
        assert_eq!(s, 403, "{role}");
    }
    let (s, b) = srv
        .get_json(
            "office",
            "/api/patrols/coverage?route=route-test&date=10.06.2025",
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("bad_date")));

    // Missed windows: a webhook for patrol.missed, then the job at 16:00 of that day flags the
    // 07:00 window (60 % < 80 %) once, with one outbox row; running again adds nothing.
    let (s, b) = send(
        &srv,
        post.clone(),
        &tok("admin"),
        "/api/webhooks",
        json!({
            "url": "http://127.0.0.1:9/hook", "events": ["patrol.missed"],
            "secret": "a-webhook-secret-long-enough", "scope": "route-test"
        }),
    )
    .await;
    assert!(s == 201 || s == 200, "{s} {b}");
    let at16 = xuncha::time::parse_rfc3339("2025-06-10T16:00:00+08:00").unwrap();
    let n = xuncha::patrol::service::flag_missed(&srv.state, at16).unwrap();
    assert!(n >= 1);
    xuncha::patrol::service::flag_missed(&srv.state, at16 + 60_000).unwrap();
    let rows: Vec<String> = srv
        .state
        .store
        .read_sync(|c| {
            Ok(c.query_vec(
                "SELECT body FROM outbox WHERE event = 'patrol.missed'",
                &[],
                |r| r.get::<String>(0),
            )?)
        })
        .unwrap();
    let ours: Vec<&String> = rows
        .iter()
        .filter(|b| b.contains("2025-06-10") && b.contains("route-test"))
        .collect();
    assert_eq!(ours.len(), 1, "{rows:?}");
    assert!(
        ours[0].contains("07:00") && ours[0].contains("share"),
        "{}",
        ours[0]
    );
    let (_, cov) = srv
        .get_json(
            "office",
            "/api/patrols/coverage?route=route-test&date=2025-06-10",
        )
        .await;
    assert_eq!(cov["windows"][0]["missed"], true);
    assert_eq!(
        cov["windows"][1]["missed"], false,
        "the 16:00 window had not ended"
    );

    // Settings: a stricter accuracy refuses an 8 m point.
    let (s, b) = send(
        &srv,
        put.clone(),
        &tok("admin"),
        "/api/settings/patrols",
        json!({"patrol_max_accuracy_m": 5.0, "patrol_coverage_min": 0.9}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = send(
        &srv,
        put.clone(),
        &tok("office"),
        "/api/settings/patrols",
        json!({"patrol_max_accuracy_m": 5.0, "patrol_coverage_min": 0.9}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = send(
        &srv,
        put.clone(),
        &tok("admin"),
        "/api/settings/patrols",
        json!({"patrol_max_accuracy_m": 5.0, "patrol_coverage_min": 1.5}),
    )
    .await;
    assert_eq!(s, 400);
    let (_, r) = send(
        &srv,
        put.clone(),
        &tok("patrol"),
        "/api/patrols/patrol-b-0001",
        body.clone(),
    )
    .await;
    assert_eq!(r["user"], "patrol");
    let p0 = at(0.5, 0.0);
    let (_, r) = send(
        &srv,
        post.clone(),
        &tok("patrol"),
        "/api/patrols/patrol-b-0001/points",
        json!({"points": [
            {"seq": 0, "t": t(1), "lon": p0.0, "lat": p0.1, "accuracy_m": 8.0}
        ]}),
    )
    .await;
    assert_eq!(r["rejected"][0]["code"], "poor_accuracy", "{r}");
    let (_, cov) = srv
        .get_json(
            "office",
            "/api/patrols/coverage?route=route-test&date=2025-06-10",
        )
        .await;
    assert_eq!(cov["threshold"], 0.9);
}
