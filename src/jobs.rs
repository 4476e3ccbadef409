//! Background work (deadline sweeps, webhook deliveries, housekeeping), run by exactly one
//! server at a time.
//!
//! With SQLite there is one server and it always leads. With PostgreSQL the leader is the server
//! holding a session-level advisory lock on a connection of its own: when that server dies its
//! connection closes, the lock is released, and another server takes it within
//! [`LEADER_RETRY`]. Every job is idempotent (a conditional update decides what is done), so a
//! job cut short by a lost leadership is simply done again by the next leader.

use crate::state::App;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The advisory lock key that marks the leader.
const LEADER_KEY: i64 = 7_367_823_002;
/// How often a follower tries to become the leader, and the leader checks it still is.
pub const LEADER_RETRY: Duration = Duration::from_secs(2);
/// How often the leader runs the periodic jobs.
pub const TICK: Duration = Duration::from_secs(2);

/// Whether this server leads.
#[derive(Debug, Default)]
pub struct Leadership(AtomicBool);

impl Leadership {
    pub fn is_leader(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Starts leader election (PostgreSQL) and the periodic jobs; ends with the application.
pub fn spawn(state: &Arc<App>) {
    match state.store.postgres() {
        None => state.leader.0.store(true, Ordering::Relaxed),
        Some(pg) => {
            let config = pg.config().clone();
            let weak = Arc::downgrade(state);
            std::thread::Builder::new()
                .name("leader".into())
                .spawn(move || elect(config, weak))
                .ok();
        }
    }
    tokio::spawn(run(Arc::downgrade(state)));
    tokio::spawn(deliver(Arc::downgrade(state)));
}

/// Sends due webhook deliveries while this server leads: woken when something is enqueued, and
/// every tick for retries that came due.
async fn deliver(state: Weak<App>) {
    let sender = crate::webhooks::Sender::default();
    loop {
        let Some(app) = state.upgrade() else { return };
        let hooks = app.hooks.clone();
        let mut started = 0;
        if app.leader.is_leader() {
            match crate::webhooks::deliver_due(&app.store, &sender, hooks.retry_base_ms).await {
                Ok(n) => started = n,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook deliveries: reading the outbox failed")
                }
            }
        }
        drop(app);
        if started == 0 {
            // Nothing to start: wait for new work, a free slot, or retries coming due.
            let _ = tokio::time::timeout(Duration::from_millis(500), async {
                tokio::select! {
                    _ = hooks.wake.notified() => {}
                    _ = sender.finished.notified() => {}
                }
            })
            .await;
        }
    }
}

fn elect(config: postgres::Config, state: Weak<App>) {
    loop {
        let Some(app) = state.upgrade() else { return };
        drop(app);
        let mut client = match config.connect(postgres::NoTls) {
            Ok(c) => c,
            Err(_) => {
                std::thread::sleep(LEADER_RETRY);
                continue;
            }
        };
        loop {
            let Some(app) = state.upgrade() else { return };
            let held = app.leader.is_leader();
            let ok = if held {
                client.is_valid(LEADER_RETRY).is_ok()
            } else {
                match client.query_one("SELECT pg_try_advisory_lock($1)", &[&LEADER_KEY]) {
                    Ok(row) => {
                        if row.get::<_, bool>(0) {
                            tracing::info!("this server now runs the background jobs");
                            app.leader.0.store(true, Ordering::Relaxed);
                        }
                        true
                    }
                    Err(_) => false,
                }
            };
            if !ok {
                if held {
                    tracing::warn!("lost the leader lock's connection; background jobs paused");
                }
                app.leader.0.store(false, Ordering::Relaxed);
                break;
            }
            drop(app);
            std::thread::sleep(LEADER_RETRY);
        }
    }
}

async fn run(state: Weak<App>) {
    let mut ticks: u64 = 0;
    loop {
        tokio::time::sleep(TICK).await;
        let Some(app) = state.upgrade() else { return };
        if !app.leader.is_leader() {
            continue;
        }
        ticks += 1;
        match app.reports.sweep(crate::time::now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(reports = n, "marked reports overdue"),
            Err(e) => tracing::warn!(error = %e, "the deadline sweep failed; it runs again"),
        }
        // Every minute: schedule windows of patrol routes that ended under their coverage.
        if ticks % 30 == 1 {
            let a = app.clone();
            let now = crate::time::now_ms();
            match tokio::task::spawn_blocking(move || crate::patrol::service::flag_missed(&a, now))
                .await
            {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(windows = n, "flagged missed patrol windows"),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "flagging missed patrols failed; it runs again")
                }
                Err(e) => tracing::warn!(error = %e, "flagging missed patrols panicked"),
            }
        }
        if let Err(e) = housekeeping(&app, ticks).await {
            tracing::warn!(error = %e, "background job failed; it runs again next time");
        }
    }
}

/// Cheap periodic work: forget old change-feed rows and expired sessions.
async fn housekeeping(app: &App, ticks: u64) -> Result<(), crate::store::StoreError> {
    // Every ten minutes.
    if ticks % 300 == 1 {
        let now = crate::time::now_ms();
        app.store
            .write(move |c| {
                crate::store::changes::prune(c, now - 24 * 3600 * 1000)?;
                crate::store::users::purge_expired_sessions(c, now)?;
                Ok(())
            })
            .await?;
    }
    Ok(())
}
