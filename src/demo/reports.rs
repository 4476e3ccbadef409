//! The seeded demo reports of Baishan (`geodata/baishan/reports.json`): a few hundred reports over
//! the last 90 days, denser around four planted hotspots, in every status.
//!
//! Each gets a generated photo (drawn here, deterministically: one scene per category and
//! variant, so content addressing stores each picture once), is matched to the zones loaded just
//! before, and gets the events that lead to its status, checked against the same transition rules
//! as the API. A `rejected` report gets a reason picked from its position in the file.

use crate::auth::Role;
use crate::report::photo::PhotoLimits;
use crate::report::service::{store_photos_sync, ReportError};
use crate::report::{check_transition, Category, RejectReason, Status};
use crate::state::AppState;
use crate::store::photos::PhotoRow;
use crate::store::reports::{self, Change, NewReport};
use axum::body::Bytes;
use image::{Rgb, RgbImage};
use serde::Deserialize;
use std::path::Path;

/// Photo variants drawn per category.
const VARIANTS: usize = 6;
/// After-photos (the cleaned place) drawn in total.
const AFTER_VARIANTS: usize = 3;

#[derive(Debug, Deserialize)]
struct Seed {
    lon: f64,
    lat: f64,
    category: Category,
    days_ago: f64,
    status: Status,
    note: String,
}

/// Errors while loading the demo reports.
#[derive(Debug, thiserror::Error)]
pub enum DemoReportsError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("demo report {index}: {reason}")]
    Invalid { index: usize, reason: String },
}

/// A tiny deterministic generator (SplitMix64), so the demo pictures are the same every run
/// without a dependency on `rand`'s stream stability.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u32) -> u32 {
        (self.next() % n as u64) as u32
    }
}

fn colour(c: Category) -> [u8; 3] {
    match c {
        Category::Garbage => [70, 140, 60],
        Category::IllegalAds => [230, 230, 235],
        Category::Weeds => [90, 170, 50],
        Category::Gutter => [90, 90, 100],
        Category::Debris => [150, 120, 90],
        Category::MedicalWaste => [235, 240, 250],
        Category::Water => [60, 110, 90],
        Category::Other => [160, 150, 140],
    }
}

/// Draws a street scene: sky, a wall, pavement, and (when `category` is given) the dirt.
fn draw(category: Option<Category>, variant: usize, seed: u64) -> Vec<u8> {
    let (w, h) = (960u32, 720u32);
    let mut rng = Mix(seed ^ (variant as u64) << 8);
    let wall = [170 + rng.below(40) as u8, 160 + rng.below(30) as u8, 150];
    // Sky, wall and pavement, a row at a time (a pixel at a time is slow in test builds).
    let mut raw = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        let px = if y < h / 4 {
            [150, 190, 230]
        } else if y < h / 2 {
            wall
        } else {
            let g = 120 + (y * 40 / h) as u8;
            [g, g, g - 10]
        };
        raw.extend_from_slice(&px.repeat(w as usize));
    }
    let mut img = RgbImage::from_raw(w, h, raw).expect("w * h pixels");
    for _ in 0..4000 {
        let (x, y) = (rng.below(w), h / 2 + rng.below(h / 2));
        let v = 90 + rng.below(80) as u8;
        img.put_pixel(x, y, Rgb([v, v, v]));
    }
    if let Some(c) = category {
        let base = colour(c);
        let (cx, cy) = (200 + rng.below(560), 420 + rng.below(200));
        let (rx, ry) = (60 + rng.below(120), 30 + rng.below(60));
        for _ in 0..(12 + rng.below(10)) {
            let (dx, dy) = (
                rng.below(rx) as i64 - rx as i64 / 2,
                rng.below(ry) as i64 - ry as i64 / 2,
            );
            let (bw, bh) = (10 + rng.below(50), 8 + rng.below(30));
            let tint = rng.below(50) as u8;
            for y in 0..bh {
                for x in 0..bw {
                    let px = cx as i64 + dx + x as i64 - bw as i64 / 2;
                    let py = cy as i64 + dy + y as i64 - bh as i64 / 2;
                    if (0..w as i64).contains(&px) && (0..h as i64).contains(&py) {
                        img.put_pixel(
                            px as u32,
                            py as u32,
                            Rgb([
                                base[0].saturating_sub(tint),
                                base[1].saturating_sub(tint),
                                base[2].saturating_sub(tint),
                            ]),
                        );
                    }
                }
            }
        }
        if c == Category::IllegalAds {
            // Paper notices pasted on the wall.
            for i in 0..8 {
                let (x0, y0) = (80 + i * 100 + rng.below(30), h / 4 + 20 + rng.below(80));
                for y in y0..y0 + 70 {
                    for x in x0..x0 + 50 {
                        let ink = (y - y0) % 10 < 2 && (x - x0) > 5 && (x - x0) < 45;
                        img.put_pixel(
                            x,
                            y,
                            if ink {
                                Rgb([200, 30, 30])
                            } else {
                                Rgb([245, 245, 235])
                            },
                        );
                    }
                }
            }
        }
    }
    // The same encoder as the photo pipeline's (optimised even in test builds, see Cargo.toml).
    let mut out = Vec::new();
    let _ = jpeg_encoder::Encoder::new(&mut out, 85).encode(
        img.as_raw(),
        w as u16,
        h as u16,
        jpeg_encoder::ColorType::Rgb,
    );
    out
}

