//! App IO's messages API for services (PagoPA, `io-functions-services`): the two calls Ricevo
//! makes, with the service's key in `Ocp-Apim-Subscription-Key`.
//! - `POST /api/v1/profiles` with `{"fiscal_code"}` ("Get a User Profile using POST"; the GET
//!   with the fiscal code in the path is deprecated): 200 `{"sender_allowed": bool,
//!   "preferred_languages": [...]}`, 404 when the citizen has no profile.
//! - `POST /api/v1/messages`: `{"fiscal_code", "time_to_live", "content": {"subject" (10-120),
//!   "markdown" (80-10000), "due_date"?}}`: 201 `{"id"}`, 400 with a problem document when
//!   the payload breaks the rules.
//!
//! Errors are RFC 7807 problem documents (`application/problem+json`), as App IO answers.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

/// One message App IO accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The service key it came with.
    pub key: String,
    /// The citizen.
    pub fiscal_code: String,
    /// The whole body.
    pub body: Value,
}

#[derive(Debug, Default)]
struct Inner {
    /// Keys App IO knows (empty: any non-empty key).
    keys: HashSet<String>,
    /// Citizens with a profile that refuses the service.
    refusing: HashSet<String>,
    /// Citizens without a profile.
    unknown: HashSet<String>,
    /// Answer every call with 503.
    down: bool,
    messages: Vec<Received>,
    profile_lookups: Vec<(String, String)>,
    ids: u64,
}

/// A running fake App IO: what it received, and switches for its behaviour.
#[derive(Debug, Clone, Default)]
pub struct AppIo {
    inner: Arc<Mutex<Inner>>,
}

impl AppIo {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    /// Only these service keys are accepted from now on.
    pub fn accept_keys(&self, keys: &[&str]) {
        self.lock().keys = keys.iter().map(|k| (*k).to_owned()).collect();
    }
    /// The citizen's profile answers `sender_allowed: allowed`.
    pub fn set_sender_allowed(&self, fiscal_code: &str, allowed: bool) {
        let mut inner = self.lock();
        if allowed {
            inner.refusing.remove(fiscal_code);
        } else {
            inner.refusing.insert(fiscal_code.to_owned());
        }
    }
    /// The citizen has no profile (404).
    pub fn set_unknown(&self, fiscal_code: &str) {
        self.lock().unknown.insert(fiscal_code.to_owned());
    }
    /// Every call answers 503 while `down`.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }
    /// The messages accepted so far.
    pub fn messages(&self) -> Vec<Received> {
        self.lock().messages.clone()
    }
    /// The profile lookups so far, as (key, fiscal code).
    pub fn profile_lookups(&self) -> Vec<(String, String)> {
        self.lock().profile_lookups.clone()
    }
}

/// Starts a fake App IO on loopback; every citizen has a profile that allows the service until
/// told otherwise.
pub async fn start() -> (String, AppIo) {
    let handle = AppIo::default();
    let router = Router::new()
        .route("/api/v1/profiles", post(profile))
        .route("/api/v1/messages", post(message))
        .with_state(handle.clone());
    (crate::serve(router).await, handle)
}

fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = json!({ "type": "about:blank", "title": title, "status": status.as_u16(), "detail": detail });
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

