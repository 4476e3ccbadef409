//! Daily roll-ups of the statistics' facts, so `/api/stats` over a wide window reads a row per
//! day and group instead of a row per report.
//!
//! - `stat_days`: per local day of filing, dimension (`''` every report, or `sector`), key
//!   (the stored owner's sector; `''` for none), category and status: how many reports,
//!   how many of them ran late, are overdue, or closed within 48 h.
//! - `stat_day_closes`: for the closed ones, a histogram of the time from filing to close in
//!   tenths of an hour (bucket `t` holds the durations that round to `t / 10` h), with the
//!   exact shortest and longest duration of each bucket. That is enough for the exact median
//!   as the statistics print it: the middle report's bucket gives its rounded hours, and when
//!   the two middle reports of an even count fall in different buckets, they are the longest of
//!   the lower one and the shortest of the upper one.
//! - `stat_meta`: the local day's offset from UTC the days were cut at, and whether the
//!   roll-ups have been built from the facts (a new or upgraded store builds them on start).
//!
//! The facts' writers ([`super::reports`]) call [`shift`] in the transaction that changes a
//! fact: once with the old fact and `-1`, once with the new one and `+1`.
//!
//! Only SQLite keeps them for now (see [`kept`]). The `shard` column is for PostgreSQL, where
//! each counter would be split in [`PG_SHARDS`] by report id so concurrent writers of one day
//! and category do not queue on one row lock; on SQLite (one writer) there is one shard.

use super::db::{Backend, Conn, Sql};
use super::Result;
use crate::args;

pub const DAY_MS: i64 = 86_400_000;
/// A tenth of an hour, the width of a close-time bucket.
pub const TENTH_MS: i64 = 360_000;
/// A report closed within this many milliseconds of being filed counts as closed on time.
pub const CLOSED_WITHIN_MS: i64 = 48 * 3_600_000;
/// Rows a group's counter is split into on PostgreSQL.
pub const PG_SHARDS: i64 = 8;

/// The close-time bucket of a duration: the tenths of an hour it rounds to (half up).
pub fn tenth_of(duration_ms: i64) -> i64 {
    (duration_ms.max(0) + TENTH_MS / 2).div_euclid(TENTH_MS)
}

/// Both backends' migration; `$without_rowid` is SQLite's clustered-table clause.
macro_rules! schema {
    ($without_rowid:literal) => {
        concat!(
            r#"
    CREATE TABLE stat_meta (
        id            BIGINT PRIMARY KEY,
        day_offset_ms BIGINT NOT NULL,
        built         BIGINT NOT NULL
    );
    INSERT INTO stat_meta (id, day_offset_ms, built) VALUES (1, 28800000, 0);
    CREATE TABLE stat_days (
        dim        TEXT NOT NULL,
        key        TEXT NOT NULL,
        day        BIGINT NOT NULL,
        category   TEXT NOT NULL,
        status     TEXT NOT NULL,
        shard      BIGINT NOT NULL,
        n          BIGINT NOT NULL,
        late       BIGINT NOT NULL,
        overdue    BIGINT NOT NULL,
        within_48h BIGINT NOT NULL,
        PRIMARY KEY (dim, day, key, category, status, shard)
    )"#,
            $without_rowid,
            r#";
    CREATE TABLE stat_day_closes (
        dim      TEXT NOT NULL,
        key      TEXT NOT NULL,
        day      BIGINT NOT NULL,
        category TEXT NOT NULL,
        tenth    BIGINT NOT NULL,
        shard    BIGINT NOT NULL,
        n        BIGINT NOT NULL,
        min_ms   BIGINT,
        max_ms   BIGINT,
        PRIMARY KEY (dim, day, key, category, tenth, shard)
    )"#,
            $without_rowid,
            r#";
"#
        )
    };
}

/// SQLite's migration: the tables, not yet built.
pub const SQLITE_MIGRATION: &str = schema!(" WITHOUT ROWID");

