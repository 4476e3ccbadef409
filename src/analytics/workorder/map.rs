//! The work order's map: nearby zones for context, the organisation's zones, its open
//! reports as numbered markers, a scale bar and a north arrow.

use super::{category_colour, WorkOrder};
use crate::analytics::draw::{self, Font};
use crate::crs::Bbox;
use crate::index::ZoneIndex;
use crate::zone::{Zone, ZoneGeometry, ZoneKind};
use image::{Rgba, RgbaImage};
use std::sync::Arc;
use xuncha_tiles::lonlat_to_world;

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
            pts.push((b.west, b.south));
            pts.push((b.east, b.north));
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
    let bbox = Bbox::new(vw0.min(vw1), vn0.min(vn1), vw0.max(vw1), vn0.max(vn1));
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
            let (a, c) = (view.px(b.west, b.north), view.px(b.east, b.south));
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
                let [cx, cy] = b.center();
                let (px, py) = view.px(cx, cy);
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
