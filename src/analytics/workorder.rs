//! The work order (整改工单) of one responsible organisation: a map of its zones with its open
//! reports, the list of those reports with category, time, note and thumbnail, and totals.
//!
//! "Its reports" are the reports whose stored responsible owner (at submission) is the
//! organisation, as for the statistics; "its zones" are the live zones it owns today. Two
//! renderings share one [`WorkOrder`]: a PNG sheet drawn here (A4 width at 150 dpi, as long as
//! the list needs), and a self-contained HTML page (map and thumbnails inlined) that prints on
//! A4 with the browser's fonts.

use super::draw::{self, Font};
use super::stats::{owner_counts, sector_zh, Counts};
use crate::index::ZoneIndex;
use crate::report::{Category, Status};
use crate::store::photos::{Kind, PhotoFiles};
use crate::store::stats::{self as sql, OpenReport, ReportFilter};
use crate::store::{Store, StoreError};
use crate::zone::{Owner, Zone, ZoneGeometry, ZoneKind};
use base64::Engine;
use image::{Rgba, RgbaImage};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use xuncha_tiles::lonlat_to_world;

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
                "thumb_url": r.photo_id.as_ref().map(|p| format!("/api/photos/{p}/thumb")),
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

/// Maps world coordinates to image pixels.
struct View {
    x0: f64,
    y0: f64,
    px_per_world: f64,
}

impl View {
    fn px(&self, lon: f64, lat: f64) -> (f64, f64) {
        let (wx, wy) = lonlat_to_world(lon, lat);
        (
            (wx - self.x0) * self.px_per_world,
            (wy - self.y0) * self.px_per_world,
        )
    }
}

fn rings_of(z: &Zone) -> Vec<Vec<(f64, f64)>> {
    match &z.geometry {
        ZoneGeometry::Area(mp) => {
            mp.0.iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .map(|r| r.0.iter().map(|c| (c.x, c.y)).collect())
                .collect()
        }
        ZoneGeometry::Route { line, .. } => line
            .0
            .iter()
            .map(|l| l.0.iter().map(|c| (c.x, c.y)).collect())
            .collect(),
    }
}

