//! Vector tiles over real HTTP: layers decoded by an independent reader, caching with ETag/304
//! and gzip, exact invalidation on edits, TileJSON and style from this origin only, ogrinfo.

mod common;

use common::{rect_feature, TestServer};
use mvt_reader::feature::Value as ReadValue;
use mvt_reader::Reader;
use reqwest::StatusCode;
use serde_json::Value;
use xuncha::auth::Role;
use xuncha_tiles::TileCoord;

/// Baishan city centre.
const LON: f64 = 126.42;
const LAT: f64 = 41.94;

async fn get_tile(
    s: &TestServer,
    t: TileCoord,
    query: &str,
) -> (StatusCode, Vec<u8>, Option<String>) {
    let r = s
        .get(
            Role::Patrol,
            &format!("/tiles/{}/{}/{}.mvt{query}", t.z, t.x, t.y),
        )
        .send()
        .await
        .unwrap();
    let status = r.status();
    let etag = r
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_string());
    (status, r.bytes().await.unwrap().to_vec(), etag)
}

/// Feature ids (the `id` property) per layer.
fn ids(bytes: &[u8], layer: &str) -> Vec<String> {
    let reader = Reader::new(bytes.to_vec()).expect("mvt-reader decodes the tile");
    let names = reader.get_layer_names().unwrap();
    let Some(i) = names.iter().position(|n| n == layer) else {
        return vec![];
    };
    reader
        .get_features_as::<f64>(i)
        .unwrap()
        .iter()
        .filter_map(|f| match f.properties.as_ref()?.get("id")? {
            ReadValue::String(s) => Some(s.clone()),
            other => Some(format!("{other:?}")),
        })
        .collect()
}

async fn demo() -> TestServer {
    let s = TestServer::start().await;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata/baishan/zones.geojson");
    let report = xuncha::cli::import(
        &s.state,
        &path,
        None,
        true,
        "test",
        xuncha::zone::registry::Indexing::Live,
    )
    .await
    .unwrap();
    assert!(report.rejected.is_empty() && report.imported > 400);
    s
}

#[tokio::test]
async fn demo_tiles_have_all_layers_and_valid_metadata() {
    let s = demo().await;
    let t = TileCoord::containing(LON, LAT, 14).unwrap();
    let (st, body, _) = get_tile(&s, t, "").await;
    assert_eq!(st, StatusCode::OK);
    let reader = Reader::new(body.clone()).unwrap();
    let names = reader.get_layer_names().unwrap();
    for l in ["zones", "routes", "basemap"] {
        assert!(names.iter().any(|n| n == l), "{l} missing in {names:?}");
    }
    for m in reader.get_layer_metadata().unwrap() {
        assert_eq!((m.version, m.extent), (2, 4096));
    }
    let zones = ids(&body, "zones");
    assert!(
        zones.iter().any(|z| z.starts_with("rz-")),
        "三包 zones at z14: {zones:?}"
    );
    // At z8 the street offices are still there.
    let (st, body, _) = get_tile(&s, TileCoord::containing(LON, LAT, 8).unwrap(), "").await;
    assert_eq!(st, StatusCode::OK);
    let z8 = ids(&body, "zones");
    assert!(z8.iter().any(|z| z.starts_with("street-")), "{z8:?}");
}

