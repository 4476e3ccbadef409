//! `/api/reports`, `/api/reports/nearby`, `/api/reports/{id}` and `/api/categories`.
//!
//! Submissions and status changes come as `multipart/form-data` (with `photo` parts) or as
//! `application/json` (without photos). Handlers parse the request into a draft, call
//! [`crate::report::service::ReportService`], and encode the answer.

use super::auth::{Auth, Who};
use super::error::{parse_json, ApiError, ApiResult};
use super::extract::{LonLat, QueryParams};
use super::guard::{body_error, BodyBytes, BodyLimit};
use crate::auth::Role;
use crate::problem::Problem;
use crate::report::service::{sees_reporters, ChangeDraft, Crs, Draft, Submitted};
use crate::report::view::{self, ReportView};
use crate::report::{Category, RejectReason, Status};
use crate::scope::Visibility;
use crate::state::AppState;
use crate::store::reports::{Order, Query, Summary};
use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Fields a submission may have besides `photo`.
const REPORT_FIELDS: [&str; 8] = [
    "lon",
    "lat",
    "accuracy_m",
    "crs",
    "category",
    "note",
    "captured_at",
    "client_id",
];
/// Fields a status change may have besides `photo`.
const CHANGE_FIELDS: [&str; 6] = [
    "status",
    "note",
    "reason",
    "assign_to",
    "duplicate_of",
    "due_at",
];
/// Fields an update (the same problem seen again) may have besides `photo`.
const UPDATE_FIELDS: [&str; 1] = ["note"];
/// Longest text field accepted in a multipart form, bytes (a 2000-character note is ≤ 8 KB).
const MAX_FIELD_BYTES: usize = 64 << 10;

/// The largest request body a report or status change may have: every photo at its limit plus
/// room for the form fields.
pub fn body_limit(state: &AppState) -> usize {
    state.config.max_photos * state.config.max_photo_bytes + (1 << 20)
}

fn too_large(state: &AppState) -> ApiError {
    let mb = |b: usize| b as f64 / (1u64 << 20) as f64;
    ApiError::PayloadTooLarge(format!(
        "the request body is over the limit of {:.0} MiB ({} photos of at most {:.0} MiB each, plus the form fields); send fewer or smaller photos",
        mb(body_limit(state)),
        state.config.max_photos,
        mb(state.config.max_photo_bytes)
    ))
}

fn multipart_error(state: &AppState, limit: Option<BodyLimit>, e: MultipartError) -> ApiError {
    match body_error(limit, &e) {
        ApiError::PayloadTooLarge(_) => too_large(state),
        ApiError::BadRequest(_) => ApiError::bad_request(format!(
            "the multipart body is malformed: {}",
            e.body_text()
        )),
        other => other,
    }
}

/// Bytes of a photo part read before its format is checked: enough for every signature
/// [`crate::report::photo::sniff`] knows.
const SNIFF_BYTES: usize = 16;

/// A form: its text fields and its photos, in order.
struct Form {
    fields: HashMap<String, String>,
    photos: Vec<Bytes>,
}

enum Body {
    Form(Form),
    Json(Bytes),
}

