//! The PostgreSQL backend (PostgreSQL ≥ 15 with PostGIS 3), through the synchronous `postgres`
//! client (the blocking face of `tokio-postgres`): the store's closures run on tokio's blocking
//! pool exactly as they do for SQLite, so both backends share one transaction interface.
//!
//! A small pool of connections, each with its own cache of prepared statements. A broken
//! connection is dropped, and the next request connects again, so the server recovers by itself
//! when the database comes back; while it is away, requests fail with
//! [`DbError::Unavailable`] (503) and nothing is half-written (the transaction never commits).

use super::db::{Backend, Conn, DbError, DbResult, Row, Value, ValueRef};
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, GenericClient, NoTls, Statement};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Most connections kept open per server.
const MAX_IDLE: usize = 16;

struct PgClient {
    client: Client,
    statements: HashMap<String, Statement>,
}

pub struct PgPool {
    config: postgres::Config,
    idle: Mutex<Vec<PgClient>>,
}

impl PgPool {
    /// Parses `url` (`postgres://user:pass@host:port/db`), connects once and runs `migrate`.
    pub fn open(url: &str, migrate: impl FnOnce(&dyn Conn) -> DbResult<()>) -> DbResult<Self> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| DbError::Unavailable(format!("bad database URL: {e}")))?;
        config.connect_timeout(Duration::from_secs(3));
        config.application_name("xuncha");
        let pool = PgPool {
            config,
            idle: Mutex::new(Vec::new()),
        };
        pool.write(|c: &dyn Conn| migrate(c))?;
        Ok(pool)
    }

    /// The connection settings (for a listener of its own).
    pub fn config(&self) -> &postgres::Config {
        &self.config
    }

    /// A new connection, for a listener or an advisory lock that outlives one request.
    pub fn connect(&self) -> DbResult<Client> {
        self.config
            .connect(NoTls)
            .map_err(|e| classify(e, "connect"))
    }

    fn take(&self) -> DbResult<PgClient> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match idle {
            Some(c) if !c.client.is_closed() => Ok(c),
            _ => Ok(PgClient {
                client: self.connect()?,
                statements: HashMap::new(),
            }),
        }
    }

    fn give_back(&self, c: PgClient) {
        if c.client.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(c);
        }
    }

    /// Runs `f` outside a transaction (each statement on its own).
    pub fn read<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&dyn Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut c = self.take()?;
        let PgClient { client, statements } = &mut c;
        let out = f(&PgConn {
            client: RefCell::new(client),
            statements: RefCell::new(statements),
        });
        self.give_back(c);
        out
    }

    /// Runs `f` in one transaction, committed when it returns `Ok`.
    pub fn write<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&dyn Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut c = self.take()?;
        let out = (|| {
            let PgClient { client, statements } = &mut c;
            let mut tx = client.transaction().map_err(|e| classify(e, "BEGIN"))?;
            let v = f(&PgConn {
                client: RefCell::new(&mut tx),
                statements: RefCell::new(statements),
            })?;
            tx.commit().map_err(|e| classify(e, "COMMIT"))?;
            Ok(v)
        })();
        self.give_back(c);
        out
    }

    /// Drops the idle connections (after the database restarted, say).
    pub fn clear(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl Drop for PgPool {
    fn drop(&mut self) {
        // Closing a blocking client drives a small runtime of its own, which must not happen on
        // a thread that drives an async runtime (the pool may be dropped there).
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|e| e.into_inner()));
        if !idle.is_empty() && tokio::runtime::Handle::try_current().is_ok() {
            let _ = std::thread::Builder::new()
                .name("pg-close".into())
                .spawn(move || drop(idle));
        }
    }
}

/// Sorts a driver error into the causes callers act on.
pub(crate) fn classify(e: postgres::Error, sql: &str) -> DbError {
    if e.is_closed() {
        return DbError::Unavailable(e.to_string());
    }
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => DbError::Unique(e.to_string()),
        Some(c) if *c == SqlState::DISK_FULL || *c == SqlState::OUT_OF_MEMORY => {
            DbError::Full(e.to_string())
        }
        Some(c)
            if c.code().starts_with("08")
                || *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
                || *c == SqlState::TOO_MANY_CONNECTIONS =>
        {
            DbError::Unavailable(e.to_string())
        }
        Some(_) => {
            let detail = e
                .as_db_error()
                .map(|d| d.message().to_string())
                .unwrap_or_else(|| e.to_string());
            DbError::other(detail, sql)
        }
        // No SQLSTATE: the socket or the protocol failed.
        None => DbError::Unavailable(e.to_string()),
    }
}

