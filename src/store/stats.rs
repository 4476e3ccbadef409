//! SQL of the analytics: the statistics fact tables, and the queries behind `/api/stats`,
//! hotspot detection and work orders.
//!
//! Every statement that reads the fact tables lives in this file. The fact tables are written by
//! [`super::reports::insert`] and [`super::reports::apply_change`] in the same transaction as the
//! report itself, so every writer (API, demo loader, migration) keeps them right.

use super::db::{Backend, Conn, Sql};
use super::Result;
use crate::args;
use crate::report::{Category, Status};

/// SQLite migration 3 as it shipped: statistics fact tables, the triggers that kept them (dropped
/// again by migration 4, which moved their work into the shared report code) and the backfill.
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
    /// Whose reports: a unit's, a scoped office's zone, or all.
    pub visibility: crate::scope::Visibility,
}

impl ReportFilter {
    /// Appends ` AND …` conditions on the columns `created_at`, `category`, `status` of `alias`
    /// and on the report id column `id_col` (the visibility).
    pub(crate) fn push_sql(&self, alias: &str, id_col: &str, sql: &mut Sql) {
        super::reports::push_visibility(&self.visibility, id_col, sql);
        if let Some(s) = self.since {
            let t = format!(" AND {alias}created_at >= {}", sql.arg(s));
            sql.push(&t);
        }
        if let Some(u) = self.until {
            let t = format!(" AND {alias}created_at < {}", sql.arg(u));
            sql.push(&t);
        }
        sql.push_in(
            &format!("{alias}category"),
            self.categories.iter().map(|c| c.as_str()),
        );
        sql.push_in(
            &format!("{alias}status"),
            self.statuses.iter().map(|s| s.as_str()),
        );
    }
}

/// One report as the statistics see it; `key` is the group it falls in.
pub struct FactRow<'a> {
    pub id: i64,
    pub key: Option<&'a str>,
    pub created_at: i64,
    pub category: &'a str,
    pub status: &'a str,
    pub closed_at: Option<i64>,
    /// Some stage of it ran past its time limit.
    pub late: bool,
    /// Its current stage is past its time limit.
    pub overdue: bool,
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

