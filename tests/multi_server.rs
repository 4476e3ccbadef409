//! Several servers on one PostgreSQL database behave as one (issue 10): an edit on one is seen by
//! the other, optimistic concurrency and idempotency hold across them, a session ended on one
//! ends on both, a server killed mid-upload loses nothing acknowledged, and a database outage
//! answers 503 and heals by itself.
//!
//! Needs a PostgreSQL server: `XUNCHA_TEST_DATABASE_URL`. The tests are `#[ignore]`d so that the
//! SQLite pass of the suite leaves them out; `scripts/test.sh` starts a throw-away cluster and runs
//! them with `--include-ignored`.

mod common;

use common::{fresh_database, jpeg, rect_feature};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use xuncha::auth::Role;
use xuncha::{App, AppState, Config};

const BIN: &str = env!("CARGO_BIN_EXE_xuncha");
/// How long another server may take to show a change in these tests (the feed is woken by
/// NOTIFY at once and polls every second; the margin is for a loaded test machine).
const SEEN_WITHIN: Duration = Duration::from_secs(3);

struct Server {
    base: String,
    state: AppState,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve(database: &str, data: &Path) -> Server {
    let config = Config {
        data_dir: data.to_path_buf(),
        database: Some(database.to_string()),
        ..Config::default()
    };
    let state = App::open(config).expect("open app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(xuncha::run(listener, state.clone(), async {
        let _ = rx.await;
    }));
    Server {
        base,
        state,
        _stop: tx,
    }
}

/// Two servers on one new database and one shared photo folder, and a token per role.
async fn pair() -> (
    Server,
    Server,
    std::collections::HashMap<Role, String>,
    tempfile::TempDir,
) {
    let db = fresh_database().expect("XUNCHA_TEST_DATABASE_URL must name a PostgreSQL server");
    let dir = tempfile::tempdir().unwrap();
    let a = serve(&db, dir.path()).await;
    let b = serve(&db, dir.path()).await;
    let mut tokens = std::collections::HashMap::new();
    for role in Role::ALL {
        let (_, t) = a
            .state
            .add_user(role.as_str(), role, &format!("{role}-password-1"))
            .unwrap();
        tokens.insert(role, t);
    }
    (a, b, tokens, dir)
}

