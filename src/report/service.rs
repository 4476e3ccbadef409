//! `ReportService`: submitting reports, changing their status, and the group-commit writer.
//!
//! A report is acknowledged only after its photo files are fsynced and its transaction has
//! committed. To make that cheap under load, submissions go to one writer thread that drains its
//! queue and commits everything waiting in one transaction (one WAL fsync for the batch), each
//! report in its own savepoint so one failure does not sink the others; then it answers every
//! waiter. Under light load a batch is one report and nothing waits for company.

use crate::audit::Actor;
use crate::auth::User;
use crate::crs::gcj02;
use crate::report::photo::{self, PhotoError, PhotoLimits};
use crate::report::view::ReportView;
use crate::report::workflow;
use crate::report::{Category, RejectReason, Status, TransitionError};
use crate::scope::Visibility;
use crate::settings::Settings;
use crate::store::changes::{self, ChangeKind};
use crate::store::photos::{Kind, PhotoFiles, PhotoRow};
use crate::store::reports::{self, DuplicateRule, Inserted, NewReport};
use crate::store::{Store, StoreError};
use crate::webhooks::Hooks;
use crate::zone::registry::ZoneRegistry;
use crate::zone::responsibility;
use axum::body::Bytes;
use std::sync::Arc;
use std::sync::{mpsc, RwLock};

/// Unreferenced photo files in a folder shared with other servers are removed at start only
/// when older than this (no upload takes that long between writing its files and committing).
pub const SHARED_CLEAN_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Most reports committed in one transaction; bounds how long the first waiter of a batch waits.
const MAX_BATCH: usize = 256;

/// Errors of report operations.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Malformed input (a number that is not one, a coordinate out of range).
    #[error("{0}")]
    BadInput(String),
    /// Well-formed input that cannot be accepted (no location, unknown category, …).
    #[error("{0}")]
    Unprocessable(String),
    #[error("photo {index} {source}")]
    Photo {
        /// 1-based position among the request's photos.
        index: usize,
        source: PhotoError,
    },
    /// Input that cannot be accepted, with a machine code.
    #[error("{0}")]
    Rejected(crate::problem::Problem),
    /// The user's role may make this change, but not on this report.
    #[error("{0}")]
    NotYours(String),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The writer thread is gone (the server is shutting down or it panicked).
    #[error("the report writer has stopped")]
    WriterStopped,
    /// A blocking task (photo processing) panicked or was cancelled.
    #[error("a background task failed: {0}")]
    TaskFailed(String),
}

/// Which datum the client's `lon`/`lat` are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Crs {
    #[default]
    Wgs84,
    Gcj02,
}

impl Crs {
    pub fn parse(s: &str) -> Result<Crs, ReportError> {
        match s.to_ascii_lowercase().as_str() {
            "wgs84" | "epsg:4326" | "cgcs2000" => Ok(Crs::Wgs84),
            "gcj02" | "gcj-02" => Ok(Crs::Gcj02),
            _ => Err(ReportError::BadInput(format!(
                "crs={s:?} is not known; send wgs84 (the default) or gcj02"
            ))),
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
        }
    }
}

/// A submission as parsed from the request, before validation.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub crs: Crs,
    pub category: Option<Category>,
    pub note: Option<String>,
    /// Unix ms.
    pub captured_at: Option<i64>,
    pub client_id: Option<String>,
}

/// A status change as parsed from the request.
#[derive(Debug, Clone)]
pub struct ChangeDraft {
    pub status: Status,
    pub note: Option<String>,
    pub reason: Option<RejectReason>,
    /// Dispatch to this organisation instead of the responsible one.
    pub assign_to: Option<String>,
    /// The original report, when rejecting as a duplicate.
    pub duplicate_of: Option<i64>,
    /// When a dispatch is due (Unix ms) instead of the category's time limit.
    pub due_at: Option<i64>,
}

/// What became of a submission.
#[derive(Debug, Clone)]
pub enum Submitted {
    /// Stored now (201).
    Created(ReportView),
    /// A report with the same `client_id` was stored before; this is it (200).
    Existing(ReportView),
}

/// What happened to a report, as the live event stream names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeWhat {
    /// Filed just now.
    Created,
    /// Its status (or assignment) changed.
    StatusChanged,
    /// A note or photos were added without a status change (是同一问题).
    Updated,
    /// Changed by another server sharing the database; what exactly is not known here.
    Changed,
}

