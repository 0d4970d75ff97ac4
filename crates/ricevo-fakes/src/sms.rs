//! An SMS gateway as providers shape them (Twilio, Skebby, Aruba...): one HTTP endpoint that
//! takes the recipient, the text and the sender as query, form or JSON fields, maybe behind
//! HTTP Basic authentication, and answers 2xx when it took the message.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::json;

/// One request the gateway took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// `GET` or `POST`.
    pub method: String,
    /// The path.
    pub path: String,
    /// Query, form or JSON fields, merged.
    pub fields: BTreeMap<String, String>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    down: bool,
    invalid: HashSet<String>,
    received: Vec<Received>,
    refused: usize,
    down_answers: usize,
}

/// A running fake gateway.
#[derive(Debug, Clone, Default)]
pub struct Sms {
    inner: Arc<Mutex<Inner>>,
}

impl Sms {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    /// Every request answers 503 while `down`.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }
    /// Requests to this number (as any field holds it) are refused with 400.
    pub fn refuse_number(&self, number: &str) {
        self.lock().invalid.insert(number.to_owned());
    }
    /// The messages taken so far.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }
    /// How many messages were taken so far (cheaper than [`Sms::received`] for benches).
    pub fn count(&self) -> usize {
        self.lock().received.len()
    }
    /// How many requests were answered 503 so far.
    pub fn down_answers(&self) -> usize {
        self.lock().down_answers
    }
    /// Forgets what was received (a bench's memory stays flat).
    pub fn clear(&self) {
        self.lock().received.clear();
    }
}

/// Starts a fake SMS gateway on loopback; any path takes messages.
pub async fn start() -> (String, Sms) {
    let handle = Sms::default();
    let router = Router::new().route("/{*path}", any(take)).with_state(handle.clone());
    (crate::serve(router).await, handle)
}

async fn take(
    State(sms): State<Sms>,
    method: Method,
    uri: Uri,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut inner = sms.lock();
    if inner.down {
        inner.down_answers += 1;
        return (StatusCode::SERVICE_UNAVAILABLE, "gateway down").into_response();
    }
    let mut fields = query;
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.starts_with("application/json") {
        match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&body) {
            Ok(object) => {
                for (k, v) in object {
                    fields.insert(k, v.as_str().map_or_else(|| v.to_string(), str::to_owned));
                }
            }
            Err(_) => return (StatusCode::BAD_REQUEST, "not JSON").into_response(),
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        match serde_urlencoded_pairs(&body) {
            Some(pairs) => fields.extend(pairs),
            None => return (StatusCode::BAD_REQUEST, "not a form").into_response(),
        }
    }
    if fields.values().any(|v| inner.invalid.contains(v)) || uri.path().split('/').any(|p| inner.invalid.contains(p)) {
        inner.refused += 1;
        return (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": "invalid recipient" }))).into_response();
    }
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    inner.received.push(Received { method: method.to_string(), path: uri.path().to_owned(), fields, authorization });
    let id = inner.received.len();
    (StatusCode::OK, axum::Json(json!({ "result": "OK", "order_id": id.to_string() }))).into_response()
}

/// Reads `a=1&b=2` (percent-decoding, `+` as space); `None` when it is not UTF-8.
fn serde_urlencoded_pairs(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    let decode = |s: &str| -> Option<String> {
        let s = s.replace('+', " ");
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).ok()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}
