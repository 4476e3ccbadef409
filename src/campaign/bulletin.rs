//! The weekly bulletin (周报) of a campaign, in Chinese: the week's figures per day, target
//! progress, the week's heatmap, the 红黑榜 rankings and the patrol coverage of the campaign so
//! far. One document model ([`Bulletin`]) is rendered as printable A4 HTML ([`html`]) and as A4
//! PNG pages at 150 dpi ([`png_pages`], drawn with the embedded font, for sharing as pictures).

use crate::analytics::draw::{self, Font};
use crate::analytics::html::escape as esc;
use crate::campaign::{date_string, RankRow, Summary};
use crate::crs::Bbox;
use image::{Rgba, RgbaImage};

/// How a table row stands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Plain,
    /// 红榜: the first of a ranking.
    Best,
    /// 黑榜: the last of a ranking.
    Worst,
    /// A group's summary row (a route above its teams).
    Group,
}

/// A table: its header and rows of text cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub head: Vec<&'static str>,
    pub rows: Vec<(Vec<String>, Mark)>,
}

/// What a section holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Para(String),
    Table(Table),
    /// The week's heatmap (a picture the renderer supplies).
    Heat,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub heading: String,
    pub blocks: Vec<Block>,
}

/// The bulletin's content, independent of how it is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Bulletin {
    pub title: String,
    /// The lines under the title: the week, days left, totals.
    pub lead: Vec<String>,
    pub sections: Vec<Section>,
}

/// The slippy-map tile at zoom `z` holding `[lon, lat]`.
pub fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let r = lat.to_radians();
    let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    (x.clamp(0.0, n - 1.0) as u32, y.clamp(0.0, n - 1.0) as u32)
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "—".into())
}

fn ranking(title: &str, rows: &[RankRow]) -> Section {
    let rows = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (mark, label) = if r.best {
                (Mark::Best, "红榜")
            } else if r.worst {
                (Mark::Worst, "黑榜")
            } else {
                (Mark::Plain, "")
            };
            (
                vec![
                    (i + 1).to_string(),
                    r.label.clone(),
                    r.total.to_string(),
                    r.closed.to_string(),
                    pct(Some(r.closed_share)),
                    pct(Some(r.on_time_share)),
                    r.repeats.to_string(),
                    label.to_string(),
                ],
                mark,
            )
        })
        .collect();
    Section {
        heading: title.to_string(),
        blocks: vec![Block::Table(Table {
            head: vec![
                "名次",
                "名称",
                "报告",
                "已办结",
                "办结率",
                "按时率",
                "重复",
                "",
            ],
            rows,
        })],
    }
}

fn patrols(s: &Summary) -> Option<Section> {
    let pc = s.patrol_coverage.as_ref()?;
    let mut rows = Vec::new();
    for r in &pc.routes {
        rows.push((
            vec![
                r.name.clone(),
                "全部".into(),
                format!("达标 {}/{} 天", r.days_met, r.days),
                String::new(),
                pct(Some(r.mean_share)),
                format!("漏巡 {} 次", r.missed_windows),
            ],
            Mark::Group,
        ));
        for t in &r.teams {
            rows.push((
                vec![
                    String::new(),
                    t.user.clone(),
                    t.days.to_string(),
                    t.points.to_string(),
                    pct(Some(t.mean_share)),
                    t.checkins.to_string(),
                ],
                Mark::Plain,
            ));
        }
    }
    Some(Section {
        heading: "巡查覆盖".into(),
        blocks: vec![
            Block::Para(format!("达标线：单日覆盖率 ≥ {}", pct(Some(pc.threshold)))),
            Block::Table(Table {
                head: vec!["路线", "队员", "巡查天数", "轨迹点", "平均覆盖率", "打卡"],
                rows,
            }),
        ],
    })
}

