//! Part 4 on the zone collections: `POST` items, `PUT` / `PATCH` (JSON Merge Patch) / `DELETE`
//! an item with strong ETags, and `OPTIONS` saying which methods the caller may use.
//!
//! Every write goes through [`crate::zone::registry::ZoneRegistry`]: the same validation (a reason per
//! feature, nothing stored on failure), the same roles (planner, admin) and the same history as
//! `/api/zones`. A stale `If-Match` is 412 here (409 on `/api/zones`), a missing one 428.

use super::items::{etag, feature_links, live_zone};
use super::{base_url, collection, require_read, Caller, OgcError, OgcResult, GEOJSON};
use crate::audit::Actor;
use crate::auth::{Role, User};
use crate::features::{draft_from_feature, merge_patch, zone_flat_json, Collection, FeatureOut};
use crate::http::auth::ClientAddr;
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::zone::registry::RegistryError;
use crate::zone::{Zone, ZoneDraft};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{ALLOW, CONTENT_TYPE, ETAG, IF_MATCH, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::Arc;

const EDITORS: &[Role] = &[Role::Planner];

fn editable(c: Collection) -> Result<(), ApiError> {
    if c.is_zones() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "the collection {} is read-only; reports are filed through /api/reports or Open311",
            c.id()
        )))
    }
}

/// The request body as JSON; forms and XML are refused with 415.
fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let ctype = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !(ctype.is_empty() || ctype.contains("json")) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send the feature as application/geo+json (or application/json), not {ctype:?}"
        )));
    }
    crate::http::error::parse_json(body)
}

fn invalid(e: crate::zone::FeatureError) -> OgcError {
    RegistryError::Invalid(vec![e]).into()
}

fn draft(state: &AppState, c: Collection, doc: &Value, id: Option<&str>) -> OgcResult<ZoneDraft> {
    draft_from_feature(c, doc, id, state.config.max_vertices).map_err(invalid)
}

fn stored(
    status: StatusCode,
    base: &str,
    c: Collection,
    zone: &crate::zone::Zone,
    overlaps: Vec<crate::zone::registry::Overlap>,
    location: bool,
) -> OgcResult<Response> {
    let mut body = serde_json::to_value(FeatureOut::zone(zone, feature_links(base, c, &zone.id)))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    body["overlaps"] = json!(overlaps);
    let mut r = (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static(GEOJSON))],
        serde_json::to_vec(&body).unwrap_or_default(),
    )
        .into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag(zone.version)) {
        h.insert(ETAG, v);
    }
    if location {
        let url = format!("{base}/collections/{}/items/{}", c.id(), zone.id);
        if let Ok(v) = HeaderValue::from_str(&url) {
            h.insert(LOCATION, v);
        }
    }
    Ok(r)
}

/// `POST /ogc/collections/{id}/items`: 201 with `Location` and `ETag`.
pub async fn create(
    State(state): State<AppState>,
    auth: Caller,
    client: ClientAddr,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> OgcResult<Response> {
    let c = collection(&cid)?;
    editable(c)?;
    let user = &auth.require(EDITORS)?;
    let doc = json_body(&headers, &body)?;
    let d = draft(&state, c, &doc, None)?;
    let actor = actor_of(user, &client);
    let (mut zones, overlaps) = state.zones.create(vec![d], &actor).await?;
    let zone = zones
        .pop()
        .ok_or_else(|| ApiError::Internal("the registry stored nothing".into()))?;
    stored(
        StatusCode::CREATED,
        &base_url(&headers),
        c,
        &zone,
        overlaps,
        true,
    )
}

/// The version `If-Match` names if it names the current one; 428 without it, 412 otherwise.
/// Only strong ETags match (RFC 9110 § 13.1.1); `*` matches any current version.
fn checked_version(headers: &HeaderMap, current: i64, required: bool) -> Result<i64, ApiError> {
    let Some(v) = headers.get(IF_MATCH) else {
        return if required {
            Err(ApiError::PreconditionRequired(
                "send If-Match with the ETag of the version you edited (GET the item first) so that concurrent edits are not lost".into(),
            ))
        } else {
            Ok(current)
        };
    };
    let text = v.to_str().unwrap_or("");
    let want = etag(current);
    if text
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == want)
    {
        Ok(current)
    } else {
        Err(ApiError::PreconditionFailed(format!(
            "If-Match {text:?} does not match the current version {want}; GET the item again and apply your edit to it"
        )))
    }
}