impl ChangeWhat {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeWhat::Created => "created",
            ChangeWhat::StatusChanged => "status_changed",
            ChangeWhat::Updated => "updated",
            ChangeWhat::Changed => "changed",
        }
    }
}

/// A report that was added or changed, for caches (e.g. tiles) that must forget that place.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportChange {
    pub id: i64,
    pub what: ChangeWhat,
    pub lon: f64,
    pub lat: f64,
    pub category: Category,
    pub status: Status,
    /// Unix ms.
    pub created_at: i64,
    /// Ids of the zones it matched (for scoped views).
    pub zones: Vec<String>,
    /// The organisations it concerns: responsible, assigned, escalated to.
    pub owners: Vec<String>,
}

impl ReportChange {
    /// Whether a user with visibility `v` may see this report (the same rule as
    /// [`crate::store::reports::push_visibility`], applied to what the change carries).
    pub fn visible_to(&self, v: &Visibility) -> bool {
        match v {
            Visibility::All => true,
            Visibility::Owner(o) => self.owners.iter().any(|x| x == o),
            Visibility::Zone(z) => self.zones.iter().any(|x| x == z),
        }
    }

    fn of_view(view: &ReportView, what: ChangeWhat) -> Self {
        ReportChange {
            id: view.id,
            what,
            lon: view.location.lon,
            lat: view.location.lat,
            category: view.category,
            status: view.status,
            created_at: crate::time::parse_rfc3339(&view.created_at).unwrap_or_default(),
            zones: view.zone_ids(),
            owners: view.owners(),
        }
    }
}

/// Something that wants to know which reports were added or changed.
pub type ReportListener = Box<dyn Fn(&[ReportChange]) + Send + Sync>;

/// Settings of the service (from [`crate::Config`]).
#[derive(Debug, Clone)]
pub struct ReportSettings {
    pub photo: PhotoLimits,
    pub max_photos: usize,
    pub duplicates: DuplicateRule,
    pub max_note_chars: usize,
    /// `s3://bucket/prefix` for photos in object storage; `None`: the data folder.
    pub photos: Option<String>,
}

impl ReportSettings {
    pub fn from_config(c: &crate::Config) -> Self {
        ReportSettings {
            photo: PhotoLimits {
                max_bytes: c.max_photo_bytes,
                max_pixels: c.max_photo_pixels,
                long_side: c.photo_long_side,
                thumb_side: c.thumb_long_side,
                exif_utc_offset_s: c.exif_utc_offset_s,
            },
            max_photos: c.max_photos,
            duplicates: DuplicateRule {
                radius_m: c.duplicate_radius_m,
                window_ms: c.duplicate_days as i64 * 86_400_000,
            },
            max_note_chars: 2000,
            photos: c.photos.clone(),
        }
    }
}

struct Job {
    report: NewReport,
    actor: Actor,
    reply: tokio::sync::oneshot::Sender<Result<Inserted, StoreError>>,
}

/// Reports and their photos.
pub struct ReportService {
    store: Store,
    files: PhotoFiles,
    queue: mpsc::Sender<Job>,
    listeners: RwLock<Vec<ReportListener>>,
    pub settings: ReportSettings,
    limits: Arc<Settings>,
    hooks: Arc<Hooks>,
}

impl ReportService {
    /// Opens the photo folder, removes what a crash left behind (temporary files and photos that
    /// no committed report refers to), and starts the writer thread. Call before serving.
    pub fn start(
        store: Store,
        settings: ReportSettings,
        limits: Arc<Settings>,
        hooks: Arc<Hooks>,
    ) -> Result<Self, StoreError> {
        let files = match &settings.photos {
            Some(url) => PhotoFiles::open_object_store(url)?,
            None => PhotoFiles::open(store.dir())?,
        };
        let referenced = store.read_sync(crate::store::photos::all_ids)?;
        // Other servers may share a PostgreSQL database and the photo folder.
        let min_age = match store.backend() {
            crate::store::Backend::Sqlite => std::time::Duration::ZERO,
            crate::store::Backend::Postgres => SHARED_CLEAN_AGE,
        };
        match files.clean(&referenced, min_age) {
            Ok(0) => {}
            Ok(removed) => tracing::info!(
                removed,
                "removed photo files left over by an interrupted upload"
            ),
            // Object storage away at start: serve anyway (uploads answer 503 until it is back);
            // leftovers are removed at the next start.
            Err(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "photo store unreachable; not cleaning it now")
            }
            Err(e) => return Err(e),
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let writer_store = store.clone();
        let rule = settings.duplicates;
        let writer_hooks = hooks.clone();
        std::thread::Builder::new()
            .name("report-writer".into())
            .spawn(move || writer_loop(writer_store, rx, rule, writer_hooks))
            .map_err(|source| StoreError::Io {
                path: store.dir().to_path_buf(),
                source,
            })?;
        Ok(ReportService {
            store,
            files,
            queue: tx,
            listeners: Default::default(),
            settings,
            limits,
            hooks,
        })
    }

