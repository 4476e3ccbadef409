//! Roll-ups of the statistics' facts, so `/api/stats` over a wide window reads a few rows per
//! group instead of a row per report.
//!
//! - `stat_days`: per local day of filing, dimension (`''` every report, or `sector`), key
//!   (the stored owner's sector; `''` for none), category and status: how many reports,
//!   how many of them ran late, are overdue, or closed within 48 h.
//! - `stat_close_nodes`: for the closed ones, histograms of the time from filing to close in
//!   tenths of an hour (bucket `t` holds the durations that round to `t / 10` h), one packed row
//!   per node of a time hierarchy, dimension, key and category. A node of level `l` covers the
//!   `8^l` days `node << 3l ..`; levels 0–3 (a day, 8, 64 and 512 days). A window reads its whole
//!   nodes (at most 14 per level) rather than every day, and a day's histogram of a few thousand
//!   closes is one row, not one per bucket. The histogram gives the middle report's bucket, which
//!   is the median as printed; when the two middle reports of an even count fall in different
//!   buckets, the statistics ask the facts for the longest of the lower bucket and the shortest
//!   of the upper one ([`super::stats::close_ends`], an index on the bucket).
//! - Both tables also hold every row summed over the categories, under the category [`ANY`], so
//!   a statistic that does not group or filter by category reads a tenth of the rows.
//! - `stat_meta`: the local day's offset from UTC the days were cut at, and whether the
//!   roll-ups have been built from the facts (a new or upgraded store builds them on start).
//!
//! The facts' writers ([`super::reports`]) call [`shift`] or [`replace`] in the transaction that
//! changes a fact.
//!
//! Only SQLite keeps them for now (see [`kept`]).

use super::db::{Backend, Conn, Sql};
use super::Result;
use crate::args;

/// A tenth of an hour, the width of a close-time bucket.
pub const TENTH_MS: i64 = 360_000;
/// A report closed within this many milliseconds of being filed counts as closed on time.
pub const CLOSED_WITHIN_MS: i64 = 48 * 3_600_000;
/// Levels of the close-time hierarchy; a node of level `l` covers `1 << (FAN_BITS * l)` days.
pub const LEVELS: u32 = 4;
/// A node has `1 << FAN_BITS` children.
pub const FAN_BITS: u32 = 3;

/// The category of the rows summed over every category.
pub const ANY: &str = "*";

/// The category rows a scan reads.
#[derive(Debug, Clone, Copy)]
pub enum Cats<'a> {
    /// The sums over every category ([`ANY`]).
    Any,
    /// Each category's own rows.
    Each,
    /// These categories' rows.
    Only(&'a [&'a str]),
}

impl Cats<'_> {
    fn push(self, sql: &mut Sql) {
        match self {
            Cats::Any => {
                let a = sql.arg(ANY);
                sql.push(&format!(" AND category = {a}"));
            }
            Cats::Each => {
                let a = sql.arg(ANY);
                sql.push(&format!(" AND category <> {a}"));
            }
            Cats::Only(c) => sql.push_in("category", c.iter().copied()),
        }
    }
}

/// The close-time bucket of a duration: the tenths of an hour it rounds to (half up).
pub fn tenth_of(duration_ms: i64) -> i64 {
    (duration_ms.max(0) + TENTH_MS / 2).div_euclid(TENTH_MS)
}

/// Both backends' first migration; `$without_rowid` is SQLite's clustered-table clause.
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

/// Both backends' second migration: the close-time histograms become packed rows of a time
/// hierarchy, rebuilt on start.
macro_rules! nodes_schema {
    ($without_rowid:literal, $blob:literal, $extra:literal) => {
        concat!(
            r#"
    DROP TABLE stat_day_closes;
    CREATE TABLE stat_close_nodes (
        dim      TEXT NOT NULL,
        key      TEXT NOT NULL,
        level    BIGINT NOT NULL,
        node     BIGINT NOT NULL,
        category TEXT NOT NULL,
        hist     "#,
            $blob,
            r#" NOT NULL,
        PRIMARY KEY (dim, level, node, key, category)
    )"#,
            $without_rowid,
            r#";
    UPDATE stat_meta SET built = 0;
"#,
            $extra
        )
    };
}