/// The reports a close-time lookup is narrowed to, besides its filter.
#[derive(Debug, Clone, Copy)]
pub enum Within<'a> {
    All,
    Category(&'a str),
    /// A stored owner's sector; `""`: reports without one.
    Sector(&'a str),
    /// A stored owner; `""`: reports without one.
    Owner(&'a str),
}

/// The longest time from filing to close in close-time bucket `lo` and the shortest in bucket
/// `hi` (see [`super::rollups`]), in ms, of the closed reports matching `f` and `within`; `None`
/// for a bucket without any. On SQLite it reads the buckets' index (`stat_reports_close`), so it
/// costs the reports of two buckets, not of the window.
pub fn close_ends(
    conn: &dyn Conn,
    f: &ReportFilter,
    within: Within,
    lo: i64,
    hi: i64,
) -> Result<(Option<i64>, Option<i64>)> {
    let sql = close_ends_sql(f, within, lo, hi);
    Ok(conn
        .query_opt(&sql.text, &sql.args, |r| Ok((r.get(0)?, r.get(1)?)))?
        .unwrap_or((None, None)))
}

/// The statement of [`close_ends`] (public for the test of its plan).
pub fn close_ends_sql(f: &ReportFilter, within: Within, lo: i64, hi: i64) -> Sql {
    use super::rollups::{bucket_sql, DURATION};
    let bucket = bucket_sql();
    let mut sql = Sql::new("");
    let (l, h) = (sql.arg(lo), sql.arg(hi));
    sql.push(&format!(
        "SELECT max(CASE WHEN {bucket} = {l} THEN {DURATION} END),
                min(CASE WHEN {bucket} = {h} THEN {DURATION} END)
         FROM stat_reports s
         WHERE s.status = 'closed' AND s.closed_at IS NOT NULL AND {bucket} IN ({l}, {h})"
    ));
    f.push_sql("s.", "s.report_id", &mut sql);
    let (col, key) = match within {
        Within::All => ("", ""),
        Within::Category(c) => ("s.category", c),
        Within::Sector(k) => ("COALESCE(s.sector, '')", k),
        Within::Owner(k) => ("COALESCE(s.owner, '')", k),
    };
    if !col.is_empty() {
        let k = sql.arg(key);
        sql.push(&format!(" AND {col} = {k}"));
    }
    sql
}

/// Streams the per-report facts matching `f` to `each`, without allocating per row.
pub fn scan_reports(
    conn: &dyn Conn,
    f: &ReportFilter,
    key: FactKey,
    each: impl FnMut(FactRow),
) -> Result<()> {
    let key_col = match key {
        FactKey::Owner => "owner",
        FactKey::Sector => "sector",
        FactKey::None => "NULL",
    };
    let mut sql = Sql::new(format!(
        "SELECT report_id, {key_col}, created_at, category, status, closed_at, late, overdue FROM stat_reports s WHERE 1 = 1"
    ));
    f.push_sql("s.", "s.report_id", &mut sql);
    stream_facts(conn, sql, each)
}

/// Streams one fact per stored zone match (a report matched to three zones gives three), of
/// zones of `kind` when given.
pub fn scan_zone_matches(
    conn: &dyn Conn,
    f: &ReportFilter,
    kind: Option<&str>,
    each: impl FnMut(FactRow),
) -> Result<()> {
    let sqlite = conn.backend() == Backend::Sqlite;
    let mut sql = Sql::new(
        "SELECT report_id, zone_id, created_at, category, status, closed_at, late, overdue FROM stat_zone_reports s",
    );
    match kind {
        Some(k) => {
            // SQLite's planner otherwise prefers the primary key for wide windows.
            if sqlite {
                sql.push(" INDEXED BY stat_zone_reports_time");
            }
            let t = format!(" WHERE s.kind = {}", sql.arg(k));
            sql.push(&t);
        }
        None => {
            if sqlite {
                sql.push(" INDEXED BY stat_zone_reports_any");
            }
            sql.push(" WHERE 1 = 1");
        }
    }
    f.push_sql("s.", "s.report_id", &mut sql);
    stream_facts(conn, sql, each)
}

/// Runs `sql` (selecting report id, key, created_at, category, status, closed_at, late,
/// overdue) and streams the rows to `each` without allocating per row.
fn stream_facts(conn: &dyn Conn, sql: Sql, mut each: impl FnMut(FactRow)) -> Result<()> {
    conn.for_each(&sql.text, &sql.args, &mut |r| {
        each(FactRow {
            id: r.get(0)?,
            key: r.str(1)?,
            created_at: r.get(2)?,
            category: r.str(3)?.unwrap_or(""),
            status: r.str(4)?.unwrap_or(""),
            closed_at: r.get(5)?,
            late: r.get(6)?,
            overdue: r.get(7)?,
        });
        Ok(())
    })?;
    Ok(())
}

/// A zone's name, kind and owner name.
pub type ZoneLabel = (String, String, Option<String>);

/// Names and kinds of zones, retired ones included (a statistic may name a zone that has since
/// been retired: the stored match is what counts). A few hundred ids a query: on PostgreSQL a
/// query per zone cost a round trip each, most of a `group=zone` statistic's time.
pub fn zone_labels(
    conn: &dyn Conn,
    ids: &[String],
) -> Result<std::collections::HashMap<String, ZoneLabel>> {
    const CHUNK: usize = 500;
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let mut sql = Sql::new("SELECT id, name, kind, owner_name FROM zones WHERE 1 = 1");
        sql.push_in("id", chunk.iter().map(String::as_str));
        conn.for_each(&sql.text, &sql.args, &mut |r| {
            out.insert(r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?));
            Ok(())
        })?;
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
pub fn points(conn: &dyn Conn, f: &ReportFilter) -> Result<Vec<PointRow>> {
    let mut sql = Sql::new("SELECT id, lon, lat, category FROM reports r WHERE 1 = 1");
    f.push_sql("r.", "r.id", &mut sql);
    if f.statuses.is_empty() {
        sql.push(" AND r.status <> 'rejected'");
    }
    Ok(conn.query_vec(&sql.text, &sql.args, |r| {
        Ok(PointRow {
            id: r.get(0)?,
            lon: r.get(1)?,
            lat: r.get(2)?,
            category: category_of(r.str(3)?.unwrap_or("")),
        })
    })?)
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

/// Open reports whose stored responsible owner is `owner`, created in the window and visible
/// to the asker, oldest first.
pub fn open_reports_of(
    conn: &dyn Conn,
    owner: &str,
    since: Option<i64>,
    until: Option<i64>,
    visibility: &crate::scope::Visibility,
) -> Result<Vec<OpenReport>> {
    let mut sql = Sql::new(
        "SELECT r.id, r.lon, r.lat, r.category, r.status, r.note, r.created_at,
                r.responsible_zone_id, (SELECT name FROM zones z WHERE z.id = r.responsible_zone_id),
                (SELECT photo_id FROM report_photos p WHERE p.report_id = r.id AND p.event_id IS NULL ORDER BY position LIMIT 1)
         FROM stat_reports s JOIN reports r ON r.id = s.report_id
         WHERE s.owner = ",
    );
    let o = sql.arg(owner);
    sql.push(&o);
    sql.push_in("s.status", Status::OPEN.iter().map(|s| s.as_str()));
    super::reports::push_visibility(visibility, "s.report_id", &mut sql);
    if let Some(s) = since {
        let t = format!(" AND s.created_at >= {}", sql.arg(s));
        sql.push(&t);
    }
    if let Some(u) = until {
        let t = format!(" AND s.created_at < {}", sql.arg(u));
        sql.push(&t);
    }
    sql.push(" ORDER BY r.created_at, r.id");
    Ok(conn.query_vec(&sql.text, &sql.args, |r| {
        Ok(OpenReport {
            id: r.get(0)?,
            lon: r.get(1)?,
            lat: r.get(2)?,
            category: category_of(r.str(3)?.unwrap_or("")),
            status: r
                .str(4)?
                .and_then(|s| s.parse().ok())
                .unwrap_or(Status::Reported),
            note: r.get(5)?,
            created_at: r.get(6)?,
            zone_id: r.get(7)?,
            zone_name: r.get(8)?,
            photo_id: r.get(9)?,
        })
    })?)
}

/// How many reports (any status, any time) name `owner` as responsible.
pub fn reports_of_owner(conn: &dyn Conn, owner: &str) -> Result<i64> {
    Ok(conn.query_scalar(
        "SELECT count(*) FROM stat_reports WHERE owner = $1",
        args![owner],
    )?)
}

/// Streams the per-report facts of one stored responsible owner matching `f`.
pub fn scan_owner(
    conn: &dyn Conn,
    owner: &str,
    f: &ReportFilter,
    each: impl FnMut(FactRow),
) -> Result<()> {
    let mut sql = Sql::new(
        "SELECT report_id, owner, created_at, category, status, closed_at, late, overdue FROM stat_reports s WHERE s.owner = ",
    );
    let o = sql.arg(owner);
    sql.push(&o);
    f.push_sql("s.", "s.report_id", &mut sql);
    stream_facts(conn, sql, each)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_labels_names_every_id_across_several_queries() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        db.execute_batch(
            "CREATE TABLE zones (id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, owner_name TEXT)",
        )
        .unwrap();
        for i in 0..1234 {
            let owner = (i % 3 != 0).then(|| format!("单位{i}"));
            db.execute(
                "INSERT INTO zones VALUES (?1, ?2, 'responsibility', ?3)",
                rusqlite::params![format!("z{i}"), format!("区{i}"), owner],
            )
            .unwrap();
        }
        let mut ids: Vec<String> = (0..1234).rev().map(|i| format!("z{i}")).collect();
        ids.push("not-stored".into());
        let got = zone_labels(&super::super::sqlite::SqliteConn(&db), &ids).unwrap();
        assert_eq!(got.len(), 1234);
        for i in 0..1234 {
            let (name, kind, owner) = &got[&format!("z{i}")];
            assert_eq!(name, &format!("区{i}"));
            assert_eq!(kind, "responsibility");
            assert_eq!(owner, &(i % 3 != 0).then(|| format!("单位{i}")));
        }
        assert!(!got.contains_key("not-stored"));
    }
}
