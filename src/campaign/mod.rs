//! Campaigns (百日攻坚): an admin-defined window of local dates with targets, and its summary —
//! days left, found / closed / open backlog per day with a burn-down to the end date, progress
//! against each target, and the ranking (红黑榜) of street offices, communities and sectors.
//!
//! Definitions used throughout:
//! - The window is every report created from `start` 00:00 to the end of `end` (local time at
//!   `config.city_utc_offset_s`). Rejected reports are not dirt found and count nowhere.
//! - *found* on a day: reports of the window created that day; *closed* on a day: reports of the
//!   window now `closed` whose last close fell on that day; *backlog* at the end of a day: found
//!   so far minus closed so far.
//! - *closure share*: reports now closed / reports; *on-time share*: reports none of whose stages
//!   ran late / reports (the `late` fact of the time limits).
//! - A *repeat* report is one filed within [`REPEAT_RADIUS_M`] of an earlier report of the same
//!   category in the same window (earlier: smaller `created_at`, then smaller id).

pub mod bulletin;
pub mod service;

use crate::audit::Actor;
use crate::crs::geodesy::LocalMetres;
use crate::report::Category;
use crate::scope::Visibility;
use crate::store::campaigns::{self as sql, Campaign, Targets};
use crate::store::stats::{self as stats_sql, FactKey, ReportFilter};
use crate::store::{Conn, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// Metres within which a later report of the same category is a repeat.
pub const REPEAT_RADIUS_M: f64 = 50.0;
use crate::time::{city_day, city_midnight};
/// Longest campaign window, days.
pub const MAX_DAYS: i64 = 366;

/// What a campaign write can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// The input is wrong: message, machine code, its parameters.
    #[error("{0}")]
    Invalid(String, &'static str, Value),
    #[error("campaign {0} does not exist")]
    NotFound(i64),
    #[error("page {page} does not exist: the bulletin has {pages} page(s)")]
    NoPage { page: usize, pages: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The patrol coverage of the summary failed.
    #[error(transparent)]
    Patrol(#[from] crate::patrol::service::PatrolError),
    /// A rendering task panicked or was cancelled.
    #[error("{0}")]
    Task(String),
}

impl From<crate::store::db::DbError> for CampaignError {
    fn from(e: crate::store::db::DbError) -> Self {
        CampaignError::Store(e.into())
    }
}

/// The body of `POST /api/campaigns` and `PUT /api/campaigns/{id}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    pub name: String,
    pub start: String,
    pub end: String,
    pub targets: Targets,
}

fn invalid(msg: impl Into<String>, code: &'static str, params: Value) -> CampaignError {
    CampaignError::Invalid(msg.into(), code, params)
}

/// Days since 1970-01-01 of a strict `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i32 = s[0..4].parse().ok()?;
    let m: u8 = s[5..7].parse().ok()?;
    let d: u8 = s[8..10].parse().ok()?;
    let date = time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()?;
    Some(i64::from(date.to_julian_day()) - 2_440_588)
}

/// The campaign's days so far, as day numbers `(start, min(today, end))`; `None` before it
/// begins or when its dates are unreadable.
pub fn days_so_far(c: &Campaign, now_ms: i64, utc_offset_s: i32) -> Option<(i64, i64)> {
    let today = city_day(now_ms, i64::from(utc_offset_s) * 1000);
    let (start, end) = (parse_date(&c.start)?, parse_date(&c.end)?);
    (today >= start).then_some((start, today.min(end)))
}

/// `YYYY-MM-DD` of a day number.
pub fn date_string(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day * 86_400)
        .map(|t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
        .unwrap_or_default()
}

impl NewCampaign {
    /// Checks the fields; returns the start and end day numbers.
    pub fn validate(&self) -> Result<(i64, i64), CampaignError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(invalid(
                "name must have 1 to 200 characters",
                "campaign_bad_name",
                json!({"max": 200}),
            ));
        }
        let date = |field: &'static str, v: &str| {
            parse_date(v).ok_or_else(|| {
                invalid(
                    format!("{field}={v:?} is not a date; use YYYY-MM-DD"),
                    "campaign_bad_date",
                    json!({"field": field, "value": v}),
                )
            })
        };
        let (s, e) = (date("start", &self.start)?, date("end", &self.end)?);
        if e < s || e - s + 1 > MAX_DAYS {
            return Err(invalid(
                format!(
                    "end must be on or after start and the window at most {MAX_DAYS} days long"
                ),
                "campaign_bad_window",
                json!({"start": self.start, "end": self.end, "max_days": MAX_DAYS}),
            ));
        }
        let t = &self.targets;
        for (field, v) in [
            ("closed_share_min", t.closed_share_min),
            ("on_time_share_min", t.on_time_share_min),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(invalid(
                    format!("targets.{field} must be a share from 0 to 1, not {v}"),
                    "campaign_bad_target",
                    json!({"field": field, "value": v}),
                ));
            }
        }
        if t.no_recurring_hotspot_days as i64 > MAX_DAYS {
            return Err(invalid(
                format!("targets.no_recurring_hotspot_days must be at most {MAX_DAYS}"),
                "campaign_bad_target",
                json!({"field": "no_recurring_hotspot_days", "value": t.no_recurring_hotspot_days}),
            ));
        }
        Ok((s, e))
    }
}

