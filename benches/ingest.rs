//! Report ingest throughput (issue 3, "Measurements"). Not a criterion bench: it starts the real
//! server on loopback in this process and drives it over HTTP with concurrent clients.
//!
//! `cargo bench --bench ingest` prints:
//! 1. JSON reports (no photos) acknowledged per second, durably, by 64 concurrent clients;
//! 2. reports with one 12-megapixel JPEG per second, next to the bare decode + resize of the same
//!    photo in a loop (same run, same threads), and where the time of one photo goes.
//!
//! Environment knobs: `INGEST_JSON` (count, default 20 000), `INGEST_PHOTOS` (default 40).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use xuncha::auth::Role;
use xuncha::{App, AppState, Config};

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn start(dir: &std::path::Path) -> (AppState, String, String) {
    let state = App::open(Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    })
    .unwrap();
    let zones =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata/baishan/zones.geojson");
    xuncha::cli::import(
        &state,
        &zones,
        None,
        true,
        "bench",
        xuncha::zone::registry::Indexing::Live,
    )
    .await
    .unwrap();
    let token = xuncha::auth::new_token();
    let hash = xuncha::auth::token_hash(&token);
    state
        .store
        .write_sync(|tx| {
            let u = xuncha::store::users::add(tx, "bench", Role::Patrol, "x", 0)?;
            xuncha::store::users::add_token(tx, &hash, u.id, "api", 0, None)
        })
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(xuncha::run(listener, state.clone(), std::future::pending()));
    (state, base, token)
}

/// Fires `total` requests made by `make(n)` from `clients` concurrent clients; returns the
/// elapsed time. Panics on any answer but 201.
async fn fire<F>(base: &str, token: &str, clients: usize, total: usize, make: F) -> Duration
where
    F: Fn(usize, &reqwest::Client, &str) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let make = Arc::new(make);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, next, make) = (http.clone(), next.clone(), make.clone());
        let url = format!("{base}/api/reports");
        let token = token.to_string();
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let r = make(n, &http, &url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    r.status().as_u16(),
                    201,
                    "{}",
                    r.text().await.unwrap_or_default()
                );
                let _ = r.bytes().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    t0.elapsed()
}

