//! Property-based fuzzing of the parsers (issue 12, point 10), bounded so the whole file runs
//! in well under a minute in a debug build: the GeoJSON zone parser and validator, the
//! multipart report form, EXIF reading and the photo pipeline, and the query-string
//! parameters. Every input must be answered without a panic, and every bad input over HTTP with
//! a 4xx and a JSON reason (never a 5xx). The requests go through the real router in-process
//! (`tower::ServiceExt::oneshot`), with the real store behind it.
//!
//! Inputs that once broke something are kept in `tests/fixtures/fuzz/` and replayed by
//! [`found_crashers_stay_fixed`]: `zones-*.json` (a `POST /api/zones` body), `form-*.txt`
//! (a multipart body, boundary `XB`), `query-*.txt` (a path with its query), `exif-*.bin`
//! (photo bytes).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{jpeg, jpeg_with_exif, start_with, Srv};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::OnceLock;
use tower::ServiceExt;

/// `cases` × `XUNCHA_FUZZ_SCALE` (default 1; e.g. 100 for a long hunt).
fn config(cases: u32) -> ProptestConfig {
    let scale: u32 = std::env::var("XUNCHA_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    ProptestConfig {
        cases: cases * scale,
        max_shrink_iters: 500,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One runtime and one server (empty data folder, one user per role) for every case.
fn env() -> &'static (tokio::runtime::Runtime, Srv) {
    static ENV: OnceLock<(tokio::runtime::Runtime, Srv)> = OnceLock::new();
    ENV.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let srv = rt.block_on(start_with(false, |c| c.max_vertices = 2_000));
        (rt, srv)
    })
}

/// Sends a request through the router; returns the status and the body as JSON (or `Null`).
fn send(req: Request<Body>) -> (StatusCode, Value) {
    let (rt, srv) = env();
    rt.block_on(async {
        let resp = xuncha::app(srv.state.clone()).oneshot(req).await.unwrap();
        let st = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
            .await
            .unwrap();
        (st, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    })
}

fn token(role: &str) -> String {
    format!("Bearer {}", env().1.tokens[role])
}

/// Not a 5xx; a 4xx says what to fix.
fn answered(st: StatusCode, body: &Value) -> Result<(), TestCaseError> {
    prop_assert!(!st.is_server_error(), "{st}: {body}");
    if st.is_client_error() {
        prop_assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{st} without a reason: {body}"
        );
    }
    Ok(())
}

// ---- GeoJSON zones ----

fn coord() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => (126.40f64..126.41, 41.93f64..41.94).prop_map(|(x, y)| json!([x, y])),
        1 => (-200.0f64..200.0, -100.0f64..100.0).prop_map(|(x, y)| json!([x, y])),
        1 => Just(json!([126.405, 41.935, 12.0])),
        1 => Just(json!([126.405])),
        1 => Just(json!(["126.4", 41.9])),
        1 => Just(json!([1e308, -1e308])),
    ]
}

fn ring() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => prop::collection::vec(coord(), 0..9).prop_map(|mut v| {
            // Usually closed, as GeoJSON wants; sometimes not.
            if v.len() > 2 && v.len() % 3 != 0 {
                let first = v[0].clone();
                v.push(first);
            }
            Value::Array(v)
        }),
        1 => Just(json!([])),
        1 => Just(json!("ring")),
    ]
}

fn geometry() -> impl Strategy<Value = Value> {
    let rings = || prop::collection::vec(ring(), 0..3);
    prop_oneof![
        4 => rings().prop_map(|r| json!({"type": "Polygon", "coordinates": r})),
        2 => prop::collection::vec(rings(), 0..3)
            .prop_map(|p| json!({"type": "MultiPolygon", "coordinates": p})),
        2 => prop::collection::vec(coord(), 0..6)
            .prop_map(|c| json!({"type": "LineString", "coordinates": c})),
        1 => coord().prop_map(|c| json!({"type": "Point", "coordinates": c})),
        1 => Just(json!({"type": "GeometryCollection", "geometries": []})),
        1 => Just(Value::Null),
        1 => Just(json!({"type": "Polygon"})),
    ]
}