/// The service key, or the answer refusing the call.
fn key(io: &AppIo, headers: &HeaderMap) -> Result<String, Box<Response>> {
    let inner = io.lock();
    if inner.down {
        return Err(Box::new(problem(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable", "down for maintenance")));
    }
    let key = headers.get("Ocp-Apim-Subscription-Key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    if key.is_empty() || (!inner.keys.is_empty() && !inner.keys.contains(&key)) {
        return Err(Box::new(problem(StatusCode::UNAUTHORIZED, "Unauthorized", "invalid subscription key")));
    }
    Ok(key)
}

fn is_fiscal_code(s: &str) -> bool {
    s.len() == 16 && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

async fn profile(State(io): State<AppIo>, headers: HeaderMap, body: String) -> Response {
    let key = match key(&io, &headers) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let fiscal_code = body["fiscal_code"].as_str().unwrap_or_default().to_owned();
    if !is_fiscal_code(&fiscal_code) {
        return problem(StatusCode::BAD_REQUEST, "Invalid fiscal code", "the fiscal code is malformed");
    }
    let mut inner = io.lock();
    inner.profile_lookups.push((key, fiscal_code.clone()));
    if inner.unknown.contains(&fiscal_code) {
        return problem(StatusCode::NOT_FOUND, "Profile not found", "the citizen has no profile");
    }
    let allowed = !inner.refusing.contains(&fiscal_code);
    Json(json!({ "sender_allowed": allowed, "preferred_languages": ["it_IT"] })).into_response()
}

async fn message(State(io): State<AppIo>, headers: HeaderMap, body: String) -> Response {
    let key = match key(&io, &headers) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return problem(StatusCode::BAD_REQUEST, "Invalid payload", "not JSON");
    };
    if let Err(detail) = check_message(&body) {
        return problem(StatusCode::BAD_REQUEST, "Invalid payload", &detail);
    }
    let fiscal_code = body["fiscal_code"].as_str().unwrap_or_default().to_owned();
    let mut inner = io.lock();
    if inner.unknown.contains(&fiscal_code) {
        return problem(StatusCode::NOT_FOUND, "Recipient not found", "no profile");
    }
    if inner.refusing.contains(&fiscal_code) {
        return problem(StatusCode::FORBIDDEN, "Sender not allowed", "the citizen blocked this service");
    }
    inner.ids += 1;
    let id = format!("01FAKEMSG{:010}", inner.ids);
    inner.messages.push(Received { key, fiscal_code, body });
    let location = format!("/api/v1/messages/{id}");
    (StatusCode::CREATED, [(header::LOCATION, location)], Json(json!({ "id": id }))).into_response()
}

/// The rules App IO's OpenAPI sets on a new message.
fn check_message(body: &Value) -> Result<(), String> {
    let fc = body["fiscal_code"].as_str().ok_or("fiscal_code is required")?;
    if !is_fiscal_code(fc) {
        return Err("fiscal_code is malformed".into());
    }
    if let Some(ttl) = body.get("time_to_live") {
        let ttl = ttl.as_u64().ok_or("time_to_live is not an integer")?;
        if !(3600..=604_800).contains(&ttl) {
            return Err("time_to_live is out of 3600..604800".into());
        }
    }
    let content = &body["content"];
    let subject = content["subject"].as_str().ok_or("content.subject is required")?;
    if !(10..=120).contains(&subject.chars().count()) {
        return Err(format!("content.subject has {} characters, not 10..120", subject.chars().count()));
    }
    let markdown = content["markdown"].as_str().ok_or("content.markdown is required")?;
    if !(80..=10_000).contains(&markdown.chars().count()) {
        return Err(format!("content.markdown has {} characters, not 80..10000", markdown.chars().count()));
    }
    if let Some(due) = content.get("due_date") {
        let due = due.as_str().ok_or("content.due_date is not a string")?;
        // A UTC date-time in ISO 8601, as App IO's Timestamp type.
        let ok = due.len() >= 20 && due.ends_with('Z') && due.as_bytes().get(10) == Some(&b'T');
        if !ok {
            return Err("content.due_date is not an ISO 8601 UTC timestamp".into());
        }
    }
    let known: HashMap<&str, ()> = [
        ("subject", ()),
        ("markdown", ()),
        ("due_date", ()),
        ("payment_data", ()),
        ("prescription_data", ()),
        ("eu_covid_cert", ()),
        ("third_party_data", ()),
    ]
    .into_iter()
    .collect();
    if let Some(fields) = content.as_object()
        && let Some(other) = fields.keys().find(|k| !known.contains_key(k.as_str()))
    {
        return Err(format!("content.{other} is not a known field"));
    }
    Ok(())
}
