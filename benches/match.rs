//! Criterion: `ZoneIndex::match_point` throughput on the Baishan demo zones and on China's
//! county-level polygons (fixture from `tiles/fetch_fixtures.sh`).
//!
//! `cargo bench --bench match`. The side-by-side comparison with shapely is
//! `bench/match_vs_shapely.py`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use xuncha::index::ZoneIndex;
use xuncha::zone::{parse_features, ParseOptions, ZoneKind};

fn load(path: &str) -> ZoneIndex {
    let doc: serde_json::Value = serde_json::from_slice(
        &std::fs::read(path)
            .unwrap_or_else(|e| panic!("{path}: {e} (run tiles/fetch_fixtures.sh)")),
    )
    .expect("json");
    let opts = ParseOptions {
        default_kind: Some(ZoneKind::Grid),
        max_vertices: usize::MAX,
    };
    ZoneIndex::from_zones(
        parse_features(&doc, opts)
            .expect("geojson")
            .into_iter()
            .enumerate()
            .filter_map(|(i, r)| r.ok().map(|d| (i, d)))
            .map(|(i, d)| {
                let id = d.id.clone().unwrap_or_else(|| format!("f{i}"));
                d.into_zone(id, "", 0)
            }),
    )
}

fn points(n: usize, bbox: [f64; 4]) -> Vec<[f64; 2]> {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            [
                bbox[0] + next() * (bbox[2] - bbox[0]),
                bbox[1] + next() * (bbox[3] - bbox[1]),
            ]
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let root = env!("CARGO_MANIFEST_DIR");
    let sets = [
        (
            "baishan_demo",
            format!("{root}/geodata/baishan/zones.geojson"),
            [126.385, 41.915, 126.455, 41.960],
        ),
        (
            "china_counties",
            format!("{root}/target/fixtures/district.geojson"),
            [73.0, 18.0, 135.0, 54.0],
        ),
    ];
    let mut g = c.benchmark_group("match_point");
    for (name, path, bbox) in sets {
        let index = load(&path);
        let pts = points(100_000, bbox);
        g.throughput(Throughput::Elements(pts.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &pts, |b, pts| {
            b.iter(|| {
                let mut inside = 0usize;
                for p in pts {
                    inside += index.match_point(p[0], p[1], 0.0).matches.len();
                }
                inside
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
