//! The work order (整改工单) of one responsible organisation: a map of its zones with its open
//! reports, the list of those reports with category, time, note and thumbnail, and totals.
//!
//! "Its reports" are the reports whose stored responsible owner (at submission) is the
//! organisation, as for the statistics; "its zones" are the live zones it owns today. Two
//! renderings share one [`WorkOrder`]: a PNG sheet drawn here (A4 width at 150 dpi, as long as
//! the list needs), and a self-contained HTML page (map and thumbnails inlined) that prints on
//! A4 with the browser's fonts.

use crate::analytics::stats::{owner_counts, Counts};
use crate::index::ZoneIndex;
use crate::report::{Category, Status};
use crate::store::photos::{Kind, PhotoFiles};
use crate::store::stats::{self as sql, OpenReport, ReportFilter};
use crate::store::{Store, StoreError};
use crate::zone::{Owner, Zone};
use image::Rgba;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

mod html;
mod map;
mod sheet;

pub use html::render_html;
pub use map::render_map;
pub use sheet::{render_sheet, SHEET_W};

/// Everything on a work order.
pub struct WorkOrder {
    pub owner: Owner,
    /// Live zones the organisation owns today.
    pub zones: Vec<Arc<Zone>>,
    /// Open reports naming it as responsible, oldest first (their number on the sheet is the
    /// position here + 1).
    pub reports: Vec<OpenReport>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Counts of all its reports in the window (any status).
    pub window: Counts,
    pub generated_at: i64,
    /// Offset of local time from UTC, seconds, for the times shown.
    pub utc_offset_s: i32,
    /// Thumbnail JPEG bytes by photo id.
    pub thumbs: HashMap<String, Vec<u8>>,
}

/// Gathers a work order; `None` when no live zone and no report names `owner`.
pub fn gather(
    store: &Store,
    files: &PhotoFiles,
    index: &ZoneIndex,
    owner: &str,
    window: &ReportFilter,
    utc_offset_s: i32,
) -> Result<Option<WorkOrder>, StoreError> {
    let (since, until, visibility) = (window.since, window.until, &window.visibility);
    let mut zones: Vec<Arc<Zone>> = index
        .iter()
        .filter(|e| e.zone.owner.as_ref().is_some_and(|o| o.name == owner))
        .map(|e| e.zone.clone())
        .collect();
    zones.sort_by(|a, b| a.id.cmp(&b.id));
    let (reports, window, known) = store.read_sync(|c| {
        let reports = sql::open_reports_of(c, owner, since, until, visibility)?;
        let f = ReportFilter {
            since,
            until,
            visibility: visibility.clone(),
            ..Default::default()
        };
        let window = owner_counts(c, owner, &f)?;
        let known = sql::reports_of_owner(c, owner)?;
        Ok((reports, window, known))
    })?;
    if zones.is_empty() && known == 0 {
        return Ok(None);
    }
    let owner = zones
        .iter()
        .find_map(|z| z.owner.clone())
        .unwrap_or_else(|| Owner {
            name: owner.to_string(),
            sector: crate::zone::Sector::Community,
            contact: None,
        });
    let mut thumbs = HashMap::new();
    for r in &reports {
        if let Some(id) = &r.photo_id {
            if crate::store::photos::valid_id(id) && !thumbs.contains_key(id) {
                if let Ok(Some(b)) = files.read(id, Kind::Thumb) {
                    thumbs.insert(id.clone(), b);
                }
            }
        }
    }
    Ok(Some(WorkOrder {
        owner,
        zones,
        reports,
        since,
        until,
        window,
        generated_at: crate::time::now_ms(),
        utc_offset_s,
        thumbs,
    }))
}

/// zh-CN status names as a street office says them.
pub fn status_zh(s: Status) -> &'static str {
    match s {
        Status::Reported => "已上报",
        Status::Dispatched => "已派遣",
        Status::InProgress => "处置中",
        Status::Resolved => "待核查",
        Status::Closed => "已结案",
        Status::Rejected => "已驳回",
        Status::Reopened => "重新受理",
    }
}