struct PgConn<'a, C: GenericClient> {
    client: RefCell<&'a mut C>,
    statements: RefCell<&'a mut HashMap<String, Statement>>,
}

impl<'a, C: GenericClient> PgConn<'a, C> {
    fn statement(&self, client: &mut C, sql: &str) -> DbResult<Statement> {
        let mut cache = self.statements.borrow_mut();
        if let Some(s) = cache.get(sql) {
            return Ok(s.clone());
        }
        let s = client.prepare(sql).map_err(|e| classify(e, sql))?;
        if cache.len() > 256 {
            cache.clear();
        }
        cache.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    fn client(&self, sql: &str) -> DbResult<std::cell::RefMut<'_, &'a mut C>> {
        self.client
            .try_borrow_mut()
            .map_err(|_| DbError::other("a query ran while another's rows were being read", sql))
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                _ => Err(format!("cannot send an integer as {ty}").into()),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                _ => Err(format!("cannot send a number as {ty}").into()),
            },
            Value::Bool(b) => match *ty {
                Type::BOOL => b.to_sql(ty, out),
                Type::INT8 => i64::from(*b).to_sql(ty, out),
                Type::INT4 => i32::from(*b).to_sql(ty, out),
                _ => Err(format!("cannot send a boolean as {ty}").into()),
            },
            Value::Text(s) => match *ty {
                Type::JSON => {
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                Type::JSONB => {
                    out.extend_from_slice(&[1]);
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                _ => s.as_str().to_sql(ty, out),
            },
            Value::Bytes(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

struct PgRow<'a>(&'a postgres::Row);

impl Row for PgRow<'_> {
    fn value(&self, i: usize) -> DbResult<ValueRef<'_>> {
        let r = self.0;
        let col = r.columns().get(i).ok_or_else(|| DbError::Type {
            column: i,
            reason: "no such column".into(),
        })?;
        let err = |e: postgres::Error| DbError::Type {
            column: i,
            reason: e.to_string(),
        };
        let v = match *col.type_() {
            Type::INT8 => r
                .try_get::<_, Option<i64>>(i)
                .map_err(err)?
                .map(ValueRef::Int),
            Type::INT4 => r
                .try_get::<_, Option<i32>>(i)
                .map_err(err)?
                .map(|v| ValueRef::Int(v.into())),
            Type::INT2 => r
                .try_get::<_, Option<i16>>(i)
                .map_err(err)?
                .map(|v| ValueRef::Int(v.into())),
            Type::FLOAT8 => r
                .try_get::<_, Option<f64>>(i)
                .map_err(err)?
                .map(ValueRef::Real),
            Type::FLOAT4 => r
                .try_get::<_, Option<f32>>(i)
                .map_err(err)?
                .map(|v| ValueRef::Real(v.into())),
            Type::BOOL => r
                .try_get::<_, Option<bool>>(i)
                .map_err(err)?
                .map(ValueRef::Bool),
            Type::BYTEA => r
                .try_get::<_, Option<&[u8]>>(i)
                .map_err(err)?
                .map(ValueRef::Bytes),
            _ => r
                .try_get::<_, Option<&str>>(i)
                .map_err(err)?
                .map(ValueRef::Text),
        };
        Ok(v.unwrap_or(ValueRef::Null))
    }
}

impl<C: GenericClient> Conn for PgConn<'_, C> {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn execute(&self, sql: &str, args: &[Value]) -> DbResult<u64> {
        let mut client = self.client(sql)?;
        let stmt = self.statement(*client, sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as _).collect();
        client.execute(&stmt, &params).map_err(|e| classify(e, sql))
    }

    fn for_each(
        &self,
        sql: &str,
        args: &[Value],
        each: &mut dyn FnMut(&dyn Row) -> DbResult<()>,
    ) -> DbResult<()> {
        let mut client = self.client(sql)?;
        let stmt = self.statement(*client, sql)?;
        let mut rows = client
            .query_raw(&stmt, args.iter())
            .map_err(|e| classify(e, sql))?;
        while let Some(r) = rows.next().map_err(|e| classify(e, sql))? {
            each(&PgRow(&r))?;
        }
        Ok(())
    }

    fn batch(&self, sql: &str) -> DbResult<()> {
        self.client(sql)?
            .batch_execute(sql)
            .map_err(|e| classify(e, sql))
    }
}