/// PostgreSQL's migration: the tables, not yet built.
pub const POSTGRES_MIGRATION: &str = schema!("");

/// The roll-ups' dimensions: `(dim, key expression over a fact row aliased `s`)`.
const DIMS: [(&str, &str); 2] = [("", "''"), ("sector", "COALESCE(s.sector, '')")];

fn shard_expr(b: Backend, id: &str) -> String {
    match b {
        Backend::Sqlite => "0".into(),
        Backend::Postgres => format!("({id} % {PG_SHARDS})"),
    }
}

fn shard_of(b: Backend, report: i64) -> i64 {
    match b {
        Backend::Sqlite => 0,
        Backend::Postgres => report.rem_euclid(PG_SHARDS),
    }
}

/// The time from filing to close of a closed fact row aliased `s` (never below 0).
const DURATION: &str =
    "(CASE WHEN s.closed_at < s.created_at THEN 0 ELSE s.closed_at - s.created_at END)";

/// Whether this store keeps roll-ups. SQLite does. PostgreSQL does not yet: the report writer
/// stores a batch of reports in one transaction, so two servers' batches took the same counter
/// rows in different orders and deadlocked (the several-servers test found it); its statistics
/// read the facts, as before.
pub fn kept(conn: &dyn Conn) -> bool {
    conn.backend() == Backend::Sqlite
}

/// The day's offset the roll-ups were cut at, when they are built.
pub fn built_offset(conn: &dyn Conn) -> Result<Option<i64>> {
    if !kept(conn) {
        return Ok(None);
    }
    Ok(conn
        .query_opt(
            "SELECT day_offset_ms, built FROM stat_meta WHERE id = 1",
            &[],
            |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?)),
        )?
        .and_then(|(o, built)| (built == 1).then_some(o)))
}

/// Builds the roll-ups from the facts unless they are built at `offset_ms` already; whether it
/// built them. Run at start, in a write transaction.
pub fn ensure_built(conn: &dyn Conn, offset_ms: i64) -> Result<bool> {
    if !kept(conn) {
        return Ok(false);
    }
    // Two servers starting together: the second waits here, then finds them built.
    let lock = match conn.backend() {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let meta = conn.query_opt(
        &format!("SELECT day_offset_ms, built FROM stat_meta WHERE id = 1{lock}"),
        &[],
        |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?)),
    )?;
    if meta == Some((offset_ms, 1)) {
        return Ok(false);
    }
    rebuild(conn, offset_ms)?;
    Ok(true)
}

/// Replaces the roll-ups with ones computed from the facts, days cut at `offset_ms`.
pub fn rebuild(conn: &dyn Conn, offset_ms: i64) -> Result<()> {
    let b = conn.backend();
    conn.execute("DELETE FROM stat_days", &[])?;
    conn.execute("DELETE FROM stat_day_closes", &[])?;
    let shard = shard_expr(b, "s.report_id");
    // SQLite would read a constant shard in GROUP BY as a column number.
    let by_shard = match b {
        Backend::Sqlite => String::new(),
        Backend::Postgres => format!(", {shard}"),
    };
    let day = "(s.created_at + $1) / 86400000";
    for (dim, key) in DIMS {
        // PostgreSQL refuses a constant in GROUP BY, so every report's dimension leaves it out.
        let by_key = if dim.is_empty() {
            String::new()
        } else {
            format!("{key}, ")
        };
        conn.execute(
            &format!(
                "INSERT INTO stat_days (dim, key, day, category, status, shard, n, late, overdue, within_48h)
                 SELECT '{dim}', {key}, {day}, s.category, s.status, {shard}, count(*),
                        sum(CASE WHEN s.late THEN 1 ELSE 0 END), sum(CASE WHEN s.overdue THEN 1 ELSE 0 END),
                        sum(CASE WHEN s.status = 'closed' AND s.closed_at IS NOT NULL
                                      AND s.closed_at - s.created_at <= {CLOSED_WITHIN_MS} THEN 1 ELSE 0 END)
                 FROM stat_reports s
                 GROUP BY {by_key}{day}, s.category, s.status{by_shard}"
            ),
            args![offset_ms],
        )?;
        conn.execute(
            &format!(
                "INSERT INTO stat_day_closes (dim, key, day, category, tenth, shard, n, min_ms, max_ms)
                 SELECT '{dim}', {key}, {day}, s.category, ({DURATION} + {half}) / {TENTH_MS}, {shard},
                        count(*), min({DURATION}), max({DURATION})
                 FROM stat_reports s
                 WHERE s.status = 'closed' AND s.closed_at IS NOT NULL
                 GROUP BY {by_key}{day}, s.category, ({DURATION} + {half}) / {TENTH_MS}{by_shard}",
                half = TENTH_MS / 2
            ),
            args![offset_ms],
        )?;
    }
    conn.execute(
        "UPDATE stat_meta SET day_offset_ms = $1, built = 1 WHERE id = 1",
        args![offset_ms],
    )?;
    Ok(())
}

