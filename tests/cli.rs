//! The `xuncha` binary: user add, import (with rejections and --strict), export, match, and
//! the demo's refusal to bind a public address.

mod common;

use std::io::Write;
use std::process::{Command, Output};

fn xuncha(data: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xuncha"))
        .arg("--data")
        .arg(data)
        .args(common::database_args(data))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run xuncha")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const ZONES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","id":"a","geometry":{"type":"Polygon","coordinates":[[[126.419,41.94],[126.42,41.94],[126.42,41.9404],[126.419,41.9404],[126.419,41.94]]]},
  "properties":{"kind":"responsibility","name":"一中门前","owner":{"name":"白山市第一中学","sector":"school"}}},
 {"type":"Feature","id":"b","geometry":{"type":"Polygon","coordinates":[[[126.42,41.94],[126.421,41.94],[126.421,41.9404],[126.42,41.9404],[126.42,41.94]]]},
  "properties":{"kind":"responsibility","name":"医院门前","owner":{"name":"白山市中心医院","sector":"hospital"}}},
 {"type":"Feature","id":"bad","geometry":{"type":"Polygon","coordinates":[[[126.4,41.9],[126.41,41.91],[126.41,41.9],[126.4,41.91],[126.4,41.9]]]},
  "properties":{"kind":"responsibility","name":"坏","owner":{"name":"x","sector":"school"}}}
]}"#;

#[test]
fn user_add_prints_a_working_token_last() {
    let dir = tempfile::tempdir().unwrap();
    let o = xuncha(
        dir.path(),
        &[
            "user",
            "add",
            "li",
            "--role",
            "planner",
            "--password",
            "river-bank-patrol-7",
        ],
    );
    assert!(o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("visible to other users"),
        "a password on the command line is warned about"
    );
    let out = text(&o);
    let token = out.lines().last().unwrap();
    assert!(token.starts_with("xc_") && token.len() == 67, "{out}");
    let dup = xuncha(
        dir.path(),
        &[
            "user",
            "add",
            "li",
            "--role",
            "planner",
            "--generate-password",
        ],
    );
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let bad = xuncha(dir.path(), &["user", "add", "wang", "--role", "mayor"]);
    assert!(!bad.status.success());
}