    pub fn files(&self) -> &PhotoFiles {
        &self.files
    }

    /// Registers a callback told every report that was added or changed, after it committed.
    pub fn on_change(&self, f: ReportListener) {
        self.listeners
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(f);
    }

    /// Tells the listeners about reports changed by another server sharing the database.
    pub async fn refresh(&self, ids: Vec<i64>) -> Result<(), StoreError> {
        let changes = self
            .store
            .read(move |c| reports::changes_of(c, &ids))
            .await?;
        self.notify(&changes);
        Ok(())
    }

    fn notify(&self, changes: &[ReportChange]) {
        for l in self
            .listeners
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            l(changes);
        }
    }

    /// Validates, stores photos durably, matches the point to zones, commits, and returns the
    /// report. A `client_id` seen before returns the first report and stores nothing.
    pub async fn submit(
        &self,
        zones: &ZoneRegistry,
        actor: &Actor,
        draft: Draft,
        photos: Vec<Bytes>,
    ) -> Result<Submitted, ReportError> {
        // A retry is answered before any photo is decoded again; the UNIQUE constraint in the
        // writer still decides races between requests that are both in flight.
        if let Some(cid) = draft.client_id.clone() {
            if let Some(id) = self
                .store
                .read(move |c| reports::by_client_id(c, &cid))
                .await?
            {
                return Ok(Submitted::Existing(self.get(id, false).await?));
            }
        }
        let category = draft.category.ok_or_else(|| {
            ReportError::Unprocessable(
                "category is missing; GET /api/categories lists the categories".into(),
            )
        })?;
        let given =
            match (draft.lon, draft.lat) {
                (Some(lon), Some(lat)) => {
                    check_lon_lat(lon, lat)?;
                    Some(match draft.crs {
                        Crs::Wgs84 => (lon, lat),
                        Crs::Gcj02 => gcj02::to_wgs84(lon, lat),
                    })
                }
                (Some(_), None) => return Err(ReportError::BadInput(
                    "lat is missing (lon was given); send both, or neither to use the photo's GPS"
                        .into(),
                )),
                (None, Some(_)) => return Err(ReportError::BadInput(
                    "lon is missing (lat was given); send both, or neither to use the photo's GPS"
                        .into(),
                )),
                (None, None) => None,
            };
        if let Some(a) = draft.accuracy_m {
            if !(0.0..=10_000.0).contains(&a) {
                return Err(ReportError::BadInput(format!(
                    "accuracy_m={a} must be between 0 and 10000 metres"
                )));
            }
        }
        if let Some(n) = &draft.note {
            let chars = n.chars().count();
            if chars > self.settings.max_note_chars {
                return Err(ReportError::Unprocessable(format!(
                    "note is {chars} characters; the limit is {}",
                    self.settings.max_note_chars
                )));
            }
        }
        self.check_photo_count(photos.len())?;
        // Settle the location before any photo is processed, so a report without one leaves
        // nothing behind. Reading EXIF parses a few kilobytes of header, no pixels.
        let ((lon, lat), source) = match given {
            Some(p) => (p, "client"),
            None => {
                match photos.first() {
                    None => return Err(ReportError::Unprocessable(
                        "no location: send lon and lat (WGS84), or a photo with GPS in its EXIF"
                            .into(),
                    )),
                    Some(first) => {
                        let gps = photo::read_exif(first, self.settings.photo.exif_utc_offset_s)
                        .gps
                        .ok_or_else(|| {
                            ReportError::Unprocessable(
                                "no location: send lon and lat (WGS84); the first photo has no GPS position in its EXIF"
                                    .into(),
                            )
                        })?;
                        (gps, "exif")
                    }
                }
            }
        };
        let stored = self.store_photos(photos).await?;
        let now = crate::time::now_ms();
        let captured_at = draft
            .captured_at
            .or_else(|| stored.iter().find_map(|p| p.exif_taken_at))
            .unwrap_or(now);
        let answer =
            responsibility::answer(&zones.index(), lon, lat, draft.accuracy_m.unwrap_or(0.0));
        let report = NewReport {
            client_id: draft.client_id,
            lon,
            lat,
            accuracy_m: draft.accuracy_m,
            location_source: source,
            crs: draft.crs.as_str(),
            category,
            note: draft.note.filter(|n| !n.trim().is_empty()),
            captured_at,
            created_at: now,
            created_by: actor.username().to_string(),
            matched: (&answer).into(),
            due_at: self
                .limits
                .time_limits()
                .due(category, Status::Reported, now),
            photos: stored,
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.queue
            .send(Job {
                report: report.clone(),
                actor: actor.clone(),
                reply,
            })
            .map_err(|_| ReportError::WriterStopped)?;
        let inserted = answer.await.map_err(|_| ReportError::WriterStopped)??;
        match inserted {
            Inserted::Created(id) => {
                let view = self.get(id, false).await?;
                self.notify(&[ReportChange {
                    id,
                    what: ChangeWhat::Created,
                    lon,
                    lat,
                    category,
                    status: Status::Reported,
                    created_at: now,
                    zones: view.zone_ids(),
                    owners: view.owners(),
                }]);
                Ok(Submitted::Created(view))
            }
            Inserted::Existing(id) => Ok(Submitted::Existing(self.get(id, false).await?)),
        }
    }

    fn check_photo_count(&self, n: usize) -> Result<(), ReportError> {
        if n > self.settings.max_photos {
            return Err(ReportError::Unprocessable(format!(
                "{n} photos were sent; at most {} are accepted per request",
                self.settings.max_photos
            )));
        }
        Ok(())
    }

    /// Runs the photo pipeline off the async runtime, then writes the files durably. Every
    /// photo is checked before any file is written, so a refused request leaves nothing behind.
    async fn store_photos(&self, photos: Vec<Bytes>) -> Result<Vec<PhotoRow>, ReportError> {
        if photos.is_empty() {
            return Ok(Vec::new());
        }
        let store = self.store.clone();
        let files = self.files.clone();
        let limits = self.settings.photo.clone();
        tokio::task::spawn_blocking(move || store_photos_sync(&store, &files, &limits, &photos))
            .await
            .map_err(|e| ReportError::TaskFailed(e.to_string()))?
    }

    /// A report with its events.
    pub async fn get(&self, id: i64, with_events: bool) -> Result<ReportView, ReportError> {
        self.store
            .read(move |c| reports::get(c, id, with_events))
            .await?
            .ok_or_else(|| {
                StoreError::NotFound {
                    what: "report",
                    id: id.to_string(),
                }
                .into()
            })
    }

    /// Changes a report's status (with a note, a reason, after-photos) if the rules allow it
    /// and the report is the user's to change.
    pub async fn change(
        &self,
        actor: &Actor,
        id: i64,
        change: ChangeDraft,
        photos: Vec<Bytes>,
    ) -> Result<ReportView, ReportError> {
        let user = actor
            .user
            .clone()
            .ok_or_else(|| ReportError::NotYours("sign in to change a report".into()))?;
        self.check_note(change.note.as_deref())?;
        self.check_photo_count(photos.len())?;
        // Check the rules before decoding photos, so a refused change costs nothing; checked
        // again inside the transaction because the report may change in between.
        let vis = Visibility::of(&user);
        let wf = self.workflow_visible(id, &vis).await?;
        workflow::check_change(&user, &wf, &change, photos.len())?;
        if let Some(due) = change.due_at {
            workflow::check_due(due, crate::time::now_ms())?;
        }
        if let Some(orig) = change.duplicate_of {
            if orig == id {
                return Err(ReportError::Unprocessable(
                    "a report cannot duplicate itself; duplicate_of names the original".into(),
                ));
            }
            if !self
                .store
                .read(move |c| reports::visible(c, orig, &Visibility::All))
                .await?
            {
                return Err(ReportError::Unprocessable(format!(
                    "duplicate_of={orig}: no such report"
                )));
            }
        }
        let stored = self.store_photos(photos).await?;
        let c = change.clone();
        let origin = self.store.origin().to_string();
        let limits = self.limits.time_limits();
        let hooks = self.hooks.clone();
        let actor2 = actor.clone();
        let outcome = self
            .store
            .write(move |tx| {
                let wf = reports::workflow(tx, id)?;
                if let Err(e) = workflow::check_change(&user, &wf, &c, stored.len()) {
                    return Ok(Err(e));
                }
                let at = crate::time::now_ms();
                let assign_to = workflow::assignee(&wf, &c);
                reports::apply_change(
                    tx,
                    &reports::Change {
                        report: id,
                        from: wf.status,
                        to: c.status,
                        user: &user.username,
                        note: c.note.as_deref().filter(|n| !n.trim().is_empty()),
                        reason: c.reason,
                        photos: &stored,
                        at,
                        due_at: c.due_at.or(limits.due(wf.category, c.status, at)),
                        assign_to,
                        duplicate_of: c.duplicate_of,
                    },
                )?;
                changes::record(tx, &origin, ChangeKind::Report, &id.to_string(), at)?;
                let view = reports::get(tx, id, false)?.ok_or_else(|| StoreError::NotFound {
                    what: "report",
                    id: id.to_string(),
                })?;
                crate::audit::record(
                    tx,
                    &actor2,
                    &format!("report.{}", c.status),
                    Some(&format!("report:{id}")),
                    serde_json::json!({"from": wf.status, "to": c.status, "assigned_to": view.assigned_to, "reason": c.reason, "due_at": view.due_at}),
                )?;
                if let Some(name) = workflow::event_of(c.status) {
                    hooks.enqueue_lazy(tx, name, || workflow::report_event(name, &view))?;
                }
                Ok(Ok(()))
            })
            .await?;
        outcome?;
        self.hooks.wake.notify_one();
        let view = self.get(id, true).await?;
        self.notify(&[ReportChange::of_view(&view, ChangeWhat::StatusChanged)]);
        Ok(view)
    }

    /// Adds a note and photos to a report without changing its status (the same problem seen
    /// again: 是同一问题).
    pub async fn add_update(
        &self,
        actor: &Actor,
        id: i64,
        note: Option<String>,
        photos: Vec<Bytes>,
    ) -> Result<ReportView, ReportError> {
        let user = actor
            .user
            .clone()
            .ok_or_else(|| ReportError::NotYours("sign in to add to a report".into()))?;
        self.check_note(note.as_deref())?;
        self.check_photo_count(photos.len())?;
        let note = note.filter(|n| !n.trim().is_empty());
        if note.is_none() && photos.is_empty() {
            return Err(ReportError::Unprocessable(
                "an update needs a note or at least one photo".into(),
            ));
        }
        let wf = self.workflow_visible(id, &Visibility::of(&user)).await?;
        if !wf.status.is_open() {
            return Err(ReportError::Unprocessable(format!(
                "report {id} is {}; file a new report instead of adding to a finished one",
                wf.status
            )));
        }
        let stored = self.store_photos(photos).await?;
        let origin = self.store.origin().to_string();
        let actor2 = actor.clone();
        self.store
            .write(move |tx| {
                let wf = reports::workflow(tx, id)?;
                let at = crate::time::now_ms();
                reports::add_event(
                    tx,
                    &reports::NewEvent {
                        report: id,
                        kind: "update",
                        status: wf.status,
                        user: &user.username,
                        note: note.as_deref(),
                        data: None,
                        photos: &stored,
                        at,
                    },
                )?;
                changes::record(tx, &origin, ChangeKind::Report, &id.to_string(), at)?;
                crate::audit::record(
                    tx,
                    &actor2,
                    "report.update",
                    Some(&format!("report:{id}")),
                    serde_json::json!({"photos": stored.len(), "note": note.is_some()}),
                )?;
                Ok(())
            })
            .await?;
        let view = self.get(id, true).await?;
        self.notify(&[ReportChange::of_view(&view, ChangeWhat::Updated)]);
        Ok(view)
    }

    /// The workflow row of a report the asker may see (404 otherwise).
    async fn workflow_visible(
        &self,
        id: i64,
        vis: &Visibility,
    ) -> Result<reports::Workflow, ReportError> {
        let vis = vis.clone();
        self.store
            .read(move |c| {
                if !reports::visible(c, id, &vis)? {
                    return Err(StoreError::NotFound {
                        what: "report",
                        id: id.to_string(),
                    });
                }
                reports::workflow(c, id)
            })
            .await
            .map_err(Into::into)
    }

    /// A report the asker may see, with its events.
    pub async fn get_visible(&self, id: i64, vis: &Visibility) -> Result<ReportView, ReportError> {
        let vis = vis.clone();
        self.store
            .read(move |c| {
                if !reports::visible(c, id, &vis)? {
                    return Ok(None);
                }
                reports::get(c, id, true)
            })
            .await?
            .ok_or_else(|| {
                StoreError::NotFound {
                    what: "report",
                    id: id.to_string(),
                }
                .into()
            })
    }

    fn check_note(&self, note: Option<&str>) -> Result<(), ReportError> {
        if let Some(n) = note {
            let chars = n.chars().count();
            if chars > self.settings.max_note_chars {
                return Err(ReportError::Unprocessable(format!(
                    "note is {chars} characters; the limit is {}",
                    self.settings.max_note_chars
                )));
            }
        }
        Ok(())
    }

    /// Marks reports whose stage ran late, once each, and escalates them; returns how many.
    /// Run by the leader every few seconds.
    pub async fn sweep(&self, now: i64) -> Result<usize, StoreError> {
        let due = self
            .store
            .read(move |c| reports::due_for_sweep(c, now, 200))
            .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let origin = self.store.origin().to_string();
        let hooks = self.hooks.clone();
        let marked = self
            .store
            .write(move |tx| {
                let mut marked = Vec::new();
                for id in due {
                    if workflow::mark_overdue(tx, &hooks, &origin, id, now)? {
                        marked.push(id);
                    }
                }
                Ok(marked)
            })
            .await?;
        if !marked.is_empty() {
            self.hooks.wake.notify_one();
            self.refresh(marked.clone()).await?;
        }
        Ok(marked.len())
    }

    /// Open reports of `category` near `[lon, lat]` by the duplicate rule, nearest first.
    pub async fn nearby(
        &self,
        lon: f64,
        lat: f64,
        category: Category,
    ) -> Result<Vec<reports::Near>, ReportError> {
        let rule = self.settings.duplicates;
        let since = crate::time::now_ms() - rule.window_ms;
        Ok(self
            .store
            .read(move |c| reports::nearby(c, lon, lat, category, rule.radius_m, since))
            .await?)
    }

    /// Reports matching a query, newest first, and the key to continue after.
    pub async fn query(&self, q: reports::Query) -> Result<reports::Page, ReportError> {
        Ok(self.store.read(move |c| reports::query(c, &q)).await?)
    }

    /// How many reports `q` matches (paging aside) and how many of them are overdue.
    pub async fn counts(&self, q: reports::Query) -> Result<reports::Counts, ReportError> {
        Ok(self.store.read(move |c| reports::counts(c, &q)).await?)
    }

    /// The bytes of a stored photo's `kind` file and the MIME type to serve it with, if the
    /// photo exists.
    pub async fn photo_bytes(
        &self,
        id: &str,
        kind: Kind,
    ) -> Result<Option<(Vec<u8>, &'static str)>, ReportError> {
        let Some(mime) = self.photo_mime(id, kind).await? else {
            return Ok(None);
        };
        Ok(Some((self.read_photo(id, kind).await?, mime)))
    }

    /// The MIME type to serve a stored photo's `kind` file with; `None` when no such photo is
    /// recorded (a database lookup only: no file is read).
    pub async fn photo_mime(
        &self,
        id: &str,
        kind: Kind,
    ) -> Result<Option<&'static str>, ReportError> {
        if !crate::store::photos::valid_id(id) {
            return Ok(None);
        }
        let id2 = id.to_string();
        let row = self
            .store
            .read(move |c| crate::store::photos::get(c, &id2))
            .await?;
        Ok(row.map(|r| match kind {
            Kind::Original => r.format.mime(),
            Kind::Normal | Kind::Thumb => "image/jpeg",
        }))
    }

    /// The bytes of a recorded photo's `kind` file (missing: the store is corrupt).
    pub async fn read_photo(&self, id: &str, kind: Kind) -> Result<Vec<u8>, ReportError> {
        let (files, id) = (self.files.clone(), id.to_string());
        let shown = id.clone();
        let bytes = tokio::task::spawn_blocking(move || files.read(&id, kind))
            .await
            .map_err(|e| StoreError::TaskFailed(e.to_string()))??;
        bytes.ok_or_else(|| {
            StoreError::Corrupt(format!(
                "photo {shown} is recorded but its {kind:?} file is missing from {}",
                self.files.describe()
            ))
            .into()
        })
    }
}