/// Reads a multipart form or a JSON body; anything else is 415.
async fn read_body(state: &AppState, req: Request, allowed: &[&str]) -> ApiResult<Body> {
    let ctype = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let limit = req.extensions().get::<BodyLimit>().copied();
    if ctype.starts_with("application/json") {
        let BodyBytes(bytes) = BodyBytes::from_request(req, state).await?;
        return Ok(Body::Json(bytes));
    }
    if !ctype.starts_with("multipart/form-data") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send multipart/form-data (with photos) or application/json, not {:?}",
            if ctype.is_empty() {
                "no Content-Type"
            } else {
                &ctype
            }
        )));
    }
    let mut mp = Multipart::from_request(req, state)
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    let max_photos = state.config.max_photos;
    let max_bytes = state.config.max_photo_bytes;
    let mut form = Form {
        fields: HashMap::new(),
        photos: Vec::new(),
    };
    while let Some(mut field) = mp
        .next_field()
        .await
        .map_err(|e| multipart_error(state, limit, e))?
    {
        let name = field.name().unwrap_or("").to_string();
        if name == "photo" {
            if form.photos.len() == max_photos {
                return Err(ApiError::unprocessable(format!(
                    "more than {max_photos} photos were sent; at most {max_photos} are accepted per request"
                )));
            }
            let index = form.photos.len() + 1;
            let mut buf = Vec::new();
            let mut sniffed = false;
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| multipart_error(state, limit, e))?
            {
                if buf.len() + chunk.len() > max_bytes {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "photo {index} is over the limit of {} bytes ({:.0} MiB) per photo",
                        max_bytes,
                        max_bytes as f64 / (1u64 << 20) as f64
                    )));
                }
                buf.extend_from_slice(&chunk);
                // Refuse what is not a photo on its first bytes, before the rest is read.
                if !sniffed && buf.len() >= SNIFF_BYTES {
                    sniff_part(index, &buf)?;
                    sniffed = true;
                }
            }
            if !sniffed {
                sniff_part(index, &buf)?;
            }
            form.photos.push(Bytes::from(buf));
        } else if allowed.contains(&name.as_str()) {
            let mut buf = Vec::new();
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| multipart_error(state, limit, e))?
            {
                buf.extend_from_slice(&chunk);
                if buf.len() > MAX_FIELD_BYTES {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "the field {name} is over {MAX_FIELD_BYTES} bytes"
                    )));
                }
            }
            let text = String::from_utf8(buf).map_err(|_| {
                ApiError::bad_request(format!("the field {name} is not UTF-8 text"))
            })?;
            form.fields.insert(name, text);
        } else {
            return Err(ApiError::unprocessable(format!(
                "unknown form field {name:?}; the fields are {} and up to {max_photos} `photo` files",
                allowed.join(", ")
            )));
        }
    }
    Ok(Body::Form(form))
}

fn sniff_part(index: usize, head: &[u8]) -> ApiResult<()> {
    crate::report::photo::sniff(head)
        .map(|_| ())
        .map_err(|source| crate::report::service::ReportError::Photo { index, source }.into())
}

fn number(key: &str, s: &str) -> ApiResult<f64> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| ApiError::bad_request(format!("{key}={s:?} is not a number")))
}

/// A JSON value as text, so the form and JSON paths share one parser.
fn json_text(key: &str, v: &Value) -> ApiResult<Option<String>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(ApiError::bad_request(format!(
            "{key} must be a string or a number, not {other}"
        ))),
    }
}

fn json_fields(body: &[u8], allowed: &[&str]) -> ApiResult<HashMap<String, String>> {
    let v: Value = parse_json(body)?;
    let Value::Object(map) = v else {
        return Err(ApiError::unprocessable("the JSON body must be an object"));
    };
    let mut out = HashMap::new();
    for (k, v) in map {
        if k == "photo" || k == "photos" {
            return Err(ApiError::unprocessable(
                "photos cannot be sent as JSON; send multipart/form-data with `photo` file parts",
            ));
        }
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::unprocessable(format!(
                "unknown field {k:?}; the fields are {}",
                allowed.join(", ")
            )));
        }
        if let Some(t) = json_text(&k, &v)? {
            out.insert(k, t);
        }
    }
    Ok(out)
}

