//! Patrol tracks and route coverage (issue 14).
//!
//! A patrol is started by the phone with an id it makes itself (it may have no signal), then
//! sends its GPS points in batches, idempotent per `(patrol, seq)`. Points worse than the
//! setting `patrol_max_accuracy_m` are dropped, points implying more than [`MAX_SPEED_MPS`] from
//! the previous accepted point (in time order) are refused, each with a code.
//!
//! **Coverage.** A route's centreline is cut into [`SEGMENT_M`] pieces of ground distance
//! (each line string of the route on its own, the last piece of a line string shorter). A
//! segment is *walked* when an accepted point of a patrol on that route lies within `width_m / 2`
//! metres of that segment's piece of centreline (the shortest ground distance to the piece,
//! measured in a local projection around the route's first vertex). Nothing else counts: no
//! interpolation between points. The share is walked segments ÷ all segments.
//! Segments are held in a uniform grid of cells, so a point looks at a few segments only.

pub mod service;

use crate::crs::geodesy::LocalMetres;
use crate::zone::{Zone, ZoneGeometry};
use geo::Coord;
use std::collections::HashMap;

/// Length of a coverage segment, metres.
pub const SEGMENT_M: f64 = 10.0;
/// Faster than this from the previous point is an impossible jump (m/s).
pub const MAX_SPEED_MPS: f64 = 15.0;
/// Most points in one upload.
pub const MAX_POINTS_PER_BATCH: usize = 2000;
/// Default of the setting `patrol_max_accuracy_m`.
pub const DEFAULT_MAX_ACCURACY_M: f64 = 50.0;
/// Default of the setting `patrol_coverage_min`.
pub const DEFAULT_COVERAGE_MIN: f64 = 0.8;

/// A check-in point of a route (`properties.checkpoints`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub name: String,
    pub lon: f64,
    pub lat: f64,
    pub radius_m: f64,
}

/// Parses `properties.checkpoints` (absent: none), with an error that says what to fix.
pub fn parse_checkpoints(v: Option<&serde_json::Value>) -> Result<Vec<Checkpoint>, String> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let arr = v
        .as_array()
        .ok_or("properties.checkpoints must be an array of {name, lon, lat, radius_m}")?;
    let mut out = Vec::new();
    for (i, c) in arr.iter().enumerate() {
        let cp: Checkpoint = serde_json::from_value(c.clone()).map_err(|e| {
            format!("properties.checkpoints[{i}] must be {{\"name\", \"lon\", \"lat\", \"radius_m\"}}: {e}")
        })?;
        if cp.name.trim().is_empty() {
            return Err(format!("properties.checkpoints[{i}].name is empty"));
        }
        if !(-180.0..=180.0).contains(&cp.lon) || !(-90.0..=90.0).contains(&cp.lat) {
            return Err(format!(
                "properties.checkpoints[{i}] has lon {} lat {}; use WGS84 degrees [lon, lat]",
                cp.lon, cp.lat
            ));
        }
        if !(cp.radius_m > 0.0 && cp.radius_m <= 500.0) {
            return Err(format!(
                "properties.checkpoints[{i}].radius_m is {}; use 0 < radius_m ≤ 500 metres",
                cp.radius_m
            ));
        }
        out.push(cp);
    }
    Ok(out)
}

