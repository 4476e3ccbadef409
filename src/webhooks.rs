//! Notifications that reach people's work groups: webhooks fed by a durable outbox.
//!
//! Every event (`report.created`, `report.overdue`, …) becomes one outbox row per matching webhook,
//! written in the same transaction as the change it announces, with the body already rendered
//! (plain JSON with the report as a GeoJSON Feature, or the markdown message of a WeCom
//! 企业微信 or DingTalk 钉钉 group robot) and a delivery id that never changes. The leader's
//! delivery worker ([`deliver_due`]) sends what is due, each delivery in its own task with a short
//! timeout, so a slow receiver holds up nobody; a 2xx ends the delivery, anything else retries
//! with exponential back-off for a day. A row is claimed (its `next_at` pushed past the timeout)
//! before it is sent, so a server that dies mid-send leaves it to be sent again: at least once.

use crate::args;
use crate::problem::Problem;
use crate::store::db::{Conn, DbResult, Sql};
use crate::store::{Store, StoreError};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Every event a webhook can ask for.
pub const EVENTS: &[&str] = &[
    "report.created",
    "report.dispatched",
    "report.resolved",
    "report.closed",
    "report.reopened",
    "report.overdue",
    "report.escalated",
    "zone.changed",
    "patrol.missed",
];

/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long deliveries are retried before they are given up.
pub const GIVE_UP_AFTER_MS: i64 = 24 * 3600 * 1000;
/// Longest wait between two attempts.
const MAX_BACKOFF_MS: i64 = 3600 * 1000;
/// Most deliveries in flight at once.
pub const MAX_IN_FLIGHT: usize = 64;

/// The body a receiver gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Json,
    Wecom,
    Dingtalk,
}

impl Format {
    fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "json" => Format::Json,
            "wecom" => Format::Wecom,
            "dingtalk" => Format::Dingtalk,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Wecom => "wecom",
            Format::Dingtalk => "dingtalk",
        }
    }
}

/// A registered receiver.
#[derive(Debug, Clone, Serialize)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    #[serde(skip)]
    pub secret: String,
    pub format: Format,
    /// Only events about reports of this organisation.
    pub owner: Option<String>,
    /// Only events about reports inside this zone.
    pub scope: Option<String>,
    pub created_at: String,
    pub created_by: String,
}

/// What a new webhook needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub secret: String,
    #[serde(default = "default_format")]
    pub format: Format,
    pub owner: Option<String>,
    pub scope: Option<String>,
}

fn default_format() -> Format {
    Format::Json
}

/// Fewest characters of a webhook's signing secret.
pub const MIN_SECRET_CHARS: usize = 16;

impl NewWebhook {
    /// The URL is http(s) with a host, events are known, the secret long enough.
    pub fn validate(&self) -> Result<(), Problem> {
        let u = self.url.trim();
        let bad_url = |why: String| Problem::new("webhook_bad_url", why).with("value", u);
        let rest = u
            .strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"))
            .ok_or_else(|| bad_url(format!("url {u:?} must start with http:// or https://")))?;
        if rest.is_empty() || rest.starts_with('/') || u.chars().any(char::is_whitespace) {
            return Err(bad_url(format!("url {u:?} has no host")));
        }
        if self.events.is_empty() {
            return Err(Problem::new(
                "webhook_no_events",
                format!("events is empty; choose from {}", EVENTS.join(", ")),
            )
            .with("allowed", EVENTS));
        }
        for e in &self.events {
            if !EVENTS.contains(&e.as_str()) {
                return Err(Problem::new(
                    "unknown_event",
                    format!("unknown event {e:?}; choose from {}", EVENTS.join(", ")),
                )
                .with("value", e)
                .with("allowed", EVENTS));
            }
        }
        if self.secret.chars().count() < MIN_SECRET_CHARS {
            return Err(Problem::new(
                "webhook_secret_too_short",
                format!(
                    "secret must have at least {MIN_SECRET_CHARS} characters (it signs every delivery)"
                ),
            )
            .with("min", MIN_SECRET_CHARS));
        }
        Ok(())
    }
}

/// What happened, for the receivers.
#[derive(Debug, Clone)]
pub struct Event {
    pub name: &'static str,
    /// The report (a GeoJSON Feature) or zone the event is about.
    pub subject: Value,
    /// Organisations the report concerns (responsible, assigned, escalated to).
    pub owners: Vec<String>,
    /// Zones the report matched.
    pub zone_ids: Vec<String>,
    /// One line in Chinese for the robot formats.
    pub headline: String,
    /// Extra markdown lines for the robot formats.
    pub lines: Vec<String>,
}