fn draft_from(fields: &HashMap<String, String>) -> ApiResult<Draft> {
    let get = |k: &str| fields.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let opt_num = |k: &str| get(k).map(|s| number(k, s)).transpose();
    Ok(Draft {
        lon: opt_num("lon")?,
        lat: opt_num("lat")?,
        accuracy_m: opt_num("accuracy_m")?,
        crs: get("crs")
            .map(Crs::parse)
            .transpose()
            .map_err(|e| ApiError::bad_request(e.to_string()))?
            .unwrap_or_default(),
        category: get("category")
            .map(|c| c.parse::<Category>().map_err(ApiError::rejected))
            .transpose()?,
        note: fields.get("note").cloned(),
        captured_at: get("captured_at")
            .map(|s| {
                crate::time::parse_rfc3339(s)
                    .map_err(|e| ApiError::bad_request(format!("captured_at: {e}")))
            })
            .transpose()?,
        client_id: get("client_id")
            .map(|s| {
                uuid::Uuid::parse_str(s)
                    .map(|u| u.hyphenated().to_string())
                    .map_err(|_| {
                        ApiError::bad_request(format!(
                            "client_id={s:?} is not a UUID; make one on the device (e.g. crypto.randomUUID()) and reuse it for retries"
                        ))
                    })
            })
            .transpose()?,
    })
}

/// `POST /api/reports`: 201 with the new report, or 200 with the first one for a known
/// `client_id`.
pub async fn create(State(state): State<AppState>, who: Who, req: Request) -> ApiResult<Response> {
    who.require(&[Role::Patrol, Role::Office])?;
    let (fields, photos) = match read_body(&state, req, &REPORT_FIELDS).await? {
        Body::Form(f) => (f.fields, f.photos),
        Body::Json(b) => (json_fields(&b, &REPORT_FIELDS)?, Vec::new()),
    };
    let draft = draft_from(&fields)?;
    let out = state
        .reports
        .submit(&state.zones, &who.actor, draft, photos)
        .await?;
    Ok(match out {
        Submitted::Created(v) => (StatusCode::CREATED, view_for(&who.auth, v)).into_response(),
        Submitted::Existing(v) => (StatusCode::OK, view_for(&who.auth, v)).into_response(),
    })
}

/// A report as `auth`'s user may see it: who filed it and who changed it only for office and
/// admin (others see their own name, and `null` for anyone else).
fn view_for(auth: &Auth, view: ReportView) -> Json<Value> {
    let mut v = serde_json::to_value(view).unwrap_or_default();
    if !sees_reporters(&auth.0) {
        let me = auth.0.username.as_str();
        let hide = |u: &mut Value| {
            if u.as_str() != Some(me) {
                *u = Value::Null;
            }
        };
        if let Some(u) = v.get_mut("created_by") {
            hide(u);
        }
        if let Some(events) = v.get_mut("events").and_then(Value::as_array_mut) {
            for e in events {
                if let Some(u) = e.get_mut("user") {
                    hide(u);
                }
            }
        }
    }
    Json(v)
}

fn report_id(s: &str) -> ApiResult<i64> {
    s.parse::<i64>()
        .map_err(|_| ApiError::NotFound(format!("report {s:?} does not exist (ids are numbers)")))
}

/// `GET /api/reports/{id}`: the report with its events.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = report_id(&id)?;
    let vis = Visibility::of(&auth.0);
    Ok(view_for(&auth, state.reports.get_visible(id, &vis).await?).into_response())
}

/// `POST /api/reports/{id}/updates` `{"note"}` or multipart with `photo`s: the same problem seen
/// again, added to the report without changing its status.
pub async fn add_update(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    who.require(&[Role::Patrol, Role::Office])?;
    let id = report_id(&id)?;
    let (fields, photos) = match read_body(&state, req, &UPDATE_FIELDS).await? {
        Body::Form(f) => (f.fields, f.photos),
        Body::Json(b) => (json_fields(&b, &UPDATE_FIELDS)?, Vec::new()),
    };
    let view = state
        .reports
        .add_update(&who.actor, id, fields.get("note").cloned(), photos)
        .await?;
    Ok((StatusCode::CREATED, view_for(&who.auth, view)).into_response())
}

