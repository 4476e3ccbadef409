//! The SQL boundary: one small interface that the store's queries are written against once, with
//! two implementations, SQLite ([`super::sqlite`]) and PostgreSQL ([`super::postgres`]).
//!
//! Statements use PostgreSQL's numbered placeholders (`$1`, `$2`, …); the SQLite side rewrites
//! them to `?1`, `?2`, …. Values are the five kinds both engines share ([`Value`]); integers are
//! 64-bit everywhere (`BIGINT` in PostgreSQL). Where the dialects differ (string aggregation,
//! index hints, DDL) the query asks [`Conn::backend`].

use std::fmt;

/// Which engine a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `string_agg`/`group_concat` of `expr` with commas, in `order` when given.
    pub fn group_concat(self, expr: &str) -> String {
        match self {
            Backend::Sqlite => format!("group_concat({expr})"),
            Backend::Postgres => format!("string_agg({expr}, ',')"),
        }
    }
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
    /// Bytes (SQLite `BLOB`, PostgreSQL `BYTEA`).
    Bytes(Vec<u8>),
}

/// A value read from a row, borrowing its text from the row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Bool(bool),
    Bytes(&'a [u8]),
}

/// What went wrong in the database, classified so callers can tell a taken key or a lost
/// connection from a bug.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A UNIQUE or PRIMARY KEY constraint refused the row.
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// The database cannot be reached or the connection broke mid-statement.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The disk (or the database's quota) is full.
    #[error("database storage is full: {0}")]
    Full(String),
    /// A stored value is not what the code expects (a type or a number out of range).
    #[error("unexpected value in column {column}: {reason}")]
    Type { column: usize, reason: String },
    /// Any other failure, with the SQL that caused it.
    #[error("{message} (in: {sql})")]
    Other { message: String, sql: String },
}

impl DbError {
    pub(crate) fn other(message: impl fmt::Display, sql: &str) -> Self {
        let sql: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
        let sql = if sql.chars().count() > 160 {
            format!("{}…", sql.chars().take(160).collect::<String>())
        } else {
            sql
        };
        DbError::Other {
            message: message.to_string(),
            sql,
        }
    }
}

pub type DbResult<T> = std::result::Result<T, DbError>;

/// One row of a result, read by column position.
pub trait Row {
    fn value(&self, i: usize) -> DbResult<ValueRef<'_>>;
}

/// Conversion from a column value.
pub trait FromValue: Sized {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String>;
}

impl FromValue for i64 {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Int(i) => Ok(i),
            ValueRef::Bool(b) => Ok(i64::from(b)),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}

impl FromValue for u32 {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        let i = i64::from_value(v)?;
        u32::try_from(i).map_err(|_| format!("{i} does not fit in 32 bits"))
    }
}

impl FromValue for f64 {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Real(f) => Ok(f),
            ValueRef::Int(i) => Ok(i as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}

impl FromValue for bool {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Bool(b) => Ok(b),
            ValueRef::Int(i) => Ok(i != 0),
            other => Err(format!("expected a boolean, found {other:?}")),
        }
    }
}