fn audit_summary(c: &Campaign) -> Value {
    json!({"name": c.name, "start": c.start, "end": c.end, "targets": c.targets})
}

/// Stores a new campaign and audits it, in one transaction.
pub fn create(c: &dyn Conn, actor: &Actor, n: &NewCampaign) -> Result<Campaign, CampaignError> {
    n.validate()?;
    let id = sql::insert(
        c,
        n.name.trim(),
        &n.start,
        &n.end,
        &n.targets,
        actor.username(),
    )?;
    let stored = sql::get(c, id)?.ok_or(CampaignError::NotFound(id))?;
    crate::audit::record(
        c,
        actor,
        "campaign.create",
        Some(&format!("campaign:{id}")),
        audit_summary(&stored),
    )?;
    Ok(stored)
}

/// Replaces a campaign and audits it.
pub fn update(
    c: &dyn Conn,
    actor: &Actor,
    id: i64,
    n: &NewCampaign,
) -> Result<Campaign, CampaignError> {
    n.validate()?;
    if !sql::update(
        c,
        id,
        n.name.trim(),
        &n.start,
        &n.end,
        &n.targets,
        actor.username(),
    )? {
        return Err(CampaignError::NotFound(id));
    }
    let stored = sql::get(c, id)?.ok_or(CampaignError::NotFound(id))?;
    crate::audit::record(
        c,
        actor,
        "campaign.update",
        Some(&format!("campaign:{id}")),
        audit_summary(&stored),
    )?;
    Ok(stored)
}

/// Deletes a campaign and audits it.
pub fn delete(c: &dyn Conn, actor: &Actor, id: i64) -> Result<(), CampaignError> {
    let old = sql::get(c, id)?.ok_or(CampaignError::NotFound(id))?;
    sql::delete(c, id)?;
    crate::audit::record(
        c,
        actor,
        "campaign.delete",
        Some(&format!("campaign:{id}")),
        audit_summary(&old),
    )?;
    Ok(())
}

/// One day of the campaign chart.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DayRow {
    pub date: String,
    pub found: u64,
    pub closed: u64,
    /// Open at the end of the day: found so far minus closed so far.
    pub backlog: i64,
}

/// One point of the burn-down line.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BurnPoint {
    pub date: String,
    pub backlog: f64,
}

/// Progress against one target.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetProgress {
    /// `closed_share_min`, `on_time_share_min` or `no_recurring_hotspot_days`.
    pub id: &'static str,
    /// `None` when there is nothing to measure yet.
    pub value: Option<f64>,
    pub target: f64,
    pub met: Option<bool>,
}

/// One row of a ranking (红黑榜).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RankRow {
    /// Zone id or sector id.
    pub key: String,
    pub label: String,
    /// Reports of the window (rejected aside).
    pub total: u64,
    pub closed: u64,
    pub closed_share: f64,
    pub on_time_share: f64,
    /// Repeat reports in this zone or sector.
    pub repeats: u64,
    /// First of the ranking (红榜).
    pub best: bool,
    /// Last of the ranking (黑榜); only when there are two rows or more.
    pub worst: bool,
}

/// The rankings: by closure share (descending), then on-time share (descending), then repeats
/// (ascending), then key.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rankings {
    pub street: Vec<RankRow>,
    pub community: Vec<RankRow>,
    pub sector: Vec<RankRow>,
}

/// Window totals.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Totals {
    pub found: u64,
    pub closed: u64,
    pub open: u64,
    pub repeats: u64,
}

