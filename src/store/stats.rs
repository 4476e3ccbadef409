//! SQL of the analytics: the statistics fact tables (kept by triggers), and the queries behind
//! `/api/stats`, hotspot detection, heatmap tiles and work orders.
//!
//! Every statement that reads the report schema lives in this file, so a change of that schema
//! is one file to follow. The fact tables are filled by triggers on `reports` and `report_zones`
//! rather than by the report code, so every writer (API, demo loader, CLI, future importers)
//! keeps them right without knowing they exist.

use super::Result;
use crate::report::{Category, Status};
use rusqlite::types::{Value as Sql, ValueRef};
use rusqlite::{params_from_iter, Connection};

/// Migration 3: statistics fact tables, their triggers and backfill, and the heatmap index.
///
/// - `stat_reports`: one narrow row per report with what the statistics group and filter by:
///   the stored responsible owner and sector (from `reports.responsible` at submission, never
///   recomputed), the status, and `closed_at` (when it last became closed; NULL when it is not
///   closed now).
/// - `stat_zone_reports`: one row per stored match (`report_zones`), with the zone's kind, so
///   `group=zone` reads one covering index instead of joining three tables.
/// - `reports_heat`: a covering `(lat, lon, …)` index so a heatmap tile reads a latitude range
///   of one index and never touches the table.
pub const MIGRATION: &str = r#"
    CREATE TABLE stat_reports (
        report_id  INTEGER PRIMARY KEY,
        created_at INTEGER NOT NULL,
        category   TEXT NOT NULL,
        status     TEXT NOT NULL,
        owner      TEXT,
        sector     TEXT,
        closed_at  INTEGER
    );
    CREATE INDEX stat_reports_time ON stat_reports(created_at, status, category, owner, sector, closed_at);
    CREATE INDEX stat_reports_owner ON stat_reports(owner, status);
    CREATE TABLE stat_zone_reports (
        report_id  INTEGER NOT NULL,
        zone_id    TEXT NOT NULL,
        kind       TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        category   TEXT NOT NULL,
        status     TEXT NOT NULL,
        closed_at  INTEGER,
        PRIMARY KEY (report_id, zone_id)
    ) WITHOUT ROWID;
    CREATE INDEX stat_zone_reports_time ON stat_zone_reports(kind, created_at, zone_id, status, category, closed_at);
    CREATE INDEX stat_zone_reports_any ON stat_zone_reports(created_at, zone_id, status, category, closed_at);

    CREATE TRIGGER stat_reports_insert AFTER INSERT ON reports BEGIN
        INSERT INTO stat_reports (report_id, created_at, category, status, owner, sector, closed_at)
        VALUES (NEW.id, NEW.created_at, NEW.category, NEW.status,
                json_extract(NEW.responsible, '$.name'), json_extract(NEW.responsible, '$.sector'),
                CASE WHEN NEW.status = 'closed' THEN NEW.updated_at END);
    END;
    CREATE TRIGGER stat_reports_status AFTER UPDATE OF status ON reports BEGIN
        UPDATE stat_reports SET status = NEW.status,
            closed_at = CASE WHEN NEW.status = 'closed' THEN NEW.updated_at END
        WHERE report_id = NEW.id;
        UPDATE stat_zone_reports SET status = NEW.status,
            closed_at = CASE WHEN NEW.status = 'closed' THEN NEW.updated_at END
        WHERE report_id = NEW.id;
    END;
    CREATE TRIGGER stat_zone_reports_insert AFTER INSERT ON report_zones BEGIN
        INSERT OR IGNORE INTO stat_zone_reports (report_id, zone_id, kind, created_at, category, status, closed_at)
        SELECT NEW.report_id, NEW.zone_id, COALESCE((SELECT kind FROM zones WHERE id = NEW.zone_id), ''),
               r.created_at, r.category, r.status, CASE WHEN r.status = 'closed' THEN r.updated_at END
        FROM reports r WHERE r.id = NEW.report_id;
    END;

    INSERT INTO stat_reports (report_id, created_at, category, status, owner, sector, closed_at)
    SELECT r.id, r.created_at, r.category, r.status,
           json_extract(r.responsible, '$.name'), json_extract(r.responsible, '$.sector'),
           CASE WHEN r.status = 'closed' THEN
               (SELECT max(at) FROM report_events e WHERE e.report_id = r.id AND e.to_status = 'closed') END
    FROM reports r;
    INSERT INTO stat_zone_reports (report_id, zone_id, kind, created_at, category, status, closed_at)
    SELECT rz.report_id, rz.zone_id, COALESCE(z.kind, ''), s.created_at, s.category, s.status, s.closed_at
    FROM report_zones rz JOIN stat_reports s ON s.report_id = rz.report_id
    LEFT JOIN zones z ON z.id = rz.zone_id;

