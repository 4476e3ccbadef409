//! `xuncha backup DEST` and `xuncha restore SRC`: a consistent online copy of a SQLite
//! deployment — the database as one snapshot (`VACUUM INTO`, which reads inside one transaction
//! while the server goes on writing) and every photo file it references — and its checked restore
//! into an empty data folder.
//!
//! Photos are content-addressed and never rewritten, so copying them after the snapshot gives
//! exactly the files the snapshot references. A `MANIFEST.json` lists every file with its size
//! and SHA-256; `restore` verifies them and `PRAGMA integrity_check` before it writes anything.

use crate::state::App;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const DB_FILE: &str = "xuncha.sqlite3";
const MANIFEST: &str = "MANIFEST.json";
const PHOTO_SUFFIXES: [&str; 3] = ["orig", "jpg", "thumb.jpg"];

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Refused(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the backup is damaged: {0}")]
    Damaged(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    path: String,
    bytes: u64,
    sha256: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    created_at: String,
    reports: i64,
    files: Vec<Entry>,
}

/// What a backup or restore did.
#[derive(Debug, Clone)]
pub struct Summary {
    pub reports: i64,
    pub photos: usize,
    pub bytes: u64,
    pub seconds: f64,
}

fn empty_or_new(dir: &Path) -> Result<(), BackupError> {
    if dir.exists() {
        let mut it = std::fs::read_dir(dir).map_err(io(dir))?;
        if it.next().is_some() {
            return Err(BackupError::Refused(format!(
                "{} is not empty; give a new or empty folder",
                dir.display()
            )));
        }
    }
    std::fs::create_dir_all(dir).map_err(io(dir))
}

fn sha256_of(path: &Path) -> Result<(u64, String), BackupError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    Ok((bytes.len() as u64, hex::encode(Sha256::digest(&bytes))))
}

fn fsync(path: &Path) -> Result<(), BackupError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io(path))
}

/// The photo files (relative to the data folder) of every photo the database at `db` lists.
fn photo_files(db: &rusqlite::Connection) -> Result<Vec<String>, BackupError> {
    let mut stmt = db.prepare("SELECT id FROM photos ORDER BY id")?;
    let ids: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for id in ids {
        if id.len() < 2 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(BackupError::Damaged(format!("photo id {id:?}")));
        }
        for suffix in PHOTO_SUFFIXES {
            out.push(format!("photos/{}/{id}.{suffix}", &id[..2]));
        }
    }
    Ok(out)
}

/// Copies the deployment of `app` (SQLite) into `dest` while it keeps running.
pub fn backup(app: &App, dest: &Path) -> Result<Summary, BackupError> {
    let t0 = std::time::Instant::now();
    if app.store.postgres().is_some() {
        return Err(BackupError::Refused(
            "this deployment's database is PostgreSQL: back it up with pg_dump or pg_basebackup (and the photos folder with any file copy); xuncha backup copies SQLite deployments".into(),
        ));
    }
    if app.config.photos.is_some() {
        return Err(BackupError::Refused(
            "this deployment keeps its photos in object storage: protect them with the bucket's versioning or replication; xuncha backup copies deployments whose photos are in the data folder".into(),
        ));
    }
    let data = app.config.data_dir.clone();
    empty_or_new(dest)?;
    let copy = dest.join(DB_FILE);
    {
        let live = rusqlite::Connection::open_with_flags(
            data.join(DB_FILE),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        live.busy_timeout(std::time::Duration::from_secs(30))?;
        live.execute("VACUUM INTO ?1", [copy.to_string_lossy().as_ref()])?;
    }
    fsync(&copy)?;
    let snapshot = rusqlite::Connection::open(&copy)?;
    let reports: i64 = snapshot.query_row("SELECT count(*) FROM reports", [], |r| r.get(0))?;
    let mut files = Vec::new();
    let (bytes, sha) = sha256_of(&copy)?;
    files.push(Entry {
        path: DB_FILE.into(),
        bytes,
        sha256: sha,
    });
    let mut photos = 0;
    let mut total = bytes;
    for rel in photo_files(&snapshot)? {
        let from = data.join(&rel);
        if !from.exists() {
            // Kinds a photo never had (no thumbnail of a failed decode) are simply absent.
            continue;
        }
        let to = dest.join(&rel);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        std::fs::copy(&from, &to).map_err(io(&from))?;
        fsync(&to)?;
        let (bytes, sha) = sha256_of(&to)?;
        total += bytes;
        photos += 1;
        files.push(Entry {
            path: rel,
            bytes,
            sha256: sha,
        });
    }
    let manifest = Manifest {
        created_at: crate::time::to_rfc3339(crate::time::now_ms()),
        reports,
        files,
    };
    let mpath = dest.join(MANIFEST);
    let text =
        serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Damaged(e.to_string()))?;
    std::fs::write(&mpath, text).map_err(io(&mpath))?;
    fsync(&mpath)?;
    fsync(dest)?;
    Ok(Summary {
        reports,
        photos,
        bytes: total,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Checks the backup in `src` (manifest, file hashes, `PRAGMA integrity_check`) and copies it
/// into the empty data folder `data`.
pub fn restore(src: &Path, data: &Path) -> Result<Summary, BackupError> {
    let t0 = std::time::Instant::now();
    let mpath = src.join(MANIFEST);
    let text = std::fs::read(&mpath).map_err(io(&mpath))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| BackupError::Damaged(format!("{MANIFEST}: {e}")))?;
    for e in &manifest.files {
        if e.path.contains("..") || e.path.starts_with('/') {
            return Err(BackupError::Damaged(format!("file name {:?}", e.path)));
        }
        let (bytes, sha) = sha256_of(&src.join(&e.path))?;
        if bytes != e.bytes || sha != e.sha256 {
            return Err(BackupError::Damaged(format!(
                "{} differs from the manifest",
                e.path
            )));
        }
    }
    {
        let db = rusqlite::Connection::open_with_flags(
            src.join(DB_FILE),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(BackupError::Damaged(format!("integrity_check: {check}")));
        }
    }
    empty_or_new(data)?;
    let mut bytes = 0;
    for e in &manifest.files {
        let to = data.join(&e.path);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        std::fs::copy(src.join(&e.path), &to).map_err(io(&to))?;
        fsync(&to)?;
        bytes += e.bytes;
    }
    fsync(data)?;
    Ok(Summary {
        reports: manifest.reports,
        photos: manifest.files.len() - 1,
        bytes,
        seconds: t0.elapsed().as_secs_f64(),
    })
}