/// `PATCH /api/reports/{id}` `{"status", "note", "reason"}` (JSON, or multipart with `photo`
/// after-photos).
pub async fn change(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    who.require(&[Role::Patrol, Role::Office, Role::Unit])?;
    let id = report_id(&id)?;
    let (fields, photos) = match read_body(&state, req, &CHANGE_FIELDS).await? {
        Body::Form(f) => (f.fields, f.photos),
        Body::Json(b) => (json_fields(&b, &CHANGE_FIELDS)?, Vec::new()),
    };
    let get = |k: &str| fields.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let status = get("status")
        .ok_or_else(|| ApiError::unprocessable("status is missing: say what the report becomes"))?
        .parse::<Status>()
        .map_err(ApiError::rejected)?;
    let reason = get("reason")
        .map(|r| r.parse::<RejectReason>().map_err(ApiError::rejected))
        .transpose()?;
    let duplicate_of = get("duplicate_of")
        .map(|d| {
            d.parse::<i64>().map_err(|_| {
                ApiError::unprocessable(format!("duplicate_of={d:?} must be a report number"))
            })
        })
        .transpose()?;
    let due_at = get("due_at")
        .map(|d| {
            crate::time::parse_rfc3339(d).map_err(|e| {
                ApiError::rejected(
                    Problem::new("bad_time", format!("due_at: {e}"))
                        .with("param", "due_at")
                        .with("value", d),
                )
            })
        })
        .transpose()?;
    let draft = ChangeDraft {
        status,
        note: fields.get("note").cloned(),
        reason,
        assign_to: get("assign_to").map(String::from),
        duplicate_of,
        due_at,
    };
    let view = state.reports.change(&who.actor, id, draft, photos).await?;
    Ok(view_for(&who.auth, view).into_response())
}

/// `GET /api/reports/nearby?lon=&lat=&category=[&crs=gcj02]`: open reports of that category
/// close by (the duplicate rule), nearest first.
pub async fn nearby(
    State(state): State<AppState>,
    auth: Auth,
    LonLat { mut lon, mut lat }: LonLat,
    QueryParams(p): QueryParams,
) -> ApiResult<Json<Value>> {
    // The duplicate check before filing: for those who file reports, not for units.
    auth.require(&[Role::Patrol, Role::Office, Role::Planner])?;
    if let Some(crs) = p.str("crs") {
        if Crs::parse(crs).map_err(|e| ApiError::bad_request(e.to_string()))? == Crs::Gcj02 {
            (lon, lat) = crate::crs::gcj02::to_wgs84(lon, lat);
        }
    }
    let category = p
        .str("category")
        .ok_or_else(|| super::params::missing("category"))?
        .parse::<Category>()
        .map_err(ApiError::rejected)?;
    let near = state.reports.nearby(lon, lat, category).await?;
    let rule = state.reports.settings.duplicates;
    Ok(Json(json!({
        "radius_m": rule.radius_m,
        "days": rule.window_ms / 86_400_000,
        "reports": near,
    })))
}

const CURSOR_PREFIX: &str = "r2:";

