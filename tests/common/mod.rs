//! Shared helpers: a real server on 127.0.0.1:0 with the Baishan zones, users per role, and
//! photos made on the spot.
#![allow(dead_code)]

use image::RgbImage;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use xuncha::auth::Role;
use xuncha::{App, AppState, Config};

pub struct Srv {
    pub base: String,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    pub tokens: HashMap<&'static str, String>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// The PostgreSQL server the suite runs against, when `XUNCHA_TEST_DATABASE_URL` names one (its
/// maintenance database, e.g. `postgres://postgres@127.0.0.1:55432/postgres`); `None` runs the
/// suite on SQLite.
pub fn test_postgres() -> Option<String> {
    std::env::var("XUNCHA_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A new, empty PostgreSQL database (with PostGIS) for one test when the suite runs against
/// PostgreSQL, else `None`.
pub fn fresh_database() -> Option<String> {
    let admin = test_postgres()?;
    // The blocking client must not run on an async runtime's thread.
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&admin, postgres::NoTls)
            .expect("connect to XUNCHA_TEST_DATABASE_URL");
        // A template with PostGIS installed makes each test's database cheap to create. Test
        // processes run at once: one makes it under a lock, under a temporary name, and renames
        // it when it is complete.
        c.batch_execute("SELECT pg_advisory_lock(7367823099)")
            .unwrap();
        let has_template = c
            .query_opt(
                "SELECT 1 FROM pg_database WHERE datname = 'xuncha_test_template'",
                &[],
            )
            .unwrap()
            .is_some();
        if !has_template {
            c.batch_execute("DROP DATABASE IF EXISTS xuncha_test_template_new")
                .unwrap();
            c.batch_execute("CREATE DATABASE xuncha_test_template_new")
                .unwrap();
            let url = with_database(&admin, "xuncha_test_template_new");
            let mut t = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            t.batch_execute("CREATE EXTENSION postgis").unwrap();
            drop(t);
            c.batch_execute(
                "ALTER DATABASE xuncha_test_template_new RENAME TO xuncha_test_template",
            )
            .unwrap();
        }
        c.batch_execute("SELECT pg_advisory_unlock(7367823099)")
            .unwrap();
        let name = format!("xt_{}", uuid::Uuid::new_v4().simple());
        // The template must have no other session; retry while another test copies it.
        for attempt in 0.. {
            match c.batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE xuncha_test_template"
            )) {
                Ok(()) => break,
                Err(e) if attempt < 100 => {
                    let _ = e;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => panic!("create database {name}: {e}"),
            }
        }
        Some(with_database(&admin, &name))
    })
    .join()
    .unwrap()
}

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let base = url.rsplit_once('/').map_or(url, |(b, _)| b);
    format!("{base}/{db}")
}

/// `--database URL` for a child `xuncha` process using the data folder `data`, when the suite
/// runs against PostgreSQL: each data folder is one deployment with a database of its own.
pub fn database_args(data: &Path) -> Vec<String> {
    deployment_database(data)
        .into_iter()
        .flat_map(|u| ["--database".to_string(), u])
        .collect()
}

/// The database of the deployment whose data folder is `data` (made on first use).
pub fn deployment_database(data: &Path) -> Option<String> {
    static DBS: std::sync::Mutex<Option<HashMap<PathBuf, Option<String>>>> =
        std::sync::Mutex::new(None);
    let mut dbs = DBS.lock().unwrap();
    dbs.get_or_insert_with(HashMap::new)
        .entry(data.to_path_buf())
        .or_insert_with(fresh_database)
        .clone()
}

/// The store on PostgreSQL `url` with photos in `data`.
pub fn open_store_at(url: &str, data: &Path) -> xuncha::store::Store {
    xuncha::store::Store::open_at(&xuncha::store::Location::Postgres(url.to_string()), data)
        .unwrap()
}

/// The store of the deployment whose data folder is `data`.
pub fn open_store(data: &Path) -> xuncha::store::Store {
    let location = match deployment_database(data) {
        Some(url) => xuncha::store::Location::Postgres(url),
        None => xuncha::store::Location::Sqlite(data.to_path_buf()),
    };
    xuncha::store::Store::open_at(&location, data).unwrap()
}

pub fn geodata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata/baishan")
}

