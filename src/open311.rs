//! Open311 GeoReport v2: report categories as services, reports as service requests.
//!
//! Hotlines (12345) and citizen apps file through `POST requests` with an API token of a patrol
//! or office user as `api_key`, and follow their requests by id. The mapping lives here; the
//! HTTP layer (`http::open311`) only parses forms and encodes JSON or XML.
//!
//! A retried submission must not duplicate a report: a `device_id` and description sent again
//! within a minute get the same report, because both map to the same `client_id` and the report
//! store keeps `client_id` unique (the idempotency `/api/reports` already has).

use crate::auth::User;
use crate::report::service::{Draft, ReportError, Submitted};
use crate::report::view::ReportView;
use crate::report::{Category, Status};
use crate::state::AppState;
use crate::store::reports::{self, Query};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// How long a retry with the same `device_id` and description returns the first report.
pub const RETRY_WINDOW_MS: i64 = 60_000;
/// The default window of `GET requests` (the specification's 90 days).
pub const DEFAULT_DAYS: i64 = 90;
/// The default and largest page of `GET requests`.
pub const MAX_PAGE_SIZE: usize = 1000;

/// The group and keywords of a category's service.
fn group_and_keywords(c: Category) -> (&'static str, &'static str) {
    match c {
        Category::Garbage => (
            "市容环境 City cleanliness",
            "垃圾,生活垃圾,garbage,litter,trash",
        ),
        Category::IllegalAds => (
            "市容环境 City cleanliness",
            "小广告,牛皮癣,illegal ads,posters,graffiti",
        ),
        Category::Weeds => ("园林绿化 Greenery", "杂草,weeds,overgrowth"),
        Category::Gutter => ("市政设施 Public works", "边沟,排水沟,gutter,drain"),
        Category::Debris => (
            "市容环境 City cleanliness",
            "建筑垃圾,渣土,construction debris,rubble",
        ),
        Category::MedicalWaste => ("卫生防疫 Public health", "医疗废物,medical waste,syringes"),
        Category::Water => ("生态环境 Environment", "水体污染,water pollution,river"),
        Category::Other => ("其他 Other", "其他,other"),
    }
}

/// One service per report category: Chinese name, English in the description.
pub fn service(c: Category) -> Value {
    let (group, keywords) = group_and_keywords(c);
    json!({
        "service_code": c.as_str(),
        "service_name": c.label_zh(),
        "description": format!("{} — report it with a location (lat/long, WGS84) and a photo if you can.", c.label_en()),
        "metadata": false,
        "type": "realtime",
        "keywords": keywords,
        "group": group,
    })
}

/// `services/{code}`: the extra fields of a service. No category has any yet.
pub fn service_definition(c: Category) -> Value {
    json!({"service_code": c.as_str(), "attributes": []})
}

/// Formats Unix ms in the city's offset, e.g. `2026-11-30T14:00:00+08:00`.
pub fn local_time(ms: i64, offset_s: i32) -> String {
    use time::format_description::well_known::Rfc3339;
    let offset = time::UtcOffset::from_whole_seconds(offset_s).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .map(|t| t.to_offset(offset))
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Whether an Open311 client sees the report as `open` or `closed`.
pub fn open_or_closed(s: Status) -> &'static str {
    match s {
        Status::Closed | Status::Rejected => "closed",
        _ => "open",
    }
}

/// Which Xuncha statuses an Open311 `status` names.
pub fn statuses_for(s: &str) -> Option<Vec<Status>> {
    match s {
        "open" => Some(
            Status::ALL
                .into_iter()
                .filter(|s| open_or_closed(*s) == "open")
                .collect(),
        ),
        "closed" => Some(vec![Status::Closed, Status::Rejected]),
        _ => None,
    }
}

/// A report as an Open311 service request. `origin` is `http://host` (for `media_url`).
pub fn request(v: &ReportView, offset_s: i32, origin: &str) -> Value {
    let t = |s: &str| {
        crate::time::parse_rfc3339(s)
            .map(|ms| local_time(ms, offset_s))
            .unwrap_or_default()
    };
    let responsible = v.responsible.as_ref();
    json!({
        "service_request_id": v.id.to_string(),
        "status": open_or_closed(v.status),
        "xuncha_status": v.status,
        "status_notes": v.reject_reason.map(|r| format!("rejected: {}", r.as_str())),
        "service_name": v.category.label_zh(),
        "service_code": v.category.as_str(),
        "description": v.note,
        "agency_responsible": responsible.and_then(|r| r["owner"]["name"].as_str()),
        "zone_responsible": responsible.and_then(|r| r["zone_id"].as_str()),
        "service_notice": null,
        "requested_datetime": t(&v.created_at),
        "updated_datetime": t(&v.updated_at),
        "expected_datetime": null,
        "address": null,
        "address_id": null,
        "zipcode": null,
        "lat": v.location.lat,
        "long": v.location.lon,
        "media_url": v.photos.first().map(|p| format!("{origin}{}", p.url)),
        "token": v.client_id,
    })
}

