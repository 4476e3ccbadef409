//! Reports, their events and photo links in SQLite.
//!
//! The zones a report matched and its responsible owner are written once, at submission, as
//! JSON (and as `report_zones` rows for `zone=` queries); later zone edits never touch them.

use super::db::{Backend, Conn, Sql};
use super::photos::PhotoRow;
use super::{Result, StoreError};
use crate::args;
use crate::crs::geodesy::LocalMetres;
use crate::crs::Bbox;
use crate::report::view::{EventView, LonLat, PhotoRef, ReportView};
use crate::report::{Category, RejectReason, Status};
use crate::scope::Visibility;
use crate::zone::responsibility::{Level, PointAnswer, Responsible};
use serde::Serialize;
use serde_json::Value;

/// A report about to be stored.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub client_id: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub accuracy_m: Option<f64>,
    /// `client` (from lon/lat) or `exif` (from the first photo).
    pub location_source: &'static str,
    /// The datum the client used: `wgs84` or `gcj02` (already converted).
    pub crs: &'static str,
    pub category: Category,
    pub note: Option<String>,
    pub captured_at: i64,
    pub created_at: i64,
    pub created_by: String,
    /// Whom the point matched at submission (never recomputed).
    pub matched: Matched,
    /// When the first stage (dispatch) is due, Unix ms; `None` without a time limit.
    pub due_at: Option<i64>,
    pub photos: Vec<PhotoRow>,
}

/// A point's match as stored with a report.
#[derive(Debug, Clone, Default)]
pub struct Matched {
    /// `/api/match` `matches`.
    pub zones: Value,
    /// Zone ids of the matches and whether the point is inside each.
    pub zone_ids: Vec<(String, bool)>,
    pub responsible: Option<Responsible>,
    pub escalation: Vec<Level>,
    pub ambiguous: bool,
}

impl From<&PointAnswer> for Matched {
    fn from(a: &PointAnswer) -> Self {
        Matched {
            zones: serde_json::to_value(&a.matches).unwrap_or_default(),
            zone_ids: a
                .matches
                .iter()
                .map(|m| (m.zone.id.clone(), m.inside))
                .collect(),
            responsible: a.responsible.clone(),
            escalation: a.escalation.clone(),
            ambiguous: a.ambiguous,
        }
    }
}

/// Outcome of [`insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Created(i64),
    /// A report with the same `client_id` already exists: nothing was written.
    Existing(i64),
}

/// The rule for possible duplicates: open reports of a category within a radius and time.
#[derive(Debug, Clone, Copy)]
pub struct DuplicateRule {
    pub radius_m: f64,
    pub window_ms: i64,
}

fn parse<T: std::str::FromStr<Err = crate::problem::Problem>>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|e: crate::problem::Problem| StoreError::Corrupt(format!("stored value: {e}")))
}

fn json(s: Option<&str>) -> Result<Option<Value>> {
    s.map(|s| serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("stored JSON: {e}"))))
        .transpose()
}

fn text(r: &dyn super::db::Row, i: usize) -> super::db::DbResult<&str> {
    Ok(r.str(i)?.unwrap_or(""))
}

