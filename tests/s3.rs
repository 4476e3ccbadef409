//! Photos in S3-compatible object storage (issue 10, point 4) against a real S3-compatible
//! server: `scripts/test.sh` starts moto's server, makes the bucket `xuncha-test` and sets
//! `AWS_ENDPOINT`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION` and
//! `AWS_ALLOW_HTTP`; the test is `#[ignore]`d for the plain pass and run with
//! `--include-ignored`.

mod common;

use common::{jpeg, photo_part};
use futures_util::StreamExt;
use reqwest::multipart::Form;
use serde_json::Value;
use xuncha::auth::Role;

fn bucket() -> std::sync::Arc<dyn object_store::ObjectStore> {
    std::sync::Arc::new(
        object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name("xuncha-test")
            .build()
            .expect("AWS_* settings for the test's S3 server"),
    )
}

async fn keys(prefix: &str) -> Vec<String> {
    let store = bucket();
    let p = object_store::path::Path::from(prefix);
    let mut out: Vec<String> = store
        .list(Some(&p))
        .map(|m| m.unwrap().location.to_string())
        .collect()
        .await;
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an S3-compatible server: scripts/test.sh starts one and runs it with --include-ignored"]
async fn photos_go_to_object_storage_and_come_back() {
    let prefix = format!("run-{}", uuid::Uuid::new_v4().simple());
    let url = format!("s3://xuncha-test/{prefix}");
    let s = common::TestServer::start_with(|c| c.photos = Some(url.clone())).await;
    let form = Form::new()
        .text("lon", "126.42")
        .text("lat", "41.94")
        .text("category", "garbage")
        .part("photo", photo_part(jpeg(640, 480, 5), "p.jpg"));
    let r = s
        .post(Role::Patrol, "/api/reports")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let photo = v["photos"][0]["id"].as_str().unwrap().to_string();
    // The acknowledged photo is in the bucket, all three files, and not in the data folder.
    let got = keys(&prefix).await;
    let want: Vec<String> = ["jpg", "orig", "thumb.jpg"]
        .iter()
        .map(|k| format!("{prefix}/{}/{photo}.{k}", &photo[..2]))
        .collect();
    assert_eq!(got, want);
    let local = common::files_under(&s.state.config.data_dir.join("photos"));
    assert!(local.is_empty(), "{local:?}");
    // Served from there.
    for path in [
        format!("/api/photos/{photo}"),
        format!("/api/photos/{photo}/thumb"),
    ] {
        let r = s.get(Role::Patrol, &path).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], "image/jpeg");
        let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
        assert!(img.width() > 0);
    }
    let r = s
        .get(Role::Office, &format!("/api/photos/{photo}/original"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), jpeg(640, 480, 5).len());
    // A second server on the same store sees it (the report and its photos).
    if let Some(db) = s.state.config.database.clone() {
        let dir = tempfile::tempdir().unwrap();
        let other = xuncha::App::open(xuncha::Config {
            data_dir: dir.path().to_path_buf(),
            database: Some(db),
            photos: Some(url.clone()),
            ..xuncha::Config::default()
        })
        .unwrap();
        let (bytes, _) = other
            .reports
            .photo_bytes(&photo, xuncha::store::photos::Kind::Thumb)
            .await
            .unwrap()
            .unwrap();
        assert!(!bytes.is_empty());
    }
    // A bucket that does not exist: 503 with a reason, nothing acknowledged or stored.
    let gone =
        common::TestServer::start_with(|c| c.photos = Some("s3://no-such-bucket-xuncha/p".into()))
            .await;
    let form = Form::new()
        .text("lon", "126.42")
        .text("lat", "41.94")
        .text("category", "garbage")
        .part("photo", photo_part(jpeg(64, 48, 6), "p.jpg"));
    let r = gone
        .post(Role::Patrol, "/api/reports")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some());
    let v: Value = r.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("photo store"), "{v}");
    assert_eq!(
        gone.state
            .store
            .read_sync(xuncha::store::reports::count)
            .unwrap(),
        0
    );
}