"#;

/// Which reports a statistic, detection, heatmap or work order looks at.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    /// Created at or after, Unix ms.
    pub since: Option<i64>,
    /// Created before, Unix ms.
    pub until: Option<i64>,
    /// Empty: every category.
    pub categories: Vec<Category>,
    /// Empty: every status.
    pub statuses: Vec<Status>,
}

impl ReportFilter {
    /// Appends ` AND …` conditions on the columns `created_at`, `category`, `status` of `alias`.
    pub(crate) fn push_sql(&self, alias: &str, sql: &mut String, args: &mut Vec<Sql>) {
        if let Some(s) = self.since {
            sql.push_str(&format!(" AND {alias}created_at >= ?"));
            args.push(Sql::Integer(s));
        }
        if let Some(u) = self.until {
            sql.push_str(&format!(" AND {alias}created_at < ?"));
            args.push(Sql::Integer(u));
        }
        let mut list = |col: &str, vals: Vec<&'static str>| {
            if !vals.is_empty() {
                sql.push_str(&format!(
                    " AND {alias}{col} IN ({})",
                    vec!["?"; vals.len()].join(",")
                ));
                args.extend(vals.into_iter().map(|v| Sql::Text(v.into())));
            }
        };
        list(
            "category",
            self.categories.iter().map(|c| c.as_str()).collect(),
        );
        list("status", self.statuses.iter().map(|s| s.as_str()).collect());
    }
}

/// One report as the statistics see it; `key` is the group it falls in.
pub struct FactRow<'a> {
    pub key: Option<&'a str>,
    pub created_at: i64,
    pub category: &'a str,
    pub status: &'a str,
    pub closed_at: Option<i64>,
}

/// What the statistics group by, at the storage level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactKey {
    /// The stored responsible owner's name.
    Owner,
    /// The stored responsible owner's sector.
    Sector,
    /// Nothing (category and day are derived from the row).
    None,
}

fn text<'a>(v: ValueRef<'a>) -> Option<&'a str> {
    match v {
        ValueRef::Text(t) => std::str::from_utf8(t).ok(),
        _ => None,
    }
}

/// Streams the per-report facts matching `f` to `each`, without allocating per row.
pub fn scan_reports(
    conn: &Connection,
    f: &ReportFilter,
    key: FactKey,
    each: impl FnMut(FactRow),
) -> Result<()> {
    let key_col = match key {
        FactKey::Owner => "owner",
        FactKey::Sector => "sector",
        FactKey::None => "NULL",
    };
    let mut sql = format!(
        "SELECT {key_col}, created_at, category, status, closed_at FROM stat_reports s WHERE 1 = 1"
    );
    let mut args = Vec::new();
    f.push_sql("s.", &mut sql, &mut args);
    stream_facts(conn, &sql, args, each)
}

/// Streams one fact per stored zone match (a report matched to three zones gives three), of
/// zones of `kind` when given.
pub fn scan_zone_matches(
    conn: &Connection,
    f: &ReportFilter,
    kind: Option<&str>,
    each: impl FnMut(FactRow),
) -> Result<()> {
    let mut sql = String::from(
        "SELECT zone_id, created_at, category, status, closed_at FROM stat_zone_reports s",
    );
    let mut args = Vec::new();
    match kind {
        Some(k) => {
            sql.push_str(" INDEXED BY stat_zone_reports_time WHERE s.kind = ?");
            args.push(Sql::Text(k.into()));
        }
        None => sql.push_str(" INDEXED BY stat_zone_reports_any WHERE 1 = 1"),
    }
    f.push_sql("s.", &mut sql, &mut args);
    stream_facts(conn, &sql, args, each)
}

/// Runs `sql` (selecting key, created_at, category, status, closed_at) and streams the rows
/// to `each` without allocating per row.
fn stream_facts(
    conn: &Connection,
    sql: &str,
    args: Vec<Sql>,
    mut each: impl FnMut(FactRow),
) -> Result<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        each(FactRow {
            key: text(r.get_ref(0)?),
            created_at: r.get(1)?,
            category: text(r.get_ref(2)?).unwrap_or(""),
            status: text(r.get_ref(3)?).unwrap_or(""),
            closed_at: r.get(4)?,
        });
    }
    Ok(())
}

/// A zone's name, kind and owner name.
pub type ZoneLabel = (String, String, Option<String>);