/// Stores a new report with its zones, photos and first event; a `client_id` seen before makes
/// it [`Inserted::Existing`] and writes nothing. The UNIQUE constraint decides, so two racing
/// requests with the same `client_id` cannot both create a report.
pub fn insert(conn: &dyn Conn, r: &NewReport, rule: DuplicateRule) -> Result<Inserted> {
    let duplicates: Vec<i64> = nearby(
        conn,
        r.lon,
        r.lat,
        r.category,
        rule.radius_m,
        r.created_at - rule.window_ms,
    )?
    .iter()
    .map(|n| n.id)
    .collect();
    let m = &r.matched;
    let resp = m.responsible.as_ref();
    let owner = resp.map(|r| r.owner.name.clone());
    let sector = resp.map(|r| r.owner.sector.as_str());
    let zone_id = resp.map(|r| r.zone_id.clone());
    let id: Option<i64> = conn.query_opt(
        "INSERT INTO reports (client_id, lon, lat, accuracy_m, location_source, crs, category, status,
            note, captured_at, created_at, created_by, updated_at, zones, responsible, ambiguous, duplicates,
            responsible_owner, responsible_sector, responsible_zone_id, escalation_chain, due_at, sweep_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'reported', $8, $9, $10, $11, $10, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20)
         ON CONFLICT (client_id) DO NOTHING RETURNING id",
        args![
            r.client_id.as_deref(),
            r.lon,
            r.lat,
            r.accuracy_m,
            r.location_source,
            r.crs,
            r.category.as_str(),
            r.note.as_deref(),
            r.captured_at,
            r.created_at,
            r.created_by.as_str(),
            m.zones.to_string(),
            resp.and_then(|v| serde_json::to_string(v).ok()),
            m.ambiguous,
            serde_json::to_string(&duplicates).unwrap_or_else(|_| "[]".into()),
            owner.clone(),
            sector,
            zone_id,
            serde_json::to_string(&m.escalation).unwrap_or_else(|_| "[]".into()),
            r.due_at,
        ],
        |row| row.get(0),
    )?;
    let Some(id) = id else {
        let cid = r.client_id.as_deref().unwrap_or_default();
        let existing = by_client_id(conn, cid)?.ok_or_else(|| {
            StoreError::Conflict(format!("report with client_id {cid:?} vanished"))
        })?;
        return Ok(Inserted::Existing(existing));
    };
    // The statistics' fact rows, in the same transaction (see store/stats.rs).
    conn.execute(
        "INSERT INTO stat_reports (report_id, created_at, category, status, owner, sector, closed_at)
         VALUES ($1, $2, $3, 'reported', $4, $5, NULL)",
        args![id, r.created_at, r.category.as_str(), owner.as_deref(), sector],
    )?;
    super::rollups::shift(
        conn,
        &super::rollups::Fact {
            report: id,
            created_at: r.created_at,
            category: r.category.as_str().to_string(),
            status: "reported".into(),
            sector: sector.map(str::to_string),
            closed_at: None,
            late: false,
            overdue: false,
        },
        1,
    )?;
    for (zone, inside) in &m.zone_ids {
        conn.execute(
            "INSERT INTO report_zones (zone_id, report_id, inside) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            args![zone.as_str(), id, *inside],
        )?;
        conn.execute(
            "INSERT INTO stat_zone_reports (report_id, zone_id, kind, created_at, category, status, closed_at)
             SELECT $1, $2, COALESCE((SELECT kind FROM zones WHERE id = $2), ''), $3, $4, 'reported', NULL
             ON CONFLICT DO NOTHING",
            args![id, zone.as_str(), r.created_at, r.category.as_str()],
        )?;
    }
    conn.execute(
        "INSERT INTO report_events (report_id, at, username, from_status, to_status) VALUES ($1, $2, $3, NULL, 'reported')",
        args![id, r.created_at, r.created_by.as_str()],
    )?;
    attach_photos(conn, id, None, &r.photos, r.created_at)?;
    Ok(Inserted::Created(id))
}

/// Links photos to a report (after the ones it has), recording their rows first.
pub fn attach_photos(
    conn: &dyn Conn,
    report: i64,
    event: Option<i64>,
    photos: &[PhotoRow],
    now: i64,
) -> Result<()> {
    if photos.is_empty() {
        return Ok(());
    }
    let start: i64 = conn.query_scalar(
        "SELECT COALESCE(MAX(position) + 1, 0) FROM report_photos WHERE report_id = $1",
        args![report],
    )?;
    for (i, p) in photos.iter().enumerate() {
        super::photos::insert(conn, p, now)?;
        conn.execute(
            "INSERT INTO report_photos (report_id, position, photo_id, event_id) VALUES ($1, $2, $3, $4)",
            args![report, start + i as i64, p.id.as_str(), event],
        )?;
    }
    Ok(())
}

/// A report's current status, or `NotFound`.
pub fn status(conn: &dyn Conn, id: i64) -> Result<Status> {
    conn.query_opt("SELECT status FROM reports WHERE id = $1", args![id], |r| {
        r.get::<String>(0)
    })?
    .map(|s| parse(&s))
    .transpose()?
    .ok_or_else(|| StoreError::NotFound {
        what: "report",
        id: id.to_string(),
    })
}