/// SQLite's second migration, with the index the median's exact ends are read from (the
/// expression must stay the one [`super::stats::close_ends`] filters on).
pub const SQLITE_NODES_MIGRATION: &str = nodes_schema!(
    " WITHOUT ROWID",
    "BLOB",
    r#"
    CREATE INDEX stat_reports_close ON stat_reports(
        ((CASE WHEN closed_at < created_at THEN 0 ELSE closed_at - created_at END + 180000) / 360000),
        created_at, category, sector, owner, closed_at)
    WHERE status = 'closed' AND closed_at IS NOT NULL;
"#
);

/// PostgreSQL's second migration (it keeps no roll-ups yet, see [`kept`]).
pub const POSTGRES_NODES_MIGRATION: &str = nodes_schema!("", "BYTEA", "");

/// The sector dimension: `(dim, key expression over a fact row aliased `s`)`. The other, every
/// report (`''`, key `''`), is summed from it.
const SECTOR: (&str, &str) = ("sector", "COALESCE(s.sector, '')");

/// The time from filing to close of a closed fact row aliased `s` (never below 0).
pub(crate) const DURATION: &str =
    "(CASE WHEN s.closed_at < s.created_at THEN 0 ELSE s.closed_at - s.created_at END)";

/// [`tenth_of`] of a closed fact row aliased `s`, in SQL: the expression `stat_reports_close`
/// indexes (see [`SQLITE_NODES_MIGRATION`]).
pub(crate) fn bucket_sql() -> String {
    format!("({DURATION} + {}) / {TENTH_MS}", TENTH_MS / 2)
}

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
    let meta = conn.query_opt(
        "SELECT day_offset_ms, built FROM stat_meta WHERE id = 1",
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
///
/// The facts are read twice, by sector (for the day counts, then for the close times); every
/// other row is summed from those: every report's rows over the sectors, and the [`ANY`] rows
/// over the categories.
pub fn rebuild(conn: &dyn Conn, offset_ms: i64) -> Result<()> {
    conn.execute("DELETE FROM stat_days", &[])?;
    conn.execute("DELETE FROM stat_close_nodes", &[])?;
    let day = "(s.created_at + $1) / 86400000";
    let tenth = bucket_sql();
    let (sector, sector_key) = SECTOR;
    conn.execute(
        &format!(
            "INSERT INTO stat_days (dim, key, day, category, status, shard, n, late, overdue, within_48h)
             SELECT '{sector}', {sector_key}, {day}, s.category, s.status, 0, count(*),
                    sum(CASE WHEN s.late THEN 1 ELSE 0 END), sum(CASE WHEN s.overdue THEN 1 ELSE 0 END),
                    sum(CASE WHEN s.status = 'closed' AND s.closed_at IS NOT NULL
                                  AND s.closed_at - s.created_at <= {CLOSED_WITHIN_MS} THEN 1 ELSE 0 END)
             FROM stat_reports s
             GROUP BY {sector_key}, {day}, s.category, s.status"
        ),
        args![offset_ms],
    )?;
    let sums = "sum(n), sum(late), sum(overdue), sum(within_48h)";
    conn.execute(
        &format!(
            "INSERT INTO stat_days (dim, key, day, category, status, shard, n, late, overdue, within_48h)
             SELECT '', '', day, category, status, 0, {sums}
             FROM stat_days WHERE dim = '{sector}' GROUP BY day, category, status"
        ),
        &[],
    )?;
    conn.execute(
        &format!(
            "INSERT INTO stat_days (dim, key, day, category, status, shard, n, late, overdue, within_48h)
             SELECT dim, key, day, '{ANY}', status, 0, {sums}
             FROM stat_days GROUP BY dim, key, day, status"
        ),
        &[],
    )?;
    // Day buckets in (sector, category, day, tenth) order, folded up the hierarchy as they come.
    let mut nodes = NodeBuilder::default();
    conn.for_each(
        &format!(
            "SELECT {sector_key}, s.category, {day}, {tenth}, count(*)
             FROM stat_reports s
             WHERE s.status = 'closed' AND s.closed_at IS NOT NULL
             GROUP BY {sector_key}, s.category, {day}, {tenth}
             ORDER BY {sector_key}, s.category, {day}, {tenth}"
        ),
        args![offset_ms],
        &mut |r| {
            let bucket = [(r.get::<i64>(3)?, r.get::<i64>(4)? as u64)];
            nodes.push(
                r.str(0)?.unwrap_or(""),
                r.str(1)?.unwrap_or(""),
                r.get(2)?,
                &bucket,
            );
            Ok(())
        },
    )?;
    let by_sector = nodes.finish();
    let days: Vec<&NodeRow> = by_sector.iter().filter(|n| n.level == 0).collect();
    let every_report = fold(&days, |n| ("", n.category.as_str()));
    let any_category = fold(&days, |n| (n.key.as_str(), ANY));
    let every_report_any = fold(&days, |_| ("", ANY));
    let dims = [
        (sector, by_sector),
        (sector, any_category),
        ("", every_report),
        ("", every_report_any),
    ];
    for (dim, rows) in dims {
        for n in rows {
            conn.execute(
                "INSERT INTO stat_close_nodes (dim, key, level, node, category, hist)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                args![
                    dim,
                    n.key.as_str(),
                    i64::from(n.level),
                    n.node,
                    n.category.as_str(),
                    n.hist
                ],
            )?;
        }
    }
    conn.execute(
        "UPDATE stat_meta SET day_offset_ms = $1, built = 1 WHERE id = 1",
        args![offset_ms],
    )?;
    Ok(())
}

