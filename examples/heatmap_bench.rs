//! Times heatmap PNG tiles and the `reports` vector-tile layer over generated report points,
//! with the per-report kernel the heatmap used before (kept here as the reference) side by side
//! in the same run.
//!
//! ```text
//! cargo run --release --example heatmap_bench -- [reports=1000000] [iterations=30]
//! ```
//!
//! The points go straight into the in-memory [`ReportPoints`] (what both kinds of tile read),
//! spread like `analytics_bench`'s: 60 % over the zoned city centre, 10 % around 8 hot places,
//! 30 % over the wider district; every category and the demo's status mix. Uncached renders,
//! one thread; prints p50/p99 per case.

use rand::{Rng, SeedableRng};
use std::time::Instant;
use xuncha::analytics::heatmap::{self, HeatStyle};
use xuncha::report::service::{ChangeWhat, ReportChange};
use xuncha::report::{Category, Status};
use xuncha::tileset::{Basemap, Layers, ReportFilter, ReportPoints, ReportSource, TileSet};
use xuncha_tiles::{lonlat_to_world, TileCoord};

/// This process's resident set, kB (0 where /proc is missing).
fn rss_kb() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

/// The heatmap's kernel before the count grid: every report splats a quartic kernel over the
/// pixels within its radius (O(reports × r²)).
fn per_report_kernel(points: &dyn ReportSource, tile: TileCoord, style: &HeatStyle) -> Vec<u8> {
    const PX: u32 = 256;
    let mpp = |lat: f64| {
        2.0 * std::f64::consts::PI * 6_378_137.0 * lat.to_radians().cos()
            / (f64::from(PX) * f64::from(1u32 << tile.z))
    };
    let mut values = vec![0.0f32; (PX * PX) as usize];
    let scale = f64::from(PX) * f64::from(1u32 << tile.z);
    points.for_each_in(
        heatmap::fetch_bbox(tile, style),
        &ReportFilter::default(),
        &mut |p| {
            let (wx, wy) = lonlat_to_world(p.lon, p.lat);
            let px = wx * scale - f64::from(tile.x * PX);
            let py = wy * scale - f64::from(tile.y * PX);
            let m = mpp(p.lat);
            let r_m = style.radius_m.max(1.5 * m);
            let r_px = r_m / m;
            let norm = 3.0 / (std::f64::consts::PI * r_m * r_m) * 10_000.0;
            let side = PX as i64;
            let x0 = ((px - r_px - 0.5).floor() as i64).max(0);
            let x1 = ((px + r_px - 0.5).ceil() as i64).min(side - 1);
            let y0 = ((py - r_px - 0.5).floor() as i64).max(0);
            let y1 = ((py + r_px - 0.5).ceil() as i64).min(side - 1);
            let inv_r2 = 1.0 / (r_px * r_px);
            for y in y0..=y1 {
                let dy = y as f64 + 0.5 - py;
                for x in x0..=x1 {
                    let dx = x as f64 + 0.5 - px;
                    let q = (dx * dx + dy * dy) * inv_r2;
                    if q < 1.0 {
                        values[(y * side + x) as usize] += (norm * (1.0 - q) * (1.0 - q)) as f32;
                    }
                }
            }
        },
    );
    let inv = 1.0 / style.scale_per_ha;
    let img = image::RgbaImage::from_fn(PX, PX, |x, y| {
        heatmap::ramp(1.0 - (-f64::from(values[(y * PX + x) as usize]) * inv).exp())
    });
    heatmap::encode_png(&img)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .first()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let iters: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(30);

    let mut rng = rand::rngs::StdRng::seed_from_u64(20261203);
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
        Status::Closed,
        Status::Resolved,
        Status::Rejected,
        Status::InProgress,
        Status::Reopened,
        Status::Dispatched,
        Status::Reported,
    ];
    let rss0 = rss_kb();
    let points = std::sync::Arc::new(ReportPoints::new(8 * 3_600_000));
    let t0 = Instant::now();
    let mut batch = Vec::with_capacity(100_000);
    for i in 0..n {
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
        batch.push(ReportChange {
            id: i as i64 + 1,
            what: ChangeWhat::Created,
            lon,
            lat,
            category: Category::ALL[rng.gen_range(0..Category::ALL.len())],
            status: statuses[rng.gen_range(0..statuses.len())],
            created_at: now - rng.gen_range(0..365 * day),
            // Like a province's reports: each matched to one of 20 000 zones of 5 000 owners,
            // so the scope tags cost what they cost in a server.
            zones: vec![format!("zone-{}", i % 20_000)],
            owners: vec![format!("owner-{}", i % 5_000)],
        });
        if batch.len() == batch.capacity() {
            points.apply(&batch);
            batch.clear();
        }
    }
    points.apply(&batch);
    points.settle();
    let appended = t0.elapsed().as_secs_f64();
    // As a server loads them at start: in spatial order (the order they came is kept as a
    // second case below).
    let unsorted_tiles = if std::env::var_os("HEATMAP_BENCH_UNSORTED").is_some() {
        "in the order they came"
    } else {
        let t = Instant::now();
        points.compact();
        println!(
            "a full layout (what the background thread does, off the lock, when a quarter more have come) took {:.2} s",
            t.elapsed().as_secs_f64()
        );
        "laid out in Z-order, as loaded at start"
    };
    let rss1 = rss_kb();
    println!(
        "resident memory {} MB → {} MB: {:.0} bytes per report point (with what the allocator keeps after the loads); heap held by the points: {:.0} bytes per point",
        rss0 / 1024,
        rss1 / 1024,
        (rss1 - rss0) as f64 * 1024.0 / n.max(1) as f64,
        points.heap_bytes() as f64 / n.max(1) as f64
    );
    println!("points: {unsorted_tiles} (appended in {appended:.1} s)");
    println!(
        "{} report points in memory in {:.1} s",
        points.len(),
        t0.elapsed().as_secs_f64()
    );

    let style = HeatStyle {
        radius_m: 60.0,
        scale_per_ha: 20.0,
    };
    // Tiles over the city centre, where the reports are densest.
    let tiles = |z: u8| -> Vec<TileCoord> {
        (0..iters)
            .map(|k| {
                let lon = 126.39 + 0.06 * (k as f64 / iters as f64);
                let lat = 41.925 + 0.025 * ((k * 7 % iters) as f64 / iters as f64);
                TileCoord::containing(lon, lat, z).expect("a valid tile")
            })
            .collect()
    };
    let time = |f: &mut dyn FnMut() -> usize| {
        let start = Instant::now();
        let bytes = f();
        (start.elapsed().as_secs_f64() * 1000.0, bytes)
    };

    // The office's default map: the last 90 days from a city midnight (kept counts answer it),
    // all time (kept counts too), and one category (the tile counts its reports: the peer).
    let midnight = (now + 8 * 3_600_000).div_euclid(day) * day - 8 * 3_600_000;
    let cases = [
        (
            "90 days",
            ReportFilter {
                since: Some(midnight - 90 * day),
                ..Default::default()
            },
        ),
        ("all time", ReportFilter::default()),
        (
            "office: 90 days, open",
            ReportFilter {
                since: Some(midnight - 90 * day),
                // The web client's default status filter: every status with a time-limit stage.
                statuses: {
                    let mut s: Vec<Status> = Status::ALL
                        .into_iter()
                        .filter(|s| xuncha::deadlines::Stage::of(*s).is_some())
                        .collect();
                    s.sort_by_key(|s| s.as_str());
                    s
                },
                ..Default::default()
            },
        ),
        (
            "one category, counted",
            ReportFilter {
                categories: vec![Category::ALL[0]],
                ..Default::default()
            },
        ),
    ];
    println!(
        "kept counts: {} entries; heap of the points with them about {} MB",
        points.grid_len(),
        points.heap_bytes() / 1_000_000
    );

    println!(
        "\nheatmap PNG tile, uncached, {iters} tiles each, ms (old = per-report kernel, all time, same run)"
    );
    for z in [8u8, 10, 13, 16] {
        let mut found = 0usize;
        for t in tiles(z) {
            points.for_each_in(
                heatmap::fetch_bbox(t, &style),
                &ReportFilter::default(),
                &mut |_| found += 1,
            );
        }
        println!("z{z}: {} reports in reach of a tile", found / iters);
        for (name, filter) in &cases {
            let (mut new, mut old, mut bytes) = (Vec::new(), Vec::new(), 0usize);
            for t in tiles(z) {
                let mut a = || {
                    heatmap::encode_png(&heatmap::render(points.as_ref(), t, filter, &style)).len()
                };
                let (tn, bn) = time(&mut a);
                new.push(tn);
                bytes += bn;
                if filter.since.is_none() && filter.categories.is_empty() {
                    let mut b = || per_report_kernel(points.as_ref(), t, &style).len();
                    old.push(time(&mut b).0);
                }
            }
            // HEATMAP_BENCH_PNG=dir: the first tile of each case (and the old kernel's), to look at.
            if let Some(dir) = std::env::var_os("HEATMAP_BENCH_PNG") {
                let dir = std::path::Path::new(&dir);
                std::fs::create_dir_all(dir)?;
                let t = tiles(z)[0];
                let slug = name.split(',').next().unwrap_or(name).replace(' ', "-");
                let png = heatmap::encode_png(&heatmap::render(points.as_ref(), t, filter, &style));
                std::fs::write(dir.join(format!("z{z}-{slug}.png")), png)?;
                if !old.is_empty() {
                    let png = per_report_kernel(points.as_ref(), t, &style);
                    std::fs::write(dir.join(format!("z{z}-old-kernel.png")), png)?;
                }
            }
            let (n50, n99) = (pct(&mut new, 0.5), pct(&mut new, 0.99));
            let old = if old.is_empty() {
                String::new()
            } else {
                let (o50, o99) = (pct(&mut old, 0.5), pct(&mut old, 0.99));
                format!(
                    "   old p50 {o50:>8.1}  p99 {o99:>8.1}  old/new p50 {:.1}×",
                    o50 / n50
                )
            };
            println!(
                "z{z:<3} {name:<22} p50 {n50:>8.2}  p99 {n99:>8.2}   (mean PNG {} bytes){old}",
                bytes / iters
            );
        }
    }

    println!("\n`reports` vector-tile layer alone, uncached, {iters} tiles each, ms");
    let mut set = TileSet::new(Basemap::default());
    set.reports = Some(points.clone());
    let index = xuncha::index::ZoneIndex::default();
    let layers = Layers {
        zones: false,
        routes: false,
        reports: true,
        basemap: false,
        hotspots: false,
    };
    for z in [8u8, 10, 13, 14, 16] {
        for (name, filter) in &cases {
            let mut times = Vec::new();
            let mut bytes = 0;
            for t in tiles(z) {
                let (ms, b) = time(&mut || set.render(&index, t, filter, layers).len());
                times.push(ms);
                bytes += b;
            }
            println!(
                "z{z:<3} {name:<22} p50 {:>8.2}  p99 {:>8.2}   (mean tile {} bytes)",
                pct(&mut times, 0.5),
                pct(&mut times, 0.99),
                bytes / iters
            );
        }
    }
    Ok(())
}
