//! What handlers read from a request besides its body's fields: the town of the path, the
//! staff grant of a Bearer token, a JSON body or query string read in the user's language,
//! an instant, a citizen's link token, and the client's address.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, Request};
use axum::http::HeaderMap;
use jiff::Timestamp;
use ricevo_core::Lang;
use ricevo_core::citizen::FieldError;
use ricevo_store::{Appointment, Grant, Tenant};

use crate::error::{ApiError, InLang};
use crate::proxy;
use crate::state::AppState;

/// Finds a tenant by slug; 404 for anything else.
pub async fn tenant(state: &AppState, slug: &str, lang: Lang) -> Result<Tenant, ApiError> {
    state.desk.town(slug).await.in_lang(lang)
}

/// Reads a JSON body: 400 when it is not JSON, 422 when a value has the wrong type.
pub fn read_json<T: serde::de::DeserializeOwned>(body: &[u8], lang: Lang) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::Fields(
            lang,
            vec![FieldError::new(
                "body",
                match lang {
                    Lang::It => "Un campo ha un tipo di valore non valido.",
                    Lang::En => "A field has a value of the wrong type.",
                },
            )],
        ),
        _ => ApiError::BadRequest(
            lang,
            match lang {
                Lang::It => "il corpo non è JSON valido".into(),
                Lang::En => "the body is not valid JSON".into(),
            },
        ),
    })
}

/// A query string, read like [`read_json`] reads a body: one that cannot be read (a number out
/// of range, a repeated key) is a JSON 400 in the user's language, as every API answer is;
/// axum's own `Query` would answer in plain English text.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        let lang = crate::lang::detect(parts);
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(e) => Err(ApiError::BadRequest(
                lang,
                match lang {
                    Lang::It => format!("parametri della richiesta illeggibili ({})", e.body_text()),
                    Lang::En => format!("unreadable query parameters ({})", e.body_text()),
                },
            )),
        }
    }
}

/// Parses an RFC 3339 instant (with offset or `Z`) within the days Ricevo accepts.
pub fn parse_instant(s: &str) -> Option<Timestamp> {
    ricevo_core::day::parse_instant(s).ok()
}

/// The appointment and tenant a citizen's token opens; 404 otherwise.
pub async fn by_token(state: &AppState, token: &str, lang: Lang) -> Result<(Tenant, Appointment), ApiError> {
    state.desk.appointment_by_token(token).await.in_lang(lang)
}

/// Reads the `Authorization: Bearer` token and checks it belongs to the tenant.
pub async fn bearer(state: &AppState, headers: &HeaderMap, t: &Tenant, lang: Lang) -> Result<Grant, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::Unauthorized(lang))?;
    state.desk.api_grant(t, token).await.in_lang(lang)
}

/// The client address used for rate limits: the peer's, or behind trusted reverse proxies the
/// one they saw (see [`proxy`]); `local` for in-process requests without a socket.
pub fn client_key(state: &AppState, req: &Request) -> String {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let trusted = proxy::TrustedProxies::of(state.config.trust_forwarded_for, &state.config.trusted_proxies);
    trusted.client(peer, req.headers()).map_or_else(|| "local".into(), |ip| ip.to_string())
}

/// The client address of a request (see [`client_key`]), for handlers that also read
/// the request's body.
#[derive(Debug, Clone)]
pub struct ClientKey(pub String);

impl axum::extract::FromRequestParts<AppState> for ClientKey {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // `client_key` reads a whole request: give it one with this request's head.
        let mut req = axum::extract::Request::new(axum::body::Body::empty());
        *req.uri_mut() = parts.uri.clone();
        *req.headers_mut() = parts.headers.clone();
        *req.extensions_mut() = parts.extensions.clone();
        Ok(ClientKey(client_key(state, &req)))
    }
}