fn text() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z_]{0,12}".prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        Just(json!(42)),
        Just(Value::Null),
        Just(json!({"nested": []})),
    ]
}

fn feature() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        Just(json!("responsibility")),
        Just(json!("grid")),
        Just(json!("patrol_route")),
        Just(json!("hotspot")),
        Just(json!("green_adoption")),
        text(),
    ];
    let sector = prop_oneof![Just(json!("school")), Just(json!("hospital")), text()];
    (
        geometry(),
        kind,
        text(),
        sector,
        prop::option::of(prop_oneof![
            4 => -10.0f64..500.0,
            1 => Just(0.0),
            1 => Just(1e7),
            1 => Just(1e300),
            1 => Just(f64::MIN_POSITIVE),
        ]),
        prop::option::of(text()),
        prop::option::of("[a-zA-Z0-9_./ -]{0,20}"),
    )
        .prop_map(|(g, kind, name, sector, width, parent, id)| {
            let mut f = json!({
                "type": "Feature",
                "geometry": g,
                "properties": {"kind": kind, "name": name, "owner": {"name": "单位", "sector": sector}},
            });
            if let Some(w) = width {
                f["properties"]["width_m"] = json!(w);
            }
            if let Some(p) = parent {
                f["properties"]["parent"] = p;
            }
            if let Some(id) = id {
                f["id"] = json!(id);
            }
            f
        })
}

fn document() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::collection::vec(feature(), 0..4)
            .prop_map(|f| json!({"type": "FeatureCollection", "features": f})),
        2 => feature(),
        1 => any::<String>().prop_map(|s| json!({"type": s})),
        1 => Just(json!({"type": "FeatureCollection", "features": "no"})),
        1 => Just(json!([1, 2, 3])),
    ]
}

fn post_zones(body: Vec<u8>) -> (StatusCode, Value) {
    send(
        Request::post("/api/zones")
            .header("authorization", token("planner"))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap(),
    )
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn zone_documents_are_stored_or_refused_with_a_reason(doc in document()) {
        let opts = xuncha::zone::ParseOptions { default_kind: None, max_vertices: 2_000 };
        let _ = xuncha::zone::parse_features(&doc, opts);
        let (st, body) = post_zones(serde_json::to_vec(&doc).unwrap());
        answered(st, &body)?;
        prop_assert!(st == StatusCode::CREATED || st.is_client_error(), "{st}: {body}");
    }

    #[test]
    fn zone_bodies_that_are_not_json_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let (st, body) = post_zones(bytes);
        answered(st, &body)?;
    }
}

// ---- The multipart report form ----

#[derive(Debug, Clone)]
enum Part {
    Field(String, String),
    Photo(Vec<u8>),
}

fn photo_bytes() -> impl Strategy<Value = Vec<u8>> {
    let small = jpeg(24, 16, 3);
    let exif = jpeg_with_exif(
        24,
        16,
        4,
        6,
        Some((126.42, 41.94)),
        Some("2026:04:01 08:30:00"),
    );
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..64),
        3 => (Just(small), prop::collection::vec((any::<usize>(), any::<u8>()), 0..6)).prop_map(mutate),
        3 => (Just(exif), prop::collection::vec((any::<usize>(), any::<u8>()), 0..6)).prop_map(mutate),
        1 => (Just(jpeg(24, 16, 5)), any::<usize>()).prop_map(|(mut j, n)| { j.truncate(n % j.len().max(1)); j }),
    ]
}

fn mutate((mut bytes, edits): (Vec<u8>, Vec<(usize, u8)>)) -> Vec<u8> {
    for (at, b) in edits {
        let n = bytes.len();
        if n > 0 {
            bytes[at % n] = b;
        }
    }
    bytes
}

