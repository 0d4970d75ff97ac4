//! A closure over booked days: the page that shows who would be affected before saving, and
//! the page that says who was cancelled and told once it is saved
//! (`ricevo_desk::closures` decides).

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use ricevo_desk::offices::ClosurePlan;
use ricevo_desk::town::zone_of;
use ricevo_store::{Appointment, Office};

use super::common::{PageError, Staff, render};
use super::views::{Page, long_date};
use crate::state::AppState;

/// One affected appointment.
#[derive(Debug, Clone)]
pub(crate) struct AffectedRow {
    pub(crate) when: String,
    pub(crate) service: String,
    pub(crate) citizen: String,
    pub(crate) reference: String,
    /// The e-mail the message goes to; empty: the office must phone.
    pub(crate) email: String,
    pub(crate) phone: String,
}

/// The preview (before saving) or the outcome (after) of a closure over booked days.
#[derive(Debug, Template)]
#[template(path = "staff/closure_preview.html")]
pub(crate) struct ClosurePreviewPage {
    pub(crate) p: Page,
    pub(crate) done: bool,
    pub(crate) office: String,
    pub(crate) first: String,
    pub(crate) last: String,
    pub(crate) first_value: String,
    pub(crate) last_value: String,
    pub(crate) reason: String,
    pub(crate) action: String,
    pub(crate) back: String,
    pub(crate) rows: Vec<AffectedRow>,
}

/// Renders the preview (`done` false) or the outcome of a closure.
pub(crate) async fn page(
    state: &AppState,
    staff: &Staff,
    office: &Office,
    plan: &ClosurePlan,
    affected: &[Appointment],
    done: bool,
    back: String,
) -> Result<Response, PageError> {
    let lang = staff.lang;
    let zone = zone_of(&staff.tenant);
    let services = state.store.services(staff.tenant.id).await.map_err(|e| staff.err(e.into()))?;
    let rows = affected
        .iter()
        .map(|a| {
            let start = a.start.to_zoned(zone.clone());
            AffectedRow {
                when: format!("{} {}", long_date(start.date(), lang), start.strftime("%H:%M")),
                service: services.iter().find(|s| s.id == a.service_id).map(|s| s.name.clone()).unwrap_or_default(),
                citizen: a.citizen_name.clone(),
                reference: a.public_id.clone(),
                email: a.citizen_email.clone(),
                phone: a.citizen_phone.clone().unwrap_or_default(),
            }
        })
        .collect();
    let title = if done {
        staff.t("Chiusura salvata", "Closure saved")
    } else {
        staff.t("Conferma la chiusura", "Confirm the closure")
    };
    let page = ClosurePreviewPage {
        p: staff.page(title),
        done,
        office: office.name.clone(),
        first: long_date(plan.first, lang),
        last: long_date(plan.last, lang),
        first_value: plan.first.to_string(),
        last_value: plan.last.to_string(),
        reason: plan.reason.clone(),
        action: format!("{}/offices/{}/closures", staff.base(), office.id.0),
        back,
        rows,
    };
    Ok(render(StatusCode::OK, &page))
}
