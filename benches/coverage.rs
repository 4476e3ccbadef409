//! Route coverage (issue 14): 1 000 tracks of 2 000 points each against the two demo routes.
//!
//! `cargo bench --bench coverage`. Each track walks along one of the demo routes
//! (geodata/baishan) with a few metres of deterministic noise; the bench cuts both routes into
//! 10 m segments once (timed apart) and then finds, for all 2 000 000 points, the segments they
//! walk on both routes, with who and when, as `GET /api/patrols/coverage` does.

use criterion::{criterion_group, criterion_main, Criterion};
use geo::{Coord, LineString, MultiLineString};
use xuncha::patrol::{coverage, RouteSegments};
use xuncha::zone::{Zone, ZoneGeometry, ZoneKind};

fn demo_routes() -> Vec<Zone> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/geodata/baishan/zones.geojson");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["kind"] == "patrol_route")
        .map(|f| {
            let coords: Vec<Coord<f64>> = f["geometry"]["coordinates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| Coord {
                    x: c[0].as_f64().unwrap(),
                    y: c[1].as_f64().unwrap(),
                })
                .collect();
            Zone {
                id: f["id"].as_str().unwrap().into(),
                kind: ZoneKind::PatrolRoute,
                name: String::new(),
                owner: None,
                parent: None,
                properties: Default::default(),
                geometry: ZoneGeometry::Route {
                    line: MultiLineString(vec![LineString(coords)]),
                    width_m: f["properties"]["properties"]["width_m"].as_f64().unwrap(),
                },
                version: 1,
                created_at: 0,
                created_by: String::new(),
                updated_at: 0,
                updated_by: String::new(),
                retired_at: None,
                retired_by: None,
            }
        })
        .collect()
}

/// 1 000 tracks × 2 000 points: track k walks route k % 2 from a start that depends on k.
fn tracks(routes: &[Zone]) -> Vec<(String, i64, f64, f64)> {
    let mut out = Vec::with_capacity(2_000_000);
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 11) as f64 / (1u64 << 53) as f64
    };
    for k in 0..1000 {
        let ZoneGeometry::Route { line, .. } = &routes[k % routes.len()].geometry else {
            unreachable!()
        };
        let c = &line.0[0].0;
        let user = format!("team-{}", k % 20);
        let start = (k * 7) % (c.len() - 1);
        for i in 0..2000usize {
            // 2 000 points spread over the vertices after `start`, wrapping, with ±0.00005° noise.
            let f =
                (start as f64 + i as f64 * (c.len() - 1) as f64 / 2000.0) % (c.len() - 1) as f64;
            let j = f.floor() as usize;
            let u = f - j as f64;
            let lon = c[j].x + (c[j + 1].x - c[j].x) * u + (next() - 0.5) * 1e-4;
            let lat = c[j].y + (c[j + 1].y - c[j].y) * u + (next() - 0.5) * 1e-4;
            out.push((user.clone(), i as i64 * 3000, lon, lat));
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let routes = demo_routes();
    let pts = tracks(&routes);
    let mut g = c.benchmark_group("coverage");
    g.sample_size(10);
    g.bench_function("segment the 2 demo routes", |b| {
        b.iter(|| {
            routes
                .iter()
                .map(|z| RouteSegments::of(z).unwrap().len())
                .sum::<usize>()
        })
    });
    let segs: Vec<RouteSegments> = routes
        .iter()
        .map(|z| RouteSegments::of(z).unwrap())
        .collect();
    g.bench_function("1000 tracks x 2000 points, 2 demo routes", |b| {
        b.iter(|| {
            segs.iter()
                .map(|s| {
                    coverage(s, pts.iter().map(|(u, t, x, y)| (u.as_str(), *t, *x, *y)))
                        .iter()
                        .filter(|w| w.is_some())
                        .count()
                })
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