/// The statuses a report passes through after `reported` to reach `status`, with who acts.
fn path_to(status: Status) -> &'static [(Status, Role)] {
    use Status::*;
    const O: Role = Role::Office;
    const P: Role = Role::Patrol;
    match status {
        Reported => &[],
        Dispatched => &[(Dispatched, O)],
        InProgress => &[(Dispatched, O), (InProgress, O)],
        Resolved => &[(Dispatched, O), (InProgress, O), (Resolved, P)],
        Closed => &[(Dispatched, O), (InProgress, O), (Resolved, P), (Closed, O)],
        Rejected => &[(Rejected, O)],
        Reopened => &[
            (Dispatched, O),
            (InProgress, O),
            (Resolved, P),
            (Reopened, O),
        ],
    }
}

fn event_note(to: Status, responsible: Option<&str>) -> Option<String> {
    match to {
        Status::Dispatched => Some(format!("派遣至{}", responsible.unwrap_or("所属街道办"))),
        Status::InProgress => Some("责任单位已安排人员处置。".into()),
        Status::Resolved => Some("已清理完毕，附处置后照片。".into()),
        Status::Closed => Some("核查属实，结案。".into()),
        Status::Reopened => Some("复查发现问题反弹，重新受理。".into()),
        Status::Rejected | Status::Reported => None,
    }
}

/// Loads `file` (the seeded reports) into the store. Returns how many were loaded.
pub fn load(state: &AppState, file: &Path) -> Result<usize, DemoReportsError> {
    load_at(state, file, crate::time::now_ms())
}

