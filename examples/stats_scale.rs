//! Times `/api/stats` over millions of reports' statistics facts, from the daily roll-ups and
//! from the facts alone, side by side in one run.
//!
//! ```text
//! cargo run --release --example stats_scale -- [reports=10000000] [iterations=10] [DIR]
//! ```
//!
//! Filling the report tables through the report path takes longer than a session at 10 M (1 M
//! took 502 s), so this writes the statistics' fact rows (`stat_reports`, what `/api/stats`
//! reads for every group but `zone`) straight into a SQLite store: seeded, over a year, 2 000
//! owners in the six sectors, the categories and statuses in the demo's mix, a closed report
//! closing 2 h – 6 days after it was filed. Then it builds the roll-ups as a server's start
//! does and times each group over all time, a year, 30 days and a window cut mid-day. A `DIR`
//! that already holds facts is timed as it is.

use rand::{Rng, SeedableRng};
use std::time::Instant;
use xuncha::analytics::stats::{compute, GroupBy, StatsQuery};
use xuncha::report::{Category, Status};
use xuncha::store::stats::ReportFilter;
use xuncha::store::{rollups, Location, Store};

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
const SECTORS: [&str; 6] = [
    "community",
    "village",
    "agency",
    "enterprise",
    "school",
    "hospital",
];

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: i64 = args
        .first()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000_000);
    let iters: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(10);
    let temp = tempfile::tempdir()?;
    let dir = args
        .get(2)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| temp.path().to_path_buf());
    let store = Store::open_at(&Location::Sqlite(dir.clone()), &dir)?;
    let have: i64 =
        store.read_sync(|c| Ok(c.query_scalar("SELECT count(*) FROM stat_reports", &[])?))?;
    // A fixed "now", so two runs over one folder time the same windows.
    let now = store.read_sync(|c| {
        Ok(c.query_scalar::<Option<i64>>("SELECT max(created_at) FROM stat_reports", &[])?)
    })?;
    let now = now.unwrap_or(1_796_000_000_000);
    if have == 0 {
        let t = Instant::now();
        fill(&store, n, now)?;
        println!("wrote {n} fact rows in {:.1} s", t.elapsed().as_secs_f64());
    } else {
        println!("{have} fact rows in {}", dir.display());
    }
    let t = Instant::now();
    store.write_sync(|c| {
        rollups::rebuild(c, 8 * HOUR)?;
        Ok(c.batch("ANALYZE")?)
    })?;
    let (days, closes): (i64, i64) = store.read_sync(|c| {
        Ok((
            c.query_scalar("SELECT count(*) FROM stat_days", &[])?,
            c.query_scalar("SELECT count(*) FROM stat_close_nodes", &[])?,
        ))
    })?;
    println!(
        "built the roll-ups in {:.1} s: {days} day rows, {closes} close-time histograms",
        t.elapsed().as_secs_f64()
    );

    println!("\nstats::compute, {iters} runs each, ms; roll-ups and facts alternate");
    println!(
        "{:<9} {:<22} {:>8} {:>8} {:>10} {:>10} {:>7}",
        "group", "window", "p50", "p99", "facts p50", "facts p99", "ratio"
    );
    let windows: [(&str, Option<i64>, Option<i64>); 4] = [
        ("all", None, None),
        ("365 d", Some(now - 365 * DAY), None),
        ("30 d", Some(now - 30 * DAY), None),
        (
            "100 d, cut mid-day",
            Some(now - 130 * DAY + 7 * HOUR + 12_345),
            Some(now - 30 * DAY + 3 * HOUR),
        ),
    ];
    for group in [
        GroupBy::Owner,
        GroupBy::Sector,
        GroupBy::Category,
        GroupBy::Day,
    ] {
        for (name, since, until) in windows {
            let q = StatsQuery {
                group,
                filter: ReportFilter {
                    since,
                    until,
                    ..Default::default()
                },
                zone_kind: None,
                utc_offset_s: 8 * 3600,
            };
            let mut times = [Vec::new(), Vec::new()];
            let mut answers = [None, None];
            let mut rows = 0;
            for _ in 0..iters {
                for (i, built) in [1i64, 0].into_iter().enumerate() {
                    store.write_sync(|c| {
                        Ok(c.execute("UPDATE stat_meta SET built = $1", xuncha::args![built])?)
                    })?;
                    let t = Instant::now();
                    let table = store.read_sync(|c| compute(c, &q))?;
                    times[i].push(t.elapsed().as_secs_f64() * 1000.0);
                    rows = table.rows.len();
                    answers[i] = Some(serde_json::to_value(&table)?);
                }
            }
            store.write_sync(|c| Ok(c.execute("UPDATE stat_meta SET built = 1", &[])?))?;
            anyhow::ensure!(
                answers[0] == answers[1],
                "{group:?} {name}: the roll-ups and the facts disagree"
            );
            let [mut a, mut b] = times;
            let (a50, b50) = (pct(&mut a, 0.5), pct(&mut b, 0.5));
            println!(
                "{:<9} {:<22} {:>8.1} {:>8.1} {:>10.1} {:>10.1} {:>6.1}x  ({rows} rows)",
                group.as_str(),
                name,
                a50,
                pct(&mut a, 0.99),
                b50,
                pct(&mut b, 0.99),
                b50 / a50
            );
        }
    }
    Ok(())
}

