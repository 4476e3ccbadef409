//! `GET /api/photos/{id}`, `/api/photos/{id}/thumb` and `/api/photos/{id}/original`.
//!
//! Photos are content-addressed, so a URL always names the same bytes: they are served with a
//! year-long `immutable` cache and an ETag. The uploaded original (with its EXIF, GPS included)
//! is evidence and is readable only by office and admin.

use super::auth::Auth;
use super::error::{ApiError, ApiResult};
use crate::auth::Role;
use crate::state::AppState;
use crate::store::photos::Kind;
use axum::extract::{Path, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

pub(super) async fn serve(
    state: &AppState,
    id: &str,
    kind: Kind,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let not_found = || ApiError::NotFound(format!("photo {id:?} does not exist"));
    let mime = state
        .reports
        .photo_mime(id, kind)
        .await?
        .ok_or_else(not_found)?;
    let etag = format!(
        "\"{id}-{}\"",
        match kind {
            Kind::Original => "o",
            Kind::Normal => "n",
            Kind::Thumb => "t",
        }
    );
    let cache = [
        (
            CACHE_CONTROL,
            "private, max-age=31536000, immutable".to_string(),
        ),
        (ETAG, etag.clone()),
    ];
    if headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    // Only now the bytes: a revalidation never reads the file (or the object store).
    let bytes = state.reports.read_photo(id, kind).await?;
    Ok((
        cache,
        [
            (CONTENT_TYPE, mime.to_string()),
            (X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// The normalized JPEG (upright, long side ≤ 2048 px, no metadata).
pub async fn normal(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    serve(&state, &id, Kind::Normal, &headers).await
}

/// The thumbnail (long side ≤ 320 px).
pub async fn thumb(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    serve(&state, &id, Kind::Thumb, &headers).await
}

/// The bytes as uploaded (office and admin only).
pub async fn original(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    auth.require(&[Role::Office])?;
    serve(&state, &id, Kind::Original, &headers).await
}
