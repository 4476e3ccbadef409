//! The public map (随手拍, off unless the deployment turns it on with `--public-map`): anyone
//! may see the zones with their responsible owner and contact, and the open reports (category,
//! status, time, thumbnails) — never who filed them, their notes or the original photos.
//! Requests are limited per client address.

use crate::state::App;
use crate::store::public::{self as sql, PublicReport};
use crate::store::StoreError;
use crate::zone::{Zone, ZoneKind};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most client addresses remembered; beyond it, addresses whose bucket is full again are
/// forgotten, and while none is, new addresses are asked to wait.
const MAX_CLIENTS: usize = 100_000;

/// A token bucket per client address (IPv6 by /64): `per_minute` requests a minute, with a
/// burst of as many.
pub struct Limiter {
    per_minute: f64,
    /// [`MAX_CLIENTS`] but for tests.
    max_clients: usize,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Limiter {
    pub fn new(per_minute: u32) -> Self {
        Limiter {
            per_minute: f64::from(per_minute.max(1)),
            max_clients: MAX_CLIENTS,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `ip`'s bucket; `Err(wait)` when it is empty.
    pub fn take(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let key = match ip {
            IpAddr::V6(v6) => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(s.into())
            }
            v4 => v4,
        };
        let rate = self.per_minute / 60.0;
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if b.len() >= self.max_clients && !b.contains_key(&key) {
            let cap = self.per_minute;
            b.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < cap
            });
            if b.len() >= self.max_clients {
                // Every remembered client is still active: a newcomer waits rather than evict one
                // (which would let many addresses reset each other's limits).
                return Err(Duration::from_secs(1));
            }
        }
        let (tokens, at) = b.entry(key).or_insert((self.per_minute, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(self.per_minute);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / rate))
        }
    }
}

/// Kinds shown on the public map (hotspots are the office's working notes; routes are walked,
/// not answered for).
fn is_public_kind(k: ZoneKind) -> bool {
    matches!(
        k,
        ZoneKind::Responsibility | ZoneKind::Grid | ZoneKind::GreenAdoption
    )
}

fn zone_json(z: &Zone) -> Value {
    json!({
        "id": z.id,
        "kind": z.kind,
        "kind_zh": z.kind.label_zh(),
        "kind_en": z.kind.label_en(),
        "name": z.name,
        "level": z.properties.get("level"),
        "owner": z.owner.as_ref().map(|o| json!({
            "name": o.name,
            "sector": o.sector,
            "sector_zh": o.sector.label_zh(),
            "sector_en": o.sector.label_en(),
            "contact": o.contact,
        })),
    })
}

/// A live zone of a public kind.
pub fn zone(app: &App, id: &str) -> Option<Value> {
    let z = app.zones.index().get(id)?.zone.clone();
    (z.is_live() && is_public_kind(z.kind)).then(|| zone_json(&z))
}

/// An open report with its category and status in both languages, its responsible zone (as
/// [`zone`] shows it) and the URLs of its thumbnails.
pub fn report(app: &App, id: i64) -> Result<Option<Value>, StoreError> {
    let Some(r): Option<PublicReport> =
        app.store.read_sync(move |c| Ok(sql::open_report(c, id)?))?
    else {
        return Ok(None);
    };
    let category = r.category.parse::<crate::report::Category>().ok();
    let status = r.status.parse::<crate::report::Status>().ok();
    let zone = r.responsible_zone_id.as_deref().and_then(|z| zone(app, z));
    Ok(Some(json!({
        "id": r.id,
        "category": r.category,
        "category_zh": category.map(|c| c.label_zh()),
        "category_en": category.map(|c| c.label_en()),
        "status": r.status,
        "status_zh": status.map(|s| s.label_zh()),
        "status_en": status.map(|s| s.label_en()),
        "created_at": crate::time::to_rfc3339(r.created_at),
        "lon": r.lon,
        "lat": r.lat,
        "responsible_owner": r.responsible_owner,
        "zone": zone,
        "thumbs": r.photos.iter().map(|p| format!("/api/public/photos/{p}/thumb")).collect::<Vec<_>>(),
    })))
}

/// Whether photo `id` may be shown (as a thumbnail) on the public map.
pub fn photo_is_public(app: &App, id: &str) -> Result<bool, StoreError> {
    let id = id.to_string();
    app.store
        .read_sync(move |c| Ok(sql::photo_is_public(c, &id)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_empties_and_refills() {
        let l = Limiter::new(60);
        let t0 = Instant::now();
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..60 {
            assert!(l.take(ip, t0).is_ok());
        }
        let wait = l.take(ip, t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        // Another client is not affected; one second later there is one more request.
        assert!(l.take("203.0.113.8".parse().unwrap(), t0).is_ok());
        assert!(l.take(ip, t0 + Duration::from_secs(1)).is_ok());
        assert!(l.take(ip, t0 + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn a_full_table_forgets_idle_clients_and_makes_newcomers_wait() {
        let mut l = Limiter::new(60);
        l.max_clients = 2;
        let t0 = Instant::now();
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            "198.51.100.1".parse().unwrap(),
            "198.51.100.2".parse().unwrap(),
            "198.51.100.3".parse().unwrap(),
        );
        assert!(l.take(a, t0).is_ok());
        assert!(l.take(b, t0).is_ok());
        // Both still active: the third waits, and no one's count was reset.
        assert!(l.take(c, t0).is_err());
        // A minute later both buckets are full again: they are forgotten, the third is served.
        assert!(l.take(c, t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn an_ipv6_client_is_one_bucket_per_64() {
        let l = Limiter::new(1);
        let t0 = Instant::now();
        assert!(l.take("2001:db8:1:2::1".parse().unwrap(), t0).is_ok());
        assert!(l.take("2001:db8:1:2::ffff".parse().unwrap(), t0).is_err());
        assert!(l.take("2001:db8:1:3::1".parse().unwrap(), t0).is_ok());
    }
}
