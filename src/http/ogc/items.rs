//! `GET /ogc/collections/{id}/items` (paged, filtered) and `GET …/items/{featureId}`.

use super::cql2::{Filter, Lang};
use super::{
    base_url, check_format, collection, link, query_pairs, readable, require_read, Caller,
    OgcError, OgcResult, CRS84, GEOJSON, JSON,
};
use crate::crs::Bbox;
use crate::features::{Collection, FeatureOut, FieldType, Record, ReportRow};
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::store::reports::Query;
use crate::time::DAY_MS;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CONTENT_TYPE, ETAG};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;

/// Default page size (Part 1's default).
const DEFAULT_LIMIT: usize = 10;
/// Largest page; larger requests are capped (as pygeoapi does).
pub const MAX_LIMIT: usize = 10_000;

const ITEM_PARAMS: &[&str] = &[
    "limit",
    "offset",
    "bbox",
    "bbox-crs",
    "datetime",
    "filter",
    "filter-lang",
    "filter-crs",
    "crs",
    "f",
];

/// What an items request asks for.
struct ItemsRequest {
    limit: usize,
    offset: usize,
    /// Boxes a feature must intersect one of (two when `bbox` crosses the antimeridian).
    boxes: Vec<Bbox>,
    /// `[start, end]` Unix ms, inclusive.
    time: Option<(i64, i64)>,
    /// `column = value` filters.
    props: Vec<(&'static str, String)>,
    filter: Option<Filter>,
}

impl ItemsRequest {
    fn accepts(&self, c: Collection, r: &dyn Record) -> bool {
        if !self.boxes.is_empty() {
            let shape = r.shape();
            if !self.boxes.iter().any(|b| {
                let rect = geo::Rect::new(
                    geo::coord! {x: b.west, y: b.south},
                    geo::coord! {x: b.east, y: b.north},
                );
                shape.intersects(&geo::Geometry::Rect(rect))
            }) {
                return false;
            }
        }
        if let Some((a, b)) = self.time {
            match r.field(c.time_field()) {
                crate::features::FieldValue::Time(t) if t >= a && t <= b => {}
                _ => return false,
            }
        }
        self.props
            .iter()
            .all(|(name, want)| r.field(name).as_text().as_deref() == Some(want.as_str()))
            && self.filter.as_ref().is_none_or(|f| f.matches(r))
    }
}

/// A simple property filter's column: a queryable, or an alias (`owner`, `sector`).
fn property_column(c: Collection, key: &str) -> Option<&'static str> {
    let alias = match (c, key) {
        (Collection::Zones(_), "owner") => Some("owner_name"),
        (Collection::Zones(_), "sector") => Some("owner_sector"),
        (Collection::Reports, "owner") => Some("responsible_name"),
        (Collection::Reports, "sector") => Some("responsible_sector"),
        _ => None,
    };
    let name = alias.unwrap_or(key);
    c.fields()
        .iter()
        .find(|f| f.name == name && f.ty != FieldType::Object)
        .map(|f| f.name)
}

fn check_crs(key: &str, v: &str) -> Result<(), ApiError> {
    if v == CRS84 {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{key}={v:?} is not supported; this server speaks only {CRS84} ([lon, lat] WGS84)"
        )))
    }
}

fn parse_bbox(s: &str) -> Result<Vec<Bbox>, ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "bbox={s:?} must be four numbers minLon,minLat,maxLon,maxLat (CRS84), or six with heights"
        ))
    };
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    let [a, b, c, d] = match v[..] {
        [a, b, c, d] => [a, b, c, d],
        [a, b, _, c, d, _] => [a, b, c, d],
        _ => return Err(bad()),
    };
    for lat in [b, d] {
        if !(-90.0..=90.0).contains(&lat) {
            return Err(ApiError::bad_request(format!(
                "bbox={s:?}: latitude {lat} is outside -90..90 (the order is minLon,minLat,maxLon,maxLat)"
            )));
        }
    }
    for lon in [a, c] {
        if !(-180.0..=180.0).contains(&lon) {
            return Err(ApiError::bad_request(format!(
                "bbox={s:?}: longitude {lon} is outside -180..180"
            )));
        }
    }
    if b > d {
        return Err(ApiError::bad_request(format!(
            "bbox={s:?}: the southern latitude must come first"
        )));
    }
    // A box whose west edge is east of its east edge crosses the antimeridian (Part 1).
    Ok(if a > c {
        vec![Bbox::new(a, b, 180.0, d), Bbox::new(-180.0, b, c, d)]
    } else {
        vec![Bbox::new(a, b, c, d)]
    })
}