fn part() -> impl Strategy<Value = Part> {
    let name = prop_oneof![
        Just("lon".to_string()),
        Just("lat".to_string()),
        Just("accuracy_m".to_string()),
        Just("crs".to_string()),
        Just("category".to_string()),
        Just("note".to_string()),
        Just("captured_at".to_string()),
        Just("client_id".to_string()),
        "[a-z]{0,6}",
    ];
    let value = prop_oneof![
        Just("126.42".to_string()),
        Just("41.94".to_string()),
        Just("garbage".to_string()),
        Just("gcj02".to_string()),
        Just("2026-04-01T08:30:00+08:00".to_string()),
        Just("5b1c8e2e-7a0e-4c52-9a51-3f7f1c1f0a11".to_string()),
        "[ -~]{0,20}",
        any::<String>(),
    ];
    prop_oneof![
        3 => (name, value).prop_map(|(n, v)| Part::Field(n, v)),
        1 => photo_bytes().prop_map(Part::Photo),
    ]
}

fn form_body(parts: &[Part], cut: Option<usize>) -> Vec<u8> {
    let mut b = Vec::new();
    for p in parts {
        b.extend_from_slice(b"--XB\r\n");
        match p {
            Part::Field(n, v) => {
                b.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{n}\"\r\n\r\n{v}\r\n")
                        .as_bytes(),
                );
            }
            Part::Photo(bytes) => {
                b.extend_from_slice(
                    b"Content-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n",
                );
                b.extend_from_slice(bytes);
                b.extend_from_slice(b"\r\n");
            }
        }
    }
    b.extend_from_slice(b"--XB--\r\n");
    if let Some(c) = cut {
        b.truncate(c % (b.len() + 1));
    }
    b
}

fn post_form(body: Vec<u8>) -> (StatusCode, Value) {
    send(
        Request::post("/api/reports")
            .header("authorization", token("patrol"))
            .header("content-type", "multipart/form-data; boundary=XB")
            .body(Body::from(body))
            .unwrap(),
    )
}

proptest! {
    #![proptest_config(config(250))]

    #[test]
    fn report_forms_are_stored_or_refused_with_a_reason(
        parts in prop::collection::vec(part(), 0..7),
        cut in prop::option::weighted(0.2, any::<usize>()),
    ) {
        let (st, body) = post_form(form_body(&parts, cut));
        answered(st, &body)?;
        prop_assert!(st.is_success() || st.is_client_error(), "{st}: {body}");
    }
}

// ---- EXIF and the photo pipeline ----

fn limits() -> xuncha::report::photo::PhotoLimits {
    xuncha::report::photo::PhotoLimits {
        max_bytes: 1 << 20,
        max_pixels: 4_000_000,
        long_side: 64,
        thumb_side: 16,
        exif_utc_offset_s: 8 * 3600,
    }
}

proptest! {
    #![proptest_config(config(600))]

    #[test]
    fn exif_and_photos_never_panic(bytes in photo_bytes()) {
        let info = xuncha::report::photo::read_exif(&bytes, 8 * 3600);
        prop_assert!((1..=8).contains(&info.orientation));
        if let Some((lon, lat)) = info.gps {
            prop_assert!(lon.abs() <= 180.0 && lat.abs() <= 90.0);
        }
        let _ = xuncha::report::photo::process(&bytes, &limits());
    }

    #[test]
    fn exif_blocks_of_noise_never_panic(noise in prop::collection::vec(any::<u8>(), 0..300)) {
        // A JPEG whose APP1 "Exif" segment is noise.
        let base = jpeg(8, 8, 1);
        let len = (2 + 6 + noise.len()) as u16;
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE1];
        j.extend_from_slice(&len.to_be_bytes());
        j.extend_from_slice(b"Exif\0\0");
        j.extend_from_slice(&noise);
        j.extend_from_slice(&base[2..]);
        let info = xuncha::report::photo::read_exif(&j, 0);
        prop_assert!((1..=8).contains(&info.orientation));
        let _ = xuncha::report::photo::process(&j, &limits());
    }
}