#[tokio::test]
async fn empty_out_of_range_and_bad_tiles() {
    let s = demo().await;
    // Mid-Atlantic at z10: nothing there.
    let t = TileCoord::containing(-30.0, 30.0, 10).unwrap();
    let (st, body, _) = get_tile(&s, t, "").await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(body.is_empty());
    for bad in [
        "/tiles/3/8/0.mvt",
        "/tiles/23/0/0.mvt",
        "/tiles/a/0/0.mvt",
        "/tiles/2/0/-1.mvt",
    ] {
        let r = s.get(Role::Patrol, bad).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        let e: Value = r.json().await.unwrap();
        assert!(e["error"].is_string());
    }
    let r = s
        .get(Role::Patrol, "/tiles/1/0/0.mvt?since=yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Tiles need a signed-in user.
    let r = s.http.get(s.url("/tiles/0/0/0.mvt")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn etag_304_and_gzip() {
    let s = demo().await;
    let t = TileCoord::containing(LON, LAT, 13).unwrap();
    let path = format!("/tiles/{}/{}/{}.mvt", t.z, t.x, t.y);
    let r = s.get(Role::Office, &path).send().await.unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.mapbox-vector-tile"
    );
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-cache"));
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"'), "strong ETag: {etag}");
    let plain = r.bytes().await.unwrap();
    let r = s
        .get(Role::Office, &path)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    // reqwest is built without gzip support, so the raw gzip body is visible here.
    let r = s
        .get(Role::Office, &path)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let gz = r.bytes().await.unwrap();
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unzipped).unwrap();
    assert_eq!(unzipped, plain);
    assert!(gz.len() < plain.len());
}

#[tokio::test]
async fn edits_invalidate_exactly_the_touched_tiles_at_every_zoom() {
    let s = demo().await;
    // A new zone large enough to show at z5, east of the city; a far tile keeps its ETag.
    let (x0, y0, x1, y1) = (126.4600, 41.9350, 126.8, 42.2);
    let far = TileCoord::containing(126.39, 41.955, 16).unwrap();
    let (_, _, far_etag) = get_tile(&s, far, "").await;
    let zooms = [5u8, 10, 13, 16, 18];
    let mut before = Vec::new();
    for z in zooms {
        let t = TileCoord::containing((x0 + x1) / 2.0, (y0 + y1) / 2.0, z).unwrap();
        let (_, body, etag) = get_tile(&s, t, "").await;
        assert!(!ids(&body, "zones").contains(&"new-zone".to_string()));
        before.push((t, etag));
    }
    let r = s
        .post(Role::Planner, "/api/zones")
        .json(&rect_feature("new-zone", "hotspot", x0, y0, x1, y1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    for (t, old) in &before {
        let (_, body, etag) = get_tile(&s, *t, "").await;
        assert_ne!(&etag, old, "z{} tile was not invalidated", t.z);
        assert!(
            ids(&body, "zones").contains(&"new-zone".to_string()),
            "z{}",
            t.z
        );
    }
    let (_, _, far_again) = get_tile(&s, far, "").await;
    assert_eq!(far_again, far_etag);
    // Retiring removes it again.
    let r = s
        .delete(Role::Planner, "/api/zones/new-zone")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let t = TileCoord::containing((x0 + x1) / 2.0, (y0 + y1) / 2.0, 16).unwrap();
    let (_, body, _) = get_tile(&s, t, "").await;
    assert!(!ids(&body, "zones").contains(&"new-zone".to_string()));
}

#[tokio::test]
async fn tilejson_and_style_use_this_origin_only() {
    let s = demo().await;
    let tj: Value = s
        .get(Role::Patrol, "/tiles.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tj["tilejson"], "3.0.0");
    let layers: Vec<&str> = tj["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        layers,
        ["zones", "zone_labels", "routes", "reports", "basemap"]
    );
    let b = tj["bounds"].as_array().unwrap();
    assert!(b[0].as_f64().unwrap() < LON && LON < b[2].as_f64().unwrap());
    let style: Value = s
        .get(Role::Patrol, "/style.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(style["version"], 8);
    assert!(style.get("glyphs").is_none() && style.get("sprite").is_none());
    let text = style.to_string();
    let mut urls = 0;
    for (i, _) in text.match_indices("http") {
        assert!(
            text[i..].starts_with(&s.base),
            "a URL not on this origin: {}",
            &text[i..i + 40]
        );
        urls += 1;
    }
    assert!(urls >= 1);
}

/// GDAL's MVT driver lists a served tile's layers without warnings (when `ogrinfo` is installed;
/// the README's test command installs gdal-bin).
#[tokio::test]
async fn ogrinfo_reads_a_served_tile() {
    let Ok(out) = std::process::Command::new("ogrinfo")
        .arg("--version")
        .output()
    else {
        // In CI the test command installs gdal-bin, so a missing ogrinfo there is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "ogrinfo is missing in CI: install gdal-bin"
        );
        eprintln!("ogrinfo is not installed; skipped (scripts/test.sh installs gdal-bin)");
        return;
    };
    assert!(out.status.success());
    let s = demo().await;
    let t = TileCoord::containing(LON, LAT, 14).unwrap();
    let (_, body, _) = get_tile(&s, t, "").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{}/{}", t.z, t.x));
    std::fs::create_dir_all(&path).unwrap();
    let file = path.join(format!("{}.pbf", t.y));
    std::fs::write(&file, &body).unwrap();
    let out = std::process::Command::new("ogrinfo")
        .args(["-ro", "-al", "-so"])
        .arg(&file)
        .env("CPL_DEBUG", "OFF")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("Warning") && !stderr.contains("ERROR"),
        "{stderr}"
    );
    for l in [
        "Layer name: zones",
        "Layer name: routes",
        "Layer name: basemap",
    ] {
        assert!(stdout.contains(l), "{l} not in:\n{stdout}");
    }
    assert!(stdout.contains("Feature Count: "), "{stdout}");
}

/// Column and row of the z-`z` tile containing `lon`, `lat` (slippy-map formula, written out here
/// independently of the tile crate).
fn slippy(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let r = lat.to_radians();
    let y =
        ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    (x, y)
}

async fn get_json(s: &TestServer, path: &str) -> (u16, Value) {
    let r = s.get(Role::Patrol, path).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn offline_pack_lists_the_area_s_tiles_and_their_transfer_size() {
    let s = demo().await;
    let bbox = [126.41, 41.935, 126.43, 41.945];
    let (status, plan) = get_json(
        &s,
        &format!(
            "/api/offline/pack?bbox={},{},{},{}&minzoom=12&maxzoom=16",
            bbox[0], bbox[1], bbox[2], bbox[3]
        ),
    )
    .await;
    assert_eq!(status, 200, "{plan}");
    let tiles: Vec<(u8, u32, u32)> = plan["tiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t[0].as_u64().unwrap() as u8,
                t[1].as_u64().unwrap() as u32,
                t[2].as_u64().unwrap() as u32,
            )
        })
        .collect();
    let mut expected = Vec::new();
    for z in 12..=16u8 {
        let (x0, y1) = slippy(bbox[0], bbox[1], z);
        let (x1, y0) = slippy(bbox[2], bbox[3], z);
        for x in x0..=x1 {
            for y in y0..=y1 {
                expected.push((z, x, y));
            }
        }
    }
    let mut got = tiles.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(plan["count"], tiles.len());
    assert_eq!(plan["layers"], "zones,routes,basemap");
    // The size is what the map's own requests transfer (gzip), tile by tile.
    let mut bytes = 0;
    for &(z, x, y) in &tiles {
        let r = s
            .get(
                Role::Patrol,
                &format!("/tiles/{z}/{x}/{y}.mvt?layers=zones,routes,basemap"),
            )
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert!(r.status() == 200 || r.status() == 204, "{}", r.status());
        bytes += r.bytes().await.unwrap().len();
    }
    assert_eq!(plan["bytes"], bytes);
    assert!(bytes > 1000, "{bytes}");

    let (status, body) = get_json(&s, "/api/offline/pack?bbox=121.6,40.8,131.3,46.3").await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "pack_too_large", "{body}");
    assert!(body["params"]["count"].as_u64().unwrap() > 4000);
    let (status, body) = get_json(&s, "/api/offline/pack").await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("bbox"), "{body}");
    let (status, _) = get_json(
        &s,
        "/api/offline/pack?bbox=126.41,41.935,126.43,41.945&minzoom=16&maxzoom=12",
    )
    .await;
    assert_eq!(status, 400);
    let r = s
        .http
        .get(s.url("/api/offline/pack?bbox=126.41,41.935,126.43,41.945"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// Every polygon zone is labelled once, whatever the tiles it crosses: its label point goes
/// into the one tile that holds it (labelling the clipped polygon would name it in each tile).
#[tokio::test]
async fn each_zone_has_one_label_point_in_one_tile() {
    let s = demo().await;
    let z = 16;
    // A block of tiles around the centre, and the zones that cross a tile edge in it.
    let c = TileCoord::containing(LON, LAT, z).unwrap();
    let mut polys: std::collections::HashMap<String, usize> = Default::default();
    let mut labels: std::collections::HashMap<String, usize> = Default::default();
    for dx in -2i64..=2 {
        for dy in -2i64..=2 {
            let t = TileCoord::new(z, (c.x as i64 + dx) as u32, (c.y as i64 + dy) as u32).unwrap();
            let (st, body, _) = get_tile(&s, t, "").await;
            assert_eq!(st, StatusCode::OK);
            for id in ids(&body, "zones") {
                *polys.entry(id).or_default() += 1;
            }
            for id in ids(&body, "zone_labels") {
                *labels.entry(id).or_default() += 1;
            }
        }
    }
    let index = s.state.zones.index();
    // Zones wholly inside the block (their bbox within the inner tiles) are labelled exactly once.
    let inner = {
        let nw = TileCoord::new(z, c.x - 1, c.y - 1).unwrap();
        let se = TileCoord::new(z, c.x + 1, c.y + 1).unwrap();
        let (w, n) = xuncha_tiles::world_to_lonlat(
            f64::from(nw.x) / f64::from(nw.tiles_per_axis()),
            f64::from(nw.y) / f64::from(nw.tiles_per_axis()),
        );
        let (e, so) = xuncha_tiles::world_to_lonlat(
            f64::from(se.x + 1) / f64::from(se.tiles_per_axis()),
            f64::from(se.y + 1) / f64::from(se.tiles_per_axis()),
        );
        [w, so, e, n]
    };
    let mut crossing = 0;
    let mut checked = 0;
    for (id, pieces) in &polys {
        let zone = &index.get(id).unwrap().zone;
        let [a, b, cc, d] = zone.geometry.bbox().unwrap().to_array();
        if !(a > inner[0] && b > inner[1] && cc < inner[2] && d < inner[3]) {
            continue;
        }
        checked += 1;
        assert_eq!(
            labels.get(id),
            Some(&1),
            "{id} ({}) in {pieces} tiles",
            zone.name
        );
        if *pieces > 1 {
            crossing += 1;
        }
    }
    assert!(
        checked > 20 && crossing > 3,
        "{checked} zones checked, {crossing} cross a tile edge"
    );
    // Labels carry the name the style draws.
    assert!(labels.keys().all(|id| index.get(id).is_some()));
}
