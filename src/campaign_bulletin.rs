//! The weekly bulletin (周报) of a campaign as printable A4 HTML, in Chinese: the week's figures
//! per day, target progress, the week's heatmap (an `<img>` of the heatmap tile around the
//! week's reports) and the 红黑榜 rankings of the campaign so far.

use crate::campaign::{date_string, RankRow, Summary};

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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

fn ranking(title: &str, rows: &[RankRow]) -> String {
    let mut out = format!(
        "<h2>{}</h2><table><tr><th>名次</th><th>名称</th><th>报告</th><th>已办结</th><th>办结率</th><th>按时率</th><th>重复</th><th></th></tr>",
        esc(title)
    );
    for (i, r) in rows.iter().enumerate() {
        let (class, mark) = if r.best {
            (" class=\"best\"", "红榜")
        } else if r.worst {
            (" class=\"worst\"", "黑榜")
        } else {
            ("", "")
        };
        out.push_str(&format!(
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{mark}</td></tr>",
            i + 1,
            esc(&r.label),
            r.total,
            r.closed,
            pct(Some(r.closed_share)),
            pct(Some(r.on_time_share)),
            r.repeats
        ));
    }
    out.push_str("</table>");
    out
}

fn patrols(s: &Summary) -> String {
    let Some(pc) = &s.patrol_coverage else {
        return String::new();
    };
    let mut out = format!(
        "<h2>巡查覆盖</h2><p>达标线：单日覆盖率 ≥ {}</p><table><tr><th>路线</th><th>队员</th><th>巡查天数</th><th>轨迹点</th><th>平均覆盖率</th><th>打卡</th></tr>",
        pct(Some(pc.threshold))
    );
    for r in &pc.routes {
        out.push_str(&format!(
            "<tr class=\"route\"><td>{}</td><td>全部</td><td>达标 {}/{} 天</td><td></td><td>{}</td><td>漏巡 {} 次</td></tr>",
            esc(&r.name),
            r.days_met,
            r.days,
            pct(Some(r.mean_share)),
            r.missed_windows
        ));
        for t in &r.teams {
            out.push_str(&format!(
                "<tr><td></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&t.user),
                t.days,
                t.points,
                pct(Some(t.mean_share)),
                t.checkins
            ));
        }
    }
    out.push_str("</table>");
    out
}

/// The bulletin of the week starting on day `week` (days since 1970-01-01), with the heatmap
/// tile `heat` (`z, x, y`) when the week has reports.
pub fn html(
    s: &Summary,
    week: i64,
    heat: Option<(u8, u32, u32)>,
    since: &str,
    until: &str,
) -> String {
    let c = &s.campaign;
    let title = format!("{}　第{}周工作简报", c.name, week_number(s, week));
    let from = date_string(week);
    let to = date_string(week + 6);
    let mut days = String::new();
    for d in s.days.iter().filter(|d| d.date >= from && d.date <= to) {
        days.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            d.date, d.found, d.closed, d.backlog
        ));
    }
    let targets: String = s
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
            format!("<tr><td>{name}</td><td>{value}</td><td>{target}</td><td>{met}</td></tr>")
        })
        .collect();
    let heat = match heat {
        Some((z, x, y)) => format!(
            "<img class=\"heat\" alt=\"本周热力图\" src=\"/heatmap/{z}/{x}/{y}.png?since={}&amp;until={}\" width=\"512\" height=\"512\">",
            esc(since),
            esc(until)
        ),
        None => "<p>本周无报告。</p>".into(),
    };
    format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{t}</title>
<style>
@page {{ size: A4; margin: 15mm; }}
body {{ font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; width: 180mm; margin: auto; color: #222; }}
h1 {{ font-size: 20pt; text-align: center; }} h2 {{ font-size: 13pt; border-bottom: 1px solid #999; }}
table {{ border-collapse: collapse; width: 100%; font-size: 10pt; }} td, th {{ border: 1px solid #bbb; padding: 2px 6px; }}
tr.best td {{ background: #fde2e2; font-weight: bold; }} tr.worst td {{ background: #333; color: #fff; }}
img.heat {{ display: block; margin: auto; border: 1px solid #999; background: #eef; }}
</style></head><body>
<h1>{t}</h1>
<p>{from} 至 {to}　剩余 {left} 天（共 {total} 天）　累计发现 {found}　已办结 {closed}　待办 {open}</p>
<h2>每日情况</h2><table><tr><th>日期</th><th>发现</th><th>办结</th><th>待办</th></tr>{days}</table>
<h2>目标进度</h2><table><tr><th>目标</th><th>当前</th><th>要求</th><th>结果</th></tr>{targets}</table>
<h2>本周热力图</h2>{heat}
{street}{community}{sector}{patrols}
</body></html>
"#,
        t = esc(&title),
        left = s.days_left,
        total = s.days_total,
        found = s.totals.found,
        closed = s.totals.closed,
        open = s.totals.open,
        street = ranking("街道红黑榜", &s.rankings.street),
        community = ranking("社区红黑榜", &s.rankings.community),
        sector = ranking("六域红黑榜", &s.rankings.sector),
        patrols = patrols(s),
    )
}

/// 1 for the week holding the campaign's first day.
fn week_number(s: &Summary, week: i64) -> i64 {
    let start = crate::campaign::parse_date(&s.campaign.start).unwrap_or(week);
    (week - start).div_euclid(7) + 1
}
