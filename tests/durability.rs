//! Issue 3, point 7: a report acknowledged with 201 survives a SIGKILL of the server process in the
//! middle of many uploads, with its photos; leftovers are cleaned at start; the database passes
//! `PRAGMA integrity_check`.
//!
//! Runs the real `xuncha` binary as a child process, so the kill is a real process death (no
//! destructors, no graceful shutdown, nothing flushed that was not already on its way to disk).

mod common;

use common::{files_under, jpeg};
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_xuncha");
const CLIENTS: usize = 64;
/// Kill the server once this many reports were acknowledged (or after `KILL_AFTER`).
const KILL_AT_ACKS: usize = 120;
const KILL_AFTER: Duration = Duration::from_secs(20);

fn add_user(data: &Path) -> String {
    let out = Command::new(BIN)
        .args(common::database_args(data))
        .args([
            "--data",
            data.to_str().unwrap(),
            "user",
            "add",
            "walker",
            "--role",
            "patrol",
            "--password",
            "night-shift-2026",
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

/// Starts `xuncha serve` on a free loopback port; returns the child and its base URL.
fn serve(data: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(common::database_args(data))
        .args([
            "--data",
            data.to_str().unwrap(),
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--web",
            "/nonexistent",
        ])
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
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

#[derive(Debug, Clone)]
struct Acked {
    id: i64,
    client_id: String,
    photos: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_reports_survive_sigkill_mid_upload() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = add_user(&data);
    let (mut child, base) = serve(&data);

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let acked = Arc::new(Mutex::new(Vec::<Acked>::new()));
    let sent = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..CLIENTS {
        let (http, base, token, acked, sent) = (
            http.clone(),
            base.clone(),
            token.clone(),
            acked.clone(),
            sent.clone(),
        );
        workers.push(tokio::spawn(async move {
            for i in 0..1000usize {
                let n = sent.fetch_add(1, Ordering::Relaxed);
                let client_id = uuid::Uuid::new_v4().to_string();
                // Distinct photos (so each upload writes new files) of two sizes.
                let photo = jpeg(320 + (n % 7) as u32 * 16, 240, (n % 251) as u8);
                let second = jpeg(64, 48 + (w % 5) as u32, (i % 13) as u8);
                let form = Form::new()
                    .text("lon", format!("{}", 126.40 + (n % 100) as f64 * 0.0004))
                    .text("lat", "41.935")
                    .text("category", "garbage")
                    .text("client_id", client_id.clone())
                    .part("photo", Part::bytes(photo).file_name("a.jpg"))
                    .part("photo", Part::bytes(second).file_name("b.jpg"));
                let r = http
                    .post(format!("{base}/api/reports"))
                    .bearer_auth(&token)
                    .multipart(form)
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await;
                let Ok(r) = r else { return };
                if r.status().as_u16() != 201 {
                    return;
                }
                let Ok(v) = r.json::<Value>().await else {
                    return;
                };
                acked.lock().unwrap().push(Acked {
                    id: v["id"].as_i64().unwrap(),
                    client_id,
                    photos: v["photos"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| p["id"].as_str().unwrap().to_string())
                        .collect(),
                });
            }
        }));
    }
    let start = Instant::now();
    while acked.lock().unwrap().len() < KILL_AT_ACKS && start.elapsed() < KILL_AFTER {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for w in workers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let in_flight = sent.load(Ordering::Relaxed) - acked.len();
    assert!(
        acked.len() >= 20,
        "too few acknowledged before the kill: {}",
        acked.len()
    );
    assert!(in_flight >= 1, "nothing was in flight at the kill");
    eprintln!(
        "acknowledged {} reports; {} requests were in flight or refused at the kill",
        acked.len(),
        in_flight
    );

    // The database the crash left behind is consistent.
    {
        let store = common::open_store(&data);
        store.integrity_check().unwrap();
    }

    // Plant what a crash can leave: a temporary file and an unreferenced photo.
    let photos_dir = data.join("photos");
    std::fs::create_dir_all(photos_dir.join("ab")).unwrap();
    let orphan = photos_dir
        .join("ab")
        .join(format!("ab{}.jpg", "0".repeat(62)));
    let tmp = photos_dir
        .join("ab")
        .join(format!(".ab{}.jpg.1234.tmp", "0".repeat(62)));
    std::fs::write(&orphan, b"orphan").unwrap();
    std::fs::write(&tmp, b"half").unwrap();
    // A folder shared with other servers (PostgreSQL) keeps recent unreferenced files, which may
    // be another server's upload in flight, and removes old ones; alone (SQLite) it removes all.
    let shared = common::deployment_database(&data).is_some();
    let old = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
    let recent_orphan = photos_dir
        .join("ab")
        .join(format!("ab{}.jpg", "1".repeat(62)));
    std::fs::write(&recent_orphan, b"in flight elsewhere").unwrap();
    for f in [&orphan, &tmp] {
        std::fs::File::options()
            .write(true)
            .open(f)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }

    let (mut child, base) = serve(&data);
    for a in &acked {
        let r = http
            .get(format!("{base}/api/reports/{}", a.id))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "acknowledged report {} is gone", a.id);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["client_id"], a.client_id.as_str());
        let photos: Vec<String> = v["photos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(photos, a.photos);
        for p in &a.photos {
            for suffix in ["", "/thumb"] {
                let r = http
                    .get(format!("{base}/api/photos/{p}{suffix}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    r.status(),
                    200,
                    "photo {p}{suffix} of report {} is gone",
                    a.id
                );
                let bytes = r.bytes().await.unwrap();
                assert!(
                    image::load_from_memory(&bytes).is_ok(),
                    "photo {p}{suffix} is damaged"
                );
            }
        }
    }
    // A retry after the restart still finds the first report.
    let a = &acked[acked.len() / 2];
    let r = http
        .post(format!("{base}/api/reports"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"lon": 126.4, "lat": 41.9, "category": "garbage", "client_id": a.client_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["id"], a.id);
    child.kill().unwrap();
    child.wait().unwrap();

    // Leftovers were cleaned at start; every stored report has every file of every photo.
    assert!(
        !orphan.exists(),
        "an unreferenced photo file survived the start"
    );
    assert!(!tmp.exists(), "a temporary file survived the start");
    assert_eq!(
        recent_orphan.exists(),
        shared,
        "a recent unreferenced file is kept exactly when the folder is shared"
    );
    let _ = std::fs::remove_file(&recent_orphan);
    let store = common::open_store(&data);
    store.integrity_check().unwrap();
    let (referenced, linked): (HashSet<String>, Vec<String>) = store
        .read_sync(|c| {
            let ids = xuncha::store::photos::all_ids(c)?;
            let linked = c.query_vec("SELECT photo_id FROM report_photos", &[], |r| r.get(0))?;
            Ok((ids, linked))
        })
        .unwrap();
    let files = xuncha::store::photos::PhotoFiles::open(&data).unwrap();
    for id in &linked {
        assert!(
            files.has_all(id),
            "photo {id} of a stored report lacks a file"
        );
    }
    for f in files_under(&photos_dir) {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let id = name.split('.').next().unwrap();
        // In a shared folder the killed server's uncommitted uploads stay until they are old
        // enough to be sure no server is still committing them.
        let young = std::fs::metadata(&f)
            .unwrap()
            .modified()
            .unwrap()
            .elapsed()
            .unwrap_or_default()
            < xuncha::report::service::SHARED_CLEAN_AGE;
        assert!(
            referenced.contains(id) || (shared && young),
            "unreferenced file {name} after restart"
        );
    }
    // Nothing half-written: a report row exists only with its photo links and first event.
    let broken: i64 = store
        .read_sync(|c| {
            Ok(c.query_scalar(
                "SELECT count(*) FROM reports r WHERE
                   (SELECT count(*) FROM report_photos p WHERE p.report_id = r.id) <> 2
                   OR NOT EXISTS (SELECT 1 FROM report_events e WHERE e.report_id = r.id)",
                &[],
            )?)
        })
        .unwrap();
    assert_eq!(broken, 0);
}