/// A status change to record.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub report: i64,
    pub from: Status,
    pub to: Status,
    pub user: &'a str,
    pub note: Option<&'a str>,
    pub reason: Option<RejectReason>,
    pub photos: &'a [PhotoRow],
    pub at: i64,
    /// When the new stage is due; `None` when finished.
    pub due_at: Option<i64>,
    /// Dispatched to this organisation (kept as it was when `None`).
    pub assign_to: Option<String>,
    /// The original, when rejected as a duplicate.
    pub duplicate_of: Option<i64>,
}

/// Applies a status change already checked against the rules; returns the event id.
pub fn apply_change(conn: &dyn Conn, c: &Change) -> Result<i64> {
    // A new stage starts on time: due again, not overdue, swept when due.
    let changed = conn.execute(
        "UPDATE reports SET status = $2, reject_reason = $3, updated_at = $4, due_at = $6, sweep_at = $6,
                overdue = $7, assigned_owner = COALESCE($8, assigned_owner), duplicate_of = $9
         WHERE id = $1 AND status = $5",
        args![
            c.report,
            c.to.as_str(),
            c.reason.map(|r| r.as_str()),
            c.at,
            c.from.as_str(),
            c.due_at,
            false,
            c.assign_to.as_deref(),
            c.duplicate_of
        ],
    )?;
    if changed != 1 {
        return Err(StoreError::Conflict(format!(
            "report {} is no longer {}; reload it",
            c.report, c.from
        )));
    }
    let closed_at = (c.to == Status::Closed).then_some(c.at);
    let old = if super::rollups::kept(conn) {
        super::rollups::Fact::of(conn, c.report)?
    } else {
        None
    };
    for table in ["stat_reports", "stat_zone_reports"] {
        conn.execute(
            &format!(
                "UPDATE {table} SET status = $2, closed_at = $3, overdue = $4 WHERE report_id = $1"
            ),
            args![c.report, c.to.as_str(), closed_at, false],
        )?;
    }
    if let Some(old) = old {
        let new = super::rollups::Fact {
            status: c.to.as_str().to_string(),
            closed_at,
            overdue: false,
            ..old.clone()
        };
        super::rollups::replace(conn, &old, &new)?;
    }
    let event: i64 = conn.query_scalar(
        "INSERT INTO report_events (report_id, at, username, from_status, to_status, note, reason, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        args![
            c.report,
            c.at,
            c.user,
            c.from.as_str(),
            c.to.as_str(),
            c.note,
            c.reason.map(|r| r.as_str()),
            c.assign_to
                .as_ref()
                .map(|o| serde_json::json!({"assigned_to": o}).to_string())
        ],
    )?;
    attach_photos(conn, c.report, Some(event), c.photos, c.at)?;
    Ok(event)
}

/// The id of the report with this `client_id`.
pub fn by_client_id(conn: &dyn Conn, client_id: &str) -> Result<Option<i64>> {
    Ok(conn.query_opt(
        "SELECT id FROM reports WHERE client_id = $1",
        args![client_id],
        |r| r.get(0),
    )?)
}

