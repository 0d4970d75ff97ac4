//! Ricevo's web edge: citizen pages, staff pages, the `/api/v1` JSON API, health and metrics.
//!
//! Handlers are thin: they parse requests into core types (invalid input stops here with a
//! 4xx in the user's language), call the booking journey in [`booking`], and render.

pub mod api;
pub mod assets;
pub mod booking;
pub mod catalogue;
pub mod demo;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod lang;
pub mod limits;
pub mod metrics;
pub mod pages;
pub mod room;
pub mod staff;
pub mod state;
pub mod tokens;

use std::net::SocketAddr;
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;

pub use state::{AppState, TurnConfig, WebConfig};

/// Largest request body accepted anywhere (forms and JSON are far smaller).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole application.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/appointments/{token}", get(api::get_appointment))
        .route("/api/v1/appointments/{token}/cancel", post(api::cancel_appointment))
        .route("/api/v1/appointments/{token}/move", post(api::move_appointment))
        .route("/api/v1/{tenant}/services", get(api::services))
        .route("/api/v1/{tenant}/services/{service_id}/slots", get(api::slots))
        .route("/api/v1/{tenant}/appointments", post(api::create_appointment))
        .route("/api/v1/{tenant}/appointments/{id}/status", post(api::set_status))
        .route("/api/v1/{tenant}/appointments/{id}/move", post(api::staff_move))
        .route("/api/v1/{tenant}/day", get(api::day))
        .route("/api/v1/{tenant}/offices", get(api::offices));
    Router::new()
        .merge(api)
        .merge(pages::routes())
        .merge(staff::routes())
        .merge(room::routes(state.config.max_document_bytes))
        .merge(assets::routes())
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            // Nothing from another origin, ever; frames only where a town embeds us (embed mode).
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'",
            ),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .with_state(state)
}

async fn openapi() -> impl IntoResponse {
    axum::Json(api::ApiDoc::openapi())
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

async fn metrics(State(state): State<AppState>) -> Response {
    let backlog = state.store.outbox_backlog().await.unwrap_or(-1);
    let mut body = state.metrics.render(backlog);
    if let Some(media) = &state.media {
        body.push_str(&metrics::Metrics::render_media(&media.stats()));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// The client address used for rate limits.
pub fn client_key(state: &AppState, req: &Request) -> String {
    if state.config.trust_forwarded_for
        && let Some(first) =
            req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()).and_then(|v| v.split(',').next())
    {
        return first.trim().to_owned();
    }
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_else(|| "local".into())
}

async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    // Health and metrics are for the operator's probes; static files are cached anyway.
    let exempt = path == "/healthz" || path == "/metrics" || path.starts_with("/static/");
    if !exempt && !state.limiter.allow(&client_key(&state, &req), state.now()) {
        let lang = lang::detect(&req.into_parts().0);
        let mut resp = error::ApiError::TooManyRequests(lang).into_response();
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return resp;
    }
    next.run(req).await
}

async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let resp = next.run(req).await;
    state.metrics.request(started.elapsed().as_secs_f64());
    resp
}