impl FromValue for String {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Text(s) => Ok(s.to_string()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl dyn Row + '_ {
    /// Column `i` as `T`.
    pub fn get<T: FromValue>(&self, i: usize) -> DbResult<T> {
        T::from_value(self.value(i)?).map_err(|reason| DbError::Type { column: i, reason })
    }

    /// Column `i` as bytes borrowed from the row (`None` for NULL).
    pub fn bytes(&self, i: usize) -> DbResult<Option<&[u8]>> {
        match self.value(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Bytes(b) => Ok(Some(b)),
            other => Err(DbError::Type {
                column: i,
                reason: format!("expected bytes, found {other:?}"),
            }),
        }
    }

    /// Column `i` as text borrowed from the row (`None` for NULL).
    pub fn str(&self, i: usize) -> DbResult<Option<&str>> {
        match self.value(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(s) => Ok(Some(s)),
            other => Err(DbError::Type {
                column: i,
                reason: format!("expected text, found {other:?}"),
            }),
        }
    }
}

/// A connection or an open transaction.
pub trait Conn {
    fn backend(&self) -> Backend;
    /// Runs one statement; returns the number of rows it changed.
    fn execute(&self, sql: &str, args: &[Value]) -> DbResult<u64>;
    /// Runs a query and hands each row to `each`, in order, as it arrives. `each` must not use
    /// this connection.
    fn for_each(
        &self,
        sql: &str,
        args: &[Value],
        each: &mut dyn FnMut(&dyn Row) -> DbResult<()>,
    ) -> DbResult<()>;
    /// Runs several statements without arguments (DDL, savepoints).
    fn batch(&self, sql: &str) -> DbResult<()>;
}

impl dyn Conn + '_ {
    /// Every row mapped by `f`.
    pub fn query_vec<T>(
        &self,
        sql: &str,
        args: &[Value],
        mut f: impl FnMut(&dyn Row) -> DbResult<T>,
    ) -> DbResult<Vec<T>> {
        let mut out = Vec::new();
        self.for_each(sql, args, &mut |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row mapped by `f`, if there is one.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        args: &[Value],
        f: impl FnOnce(&dyn Row) -> DbResult<T>,
    ) -> DbResult<Option<T>> {
        let mut f = Some(f);
        let mut out = None;
        self.for_each(sql, args, &mut |r| {
            if let Some(f) = f.take() {
                out = Some(f(r)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The first column of the first row, which must exist.
    pub fn query_scalar<T: FromValue>(&self, sql: &str, args: &[Value]) -> DbResult<T> {
        self.query_opt(sql, args, |r| r.get(0))?
            .ok_or_else(|| DbError::other("the query returned no row", sql))
    }

    /// Runs `f` inside a savepoint: its changes are undone when it fails, and the enclosing
    /// transaction goes on (PostgreSQL otherwise aborts the whole transaction on an error).
    pub fn savepoint<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&dyn Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        self.batch("SAVEPOINT sp")?;
        match f(self) {
            Ok(v) => {
                self.batch("RELEASE SAVEPOINT sp")?;
                Ok(v)
            }
            Err(e) => {
                self.batch("ROLLBACK TO SAVEPOINT sp; RELEASE SAVEPOINT sp")?;
                Err(e)
            }
        }
    }
}

/// Builds a statement with a growing list of arguments, numbering the placeholders.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Value>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Sql {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// Adds `v` as an argument and returns its placeholder (`$n`).
    pub fn arg(&mut self, v: impl Into<Value>) -> String {
        self.args.push(v.into());
        format!("${}", self.args.len())
    }

    /// Appends text.
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends ` AND {col} IN ($a, $b, …)` for a non-empty list.
    pub fn push_in(&mut self, col: &str, vals: impl IntoIterator<Item = impl Into<Value>>) {
        let marks: Vec<String> = vals.into_iter().map(|v| self.arg(v)).collect();
        if !marks.is_empty() {
            let s = format!(" AND {col} IN ({})", marks.join(","));
            self.text.push_str(&s);
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(v.into())
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::Int(v as i64)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// `[v1, v2, …]` as a `Vec<Value>`: the arguments of a statement.
#[macro_export]
macro_rules! args {
    ($($v:expr),* $(,)?) => {
        &[$($crate::store::db::Value::from($v)),*][..]
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_builder_numbers_placeholders() {
        let mut q = Sql::new("SELECT 1 FROM t WHERE a = ");
        let a = q.arg(5i64);
        q.push(&a);
        q.push_in("b", ["x", "y"]);
        q.push_in("c", Vec::<i64>::new());
        assert_eq!(q.text, "SELECT 1 FROM t WHERE a = $1 AND b IN ($2,$3)");
        assert_eq!(q.args.len(), 3);
    }

    #[test]
    fn options_and_types() {
        assert_eq!(Option::<i64>::from_value(ValueRef::Null), Ok(None));
        assert_eq!(bool::from_value(ValueRef::Int(1)), Ok(true));
        assert!(i64::from_value(ValueRef::Text("1")).is_err());
    }
}
