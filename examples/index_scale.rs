//! Index memory, build time, edit latency and matching under edits at province scale
//! (issue 16, points 3 and 7). Input: `zones.geojson` from `examples/scale_fixture.rs`.
//!
//! ```text
//! cargo run --release --example index_scale -- target/scale/zones.geojson [EDITS] [SECONDS] [EDITS_PER_S]
//! ```
//!
//! 1. Parses the zones (not timed), then builds `ZoneIndex::from_zones` and reports the time
//!    and the growth of resident memory (`VmRSS`) per zone, split into the zones themselves
//!    and the index (prepared geometry, trees, cells).
//! 2. Quiet matching: one thread matches seeded points (near buildings, and anywhere in the
//!    extent) for SECONDS (default 5) and counts matches per second.
//! 3. Edits: EDITS (default 20 000) zone edits, each moving one random building zone by a few
//!    metres, through `LiveIndex::apply` (what `ZoneRegistry` calls after the store commit:
//!    new snapshot swapped in, background compaction every `MERGE_AT` edits); each edit's
//!    latency (preparing the zone + the snapshot + the swap) is recorded, while the matching
//!    thread goes on; then matches per second during the edits against the quiet figure.
//!    EDITS_PER_S (default 0: as fast as possible) paces the stream.
//! 4. The structural cost alone, one thread, no other work: matching the same points on a
//!    snapshot carrying a full overlay (`MERGE_AT` edits) against the same zones compacted.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use xuncha::index::{IndexedZone, ZoneIndex};
use xuncha::zone::registry::LiveIndex;
use xuncha::zone::{parse_features, ParseOptions, Zone, ZoneGeometry, ZoneKind};

fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

