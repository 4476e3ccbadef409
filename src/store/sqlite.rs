//! The SQLite backend: one file `xuncha.sqlite3` in the data folder, WAL mode, `synchronous=FULL`.
//!
//! One writer connection (SQLite allows one writer at a time anyway) and a small pool of readers.

use super::db::{Backend, Conn, DbError, DbResult, Row, Value, ValueRef};
use rusqlite::types::ValueRef as SqlRef;
use rusqlite::{params_from_iter, Connection, ErrorCode, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const READERS: usize = 4;

/// The database file in a data folder.
pub fn db_path(dir: &Path) -> PathBuf {
    dir.join("xuncha.sqlite3")
}

pub struct SqlitePool {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl SqlitePool {
    /// Opens (creating) the database at `path` and runs `migrate` on the writer.
    pub fn open(path: &Path, migrate: impl FnOnce(&dyn Conn) -> DbResult<()>) -> DbResult<Self> {
        let writer = open_conn(path)?;
        migrate(&SqliteConn(&writer))?;
        let readers = (0..READERS)
            .map(|_| open_conn(path))
            .collect::<DbResult<Vec<_>>>()?;
        Ok(SqlitePool {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(readers),
        })
    }

    pub fn read<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&dyn Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        let conn = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match conn {
            Some(c) => c,
            None => open_conn(&self.path)?,
        };
        let out = f(&SqliteConn(&conn));
        let mut pool = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < READERS {
            pool.push(conn);
        }
        out
    }

    pub fn write<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&dyn Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| classify(e, "BEGIN IMMEDIATE"))?;
        let out = f(&SqliteConn(&tx))?;
        tx.commit().map_err(|e| classify(e, "COMMIT"))?;
        Ok(out)
    }

    /// A consistent copy of the live database into a new file `dest` (`VACUUM INTO`), taken
    /// inside one read transaction while writers go on.
    pub fn backup_to(&self, dest: &Path) -> DbResult<()> {
        let dest = dest.to_string_lossy().to_string();
        self.read(|c: &dyn Conn| c.execute("VACUUM INTO $1", &[Value::Text(dest.clone())]))
            .map(|_| ())
    }
}

fn open_conn(path: &Path) -> DbResult<Connection> {
    let conn = Connection::open(path).map_err(|e| classify(e, "open"))?;
    let setup = || -> rusqlite::Result<()> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a committed transaction survives power loss, not only a process crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(())
    };
    setup().map_err(|e| classify(e, "PRAGMA"))?;
    Ok(conn)
}

/// Sorts a rusqlite error into the causes callers act on.
fn classify(e: rusqlite::Error, sql: &str) -> DbError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        match f.code {
            ErrorCode::ConstraintViolation
                if matches!(
                    f.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
            {
                return DbError::Unique(e.to_string())
            }
            ErrorCode::DiskFull => return DbError::Full(e.to_string()),
            ErrorCode::CannotOpen => return DbError::Unavailable(e.to_string()),
            _ => {}
        }
    }
    DbError::other(e, sql)
}

/// `$1` → `?1` outside string literals.
fn translate(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains('$') {
        return sql.into();
    }
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c == '$' && !quoted && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out.into()
}

pub(crate) struct SqliteConn<'a>(pub(crate) &'a Connection);

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef as R};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => R::Null,
            Value::Int(i) => R::Integer(*i),
            Value::Real(f) => R::Real(*f),
            Value::Text(s) => R::Text(s.as_bytes()),
            Value::Bool(b) => R::Integer(i64::from(*b)),
            Value::Bytes(b) => R::Blob(b),
        }))
    }
}

struct SqliteRow<'a, 'b>(&'a rusqlite::Row<'b>);

impl Row for SqliteRow<'_, '_> {
    fn value(&self, i: usize) -> DbResult<ValueRef<'_>> {
        let v = self.0.get_ref(i).map_err(|e| DbError::Type {
            column: i,
            reason: e.to_string(),
        })?;
        Ok(match v {
            SqlRef::Null => ValueRef::Null,
            SqlRef::Integer(i) => ValueRef::Int(i),
            SqlRef::Real(f) => ValueRef::Real(f),
            SqlRef::Text(t) => {
                ValueRef::Text(std::str::from_utf8(t).map_err(|e| DbError::Type {
                    column: i,
                    reason: e.to_string(),
                })?)
            }
            SqlRef::Blob(b) => ValueRef::Bytes(b),
        })
    }
}

impl Conn for SqliteConn<'_> {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn execute(&self, sql: &str, args: &[Value]) -> DbResult<u64> {
        let text = translate(sql);
        let mut stmt = self.0.prepare_cached(&text).map_err(|e| classify(e, sql))?;
        stmt.execute(params_from_iter(args))
            .map(|n| n as u64)
            .map_err(|e| classify(e, sql))
    }

    fn for_each(
        &self,
        sql: &str,
        args: &[Value],
        each: &mut dyn FnMut(&dyn Row) -> DbResult<()>,
    ) -> DbResult<()> {
        let text = translate(sql);
        let mut stmt = self.0.prepare_cached(&text).map_err(|e| classify(e, sql))?;
        let mut rows = stmt
            .query(params_from_iter(args))
            .map_err(|e| classify(e, sql))?;
        while let Some(r) = rows.next().map_err(|e| classify(e, sql))? {
            each(&SqliteRow(r))?;
        }
        Ok(())
    }

    fn batch(&self, sql: &str) -> DbResult<()> {
        self.0.execute_batch(sql).map_err(|e| classify(e, sql))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_outside_quotes() {
        assert_eq!(
            translate("SELECT '$1', a FROM t WHERE b = $1 AND c = $12"),
            "SELECT '$1', a FROM t WHERE b = ?1 AND c = ?12"
        );
    }
}
