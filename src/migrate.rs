//! `xuncha migrate --from … --to …`: copies a whole deployment from one store into an empty one
//! (SQLite → PostgreSQL to move up to several servers, or back for an offline copy), then
//! verifies row counts and checksums of every table.
//!
//! Rows are copied as they are stored (ids, versions, history and the statistics' facts
//! included), in one transaction on the target, so a failed copy leaves the target empty. A
//! target that already holds data is refused, so running it twice cannot duplicate anything.
//! Photo files are not copied: the new servers use the same photo folder.

use crate::store::db::{Conn, DbError, Value, ValueRef};
use crate::store::{Backend, Location, Store, StoreError};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Every table, parents before children, with the key that orders its rows.
pub const TABLES: &[(&str, &str)] = &[
    ("zones", "id"),
    ("zone_history", "seq"),
    ("users", "id"),
    ("tokens", "hash"),
    ("photos", "id"),
    ("reports", "id"),
    ("report_zones", "zone_id, report_id"),
    ("report_events", "id"),
    ("report_photos", "report_id, position"),
    ("stat_reports", "report_id"),
    ("stat_zone_reports", "report_id, zone_id"),
    ("settings", "key"),
];

/// Tables whose `id`-like column PostgreSQL numbers itself (its sequence is moved past the copy).
const IDENTITY: &[(&str, &str)] = &[
    ("zone_history", "seq"),
    ("users", "id"),
    ("reports", "id"),
    ("report_events", "id"),
    ("changes", "seq"),
];

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the target already holds data ({0}); migrate copies into an empty database only, so running it twice cannot duplicate anything")]
    TargetNotEmpty(String),
    #[error("verification failed for table {table}: {what}")]
    Mismatch { table: String, what: String },
}

impl From<DbError> for MigrateError {
    fn from(e: DbError) -> Self {
        MigrateError::Store(e.into())
    }
}

/// What was copied.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Per table: rows copied (and verified).
    pub tables: Vec<(String, u64)>,
    pub seconds: f64,
}

/// A `--from`/`--to` argument: a `postgres://` URL or a data folder (SQLite).
pub fn location(arg: &str) -> Location {
    if arg.starts_with("postgres://") || arg.starts_with("postgresql://") {
        Location::Postgres(arg.to_string())
    } else {
        Location::Sqlite(arg.into())
    }
}

