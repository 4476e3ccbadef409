//! Times `/api/stats` (every `group`) and heatmap tiles (z 10, 13, 16) over generated reports.
//!
//! ```text
//! cargo run --release --example analytics_bench -- [reports=1000000] [iterations=30]
//! ```
//!
//! Fills a temporary data folder: the Baishan zones, then `reports` generated reports matched
//! to them with the real `ZoneIndex`, inserted in one transaction with prepared statements (the
//! statistics triggers run as they would in production). Statuses follow the demo mix; a
//! closed report closes 2 h – 6 days after it was filed. Prints p50/p99 per case.
//!
//! With `ANALYTICS_BENCH_DATA=DIR` the data folder is `DIR` and is kept: a folder that already
//! holds reports is timed as it is (no fill), so a second run, or `bench/startup.py`, can use it.
//! `ANALYTICS_BENCH_DATABASE=URL` puts the reports in that PostgreSQL database instead.

use rand::{Rng, SeedableRng};
use std::time::Instant;
use xuncha::analytics::heatmap::{self, HeatStyle};
use xuncha::analytics::stats::{self, GroupBy, StatsQuery};
use xuncha::report::{Category, Status};
use xuncha::store::stats::ReportFilter;
use xuncha::{App, Config};
use xuncha_tiles::TileCoord;

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .first()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let iters: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(30);
    let temp = tempfile::tempdir()?;
    let data_dir = std::env::var_os("ANALYTICS_BENCH_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&data_dir)?;
    let t_open = Instant::now();
    let state = App::open(Config {
        data_dir,
        database: std::env::var("ANALYTICS_BENCH_DATABASE").ok(),
        ..Config::default()
    })?;
    let have: i64 = state
        .store
        .read_sync(|c| Ok(c.query_scalar("SELECT count(*) FROM reports", &[])?))?;
    println!(
        "opened the data folder ({have} reports) in {:.1} s",
        t_open.elapsed().as_secs_f64()
    );
    if have == 0 {
        fill(&state, n).await?;
    }
    let now = xuncha::time::now_ms();
    let day = 86_400_000i64;
    time_all(&state, iters, now, day)
}

