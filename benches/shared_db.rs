//! One server on SQLite next to PostgreSQL, and two servers on one PostgreSQL (issue 10). Plain
//! `main`; needs `BENCH_DATABASE_URL`, the maintenance database of a PostgreSQL server with
//! PostGIS (each case gets a new database there), e.g. from `scripts/pg-temp.sh`.
//!
//! `cargo bench --bench shared_db` prints, in one run:
//! 1. durable JSON report ingest by 64 concurrent clients (`SHARED_REPORTS`, default 5 000):
//!    SQLite, PostgreSQL with one server, PostgreSQL with two servers (clients alternate);
//! 2. change-feed latency: from a zone edit's answer on server A to the changed tile `ETag` on
//!    server B, p50/p99 over `SHARED_EDITS` edits (default 200);
//! 3. start-up (open the store, build the index) with the China county polygons from each
//!    backend (`target/fixtures/district.geojson`, from `tiles/fetch_fixtures.sh`).

use std::path::Path;
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

/// A new empty database on the bench server; its URL.
fn new_database(admin: &str, name: &str) -> String {
    let admin2 = admin.to_string();
    let name2 = name.to_string();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&admin2, postgres::NoTls).unwrap();
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name2}"))
            .unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name2}"))
            .unwrap();
    })
    .join()
    .unwrap();
    match admin_base(admin) {
        (base, Some(q)) => format!("{base}/{name}?{q}"),
        (base, None) => format!("{base}/{name}"),
    }
}

fn admin_base(url: &str) -> (String, Option<String>) {
    let (u, q) = match url.split_once('?') {
        Some((u, q)) => (u, Some(q.to_string())),
        None => (url, None),
    };
    (
        u.rsplit_once('/').map(|(b, _)| b).unwrap_or(u).to_string(),
        q,
    )
}

async fn serve(dir: &Path, database: Option<String>) -> (AppState, String) {
    let state = App::open(Config {
        data_dir: dir.to_path_buf(),
        database,
        ..Config::default()
    })
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(xuncha::run(listener, state.clone(), std::future::pending()));
    (state, base)
}

