//! `GET /api/workorders/{owner}`: the printable work order of one responsible organisation.

use super::auth::Auth;
use super::error::{ApiError, ApiResult};
use super::extract::QueryParams;
use crate::analytics::draw::Font;
use crate::analytics::{heatmap, workorder};
use crate::auth::Role;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// `GET /api/workorders/{owner}?since=&until=&format=html|png|json` (office, admin). `owner` is
/// The work order page: styles and pictures inline, nothing else, no script at all.
const WORK_ORDER_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// the organisation's name as stored on its zones (URL-encoded).
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(owner): Path<String>,
    QueryParams(p): QueryParams,
) -> ApiResult<Response> {
    auth.require(&[Role::Office, Role::Unit])?;
    if auth.0.role == Role::Unit && auth.0.owner.as_deref() != Some(owner.as_str()) {
        return Err(ApiError::NotFound(format!(
            "there is no work order of {owner:?} for your account; yours is your own organisation's"
        )));
    }
    let f = super::stats::report_filter(&p, &auth.0)?;
    if !f.categories.is_empty() || !f.statuses.is_empty() {
        return Err(ApiError::bad_request(
            "a work order lists every open report of the window; only since= and until= apply",
        ));
    }
    let format = p.str("format").unwrap_or("html").to_string();
    if !matches!(format.as_str(), "html" | "png" | "json") {
        return Err(ApiError::bad_request(format!(
            "format={format:?} is not known; use html (the default), png or json"
        )));
    }
    let st = state.clone();
    let out = tokio::task::spawn_blocking(move || -> ApiResult<Response> {
        let index = st.zones.index();
        let wo = workorder::gather(
            &st.store,
            st.reports.files(),
            &index,
            &owner,
            &f,
            st.config.exif_utc_offset_s,
        )?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no organisation named {owner:?} owns a zone or is responsible for a report; \
                 use the owner name exactly as on its zones (GET /api/stats?group=owner lists them)"
            ))
        })?;
        let font = Font::embedded();
        Ok(match format.as_str() {
            "json" => Json(wo.to_json()).into_response(),
            "png" => {
                let img = workorder::render_sheet(&wo, &index, font);
                (
                    [(CONTENT_TYPE, "image/png"), (CACHE_CONTROL, "no-store")],
                    heatmap::encode_png(&img),
                )
                    .into_response()
            }
            _ => {
                let map = workorder::render_map(&wo, &index, font, 1100, 700);
                let html = workorder::render_html(&wo, &heatmap::encode_png(&map));
                (
                    [
                        (CONTENT_TYPE, "text/html; charset=utf-8"),
                        (CACHE_CONTROL, "no-store"),
                        // A printable page with its own CSS and images inline, and no script.
                        (CONTENT_SECURITY_POLICY, WORK_ORDER_CSP),
                    ],
                    html,
                )
                    .into_response()
            }
        })
    })
    .await
    .map_err(|e| ApiError::Internal(format!("work order rendering failed: {e}")))??;
    Ok(out)
}