/// An RFC 3339 instant (or a date, which is its whole day in UTC) as `[start, end]` Unix ms.
fn instant(s: &str) -> Result<(i64, i64), String> {
    if s.len() == 10 {
        let d = crate::time::parse_rfc3339(&format!("{s}T00:00:00Z"))
            .map_err(|_| format!("{s:?} is not a date like 2026-11-30"))?;
        return Ok((d, d + DAY_MS - 1));
    }
    let t = crate::time::parse_rfc3339(s)?;
    Ok((t, t))
}

/// `datetime`: an instant, or an interval `a/b` with `..` (or nothing) for an open end.
fn parse_datetime(s: &str) -> Result<(i64, i64), ApiError> {
    let bad = |e: String| ApiError::bad_request(format!("datetime={s:?}: {e}"));
    match s.split_once('/') {
        None => instant(s).map_err(bad),
        Some((a, b)) => {
            let open = |x: &str| x.is_empty() || x == "..";
            if open(a) && open(b) {
                return Err(bad("an interval needs at least one end".into()));
            }
            let start = if open(a) {
                i64::MIN
            } else {
                instant(a).map_err(bad)?.0
            };
            let end = if open(b) {
                i64::MAX
            } else {
                instant(b).map_err(bad)?.1
            };
            if start > end {
                return Err(bad("the start is after the end".into()));
            }
            Ok((start, end))
        }
    }
}

fn parse_request(c: Collection, pairs: &[(String, String)]) -> Result<ItemsRequest, ApiError> {
    for (k, _) in pairs {
        if !ITEM_PARAMS.contains(&k.as_str()) && property_column(c, k).is_none() {
            let columns: Vec<&str> = c
                .fields()
                .iter()
                .filter(|f| f.ty != FieldType::Object)
                .map(|f| f.name)
                .collect();
            return Err(ApiError::bad_request(format!(
                "unknown query parameter {k:?}; the parameters are {}, owner, sector and the columns {}",
                ITEM_PARAMS.join(", "),
                columns.join(", ")
            )));
        }
    }
    check_format(pairs)?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let limit = match get("limit") {
        None => DEFAULT_LIMIT,
        Some(s) => match s.parse::<u64>() {
            Ok(n) if n >= 1 => (n.min(MAX_LIMIT as u64)) as usize,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "limit={s:?} must be a whole number from 1 to {MAX_LIMIT}"
                )))
            }
        },
    };
    let offset = match get("offset") {
        None => 0,
        Some(s) => s.parse::<usize>().map_err(|_| {
            ApiError::bad_request(format!("offset={s:?} must be a whole number, 0 or more"))
        })?,
    };
    for key in ["bbox-crs", "filter-crs", "crs"] {
        if let Some(v) = get(key) {
            check_crs(key, v)?;
        }
    }
    if get("bbox-crs").is_some() && get("bbox").is_none() {
        return Err(ApiError::bad_request("bbox-crs was given without bbox"));
    }
    let boxes = get("bbox").map(parse_bbox).transpose()?.unwrap_or_default();
    let time = get("datetime").map(parse_datetime).transpose()?;
    let mut props = Vec::new();
    for (k, v) in pairs {
        if ITEM_PARAMS.contains(&k.as_str()) {
            continue;
        }
        let Some(column) = property_column(c, k) else {
            continue;
        };
        if let Some(values) = c
            .fields()
            .iter()
            .find(|f| f.name == column)
            .and_then(|f| f.values)
        {
            let values = values();
            if !values.contains(&v.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "{k}={v:?} is not one of {}",
                    values.join(", ")
                )));
            }
        }
        props.push((column, v.clone()));
    }
    let lang = get("filter-lang")
        .map(Lang::parse)
        .transpose()
        .map_err(ApiError::BadRequest)?
        .unwrap_or(Lang::Text);
    if get("filter-lang").is_some() && get("filter").is_none() {
        return Err(ApiError::bad_request(
            "filter-lang was given without filter",
        ));
    }
    let filter = get("filter")
        .map(|f| Filter::parse(f, lang, c.fields()))
        .transpose()
        .map_err(ApiError::BadRequest)?;
    Ok(ItemsRequest {
        limit,
        offset,
        boxes,
        time,
        props,
        filter,
    })
}