/// A report, with its events when `with_events`.
pub fn get(conn: &dyn Conn, id: i64, with_events: bool) -> Result<Option<ReportView>> {
    let mut row = None;
    conn.for_each(
        "SELECT id, client_id, lon, lat, accuracy_m, location_source, category, status, reject_reason,
                note, captured_at, created_at, updated_at, created_by, zones, responsible, ambiguous, duplicates,
                assigned_owner, due_at, overdue, escalated_to, escalation_chain, duplicate_of
         FROM reports WHERE id = $1",
        args![id],
        &mut |r| {
            row = Some((|| -> Result<ReportView> {
                Ok(ReportView {
                    id: r.get(0)?,
                    client_id: r.get(1)?,
                    location: LonLat {
                        lon: r.get(2)?,
                        lat: r.get(3)?,
                    },
                    accuracy_m: r.get(4)?,
                    location_source: r.get(5)?,
                    category: parse(text(r, 6)?)?,
                    status: parse(text(r, 7)?)?,
                    reject_reason: r.str(8)?.map(parse).transpose()?,
                    note: r.get(9)?,
                    captured_at: crate::time::to_rfc3339(r.get(10)?),
                    created_at: crate::time::to_rfc3339(r.get(11)?),
                    updated_at: crate::time::to_rfc3339(r.get(12)?),
                    created_by: r.get(13)?,
                    zones: json(r.str(14)?)?.unwrap_or(Value::Array(vec![])),
                    responsible: json(r.str(15)?)?,
                    ambiguous: r.get(16)?,
                    photos: Vec::new(),
                    possible_duplicates: json(r.str(17)?)?
                        .and_then(|v| serde_json::from_value(v).ok())
                        .unwrap_or_default(),
                    assigned_to: r.get(18)?,
                    due_at: r.get::<Option<i64>>(19)?.map(crate::time::to_rfc3339),
                    overdue: r.get(20)?,
                    escalated_to: r.get(21)?,
                    escalation: json(r.str(22)?)?.unwrap_or(Value::Array(vec![])),
                    duplicate_of: r.get(23)?,
                    duplicated_by: Vec::new(),
                    events: None,
                })
            })());
            Ok(())
        },
    )?;
    let Some(mut view) = row.transpose()? else {
        return Ok(None);
    };
    let photos: Vec<(PhotoRef, Option<i64>)> = conn.query_vec(
        "SELECT rp.photo_id, p.width, p.height, rp.event_id FROM report_photos rp JOIN photos p ON p.id = rp.photo_id
         WHERE rp.report_id = $1 ORDER BY rp.position",
        args![id],
        |r| Ok((PhotoRef::new(r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?)),
    )?;
    view.photos = photos
        .iter()
        .filter(|p| p.1.is_none())
        .map(|p| p.0.clone())
        .collect();
    if with_events {
        view.duplicated_by = conn.query_vec(
            "SELECT id FROM reports WHERE duplicate_of = $1 ORDER BY id",
            args![id],
            |r| r.get(0),
        )?;
        let mut events = Vec::new();
        conn.for_each(
            "SELECT id, at, username, from_status, to_status, note, reason, kind, data FROM report_events WHERE report_id = $1 ORDER BY id",
            args![id],
            &mut |r| {
                let eid: i64 = r.get(0)?;
                events.push((|| -> Result<EventView> {
                    Ok(EventView {
                        id: eid,
                        kind: r.get(7)?,
                        data: json(r.str(8)?)?,
                        at: crate::time::to_rfc3339(r.get(1)?),
                        user: r.get(2)?,
                        from: r.str(3)?.map(parse).transpose()?,
                        to: parse(text(r, 4)?)?,
                        note: r.get(5)?,
                        reason: r.str(6)?.map(parse).transpose()?,
                        photos: photos
                            .iter()
                            .filter(|p| p.1 == Some(eid))
                            .map(|p| p.0.clone())
                            .collect(),
                    })
                })());
                Ok(())
            },
        )?;
        view.events = Some(events.into_iter().collect::<Result<Vec<_>>>()?);
    }
    Ok(Some(view))
}

/// An open report near a point.
#[derive(Debug, Clone, Serialize)]
pub struct Near {
    pub id: i64,
    /// Metres from the query point, on the ellipsoid's local tangent plane.
    pub distance_m: f64,
    pub location: LonLat,
    pub category: Category,
    pub status: Status,
    pub created_at: String,
    pub note: Option<String>,
}

/// Open reports of `category` within `radius_m` metres of `[lon, lat]` created at or after
/// `since_ms`, nearest first. The bounding box in degrees only narrows the index scan; the
/// distance test is in metres.
pub fn nearby(
    conn: &dyn Conn,
    lon: f64,
    lat: f64,
    category: Category,
    radius_m: f64,
    since_ms: i64,
) -> Result<Vec<Near>> {
    let lm = LocalMetres::new(lon, lat);
    let (dlon, dlat) = lm.degrees_for(radius_m);
    let mut out: Vec<Near> = Vec::new();
    let mut bad = None;
    conn.for_each(
        "SELECT id, lon, lat, status, created_at, note FROM reports
         WHERE category = $1 AND lat BETWEEN $2 AND $3 AND lon BETWEEN $4 AND $5 AND created_at >= $6
           AND status IN ('reported', 'dispatched', 'in_progress', 'reopened')",
        args![
            category.as_str(),
            lat - dlat,
            lat + dlat,
            lon - dlon,
            lon + dlon,
            since_ms
        ],
        &mut |r| {
            let (rlon, rlat): (f64, f64) = (r.get(1)?, r.get(2)?);
            let d = lm.project(geo::Coord { x: rlon, y: rlat });
            match parse(text(r, 3)?) {
                Ok(status) => out.push(Near {
                    id: r.get(0)?,
                    distance_m: (d.x * d.x + d.y * d.y).sqrt(),
                    location: LonLat {
                        lon: rlon,
                        lat: rlat,
                    },
                    category,
                    status,
                    created_at: crate::time::to_rfc3339(r.get(4)?),
                    note: r.get(5)?,
                }),
                Err(e) => bad = Some(e),
            }
            Ok(())
        },
    )?;
    if let Some(e) = bad {
        return Err(e);
    }
    out.retain(|n| n.distance_m <= radius_m);
    out.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then(a.id.cmp(&b.id)));
    for n in &mut out {
        n.distance_m = (n.distance_m * 10.0).round() / 10.0;
    }
    Ok(out)
}