/// A 4000 × 3000 picture with the texture of a street photo (gradients, edges, noise), so it
/// compresses like one (a few MB at quality 92). Deterministic.
fn twelve_mp_jpeg() -> Vec<u8> {
    let mut s: u32 = 20240611;
    let img = image::RgbImage::from_fn(4000, 3000, |x, y| {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        let noise = (s % 24) as i32 - 12;
        let band = if (x / 180 + y / 140) % 2 == 0 { 30 } else { 0 };
        let r = (x * 200 / 4000) as i32 + band + noise;
        let g = (y * 180 / 3000) as i32 + noise;
        let b = (((x + y) / 23) % 200) as i32 + noise;
        image::Rgb([
            r.clamp(0, 255) as u8,
            g.clamp(0, 255) as u8,
            b.clamp(0, 255) as u8,
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
        .encode_image(&img)
        .unwrap();
    out
}

/// The same JPEG with a comment segment after SOI, so every upload has its own SHA-256 (and is
/// decoded, not found as a duplicate) while the pixels stay the same.
fn variant(base: &[u8], n: usize) -> Vec<u8> {
    let text = format!("bench upload {n:08}");
    let mut out = Vec::with_capacity(base.len() + 32);
    out.extend_from_slice(&base[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&((text.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&base[2..]);
    out
}

fn main() {
    // Criterion-style filters are passed by `cargo bench`; this bench has one job.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let (state, base, token) = start(dir.path()).await;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!("cores: {cores}; data folder on {}", dir.path().display());

    // 1. JSON reports.
    let total = env_usize("INGEST_JSON", 20_000);
    fire(&base, &token, 64, 500, json_report).await; // warm up connections and caches
    let before = state
        .store
        .read_sync(xuncha::store::reports::count)
        .unwrap();
    let t = fire(&base, &token, 64, total, json_report).await;
    let after = state
        .store
        .read_sync(xuncha::store::reports::count)
        .unwrap();
    assert_eq!((after - before) as usize, total);
    println!(
        "json: {total} reports, 64 clients, {:.2} s → {:.0} reports/s acknowledged (durable: WAL, synchronous=FULL, group commit)",
        t.as_secs_f64(),
        total as f64 / t.as_secs_f64()
    );

    // 2. 12-MP JPEG.
    let photo = Arc::new(twelve_mp_jpeg());
    println!("photo: 4000×3000 JPEG, {:.1} MB", photo.len() as f64 / 1e6);
    let limits = state.reports.settings.photo.clone();
    let n_bare = env_usize("INGEST_PHOTOS", 40);
    // Bare decode + resize on every core, the same work split the server gets.
    let bare = |threads: usize| {
        let t0 = Instant::now();
        let per = n_bare.div_ceil(threads);
        std::thread::scope(|s| {
            for _ in 0..threads {
                let (photo, limits) = (photo.clone(), limits.clone());
                s.spawn(move || {
                    for _ in 0..per {
                        let (img, _, _) = xuncha::report::photo::decode(&photo, &limits).unwrap();
                        std::hint::black_box(xuncha::report::photo::shrink(&img, limits.long_side));
                    }
                });
            }
        });
        (per * threads) as f64 / t0.elapsed().as_secs_f64()
    };
    let bare_1 = bare(1);
    let bare_n = bare(cores);
    let uploads = n_bare;
    let base_photo = photo.clone();
    let t = fire(&base, &token, cores * 2, uploads, move |n, http, url| {
        let form = reqwest::multipart::Form::new()
            .text("lon", format!("{}", 126.40 + (n % 100) as f64 * 0.0004))
            .text("lat", "41.935")
            .text("category", "garbage")
            .part(
                "photo",
                reqwest::multipart::Part::bytes(variant(&base_photo, n)).file_name("IMG.jpg"),
            );
        http.post(url).multipart(form)
    })
    .await;
    let served = uploads as f64 / t.as_secs_f64();
    println!("bare decode+resize: {bare_1:.2}/s on 1 thread, {bare_n:.2}/s on {cores} threads");
    println!(
        "server: {uploads} reports with one 12-MP JPEG, {} clients: {served:.2} reports/s = {:.0} % of the bare rate on {cores} threads",
        cores * 2,
        served / bare_n * 100.0
    );

    // Where the time of one photo goes (one thread, best of 3).
    let mut best = [f64::MAX; 5];
    for i in 0..3 {
        let bytes = variant(&photo, 1_000_000 + i);
        let t0 = Instant::now();
        let id = xuncha::report::photo::sha256_hex(&bytes);
        let t1 = Instant::now();
        let (img, _, _) = xuncha::report::photo::decode(&bytes, &limits).unwrap();
        let t2 = Instant::now();
        let normal = xuncha::report::photo::shrink(&img, limits.long_side);
        let thumb = xuncha::report::photo::shrink(&normal, limits.thumb_side);
        let t3 = Instant::now();
        let n = xuncha::report::photo::encode_jpeg(&normal).unwrap();
        let t = xuncha::report::photo::encode_jpeg(&thumb).unwrap();
        let t4 = Instant::now();
        let files = state.reports.files();
        files
            .put(&id, xuncha::store::photos::Kind::Original, &bytes)
            .unwrap();
        files
            .put(&id, xuncha::store::photos::Kind::Normal, &n)
            .unwrap();
        files
            .put(&id, xuncha::store::photos::Kind::Thumb, &t)
            .unwrap();
        let t5 = Instant::now();
        for (b, s) in best
            .iter_mut()
            .zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4])
        {
            *b = b.min(s.as_secs_f64() * 1000.0);
        }
    }
    println!(
        "one photo, ms: sha256 {:.1}, decode {:.1}, resize to 2048 + thumbnail {:.1}, JPEG encode (normal + thumb) {:.1}, write + fsync 3 files {:.1}",
        best[0], best[1], best[2], best[3], best[4]
    );
}

fn json_report(n: usize, http: &reqwest::Client, url: &str) -> reqwest::RequestBuilder {
    // Spread over the town so the duplicate search sees realistic neighbourhoods.
    let lon = 126.395 + (n % 97) as f64 * 0.0005;
    let lat = 41.925 + (n / 97 % 53) as f64 * 0.0005;
    let category = ["garbage", "weeds", "illegal_ads", "debris"][n % 4];
    http.post(url).json(&serde_json::json!({
        "lon": lon,
        "lat": lat,
        "category": category,
        "client_id": uuid::Uuid::new_v4().to_string(),
        "note": "bench",
    }))
}