/// The registered webhooks, cached; every server reloads them when they change.
pub struct Hooks {
    store: Store,
    cache: RwLock<Arc<Vec<Webhook>>>,
    /// Wakes the delivery worker when something was enqueued.
    pub wake: tokio::sync::Notify,
    /// First retry after this long, doubling each time.
    pub retry_base_ms: i64,
}

impl Hooks {
    pub fn load(store: Store, retry_base_ms: i64) -> Result<Self, StoreError> {
        let h = Hooks {
            store,
            cache: RwLock::new(Arc::new(Vec::new())),
            wake: tokio::sync::Notify::new(),
            retry_base_ms,
        };
        h.reload()?;
        Ok(h)
    }

    pub fn reload(&self) -> Result<(), StoreError> {
        let list = self.store.read_sync(|c| Ok(list(c)?))?;
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(list);
        Ok(())
    }

    pub fn all(&self) -> Arc<Vec<Webhook>> {
        self.cache.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Registers a webhook (audited; other servers reload theirs).
    pub fn create(
        &self,
        actor: &crate::audit::Actor,
        w: NewWebhook,
    ) -> Result<Result<Webhook, Problem>, StoreError> {
        if let Err(e) = w.validate() {
            return Ok(Err(e));
        }
        let now = crate::time::now_ms();
        let origin = self.store.origin().to_string();
        let id = self.store.write_sync(|c| {
            let id = insert(c, &w, actor.username(), now)?;
            crate::audit::record(
                c,
                actor,
                "webhook.create",
                Some(&format!("webhook:{id}")),
                json!({"url": w.url, "events": w.events, "format": w.format, "owner": w.owner, "scope": w.scope}),
            )?;
            crate::store::changes::record(
                c,
                &origin,
                crate::store::changes::ChangeKind::Settings,
                "webhooks",
                now,
            )?;
            Ok(id)
        })?;
        self.reload()?;
        let hook = self.all().iter().find(|h| h.id == id).cloned();
        hook.map(Ok).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "webhook {id} was stored but is not in the reloaded list"
            ))
        })
    }

    /// Deletes a webhook; false when there is no such live webhook.
    pub fn remove(&self, actor: &crate::audit::Actor, id: i64) -> Result<bool, StoreError> {
        let now = crate::time::now_ms();
        let origin = self.store.origin().to_string();
        let done = self.store.write_sync(|c| {
            let done = delete(c, id, now)?;
            if done {
                crate::audit::record(
                    c,
                    actor,
                    "webhook.delete",
                    Some(&format!("webhook:{id}")),
                    json!({}),
                )?;
                crate::store::changes::record(
                    c,
                    &origin,
                    crate::store::changes::ChangeKind::Settings,
                    "webhooks",
                    now,
                )?;
            }
            Ok(done)
        })?;
        self.reload()?;
        Ok(done)
    }

    /// Like [`Hooks::enqueue`], but builds the event only when some webhook listens to events
    /// named `name`. Most changes have no listener, and an event renders its whole subject (a
    /// zone's feature is a fifth of an import's work).
    pub fn enqueue_lazy(
        &self,
        c: &dyn Conn,
        name: &str,
        event: impl FnOnce() -> Event,
    ) -> DbResult<usize> {
        if !self.all().iter().any(|h| listens(h, name)) {
            return Ok(0);
        }
        let event = event();
        debug_assert_eq!(event.name, name);
        self.enqueue(c, &event)
    }

    /// Writes one outbox row per webhook that wants `event`; call inside the transaction of the
    /// change. Returns how many.
    pub fn enqueue(&self, c: &dyn Conn, event: &Event) -> DbResult<usize> {
        let now = crate::time::now_ms();
        let mut n = 0;
        for h in self.all().iter().filter(|h| wants(h, event)) {
            let delivery = uuid::Uuid::new_v4().to_string();
            let body = render(h.format, event, &delivery, now);
            c.execute(
                "INSERT INTO outbox (webhook_id, delivery_id, event, body, created_at, next_at) VALUES ($1, $2, $3, $4, $5, $5)",
                args![h.id, delivery, event.name, body, now],
            )?;
            n += 1;
        }
        Ok(n)
    }
}

