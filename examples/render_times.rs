//! Uncached tile generation as the server does it: `TileSet::render` with `Layers::OFFLINE`
//! (what `/tiles/{z}/{x}/{y}.mvt?layers=zones,routes,basemap` and `xuncha tiles export` render),
//! timed tile by tile on one thread, p50/p99 per zoom and overall.
//!
//! ```sh
//! cargo run --release --example render_times -- [MAXZOOM] [GEODATA_DIR]
//! ```
//! Builds a throw-away data folder, imports `GEODATA_DIR/zones.geojson` through the same code as
//! `xuncha import` and loads the basemap from `GEODATA_DIR` (default `geodata/baishan`). The
//! tiles are every tile of z0..=MAXZOOM (default 16) inside the export's default extent (the
//! bounds of the basemap and the zones), i.e. exactly the tiles `xuncha tiles export` visits.
//! Each time covers the R-tree lookups, the feature sort, clipping, simplification and MVT
//! encoding of one tile. Prints a markdown table: every visited tile, and non-empty tiles only.

use std::path::PathBuf;
use std::time::{Duration, Instant};
use xuncha::tileset::{Layers, ReportFilter};
use xuncha::{App, Config};
use xuncha_tiles::tiles_covering;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let maxzoom: u8 = args.get(1).map_or(16, |s| s.parse().expect("MAXZOOM"));
    let geodata = args
        .get(2)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("geodata/baishan"));
    let data = tempfile::tempdir().expect("temp dir");
    let config = Config {
        data_dir: data.path().to_path_buf(),
        geodata_dir: geodata.clone(),
        ..Config::default()
    };
    let state = App::open(config).expect("open data folder");
    let report = xuncha::cli::import(
        &state,
        &geodata.join("zones.geojson"),
        None,
        false,
        "bench",
        xuncha::zone::registry::Indexing::Live,
    )
    .await
    .expect("import zones");
    let index = state.zones.index();
    let bbox = xuncha::tileset::export::data_bounds(&state)
        .expect("bounds")
        .to_array();
    let rect = geo::Rect::new(
        geo::coord! {x: bbox[0], y: bbox[1]},
        geo::coord! {x: bbox[2], y: bbox[3]},
    );
    println!(
        "{} zones imported ({} rejected); extent [{:.4}, {:.4}, {:.4}, {:.4}]; one thread",
        report.imported,
        report.rejected.len(),
        bbox[0],
        bbox[1],
        bbox[2],
        bbox[3]
    );
    println!();
    println!("| zoom | tiles | non-empty | p50 µs | p99 µs | max µs | non-empty p50 µs | non-empty p99 µs | sum ms | MiB |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let filter = ReportFilter::default();
    let (mut all, mut full) = (Vec::new(), Vec::new());
    let mut bytes_total = 0usize;
    for z in 0..=maxzoom {
        let (mut times, mut nonempty) = (Vec::new(), Vec::new());
        let mut bytes = 0usize;
        for c in tiles_covering(rect, z) {
            let t0 = Instant::now();
            let body = state.tiles.set.render(&index, c, &filter, Layers::OFFLINE);
            let dt = t0.elapsed();
            times.push(dt);
            if !body.is_empty() {
                nonempty.push(dt);
            }
            bytes += body.len();
        }
        let sum: Duration = times.iter().sum();
        times.sort_unstable();
        nonempty.sort_unstable();
        let ne = |p| {
            nonempty
                .first()
                .map_or("–".into(), |_| us(pct(&nonempty, p)))
        };
        println!(
            "| {z} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.2} |",
            times.len(),
            nonempty.len(),
            us(pct(&times, 0.5)),
            us(pct(&times, 0.99)),
            us(times[times.len() - 1]),
            ne(0.5),
            ne(0.99),
            sum.as_secs_f64() * 1e3,
            bytes as f64 / 1_048_576.0
        );
        bytes_total += bytes;
        all.extend(times);
        full.extend(nonempty);
    }
    let sum: Duration = all.iter().sum();
    all.sort_unstable();
    full.sort_unstable();
    println!(
        "| **z0–{maxzoom}** | **{}** | **{}** | **{}** | **{}** | **{}** | **{}** | **{}** | **{:.1}** | **{:.2}** |",
        all.len(),
        full.len(),
        us(pct(&all, 0.5)),
        us(pct(&all, 0.99)),
        us(all[all.len() - 1]),
        us(pct(&full, 0.5)),
        us(pct(&full, 0.99)),
        sum.as_secs_f64() * 1e3,
        bytes_total as f64 / 1_048_576.0
    );
}
