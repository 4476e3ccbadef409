//! Uncached tile generation times, p50/p99 per zoom, over China's county polygons.
//!
//! ```sh
//! tiles/fetch_fixtures.sh
//! CARGO_TARGET_DIR=target-tiles cargo run --release -p xuncha-tiles --example tile_times -- [MAXZOOM] [GB_PREFIX] [MINZOOM] [pre]
//! ```
//! Defaults: all of China, z0..=8. With `pre`, every zoom first makes a
//! per-zoom simplified copy of each polygon ([`WorldPolygon::simplified`],
//! timed separately) and builds that zoom's tiles from it. `GB_PREFIX` restricts to features whose
//! `gb` starts with it (Baishan: 1562206). Each tile holds every polygon
//! whose bounds touch it (a linear bounds scan, as an R-tree would return);
//! the time measured is `TileBuilder` + `encode`, not the scan.

use geo::Intersects;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use xuncha_tiles::{tiles_covering, TileBuilder, Value, WorldPolygon};

struct District {
    name: String,
    gb: String,
    world: WorldPolygon,
    rect: geo::Rect<f64>,
}

fn load(prefix: &str) -> Vec<District> {
    use geo::BoundingRect;
    let path = std::env::var_os("XUNCHA_CHINA_DISTRICTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/fixtures/district.geojson")
        });
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run tiles/fetch_fixtures.sh", path.display()));
    let fc: geojson::FeatureCollection = text.parse().expect("FeatureCollection");
    fc.features
        .into_iter()
        .filter_map(|f| {
            let prop = |k: &str| {
                f.property(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let (name, gb) = (prop("name"), prop("gb"));
            if !gb.starts_with(prefix) {
                return None;
            }
            let g: geo::Geometry<f64> = f.geometry?.try_into().ok()?;
            let mp = match g {
                geo::Geometry::MultiPolygon(m) => m,
                geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
                _ => return None,
            };
            Some(District {
                name,
                gb,
                rect: mp.bounding_rect()?,
                world: WorldPolygon::from_lonlat(&mp),
            })
        })
        .collect()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let maxzoom: u8 = args.get(1).map_or(8, |s| s.parse().expect("MAXZOOM"));
    let prefix = args.get(2).map_or("", String::as_str);
    let minzoom: u8 = args.get(3).map_or(0, |s| s.parse().expect("MINZOOM"));
    let pre = args.get(4).is_some_and(|s| s == "pre");
    let districts = load(prefix);
    let vertices: usize = districts.iter().map(|d| d.world.vertex_count()).sum();
    let mut all = districts[0].rect;
    for d in &districts {
        all = geo::Rect::new(
            geo::coord! { x: all.min().x.min(d.rect.min().x), y: all.min().y.min(d.rect.min().y) },
            geo::coord! { x: all.max().x.max(d.rect.max().x), y: all.max().y.max(d.rect.max().y) },
        );
    }
    println!(
        "{} polygons, {vertices} vertices, zooms {minzoom}..={maxzoom}",
        districts.len()
    );
    println!("zoom  tiles  non-empty      p50       p99       max     total   MiB");
    let mut every = Vec::new();
    let mut every_non_empty = Vec::new();
    let started = Instant::now();
    let mut presimplify = Duration::ZERO;
    for z in minzoom..=maxzoom {
        let t0 = Instant::now();
        let copies: Vec<WorldPolygon> = if pre {
            districts
                .iter()
                .map(|d| d.world.simplified(z, 4096, 0.5))
                .collect()
        } else {
            Vec::new()
        };
        presimplify += t0.elapsed();
        let mut times = Vec::new();
        let (mut bytes, mut non_empty) = (0usize, 0usize);
        for t in tiles_covering(all, z) {
            let tb = t.bounds_lonlat();
            let cands: Vec<(&District, &WorldPolygon)> = districts
                .iter()
                .enumerate()
                .filter(|(_, d)| d.rect.intersects(&tb))
                .map(|(i, d)| (d, if pre { &copies[i] } else { &d.world }))
                .collect();
            let t0 = Instant::now();
            let mut b = TileBuilder::new(t);
            let mut layer = b.layer("zones");
            for (d, world) in &cands {
                if let Some(f) = layer.add_world_polygon(
                    world,
                    &[
                        ("name", Value::from(d.name.as_str())),
                        ("gb", Value::from(d.gb.as_str())),
                    ],
                ) {
                    f.set_id(d.gb.parse().unwrap_or(0));
                }
            }
            let out = b.encode();
            times.push(t0.elapsed());
            if !out.is_empty() {
                every_non_empty.push(t0.elapsed());
            }
            bytes += out.len();
            non_empty += usize::from(!out.is_empty());
        }
        let total: Duration = times.iter().sum();
        times.sort_unstable();
        println!(
            "{z:>4} {:>6} {non_empty:>10} {:>8.2?} {:>9.2?} {:>9.2?} {:>9.2?} {:>5.1}",
            times.len(),
            pct(&times, 0.5),
            pct(&times, 0.99),
            times[times.len() - 1],
            total,
            bytes as f64 / 1048576.0
        );
        every.extend(times);
    }
    every.sort_unstable();
    println!(
        "all: {} tiles, p50 {:.2?}, p99 {:.2?}, max {:.2?}, sum {:.2?}, wall {:.2?}",
        every.len(),
        pct(&every, 0.5),
        pct(&every, 0.99),
        every[every.len() - 1],
        every.iter().sum::<Duration>(),
        started.elapsed()
    );
    if pre {
        println!("per-zoom simplified copies: {presimplify:.2?} in total");
    }
    every_non_empty.sort_unstable();
    if !every_non_empty.is_empty() {
        println!(
            "non-empty: {} tiles, p50 {:.2?}, p99 {:.2?}",
            every_non_empty.len(),
            pct(&every_non_empty, 0.5),
            pct(&every_non_empty, 0.99)
        );
    }
}