/// The `zone.changed` event of a zone created, edited or retired (`action`).
pub fn zone_event(z: &crate::zone::Zone, action: &str) -> Event {
    let verb = match action {
        "create" => "新增",
        "retire" => "撤销",
        _ => "修改",
    };
    let mut lines = vec![format!("区域：{}（{}）", z.name, z.id)];
    if let Some(o) = &z.owner {
        lines.push(format!("责任单位：{}", o.name));
    }
    lines.push(format!("版本：{}", z.version));
    Event {
        name: "zone.changed",
        subject: serde_json::json!({"action": action, "zone": crate::zone::zone_to_feature(z)}),
        owners: z.owner.iter().map(|o| o.name.clone()).collect(),
        zone_ids: vec![z.id.clone()],
        headline: format!("区域{verb}：{}", z.name),
        lines,
    }
}

/// Whether `h` subscribed to events named `name`, whatever they concern.
fn listens(h: &Webhook, name: &str) -> bool {
    h.events.iter().any(|x| x == name)
}

fn wants(h: &Webhook, e: &Event) -> bool {
    listens(h, e.name)
        && h.owner.as_ref().is_none_or(|o| e.owners.contains(o))
        && h.scope.as_ref().is_none_or(|s| e.zone_ids.contains(s))
}

/// The body of one delivery.
fn render(format: Format, e: &Event, delivery: &str, now: i64) -> String {
    let md = || {
        let mut s = format!("**{}**", e.headline);
        for l in &e.lines {
            s.push_str("\n> ");
            s.push_str(l);
        }
        s
    };
    let v = match format {
        Format::Json => json!({
            "event": e.name,
            "delivery": delivery,
            "at": crate::time::to_rfc3339(now),
            "subject": e.subject,
        }),
        Format::Wecom => json!({"msgtype": "markdown", "markdown": {"content": md()}}),
        Format::Dingtalk => json!({
            "msgtype": "markdown",
            "markdown": {"title": e.headline, "text": md()},
        }),
    };
    v.to_string()
}

/// `sha256=<hex HMAC-SHA256 of body with secret>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

// --- storage -------------------------------------------------------------------------------

fn webhook_of(r: &dyn crate::store::Row) -> DbResult<Option<Webhook>> {
    let events: String = r.get(2)?;
    let format: String = r.get(4)?;
    let Some(format) = Format::parse(&format) else {
        return Ok(None);
    };
    Ok(Some(Webhook {
        id: r.get(0)?,
        url: r.get(1)?,
        events: serde_json::from_str(&events).unwrap_or_default(),
        secret: r.get(3)?,
        format,
        owner: r.get(5)?,
        scope: r.get(6)?,
        created_at: crate::time::to_rfc3339(r.get(7)?),
        created_by: r.get(8)?,
    }))
}

/// Live webhooks, by id.
pub fn list(c: &dyn Conn) -> DbResult<Vec<Webhook>> {
    Ok(c.query_vec(
        "SELECT id, url, events, secret, format, owner, scope, created_at, created_by FROM webhooks WHERE deleted_at IS NULL ORDER BY id",
        &[],
        webhook_of,
    )?
    .into_iter()
    .flatten()
    .collect())
}

/// Stores a webhook; returns its id.
pub fn insert(c: &dyn Conn, w: &NewWebhook, by: &str, now: i64) -> DbResult<i64> {
    c.query_scalar(
        "INSERT INTO webhooks (url, events, secret, format, owner, scope, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        args![
            w.url.trim(),
            serde_json::to_string(&w.events).unwrap_or_else(|_| "[]".into()),
            w.secret.as_str(),
            w.format.as_str(),
            w.owner.as_deref(),
            w.scope.as_deref(),
            now,
            by
        ],
    )
}

/// Retires a webhook (its past deliveries stay visible); pending deliveries are dropped.
pub fn delete(c: &dyn Conn, id: i64, now: i64) -> DbResult<bool> {
    let n = c.execute(
        "UPDATE webhooks SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
        args![id, now],
    )?;
    c.execute(
        "UPDATE outbox SET next_at = NULL, failed_at = $2, last_error = 'the webhook was deleted' WHERE webhook_id = $1 AND next_at IS NOT NULL",
        args![id, now],
    )?;
    Ok(n == 1)
}

/// A delivery as admins see it.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub delivery_id: String,
    pub event: String,
    pub created_at: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    /// `pending`, `delivered` or `failed`.
    pub state: &'static str,
    pub delivered_at: Option<String>,
    pub next_attempt_at: Option<String>,
}