/// Filters of the report list.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub bbox: Option<Bbox>,
    /// Time window, categories, statuses and visibility: the filter every report endpoint
    /// (statistics, tiles, heatmaps, work orders) parses alike.
    pub filter: super::stats::ReportFilter,
    pub zone: Option<String>,
    pub limit: usize,
    /// Continue after this `(sort key, id)`: `created_at` newest first, or the due time.
    pub after: Option<(i64, i64)>,
    pub order: Order,
    /// A report number, or words found in the note, the responsible, assigned or escalated
    /// organisation or the name of a zone the report lies in.
    pub text: Option<String>,
    /// Only reports whose current stage is (`true`) or is not (`false`) overdue.
    pub overdue: Option<bool>,
    /// Reports filed by this user ("my reports").
    pub created_by: Option<String>,
}

/// One row of the report list.
#[derive(Debug, Clone)]
pub struct Summary {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub category: Category,
    pub status: Status,
    pub note: Option<String>,
    pub created_at: i64,
    pub captured_at: i64,
    pub responsible: Option<Value>,
    pub ambiguous: bool,
    pub zone_ids: Vec<String>,
    /// The zones it matched at submission, as the single report shows them.
    pub zones: Value,
    pub photo_ids: Vec<String>,
    pub assigned_to: Option<String>,
    pub due_at: Option<i64>,
    pub overdue: bool,
    pub escalated_to: Option<String>,
    pub created_by: String,
}

/// The order of the report list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Newest first (`created_at` descending).
    #[default]
    Newest,
    /// Soonest due first (most overdue first), those without a deadline last.
    Due,
}

impl Order {
    /// The sort key of a row in this order.
    pub fn key(self, s: &Summary) -> i64 {
        match self {
            Order::Newest => s.created_at,
            Order::Due => s.due_at.unwrap_or(NO_DUE),
        }
    }
}

/// The due key of a report without a deadline (after every real one).
const NO_DUE: i64 = i64::MAX / 2;

/// One page of the report list.
#[derive(Debug, Clone)]
pub struct Page {
    pub rows: Vec<Summary>,
    /// The `(sort key, id)` to continue after, when there are more.
    pub next: Option<(i64, i64)>,
}

/// How many reports a list's filters match (paging aside), and how many of them are overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub matched: i64,
    pub overdue: i64,
}