/// The day histograms `days` summed by `(key, category)` as `group` gives them, and folded up
/// the hierarchy.
fn fold<'a>(
    days: &[&'a NodeRow],
    group: impl Fn(&'a NodeRow) -> (&'a str, &'a str),
) -> Vec<NodeRow> {
    let mut order: Vec<((&str, &str), i64, &[u8])> = days
        .iter()
        .map(|n| (group(n), n.node, n.hist.as_slice()))
        .collect();
    order.sort_unstable_by_key(|(g, day, _)| (*g, *day));
    let mut nodes = NodeBuilder::default();
    for run in order.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        let mut sum = std::collections::BTreeMap::<i64, u64>::new();
        for (_, _, h) in run {
            for (t, n) in hist::decode(h) {
                *sum.entry(t).or_default() += n;
            }
        }
        let ((key, category), day, _) = run[0];
        let buckets: Vec<(i64, u64)> = sum.into_iter().collect();
        nodes.push(key, category, day, &buckets);
    }
    nodes.finish()
}

/// One packed histogram row.
struct NodeRow {
    key: String,
    category: String,
    level: u32,
    node: i64,
    hist: Vec<u8>,
}

/// Folds day buckets, arriving in (key, category, day) order, into the nodes of every
/// level: each level holds the node being filled and flushes it when a day of another node (or
/// another key or category) comes.
#[derive(Default)]
struct NodeBuilder {
    key: String,
    category: String,
    open: Vec<(i64, std::collections::BTreeMap<i64, u64>)>,
    out: Vec<NodeRow>,
}

impl NodeBuilder {
    /// Buckets of one day, after every earlier day of this key and category.
    fn push(&mut self, key: &str, category: &str, day: i64, buckets: &[(i64, u64)]) {
        if self.open.is_empty() || key != self.key || category != self.category {
            self.flush_all();
            self.key = key.to_string();
            self.category = category.to_string();
            self.open = (0..LEVELS)
                .map(|_| (i64::MIN, Default::default()))
                .collect();
        }
        for level in 0..LEVELS {
            let node = day >> (FAN_BITS * level);
            if self.open[level as usize].0 != node {
                self.flush(level);
                self.open[level as usize].0 = node;
            }
            let open = &mut self.open[level as usize].1;
            for (t, n) in buckets {
                *open.entry(*t).or_default() += n;
            }
        }
    }

    fn flush(&mut self, level: u32) {
        let (node, buckets) = &mut self.open[level as usize];
        if buckets.is_empty() {
            return;
        }
        self.out.push(NodeRow {
            key: self.key.clone(),
            category: self.category.clone(),
            level,
            node: *node,
            hist: hist::encode(std::mem::take(buckets)),
        });
    }

    fn flush_all(&mut self) {
        for level in 0..self.open.len() as u32 {
            self.flush(level);
        }
    }

    fn finish(mut self) -> Vec<NodeRow> {
        self.flush_all();
        self.out
    }
}