/// Whether a patrol user may act on `report`: only on reports it filed. (Reports assigned to a
/// patrol would be allowed here too once dispatching can name a person; today it names an
/// organisation.)
/// Whether `user` may see who filed and who changed reports (office and admin only); others
/// see their own name and nothing of anyone else's.
pub fn sees_reporters(user: &User) -> bool {
    user.has_role(&[crate::auth::Role::Office])
}

/// Processes photos (reusing ones already stored with the same SHA-256), then writes their files
/// durably. Synchronous: run it on the blocking pool.
pub fn store_photos_sync(
    store: &Store,
    files: &PhotoFiles,
    limits: &PhotoLimits,
    photos: &[Bytes],
) -> Result<Vec<PhotoRow>, ReportError> {
    enum Ready {
        Stored(PhotoRow),
        New(Box<photo::Processed>),
    }
    let mut ready = Vec::with_capacity(photos.len());
    for (i, bytes) in photos.iter().enumerate() {
        let photo_err = |source| ReportError::Photo {
            index: i + 1,
            source,
        };
        if bytes.len() > limits.max_bytes {
            return Err(photo_err(PhotoError::TooLarge {
                bytes: bytes.len(),
                limit: limits.max_bytes,
            }));
        }
        let id = photo::sha256_hex(bytes);
        let id2 = id.clone();
        let known = store.read_sync(move |c| crate::store::photos::get(c, &id2))?;
        match known {
            Some(row) if files.has_all(&id) => ready.push(Ready::Stored(row)),
            _ => ready.push(Ready::New(Box::new(
                photo::process(bytes, limits).map_err(photo_err)?,
            ))),
        }
    }
    let mut rows = Vec::with_capacity(ready.len());
    for (r, bytes) in ready.into_iter().zip(photos) {
        rows.push(match r {
            Ready::Stored(row) => {
                // Its files may have been renamed into place by a request that has not yet
                // synced their directory: put() syncs it before this one relies on them.
                files.put(&row.id, Kind::Original, bytes)?;
                row
            }
            Ready::New(p) => {
                files.put_processed(&p, bytes)?;
                PhotoRow::from_processed(&p, bytes.len())
            }
        });
    }
    Ok(rows)
}

