//! Photo blobs on disk and their rows in `photos`.
//!
//! Files live under `<data>/photos/ab/<sha256>.<kind>`, named by the SHA-256 of the uploaded
//! bytes, so the same photo is stored once. A file is written to a temporary name, fsynced,
//! renamed into place, and its directory fsynced: after [`PhotoFiles::put`] returns, the file
//! survives a crash or power loss. Files that no committed row refers to (a crash between the
//! fsync and the commit) and temporary files are removed by [`PhotoFiles::clean`] at start.

use super::db::Conn;
use super::{Result, StoreError};
use crate::args;
use crate::photo::{Format, Processed};
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Which file of a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The bytes as uploaded: evidence, readable by office and admin only.
    Original,
    /// Upright JPEG, long side ≤ 2048, no metadata.
    Normal,
    /// Upright JPEG, long side ≤ 320, no metadata.
    Thumb,
}

impl Kind {
    fn suffix(self) -> &'static str {
        match self {
            Kind::Original => "orig",
            Kind::Normal => "jpg",
            Kind::Thumb => "thumb.jpg",
        }
    }
}

/// A row of `photos`.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoRow {
    pub id: String,
    pub format: Format,
    pub width: u32,
    pub height: u32,
    pub original_bytes: i64,
    pub exif_lon: Option<f64>,
    pub exif_lat: Option<f64>,
    pub exif_taken_at: Option<i64>,
}

impl PhotoRow {
    pub fn from_processed(p: &Processed, original_bytes: usize) -> Self {
        PhotoRow {
            id: p.id.clone(),
            format: p.format,
            width: p.width,
            height: p.height,
            original_bytes: original_bytes as i64,
            exif_lon: p.exif.gps.map(|g| g.0),
            exif_lat: p.exif.gps.map(|g| g.1),
            exif_taken_at: p.exif.taken_at,
        }
    }
}

/// The blob folder.
#[derive(Debug, Clone)]
pub struct PhotoFiles {
    root: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// Whether `id` looks like a SHA-256 hex digest (so it is safe in a path).
pub fn valid_id(id: &str) -> bool {
    id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl PhotoFiles {
    /// Opens (creating) `<data_dir>/photos`.
    pub fn open(data_dir: &Path) -> Result<Self> {
        let root = data_dir.join("photos");
        fs::create_dir_all(&root).map_err(io_err(&root))?;
        Ok(PhotoFiles { root })
    }

    /// Where a photo's file of `kind` lives. `id` must pass [`valid_id`].
    pub fn path(&self, id: &str, kind: Kind) -> PathBuf {
        self.root
            .join(&id[..2])
            .join(format!("{id}.{}", kind.suffix()))
    }

    /// Writes `bytes` durably as the `kind` file of photo `id`, unless it is already there.
    pub fn put(&self, id: &str, kind: Kind, bytes: &[u8]) -> Result<()> {
        let dir = self.root.join(&id[..2]);
        if !dir.exists() {
            fs::create_dir_all(&dir).map_err(io_err(&dir))?;
            fsync_dir(&self.root)?;
        }
        let path = self.path(id, kind);
        if path.exists() {
            // Another upload of the same photo renamed it into place; its directory entry may
            // not be on disk yet, so sync the directory before relying on it.
            return fsync_dir(&dir);
        }
        let tmp = dir.join(format!(
            ".{id}.{}.{}.tmp",
            kind.suffix(),
            uuid::Uuid::new_v4().simple()
        ));
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(&path)(e));
        }
        fsync_dir(&dir)
    }

    /// Stores the three files of a processed photo.
    pub fn put_processed(&self, p: &Processed, original: &[u8]) -> Result<()> {
        self.put(&p.id, Kind::Original, original)?;
        self.put(&p.id, Kind::Normal, &p.normalized)?;
        self.put(&p.id, Kind::Thumb, &p.thumb)
    }

    /// Whether every file of photo `id` exists.
    pub fn has_all(&self, id: &str) -> bool {
        [Kind::Original, Kind::Normal, Kind::Thumb]
            .iter()
            .all(|k| self.path(id, *k).exists())
    }

    /// Removes temporary files and files of photos not in `referenced`, of those last modified
    /// at least `min_age` ago. Runs at start, before any upload of this server: alone on its
    /// folder (`min_age` zero) nothing can be in flight; when other servers share the folder,
    /// an upload of theirs may have written files it has not committed yet, so only files
    /// older than any upload can take are removed. Returns how many files went.
    pub fn clean(
        &self,
        referenced: &HashSet<String>,
        min_age: std::time::Duration,
    ) -> Result<usize> {
        let now = std::time::SystemTime::now();
        let old_enough = |f: &fs::DirEntry| {
            min_age.is_zero()
                || f.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| now.duration_since(t).unwrap_or_default() >= min_age)
        };
        let mut removed = 0;
        let dirs = fs::read_dir(&self.root).map_err(io_err(&self.root))?;
        for d in dirs.flatten() {
            if !d.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Ok(files) = fs::read_dir(d.path()) else {
                continue;
            };
            for f in files.flatten() {
                let name = f.file_name();
                let name = name.to_string_lossy();
                let id = name.split('.').next().unwrap_or("");
                let keep = !name.starts_with('.') && valid_id(id) && referenced.contains(id);
                if !keep && old_enough(&f) && fs::remove_file(f.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// Records a photo (once: the same photo uploaded again keeps its first row).
pub fn insert(conn: &dyn Conn, p: &PhotoRow, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO photos (id, format, width, height, original_bytes, exif_lon, exif_lat, exif_taken_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        args![
            p.id.as_str(),
            p.format.as_str(),
            p.width,
            p.height,
            p.original_bytes,
            p.exif_lon,
            p.exif_lat,
            p.exif_taken_at,
            now
        ],
    )?;
    Ok(())
}

/// A photo's row.
pub fn get(conn: &dyn Conn, id: &str) -> Result<Option<PhotoRow>> {
    Ok(conn.query_opt(
        "SELECT id, format, width, height, original_bytes, exif_lon, exif_lat, exif_taken_at FROM photos WHERE id = $1",
        args![id],
        |r| {
            Ok(PhotoRow {
                id: r.get(0)?,
                format: Format::parse(r.str(1)?.unwrap_or("")).unwrap_or(Format::Jpeg),
                width: r.get(2)?,
                height: r.get(3)?,
                original_bytes: r.get(4)?,
                exif_lon: r.get(5)?,
                exif_lat: r.get(6)?,
                exif_taken_at: r.get(7)?,
            })
        },
    )?)
}

/// Every photo id that a committed row refers to.
pub fn all_ids(conn: &dyn Conn) -> Result<HashSet<String>> {
    let mut ids = HashSet::new();
    conn.for_each("SELECT id FROM photos", &[], &mut |r| {
        ids.insert(r.get::<String>(0)?);
        Ok(())
    })?;
    Ok(ids)
}
