//! `GET /api/v1/{tenant}/reports`: a report of the service as JSON, for a staff token (the
//! town's open-data portal, a dashboard). An administrator's token sees the town, a manager's
//! or operator's token its office; the figures are those of the staff page.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use ricevo_core::citizen::FieldError;
use ricevo_core::report::{Period, PeriodError, Report};
use ricevo_core::{Lang, OfficeId, ServiceId};
use ricevo_desk::reports::{ReportFilter, period_message};
use serde::Deserialize;

use crate::error::{ApiError, InLang};
use crate::lang::ReqLang;
use crate::request::{ApiQuery, bearer, tenant};
use crate::state::AppState;

/// Query of a report.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ReportParams {
    /// The first day (`YYYY-MM-DD`, the town's calendar); default: 29 days before `to`.
    pub from: Option<String>,
    /// The last day, included; default: today (or 29 days after `from`). At most 1098 days.
    pub to: Option<String>,
    /// Only this office (its id; one of the token's offices).
    pub office: Option<String>,
    /// Only this service (its id).
    pub service: Option<String>,
}

fn id(raw: Option<&str>) -> Result<Option<i64>, ()> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse::<i64>().ok().filter(|n| *n > 0).map(Some).ok_or(()),
    }
}

fn read(p: &ReportParams, today: jiff::civil::Date, lang: Lang) -> Result<(Period, ReportFilter), ApiError> {
    let t = |it: &'static str, en: &'static str| if lang == Lang::It { it } else { en };
    let mut errors = Vec::new();
    let period = match Period::parse(p.from.as_deref(), p.to.as_deref(), today) {
        Ok(period) => Some(period),
        Err(e) => {
            let field = if matches!(e, PeriodError::From(_)) { "from" } else { "to" };
            errors.push(FieldError::new(field, period_message(e, lang)));
            None
        }
    };
    let office = id(p.office.as_deref()).unwrap_or_else(|()| {
        errors.push(FieldError::new("office", t("Ufficio sconosciuto.", "Unknown office.")));
        None
    });
    let service = id(p.service.as_deref()).unwrap_or_else(|()| {
        errors.push(FieldError::new("service", t("Servizio sconosciuto.", "Unknown service.")));
        None
    });
    match period {
        Some(period) if errors.is_empty() => {
            Ok((period, ReportFilter { office: office.map(OfficeId), service: service.map(ServiceId) }))
        }
        _ => Err(ApiError::Fields(lang, errors)),
    }
}

/// A report of the service for a period (Bearer token of the town's staff).
///
/// The body is the report: `period` {`from`, `to`}; `town`, the figures of everything the
/// token may see (`appointments`, `by_channel` and `by_mode` as [{`key`, `count`}] with
/// channels `page`, `api`, `staff`, `unknown` and modes `video`, `in_person`, `phone`;
/// `cancelled`, `moves`, `no_shows`, `done`; `wait_seconds`, `meeting_seconds` and
/// `lead_hours` as {`count`, `median`, `p90`}; `tickets` {`taken`, `served`, `abandoned`};
/// `satisfaction` {`count`, `average`, `distribution` (answers rating 1 to 5)}); `offices` and
/// `services` as [{`id`, `name`, `appointments`, `figures`}] with `figures` null for a group
/// of fewer than 5; `weekdays` (Monday first) and `hours` (0 to 23) in the town's time.
/// Medians and percentiles are null below 5 values. No citizen is ever named.
#[utoipa::path(get, path = "/api/v1/{tenant}/reports", params(("tenant" = String, Path, description = "Town slug"), ReportParams),
    security(("bearer" = [])),
    responses((status = 200, description = "The report (see the description for its fields)", body = Object),
        (status = 401, description = "`unauthorized`: no token, or not one of this town", body = crate::error::ErrorBody),
        (status = 403, description = "`forbidden`: an office or service outside the token's offices", body = crate::error::ErrorBody),
        (status = 404, description = "`not_found`: no such town, or no such office or service in it", body = crate::error::ErrorBody),
        (status = 422, description = "`invalid_fields`: a bad date, the first day after the last, a period over 1098 days, an id that is not a number", body = crate::error::ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Json<Report>, ApiError> {
    let t = tenant(&state, &slug, lang).await?;
    let grant = bearer(&state, &headers, &t, lang).await?;
    let (period, filter) = read(&p, state.desk.today_in(&t), lang)?;
    let report = state.desk.report(&t, &grant, period, filter).await.in_lang(lang)?;
    Ok(Json(report))
}

/// The API routes of reports.
pub fn routes() -> Vec<crate::route::ApiRoute> {
    vec![crate::route::ApiRoute::new(axum::http::Method::GET, "/api/v1/{tenant}/reports", report)]
}
