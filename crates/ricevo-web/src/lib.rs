//! Ricevo's web edge: citizen pages, staff pages, the `/api/v1` JSON API, health and metrics.
//!
//! Handlers are thin translators: they parse requests into core types (invalid input stops
//! here with a 4xx in the user's language), call the front desk (`ricevo_desk`), and render
//! the answer as a page, JSON, an event stream or a WebSocket message.

pub mod api;
pub mod assets;
pub mod audit_api;
pub mod demo;
pub mod error;
pub mod gdpr;
pub mod lang;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod proxy;
pub mod request;
pub mod room;
pub mod route;
pub mod server;
pub mod staff;
pub mod state;
// ---- surveys ----
pub mod survey;
// ---- end surveys ----
// ---- feedback ----
pub mod feedback;
// ---- end feedback ----
// ---- campaigns ----
pub mod campaigns;
// ---- end campaigns ----
// ---- reports ----
pub mod reports;
// ---- end reports ----
// ---- webpush ----
pub mod web_push;
// ---- end webpush ----
// ---- waitlist ----
pub mod waitlist;
// ---- end waitlist ----
// ---- telegram ----
pub mod telegram;
// ---- end telegram ----
// ---- channels ----
pub mod channels;
// ---- end channels ----
// ---- citizen ----
pub(crate) mod citizen_session;
pub mod signed_in;
// ---- end citizen ----
// ---- council ----
pub mod council;
// ---- end council ----

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::compression::CompressionLayer;
// ---- public ----
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
// ---- end public ----
use tower_http::set_header::SetResponseHeaderLayer;

pub use state::{AppState, TurnConfig, WebConfig};

/// Largest request body accepted anywhere (forms and JSON are far smaller).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole application.
pub fn router(state: AppState) -> Router {
    let api = api_routes()
        .into_iter()
        .fold(Router::new(), |router, route| route.mount(router))
        .layer(middleware::from_fn(json_refusals));
    Router::new()
        .merge(api)
        .merge(pages::routes())
        .merge(staff::routes())
        .merge(room::routes(state.config.max_document_bytes))
        .merge(assets::routes())
        // ---- surveys ----
        .merge(survey::routes())
        // ---- end surveys ----
        // ---- feedback ----
        .merge(feedback::routes())
        // ---- end feedback ----
        // ---- campaigns ----
        .merge(campaigns::routes())
        // ---- end campaigns ----
        // ---- reports ----
        .merge(reports::routes())
        // ---- end reports ----
        // ---- webpush ----
        .merge(web_push::routes())
        // ---- end webpush ----
        // ---- waitlist ----
        .merge(waitlist::routes())
        // ---- end waitlist ----
        // ---- telegram ----
        .merge(telegram::routes())
        // ---- end telegram ----
        // ---- channels ----
        .merge(channels::routes())
        // ---- end channels ----
        // ---- citizen ----
        .merge(signed_in::routes())
        // ---- end citizen ----
        // ---- council ----
        .merge(council::routes())
        // ---- end council ----
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_with_token))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), deadline))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        // ---- public ----
        // Video segments are compressed already: gzip would spend CPU per viewer for nothing.
        .layer(
            CompressionLayer::new().compress_when(DefaultPredicate::new().and(NotForContentType::const_new("video/"))),
        )
        // ---- end public ----
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            // Nothing from another origin, ever; no framing at all (clickjacking on staff pages):
            // only citizen pages set their own policy, with frames where a town embeds us.
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; \
                 frame-ancestors 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .with_state(state)
}

/// Every `/api/v1` route (see [`route::ApiRoute`]): the router serves exactly these.
pub fn api_routes() -> Vec<route::ApiRoute> {
    use axum::http::Method;
    use route::ApiRoute as R;
    let mut routes = vec![
        R::new(Method::GET, "/api/v1/openapi.json", openapi::document),
        R::new(Method::GET, "/api/v1/appointments/{token}", api::get_appointment),
        R::new(Method::POST, "/api/v1/appointments/{token}/cancel", api::cancel_appointment),
        R::new(Method::POST, "/api/v1/appointments/{token}/move", api::move_appointment),
        R::new(Method::GET, "/api/v1/{tenant}/services", api::services),
        R::new(Method::GET, "/api/v1/{tenant}/services/{service_id}/slots", api::slots),
        R::new(Method::POST, "/api/v1/{tenant}/appointments", api::create_appointment),
        R::new(Method::POST, "/api/v1/{tenant}/appointments/on-behalf", api::book_on_behalf),
        R::new(Method::POST, "/api/v1/{tenant}/appointments/{id}/status", api::set_status),
        R::new(Method::POST, "/api/v1/{tenant}/appointments/{id}/move", api::staff_move),
        R::new(Method::GET, "/api/v1/{tenant}/day", api::day),
        R::new(Method::GET, "/api/v1/{tenant}/offices", api::offices),
        R::new(Method::GET, "/api/v1/{tenant}/audit", audit_api::audit),
    ];
    routes.extend(room::api::routes());
    routes.extend(gdpr::routes());
    // ---- surveys ----
    // ---- end surveys ----
    // ---- feedback ----
    // ---- end feedback ----
    // ---- campaigns ----
    // ---- end campaigns ----
    // ---- reports ----
    routes.extend(reports::api::routes());
    // ---- end reports ----
    routes
}