/// Starts a server on an empty data folder, with `zones` loaded when asked and one user per role
/// (named after the role).
pub async fn start_with(zones: bool, tweak: impl FnOnce(&mut Config)) -> Srv {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        database: fresh_database(),
        ..Config::default()
    };
    tweak(&mut config);
    let state = App::open(config).unwrap();
    if zones {
        let r = xuncha::cli::import(
            &state,
            &geodata().join("zones.geojson"),
            None,
            true,
            "test",
            xuncha::zone::registry::Indexing::Live,
        )
        .await
        .unwrap();
        assert!(r.rejected.is_empty());
    }
    let mut tokens = HashMap::new();
    for role in Role::ALL {
        let token = xuncha::auth::new_token();
        let hash = xuncha::auth::token_hash(&token);
        state
            .store
            .write_sync(|tx| {
                // A dummy password hash: argon2 is slow unoptimized and these users sign in by token.
                let u = xuncha::store::users::add(tx, role.as_str(), role, "x", 0)?;
                xuncha::store::users::add_token(tx, &hash, u.id, "api", 0, None)
            })
            .unwrap();
        tokens.insert(role.as_str(), token);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(xuncha::run(listener, state.clone(), async {
        let _ = rx.await;
    }));
    Srv {
        base: format!("http://{addr}"),
        state,
        dir,
        http: reqwest::Client::new(),
        tokens,
        _stop: stop,
    }
}

pub async fn start() -> Srv {
    start_with(true, |_| {}).await
}

impl Srv {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, role: &str, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(self.url(path))
            .bearer_auth(&self.tokens[role])
    }

    pub async fn get_json(&self, role: &str, path: &str) -> (u16, Value) {
        let r = self.get(role, path).send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, role: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url("/api/reports"))
            .bearer_auth(&self.tokens[role])
            .json(&body)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_form(&self, role: &str, form: Form) -> (u16, Value) {
        let r = self
            .http
            .post(self.url("/api/reports"))
            .bearer_auth(&self.tokens[role])
            .multipart(form)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn patch_json(&self, role: &str, id: i64, body: Value) -> (u16, Value) {
        let r = self
            .http
            .patch(self.url(&format!("/api/reports/{id}")))
            .bearer_auth(&self.tokens[role])
            .json(&body)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn patch_form(&self, role: &str, id: i64, form: Form) -> (u16, Value) {
        let r = self
            .http
            .patch(self.url(&format!("/api/reports/{id}")))
            .bearer_auth(&self.tokens[role])
            .multipart(form)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// Rows in `reports`.
    pub fn report_count(&self) -> i64 {
        self.state
            .store
            .read_sync(xuncha::store::reports::count)
            .unwrap()
    }

    /// Files (of any kind, temporary included) under `photos/`.
    pub fn photo_files(&self) -> Vec<PathBuf> {
        files_under(&self.dir.path().join("photos"))
    }
}

pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(root) else {
        return out;
    };
    for d in dirs.flatten() {
        if d.path().is_dir() {
            for f in std::fs::read_dir(d.path()).unwrap().flatten() {
                out.push(f.path());
            }
        } else {
            out.push(d.path());
        }
    }
    out
}

/// A JPEG of `w` × `h` with a pattern that depends on `seed` (so different seeds hash apart).
pub fn jpeg(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x % 251) as u8 ^ seed,
            (y % 241) as u8,
            seed.wrapping_mul(7),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

fn dms(v: f64) -> Vec<exif::Rational> {
    let v = v.abs();
    let d = v.floor();
    let m = ((v - d) * 60.0).floor();
    let s = ((v - d) * 60.0 - m) * 60.0;
    vec![
        exif::Rational {
            num: d as u32,
            denom: 1,
        },
        exif::Rational {
            num: m as u32,
            denom: 1,
        },
        exif::Rational {
            num: (s * 10_000.0).round() as u32,
            denom: 10_000,
        },
    ]
}

/// `jpeg` with an EXIF block: orientation, GPS `(lon, lat)` and DateTimeOriginal when given.
pub fn jpeg_with_exif(
    w: u32,
    h: u32,
    seed: u8,
    orientation: u16,
    gps: Option<(f64, f64)>,
    taken: Option<&str>,
) -> Vec<u8> {
    use exif::{Field, In, Tag, Value};
    let mut fields = vec![Field {
        tag: Tag::Orientation,
        ifd_num: In::PRIMARY,
        value: Value::Short(vec![orientation]),
    }];
    if let Some((lon, lat)) = gps {
        let ascii = |s: &str| Value::Ascii(vec![s.as_bytes().to_vec()]);
        fields.push(Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: ascii(if lat < 0.0 { "S" } else { "N" }),
        });
        fields.push(Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(dms(lat)),
        });
        fields.push(Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: ascii(if lon < 0.0 { "W" } else { "E" }),
        });
        fields.push(Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(dms(lon)),
        });
    }
    if let Some(t) = taken {
        fields.push(Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![t.as_bytes().to_vec()]),
        });
    }
    let mut w8 = exif::experimental::Writer::new();
    for f in &fields {
        w8.push_field(f);
    }
    let mut tiff = Cursor::new(Vec::new());
    w8.write(&mut tiff, false).unwrap();
    let tiff = tiff.into_inner();
    let base = jpeg(w, h, seed);
    let len = (2 + 6 + tiff.len()) as u16;
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&base[2..]);
    out
}

