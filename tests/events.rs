//! `GET /api/events` against a real server: a report filed by another client reaches an open
//! stream at once, and a unit's stream carries only the reports the unit answers for.

mod common;

use common::{inside_zone, start, Srv};
use serde_json::{json, Value};
use std::time::Duration;
use xuncha::auth::Role;

/// How long an event may take to arrive.
const LIVE: Duration = Duration::from_secs(2);

/// An open event stream, read event by event.
struct Stream {
    resp: reqwest::Response,
    buf: String,
}

impl Stream {
    async fn open(s: &Srv, token: &str) -> Stream {
        let resp = s
            .http
            .get(s.url("/api/events"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        let mut st = Stream {
            resp,
            buf: String::new(),
        };
        // Subscribed once `ready` arrived: nothing filed after it can be missed.
        let (name, _) = st.next().await;
        assert_eq!(name, "ready");
        st
    }

    /// The next event (name and JSON data), skipping comments (heartbeats); fails after [`LIVE`].
    async fn next(&mut self) -> (String, Value) {
        tokio::time::timeout(LIVE, async {
            loop {
                if let Some(end) = self.buf.find("\n\n") {
                    let block: String = self.buf.drain(..end + 2).collect();
                    let (mut name, mut data) = (String::from("message"), String::new());
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            name = v.trim().to_string();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push_str(v.trim());
                        }
                    }
                    if data.is_empty() {
                        continue;
                    }
                    return (name, serde_json::from_str(&data).unwrap());
                }
                let chunk = self.resp.chunk().await.unwrap().expect("stream ended");
                self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        })
        .await
        .expect("no event within 2 s")
    }

    /// The next `report` event.
    async fn next_report(&mut self) -> Value {
        let (name, data) = self.next().await;
        assert_eq!(name, "report", "{data}");
        data
    }
}

async fn file(s: &Srv, at: (f64, f64), category: &str) -> Value {
    let (st, v) = s
        .post_json(
            "patrol",
            json!({"lon": at.0, "lat": at.1, "category": category}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    v
}

#[tokio::test]
async fn a_report_filed_by_another_client_arrives_on_the_office_stream() {
    let s = start().await;
    let mut office = Stream::open(&s, &s.tokens["office"]).await;
    let r = file(&s, inside_zone("rz-0003"), "garbage").await;
    let ev = office.next_report().await;
    assert_eq!(ev["id"], r["id"]);
    assert_eq!(ev["what"], "created");
    assert_eq!(ev["status"], "reported");
    assert_eq!(ev["category"], "garbage");

    let id = r["id"].as_i64().unwrap();
    let (st, v) = s
        .patch_json("office", id, json!({"status": "dispatched"}))
        .await;
    assert_eq!(st, 200, "{v}");
    let ev = office.next_report().await;
    assert_eq!(ev["id"], id);
    assert_eq!(ev["what"], "status_changed");
    assert_eq!(ev["status"], "dispatched");
}

#[tokio::test]
async fn a_unit_stream_carries_only_the_units_reports() {
    let s = start().await;
    let mine = file(&s, inside_zone("rz-0003"), "garbage").await;
    let owner = mine["responsible"]["owner"]["name"].as_str().unwrap();
    let token = xuncha::auth::new_token();
    let hash = xuncha::auth::token_hash(&token);
    let binding = xuncha::store::users::Binding {
        owner: Some(owner.to_string()),
        scope: None,
    };
    s.state
        .store
        .write_sync(|tx| {
            let u = xuncha::store::users::add_bound(tx, "bakery", Role::Unit, &binding, "x", 0)?;
            xuncha::store::users::add_token(tx, &hash, u.id, "api", 0, None)
        })
        .unwrap();
    let mut unit = Stream::open(&s, &token).await;
    let mut office = Stream::open(&s, &s.tokens["office"]).await;

    let other = file(&s, inside_zone("rz-0004"), "garbage").await;
    assert_ne!(other["responsible"]["owner"]["name"], owner);
    let ev = office.next_report().await;
    assert_eq!(ev["id"], other["id"], "the office sees every report");

    let id = mine["id"].as_i64().unwrap();
    let (st, v) = s
        .patch_json("office", id, json!({"status": "dispatched"}))
        .await;
    assert_eq!(st, 200, "{v}");
    // The unit's first report event is its own report's dispatch: the other was left out.
    let ev = unit.next_report().await;
    assert_eq!(ev["id"], id, "{ev}");
    assert_eq!(ev["status"], "dispatched");
    assert_eq!(office.next_report().await["id"], id);
}

#[tokio::test]
async fn the_stream_needs_a_signed_in_user_and_ends_at_shutdown() {
    let s = start().await;
    let r = s.http.get(s.url("/api/events")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("sign in"), "{v}");

    let mut st = Stream::open(&s, &s.tokens["patrol"]).await;
    assert_eq!(s.state.events.subscribers(), 1);
    s.state.events.close();
    let end = tokio::time::timeout(LIVE, st.resp.chunk())
        .await
        .expect("the stream did not end");
    assert!(
        end.unwrap().is_none(),
        "the stream ends once the server closes it"
    );
}