/// Close-time histograms packed as bytes: for each bucket in ascending order, the step from the
/// previous bucket (from 0 for the first) and its count, both as LEB128 varints; no empty
/// buckets, so one histogram has one encoding.
pub mod hist {
    fn put(out: &mut Vec<u8>, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn get(b: &[u8], at: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *b.get(*at)?;
            *at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// The packed form of `(tenth, count)` buckets in ascending order of tenth (tenths ≥ 0);
    /// empty buckets are left out.
    pub fn encode(buckets: impl IntoIterator<Item = (i64, u64)>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut prev = 0i64;
        for (t, n) in buckets {
            if n == 0 {
                continue;
            }
            put(&mut out, (t - prev) as u64);
            put(&mut out, n);
            prev = t;
        }
        out
    }

    /// The buckets of a packed histogram, ascending (stops at a truncated end).
    pub fn decode(b: &[u8]) -> impl Iterator<Item = (i64, u64)> + '_ {
        let mut at = 0;
        let mut t = 0i64;
        std::iter::from_fn(move || {
            if at >= b.len() {
                return None;
            }
            t += get(b, &mut at)? as i64;
            Some((t, get(b, &mut at)?))
        })
    }

    /// `b` with `delta` added to the count of bucket `tenth` (a count never goes below 0).
    pub fn add(b: &[u8], tenth: i64, delta: i64) -> Vec<u8> {
        let mut buckets: Vec<(i64, u64)> = decode(b).collect();
        match buckets.binary_search_by_key(&tenth, |(t, _)| *t) {
            Ok(i) => buckets[i].1 = buckets[i].1.saturating_add_signed(delta),
            Err(i) if delta > 0 => buckets.insert(i, (tenth, delta as u64)),
            Err(_) => {}
        }
        encode(buckets)
    }
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

    /// Where it sits in the close-time histograms, when it is closed.
    fn close_place(&self) -> Option<(i64, i64, &str, Option<&str>)> {
        self.close_ms().map(|d| {
            (
                tenth_of(d),
                self.created_at,
                self.category.as_str(),
                self.sector.as_deref(),
            )
        })
    }
}

/// A fact changed from `old` to `new` (after the fact tables were updated): moves its counts.
pub fn replace(conn: &dyn Conn, old: &Fact, new: &Fact) -> Result<()> {
    if old == new || !kept(conn) {
        return Ok(());
    }
    shift_days(conn, old, -1)?;
    shift_days(conn, new, 1)?;
    // A closed report that only became late or overdue stays in its bucket.
    if old.close_place() != new.close_place() {
        shift_closes(conn, old, -1)?;
        shift_closes(conn, new, 1)?;
    }
    Ok(())
}

/// Adds (`sign` 1) or takes away (`sign` -1) one fact's counts.
pub fn shift(conn: &dyn Conn, f: &Fact, sign: i64) -> Result<()> {
    if !kept(conn) {
        return Ok(());
    }
    shift_days(conn, f, sign)?;
    shift_closes(conn, f, sign)
}

fn shift_days(conn: &dyn Conn, f: &Fact, sign: i64) -> Result<()> {
    let sector = f.sector.as_deref().unwrap_or("");
    let within = f.close_ms().is_some_and(|d| d <= CLOSED_WITHIN_MS);
    conn.execute(
        "INSERT INTO stat_days (dim, key, day, category, status, shard, n, late, overdue, within_48h)
         SELECT v.dim, v.key, (CAST($1 AS BIGINT) + m.day_offset_ms) / 86400000, v.category,
                CAST($4 AS TEXT), 0, CAST($5 AS BIGINT), CAST($6 AS BIGINT), CAST($7 AS BIGINT),
                CAST($8 AS BIGINT)
         FROM stat_meta m, (SELECT '' AS dim, '' AS key, CAST($3 AS TEXT) AS category
                            UNION ALL SELECT 'sector', CAST($2 AS TEXT), CAST($3 AS TEXT)
                            UNION ALL SELECT '', '', CAST($9 AS TEXT)
                            UNION ALL SELECT 'sector', CAST($2 AS TEXT), CAST($9 AS TEXT)) v
         WHERE m.id = 1
         ON CONFLICT (dim, day, key, category, status, shard) DO UPDATE SET
            n = stat_days.n + excluded.n, late = stat_days.late + excluded.late,
            overdue = stat_days.overdue + excluded.overdue,
            within_48h = stat_days.within_48h + excluded.within_48h",
        args![
            f.created_at,
            sector,
            f.category.as_str(),
            f.status.as_str(),
            sign,
            sign * i64::from(f.late),
            sign * i64::from(f.overdue),
            sign * i64::from(within),
            ANY
        ],
    )?;
    Ok(())
}

/// Moves a closed fact's duration into (`sign` 1) or out of its bucket in the node of every
/// level, for both dimensions, in its category and in the sums over all.
fn shift_closes(conn: &dyn Conn, f: &Fact, sign: i64) -> Result<()> {
    let Some(d) = f.close_ms() else {
        return Ok(());
    };
    let offset: i64 = conn.query_scalar("SELECT day_offset_ms FROM stat_meta WHERE id = 1", &[])?;
    let day = crate::time::city_day(f.created_at, offset);
    let tenth = tenth_of(d);
    let sector = f.sector.as_deref().unwrap_or("");
    let places = [("", ""), ("sector", sector)]
        .into_iter()
        .flat_map(|(dim, key)| [(dim, key, f.category.as_str()), (dim, key, ANY)]);
    for (dim, key, category) in places {
        for level in 0..LEVELS {
            let node = day >> (FAN_BITS * level);
            let at = args![dim, key, i64::from(level), node, category];
            let old = conn
                .query_opt(
                    "SELECT hist FROM stat_close_nodes
                     WHERE dim = $1 AND key = $2 AND level = $3 AND node = $4 AND category = $5",
                    at,
                    |r| Ok(r.bytes(0)?.map(<[u8]>::to_vec)),
                )?
                .flatten()
                .unwrap_or_default();
            let new = hist::add(&old, tenth, sign);
            if new.is_empty() {
                conn.execute(
                    "DELETE FROM stat_close_nodes
                     WHERE dim = $1 AND key = $2 AND level = $3 AND node = $4 AND category = $5",
                    at,
                )?;
            } else {
                conn.execute(
                    "INSERT INTO stat_close_nodes (dim, key, level, node, category, hist)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (dim, level, node, key, category) DO UPDATE SET hist = excluded.hist",
                    args![dim, key, i64::from(level), node, category, new],
                )?;
            }
        }
    }
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

/// One roll-up row of `stat_days`.
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

/// One packed close-time histogram of one roll-up group and node.
pub struct CloseNode<'a> {
    pub key: &'a str,
    /// The node's first day.
    pub day: i64,
    pub category: &'a str,
    /// See [`hist`].
    pub hist: &'a [u8],
}

/// The day rows of `dim` for days `first..=last`, of the given categories and statuses (empty:
/// all statuses).
pub fn scan_days(
    conn: &dyn Conn,
    dim: Dim,
    (first, last): (i64, i64),
    categories: Cats,
    statuses: &[&str],
    each: &mut dyn FnMut(DayRow),
) -> Result<()> {
    let mut sql = Sql::new(
        "SELECT key, day, category, status, n, late, overdue, within_48h FROM stat_days WHERE dim = ",
    );
    push_range(&mut sql, dim, first, last);
    categories.push(&mut sql);
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

/// The close-time histograms of `dim` covering days `first..=last` exactly once, for the given
/// categories: per day when `per_day`, else the fewest nodes of the hierarchy.
pub fn scan_closes(
    conn: &dyn Conn,
    dim: Dim,
    (first, last): (i64, i64),
    categories: Cats,
    per_day: bool,
    each: &mut dyn FnMut(CloseNode),
) -> Result<()> {
    // Only the days that hold closes: an open-ended window is cut to them.
    let span = conn.query_opt(
        "SELECT min(node), max(node) FROM stat_close_nodes WHERE dim = $1 AND level = 0",
        args![dim.as_str()],
        |r| Ok((r.get::<Option<i64>>(0)?, r.get::<Option<i64>>(1)?)),
    )?;
    let Some((Some(lo), Some(hi))) = span else {
        return Ok(());
    };
    let (first, last) = (first.max(lo), last.min(hi));
    if first > last {
        return Ok(());
    }
    let ranges = if per_day {
        vec![(0, first, last)]
    } else {
        cover(first, last)
    };
    for (level, a, b) in ranges {
        let mut sql =
            Sql::new("SELECT key, node, category, hist FROM stat_close_nodes WHERE dim = ");
        let d = sql.arg(dim.as_str());
        sql.push(&d);
        let l = sql.arg(i64::from(level));
        let f = sql.arg(a);
        let t = sql.arg(b);
        sql.push(&format!(" AND level = {l} AND node >= {f} AND node <= {t}"));
        categories.push(&mut sql);
        conn.for_each(&sql.text, &sql.args, &mut |r| {
            each(CloseNode {
                key: r.str(0)?.unwrap_or(""),
                day: r.get::<i64>(1)? << (FAN_BITS * level),
                category: r.str(2)?.unwrap_or(""),
                hist: r.bytes(3)?.unwrap_or(&[]),
            });
            Ok(())
        })?;
    }
    Ok(())
}

/// The nodes covering days `first..=last` exactly once, fewest first: `(level, first node, last
/// node)` ranges, at most two per level.
pub fn cover(first: i64, last: i64) -> Vec<(u32, i64, i64)> {
    let fan = 1i64 << FAN_BITS;
    let mut out = Vec::new();
    // Half-open, in nodes of the level.
    let (mut a, mut b) = (first, last + 1);
    for level in 0..LEVELS {
        let up = (a + fan - 1).div_euclid(fan) * fan;
        let down = b.div_euclid(fan) * fan;
        if level + 1 == LEVELS || up >= down {
            if a < b {
                out.push((level, a, b - 1));
            }
            break;
        }
        if a < up {
            out.push((level, a, up - 1));
        }
        if down < b {
            out.push((level, down, b - 1));
        }
        a = up / fan;
        b = down / fan;
    }
    out
}

fn push_range(sql: &mut Sql, dim: Dim, first: i64, last: i64) {
    let d = sql.arg(dim.as_str());
    sql.push(&d);
    let f = sql.arg(first);
    let l = sql.arg(last);
    sql.push(&format!(" AND day >= {f} AND day <= {l}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cover_holds_every_day_of_the_window_once_in_few_nodes() {
        let mut x: u64 = 16;
        let mut next = |m: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 33) % m) as i64
        };
        for _ in 0..2000 {
            let first = 20_000 + next(3000);
            let last = first + next(1500);
            let mut seen = std::collections::BTreeMap::new();
            let mut nodes = 0;
            for (level, a, b) in cover(first, last) {
                assert!(a <= b && level < LEVELS);
                for node in a..=b {
                    nodes += 1;
                    let w = 1i64 << (FAN_BITS * level);
                    for day in node * w..(node + 1) * w {
                        *seen.entry(day).or_insert(0) += 1;
                    }
                }
            }
            let want: Vec<i64> = (first..=last).collect();
            assert_eq!(seen.keys().copied().collect::<Vec<_>>(), want);
            assert!(seen.values().all(|n| *n == 1), "{first}..={last}");
            // At most 7 + 7 nodes per level below the top, and the top's share of 1 500 days.
            assert!(nodes <= 14 * 3 + 4, "{nodes} nodes for {first}..={last}");
        }
    }

    #[test]
    fn packed_histograms_add_and_take_away() {
        let mut h = Vec::new();
        for (t, d) in [(5, 1), (3, 1), (300, 2), (5, 1), (1_000_000, 1)] {
            h = hist::add(&h, t, d);
        }
        assert_eq!(
            hist::decode(&h).collect::<Vec<_>>(),
            vec![(3, 1), (5, 2), (300, 2), (1_000_000, 1)]
        );
        for (t, d) in [(5, -2), (3, -1), (300, -2), (1_000_000, -1)] {
            h = hist::add(&h, t, d);
        }
        assert!(h.is_empty(), "a histogram of nothing is no bytes");
        // Taking from an empty bucket changes nothing; a truncated histogram decodes its whole
        // buckets only.
        assert!(hist::add(&[], 7, -1).is_empty());
        let h = hist::encode([(1, 200), (2, 3)]);
        assert_eq!(hist::decode(&h[..h.len() - 1]).count(), 1);
    }
}
