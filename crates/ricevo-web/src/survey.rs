//! Questionnaires on the web: the questions as form fields for any page that asks them
//! ([`form`]) and the script that serves them; the staff pages that build, preview, open and
//! close questionnaires, run a kiosk and show the results ([`staff`], with the builder's
//! working copy in [`builder`]).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::state::AppState;

mod builder;
pub(crate) mod form;
mod staff;
mod views;

/// The routes of questionnaires.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(form::SCRIPT_PATH, get(script))
        .route("/{tenant}/staff/surveys", get(staff::list))
        .route("/{tenant}/staff/surveys/new", get(staff::new_form).post(staff::new_submit))
        .route("/{tenant}/staff/surveys/{id}", get(staff::show))
        .route("/{tenant}/staff/surveys/{id}/edit", get(staff::edit_form).post(staff::edit_submit))
        .route("/{tenant}/staff/surveys/{id}/status", post(staff::set_status))
        .route("/{tenant}/staff/surveys/{id}/preview", get(staff::preview).post(staff::preview_submit))
        .route("/{tenant}/staff/surveys/{id}/results", get(staff::results))
        .route("/{tenant}/staff/surveys/{id}/results.csv", get(staff::results_csv))
        .route("/{tenant}/staff/surveys/{id}/kiosk", get(staff::kiosk).post(staff::kiosk_submit))
        .route("/{tenant}/staff/surveys/{id}/kiosk/start", post(staff::start_kiosk))
        .route("/{tenant}/staff/surveys/{id}/kiosks/{pass}/stop", post(staff::stop_kiosk))
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
