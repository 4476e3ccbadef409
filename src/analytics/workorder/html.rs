//! The work order as a self-contained printable HTML page (map and thumbnails inlined).

use super::{category_colour, hex, local_time, status_zh, WorkOrder};
use crate::analytics::html::escape as esc;
use crate::analytics::stats::sector_zh;
use base64::Engine;

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
