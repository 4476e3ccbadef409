//! Issue 12, "Hard to break": each point against the real server on 127.0.0.1 (the memory test
//! runs the `xuncha` binary as a child process, to read its own `/proc/<pid>/status`).
//!
//! Raw TCP where a client must misbehave (slow headers, a body never sent); reqwest otherwise.

mod common;

use common::{jpeg, photo_part, rect_feature, start_with, TestServer};
use reqwest::multipart::Form;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use xuncha::auth::Role;

const BIN: &str = env!("CARGO_BIN_EXE_xuncha");
/// Longest any step may take before the test gives up (a guard, not a timing assertion).
const GUARD: Duration = Duration::from_secs(60);

fn addr(base: &str) -> String {
    base.trim_start_matches("http://").to_string()
}

/// Reads one HTTP/1.1 response (status, lower-case headers, body by Content-Length).
async fn read_response(s: &mut TcpStream) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tokio::time::timeout(GUARD, s.read(&mut chunk))
            .await
            .expect("no response in time")
            .expect("read");
        assert!(n > 0, "the connection closed before a response");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = tokio::time::timeout(GUARD, s.read(&mut chunk))
            .await
            .expect("no body in time")
            .expect("read");
        assert!(n > 0, "the connection closed mid-body");
        body.extend_from_slice(&chunk[..n]);
    }
    (status, headers, body)
}