#[derive(Serialize)]
struct Page<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<FeatureOut<'a>>,
    #[serde(rename = "numberMatched")]
    number_matched: usize,
    #[serde(rename = "numberReturned")]
    number_returned: usize,
    #[serde(rename = "timeStamp")]
    time_stamp: String,
    links: Vec<Value>,
}

/// Links of one feature: itself and its collection.
pub fn feature_links(base: &str, c: Collection, id: &str) -> Vec<Value> {
    let coll = format!("{base}/collections/{}", c.id());
    vec![
        link(
            format!("{coll}/items/{id}"),
            "self",
            GEOJSON,
            "this feature",
        ),
        link(coll, "collection", JSON, c.title()),
    ]
}

fn page_links(
    base: &str,
    c: Collection,
    pairs: &[(String, String)],
    req: &ItemsRequest,
    returned: usize,
    matched: usize,
) -> Vec<Value> {
    let items = format!("{base}/collections/{}/items", c.id());
    let with_offset = |offset: usize| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            if k != "offset" && k != "limit" {
                ser.append_pair(k, v);
            }
        }
        ser.append_pair("limit", &req.limit.to_string());
        ser.append_pair("offset", &offset.to_string());
        format!("{items}?{}", ser.finish())
    };
    let mut links = vec![link(with_offset(req.offset), "self", GEOJSON, "this page")];
    if req.offset + returned < matched {
        links.push(link(
            with_offset(req.offset + req.limit),
            "next",
            GEOJSON,
            "the next page",
        ));
    }
    if req.offset > 0 {
        links.push(link(
            with_offset(req.offset.saturating_sub(req.limit)),
            "prev",
            GEOJSON,
            "the previous page",
        ));
    }
    links.push(link(
        format!("{base}/collections/{}", c.id()),
        "collection",
        JSON,
        c.title(),
    ));
    links
}

/// One page of `matched` (all the matches, in order) as a FeatureCollection.
fn encode_page<'a, T>(
    base: &str,
    c: Collection,
    pairs: &[(String, String)],
    req: &ItemsRequest,
    matched: &'a [T],
    feature: impl Fn(&'a T) -> FeatureOut<'a>,
) -> serde_json::Result<Vec<u8>> {
    let features: Vec<FeatureOut> = matched
        .iter()
        .skip(req.offset)
        .take(req.limit)
        .map(feature)
        .collect();
    let returned = features.len();
    serde_json::to_vec(&Page {
        kind: "FeatureCollection",
        features,
        number_matched: matched.len(),
        number_returned: returned,
        time_stamp: now_stamp(),
        links: page_links(base, c, pairs, req, returned, matched.len()),
    })
}

fn geojson_body(bytes: Vec<u8>) -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static(GEOJSON))], bytes).into_response()
}

fn now_stamp() -> String {
    crate::time::to_rfc3339(crate::time::now_ms())
}