/// The newest deliveries of webhook `id`.
pub fn deliveries(c: &dyn Conn, id: i64, limit: i64) -> DbResult<Vec<Delivery>> {
    c.query_vec(
        "SELECT id, webhook_id, delivery_id, event, created_at, attempts, last_status, last_error, delivered_at, failed_at, next_at
         FROM outbox WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2",
        args![id, limit],
        |r| {
            let delivered: Option<i64> = r.get(8)?;
            let failed: Option<i64> = r.get(9)?;
            let next: Option<i64> = r.get(10)?;
            Ok(Delivery {
                id: r.get(0)?,
                webhook_id: r.get(1)?,
                delivery_id: r.get(2)?,
                event: r.get(3)?,
                created_at: crate::time::to_rfc3339(r.get(4)?),
                attempts: r.get(5)?,
                last_status: r.get(6)?,
                last_error: r.get(7)?,
                state: if delivered.is_some() {
                    "delivered"
                } else if failed.is_some() {
                    "failed"
                } else {
                    "pending"
                },
                delivered_at: delivered.map(crate::time::to_rfc3339),
                next_attempt_at: next.map(crate::time::to_rfc3339),
            })
        },
    )
}

// --- delivery ------------------------------------------------------------------------------

struct Due {
    id: i64,
    url: String,
    secret: String,
    delivery: String,
    event: String,
    body: String,
    attempts: i64,
    created_at: i64,
}

/// Most deliveries in flight to one webhook: a slow receiver never holds up the others.
pub const MAX_IN_FLIGHT_PER_HOOK: usize = 8;

/// The delivery worker's state, shared with the sends it started.
pub struct Sender {
    http: reqwest::Client,
    in_flight: Arc<tokio::sync::Semaphore>,
    /// Sends in flight per webhook id.
    per_hook: Arc<std::sync::Mutex<std::collections::HashMap<i64, usize>>>,
    /// Notified whenever a send finishes (a slot is free again).
    pub finished: Arc<tokio::sync::Notify>,
}

impl Default for Sender {
    fn default() -> Self {
        Sender {
            http: client(),
            in_flight: Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT)),
            per_hook: Default::default(),
            finished: Default::default(),
        }
    }
}

/// Releases a send's slots when it ends, however it ends.
struct Slot {
    hook: i64,
    per_hook: Arc<std::sync::Mutex<std::collections::HashMap<i64, usize>>>,
    finished: Arc<tokio::sync::Notify>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut m = self.per_hook.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.hook) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.hook);
            }
        }
        drop(m);
        self.finished.notify_one();
    }
}

