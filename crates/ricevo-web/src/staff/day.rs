//! The operator's day: the appointments of one day for the offices they work, search (by
//! reference code, name, e-mail, phone or fiscal code), and the check-in / done / no-show
//! actions; cancelling and moving go through a confirmation with a reason (`on_behalf`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::ToSpan;
use jiff::civil::Date;
use ricevo_core::appointment::Timing;
use ricevo_core::day::Day;
use ricevo_core::{AppointmentId, Lang, OfficeId, ServiceId};
use ricevo_store::{Appointment, AppointmentStatus, Office, Service};

use super::common::{Errors, Fields, PageError, Posted, Staff, path_id, render, see_other};
use super::views::{
    ApptRow, Choice, ChoiceField, DayPage, Field, SearchPage, SearchRow, Summary, long_date, mode_name, status_name,
};
use ricevo_desk::town::zone_of;

use crate::error::InLang;
use crate::state::AppState;

/// The shortest text searched for.
const MIN_SEARCH_CHARS: usize = 2;
/// Search results shown at most.
const MAX_SEARCH_RESULTS: usize = 50;

pub(crate) type QueryPairs = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

pub(crate) fn query_fields(q: QueryPairs, lang: Lang) -> Result<Fields, PageError> {
    match q {
        Ok(Query(pairs)) => Ok(Fields(pairs)),
        Err(_) => Err(PageError::bad_request(lang, "query")),
    }
}

fn day_link(staff: &Staff, day: Date, office: Option<OfficeId>) -> String {
    match office {
        Some(o) => format!("{}?date={day}&office={o}", staff.base()),
        None => format!("{}?date={day}", staff.base()),
    }
}

// Answers are stored by question key: show each with its question's label when we know it.
fn answers_of(a: &Appointment, service: Option<&Service>) -> Vec<(String, String)> {
    let Some(map) = a.answers.as_object() else { return Vec::new() };
    map.iter()
        .map(|(k, v)| {
            let label = service
                .and_then(|s| s.questions.iter().find(|q| &q.key == k))
                .map(|q| q.label.clone())
                .unwrap_or_else(|| k.clone());
            let value = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (label, value)
        })
        .collect()
}

/// `GET /{tenant}/staff?date=&office=`: the appointments of a day.
pub(crate) async fn day(State(state): State<AppState>, staff: Staff, q: QueryPairs) -> Result<Response, PageError> {
    let lang = staff.lang;
    let q = query_fields(q, lang)?;
    let t = &staff.tenant;
    let zone = zone_of(t);
    let now = state.now();
    let today = now.to_zoned(zone.clone()).date();
    let mut errors = Errors::default();
    let day = match q.get("date").trim() {
        "" => today,
        raw => Day::parse(raw).map(Day::date).unwrap_or_else(|e| {
            errors.add("date", crate::error::day_error_message(e, lang));
            today
        }),
    };
    let grant = staff.grant();
    let offices: Vec<Office> = state
        .store
        .offices(t.id)
        .await
        .map_err(|e| staff.err(e.into()))?
        .into_iter()
        .filter(|o| grant.covers_office(o.id))
        .collect();
    let office = match q.get("office").trim() {
        "" => None,
        raw => {
            let id = raw.parse::<i64>().map(OfficeId).map_err(|_| staff.not_found())?;
            if !offices.iter().any(|o| o.id == id) {
                return Err(staff.forbidden());
            }
            Some(id)
        }
    };
    let list = state.desk.appointments_of_day(t, &grant, day, office).await.in_lang(lang).map_err(|e| staff.err(e))?;
    let services: HashMap<ServiceId, Service> =
        state.store.services(t.id).await.map_err(|e| staff.err(e.into()))?.into_iter().map(|s| (s.id, s)).collect();
    let office_names: HashMap<OfficeId, String> = offices.iter().map(|o| (o.id, o.name.clone())).collect();
    let rows = list
        .iter()
        .map(|a| {
            let service = services.get(&a.service_id);
            // The buttons offer what the shared rule allows now, nothing the server would refuse.
            let timing = Timing { start: a.start, end: a.end, now };
            let allows = |to: AppointmentStatus| a.status.transition(to, timing).is_ok();
            let start = a.start.to_zoned(zone.clone());
            let end = a.end.to_zoned(zone.clone());
            ApptRow {
                time: format!("{}–{}", start.strftime("%H:%M"), end.strftime("%H:%M")),
                office: office_names.get(&a.office_id).cloned().unwrap_or_default(),
                service: service.map(|s| s.name.clone()).unwrap_or_default(),
                citizen: a.citizen_name.clone(),
                email: a.citizen_email.clone(),
                phone: a.citizen_phone.clone().unwrap_or_default(),
                fiscal_code: a.fiscal_code.clone().unwrap_or_default(),
                mode: mode_name(a.mode, lang),
                status: status_name(a.status, lang),
                status_code: a.status.as_str(),
                notes: a.notes.clone().unwrap_or_default(),
                answers: answers_of(a, service),
                action: format!("{}/appointments/{}/status", staff.base(), a.id.0),
                can_check_in: allows(AppointmentStatus::CheckedIn),
                can_done: allows(AppointmentStatus::Done),
                can_no_show: allows(AppointmentStatus::NoShow),
                can_cancel: allows(AppointmentStatus::Cancelled),
                reference: a.public_id.clone(),
                cancel_link: format!("{}/appointments/{}/cancel", staff.base(), a.id.0),
                move_link: format!("{}/appointments/{}/move", staff.base(), a.id.0),
            }
        })
        .collect();
    let mut values = Fields::default();
    values.set("date", day.to_string());
    let office_field = (offices.len() > 1).then(|| {
        let mut options = vec![Choice {
            value: String::new(),
            label: staff.t("Tutti i miei uffici", "All my offices").into(),
            selected: office.is_none(),
        }];
        options.extend(offices.iter().map(|o| Choice {
            value: o.id.0.to_string(),
            label: o.name.clone(),
            selected: Some(o.id) == office,
        }));
        ChoiceField::new("office", staff.t("Ufficio", "Office"), options, &errors)
    });
    let page = DayPage {
        p: staff.page(staff.t("Appuntamenti del giorno", "Appointments of the day")),
        summary: Summary::of(&errors),
        date: Field::new("date", staff.t("Giorno", "Day"), "date", &values, &errors),
        office: office_field,
        day_label: long_date(day, lang),
        date_value: day.to_string(),
        office_value: office.map(|o| o.0.to_string()).unwrap_or_default(),
        prev: day_link(&staff, day.checked_sub(1.day()).unwrap_or(day), office),
        next: day_link(&staff, day.checked_add(1.day()).unwrap_or(day), office),
        rows,
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render(status, &page))
}