/// `GET /ogc/collections/{id}/items`.
pub async fn list(
    State(state): State<AppState>,
    auth: Caller,
    Path(cid): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> OgcResult<Response> {
    let c = collection(&cid)?;
    require_read(&state, &auth, c)?;
    let pairs = query_pairs(q.as_deref())?;
    let req = parse_request(c, &pairs)?;
    let base = base_url(&headers);
    let body = match c {
        Collection::Zones(_) => {
            let index = state.zones.index();
            tokio::task::spawn_blocking(move || {
                let lookup: Vec<Bbox> = if !req.boxes.is_empty() {
                    req.boxes.clone()
                } else {
                    req.filter
                        .as_ref()
                        .and_then(Filter::bbox_hint)
                        .into_iter()
                        .collect()
                };
                let mut zones: Vec<&Arc<crate::zone::Zone>> = if lookup.is_empty() {
                    index.iter().map(|e| &e.zone).collect()
                } else {
                    let mut seen = HashSet::new();
                    lookup
                        .iter()
                        .flat_map(|b| index.in_bbox(*b))
                        .filter(|e| seen.insert(e.zone.id.as_str()))
                        .map(|e| &e.zone)
                        .collect()
                };
                zones.retain(|z| c.holds(z) && req.accepts(c, z.as_ref()));
                zones.sort_by(|a, b| a.id.cmp(&b.id));
                encode_page(&base, c, &pairs, &req, &zones, |z| {
                    FeatureOut::zone(z, feature_links(&base, c, &z.id))
                })
            })
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
        }
        Collection::Reports => {
            let page = state
                .reports
                .query(Query {
                    bbox: (req.boxes.len() == 1).then(|| req.boxes[0]),
                    limit: 1 << 40,
                    filter: crate::store::stats::ReportFilter {
                        visibility: visibility_of(&auth),
                        ..Default::default()
                    },
                    ..Query::default()
                })
                .await?;
            tokio::task::spawn_blocking(move || {
                let rows: Vec<ReportRow> = page
                    .rows
                    .into_iter()
                    .map(ReportRow::from)
                    .filter(|r| req.accepts(c, r))
                    .collect();
                encode_page(&base, c, &pairs, &req, &rows, |r| {
                    FeatureOut::report(r, feature_links(&base, c, &r.id.to_string()))
                })
            })
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
        }
    }
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(geojson_body(body))
}

/// The reports the caller may see (anonymous readers, where reading is open, see all).
fn visibility_of(auth: &Caller) -> crate::scope::Visibility {
    auth.0
        .as_ref()
        .map(crate::scope::Visibility::of)
        .unwrap_or_default()
}

/// The strong ETag of a zone version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// `GET /ogc/collections/{id}/items/{featureId}`: the feature; zones carry their version as ETag.
pub async fn get(
    State(state): State<AppState>,
    auth: Caller,
    Path((cid, fid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> OgcResult<Response> {
    let c = readable(&state, &auth, &cid, q.as_deref(), &["f", "crs"])?;
    if let Some((_, v)) = query_pairs(q.as_deref())?.iter().find(|(k, _)| k == "crs") {
        check_crs("crs", v)?;
    }
    let base = base_url(&headers);
    match c {
        Collection::Zones(_) => {
            let zone = live_zone(&state, c, &fid)?;
            let body = serde_json::to_vec(&FeatureOut::zone(&zone, feature_links(&base, c, &fid)))
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            let mut r = geojson_body(body);
            if let Ok(v) = HeaderValue::from_str(&etag(zone.version)) {
                r.headers_mut().insert(ETAG, v);
            }
            Ok(r)
        }
        Collection::Reports => {
            let id = fid.parse::<i64>().map_err(|_| {
                OgcError(ApiError::NotFound(format!(
                    "report {fid:?} does not exist (report ids are numbers)"
                )))
            })?;
            let view = state.reports.get_visible(id, &visibility_of(&auth)).await?;
            let row = ReportRow::from(&view);
            let body = serde_json::to_vec(&FeatureOut::report(&row, feature_links(&base, c, &fid)))
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok(geojson_body(body))
        }
    }
}

/// The live zone `fid` of collection `c`, or 404 (retired zones are gone from the collections).
pub fn live_zone(
    state: &AppState,
    c: Collection,
    fid: &str,
) -> Result<Arc<crate::zone::Zone>, ApiError> {
    state
        .zones
        .index()
        .get(fid)
        .map(|e| e.zone.clone())
        .filter(|z| c.holds(z))
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "there is no live zone {fid:?} in the collection {}",
                c.id()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_instants_and_intervals() {
        let t = crate::time::parse_rfc3339("2026-11-30T08:00:00+08:00").unwrap();
        assert_eq!(parse_datetime("2026-11-30T08:00:00+08:00").unwrap(), (t, t));
        assert_eq!(
            parse_datetime("../2026-11-30T08:00:00+08:00").unwrap(),
            (i64::MIN, t)
        );
        assert_eq!(
            parse_datetime("2026-11-30T08:00:00+08:00/").unwrap(),
            (t, i64::MAX)
        );
        let (a, b) = parse_datetime("2026-11-30").unwrap();
        assert_eq!(b - a, DAY_MS - 1);
        assert!(parse_datetime("../..").is_err());
        assert!(parse_datetime("yesterday").is_err());
        assert!(parse_datetime("2026-12-01T00:00:00Z/2026-11-30T00:00:00Z").is_err());
    }

    #[test]
    fn bbox_across_the_antimeridian_is_two_boxes() {
        assert_eq!(parse_bbox("170,-10,-170,10").unwrap().len(), 2);
        assert!(parse_bbox("1,2,3").is_err());
        assert!(parse_bbox("126,95,127,96").is_err());
        assert_eq!(
            parse_bbox("1,2,0,3,4,9").unwrap(),
            vec![Bbox::new(1.0, 2.0, 3.0, 4.0)]
        );
    }
}
