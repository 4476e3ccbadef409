//! Inspection reports against the real server on 127.0.0.1:0 (issue 3, points 1–6, 8, 9).

mod common;

use common::*;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

// ---- 1. Submitting -------------------------------------------------------------------------

#[tokio::test]
async fn json_submission_is_matched_to_the_responsible_zone() {
    let s = start().await;
    let (lon, lat) = inside_zone("rz-0001");
    let (st, v) = s
        .post_json(
            "patrol",
            json!({"lon": lon, "lat": lat, "category": "garbage", "note": "门口堆放生活垃圾", "accuracy_m": 3}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["status"], "reported");
    assert_eq!(v["location_source"], "client");
    assert_eq!(v["category"], "garbage");
    assert!((v["location"]["lon"].as_f64().unwrap() - lon).abs() < 1e-9);
    assert!((v["location"]["lat"].as_f64().unwrap() - lat).abs() < 1e-9);
    assert_eq!(v["responsible"]["zone_id"], "rz-0001");
    assert_eq!(
        v["responsible"]["owner"]["name"],
        "浑江区人力资源和社会保障局"
    );
    assert_eq!(v["ambiguous"], false);
    // The zones are exactly what /api/match says for the same point.
    let (_, m) = s
        .get_json(
            "patrol",
            &format!("/api/match?lon={lon}&lat={lat}&accuracy_m=3"),
        )
        .await;
    assert_eq!(v["zones"], m["matches"]);
    assert_eq!(v["responsible"], m["responsible"]);
    assert_eq!(v["photos"], json!([]));
    assert_eq!(v["possible_duplicates"], json!([]));
    // captured_at falls back to the receive time.
    assert!(xuncha::time::parse_rfc3339(v["captured_at"].as_str().unwrap()).unwrap() > 0);
    // Stored: GET returns it with its first event.
    let (st, g) = s
        .get_json("office", &format!("/api/reports/{}", id_of(&v)))
        .await;
    assert_eq!(st, 200);
    assert_eq!(g["responsible"], v["responsible"]);
    assert_eq!(g["events"][0]["to"], "reported");
    assert_eq!(g["events"][0]["user"], "patrol");
}

/// A report has one wire shape: every property of a list row is the single report's property
/// of the same name with the same value (photos: the same ones, without their sizes).
#[tokio::test]
async fn a_list_row_is_the_single_report_in_fewer_properties() {
    let s = start().await;
    let (lon, lat) = inside_zone("rz-0002");
    let form = Form::new()
        .text("lon", lon.to_string())
        .text("lat", lat.to_string())
        .text("category", "debris")
        .text("note", "同一形状")
        .part("photo", photo_part(jpeg(400, 300, 7), "a.jpg"));
    let (st, v) = s.post_form("patrol", form).await;
    assert_eq!(st, 201, "{v}");
    let id = id_of(&v);
    let (_, one) = s.get_json("office", &format!("/api/reports/{id}")).await;
    let (_, list) = s.get_json("office", "/api/reports?limit=5").await;
    let row = list["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("report {id} not in {list}"));
    assert_eq!(row["geometry"]["coordinates"], json!([lon, lat]));
    assert!(!one["zones"].as_array().unwrap().is_empty(), "{one}");
    let props = row["properties"].as_object().unwrap();
    assert!(props.len() >= 14, "{row}");
    for (k, got) in props {
        match k.as_str() {
            "photos" => {
                let want: Vec<Value> = one["photos"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| json!({"id": p["id"], "url": p["url"], "thumb_url": p["thumb_url"]}))
                    .collect();
                assert_eq!(got, &json!(want), "photos");
            }
            _ => assert_eq!(
                got, &one[k],
                "property {k:?}: list {got} vs single {}",
                one[k]
            ),
        }
    }
}

#[tokio::test]
async fn a_point_on_a_shared_edge_is_ambiguous_and_office_may_submit() {
    let s = start().await;
    let (st, v) = s
        .post_json(
            "office",
            json!({"lon": 126.3945265, "lat": 41.933488, "accuracy_m": 5, "category": "weeds", "captured_at": "2026-03-01T09:30:00+08:00"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["ambiguous"], true);
    let ids: Vec<&str> = v["zones"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|z| z["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"rz-0008") && ids.contains(&"rz-0009"),
        "{ids:?}"
    );
    assert_eq!(v["captured_at"], "2026-03-01T01:30:00Z");
}

#[tokio::test]
async fn multipart_with_photos_is_stored_normalized_and_served() {
    let s = start().await;
    let (lon, lat) = inside_zone("rz-0002");
    let big = jpeg(3000, 2000, 1);
    let form = Form::new()
        .text("lon", lon.to_string())
        .text("lat", lat.to_string())
        .text("category", "debris")
        .text("note", "建筑垃圾倾倒")
        .part("photo", photo_part(big.clone(), "a.jpg"))
        .part("photo", photo_part(jpeg(400, 300, 2), "b.jpg"));
    let (st, v) = s.post_form("patrol", form).await;
    assert_eq!(st, 201, "{v}");
    let photos = v["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 2);
    assert_eq!(
        (photos[0]["width"].as_u64(), photos[0]["height"].as_u64()),
        (Some(2048), Some(1365))
    );
    assert_eq!(
        (photos[1]["width"].as_u64(), photos[1]["height"].as_u64()),
        (Some(400), Some(300))
    );
    assert_eq!(photos[0]["id"], xuncha::report::photo::sha256_hex(&big));

    let r = s
        .get("patrol", photos[0]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let cache = r.headers()["cache-control"].to_str().unwrap().to_string();
    assert!(
        cache.contains("immutable") && cache.contains("max-age=31536000"),
        "{cache}"
    );
    let etag = r.headers()["etag"].clone();
    let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (2048, 1365));
    // A revalidation is answered without the body.
    let r = s
        .get("patrol", photos[0]["url"].as_str().unwrap())
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);

    let r = s
        .get("patrol", photos[0]["thumb_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let t = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!((t.width(), t.height()), (320, 213));
}

#[tokio::test]
async fn location_and_time_come_from_exif_when_not_given_and_orientation_is_applied() {
    let s = start().await;
    let (lon, lat) = inside_zone("rz-0003");
    // Orientation 6: the camera was turned; the stored picture must be upright (portrait).
    let photo = jpeg_with_exif(
        600,
        400,
        3,
        6,
        Some((lon, lat)),
        Some("2026:03:02 14:05:09"),
    );
    let form = Form::new()
        .text("category", "gutter")
        .part("photo", photo_part(photo.clone(), "IMG_0001.JPG"));
    let (st, v) = s.post_form("patrol", form).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["location_source"], "exif");
    // DMS with 1/10000 s: within a millimetre or so.
    assert!((v["location"]["lon"].as_f64().unwrap() - lon).abs() < 1e-7);
    assert!((v["location"]["lat"].as_f64().unwrap() - lat).abs() < 1e-7);
    assert_eq!(v["responsible"]["zone_id"], "rz-0003");
    // No offset in EXIF: the city's (UTC+8) is assumed.
    assert_eq!(v["captured_at"], "2026-03-02T06:05:09Z");
    let p = &v["photos"][0];
    assert_eq!(
        (p["width"].as_u64(), p["height"].as_u64()),
        (Some(400), Some(600))
    );
    // The normalized photo carries no metadata (no EXIF, so no GPS) ...
    let normal = s
        .get("patrol", p["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(!normal.windows(4).any(|w| w == b"Exif"), "EXIF survived");
    let img = image::load_from_memory(&normal).unwrap();
    assert_eq!((img.width(), img.height()), (400, 600));
    // ... but the original is kept as evidence, for office and admin only.
    let orig = format!("/api/photos/{}/original", p["id"].as_str().unwrap());
    assert_eq!(s.get("patrol", &orig).send().await.unwrap().status(), 403);
    let r = s.get("office", &orig).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), photo);
    assert_eq!(s.get("admin", &orig).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn no_location_at_all_is_422_and_unknown_category_is_422() {
    let s = start().await;
    let form = Form::new()
        .text("category", "garbage")
        .part("photo", photo_part(jpeg(64, 64, 4), "x.jpg"));
    let (st, v) = s.post_form("patrol", form).await;
    assert_eq!(st, 422, "{v}");
    assert!(v["error"].as_str().unwrap().contains("GPS"), "{v}");
    let (st, v) = s.post_json("patrol", json!({"category": "garbage"})).await;
    assert_eq!(st, 422);
    assert!(v["error"].as_str().unwrap().contains("no location"), "{v}");
    let (st, v) = s
        .post_json(
            "patrol",
            json!({"lon": 126.42, "lat": 41.94, "category": "trash"}),
        )
        .await;
    assert_eq!(st, 422);
    assert!(v["error"].as_str().unwrap().contains("illegal_ads"), "{v}");
    assert_eq!(s.report_count(), 0);
    assert!(s.photo_files().is_empty(), "{:?}", s.photo_files());
}

#[tokio::test]
async fn gcj02_coordinates_are_converted_to_wgs84_at_once() {
    let s = start().await;
    let (lon, lat) = inside_zone("rz-0004");
    let (glon, glat) = xuncha::crs::gcj02::from_wgs84(lon, lat);
    let (st, v) = s
        .post_json(
            "patrol",
            json!({"lon": glon, "lat": glat, "crs": "gcj02", "category": "water"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert!((v["location"]["lon"].as_f64().unwrap() - lon).abs() < 1e-8);
    assert!((v["location"]["lat"].as_f64().unwrap() - lat).abs() < 1e-8);
    assert_eq!(v["responsible"]["zone_id"], "rz-0004");
    let (st, v) = s
        .post_json(
            "patrol",
            json!({"lon": glon, "lat": glat, "crs": "bd09", "category": "water"}),
        )
        .await;
    assert_eq!(st, 400, "{v}");
}

#[tokio::test]
async fn matched_zones_are_frozen_when_zones_change_later() {
    let s = start().await;
    let (lon, lat) = inside_zone("rz-0005");
    let (_, v) = s
        .post_json(
            "patrol",
            json!({"lon": lon, "lat": lat, "category": "garbage"}),
        )
        .await;
    assert_eq!(v["responsible"]["zone_id"], "rz-0005");
    s.state
        .zones
        .retire("rz-0005", None, &xuncha::audit::Actor::system("planner"))
        .await
        .unwrap();
    let (_, m) = s
        .get_json("patrol", &format!("/api/match?lon={lon}&lat={lat}"))
        .await;
    assert_ne!(
        m["responsible"]["zone_id"], "rz-0005",
        "the retire did not take"
    );
    let (_, g) = s
        .get_json("office", &format!("/api/reports/{}", id_of(&v)))
        .await;
    assert_eq!(g["responsible"], v["responsible"]);
    assert_eq!(g["zones"], v["zones"]);
    let (_, q) = s.get_json("office", "/api/reports?zone=rz-0005").await;
    assert_eq!(q["features"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn categories_are_listed_with_chinese_and_english_labels() {
    let s = start().await;
    let v: Value = s
        .http
        .get(s.url("/api/categories"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cats = v["categories"].as_array().unwrap();
    assert_eq!(cats.len(), 8);
    assert!(cats
        .contains(&json!({"id": "illegal_ads", "zh": "小广告/牛皮癣", "en": "Illegal small ads"})));
    assert!(cats.contains(&json!({"id": "medical_waste", "zh": "医疗废物", "en": "Medical waste"})));
}

// ---- 2. Idempotent retry -----------------------------------------------------------------

#[tokio::test]
async fn a_retry_with_the_same_client_id_returns_the_first_report() {
    let s = start().await;
    let cid = "6f1c2a4e-8b9d-4c3e-9f70-1a2b3c4d5e6f";
    let form = || {
        Form::new()
            .text("lon", "126.42")
            .text("lat", "41.94")
            .text("category", "garbage")
            .text("client_id", cid)
            .part("photo", photo_part(jpeg(200, 100, 5), "a.jpg"))
    };
    let (st1, a) = s.post_form("patrol", form()).await;
    assert_eq!(st1, 201, "{a}");
    let (st2, b) = s.post_form("patrol", form()).await;
    assert_eq!(st2, 200, "{b}");
    assert_eq!(a, b, "a retry must answer the first report, unchanged");
    assert_eq!(s.report_count(), 1);
    // The same client_id from JSON, even with other content, is still the first report.
    let (st3, c) = s
        .post_json("patrol", json!({"lon": 126.5, "lat": 41.9, "category": "weeds", "client_id": cid.to_uppercase()}))
        .await;
    assert_eq!(st3, 200);
    assert_eq!(id_of(&c), id_of(&a));
    assert_eq!(s.report_count(), 1);
}

#[tokio::test]
async fn concurrent_duplicates_of_one_submission_store_one_report() {
    // The response of the first request was "lost": the phone retried while it was in flight.
    let s = Arc::new(start().await);
    let cid = uuid::Uuid::new_v4().to_string();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let s = s.clone();
        let cid = cid.clone();
        tasks.push(tokio::spawn(async move {
            let form = Form::new()
                .text("lon", "126.41")
                .text("lat", "41.935")
                .text("category", "debris")
                .text("client_id", cid)
                .part("photo", photo_part(jpeg(800, 600, 6), "a.jpg"));
            s.post_form("patrol", form).await
        }));
    }
    let mut created = 0;
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (st, v) = t.await.unwrap();
        assert!(st == 201 || st == 200, "{st} {v}");
        created += usize::from(st == 201);
        ids.insert(id_of(&v));
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
    assert_eq!(s.report_count(), 1);
}

// ---- 3. Photos -------------------------------------------------------------------------------

#[tokio::test]
async fn the_same_photo_is_stored_once_and_other_formats_are_refused_by_name() {
    let s = start().await;
    let photo = jpeg(500, 500, 7);
    for _ in 0..2 {
        let form = Form::new()
            .text("lon", "126.42")
            .text("lat", "41.94")
            .text("category", "garbage")
            .part("photo", photo_part(photo.clone(), "same.jpg"));
        assert_eq!(s.post_form("patrol", form).await.0, 201);
    }
    assert_eq!(s.report_count(), 2);
    assert_eq!(
        s.photo_files().len(),
        3,
        "original, normalized and thumb once"
    );

    // A PNG and a WebP are accepted; the format is sniffed, not taken from the name.
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(40, 30, image::Rgb([1, 2, 3])))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let mut webp = Vec::new();
    image::DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
        30,
        40,
        image::Rgba([9, 8, 7, 255]),
    ))
    .write_to(
        &mut std::io::Cursor::new(&mut webp),
        image::ImageFormat::WebP,
    )
    .unwrap();
    let form = Form::new()
        .text("lon", "126.42")
        .text("lat", "41.94")
        .text("category", "garbage")
        .part("photo", photo_part(png, "named-like-a.jpg"))
        .part("photo", photo_part(webp, "w.webp"));
    let (st, v) = s.post_form("patrol", form).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["photos"][1]["height"], 40);

    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heicmore bytes of a HEIC file".to_vec();
    let form = Form::new()
        .text("lon", "126.42")
        .text("lat", "41.94")
        .text("category", "garbage")
        .part("photo", photo_part(heic, "IMG_1234.HEIC"));
    let (st, v) = s.post_form("patrol", form).await;
    assert_eq!(st, 415, "{v}");
    assert!(v["error"].as_str().unwrap().contains("HEIC"), "{v}");
    let gif = b"GIF89a\x01\0\x01\0\0\0\0;".to_vec();
    let form = Form::new()
        .text("lon", "126.42")
        .text("lat", "41.94")
        .text("category", "garbage")
        .part("photo", photo_part(gif, "x.gif"));
    let (st, v) = s.post_form("patrol", form).await;
    assert_eq!(st, 415);
    assert!(v["error"].as_str().unwrap().contains("GIF"), "{v}");
    assert_eq!(s.report_count(), 3);
}

// ---- 4. Duplicates ---------------------------------------------------------------------------

#[tokio::test]
async fn possible_duplicates_are_open_reports_of_the_category_within_50_m() {
    let s = start().await;
    let a = (126.4200, 41.9400);
    let (_, ra) = s
        .post_json(
            "patrol",
            json!({"lon": a.0, "lat": a.1, "category": "garbage"}),
        )
        .await;
    let far = north(a, 80.0);
    let (_, rf) = s
        .post_json(
            "patrol",
            json!({"lon": far.0, "lat": far.1, "category": "garbage"}),
        )
        .await;
    assert_eq!(
        rf["possible_duplicates"],
        json!([]),
        "80 m is not a duplicate"
    );
    let other = north(a, 10.0);
    let (_, ro) = s
        .post_json(
            "patrol",
            json!({"lon": other.0, "lat": other.1, "category": "weeds"}),
        )
        .await;
    assert_eq!(
        ro["possible_duplicates"],
        json!([]),
        "another category is not a duplicate"
    );
    let near = north(a, 30.0);
    let (st, rn) = s
        .post_json(
            "patrol",
            json!({"lon": near.0, "lat": near.1, "category": "garbage"}),
        )
        .await;
    assert_eq!(st, 201);
    assert_eq!(rn["possible_duplicates"], json!([id_of(&ra)]));

    // /nearby uses the same rule, nearest first, with distances in metres.
    let q = north(a, 25.0);
    let (st, v) = s
        .get_json(
            "patrol",
            &format!(
                "/api/reports/nearby?lon={}&lat={}&category=garbage",
                q.0, q.1
            ),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let got: Vec<(i64, f64)> = v["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r["distance_m"].as_f64().unwrap()))
        .collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, id_of(&rn));
    assert!((got[0].1 - 5.0).abs() < 0.2, "{got:?}");
    assert_eq!(got[1].0, id_of(&ra));
    assert!((got[1].1 - 25.0).abs() < 0.2, "{got:?}");
    assert_eq!(v["radius_m"], 50.0);
    assert_eq!(v["days"], 7);

    // A rejected report is no longer open.
    let (st, _) = s
        .patch_json(
            "office",
            id_of(&rn),
            json!({"status": "rejected", "reason": "duplicate"}),
        )
        .await;
    assert_eq!(st, 200);
    let (_, v) = s
        .get_json(
            "patrol",
            &format!(
                "/api/reports/nearby?lon={}&lat={}&category=garbage",
                q.0, q.1
            ),
        )
        .await;
    assert_eq!(v["reports"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_duplicate_radius_and_window_are_configurable() {
    let s = start_with(true, |c| {
        c.duplicate_radius_m = 100.0;
        c.duplicate_days = 1;
    })
    .await;
    let a = (126.4200, 41.9400);
    let (_, ra) = s
        .post_json(
            "patrol",
            json!({"lon": a.0, "lat": a.1, "category": "garbage"}),
        )
        .await;
    let near = north(a, 80.0);
    let (_, rn) = s
        .post_json(
            "patrol",
            json!({"lon": near.0, "lat": near.1, "category": "garbage"}),
        )
        .await;
    assert_eq!(rn["possible_duplicates"], json!([id_of(&ra)]));
}

// ---- 5. Life of a report -------------------------------------------------------------------

#[tokio::test]
async fn the_lifecycle_enforces_transitions_and_roles_and_keeps_every_event() {
    let s = start().await;
    let (_, r) = s
        .post_json(
            "patrol",
            json!({"lon": 126.42, "lat": 41.94, "category": "garbage"}),
        )
        .await;
    let id = id_of(&r);

    let (st, v) = s
        .patch_json("patrol", id, json!({"status": "dispatched"}))
        .await;
    assert_eq!(st, 403, "{v}");
    assert!(v["error"].as_str().unwrap().contains("office"), "{v}");
    let (st, v) = s
        .patch_json("planner", id, json!({"status": "dispatched"}))
        .await;
    assert_eq!(st, 403, "{v}");

    let (st, v) = s
        .patch_json(
            "office",
            id,
            json!({"status": "dispatched", "note": "派遣至责任单位"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "dispatched");

    // Illegal: dispatched → closed. 409 names what is allowed.
    let (st, v) = s
        .patch_json("office", id, json!({"status": "closed"}))
        .await;
    assert_eq!(st, 409, "{v}");
    let msg = v["error"].as_str().unwrap();
    assert!(
        msg.contains("in_progress") && msg.contains("resolved") && msg.contains("rejected"),
        "{msg}"
    );
    let allowed: Vec<&str> = v["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["to"].as_str().unwrap())
        .collect();
    assert_eq!(allowed, ["in_progress", "resolved", "rejected"]);

    let (st, v) = s
        .patch_json("office", id, json!({"status": "rejected"}))
        .await;
    assert_eq!(st, 422, "a rejection needs a reason: {v}");
    let (st, _) = s
        .patch_json(
            "office",
            id,
            json!({"status": "rejected", "reason": "lazy"}),
        )
        .await;
    assert_eq!(st, 422);

    let (st, v) = s
        .patch_json("office", id, json!({"status": "in_progress"}))
        .await;
    assert_eq!(st, 200, "{v}");
    // A patrol resolves only with an after-photo.
    let (st, v) = s
        .patch_json("patrol", id, json!({"status": "resolved"}))
        .await;
    assert_eq!(st, 422, "{v}");
    assert!(v["error"].as_str().unwrap().contains("after-photo"));
    let form = Form::new()
        .text("status", "resolved")
        .text("note", "已清理")
        .part("photo", photo_part(jpeg(300, 200, 9), "after.jpg"));
    let (st, v) = s.patch_form("patrol", id, form).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "resolved");
    let (st, v) = s
        .patch_json(
            "office",
            id,
            json!({"status": "closed", "note": "核查结案"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = s
        .patch_json("office", id, json!({"status": "reopened"}))
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = s
        .patch_json(
            "office",
            id,
            json!({"status": "rejected", "reason": "not_responsible"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["reject_reason"], "not_responsible");

    // The patrol sees its own name and nobody else's.
    let (_, g) = s.get_json("patrol", &format!("/api/reports/{id}")).await;
    let users: Vec<Value> = g["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["user"].clone())
        .collect();
    assert_eq!(users[0], "patrol");
    assert!(
        users[1..].iter().all(|u| u.is_null() || u == "patrol"),
        "{users:?}"
    );
    let (_, g) = s.get_json("office", &format!("/api/reports/{id}")).await;
    let events = g["events"].as_array().unwrap();
    let steps: Vec<(Value, Value, Value)> = events
        .iter()
        .map(|e| (e["from"].clone(), e["to"].clone(), e["user"].clone()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (Value::Null, json!("reported"), json!("patrol")),
            (json!("reported"), json!("dispatched"), json!("office")),
            (json!("dispatched"), json!("in_progress"), json!("office")),
            (json!("in_progress"), json!("resolved"), json!("patrol")),
            (json!("resolved"), json!("closed"), json!("office")),
            (json!("closed"), json!("reopened"), json!("office")),
            (json!("reopened"), json!("rejected"), json!("office")),
        ]
    );
    assert_eq!(events[1]["note"], "派遣至责任单位");
    assert_eq!(events[3]["photos"].as_array().unwrap().len(), 1);
    assert_eq!(events[6]["reason"], "not_responsible");
    assert!(events
        .iter()
        .all(|e| e["at"].as_str().is_some_and(|t| t.ends_with('Z'))));
    // After-photos belong to the event, not to the report's own photos.
    assert_eq!(g["photos"], json!([]));

    let (st, _) = s
        .patch_json("office", 999_999, json!({"status": "dispatched"}))
        .await;
    assert_eq!(st, 404);
}

// ---- 6. Querying -----------------------------------------------------------------------------

#[tokio::test]
async fn the_list_is_geojson_newest_first_filtered_and_paged_with_a_stable_cursor() {
    let s = start().await;
    let zone_pt = inside_zone("rz-0010");
    let mut ids = Vec::new();
    for (i, cat) in [
        "garbage", "weeds", "garbage", "debris", "garbage", "water", "garbage",
    ]
    .iter()
    .enumerate()
    {
        let p = if i == 3 {
            zone_pt
        } else {
            (126.40 + i as f64 * 0.002, 41.93)
        };
        let (st, v) = s
            .post_json("patrol", json!({"lon": p.0, "lat": p.1, "category": cat}))
            .await;
        assert_eq!(st, 201);
        ids.push(id_of(&v));
    }
    s.patch_json("office", ids[0], json!({"status": "dispatched"}))
        .await;

    let (st, all) = s.get_json("office", "/api/reports?limit=1000").await;
    assert_eq!(st, 200);
    assert_eq!(all["type"], "FeatureCollection");
    let got: Vec<i64> = all["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(got, newest_first);
    let f0 = &all["features"][0];
    assert_eq!(f0["geometry"]["type"], "Point");
    assert!(
        (f0["geometry"]["coordinates"][0].as_f64().unwrap() - 126.412).abs() < 1e-9,
        "[lon, lat]"
    );
    assert_eq!(all["next_cursor"], Value::Null);

    // Pages of 2 walk the same list; a report added meanwhile does not shift the pages.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    let mut first = true;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/reports?limit=2&cursor={c}"),
            None => "/api/reports?limit=2".to_string(),
        };
        let (st, page) = s.get_json("patrol", &path).await;
        assert_eq!(st, 200, "{page}");
        paged.extend(
            page["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].as_i64().unwrap()),
        );
        if first {
            s.post_json(
                "patrol",
                json!({"lon": 126.3, "lat": 41.9, "category": "other"}),
            )
            .await;
            first = false;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(paged, newest_first);

    let count = |v: &Value| v["features"].as_array().unwrap().len();
    let (_, v) = s.get_json("office", "/api/reports?category=garbage").await;
    assert_eq!(count(&v), 4);
    let (_, v) = s
        .get_json("office", "/api/reports?category=weeds,water")
        .await;
    assert_eq!(count(&v), 2);
    let (_, v) = s.get_json("office", "/api/reports?status=dispatched").await;
    assert_eq!(count(&v), 1);
    assert_eq!(v["features"][0]["id"], ids[0]);
    let (_, v) = s.get_json("office", "/api/reports?zone=rz-0010").await;
    assert_eq!(count(&v), 1);
    assert_eq!(v["features"][0]["id"], ids[3]);
    let (_, v) = s
        .get_json("office", "/api/reports?bbox=126.399,41.929,126.4045,41.931")
        .await;
    assert_eq!(count(&v), 3, "{v}");
    let (_, v) = s
        .get_json(
            "office",
            "/api/reports?since=2000-01-01T00:00:00Z&until=2001-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(count(&v), 0);
    let (_, v) = s
        .get_json("office", "/api/reports?since=2000-01-01T00:00:00Z")
        .await;
    assert_eq!(count(&v), 8);

    for bad in [
        "/api/reports?limit=1001",
        "/api/reports?limit=0",
        "/api/reports?cursor=bm9wZQ",
        "/api/reports?status=lost",
        "/api/reports?since=yesterday",
        "/api/reports?bbox=1,2,3",
    ] {
        let (st, v) = s.get_json("office", bad).await;
        assert_eq!(st, 400, "{bad}: {v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
}

// ---- 8. Bad input -----------------------------------------------------------------------------

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_stores_nothing() {
    let s = start().await;
    let good_photo = || photo_part(jpeg(64, 64, 11), "ok.jpg");
    let with = |lon: Option<&str>, lat: Option<&str>| {
        let mut f = Form::new().text("category", "garbage");
        if let Some(l) = lon {
            f = f.text("lon", l.to_string());
        }
        if let Some(l) = lat {
            f = f.text("lat", l.to_string());
        }
        f
    };
    // (form, expected status, a word the message must contain)
    let cases: Vec<(&str, Form, u16, &str)> = vec![
        (
            "missing lat",
            with(Some("126.42"), None),
            400,
            "lat is missing",
        ),
        (
            "missing lon",
            with(None, Some("41.94")),
            400,
            "lon is missing",
        ),
        (
            "non-numeric lon",
            with(Some("east"), Some("41.94")),
            400,
            "not a number",
        ),
        (
            "non-numeric lat",
            with(Some("126.42"), Some("41,94")),
            400,
            "not a number",
        ),
        (
            "lat > 90",
            with(Some("126.42"), Some("91")),
            400,
            "outside -90..90",
        ),
        (
            "lat < -90",
            with(Some("41.94"), Some("-126.42")),
            400,
            "swapped",
        ),
        (
            "lon > 180",
            with(Some("181"), Some("41.94")),
            400,
            "outside -180..180",
        ),
        (
            "truncated JPEG",
            {
                let mut j = jpeg(256, 256, 12);
                j.truncate(j.len() / 2);
                with(Some("126.42"), Some("41.94"))
                    .part("photo", good_photo())
                    .part("photo", photo_part(j, "cut.jpg"))
            },
            422,
            "truncated",
        ),
        (
            "PNG claiming 100 000 × 100 000",
            with(Some("126.42"), Some("41.94"))
                .part("photo", Part::bytes(bomb_png()).file_name("bomb.png")),
            422,
            "megapixels",
        ),
        (
            "text file named .jpg",
            with(Some("126.42"), Some("41.94")).part(
                "photo",
                photo_part(b"this is not a photo\n".to_vec(), "holiday.jpg"),
            ),
            415,
            "text",
        ),
        (
            "seven photos",
            (0..7).fold(with(Some("126.42"), Some("41.94")), |f, i| {
                f.part("photo", photo_part(jpeg(32, 32, 100 + i), "p.jpg"))
            }),
            422,
            "at most 6",
        ),
        (
            "note over 2000 characters",
            with(Some("126.42"), Some("41.94")).text("note", "脏".repeat(2001)),
            422,
            "2000",
        ),
        (
            "client_id not a UUID",
            with(Some("126.42"), Some("41.94")).text("client_id", "42"),
            400,
            "UUID",
        ),
        (
            "captured_at not RFC 3339",
            with(Some("126.42"), Some("41.94")).text("captured_at", "yesterday"),
            400,
            "RFC 3339",
        ),
        (
            "unknown field",
            with(Some("126.42"), Some("41.94")).text("latitude", "41.94"),
            422,
            "unknown form field",
        ),
    ];
    for (what, form, status, word) in cases {
        let (st, v) = s.post_form("patrol", form).await;
        assert_eq!(st, status, "{what}: {v}");
        let msg = v["error"].as_str().unwrap_or("");
        assert!(msg.contains(word), "{what}: {msg:?} should say {word:?}");
    }
    // JSON: a string that is not a number, and a number out of range.
    let (st, v) = s
        .post_json(
            "patrol",
            json!({"lon": "abc", "lat": 41.94, "category": "garbage"}),
        )
        .await;
    assert_eq!(st, 400, "{v}");
    let (st, _) = s
        .post_json(
            "patrol",
            json!({"lon": [1], "lat": 41.94, "category": "garbage"}),
        )
        .await;
    assert_eq!(st, 400);
    // Wrong role and no token.
    let (st, v) = s
        .post_json(
            "planner",
            json!({"lon": 126.42, "lat": 41.94, "category": "garbage"}),
        )
        .await;
    assert_eq!(st, 403, "{v}");
    assert!(v["error"].as_str().unwrap().contains("patrol"), "{v}");
    let r = s
        .http
        .post(s.url("/api/reports"))
        .json(&json!({"lon": 126.42, "lat": 41.94, "category": "garbage"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Neither JSON nor multipart.
    let r = s
        .http
        .post(s.url("/api/reports"))
        .bearer_auth(&s.tokens["patrol"])
        .body("lon=1&lat=2")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    assert_eq!(s.report_count(), 0, "a refused request stored a report");
    assert!(
        s.photo_files().is_empty(),
        "a refused request left files: {:?}",
        s.photo_files()
    );
}

fn bomb_png() -> Vec<u8> {
    use image::ImageEncoder;
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&[0, 0, 0], 1, 1, image::ExtendedColorType::Rgb8)
        .unwrap();
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let mut c = 0xFFFF_FFFFu32;
    for &b in &png[12..29] {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    png[29..33].copy_from_slice(&(!c).to_be_bytes());
    png
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_saying_the_limit() {
    // Small limits so the test sends megabytes, not the default 121 MiB.
    let s = start_with(true, |c| c.max_photo_bytes = 1 << 20).await;
    // JSON (no photos) is small: 64 KiB.
    let padding = "x".repeat(100 << 10);
    let r = s
        .http
        .post(s.url("/api/reports"))
        .bearer_auth(&s.tokens["patrol"])
        .header("content-type", "application/json")
        .body(format!(
            "{{\"lon\":126.42,\"lat\":41.94,\"category\":\"garbage\",\"note\":\"{padding}\"}}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("64 KiB"), "{v}");
    // Multipart: 6 × 1 MiB + 1 MiB = 7 MiB for the whole body.
    let form = Form::new()
        .text("category", "garbage")
        .text("note", "x".repeat(8 << 20));
    let (st, v) = s.post_form("patrol", form).await;
    assert_eq!(st, 413, "{v}");
    assert!(v["error"].as_str().unwrap().contains("7 MiB"), "{v}");

    // One photo over the per-photo limit.
    let mut big = jpeg(64, 64, 1);
    big.resize((1 << 20) + 10, 0);
    let form = Form::new()
        .text("lon", "126.42")
        .text("lat", "41.94")
        .text("category", "garbage")
        .part("photo", photo_part(big, "big.jpg"));
    let (st, v) = s.post_form("patrol", form).await;
    assert_eq!(st, 413, "{v}");
    assert!(v["error"].as_str().unwrap().contains("photo 1"), "{v}");
    assert_eq!(s.report_count(), 0);
}

// ---- Hook for caches ---------------------------------------------------------------------

#[tokio::test]
async fn change_listeners_hear_new_and_changed_reports() {
    let s = start().await;
    let heard = Arc::new(Mutex::new(Vec::new()));
    let h = heard.clone();
    s.state.reports.on_change(Box::new(move |changes| {
        h.lock()
            .unwrap()
            .extend(changes.iter().map(|c| (c.id, c.status, c.lon)));
    }));
    let (_, r) = s
        .post_json(
            "patrol",
            json!({"lon": 126.42, "lat": 41.94, "category": "garbage"}),
        )
        .await;
    s.patch_json("office", id_of(&r), json!({"status": "dispatched"}))
        .await;
    let heard = heard.lock().unwrap().clone();
    use xuncha::report::Status;
    assert_eq!(
        heard,
        vec![
            (id_of(&r), Status::Reported, 126.42),
            (id_of(&r), Status::Dispatched, 126.42)
        ]
    );
}

// ---- 9. Demo data --------------------------------------------------------------------------

#[tokio::test]
async fn the_demo_loads_seeded_reports_in_every_status_with_photos_and_consistent_events() {
    let s = start_with(false, |_| {}).await;
    // The demo loads into an empty folder only; empty this one's users first.
    s.state
        .store
        .write_sync(|tx| {
            tx.batch("DELETE FROM tokens; DELETE FROM users;")?;
            Ok(())
        })
        .unwrap();
    assert!(xuncha::demo::load(&s.state, &geodata()).await.unwrap());
    let token = s
        .state
        .add_user("checker", xuncha::auth::Role::Office, "pw")
        .unwrap()
        .1;
    let get = |path: String| {
        let http = s.http.clone();
        let url = s.url(&path);
        let token = token.clone();
        async move { http.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let all: Value = get("/api/reports?limit=1000".into())
        .await
        .json()
        .await
        .unwrap();
    let features = all["features"].as_array().unwrap();
    assert_eq!(features.len(), 400);
    let mut by_status = std::collections::BTreeMap::new();
    for f in features {
        *by_status
            .entry(f["properties"]["status"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
        assert_eq!(f["properties"]["photos"].as_array().unwrap().len(), 1);
    }
    let expect: std::collections::BTreeMap<String, i32> = [
        ("closed", 199),
        ("resolved", 74),
        ("rejected", 31),
        ("in_progress", 30),
        ("reopened", 27),
        ("dispatched", 24),
        ("reported", 15),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(by_status, expect);
    // Spread over 90 days, newest first.
    let oldest = features.last().unwrap()["properties"]["created_at"]
        .as_str()
        .unwrap();
    let age_days =
        (xuncha::time::now_ms() - xuncha::time::parse_rfc3339(oldest).unwrap()) / 86_400_000;
    assert!((80..=90).contains(&age_days), "{age_days}");
    // Matched to zones at load time: the market cluster is in somebody's zones.
    assert!(
        features
            .iter()
            .filter(|f| !f["properties"]["zones"].as_array().unwrap().is_empty())
            .count()
            > 300
    );
    // Events lead to the status; rejections carry a reason.
    for f in features.iter().step_by(7) {
        let id = f["id"].as_i64().unwrap();
        let r: Value = get(format!("/api/reports/{id}"))
            .await
            .json()
            .await
            .unwrap();
        let events = r["events"].as_array().unwrap();
        assert_eq!(events.last().unwrap()["to"], r["status"], "{r}");
        for w in events.windows(2) {
            assert_eq!(w[0]["to"], w[1]["from"]);
            assert!(w[0]["at"].as_str() <= w[1]["at"].as_str());
        }
        if r["status"] == "rejected" {
            assert!(r["reject_reason"].is_string(), "{r}");
        }
    }
    let photo = features[0]["properties"]["photos"][0]["thumb_url"]
        .as_str()
        .unwrap()
        .to_string();
    let p = get(photo).await;
    assert_eq!(p.status(), 200);
    assert!(image::load_from_memory(&p.bytes().await.unwrap()).is_ok());
}

/// The office's queue: sorted by due time on the server (soonest first, those without a
/// deadline last), paged by a cursor of that order, searched by number or words, with counts.
#[tokio::test]
async fn the_list_sorts_by_due_time_searches_and_counts_on_the_server() {
    let s = start().await;
    let zone_pt = inside_zone("rz-0010");
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let rfc = |h: i64| xuncha::time::to_rfc3339((now_s + h * 3600) * 1000);
    let mut ids = Vec::new();
    for (i, note) in [
        "桥下堆放垃圾",
        "路边杂草",
        "河岸 100%_垃圾",
        "门前垃圾",
        "绿地垃圾",
    ]
    .iter()
    .enumerate()
    {
        let p = (zone_pt.0 + i as f64 * 1e-5, zone_pt.1);
        let (st, v) = s
            .post_json(
                "patrol",
                json!({"lon": p.0, "lat": p.1, "category": "garbage", "note": note}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        ids.push(id_of(&v));
    }
    // Due in 50 h, 10 h and 30 h for the first three; the others keep the dispatch limit (2 h).
    for (i, h) in [(0, 50), (1, 10), (2, 30)] {
        let (st, v) = s
            .patch_json(
                "office",
                ids[i],
                json!({"status": "dispatched", "due_at": rfc(h)}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
    }
    let (st, v) = s
        .patch_json(
            "office",
            ids[4],
            json!({"status": "rejected", "reason": "invalid"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let mine = ids.iter().map(|i| i.to_string()).collect::<Vec<_>>();
    let ours = |v: &Value| -> Vec<i64> {
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_i64().unwrap())
            .filter(|id| ids.contains(id))
            .collect()
    };
    // Rejected: no deadline, last. ids[3] is due in 2 h (the dispatch limit).
    let expected = vec![ids[3], ids[1], ids[2], ids[0], ids[4]];
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/reports?sort=due&limit=2&cursor={c}"),
            None => "/api/reports?sort=due&limit=2".to_string(),
        };
        let (st, page) = s.get_json("office", &path).await;
        assert_eq!(st, 200, "{page}");
        paged.extend(ours(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(paged, expected, "due order across pages ({mine:?})");

    // Search: a number, words of the note (LIKE's wildcards are literal), the owner, the zone.
    let (_, v) = s
        .get_json("office", &format!("/api/reports?q={}", ids[2]))
        .await;
    assert_eq!(ours(&v), vec![ids[2]]);
    let q = |text: &str| format!("/api/reports?q={}", urlencode(text));
    let (_, v) = s.get_json("office", &q("杂草")).await;
    assert_eq!(ours(&v), vec![ids[1]]);
    let (_, v) = s.get_json("office", &q("100%_")).await;
    assert_eq!(ours(&v), vec![ids[2]]);
    let (_, v) = s.get_json("office", &q("0%")).await;
    assert_eq!(ours(&v), vec![ids[2]], "% is not a wildcard");
    let (_, one) = s
        .get_json("office", &format!("/api/reports/{}", ids[3]))
        .await;
    let owner = one["responsible"]["owner"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, v) = s.get_json("office", &q(&owner)).await;
    let mut found = ours(&v);
    found.sort();
    assert_eq!(found, ids, "every report lies in {owner}'s zone");
    let zone_name = s
        .state
        .zones
        .index()
        .get("rz-0010")
        .unwrap()
        .zone
        .name
        .clone();
    let (_, v) = s.get_json("office", &q(&zone_name)).await;
    assert_eq!(ours(&v).len(), 5, "by zone name {zone_name}");
    let (_, v) = s.get_json("office", &q("没有这样的字")).await;
    assert_eq!(ours(&v), Vec::<i64>::new());

    // Counts of the whole match, whatever the page.
    let (st, v) = s
        .get_json(
            "office",
            &format!(
                "/api/reports?count=true&limit=1&status=dispatched&q={}",
                urlencode(&owner)
            ),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["features"].as_array().unwrap().len(), 1);
    assert_eq!(v["number_matched"], 3, "{v}");
    assert_eq!(v["number_overdue"], 0);
    let (_, v) = s.get_json("office", "/api/reports").await;
    assert!(v.get("number_matched").is_none(), "counted only on request");

    // A cursor of one order is refused by the other; unknown sorts are 400 with a code.
    let (_, first) = s.get_json("office", "/api/reports?limit=1").await;
    let newest_cursor = first["next_cursor"].as_str().unwrap();
    let (st, _) = s
        .get_json(
            "office",
            &format!("/api/reports?sort=due&cursor={newest_cursor}"),
        )
        .await;
    assert_eq!(st, 400);
    let (st, v) = s.get_json("office", "/api/reports?sort=oldest").await;
    assert_eq!((st, v["code"].as_str()), (400, Some("unknown_sort")), "{v}");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
