//! The work order as one PNG sheet (A4 width at 150 dpi, as long as the list needs).

use super::{category_colour, local_time, render_map, status_zh, WorkOrder};
use crate::analytics::draw::{self, Font};
use crate::analytics::stats::sector_zh;
use crate::index::ZoneIndex;
use image::{Rgba, RgbaImage};

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