pub fn photo_part(bytes: Vec<u8>, name: &str) -> Part {
    Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str("image/jpeg")
        .unwrap()
}

/// A point well inside the quadrilateral responsibility zone `id` (the mean of its corners).
pub fn inside_zone(id: &str) -> (f64, f64) {
    let text = std::fs::read_to_string(geodata().join("zones.geojson")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let f = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap();
    let ring = f["geometry"]["coordinates"][0].as_array().unwrap();
    let n = ring.len() - 1;
    let (mut x, mut y) = (0.0, 0.0);
    for c in &ring[..n] {
        x += c[0].as_f64().unwrap();
        y += c[1].as_f64().unwrap();
    }
    (x / n as f64, y / n as f64)
}

/// `(lon, lat)` moved `north_m` metres north.
pub fn north(p: (f64, f64), north_m: f64) -> (f64, f64) {
    let lm = xuncha::crs::geodesy::LocalMetres::new(p.0, p.1);
    (p.0, p.1 + north_m / lm.m_per_deg_lat)
}

// ---- A server with one user per role (argon2 passwords), for the zone and tile tests. ----
pub struct TestServer {
    pub base: String,
    pub state: AppState,
    pub tokens: HashMap<Role, String>,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            data_dir: dir.path().join("data"),
            database: fresh_database(),
            ..Config::default()
        };
        tweak(&mut config);
        let state = App::open(config).expect("open app");
        let mut tokens = HashMap::new();
        for role in Role::ALL {
            let (_, token) = state
                .add_user(role.as_str(), role, &format!("{role}-pw"))
                .expect("add user");
            tokens.insert(role, token);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let s = state.clone();
        tokio::spawn(async move {
            xuncha::run(listener, s, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestServer {
            base,
            state,
            tokens,
            http: reqwest::Client::new(),
            _dir: dir,
            _shutdown: tx,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, role: Role, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(self.url(path))
            .bearer_auth(&self.tokens[&role])
    }

    pub fn post(&self, role: Role, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(self.url(path))
            .bearer_auth(&self.tokens[&role])
    }

    pub fn put(&self, role: Role, path: &str) -> reqwest::RequestBuilder {
        self.http
            .put(self.url(path))
            .bearer_auth(&self.tokens[&role])
    }

    pub fn delete(&self, role: Role, path: &str) -> reqwest::RequestBuilder {
        self.http
            .delete(self.url(path))
            .bearer_auth(&self.tokens[&role])
    }
}

/// A rectangle Feature of a kind, `[lon, lat]`, counter-clockwise.
pub fn rect_feature(id: &str, kind: &str, x0: f64, y0: f64, x1: f64, y1: f64) -> serde_json::Value {
    serde_json::json!({
        "type": "Feature",
        "id": id,
        "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]},
        "properties": {
            "kind": kind,
            "name": format!("测试 {id}"),
            "owner": {"name": format!("单位 {id}"), "sector": "school", "contact": "0439-0000000"}
        }
    })
}

/// Waits until a spawned `xuncha serve` (stderr piped) says it listens; its base URL, or what it
/// printed before it exited. The rest of its stderr is drained in the background.
pub fn await_listening(child: &mut std::process::Child) -> Result<String, String> {
    use std::io::BufRead;
    let stderr = child
        .stderr
        .take()
        .expect("spawn the server with stderr piped");
    let mut lines = std::io::BufReader::new(stderr).lines();
    let mut said = String::new();
    for line in lines.by_ref() {
        let line = line.map_err(|e| e.to_string())?;
        if let Some(rest) = line.split("listening on ").nth(1) {
            let base = rest.trim().to_string();
            std::thread::spawn(move || for _ in lines {});
            return Ok(base);
        }
        said.push_str(&line);
        said.push('\n');
    }
    child.wait().ok();
    Err(said)
}
