//! The public map (随手拍) against a real server: off by default (404), and when on it shows
//! open reports and zones to anyone without a reporter's name, user id, note, note author or
//! original photo, and limits each client address.

mod common;

use common::{inside_zone, jpeg, photo_part, start_with, Srv};
use reqwest::multipart::Form;
use serde_json::{json, Value};

/// `GET path` without signing in: status and body.
async fn anon_bytes(s: &Srv, path: &str) -> (u16, Vec<u8>) {
    let r = s.http.get(s.url(path)).send().await.unwrap();
    let st = r.status().as_u16();
    (st, r.bytes().await.unwrap().to_vec())
}

/// `GET path` without signing in: status and JSON body (`null` when it is not JSON).
async fn anon(s: &Srv, path: &str) -> (u16, Value) {
    let (st, b) = anon_bytes(s, path).await;
    (st, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

/// Whether `needle` occurs in `body`.
fn holds(body: &[u8], needle: &[u8]) -> bool {
    body.windows(needle.len()).any(|w| w == needle)
}

/// What must never appear in a public answer: the reporter's name and id, the note and its
/// words, and the URL of an original photo.
fn assert_nothing_personal(body: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!body.contains(s), "public answer holds {s:?}: {body}");
    }
    for key in [
        "created_by",
        "\"user\"",
        "user_id",
        "username",
        "note",
        "/original",
    ] {
        assert!(!body.contains(key), "public answer holds {key}: {body}");
    }
}

