//! Campaigns (issue 15) against the real server on 127.0.0.1:0: writes are admin-only, audited
//! and validated; the summary of a hand-made past window equals counts made here from the raw
//! report tables; the rankings are ordered with best and worst marked.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

const DAY_MS: i64 = 86_400_000;
const OFF_MS: i64 = 8 * 3_600_000;

/// The demo reports, aged back from 2025-06-01 12:00 (+08:00), a fixed past instant.
async fn demo_in_2025() -> Srv {
    let s = start().await;
    let st = s.state.clone();
    let now = xuncha::time::parse_rfc3339("2025-06-01T12:00:00+08:00").unwrap();
    let n = tokio::task::spawn_blocking(move || {
        xuncha::demo::reports::load_at(&st, &geodata().join("reports.json"), now)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(n, 400);
    // Every deadline of 2025 has passed: mark them now, so the background sweep changes nothing
    // later.
    s.state.reports.sweep(xuncha::time::now_ms()).await.unwrap();
    s
}

async fn send(s: &Srv, method: &str, role: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut r = s.http.request(m, s.url(path)).bearer_auth(&s.tokens[role]);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

/// Creates a campaign as admin; its id.
async fn create(s: &Srv, name: &str, start: &str, end: &str) -> i64 {
    let (st, v) = send(
        s,
        "POST",
        "admin",
        "/api/campaigns",
        Some(body(name, start, end)),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    v["campaign"]["id"].as_i64().unwrap()
}

fn body(name: &str, start: &str, end: &str) -> Value {
    json!({
        "name": name, "start": start, "end": end,
        "targets": {"closed_share_min": 0.95, "on_time_share_min": 0.9, "no_recurring_hotspot_days": 30}
    })
}

#[derive(Debug)]
struct Raw {
    id: i64,
    lon: f64,
    lat: f64,
    created_at: i64,
    category: String,
    status: String,
    sector: Option<String>,
    closed_at: Option<i64>,
    late: bool,
    zones: Vec<String>,
}

/// Read from the report tables themselves, not from the statistics' fact tables.
fn raw_reports(s: &Srv) -> Vec<Raw> {
    s.state
        .store
        .read_sync(|c| {
            let mut out: Vec<Raw> = c.query_vec(
                "SELECT id, lon, lat, created_at, category, status, responsible,
                        (SELECT max(at) FROM report_events e WHERE e.report_id = r.id AND e.to_status = 'closed'),
                        (SELECT count(*) FROM report_events e WHERE e.report_id = r.id AND e.kind = 'overdue')
                 FROM reports r",
                &[],
                |r| {
                    let resp: Option<Value> = r.str(6)?.map(|t| serde_json::from_str(t).unwrap());
                    let overdue_events: i64 = r.get(8)?;
                    Ok(Raw {
                        id: r.get(0)?,
                        lon: r.get(1)?,
                        lat: r.get(2)?,
                        created_at: r.get(3)?,
                        category: r.get(4)?,
                        status: r.get(5)?,
                        sector: resp
                            .as_ref()
                            .and_then(|v| v["owner"]["sector"].as_str().map(String::from)),
                        closed_at: r.get(7)?,
                        late: overdue_events > 0,
                        zones: Vec::new(),
                    })
                },
            )?;
            for r in &mut out {
                r.zones = c.query_vec(
                    "SELECT zone_id FROM report_zones WHERE report_id = $1",
                    xuncha::args![r.id],
                    |row| row.get(0),
                )?;
            }
            Ok(out)
        })
        .unwrap()
}

/// Grid zone id → (name, level).
fn grid_levels(s: &Srv) -> HashMap<String, (String, String)> {
    s.state
        .store
        .read_sync(|c| {
            Ok(c.query_vec(
                "SELECT id, name, properties FROM zones WHERE kind = 'grid'",
                &[],
                |r| {
                    let p: Value = serde_json::from_str(&r.get::<String>(2)?).unwrap();
                    Ok((
                        r.get(0)?,
                        (r.get(1)?, p["level"].as_str().unwrap_or("").to_string()),
                    ))
                },
            )?)
        })
        .unwrap()
        .into_iter()
        .collect()
}

fn day(ms: i64) -> i64 {
    (ms + OFF_MS).div_euclid(DAY_MS)
}

/// Metres between two points (haversine on a sphere of the WGS84 mean radius).
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let r = 6_371_008.8;
    let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
    let dla = la2 - la1;
    let dlo = (b.0 - a.0).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().asin()
}

#[derive(Default, Debug)]
struct Tally {
    total: u64,
    closed: u64,
    late: u64,
    repeats: u64,
}

fn check_ranking(rows: &Value, want: &HashMap<String, Tally>, what: &str) {
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), want.len(), "{what}: rows {rows:?}");
    for r in rows {
        let k = r["key"].as_str().unwrap();
        let t = &want[k];
        assert_eq!(r["total"], t.total, "{what} {k}: total");
        assert_eq!(r["closed"], t.closed, "{what} {k}: closed");
        assert_eq!(r["repeats"], t.repeats, "{what} {k}: repeats");
        let share = |n: u64| (n as f64 / t.total as f64 * 1000.0).round() / 1000.0;
        assert_eq!(
            r["closed_share"].as_f64(),
            Some(share(t.closed)),
            "{what} {k}"
        );
        assert_eq!(
            r["on_time_share"].as_f64(),
            Some(share(t.total - t.late)),
            "{what} {k}"
        );
    }
    // Ordered by closure share, then on-time share, then fewer repeats.
    for w in rows.windows(2) {
        let key = |r: &Value| {
            (
                -r["closed_share"].as_f64().unwrap(),
                -r["on_time_share"].as_f64().unwrap(),
                r["repeats"].as_u64().unwrap() as f64,
            )
        };
        assert!(
            key(&w[0]) <= key(&w[1]),
            "{what}: order {} before {}",
            w[0],
            w[1]
        );
    }
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["best"], i == 0, "{what}: best");
        assert_eq!(
            r["worst"],
            rows.len() >= 2 && i == rows.len() - 1,
            "{what}: worst"
        );
    }
}