/// The Baishan zones, then `n` generated reports.
async fn fill(state: &xuncha::state::AppState, n: usize) -> anyhow::Result<()> {
    let geodata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata/baishan");
    let imp = xuncha::cli::import(
        state,
        &geodata.join("zones.geojson"),
        None,
        true,
        "bench",
        xuncha::zone::registry::Indexing::Live,
    )
    .await?;
    println!("zones: {}", imp.imported);

    // Generate: 70 % in the zoned city centre, 30 % over the wider district; 8 hot places.
    let index = state.zones.index();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261130);
    let now = xuncha::time::now_ms();
    let day = 86_400_000i64;
    let hot: Vec<(f64, f64)> = (0..8)
        .map(|_| {
            (
                rng.gen_range(126.395..126.445),
                rng.gen_range(41.928..41.948),
            )
        })
        .collect();
    let statuses = [
        (Status::Closed, 50),
        (Status::Resolved, 18),
        (Status::Rejected, 8),
        (Status::InProgress, 8),
        (Status::Reopened, 6),
        (Status::Dispatched, 6),
        (Status::Reported, 4),
    ];
    let t0 = Instant::now();
    let rule = xuncha::store::reports::DuplicateRule {
        radius_m: 0.0,
        window_ms: 0,
    };
    // Transactions of CHUNK reports, with statistics taken after the first. In one transaction,
    // 100 000 reports into PostgreSQL ran for over 17 minutes in the prepared status UPDATE,
    // most likely on a plan made while `reports` looked empty; after ANALYZE it runs ~1 000/s.
    const CHUNK: usize = 20_000;
    for start in (0..n).step_by(CHUNK) {
        state.store.write_sync(|tx| {
            for i in start..(start + CHUNK).min(n) {
                let (lon, lat) = match i % 10 {
                    0 => {
                        let h = hot[i / 10 % hot.len()];
                        (
                            h.0 + rng.gen_range(-0.0005..0.0005),
                            h.1 + rng.gen_range(-0.0004..0.0004),
                        )
                    }
                    1..=6 => (rng.gen_range(126.39..126.45), rng.gen_range(41.925..41.95)),
                    _ => (rng.gen_range(126.2..126.7), rng.gen_range(41.8..42.1)),
                };
                let category = Category::ALL[rng.gen_range(0..Category::ALL.len())];
                let mut pick = rng.gen_range(0..100);
                let status = statuses
                    .iter()
                    .find(|(_, w)| {
                        if pick < *w {
                            true
                        } else {
                            pick -= w;
                            false
                        }
                    })
                    .map(|s| s.0)
                    .unwrap_or(Status::Reported);
                let created = now - rng.gen_range(0..365 * day);
                let updated = if status == Status::Closed {
                    (created + rng.gen_range(2 * 3_600_000..6 * day)).min(now)
                } else {
                    created
                };
                let m = xuncha::zone::responsibility::answer(&index, lon, lat, 5.0);
                let report = xuncha::store::reports::NewReport {
                    client_id: None,
                    lon,
                    lat,
                    accuracy_m: Some(5.0),
                    location_source: "client",
                    crs: "wgs84",
                    category,
                    note: None,
                    captured_at: created,
                    created_at: created,
                    created_by: "bench".into(),
                    matched: (&m).into(),
                    due_at: None,
                    photos: vec![],
                };
                let xuncha::store::reports::Inserted::Created(id) =
                    xuncha::store::reports::insert(tx, &report, rule)?
                else {
                    continue;
                };
                if status != Status::Reported {
                    // The store does not check the workflow's rules: jump straight to the status.
                    xuncha::store::reports::apply_change(
                        tx,
                        &xuncha::store::reports::Change {
                            report: id,
                            from: Status::Reported,
                            to: status,
                            user: "bench",
                            note: None,
                            reason: None,
                            photos: &[],
                            at: updated,
                            due_at: None,
                            assign_to: None,
                            duplicate_of: None,
                        },
                    )?;
                }
            }
            Ok(())
        })?;
        if start == 0 {
            state.store.write_sync(|tx| Ok(tx.batch("ANALYZE")?))?;
        }
    }
    println!("filled {n} reports in {:.1} s", t0.elapsed().as_secs_f64());
    // The reports went straight into the store; load them into the in-memory points.
    state.tiles.report_points.reload(&state.store)?;
    state.store.write_sync(|tx| Ok(tx.batch("ANALYZE")?))?;
    Ok(())
}

