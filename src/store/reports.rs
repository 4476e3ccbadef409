//! Reports, their events and photo links in SQLite.
//!
//! The zones a report matched and its responsible owner are written once, at submission, as
//! JSON (and as `report_zones` rows for `zone=` queries); later zone edits never touch them.

use super::db::{Backend, Conn, Sql};
use super::photos::PhotoRow;
use super::{Result, StoreError};
use crate::args;
use crate::geodesy::LocalMetres;
use crate::report::{Category, RejectReason, Status};
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
    /// `/api/match` `matches` at submission.
    pub zones: Value,
    /// Zone ids of the matches and whether the point is inside each.
    pub zone_ids: Vec<(String, bool)>,
    pub responsible: Option<Value>,
    pub ambiguous: bool,
    pub photos: Vec<PhotoRow>,
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

#[derive(Debug, Clone, Serialize)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

/// A photo as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PhotoRef {
    pub id: String,
    pub url: String,
    pub thumb_url: String,
    pub width: u32,
    pub height: u32,
}

impl PhotoRef {
    fn new(id: String, width: u32, height: u32) -> Self {
        PhotoRef {
            url: format!("/api/photos/{id}"),
            thumb_url: format!("/api/photos/{id}/thumb"),
            id,
            width,
            height,
        }
    }
}

/// One change in a report's life.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub id: i64,
    pub at: String,
    pub user: String,
    pub from: Option<Status>,
    pub to: Status,
    pub note: Option<String>,
    pub reason: Option<RejectReason>,
    pub photos: Vec<PhotoRef>,
}

/// A report as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    pub id: i64,
    pub client_id: Option<String>,
    pub location: LonLat,
    pub accuracy_m: Option<f64>,
    pub location_source: String,
    pub category: Category,
    pub status: Status,
    pub reject_reason: Option<RejectReason>,
    pub note: Option<String>,
    pub captured_at: String,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: String,
    pub zones: Value,
    pub responsible: Option<Value>,
    pub ambiguous: bool,
    /// Photos taken at submission.
    pub photos: Vec<PhotoRef>,
    pub possible_duplicates: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventView>>,
}