/// Reports matching `q`, newest first.
pub fn query(conn: &dyn Conn, q: &Query) -> Result<Page> {
    let photo_ids = match conn.backend() {
        Backend::Sqlite => "(SELECT group_concat(photo_id) FROM (SELECT photo_id FROM report_photos p WHERE p.report_id = r.id AND p.event_id IS NULL ORDER BY position))",
        Backend::Postgres => "(SELECT string_agg(photo_id, ',' ORDER BY position) FROM report_photos p WHERE p.report_id = r.id AND p.event_id IS NULL)",
    };
    let mut sql = Sql::new(format!(
        "SELECT r.id, r.lon, r.lat, r.category, r.status, r.note, r.created_at, r.captured_at, r.responsible, r.ambiguous,
            (SELECT {} FROM report_zones z WHERE z.report_id = r.id),
            {photo_ids},
            r.assigned_owner, r.due_at, r.overdue, r.escalated_to, r.created_by, r.zones
         FROM reports r WHERE 1 = 1",
        conn.backend().group_concat("zone_id")
    ));
    push_filters(q, &mut sql);
    let due_key = format!("COALESCE(r.due_at, {NO_DUE})");
    let (key, dir, cmp) = match q.order {
        Order::Newest => ("r.created_at", "DESC", "<"),
        Order::Due => (due_key.as_str(), "ASC", ">"),
    };
    if let Some((t, id)) = q.after {
        let s = format!(" AND ({key}, r.id) {cmp} ({}, {})", sql.arg(t), sql.arg(id));
        sql.push(&s);
    }
    let s = format!(
        " ORDER BY {key} {dir}, r.id {dir} LIMIT {}",
        sql.arg(q.limit as i64 + 1)
    );
    sql.push(&s);
    let split = |s: Option<&str>| -> Vec<String> {
        s.map(|s| s.split(',').map(str::to_string).collect())
            .unwrap_or_default()
    };
    let mut rows: Vec<Summary> = Vec::new();
    let mut bad = None;
    conn.for_each(&sql.text, &sql.args, &mut |r| {
        let row = (|| -> Result<Summary> {
            Ok(Summary {
                id: r.get(0)?,
                lon: r.get(1)?,
                lat: r.get(2)?,
                category: parse(text(r, 3)?)?,
                status: parse(text(r, 4)?)?,
                note: r.get(5)?,
                created_at: r.get(6)?,
                captured_at: r.get(7)?,
                responsible: json(r.str(8)?)?,
                ambiguous: r.get(9)?,
                zone_ids: split(r.str(10)?),
                photo_ids: split(r.str(11)?),
                assigned_to: r.get(12)?,
                due_at: r.get(13)?,
                overdue: r.get(14)?,
                escalated_to: r.get(15)?,
                created_by: r.get(16)?,
                zones: json(r.str(17)?)?.unwrap_or_else(|| Value::Array(Vec::new())),
            })
        })();
        match row {
            Ok(s) => rows.push(s),
            Err(e) => bad = Some(e),
        }
        Ok(())
    })?;
    if let Some(e) = bad {
        return Err(e);
    }
    let next = if rows.len() > q.limit {
        rows.truncate(q.limit);
        rows.last().map(|r| (q.order.key(r), r.id))
    } else {
        None
    };
    Ok(Page { rows, next })
}

/// How many reports `q`'s filters match (its cursor and limit aside) and how many are overdue.
pub fn counts(conn: &dyn Conn, q: &Query) -> Result<Counts> {
    let mut sql = Sql::new(
        "SELECT count(*), COALESCE(sum(CASE WHEN r.overdue THEN 1 ELSE 0 END), 0) FROM reports r WHERE 1 = 1",
    );
    push_filters(q, &mut sql);
    let rows = conn.query_vec(&sql.text, &sql.args, |r| {
        Ok(Counts {
            matched: r.get(0)?,
            overdue: r.get(1)?,
        })
    })?;
    Ok(rows.into_iter().next().unwrap_or(Counts {
        matched: 0,
        overdue: 0,
    }))
}

/// The `WHERE` conditions of `q` (everything but its cursor), on `reports r`.
fn push_filters(q: &Query, sql: &mut Sql) {
    if let Some(Bbox {
        west: a,
        south: b,
        east: c,
        north: d,
    }) = q.bbox
    {
        let s = format!(
            " AND r.lon BETWEEN {} AND {} AND r.lat BETWEEN {} AND {}",
            sql.arg(a),
            sql.arg(c),
            sql.arg(b),
            sql.arg(d)
        );
        sql.push(&s);
    }
    q.filter.push_sql("r.", "r.id", sql);
    if let Some(z) = &q.zone {
        let s = format!(
            " AND r.id IN (SELECT report_id FROM report_zones WHERE zone_id = {})",
            sql.arg(z.as_str())
        );
        sql.push(&s);
    }
    if let Some(o) = q.overdue {
        let s = format!(" AND r.overdue = {}", sql.arg(o));
        sql.push(&s);
    }
    if let Some(u) = &q.created_by {
        let s = format!(" AND r.created_by = {}", sql.arg(u.as_str()));
        sql.push(&s);
    }
    if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        if let Ok(id) = text.parse::<i64>() {
            let s = format!(" AND r.id = {}", sql.arg(id));
            sql.push(&s);
        } else {
            // Substring search; LIKE's wildcards in the text are matched literally.
            let escaped = text
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let like = sql.arg(format!("%{escaped}%"));
            let s = format!(
                " AND (r.note LIKE {like} ESCAPE '\\' OR r.responsible_owner LIKE {like} ESCAPE '\\'
                   OR r.assigned_owner LIKE {like} ESCAPE '\\' OR r.escalated_to LIKE {like} ESCAPE '\\'
                   OR r.id IN (SELECT rz.report_id FROM report_zones rz JOIN zones zz ON zz.id = rz.zone_id
                               WHERE zz.name LIKE {like} ESCAPE '\\'))"
            );
            sql.push(&s);
        }
    }
}