/// The bulletin of the week starting on day `week` (days since 1970-01-01); `has_heat` when
/// the week has reports to draw.
pub fn model(s: &Summary, week: i64, has_heat: bool) -> Bulletin {
    let c = &s.campaign;
    let from = date_string(week);
    let to = date_string(week + 6);
    let days = s
        .days
        .iter()
        .filter(|d| d.date >= from && d.date <= to)
        .map(|d| {
            (
                vec![
                    d.date.clone(),
                    d.found.to_string(),
                    d.closed.to_string(),
                    d.backlog.to_string(),
                ],
                Mark::Plain,
            )
        })
        .collect();
    let targets = s
        .targets
        .iter()
        .map(|t| {
            let name = match t.id {
                "closed_share_min" => "办结率",
                "on_time_share_min" => "按时办结率",
                _ => "无反复点位天数",
            };
            let (value, target) = if t.id == "no_recurring_hotspot_days" {
                (
                    t.value
                        .map(|v| format!("{v} 天"))
                        .unwrap_or_else(|| "—".into()),
                    format!("{} 天", t.target),
                )
            } else {
                (pct(t.value), pct(Some(t.target)))
            };
            let met = match t.met {
                Some(true) => "达标",
                Some(false) => "未达标",
                None => "—",
            };
            (
                vec![name.to_string(), value, target, met.to_string()],
                Mark::Plain,
            )
        })
        .collect();
    let mut sections = vec![
        Section {
            heading: "每日情况".into(),
            blocks: vec![Block::Table(Table {
                head: vec!["日期", "发现", "办结", "待办"],
                rows: days,
            })],
        },
        Section {
            heading: "目标进度".into(),
            blocks: vec![Block::Table(Table {
                head: vec!["目标", "当前", "要求", "结果"],
                rows: targets,
            })],
        },
        Section {
            heading: "本周热力图".into(),
            blocks: vec![if has_heat {
                Block::Heat
            } else {
                Block::Para("本周无报告。".into())
            }],
        },
        ranking("街道红黑榜", &s.rankings.street),
        ranking("社区红黑榜", &s.rankings.community),
        ranking("六域红黑榜", &s.rankings.sector),
    ];
    sections.extend(patrols(s));
    Bulletin {
        title: format!("{}　第{}周工作简报", c.name, week_number(s, week)),
        lead: vec![
            format!(
                "{from} 至 {to}　剩余 {} 天（共 {} 天）",
                s.days_left, s.days_total
            ),
            format!(
                "累计发现 {}　已办结 {}　待办 {}",
                s.totals.found, s.totals.closed, s.totals.open
            ),
        ],
        sections,
    }
}