/// `GET /api/campaigns/{id}/summary`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub campaign: Campaign,
    /// Today's local date.
    pub today: String,
    pub days_total: i64,
    /// Campaign days from today (counted) to the end, clamped to `0..=days_total`.
    pub days_left: i64,
    /// `start` up to today or `end`, whichever comes first.
    pub days: Vec<DayRow>,
    /// From the last chart day's backlog down to 0 at the end date (empty when the campaign is
    /// over or not begun).
    pub burndown: Vec<BurnPoint>,
    /// Reports to close per day to reach 0 by the end date.
    pub burndown_rate_per_day: Option<f64>,
    pub totals: Totals,
    pub targets: Vec<TargetProgress>,
    pub rankings: Rankings,
    /// Patrol coverage per route and team over the campaign days so far (filled in by the
    /// caller, which holds the routes; `None` only from [`summary`] itself).
    pub patrol_coverage: Option<crate::patrol::service::CampaignCoverage>,
}

#[derive(Default)]
struct Acc {
    total: u64,
    closed: u64,
    late: u64,
    repeats: u64,
}

impl Acc {
    fn row(&self, key: String, label: String) -> RankRow {
        let share = |n: u64| {
            if self.total == 0 {
                0.0
            } else {
                (n as f64 / self.total as f64 * 1000.0).round() / 1000.0
            }
        };
        RankRow {
            key,
            label,
            total: self.total,
            closed: self.closed,
            closed_share: share(self.closed),
            on_time_share: share(self.total - self.late),
            repeats: self.repeats,
            best: false,
            worst: false,
        }
    }
}

fn rank(mut rows: Vec<RankRow>) -> Vec<RankRow> {
    rows.sort_by(|a, b| {
        b.closed_share
            .total_cmp(&a.closed_share)
            .then(b.on_time_share.total_cmp(&a.on_time_share))
            .then(a.repeats.cmp(&b.repeats))
            .then_with(|| a.key.cmp(&b.key))
    });
    let n = rows.len();
    if let Some(first) = rows.first_mut() {
        first.best = true;
    }
    if n >= 2 {
        rows[n - 1].worst = true;
    }
    rows
}

/// A report as the repeat search sees it.
#[derive(Debug, Clone, Copy)]
struct RepeatRow {
    id: i64,
    lon: f64,
    lat: f64,
    category: Category,
}

/// Where reports are, `[lon, lat]` by id (`None`: not known there; the store is asked then).
/// The server passes its in-memory report points, so the repeat search reads no report rows.
pub type Positions<'a> = &'a dyn Fn(&[i64]) -> Vec<Option<(f64, f64)>>;

/// A 50 m cell of one category, as one key: category in the top byte, then 28 bits for each
/// cell coordinate (±134 000 km; the city is a few hundred cells across).
fn cell_key(category: Category, cx: i64, cy: i64) -> u64 {
    const MASK: u64 = (1 << 28) - 1;
    ((category as u64) << 56) | (((cx as u64) & MASK) << 28) | ((cy as u64) & MASK)
}

/// A hasher for keys that are already well spread (a multiply and a rotate).
#[derive(Default)]
struct CellHasher(u64);

impl std::hash::Hasher for CellHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

type CellMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<CellHasher>>;

/// Ids of the repeat reports among `rows` (oldest first), by a 50 m grid hash per category.
fn repeats(rows: &[RepeatRow]) -> HashSet<i64> {
    let mut out = HashSet::new();
    let Some(first) = rows.first() else {
        return out;
    };
    let proj = LocalMetres::new(first.lon, first.lat);
    let mut cells: CellMap<Vec<(f64, f64)>> = CellMap::default();
    for r in rows {
        let p = proj.project(geo::Coord { x: r.lon, y: r.lat });
        let (cx, cy) = (
            (p.x / REPEAT_RADIUS_M).floor() as i64,
            (p.y / REPEAT_RADIUS_M).floor() as i64,
        );
        let mut hit = false;
        'search: for dx in -1..=1 {
            for dy in -1..=1 {
                if let Some(v) = cells.get(&cell_key(r.category, cx + dx, cy + dy)) {
                    if v.iter().any(|&(x, y)| {
                        (x - p.x).powi(2) + (y - p.y).powi(2) <= REPEAT_RADIUS_M.powi(2)
                    }) {
                        hit = true;
                        break 'search;
                    }
                }
            }
        }
        if hit {
            out.insert(r.id);
        }
        cells
            .entry(cell_key(r.category, cx, cy))
            .or_default()
            .push((p.x, p.y));
    }
    out
}

