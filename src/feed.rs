//! Following the change feed of a shared PostgreSQL database, so several servers behave as one.
//!
//! Every write records a row in `changes` in its own transaction ([`crate::store::changes`]) and
//! sends `NOTIFY xuncha_changes`, delivered when it commits. Each server LISTENs on a connection
//! of its own and, woken by a notification or every [`POLL`] at the latest (a missed notification,
//! a reconnect), reads the rows after the last one it applied and applies them to its in-memory
//! state: the zone index, the report points, the tile cache and the cached sessions.
//!
//! Sequence numbers are handed out when a transaction inserts its row, but transactions commit in
//! any order, so a row may appear after a later one was read. The cursor therefore remembers the
//! rows it has applied above the first gap and waits [`GAP_TIMEOUT`] for a missing number before
//! deciding that its transaction rolled back.
//!
//! With SQLite there is one server and nothing to follow.

use crate::state::App;
use crate::store::changes::{self, ChangeKind, ChangeRow};
use crate::store::StoreError;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Longest wait between two reads of the feed.
pub const POLL: Duration = Duration::from_millis(1000);
/// How long a missing sequence number is waited for.
pub const GAP_TIMEOUT: Duration = Duration::from_secs(10);
/// Most rows read at a time.
const BATCH: i64 = 2000;

/// Where this server is in the feed (for `/healthz`).
#[derive(Debug)]
pub struct FeedStatus {
    applied: AtomicI64,
    newest_seen: AtomicI64,
    last_read_ms: AtomicI64,
    listening: AtomicBool,
}

impl FeedStatus {
    pub fn new(start: i64) -> Self {
        FeedStatus {
            applied: AtomicI64::new(start),
            newest_seen: AtomicI64::new(start),
            last_read_ms: AtomicI64::new(crate::time::now_ms()),
            listening: AtomicBool::new(false),
        }
    }

    /// `{"applied", "behind", "read_ms_ago", "listening"}`.
    pub fn to_json(&self) -> Value {
        let applied = self.applied.load(Ordering::Relaxed);
        json!({
            "applied": applied,
            "behind": (self.newest_seen.load(Ordering::Relaxed) - applied).max(0),
            "read_ms_ago": crate::time::now_ms() - self.last_read_ms.load(Ordering::Relaxed),
            "listening": self.listening.load(Ordering::Relaxed),
        })
    }
}

/// Applied rows above the first gap.
struct Cursor {
    floor: i64,
    seen: BTreeSet<i64>,
    gaps: HashMap<i64, Instant>,
}

impl Cursor {
    fn new(floor: i64) -> Self {
        Cursor {
            floor,
            seen: BTreeSet::new(),
            gaps: HashMap::new(),
        }
    }

    /// Moves the floor over applied rows and over gaps older than the timeout.
    fn advance(&mut self, now: Instant) {
        loop {
            let next = self.floor + 1;
            if self.seen.remove(&next) {
                self.floor = next;
                self.gaps.remove(&next);
                continue;
            }
            if self.seen.is_empty() {
                break;
            }
            let since = *self.gaps.entry(next).or_insert(now);
            if now.duration_since(since) >= GAP_TIMEOUT {
                self.floor = next;
                self.gaps.remove(&next);
                continue;
            }
            break;
        }
    }
}

/// Starts following the feed when the store is PostgreSQL; does nothing for SQLite. The tasks
/// end when the last handle of the application is dropped.
pub fn spawn(state: &Arc<App>) {
    let Some(pg) = state.store.postgres() else {
        return;
    };
    let wake = Arc::new(Notify::new());
    let config = pg.config().clone();
    let weak_wake = Arc::downgrade(&wake);
    let weak_state = Arc::downgrade(state);
    std::thread::Builder::new()
        .name("feed-listen".into())
        .spawn(move || listen(config, weak_wake, weak_state))
        .ok();
    let weak = Arc::downgrade(state);
    let start = state.feed.applied.load(Ordering::Relaxed);
    tokio::spawn(follow(weak, wake, start));
}

