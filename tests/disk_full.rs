//! A full disk (issue 12, point 9): the data folder on a small tmpfs made by the test (the test
//! command runs as root, which `mount` needs). A report whose photo cannot be stored answers 507
//! with `Retry-After` and a clear message, stores nothing, leaves no stray file, and the server
//! works again once there is room.

mod common;

use common::{jpeg, photo_part};
use reqwest::multipart::Form;
use serde_json::Value;
use std::process::Command;

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        Command::new("umount").arg(&self.0).status().ok();
    }
}

fn files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    common::files_under(root)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_507_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&mnt)
        .status()
        .expect("run mount");
    assert!(
        st.success(),
        "mounting a 4 MiB tmpfs failed: this test needs root (the test command runs as root)"
    );
    let _unmount = Mount(mnt.clone());
    let data = mnt.join("data");
    // The database stays SQLite in the small folder (a PostgreSQL run has its own disk).
    let state = xuncha::App::open(xuncha::Config {
        data_dir: data.clone(),
        ..xuncha::Config::default()
    })
    .unwrap();
    let (_, token) = state
        .add_user("walker", xuncha::auth::Role::Patrol, "Hunjiang-river-7391")
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(xuncha::run(
        listener,
        state.clone(),
        std::future::pending::<()>(),
    ));
    let http = reqwest::Client::new();
    let photo = jpeg(1600, 1200, 3);
    let send = |photo: Vec<u8>| {
        let form = Form::new()
            .text("lon", "126.42")
            .text("lat", "41.94")
            .text("category", "garbage")
            .part("photo", photo_part(photo, "p.jpg"));
        http.post(format!("{base}/api/reports"))
            .bearer_auth(&token)
            .multipart(form)
            .send()
    };
    // Fill the disk, leaving less room than one photo needs.
    let filler = mnt.join("filler");
    let free = fs_free(&mnt);
    std::fs::write(&filler, vec![0u8; (free - 64 * 1024) as usize]).unwrap();
    let before_files = files(&data.join("photos"));
    let before = state
        .store
        .read_sync(xuncha::store::reports::count)
        .unwrap();
    let r = send(photo.clone()).await.unwrap();
    assert_eq!(r.status(), 507);
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    assert!(retry.is_some(), "507 without Retry-After");
    let v: Value = r.json().await.unwrap();
    assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    assert_eq!(
        state
            .store
            .read_sync(xuncha::store::reports::count)
            .unwrap(),
        before,
        "nothing acknowledged, nothing stored"
    );
    assert_eq!(
        files(&data.join("photos")),
        before_files,
        "no stray photo file"
    );
    // Room again: the same report goes through.
    std::fs::remove_file(&filler).unwrap();
    let r = send(photo).await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    assert_eq!(
        state
            .store
            .read_sync(xuncha::store::reports::count)
            .unwrap(),
        before + 1
    );
    drop(state);
}

fn fs_free(p: &std::path::Path) -> u64 {
    let out = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(p)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}