struct Rng(u64);
impl Rng {
    fn f(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: index_scale ZONES.geojson [EDITS] [SECONDS]");
    let edits: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let secs: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let pace: f64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(0.0);

    let rss0 = rss_bytes();
    let zones: Vec<Zone> = {
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).expect("read zones")).expect("json");
        let opts = ParseOptions {
            default_kind: None,
            max_vertices: usize::MAX,
        };
        parse_features(&doc, opts)
            .expect("geojson")
            .into_iter()
            .enumerate()
            .filter_map(|(i, r)| r.ok().map(|d| (i, d)))
            .map(|(i, d)| {
                let id = d.id.clone().unwrap_or_else(|| format!("f{i}"));
                d.into_zone(id, "bench", 0)
            })
            .collect()
    };
    let n = zones.len();
    let buildings: Arc<Vec<Zone>> = Arc::new(
        zones
            .iter()
            .filter(|z| z.kind == ZoneKind::Responsibility)
            .cloned()
            .collect(),
    );
    // Bytes of the zones themselves (struct, vertices, strings; properties roughly).
    let zone_bytes: usize = zones
        .iter()
        .map(|z| {
            std::mem::size_of::<Zone>()
                + 16
                + z.geometry.vertex_count() * 16
                + z.id.len()
                + z.name.len()
                + z.owner.as_ref().map_or(0, |o| {
                    o.name.len() + o.contact.as_ref().map_or(0, |c| c.len())
                })
                + z.parent.as_ref().map_or(0, |p| p.len())
                + serde_json::to_string(&z.properties).map_or(0, |p| p.len() * 2)
        })
        .sum();
    let rss_zones = rss_bytes();
    let t = Instant::now();
    let index = ZoneIndex::from_zones(zones);
    let build_s = t.elapsed().as_secs_f64();
    let rss_index = rss_bytes();
    let structure = index.structure_bytes();
    let prepared: usize = index.iter().map(|e| e.heap_bytes()).sum();
    let extent = index
        .iter()
        .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |a, e| {
            let b = e.envelope;
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        });
    let t = Instant::now();
    let _again = index.compacted();
    let compact_s = t.elapsed().as_secs_f64();
    drop(_again);
    println!(
        "{{\"zones\": {n}, \"build_s\": {build_s:.3}, \"compact_s\": {compact_s:.3}, \"zone_bytes_per_zone\": {}, \"prepared_bytes_per_zone\": {}, \"index_structures_per_zone\": {}, \"rss_after_parse_mb\": {}, \"rss_after_index_mb\": {}}}",
        zone_bytes / n,
        prepared / n,
        structure / n,
        rss_zones.saturating_sub(rss0) >> 20,
        rss_index >> 20
    );

    // Points: 70 % within 20 m of a building, 30 % anywhere in the extent.
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let pts: Vec<[f64; 2]> = (0..400_000)
        .map(|_| {
            if r.f() < 0.7 {
                let b = buildings[(r.f() * buildings.len() as f64) as usize]
                    .geometry
                    .bbox()
                    .map_or([0.0; 4], |b| b.to_array());
                let m = 0.0002;
                [
                    b[0] - m + r.f() * (b[2] - b[0] + 2.0 * m),
                    b[1] - m + r.f() * (b[3] - b[1] + 2.0 * m),
                ]
            } else {
                [
                    extent[0] + r.f() * (extent[2] - extent[0]),
                    extent[1] + r.f() * (extent[3] - extent[1]),
                ]
            }
        })
        .collect();

    let live = LiveIndex::new(index);
    let stop = Arc::new(AtomicBool::new(false));
    let matched = Arc::new(AtomicU64::new(0));
    let reader = {
        let (live, stop, matched, pts) = (live.clone(), stop.clone(), matched.clone(), pts.clone());
        std::thread::spawn(move || {
            let mut k = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let idx = live.load();
                for p in &pts[k..k + 1000] {
                    std::hint::black_box(idx.match_point(p[0], p[1], 5.0));
                }
                k = (k + 1000) % (pts.len() - 1000);
                matched.fetch_add(1000, Ordering::Relaxed);
            }
        })
    };
    let rate = |d: f64| {
        let a = matched.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_secs_f64(d));
        (matched.load(Ordering::Relaxed) - a) as f64 / d
    };
    std::thread::sleep(Duration::from_millis(300));
    let quiet = rate(secs);

    let edit_done = Arc::new(AtomicBool::new(false));
    let editor = {
        let (live, done, buildings) = (live.clone(), edit_done.clone(), buildings.clone());
        std::thread::spawn(move || {
            let mut r = Rng(0x1234_5678);
            let mut lat = Vec::with_capacity(edits);
            let mut compactions = 0usize;
            let mut was = false;
            let started = Instant::now();
            for k in 0..edits {
                if pace > 0.0 {
                    let due = started + Duration::from_secs_f64(k as f64 / pace);
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                }
                let mut z = buildings[(r.f() * buildings.len() as f64) as usize].clone();
                let (dx, dy) = ((r.f() - 0.5) * 4e-5, (r.f() - 0.5) * 4e-5);
                if let ZoneGeometry::Area(mp) = &mut z.geometry {
                    use geo::MapCoordsInPlace;
                    mp.map_coords_in_place(|c| geo::Coord {
                        x: c.x + dx,
                        y: c.y + dy,
                    });
                }
                z.version += 1 + k as i64;
                let t = Instant::now();
                let e = Arc::new(IndexedZone::new(Arc::new(z)));
                live.apply(vec![e], vec![]);
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                let now = live.compacting();
                if now && !was {
                    compactions += 1;
                }
                was = now;
            }
            done.store(true, Ordering::Relaxed);
            (lat, compactions)
        })
    };
    let t = Instant::now();
    let a = matched.load(Ordering::Relaxed);
    while !edit_done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let busy_s = t.elapsed().as_secs_f64();
    let during = (matched.load(Ordering::Relaxed) - a) as f64 / busy_s;
    let (mut lat, compactions) = editor.join().expect("editor");
    stop.store(true, Ordering::Relaxed);
    reader.join().expect("reader");
    lat.sort_by(f64::total_cmp);
    // Structure only: a snapshot with a full overlay against the same zones compacted.
    let with_overlay = {
        let mut idx = live.load().compacted();
        let mut r = Rng(77);
        for _ in 0..xuncha::zone::registry::MERGE_AT - 1 {
            let z = buildings[(r.f() * buildings.len() as f64) as usize].clone();
            idx = idx.with_changes(vec![Arc::new(IndexedZone::new(Arc::new(z)))], &[]);
        }
        idx
    };
    let compacted = with_overlay.compacted();
    let time = |idx: &ZoneIndex| {
        let mut best = f64::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            for p in &pts {
                std::hint::black_box(idx.match_point(p[0], p[1], 5.0));
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        pts.len() as f64 / best
    };
    let (ro, rc) = (time(&with_overlay), time(&compacted));
    println!(
        "{{\"overlay\": {}, \"match_per_s_with_overlay\": {ro:.0}, \"match_per_s_compacted\": {rc:.0}, \"ratio\": {:.3}}}",
        with_overlay.overlay_len(),
        ro / rc
    );
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "{{\"edits\": {edits}, \"edit_ms_p50\": {:.3}, \"edit_ms_p99\": {:.3}, \"edit_ms_max\": {:.3}, \"edits_per_s\": {:.0}, \"compactions_started\": {compactions}, \"match_per_s_quiet\": {quiet:.0}, \"match_per_s_during_edits\": {during:.0}, \"ratio\": {:.3}, \"final_overlay\": {}}}",
        pct(0.5),
        pct(0.99),
        lat[lat.len() - 1],
        edits as f64 / busy_s,
        during / quiet,
        live.load().overlay_len()
    );
}