fn time_all(
    state: &xuncha::state::AppState,
    iters: usize,
    now: i64,
    day: i64,
) -> anyhow::Result<()> {
    println!("\n/api/stats (stats::compute), {iters} runs each, ms: from the daily roll-ups, and from the facts alone (roll-ups marked unbuilt) in the same run");
    println!(
        "{:<10} {:>14} {:>9} {:>9} {:>11} {:>11} {:>7}",
        "group", "window", "p50", "p99", "facts p50", "facts p99", "ratio"
    );
    let windows = [("all", None), ("last 30 d", Some(now - 30 * day))];
    for group in [
        GroupBy::Zone,
        GroupBy::Owner,
        GroupBy::Sector,
        GroupBy::Category,
        GroupBy::Day,
    ] {
        for (wname, since) in windows {
            let q = StatsQuery {
                group,
                filter: ReportFilter {
                    since,
                    ..Default::default()
                },
                zone_kind: (group == GroupBy::Zone)
                    .then_some(xuncha::zone::ZoneKind::Responsibility),
                utc_offset_s: 8 * 3600,
            };
            let mut times = [Vec::new(), Vec::new()];
            let mut rows = 0;
            let mut answers = [None, None];
            // Alternating, so both see the same machine.
            for _ in 0..iters {
                for (i, built) in [1i64, 0].into_iter().enumerate() {
                    state.store.write_sync(|c| {
                        Ok(c.execute("UPDATE stat_meta SET built = $1", xuncha::args![built])?)
                    })?;
                    let t = Instant::now();
                    let table = state.store.read_sync(|c| stats::compute(c, &q))?;
                    times[i].push(t.elapsed().as_secs_f64() * 1000.0);
                    rows = table.rows.len();
                    answers[i] = Some(serde_json::to_value(&table)?);
                }
            }
            state
                .store
                .write_sync(|c| Ok(c.execute("UPDATE stat_meta SET built = 1", &[])?))?;
            anyhow::ensure!(
                answers[0] == answers[1],
                "{group:?} {wname}: the roll-ups and the facts disagree"
            );
            let [mut a, mut b] = times;
            let (a50, b50) = (pct(&mut a, 0.5), pct(&mut b, 0.5));
            println!(
                "{:<10} {:>14} {:>9.1} {:>9.1} {:>11.1} {:>11.1} {:>6.1}x   ({rows} rows)",
                group.as_str(),
                wname,
                a50,
                pct(&mut a, 0.99),
                b50,
                pct(&mut b, 0.99),
                b50 / a50
            );
        }
    }

    // The campaign page's summary (issue 15): a 100-day campaign ending today, and one over the
    // whole year of generated reports (the longest window allowed is 366 days).
    println!("\ncampaign summary (campaign::summary: days, targets, rankings, repeats), {iters} runs each, ms");
    let today = (now + 8 * 3_600_000).div_euclid(day);
    for (name, days) in [("100 days", 100i64), ("366 days", 366)] {
        let c = xuncha::store::campaigns::Campaign {
            id: 1,
            name: "bench".into(),
            start: xuncha::campaign::date_string(today - days + 1),
            end: xuncha::campaign::date_string(today),
            targets: xuncha::store::campaigns::Targets {
                closed_share_min: 0.95,
                on_time_share_min: 0.9,
                no_recurring_hotspot_days: 30,
            },
            created_at: String::new(),
            created_by: "bench".into(),
            updated_at: String::new(),
            updated_by: "bench".into(),
        };
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..iters {
            let c = c.clone();
            let t = Instant::now();
            let s = state.store.read_sync(|conn| {
                xuncha::campaign::summary(conn, c, Default::default(), now, 8 * 3600, &|ids| {
                    state.tiles.report_points.positions(ids)
                })
            })?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            found = s.totals.found;
        }
        println!(
            "{name:<10} p50 {:>8.1}  p99 {:>8.1}   ({found} reports in the window)",
            pct(&mut times, 0.5),
            pct(&mut times, 0.99)
        );
    }

    println!("\nheatmap tile (in-memory points + density + PNG), {iters} tiles each, ms");
    let style = HeatStyle {
        radius_m: 60.0,
        scale_per_ha: 20.0,
    };
    for z in [10u8, 13, 16] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for k in 0..iters {
            // Tiles over the city centre, where the reports are densest.
            let lon = 126.39 + 0.06 * (k as f64 / iters as f64);
            let lat = 41.925 + 0.025 * ((k * 7 % iters) as f64 / iters as f64);
            let t = TileCoord::containing(lon, lat, z)?;
            let start = Instant::now();
            let png = heatmap::encode_png(&heatmap::render_points(
                state.tiles.report_points.as_ref(),
                t,
                &ReportFilter::default(),
                &style,
            ));
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            bytes += png.len();
        }
        println!(
            "z{z:<3} p50 {:>8.1}  p99 {:>8.1}   (mean PNG {} bytes)",
            pct(&mut times, 0.5),
            pct(&mut times, 0.99),
            bytes / iters
        );
    }
    Ok(())
}
