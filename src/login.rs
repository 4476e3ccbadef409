//! Signing in: password checks under a small semaphore, failed-login throttling per client
//! address and per username, and the same cost for unknown users as for known ones.
//!
//! An argon2 check takes 19 MiB of memory and tens of milliseconds of CPU, so at most
//! `login_concurrency` run at once, each in a work area allocated once and reused; memory stays
//! flat under any number of concurrent logins.
//! Failures are counted per username and per client address: after a few free failures each
//! further attempt must wait (1 s, 2 s, 4 s, … after the last failure), and after more a lock
//! holds for a while; attempts that come too early are answered 429 with `Retry-After` without
//! touching a password hash. Attempts still being checked count as failures for the decision,
//! so concurrency cannot get past the count. An unknown username is checked against a dummy
//! hash with the same parameters, so the answer's timing does not tell which names exist.

use crate::auth::{self, User};
use crate::store::{users, Store, StoreError};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Free failures and the lock threshold of one kind of key (username or client address).
#[derive(Debug, Clone, Copy)]
pub struct KeyLimits {
    /// Failures with no wait.
    pub free_failures: u32,
    /// Failures after which the key is locked for [`ThrottleSettings::lock`].
    pub lock_after: u32,
}

/// How failed logins are throttled. Every field's doc states its default.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleSettings {
    /// Per username: 3 free failures, locked after 10.
    pub user: KeyLimits,
    /// Per client address (IPv6 by /64): 20 free failures, locked after 100 (an office may
    /// sign in many people from one address).
    pub address: KeyLimits,
    /// Wait after the first failure beyond the free ones, doubling with each further one.
    /// Default 1 s.
    pub base_delay: Duration,
    /// How long a lock holds, and how long failures are remembered. Default 15 min.
    pub lock: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            user: KeyLimits {
                free_failures: 3,
                lock_after: 10,
            },
            address: KeyLimits {
                free_failures: 20,
                lock_after: 100,
            },
            base_delay: Duration::from_secs(1),
            lock: Duration::from_secs(15 * 60),
        }
    }
}

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("wrong username or password")]
    Wrong,
    #[error("too many failed sign-ins {scope}; try again in {retry_after_s} s")]
    Throttled {
        /// `for this account` or `from your address`.
        scope: &'static str,
        retry_after_s: u64,
    },
    #[error("the server is busy checking other sign-ins; try again in a few seconds")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    User(u64),
    Address(IpAddr),
}

#[derive(Debug, Default, Clone, Copy)]
struct Entry {
    failures: u32,
    /// Attempts being checked now.
    pending: u32,
    last: Option<Instant>,
}

impl Entry {
    /// When the next attempt may come, if not now.
    fn wait_until(&self, limits: KeyLimits, s: &ThrottleSettings, now: Instant) -> Option<Instant> {
        let n = self.failures + self.pending;
        if n < limits.free_failures {
            return None;
        }
        // An attempt in flight counts as a failure that just happened.
        let last = if self.pending > 0 {
            Some(now)
        } else {
            self.last
        }?;
        if n >= limits.lock_after {
            return Some(last + s.lock);
        }
        let doublings = (n - limits.free_failures).min(20);
        Some(last + s.base_delay * (1u32 << doublings))
    }
}

/// Failure counts by key.
struct Throttle {
    entries: HashMap<Key, Entry>,
}

/// Entries kept before old ones are dropped.
const MAX_ENTRIES: usize = 100_000;
/// How long an attempt waits for a free password check before answering 503.
const PERMIT_WAIT: Duration = Duration::from_secs(20);

/// The sign-in service (one per server).
pub struct Login {
    permits: Semaphore,
    /// One argon2 work area per permit, reused (see [`auth::verify_password_in`]).
    memory: Mutex<Vec<Vec<argon2::Block>>>,
    settings: ThrottleSettings,
    throttle: Mutex<Throttle>,
}

/// A hash of a random password with the same parameters as real ones; unknown users are
/// checked against it.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| auth::hash_password(&auth::new_password()))
}

fn user_key(username: &str) -> Key {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    username.trim().to_lowercase().hash(&mut h);
    Key::User(h.finish())
}

fn address_key(ip: IpAddr) -> Key {
    Key::Address(match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    })
}

/// Releases an attempt's `pending` mark however the attempt ends.
struct Attempt<'a> {
    login: &'a Login,
    keys: [Key; 2],
    failed: bool,
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        let now = Instant::now();
        let mut t = self.login.lock();
        for k in self.keys {
            let Some(e) = t.entries.get_mut(&k) else {
                continue;
            };
            e.pending = e.pending.saturating_sub(1);
            if self.failed {
                e.failures += 1;
                e.last = Some(now);
            }
        }
    }
}

