//! Survey campaigns on the web: the contact list's import and the campaigns' pages for the
//! town's administrators ([`manage`]), and the pages a contact's personal link opens: the
//! questionnaire and the unsubscribe ([`answer`]).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;

pub(crate) mod answer;
pub(crate) mod manage;

/// Largest contact file accepted (Prato's 34,000 contacts are about 2 MB).
pub const MAX_CONTACTS_BYTES: usize = 16 * 1024 * 1024;

/// The routes of campaigns.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/{tenant}/staff/contacts",
            get(manage::contacts)
                // The one staff form with a large body: a whole contact list.
                .post(manage::upload.layer(DefaultBodyLimit::max(MAX_CONTACTS_BYTES))),
        )
        .route("/{tenant}/staff/campaigns", get(manage::campaigns).post(manage::create))
        .route("/{tenant}/staff/campaigns/{id}", get(manage::campaign))
        .route("/{tenant}/staff/campaigns/{id}/figures", get(manage::figures))
        .route("/{tenant}/staff/campaigns/{id}/{action}", post(manage::act))
        // Staff pages hold personal data: never cached.
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .route("/{tenant}/sondaggio/{token}", get(answer::form).post(answer::submit))
        .route("/{tenant}/disiscriviti/{token}", get(answer::unsubscribe_form).post(answer::unsubscribe))
        .route(manage::SCRIPT_PATH, get(manage::script))
}
