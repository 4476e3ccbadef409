//! `/ogc` (landing page), `/ogc/conformance` and `/ogc/api` (the OpenAPI 3.0 definition).

use super::{
    base_url, check_format, check_known, link, query_pairs, typed_json, OgcResult, GEOJSON, JSON,
    OPENAPI, SCHEMA,
};
use crate::features::{Collection, FieldType};
use axum::extract::RawQuery;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Map, Value};

/// Part 1, Part 3 and Part 4 classes this server implements.
fn conformance_classes() -> Vec<&'static str> {
    let mut v = vec![
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    ];
    v.extend_from_slice(super::cql2::CONFORMANCE);
    v.extend_from_slice(&[
        "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
        "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
        "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
        "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    ]);
    v
}

fn plain(q: Option<&str>) -> OgcResult<()> {
    let pairs = query_pairs(q)?;
    check_known(&pairs, &["f"])?;
    check_format(&pairs)?;
    Ok(())
}

/// `GET /ogc` and `/ogc/`: what this API is and where everything is.
pub async fn landing(headers: HeaderMap, RawQuery(q): RawQuery) -> OgcResult<Response> {
    plain(q.as_deref())?;
    let base = base_url(&headers);
    Ok(typed_json(
        JSON,
        &json!({
            "title": "巡查 Xuncha — OGC API – Features",
            "description": "门前三包责任区、网格、巡逻路线、热点、绿地认领区和巡查上报。Responsibility zones, grid cells, patrol routes, hotspots, green-adoption areas and inspection reports of the city, in WGS84 (CRS84).",
            "links": [
                link(base.clone(), "self", JSON, "this document"),
                link(format!("{base}/api"), "service-desc", OPENAPI, "the API definition (OpenAPI 3.0)"),
                link(format!("{base}/conformance"), "conformance", JSON, "the conformance classes implemented"),
                link(format!("{base}/collections"), "data", JSON, "the collections"),
            ]
        }),
    ))
}

/// `GET /ogc/conformance`.
pub async fn conformance(RawQuery(q): RawQuery) -> OgcResult<Response> {
    plain(q.as_deref())?;
    Ok(typed_json(
        JSON,
        &json!({"conformsTo": conformance_classes()}),
    ))
}

/// `GET /ogc/api`: a self-contained OpenAPI 3.0 document of these routes.
pub async fn openapi(headers: HeaderMap, RawQuery(q): RawQuery) -> OgcResult<Response> {
    plain(q.as_deref())?;
    Ok(typed_json(OPENAPI, &openapi_doc(&base_url(&headers))))
}

fn param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema, "style": "form", "explode": false})
}