impl Login {
    pub fn new(concurrency: usize, settings: ThrottleSettings) -> Self {
        // Hash once now, so the first unknown user does not pay for it (and stand out).
        let _ = dummy_hash();
        Login {
            permits: Semaphore::new(concurrency.max(1)),
            memory: Mutex::new(Vec::new()),
            settings,
            throttle: Mutex::new(Throttle {
                entries: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.throttle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuses an attempt that comes too early for its username or address; otherwise marks it
    /// pending.
    fn admit(&self, client: IpAddr, username: &str) -> Result<Attempt<'_>, LoginError> {
        let now = Instant::now();
        let keys = [user_key(username), address_key(client)];
        let s = self.settings;
        let mut t = self.lock();
        if t.entries.len() >= MAX_ENTRIES {
            t.entries
                .retain(|_, e| e.pending > 0 || e.last.is_some_and(|l| now - l < s.lock));
        }
        for k in keys {
            let e = t.entries.entry(k).or_default();
            // Failures older than the lock window are forgotten.
            if e.pending == 0 && e.last.is_some_and(|l| now - l >= s.lock) {
                *e = Entry::default();
            }
            let (limits, scope) = match k {
                Key::User(_) => (s.user, "for this account"),
                Key::Address(_) => (s.address, "from your address"),
            };
            if let Some(until) = e.wait_until(limits, &s, now).filter(|u| *u > now) {
                let retry_after_s = (until - now).as_secs_f64().ceil().max(1.0) as u64;
                return Err(LoginError::Throttled {
                    scope,
                    retry_after_s,
                });
            }
        }
        for k in keys {
            if let Some(e) = t.entries.get_mut(&k) {
                e.pending += 1;
            }
        }
        Ok(Attempt {
            login: self,
            keys,
            failed: true,
        })
    }

    /// Checks `username` and `password`; the user on success. `client` is the caller's address.
    pub async fn sign_in(
        &self,
        store: &Store,
        client: IpAddr,
        username: &str,
        password: String,
    ) -> Result<User, LoginError> {
        let result = self.check(store, client, username, password).await;
        match &result {
            Ok(user) => tracing::info!(user = %user.username, %client, "signed in"),
            Err(e) => on_failure(client, username, e),
        }
        if let Err(LoginError::Wrong) = &result {
            // A checked, wrong password is audited (throttled attempts never reach the check,
            // so a flood cannot fill the log faster than the throttle allows).
            let name: String = username.chars().take(64).collect();
            let actor = crate::audit::Actor {
                user: None,
                name: Some(name.clone()),
                ip: Some(client.to_string()),
            };
            store
                .write(move |tx| {
                    crate::audit::record(
                        tx,
                        &actor,
                        "auth.login_failed",
                        None,
                        serde_json::json!({"username": name}),
                    )?;
                    Ok(())
                })
                .await?;
        }
        result
    }

    async fn check(
        &self,
        store: &Store,
        client: IpAddr,
        username: &str,
        password: String,
    ) -> Result<User, LoginError> {
        let mut attempt = self.admit(client, username)?;
        let permit = tokio::time::timeout(PERMIT_WAIT, self.permits.acquire())
            .await
            .map_err(|_| LoginError::Busy)?
            .map_err(|_| LoginError::Busy)?;
        let name = username.to_string();
        let found = store.read(move |c| users::by_name(c, &name)).await?;
        let mut memory = self
            .memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        let (user, memory) = tokio::task::spawn_blocking(move || {
            let (user, hash) = match found {
                Some((user, Some(hash))) => (Some(user), hash),
                Some((_, None)) | None => (None, dummy_hash().to_string()),
            };
            let ok = auth::verify_password_in(&hash, &password, &mut memory);
            (user.filter(|_| ok), memory)
        })
        .await
        .map_err(|e| StoreError::TaskFailed(e.to_string()))?;
        self.memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(memory);
        drop(permit);
        match user {
            Some(u) => {
                attempt.failed = false;
                // Success clears the account's failures, not the address's: one valid account
                // must not reset the count of guesses at others.
                self.lock().entries.remove(&attempt.keys[0]);
                Ok(u)
            }
            None => Err(LoginError::Wrong),
        }
    }
}

/// Every refused sign-in passes here (the server's log; wrong passwords also go to the audit log).
fn on_failure(client: IpAddr, username: &str, why: &LoginError) {
    match why {
        LoginError::Store(e) => {
            tracing::error!(%client, user = %username, error = %e, "sign-in failed")
        }
        _ => tracing::warn!(%client, user = %username, reason = %why, "sign-in refused"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s() -> ThrottleSettings {
        ThrottleSettings::default()
    }

    #[test]
    fn waits_double_then_lock() {
        let now = Instant::now();
        let lim = s().user;
        let e = |failures| Entry {
            failures,
            pending: 0,
            last: Some(now),
        };
        assert_eq!(e(2).wait_until(lim, &s(), now), None);
        assert_eq!(
            e(3).wait_until(lim, &s(), now),
            Some(now + Duration::from_secs(1))
        );
        assert_eq!(
            e(5).wait_until(lim, &s(), now),
            Some(now + Duration::from_secs(4))
        );
        assert_eq!(e(10).wait_until(lim, &s(), now), Some(now + s().lock));
    }

    #[test]
    fn pending_attempts_count() {
        let login = Login::new(1, s());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let held: Vec<_> = (0..3).map(|_| login.admit(ip, "li").unwrap()).collect();
        assert!(matches!(
            login.admit(ip, "LI "),
            Err(LoginError::Throttled {
                scope: "for this account",
                ..
            })
        ));
        drop(held);
        assert!(login.admit(ip, "wang").is_ok());
    }

    #[test]
    fn ipv6_counts_by_prefix() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
    }
}