/// How many reports there are.
pub fn count(conn: &dyn Conn) -> Result<i64> {
    Ok(conn.query_scalar("SELECT count(*) FROM reports", &[])?)
}

/// Where and what the reports `ids` are now, for the in-memory caches.
pub fn changes_of(
    conn: &dyn Conn,
    ids: &[i64],
) -> Result<Vec<crate::report::service::ReportChange>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new(
            "SELECT id, lon, lat, category, status, created_at, responsible_owner, assigned_owner, escalated_to FROM reports WHERE 1 = 1",
        );
        sql.push_in("id", chunk.iter().copied());
        let rows = conn.query_vec(&sql.text, &sql.args, |r| {
            Ok((
                (
                    r.get::<i64>(0)?,
                    r.get::<f64>(1)?,
                    r.get::<f64>(2)?,
                    r.get::<String>(3)?,
                    r.get::<String>(4)?,
                    r.get::<i64>(5)?,
                ),
                [
                    r.get::<Option<String>>(6)?,
                    r.get::<Option<String>>(7)?,
                    r.get::<Option<String>>(8)?,
                ],
            ))
        })?;
        let mut zsql = Sql::new("SELECT report_id, zone_id FROM report_zones WHERE 1 = 1");
        zsql.push_in("report_id", chunk.iter().copied());
        let mut zones: std::collections::HashMap<i64, Vec<String>> = Default::default();
        for (id, z) in conn.query_vec(&zsql.text, &zsql.args, |r| {
            Ok((r.get::<i64>(0)?, r.get::<String>(1)?))
        })? {
            zones.entry(id).or_default().push(z);
        }
        for ((id, lon, lat, category, status, created_at), owners) in rows {
            out.push(crate::report::service::ReportChange {
                id,
                what: crate::report::service::ChangeWhat::Changed,
                lon,
                lat,
                category: parse(&category)?,
                status: parse(&status)?,
                created_at,
                zones: zones.remove(&id).unwrap_or_default(),
                owners: owners.into_iter().flatten().collect(),
            });
        }
    }
    Ok(out)
}

/// Appends ` AND {id_col} IN (…)` limiting to the reports `v` lets the asker see.
pub fn push_visibility(v: &Visibility, id_col: &str, sql: &mut Sql) {
    match v {
        Visibility::All => {}
        Visibility::Owner(o) => {
            let a = sql.arg(o.as_str());
            let t = format!(
                " AND {id_col} IN (SELECT id FROM reports WHERE responsible_owner = {a} OR assigned_owner = {a} OR escalated_to = {a})"
            );
            sql.push(&t);
        }
        Visibility::Zone(z) => {
            let a = sql.arg(z.as_str());
            let t = format!(
                " AND {id_col} IN (SELECT report_id FROM report_zones WHERE zone_id = {a})"
            );
            sql.push(&t);
        }
    }
}

/// Whether report `id` exists and `v` lets the asker see it.
pub fn visible(conn: &dyn Conn, id: i64, v: &Visibility) -> Result<bool> {
    let mut sql = Sql::new("SELECT 1 FROM reports WHERE id = ");
    let a = sql.arg(id);
    sql.push(&a);
    push_visibility(v, "id", &mut sql);
    Ok(conn.query_opt(&sql.text, &sql.args, |_| Ok(()))?.is_some())
}

/// What a change needs to know about a report besides its status.
#[derive(Debug, Clone)]
pub struct Workflow {
    pub status: Status,
    pub category: Category,
    pub created_by: String,
    pub responsible_owner: Option<String>,
    pub assigned_owner: Option<String>,
    pub escalated_to: Option<String>,
    pub escalation: Vec<Level>,
    pub escalation_level: i64,
    pub due_at: Option<i64>,
}