/// `GET /{tenant}/staff/search?q=`: appointments by reference code, citizen's name, e-mail,
/// phone or codice fiscale.
pub(crate) async fn search(State(state): State<AppState>, staff: Staff, q: QueryPairs) -> Result<Response, PageError> {
    let lang = staff.lang;
    let q = query_fields(q, lang)?;
    let needle = q.get("q").trim().to_owned();
    let mut errors = Errors::default();
    let chars = needle.chars().count();
    if chars > 0 && chars < MIN_SEARCH_CHARS {
        errors.add("q", staff.t("Scrivi almeno 2 caratteri.", "Type at least 2 characters."));
    } else if chars > 100 || needle.chars().any(char::is_control) {
        errors.add("q", staff.t("Testo di ricerca non valido.", "Invalid search text."));
    }
    let searched = chars > 0 && errors.is_empty();
    let mut rows = Vec::new();
    if searched {
        let t = &staff.tenant;
        let grant = staff.grant();
        let zone = zone_of(t);
        let found = state.store.search_appointments(t.id, &needle, 500).await.map_err(|e| staff.err(e.into()))?;
        let services: HashMap<ServiceId, String> = state
            .store
            .services(t.id)
            .await
            .map_err(|e| staff.err(e.into()))?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
        let offices: HashMap<OfficeId, String> = state
            .store
            .offices(t.id)
            .await
            .map_err(|e| staff.err(e.into()))?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect();
        // The store searches the whole town: keep only what this account may see.
        for a in found.iter().filter(|a| grant.covers_office(a.office_id)).take(MAX_SEARCH_RESULTS) {
            let start = a.start.to_zoned(zone.clone());
            let office = if grant.role == ricevo_store::Role::Admin { None } else { Some(a.office_id) };
            rows.push(SearchRow {
                reference: a.public_id.clone(),
                when: super::views::short_date_time(&start, lang),
                day_link: day_link(&staff, start.date(), office),
                office: offices.get(&a.office_id).cloned().unwrap_or_default(),
                service: services.get(&a.service_id).cloned().unwrap_or_default(),
                citizen: a.citizen_name.clone(),
                fiscal_code: a.fiscal_code.clone().unwrap_or_default(),
                status: status_name(a.status, lang),
            });
        }
    }
    let mut values = Fields::default();
    values.set("q", needle);
    let page = SearchPage {
        p: staff.page(staff.t("Cerca un appuntamento", "Find an appointment")),
        q: Field::new(
            "q",
            staff.t(
                "Codice della prenotazione, nome, e-mail, telefono o codice fiscale",
                "Booking reference, name, e-mail, phone or fiscal code",
            ),
            "search",
            &values,
            &errors,
        )
        .hint(staff.t(
            "Almeno 2 caratteri. Il codice si può scrivere con o senza trattino, maiuscolo o minuscolo.",
            "At least 2 characters. The reference may be typed with or without its dash, in any case.",
        )),
        searched,
        rows,
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render(status, &page))
}

/// `POST /{tenant}/staff/appointments/{id}/status`: check-in, done, no-show or cancel.
pub(crate) async fn set_status(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let lang = staff.lang;
    let t = &staff.tenant;
    let id = AppointmentId(path_id(&id, lang)?);
    let grant = staff.grant();
    let a = state.desk.appointment_for(t, &grant, id).await.in_lang(lang).map_err(|e| staff.err(e))?;
    let wanted = match AppointmentStatus::parse(form.get("status")) {
        Some(s) => s,
        None => return Err(PageError::bad_request(lang, staff.t("stato non valido", "invalid status"))),
    };
    state.desk.change_status(t, &grant, &a, wanted).await.in_lang(lang).map_err(|e| staff.err(e))?;
    tracing::info!(tenant = %t.slug, user = %staff.user.id, appointment = %a.public_id, status = form.get("status"), "status set");
    let day = a.start.to_zoned(zone_of(t)).date();
    let office = form.get("office").parse::<i64>().ok().map(OfficeId);
    Ok(see_other(&day_link(&staff, day, office)))
}
