//! A real server on 127.0.0.1:0 with a temporary data folder, and one user per role.

#![allow(dead_code)]

use std::collections::HashMap;
use xuncha::auth::Role;
use xuncha::{App, AppState, Config};

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