/// [`load`] with the reports' ages counted back from `now` (Unix ms) rather than from the
/// clock, so tests can place them at known past dates.
pub fn load_at(state: &AppState, file: &Path, now: i64) -> Result<usize, DemoReportsError> {
    let text = std::fs::read_to_string(file).map_err(|e| DemoReportsError::Read {
        path: file.display().to_string(),
        reason: e.to_string(),
    })?;
    let seeds: Vec<Seed> = serde_json::from_str(&text).map_err(|e| DemoReportsError::Read {
        path: file.display().to_string(),
        reason: e.to_string(),
    })?;
    let settings = &state.reports.settings;
    let limits: &PhotoLimits = &settings.photo;
    let files = state.reports.files();

    // Draw and store every picture once; reports share them by content address.
    let mut before: Vec<Vec<PhotoRow>> = Vec::new();
    for (ci, c) in Category::ALL.iter().enumerate() {
        let pics: Vec<Bytes> = (0..VARIANTS)
            .map(|v| Bytes::from(draw(Some(*c), v, 1000 + ci as u64)))
            .collect();
        before.push(store_photos_sync(&state.store, files, limits, &pics)?);
    }
    let after_pics: Vec<Bytes> = (0..AFTER_VARIANTS)
        .map(|v| Bytes::from(draw(None, v, 77)))
        .collect();
    let after = store_photos_sync(&state.store, files, limits, &after_pics)?;

    let index = state.zones.index();
    let day = 86_400_000.0;
    let rule = settings.duplicates;
    let limits = state.settings.time_limits();
    let n = seeds.len();
    state
        .store
        .write_sync(|tx| {
            for (i, s) in seeds.iter().enumerate() {
                let created_at = now - (s.days_ago * day) as i64;
                let answer = crate::zone::responsibility::answer(&index, s.lon, s.lat, 5.0);
                let ci = Category::ALL
                    .iter()
                    .position(|c| *c == s.category)
                    .unwrap_or(0);
                let photo = before[ci][i % VARIANTS].clone();
                let responsible_name = answer.responsible.as_ref().map(|r| r.owner.name.clone());
                let report = NewReport {
                    client_id: None,
                    lon: s.lon,
                    lat: s.lat,
                    accuracy_m: Some(5.0),
                    location_source: "client",
                    crs: "wgs84",
                    category: s.category,
                    note: Some(s.note.clone()),
                    captured_at: created_at - 60_000 * (1 + (i as i64 % 20)),
                    created_at,
                    created_by: "patrol".into(),
                    matched: (&answer).into(),
                    due_at: limits.due(s.category, Status::Reported, created_at),
                    photos: vec![photo],
                };
                let id = match reports::insert(tx, &report, rule)? {
                    reports::Inserted::Created(id) | reports::Inserted::Existing(id) => id,
                };
                let steps = path_to(s.status);
                let mut from = Status::Reported;
                for (k, (to, role)) in steps.iter().enumerate() {
                    // Spread the events over the report's age, in order, before now.
                    let at = created_at
                        + ((now - created_at) as f64 * (k + 1) as f64 / (steps.len() + 1) as f64)
                            as i64;
                    let reason = (*to == Status::Rejected).then(|| RejectReason::ALL[i % 3]);
                    let photos = if *to == Status::Resolved {
                        vec![after[i % AFTER_VARIANTS].clone()]
                    } else {
                        Vec::new()
                    };
                    check_transition(from, *to, *role, reason, photos.len()).map_err(|e| {
                        crate::store::StoreError::Corrupt(format!("demo report {i}: {e}"))
                    })?;
                    let note = event_note(*to, responsible_name.as_deref());
                    reports::apply_change(
                        tx,
                        &Change {
                            report: id,
                            from,
                            to: *to,
                            user: role.as_str(),
                            note: note.as_deref(),
                            reason,
                            photos: &photos,
                            at,
                            due_at: limits.due(s.category, *to, at),
                            assign_to: (*to == Status::Dispatched)
                                .then(|| responsible_name.clone())
                                .flatten(),
                            duplicate_of: None,
                        },
                    )?;
                    from = *to;
                }
            }
            Ok(())
        })
        .map_err(ReportError::from)?;
    // They went straight into the store, past the report service's change notifications:
    // reload the tiles' report points and drop every cached tile.
    state
        .tiles
        .report_points
        .reload(&state.store)
        .map_err(ReportError::from)?;
    state.tiles.cache.invalidate(&[crate::crs::Bbox::WORLD]);
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_deterministic_and_distinct() {
        let a = draw(Some(Category::Garbage), 0, 1000);
        assert_eq!(a, draw(Some(Category::Garbage), 0, 1000));
        assert_ne!(a, draw(Some(Category::Garbage), 1, 1000));
        assert_ne!(a, draw(None, 0, 1000));
    }

    #[test]
    fn every_path_follows_the_rules() {
        for s in Status::ALL {
            let mut from = Status::Reported;
            for (to, role) in path_to(s) {
                let reason = (*to == Status::Rejected).then_some(RejectReason::Invalid);
                let photos = usize::from(*to == Status::Resolved);
                check_transition(from, *to, *role, reason, photos).unwrap();
                from = *to;
            }
            assert_eq!(from, s);
        }
    }
}