/// Printable A4 HTML; `heat_src` is the URL of the heatmap picture.
pub fn html(b: &Bulletin, heat_src: Option<&str>) -> String {
    let mut body = String::new();
    for s in &b.sections {
        body.push_str(&format!("<h2>{}</h2>\n", esc(&s.heading)));
        for block in &s.blocks {
            match block {
                Block::Para(p) => body.push_str(&format!("<p>{}</p>\n", esc(p))),
                Block::Heat => match heat_src {
                    Some(src) => body.push_str(&format!(
                        "<img class=\"heat\" alt=\"本周热力图\" src=\"{}\" width=\"512\" height=\"512\">\n",
                        esc(src)
                    )),
                    None => body.push_str("<p>本周无报告。</p>\n"),
                },
                Block::Table(t) => {
                    body.push_str("<table><tr>");
                    for h in &t.head {
                        body.push_str(&format!("<th>{h}</th>"));
                    }
                    body.push_str("</tr>");
                    for (cells, mark) in &t.rows {
                        let class = match mark {
                            Mark::Plain => "",
                            Mark::Best => " class=\"best\"",
                            Mark::Worst => " class=\"worst\"",
                            Mark::Group => " class=\"route\"",
                        };
                        body.push_str(&format!("<tr{class}>"));
                        for c in cells {
                            body.push_str(&format!("<td>{}</td>", esc(c)));
                        }
                        body.push_str("</tr>");
                    }
                    body.push_str("</table>\n");
                }
            }
        }
    }
    let lead: String = b
        .lead
        .iter()
        .map(|l| format!("<p>{}</p>", esc(l)))
        .collect();
    format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{t}</title>
<style>
@page {{ size: A4; margin: 15mm; }}
body {{ font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; width: 180mm; margin: auto; color: #222; }}
h1 {{ font-size: 20pt; text-align: center; }} h2 {{ font-size: 13pt; border-bottom: 1px solid #999; }}
table {{ border-collapse: collapse; width: 100%; font-size: 10pt; }} td, th {{ border: 1px solid #bbb; padding: 2px 6px; }}
tr.best td {{ background: #fde2e2; font-weight: bold; }} tr.worst td {{ background: #333; color: #fff; }}
tr.route td {{ background: #eef3ee; font-weight: bold; }}
img.heat {{ display: block; margin: auto; border: 1px solid #999; background: #eef; }}
</style></head><body>
<h1>{t}</h1>
{lead}
{body}</body></html>
"#,
        t = esc(&b.title),
    )
}

/// A4 at 150 dpi.
pub const PAGE_W: u32 = 1240;
pub const PAGE_H: u32 = 1754;
const MARGIN: f32 = 80.0;
const ROW_H: f32 = 34.0;
const TEXT: f32 = 19.0;

/// Lays blocks out top to bottom, starting a new page when one does not fit.
struct Pager<'a> {
    font: &'a Font,
    title: &'a str,
    pages: Vec<RgbaImage>,
    y: f32,
}

const INK: Rgba<u8> = Rgba([25, 25, 25, 255]);
const GREY: Rgba<u8> = Rgba([100, 100, 100, 255]);
const ACCENT: Rgba<u8> = Rgba([176, 24, 24, 255]);
const RULE: Rgba<u8> = Rgba([190, 190, 190, 255]);

impl Pager<'_> {
    fn page(&mut self) -> &mut RgbaImage {
        self.pages.last_mut().expect("a page is open")
    }

    fn new_page(&mut self) {
        let mut img = RgbaImage::from_pixel(PAGE_W, PAGE_H, Rgba([255, 255, 255, 255]));
        let n = self.pages.len() + 1;
        if n > 1 {
            self.font
                .draw_fit(&mut img, MARGIN, 36.0, 16.0, GREY, self.title, 900.0);
        }
        let foot = format!("第 {n} 页");
        let w = self.font.width(16.0, &foot);
        self.font.draw(
            &mut img,
            PAGE_W as f32 - MARGIN - w,
            PAGE_H as f32 - 50.0,
            16.0,
            GREY,
            &foot,
        );
        self.pages.push(img);
        self.y = if n > 1 { 80.0 } else { MARGIN };
    }

    /// Makes room for `h` pixels; true when that started a new page.
    fn need(&mut self, h: f32) -> bool {
        if self.y + h > PAGE_H as f32 - 70.0 {
            self.new_page();
            return true;
        }
        false
    }

    fn text(&mut self, size: f32, c: Rgba<u8>, s: &str) {
        self.need(size * 1.6);
        let (font, y) = (self.font, self.y);
        font.draw_fit(
            self.page(),
            MARGIN,
            y,
            size,
            c,
            s,
            PAGE_W as f32 - 2.0 * MARGIN,
        );
        self.y += size * 1.6;
    }

    fn heading(&mut self, s: &str) {
        // A heading never ends a page: keep it with two rows of what follows.
        self.need(26.0 * 1.5 + 12.0 + 3.0 * ROW_H);
        self.y += 12.0;
        let (font, y) = (self.font, self.y);
        font.draw(self.page(), MARGIN, y, 26.0, INK, s);
        self.y += 26.0 * 1.45;
        let y = self.y as i64;
        draw::rect(
            self.page(),
            MARGIN as i64,
            y,
            (PAGE_W as f32 - 2.0 * MARGIN) as i64,
            2,
            GREY,
        );
        self.y += 10.0;
    }

    fn table(&mut self, t: &Table) {
        let width = PAGE_W as f32 - 2.0 * MARGIN;
        // Column widths from the longest cell of each column, scaled to the page.
        let n = t.head.len();
        let mut want = vec![0f32; n];
        for (i, h) in t.head.iter().enumerate() {
            want[i] = self.font.width(TEXT, h) + 24.0;
        }
        for (cells, _) in &t.rows {
            for (i, c) in cells.iter().enumerate().take(n) {
                want[i] = want[i].max(self.font.width(TEXT, c) + 24.0);
            }
        }
        let total: f32 = want.iter().sum();
        let cols: Vec<f32> = want.iter().map(|w| w / total * width).collect();
        let head_row = |p: &mut Self| {
            let y = p.y;
            draw::rect(
                p.page(),
                MARGIN as i64,
                y as i64,
                width as i64,
                ROW_H as i64,
                Rgba([236, 236, 236, 255]),
            );
            let cells: Vec<String> = t.head.iter().map(|h| h.to_string()).collect();
            p.cells(&cells, &cols, GREY);
        };
        self.need(2.0 * ROW_H);
        head_row(self);
        for (cells, mark) in &t.rows {
            if self.need(ROW_H) {
                head_row(self);
            }
            let (bg, fg) = match mark {
                Mark::Plain => (None, INK),
                Mark::Best => (Some(Rgba([253, 226, 226, 255])), ACCENT),
                Mark::Worst => (Some(Rgba([51, 51, 51, 255])), Rgba([255, 255, 255, 255])),
                Mark::Group => (Some(Rgba([238, 243, 238, 255])), INK),
            };
            if let Some(bg) = bg {
                let y = self.y as i64;
                draw::rect(
                    self.page(),
                    MARGIN as i64,
                    y,
                    width as i64,
                    ROW_H as i64,
                    bg,
                );
            }
            self.cells(cells, &cols, fg);
        }
        self.y += 8.0;
    }

    /// One row of cells at the cursor, with a rule under it.
    fn cells(&mut self, cells: &[String], cols: &[f32], c: Rgba<u8>) {
        let (font, y) = (self.font, self.y);
        let mut x = MARGIN;
        for (cell, w) in cells.iter().zip(cols) {
            font.draw_fit(self.page(), x + 8.0, y + 6.0, TEXT, c, cell, w - 16.0);
            x += w;
        }
        let width = PAGE_W as f32 - 2.0 * MARGIN;
        let yy = (y + ROW_H) as i64 - 1;
        draw::rect(self.page(), MARGIN as i64, yy, width as i64, 1, RULE);
        self.y += ROW_H;
    }

    fn picture(&mut self, img: &RgbaImage) {
        let h = img.height() as f32;
        self.need(h + 16.0);
        let x = (PAGE_W - img.width()) as i64 / 2;
        let y = self.y as i64 + 4;
        image::imageops::overlay(self.page(), img, x, y);
        self.y += h + 16.0;
    }
}

/// The bulletin as A4 pages (PNG-ready images); `heat` is the heatmap picture.
pub fn png_pages(b: &Bulletin, heat: Option<&RgbaImage>, font: &Font) -> Vec<RgbaImage> {
    let mut p = Pager {
        font,
        title: &b.title,
        pages: Vec::new(),
        y: 0.0,
    };
    p.new_page();
    // Title, centred, in the accent colour.
    let w = font.width(34.0, &b.title).min(PAGE_W as f32 - 2.0 * MARGIN);
    let x = (PAGE_W as f32 - w) / 2.0;
    font.draw_fit(
        p.page(),
        x,
        MARGIN,
        34.0,
        ACCENT,
        &b.title,
        PAGE_W as f32 - 2.0 * MARGIN,
    );
    p.y = MARGIN + 34.0 * 1.8;
    for l in &b.lead {
        p.text(20.0, INK, l);
    }
    for s in &b.sections {
        p.heading(&s.heading);
        for block in &s.blocks {
            match block {
                Block::Para(t) => p.text(TEXT, GREY, t),
                Block::Table(t) => p.table(t),
                Block::Heat => match heat {
                    Some(img) => p.picture(img),
                    None => p.text(TEXT, GREY, "本周无报告。"),
                },
            }
        }
    }
    p.pages
}

/// The deepest zoom (≤ 16) at which `bbox` spans at most 2.5 tiles each way, and the tile
/// holding its centre: the 3 × 3 mosaic around that tile shows all of it.
pub fn mosaic_view(bbox: Bbox) -> (u8, u32, u32) {
    let [cx, cy] = bbox.center();
    let frac = |lon: f64, lat: f64| {
        let r = lat.clamp(-85.0, 85.0).to_radians();
        (
            (lon + 180.0) / 360.0,
            (1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0,
        )
    };
    let (x0, y1) = frac(bbox.west, bbox.south);
    let (x1, y0) = frac(bbox.east, bbox.north);
    let mut z = 16u8;
    while z > 0 {
        let n = f64::from(1u32 << z);
        if (x1 - x0) * n <= 2.5 && (y1 - y0) * n <= 2.5 {
            break;
        }
        z -= 1;
    }
    let (x, y) = tile_of(cx, cy, z);
    (z, x, y)
}

/// The heatmap of 3 × 3 tiles at zoom `z` around tile `(x, y)` (768 px square) over a light
/// ground with a frame; `tile` renders one (transparent where there is nothing).
pub fn heat_mosaic(
    z: u8,
    x: u32,
    y: u32,
    tile: impl Fn(xuncha_tiles::TileCoord) -> RgbaImage,
) -> RgbaImage {
    let px = crate::analytics::heatmap::TILE_PX;
    let mut img = RgbaImage::from_pixel(3 * px, 3 * px, Rgba([238, 238, 246, 255]));
    let n = 1u32 << z;
    for dy in 0..3u32 {
        for dx in 0..3u32 {
            let (tx, ty) = ((x + n + dx - 1) % n, y + dy);
            if ty == 0 || ty > n {
                continue;
            }
            let Ok(c) = xuncha_tiles::TileCoord::new(z, tx, ty - 1) else {
                continue;
            };
            image::imageops::overlay(&mut img, &tile(c), (dx * px) as i64, (dy * px) as i64);
        }
    }
    let s = (3 * px) as f64 - 1.0;
    draw::ring_outline(
        &mut img,
        &[(0.0, 0.0), (s, 0.0), (s, s), (0.0, s), (0.0, 0.0)],
        2.0,
        GREY,
    );
    img
}

/// Characters of the bulletin the embedded font has no glyph for (drawn as boxes).
pub fn missing_glyphs(b: &Bulletin, font: &Font) -> Vec<char> {
    let mut text = b.title.clone();
    for l in &b.lead {
        text.push_str(l);
    }
    for s in &b.sections {
        text.push_str(&s.heading);
        for block in &s.blocks {
            match block {
                Block::Para(t) => text.push_str(t),
                Block::Table(t) => {
                    for h in &t.head {
                        text.push_str(h);
                    }
                    for (cells, _) in &t.rows {
                        for c in cells {
                            text.push_str(c);
                        }
                    }
                }
                Block::Heat => {}
            }
        }
    }
    let mut missing: Vec<char> = text
        .chars()
        .filter(|c| !c.is_whitespace() && !font.has_glyph(*c))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    missing
}

/// 1 for the week holding the campaign's first day.
fn week_number(s: &Summary, week: i64) -> i64 {
    let start = crate::campaign::parse_date(&s.campaign.start).unwrap_or(week);
    (week - start).div_euclid(7) + 1
}