/// Claims the deliveries that are due and sends each in a task of its own; returns how many
/// were started. At most [`MAX_IN_FLIGHT`] at once, and [`MAX_IN_FLIGHT_PER_HOOK`] per
/// webhook. Run by the leader only.
pub async fn deliver_due(
    store: &Store,
    sender: &Sender,
    retry_base_ms: i64,
) -> Result<usize, StoreError> {
    let free = sender.in_flight.available_permits();
    if free == 0 {
        return Ok(0);
    }
    let busy: std::collections::HashMap<i64, usize> = sender
        .per_hook
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let now = crate::time::now_ms();
    let lease = now + TIMEOUT.as_millis() as i64 + 30_000;
    let due: Vec<(i64, Due)> = store
        .write(move |c| {
            let mut sql = Sql::new(
                "SELECT o.id, w.url, w.secret, o.delivery_id, o.event, o.body, o.attempts, o.created_at, o.next_at, o.webhook_id
                 FROM outbox o JOIN webhooks w ON w.id = o.webhook_id
                 WHERE o.next_at IS NOT NULL AND o.next_at <= ",
            );
            let a = sql.arg(now);
            sql.push(&a);
            let full: Vec<i64> = busy
                .iter()
                .filter(|(_, n)| **n >= MAX_IN_FLIGHT_PER_HOOK)
                .map(|(h, _)| *h)
                .collect();
            if !full.is_empty() {
                let marks: Vec<String> = full.into_iter().map(|h| sql.arg(h)).collect();
                let t = format!(" AND o.webhook_id NOT IN ({})", marks.join(","));
                sql.push(&t);
            }
            let t = format!(" ORDER BY o.next_at LIMIT {}", sql.arg((free * 4) as i64));
            sql.push(&t);
            let rows = c.query_vec(&sql.text, &sql.args, |r| {
                Ok((
                    Due {
                        id: r.get(0)?,
                        url: r.get(1)?,
                        secret: r.get(2)?,
                        delivery: r.get(3)?,
                        event: r.get(4)?,
                        body: r.get(5)?,
                        attempts: r.get(6)?,
                        created_at: r.get(7)?,
                    },
                    r.get::<i64>(8)?,
                    r.get::<i64>(9)?,
                ))
            })?;
            let mut taken = busy;
            let mut claimed = Vec::new();
            for (d, next, hook) in rows {
                if claimed.len() >= free {
                    break;
                }
                let n = taken.entry(hook).or_insert(0);
                if *n >= MAX_IN_FLIGHT_PER_HOOK {
                    continue;
                }
                // Claimed only if nobody else moved it meanwhile.
                let moved = c.execute(
                    "UPDATE outbox SET next_at = $2 WHERE id = $1 AND next_at = $3",
                    args![d.id, lease, next],
                )?;
                if moved == 1 {
                    *n += 1;
                    claimed.push((hook, d));
                }
            }
            Ok(claimed)
        })
        .await?;
    let n = due.len();
    for (hook, d) in due {
        let Ok(permit) = sender.in_flight.clone().try_acquire_owned() else {
            // Still claimed: sent after the lease runs out.
            break;
        };
        *sender
            .per_hook
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(hook)
            .or_insert(0) += 1;
        let slot = Slot {
            hook,
            per_hook: sender.per_hook.clone(),
            finished: sender.finished.clone(),
            _permit: permit,
        };
        let (store, http) = (store.clone(), sender.http.clone());
        tokio::spawn(async move {
            let outcome = send(&http, &d).await;
            let now = crate::time::now_ms();
            let attempts = d.attempts + 1;
            let (sql, a): (&str, Vec<crate::store::Value>) = match outcome {
                Ok(status) => (
                    "UPDATE outbox SET delivered_at = $2, next_at = NULL, attempts = $3, last_status = $4, last_error = NULL WHERE id = $1",
                    args![d.id, now, attempts, status].to_vec(),
                ),
                Err((status, error)) => {
                    let backoff = retry_base_ms
                        .saturating_mul(1i64 << (attempts - 1).clamp(0, 30))
                        .min(MAX_BACKOFF_MS);
                    if now + backoff > d.created_at + GIVE_UP_AFTER_MS {
                        (
                            "UPDATE outbox SET failed_at = $2, next_at = NULL, attempts = $3, last_status = $4, last_error = $5 WHERE id = $1",
                            args![d.id, now, attempts, status, error].to_vec(),
                        )
                    } else {
                        (
                            "UPDATE outbox SET next_at = $2, attempts = $3, last_status = $4, last_error = $5 WHERE id = $1",
                            args![d.id, now + backoff, attempts, status, error].to_vec(),
                        )
                    }
                }
            };
            if let Err(e) = store.write(move |c| Ok(c.execute(sql, &a)?)).await {
                // Still claimed: sent again after the lease, which receivers de-duplicate.
                tracing::warn!(error = %e, delivery = %d.delivery, "could not record a webhook delivery");
            }
            drop(slot);
        });
    }
    Ok(n)
}

/// One POST; `Ok(status)` on 2xx, else the status (if any) and the error.
async fn send(http: &reqwest::Client, d: &Due) -> Result<i64, (Option<i64>, String)> {
    let r = http
        .post(&d.url)
        .timeout(TIMEOUT)
        .header("content-type", "application/json")
        .header("x-xuncha-event", &d.event)
        .header("x-xuncha-delivery", &d.delivery)
        .header(
            "x-xuncha-signature",
            signature(&d.secret, d.body.as_bytes()),
        )
        .body(d.body.clone())
        .send()
        .await;
    match r {
        Ok(r) if r.status().is_success() => Ok(i64::from(r.status().as_u16())),
        Ok(r) => Err((
            Some(i64::from(r.status().as_u16())),
            format!("the receiver answered {}", r.status()),
        )),
        Err(e) => Err((None, format!("not delivered: {e}"))),
    }
}

/// An HTTP client for deliveries: no redirects (only the configured URL is ever called).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("xuncha/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Deliveries still to be sent (for tests and `/healthz`).
pub fn pending(c: &dyn Conn) -> DbResult<i64> {
    let q = Sql::new("SELECT count(*) FROM outbox WHERE next_at IS NOT NULL");
    c.query_scalar(&q.text, &q.args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn validation_names_the_fault() {
        let mut w = NewWebhook {
            url: "http://127.0.0.1:9/hook".into(),
            events: vec!["report.created".into()],
            secret: "0123456789abcdef".into(),
            format: Format::Json,
            owner: None,
            scope: None,
        };
        assert!(w.validate().is_ok());
        w.events = vec!["report.eaten".into()];
        assert!(w.validate().unwrap_err().message.contains("report.eaten"));
        w.events = vec!["report.created".into()];
        w.url = "ftp://x".into();
        assert!(w.validate().is_err());
        w.url = "http://x/".into();
        w.secret = "short".into();
        assert_eq!(w.validate().unwrap_err().code, "webhook_secret_too_short");
    }
}