/// One report's fact, as the roll-ups count it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub report: i64,
    pub created_at: i64,
    pub category: String,
    pub status: String,
    pub sector: Option<String>,
    pub closed_at: Option<i64>,
    pub late: bool,
    pub overdue: bool,
}

impl Fact {
    /// The fact of report `id`, when it has one.
    pub fn of(conn: &dyn Conn, id: i64) -> Result<Option<Fact>> {
        Ok(conn.query_opt(
            "SELECT created_at, category, status, sector, closed_at, late, overdue
             FROM stat_reports WHERE report_id = $1",
            args![id],
            |r| {
                Ok(Fact {
                    report: id,
                    created_at: r.get(0)?,
                    category: r.get(1)?,
                    status: r.get(2)?,
                    sector: r.get(3)?,
                    closed_at: r.get(4)?,
                    late: r.get(5)?,
                    overdue: r.get(6)?,
                })
            },
        )?)
    }

    /// Its duration from filing to close, when it is closed.
    fn close_ms(&self) -> Option<i64> {
        (self.status == "closed")
            .then_some(self.closed_at)
            .flatten()
            .map(|c| (c - self.created_at).max(0))
    }

    /// The order in which a change's two shifts take their row locks (one order for every
    /// writer, so two transactions cannot wait on each other).
    fn lock_key(&self) -> (i64, &str, &str) {
        (
            self.created_at,
            self.category.as_str(),
            self.status.as_str(),
        )
    }
}

/// A fact changed from `old` to `new` (after the fact tables were updated): moves its counts.
pub fn replace(conn: &dyn Conn, old: &Fact, new: &Fact) -> Result<()> {
    if old == new {
        return Ok(());
    }
    if old.lock_key() <= new.lock_key() {
        shift(conn, old, -1)?;
        shift(conn, new, 1)
    } else {
        shift(conn, new, 1)?;
        shift(conn, old, -1)
    }
}

