//! Web Push for the waiting room (issue 15), the HTTP edge:
//!
//! - `POST /a/{token}/push`: the citizen's browser hands over its push subscription
//!   (`PushSubscription.toJSON()`), bound to the place the link opens and nothing else;
//! - `GET /a/{token}/push-sw.js`: the service worker, served from the link's own path so its
//!   scope is that link alone; it shows the notification and opens or focuses the waiting room;
//! - `GET /web-push.js`: the waiting room's button "Avvisami quando tocca a me";
//! - `POST /{tenant}/staff/settings/web-push`: the administrator's switch on the settings page.
//!
//! Everything is served from our own origin; the only other party is the browser's own push
//! service, which the browser chose.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ricevo_desk::web_push::SubscriptionRequest;
use serde::Deserialize;

use crate::error::{ApiError, InLang};
use crate::pages::layout::Ctx;
use crate::request::read_json;
use crate::staff::common::{PageError, Posted, see_other};
use crate::state::AppState;

/// The service worker (plain script, no imports).
const SERVICE_WORKER: &str = include_str!("../static/push-sw.js");
/// The waiting room's button.
const PAGE_SCRIPT: &str = include_str!("../static/push.js");

/// The routes of Web Push.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/a/{token}/push", post(subscribe))
        .route("/a/{token}/push-sw.js", get(service_worker))
        .route("/web-push.js", get(page_script))
        .route("/{tenant}/staff/settings/web-push", post(switch))
}

/// What the waiting room's page needs to offer the button: the VAPID public key, when this
/// instance has one, the town turned Web Push on, and the place is a citizen's in the queue.
pub(crate) fn offer(
    state: &AppState,
    tenant: &ricevo_store::Tenant,
    entry: &ricevo_core::lobby::Entry,
) -> Option<String> {
    let key = state.config.web_push_key.as_ref()?;
    state.desk.offers_web_push(tenant, entry).then(|| key.clone())
}

/// The browser's `PushSubscription.toJSON()`.
#[derive(Debug, Deserialize)]
struct Subscription {
    endpoint: String,
    keys: Keys,
}

#[derive(Debug, Deserialize)]
struct Keys {
    p256dh: String,
    auth: String,
}

/// Whether a request comes from one of our own pages (or from a client that sends no Origin).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.split_once("://").is_some_and(|(_, rest)| rest == host)
}

/// `POST /a/{token}/push`: stores the subscription of the place the link opens (201); 404 for
/// a link that is not a citizen's place or a town without Web Push, 409 once the place left
/// the queue, 422 with the field for what the browser sent, in the user's language.
async fn subscribe(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = ctx.lang;
    let run = async {
        if !same_origin(&headers) {
            return Err(ApiError::Forbidden(lang));
        }
        if state.config.web_push_key.is_none() {
            return Err(ApiError::NotFound(lang));
        }
        let sent: Subscription = read_json(&body, lang)?;
        let request = SubscriptionRequest { endpoint: sent.endpoint, p256dh: sent.keys.p256dh, auth: sent.keys.auth };
        state.desk.subscribe_push(&token, &request, lang).await.in_lang(lang)?;
        Ok((StatusCode::CREATED, axum::Json(serde_json::json!({"subscribed": true}))).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

fn script(body: &'static str, cache: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}

/// `GET /a/{token}/push-sw.js`: the service worker of a citizen's link whose town offers Web
/// Push (404 otherwise). Browsers check it for updates, so it is never cached for long.
async fn service_worker(State(state): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> Response {
    let lang = ctx.lang;
    let run = async {
        if state.config.web_push_key.is_none() {
            return Err(ApiError::NotFound(lang));
        }
        let opened = state.desk.open(&token).await.in_lang(lang)?;
        if !opened.tenant.web_push {
            return Err(ApiError::NotFound(lang));
        }
        Ok(script(SERVICE_WORKER, "no-cache"))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /web-push.js`: the button's script.
async fn page_script() -> Response {
    script(PAGE_SCRIPT, "public, max-age=3600")
}

/// `POST /{tenant}/staff/settings/web-push`: turns Web Push on (`web_push=on`) or off, for
/// administrators; back to the settings page.
async fn switch(State(state): State<AppState>, Posted { staff, form }: Posted) -> Result<Response, PageError> {
    staff.require_admin()?;
    let on = form.get("web_push") == "on";
    let town = state
        .desk
        .set_web_push(&staff.tenant, &staff.grant(), on)
        .await
        .map_err(|e| staff.err(ApiError::from_desk(staff.lang, e)))?;
    Ok(see_other(&format!("/{}/staff/settings#web-push", town.slug)))
}