/// Runs `xuncha user add` with `stdin` as its standard input.
fn user_add_stdin(data: &std::path::Path, name: &str, stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xuncha"))
        .arg("--data")
        .arg(data)
        .args(common::database_args(data))
        .args(["user", "add", name, "--role", "admin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn user_add_reads_the_password_from_stdin_and_refuses_weak_ones() {
    let dir = tempfile::tempdir().unwrap();
    for (pw, why) in [
        ("", "no password"),
        ("short\n", "at least 10"),
        ("password123\n", "commonest"),
        ("bob-is-admin-2026\n", "username"),
    ] {
        let o = user_add_stdin(dir.path(), "bob", pw);
        assert!(!o.status.success(), "{pw:?} was accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(why), "{pw:?}: {err}");
    }
    let empty = xuncha(
        dir.path(),
        &["user", "add", "bob", "--role", "admin", "--password", ""],
    );
    assert!(!empty.status.success());
    let o = user_add_stdin(dir.path(), "bob", "浑江河畔每日两次巡查\n");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("visible to other users"));
    assert!(text(&o).lines().last().unwrap().starts_with("xc_"));
}

#[test]
fn import_strict_export_and_match() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zones.geojson");
    std::fs::write(&file, ZONES).unwrap();
    let data = dir.path().join("data");
    let f = file.to_str().unwrap();

    // --strict: one bad feature → nothing imported, non-zero exit, the reason printed.
    let o = xuncha(&data, &["import", f, "--strict"]);
    assert!(!o.status.success());
    let out = text(&o);
    assert!(
        out.contains("rejected feature 2 (bad)") && out.contains("self-intersection"),
        "{out}"
    );
    assert!(out.contains("imported 0, rejected 1"), "{out}");
    let o = xuncha(&data, &["export"]);
    let fc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(fc["features"].as_array().unwrap().len(), 0);

    // Without --strict: the valid ones land, exit code still says something was rejected.
    let o = xuncha(&data, &["import", f]);
    assert!(!o.status.success());
    assert!(text(&o).contains("imported 2, rejected 1"));
    let o = xuncha(&data, &["export", "--kind", "responsibility"]);
    assert!(o.status.success());
    let fc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    // The export imports again elsewhere, unchanged.
    let copy = dir.path().join("copy.geojson");
    std::fs::write(&copy, &o.stdout).unwrap();
    let o = xuncha(
        &dir.path().join("data2"),
        &["import", copy.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));

    // match: header kept, boundary point matches both, a point 20 m south gets the nearest.
    let pts = dir.path().join("points.csv");
    let mut w = std::fs::File::create(&pts).unwrap();
    writeln!(
        w,
        "lon,lat\n126.4195,41.9402\n126.42,41.9402\n126.4195,41.93982\n100,10"
    )
    .unwrap();
    drop(w);
    let o = xuncha(&data, &["match", pts.to_str().unwrap()]);
    assert!(o.status.success());
    assert_eq!(
        text(&o),
        "lon,lat,responsible_zone_id,all_matched_zone_ids\n\
         126.4195,41.9402,a,a\n\
         126.42,41.9402,a,a;b\n\
         126.4195,41.93982,a,\n\
         100,10,,\n"
    );
    // Swapped columns are refused with the line number.
    std::fs::write(&pts, "41.9402,126.4195\n").unwrap();
    let o = xuncha(&data, &["match", pts.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 1"));
}

/// `n` small square 三包 zones in a row (`id` z0, z1, …), the one at `bad` a bow tie.
fn many_zones(n: usize, bad: Option<usize>) -> String {
    many_zones_with(n, bad, |_| String::new())
}

/// [`many_zones`] with more properties for zone `i` (`"key":value,` each).
fn many_zones_with(n: usize, bad: Option<usize>, extra: impl Fn(usize) -> String) -> String {
    let mut out = String::from(r#"{"type":"FeatureCollection","name":"many","features":["#);
    for i in 0..n {
        let x = 126.3 + i as f64 * 2e-4;
        let ring = if Some(i) == bad {
            format!(
                "[[{x},41.9],[{},41.9001],[{},41.9],[{x},41.9001],[{x},41.9]]",
                x + 1e-4,
                x + 1e-4
            )
        } else {
            format!(
                "[[{x},41.9],[{},41.9],[{},41.9001],[{x},41.9001],[{x},41.9]]",
                x + 1e-4,
                x + 1e-4
            )
        };
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            r#"{{"type":"Feature","id":"z{i}","geometry":{{"type":"Polygon","coordinates":[{ring}]}},"properties":{{{}"kind":"responsibility","name":"门前 {i}","owner":{{"name":"单位 {i}","sector":"enterprise"}}}}}}"#,
            extra(i)
        ));
    }
    out.push_str("]}");
    out
}

#[test]
fn a_large_file_is_imported_in_batches_as_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("many.geojson");
    // Three batches and a bit, one bad feature near the end.
    let n = 3 * xuncha::cli::IMPORT_BATCH + 123;
    std::fs::write(&file, many_zones(n, Some(n - 7))).unwrap();
    let f = file.to_str().unwrap();
    let data = dir.path().join("data");
    let o = xuncha(&data, &["import", f, "--strict"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("imported 0, rejected 1"), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("z{}", n - 7)),
        "the bad one is named"
    );
    let o = xuncha(&data, &["import", f]);
    assert!(
        text(&o).contains(&format!("imported {}, rejected 1", n - 1)),
        "{}",
        text(&o)
    );
    let o = xuncha(&data, &["export"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["features"].as_array().unwrap().len(), n - 1);
    // --strict is one transaction: valid features whose last id is already taken store nothing
    // (the store refuses it after three batches' worth of new zones were read).
    let clash = dir.path().join("clash.geojson");
    let text_clash = many_zones(n, None)
        .replace("\"z", "\"w")
        .replace(&format!("\"w{}\"", n - 1), "\"z5\"");
    std::fs::write(&clash, text_clash).unwrap();
    let o = xuncha(&data, &["import", clash.to_str().unwrap(), "--strict"]);
    assert!(!o.status.success(), "{}", text(&o));
    let o = xuncha(&data, &["export"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["features"].as_array().unwrap().len(),
        n - 1,
        "nothing of the refused --strict import is stored"
    );
    // A file cut off in the middle: with --strict nothing is stored and the reason is given.
    let cut = dir.path().join("cut.geojson");
    let whole = many_zones(n, None).replace("\"z", "\"y");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 3]).unwrap();
    let data2 = dir.path().join("data2");
    let o = xuncha(&data2, &["import", cut.to_str().unwrap(), "--strict"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not valid GeoJSON"), "{err}");
    let o = xuncha(&data2, &["export"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["features"].as_array().unwrap().len(), 0, "nothing stored");
    // Without --strict the zones read before the cut are stored, and the error says how many.
    let o = xuncha(&data2, &["import", cut.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("were imported; --strict imports all or nothing"),
        "{err}"
    );
}

/// Batches of one import may be written side by side (on PostgreSQL), but they commit in order:
/// a zone may name a zone of the batch before as its parent, and when a batch fails, none after
/// it is stored, whatever was written of them meanwhile.
#[test]
fn import_batches_commit_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let batch = xuncha::cli::IMPORT_BATCH;
    let n = 3 * batch + 10;
    // Every zone but the first is the child of the one before, across every batch boundary.
    let chained = |prefix: &'static str| {
        move |i: usize| {
            if i == 0 {
                String::new()
            } else {
                format!(r#""parent":"{prefix}{}","#, i - 1)
            }
        }
    };
    let file = dir.path().join("chain.geojson");
    std::fs::write(&file, many_zones_with(n, None, chained("z"))).unwrap();
    let data = dir.path().join("data");
    let o = xuncha(&data, &["import", file.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "{}{}",
        text(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        text(&o).contains(&format!("imported {n}, rejected 0")),
        "{}",
        text(&o)
    );
    let o = xuncha(&data, &["export"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let features = v["features"].as_array().unwrap();
    assert_eq!(features.len(), n);
    for f in features {
        let id = f["id"].as_str().unwrap();
        let i: usize = id[1..].parse().unwrap();
        let want = (i > 0).then(|| format!("z{}", i - 1));
        assert_eq!(f["properties"]["parent"].as_str(), want.as_deref(), "{id}");
    }
    // The second batch holds an id already stored: it fails, the first stays, and the third
    // and fourth (whose zones descend from the second's) store nothing.
    let clash = dir.path().join("clash.geojson");
    let body = many_zones_with(n, None, chained("w"))
        .replace("\"id\":\"z", "\"id\":\"w")
        .replace(&format!("\"id\":\"w{}\"", batch + 3), "\"id\":\"z5\"")
        .replace(
            &format!("\"parent\":\"w{}\"", batch + 3),
            "\"parent\":\"z5\"",
        );
    std::fs::write(&clash, body).unwrap();
    let o = xuncha(&data, &["import", clash.to_str().unwrap()]);
    assert!(!o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("\"z5\" already exists"),
        "the cause is named: {err}"
    );
    let o = xuncha(&data, &["export"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut stored: Vec<usize> = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str().unwrap().strip_prefix('w')?.parse().ok())
        .collect();
    stored.sort_unstable();
    assert_eq!(
        stored,
        (0..batch).collect::<Vec<_>>(),
        "only the first batch"
    );
}

#[test]
fn match_streams_many_points_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zones.geojson");
    std::fs::write(&file, ZONES).unwrap();
    let data = dir.path().join("data");
    let _ = xuncha(&data, &["import", file.to_str().unwrap()]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_xuncha"))
        .arg("--data")
        .arg(&data)
        .args(common::database_args(&data))
        .args(["match", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut w = std::io::BufWriter::new(&mut stdin);
        for i in 0..200_000u32 {
            writeln!(w, "{},{}", 126.419 + (i % 1000) as f64 * 2e-6, 41.9402).unwrap();
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    let lines = String::from_utf8_lossy(&out.stdout);
    let mut n = 0;
    for l in lines.lines() {
        n += 1;
        assert!(l.contains(",a,") || l.contains(",b,"), "{l}");
    }
    assert_eq!(n, 200_000);
}

#[test]
fn demo_refuses_a_public_address() {
    let dir = tempfile::tempdir().unwrap();
    let o = xuncha(dir.path(), &["serve", "--demo", "--addr", "0.0.0.0:0"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("loopback"));
}

#[test]
fn serve_refuses_a_tile_point_limit_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["5", "2000000"] {
        let o = xuncha(
            dir.path(),
            &["serve", "--addr", "127.0.0.1:0", "--tile-max-points", bad],
        );
        assert!(!o.status.success(), "--tile-max-points {bad} was taken");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("--tile-max-points must be between 100 and 1000000"),
            "{err}"
        );
    }
}

#[test]
fn serve_stops_gracefully_on_sigterm_and_keeps_its_zones() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zones.geojson");
    std::fs::write(&file, ZONES).unwrap();
    let data = dir.path().join("data");
    let _ = xuncha(&data, &["import", file.to_str().unwrap()]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_xuncha"))
        .arg("--data")
        .arg(&data)
        .args(common::database_args(&data))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut body = String::new();
            std::io::Read::read_to_string(&mut s, &mut body).unwrap();
            // The index was rebuilt from the store at start.
            assert!(body.contains("\"zones\":2"), "{body}");
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(up, "server did not start");
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status}");
}