/// Schedule times (`HH:MM`, in the order they appear, deduplicated and sorted) out of a
/// schedule text such as `每日 07:00、16:00 两巡`.
pub fn schedule_times(schedule: &str) -> Vec<(String, i64)> {
    let b: Vec<char> = schedule.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        // H:MM or HH:MM (ASCII or full-width colon)
        let start = i;
        let mut j = i;
        while j < b.len() && b[j].is_ascii_digit() && j - start < 2 {
            j += 1;
        }
        if j > start
            && (start == 0 || !b[start - 1].is_ascii_digit())
            && j + 2 < b.len()
            && (b[j] == ':' || b[j] == '：')
            && b[j + 1].is_ascii_digit()
            && b[j + 2].is_ascii_digit()
            && (j + 3 >= b.len() || !b[j + 3].is_ascii_digit())
        {
            let h: i64 = b[start..j].iter().collect::<String>().parse().unwrap_or(99);
            let m: i64 = b[j + 1..j + 3]
                .iter()
                .collect::<String>()
                .parse()
                .unwrap_or(99);
            if h < 24 && m < 60 {
                out.push((format!("{h:02}:{m:02}"), h * 60 + m));
            }
            i = j + 3;
        } else {
            i += 1;
        }
    }
    out.sort_by_key(|x| x.1);
    out.dedup_by_key(|x| x.1);
    out
}

/// A route cut into segments, with a grid index over them.
pub struct RouteSegments {
    lm: LocalMetres,
    half_width_m: f64,
    /// Each segment's piece of centreline, projected (metres).
    pieces: Vec<Vec<Coord<f64>>>,
    /// Each segment's piece, `[lon, lat]`.
    pub lonlat: Vec<Vec<[f64; 2]>>,
    cell_m: f64,
    grid: HashMap<(i64, i64), Vec<u32>>,
    /// Length of the centreline, metres.
    pub length_m: f64,
}

impl RouteSegments {
    /// The segments of a patrol route; `None` for an area zone.
    pub fn of(zone: &Zone) -> Option<RouteSegments> {
        let ZoneGeometry::Route { line, width_m } = &zone.geometry else {
            return None;
        };
        let first = line.0.iter().flat_map(|l| l.0.first()).next()?;
        let lm = LocalMetres::new(first.x, first.y);
        let inv = |p: Coord<f64>| {
            [
                first.x + p.x / lm.m_per_deg_lon,
                first.y + p.y / lm.m_per_deg_lat,
            ]
        };
        let mut pieces = Vec::new();
        let mut length_m = 0.0;
        for ls in &line.0 {
            let pts: Vec<Coord<f64>> = ls.0.iter().map(|c| lm.project(*c)).collect();
            let mut cur: Vec<Coord<f64>> = Vec::new();
            let mut cur_len = 0.0;
            for w in pts.windows(2) {
                let (mut a, b) = (w[0], w[1]);
                if cur.is_empty() {
                    cur.push(a);
                }
                loop {
                    let d = ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt();
                    let room = SEGMENT_M - cur_len;
                    if d < room - 1e-9 || d == 0.0 {
                        cur_len += d;
                        length_m += d;
                        cur.push(b);
                        break;
                    }
                    let f = room / d;
                    let cut = Coord {
                        x: a.x + (b.x - a.x) * f,
                        y: a.y + (b.y - a.y) * f,
                    };
                    length_m += room;
                    cur.push(cut);
                    pieces.push(std::mem::take(&mut cur));
                    cur.push(cut);
                    cur_len = 0.0;
                    a = cut;
                }
            }
            if cur.len() >= 2 && cur_len > 1e-6 {
                pieces.push(cur);
            }
        }
        let half_width_m = width_m / 2.0;
        let cell_m = (half_width_m * 2.0).max(SEGMENT_M * 2.0);
        let mut grid: HashMap<(i64, i64), Vec<u32>> = HashMap::new();
        for (i, p) in pieces.iter().enumerate() {
            let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
            for c in p {
                x0 = x0.min(c.x);
                y0 = y0.min(c.y);
                x1 = x1.max(c.x);
                y1 = y1.max(c.y);
            }
            let (cx0, cy0) = cell(x0 - half_width_m, y0 - half_width_m, cell_m);
            let (cx1, cy1) = cell(x1 + half_width_m, y1 + half_width_m, cell_m);
            for cx in cx0..=cx1 {
                for cy in cy0..=cy1 {
                    grid.entry((cx, cy)).or_default().push(i as u32);
                }
            }
        }
        let lonlat = pieces
            .iter()
            .map(|p| p.iter().map(|c| inv(*c)).collect())
            .collect();
        Some(RouteSegments {
            lm,
            half_width_m,
            pieces,
            lonlat,
            cell_m,
            grid,
            length_m,
        })
    }

    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Calls `f` with every segment the point `[lon, lat]` walks.
    #[inline]
    pub fn walked_by(&self, lon: f64, lat: f64, mut f: impl FnMut(usize)) {
        let p = self.lm.project(Coord { x: lon, y: lat });
        let Some(cands) = self.grid.get(&cell(p.x, p.y, self.cell_m)) else {
            return;
        };
        let r2 = self.half_width_m * self.half_width_m;
        for &i in cands {
            let piece = &self.pieces[i as usize];
            if piece
                .windows(2)
                .any(|w| dist2_to_segment(p, w[0], w[1]) <= r2)
            {
                f(i as usize);
            }
        }
    }
}