// ---- Query strings ----

fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("bbox"),
        Just("lon"),
        Just("lat"),
        Just("accuracy_m"),
        Just("since"),
        Just("until"),
        Just("category"),
        Just("status"),
        Just("zone"),
        Just("limit"),
        Just("cursor"),
        Just("layers"),
        Just("kind"),
        Just("group"),
        Just("format"),
        Just("crs"),
        Just("x"),
    ];
    let value = prop_oneof![
        Just("126.4,41.9,126.5,42.0".to_string()),
        Just("2026-04-01T00:00:00Z".to_string()),
        Just("garbage,weeds".to_string()),
        Just("%E7%99%BD".to_string()),
        Just("%".to_string()),
        Just("%zz%4".to_string()),
        Just("-1e400".to_string()),
        Just("NaN".to_string()),
        "[0-9.,eE+-]{0,24}",
        "[ -~]{0,16}",
    ];
    prop::collection::vec((key, value), 0..6).prop_map(|kv| {
        kv.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn path() -> impl Strategy<Value = String> {
    let tile = (0u32..40, any::<u32>(), any::<u32>(), 0u8..4).prop_map(|(z, x, y, shape)| {
        let (x, y) = if shape == 0 {
            (x, y)
        } else {
            (x % (1 << z.min(24)), y % (1 << z.min(24)))
        };
        match shape {
            0 | 1 => format!("/tiles/{z}/{x}/{y}.mvt"),
            2 => format!("/heatmap/{z}/{x}/{y}.png"),
            _ => format!("/tiles/{z}/{x}/{y}"),
        }
    });
    prop_oneof![
        1 => Just("/api/reports".to_string()),
        1 => Just("/api/reports/nearby".to_string()),
        1 => Just("/api/zones".to_string()),
        1 => Just("/api/match".to_string()),
        1 => Just("/api/stats".to_string()),
        1 => Just("/api/workorders/nobody".to_string()),
        1 => Just("/api/reports/99999999999999999999".to_string()),
        1 => Just("/api/zones/..%2F..%2Fetc".to_string()),
        3 => tile,
    ]
}

fn get(path_and_query: &str) -> (StatusCode, Value) {
    send(
        Request::get(path_and_query)
            .header("authorization", token("office"))
            .body(Body::empty())
            .unwrap(),
    )
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn query_strings_are_answered_or_refused_with_a_reason(p in path(), q in query(), raw in "[ -~]{0,40}") {
        let params = xuncha::http::params::Params::from_query(Some(&raw)).unwrap();
        let _ = (params.bbox(), params.lon_lat(), params.int("limit", 1, 1..=10));
        let uri = format!("{p}?{q}");
        if let Ok(uri) = uri.parse::<axum::http::Uri>() {
            let (st, body) = get(&uri.to_string());
            if st.is_client_error() || st.is_server_error() {
                answered(st, &body)?;
            }
            prop_assert!(!st.is_server_error());
        }
    }
}

// ---- Regressions ----

#[test]
fn found_crashers_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let (st, body) = if name.starts_with("zones-") {
            post_zones(bytes)
        } else if name.starts_with("form-") {
            post_form(bytes)
        } else if name.starts_with("query-") {
            get(String::from_utf8(bytes).unwrap().trim())
        } else if name.starts_with("exif-") {
            let _ = xuncha::report::photo::read_exif(&bytes, 0);
            let _ = xuncha::report::photo::process(&bytes, &limits());
            n += 1;
            continue;
        } else {
            continue;
        };
        assert!(
            !st.is_server_error() && (st.is_success() || body["error"].is_string()),
            "{name}: {st} {body}"
        );
        // Numbers in reasons stay readable (1e300 once came back as 301 digits).
        assert!(
            !body.to_string().contains("0000000000000000000000000"),
            "{name}: {body}"
        );
        n += 1;
    }
    assert!(n > 0, "no fixtures in {}", dir.display());
}
