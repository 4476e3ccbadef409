//! `GET /api/stats`: report statistics as JSON or CSV.

use super::auth::Auth;
use super::error::{ApiError, ApiResult};
use super::extract::QueryParams;
use super::params::Params;
use crate::analytics::stats::{self, GroupBy, StatsQuery};
use crate::auth::Role;
use crate::state::AppState;
use crate::store::stats::ReportFilter;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// A comma list of `key` parsed into `T`s; a bad one is a 400 with its problem's code.
pub(super) fn list<T: std::str::FromStr<Err = crate::problem::Problem>>(
    p: &Params,
    key: &str,
) -> ApiResult<Vec<T>> {
    p.str(key)
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| {
                    v.parse::<T>()
                        .map_err(|e| ApiError::invalid(e.in_param(key)))
                })
                .collect()
        })
        .unwrap_or(Ok(Vec::new()))
}

/// `since`, `until` (RFC 3339), `category`, `status` (comma lists): the filter every analytics
/// endpoint shares with the report list and the tile `reports` layer.
/// Limited to the reports `user` may see.
pub(super) fn report_filter(p: &Params, user: &crate::auth::User) -> ApiResult<ReportFilter> {
    let time = |k: &str| -> ApiResult<Option<i64>> {
        p.str(k)
            .map(|s| {
                crate::time::parse_rfc3339(s)
                    .map_err(|e| ApiError::bad_request(format!("{k}: {e}")))
            })
            .transpose()
    };
    let (since, until) = (time("since")?, time("until")?);
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            return Err(ApiError::since_after_until());
        }
    }
    Ok(ReportFilter {
        since,
        until,
        categories: list(p, "category")?,
        statuses: list(p, "status")?,
        visibility: crate::scope::Visibility::of(user),
    })
}

/// `GET /api/stats?group=zone|owner|sector|category|day&since=&until=&kind=&category=&status=&format=json|csv`
/// (office, admin).
pub async fn stats(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(p): QueryParams,
) -> ApiResult<Response> {
    auth.require(&[Role::Office])?;
    let group: GroupBy = p
        .str("group")
        .unwrap_or("zone")
        .parse()
        .map_err(ApiError::BadRequest)?;
    let zone_kind = p
        .str("kind")
        .map(|k| k.parse::<crate::zone::ZoneKind>())
        .transpose()
        .map_err(ApiError::BadRequest)?;
    if zone_kind.is_some() && group != GroupBy::Zone {
        return Err(ApiError::bad_request(
            "kind= selects the zones of group=zone; drop it or use group=zone",
        ));
    }
    let csv = match p.str("format").unwrap_or("json") {
        "json" => false,
        "csv" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "format={other:?} is not known; use json (the default) or csv"
            )))
        }
    };
    let query = StatsQuery {
        group,
        filter: report_filter(&p, &auth.0)?,
        zone_kind,
        utc_offset_s: state.config.city_utc_offset_s,
    };
    let table = stats::table(&state.store, query).await?;
    if csv {
        let name = format!("xuncha-stats-{}.csv", group.as_str());
        return Ok((
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            stats::to_csv(&table),
        )
            .into_response());
    }
    Ok(Json(table).into_response())
}