/// Adds (`sign` 1) or takes away (`sign` -1) one fact's counts. Taking one away runs after the
/// fact tables changed: a close-time bucket whose shortest or longest duration it was finds
/// them again among the facts still in it.
pub fn shift(conn: &dyn Conn, f: &Fact, sign: i64) -> Result<()> {
    if !kept(conn) {
        return Ok(());
    }
    let b = conn.backend();
    let shard = shard_of(b, f.report);
    let sector = f.sector.as_deref().unwrap_or("");
    let day = "(CAST($1 AS BIGINT) + m.day_offset_ms) / 86400000";
    let dims = "(SELECT '' AS dim, '' AS key
                 UNION ALL SELECT 'sector', CAST($2 AS TEXT)) v";
    let within = f.close_ms().is_some_and(|d| d <= CLOSED_WITHIN_MS);
    conn.execute(
        &format!(
            "INSERT INTO stat_days (dim, key, day, category, status, shard, n, late, overdue, within_48h)
             SELECT v.dim, v.key, {day}, CAST($3 AS TEXT), CAST($4 AS TEXT), CAST($5 AS BIGINT),
                    CAST($6 AS BIGINT), CAST($7 AS BIGINT), CAST($8 AS BIGINT), CAST($9 AS BIGINT)
             FROM stat_meta m, {dims} WHERE m.id = 1
             ON CONFLICT (dim, day, key, category, status, shard) DO UPDATE SET
                n = stat_days.n + excluded.n, late = stat_days.late + excluded.late,
                overdue = stat_days.overdue + excluded.overdue,
                within_48h = stat_days.within_48h + excluded.within_48h"
        ),
        args![
            f.created_at,
                        sector,
            f.category.as_str(),
            f.status.as_str(),
            shard,
            sign,
            sign * i64::from(f.late),
            sign * i64::from(f.overdue),
            sign * i64::from(within)
        ],
    )?;
    let Some(d) = f.close_ms() else {
        return Ok(());
    };
    let tenth = tenth_of(d);
    if sign > 0 {
        conn.execute(
            &format!(
                "INSERT INTO stat_day_closes (dim, key, day, category, tenth, shard, n, min_ms, max_ms)
                 SELECT v.dim, v.key, {day}, CAST($3 AS TEXT), CAST($4 AS BIGINT), CAST($5 AS BIGINT),
                        1, CAST($6 AS BIGINT), CAST($6 AS BIGINT)
                 FROM stat_meta m, {dims} WHERE m.id = 1
                 ON CONFLICT (dim, day, key, category, tenth, shard) DO UPDATE SET
                    n = stat_day_closes.n + 1,
                    min_ms = CASE WHEN stat_day_closes.n <= 0 OR excluded.min_ms < stat_day_closes.min_ms
                                  THEN excluded.min_ms ELSE stat_day_closes.min_ms END,
                    max_ms = CASE WHEN stat_day_closes.n <= 0 OR excluded.max_ms > stat_day_closes.max_ms
                                  THEN excluded.max_ms ELSE stat_day_closes.max_ms END"
            ),
            args![f.created_at, sector, f.category.as_str(), tenth, shard, d],
        )?;
        return Ok(());
    }
    // The two rows of this fact's bucket.
    let rows = "day = (SELECT (CAST($1 AS BIGINT) + m.day_offset_ms) / 86400000 FROM stat_meta m WHERE m.id = 1)
                AND category = CAST($3 AS TEXT) AND tenth = CAST($4 AS BIGINT) AND shard = CAST($5 AS BIGINT)
                AND ((dim = '' AND key = '') OR (dim = 'sector' AND key = CAST($2 AS TEXT)))";
    conn.execute(
        &format!("UPDATE stat_day_closes SET n = n - 1 WHERE {rows}"),
        args![f.created_at, sector, f.category.as_str(), tenth, shard],
    )?;
    // Where it was the shortest or longest, the facts left in the bucket say what is now.
    let shard_of_fact = shard_expr(b, "s.report_id");
    let left = format!(
        "FROM stat_reports s, stat_meta m
         WHERE m.id = 1
           AND s.created_at >= stat_day_closes.day * 86400000 - m.day_offset_ms
           AND s.created_at < (stat_day_closes.day + 1) * 86400000 - m.day_offset_ms
           AND s.status = 'closed' AND s.closed_at IS NOT NULL
           AND s.category = stat_day_closes.category
           AND ({DURATION} + {half}) / {TENTH_MS} = stat_day_closes.tenth
           AND {shard_of_fact} = stat_day_closes.shard
           AND (stat_day_closes.dim = ''
                OR (stat_day_closes.dim = 'sector' AND COALESCE(s.sector, '') = stat_day_closes.key))",
        half = TENTH_MS / 2
    );
    conn.execute(
        &format!(
            "UPDATE stat_day_closes SET min_ms = (SELECT min({DURATION}) {left}),
                                        max_ms = (SELECT max({DURATION}) {left})
             WHERE {rows} AND (min_ms = CAST($6 AS BIGINT) OR max_ms = CAST($6 AS BIGINT))"
        ),
        args![f.created_at, sector, f.category.as_str(), tenth, shard, d],
    )?;
    Ok(())
}

