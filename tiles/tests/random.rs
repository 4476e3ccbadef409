//! Randomised robustness: arbitrary (also self-intersecting, spiky,
//! near-degenerate) rings around a tile must always encode to well-formed,
//! OGC-valid, correctly wound polygons. Deterministic LCG, no extra deps.

mod common;

use common::*;
use geo::{LineString, MultiPolygon, Polygon};
use xuncha_tiles::{world_to_lonlat, TileBuilder, TileConfig, TileCoord};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn random_rings_always_encode_valid_polygons() {
    // XUNCHA_RANDOM_CASES=20000 for a longer soak.
    let cases: usize =
        std::env::var("XUNCHA_RANDOM_CASES").map_or(400, |s| s.parse().expect("a number"));
    let mut rng = Lcg(0x5eed);
    let mut emitted = 0;
    for case in 0..cases {
        let z = [3u8, 9, 14, 18][case % 4];
        let n_tiles = 1u32 << z;
        let t = TileCoord::new(z, (n_tiles / 2 + 3).min(n_tiles - 1), n_tiles / 3).unwrap();
        let scale = 4096.0 * f64::from(n_tiles);
        let ll = |px: f64, py: f64| {
            world_to_lonlat(
                (f64::from(t.x) * 4096.0 + px) / scale,
                (f64::from(t.y) * 4096.0 + py) / scale,
            )
        };
        // Ring sizes from sub-unit to several tiles; centres in and around the tile.
        let size = [0.8, 30.0, 900.0, 9000.0][case % 3 + usize::from(case % 7 == 0)];
        let (cx, cy) = (rng.next() * 6000.0 - 1000.0, rng.next() * 6000.0 - 1000.0);
        let mut rings = Vec::new();
        for _ in 0..1 + (case % 3) {
            let n = 3 + (rng.next() * 40.0) as usize;
            let pts: Vec<(f64, f64)> = (0..n)
                .map(|_| {
                    ll(
                        cx + (rng.next() - 0.5) * size,
                        cy + (rng.next() - 0.5) * size,
                    )
                })
                .collect();
            rings.push(LineString::from(pts));
        }
        let exterior = rings.remove(0);
        let mp = MultiPolygon(vec![Polygon::new(exterior, rings)]);
        let tolerance = [0.0, 1.0, 4.0][case % 3];
        let mut b = TileBuilder::with_config(
            t,
            TileConfig {
                tolerance,
                ..TileConfig::default()
            },
        )
        .unwrap();
        if b.layer("zones").add_polygon(&mp, &[]).is_none() {
            assert!(b.encode().is_empty());
            continue;
        }
        emitted += 1;
        let layers = raw_layers(&b.encode());
        assert_eq!(layers.len(), 1);
        let f = &layers[0].features[0];
        let (rings, _) = polygon_rings(&f.geometry);
        for r in &rings {
            assert!(
                r.iter()
                    .all(|&(x, y)| (-64..=4160).contains(&x) && (-64..=4160).contains(&y)),
                "case {case}"
            );
        }
        if std::env::var("DUMP_CASE").ok() == Some(case.to_string()) {
            for r in &rings {
                eprintln!("area {} ring {:?}", ring_area(r), r);
            }
        }
        assert_valid(
            &rings_to_multipolygon(&rings),
            &format!("case {case} (z{z}, size {size}, tol {tolerance})"),
        );
    }
    assert!(
        emitted > cases * 3 / 8,
        "only {emitted} of {cases} cases produced geometry"
    );
}

#[test]
fn random_lines_encode_well_formed_parts() {
    let mut rng = Lcg(0x11e5);
    let mut parts_seen = 0;
    for case in 0..400 {
        let z = [4u8, 12, 17][case % 3];
        let n_tiles = 1u32 << z;
        let t = TileCoord::new(z, n_tiles / 2 + 1, n_tiles / 4).unwrap();
        let scale = 4096.0 * f64::from(n_tiles);
        let ll = |px: f64, py: f64| {
            world_to_lonlat(
                (f64::from(t.x) * 4096.0 + px) / scale,
                (f64::from(t.y) * 4096.0 + py) / scale,
            )
        };
        let n = 2 + (rng.next() * 30.0) as usize;
        let spread = [2.0, 500.0, 12_000.0][case % 3];
        let pts: Vec<(f64, f64)> = (0..n)
            .map(|_| {
                ll(
                    2048.0 + (rng.next() - 0.5) * spread,
                    2048.0 + (rng.next() - 0.5) * spread,
                )
            })
            .collect();
        let line = geo::MultiLineString(vec![LineString::from(pts)]);
        let mut b = TileBuilder::new(t);
        if b.layer("routes").add_line(&line, &[]).is_none() {
            continue;
        }
        let layers = raw_layers(&b.encode());
        let g = &layers[0].features[0].geometry;
        let (mut i, mut x, mut y) = (0, 0i64, 0i64);
        let unzig = |v: u32| i64::from((v >> 1) as i32 ^ -((v & 1) as i32));
        while i < g.len() {
            assert_eq!(g[i], 9, "case {case}: part starts with MoveTo(1)");
            x += unzig(g[i + 1]);
            y += unzig(g[i + 2]);
            assert!(
                (-64..=4160).contains(&x) && (-64..=4160).contains(&y),
                "case {case}: ({x}, {y})"
            );
            assert_eq!(g[i + 3] & 7, 2, "case {case}: then LineTo");
            let count = (g[i + 3] >> 3) as usize;
            assert!(count >= 1, "case {case}: LineTo(0)");
            let mut prev = (x, y);
            for k in 0..count {
                x += unzig(g[i + 4 + 2 * k]);
                y += unzig(g[i + 5 + 2 * k]);
                assert_ne!((x, y), prev, "case {case}: zero-length segment");
                assert!(
                    (-64..=4160).contains(&x) && (-64..=4160).contains(&y),
                    "case {case}: ({x}, {y})"
                );
                prev = (x, y);
            }
            i += 4 + 2 * count;
            parts_seen += 1;
        }
    }
    assert!(parts_seen > 150, "only {parts_seen} parts");
}
