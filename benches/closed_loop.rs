//! Closed-loop measurements (issue 11). Not a criterion bench: plain `main`.
//!
//! `cargo bench --bench closed_loop` prints:
//! 1. the overdue sweep's query over `SWEEP_REPORTS` stored reports (default 1 000 000; a tenth
//!    open with a deadline in the future, so nothing is due): time per sweep through the partial
//!    index on `sweep_at`, next to the same question asked of the table without it (a scan), and
//!    the query plan;
//! 2. webhook fan-out: `FANOUT_EVENTS` reports (default 1 000) filed over HTTP to the real server,
//!    each event delivered to 10 receivers on loopback, one of which sleeps 5 s per request:
//!    deliveries per second to the nine others and how late they arrived.
//!
//! `BENCH_DATABASE_URL=postgres://…` runs part 1 on PostgreSQL instead of SQLite.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use xuncha::auth::Role;
use xuncha::store::{Location, Store};
use xuncha::{App, Config};

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn timed(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(|a, b| a.total_cmp(b));
    (percentile(&t, 0.5), percentile(&t, 0.99))
}

fn sweep(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let pg = std::env::var("BENCH_DATABASE_URL").ok();
    let store = match &pg {
        Some(url) => Store::open_at(&Location::Postgres(url.clone()), dir.path()).unwrap(),
        None => Store::open(dir.path()).unwrap(),
    };
    let now = xuncha::time::now_ms();
    let future = now + 3_600_000;
    let t0 = Instant::now();
    // A tenth open with a deadline an hour away, the rest closed (no deadline).
    let fill = if pg.is_some() {
        format!(
            "INSERT INTO reports (lon, lat, location_source, crs, category, status, captured_at, created_at, created_by, updated_at, zones, ambiguous, due_at, sweep_at)
             SELECT 126.4 + (i % 1000) * 0.00001, 41.9 + (i / 1000) * 0.00001, 'client', 'wgs84', 'garbage',
                    CASE WHEN i % 10 = 0 THEN 'dispatched' ELSE 'closed' END, 0, 0, 'bench', 0, '[]', false,
                    CASE WHEN i % 10 = 0 THEN {future} + i END, CASE WHEN i % 10 = 0 THEN {future} + i END
             FROM generate_series(1, {n}) AS i"
        )
    } else {
        format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n})
             INSERT INTO reports (lon, lat, location_source, crs, category, status, captured_at, created_at, created_by, updated_at, zones, ambiguous, due_at, sweep_at)
             SELECT 126.4 + (i % 1000) * 0.00001, 41.9 + (i / 1000) * 0.00001, 'client', 'wgs84', 'garbage',
                    CASE WHEN i % 10 = 0 THEN 'dispatched' ELSE 'closed' END, 0, 0, 'bench', 0, '[]', 0,
                    CASE WHEN i % 10 = 0 THEN {future} + i END, CASE WHEN i % 10 = 0 THEN {future} + i END
             FROM s"
        )
    };
    store.write_sync(|tx| Ok(tx.execute(&fill, &[])?)).unwrap();
    if pg.is_some() {
        store
            .write_sync(|tx| Ok(tx.execute("ANALYZE reports", &[])?))
            .unwrap();
    }
    println!(
        "sweep: {n} reports stored in {:.1} s ({})",
        t0.elapsed().as_secs_f64(),
        if pg.is_some() { "PostgreSQL" } else { "SQLite" }
    );
    let plan_sql = if pg.is_some() {
        "EXPLAIN SELECT id FROM reports WHERE sweep_at IS NOT NULL AND sweep_at <= $1 ORDER BY sweep_at LIMIT $2"
    } else {
        "EXPLAIN QUERY PLAN SELECT id FROM reports WHERE sweep_at IS NOT NULL AND sweep_at <= $1 ORDER BY sweep_at LIMIT $2"
    };
    let plan: Vec<String> = store
        .read_sync(|c| {
            Ok(c.query_vec(
                plan_sql,
                &[
                    xuncha::store::Value::Int(now),
                    xuncha::store::Value::Int(200),
                ],
                |r| {
                    let cols = if pg.is_some() { 1 } else { 4 };
                    Ok(r.str(cols - 1)?.unwrap_or("").to_string())
                },
            )?)
        })
        .unwrap();
    println!("sweep: plan: {}", plan.join(" | "));
    let (p50, p99) = timed(200, || {
        let due = store
            .read_sync(|c| xuncha::store::reports::due_for_sweep(c, now, 200))
            .unwrap();
        assert!(due.is_empty());
    });
    println!("sweep: nothing due, indexed: p50 {p50:.3} ms, p99 {p99:.3} ms per sweep");
    // The same question without the index: every open report's deadline read.
    let scan = if pg.is_some() {
        "SELECT id FROM reports WHERE status IN ('reported','dispatched','in_progress','resolved','reopened') AND due_at + 0 <= $1 ORDER BY due_at LIMIT 200"
    } else {
        "SELECT id FROM reports NOT INDEXED WHERE status IN ('reported','dispatched','in_progress','resolved','reopened') AND due_at <= $1 ORDER BY due_at LIMIT 200"
    };
    let (s50, s99) = timed(20, || {
        let n = store
            .read_sync(|c| {
                Ok(c.query_vec(scan, &[xuncha::store::Value::Int(now)], |r| r.get::<i64>(0))?)
            })
            .unwrap();
        assert!(n.is_empty());
    });
    println!(
        "sweep: nothing due, table scan: p50 {s50:.1} ms, p99 {s99:.1} ms ({:.0}x the indexed sweep)",
        s50 / p50
    );
    // 200 come due: the sweep reads one batch.
    store
        .write_sync(|tx| {
            Ok(tx.execute(
                "UPDATE reports SET sweep_at = $1 WHERE id IN (SELECT id FROM reports WHERE sweep_at IS NOT NULL ORDER BY sweep_at LIMIT 200)",
                &[xuncha::store::Value::Int(now - 1)],
            )?)
        })
        .unwrap();
    let (d50, _) = timed(50, || {
        let due = store
            .read_sync(|c| xuncha::store::reports::due_for_sweep(c, now, 200))
            .unwrap();
        assert_eq!(due.len(), 200);
    });
    println!("sweep: 200 due: p50 {d50:.3} ms to find them");
}

