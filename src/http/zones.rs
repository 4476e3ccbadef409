//! `/api/zones`: list, create, read, edit (optimistic concurrency), retire, history.

use super::auth::{Auth, Who};
use super::error::{blocking, ApiError, ApiResult};
use super::extract::QueryParams;
use super::guard::BodyBytes;
use super::params::Params;
use crate::auth::Role;
use crate::state::AppState;
use crate::zone::registry::{Gap, RegistryError};
use crate::zone::{
    for_each_feature, zone_to_feature, FeatureError, ParseOptions, ZoneDraft, ZoneKind,
};
use axum::extract::{Path, State};
use axum::http::header::{ETAG, IF_MATCH};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

const PLANNERS: &[Role] = &[Role::Planner];

/// Whether `user` may see `zone` here: a unit sees only its own organisation's zones.
fn may_see(user: &crate::auth::User, zone: &crate::zone::Zone) -> bool {
    user.role != Role::Unit
        || zone
            .owner
            .as_ref()
            .is_some_and(|o| Some(o.name.as_str()) == user.owner.as_deref())
}

/// `GET /api/zones?kind=&bbox=` → a FeatureCollection of live zones (a unit's own only).
///
/// `?retired=true` (planners and admins) lists the retired zones instead, the most recently
/// retired first, so that their history can be found.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(p): QueryParams,
) -> ApiResult<Json<Value>> {
    let kind = p
        .str("kind")
        .map(|k| k.parse::<ZoneKind>())
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let bbox = p.bbox()?;
    let retired = match p.str("retired") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(
                ApiError::bad_request(format!("retired={other:?} must be true or false"))
                    .coded("bad_flag", json!({"name": "retired", "value": other})),
            )
        }
    };
    if retired {
        if !auth.0.has_role(PLANNERS) {
            return Err(ApiError::Forbidden(format!(
                "retired zones are listed for planners and admins; you are signed in as {} ({})",
                auth.0.username, auth.0.role
            ))
            .coded(
                "forbidden_role",
                json!({"roles": ["planner", "admin"], "role": auth.0.role.as_str()}),
            ));
        }
        let zones = state.zones.retired(kind).await?;
        let features: Vec<Value> = zones
            .iter()
            .filter(|z| bbox.is_none_or(|b| z.geometry.bbox().is_some_and(|zb| b.intersects(&zb))))
            .map(zone_to_feature)
            .collect();
        return Ok(Json(
            json!({"type": "FeatureCollection", "features": features}),
        ));
    }
    let index = state.zones.index();
    let mut zones: Vec<_> = match bbox {
        Some(b) => index.in_bbox(b).collect(),
        None => index.iter().collect(),
    };
    zones.retain(|e| kind.is_none_or(|k| e.zone.kind == k) && may_see(&auth.0, &e.zone));
    zones.sort_by(|a, b| a.zone.id.cmp(&b.zone.id));
    let features: Vec<Value> = zones.iter().map(|e| zone_to_feature(&e.zone)).collect();
    Ok(Json(
        json!({"type": "FeatureCollection", "features": features}),
    ))
}

/// New zones for [`gaps_of`]: each labelled by its id, or by its position when it has none.
fn new_zones<'a>(
    drafts: impl Iterator<Item = (usize, &'a ZoneDraft)>,
) -> Vec<(String, Option<String>, ZoneDraft)> {
    drafts
        .map(|(i, d)| {
            (
                d.id.clone().unwrap_or_else(|| i.to_string()),
                None,
                d.clone(),
            )
        })
        .collect()
}

/// The gaps of each draft (labelled as the overlaps are), computed off the async workers.
async fn gaps_of(
    state: &AppState,
    drafts: Vec<(String, Option<String>, ZoneDraft)>,
) -> ApiResult<Vec<Gap>> {
    let (st, width_m) = (state.clone(), state.config.gap_width_m);
    blocking(move || {
        Ok::<_, ApiError>(
            drafts
                .iter()
                .flat_map(|(label, skip, d)| st.zones.gaps(label, skip.as_deref(), d, width_m))
                .collect(),
        )
    })
    .await
}

/// Drafts with their positions in the submission, and the features refused.
type Parsed = (Vec<(usize, ZoneDraft)>, Vec<FeatureError>);

/// The submission's drafts (with their positions) and the features it rejects, including ids
/// given twice; a body that is not a GeoJSON Feature or FeatureCollection is refused outright.
/// The body's features, read one at a time (a large collection is never held as one JSON tree).
fn parse_drafts(state: &AppState, body: &[u8]) -> ApiResult<Parsed> {
    if body.is_empty() {
        return Err(ApiError::unprocessable(
            "the request body is empty; send a GeoJSON Feature or FeatureCollection",
        ));
    }
    let opts = ParseOptions {
        default_kind: None,
        max_vertices: state.config.max_vertices,
    };
    let mut results = Vec::new();
    for_each_feature(body, opts, |r| {
        results.push(r);
        Ok(())
    })
    .map_err(ApiError::unprocessable)?;
    if results.is_empty() {
        return Err(ApiError::unprocessable(
            "the FeatureCollection has no features",
        ));
    }
    let mut drafts = Vec::new();
    let mut errors = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(d) => drafts.push((i, d)),
            Err(e) => errors.push(e),
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (i, d) in &drafts {
        if let Some(id) = &d.id {
            if !seen.insert(id.clone()) {
                errors.push(FeatureError {
                    index: *i,
                    id: Some(id.clone()),
                    reason: format!("id {id:?} appears more than once in this submission"),
                    code: "zone_id_repeated",
                    location: None,
                });
            }
        }
    }
    Ok((drafts, errors))
}

