//! `/ogc/collections`, `/ogc/collections/{id}` and `/ogc/collections/{id}/queryables`.

use super::{
    base_url, can_read, check_format, check_known, link, query_pairs, readable, require_read,
    typed_json, Caller, OgcResult, CRS84, GEOJSON, JSON, SCHEMA,
};
use crate::crs::Bbox;
use crate::features::Collection;
use crate::state::AppState;
use crate::tileset::{ReportFilter, ReportSource};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Map, Value};

/// The box around everything in the collection.
fn extent(state: &AppState, c: Collection) -> Option<Bbox> {
    let mut acc: Option<Bbox> = None;
    let mut add = |b: Bbox| acc = Some(acc.map_or(b, |a| a.union(b)));
    match c {
        Collection::Zones(_) => {
            for e in state.zones.index().iter().filter(|e| c.holds(&e.zone)) {
                if let Some(b) = e.zone.geometry.bbox() {
                    add(b);
                }
            }
        }
        Collection::Reports => {
            state
                .tiles
                .report_points
                .for_each_in(Bbox::WORLD, &ReportFilter::default(), &mut |p| {
                    add(Bbox::point(p.lon, p.lat))
                })
        }
    }
    acc
}

fn describe(state: &AppState, base: &str, c: Collection) -> Value {
    let url = format!("{base}/collections/{}", c.id());
    let bbox = extent(state, c).unwrap_or(Bbox::WORLD);
    json!({
        "id": c.id(),
        "title": c.title(),
        "description": c.description(),
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {
            "spatial": {"bbox": [bbox], "crs": CRS84},
            "temporal": {"interval": [[null, null]], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
        },
        "links": [
            link(url.clone(), "self", JSON, "this collection"),
            link(format!("{url}/items"), "items", GEOJSON, "the features"),
            link(format!("{url}/queryables"), "http://www.opengis.net/def/rel/ogc/1.0/queryables", SCHEMA, "the queryables"),
            // Relation types compare case-insensitively (RFC 8288); GDAL 3.6 looks for this spelling.
            link(format!("{url}/schema"), "describedBy", SCHEMA, "the schema of a feature"),
        ]
    })
}

/// `GET /ogc/collections`: the collections the caller may read.
pub async fn list(
    State(state): State<AppState>,
    auth: Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> OgcResult<Response> {
    let pairs = query_pairs(q.as_deref())?;
    check_known(&pairs, &["f"])?;
    check_format(&pairs)?;
    let readable: Vec<Collection> = Collection::all()
        .into_iter()
        .filter(|c| can_read(&state, auth.0.as_ref(), *c))
        .collect();
    if readable.is_empty() {
        require_read(&state, &auth, Collection::Zones(None))?;
    }
    let base = base_url(&headers);
    let collections: Vec<Value> = readable
        .iter()
        .map(|c| describe(&state, &base, *c))
        .collect();
    Ok(typed_json(
        JSON,
        &json!({
            "links": [link(format!("{base}/collections"), "self", JSON, "the collections")],
            "collections": collections,
        }),
    ))
}

/// `GET /ogc/collections/{id}`.
pub async fn get(
    State(state): State<AppState>,
    auth: Caller,
    Path(cid): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> OgcResult<Response> {
    let c = readable(&state, &auth, &cid, q.as_deref(), &["f"])?;
    Ok(typed_json(JSON, &describe(&state, &base_url(&headers), c)))
}

/// `GET /ogc/collections/{id}/queryables`: the filterable columns as JSON Schema (Part 3).
pub async fn queryables(
    State(state): State<AppState>,
    auth: Caller,
    Path(cid): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> OgcResult<Response> {
    let c = readable(&state, &auth, &cid, q.as_deref(), &["f"])?;
    let url = format!("{}/collections/{}/queryables", base_url(&headers), c.id());
    Ok(typed_json(
        SCHEMA,
        &json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": url,
            "type": "object",
            "title": c.title(),
            "properties": columns(c),
            "additionalProperties": false,
        }),
    ))
}

/// `GET /ogc/collections/{id}/schema`: the JSON Schema of one feature, so that clients (GDAL)
/// type the columns from it rather than from the first page, where a column may be all null.
pub async fn schema(
    State(state): State<AppState>,
    auth: Caller,
    Path(cid): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> OgcResult<Response> {
    let c = readable(&state, &auth, &cid, q.as_deref(), &["f"])?;
    let mut props = columns(c);
    props.remove(super::cql2::GEOMETRY);
    props.remove("id");
    let url = format!("{}/collections/{}/schema", base_url(&headers), c.id());
    Ok(typed_json(
        SCHEMA,
        &json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": url,
            "title": c.title(),
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"type": if c.is_zones() { "string" } else { "integer" }},
                "geometry": {"type": "object"},
                "properties": {"type": "object", "properties": props},
            }
        }),
    ))
}

/// The queryable columns as JSON Schema properties (geometry and id included).
fn columns(c: Collection) -> Map<String, Value> {
    let mut props = Map::new();
    let geometry_format = match c {
        Collection::Reports => "geometry-point",
        Collection::Zones(Some(k)) if k.is_route() => "geometry-linestring-or-multilinestring",
        Collection::Zones(Some(_)) => "geometry-polygon-or-multipolygon",
        Collection::Zones(None) => "geometry-any",
    };
    props.insert(
        super::cql2::GEOMETRY.into(),
        json!({"title": "几何 geometry", "format": geometry_format, "x-ogc-role": "primary-geometry"}),
    );
    props.insert(
        "id".into(),
        match c {
            Collection::Reports => {
                json!({"title": "编号 id", "type": "integer", "x-ogc-role": "id"})
            }
            Collection::Zones(_) => {
                json!({"title": "编号 id", "type": "string", "x-ogc-role": "id"})
            }
        },
    );
    for f in c.fields() {
        let (ty, format) = f.ty.json_schema();
        let mut p = json!({"title": f.title, "type": ty});
        if let Some(fmt) = format {
            p["format"] = json!(fmt);
        }
        if let Some(values) = f.values {
            p["enum"] = json!(values());
        }
        if f.name == c.time_field() {
            p["x-ogc-role"] = json!("primary-instant");
        }
        props.insert(f.name.into(), p);
    }
    props
}