#[derive(Default)]
struct Arrivals {
    /// (receiver, delivery id, milliseconds from the event's creation to its arrival).
    got: Mutex<Vec<(usize, String, f64)>>,
}

async fn receiver(i: usize, slow: bool, arrivals: Arc<Arrivals>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let arrivals = arrivals.clone();
                async move {
                    let now = xuncha::time::now_ms();
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    let at = v["at"]
                        .as_str()
                        .and_then(|s| xuncha::time::parse_rfc3339(s).ok())
                        .unwrap_or(now);
                    let id = headers
                        .get("x-xuncha-delivery")
                        .and_then(|h| h.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    if slow {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                    arrivals
                        .got
                        .lock()
                        .unwrap()
                        .push((i, id, (now - at) as f64));
                    axum::http::StatusCode::OK
                }
            },
        ),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    port
}

async fn fanout(events: usize) {
    let dir = tempfile::tempdir().unwrap();
    let state = App::open(Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    })
    .unwrap();
    let (_, token) = state.add_user("bench", Role::Admin, "x").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(xuncha::run(listener, state.clone(), std::future::pending()));
    let http = reqwest::Client::new();
    let arrivals = Arc::new(Arrivals::default());
    for i in 0..10 {
        let port = receiver(i, i == 0, arrivals.clone()).await;
        let r = http
            .post(format!("{base}/api/webhooks"))
            .bearer_auth(&token)
            .json(&serde_json::json!({
                "url": format!("http://127.0.0.1:{port}/hook"),
                "events": ["report.created"],
                "secret": "bench-secret-0123456789",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..8 {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = c;
            while n < events {
                let r = http
                    .post(format!("{base}/api/reports"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"lon": 126.42, "lat": 41.94, "category": "garbage", "note": format!("fan-out {n}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                n += 8;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let filed = t0.elapsed();
    let fast_total = events * 9;
    loop {
        let fast = arrivals
            .got
            .lock()
            .unwrap()
            .iter()
            .filter(|(i, _, _)| *i != 0)
            .count();
        if fast >= fast_total || t0.elapsed() > Duration::from_secs(600) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = t0.elapsed();
    let got = arrivals.got.lock().unwrap().clone();
    let mut late: Vec<f64> = got
        .iter()
        .filter(|(i, _, _)| *i != 0)
        .map(|(_, _, ms)| *ms)
        .collect();
    late.sort_by(|a, b| a.total_cmp(b));
    let slow = got.iter().filter(|(i, _, _)| *i == 0).count();
    let mut ids: Vec<&String> = got.iter().map(|(_, id, _)| id).collect();
    ids.sort();
    ids.dedup();
    println!(
        "fan-out: {events} events filed in {:.1} s; {} of {fast_total} deliveries to the 9 fast receivers in {:.1} s = {:.0} deliveries/s",
        filed.as_secs_f64(),
        late.len(),
        took.as_secs_f64(),
        late.len() as f64 / took.as_secs_f64()
    );
    println!(
        "fan-out: event to arrival at the fast receivers: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; the slow receiver (5 s per request) got {slow} meanwhile; {} distinct delivery ids for {} arrivals",
        percentile(&late, 0.5),
        percentile(&late, 0.99),
        late.last().copied().unwrap_or(0.0),
        ids.len(),
        got.len()
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n = env_usize("SWEEP_REPORTS", 1_000_000);
    tokio::task::spawn_blocking(move || sweep(n)).await.unwrap();
    fanout(env_usize("FANOUT_EVENTS", 1_000)).await;
}