/// The summary of `c` for a reader who sees `visibility`, at `now_ms`.
pub fn summary(
    conn: &dyn Conn,
    c: Campaign,
    visibility: Visibility,
    now_ms: i64,
    utc_offset_s: i32,
    positions: Positions,
) -> crate::store::Result<Summary> {
    let off = utc_offset_s as i64 * 1000;
    let (start, end) = match (parse_date(&c.start), parse_date(&c.end)) {
        (Some(s), Some(e)) => (s, e),
        _ => {
            return Err(StoreError::Conflict(format!(
                "campaign {} has unreadable dates",
                c.id
            )))
        }
    };
    let today = city_day(now_ms, off);
    let days_total = end - start + 1;
    let days_left = (end - today + 1).clamp(0, days_total);
    let filter = ReportFilter {
        since: Some(city_midnight(start, off)),
        until: Some(city_midnight(end + 1, off)),
        categories: vec![],
        statuses: vec![],
        visibility,
    };
    let day_of = |ms: i64| city_day(ms, off);

    // Per day and per sector, from one pass over the facts; what the repeat search needs
    // besides positions is kept on the way, sectors as numbers.
    let n_days = days_total as usize;
    let mut found = vec![0u64; n_days];
    let mut closed = vec![0u64; n_days];
    let mut total = Acc::default();
    let mut sector_names: Vec<String> = Vec::new();
    let mut sector_accs: Vec<Acc> = Vec::new();
    // (id, category, created_at, sector number) of every report that is not rejected.
    let mut kept: Vec<(i64, Category, i64, Option<u16>)> = Vec::new();
    stats_sql::scan_reports(conn, &filter, FactKey::Sector, |r| {
        if r.status == "rejected" {
            return;
        }
        let is_closed = r.status == "closed";
        let d = day_of(r.created_at) - start;
        if (0..days_total).contains(&d) {
            found[d as usize] += 1;
        }
        if let (true, Some(at)) = (is_closed, r.closed_at) {
            let d = day_of(at) - start;
            if (0..days_total).contains(&d) {
                closed[d as usize] += 1;
            }
        }
        let sector = r
            .key
            .map(|k| match sector_names.iter().position(|n| n == k) {
                Some(i) => i as u16,
                None => {
                    sector_names.push(k.to_string());
                    sector_accs.push(Acc::default());
                    (sector_names.len() - 1) as u16
                }
            });
        if let Ok(category) = r.category.parse::<Category>() {
            kept.push((r.id, category, r.created_at, sector));
        }
        for a in [
            Some(&mut total),
            sector.map(|i| &mut sector_accs[i as usize]),
        ]
        .into_iter()
        .flatten()
        {
            a.total += 1;
            a.closed += u64::from(is_closed);
            a.late += u64::from(r.late);
        }
    })?;

    // Grid zones (street offices and communities): one pass over their stored matches, keeping
    // which report lies in which zone for the repeats.
    let grid: HashMap<String, sql::GridZone> = sql::grid_zones(conn)?
        .into_iter()
        .map(|z| (z.id.clone(), z))
        .collect();
    let mut zone_ix: HashMap<String, u32> = HashMap::new();
    let mut zone_accs: Vec<(String, Acc)> = Vec::new();
    let mut in_zone: Vec<(i64, u32)> = Vec::new();
    stats_sql::scan_zone_matches(conn, &filter, Some("grid"), |r| {
        if r.status == "rejected" {
            return;
        }
        let Some(k) = r.key else { return };
        let i = match zone_ix.get(k) {
            Some(&i) => i,
            None => {
                zone_accs.push((k.to_string(), Acc::default()));
                let i = (zone_accs.len() - 1) as u32;
                zone_ix.insert(k.to_string(), i);
                i
            }
        };
        in_zone.push((r.id, i));
        let a = &mut zone_accs[i as usize].1;
        a.total += 1;
        a.closed += u64::from(r.status == "closed");
        a.late += u64::from(r.late);
    })?;

    // Repeats, oldest first, at the positions the caller knows (the store is asked for the rest).
    kept.sort_unstable_by_key(|k| (k.2, k.0));
    let ids: Vec<i64> = kept.iter().map(|k| k.0).collect();
    let mut at = positions(&ids);
    at.resize(ids.len(), None);
    let missing: Vec<i64> = ids
        .iter()
        .zip(&at)
        .filter(|(_, p)| p.is_none())
        .map(|(id, _)| *id)
        .collect();
    let from_store: HashMap<i64, (f64, f64)> = sql::positions(conn, &missing)?;
    let rows: Vec<RepeatRow> = kept
        .iter()
        .zip(&at)
        .filter_map(|(k, p)| {
            let (lon, lat) = p.or_else(|| from_store.get(&k.0).copied())?;
            Some(RepeatRow {
                id: k.0,
                lon,
                lat,
                category: k.1,
            })
        })
        .collect();
    let rep = repeats(&rows);
    let mut last_repeat_day: Option<i64> = None;
    for k in kept.iter().filter(|k| rep.contains(&k.0)) {
        total.repeats += 1;
        if let Some(s) = k.3 {
            sector_accs[s as usize].repeats += 1;
        }
        last_repeat_day = Some(last_repeat_day.map_or(day_of(k.2), |d: i64| d.max(day_of(k.2))));
    }
    for (id, i) in &in_zone {
        if rep.contains(id) {
            zone_accs[*i as usize].1.repeats += 1;
        }
    }
    let zones: HashMap<String, Acc> = zone_accs.into_iter().collect();
    let sectors: HashMap<String, Acc> = sector_names.into_iter().zip(sector_accs).collect();

    // The chart up to today or the end.
    let shown = (today.min(end) - start + 1).clamp(0, days_total);
    let mut days = Vec::with_capacity(shown as usize);
    let mut backlog = 0i64;
    for i in 0..shown as usize {
        backlog += found[i] as i64 - closed[i] as i64;
        days.push(DayRow {
            date: date_string(start + i as i64),
            found: found[i],
            closed: closed[i],
            backlog,
        });
    }
    let (mut burndown, mut rate) = (Vec::new(), None);
    if shown > 0 && shown < days_total {
        let last = start + shown - 1;
        let remaining = (end - last) as f64;
        let r = backlog.max(0) as f64 / remaining;
        rate = Some((r * 100.0).round() / 100.0);
        for i in 0..=(end - last) {
            burndown.push(BurnPoint {
                date: date_string(last + i),
                backlog: ((backlog.max(0) as f64 - r * i as f64).max(0.0) * 100.0).round() / 100.0,
            });
        }
    }

    let share = |n: u64| (total.total > 0).then(|| n as f64 / total.total as f64);
    let closed_share = share(total.closed).map(|v| (v * 1000.0).round() / 1000.0);
    let on_time = share(total.total - total.late).map(|v| (v * 1000.0).round() / 1000.0);
    let quiet_days = (shown > 0).then(|| {
        let last = start + shown - 1;
        match last_repeat_day {
            Some(d) => (last - d) as f64,
            None => shown as f64,
        }
    });
    let t = c.targets;
    let targets = vec![
        TargetProgress {
            id: "closed_share_min",
            value: closed_share,
            target: t.closed_share_min,
            met: closed_share.map(|v| v >= t.closed_share_min),
        },
        TargetProgress {
            id: "on_time_share_min",
            value: on_time,
            target: t.on_time_share_min,
            met: on_time.map(|v| v >= t.on_time_share_min),
        },
        TargetProgress {
            id: "no_recurring_hotspot_days",
            value: quiet_days,
            target: t.no_recurring_hotspot_days as f64,
            met: quiet_days.map(|v| v >= t.no_recurring_hotspot_days as f64),
        },
    ];

    let mut street = Vec::new();
    let mut community = Vec::new();
    for (id, a) in &zones {
        let Some(z) = grid.get(id) else { continue };
        let row = a.row(id.clone(), z.name.clone());
        match z.level.as_deref() {
            Some("street") => street.push(row),
            Some("community") => community.push(row),
            _ => {}
        }
    }
    let sector = sectors
        .iter()
        .filter(|(k, a)| crate::analytics::stats::sector_zh(k) != k.as_str() && a.total > 0)
        .map(|(k, a)| a.row(k.clone(), crate::analytics::stats::sector_zh(k).to_string()))
        .collect();

    Ok(Summary {
        today: date_string(today),
        days_total,
        days_left,
        days,
        burndown,
        burndown_rate_per_day: rate,
        totals: Totals {
            found: total.total,
            closed: total.closed,
            open: total.total - total.closed,
            repeats: total.repeats,
        },
        targets,
        rankings: Rankings {
            street: rank(street),
            community: rank(community),
            sector: rank(sector),
        },
        patrol_coverage: None,
        campaign: c,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("1970-01-02"), Some(1));
        let d = parse_date("2026-02-28").unwrap();
        assert_eq!(date_string(d), "2026-02-28");
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("2026-2-3"), None);
    }

    #[test]
    fn repeats_within_50_m_same_category() {
        let r = |id, lon, category| RepeatRow {
            id,
            lon,
            lat: 41.94,
            category,
        };
        // 1° of longitude at 41.94° N is about 82.9 km: 0.0003° ≈ 25 m, 0.001° ≈ 83 m.
        let rows = vec![
            r(1, 126.4, Category::Garbage),
            r(2, 126.4003, Category::Garbage),
            r(3, 126.4003, Category::Weeds),
            r(4, 126.402, Category::Garbage),
        ];
        let got = repeats(&rows);
        assert_eq!(got, HashSet::from([2]));
    }
}