fn parse<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|e: String| StoreError::Corrupt(format!("stored value: {e}")))
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
    let resp = |key: &str| {
        r.responsible
            .as_ref()
            .and_then(|v| v.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (owner, sector, zone_id) = (resp("name"), resp("sector"), resp("zone_id"));
    let id: Option<i64> = conn.query_opt(
        "INSERT INTO reports (client_id, lon, lat, accuracy_m, location_source, crs, category, status,
            note, captured_at, created_at, created_by, updated_at, zones, responsible, ambiguous, duplicates,
            responsible_owner, responsible_sector, responsible_zone_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'reported', $8, $9, $10, $11, $10, $12, $13, $14, $15, $16, $17, $18)
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
            r.zones.to_string(),
            r.responsible.as_ref().map(|v| v.to_string()),
            r.ambiguous,
            serde_json::to_string(&duplicates).unwrap_or_else(|_| "[]".into()),
            owner.clone(),
            sector.clone(),
            zone_id,
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
        args![id, r.created_at, r.category.as_str(), owner, sector],
    )?;
    for (zone, inside) in &r.zone_ids {
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
}

/// Applies a status change already checked against the rules; returns the event id.
pub fn apply_change(conn: &dyn Conn, c: &Change) -> Result<i64> {
    let changed = conn.execute(
        "UPDATE reports SET status = $2, reject_reason = $3, updated_at = $4 WHERE id = $1 AND status = $5",
        args![
            c.report,
            c.to.as_str(),
            c.reason.map(|r| r.as_str()),
            c.at,
            c.from.as_str()
        ],
    )?;
    if changed != 1 {
        return Err(StoreError::Conflict(format!(
            "report {} is no longer {}; reload it",
            c.report, c.from
        )));
    }
    let closed_at = (c.to == Status::Closed).then_some(c.at);
    for table in ["stat_reports", "stat_zone_reports"] {
        conn.execute(
            &format!("UPDATE {table} SET status = $2, closed_at = $3 WHERE report_id = $1"),
            args![c.report, c.to.as_str(), closed_at],
        )?;
    }
    let event: i64 = conn.query_scalar(
        "INSERT INTO report_events (report_id, at, username, from_status, to_status, note, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        args![
            c.report,
            c.at,
            c.user,
            c.from.as_str(),
            c.to.as_str(),
            c.note,
            c.reason.map(|r| r.as_str())
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
                note, captured_at, created_at, updated_at, created_by, zones, responsible, ambiguous, duplicates
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
        let mut events = Vec::new();
        conn.for_each(
            "SELECT id, at, username, from_status, to_status, note, reason FROM report_events WHERE report_id = $1 ORDER BY id",
            args![id],
            &mut |r| {
                let eid: i64 = r.get(0)?;
                events.push((|| -> Result<EventView> {
                    Ok(EventView {
                        id: eid,
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
    /// `[min_lon, min_lat, max_lon, max_lat]`.
    pub bbox: Option<[f64; 4]>,
    /// Created at or after, Unix ms.
    pub since: Option<i64>,
    /// Created before, Unix ms.
    pub until: Option<i64>,
    pub categories: Vec<Category>,
    pub statuses: Vec<Status>,
    pub zone: Option<String>,
    pub limit: usize,
    /// Continue after this `(created_at, id)`.
    pub after: Option<(i64, i64)>,
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
    pub photo_ids: Vec<String>,
}

/// One page of the report list.
#[derive(Debug, Clone)]
pub struct Page {
    pub rows: Vec<Summary>,
    /// The `(created_at, id)` to continue after, when there are more.
    pub next: Option<(i64, i64)>,
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
            {photo_ids}
         FROM reports r WHERE 1 = 1",
        conn.backend().group_concat("zone_id")
    ));
    if let Some([a, b, c, d]) = q.bbox {
        let s = format!(
            " AND r.lon BETWEEN {} AND {} AND r.lat BETWEEN {} AND {}",
            sql.arg(a),
            sql.arg(c),
            sql.arg(b),
            sql.arg(d)
        );
        sql.push(&s);
    }
    super::stats::ReportFilter {
        since: q.since,
        until: q.until,
        categories: q.categories.clone(),
        statuses: q.statuses.clone(),
    }
    .push_sql("r.", &mut sql);
    if let Some(z) = &q.zone {
        let s = format!(
            " AND r.id IN (SELECT report_id FROM report_zones WHERE zone_id = {})",
            sql.arg(z.as_str())
        );
        sql.push(&s);
    }
    if let Some((t, id)) = q.after {
        let s = format!(
            " AND (r.created_at, r.id) < ({}, {})",
            sql.arg(t),
            sql.arg(id)
        );
        sql.push(&s);
    }
    let s = format!(
        " ORDER BY r.created_at DESC, r.id DESC LIMIT {}",
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
        rows.last().map(|r| (r.created_at, r.id))
    } else {
        None
    };
    Ok(Page { rows, next })
}

/// How many reports there are.
pub fn count(conn: &dyn Conn) -> Result<i64> {
    Ok(conn.query_scalar("SELECT count(*) FROM reports", &[])?)
}

/// Where and what the reports `ids` are now, for the in-memory caches.
pub fn changes_of(
    conn: &dyn Conn,
    ids: &[i64],
) -> Result<Vec<crate::report_service::ReportChange>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut sql =
            Sql::new("SELECT id, lon, lat, category, status, created_at FROM reports WHERE 1 = 1");
        sql.push_in("id", chunk.iter().copied());
        let rows = conn.query_vec(&sql.text, &sql.args, |r| {
            Ok((
                r.get::<i64>(0)?,
                r.get::<f64>(1)?,
                r.get::<f64>(2)?,
                r.get::<String>(3)?,
                r.get::<String>(4)?,
                r.get::<i64>(5)?,
            ))
        })?;
        for (id, lon, lat, category, status, created_at) in rows {
            out.push(crate::report_service::ReportChange {
                id,
                lon,
                lat,
                category: parse(&category)?,
                status: parse(&status)?,
                created_at,
            });
        }
    }
    Ok(out)
}
