//! The Open311 handlers: discovery, services, service definitions, requests (search, one,
//! submit) and tokens.

use super::{encode, split, Format, Open311Error};
use crate::auth::{Role, User};
use crate::http::auth::{user_for_token, MaybeAuth};
use crate::http::error::ApiError;
use crate::open311::{self, NewRequest, Search, MAX_PAGE_SIZE};
use crate::report::Category;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::HashMap;

type Result311<T> = Result<T, Open311Error>;

/// The first time this API's shape was published (the discovery `changeset`).
const CHANGESET: &str = "2026-12-01T00:00:00+08:00";

fn origin(headers: &HeaderMap) -> String {
    crate::http::ogc::base_url(headers)
        .trim_end_matches("/ogc")
        .to_string()
}

fn params(q: Option<&str>, allowed: &[&str], f: Format) -> Result311<HashMap<String, String>> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(q.unwrap_or("").as_bytes()) {
        if !allowed.contains(&k.as_ref()) {
            return Err(Open311Error(
                f,
                ApiError::bad_request(format!(
                    "unknown parameter {k:?}; the parameters here are {}",
                    allowed.join(", ")
                )),
            ));
        }
        out.insert(k.into_owned(), v.into_owned());
    }
    Ok(out)
}

fn check_jurisdiction(state: &AppState, given: Option<&str>) -> Result<(), ApiError> {
    match (&state.config.open311_jurisdiction_id, given) {
        (Some(ours), Some(theirs)) if ours != theirs => Err(ApiError::NotFound(format!(
            "jurisdiction_id {theirs:?} is not served here; this server answers for {ours:?}"
        ))),
        _ => Ok(()),
    }
}

/// The user of `api_key`, else of the request's credentials; 403 without either.
async fn caller(
    state: &AppState,
    auth: Result<MaybeAuth, ApiError>,
    api_key: Option<&str>,
) -> Result<User, ApiError> {
    if let Some(key) = api_key.filter(|k| !k.is_empty()) {
        return user_for_token(state, key).await?.ok_or_else(|| {
            ApiError::Forbidden("api_key is not a valid API token of this server".into())
        });
    }
    auth?.0.ok_or_else(|| {
        ApiError::Forbidden(
            "send api_key: an API token of a patrol or office user (xuncha user add NAME --role patrol)".into(),
        )
    })
}

/// The checks of a route that reads one request: only `jurisdiction_id` and `api_key` as
/// parameters, the right jurisdiction, a known user.
async fn guard(
    state: &AppState,
    auth: Result<MaybeAuth, ApiError>,
    q: Option<&str>,
    f: Format,
) -> Result311<User> {
    let p = params(q, &["jurisdiction_id", "api_key"], f)?;
    let fail = |e: ApiError| Open311Error(f, e);
    check_jurisdiction(state, p.get("jurisdiction_id").map(String::as_str)).map_err(fail)?;
    caller(state, auth, p.get("api_key").map(String::as_str))
        .await
        .map_err(fail)
}