/// A list cursor: the order it belongs to, then the `(sort key, id)` of the last row sent.
fn encode_cursor((t, id): (i64, i64), order: Order) -> String {
    let o = match order {
        Order::Newest => "n",
        Order::Due => "d",
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{o}:{t}:{id}"))
}

fn decode_cursor(s: &str, order: Order) -> ApiResult<(i64, i64)> {
    let bad = || {
        ApiError::bad_request(format!(
            "cursor={s:?} is not a cursor this server gave out for this sort; use next_cursor from the previous page"
        ))
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let rest = text.strip_prefix(CURSOR_PREFIX).ok_or_else(bad)?;
    let want = match order {
        Order::Newest => "n:",
        Order::Due => "d:",
    };
    let rest = rest.strip_prefix(want).ok_or_else(bad)?;
    let (t, id) = rest.split_once(':').ok_or_else(bad)?;
    Ok((
        t.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    ))
}

fn feature(s: Summary) -> Value {
    json!({
        "type": "Feature",
        "id": s.id,
        "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
        "properties": {
            "id": s.id,
            "category": s.category,
            "status": s.status,
            "note": s.note,
            "created_at": crate::time::to_rfc3339(s.created_at),
            "captured_at": crate::time::to_rfc3339(s.captured_at),
            "responsible": s.responsible,
            "ambiguous": s.ambiguous,
            "assigned_to": s.assigned_to,
            "due_at": s.due_at.map(crate::time::to_rfc3339),
            "overdue": s.overdue,
            "escalated_to": s.escalated_to,
            "zones": s.zones,
            "photos": s.photo_ids.iter().map(|id| json!({
                "id": id,
                "url": view::photo_url(id),
                "thumb_url": view::thumb_url(id),
            })).collect::<Vec<_>>(),
        }
    })
}

/// `GET /api/reports?bbox=&since=&until=&category=&status=&zone=&overdue=&mine=&q=&sort=&limit=&cursor=&count=`:
/// a GeoJSON FeatureCollection, newest first (`sort=newest`) or soonest due first (`sort=due`,
/// those without a deadline last); `next_cursor` continues it in the same order (stable under
/// new submissions, since it resumes after a fixed `(sort key, id)`). `q` finds a report number
/// or words of the note, the responsible, assigned or escalated organisation or a zone's name;
/// `count=true` adds `number_matched` and `number_overdue` for the whole match.
pub async fn query(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(p): QueryParams,
) -> ApiResult<Json<Value>> {
    let filter = super::stats::report_filter(&p, &auth.0)?;
    let order = match p.str("sort").unwrap_or("newest") {
        "newest" => Order::Newest,
        "due" => Order::Due,
        other => {
            return Err(ApiError::invalid(
                Problem::new(
                    "unknown_sort",
                    format!("sort={other:?} is not known; use newest (the default) or due"),
                )
                .with("value", other)
                .with("allowed", ["newest", "due"]),
            ))
        }
    };
    let with_counts = match p.str("count") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::bad_request("count must be true or false")),
    };
    let query = Query {
        bbox: p.bbox()?,
        filter,
        zone: p.str("zone").map(str::to_string),
        limit: p.int("limit", 100, 1..=1000)? as usize,
        after: p
            .str("cursor")
            .map(|c| decode_cursor(c, order))
            .transpose()?,
        order,
        text: p.str("q").map(str::to_string),
        overdue: p
            .str("overdue")
            .map(|v| match v {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(ApiError::bad_request("overdue must be true or false")),
            })
            .transpose()?,
        created_by: match p.str("mine") {
            None => None,
            Some("true") => Some(auth.0.username.clone()),
            Some(_) => return Err(ApiError::bad_request("mine must be true")),
        },
    };
    let counts = if with_counts {
        Some(state.reports.counts(query.clone()).await?)
    } else {
        None
    };
    let page = state.reports.query(query).await?;
    let features: Vec<Value> = page.rows.into_iter().map(feature).collect();
    let mut body = json!({
        "type": "FeatureCollection",
        "features": features,
        "next_cursor": page.next.map(|c| encode_cursor(c, order)),
    });
    if let Some(c) = counts {
        body["number_matched"] = json!(c.matched);
        body["number_overdue"] = json!(c.overdue);
    }
    Ok(Json(body))
}

/// `GET /api/categories`: report categories with zh-CN and English labels (no sign-in needed:
/// a phone shows the form before its user signs in).
pub async fn categories() -> Json<Value> {
    Json(json!({
        "categories": Category::ALL.iter().map(|c| json!({
            "id": c, "zh": c.label_zh(), "en": c.label_en()
        })).collect::<Vec<_>>(),
        "statuses": Status::ALL,
        "reject_reasons": RejectReason::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        for order in [Order::Newest, Order::Due] {
            let c = encode_cursor((1_700_000_000_123, 42), order);
            assert_eq!(decode_cursor(&c, order).unwrap(), (1_700_000_000_123, 42));
        }
        let newest = encode_cursor((1, 2), Order::Newest);
        assert!(
            decode_cursor(&newest, Order::Due).is_err(),
            "one order's cursor in another"
        );
        assert!(decode_cursor("nope", Order::Newest).is_err());
        let foreign = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("x:1:2");
        assert!(decode_cursor(&foreign, Order::Newest).is_err());
    }
}
