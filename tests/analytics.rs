//! Hotspot analytics against the real server on 127.0.0.1:0 (issue 6): statistics agree with a
//! brute-force count, detection finds the planted clusters and nothing in evenly spread
//! reports, heatmap tiles join without seams, work orders list exactly the open reports, and
//! roles are enforced.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use xuncha::report::Status;

/// A server with the Baishan zones and the seeded demo reports.
async fn demo() -> Srv {
    let s = start().await;
    let st = s.state.clone();
    let n = tokio::task::spawn_blocking(move || {
        xuncha::demo::reports::load(&st, &geodata().join("reports.json"))
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(n, 400);
    s
}

/// One report as the brute force sees it, read from the report tables themselves (not from the
/// statistics' fact tables).
#[derive(Debug)]
struct Raw {
    id: i64,
    created_at: i64,
    category: String,
    status: String,
    owner: Option<String>,
    sector: Option<String>,
    zones: Vec<String>,
    closed_at: Option<i64>,
}

fn raw_reports(s: &Srv) -> Vec<Raw> {
    s.state
        .store
        .read_sync(|c| {
            let mut out: Vec<Raw> = c.query_vec(
                "SELECT id, created_at, category, status, responsible,
                        (SELECT max(at) FROM report_events e WHERE e.report_id = r.id AND e.to_status = 'closed')
                 FROM reports r",
                &[],
                |r| {
                    let resp: Option<Value> = r.str(4)?.map(|t| serde_json::from_str(t).unwrap());
                    Ok(Raw {
                        id: r.get(0)?,
                        created_at: r.get(1)?,
                        category: r.get(2)?,
                        status: r.get(3)?,
                        owner: resp.as_ref().and_then(|v| v["owner"]["name"].as_str().map(String::from)),
                        sector: resp.as_ref().and_then(|v| v["owner"]["sector"].as_str().map(String::from)),
                        zones: Vec::new(),
                        closed_at: r.get(5)?,
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

#[derive(Debug, Default)]
struct Brute {
    total: u64,
    by_status: BTreeMap<String, u64>,
    durations: Vec<i64>,
    within: u64,
}

impl Brute {
    fn add(&mut self, r: &Raw) {
        self.total += 1;
        *self.by_status.entry(r.status.clone()).or_default() += 1;
        if r.status == "closed" {
            let d = r.closed_at.unwrap() - r.created_at;
            self.durations.push(d);
            if d <= 48 * 3_600_000 {
                self.within += 1;
            }
        }
    }

    fn check(&mut self, row: &Value, what: &str) {
        assert_eq!(row["total"], self.total, "{what}: total");
        for st in Status::ALL {
            let want = self.by_status.get(st.as_str()).copied().unwrap_or(0);
            assert_eq!(row["by_status"][st.as_str()], want, "{what}: {st}");
        }
        let open: u64 = Status::OPEN
            .iter()
            .map(|s| self.by_status.get(s.as_str()).copied().unwrap_or(0))
            .sum();
        assert_eq!(row["open"], open, "{what}: open");
        assert_eq!(row["closed_within_48h"], self.within, "{what}: within 48 h");
        self.durations.sort();
        let n = self.durations.len();
        let median = (n > 0).then(|| {
            let m = if n % 2 == 1 {
                self.durations[n / 2] as f64
            } else {
                (self.durations[n / 2 - 1] + self.durations[n / 2]) as f64 / 2.0
            };
            (m / 3_600_000.0 * 10.0).round() / 10.0
        });
        assert_eq!(row["median_close_hours"].as_f64(), median, "{what}: median");
        let considered = self.total - self.by_status.get("rejected").copied().unwrap_or(0);
        let share = (considered > 0)
            .then(|| (self.within as f64 / considered as f64 * 1000.0).round() / 1000.0);
        assert_eq!(
            row["closed_within_48h_share"].as_f64(),
            share,
            "{what}: share"
        );
    }
}

fn rows_by_key(v: &Value) -> HashMap<Option<String>, Value> {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["key"].as_str().map(String::from), r.clone()))
        .collect()
}

// ---- 1. Statistics ---------------------------------------------------------------------------

#[tokio::test]
async fn stats_agree_with_a_brute_force_count() {
    let s = demo().await;
    // A live change after loading: close one resolved report, so the triggers are exercised.
    let resolved = raw_reports(&s)
        .into_iter()
        .find(|r| r.status == "resolved")
        .unwrap();
    let (st, v) = s
        .patch_json("office", resolved.id, json!({"status": "closed"}))
        .await;
    assert_eq!(st, 200, "{v}");
    let raws = raw_reports(&s);
    let now = xuncha::time::now_ms();
    let since_ms = now - 45 * 86_400_000;
    let since = xuncha::time::to_rfc3339(since_ms);
    let in_window = |r: &&Raw| r.created_at >= since_ms;

    // Owner, with a window.
    let (st, v) = s
        .get_json("office", &format!("/api/stats?group=owner&since={since}"))
        .await;
    assert_eq!(st, 200, "{v}");
    let rows = rows_by_key(&v);
    let mut want: HashMap<Option<String>, Brute> = HashMap::new();
    let mut total = Brute::default();
    for r in raws.iter().filter(in_window) {
        want.entry(r.owner.clone()).or_default().add(r);
        total.add(r);
    }
    assert_eq!(rows.len(), want.len());
    for (k, b) in &mut want {
        b.check(&rows[k], &format!("owner {k:?}"));
    }
    total.check(&v["totals"], "owner totals");

    // Zone (responsibility zones), every stored match.
    let (st, v) = s
        .get_json("office", "/api/stats?group=zone&kind=responsibility")
        .await;
    assert_eq!(st, 200, "{v}");
    let rows = rows_by_key(&v);
    let mut want: HashMap<Option<String>, Brute> = HashMap::new();
    for r in &raws {
        for z in r.zones.iter().filter(|z| z.starts_with("rz-")) {
            want.entry(Some(z.clone())).or_default().add(r);
        }
    }
    assert_eq!(rows.len(), want.len());
    // Each row is labelled with its zone's stored name and owner.
    let names: HashMap<String, (String, Option<String>)> = s
        .state
        .store
        .read_sync(|c| {
            Ok(c.query_vec(
                "SELECT id, name, owner_name FROM zones WHERE kind = 'responsibility'",
                &[],
                |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))),
            )?)
        })
        .unwrap()
        .into_iter()
        .collect();
    for (k, b) in &mut want {
        b.check(&rows[k], &format!("zone {k:?}"));
        assert_eq!(rows[k]["kind"], "responsibility");
        let (name, owner) = &names[k.as_deref().unwrap()];
        assert_eq!(rows[k]["label"], name.as_str(), "zone {k:?}");
        assert_eq!(rows[k]["owner"].as_str(), owner.as_deref(), "zone {k:?}");
    }

    // Sector and category, with a category filter.
    for group in ["sector", "category"] {
        let (st, v) = s
            .get_json(
                "admin",
                &format!("/api/stats?group={group}&category=garbage,weeds"),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        let rows = rows_by_key(&v);
        let mut want: HashMap<Option<String>, Brute> = HashMap::new();
        for r in raws
            .iter()
            .filter(|r| r.category == "garbage" || r.category == "weeds")
        {
            let k = if group == "sector" {
                r.sector.clone()
            } else {
                Some(r.category.clone())
            };
            want.entry(k).or_default().add(r);
        }
        assert_eq!(rows.len(), want.len(), "{group}");
        for (k, b) in &mut want {
            b.check(&rows[k], &format!("{group} {k:?}"));
        }
    }

    // Day, local (UTC+8) calendar days, gaps filled; status filter.
    let (st, v) = s
        .get_json(
            "office",
            &format!("/api/stats?group=day&since={since}&status=closed,resolved"),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let rows = rows_by_key(&v);
    let mut want: HashMap<Option<String>, Brute> = HashMap::new();
    for r in raws
        .iter()
        .filter(in_window)
        .filter(|r| r.status == "closed" || r.status == "resolved")
    {
        let t = time::OffsetDateTime::from_unix_timestamp(r.created_at / 1000 + 8 * 3600).unwrap();
        let day = format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day());
        want.entry(Some(day)).or_default().add(r);
    }
    assert!(rows.len() >= 45 && rows.len() <= 47, "{}", rows.len());
    for (k, b) in &mut want {
        b.check(&rows[k], &format!("day {k:?}"));
    }
    let with_reports = rows.values().filter(|r| r["total"] != 0).count();
    assert_eq!(with_reports, want.len());

    // CSV: BOM, header, one line per row plus the totals.
    let r = s
        .get("office", "/api/stats?group=owner&format=csv")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("key,label,total,reported,dispatched"));
    let (_, v) = s.get_json("office", "/api/stats?group=owner").await;
    assert_eq!(lines.len(), v["rows"].as_array().unwrap().len() + 2);
    assert!(
        lines.last().unwrap().contains(",400,"),
        "{}",
        lines.last().unwrap()
    );

    // Bad requests say what to fix.
    for bad in [
        "/api/stats?group=street",
        "/api/stats?group=owner&kind=grid",
        "/api/stats?since=yesterday",
        "/api/stats?category=trash",
        "/api/stats?format=xls",
    ] {
        let (st, v) = s.get_json("office", bad).await;
        assert_eq!(st, 400, "{bad}: {v}");
        assert!(!v["error"].as_str().unwrap().is_empty());
    }
}

/// The roll-up tables: the day rows (empty ones left out), and each packed close-time
/// histogram of the hierarchy, as hex.
type Rollups = (
    BTreeMap<(String, String, i64, String, String), [i64; 4]>,
    BTreeMap<(String, String, i64, i64, String), String>,
);

fn rollups(s: &Srv) -> Rollups {
    s.state
        .store
        .read_sync(|c| {
            let mut days = BTreeMap::new();
            c.for_each(
                "SELECT dim, key, day, category, status, n, late, overdue, within_48h FROM stat_days",
                &[],
                &mut |r| {
                    let e: &mut [i64; 4] = days
                        .entry((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                        .or_default();
                    for (i, v) in e.iter_mut().enumerate() {
                        *v += r.get::<i64>(5 + i)?;
                    }
                    Ok(())
                },
            )?;
            days.retain(|_, v| *v != [0; 4]);
            let closes = c.query_vec(
                "SELECT dim, key, level, node, category, hex(hist) FROM stat_close_nodes",
                &[],
                |r| {
                    Ok((
                        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?),
                        r.get(5)?,
                    ))
                },
            )?;
            Ok((days, closes.into_iter().collect()))
        })
        .unwrap()
}

#[tokio::test]
async fn daily_rollups_follow_every_change_and_answer_as_the_facts_do() {
    use xuncha::analytics::stats::{compute, GroupBy, StatsQuery};
    use xuncha::store::reports::{self, Change};
    let s = demo().await;
    let built = s
        .state
        .store
        .read_sync(xuncha::store::rollups::built_offset)
        .unwrap();
    if !s
        .state
        .store
        .read_sync(|c| Ok(xuncha::store::rollups::kept(c)))
        .unwrap()
    {
        // PostgreSQL keeps no roll-ups (see `rollups::kept`); its statistics read the facts,
        // which `stats_agree_with_a_brute_force_count` checks.
        assert_eq!(built, None, "PostgreSQL answers from the facts");
        return;
    }
    assert_eq!(
        built,
        Some(8 * 3_600_000),
        "the server builds the roll-ups on start"
    );
    let raws = raw_reports(&s);
    let now = xuncha::time::now_ms();
    // Every kind of change a fact goes through: closing, a close taken back (an admin's
    // correction, below the workflow's rules) and closed again later, and deadline sweeps.
    let closed: Vec<i64> = raws
        .iter()
        .filter(|r| r.status == "closed")
        .map(|r| r.id)
        .take(6)
        .collect();
    let open: Vec<i64> = raws
        .iter()
        .filter(|r| r.status == "reported" || r.status == "dispatched")
        .map(|r| r.id)
        .take(6)
        .collect();
    assert!(closed.len() == 6 && open.len() == 6, "the demo has both");
    // Two more closed reports of one local day and category, closed again into one close-time
    // bucket; taking back the quicker close leaves the other in it.
    let mut by_day: HashMap<(i64, String), Vec<&Raw>> = HashMap::new();
    for r in raws
        .iter()
        .filter(|r| r.status == "closed" && !closed.contains(&r.id))
    {
        let day = (r.created_at + 8 * 3_600_000).div_euclid(86_400_000);
        by_day.entry((day, r.category.clone())).or_default().push(r);
    }
    let pair = by_day
        .values()
        .find(|v| v.len() >= 2)
        .map(|v| [(v[0].id, v[0].created_at), (v[1].id, v[1].created_at)])
        .expect("two closed reports of one day and category");
    s.state
        .store
        .write_sync(move |c| {
            let change = |id, from, to, at| Change {
                report: id,
                from,
                to,
                user: "admin",
                note: None,
                reason: None,
                photos: &[],
                at,
                due_at: None,
                assign_to: None,
                duplicate_of: None,
            };
            for (i, id) in closed.iter().enumerate() {
                reports::apply_change(c, &change(*id, Status::Closed, Status::Reopened, now))?;
                if i % 2 == 0 {
                    let at = now + i as i64 * 3_600_000;
                    reports::apply_change(c, &change(*id, Status::Reopened, Status::Closed, at))?;
                }
            }
            for (i, (id, created)) in pair.iter().enumerate() {
                reports::apply_change(c, &change(*id, Status::Closed, Status::Reopened, now))?;
                let at = created + 10 * 3_600_000 + 1000 * (i as i64 + 1);
                reports::apply_change(c, &change(*id, Status::Reopened, Status::Closed, at))?;
            }
            let (quicker, _) = pair[0];
            reports::apply_change(c, &change(quicker, Status::Closed, Status::Reopened, now))?;
            for id in &open {
                c.execute(
                    "UPDATE reports SET sweep_at = $2 WHERE id = $1",
                    xuncha::args![*id, now - 1],
                )?;
                assert!(reports::mark_overdue(c, *id, now, None)?);
            }
            Ok(())
        })
        .unwrap();
    // Kept one change at a time, the roll-ups are what a build from the facts gives.
    let kept = rollups(&s);
    assert!(!kept.0.is_empty() && !kept.1.is_empty());
    s.state
        .store
        .write_sync(|c| xuncha::store::rollups::rebuild(c, 8 * 3_600_000))
        .unwrap();
    let built = rollups(&s);
    let differ = |a: &Rollups, b: &Rollups| {
        let days: Vec<_> = a.0.iter().filter(|(k, v)| b.0.get(*k) != Some(v)).collect();
        let closes: Vec<_> = a.1.iter().filter(|(k, v)| b.1.get(*k) != Some(v)).collect();
        format!("{days:?} {closes:?}")
    };
    assert!(
        built == kept,
        "kept roll-ups equal built ones; kept rows that differ: {}; built rows that differ: {}",
        differ(&kept, &built),
        differ(&built, &kept)
    );

    // And the statistics they give equal the ones from the facts alone, for windows that cut
    // days in the middle, with filters.
    let h = 3_600_000;
    let windows = [
        (None, None),
        (Some(now - 45 * 86_400 * 1000 + 7 * h + 123), None),
        (
            Some(now - 20 * 86_400 * 1000 - 5 * h),
            Some(now - 3 * 86_400 * 1000 + 11 * h),
        ),
        (None, Some(now - 10 * 86_400 * 1000 + 3 * h)),
        (Some(now - 3 * h), Some(now)),
    ];
    let mut compared = 0;
    for group in [
        GroupBy::Zone,
        GroupBy::Owner,
        GroupBy::Sector,
        GroupBy::Category,
        GroupBy::Day,
    ] {
        for (since, until) in windows {
            for (categories, statuses) in [
                (vec![], vec![]),
                (vec![xuncha::report::Category::Garbage], vec![]),
                (vec![], vec![Status::Closed, Status::Reopened]),
            ] {
                let q = StatsQuery {
                    group,
                    filter: xuncha::store::stats::ReportFilter {
                        since,
                        until: until.map(|u: i64| u + 1),
                        categories,
                        statuses,
                        visibility: Default::default(),
                    },
                    zone_kind: None,
                    utc_offset_s: 8 * 3600,
                };
                let answer = |built: bool| {
                    let q = q.clone();
                    s.state
                        .store
                        .write_sync(move |c| {
                            c.execute(
                                "UPDATE stat_meta SET built = $1",
                                xuncha::args![i64::from(built)],
                            )?;
                            Ok(serde_json::to_value(compute(c, &q)?).unwrap())
                        })
                        .unwrap()
                };
                let (from_rollups, from_facts) = (answer(true), answer(false));
                assert_eq!(from_rollups, from_facts, "{q:?}");
                compared += from_facts["totals"]["total"].as_u64().unwrap();
            }
        }
    }
    assert!(compared > 1000, "the windows held reports ({compared})");
}

/// The median's exact ends: for every group and close-time bucket, the fact lookup gives the
/// longest and shortest duration of that group's closed reports in the bucket, as a scan of
/// every fact row does.
#[tokio::test]
async fn close_extremes_are_the_ends_of_their_bucket_within_the_group() {
    use xuncha::store::stats::{close_ends, close_ends_sql, ReportFilter, Within};
    let s = demo().await;
    // The demo's closes rarely share a bucket, so add facts (the fact table only) that crowd a
    // few buckets with reports of several categories, sectors and owners.
    let start = xuncha::time::now_ms() - 10 * 86_400_000;
    s.state
        .store
        .write_sync(move |c| {
            for k in 0..90i64 {
                let created = start + k * 3_600_000;
                let d = (2 + k % 3) * 3_600_000 + (k * 7919) % 300_000 - 150_000;
                let sector = ["school", "agency", "enterprise", ""][(k % 4) as usize];
                c.execute(
                    "INSERT INTO stat_reports (report_id, created_at, category, status, owner, sector, closed_at, late, overdue)
                     VALUES ($1, $2, $3, 'closed', $4, $5, $6, FALSE, FALSE)",
                    xuncha::args![
                        10_000_000 + k,
                        created,
                        ["garbage", "water", "weeds"][(k % 3) as usize],
                        (k % 5 != 0).then(|| format!("单位{}", k % 4)),
                        (!sector.is_empty()).then_some(sector),
                        created + d
                    ],
                )?;
            }
            Ok(())
        })
        .unwrap();
    type Fact = (
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    type Member<'a> = dyn Fn(&Fact) -> bool + 'a;
    let facts: Vec<Fact> =
        s.state
            .store
            .read_sync(|c| {
                Ok(c.query_vec(
                "SELECT created_at, category, status, sector, owner, closed_at FROM stat_reports",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )?)
            })
            .unwrap();
    let since = facts.iter().map(|f| f.0).min().unwrap() + 20 * 86_400_000;
    let closed: Vec<(i64, i64, &Fact)> = facts
        .iter()
        .filter(|f| f.2 == "closed" && f.0 >= since)
        .filter_map(|f| {
            let d = (f.5? - f.0).max(0);
            Some((d, xuncha::store::rollups::tenth_of(d), f))
        })
        .collect();
    assert!(
        closed.len() > 100,
        "the demo has closed reports ({})",
        closed.len()
    );
    let filter = ReportFilter {
        since: Some(since),
        until: None,
        categories: vec![],
        statuses: vec![],
        visibility: xuncha::scope::Visibility::All,
    };
    let (mut checked, mut narrowed) = (0, 0);
    for (i, &(_, tenth, f)) in closed.iter().enumerate().step_by(7) {
        // The upper bucket: this one, or the bucket of a neighbour.
        let upper = if i % 2 == 0 {
            tenth
        } else {
            closed[(i + 1) % closed.len()].1
        };
        let groups: [(Within, &Member<'_>); 4] = [
            (Within::All, &|_| true),
            (Within::Category(&f.1), &|g| g.1 == f.1),
            (Within::Sector(f.3.as_deref().unwrap_or("")), &|g| {
                g.3 == f.3
            }),
            (Within::Owner(f.4.as_deref().unwrap_or("")), &|g| g.4 == f.4),
        ];
        for (within, member) in groups {
            let inside = |b: i64| {
                closed
                    .iter()
                    .filter(move |(_, t, g)| *t == b && member(g))
                    .map(|(d, _, _)| *d)
            };
            let got = s
                .state
                .store
                .read_sync(|c| close_ends(c, &filter, within, tenth, upper))
                .unwrap();
            assert_eq!(
                got,
                (inside(tenth).max(), inside(upper).min()),
                "{within:?} buckets {tenth}, {upper}"
            );
            checked += 1;
            let everyone = |b: i64| {
                closed
                    .iter()
                    .filter(move |(_, t, _)| *t == b)
                    .map(|(d, _, _)| *d)
            };
            if (everyone(tenth).max(), everyone(upper).min()) != got {
                narrowed += 1;
            }
        }
    }
    assert!(checked > 40, "{checked} lookups");
    assert!(
        narrowed > 5,
        "{narrowed} of {checked} lookups were narrowed by their group"
    );
    // And the lookup reads the bucket's index, not the window.
    let plan: Vec<String> = s
        .state
        .store
        .read_sync(|c| {
            if c.backend() != xuncha::store::Backend::Sqlite {
                return Ok(vec![]);
            }
            let q = close_ends_sql(&filter, Within::Category("garbage"), 30, 31);
            Ok(
                c.query_vec(&format!("EXPLAIN QUERY PLAN {}", q.text), &q.args, |r| {
                    r.get(3)
                })?,
            )
        })
        .unwrap();
    if !plan.is_empty() {
        assert!(
            plan.iter().any(|p| p.contains("stat_reports_close")),
            "{plan:?}"
        );
    }
}

// ---- 2. Hotspot detection --------------------------------------------------------------------

fn live_hotspots(s: &Srv) -> Vec<(String, bool)> {
    s.state
        .zones
        .index()
        .iter()
        .filter(|e| e.zone.kind == xuncha::zone::ZoneKind::Hotspot)
        .map(|e| {
            (
                e.zone.id.clone(),
                e.zone.properties.get("source").and_then(Value::as_str) == Some("detected"),
            )
        })
        .collect()
}

async fn detect(s: &Srv, role: &str, q: &str) -> (u16, Value) {
    let r = s
        .http
        .post(s.url(&format!("/api/hotspots/detect{q}")))
        .bearer_auth(&s.tokens[role])
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn detection_finds_exactly_the_planted_clusters_and_rerun_replaces_them() {
    let s = demo().await;
    let hand_drawn: Vec<String> = live_hotspots(&s).into_iter().map(|h| h.0).collect();
    assert!(!hand_drawn.is_empty());
    let planted: Value = serde_json::from_str(
        &std::fs::read_to_string(geodata().join("planted_hotspots.json")).unwrap(),
    )
    .unwrap();
    let planted = planted["clusters"].as_array().unwrap();

    let (st, v) = detect(&s, "office", "").await;
    assert_eq!(st, 200, "{v}");
    let features = v["features"].as_array().unwrap();
    assert_eq!(features.len(), planted.len(), "{v}");
    let mut found = HashSet::new();
    for f in features {
        let p = &f["properties"];
        assert_eq!(p["kind"], "hotspot");
        let props = &p["properties"];
        assert_eq!(props["source"], "detected");
        let c = props["centre"].as_array().unwrap();
        let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        let lm = xuncha::crs::geodesy::LocalMetres::new(lon, lat);
        let hit = planted
            .iter()
            .find(|pc| {
                let d = lm.project(geo::Coord {
                    x: pc["lon"].as_f64().unwrap(),
                    y: pc["lat"].as_f64().unwrap(),
                });
                (d.x * d.x + d.y * d.y).sqrt() <= pc["radius_m"].as_f64().unwrap()
            })
            .unwrap_or_else(|| panic!("detected hotspot at {lon},{lat} is not a planted one"));
        assert!(found.insert(hit["id"].as_str().unwrap().to_string()));
        assert_eq!(props["dominant_category"], hit["dominant_category"]);
        let n = props["report_count"].as_u64().unwrap();
        let planted_n = hit["count"].as_u64().unwrap();
        // Rejected reports do not count; a few may be.
        assert!(
            n * 10 >= planted_n * 8 && n <= planted_n,
            "{n} of {planted_n}"
        );
        assert_eq!(props["window"]["since"], Value::Null);
        // The planted centre lies inside the stored polygon.
        let z = s.state.zones.index().match_point(
            hit["lon"].as_f64().unwrap(),
            hit["lat"].as_f64().unwrap(),
            0.0,
        );
        assert!(z
            .matches
            .iter()
            .any(|m| m.zone.id == f["id"].as_str().unwrap()));
    }
    assert_eq!(v["retired"], json!([]));

    // Re-running the same window replaces them; hand-drawn hotspots stay.
    let first: HashSet<String> = features
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    let (st, v2) = detect(&s, "admin", "").await;
    assert_eq!(st, 200, "{v2}");
    let retired: HashSet<String> = v2["retired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    assert_eq!(retired, first);
    let live = live_hotspots(&s);
    assert_eq!(live.iter().filter(|h| h.1).count(), planted.len());
    for h in &hand_drawn {
        assert!(live.iter().any(|l| &l.0 == h), "hand-drawn {h} was touched");
    }
    // A different window is a different detection: both stay.
    let since = xuncha::time::to_rfc3339(xuncha::time::now_ms() - 30 * 86_400_000);
    let (st, v3) = detect(&s, "office", &format!("?since={since}&category=garbage")).await;
    assert_eq!(st, 200, "{v3}");
    assert_eq!(v3["retired"], json!([]));
    for f in v3["features"].as_array().unwrap() {
        assert_eq!(
            f["properties"]["properties"]["dominant_category"],
            "garbage"
        );
    }
    let detected_now = live_hotspots(&s).iter().filter(|h| h.1).count();
    assert_eq!(
        detected_now,
        planted.len() + v3["features"].as_array().unwrap().len()
    );
}

#[tokio::test]
async fn detection_finds_nothing_where_reports_are_spread_evenly() {
    let s = start().await;
    // 20 × 20 reports 80 m apart over the city centre, jittered a little.
    let lm = xuncha::crs::geodesy::LocalMetres::new(126.41, 41.93);
    let mut n = 0;
    for i in 0..20 {
        for j in 0..20 {
            let jitter = ((i * 7 + j * 13) % 10) as f64;
            let lon = 126.41 + (i as f64 * 80.0 + jitter) / lm.m_per_deg_lon;
            let lat = 41.93 + (j as f64 * 80.0 - jitter) / lm.m_per_deg_lat;
            let (st, v) = s
                .post_json(
                    "patrol",
                    json!({"lon": lon, "lat": lat, "category": "garbage"}),
                )
                .await;
            assert_eq!(st, 201, "{v}");
            n += 1;
        }
    }
    let (st, v) = detect(&s, "office", "").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["reports_considered"], n);
    assert_eq!(v["features"], json!([]), "{v}");
    assert_eq!(v["noise_reports"], n);
}

// ---- 3. Heatmap ------------------------------------------------------------------------------

async fn png(s: &Srv, role: &str, path: &str) -> image::RgbaImage {
    let r = s.get(role, path).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    assert_eq!(r.headers()["content-type"], "image/png");
    let bytes = r.bytes().await.unwrap();
    let img = image::load_from_memory(&bytes).unwrap().to_rgba8();
    assert_eq!(img.dimensions(), (256, 256));
    img
}

#[tokio::test]
async fn heatmap_tiles_join_without_seams() {
    let s = demo().await;
    // The market cluster, at a zoom where a tile is ~230 m wide and the kernel crosses edges.
    let (lon, lat) = (126.40553, 41.932257);
    let z = 17;
    let t = xuncha_tiles::TileCoord::containing(lon, lat, z).unwrap();
    let b = t.bounds_lonlat();
    let west = (lon - b.min().x) < (b.max().x - lon);
    let north = (b.max().y - lat) < (lat - b.min().y);
    let q = "?radius_m=120";
    let here = png(
        &s,
        "patrol",
        &format!("/heatmap/{z}/{}/{}.png{q}", t.x, t.y),
    )
    .await;
    let nx = if west { t.x - 1 } else { t.x + 1 };
    let ny = if north { t.y - 1 } else { t.y + 1 };
    let side = png(&s, "office", &format!("/heatmap/{z}/{nx}/{}.png{q}", t.y)).await;
    let vert = png(&s, "planner", &format!("/heatmap/{z}/{}/{ny}.png{q}", t.x)).await;
    // Adjacent pixel columns (rows) across the shared edge.
    let pairs = |a: &image::RgbaImage, b: &image::RgbaImage, horizontal: bool, a_first: bool| {
        (0..256u32)
            .map(|k| {
                let (ea, eb) = if a_first { (255, 0) } else { (0, 255) };
                if horizontal {
                    (*a.get_pixel(ea, k), *b.get_pixel(eb, k))
                } else {
                    (*a.get_pixel(k, ea), *b.get_pixel(k, eb))
                }
            })
            .collect::<Vec<_>>()
    };
    for (name, p) in [
        ("east-west", pairs(&side, &here, true, west)),
        ("north-south", pairs(&vert, &here, false, north)),
    ] {
        let coloured = p.iter().filter(|(a, b)| a[3] > 0 && b[3] > 0).count();
        assert!(
            coloured > 20,
            "{name}: the heat must reach the shared edge ({coloured})"
        );
        // Compare premultiplied colours: a transparent pixel's colour channels mean nothing.
        let pre = |p: &image::Rgba<u8>, k: usize| {
            if k == 3 {
                p[3] as i32
            } else {
                p[k] as i32 * p[3] as i32 / 255
            }
        };
        let worst = p
            .iter()
            .map(|(a, b)| (0..4).map(|k| (pre(a, k) - pre(b, k)).abs()).max().unwrap())
            .max()
            .unwrap();
        assert!(worst <= 24, "{name}: a seam of {worst} levels");
    }
    // Far from any report the tile is fully transparent; filters apply.
    let empty = png(&s, "patrol", "/heatmap/17/0/0.png").await;
    assert!(empty.pixels().all(|p| p[3] == 0));
    let only_medical = png(
        &s,
        "patrol",
        &format!(
            "/heatmap/{z}/{}/{}.png{q}&category=medical_waste&until=2000-01-01T00:00:00Z",
            t.x, t.y
        ),
    )
    .await;
    assert!(only_medical.pixels().all(|p| p[3] == 0));
    // Low zoom: the whole city in one tile still shows the hotspots.
    let t10 = xuncha_tiles::TileCoord::containing(lon, lat, 10).unwrap();
    let low = png(
        &s,
        "patrol",
        &format!("/heatmap/10/{}/{}.png", t10.x, t10.y),
    )
    .await;
    assert!(low.pixels().any(|p| p[3] > 150));
    // Bad tiles.
    let r = s.get("patrol", "/heatmap/3/9/0.png").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = s
        .http
        .get(s.url("/heatmap/10/0/0.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn heatmap_tiles_are_cached_and_redrawn_when_a_report_lands_within_reach() {
    let s = demo().await;
    // A z17 tile west of the city, where the demo has no reports.
    let t = xuncha_tiles::TileCoord::containing(126.30, 41.95, 17).unwrap();
    let path = format!("/heatmap/17/{}/{}.png", t.x, t.y);
    let get = |etag: Option<String>| {
        let mut r = s.get("office", &path);
        if let Some(e) = etag {
            r = r.header("if-none-match", e);
        }
        r.send()
    };
    let first = get(None).await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "private, no-cache");
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let img = image::load_from_memory(&first.bytes().await.unwrap()).unwrap();
    assert!(img.to_rgba8().pixels().all(|p| p[3] == 0));
    // Held by the server's cache, and the browser's copy is confirmed with a 304.
    let style = xuncha::analytics::heatmap::HeatStyle {
        radius_m: s.state.config.heatmap_radius_m,
        scale_per_ha: s.state.config.heatmap_scale_per_ha,
    };
    let fkey = xuncha::tileset::ReportFilter::default().cache_key();
    assert!(s.state.tiles.cached_heatmap(t, &fkey, &style).is_some());
    assert_eq!(get(Some(etag.clone())).await.unwrap().status(), 304);
    // A report 2 km away changes nothing here: the tile stays cached.
    let b = t.bounds_lonlat();
    let mid_lat = (b.min().y + b.max().y) / 2.0;
    let far = json!({"lon": b.max().x + 0.025, "lat": mid_lat, "category": "garbage"});
    assert_eq!(s.post_json("patrol", far).await.0, 201);
    assert!(s.state.tiles.cached_heatmap(t, &fkey, &style).is_some());
    assert_eq!(get(Some(etag.clone())).await.unwrap().status(), 304);
    // One 25 m east of the tile, in the next tile but within the 60 m kernel: redrawn, and its
    // heat reaches this tile's east edge.
    let near = json!({"lon": b.max().x + 0.0003, "lat": mid_lat, "category": "garbage"});
    assert_eq!(s.post_json("patrol", near).await.0, 201);
    let again = get(Some(etag.clone())).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_ne!(again.headers()["etag"].to_str().unwrap(), etag);
    let img = image::load_from_memory(&again.bytes().await.unwrap())
        .unwrap()
        .to_rgba8();
    assert!((0..256).any(|y| img.get_pixel(255, y)[3] > 0));
    assert!((0..256).all(|y| img.get_pixel(0, y)[3] == 0));
}

// ---- 4. Work orders --------------------------------------------------------------------------

#[tokio::test]
async fn a_work_order_lists_exactly_the_open_reports_of_its_owner() {
    let s = demo().await;
    let raws = raw_reports(&s);
    let open = |r: &&Raw| Status::OPEN.iter().any(|s| s.as_str() == r.status);
    let mut per_owner: HashMap<String, Vec<i64>> = HashMap::new();
    for r in raws.iter().filter(open) {
        if let Some(o) = &r.owner {
            per_owner.entry(o.clone()).or_default().push(r.id);
        }
    }
    let (owner, mut want) = per_owner
        .into_iter()
        .max_by_key(|(o, v)| (v.len(), o.clone()))
        .unwrap();
    want.sort();
    assert!(want.len() >= 3, "{owner}: {want:?}");
    // A note with markup, in one of the owner's zones, must come out escaped.
    let zone = s
        .state
        .zones
        .index()
        .iter()
        .find(|e| {
            e.zone.kind == xuncha::zone::ZoneKind::Responsibility
                && e.zone.owner.as_ref().is_some_and(|o| o.name == owner)
        })
        .map(|e| e.zone.id.clone())
        .unwrap();
    let (lon, lat) = inside_zone(&zone);
    let (st, v) = s
        .post_json(
            "patrol",
            json!({"lon": lon, "lat": lat, "category": "other", "note": "<script>alert(1)</script> & 垃圾"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    if v["responsible"]["owner"]["name"] == owner.as_str() {
        want.push(v["id"].as_i64().unwrap());
    }
    let enc = urlencode(&owner);

    let (st, j) = s
        .get_json("office", &format!("/api/workorders/{enc}?format=json"))
        .await;
    assert_eq!(st, 200, "{j}");
    let mut got: Vec<i64> = j["open_reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(j["totals"]["open"], want.len());
    assert_eq!(j["owner"]["name"], owner.as_str());

    let r = s
        .get("admin", &format!("/api/workorders/{enc}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.contains("@page"));
    assert!(html.contains(&format!("待处置问题 {} 件", want.len())));
    for id in &want {
        assert!(html.contains(&format!("编号 {id}<")), "report {id} missing");
    }
    assert_eq!(html.matches("编号 ").count(), want.len());
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; 垃圾"));

    let r = s
        .get("office", &format!("/api/workorders/{enc}?format=png"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(img.width(), 1240);
    assert!(img.height() > 1200);
    if let Ok(dir) = std::env::var("XUNCHA_WORKORDER_OUT") {
        img.save(std::path::Path::new(&dir).join("workorder.png"))
            .unwrap();
        std::fs::write(std::path::Path::new(&dir).join("workorder.html"), &html).unwrap();
    }

    let (st, e) = s
        .get_json(
            "office",
            &format!("/api/workorders/{}", urlencode("没有这个单位")),
        )
        .await;
    assert_eq!(st, 404);
    assert!(e["error"].as_str().unwrap().contains("没有这个单位"), "{e}");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ---- Roles -----------------------------------------------------------------------------------

#[tokio::test]
async fn roles_are_enforced() {
    let s = start().await;
    for role in ["patrol", "planner"] {
        let (st, v) = s.get_json(role, "/api/stats?group=owner").await;
        assert_eq!(st, 403, "{role}: {v}");
        assert!(v["error"].as_str().unwrap().contains("office"));
        let (st, _) = detect(&s, role, "").await;
        assert_eq!(st, 403, "{role}");
        let (st, _) = s
            .get_json(
                role,
                &format!("/api/workorders/{}", urlencode("城南街道办事处")),
            )
            .await;
        assert_eq!(st, 403, "{role}");
    }
    for role in ["office", "admin"] {
        let (st, v) = s.get_json(role, "/api/stats?group=category").await;
        assert_eq!(st, 200, "{role}: {v}");
        assert_eq!(v["rows"], json!([]));
        assert_eq!(v["totals"]["total"], 0);
    }
    let r = s.http.get(s.url("/api/stats")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    // Every signed-in role may see the heatmap.
    for role in ["patrol", "planner", "office", "admin"] {
        let r = s
            .get(role, "/heatmap/12/3487/1520.png")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{role}");
    }
}