/// `GET discovery`, `services` and `requests`.
pub async fn top_get(
    State(state): State<AppState>,
    auth: Result<MaybeAuth, ApiError>,
    Path(file): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result311<Response> {
    let (stem, f) = split(&file)?;
    let fail = |e: ApiError| Open311Error(f, e);
    match stem {
        "discovery" => {
            params(q.as_deref(), &[], f)?;
            let url = format!("{}/open311/v2", origin(&headers));
            Ok(encode(
                f,
                "discovery",
                &json!({
                    "changeset": CHANGESET,
                    "contact": "巡查 Xuncha — the city's street office (街道办) runs this endpoint",
                    "key_service": "API keys are API tokens of patrol or office users, issued by the administrator (xuncha user add)",
                    "endpoints": [{
                        "specification": "http://wiki.open311.org/GeoReport_v2",
                        "url": url,
                        "changeset": CHANGESET,
                        "type": "production",
                        "formats": ["text/xml", "application/json"],
                    }]
                }),
            ))
        }
        "services" => {
            let p = params(q.as_deref(), &["jurisdiction_id"], f)?;
            check_jurisdiction(&state, p.get("jurisdiction_id").map(String::as_str))
                .map_err(fail)?;
            let list: Vec<Value> = Category::ALL.into_iter().map(open311::service).collect();
            Ok(encode(f, "services", &Value::Array(list)))
        }
        "requests" => {
            let p = params(
                q.as_deref(),
                &[
                    "jurisdiction_id",
                    "api_key",
                    "service_request_id",
                    "service_code",
                    "start_date",
                    "end_date",
                    "status",
                    "page",
                    "page_size",
                ],
                f,
            )?;
            let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
            check_jurisdiction(&state, get("jurisdiction_id")).map_err(fail)?;
            let user = caller(&state, auth, get("api_key")).await.map_err(fail)?;
            let visibility = crate::scope::Visibility::of(&user);
            let views = if let Some(ids) = get("service_request_id") {
                let ids = ids
                    .split(',')
                    .map(|s| {
                        s.trim().parse::<i64>().map_err(|_| {
                            ApiError::bad_request(format!(
                                "service_request_id {s:?} is not a request id (ids are numbers)"
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(fail)?;
                open311::by_ids(&state, ids, &visibility)
                    .await
                    .map_err(|e| fail(e.into()))?
            } else {
                let mut search = search_from(&p).map_err(fail)?;
                search.visibility = visibility;
                open311::search(&state, search)
                    .await
                    .map_err(|e| fail(e.into()))?
            };
            let o = origin(&headers);
            let offset = state.config.city_utc_offset_s;
            let list: Vec<Value> = views
                .iter()
                .map(|v| open311::request(v, offset, &o))
                .collect();
            Ok(encode(f, "service_requests", &Value::Array(list)))
        }
        other => Err(fail(ApiError::NotFound(format!(
            "there is no Open311 resource {other:?}; try discovery, services or requests"
        )))),
    }
}

fn search_from(p: &HashMap<String, String>) -> Result<Search, ApiError> {
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let date = |k: &str| {
        get(k)
            .map(|s| {
                crate::time::parse_rfc3339(s)
                    .map_err(|e| ApiError::bad_request(format!("{k}: {e}")))
            })
            .transpose()
    };
    let (start, end) = (date("start_date")?, date("end_date")?);
    if let (Some(a), Some(b)) = (start, end) {
        if a > b {
            return Err(ApiError::bad_request("start_date is after end_date"));
        }
    }
    let mut categories = Vec::new();
    for code in get("service_code").into_iter().flat_map(|s| s.split(',')) {
        categories.push(code.trim().parse::<Category>().map_err(|_| {
            ApiError::bad_request(format!(
                "service_code {code:?} is not a service; services.json lists them"
            ))
        })?);
    }
    let mut statuses = Vec::new();
    for s in get("status").into_iter().flat_map(|s| s.split(',')) {
        statuses.extend(open311::statuses_for(s.trim()).ok_or_else(|| {
            ApiError::bad_request(format!("status {s:?} must be open or closed"))
        })?);
    }
    let number = |k: &str, default: usize, max: usize| -> Result<usize, ApiError> {
        match get(k) {
            None => Ok(default),
            Some(s) => s
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "{k}={s:?} must be a whole number from 1 to {max}"
                    ))
                }),
        }
    };
    Ok(Search {
        start,
        end,
        categories,
        statuses,
        page: number("page", 1, 1_000_000)?,
        page_size: number("page_size", MAX_PAGE_SIZE, MAX_PAGE_SIZE)?,
        visibility: Default::default(),
    })
}

/// `GET services/{code}`: the service definition.
pub async fn service(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Result311<Response> {
    let (code, f) = split(&file)?;
    let p = params(q.as_deref(), &["jurisdiction_id"], f)?;
    check_jurisdiction(&state, p.get("jurisdiction_id").map(String::as_str))
        .map_err(|e| Open311Error(f, e))?;
    let c = code.parse::<Category>().map_err(|_| {
        Open311Error(
            f,
            ApiError::NotFound(format!(
                "there is no service {code:?}; services.json lists them"
            )),
        )
    })?;
    Ok(encode(
        f,
        "service_definition",
        &open311::service_definition(c),
    ))
}

/// `GET requests/{id}`: the request, as a one-element list.
pub async fn one(
    State(state): State<AppState>,
    auth: Result<MaybeAuth, ApiError>,
    Path(file): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result311<Response> {
    let (id, f) = split(&file)?;
    let fail = |e: ApiError| Open311Error(f, e);
    let user = guard(&state, auth, q.as_deref(), f).await?;
    let missing = || fail(ApiError::NotFound(format!("there is no request {id:?}")));
    let id = id.parse::<i64>().map_err(|_| missing())?;
    let views = open311::by_ids(&state, vec![id], &crate::scope::Visibility::of(&user))
        .await
        .map_err(|e| fail(e.into()))?;
    let v = views.first().ok_or_else(missing)?;
    let r = open311::request(v, state.config.city_utc_offset_s, &origin(&headers));
    Ok(encode(f, "service_requests", &json!([r])))
}

/// `GET tokens/{token}`: the request id a token (from `POST requests`) stands for.
pub async fn token(
    State(state): State<AppState>,
    auth: Result<MaybeAuth, ApiError>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Result311<Response> {
    let (token, f) = split(&file)?;
    let fail = |e: ApiError| Open311Error(f, e);
    let user = guard(&state, auth, q.as_deref(), f).await?;
    let visible = |id: &i64| {
        let (st, vis, id) = (state.clone(), crate::scope::Visibility::of(&user), *id);
        async move {
            st.store
                .read(move |c| crate::store::reports::visible(c, id, &vis))
                .await
        }
    };
    let id = open311::by_token(&state, token)
        .await
        .map_err(|e| fail(e.into()))?;
    let id = match id {
        Some(id) if visible(&id).await.map_err(|e| fail(e.into()))? => Some(id),
        _ => None,
    }
    .ok_or_else(|| fail(ApiError::NotFound(format!("there is no token {token:?}"))))?;
    Ok(encode(
        f,
        "service_requests",
        &json!([{"service_request_id": id.to_string(), "token": token}]),
    ))
}

/// Fields of `POST requests` (besides `attribute[…]` and the `media` file).
const POST_FIELDS: &[&str] = &[
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
];

struct PostForm {
    fields: HashMap<String, String>,
    attributes: Vec<(String, String)>,
    media: Vec<Bytes>,
}

impl PostForm {
    fn add(&mut self, name: &str, value: String) -> Result<(), ApiError> {
        if let Some(code) = name
            .strip_prefix("attribute[")
            .and_then(|r| r.strip_suffix(']'))
        {
            self.attributes.push((code.to_string(), value));
            Ok(())
        } else if POST_FIELDS.contains(&name) {
            self.fields.insert(name.to_string(), value);
            Ok(())
        } else {
            Err(ApiError::bad_request(format!(
                "unknown field {name:?}; the fields are {}, attribute[CODE] and a `media` file",
                POST_FIELDS.join(", ")
            )))
        }
    }
}

async fn read_form(state: &AppState, req: Request) -> Result<PostForm, ApiError> {
    let ctype = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut form = PostForm {
        fields: HashMap::new(),
        attributes: Vec::new(),
        media: Vec::new(),
    };
    if ctype.starts_with("application/x-www-form-urlencoded") {
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        for (k, v) in form_urlencoded::parse(&body) {
            form.add(&k, v.into_owned())?;
        }
    } else if ctype.starts_with("multipart/form-data") {
        let mut mp = Multipart::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        while let Some(field) = mp.next_field().await.map_err(|e| {
            ApiError::bad_request(format!(
                "the multipart body is malformed: {}",
                e.body_text()
            ))
        })? {
            let name = field.name().unwrap_or("").to_string();
            let bytes = field.bytes().await.map_err(|e| {
                ApiError::bad_request(format!(
                    "the multipart body is malformed: {}",
                    e.body_text()
                ))
            })?;
            if name == "media" {
                form.media.push(bytes);
            } else {
                let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                    ApiError::bad_request(format!("the field {name} is not UTF-8 text"))
                })?;
                form.add(&name, text)?;
            }
        }
    } else {
        return Err(ApiError::bad_request(format!(
            "send application/x-www-form-urlencoded (or multipart/form-data with a `media` file), not {:?}",
            if ctype.is_empty() { "no Content-Type" } else { &ctype }
        )));
    }
    Ok(form)
}

fn new_request(form: &PostForm) -> Result<NewRequest, ApiError> {
    let get = |k: &str| {
        form.fields
            .get(k)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    };
    let code = get("service_code").ok_or_else(|| {
        ApiError::bad_request("service_code is required; services.json lists the services")
    })?;
    let category = code.parse::<Category>().map_err(|_| {
        ApiError::bad_request(format!(
            "service_code {code:?} is not a service; services.json lists them"
        ))
    })?;
    let number = |k: &str| {
        get(k)
            .map(|s| {
                s.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| ApiError::bad_request(format!("{k}={s:?} is not a number")))
            })
            .transpose()
    };
    let description = get("description").unwrap_or("").to_string();
    let mut note = description.clone();
    let mut line = |label: &str, value: &str| {
        if !note.is_empty() {
            note.push('\n');
        }
        note.push_str(label);
        note.push_str(value);
    };
    for (code, value) in &form.attributes {
        line(&format!("{code}: "), value);
    }
    if let Some(a) = get("address_string") {
        line("地址 address: ", a);
    }
    if let Some(m) = get("media_url") {
        line("媒体 media: ", m);
    }
    let reporter: Vec<&str> = ["first_name", "last_name", "phone", "email"]
        .into_iter()
        .filter_map(get)
        .collect();
    if !reporter.is_empty() {
        line("报告人 reporter: ", &reporter.join(" "));
    }
    line("来源 source: ", "Open311");
    Ok(NewRequest {
        category: Some(category),
        lat: number("lat")?,
        lon: number("long")?,
        note,
        description,
        device_id: get("device_id").map(str::to_string),
        photos: form.media.clone(),
    })
}

/// `POST requests`: files a report; 201 with its id and token (200 and the first one for a
/// retry).
pub async fn create(
    State(state): State<AppState>,
    Path(file): Path<String>,
    req: Request,
) -> Result311<Response> {
    let (stem, f) = split(&file)?;
    let fail = |e: ApiError| Open311Error(f, e);
    if stem != "requests" {
        return Err(fail(ApiError::NotFound(format!(
            "POST goes to requests.json or requests.xml, not {file:?}"
        ))));
    }
    let form = read_form(&state, req).await.map_err(fail)?;
    check_jurisdiction(
        &state,
        form.fields.get("jurisdiction_id").map(String::as_str),
    )
    .map_err(fail)?;
    let key = form.fields.get("api_key").map(String::as_str).unwrap_or("");
    if key.is_empty() {
        return Err(fail(ApiError::Forbidden(
            "api_key is required: an API token of a patrol or office user".into(),
        )));
    }
    let user = caller(&state, Ok(MaybeAuth(None)), Some(key))
        .await
        .map_err(fail)?;
    if !user.has_role(&[Role::Patrol, Role::Office]) {
        return Err(fail(ApiError::Forbidden(format!(
            "the api_key belongs to {} ({}); filing needs a patrol or office user",
            user.username, user.role
        ))));
    }
    let draft = new_request(&form).map_err(fail)?;
    let (view, created) = open311::submit(&state, &user, draft)
        .await
        .map_err(|e| fail(e.into()))?;
    let body = json!([{
        "service_request_id": view.id.to_string(),
        "service_notice": null,
        "account_id": null,
        "token": view.client_id,
    }]);
    let mut r = encode(f, "service_requests", &body);
    *r.status_mut() = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(r.into_response())
}