#[tokio::test]
async fn disabled_by_default_every_public_route_is_404() {
    let s = start_with(true, |_| {}).await;
    let (lon, lat) = inside_zone("rz-0003");
    let (st, v) = s
        .post_json(
            "patrol",
            json!({"lon": lon, "lat": lat, "category": "garbage"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    for path in [
        "/api/public/style.json".to_string(),
        "/api/public/tiles/16/57300/24400.mvt".into(),
        format!("/api/public/reports/{id}"),
        "/api/public/zones/rz-0003".into(),
        "/api/public/photos/abc/thumb".into(),
    ] {
        let (st, v) = anon(&s, &path).await;
        assert_eq!(st, 404, "{path}: {v}");
        assert_eq!(v["code"], "public_map_disabled", "{path}: {v}");
    }
}

#[tokio::test]
async fn open_reports_and_zones_without_anything_personal() {
    let s = start_with(true, |c| {
        c.public_map = true;
        c.geodata_dir = common::geodata();
    })
    .await;
    let (lon, lat) = inside_zone("rz-0003");
    let note = "张三 13900001111 在门口看到";
    let form = Form::new()
        .text("lon", lon.to_string())
        .text("lat", lat.to_string())
        .text("category", "garbage")
        .text("note", note)
        .part("photo", photo_part(jpeg(800, 600, 7), "a.jpg"));
    let (st, v) = s.post_form("patrol", form).await;
    assert_eq!(st, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let photo = v["photos"][0]["id"].as_str().unwrap().to_string();
    let (_, full) = s.get_json("office", &format!("/api/reports/{id}")).await;
    let reporter = full["created_by"].as_str().unwrap().to_string();
    assert_eq!(reporter, "patrol");

    // The report, as anyone sees it.
    let (st, body) = anon_bytes(&s, &format!("/api/public/reports/{id}")).await;
    assert_eq!(st, 200);
    let text = String::from_utf8(body).unwrap();
    assert_nothing_personal(&text, &["张三", "13900001111", "门口看到"]);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["id"], id);
    assert_eq!(v["category"], "garbage");
    assert_eq!(v["status"], "reported");
    assert_eq!(v["status_zh"], "已上报");
    assert_eq!(v["lon"].as_f64().unwrap(), lon);
    assert_eq!(v["zone"]["id"], "rz-0003");
    assert!(v["zone"]["owner"]["contact"]
        .as_str()
        .is_some_and(|c| !c.is_empty()));
    assert_eq!(v["responsible_owner"], v["zone"]["owner"]["name"]);
    let thumbs: Vec<&str> = v["thumbs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(thumbs, [format!("/api/public/photos/{photo}/thumb")]);
    let r = s.http.get(s.url(thumbs[0])).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert!(
        img.width().max(img.height()) <= 320,
        "a thumbnail, not the photo"
    );
    // The photo itself and its original stay behind sign-in.
    for path in [
        format!("/api/photos/{photo}"),
        format!("/api/photos/{photo}/original"),
    ] {
        assert_eq!(anon(&s, &path).await.0, 401, "{path}");
    }
    assert_eq!(
        anon(&s, &format!("/api/public/photos/{photo}/original"))
            .await
            .0,
        404
    );

    // The zone with its owner and contact.
    let (st, z) = anon(&s, "/api/public/zones/rz-0003").await;
    assert_eq!(st, 200, "{z}");
    assert_eq!(z["kind"], "responsibility");
    assert!(z["owner"]["name"].as_str().is_some_and(|n| !n.is_empty()));
    // Hotspots and patrol routes are not public; unknown ids are 404.
    for zid in ["hotspot-market-lane", "route-north-bank", "no-such-zone"] {
        assert_eq!(
            anon(&s, &format!("/api/public/zones/{zid}")).await.0,
            404,
            "{zid}"
        );
    }

    // The style points at the public tiles, and the tile at the report holds it, with nothing
    // personal in its bytes.
    let (st, style) = anon(&s, "/api/public/style.json").await;
    assert_eq!(st, 200);
    let tiles = style["sources"]["xuncha"]["tiles"][0].as_str().unwrap();
    assert!(
        tiles.ends_with("/api/public/tiles/{z}/{x}/{y}.mvt"),
        "{tiles}"
    );
    let (x, y) = xuncha::campaign::bulletin::tile_of(lon, lat, 16);
    let (st, body) = anon_bytes(&s, &format!("/api/public/tiles/16/{x}/{y}.mvt")).await;
    assert_eq!(st, 200);
    let has = |needle: &[u8]| holds(&body, needle);
    assert!(
        has(b"reports") && has(b"garbage"),
        "the report is in the tile"
    );
    assert!(has(b"zones") && has("rz-0003".as_bytes()));
    assert!(!has(reporter.as_bytes()) && !has("张三".as_bytes()));
    assert!(!has(b"routes"), "no patrol routes on the public tiles");
    // Hotspots are the office's working notes: in the office's tiles, not in the public ones.
    let h = xuncha::campaign::bulletin::tile_of(126.4056, 41.9323, 16);
    let (_, public) = anon_bytes(&s, &format!("/api/public/tiles/16/{}/{}.mvt", h.0, h.1)).await;
    let office = s
        .get("office", &format!("/tiles/16/{}/{}.mvt", h.0, h.1))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        holds(&office, b"hotspot-market-lane"),
        "the office tile has the hotspot"
    );
    assert!(
        !holds(&public, b"hotspot-market-lane"),
        "the public tile does not"
    );

    // A rejected report leaves the public map, photo included.
    let (st, v) = s
        .patch_json(
            "office",
            id,
            json!({"status": "rejected", "reason": "invalid"}),
        )
        .await;
    assert!(st == 200, "{st} {v}");
    let (st, v) = anon(&s, &format!("/api/public/reports/{id}")).await;
    assert_eq!(st, 404, "{v}");
    assert_eq!(anon(&s, thumbs[0]).await.0, 404);
}

#[tokio::test]
async fn each_client_address_is_limited() {
    let s = start_with(true, |c| {
        c.public_map = true;
        c.public_map_per_minute = 5;
    })
    .await;
    for i in 0..5 {
        let (st, v) = anon(&s, "/api/public/zones/rz-0003").await;
        assert_eq!(st, 200, "request {i}: {v}");
    }
    let r = s
        .http
        .get(s.url("/api/public/zones/rz-0003"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&wait), "{wait}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "rate_limited");
    // Signed-in users are not counted against it.
    let (st, _) = s.get_json("office", "/api/zones/rz-0003").await;
    assert_eq!(st, 200);
}