fn cell(x: f64, y: f64, c: f64) -> (i64, i64) {
    ((x / c).floor() as i64, (y / c).floor() as i64)
}

fn dist2_to_segment(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let d = b - a;
    let len2 = d.x * d.x + d.y * d.y;
    let t = if len2 > 0.0 {
        (((p.x - a.x) * d.x + (p.y - a.y) * d.y) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = a.x + t * d.x - p.x;
    let y = a.y + t * d.y - p.y;
    x * x + y * y
}

/// Ground distance in metres between two `[lon, lat]` points (local projection at the first).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let lm = LocalMetres::new(a.0, a.1);
    let p = lm.project(Coord { x: b.0, y: b.1 });
    (p.x * p.x + p.y * p.y).sqrt()
}

/// Who walked a segment first.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentWalk {
    pub first_at: i64,
    pub by: String,
}

/// Which segments `points` (username, t, lon, lat; any order) walked: per segment the earliest
/// point's time and user.
pub fn coverage<'a>(
    segs: &RouteSegments,
    points: impl IntoIterator<Item = (&'a str, i64, f64, f64)>,
) -> Vec<Option<SegmentWalk>> {
    let mut out: Vec<Option<SegmentWalk>> = vec![None; segs.len()];
    for (user, t, lon, lat) in points {
        segs.walked_by(lon, lat, |i| match &out[i] {
            Some(w) if w.first_at <= t => {}
            _ => {
                out[i] = Some(SegmentWalk {
                    first_at: t,
                    by: user.to_string(),
                })
            }
        });
    }
    out
}

/// The share of segments walked by `points` (`(lon, lat)`), without who and when.
pub fn share(segs: &RouteSegments, points: impl IntoIterator<Item = (f64, f64)>) -> f64 {
    if segs.is_empty() {
        return 0.0;
    }
    let mut walked = vec![false; segs.len()];
    for (lon, lat) in points {
        segs.walked_by(lon, lat, |i| walked[i] = true);
    }
    walked.iter().filter(|w| **w).count() as f64 / segs.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_times_are_found() {
        let t = schedule_times("每日 07:00、16:00 两巡");
        assert_eq!(t, vec![("07:00".into(), 420), ("16:00".into(), 960)]);
        assert_eq!(schedule_times("8:30 and 123:45 and 25:00").len(), 1);
        assert!(schedule_times("每日两巡").is_empty());
    }

    #[test]
    fn checkpoints_are_validated() {
        let ok = serde_json::json!([{"name": "A", "lon": 126.4, "lat": 41.9, "radius_m": 20}]);
        assert_eq!(parse_checkpoints(Some(&ok)).unwrap().len(), 1);
        let bad = serde_json::json!([{"name": "A", "lon": 126.4, "lat": 41.9, "radius_m": 0}]);
        assert!(parse_checkpoints(Some(&bad))
            .unwrap_err()
            .contains("radius_m"));
        let bad = serde_json::json!([{"name": "A", "lon": 126.4}]);
        assert!(parse_checkpoints(Some(&bad))
            .unwrap_err()
            .contains("checkpoints[0]"));
    }
}