#[tokio::test]
async fn summary_equals_counts_from_the_raw_reports() {
    let s = demo_in_2025().await;
    let id = create(&s, "测试攻坚", "2025-04-01", "2025-05-20").await;
    let (st, sum) = send(
        &s,
        "GET",
        "office",
        &format!("/api/campaigns/{id}/summary"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{sum}");

    let start = xuncha::campaign::parse_date("2025-04-01").unwrap();
    let end = xuncha::campaign::parse_date("2025-05-20").unwrap();
    let mut raws: Vec<Raw> = raw_reports(&s)
        .into_iter()
        .filter(|r| r.status != "rejected" && (start..=end).contains(&day(r.created_at)))
        .collect();
    raws.sort_by_key(|r| (r.created_at, r.id));
    assert!(raws.len() > 100, "the window holds {} reports", raws.len());

    // Repeats by brute force: an earlier report of the same category within 50 m.
    let repeat: HashSet<i64> = raws
        .iter()
        .enumerate()
        .filter(|(i, r)| {
            raws[..*i]
                .iter()
                .any(|e| e.category == r.category && metres((e.lon, e.lat), (r.lon, r.lat)) <= 50.0)
        })
        .map(|(_, r)| r.id)
        .collect();

    // Days, found, closed, backlog.
    assert_eq!(sum["days_total"], 50);
    assert_eq!(sum["days_left"], 0, "the window is over");
    let days = sum["days"].as_array().unwrap();
    assert_eq!(days.len(), 50);
    let mut backlog = 0i64;
    for (i, d) in days.iter().enumerate() {
        let dn = start + i as i64;
        assert_eq!(d["date"], xuncha::campaign::date_string(dn));
        let found = raws.iter().filter(|r| day(r.created_at) == dn).count() as i64;
        let closed = raws
            .iter()
            .filter(|r| r.status == "closed" && r.closed_at.map(day) == Some(dn))
            .count() as i64;
        backlog += found - closed;
        assert_eq!(d["found"], found, "{dn} found");
        assert_eq!(d["closed"], closed, "{dn} closed");
        assert_eq!(d["backlog"], backlog, "{dn} backlog");
    }
    assert_eq!(sum["burndown"], json!([]), "no burn-down after the end");

    let total = raws.len() as u64;
    let closed = raws.iter().filter(|r| r.status == "closed").count() as u64;
    let late = raws.iter().filter(|r| r.late).count() as u64;
    assert_eq!(sum["totals"]["found"], total);
    assert_eq!(sum["totals"]["closed"], closed);
    assert_eq!(sum["totals"]["open"], total - closed);
    assert_eq!(sum["totals"]["repeats"], repeat.len() as u64);
    let share = |n: u64| (n as f64 / total as f64 * 1000.0).round() / 1000.0;
    let t = &sum["targets"];
    assert_eq!(t[0]["id"], "closed_share_min");
    assert_eq!(t[0]["value"].as_f64(), Some(share(closed)));
    assert_eq!(t[0]["met"], share(closed) >= 0.95);
    assert_eq!(t[1]["id"], "on_time_share_min");
    assert_eq!(t[1]["value"].as_f64(), Some(share(total - late)));
    assert_eq!(t[2]["id"], "no_recurring_hotspot_days");
    let last_repeat = raws
        .iter()
        .filter(|r| repeat.contains(&r.id))
        .map(|r| day(r.created_at))
        .max();
    let quiet = last_repeat.map_or(50, |d| end - d);
    assert_eq!(t[2]["value"].as_f64(), Some(quiet as f64));
    assert_eq!(t[2]["met"], quiet >= 30);

    // Rankings.
    let tally = |r: &Raw, t: &mut Tally| {
        t.total += 1;
        t.closed += u64::from(r.status == "closed");
        t.late += u64::from(r.late);
        t.repeats += u64::from(repeat.contains(&r.id));
    };
    let mut sectors: HashMap<String, Tally> = HashMap::new();
    for r in &raws {
        if let Some(sec) = &r.sector {
            tally(r, sectors.entry(sec.clone()).or_default());
        }
    }
    check_ranking(&sum["rankings"]["sector"], &sectors, "sector");
    let levels = grid_levels(&s);
    for level in ["street", "community"] {
        let mut zones: HashMap<String, Tally> = HashMap::new();
        for r in &raws {
            for z in &r.zones {
                if levels.get(z).map(|l| l.1.as_str()) == Some(level) {
                    tally(r, zones.entry(z.clone()).or_default());
                }
            }
        }
        assert!(zones.len() >= 2, "{level}: {} zones", zones.len());
        check_ranking(&sum["rankings"][level], &zones, level);
        for r in sum["rankings"][level].as_array().unwrap() {
            assert_eq!(r["label"], levels[r["key"].as_str().unwrap()].0);
        }
    }
    // No patrol walked in this window: every route is there, with no team and nothing met.
    let pc = &sum["patrol_coverage"];
    assert_eq!(pc["routes"].as_array().unwrap().len(), 2, "{pc}");
    for r in pc["routes"].as_array().unwrap() {
        assert_eq!(
            (r["days"].as_i64(), r["days_met"].as_i64()),
            (Some(50), Some(0))
        );
        assert_eq!(r["mean_share"].as_f64(), Some(0.0));
        assert_eq!(r["teams"], json!([]));
    }

    // An office bound to 城南街道 sees the campaign of its street only.
    let token = xuncha::auth::new_token();
    let hash = xuncha::auth::token_hash(&token);
    s.state
        .store
        .write_sync(|tx| {
            let binding = xuncha::store::users::Binding {
                owner: None,
                scope: Some("street-chengnan".into()),
            };
            let u = xuncha::store::users::add_bound(
                tx,
                "chengnan",
                xuncha::auth::Role::Office,
                &binding,
                "x",
                0,
            )?;
            xuncha::store::users::add_token(tx, &hash, u.id, "api", 0, None)
        })
        .unwrap();
    let r = s
        .http
        .get(s.url(&format!("/api/campaigns/{id}/summary")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let scoped: Value = r.json().await.unwrap();
    let mine: Vec<&Raw> = raws
        .iter()
        .filter(|r| r.zones.iter().any(|z| z == "street-chengnan"))
        .collect();
    assert!(!mine.is_empty() && mine.len() < raws.len());
    assert_eq!(scoped["totals"]["found"], mine.len() as u64);
    assert_eq!(
        scoped["totals"]["closed"],
        mine.iter().filter(|r| r.status == "closed").count() as u64
    );
    let streets: Vec<&str> = scoped["rankings"]["street"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(streets, ["street-chengnan"]);
    let found_by_day: u64 = scoped["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["found"].as_u64().unwrap())
        .sum();
    assert_eq!(found_by_day, mine.len() as u64);
}

/// `(lon, lat)` every ~5 m along the vertices `line` (linear in degrees; fine over 60 m).
fn densify(line: &[[f64; 2]]) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for w in line.windows(2) {
        let d = xuncha::patrol::distance_m((w[0][0], w[0][1]), (w[1][0], w[1][1]));
        let n = ((d / 5.0).ceil() as usize).max(1);
        for i in 0..n {
            let f = i as f64 / n as f64;
            out.push((
                w[0][0] + (w[1][0] - w[0][0]) * f,
                w[0][1] + (w[1][1] - w[0][1]) * f,
            ));
        }
    }
    out.push((line[line.len() - 1][0], line[line.len() - 1][1]));
    out
}

/// Stores a patrol of `user` on `route` with `points` one second apart from `start` (Unix ms).
fn walk(s: &Srv, id: &str, user: &str, route: &str, start: i64, points: &[(f64, f64)]) {
    use xuncha::store::patrols as db;
    let (id, user, route, pts) = (
        id.to_string(),
        user.to_string(),
        route.to_string(),
        points.to_vec(),
    );
    s.state
        .store
        .write_sync(move |c| {
            db::insert(
                c,
                &db::PatrolRow {
                    id: id.clone(),
                    user_id: 1,
                    username: user,
                    route: Some(route),
                    started_at: start,
                    ended_at: None,
                    points: 0,
                },
                start,
            )?;
            for (i, (lon, lat)) in pts.iter().enumerate() {
                let p = db::PointRow {
                    seq: i as i64,
                    t: start + i as i64 * 1000,
                    lon: *lon,
                    lat: *lat,
                };
                db::insert_point(c, &id, &p, 5.0)?;
            }
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn patrol_coverage_per_route_and_team_over_the_window() {
    let s = start().await;
    let id = create(&s, "巡查", "2025-04-01", "2025-05-20").await;
    let (_, route) = s.get_json("office", "/api/zones/route-north-bank").await;
    let line: Vec<[f64; 2]> =
        serde_json::from_value(route["geometry"]["coordinates"].clone()).unwrap();
    let all = densify(&line);
    let half = densify(&line[..line.len() / 2]);
    let day = |d: &str, h: i64| {
        xuncha::campaign::parse_date(d).unwrap() * DAY_MS - OFF_MS + h * 3_600_000
    };
    // The whole route on 04-02 by `patrol`, half of it on 04-03 by `patrol2`, and a walk the day
    // before the campaign that counts nowhere.
    walk(
        &s,
        "w1",
        "patrol",
        "route-north-bank",
        day("2025-04-02", 7),
        &all,
    );
    walk(
        &s,
        "w2",
        "patrol2",
        "route-north-bank",
        day("2025-04-03", 16),
        &half,
    );
    walk(
        &s,
        "w0",
        "patrol",
        "route-north-bank",
        day("2025-03-31", 7),
        &all,
    );
    s.state
        .store
        .write_sync(|c| {
            xuncha::store::patrols::insert_checkin(
                c,
                "w1",
                "0",
                "北岸西入口",
                day("2025-04-02", 7) + 60_000,
            )?;
            Ok(())
        })
        .unwrap();
    let (st, sum) = send(
        &s,
        "GET",
        "office",
        &format!("/api/campaigns/{id}/summary"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{sum}");
    let pc = &sum["patrol_coverage"];
    assert_eq!(pc["threshold"].as_f64(), Some(0.8));
    let routes = pc["routes"].as_array().unwrap();
    let north = routes
        .iter()
        .find(|r| r["id"] == "route-north-bank")
        .unwrap();
    let south = routes
        .iter()
        .find(|r| r["id"] == "route-south-bank")
        .unwrap();
    assert_eq!(south["teams"], json!([]));
    assert_eq!(north["days"], 50);
    assert_eq!(north["days_met"], 1, "{north}");
    let teams = north["teams"].as_array().unwrap();
    let users: Vec<&str> = teams.iter().map(|t| t["user"].as_str().unwrap()).collect();
    assert_eq!(users, ["patrol", "patrol2"]);
    let (full, part) = (&teams[0], &teams[1]);
    assert_eq!(
        (full["days"].as_i64(), full["points"].as_u64()),
        (Some(1), Some(all.len() as u64))
    );
    assert_eq!(full["checkins"], 1);
    assert!(full["mean_share"].as_f64().unwrap() >= 0.99, "{full}");
    let p = part["mean_share"].as_f64().unwrap();
    assert!((0.35..0.65).contains(&p), "half the route: {part}");
    assert_eq!(
        (part["days"].as_i64(), part["checkins"].as_i64()),
        (Some(1), Some(0))
    );
    let mean = north["mean_share"].as_f64().unwrap();
    let expect = (full["mean_share"].as_f64().unwrap() + p) / 50.0;
    assert!((mean - expect).abs() < 0.002, "{mean} vs {expect}");
    // The weekly bulletin carries the same table.
    let r = s
        .get(
            "office",
            &format!("/api/campaigns/{id}/bulletin?week=2025-04-01"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("<h2>巡查覆盖</h2>") && html.contains("沿江公园北岸巡逻路线"));
    assert!(
        html.contains("达标 1/50 天"),
        "the route's met days are in the bulletin"
    );
}

#[tokio::test]
async fn future_window_has_every_day_left_and_a_burn_down_only_when_running() {
    let s = start().await;
    let id = create(&s, "未来", "2999-01-01", "2999-04-10").await;
    let (st, sum) = send(
        &s,
        "GET",
        "admin",
        &format!("/api/campaigns/{id}/summary"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{sum}");
    assert_eq!(sum["days_total"], 100);
    assert_eq!(sum["days_left"], 100);
    assert_eq!(sum["days"], json!([]));
    assert_eq!(sum["targets"][0]["value"], Value::Null);
    assert_eq!(sum["targets"][0]["met"], Value::Null);
}

#[tokio::test]
async fn writes_are_admin_only_validated_and_audited() {
    let s = start().await;
    let good = body("百日攻坚", "2025-01-01", "2025-04-10");
    for role in ["office", "unit", "patrol"] {
        let (st, _) = send(&s, "POST", role, "/api/campaigns", Some(good.clone())).await;
        assert_eq!(st, 403, "{role} creates");
    }
    let (st, _) = send(&s, "GET", "patrol", "/api/campaigns", None).await;
    assert_eq!(st, 403);
    let bad = [
        (body("x", "2025-13-01", "2025-04-10"), "campaign_bad_date"),
        (body("x", "2025-05-01", "2025-04-10"), "campaign_bad_window"),
        (body("x", "2025-01-01", "2026-04-10"), "campaign_bad_window"),
        (body("  ", "2025-01-01", "2025-04-10"), "campaign_bad_name"),
        (
            json!({"name": "x", "start": "2025-01-01", "end": "2025-01-02",
                   "targets": {"closed_share_min": 1.5, "on_time_share_min": 0.9, "no_recurring_hotspot_days": 30}}),
            "campaign_bad_target",
        ),
    ];
    for (b, code) in bad {
        let (st, v) = send(&s, "POST", "admin", "/api/campaigns", Some(b)).await;
        assert_eq!(st, 400, "{v}");
        assert_eq!(v["code"], code, "{v}");
        assert!(v["error"].as_str().unwrap().len() > 5);
    }
    let (st, v) = send(&s, "GET", "admin", "/api/campaigns", None).await;
    assert_eq!(st, 200);
    assert_eq!(v["campaigns"], json!([]), "nothing half-written");

    let (st, v) = send(&s, "POST", "admin", "/api/campaigns", Some(good)).await;
    assert_eq!(st, 201, "{v}");
    let id = v["campaign"]["id"].as_i64().unwrap();
    assert_eq!(v["campaign"]["created_by"], "admin");
    let path = format!("/api/campaigns/{id}");
    let (st, _) = send(
        &s,
        "PUT",
        "office",
        &path,
        Some(body("y", "2025-01-01", "2025-01-31")),
    )
    .await;
    assert_eq!(st, 403);
    let (st, v) = send(
        &s,
        "PUT",
        "admin",
        &path,
        Some(body("二期", "2025-02-01", "2025-02-28")),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = send(&s, "GET", "office", &path, None).await;
    assert_eq!(st, 200);
    assert_eq!(v["campaign"]["name"], "二期");
    assert_eq!(v["campaign"]["end"], "2025-02-28");
    let (st, _) = send(&s, "DELETE", "office", &path, None).await;
    assert_eq!(st, 403);
    let (st, _) = send(&s, "DELETE", "admin", &path, None).await;
    assert_eq!(st, 200);
    let (st, v) = send(&s, "GET", "office", &path, None).await;
    assert_eq!(st, 404);
    assert_eq!(v["code"], "not_found");
    let (st, _) = send(&s, "GET", "office", "/api/campaigns/abc/summary", None).await;
    assert_eq!(st, 404);

    let (st, v) = send(&s, "GET", "admin", "/api/audit?action=campaign.", None).await;
    assert_eq!(st, 200, "{v}");
    let actions: Vec<&str> = v["entries"]
        .as_array()
        .or_else(|| v["rows"].as_array())
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["campaign.delete", "campaign.update", "campaign.create"]
    );
}

#[tokio::test]
async fn bulletin_is_chinese_a4_html_with_the_weeks_heatmap() {
    let s = demo_in_2025().await;
    let id = create(&s, "白山市城乡环境卫生百日攻坚", "2025-04-01", "2025-05-20").await;
    let r = s
        .get(
            "office",
            &format!("/api/campaigns/{id}/bulletin?week=2025-04-08"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(
        html.contains("白山市城乡环境卫生百日攻坚　第2周工作简报"),
        "{html}"
    );
    assert!(html.contains("size: A4"));
    assert!(html.contains("2025-04-08 至 2025-04-14"));
    // The heatmap image is a tile of the week's window, and it is served.
    let start = html.find("<img class=\"heat\"").expect("a heatmap image");
    let src_at = html[start..].find("src=\"").unwrap() + start + 5;
    let src = &html[src_at..src_at + html[src_at..].find('"').unwrap()];
    assert!(src.starts_with("/heatmap/12/"), "{src}");
    assert!(src.contains("since=2025-04-07T16:00:00"), "{src}");
    let tile = s
        .get("office", &src.replace("&amp;", "&"))
        .send()
        .await
        .unwrap();
    assert_eq!(tile.status(), 200);
    let png = tile.bytes().await.unwrap();
    let img = image::load_from_memory(&png).unwrap().to_rgba8();
    assert!(
        img.pixels().any(|p| p.0[3] > 0),
        "the week's heatmap tile has heat"
    );
    assert!(html.contains("街道红黑榜") && html.contains("六域红黑榜"));
    assert!(html.contains("class=\"best\"") && html.contains("class=\"worst\""));
    // The same bulletin as A4 PNG pages: every character has a glyph in the embedded font (no
    // boxes), the first page carries the title and the week's heat, and pages can be counted.
    let st2 = s.state.clone();
    let doc = tokio::task::spawn_blocking(move || {
        let c = st2
            .store
            .read_sync(|c| xuncha::store::campaigns::get(c, id))
            .unwrap()
            .unwrap();
        let sum = st2
            .store
            .read_sync(|conn| {
                xuncha::campaign::summary(
                    conn,
                    c,
                    Default::default(),
                    xuncha::time::now_ms(),
                    8 * 3600,
                    // Nothing known in memory: every position comes from the store.
                    &|_| Vec::new(),
                )
            })
            .unwrap();
        xuncha::campaign::bulletin::model(
            &sum,
            xuncha::campaign::parse_date("2025-04-08").unwrap(),
            true,
        )
    })
    .await
    .unwrap();
    let font = xuncha::analytics::draw::Font::embedded();
    assert_eq!(
        xuncha::campaign::bulletin::missing_glyphs(&doc, font),
        Vec::<char>::new()
    );
    assert!(doc.title.contains("第2周工作简报"));
    let r = s
        .get(
            "office",
            &format!("/api/campaigns/{id}/bulletin?week=2025-04-08&format=png"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    let pages: usize = r.headers()["x-bulletin-pages"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(pages >= 2, "{pages} pages");
    let img = image::load_from_memory(&r.bytes().await.unwrap())
        .unwrap()
        .to_rgba8();
    assert_eq!(img.dimensions(), (1240, 1754), "A4 at 150 dpi");
    let heat = img
        .pixels()
        // The ramp runs blue → green → yellow → red; text is grey or accent red (G = B).
        .filter(|p| {
            let [r, g, b, _] = p.0.map(i32::from);
            b > r + 30 || g > b + 60
        })
        .count();
    assert!(heat > 500, "the week's heat is drawn: {heat} pixels");
    let title_ink = img
        .enumerate_pixels()
        .filter(|(_, y, p)| *y < 160 && p.0[0] > 120 && p.0[1] < 90)
        .count();
    assert!(title_ink > 200, "a red title at the top: {title_ink}");
    let last = s
        .get(
            "office",
            &format!("/api/campaigns/{id}/bulletin?week=2025-04-08&format=png&page={pages}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(last.status(), 200);
    let (st, v) = send(
        &s,
        "GET",
        "office",
        &format!(
            "/api/campaigns/{id}/bulletin?week=2025-04-08&format=png&page={}",
            pages + 1
        ),
        None,
    )
    .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (404, Some("bulletin_no_page")),
        "{v}"
    );
    let (st, v) = send(
        &s,
        "GET",
        "office",
        &format!("/api/campaigns/{id}/bulletin?format=pdf"),
        None,
    )
    .await;
    assert_eq!((st, v["code"].as_str()), (400, Some("bulletin_bad_format")));
    let (st, v) = send(
        &s,
        "GET",
        "office",
        &format!("/api/campaigns/{id}/bulletin?week=2025-4-8"),
        None,
    )
    .await;
    assert_eq!(st, 400);
    assert_eq!(v["code"], "campaign_bad_date");
    let (st, _) = send(
        &s,
        "GET",
        "patrol",
        &format!("/api/campaigns/{id}/bulletin?week=2025-04-08"),
        None,
    )
    .await;
    assert_eq!(st, 403);
}