fn writer_loop(store: Store, rx: mpsc::Receiver<Job>, rule: DuplicateRule, hooks: Arc<Hooks>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let mut results: Vec<Result<Inserted, StoreError>> = Vec::with_capacity(batch.len());
        let origin = store.origin().to_string();
        let committed = store.write_sync(|tx| {
            for job in &batch {
                results.push(tx.savepoint(|sp| {
                    let r = reports::insert(sp, &job.report, rule)?;
                    if let Inserted::Created(id) = r {
                        workflow::created(sp, &hooks, &origin, &job.actor, id)?;
                    }
                    Ok(r)
                }));
            }
            Ok(())
        });
        match committed {
            Ok(()) => {
                hooks.wake.notify_one();
                for (job, r) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(r);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, reports = batch.len(), "a batch of reports failed to commit");
                // Every waiter learns the cause (a lost database is a 503, a full disk a 507).
                let cause = std::sync::Arc::new(e);
                for job in batch {
                    let _ = job.reply.send(Err(StoreError::Batch(cause.clone())));
                }
            }
        }
    }
}

/// WGS84 ranges, hinting at swapped axes (the classic bug).
fn check_lon_lat(lon: f64, lat: f64) -> Result<(), ReportError> {
    if !lon.is_finite() || !lat.is_finite() {
        return Err(ReportError::BadInput(
            "lon and lat must be finite numbers".into(),
        ));
    }
    if !(-90.0..=90.0).contains(&lat) {
        let hint = if (-90.0..=90.0).contains(&lon) {
            " (are lon and lat swapped?)"
        } else {
            ""
        };
        return Err(ReportError::BadInput(format!(
            "lat={lat} is outside -90..90{hint}"
        )));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(ReportError::BadInput(format!(
            "lon={lon} is outside -180..180"
        )));
    }
    Ok(())
}
