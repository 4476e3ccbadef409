//! OGC API – Features under `/ogc`: Part 1 Core (landing page, conformance, OpenAPI, collections,
//! items), Part 3 filtering (CQL2) and Part 4 edits of the zone collections.
//!
//! Desktop GIS reads and writes zones here without glue: GDAL's OAPIF driver (`ogrinfo`,
//! `ogr2ogr`), QGIS, OWSLib. Handlers parse the request, call the registry, the report service
//! and [`crate::features`], and encode; [`OgcError`] encodes [`ApiError`] as an OGC exception.

mod collections;
pub mod cql2;
mod edits;
mod items;
mod landing;

use super::auth::{Auth, MaybeAuth};
use super::error::ApiError;
use crate::auth::User;
use crate::features::Collection;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

/// `application/geo+json`: items and single features.
pub const GEOJSON: &str = "application/geo+json";
/// `application/json`: landing page, conformance, collections.
pub const JSON: &str = "application/json";
/// The media type of the OpenAPI document, exactly as Part 1 requires.
pub const OPENAPI: &str = "application/vnd.oai.openapi+json;version=3.0";
/// `application/schema+json`: queryables.
pub const SCHEMA: &str = "application/schema+json";
/// The only CRS this server speaks: WGS84 longitude/latitude.
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// The `/ogc` routes (merged into the application's router).
pub fn router(state: &AppState) -> Router<AppState> {
    let items = get(items::list)
        .post(edits::create)
        .options(edits::options_items);
    let item = get(items::get)
        .put(edits::replace)
        .patch(edits::patch)
        .delete(edits::delete)
        .options(edits::options_item);
    Router::new()
        .route("/ogc", get(landing::landing))
        .route("/ogc/", get(landing::landing))
        .route("/ogc/conformance", get(landing::conformance))
        .route("/ogc/api", get(landing::openapi))
        .route("/ogc/collections", get(collections::list))
        .route("/ogc/collections/{cid}", get(collections::get))
        .route(
            "/ogc/collections/{cid}/queryables",
            get(collections::queryables),
        )
        .route("/ogc/collections/{cid}/schema", get(collections::schema))
        .route("/ogc/collections/{cid}/items", items)
        .route("/ogc/collections/{cid}/items/{fid}", item)
        .route("/ogc/{*rest}", axum::routing::any(not_found))
        .layer(DefaultBodyLimit::max(state.config.max_zone_body))
}

async fn not_found() -> OgcError {
    ApiError::NotFound(
        "no such OGC API resource; the landing page /ogc links to everything there is".into(),
    )
    .into()
}

/// An error as an OGC API exception: `{"code", "description"}` (and `details` when there are).
#[derive(Debug)]
pub struct OgcError(pub ApiError);

impl From<ApiError> for OgcError {
    fn from(e: ApiError) -> Self {
        OgcError(e)
    }
}

impl From<crate::zone::registry::RegistryError> for OgcError {
    fn from(e: crate::zone::registry::RegistryError) -> Self {
        use crate::store::StoreError;
        use crate::zone::registry::RegistryError;
        match e {
            // Part 4 answers a lost race on If-Match with 412, where /api/zones says 409.
            RegistryError::Store(s @ StoreError::VersionMismatch { .. }) => {
                OgcError(ApiError::PreconditionFailed(s.to_string()))
            }
            other => OgcError(other.into()),
        }
    }
}

impl From<crate::report::service::ReportError> for OgcError {
    fn from(e: crate::report::service::ReportError) -> Self {
        OgcError(e.into())
    }
}

impl From<crate::store::StoreError> for OgcError {
    fn from(e: crate::store::StoreError) -> Self {
        OgcError(e.into())
    }
}

pub type OgcResult<T> = Result<T, OgcError>;

impl IntoResponse for OgcError {
    fn into_response(self) -> Response {
        let (status, description, details) = self.0.parts();
        let code = match status {
            StatusCode::BAD_REQUEST => "InvalidParameterValue",
            StatusCode::UNAUTHORIZED => "Unauthorized",
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::NOT_FOUND => "NotFound",
            StatusCode::CONFLICT => "Conflict",
            StatusCode::PRECONDITION_FAILED => "PreconditionFailed",
            StatusCode::PRECONDITION_REQUIRED => "PreconditionRequired",
            StatusCode::UNPROCESSABLE_ENTITY => "InvalidFeature",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "UnsupportedMediaType",
            StatusCode::PAYLOAD_TOO_LARGE => "PayloadTooLarge",
            _ => "ServerError",
        };
        let mut body = json!({"code": code, "description": description});
        if !details.is_empty() {
            body["details"] = Value::Array(details);
        }
        let mut r = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            // Lets QGIS and GDAL know that HTTP Basic (user name + API token) is accepted.
            r.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"xuncha\", charset=\"UTF-8\""),
            );
        }
        r
    }
}