/// Names and kinds of zones, retired ones included (a statistic may name a zone that has since
/// been retired: the stored match is what counts).
pub fn zone_labels(
    conn: &Connection,
    ids: &[String],
) -> Result<std::collections::HashMap<String, ZoneLabel>> {
    let mut out = std::collections::HashMap::new();
    let mut stmt = conn.prepare_cached("SELECT name, kind, owner_name FROM zones WHERE id = ?1")?;
    for id in ids {
        if let Some(row) = stmt
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .next()
        {
            out.insert(id.clone(), row?);
        }
    }
    Ok(out)
}

/// A report as a point, for clustering and work orders.
#[derive(Debug, Clone)]
pub struct PointRow {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub category: Category,
}

fn category_of(s: &str) -> Category {
    s.parse().unwrap_or(Category::Other)
}

/// Reports matching `f` (rejected ones excluded when `f.statuses` is empty) as points.
pub fn points(conn: &Connection, f: &ReportFilter) -> Result<Vec<PointRow>> {
    let mut sql = String::from("SELECT id, lon, lat, category FROM reports r WHERE 1 = 1");
    let mut args = Vec::new();
    f.push_sql("r.", &mut sql, &mut args);
    if f.statuses.is_empty() {
        sql.push_str(" AND r.status <> 'rejected'");
    }
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(args), |r| {
            Ok(PointRow {
                id: r.get(0)?,
                lon: r.get(1)?,
                lat: r.get(2)?,
                category: category_of(&r.get::<_, String>(3)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// An open report on a work order.
#[derive(Debug, Clone)]
pub struct OpenReport {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub category: Category,
    pub status: Status,
    pub note: Option<String>,
    pub created_at: i64,
    /// The responsible zone stored at submission.
    pub zone_id: Option<String>,
    pub zone_name: Option<String>,
    /// The first photo taken at submission.
    pub photo_id: Option<String>,
}

/// Open reports whose stored responsible owner is `owner`, created in the window, oldest first.
pub fn open_reports_of(
    conn: &Connection,
    owner: &str,
    since: Option<i64>,
    until: Option<i64>,
) -> Result<Vec<OpenReport>> {
    let open: Vec<&str> = Status::OPEN.iter().map(|s| s.as_str()).collect();
    let mut sql = format!(
        "SELECT r.id, r.lon, r.lat, r.category, r.status, r.note, r.created_at,
                json_extract(r.responsible, '$.zone_id'), json_extract(r.responsible, '$.zone_name'),
                (SELECT photo_id FROM report_photos p WHERE p.report_id = r.id AND p.event_id IS NULL ORDER BY position LIMIT 1)
         FROM stat_reports s JOIN reports r ON r.id = s.report_id
         WHERE s.owner = ? AND s.status IN ({})",
        vec!["?"; open.len()].join(",")
    );
    let mut args: Vec<Sql> = vec![Sql::Text(owner.into())];
    args.extend(open.iter().map(|s| Sql::Text((*s).into())));
    if let Some(s) = since {
        sql.push_str(" AND s.created_at >= ?");
        args.push(Sql::Integer(s));
    }
    if let Some(u) = until {
        sql.push_str(" AND s.created_at < ?");
        args.push(Sql::Integer(u));
    }
    sql.push_str(" ORDER BY r.created_at, r.id");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(args), |r| {
            Ok(OpenReport {
                id: r.get(0)?,
                lon: r.get(1)?,
                lat: r.get(2)?,
                category: category_of(&r.get::<_, String>(3)?),
                status: r.get::<_, String>(4)?.parse().unwrap_or(Status::Reported),
                note: r.get(5)?,
                created_at: r.get(6)?,
                zone_id: r.get(7)?,
                zone_name: r.get(8)?,
                photo_id: r.get(9)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// How many reports (any status, any time) name `owner` as responsible.
pub fn reports_of_owner(conn: &Connection, owner: &str) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM stat_reports WHERE owner = ?1",
        [owner],
        |r| r.get(0),
    )?)
}

/// Streams the per-report facts of one stored responsible owner matching `f`.
pub fn scan_owner(
    conn: &Connection,
    owner: &str,
    f: &ReportFilter,
    each: impl FnMut(FactRow),
) -> Result<()> {
    let mut sql = String::from(
        "SELECT owner, created_at, category, status, closed_at FROM stat_reports s WHERE s.owner = ?",
    );
    let mut args = vec![Sql::Text(owner.into())];
    f.push_sql("s.", &mut sql, &mut args);
    stream_facts(conn, &sql, args, each)
}