/// The editable collection, the editor, the live zone and the version `If-Match` allows.
fn target(
    state: &AppState,
    auth: &Caller,
    cid: &str,
    fid: &str,
    headers: &HeaderMap,
    if_match_required: bool,
) -> Result<(Collection, User, Arc<Zone>, i64), ApiError> {
    let c = collection(cid)?;
    editable(c)?;
    let user = auth.require(EDITORS)?;
    let zone = live_zone(state, c, fid)?;
    let expected = checked_version(headers, zone.version, if_match_required)?;
    Ok((c, user, zone, expected))
}

/// The editor as the audit log records them.
fn actor_of(user: &User, client: &ClientAddr) -> Actor {
    Actor::user(
        user,
        (!client.0.is_unspecified()).then(|| client.0.to_string()),
    )
}

async fn replace_with(
    state: &AppState,
    user: &Actor,
    c: Collection,
    fid: &str,
    headers: &HeaderMap,
    doc: Value,
    expected: i64,
) -> OgcResult<Response> {
    let d = draft(state, c, &doc, Some(fid))?;
    let (zone, overlaps) = state.zones.update(fid, expected, d, user).await?;
    stored(
        StatusCode::OK,
        &base_url(headers),
        c,
        &zone,
        overlaps,
        false,
    )
}

/// `PUT /ogc/collections/{id}/items/{featureId}` with `If-Match`.
pub async fn replace(
    State(state): State<AppState>,
    auth: Caller,
    client: ClientAddr,
    Path((cid, fid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> OgcResult<Response> {
    let (c, user, _, expected) = target(&state, &auth, &cid, &fid, &headers, true)?;
    let doc = json_body(&headers, &body)?;
    let actor = actor_of(&user, &client);
    replace_with(&state, &actor, c, &fid, &headers, doc, expected).await
}

/// `PATCH /ogc/collections/{id}/items/{featureId}`: a JSON Merge Patch (RFC 7396) of the flat
/// feature as served (e.g. `{"properties": {"owner_contact": "0439-1234567"}}`).
pub async fn patch(
    State(state): State<AppState>,
    auth: Caller,
    client: ClientAddr,
    Path((cid, fid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> OgcResult<Response> {
    let (c, user, zone, expected) = target(&state, &auth, &cid, &fid, &headers, true)?;
    let actor = actor_of(&user, &client);
    let patch = json_body(&headers, &body)?;
    if !patch.is_object() {
        return Err(ApiError::unprocessable(
            "a JSON Merge Patch must be an object, like {\"properties\": {\"name\": \"…\"}}",
        )
        .into());
    }
    let mut doc = zone_flat_json(&zone);
    merge_patch(&mut doc, &patch);
    if let Some(m) = doc.as_object_mut() {
        m.remove("links");
    }
    replace_with(&state, &actor, c, &fid, &headers, doc, expected).await
}

/// `DELETE /ogc/collections/{id}/items/{featureId}`: retires the zone (history kept); 204.
/// `If-Match`, when sent, must name the current version.
pub async fn delete(
    State(state): State<AppState>,
    auth: Caller,
    client: ClientAddr,
    Path((cid, fid)): Path<(String, String)>,
    headers: HeaderMap,
) -> OgcResult<Response> {
    let (_, user, _, expected) = target(&state, &auth, &cid, &fid, &headers, false)?;
    state
        .zones
        .retire(&fid, Some(expected), &actor_of(&user, &client))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn allow(methods: &[&str]) -> Response {
    (StatusCode::NO_CONTENT, [(ALLOW, methods.join(", "))]).into_response()
}

fn may_edit(auth: &Caller, c: Collection) -> bool {
    c.is_zones() && auth.0.as_ref().is_some_and(|u| u.has_role(EDITORS))
}

/// `OPTIONS /ogc/collections/{id}/items`: the methods the caller's role may use.
pub async fn options_items(
    State(state): State<AppState>,
    auth: Caller,
    Path(cid): Path<String>,
) -> OgcResult<Response> {
    let c = collection(&cid)?;
    require_read(&state, &auth, c)?;
    Ok(if may_edit(&auth, c) {
        allow(&["GET", "HEAD", "OPTIONS", "POST"])
    } else {
        allow(&["GET", "HEAD", "OPTIONS"])
    })
}

/// `OPTIONS /ogc/collections/{id}/items/{featureId}`: the methods the caller's role may use.
pub async fn options_item(
    State(state): State<AppState>,
    auth: Caller,
    Path((cid, fid)): Path<(String, String)>,
) -> OgcResult<Response> {
    let c = collection(&cid)?;
    require_read(&state, &auth, c)?;
    if c.is_zones() {
        live_zone(&state, c, &fid)?;
    }
    Ok(if may_edit(&auth, c) {
        allow(&["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"])
    } else {
        allow(&["GET", "HEAD", "OPTIONS"])
    })
}