/// A dimension of the roll-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    /// Every report (one key, `''`).
    All,
    Sector,
}

impl Dim {
    fn as_str(self) -> &'static str {
        match self {
            Dim::All => "",
            Dim::Sector => "sector",
        }
    }
}

/// One roll-up row (summed over its shards' order: rows of one group may come several times).
pub struct DayRow<'a> {
    /// `''`: no sector (and every row of [`Dim::All`]).
    pub key: &'a str,
    pub day: i64,
    pub category: &'a str,
    pub status: &'a str,
    pub n: i64,
    pub late: i64,
    pub overdue: i64,
    pub within_48h: i64,
}

/// One close-time bucket of one roll-up group and day.
pub struct CloseRow<'a> {
    pub key: &'a str,
    pub day: i64,
    pub category: &'a str,
    pub tenth: i64,
    pub n: i64,
    pub min_ms: i64,
    pub max_ms: i64,
}

/// The day rows of `dim` for days `first..=last`, of the given categories and statuses (empty:
/// all).
pub fn scan_days(
    conn: &dyn Conn,
    dim: Dim,
    (first, last): (i64, i64),
    categories: &[&str],
    statuses: &[&str],
    each: &mut dyn FnMut(DayRow),
) -> Result<()> {
    let mut sql = Sql::new(
        "SELECT key, day, category, status, n, late, overdue, within_48h FROM stat_days WHERE dim = ",
    );
    push_range(&mut sql, dim, first, last);
    sql.push_in("category", categories.iter().copied());
    sql.push_in("status", statuses.iter().copied());
    sql.push(" AND n <> 0");
    conn.for_each(&sql.text, &sql.args, &mut |r| {
        each(DayRow {
            key: r.str(0)?.unwrap_or(""),
            day: r.get(1)?,
            category: r.str(2)?.unwrap_or(""),
            status: r.str(3)?.unwrap_or(""),
            n: r.get(4)?,
            late: r.get(5)?,
            overdue: r.get(6)?,
            within_48h: r.get(7)?,
        });
        Ok(())
    })?;
    Ok(())
}

/// The close-time buckets of `dim` for days `first..=last` and the given categories.
pub fn scan_closes(
    conn: &dyn Conn,
    dim: Dim,
    (first, last): (i64, i64),
    categories: &[&str],
    each: &mut dyn FnMut(CloseRow),
) -> Result<()> {
    let mut sql = Sql::new(
        "SELECT key, day, category, tenth, n, min_ms, max_ms FROM stat_day_closes WHERE dim = ",
    );
    push_range(&mut sql, dim, first, last);
    sql.push_in("category", categories.iter().copied());
    sql.push(" AND n > 0");
    conn.for_each(&sql.text, &sql.args, &mut |r| {
        each(CloseRow {
            key: r.str(0)?.unwrap_or(""),
            day: r.get(1)?,
            category: r.str(2)?.unwrap_or(""),
            tenth: r.get(3)?,
            n: r.get(4)?,
            min_ms: r.get::<Option<i64>>(5)?.unwrap_or(0),
            max_ms: r.get::<Option<i64>>(6)?.unwrap_or(0),
        });
        Ok(())
    })?;
    Ok(())
}

fn push_range(sql: &mut Sql, dim: Dim, first: i64, last: i64) {
    let d = sql.arg(dim.as_str());
    sql.push(&d);
    let f = sql.arg(first);
    let l = sql.arg(last);
    sql.push(&format!(" AND day >= {f} AND day <= {l}"));
}
