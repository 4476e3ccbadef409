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
use crate::report::photo::{Format, Processed};
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
struct DirFiles {
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

impl DirFiles {
    fn open(data_dir: &Path) -> Result<Self> {
        let root = data_dir.join("photos");
        fs::create_dir_all(&root).map_err(io_err(&root))?;
        Ok(DirFiles { root })
    }

    /// Where a photo's file of `kind` lives. `id` must pass [`valid_id`].
    fn path(&self, id: &str, kind: Kind) -> PathBuf {
        self.root
            .join(&id[..2])
            .join(format!("{id}.{}", kind.suffix()))
    }

    /// Writes `bytes` durably as the `kind` file of photo `id`, unless it is already there.
    fn put(&self, id: &str, kind: Kind, bytes: &[u8]) -> Result<()> {
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

    /// Whether every file of photo `id` exists.
    fn has_all(&self, id: &str) -> bool {
        [Kind::Original, Kind::Normal, Kind::Thumb]
            .iter()
            .all(|k| self.path(id, *k).exists())
    }

    /// Removes temporary files and files of photos not in `referenced`, of those last modified
    /// at least `min_age` ago. Runs at start, before any upload of this server: alone on its
    /// folder (`min_age` zero) nothing can be in flight; when other servers share the folder,
    /// an upload of theirs may have written files it has not committed yet, so only files
    /// older than any upload can take are removed. Returns how many files went.
    fn clean(&self, referenced: &HashSet<String>, min_age: std::time::Duration) -> Result<usize> {
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

/// Photos in S3-compatible object storage: `<prefix>/ab/<sha256>.<kind>` objects. A PUT that
/// succeeded is durable (the store's promise), so a report is acknowledged only after it.
struct ObjectFiles {
    store: std::sync::Arc<dyn object_store::ObjectStore>,
    prefix: String,
    /// Runs the async client for the synchronous callers (the writer and blocking threads).
    rt: Option<tokio::runtime::Runtime>,
    url: String,
}

impl std::fmt::Debug for ObjectFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ObjectFiles({})", self.url)
    }
}

impl Drop for ObjectFiles {
    fn drop(&mut self) {
        // Dropping a runtime may happen on an async thread: never block there.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// An object-store failure: the photo store is away or refused (503, retry later).
fn object_err(url: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::PhotoStore(format!("the photo store {url}: {e}"))
}

impl ObjectFiles {
    /// `s3://bucket/prefix`, with the endpoint and credentials from the usual `AWS_*` variables
    /// (`AWS_ENDPOINT`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`,
    /// `AWS_ALLOW_HTTP=true` for a plain-http endpoint).
    fn open(url: &str) -> Result<Self> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| object_err(url, "photo storage URLs look like s3://bucket/prefix"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(object_err(url, "the URL names no bucket"));
        }
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| object_err(url, e))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("photo-store")
            .enable_all()
            .build()
            .map_err(|e| object_err(url, e))?;
        Ok(ObjectFiles {
            store: std::sync::Arc::new(store),
            prefix: prefix.trim_matches('/').to_string(),
            rt: Some(rt),
            url: url.to_string(),
        })
    }

    fn key(&self, id: &str, kind: Kind) -> object_store::path::Path {
        let name = format!("{}/{id}.{}", &id[..2], kind.suffix());
        if self.prefix.is_empty() {
            object_store::path::Path::from(name)
        } else {
            object_store::path::Path::from(format!("{}/{name}", self.prefix))
        }
    }

    /// Runs `f` on the client's runtime and waits for it (from any thread).
    fn run<T: Send + 'static>(
        &self,
        f: impl std::future::Future<Output = T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        let rt = self
            .rt
            .as_ref()
            .ok_or_else(|| object_err(&self.url, "shut down"))?;
        rt.spawn(async move {
            let _ = tx.send(f.await);
        });
        rx.recv()
            .map_err(|_| object_err(&self.url, "the photo store's client stopped"))
    }

    fn put(&self, id: &str, kind: Kind, bytes: &[u8]) -> Result<()> {
        let (store, key) = (self.store.clone(), self.key(id, kind));
        let payload = object_store::PutPayload::from(bytes.to_vec());
        self.run(async move { store.put(&key, payload).await })?
            .map(|_| ())
            .map_err(|e| object_err(&self.url, e))
    }