/// The workflow fields of report `id`.
pub fn workflow(conn: &dyn Conn, id: i64) -> Result<Workflow> {
    let row = conn.query_opt(
        "SELECT status, category, created_by, responsible_owner, assigned_owner, escalated_to,
                escalation_chain, escalation_level, due_at
         FROM reports WHERE id = $1",
        args![id],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<Option<String>>(3)?,
                r.get::<Option<String>>(4)?,
                r.get::<Option<String>>(5)?,
                r.get::<String>(6)?,
                r.get::<i64>(7)?,
                r.get::<Option<i64>>(8)?,
            ))
        },
    )?;
    let Some((status, category, created_by, ro, ao, esc, chain, level, due_at)) = row else {
        return Err(StoreError::NotFound {
            what: "report",
            id: id.to_string(),
        });
    };
    Ok(Workflow {
        status: parse(&status)?,
        category: parse(&category)?,
        created_by,
        responsible_owner: ro,
        assigned_owner: ao,
        escalated_to: esc,
        escalation: serde_json::from_str(&chain).unwrap_or_default(),
        escalation_level: level,
        due_at,
    })
}

/// An event that does not change the status (`overdue`, `escalated`, `update`).
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub report: i64,
    pub kind: &'a str,
    /// The report's status, unchanged.
    pub status: Status,
    pub user: &'a str,
    pub note: Option<&'a str>,
    pub data: Option<Value>,
    pub photos: &'a [PhotoRow],
    pub at: i64,
}

/// Records `e` with its photos; returns the event id.
pub fn add_event(conn: &dyn Conn, e: &NewEvent) -> Result<i64> {
    let NewEvent {
        report,
        kind,
        status,
        user,
        note,
        ref data,
        photos,
        at,
    } = *e;
    let id: i64 = conn.query_scalar(
        "INSERT INTO report_events (report_id, at, username, from_status, to_status, note, kind, data)
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7) RETURNING id",
        args![
            report,
            at,
            user,
            status.as_str(),
            note,
            kind,
            data.as_ref().map(|d| d.to_string())
        ],
    )?;
    attach_photos(conn, report, Some(id), photos, at)?;
    conn.execute(
        "UPDATE reports SET updated_at = $2 WHERE id = $1",
        args![report, at],
    )?;
    Ok(id)
}

/// Up to `limit` reports whose current stage is due by `now` and not yet marked overdue, soonest
/// first. Reads the partial index on `sweep_at` only, so it costs nothing when nothing is due.
pub fn due_for_sweep(conn: &dyn Conn, now: i64, limit: i64) -> Result<Vec<i64>> {
    Ok(conn.query_vec(
        "SELECT id FROM reports WHERE sweep_at IS NOT NULL AND sweep_at <= $1 ORDER BY sweep_at LIMIT $2",
        args![now, limit],
        |r| r.get(0),
    )?)
}

/// Marks report `id` overdue once (nothing when another sweep got there first or the stage
/// moved on); escalates it to `escalate_to` when given. Returns whether this call marked it.
pub fn mark_overdue(conn: &dyn Conn, id: i64, now: i64, escalate_to: Option<&str>) -> Result<bool> {
    let n = conn.execute(
        "UPDATE reports SET sweep_at = NULL, overdue = $3,
                escalated_to = COALESCE($4, escalated_to),
                escalation_level = escalation_level + $5
         WHERE id = $1 AND sweep_at IS NOT NULL AND sweep_at <= $2",
        args![id, now, true, escalate_to, i64::from(escalate_to.is_some())],
    )?;
    if n == 1 {
        let old = if super::rollups::kept(conn) {
            super::rollups::Fact::of(conn, id)?
        } else {
            None
        };
        for table in ["stat_reports", "stat_zone_reports"] {
            conn.execute(
                &format!("UPDATE {table} SET overdue = $2, late = $2 WHERE report_id = $1"),
                args![id, true],
            )?;
        }
        if let Some(old) = old {
            let new = super::rollups::Fact {
                late: true,
                overdue: true,
                ..old.clone()
            };
            super::rollups::replace(conn, &old, &new)?;
        }
    }
    Ok(n == 1)
}