/// Waits until the server closes `s` (read returns 0 or an error); panics after [`GUARD`].
async fn wait_closed(s: &mut TcpStream) {
    let mut chunk = [0u8; 1024];
    loop {
        match tokio::time::timeout(GUARD, s.read(&mut chunk))
            .await
            .expect("the server kept the connection open")
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

async fn login_cookie(s: &TestServer, user: &str, password: &str) -> String {
    let r = s
        .http
        .post(s.url("/api/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    assert!(
        body.get("token").is_none(),
        "browser logins get no token: {body}"
    );
    cookie.split(';').next().unwrap().to_string()
}

// ---- 1. CSRF ----

#[tokio::test]
async fn cross_site_cookie_writes_are_refused_and_the_page_itself_is_accepted() {
    let s = TestServer::start().await;
    let cookie = login_cookie(&s, "planner", "planner-pw").await;
    let zone = |id: &str| rect_feature(id, "responsibility", 126.40, 41.90, 126.401, 41.901);
    let post = |origin: Option<&str>, ctype: &str, body: String| {
        let mut r = s
            .http
            .post(s.url("/api/zones"))
            .header("cookie", &cookie)
            .header("content-type", ctype)
            .body(body);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send()
    };
    // The attack of the issue: another port of the same host, text/plain.
    let r = post(
        Some("http://127.0.0.1:5555"),
        "text/plain",
        zone("evil").to_string(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"].as_str().unwrap().contains("another site"), "{e}");
    // The same with JSON, and with no origin at all.
    let r = post(
        Some("http://evil.example"),
        "application/json",
        zone("evil").to_string(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(None, "application/json", zone("evil").to_string())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = s
        .http
        .post(s.url("/api/zones"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-site")
        .json(&zone("evil"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // From the page itself: text/plain is still not JSON (415), JSON is stored.
    let r = post(Some(&s.base), "text/plain", zone("own").to_string())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"].as_str().unwrap().contains("application/json"),
        "{e}"
    );
    let r = post(Some(&s.base), "application/json", zone("own").to_string())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = s
        .http
        .post(s.url("/api/zones"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .json(&rect_feature(
            "own2", "grid", 126.41, 41.91, 126.411, 41.911,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // A bearer-token client is unaffected, whatever it says its origin is.
    let r = s
        .post(Role::Planner, "/api/zones")
        .header("origin", "http://evil.example")
        .json(&rect_feature("api", "grid", 126.42, 41.92, 126.421, 41.921))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // A cross-site login is refused too (login CSRF).
    let r = s
        .http
        .post(s.url("/api/login"))
        .header("origin", "http://evil.example")
        .json(&json!({"username": "planner", "password": "planner-pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let ids: Vec<String> = s
        .state
        .zones
        .index()
        .iter()
        .map(|e| e.zone.id.clone())
        .collect();
    assert!(!ids.contains(&"evil".to_string()), "{ids:?}");
}

// ---- 2. Login ----

fn status_kb(pid: u32, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{key} not in /proc/{pid}/status"))
}

fn serve_child(data: &Path, extra: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(BIN)
        .args([
            "--data",
            data.to_str().unwrap(),
            "serve",
            "--addr",
            "127.0.0.1:0",
        ])
        .args(["--web", "/nonexistent", "--geodata", "/nonexistent"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("the server exited").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_wrong_logins_keep_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut add = Command::new(BIN)
        .args(["--data", data.to_str().unwrap(), "user", "add", "alice"])
        .args(["--role", "office"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    add.stdin
        .take()
        .unwrap()
        .write_all(b"river-bank-watch-2026\n")
        .unwrap();
    assert!(add.wait().unwrap().success());
    let (mut child, base) = serve_child(&data, &[]);
    let pid = child.id();
    // One sign-in first, so the argon2 work areas exist before the baseline is read.
    let ok = reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .json(&json!({"username": "alice", "password": "river-bank-watch-2026", "token": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let before_kb = status_kb(pid, "VmRSS:");
    // 200 attackers, each from its own loopback address with its own username, so no throttle
    // applies: only the bounded hashing keeps memory flat.
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let ip = std::net::Ipv4Addr::new(127, 0, 1 + (i / 200) as u8, 2 + (i % 200) as u8);
            let http = reqwest::Client::builder()
                .local_address(std::net::IpAddr::V4(ip))
                .build()
                .unwrap();
            let r = http
                .post(format!("{base}/api/login"))
                .json(&json!({"username": format!("guess{i}"), "password": "wrong-password"}))
                .send()
                .await
                .unwrap();
            r.status()
        }));
    }
    let mut unauthorized = 0;
    for t in tasks {
        let st = t.await.unwrap();
        assert!(
            st == StatusCode::UNAUTHORIZED || st == StatusCode::SERVICE_UNAVAILABLE,
            "{st}"
        );
        unauthorized += usize::from(st == StatusCode::UNAUTHORIZED);
    }
    let peak_kb = status_kb(pid, "VmHWM:");
    let _ = child.kill();
    let _ = child.wait();
    assert!(unauthorized > 0);
    // argon2 takes 19 MiB per check: unbounded, 200 checks would need 3.8 GiB.
    let grown_mib = peak_kb.saturating_sub(before_kb) / 1024;
    eprintln!("VmRSS before {before_kb} kB, VmHWM after {peak_kb} kB: +{grown_mib} MiB");
    assert!(
        grown_mib < 128,
        "200 concurrent logins grew the server by {grown_mib} MiB"
    );
}

async fn login_status(s: &TestServer, user: &str, pw: &str) -> (StatusCode, Option<u64>, Value) {
    let r = s
        .http
        .post(s.url("/api/login"))
        .json(&json!({"username": user, "password": pw, "token": true}))
        .send()
        .await
        .unwrap();
    let st = r.status();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (st, retry, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn failed_logins_are_throttled_per_user_then_per_address() {
    let s = TestServer::start().await;
    // Per username: a few free failures, then 429 with Retry-After, the right password too.
    let mut attempts = 0;
    let (retry, body) = loop {
        attempts += 1;
        assert!(
            attempts <= 11,
            "no throttle after {attempts} wrong passwords"
        );
        let (st, retry, body) = login_status(&s, "office", "wrong").await;
        if st == StatusCode::TOO_MANY_REQUESTS {
            break (retry, body);
        }
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{body}");
    };
    assert!(attempts > 3, "the first failures are free");
    assert!(retry.is_some_and(|r| r >= 1), "Retry-After: {retry:?}");
    assert!(
        body["error"].as_str().unwrap().contains("try again in"),
        "{body}"
    );
    let (st, retry, _) = login_status(&s, "office", "office-pw").await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry.is_some());
    // Another account from the same address still signs in.
    let (st, _, body) = login_status(&s, "planner", "planner-pw").await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert!(body["token"].as_str().unwrap().starts_with("xc_"));
    // Per address: many usernames from one address end in 429 too.
    let mut n = 0;
    loop {
        n += 1;
        assert!(n <= 101, "no address throttle after {n} failures");
        let (st, retry, body) = login_status(&s, &format!("nobody{n}"), "wrong").await;
        if st == StatusCode::TOO_MANY_REQUESTS {
            assert!(retry.is_some());
            assert!(
                body["error"]
                    .as_str()
                    .unwrap()
                    .contains("from your address"),
                "{body}"
            );
            break;
        }
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
}

// ---- 3. Slow and idle clients ----

#[tokio::test]
async fn slow_headers_slow_bodies_and_idle_connections_are_cut_off() {
    let s = TestServer::start_with(|c| {
        c.header_timeout = Duration::from_millis(800);
        c.body_timeout = Duration::from_millis(800);
        c.idle_timeout = Duration::from_millis(800);
    })
    .await;
    let a = addr(&s.base);
    // Slowloris: headers dripped a byte at a time, never finished.
    let mut slow = TcpStream::connect(&a).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let drip = async {
        for _ in 0..200 {
            if slow.write_all(b"X").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(GUARD, drip).await.unwrap();
    wait_closed(&mut slow).await;
    // A connection that sends nothing.
    let mut silent = TcpStream::connect(&a).await.unwrap();
    wait_closed(&mut silent).await;
    // Idle keep-alive after a request.
    let mut idle = TcpStream::connect(&a).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (st, _, _) = read_response(&mut idle).await;
    assert_eq!(st, 200);
    wait_closed(&mut idle).await;
    // A body that never arrives in full: 408 with a reason.
    let mut body = TcpStream::connect(&a).await.unwrap();
    body.write_all(
        b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user",
    )
    .await
    .unwrap();
    let (st, _, b) = read_response(&mut body).await;
    assert_eq!(st, 408);
    let e: Value = serde_json::from_slice(&b).unwrap();
    assert!(
        e["error"].as_str().unwrap().contains("did not arrive"),
        "{e}"
    );
    // The server still answers.
    let r = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_while_three_thousand_slow_connections_are_open() {
    // Client and server share this process: 6 000 sockets.
    let limit = rlimit::increase_nofile_limit(8_000).unwrap();
    assert!(
        limit >= 7_000,
        "the open-file limit is {limit}; this test needs 7 000 (ulimit -Hn)"
    );
    let s = TestServer::start().await;
    let a = addr(&s.base);
    let mut held = Vec::new();
    for _ in 0..3000 {
        let mut c = TcpStream::connect(&a).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        held.push(c);
    }
    let http = reqwest::Client::builder().timeout(GUARD).build().unwrap();
    for _ in 0..5 {
        let r = http.get(s.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_eq!(held.len(), 3000);
}

#[tokio::test]
async fn at_the_connection_cap_the_longest_waiting_idle_connection_makes_room() {
    let s = TestServer::start_with(|c| c.max_connections = 20).await;
    let a = addr(&s.base);
    let mut held = Vec::new();
    for _ in 0..20 {
        let mut c = TcpStream::connect(&a).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push(c);
        // Let the server register it before the next, so "oldest" is well defined.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let http = reqwest::Client::builder().timeout(GUARD).build().unwrap();
    let r = http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    wait_closed(&mut held[0]).await;
}

// ---- 4. Body limits ----

#[tokio::test]
async fn a_login_body_over_the_limit_is_413_before_it_is_read() {
    let s = TestServer::start().await;
    let mut c = TcpStream::connect(addr(&s.base)).await.unwrap();
    // 60 MB announced, not a byte of it sent: the answer cannot have read it.
    c.write_all(
        b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000000\r\n\r\n",
    )
    .await
    .unwrap();
    let (st, _, body) = read_response(&mut c).await;
    assert_eq!(st, 413);
    let e: Value = serde_json::from_slice(&body).unwrap();
    assert!(e["error"].as_str().unwrap().contains("4096 bytes"), "{e}");
    // Chunked (no length announced): refused once past the limit.
    let mut c = TcpStream::connect(addr(&s.base)).await.unwrap();
    c.write_all(
        b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .await
    .unwrap();
    for _ in 0..3 {
        let mut chunk = format!("{:x}\r\n", 2000).into_bytes();
        chunk.extend_from_slice(&[b' '; 2000]);
        chunk.extend_from_slice(b"\r\n");
        c.write_all(&chunk).await.unwrap();
    }
    let (st, _, _) = read_response(&mut c).await;
    assert_eq!(st, 413);
    // JSON edits are small; zone uploads may be large.
    let big_note = "x".repeat(100 << 10);
    let r = s
        .post(Role::Patrol, "/api/reports")
        .json(&json!({"lon": 126.42, "lat": 41.94, "category": "garbage", "note": big_note}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let mut f = rect_feature("big", "grid", 126.40, 41.90, 126.401, 41.901);
    f["properties"]["properties"] = json!({"description": "x".repeat(200 << 10)});
    let r = s
        .post(Role::Planner, "/api/zones")
        .json(&f)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_photo_that_is_not_one_is_refused_on_its_first_bytes() {
    let s = start_with(false, |_| {}).await;
    let mut c = TcpStream::connect(addr(&s.base)).await.unwrap();
    let boundary = "XUNCHAxBOUNDARY";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\ngarbage\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    );
    // 100 MiB announced (within the 121 MiB report limit); only the start of the junk is sent.
    let total = 100 << 20;
    let req = format!(
        "POST /api/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {total}\r\n\r\n{head}",
        s.tokens["patrol"]
    );
    c.write_all(req.as_bytes()).await.unwrap();
    c.write_all(&[b'#'; 4096]).await.unwrap();
    let (st, _, body) = read_response(&mut c).await;
    assert_eq!(st, 415);
    let e: Value = serde_json::from_slice(&body).unwrap();
    assert!(e["error"].as_str().unwrap().contains("photo 1"), "{e}");
    assert_eq!(s.report_count(), 0);
}

// ---- 5. Headers ----

#[tokio::test]
async fn security_headers_and_public_urls_from_the_configuration() {
    let s = TestServer::start().await;
    let r = s.get(Role::Office, "/api/me").send().await.unwrap();
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    for d in [
        "default-src 'self'",
        "script-src 'self'",
        "worker-src 'self' blob:",
        "img-src 'self' data: blob:",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(d), "{d} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(h.get("strict-transport-security").is_none());
    // TileJSON ignores a client's Host and X-Forwarded-* without --trust-proxy.
    let tj: Value = s
        .get(Role::Office, "/tiles.json")
        .header("host", "evil.example")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "evil.example")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = tj["tiles"][0].as_str().unwrap();
    assert!(url.starts_with(&s.base), "{url}");

    let p =
        TestServer::start_with(|c| c.public_url = Some("https://xuncha.example.cn".into())).await;
    let r = p
        .get(Role::Office, "/style.json")
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    let text = r.text().await.unwrap();
    assert!(text.contains("https://xuncha.example.cn/tiles/"), "{text}");
    assert!(!text.contains("evil.example"));
    // Behind a trusted proxy, its headers say the public origin.
    let t = TestServer::start_with(|c| c.trust_proxy = true).await;
    let tj: Value = t
        .get(Role::Office, "/tiles.json")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "map.example.cn")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(tj["tiles"][0]
        .as_str()
        .unwrap()
        .starts_with("https://map.example.cn/tiles/"));
}

// ---- 8. Least privilege on reports ----

async fn file_report(s: &common::Srv, role: &str) -> i64 {
    let (st, v) = s
        .post_json(
            role,
            json!({"lon": 126.42, "lat": 41.94, "category": "garbage", "note": "桥下垃圾"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    v["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_patrol_resolves_only_its_own_reports() {
    let s = start_with(false, |_| {}).await;
    let theirs = file_report(&s, "office").await;
    let form = Form::new()
        .text("status", "resolved")
        .part("photo", photo_part(jpeg(64, 48, 1), "after.jpg"));
    let (st, v) = s.patch_form("patrol", theirs, form).await;
    assert_eq!(st, 403, "{v}");
    assert!(v["error"].as_str().unwrap().contains("someone else"), "{v}");
    let (_, g) = s
        .get_json("office", &format!("/api/reports/{theirs}"))
        .await;
    assert_eq!(g["status"], "reported");
    let mine = file_report(&s, "patrol").await;
    let (st, v) = s
        .patch_json(
            "office",
            mine,
            json!({"status": "dispatched", "assign_to": "白山市第一中学"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let form = Form::new()
        .text("status", "resolved")
        .part("photo", photo_part(jpeg(64, 48, 2), "after.jpg"));
    let (st, v) = s.patch_form("patrol", mine, form).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "resolved");
}

#[tokio::test]
async fn who_filed_a_report_is_shown_to_office_and_admin_only() {
    let s = start_with(false, |_| {}).await;
    let id = file_report(&s, "office").await;
    let (st, _) = s
        .patch_json(
            "office",
            id,
            json!({"status": "dispatched", "note": "派遣", "assign_to": "白山市第一中学"}),
        )
        .await;
    assert_eq!(st, 200);
    let path = format!("/api/reports/{id}");
    for role in ["office", "admin"] {
        let (_, v) = s.get_json(role, &path).await;
        assert_eq!(v["created_by"], "office", "{role}");
        assert_eq!(v["events"][1]["user"], "office", "{role}");
    }
    for role in ["planner", "patrol"] {
        let (st, v) = s.get_json(role, &path).await;
        assert_eq!(st, 200);
        assert!(v["created_by"].is_null(), "{role}: {v}");
        for e in v["events"].as_array().unwrap() {
            assert!(e["user"].is_null(), "{role}: {e}");
        }
        let text = v.to_string();
        assert!(!text.contains("\"office\""), "{role}: {text}");
        let (_, list) = s.get_json(role, "/api/reports").await;
        assert!(!list.to_string().contains("\"office\""), "{role}");
    }
}
