//! The staff pages under `/{tenant}/staff`: login, the day's appointments, search, offices,
//! hours, closures, services, and for administrators accounts, API tokens, webhooks and the
//! e-mail outbox.
//!
//! Server-rendered HTML that works without JavaScript. Every page needs a session of the same
//! town (`ricevo_session`, only its hash is stored); every POST carries the session's CSRF token.
//! Handlers are thin: they parse the form into core types, call the front desk (which checks
//! the account's rights and the rules, and stores the change) and render the answer.

pub(crate) mod accounts;
pub(crate) mod admin;
mod audit;
mod auth;
mod closure_notice;
pub(crate) mod common;
mod day;
pub(crate) mod form;
pub(crate) mod offices;
mod on_behalf;
mod privacy;
pub(crate) mod views;
// ---- staffoidc ----
mod provider;
mod provider_settings;
mod provider_sign_in;
// ---- end staffoidc ----

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

use crate::state::AppState;

pub use common::SESSION_COOKIE;

/// Passwords are hashed and checked by the desk (argon2id PHC strings).
pub use ricevo_desk::staff::{hash_password, verify_password};

/// The routes of the staff pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/staff/login", get(auth::login_page).post(auth::login))
        .route("/{tenant}/staff/logout", post(auth::logout))
        .route("/{tenant}/staff", get(day::day))
        .route("/{tenant}/staff/search", get(day::search))
        .route("/{tenant}/staff/appointments/{id}/status", post(day::set_status))
        // ---- the URP desk: bookings for citizens, moves and cancellations with a reason ----
        .route("/{tenant}/staff/book", get(on_behalf::book_form).post(on_behalf::book_submit))
        .route("/{tenant}/staff/appointments/{id}/cancel", get(on_behalf::cancel_form).post(on_behalf::cancel_submit))
        .route("/{tenant}/staff/appointments/{id}/move", get(on_behalf::move_form).post(on_behalf::move_submit))
        .route("/{tenant}/staff/offices", get(offices::list).post(offices::create))
        .route("/{tenant}/staff/offices/{office}", get(offices::show).post(offices::update))
        .route("/{tenant}/staff/offices/{office}/hours", post(offices::set_hours))
        .route("/{tenant}/staff/offices/{office}/closures", post(offices::add_closure))
        .route("/{tenant}/staff/offices/{office}/closures/{closure}/delete", post(offices::delete_closure))
        .route("/{tenant}/staff/offices/{office}/services/new", get(offices::new_service).post(offices::create_service))
        .route("/{tenant}/staff/services/{service}", get(offices::edit_service).post(offices::update_service))
        .route("/{tenant}/staff/users", get(admin::users).post(admin::create_user))
        .route("/{tenant}/staff/users/{user}/password", post(admin::reset_password))
        .route("/{tenant}/staff/tokens", get(admin::tokens).post(admin::create_token))
        .route("/{tenant}/staff/webhooks", get(admin::webhooks).post(admin::create_webhook))
        .route("/{tenant}/staff/webhooks/{hook}/delete", post(admin::delete_webhook))
        // Staff accounts, second factor, tokens and town settings (issue 12).
        .route("/{tenant}/staff/login/code", get(auth::code_page).post(auth::code))
        .route("/{tenant}/staff/users/{user}", get(accounts::edit_user).post(accounts::update_user))
        .route("/{tenant}/staff/users/{user}/disable", post(accounts::disable_user))
        .route("/{tenant}/staff/users/{user}/enable", post(accounts::enable_user))
        .route("/{tenant}/staff/users/{user}/second-factor/reset", post(accounts::reset_second_factor))
        .route("/{tenant}/staff/tokens/{id}/revoke", post(accounts::revoke_token))
        .route("/{tenant}/staff/account", get(accounts::account))
        .route("/{tenant}/staff/account/password", post(accounts::change_password))
        .route("/{tenant}/staff/account/second-factor", get(accounts::enrol).post(accounts::confirm_enrol))
        .route("/{tenant}/staff/settings", get(accounts::settings).post(accounts::save_settings))
        .route("/{tenant}/staff/settings/emblem", post(accounts::upload_emblem))
        .route("/{tenant}/emblem", get(accounts::emblem_file))
        .route("/{tenant}/staff/outbox", get(admin::outbox))
        .route("/{tenant}/staff/audit", get(audit::audit))
        .route("/{tenant}/staff/outbox/{file}", get(admin::outbox_file))
        // ---- privacy: a citizen's data on request (GDPR) ----
        .route("/{tenant}/staff/privacy", get(privacy::form).post(privacy::search))
        .route("/{tenant}/staff/privacy/export", post(privacy::export))
        .route("/{tenant}/staff/privacy/erase", post(privacy::erase))
        .route("/{tenant}/staff/privacy/documents/{meeting}/{document}", get(privacy::document))
        // ---- staffoidc: the town's identity provider (issue 16) ----
        .route("/{tenant}/staff/login/oidc", get(provider_sign_in::start))
        .route("/{tenant}/staff/login/oidc/callback", get(provider_sign_in::callback))
        .route("/{tenant}/staff/sign-in", get(provider_settings::page).post(provider_settings::save))
        // ---- end staffoidc ----
        .layer(middleware::from_fn(private_pages))
}

// Staff pages hold personal data and one-time secrets: never cached. A `?lang=` choice sticks.
async fn private_pages(req: Request, next: Next) -> Response {
    let chosen = req.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "lang")
            .and_then(|(_, v)| ricevo_core::Lang::parse(v))
    });
    let mut resp = next.run(req).await;
    let headers = resp.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(lang) = chosen {
        let cookie = format!("lang={}; Path=/; Max-Age=31536000; SameSite=Lax", lang.code());
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    resp
}