/// `n` fact rows over the year before `now`, in transactions of 200 000.
fn fill(store: &Store, n: i64, now: i64) -> anyhow::Result<()> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(16);
    let owners: Vec<(String, &str)> = (0..2000)
        .map(|i| (format!("责任单位{i:04}"), SECTORS[i % SECTORS.len()]))
        .collect();
    // The demo's mix, roughly: most reports closed, some on the way, a few rejected.
    let statuses = [
        (Status::Closed, 55),
        (Status::Resolved, 10),
        (Status::InProgress, 8),
        (Status::Dispatched, 8),
        (Status::Reported, 6),
        (Status::Reopened, 5),
        (Status::Rejected, 8),
    ];
    let weight: u32 = statuses.iter().map(|s| s.1).sum();
    let mut id = 0i64;
    let bar = indicatif::ProgressBar::new(n as u64);
    while id < n {
        let chunk = (n - id).min(200_000);
        store.write_sync(|c| {
            for _ in 0..chunk {
                id += 1;
                let created = now - rng.gen_range(0..365 * DAY);
                let category = Category::ALL[rng.gen_range(0..Category::ALL.len())];
                let mut w = rng.gen_range(0..weight);
                let status = statuses
                    .iter()
                    .find(|(_, k)| {
                        let hit = w < *k;
                        w = w.saturating_sub(*k);
                        hit
                    })
                    .map(|s| s.0)
                    .unwrap_or(Status::Closed);
                // One report in twenty has no responsible owner.
                let owner = (rng.gen_range(0..20) > 0).then(|| &owners[rng.gen_range(0..owners.len())]);
                let closed = (status == Status::Closed)
                    .then(|| created + rng.gen_range(2 * HOUR..6 * DAY))
                    .filter(|c| *c <= now);
                let late = rng.gen_range(0..10) == 0;
                let overdue = late && status.is_open() && rng.gen_range(0..2) == 0;
                c.execute(
                    "INSERT INTO stat_reports (report_id, created_at, category, status, owner, sector, closed_at, late, overdue)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    xuncha::args![
                        id,
                        created,
                        category.as_str(),
                        status.as_str(),
                        owner.map(|o| o.0.as_str()),
                        owner.map(|o| o.1),
                        closed,
                        late,
                        overdue
                    ],
                )?;
            }
            Ok(())
        })?;
        bar.set_position(id as u64);
    }
    bar.finish();
    Ok(())
}
