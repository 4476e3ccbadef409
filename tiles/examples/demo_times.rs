//! Uncached generation of every tile z0–16 of the Baishan demo city (the
//! GeoJSON in `geodata/baishan/`), p50/p99 per tile, one thread.
//!
//! ```sh
//! CARGO_TARGET_DIR=target-tiles cargo run --release -p xuncha-tiles --example demo_times -- [MAXZOOM] [DIR]
//! ```
//! Layers as the server serves them: `zones` (zone polygons), `routes`
//! (line features of zones.geojson), `basemap` (districts, river, roads).
//! The tile set is every tile that a feature's bounding box touches (what
//! tippecanoe writes for the same input); times cover `TileBuilder` +
//! `encode` only, not the candidate lookup.

use geo::{BoundingRect, Intersects, Rect};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use xuncha_tiles::{tiles_covering, TileBuilder, Value, WorldLine, WorldPolygon};

enum Geom {
    Polygon(WorldPolygon),
    Line(WorldLine),
}

struct Feature {
    layer: &'static str,
    name: String,
    rect: Rect<f64>,
    geom: Geom,
}

fn load(
    dir: &std::path::Path,
    file: &str,
    polygon_layer: &'static str,
    line_layer: &'static str,
) -> Vec<Feature> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fc: geojson::FeatureCollection = text.parse().expect("FeatureCollection");
    fc.features
        .into_iter()
        .filter_map(|f| {
            let name = f
                .property("name")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned();
            let g: geo::Geometry<f64> = f.geometry?.try_into().ok()?;
            let rect = g.bounding_rect()?;
            let (layer, geom) = match g {
                geo::Geometry::Polygon(p) => (
                    polygon_layer,
                    Geom::Polygon(WorldPolygon::from_lonlat(&geo::MultiPolygon(vec![p]))),
                ),
                geo::Geometry::MultiPolygon(m) => {
                    (polygon_layer, Geom::Polygon(WorldPolygon::from_lonlat(&m)))
                }
                geo::Geometry::LineString(l) => (
                    line_layer,
                    Geom::Line(WorldLine::from_lonlat(&geo::MultiLineString(vec![l]))),
                ),
                geo::Geometry::MultiLineString(m) => {
                    (line_layer, Geom::Line(WorldLine::from_lonlat(&m)))
                }
                _ => return None,
            };
            Some(Feature {
                layer,
                name,
                rect,
                geom,
            })
        })
        .collect()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let maxzoom: u8 = args.get(1).map_or(16, |s| s.parse().expect("MAXZOOM"));
    let dir = args
        .get(2)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../geodata/baishan"));
    let mut features = load(&dir, "zones.geojson", "zones", "routes");
    features.extend(load(&dir, "districts.geojson", "basemap", "basemap"));
    features.extend(load(&dir, "river.geojson", "basemap", "basemap"));
    features.extend(load(&dir, "roads.geojson", "basemap", "basemap"));
    println!("{} features from {}", features.len(), dir.display());
    println!("zoom   tiles      p50       p99       max     total   MiB");
    let mut every = Vec::new();
    let (mut total_bytes, mut total_tiles) = (0usize, 0usize);
    let started = Instant::now();
    for z in 0..=maxzoom {
        let set: BTreeSet<_> = features
            .iter()
            .flat_map(|f| tiles_covering(f.rect, z))
            .collect();
        let mut times = Vec::with_capacity(set.len());
        let mut bytes = 0usize;
        for t in set {
            let tb = t.bounds_lonlat();
            let cands: Vec<&Feature> = features.iter().filter(|f| f.rect.intersects(&tb)).collect();
            let t0 = Instant::now();
            let mut b = TileBuilder::new(t);
            for f in cands {
                let props = [("name", Value::from(f.name.as_str()))];
                let mut layer = b.layer(f.layer);
                match &f.geom {
                    Geom::Polygon(p) => layer.add_world_polygon(p, &props),
                    Geom::Line(l) => layer.add_world_line(l, &props),
                };
            }
            let out = b.encode();
            times.push(t0.elapsed());
            bytes += out.len();
        }
        let total: Duration = times.iter().sum();
        times.sort_unstable();
        println!(
            "{z:>4} {:>7} {:>8.2?} {:>9.2?} {:>9.2?} {:>9.2?} {:>5.1}",
            times.len(),
            pct(&times, 0.5),
            pct(&times, 0.99),
            times[times.len() - 1],
            total,
            bytes as f64 / 1_048_576.0
        );
        total_bytes += bytes;
        total_tiles += times.len();
        every.extend(times);
    }
    every.sort_unstable();
    println!(
        "all: {total_tiles} tiles, {:.1} MiB, p50 {:.2?}, p99 {:.2?}, max {:.2?}, generation sum {:.2?}, wall incl. lookup {:.2?}",
        total_bytes as f64 / 1_048_576.0,
        pct(&every, 0.5),
        pct(&every, 0.99),
        every[every.len() - 1],
        every.iter().sum::<Duration>(),
        started.elapsed()
    );
}