/// A JSON body with an exact media type.
pub fn typed_json(media_type: &'static str, body: &Value) -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static(media_type))],
        serde_json::to_vec(body).unwrap_or_default(),
    )
        .into_response()
}

/// The absolute URL of `/ogc` as the client reached it (links must be absolute for GDAL).
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(axum::http::header::HOST))
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("127.0.0.1");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}/ogc")
}

/// A link object.
pub fn link(href: String, rel: &str, media_type: &str, title: &str) -> Value {
    json!({"href": href, "rel": rel, "type": media_type, "title": title})
}

/// The collection named in the path, or 404.
pub fn collection(cid: &str) -> Result<Collection, ApiError> {
    Collection::parse(cid).ok_or_else(|| {
        let all: Vec<&str> = Collection::all().iter().map(|c| c.id()).collect();
        ApiError::NotFound(format!(
            "there is no collection {cid:?}; the collections are {}",
            all.join(", ")
        ))
    })
}

/// Who is calling: a signed-in user, or nobody. Bad credentials are refused as an OGC exception.
pub struct Caller(pub Option<User>);

impl axum::extract::FromRequestParts<AppState> for Caller {
    type Rejection = OgcError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, OgcError> {
        MaybeAuth::from_request_parts(parts, state)
            .await
            .map(|m| Caller(m.0))
            .map_err(OgcError)
    }
}

impl Caller {
    /// The user if signed in with one of `roles` (admin always); 401 or 403 otherwise.
    pub fn require(&self, roles: &[crate::auth::Role]) -> Result<User, ApiError> {
        let user = self.0.clone().ok_or_else(|| {
            ApiError::Unauthorized(
                "editing needs a signed-in planner or admin: send \"Authorization: Bearer <API token>\" or HTTP Basic with an API token as the password".into(),
            )
        })?;
        Auth(user).require(roles).cloned()
    }
}

/// Whether the caller may read `c`: any signed-in user; anyone for the zone collections when the
/// server makes them public. Reports are never public.
pub fn can_read(state: &AppState, user: Option<&User>, c: Collection) -> bool {
    user.is_some() || (c.is_zones() && state.config.public_zones)
}

/// 401 unless the caller may read `c`.
pub fn require_read(state: &AppState, auth: &Caller, c: Collection) -> Result<(), ApiError> {
    if can_read(state, auth.0.as_ref(), c) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized(format!(
            "the collection {} needs a signed-in user: send \"Authorization: Bearer <API token>\" or HTTP Basic with your user name and an API token as the password",
            c.id()
        )))
    }
}

/// The collection of the path if the caller may read it, after checking the query takes only
/// `allowed` parameters: what every metadata route does first.
pub fn readable(
    state: &AppState,
    auth: &Caller,
    cid: &str,
    q: Option<&str>,
    allowed: &[&str],
) -> Result<Collection, ApiError> {
    let c = collection(cid)?;
    let pairs = query_pairs(q)?;
    check_known(&pairs, allowed)?;
    check_format(&pairs)?;
    require_read(state, auth, c)?;
    Ok(c)
}

/// The query string as ordered pairs, refusing a parameter given twice.
pub fn query_pairs(q: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(q.unwrap_or("").as_bytes()) {
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(ApiError::bad_request(format!(
                "the query parameter {k} is given more than once"
            )));
        }
        out.push((k.into_owned(), v.into_owned()));
    }
    Ok(out)
}

/// 400 for a parameter not in `allowed` (Part 1: unknown parameters are an error).
pub fn check_known(pairs: &[(String, String)], allowed: &[&str]) -> Result<(), ApiError> {
    for (k, _) in pairs {
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter {k:?}; this resource takes {}",
                if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed.join(", ")
                }
            )));
        }
    }
    Ok(())
}

/// `f=json` (or `geojson`) is accepted everywhere; other formats are not served.
pub fn check_format(pairs: &[(String, String)]) -> Result<(), ApiError> {
    match pairs
        .iter()
        .find(|(k, _)| k == "f")
        .map(|(_, v)| v.as_str())
    {
        None | Some("json" | "geojson" | "application/json" | "application/geo+json") => Ok(()),
        Some(other) => Err(ApiError::bad_request(format!(
            "f={other:?} is not served; this API answers JSON (f=json)"
        ))),
    }
}