/// Polls `check` until it holds or `SEEN_WITHIN` passes; returns how long it took.
async fn eventually<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t0 = Instant::now();
    loop {
        if check().await {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < SEEN_WITHIN,
            "{what}: not seen within {SEEN_WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn match_ids(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    lon: f64,
    lat: f64,
) -> Vec<String> {
    let v: Value = http
        .get(format!("{base}/api/match?lon={lon}&lat={lat}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

/// The tile of `(lon, lat)` at z16 with the zones layer: (status, ETag).
async fn tile_etag(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    lon: f64,
    lat: f64,
) -> (u16, Option<String>) {
    let z = 16u32;
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let lr = lat.to_radians();
    let y = ((1.0 - (lr.tan() + 1.0 / lr.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    let r = http
        .get(format!("{base}/tiles/{z}/{x}/{y}.mvt?layers=zones"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let etag = r
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_string());
    (r.status().as_u16(), etag)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a PostgreSQL server: scripts/test.sh runs it with XUNCHA_TEST_DATABASE_URL and --include-ignored"]
async fn an_edit_on_one_server_is_seen_by_the_other() {
    let (a, b, tokens, _dir) = pair().await;
    let http = reqwest::Client::new();
    let planner = &tokens[&Role::Planner];
    let (lon, lat) = (126.4305, 41.9455);
    let (_, tile_before) = tile_etag(&http, &b.base, planner, lon, lat).await;

    // Create on A.
    let f = rect_feature(
        "ms-zone",
        "responsibility",
        lon - 0.0004,
        lat - 0.0003,
        lon + 0.0004,
        lat + 0.0003,
    );
    let r = http
        .post(format!("{}/api/zones", a.base))
        .bearer_auth(planner)
        .json(&f)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let took = eventually("the new zone in B's /api/match", || async {
        match_ids(&http, &b.base, planner, lon, lat)
            .await
            .contains(&"ms-zone".to_string())
    })
    .await;
    eprintln!("zone created on A matched on B after {took:?}");
    let listed: Value = http
        .get(format!("{}/api/zones?kind=responsibility", b.base))
        .bearer_auth(planner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "ms-zone"));
    let (status, tile_after) = tile_etag(&http, &b.base, planner, lon, lat).await;
    assert_eq!(status, 200);
    assert_ne!(tile_after, tile_before, "B's tile (and its ETag) changed");

    // Edit on A with If-Match; B's copy of version 1 is then stale.
    let mut edited = f.clone();
    edited["properties"]["name"] = json!("改名后的门前");
    let r = http
        .put(format!("{}/api/zones/ms-zone", a.base))
        .bearer_auth(planner)
        .header("if-match", "\"1\"")
        .json(&edited)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = http
        .put(format!("{}/api/zones/ms-zone", b.base))
        .bearer_auth(planner)
        .header("if-match", "\"1\"")
        .json(&f)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        409,
        "a stale If-Match is refused on the other server too"
    );
    eventually("the new name on B", || async {
        let v: Value = http
            .get(format!("{}/api/match?lon={lon}&lat={lat}", b.base))
            .bearer_auth(planner)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["matches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "ms-zone" && m["name"] == "改名后的门前")
    })
    .await;

    // Retire on A: gone from B's index.
    let r = http
        .delete(format!("{}/api/zones/ms-zone", a.base))
        .bearer_auth(planner)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    eventually("the retired zone leaving B's index", || async {
        !match_ids(&http, &b.base, planner, lon, lat)
            .await
            .contains(&"ms-zone".to_string())
    })
    .await;
    let h: Value = http
        .get(format!("{}/healthz", b.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["database"]["backend"], "postgres");
    assert_eq!(h["feed"]["listening"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a PostgreSQL server: scripts/test.sh runs it with XUNCHA_TEST_DATABASE_URL and --include-ignored"]
async fn one_client_id_posted_to_both_servers_at_once_is_one_report() {
    let (a, b, tokens, _dir) = pair().await;
    let http = reqwest::Client::new();
    let patrol = &tokens[&Role::Patrol];
    for round in 0..20 {
        let cid = uuid::Uuid::new_v4().to_string();
        let body = json!({"lon": 126.42, "lat": 41.94, "category": "garbage", "client_id": cid, "note": format!("round {round}")});
        let send = |base: String| {
            let http = http.clone();
            let body = body.clone();
            let patrol = patrol.clone();
            async move {
                let r = http
                    .post(format!("{base}/api/reports"))
                    .bearer_auth(patrol)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let s = r.status().as_u16();
                (s, r.json::<Value>().await.unwrap())
            }
        };
        let ((sa, va), (sb, vb)) = tokio::join!(send(a.base.clone()), send(b.base.clone()));
        let mut codes = [sa, sb];
        codes.sort();
        assert_eq!(
            codes,
            [200, 201],
            "one creates, the other finds it (round {round})"
        );
        assert_eq!(va["id"], vb["id"]);
    }
    let n = a
        .state
        .store
        .read_sync(xuncha::store::reports::count)
        .unwrap();
    assert_eq!(n, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a PostgreSQL server: scripts/test.sh runs it with XUNCHA_TEST_DATABASE_URL and --include-ignored"]
async fn a_session_ended_on_one_server_ends_on_the_other() {
    let (a, b, _tokens, _dir) = pair().await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/login", a.base))
        .json(&json!({"username": "office", "password": "office-password-1", "token": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let me = |base: String| {
        let http = http.clone();
        let token = token.clone();
        async move {
            http.get(format!("{base}/api/me"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        me(b.base.clone()).await,
        200,
        "a session made on A works on B"
    );
    let r = http
        .post(format!("{}/api/logout", a.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    eventually("the session refused on B", || async {
        me(b.base.clone()).await == 401
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Child processes: SIGKILL of one of two servers, and a database outage.

fn spawn_server(database: &str, data: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["--database", database, "--data", data.to_str().unwrap()])
        .args(["serve", "--addr", "127.0.0.1:0", "--web", "/nonexistent"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server exited before listening")
            .unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

fn add_user(database: &str, data: &Path) -> String {
    let out = Command::new(BIN)
        .args(["--database", database, "--data", data.to_str().unwrap()])
        .args([
            "user",
            "add",
            "walker",
            "--role",
            "patrol",
            "--password",
            "pw-night-shift-2026",
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

#[derive(Debug, Clone)]
struct Acked {
    id: i64,
    client_id: String,
    photos: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a PostgreSQL server: scripts/test.sh runs it with XUNCHA_TEST_DATABASE_URL and --include-ignored"]
async fn killing_one_of_two_servers_mid_upload_loses_nothing_acknowledged() {
    let db = fresh_database().expect("XUNCHA_TEST_DATABASE_URL must name a PostgreSQL server");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let token = add_user(&db, &data);
    let (mut a, base_a) = spawn_server(&db, &data);
    let (mut b, base_b) = spawn_server(&db, &data);
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let failures_on_b = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let http = reqwest::Client::new();
    let photos: Arc<Vec<Vec<u8>>> = Arc::new((0..8).map(|s| jpeg(640, 480, s)).collect());
    let mut tasks = Vec::new();
    for client in 0..64usize {
        let (http, token, acked, stop, photos, fails) = (
            http.clone(),
            token.clone(),
            acked.clone(),
            stop.clone(),
            photos.clone(),
            failures_on_b.clone(),
        );
        // Half the clients talk to A (which is killed), half to B (which must keep serving).
        let base = if client % 2 == 0 {
            base_a.clone()
        } else {
            base_b.clone()
        };
        let on_b = client % 2 == 1;
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let cid = format!("00000000-0000-4000-8000-{:06}{i:06}", client);
                // Eight photos shared by all: the same photo arriving at two servers at once.
                let p = photos[(client + i) % photos.len()].clone();
                let form = Form::new()
                    .text("lon", "126.42")
                    .text("lat", "41.94")
                    .text("category", "garbage")
                    .text("client_id", cid.clone())
                    .part(
                        "photo",
                        Part::bytes(p)
                            .file_name("p.jpg")
                            .mime_str("image/jpeg")
                            .unwrap(),
                    );
                match http
                    .post(format!("{base}/api/reports"))
                    .bearer_auth(&token)
                    .multipart(form)
                    .timeout(Duration::from_secs(20))
                    .send()
                    .await
                {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let v: Value = r.json().await.unwrap();
                        acked.lock().unwrap().push(Acked {
                            id: v["id"].as_i64().unwrap(),
                            client_id: cid,
                            photos: v["photos"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|p| p["id"].as_str().unwrap().to_string())
                                .collect(),
                        });
                    }
                    other if on_b => {
                        match other {
                            Ok(r) => {
                                let st = r.status();
                                eprintln!("B answered {st}: {}", r.text().await.unwrap_or_default())
                            }
                            Err(e) => eprintln!("B failed: {e}"),
                        }
                        fails.fetch_add(1, Ordering::Relaxed);
                    }
                    // A was killed: this client is done.
                    _ => return,
                }
            }
        }));
    }
    // Exactly one of the two runs the background jobs.
    let leader = |base: String| {
        let http = http.clone();
        async move {
            http.get(format!("{base}/healthz"))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["leader"]
                == true
        }
    };
    let t = Instant::now();
    loop {
        let (la, lb) = (leader(base_a.clone()).await, leader(base_b.clone()).await);
        assert!(!(la && lb), "both servers lead");
        if la != lb {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "no server leads");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t0 = Instant::now();
    while acked.lock().unwrap().len() < 80 && t0.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill().unwrap(); // SIGKILL
    a.wait().unwrap();
    let at_kill = acked.lock().unwrap().len();
    // B keeps serving after A died.
    let t1 = Instant::now();
    while acked.lock().unwrap().len() < at_kill + 40 && t1.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    eprintln!(
        "{at_kill} acknowledged before the kill, {} in all; {} failures on B",
        acked.len(),
        failures_on_b.load(Ordering::Relaxed)
    );
    assert!(
        acked.len() >= at_kill + 40,
        "B went on acknowledging after A was killed"
    );
    assert_eq!(
        failures_on_b.load(Ordering::Relaxed),
        0,
        "no request to B failed"
    );
    // Every acknowledged report, with its photo, on the surviving server; no duplicates.
    let store = common::open_store_at(&db, &data);
    let (count, distinct): (i64, i64) = store
        .read_sync(|c| {
            Ok((
                c.query_scalar("SELECT count(*) FROM reports", &[])?,
                c.query_scalar("SELECT count(DISTINCT client_id) FROM reports", &[])?,
            ))
        })
        .unwrap();
    assert_eq!(count, distinct, "no duplicate reports");
    let ids: HashSet<i64> = acked.iter().map(|a| a.id).collect();
    assert_eq!(ids.len(), acked.len());
    for a in &acked {
        let r = http
            .get(format!("{base_b}/api/reports/{}", a.id))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "acknowledged report {} is on B", a.id);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["client_id"], a.client_id.as_str());
        for p in &a.photos {
            let r = http
                .get(format!("{base_b}/api/photos/{p}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "photo {p} of report {}", a.id);
            assert!(image::load_from_memory(&r.bytes().await.unwrap()).is_ok());
        }
    }
    b.kill().unwrap();
    b.wait().unwrap();
}

/// A throw-away cluster of this test's own, which it can stop and start.
struct Cluster {
    url: String,
    dir: PathBuf,
}

impl Cluster {
    /// Starts on a free port below the ephemeral range (where servers bound to port 0 and
    /// outgoing connections take theirs, and where the cluster could lose its port between a
    /// pause and a resume); a failed start is tried again on another port.
    fn start() -> Cluster {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-temp.sh");
        let mut errors = Vec::new();
        for attempt in 0..5u32 {
            let port = (20_000 + (std::process::id() * 7 + attempt * 1_237) % 12_000) as u16;
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                errors.push(format!("port {port} is taken"));
                continue;
            }
            let out = Command::new("bash")
                .arg(&script)
                .env("PGPORT", port.to_string())
                .output()
                .unwrap();
            if out.status.success() {
                let text = String::from_utf8(out.stdout).unwrap();
                let mut lines = text.lines();
                let url = lines.next().unwrap().to_string();
                let dir = PathBuf::from(lines.next().unwrap());
                return Cluster { url, dir };
            }
            errors.push(format!(
                "port {port}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        panic!("no cluster started:\n{}", errors.join("\n"));
    }

    fn run(&self, verb: &str) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-temp.sh");
        let st = Command::new("bash")
            .arg(script)
            .arg(verb)
            .arg(&self.dir)
            .status()
            .unwrap();
        assert!(st.success(), "pg-temp.sh {verb}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.run("stop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a PostgreSQL server: scripts/test.sh runs it with XUNCHA_TEST_DATABASE_URL and --include-ignored"]
async fn a_database_outage_answers_503_and_heals_by_itself() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let token = add_user(&cluster.url, &data);
    let (mut srv, base) = spawn_server(&cluster.url, &data);
    let http = reqwest::Client::new();
    let post = |i: usize| {
        let http = http.clone();
        let (base, token) = (base.clone(), token.clone());
        async move {
            let r = http
                .post(format!("{base}/api/reports"))
                .bearer_auth(token)
                .json(&json!({"lon": 126.42, "lat": 41.94, "category": "weeds", "client_id": format!("00000000-0000-4000-8000-{i:012}")}))
                .timeout(Duration::from_secs(30))
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            let retry = r.headers().get("retry-after").is_some();
            (s, retry, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let mut acked = Vec::new();
    for i in 0..10 {
        let (s, _, v) = post(i).await;
        assert_eq!(s, 201);
        acked.push(v["id"].as_i64().unwrap());
    }
    cluster.run("pause");
    let (s, retry, v) = post(100).await;
    assert_eq!(s, 503, "a report during the outage: {v}");
    assert!(retry, "503 carries Retry-After");
    assert!(v["error"].as_str().unwrap().contains("nothing was stored"));
    let h = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(h.status(), 503);
    assert_eq!(
        h.json::<Value>().await.unwrap()["database"]["reachable"],
        false
    );
    cluster.run("resume");
    // The server reconnects by itself.
    let t0 = Instant::now();
    loop {
        let (s, _, v) = post(200).await;
        if s == 201 || s == 200 {
            acked.push(v["id"].as_i64().unwrap());
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no recovery: {s} {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let h = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(h.status(), 200);
    // Nothing acknowledged was lost, and the report refused during the outage does not exist.
    for id in &acked {
        let r = http
            .get(format!("{base}/api/reports/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let store = common::open_store_at(&cluster.url, &data);
    let n: i64 = store
        .read_sync(|c| Ok(c.query_scalar("SELECT count(*) FROM reports WHERE client_id = '00000000-0000-4000-8000-000000000100'", &[])?))
        .unwrap();
    assert_eq!(n, 0, "the refused report was not half-stored");
    srv.kill().unwrap();
    srv.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a PostgreSQL server: scripts/test.sh runs it with XUNCHA_TEST_DATABASE_URL and --include-ignored"]
async fn migrate_copies_the_demo_city_into_postgres_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let config = Config {
            data_dir: data.clone(),
            ..Config::default()
        };
        let state = App::open(config).unwrap();
        assert!(xuncha::demo::load(&state, &common::geodata())
            .await
            .unwrap());
    }
    let db = fresh_database().expect("XUNCHA_TEST_DATABASE_URL must name a PostgreSQL server");
    let run = || {
        Command::new(BIN)
            .args(["--data", data.to_str().unwrap()])
            .args(["migrate", "--from", data.to_str().unwrap(), "--to", &db])
            .output()
            .unwrap()
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("copied and verified"));
    let again = run();
    assert!(!again.status.success(), "a second run is refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds data"));

    let src = xuncha::store::Store::open(&data).unwrap();
    let dst = common::open_store_at(&db, &data);
    for table in [
        "zones",
        "zone_history",
        "users",
        "tokens",
        "reports",
        "report_events",
        "report_photos",
        "photos",
        "stat_reports",
    ] {
        let q = format!("SELECT count(*) FROM {table}");
        let a: i64 = src.read_sync(|c| Ok(c.query_scalar(&q, &[])?)).unwrap();
        let b: i64 = dst.read_sync(|c| Ok(c.query_scalar(&q, &[])?)).unwrap();
        assert_eq!(a, b, "{table}");
        assert!(a > 0, "{table} has rows");
    }
    let zones_a = src.read_sync(xuncha::store::zones::list_all).unwrap();
    let zones_b = dst.read_sync(xuncha::store::zones::list_all).unwrap();
    assert_eq!(zones_a.len(), zones_b.len());
    for (a, b) in zones_a.iter().zip(&zones_b) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.geometry, b.geometry, "zone {}", a.id);
        assert_eq!(a.version, b.version);
    }
    // The PostGIS geometry column is what GIS tools read: its area agrees with ours.
    let diffs: Vec<(String, f64)> = dst
        .read_sync(|c| {
            Ok(c.query_vec(
                "SELECT id, ST_Area(geom::geography) FROM zones WHERE kind <> 'patrol_route' ORDER BY id",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap();
    assert_eq!(
        diffs.len(),
        zones_b
            .iter()
            .filter(|z| z.kind != xuncha::zone::ZoneKind::PatrolRoute)
            .count()
    );
    use geo::GeodesicArea;
    for (id, pg_area) in diffs {
        let z = zones_b.iter().find(|z| z.id == id).unwrap();
        let xuncha::zone::ZoneGeometry::Area(mp) = &z.geometry else {
            unreachable!()
        };
        let ours = mp.geodesic_area_unsigned();
        assert!(
            (ours - pg_area).abs() <= 1e-6 * ours.max(1.0) + 0.01,
            "zone {id}: {ours} m² vs PostGIS {pg_area} m²"
        );
    }
    // And a desktop GIS reads the table directly.
    let og = Command::new("ogrinfo")
        .args(["-ro", "-so", &format!("PG:{}", conninfo(&db)), "zones"])
        .output()
        .expect("ogrinfo (Debian gdal-bin) must be installed");
    let text = String::from_utf8_lossy(&og.stdout);
    assert!(
        og.status.success(),
        "{}",
        String::from_utf8_lossy(&og.stderr)
    );
    assert!(
        text.contains(&format!("Feature Count: {}", zones_b.len())),
        "{text}"
    );
}

/// `host=… port=… user=… dbname=…` from `postgres://user@host:port/db` (GDAL's PG driver mangles
/// URLs when it adds its application name).
fn conninfo(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap();
    let (auth, hostdb) = rest.split_once('@').unwrap();
    let (hostport, db) = hostdb.split_once('/').unwrap();
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
    format!("host={host} port={port} user={auth} dbname={db}")
}