    fn read(&self, id: &str, kind: Kind) -> Result<Option<Vec<u8>>> {
        let (store, key) = (self.store.clone(), self.key(id, kind));
        let got = self.run(async move {
            match store.get(&key).await {
                Ok(r) => r.bytes().await.map(|b| Some(b.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        got.map_err(|e| object_err(&self.url, e))
    }

    fn has_all(&self, id: &str) -> bool {
        [Kind::Original, Kind::Normal, Kind::Thumb].iter().all(|k| {
            let (store, key) = (self.store.clone(), self.key(id, *k));
            matches!(
                self.run(async move { store.head(&key).await.is_ok() }),
                Ok(true)
            )
        })
    }

    fn clean(&self, referenced: &HashSet<String>, min_age: std::time::Duration) -> Result<usize> {
        use futures_util::StreamExt;
        let store = self.store.clone();
        let prefix =
            (!self.prefix.is_empty()).then(|| object_store::path::Path::from(self.prefix.clone()));
        let referenced = referenced.clone();
        let out = self.run(async move {
            let now = crate::time::now_ms();
            let mut removed = 0;
            let mut list = store.list(prefix.as_ref());
            let mut gone = Vec::new();
            while let Some(meta) = list.next().await {
                let meta = meta?;
                let name = meta.location.filename().unwrap_or("").to_string();
                let id = name.split('.').next().unwrap_or("");
                let keep = valid_id(id) && referenced.contains(id);
                let age = now - meta.last_modified.timestamp_millis();
                if !keep && (min_age.is_zero() || age >= min_age.as_millis() as i64) {
                    gone.push(meta.location.clone());
                }
            }
            drop(list);
            for p in gone {
                if store.delete(&p).await.is_ok() {
                    removed += 1;
                }
            }
            Ok::<usize, object_store::Error>(removed)
        })?;
        out.map_err(|e| object_err(&self.url, e))
    }
}

#[derive(Debug, Clone)]
enum Backend {
    Dir(DirFiles),
    Object(std::sync::Arc<ObjectFiles>),
}

/// Where photo files live: a folder (the default, `<data>/photos`, on shared storage when
/// several servers run) or S3-compatible object storage.
#[derive(Debug, Clone)]
pub struct PhotoFiles {
    backend: Backend,
}

impl PhotoFiles {
    /// Opens (creating) `<data_dir>/photos`.
    pub fn open(data_dir: &Path) -> Result<Self> {
        Ok(PhotoFiles {
            backend: Backend::Dir(DirFiles::open(data_dir)?),
        })
    }

    /// Opens `s3://bucket/prefix` (see the README for the settings).
    pub fn open_object_store(url: &str) -> Result<Self> {
        Ok(PhotoFiles {
            backend: Backend::Object(std::sync::Arc::new(ObjectFiles::open(url)?)),
        })
    }

    /// Where they live, for messages.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Dir(d) => d.root.display().to_string(),
            Backend::Object(o) => o.url.clone(),
        }
    }

    /// Whether photos are in object storage (not files under the data folder).
    pub fn is_object_store(&self) -> bool {
        matches!(self.backend, Backend::Object(_))
    }

    /// Stores `bytes` durably as the `kind` file of photo `id` (`id` must pass [`valid_id`]).
    pub fn put(&self, id: &str, kind: Kind, bytes: &[u8]) -> Result<()> {
        match &self.backend {
            Backend::Dir(d) => d.put(id, kind, bytes),
            Backend::Object(o) => o.put(id, kind, bytes),
        }
    }

    /// Stores the three files of a processed photo.
    pub fn put_processed(&self, p: &Processed, original: &[u8]) -> Result<()> {
        self.put(&p.id, Kind::Original, original)?;
        self.put(&p.id, Kind::Normal, &p.normalized)?;
        self.put(&p.id, Kind::Thumb, &p.thumb)
    }

    /// The bytes of photo `id`'s `kind` file, if stored.
    pub fn read(&self, id: &str, kind: Kind) -> Result<Option<Vec<u8>>> {
        match &self.backend {
            Backend::Dir(d) => {
                let path = d.path(id, kind);
                match fs::read(&path) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(io_err(&path)(e)),
                }
            }
            Backend::Object(o) => o.read(id, kind),
        }
    }

    /// Whether every file of photo `id` exists.
    pub fn has_all(&self, id: &str) -> bool {
        match &self.backend {
            Backend::Dir(d) => d.has_all(id),
            Backend::Object(o) => o.has_all(id),
        }
    }

    /// Removes files of photos not in `referenced` (and temporary files), of those older than
    /// `min_age`; see the folder's rules. Returns how many went.
    pub fn clean(
        &self,
        referenced: &HashSet<String>,
        min_age: std::time::Duration,
    ) -> Result<usize> {
        match &self.backend {
            Backend::Dir(d) => d.clean(referenced, min_age),
            Backend::Object(o) => o.clean(referenced, min_age),
        }
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
