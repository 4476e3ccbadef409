//! Accounts and operations (issue 12, points 6, 7 and 9): API tokens that are named, listed and
//! revoked at once; a demo data folder that refuses to be served beyond loopback while the demo
//! passwords work; an online backup under concurrent writes that restores every acknowledged
//! report.

mod common;

use common::{jpeg, photo_part, TestServer};
use reqwest::multipart::Form;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use xuncha::auth::Role;

const BIN: &str = env!("CARGO_BIN_EXE_xuncha");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_are_named_listed_and_revoked_at_once() {
    let s = TestServer::start().await;
    let (st, v) = {
        let r = s
            .post(Role::Admin, "/api/tokens")
            .json(&json!({"username": "patrol", "name": "hotline bridge", "expires_days": 30}))
            .send()
            .await
            .unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(st, 201, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    let id = v["id"].as_str().unwrap().to_string();
    let me = s
        .http
        .get(s.url("/api/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let list: Value = s
        .get(Role::Admin, "/api/tokens")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(t["username"], "patrol");
    assert_eq!(t["name"], "hotline bridge");
    assert!(t["expires_at"].is_string(), "{t}");
    assert!(
        !list.to_string().contains(&token),
        "the list never shows a token"
    );
    // Bad input: a clear 4xx, nothing made.
    for bad in [
        json!({"username": "patrol", "name": ""}),
        json!({"username": "nobody", "name": "x"}),
        json!({"username": "patrol", "name": "x", "expires_days": 0}),
    ] {
        let r = s
            .post(Role::Admin, "/api/tokens")
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{bad}");
    }
    // Only admins.
    let r = s.get(Role::Office, "/api/tokens").send().await.unwrap();
    assert_eq!(r.status(), 403);
    // Revoked: refused at once.
    let r = s
        .delete(Role::Admin, &format!("/api/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let me = s
        .http
        .get(s.url("/api/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    let r = s
        .delete(Role::Admin, &format!("/api/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let (_, log) = {
        let r = s
            .get(Role::Admin, "/api/audit?action=token.")
            .send()
            .await
            .unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(log["entries"].as_array().unwrap().len(), 2, "{log}");
}

/// Runs the binary to completion; (success, stdout, stderr).
fn run(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(common::database_args(data))
        .args(["--data", data.to_str().unwrap()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts `serve` with `args`; waits until it listens (Some(child)) or exits (None, stderr).
fn serve(data: &std::path::Path, args: &[&str]) -> Result<std::process::Child, String> {
    let mut child = Command::new(BIN)
        .args(common::database_args(data))
        .args([
            "--data",
            data.to_str().unwrap(),
            "serve",
            "--web",
            "/nonexistent",
        ])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    common::await_listening(&mut child).map(|_| child)
}

#[test]
fn a_demo_folder_is_served_on_loopback_only_until_its_passwords_change() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let geodata = concat!(env!("CARGO_MANIFEST_DIR"), "/geodata/baishan");
    let mut demo = serve(
        &data,
        &["--demo", "--geodata", geodata, "--addr", "127.0.0.1:0"],
    )
    .expect("the demo starts on loopback");
    demo.kill().ok();
    demo.wait().ok();
    // Later, without --demo, on every address: refused, naming the accounts.
    let err = serve(&data, &["--addr", "0.0.0.0:0"]).expect_err("served on 0.0.0.0");
    assert!(err.contains("admin") && err.contains("loopback"), "{err}");
    // On loopback it still runs.
    let mut local = serve(&data, &["--addr", "127.0.0.1:0"]).expect("loopback is fine");
    local.kill().ok();
    local.wait().ok();
    // Once every demo account is disabled or has a new password, it may go public.
    for name in ["patrol", "office", "chengnan", "unit", "planner"] {
        let (ok, _, err) = run(&data, &["user", "disable", name]);
        assert!(ok, "{err}");
    }
    let err = serve(&data, &["--addr", "0.0.0.0:0"]).expect_err("admin still has its password");
    assert!(err.contains("admin") && !err.contains("planner"), "{err}");
    let out = Command::new(BIN)
        .args(common::database_args(&data))
        .args(["--data", data.to_str().unwrap(), "user", "passwd", "admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(b"Hunjiang-river-7391\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut public = serve(&data, &["--addr", "0.0.0.0:0"]).expect("no public password left");
    public.kill().ok();
    public.wait().ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_writes_restores_every_acknowledged_report() {
    let s = TestServer::start().await;
    if s.state.store.postgres().is_some() {
        // PostgreSQL deployments are backed up with PostgreSQL's own tools; the command says so.
        let dest = tempfile::tempdir().unwrap();
        let e = xuncha::backup::backup(&s.state, &dest.path().join("b")).unwrap_err();
        assert!(e.to_string().contains("pg_dump"), "{e}");
        return;
    }
    let acked: Arc<Mutex<Vec<i64>>> = Default::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..2u8 {
        let (http, url, token) = (
            s.http.clone(),
            s.url("/api/reports"),
            s.tokens[&Role::Patrol].clone(),
        );
        let (acked, stop) = (acked.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0u8;
            while !stop.load(Ordering::Relaxed) {
                n = n.wrapping_add(1);
                let form = Form::new()
                    .text("lon", format!("{}", 126.42 + f64::from(n) * 1e-5))
                    .text("lat", "41.94")
                    .text("category", "garbage")
                    .part("photo", photo_part(jpeg(32, 24, n ^ w), "p.jpg"));
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .multipart(form)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                let v: Value = r.json().await.unwrap();
                acked.lock().unwrap().push(v["id"].as_i64().unwrap());
            }
        }));
    }
    // Let some reports land, then back up while the writers go on.
    while acked.lock().unwrap().len() < 20 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before: Vec<i64> = acked.lock().unwrap().clone();
    let dest = tempfile::tempdir().unwrap();
    let target = dest.path().join("backup");
    let st = s.state.clone();
    let t2 = target.clone();
    let summary = tokio::task::spawn_blocking(move || xuncha::backup::backup(&st, &t2))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    assert!(summary.reports >= before.len() as i64);
    assert!(summary.photos >= before.len(), "{summary:?}");
    // A second backup into the same folder is refused.
    let st = s.state.clone();
    let t3 = target.clone();
    let again = tokio::task::spawn_blocking(move || xuncha::backup::backup(&st, &t3))
        .await
        .unwrap();
    assert!(again.is_err());
    // Restore into an empty folder, open it, find every report acknowledged before the backup.
    let restored = dest.path().join("restored");
    let r = xuncha::backup::restore(&target, &restored).unwrap();
    assert_eq!(r.reports, summary.reports);
    let app = xuncha::App::open(xuncha::Config {
        data_dir: restored.clone(),
        ..xuncha::Config::default()
    })
    .unwrap();
    for id in &before {
        let v = app.reports.get(*id, false).await.unwrap();
        let photo = v
            .photos
            .first()
            .unwrap_or_else(|| panic!("report {id} lost its photo"));
        let (bytes, mime) = app
            .reports
            .photo_bytes(&photo.id, xuncha::store::photos::Kind::Normal)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(mime, "image/jpeg");
        assert!(!bytes.is_empty());
        let file = restored
            .join("photos")
            .join(&photo.id[..2])
            .join(format!("{}.jpg", photo.id));
        assert!(file.exists(), "{}", file.display());
    }
    // A damaged backup is refused before anything is written.
    let manifest = target.join("MANIFEST.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    m["files"][1]["sha256"] = json!("00");
    std::fs::write(&manifest, serde_json::to_vec(&m).unwrap()).unwrap();
    let other = dest.path().join("other");
    let e = xuncha::backup::restore(&target, &other).unwrap_err();
    assert!(e.to_string().contains("damaged"), "{e}");
    assert!(!other.exists());
}