fn drafts_from_body(state: &AppState, body: &[u8]) -> ApiResult<Vec<ZoneDraft>> {
    let (drafts, errors) = parse_drafts(state, body)?;
    if !errors.is_empty() {
        return Err(RegistryError::Invalid(errors).into());
    }
    Ok(drafts.into_iter().map(|(_, d)| d).collect())
}

/// `dry_run=true|false` (default false).
fn dry_run(p: &Params) -> ApiResult<bool> {
    match p.str("dry_run") {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "dry_run={other:?} must be true or false"
        ))),
    }
}

/// `POST /api/zones` with a Feature or FeatureCollection → 201 with the stored features, the
/// overlaps with existing zones of the same kind and the gaps (slivers narrower than the
/// configured `gap_width_m`) left between them. All or nothing.
///
/// `?dry_run=true` checks the same and stores nothing (no audit row): 200
/// `{"valid", "errors": [{index, id?, reason, code, location?}], "overlaps": [...], "gaps": [...]}`.
pub async fn create(
    State(state): State<AppState>,
    who: Who,
    QueryParams(p): QueryParams,
    BodyBytes(body): BodyBytes,
) -> ApiResult<Response> {
    who.require(PLANNERS)?;
    if dry_run(&p)? {
        let (drafts, mut errors) = parse_drafts(&state, &body)?;
        let (refused, overlaps) = state.zones.dry_run(&drafts).await?;
        let gaps = gaps_of(&state, new_zones(drafts.iter().map(|(i, d)| (*i, d)))).await?;
        errors.extend(refused);
        errors.sort_by_key(|e| e.index);
        return Ok(Json(json!({
            "valid": errors.is_empty(),
            "errors": errors,
            "overlaps": overlaps,
            "gaps": gaps,
        }))
        .into_response());
    }
    let drafts = drafts_from_body(&state, &body)?;
    let gaps = gaps_of(&state, new_zones(drafts.iter().enumerate())).await?;
    let (zones, overlaps) = state.zones.create(drafts, &who.actor).await?;
    let features: Vec<Value> = zones.iter().map(zone_to_feature).collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({"type": "FeatureCollection", "features": features, "overlaps": overlaps, "gaps": gaps})),
    )
        .into_response())
}

fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// `GET /api/zones/{id}` → the Feature (retired zones too), with its version as `ETag`.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let zone = state
        .zones
        .stored(&id)
        .await?
        .filter(|z| may_see(&auth.0, z))
        .ok_or_else(|| ApiError::NotFound(format!("zone {id:?} does not exist")))?;
    Ok(([(ETAG, etag(zone.version))], Json(zone_to_feature(&zone))).into_response())
}

fn if_match(headers: &HeaderMap) -> ApiResult<Option<i64>> {
    let Some(v) = headers.get(IF_MATCH) else {
        return Ok(None);
    };
    let s = v.to_str().unwrap_or("").trim();
    let s = s.strip_prefix("W/").unwrap_or(s).trim_matches('"');
    s.parse::<i64>().map(Some).map_err(|_| {
        ApiError::bad_request(format!(
            "If-Match must be the zone's version from its ETag, like \"3\"; got {s:?}"
        ))
    })
}

/// `PUT /api/zones/{id}` with `If-Match: "<version>"` and a Feature.
pub async fn update(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    headers: HeaderMap,
    BodyBytes(body): BodyBytes,
) -> ApiResult<Response> {
    who.require(PLANNERS)?;
    let expected = if_match(&headers)?.ok_or_else(|| {
        ApiError::PreconditionRequired(
            "send If-Match with the version you edited (the ETag of GET /api/zones/{id}) so that concurrent edits are not lost".into(),
        )
    })?;
    let mut drafts = drafts_from_body(&state, &body)?;
    if drafts.len() != 1 {
        return Err(ApiError::unprocessable("PUT takes exactly one Feature"));
    }
    let draft = drafts.remove(0);
    if let Some(other) = draft.id.as_deref().filter(|d| *d != id) {
        return Err(ApiError::unprocessable(format!(
            "the Feature's id {other:?} differs from the URL's {id:?}; a zone's id cannot change"
        )));
    }
    let gaps = gaps_of(&state, vec![(id.clone(), Some(id.clone()), draft.clone())]).await?;
    let (zone, overlaps) = state.zones.update(&id, expected, draft, &who.actor).await?;
    let mut feature = zone_to_feature(&zone);
    feature["overlaps"] = json!(overlaps);
    feature["gaps"] = json!(gaps);
    Ok(([(ETAG, etag(zone.version))], Json(feature)).into_response())
}

/// `DELETE /api/zones/{id}` retires the zone (optionally checking `If-Match`).
pub async fn retire(
    State(state): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    who.require(PLANNERS)?;
    let expected = if_match(&headers)?;
    let zone = state.zones.retire(&id, expected, &who.actor).await?;
    Ok(([(ETAG, etag(zone.version))], Json(zone_to_feature(&zone))).into_response())
}

/// `GET /api/zones/{id}/history` → every change, oldest first.
pub async fn history(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    if auth.0.role == Role::Unit {
        return Err(ApiError::Forbidden(
            "zone history is for planners and offices".into(),
        ));
    }
    let entries = state.zones.history(&id).await?;
    if entries.is_empty() {
        return Err(ApiError::NotFound(format!("zone {id:?} does not exist")));
    }
    Ok(Json(json!({"id": id, "history": entries})))
}
