//! Matching throughput on one core, for `bench/match_vs_shapely.py`.
//!
//! `cargo run --release --example match_bench -- ZONES.geojson POINTS.f64`
//! POINTS.f64 is little-endian `f64` pairs `[lon, lat]`. Prints one JSON line with the number of
//! points, seconds, matches per second, and how many (point, zone) pairs were inside, so the
//! count can be checked against shapely's.

use std::time::Instant;
use xuncha::index::ZoneIndex;
use xuncha::zone::{parse_features, ParseOptions, Zone, ZoneKind};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (zones_path, points_path) = match &args[..] {
        [_, z, p] => (z, p),
        _ => {
            eprintln!("usage: match_bench ZONES.geojson POINTS.f64");
            std::process::exit(2);
        }
    };
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(zones_path).expect("read zones")).expect("json");
    let opts = ParseOptions {
        default_kind: Some(ZoneKind::Grid),
        max_vertices: usize::MAX,
    };
    let zones: Vec<Zone> = parse_features(&doc, opts)
        .expect("geojson")
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| r.ok().map(|d| (i, d)))
        .map(|(i, d)| {
            let id = d.id.clone().unwrap_or_else(|| format!("f{i}"));
            d.into_zone(id, "", 0)
        })
        .collect();
    let n_zones = zones.len();
    let t = Instant::now();
    let index = ZoneIndex::from_zones(zones);
    let build_s = t.elapsed().as_secs_f64();
    let raw = std::fs::read(points_path).expect("read points");
    let pts: Vec<[f64; 2]> = raw
        .chunks_exact(16)
        .map(|c| {
            [
                f64::from_le_bytes(c[..8].try_into().unwrap()),
                f64::from_le_bytes(c[8..].try_into().unwrap()),
            ]
        })
        .collect();
    let mut best = f64::INFINITY;
    let mut pairs = 0usize;
    let cpu0 = cpu_seconds();
    for _ in 0..3 {
        let t = Instant::now();
        pairs = 0;
        for p in &pts {
            let r = index.match_point(p[0], p[1], 0.0);
            pairs += r.matches.iter().filter(|m| m.inside).count();
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    let cpu = (cpu_seconds() - cpu0) / 3.0;
    println!(
        "{{\"zones\": {n_zones}, \"points\": {}, \"index_build_s\": {build_s:.4}, \"seconds\": {best:.4}, \"per_sec\": {:.0}, \"cpu_seconds\": {cpu:.4}, \"per_cpu_sec\": {:.0}, \"inside_pairs\": {pairs}}}",
        pts.len(),
        pts.len() as f64 / best,
        pts.len() as f64 / cpu
    );
}

/// CPU time of this process (user + system) from `/proc/self/stat`, in seconds (10 ms steps).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // utime and stime are fields 14 and 15 of the line, i.e. 12 and 13 after the name.
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}