/// Holds a LISTEN connection and turns notifications into wake-ups; reconnects with back-off.
fn listen(config: postgres::Config, wake: Weak<Notify>, state: Weak<App>) {
    let mut backoff = Duration::from_millis(200);
    loop {
        if wake.strong_count() == 0 {
            return;
        }
        let mut client = match config.connect(postgres::NoTls) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "change feed: cannot connect; retrying");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if client
            .batch_execute(&format!("LISTEN {}", changes::CHANNEL))
            .is_err()
        {
            continue;
        }
        backoff = Duration::from_millis(200);
        set_listening(&state, true);
        // A reconnect may have missed notifications: read the feed once.
        if let Some(w) = wake.upgrade() {
            w.notify_one();
        }
        loop {
            let Some(w) = wake.upgrade() else { return };
            let mut n = client.notifications();
            let mut it = n.timeout_iter(Duration::from_secs(2));
            use postgres::fallible_iterator::FallibleIterator;
            match it.next() {
                Ok(Some(_)) => w.notify_one(),
                Ok(None) => {
                    drop(it);
                    drop(n);
                    if client.is_valid(Duration::from_secs(2)).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        set_listening(&state, false);
        tracing::warn!("change feed: the LISTEN connection was lost; reconnecting");
    }
}

fn set_listening(state: &Weak<App>, on: bool) {
    if let Some(s) = state.upgrade() {
        s.feed.listening.store(on, Ordering::Relaxed);
    }
}

async fn follow(state: Weak<App>, wake: Arc<Notify>, start: i64) {
    let mut cursor = Cursor::new(start);
    loop {
        let _ = tokio::time::timeout(POLL, wake.notified()).await;
        let Some(app) = state.upgrade() else { return };
        if let Err(e) = read_once(&app, &mut cursor).await {
            tracing::debug!(error = %e, "change feed: read failed; retrying");
        }
    }
}

/// Reads and applies what is new; loops while full batches come back.
async fn read_once(app: &App, cursor: &mut Cursor) -> Result<(), StoreError> {
    loop {
        let floor = cursor.floor;
        let rows = app
            .store
            .read(move |c| Ok(changes::after(c, floor, BATCH)?))
            .await?;
        let full = rows.len() as i64 == BATCH;
        let fresh: Vec<ChangeRow> = rows
            .into_iter()
            .filter(|r| !cursor.seen.contains(&r.seq))
            .collect();
        apply(app, &fresh).await?;
        for r in &fresh {
            cursor.seen.insert(r.seq);
            app.feed.newest_seen.fetch_max(r.seq, Ordering::Relaxed);
        }
        cursor.advance(Instant::now());
        app.feed.applied.store(cursor.floor, Ordering::Relaxed);
        app.feed
            .last_read_ms
            .store(crate::time::now_ms(), Ordering::Relaxed);
        if !full {
            return Ok(());
        }
    }
}

/// Applies other servers' changes to this server's memory.
async fn apply(app: &App, rows: &[ChangeRow]) -> Result<(), StoreError> {
    let me = app.store.origin();
    let mut zones = Vec::new();
    let mut reports = Vec::new();
    for r in rows.iter().filter(|r| r.origin != me) {
        match r.kind {
            ChangeKind::Zone => zones.push(r.object_id.clone()),
            ChangeKind::Report => reports.extend(r.object_id.parse::<i64>().ok()),
            ChangeKind::User => {
                if let Ok(id) = r.object_id.parse() {
                    app.forget_tokens_of(id);
                }
            }
            ChangeKind::Settings => {}
        }
    }
    zones.sort();
    zones.dedup();
    reports.sort_unstable();
    reports.dedup();
    if !zones.is_empty() {
        app.zones.refresh(zones).await?;
    }
    if !reports.is_empty() {
        app.reports.refresh(reports).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_waits_for_a_gap_then_moves_on() {
        let t0 = Instant::now();
        let mut c = Cursor::new(10);
        c.seen.extend([11, 13, 14]);
        c.advance(t0);
        assert_eq!(c.floor, 11, "12 is missing: wait for it");
        c.seen.insert(12);
        c.advance(t0);
        assert_eq!(c.floor, 14);
        c.seen.insert(16);
        c.advance(t0);
        assert_eq!(c.floor, 14);
        c.advance(t0 + GAP_TIMEOUT);
        assert_eq!(c.floor, 16, "a gap older than the timeout was rolled back");
    }
}