/// A marker colour per category (distinct in print, also in greyscale by lightness).
pub fn category_colour(c: Category) -> Rgba<u8> {
    let [r, g, b] = match c {
        Category::Garbage => [216, 67, 21],
        Category::IllegalAds => [142, 36, 170],
        Category::Weeds => [85, 139, 47],
        Category::Gutter => [0, 131, 143],
        Category::Debris => [109, 76, 65],
        Category::MedicalWaste => [198, 40, 40],
        Category::Water => [21, 101, 192],
        Category::Other => [84, 110, 122],
    };
    Rgba([r, g, b, 255])
}

fn hex(c: Rgba<u8>) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// `YYYY-MM-DD HH:MM` in local time.
pub fn local_time(ms: i64, utc_offset_s: i32) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000) + i64::from(utc_offset_s));
    t.map(|t| {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        )
    })
    .unwrap_or_default()
}

impl WorkOrder {
    fn window_text(&self) -> String {
        let f = |v: Option<i64>, none: &str| {
            v.map(|ms| local_time(ms, self.utc_offset_s))
                .unwrap_or_else(|| none.to_string())
        };
        format!("{} 至 {}", f(self.since, "最早"), f(self.until, "现在"))
    }

    /// Open reports per category, largest first.
    fn by_category(&self) -> Vec<(Category, usize)> {
        let mut v: Vec<(Category, usize)> = Category::ALL
            .iter()
            .map(|c| (*c, self.reports.iter().filter(|r| r.category == *c).count()))
            .filter(|(_, n)| *n > 0)
            .collect();
        v.sort_by_key(|c| std::cmp::Reverse(c.1));
        v
    }

    fn category_line(&self) -> String {
        self.by_category()
            .iter()
            .map(|(c, n)| format!("{} {n}", c.label_zh()))
            .collect::<Vec<_>>()
            .join("、")
    }

    fn window_line(&self) -> String {
        let w = &self.window;
        let closed = w.by_status.get("closed").copied().unwrap_or(0);
        let mut s = format!("统计时段内共上报 {} 件，已结案 {closed} 件", w.total);
        if let Some(h) = w.median_close_hours {
            s.push_str(&format!("，结案时长中位数 {h} 小时"));
        }
        if let Some(sh) = w.closed_within_48h_share {
            s.push_str(&format!("，48 小时内结案率 {:.0}%", sh * 100.0));
        }
        s
    }

    /// The data as JSON (for clients that lay out the sheet themselves).
    pub fn to_json(&self) -> Value {
        json!({
            "owner": self.owner,
            "since": self.since.map(crate::time::to_rfc3339),
            "until": self.until.map(crate::time::to_rfc3339),
            "generated_at": crate::time::to_rfc3339(self.generated_at),
            "zones": self.zones.iter().map(|z| json!({"id": z.id, "name": z.name, "kind": z.kind})).collect::<Vec<_>>(),
            "open_reports": self.reports.iter().enumerate().map(|(i, r)| json!({
                "number": i + 1,
                "id": r.id,
                "location": {"lon": r.lon, "lat": r.lat},
                "category": r.category,
                "category_zh": r.category.label_zh(),
                "status": r.status,
                "status_zh": status_zh(r.status),
                "note": r.note,
                "created_at": crate::time::to_rfc3339(r.created_at),
                "zone_id": r.zone_id,
                "zone_name": r.zone_name,
                "thumb_url": r.photo_id.as_deref().map(crate::report::view::thumb_url),
            })).collect::<Vec<_>>(),
            "totals": {
                "open": self.reports.len(),
                "open_by_category": self.by_category().iter().map(|(c, n)| (c.as_str().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
                "open_by_status": Status::OPEN.iter().map(|s| (s.as_str().to_string(), json!(self.reports.iter().filter(|r| r.status == *s).count()))).collect::<serde_json::Map<_, _>>(),
                "window": self.window,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_is_utc_plus_8() {
        let ms = crate::time::parse_rfc3339("2026-11-30T20:05:00Z").unwrap();
        assert_eq!(local_time(ms, 8 * 3600), "2026-12-01 04:05");
    }
}
