//! `GET /api/events`: a server-sent event stream of the reports the signed-in user may see.
//!
//! Every added or changed report (from the report service's change listener, including those
//! replayed from other servers sharing the database) becomes one `report` event whose data is
//! `{"id", "what", "status", "category"}`; `what` is `created`, `status_changed`, `updated` or
//! `changed`. The stream opens with a `ready` event, sends a comment every
//! [`HEARTBEAT`] so proxies and the server's idle timeout keep it open, and sends `resync`
//! when this subscriber fell behind and missed events (the client reloads its list). Scope is
//! the same as for single reports: [`Visibility::of`] the user, decided when the stream opens.

use super::auth::Auth;
use crate::report::service::{ReportChange, ReportListener};
use crate::scope::Visibility;
use crate::state::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// How often an idle stream sends a comment.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// Changes buffered per subscriber before it is told to resync.
const BUFFER: usize = 1024;

/// Fans report changes out to the open event streams.
pub struct EventHub {
    tx: broadcast::Sender<Arc<ReportChange>>,
    closing: watch::Sender<bool>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self::new()
    }
}

impl EventHub {
    pub fn new() -> Self {
        EventHub {
            tx: broadcast::channel(BUFFER).0,
            closing: watch::channel(false).0,
        }
    }

    /// A report-service listener that publishes every change to the streams.
    pub fn listener(&self) -> ReportListener {
        let tx = self.tx.clone();
        Box::new(move |changes| {
            for c in changes {
                // No subscriber is not an error.
                let _ = tx.send(Arc::new(c.clone()));
            }
        })
    }

    /// Ends every open stream (the server is shutting down and waits for responses to finish).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Open streams, for tests and the log.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }

    fn subscribe(&self, vis: Visibility) -> impl Stream<Item = Result<Event, Infallible>> {
        let start = Subscriber {
            rx: self.tx.subscribe(),
            closing: self.closing.subscribe(),
            vis,
            greeted: false,
        };
        futures_util::stream::unfold(start, |mut s| async move {
            let ev = s.next().await?;
            Some((Ok(ev), s))
        })
    }
}

struct Subscriber {
    rx: broadcast::Receiver<Arc<ReportChange>>,
    closing: watch::Receiver<bool>,
    vis: Visibility,
    greeted: bool,
}

impl Subscriber {
    /// The next event for this subscriber; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        if !self.greeted {
            self.greeted = true;
            return Some(Event::default().event("ready").data("{}"));
        }
        loop {
            if *self.closing.borrow() {
                return None;
            }
            tokio::select! {
                r = self.rx.recv() => match r {
                    Ok(c) if c.visible_to(&self.vis) => return Some(report_event(&c)),
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        return Some(Event::default().event("resync").data(json!({"missed": n}).to_string()));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                r = self.closing.changed() => {
                    if r.is_err() {
                        return None;
                    }
                }
            }
        }
    }
}

fn report_event(c: &ReportChange) -> Event {
    let data = json!({
        "id": c.id,
        "what": c.what.as_str(),
        "status": c.status,
        "category": c.category,
    });
    Event::default().event("report").data(data.to_string())
}

/// `GET /api/events`: the live stream (any signed-in user; scoped like the report list).
pub async fn stream(
    State(state): State<AppState>,
    auth: Auth,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let vis = Visibility::of(&auth.0);
    Sse::new(state.events.subscribe(vis))
        .keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat"))
}