async fn ingest(bases: &[String], token: &str, total: usize) -> f64 {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..64 {
        let (http, next, token) = (http.clone(), next.clone(), token.to_string());
        let url = format!("{}/api/reports", bases[c % bases.len()]);
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&serde_json::json!({
                        "lon": 126.40 + (n % 300) as f64 * 1e-4,
                        "lat": 41.92 + (n / 300 % 300) as f64 * 1e-4,
                        "category": "garbage",
                        "client_id": uuid::Uuid::new_v4().to_string(),
                    }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    total as f64 / t0.elapsed().as_secs_f64()
}

fn token_for(state: &AppState) -> String {
    state.add_user("bench", Role::Admin, "x").unwrap().1
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

async fn feed_latency(a: &str, b: &str, token: &str, edits: usize) -> (f64, f64) {
    let http = reqwest::Client::new();
    let zone = serde_json::json!({"type": "Feature", "id": "bench-zone", "geometry": {"type": "Polygon",
        "coordinates": [[[126.420, 41.940], [126.421, 41.940], [126.421, 41.941], [126.420, 41.941], [126.420, 41.940]]]},
        "properties": {"kind": "responsibility", "name": "测试", "owner": {"name": "测试单位", "sector": "school"}}});
    let r = http
        .post(format!("{a}/api/zones"))
        .bearer_auth(token)
        .json(&zone)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // The z16 tile holding the zone.
    let (z, x, y) = (16u32, 55_782u32, 24_342u32);
    let tile = format!("{b}/tiles/{z}/{x}/{y}.mvt?layers=zones");
    let etag = |http: reqwest::Client, url: String, token: String| async move {
        http.get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_string())
    };
    let mut lat = Vec::new();
    for i in 0..edits {
        let before = etag(http.clone(), tile.clone(), token.to_string()).await;
        let mut z2 = zone.clone();
        z2["properties"]["name"] = serde_json::json!(format!("测试 {i}"));
        let w = 0.0002 + (i % 5) as f64 * 0.0001;
        z2["geometry"]["coordinates"] = serde_json::json!([[
            [126.420, 41.940],
            [126.421 + w, 41.940],
            [126.421 + w, 41.941],
            [126.420, 41.941],
            [126.420, 41.940]
        ]]);
        let r = http
            .put(format!("{a}/api/zones/bench-zone"))
            .bearer_auth(token)
            .header("if-match", format!("\"{}\"", i + 1))
            .json(&z2)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let t0 = Instant::now();
        loop {
            if etag(http.clone(), tile.clone(), token.to_string()).await != before {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "B never saw edit {i}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    (percentile(&mut lat, 0.5), percentile(&mut lat, 0.99))
}

async fn startup(fixture: &Path, database: Option<String>, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    {
        let state = App::open(Config {
            data_dir: dir.path().to_path_buf(),
            database: database.clone(),
            ..Config::default()
        })
        .unwrap();
        let r = xuncha::cli::import(
            &state,
            fixture,
            Some(xuncha::zone::ZoneKind::Grid),
            false,
            "bench",
            xuncha::zone::registry::Indexing::Live,
        )
        .await
        .unwrap();
        println!(
            "start-up ({label}): imported {} counties ({} rejected)",
            r.imported,
            r.rejected.len()
        );
    }
    let t0 = Instant::now();
    let state = App::open(Config {
        data_dir: dir.path().to_path_buf(),
        database,
        ..Config::default()
    })
    .unwrap();
    let took = t0.elapsed();
    println!(
        "start-up ({label}): open + index of {} zones: {:.2} s",
        state.zones.index().len(),
        took.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let Ok(admin) = std::env::var("BENCH_DATABASE_URL") else {
        eprintln!("set BENCH_DATABASE_URL to a PostgreSQL maintenance database (scripts/pg-temp.sh prints one)");
        std::process::exit(2);
    };
    let total = env_usize("SHARED_REPORTS", 5_000);
    let zones = Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata/baishan/zones.geojson");
    let mut results = Vec::new();
    for case in [
        "SQLite, 1 server",
        "PostgreSQL, 1 server",
        "PostgreSQL, 2 servers",
    ] {
        let d1 = tempfile::tempdir().unwrap();
        let d2 = tempfile::tempdir().unwrap();
        let db = (!case.starts_with("SQLite"))
            .then(|| new_database(&admin, &format!("bench_ingest_{}", results.len())));
        let (a, base_a) = serve(d1.path(), db.clone()).await;
        xuncha::cli::import(
            &a,
            &zones,
            None,
            true,
            "bench",
            xuncha::zone::registry::Indexing::Live,
        )
        .await
        .unwrap();
        let token = token_for(&a);
        let mut bases = vec![base_a];
        let mut keep = Vec::new();
        if case.ends_with("2 servers") {
            let (b, base_b) = serve(d2.path(), db.clone()).await;
            bases.push(base_b);
            keep.push(b);
        }
        let rate = ingest(&bases, &token, total).await;
        println!(
            "ingest: {case}: {rate:.0} reports/s ({:.2} ms each)",
            1000.0 / rate
        );
        results.push(rate);
        drop(keep);
    }
    println!(
        "ingest: PostgreSQL 1 server = {:.2}x SQLite; 2 servers = {:.2}x 1 server",
        results[1] / results[0],
        results[2] / results[1]
    );
    // Change feed: two servers on one database.
    let db = new_database(&admin, "bench_feed");
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, base_a) = serve(d1.path(), Some(db.clone())).await;
    let (_b, base_b) = serve(d2.path(), Some(db)).await;
    let token = token_for(&a);
    let edits = env_usize("SHARED_EDITS", 200);
    let (p50, p99) = feed_latency(&base_a, &base_b, &token, edits).await;
    println!("feed: edit answered on A → new tile ETag on B, {edits} edits: p50 {p50:.0} ms, p99 {p99:.0} ms");
    // Start-up with the China counties.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fixtures/district.geojson");
    if fixture.exists() {
        startup(&fixture, None, "SQLite").await;
        startup(
            &fixture,
            Some(new_database(&admin, "bench_start")),
            "PostgreSQL",
        )
        .await;
    } else {
        println!(
            "start-up: {} is missing; run sh tiles/fetch_fixtures.sh",
            fixture.display()
        );
    }
}