// API clients get JSON, people get a page in their language.
async fn not_found(state: State<AppState>, req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        let lang = lang::detect(&req.into_parts().0);
        return error::ApiError::NotFound(lang).into_response();
    }
    pages::not_found(state, req).await
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

/// The router of the separate metrics address (`metrics_listen`): `/metrics` only, reachable
/// without a token unless one is configured (the address itself is private).
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(metrics_private)).with_state(state)
}

// On the public address `/metrics` needs the configured bearer token; without one configured
// it does not exist there (bookings and the outbox backlog are not for everyone).
async fn metrics_with_token(state: State<AppState>, req: Request) -> Response {
    match state.config.metrics_token.as_deref() {
        None => not_found(state, req).await,
        Some(token) => {
            let token = token.to_owned();
            metrics_if(state, req, &token).await
        }
    }
}

async fn metrics_private(state: State<AppState>, req: Request) -> Response {
    match state.config.metrics_token.clone() {
        None => metrics(state).await,
        Some(token) => metrics_if(state, req, &token).await,
    }
}

async fn metrics_if(state: State<AppState>, req: Request, token: &str) -> Response {
    let (parts, _) = req.into_parts();
    let given = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !staff::common::same_secret(given.trim(), token) {
        let lang = lang::detect(&parts);
        let mut resp = error::ApiError::Unauthorized(lang).into_response();
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"metrics\""));
        return resp;
    }
    metrics(state).await
}

async fn metrics(State(state): State<AppState>) -> Response {
    let backlog = state.store.outbox_backlog().await.unwrap_or(-1);
    let mut body = state.metrics.render(state.desk.counters(), backlog);
    if let Some(media) = &state.media {
        body.push_str(&metrics::Metrics::render_media(&media.stats()));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    // Health and metrics are for the operator's probes; static files are cached anyway.
    let exempt = path == "/healthz" || path == "/metrics" || path.starts_with("/static/");
    // ---- public ----
    let exempt = exempt || council::is_stream_path(path);
    // ---- end public ----
    if !exempt && !state.limiter.allow(&request::client_key(&state, &req), state.now()) {
        let lang = lang::detect(&req.into_parts().0);
        let mut resp = error::ApiError::TooManyRequests(lang).into_response();
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return resp;
    }
    next.run(req).await
}

/// How long a document upload may take: its size is capped, and a phone's uplink is slow.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(600);

// A request that produced no response head in time gets 408 and its work is dropped. A
// WebSocket's or an event stream's life runs after its head (101, 200), so they are not cut.
async fn deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let upload = req.method() == axum::http::Method::POST && req.uri().path().ends_with("/documents");
    let limit = if upload { UPLOAD_TIMEOUT } else { state.config.request_timeout };
    let (parts, body) = req.into_parts();
    let lang = lang::detect(&parts);
    match tokio::time::timeout(limit, next.run(Request::from_parts(parts, body))).await {
        Ok(resp) => resp,
        Err(_) => {
            let message = match lang {
                ricevo_core::Lang::It => "La richiesta ha impiegato troppo tempo: riprova.",
                ricevo_core::Lang::En => "The request took too long: please try again.",
            };
            let body = error::ErrorBody { error: "request_timeout", message: message.into(), fields: Vec::new() };
            (StatusCode::REQUEST_TIMEOUT, axum::Json(body)).into_response()
        }
    }
}

/// axum's own refusals, made before a handler runs (a path segment that is not UTF-8, a body
/// over [`MAX_BODY_BYTES`]), are plain English text; an API client gets every refusal as the
/// JSON error body, in its language, as the OpenAPI document says.
async fn json_refusals(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let lang = lang::detect(&parts);
    let resp = next.run(Request::from_parts(parts, body)).await;
    let plain_text = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !resp.status().is_client_error() || !plain_text {
        return resp;
    }
    let status = resp.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return error::ApiError::TooLarge(lang).into_response();
    }
    // axum's detail (such as "Invalid URL: Invalid UTF-8 in `token`") names what was wrong.
    let detail = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap_or_default();
    let mut json = error::ApiError::BadRequest(lang, String::from_utf8_lossy(&detail).into_owned()).into_response();
    *json.status_mut() = status;
    json
}

async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let resp = next.run(req).await;
    state.metrics.request(started.elapsed().as_secs_f64());
    resp
}