/// Copies everything from `from` to `to` (which must be empty); `photos` is the data folder.
/// `progress` is told the rows done and the total. Call it from a plain thread (not one that
/// drives an async runtime): it nests reads of one store inside a transaction of the other.
pub fn migrate(
    from: &Location,
    to: &Location,
    photos: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Summary, MigrateError> {
    let t0 = std::time::Instant::now();
    let src = Store::open_at(from, photos)?;
    let dst = Store::open_at(to, photos)?;
    let columns: Vec<Vec<String>> = TABLES
        .iter()
        .map(|(t, _)| src.read_here(|c| Ok(columns_of(c, t)?)))
        .collect::<Result<_, _>>()?;
    let counts: Vec<u64> = TABLES
        .iter()
        .map(|(t, _)| src.read_here(|c| Ok(count(c, t)?)))
        .collect::<Result<_, _>>()?;
    let total: u64 = counts.iter().sum();
    let tables: Vec<(String, u64)> = dst.write_here(|tx| {
        for (t, _) in TABLES {
            let n = count(tx, t)?;
            if n > 0 && *t != "settings" {
                return Err(StoreError::Conflict(format!("{t} has {n} rows")));
            }
        }
        // Settings a new database may have made for itself give way to the copied ones.
        tx.execute("DELETE FROM settings", &[])?;
        let mut done = 0u64;
        let mut out = Vec::new();
        for ((t, key), cols) in TABLES.iter().zip(&columns) {
            let list = cols.join(", ");
            let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
            let insert = format!("INSERT INTO {t} ({list}) VALUES ({})", marks.join(", "));
            let select = format!("SELECT {list} FROM {t} ORDER BY {key}");
            let mut copied = 0u64;
            // Rows stream from the source and go into the target one by one, in the target's
            // transaction; a failure anywhere rolls the whole copy back.
            let mut failed: Option<DbError> = None;
            src.read_here(|c| {
                c.for_each(&select, &[], &mut |r| {
                    let vals: Vec<Value> =
                        (0..cols.len()).map(|i| r.value(i).map(owned)).collect::<Result<_, _>>()?;
                    if let Err(e) = tx.execute(&insert, &vals) {
                        failed = Some(e);
                        return Err(DbError::other("target insert failed", &insert));
                    }
                    copied += 1;
                    done += 1;
                    if done % 500 == 0 {
                        progress(done, total);
                    }
                    Ok(())
                })?;
                Ok(())
            })
            .map_err(|e| match failed.take() {
                Some(f) => StoreError::from(f),
                None => e,
            })?;
            out.push((t.to_string(), copied));
        }
        // The roll-ups are derived from the facts: built again on a target that keeps them, at
        // the source's day offset (a target whose source kept none builds them on start).
        let offset = src.read_here(crate::store::rollups::built_offset)?;
        if let Some(o) = offset.filter(|_| crate::store::rollups::kept(tx)) {
            crate::store::rollups::rebuild(tx, o)?;
        }
        if tx.backend() == Backend::Postgres {
            for (t, col) in IDENTITY {
                tx.batch(&format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', '{col}'), COALESCE((SELECT MAX({col}) FROM {t}), 0) + 1, false)"
                ))?;
            }
        }
        progress(done, total);
        Ok(out)
    })
    .map_err(|e| match e {
        StoreError::Conflict(m) => MigrateError::TargetNotEmpty(m),
        other => other.into(),
    })?;
    verify(&src, &dst, &columns)?;
    Ok(Summary {
        tables,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Row counts and a SHA-256 over every row of every table agree between the two stores.
pub fn verify(src: &Store, dst: &Store, columns: &[Vec<String>]) -> Result<(), MigrateError> {
    for ((t, key), cols) in TABLES.iter().zip(columns) {
        let a = src.read_here(|c| Ok(checksum(c, t, key, cols)?))?;
        let b = dst.read_here(|c| Ok(checksum(c, t, key, cols)?))?;
        if a.0 != b.0 {
            return Err(MigrateError::Mismatch {
                table: t.to_string(),
                what: format!("{} rows in the source, {} in the target", a.0, b.0),
            });
        }
        if a.1 != b.1 {
            return Err(MigrateError::Mismatch {
                table: t.to_string(),
                what: "the rows differ (checksums)".into(),
            });
        }
    }
    Ok(())
}

fn owned(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Int(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(s) => Value::Text(s.to_string()),
        ValueRef::Bool(b) => Value::Bool(b),
        ValueRef::Bytes(b) => Value::Bytes(b.to_vec()),
    }
}

fn count(c: &dyn Conn, table: &str) -> Result<u64, DbError> {
    Ok(c.query_scalar::<i64>(&format!("SELECT count(*) FROM {table}"), &[])? as u64)
}

/// The stored columns of `table` (not PostgreSQL's generated geometry columns).
fn columns_of(c: &dyn Conn, table: &str) -> Result<Vec<String>, DbError> {
    match c.backend() {
        Backend::Sqlite => c.query_vec(
            "SELECT name FROM pragma_table_info($1) ORDER BY cid",
            &[Value::Text(table.into())],
            |r| r.get(0),
        ),
        Backend::Postgres => c.query_vec(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'
             ORDER BY ordinal_position",
            &[Value::Text(table.into())],
            |r| r.get(0),
        ),
    }
}

/// (rows, SHA-256 of every value in key order); booleans count as 0/1 so both engines agree.
fn checksum(
    c: &dyn Conn,
    table: &str,
    key: &str,
    cols: &[String],
) -> Result<(u64, String), DbError> {
    let mut h = Sha256::new();
    let mut n = 0u64;
    let sql = format!("SELECT {} FROM {table} ORDER BY {key}", cols.join(", "));
    c.for_each(&sql, &[], &mut |r| {
        n += 1;
        for i in 0..cols.len() {
            match r.value(i)? {
                ValueRef::Null => h.update(b"N"),
                ValueRef::Int(v) => h.update(format!("I{v}")),
                ValueRef::Bool(v) => h.update(format!("I{}", i64::from(v))),
                ValueRef::Real(v) => h.update(format!("R{v:?}")),
                ValueRef::Bytes(b) => {
                    h.update(b"B");
                    h.update(b.len().to_le_bytes());
                    h.update(b);
                }
                ValueRef::Text(s) => {
                    h.update(b"T");
                    h.update(s.len().to_le_bytes());
                    h.update(s.as_bytes());
                }
            }
        }
        Ok(())
    })?;
    Ok((n, hex::encode(h.finalize())))
}