/// Draws the map: nearby zones for context, the organisation's zones, its open reports as
/// numbered markers, a scale bar and a north arrow. `width` × `height` pixels.
pub fn render_map(
    wo: &WorkOrder,
    index: &ZoneIndex,
    font: &Font,
    width: u32,
    height: u32,
) -> RgbaImage {
    // Drawn at twice the size and scaled down: cheap anti-aliasing for the shapes.
    const SS: f64 = 2.0;
    let (w2, h2) = (
        (f64::from(width) * SS) as u32,
        (f64::from(height) * SS) as u32,
    );
    let mut pts: Vec<(f64, f64)> = wo.reports.iter().map(|r| (r.lon, r.lat)).collect();
    for z in &wo.zones {
        if let Some(b) = z.geometry.bbox() {
            pts.push((b[0], b[1]));
            pts.push((b[2], b[3]));
        }
    }
    if pts.is_empty() {
        pts.push((126.42, 41.94));
    }
    let world: Vec<(f64, f64)> = pts.iter().map(|p| lonlat_to_world(p.0, p.1)).collect();
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (x, y) in &world {
        x0 = x0.min(*x);
        y0 = y0.min(*y);
        x1 = x1.max(*x);
        y1 = y1.max(*y);
    }
    let lat_c = pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64;
    let m_per_world = 2.0 * std::f64::consts::PI * 6_378_137.0 * lat_c.to_radians().cos();
    // At least 250 m across, and a margin of 12 % around everything.
    let min_span = 250.0 / m_per_world;
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let span_x = (x1 - x0).max(min_span) * 1.24;
    let span_y = (y1 - y0).max(min_span) * 1.24;
    let ppw = (f64::from(w2) / span_x).min(f64::from(h2) / span_y);
    let view = View {
        x0: cx - f64::from(w2) / 2.0 / ppw,
        y0: cy - f64::from(h2) / 2.0 / ppw,
        px_per_world: ppw,
    };
    let mut img = RgbaImage::from_pixel(w2, h2, Rgba([248, 247, 242, 255]));
    let (vw0, vn0) = xuncha_tiles::world_to_lonlat(view.x0, view.y0);
    let (vw1, vn1) =
        xuncha_tiles::world_to_lonlat(view.x0 + f64::from(w2) / ppw, view.y0 + f64::from(h2) / ppw);
    let bbox = [vw0.min(vw1), vn0.min(vn1), vw0.max(vw1), vn0.max(vn1)];
    let own: std::collections::HashSet<&str> = wo.zones.iter().map(|z| z.id.as_str()).collect();
    let to_px = |ring: &[(f64, f64)]| -> Vec<(f64, f64)> {
        ring.iter().map(|p| view.px(p.0, p.1)).collect()
    };
    // Context first, from large (grid) to small, so small zones stay visible.
    let mut context: Vec<&Arc<crate::index::IndexedZone>> = index
        .in_bbox(bbox)
        .filter(|e| !own.contains(e.zone.id.as_str()))
        .collect();
    context.sort_by_key(|e| match e.zone.kind {
        ZoneKind::Grid => 0,
        ZoneKind::GreenAdoption => 1,
        ZoneKind::Responsibility => 2,
        ZoneKind::PatrolRoute => 3,
        ZoneKind::Hotspot => 4,
    });
    for e in &context {
        let rings: Vec<Vec<(f64, f64)>> = rings_of(&e.zone).iter().map(|r| to_px(r)).collect();
        match e.zone.kind {
            ZoneKind::Grid => {
                for r in &rings {
                    draw::ring_outline(&mut img, r, 2.0, Rgba([150, 160, 175, 255]));
                }
            }
            ZoneKind::Responsibility | ZoneKind::GreenAdoption => {
                let fill = if e.zone.kind == ZoneKind::GreenAdoption {
                    Rgba([200, 230, 190, 255])
                } else {
                    Rgba([228, 228, 224, 255])
                };
                draw::fill_polygon(&mut img, &rings, fill);
                for r in &rings {
                    draw::ring_outline(&mut img, r, 2.0, Rgba([180, 180, 175, 255]));
                }
            }
            ZoneKind::PatrolRoute => {
                for r in &rings {
                    draw::ring_outline(&mut img, r, 4.0, Rgba([120, 170, 220, 255]));
                }
            }
            ZoneKind::Hotspot => {
                draw::fill_polygon(&mut img, &rings, Rgba([230, 60, 60, 40]));
                for r in &rings {
                    draw::ring_outline(&mut img, r, 3.0, Rgba([220, 80, 80, 255]));
                }
            }
        }
    }
    for z in &wo.zones {
        let rings: Vec<Vec<(f64, f64)>> = rings_of(z).iter().map(|r| to_px(r)).collect();
        if let ZoneGeometry::Area(_) = z.geometry {
            draw::fill_polygon(&mut img, &rings, Rgba([255, 200, 60, 150]));
        }
        for r in &rings {
            draw::ring_outline(&mut img, r, 6.0, Rgba([200, 110, 0, 255]));
        }
    }
    // Zones too small to see at this scale get a ring around them.
    for z in &wo.zones {
        if let Some(b) = z.geometry.bbox() {
            let (a, c) = (view.px(b[0], b[3]), view.px(b[2], b[1]));
            if (c.0 - a.0).max(c.1 - a.1) < 24.0 * SS {
                let centre = ((a.0 + c.0) / 2.0, (a.1 + c.1) / 2.0);
                let ring: Vec<(f64, f64)> = (0..=40)
                    .map(|k| {
                        let t = f64::from(k) / 40.0 * std::f64::consts::TAU;
                        (
                            centre.0 + 20.0 * SS * t.cos(),
                            centre.1 + 20.0 * SS * t.sin(),
                        )
                    })
                    .collect();
                draw::ring_outline(&mut img, &ring, 2.5 * SS, Rgba([200, 110, 0, 255]));
            }
        }
    }
    let marker_r = 13.0 * SS;
    let anchors: Vec<(f64, f64)> = wo.reports.iter().map(|r| view.px(r.lon, r.lat)).collect();
    let placed = spread_markers(&anchors, marker_r * 2.1);
    for (a, p) in anchors.iter().zip(&placed) {
        if a != p {
            draw::line(&mut img, *a, *p, 1.5 * SS, Rgba([60, 60, 60, 255]));
            draw::disc(&mut img, *a, 3.0 * SS, Rgba([40, 40, 40, 255]));
        }
    }
    for (r, p) in wo.reports.iter().zip(&placed) {
        draw::disc(
            &mut img,
            (p.0 + 2.0, p.1 + 3.0),
            marker_r,
            Rgba([0, 0, 0, 60]),
        );
        draw::disc(&mut img, *p, marker_r, Rgba([255, 255, 255, 255]));
        draw::disc(
            &mut img,
            *p,
            marker_r - 3.0 * SS,
            category_colour(r.category),
        );
    }
    let mut img =
        image::imageops::resize(&img, width, height, image::imageops::FilterType::Triangle);
    let s = 1.0 / SS;
    let label_size = 15.0;
    {
        // Zone names at the centre of each of the organisation's zones.
        for z in &wo.zones {
            if let Some(b) = z.geometry.bbox() {
                let (px, py) = view.px((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
                let (px, py) = (px * s, py * s);
                let name = &z.name;
                let tw = font.width(label_size, name).min(260.0);
                halo_text(
                    font,
                    &mut img,
                    (px - f64::from(tw) / 2.0) as f32,
                    py as f32 - 30.0,
                    label_size,
                    name,
                    260.0,
                );
            }
        }
        for (i, &(px, py)) in placed.iter().enumerate() {
            let n = (i + 1).to_string();
            let size = if n.len() > 2 { 11.0 } else { 14.0 };
            let tw = font.width(size, &n);
            font.draw(
                &mut img,
                (px * s) as f32 - tw / 2.0,
                (py * s) as f32 - size * 0.62,
                size,
                Rgba([255, 255, 255, 255]),
                &n,
            );
        }
    }
    // Scale bar, bottom left.
    let m_per_px = m_per_world / (ppw * s);
    let target = f64::from(width) / 5.0 * m_per_px;
    let nice = [
        10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0,
    ];
    let len_m = nice
        .iter()
        .rev()
        .find(|v| **v <= target)
        .copied()
        .unwrap_or(10.0);
    let len_px = len_m / m_per_px;
    let (bx, by) = (16.0, f64::from(height) - 22.0);
    draw::rect(
        &mut img,
        8,
        (by - 24.0) as i64,
        (len_px + 24.0) as i64 + 40,
        38,
        Rgba([255, 255, 255, 210]),
    );
    draw::line(
        &mut img,
        (bx, by),
        (bx + len_px, by),
        3.0,
        Rgba([40, 40, 40, 255]),
    );
    draw::line(
        &mut img,
        (bx, by - 6.0),
        (bx, by),
        2.0,
        Rgba([40, 40, 40, 255]),
    );
    draw::line(
        &mut img,
        (bx + len_px, by - 6.0),
        (bx + len_px, by),
        2.0,
        Rgba([40, 40, 40, 255]),
    );
    // North arrow, top right.
    let (nx, ny) = (f64::from(width) - 30.0, 16.0);
    draw::fill_polygon(
        &mut img,
        &[vec![
            (nx, ny),
            (nx + 10.0, ny + 28.0),
            (nx, ny + 22.0),
            (nx - 10.0, ny + 28.0),
        ]],
        Rgba([40, 40, 40, 255]),
    );
    {
        let label = if len_m >= 1000.0 {
            format!("{} km", len_m / 1000.0)
        } else {
            format!("{len_m} m")
        };
        font.draw(
            &mut img,
            (bx + len_px + 8.0) as f32,
            (by - 14.0) as f32,
            14.0,
            Rgba([40, 40, 40, 255]),
            &label,
        );
        font.draw(
            &mut img,
            (nx - 6.0) as f32,
            (ny + 30.0) as f32,
            14.0,
            Rgba([40, 40, 40, 255]),
            "北",
        );
    }
    // Frame.
    let ring = [
        (0.5, 0.5),
        (f64::from(width) - 0.5, 0.5),
        (f64::from(width) - 0.5, f64::from(height) - 0.5),
        (0.5, f64::from(height) - 0.5),
        (0.5, 0.5),
    ];
    draw::ring_outline(&mut img, &ring, 1.0, Rgba([90, 90, 90, 255]));
    img
}

/// Moves markers that would overlap onto a circle around their common place (the "spider"
/// of web maps), so every number on the sheet can be read; a leader line shows the true spot.
fn spread_markers(at: &[(f64, f64)], min_d: f64) -> Vec<(f64, f64)> {
    let mut out = at.to_vec();
    let mut done = vec![false; at.len()];
    for i in 0..at.len() {
        if done[i] {
            continue;
        }
        let group: Vec<usize> = (i..at.len())
            .filter(|&j| {
                !done[j]
                    && ((at[j].0 - at[i].0).powi(2) + (at[j].1 - at[i].1).powi(2)).sqrt() < min_d
            })
            .collect();
        for &j in &group {
            done[j] = true;
        }
        if group.len() < 2 {
            continue;
        }
        let k = group.len() as f64;
        // Neighbours on the circle are `min_d` apart.
        let radius = (min_d * k / std::f64::consts::TAU).max(min_d);
        let (cx, cy) = (
            group.iter().map(|&j| at[j].0).sum::<f64>() / k,
            group.iter().map(|&j| at[j].1).sum::<f64>() / k,
        );
        for (m, &j) in group.iter().enumerate() {
            let t = m as f64 / k * std::f64::consts::TAU - std::f64::consts::FRAC_PI_2;
            out[j] = (cx + radius * t.cos(), cy + radius * t.sin());
        }
    }
    out
}

fn halo_text(font: &Font, img: &mut RgbaImage, x: f32, y: f32, size: f32, text: &str, max_w: f32) {
    for (dx, dy) in [
        (-1.0, 0.0),
        (1.0, 0.0),
        (0.0, -1.0),
        (0.0, 1.0),
        (-1.0, -1.0),
        (1.0, 1.0),
        (-1.0, 1.0),
        (1.0, -1.0),
    ] {
        font.draw_fit(
            img,
            x + dx,
            y + dy,
            size,
            Rgba([255, 255, 255, 230]),
            text,
            max_w,
        );
    }
    font.draw_fit(img, x, y, size, Rgba([110, 60, 0, 255]), text, max_w);
}

/// Sheet width in pixels: A4 (210 mm) at 150 dpi.
pub const SHEET_W: u32 = 1240;
const MARGIN: f32 = 64.0;
const ROW_H: f32 = 104.0;

/// The whole sheet as one image (A4 width; as long as the list needs). Needs a font.
pub fn render_sheet(wo: &WorkOrder, index: &ZoneIndex, font: &Font) -> RgbaImage {
    let n = wo.reports.len();
    let map_w = SHEET_W - 2 * MARGIN as u32;
    let map_h = 700u32;
    let list_top = 160.0 + map_h as f32 + 170.0;
    let height = (list_top + 44.0 + (n.max(1) as f32) * ROW_H + 170.0) as u32;
    let mut img = RgbaImage::from_pixel(SHEET_W, height, Rgba([255, 255, 255, 255]));
    let ink = Rgba([25, 25, 25, 255]);
    let grey = Rgba([100, 100, 100, 255]);
    let accent = Rgba([176, 24, 24, 255]);
    let right = SHEET_W as f32 - MARGIN;
    // Header.
    font.draw(
        &mut img,
        MARGIN,
        40.0,
        38.0,
        accent,
        "门前三包责任区问题整改工单",
    );
    let no = format!("工单日期 {}", local_time(wo.generated_at, wo.utc_offset_s));
    let w = font.width(18.0, &no);
    font.draw(&mut img, right - w, 54.0, 18.0, grey, &no);
    draw::rect(
        &mut img,
        MARGIN as i64,
        92,
        (right - MARGIN) as i64,
        3,
        accent,
    );
    let mut who = format!(
        "责任单位：{}（{}）",
        wo.owner.name,
        sector_zh(wo.owner.sector.as_str())
    );
    if let Some(c) = &wo.owner.contact {
        who.push_str(&format!("    联系方式：{c}"));
    }
    font.draw_fit(&mut img, MARGIN, 104.0, 22.0, ink, &who, right - MARGIN);
    font.draw(
        &mut img,
        MARGIN,
        134.0,
        18.0,
        grey,
        &format!(
            "统计时段：{}    责任区 {} 处",
            wo.window_text(),
            wo.zones.len()
        ),
    );
    // Map.
    let map = render_map(wo, index, font, map_w, map_h);
    image::imageops::overlay(&mut img, &map, MARGIN as i64, 166);
    // Legend under the map.
    let mut lx = MARGIN;
    let ly = 166.0 + map_h as f32 + 14.0;
    draw::rect(
        &mut img,
        lx as i64,
        ly as i64 + 3,
        26,
        16,
        Rgba([255, 200, 60, 150]),
    );
    draw::ring_outline(
        &mut img,
        &[
            (f64::from(lx), f64::from(ly) + 3.0),
            (f64::from(lx) + 26.0, f64::from(ly) + 3.0),
            (f64::from(lx) + 26.0, f64::from(ly) + 19.0),
            (f64::from(lx), f64::from(ly) + 19.0),
            (f64::from(lx), f64::from(ly) + 3.0),
        ],
        2.0,
        Rgba([200, 110, 0, 255]),
    );
    lx += 32.0;
    lx += font.draw(&mut img, lx, ly, 16.0, ink, "本单位责任区") + 22.0;
    for (c, _) in wo.by_category() {
        draw::disc(
            &mut img,
            (f64::from(lx) + 9.0, f64::from(ly) + 11.0),
            9.0,
            category_colour(c),
        );
        lx += 22.0;
        lx += font.draw(&mut img, lx, ly, 16.0, ink, c.label_zh()) + 18.0;
    }
    // Totals.
    let ty = ly + 40.0;
    draw::rect(
        &mut img,
        MARGIN as i64,
        ty as i64,
        (right - MARGIN) as i64,
        100,
        Rgba([253, 243, 232, 255]),
    );
    let open = format!("待处置问题 {} 件", n);
    let ow = font.draw(&mut img, MARGIN + 16.0, ty + 12.0, 30.0, accent, &open);
    if n > 0 {
        font.draw_fit(
            &mut img,
            MARGIN + 40.0 + ow,
            ty + 20.0,
            20.0,
            ink,
            &wo.category_line(),
            right - MARGIN - ow - 60.0,
        );
    }
    font.draw_fit(
        &mut img,
        MARGIN + 16.0,
        ty + 60.0,
        18.0,
        grey,
        &wo.window_line(),
        right - MARGIN - 32.0,
    );
    // The list.
    let cols: [(&str, f32); 7] = [
        ("序号", 0.0),
        ("照片", 60.0),
        ("类别", 200.0),
        ("上报时间", 330.0),
        ("状态", 500.0),
        ("责任区", 590.0),
        ("问题描述", 760.0),
    ];
    let hy = list_top;
    draw::rect(
        &mut img,
        MARGIN as i64,
        hy as i64,
        (right - MARGIN) as i64,
        40,
        Rgba([60, 60, 60, 255]),
    );
    for (t, x) in cols {
        font.draw(
            &mut img,
            MARGIN + x + 8.0,
            hy + 8.0,
            18.0,
            Rgba([255, 255, 255, 255]),
            t,
        );
    }
    let mut y = hy + 44.0;
    if n == 0 {
        font.draw(
            &mut img,
            MARGIN + 8.0,
            y + 20.0,
            20.0,
            grey,
            "本时段内无待处置问题。",
        );
        y += ROW_H;
    }
    for (i, r) in wo.reports.iter().enumerate() {
        if i % 2 == 1 {
            draw::rect(
                &mut img,
                MARGIN as i64,
                y as i64 - 2,
                (right - MARGIN) as i64,
                ROW_H as i64,
                Rgba([246, 246, 246, 255]),
            );
        }
        let cy = y + 8.0;
        let nx = f64::from(MARGIN) + 24.0;
        draw::disc(
            &mut img,
            (nx, f64::from(cy) + 14.0),
            15.0,
            category_colour(r.category),
        );
        let num = (i + 1).to_string();
        let nw = font.width(16.0, &num);
        font.draw(
            &mut img,
            nx as f32 - nw / 2.0,
            cy + 4.0,
            16.0,
            Rgba([255, 255, 255, 255]),
            &num,
        );
        if let Some(thumb) = r.photo_id.as_ref().and_then(|p| wo.thumbs.get(p)) {
            if let Ok(t) = image::load_from_memory(thumb) {
                let t = t.thumbnail(128, 90).to_rgba8();
                image::imageops::overlay(&mut img, &t, (MARGIN + 60.0) as i64, y as i64 + 4);
            }
        }
        font.draw(
            &mut img,
            MARGIN + 208.0,
            cy,
            18.0,
            ink,
            r.category.label_zh(),
        );
        font.draw(
            &mut img,
            MARGIN + 208.0,
            cy + 28.0,
            14.0,
            grey,
            &format!("编号 {}", r.id),
        );
        let t = local_time(r.created_at, wo.utc_offset_s);
        let (d, hm) = t.split_once(' ').unwrap_or((&t, ""));
        font.draw(&mut img, MARGIN + 338.0, cy, 18.0, ink, d);
        font.draw(&mut img, MARGIN + 338.0, cy + 26.0, 16.0, grey, hm);
        let days = (wo.generated_at - r.created_at) / 86_400_000;
        font.draw(
            &mut img,
            MARGIN + 338.0,
            cy + 50.0,
            14.0,
            if days >= 7 { accent } else { grey },
            &format!("已 {days} 天"),
        );
        font.draw(&mut img, MARGIN + 508.0, cy, 18.0, ink, status_zh(r.status));
        let zone = r.zone_name.clone().unwrap_or_default();
        for (k, l) in font.wrap(15.0, &zone, 160.0).iter().take(3).enumerate() {
            font.draw(&mut img, MARGIN + 598.0, cy + k as f32 * 22.0, 15.0, ink, l);
        }
        let note = r.note.clone().unwrap_or_default();
        let lines = font.wrap(17.0, &note, right - MARGIN - 776.0);
        for (k, l) in lines.iter().take(3).enumerate() {
            let text = if k == 2 && lines.len() > 3 {
                format!("{l}…")
            } else {
                l.clone()
            };
            font.draw(
                &mut img,
                MARGIN + 768.0,
                cy + k as f32 * 26.0,
                17.0,
                ink,
                &text,
            );
        }
        y += ROW_H;
    }
    // Sign-off.
    let fy = y + 40.0;
    draw::rect(
        &mut img,
        MARGIN as i64,
        fy as i64 - 14,
        (right - MARGIN) as i64,
        1,
        grey,
    );
    font.draw(
        &mut img,
        MARGIN,
        fy,
        20.0,
        ink,
        "责任单位签收：______________    整改期限：____年__月__日    街道办事处（盖章）",
    );
    font.draw(
        &mut img,
        MARGIN,
        fy + 44.0,
        14.0,
        grey,
        "请于期限内完成整改，并在巡查系统中上传整改后照片；编号可在系统中查询。",
    );
    img
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The printable HTML page: self-contained (map PNG and thumbnails inlined as data URLs), A4
/// print CSS, every piece of user text escaped.
pub fn render_html(wo: &WorkOrder, map_png: &[u8]) -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut rows = String::new();
    for (i, r) in wo.reports.iter().enumerate() {
        let thumb = r
            .photo_id
            .as_ref()
            .and_then(|p| wo.thumbs.get(p))
            .map(|b| {
                format!(
                    "<img class=\"thumb\" alt=\"\" src=\"data:image/jpeg;base64,{}\">",
                    b64(b)
                )
            })
            .unwrap_or_default();
        let days = (wo.generated_at - r.created_at) / 86_400_000;
        rows.push_str(&format!(
            "<tr><td class=\"num\"><span class=\"dot\" style=\"background:{colour}\">{n}</span></td><td>{thumb}</td>\
             <td>{cat}<div class=\"sub\">编号 {id}</div></td><td>{time}<div class=\"sub{late}\">已 {days} 天</div></td>\
             <td class=\"st\">{status}</td><td>{zone}</td><td class=\"note\">{note}</td></tr>\n",
            colour = hex(category_colour(r.category)),
            n = i + 1,
            cat = esc(r.category.label_zh()),
            id = r.id,
            time = esc(&local_time(r.created_at, wo.utc_offset_s)),
            late = if days >= 7 { " late" } else { "" },
            status = status_zh(r.status),
            zone = esc(r.zone_name.as_deref().unwrap_or("")),
            note = esc(r.note.as_deref().unwrap_or("")),
        ));
    }
    if wo.reports.is_empty() {
        rows.push_str("<tr><td colspan=\"7\" class=\"empty\">本时段内无待处置问题。</td></tr>");
    }
    let legend: String = wo
        .by_category()
        .iter()
        .map(|(c, n)| {
            format!(
                "<span><i class=\"dot small\" style=\"background:{}\"></i>{} {n}</span>",
                hex(category_colour(*c)),
                esc(c.label_zh())
            )
        })
        .collect();
    let contact = wo
        .owner
        .contact
        .as_deref()
        .map(|c| format!("　联系方式：{}", esc(c)))
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>整改工单 · {owner}</title>
<style>
@page {{ size: A4 portrait; margin: 12mm 12mm 14mm; }}
* {{ box-sizing: border-box; }}
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; color: #191919; margin: 0; font-size: 10.5pt; }}
.sheet {{ max-width: 186mm; margin: 0 auto; padding: 6mm 0; }}
h1 {{ color: #b01818; font-size: 20pt; margin: 0; letter-spacing: 1px; }}
.head {{ display: flex; justify-content: space-between; align-items: baseline; border-bottom: 2px solid #b01818; padding-bottom: 2mm; }}
.meta {{ margin: 2mm 0; }}
.meta .who {{ font-size: 12pt; }}
.meta .sub {{ color: #555; }}
.map {{ width: 100%; border: 1px solid #666; display: block; }}
.legend {{ margin: 1.5mm 0 3mm; color: #333; }}
.legend span {{ margin-right: 5mm; white-space: nowrap; }}
.own {{ display: inline-block; width: 7mm; height: 4mm; background: rgba(255,200,60,.6); border: 2px solid #c86e00; vertical-align: -0.5mm; margin-right: 1.5mm; }}
.totals {{ background: #fdf3e8; padding: 3mm 4mm; margin-bottom: 4mm; }}
.totals b {{ color: #b01818; font-size: 15pt; margin-right: 4mm; }}
.totals .sub {{ color: #555; margin-top: 1mm; }}
table {{ width: 100%; border-collapse: collapse; }}
thead {{ display: table-header-group; }}
th {{ background: #3c3c3c; color: #fff; text-align: left; padding: 1.5mm 2mm; font-weight: normal; white-space: nowrap; }}
.st {{ white-space: nowrap; }}
td {{ border-bottom: 1px solid #ddd; padding: 1.5mm 2mm; vertical-align: top; }}
tr {{ page-break-inside: avoid; break-inside: avoid; }}
tbody tr:nth-child(even) td {{ background: #f6f6f6; }}
.thumb {{ width: 30mm; height: 22mm; object-fit: cover; display: block; }}
.dot {{ display: inline-block; min-width: 7mm; height: 7mm; line-height: 7mm; border-radius: 50%; color: #fff; text-align: center; font-weight: bold; }}
.dot.small {{ min-width: 3.5mm; height: 3.5mm; vertical-align: -0.3mm; margin-right: 1.2mm; }}
.sub {{ color: #666; font-size: 9pt; }}
.late {{ color: #b01818; }}
.note {{ width: 52mm; word-break: break-all; }}
.empty {{ color: #666; padding: 6mm 2mm; }}
.sign {{ margin-top: 8mm; border-top: 1px solid #999; padding-top: 3mm; font-size: 11pt; page-break-inside: avoid; }}
.sign p {{ color: #666; font-size: 9pt; }}
@media screen {{ body {{ background: #eee; }} .sheet {{ background: #fff; padding: 10mm 12mm; margin: 8mm auto; box-shadow: 0 1px 6px rgba(0,0,0,.2); max-width: 210mm; }} }}
</style>
</head>
<body>
<div class="sheet">
<div class="head"><h1>门前三包责任区问题整改工单</h1><span class="sub">工单日期 {generated}</span></div>
<div class="meta"><div class="who">责任单位：<strong>{owner}</strong>（{sector}）{contact}</div>
<div class="sub">统计时段：{window}　责任区 {zones} 处</div></div>
<img class="map" alt="责任区与待处置问题位置图" src="data:image/png;base64,{map}">
<div class="legend"><span><i class="own"></i>本单位责任区</span>{legend}</div>
<div class="totals"><b>待处置问题 {open} 件</b>{cats}<div class="sub">{window_line}</div></div>
<table>
<thead><tr><th>序号</th><th>照片</th><th>类别</th><th>上报时间</th><th>状态</th><th>责任区</th><th>问题描述</th></tr></thead>
<tbody>
{rows}</tbody>
</table>
<div class="sign">责任单位签收：______________　　整改期限：____年__月__日　　街道办事处（盖章）
<p>请于期限内完成整改，并在巡查系统中上传整改后照片；编号可在系统中查询。</p></div>
</div>
</body>
</html>
"#,
        owner = esc(&wo.owner.name),
        sector = sector_zh(wo.owner.sector.as_str()),
        contact = contact,
        generated = esc(&local_time(wo.generated_at, wo.utc_offset_s)),
        window = esc(&wo.window_text()),
        zones = wo.zones.len(),
        map = b64(map_png),
        legend = legend,
        open = wo.reports.len(),
        cats = esc(&wo.category_line()),
        window_line = esc(&wo.window_line()),
        rows = rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<b>\"x\" & 'y'</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
        );
    }

    #[test]
    fn local_time_is_utc_plus_8() {
        let ms = crate::time::parse_rfc3339("2026-11-30T20:05:00Z").unwrap();
        assert_eq!(local_time(ms, 8 * 3600), "2026-12-01 04:05");
    }
}
