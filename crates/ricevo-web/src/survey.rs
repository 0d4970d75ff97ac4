//! Questionnaires on the web: the questions as form fields for any page that asks them
//! ([`form`]) and the script that serves them.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

// Until the pages that ask questionnaires use every part of it.
#[allow(dead_code)]
pub(crate) mod form;

/// The routes of questionnaires.
pub fn routes() -> Router<AppState> {
    Router::new().route(form::SCRIPT_PATH, get(script))
}

/// The questionnaire script, cached for long (its URL carries its content's hash).
async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
        ],
        form::SCRIPT,
    )
        .into_response()
}
