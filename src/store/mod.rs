//! Storage: the tables behind zones, users, reports and statistics, written once against the
//! small SQL interface of [`db`] and run on either backend:
//!
//! - SQLite ([`sqlite`]): one file in the data folder, the embedded default;
//! - PostgreSQL with PostGIS ([`postgres`]): shared by several servers (`--database postgres://…`).
//!
//! Photo blobs live beside the database ([`photos::PhotoFiles`]). Blocking calls run on tokio's
//! blocking pool through [`Store::read`] and [`Store::write`]; synchronous callers (CLI, tests)
//! use [`Store::read_sync`] / [`Store::write_sync`].

pub mod campaigns;
pub mod changes;
pub mod db;
mod migrations;
pub mod patrols;
pub mod photos;
pub mod postgres;
pub mod public;
pub mod reports;
pub mod rollups;
pub mod settings;
pub mod sqlite;
pub mod stats;
pub mod users;
pub mod zones;

pub use db::{Backend, Conn, DbError, Row, Value};

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors of the storage layer, by cause.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed a statement (classified in [`DbError`]).
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} {id:?} does not exist")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Conflict(String),
    #[error(
        "zone {id:?} is at version {current}, not {expected}; reload it and apply your edit again"
    )]
    VersionMismatch {
        id: String,
        current: i64,
        expected: i64,
    },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The group commit that carried this write failed as a whole.
    #[error("{0}")]
    Batch(std::sync::Arc<StoreError>),
    /// A blocking task panicked or was cancelled while it held the database.
    #[error("a database task failed: {0}")]
    TaskFailed(String),
    /// The photo object store is unreachable or refused (503, retry shortly).
    #[error("{0}")]
    PhotoStore(String),
}

impl StoreError {
    /// Whether the failure is the database being away (503) rather than the request.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Db(DbError::Unavailable(_)) | StoreError::PhotoStore(_) => true,
            StoreError::Batch(e) => e.is_unavailable(),
            _ => false,
        }
    }

    /// Whether the disk or quota is full (507).
    pub fn is_full(&self) -> bool {
        match self {
            StoreError::Db(DbError::Full(_)) => true,
            StoreError::Io { source, .. } => source.raw_os_error() == Some(28), // ENOSPC
            StoreError::Batch(e) => e.is_full(),
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Runs `f` where the blocking PostgreSQL client may block: on this thread when it drives no
/// async runtime, else on a short-lived thread of its own (the client would otherwise try to
/// start a runtime inside the caller's). Only synchronous callers on a runtime thread (start-up,
/// the CLI) pay for the thread; request handlers go through [`Store::read`] / [`Store::write`].
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `xuncha.sqlite3` in this data folder.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://user:password@host:port/database`).
    Postgres(String),
}

enum Pool {
    Sqlite(sqlite::SqlitePool),
    Postgres(postgres::PgPool),
}

struct Inner {
    dir: PathBuf,
    pool: Pool,
    origin: String,
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl Store {
    /// Opens (creating if needed) the SQLite database in `dir` and runs pending migrations.
    pub fn open(dir: &Path) -> Result<Self> {
        Store::open_at(&Location::Sqlite(dir.to_path_buf()), dir)
    }

    /// Opens the database at `location` (running pending migrations); `dir` is the data folder
    /// for local files (photos), which for SQLite is also where the database lives.
    pub fn open_at(location: &Location, dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let pool = match location {
            Location::Sqlite(d) => {
                std::fs::create_dir_all(d).map_err(|source| StoreError::Io {
                    path: d.to_path_buf(),
                    source,
                })?;
                Pool::Sqlite(sqlite::SqlitePool::open(
                    &sqlite::db_path(d),
                    migrations::run,
                )?)
            }
            Location::Postgres(url) => Pool::Postgres(off_runtime(|| {
                postgres::PgPool::open(url, migrations::run)
            })?),
        };
        Ok(Store {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                pool,
                origin: uuid::Uuid::new_v4().simple().to_string(),
            }),
        })
    }

    /// This process's name in the change feed: its own changes need not be replayed.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The data folder.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn backend(&self) -> Backend {
        match self.inner.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The PostgreSQL pool, for the change feed and advisory locks.
    pub fn postgres(&self) -> Option<&postgres::PgPool> {
        match &self.inner.pool {
            Pool::Postgres(p) => Some(p),
            Pool::Sqlite(_) => None,
        }
    }

    /// The SQLite pool, for backups.
    pub fn sqlite(&self) -> Option<&sqlite::SqlitePool> {
        match &self.inner.pool {
            Pool::Sqlite(p) => Some(p),
            Pool::Postgres(_) => None,
        }
    }

    /// Runs `f` on a reader connection, on the calling thread.
    pub fn read_sync<T: Send>(&self, f: impl FnOnce(&dyn Conn) -> Result<T> + Send) -> Result<T> {
        match &self.inner.pool {
            Pool::Sqlite(p) => p.read(f),
            Pool::Postgres(p) => off_runtime(|| p.read(f)),
        }
    }

    /// Runs `f` in one write transaction, committed when `f` returns `Ok`, rolled back otherwise.
    pub fn write_sync<T: Send>(&self, f: impl FnOnce(&dyn Conn) -> Result<T> + Send) -> Result<T> {
        match &self.inner.pool {
            Pool::Sqlite(p) => p.write(f),
            Pool::Postgres(p) => off_runtime(|| p.write(f)),
        }
    }

    /// [`Store::read_sync`] without moving off an async runtime's thread: for callers that run
    /// on a plain thread of their own and nest one store's work inside another's (`migrate`).
    pub fn read_here<T>(&self, f: impl FnOnce(&dyn Conn) -> Result<T>) -> Result<T> {
        match &self.inner.pool {
            Pool::Sqlite(p) => p.read(f),
            Pool::Postgres(p) => p.read(f),
        }
    }

    /// [`Store::write_sync`] likewise, see [`Store::read_here`].
    pub fn write_here<T>(&self, f: impl FnOnce(&dyn Conn) -> Result<T>) -> Result<T> {
        match &self.inner.pool {
            Pool::Sqlite(p) => p.write(f),
            Pool::Postgres(p) => p.write(f),
        }
    }

    /// [`Store::read_sync`] on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Conn) -> Result<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || match &store.inner.pool {
            Pool::Sqlite(p) => p.read(f),
            Pool::Postgres(p) => p.read(f),
        })
        .await
        .map_err(|e| StoreError::TaskFailed(e.to_string()))?
    }

    /// [`Store::write_sync`] on the blocking pool.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Conn) -> Result<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || match &store.inner.pool {
            Pool::Sqlite(p) => p.write(f),
            Pool::Postgres(p) => p.write(f),
        })
        .await
        .map_err(|e| StoreError::TaskFailed(e.to_string()))?
    }

    /// Whether the database answers (a trivial query).
    pub fn ping(&self) -> Result<()> {
        self.read_sync(|c| c.query_scalar::<i64>("SELECT 1", &[]).map_err(Into::into))
            .map(|_| ())
    }

    /// `PRAGMA integrity_check` on SQLite (`Ok(())` when it reports "ok"); a ping on PostgreSQL.
    pub fn integrity_check(&self) -> Result<()> {
        if self.backend() == Backend::Postgres {
            return self.ping();
        }
        self.read_sync(|c| {
            let r: String = c.query_scalar("PRAGMA integrity_check", &[])?;
            if r == "ok" {
                Ok(())
            } else {
                Err(StoreError::Corrupt(r))
            }
        })
    }
}