/// A deterministic UUID (v4 layout) for a device's submission in one minute.
pub fn retry_client_id(device_id: &str, description: &str, minute: i64) -> String {
    let mut h = Sha256::new();
    for part in ["open311", device_id, description, &minute.to_string()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    uuid::Builder::from_random_bytes(b)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// A submission as an Open311 client sends it.
#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    pub category: Option<Category>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// The report's note: the description with what else the client said.
    pub note: String,
    /// The raw description (for the retry key).
    pub description: String,
    pub device_id: Option<String>,
    pub photos: Vec<axum::body::Bytes>,
}

/// Files a request; a retry of the same device and description within a minute returns the
/// report filed first (`false`: nothing new was stored).
pub async fn submit(
    state: &AppState,
    user: &User,
    r: NewRequest,
) -> Result<(ReportView, bool), ReportError> {
    let now = crate::time::now_ms();
    let minute = now.div_euclid(60_000);
    let client_id = match &r.device_id {
        // Without a device there is no retry to recognise; a fresh id is the request's token.
        None => Some(uuid::Uuid::new_v4().hyphenated().to_string()),
        Some(device) => Some({
            // The previous minute's key still answers within the window.
            let earlier = retry_client_id(device, &r.description, minute - 1);
            let e2 = earlier.clone();
            let found = state
                .store
                .read(move |c| reports::by_client_id(c, &e2))
                .await?;
            if let Some(id) = found {
                let v = state.reports.get(id, false).await?;
                let created = crate::time::parse_rfc3339(&v.created_at).unwrap_or(0);
                if now - created <= RETRY_WINDOW_MS {
                    return Ok((v, false));
                }
            }
            retry_client_id(device, &r.description, minute)
        }),
    };
    let draft = Draft {
        lon: r.lon,
        lat: r.lat,
        category: r.category,
        note: Some(r.note).filter(|n| !n.trim().is_empty()),
        client_id,
        ..Draft::default()
    };
    if r.lon.is_none() || r.lat.is_none() {
        return Err(ReportError::BadInput(
            "lat and long are required (WGS84 degrees); an address alone cannot be placed".into(),
        ));
    }
    Ok(
        match state
            .reports
            .submit(
                &state.zones,
                &crate::audit::Actor::user(user, None),
                draft,
                r.photos,
            )
            .await?
        {
            Submitted::Created(v) => (v, true),
            Submitted::Existing(v) => (v, false),
        },
    )
}

/// What `GET requests` asks for.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Unix ms; default: 90 days before `end`.
    pub start: Option<i64>,
    /// Unix ms; default: now.
    pub end: Option<i64>,
    pub categories: Vec<Category>,
    pub statuses: Vec<Status>,
    /// 1-based.
    pub page: usize,
    pub page_size: usize,
    /// Whose requests the caller may see.
    pub visibility: crate::scope::Visibility,
}

/// Reports matching `s`, newest first, one page.
pub async fn search(state: &AppState, s: Search) -> Result<Vec<ReportView>, ReportError> {
    let end = s.end.unwrap_or_else(crate::time::now_ms);
    let start = s.start.unwrap_or(end - DEFAULT_DAYS * 86_400_000);
    let skip = (s.page.max(1) - 1) * s.page_size;
    let page = state
        .reports
        .query(Query {
            filter: crate::store::stats::ReportFilter {
                since: Some(start),
                until: Some(end.saturating_add(1)),
                categories: s.categories,
                statuses: s.statuses,
                visibility: s.visibility.clone(),
            },
            limit: skip + s.page_size,
            ..Query::default()
        })
        .await?;
    let ids: Vec<i64> = page.rows.iter().skip(skip).map(|r| r.id).collect();
    by_ids(state, ids, &s.visibility).await
}

/// The reports with these ids that exist and `visibility` shows, in order.
pub async fn by_ids(
    state: &AppState,
    ids: Vec<i64>,
    visibility: &crate::scope::Visibility,
) -> Result<Vec<ReportView>, ReportError> {
    let visibility = visibility.clone();
    Ok(state
        .store
        .read(move |c| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if !reports::visible(c, id, &visibility)? {
                    continue;
                }
                if let Some(v) = reports::get(c, id, false)? {
                    out.push(v);
                }
            }
            Ok(out)
        })
        .await?)
}

/// The report a token (its `client_id`) stands for.
pub async fn by_token(state: &AppState, token: &str) -> Result<Option<i64>, ReportError> {
    let t = token.to_string();
    Ok(state
        .store
        .read(move |c| reports::by_client_id(c, &t))
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn city_time_has_the_offset() {
        let ms = crate::time::parse_rfc3339("2026-11-30T06:00:00Z").unwrap();
        assert_eq!(local_time(ms, 8 * 3600), "2026-11-30T14:00:00+08:00");
    }

    #[test]
    fn retry_ids_are_stable_uuids() {
        let a = retry_client_id("phone-1", "垃圾", 5);
        assert_eq!(a, retry_client_id("phone-1", "垃圾", 5));
        assert_ne!(a, retry_client_id("phone-1", "垃圾", 6));
        assert_ne!(a, retry_client_id("phone-2", "垃圾", 5));
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }
}