fn openapi_doc(base: &str) -> Value {
    let ids: Vec<&str> = Collection::all().iter().map(|c| c.id()).collect();
    let mut property_params = Map::new();
    let mut property_refs = Vec::new();
    let mut names: Vec<(&str, FieldType)> = Vec::new();
    for c in [Collection::Zones(None), Collection::Reports] {
        for f in c.fields() {
            if f.ty != FieldType::Object && !names.iter().any(|(n, _)| *n == f.name) {
                names.push((f.name, f.ty));
            }
        }
    }
    names.extend([("owner", FieldType::String), ("sector", FieldType::String)]);
    for (n, ty) in names {
        let (t, format) = ty.json_schema();
        let mut schema = json!({"type": t});
        if let Some(f) = format {
            schema["format"] = json!(f);
        }
        property_params.insert(
            format!("prop_{n}"),
            param(
                n,
                "Only features whose column equals this value (owner = owner_name / responsible_name, sector = owner_sector / responsible_sector).",
                schema,
            ),
        );
        property_refs.push(json!({"$ref": format!("#/components/parameters/prop_{n}")}));
    }
    let mut parameters = json!({
        "collectionId": {"name": "collectionId", "in": "path", "required": true, "description": "the collection", "schema": {"type": "string", "enum": ids}},
        "featureId": {"name": "featureId", "in": "path", "required": true, "description": "a zone id, or a report's number", "schema": {"type": "string"}},
        "limit": param("limit", "Most features in one page (larger values are capped at 10000).", json!({"type": "integer", "minimum": 1, "maximum": 10000, "default": 10})),
        "offset": param("offset", "Features to skip (the next/prev links carry it).", json!({"type": "integer", "minimum": 0, "default": 0})),
        "bbox": param("bbox", "minLon,minLat,maxLon,maxLat in CRS84; features whose geometry intersects it.", json!({"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}})),
        "bbox-crs": param("bbox-crs", "Only CRS84.", json!({"type": "string", "enum": [super::CRS84]})),
        "crs": param("crs", "Only CRS84.", json!({"type": "string", "enum": [super::CRS84]})),
        "datetime": param("datetime", "An RFC 3339 instant or interval (a/b, ../b, a/..): reports by capture time, zones by the time of their current version.", json!({"type": "string"})),
        "filter": param("filter", "A CQL2 filter (text or JSON, see filter-lang) on the queryables.", json!({"type": "string"})),
        "filter-lang": param("filter-lang", "The encoding of filter.", json!({"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"})),
        "filter-crs": param("filter-crs", "Only CRS84.", json!({"type": "string", "enum": [super::CRS84]})),
        "f": param("f", "Only JSON.", json!({"type": "string", "enum": ["json"]})),
    });
    if let Value::Object(m) = &mut parameters {
        m.extend(property_params);
    }
    let r = |n: &str| json!({"$ref": format!("#/components/parameters/{n}")});
    let mut item_params = vec![
        r("collectionId"),
        r("limit"),
        r("offset"),
        r("bbox"),
        r("bbox-crs"),
        r("crs"),
        r("datetime"),
        r("filter"),
        r("filter-lang"),
        r("filter-crs"),
        r("f"),
    ];
    item_params.extend(property_refs);
    let ok = |description: &str, media: &str| json!({"description": description, "content": {media: {"schema": {"type": "object"}}}});
    let err = json!({"description": "an error: {\"code\", \"description\"}", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/exception"}}}});
    let errors = json!({"400": err, "401": err, "403": err, "404": err, "412": err, "422": err, "428": err, "500": err});
    let with_errors = |mut responses: Value| {
        if let (Value::Object(m), Value::Object(e)) = (&mut responses, &errors) {
            for (k, v) in e {
                m.entry(k.clone()).or_insert(v.clone());
            }
        }
        responses
    };
    let feature_body = json!({"required": true, "content": {
        GEOJSON: {"schema": {"$ref": "#/components/schemas/feature"}},
        "application/json": {"schema": {"$ref": "#/components/schemas/feature"}}}});
    let if_match = json!({"name": "If-Match", "in": "header", "required": true, "description": "the ETag of the version being replaced", "schema": {"type": "string"}});
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "巡查 Xuncha — OGC API – Features",
            "version": "1.0.0",
            "description": "Zones and inspection reports. Zone collections are editable by planners and admins (Part 4); reports are read-only. Coordinates are CRS84 [lon, lat].",
            "license": {"name": "MIT"}
        },
        "servers": [{"url": base}],
        "security": [{"bearer": []}, {"basic": []}, {"session": []}],
        "tags": [{"name": "Capabilities"}, {"name": "Data"}, {"name": "Edits"}],
        "paths": {
            "/": {"get": {"tags": ["Capabilities"], "summary": "landing page", "operationId": "getLandingPage", "parameters": [r("f")], "responses": with_errors(json!({"200": ok("the landing page", JSON)}))}},
            "/conformance": {"get": {"tags": ["Capabilities"], "summary": "conformance classes", "operationId": "getConformanceDeclaration", "parameters": [r("f")], "responses": with_errors(json!({"200": ok("the conformance classes", JSON)}))}},
            "/api": {"get": {"tags": ["Capabilities"], "summary": "this document", "operationId": "getAPI", "parameters": [r("f")], "responses": with_errors(json!({"200": ok("the API definition", OPENAPI)}))}},
            "/collections": {"get": {"tags": ["Capabilities"], "summary": "the collections", "operationId": "getCollections", "parameters": [r("f")], "responses": with_errors(json!({"200": ok("the collections", JSON)}))}},
            "/collections/{collectionId}": {"get": {"tags": ["Capabilities"], "summary": "one collection", "operationId": "describeCollection", "parameters": [r("collectionId"), r("f")], "responses": with_errors(json!({"200": ok("the collection", JSON)}))}},
            "/collections/{collectionId}/queryables": {"get": {"tags": ["Capabilities"], "summary": "the queryables as JSON Schema", "operationId": "getQueryables", "parameters": [r("collectionId"), r("f")], "responses": with_errors(json!({"200": ok("the queryables", SCHEMA)}))}},
            "/collections/{collectionId}/schema": {"get": {"tags": ["Capabilities"], "summary": "the JSON Schema of a feature", "operationId": "getSchema", "parameters": [r("collectionId"), r("f")], "responses": with_errors(json!({"200": ok("the schema", SCHEMA)}))}},
            "/collections/{collectionId}/items": {
                "get": {"tags": ["Data"], "summary": "features, paged", "operationId": "getFeatures", "parameters": item_params,
                        "responses": with_errors(json!({"200": ok("a FeatureCollection with numberMatched, numberReturned, timeStamp and links", GEOJSON)}))},
                "post": {"tags": ["Edits"], "summary": "create a zone (planner, admin)", "operationId": "createFeature", "parameters": [r("collectionId")], "requestBody": feature_body,
                         "responses": with_errors(json!({"201": {"description": "created; Location names it, ETag is its version"}}))},
                "options": {"tags": ["Edits"], "summary": "the methods you may use (Allow)", "operationId": "optionsFeatures", "parameters": [r("collectionId")], "responses": with_errors(json!({"204": {"description": "see the Allow header"}}))}
            },
            "/collections/{collectionId}/items/{featureId}": {
                "get": {"tags": ["Data"], "summary": "one feature (ETag: its version)", "operationId": "getFeature", "parameters": [r("collectionId"), r("featureId"), r("f")], "responses": with_errors(json!({"200": ok("a Feature", GEOJSON)}))},
                "put": {"tags": ["Edits"], "summary": "replace a zone", "operationId": "replaceFeature", "parameters": [r("collectionId"), r("featureId"), if_match], "requestBody": feature_body,
                        "responses": with_errors(json!({"200": ok("the stored Feature", GEOJSON)}))},
                "patch": {"tags": ["Edits"], "summary": "change a zone with a JSON Merge Patch (RFC 7396)", "operationId": "updateFeature", "parameters": [r("collectionId"), r("featureId"), if_match],
                          "requestBody": {"required": true, "content": {"application/merge-patch+json": {"schema": {"type": "object"}}, "application/json": {"schema": {"type": "object"}}}},
                          "responses": with_errors(json!({"200": ok("the stored Feature", GEOJSON)}))},
                "delete": {"tags": ["Edits"], "summary": "retire a zone (its history is kept)", "operationId": "deleteFeature", "parameters": [r("collectionId"), r("featureId")], "responses": with_errors(json!({"204": {"description": "retired"}}))},
                "options": {"tags": ["Edits"], "summary": "the methods you may use (Allow)", "operationId": "optionsFeature", "parameters": [r("collectionId"), r("featureId")], "responses": with_errors(json!({"204": {"description": "see the Allow header"}}))}
            }
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an API token (xuncha user add) or a session token (POST /api/login)"},
                "basic": {"type": "http", "scheme": "basic", "description": "user name and, as the password, an API token (QGIS Basic authentication, GDAL_HTTP_USERPWD)"},
                "session": {"type": "apiKey", "in": "cookie", "name": super::super::auth::SESSION_COOKIE}
            },
            "parameters": parameters,
            "schemas": {
                "exception": {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}, "description": {"type": "string"}, "details": {"type": "array", "items": {"type": "object"}}}},
                "feature": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
                    "type": {"type": "string", "enum": ["Feature"]},
                    "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                    "geometry": {"type": "object"},
                    "properties": {"type": "object"}
                }}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` points inside the document (self-contained).
    #[test]
    fn openapi_refs_resolve_inside_the_document() {
        let doc = openapi_doc("http://127.0.0.1/ogc");
        fn walk(v: &Value, root: &Value, n: &mut usize) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        let path = r.strip_prefix("#/").expect("internal ref");
                        let mut at = root;
                        for part in path.split('/') {
                            at = &at[part];
                        }
                        assert!(!at.is_null(), "{r} does not resolve");
                        *n += 1;
                    }
                    m.values().for_each(|v| walk(v, root, n));
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, root, n)),
                _ => {}
            }
        }
        let mut n = 0;
        walk(&doc, &doc, &mut n);
        assert!(n > 20, "{n} refs");
    }
}
