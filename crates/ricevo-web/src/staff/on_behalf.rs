//! The URP desk: an official books for a citizen who phones or walks in
//! (`/{tenant}/staff/book`), and moves or cancels an appointment from the day view with a
//! confirmation step and a reason the citizen is told (`/{tenant}/staff/appointments/{id}/move`
//! and `/cancel`). The rules are the desk's (`ricevo_desk::on_behalf`); these pages only
//! parse, ask and show.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use jiff::civil::{Date, Time};
use ricevo_core::citizen::BookingInput;
use ricevo_core::reason::Reason;
use ricevo_core::service::QuestionKind;
use ricevo_core::slots::Slot;
use ricevo_core::{AppointmentId, Lang, ServiceId};
use ricevo_desk::DeskError;
use ricevo_desk::booking::BookingResult;
use ricevo_desk::on_behalf::StaffBooking;
use ricevo_desk::town::zone_of;
use ricevo_store::{Appointment, Office, Service};

use super::common::{Errors, Fields, PageError, Posted, Staff, path_id, render, see_other};
use super::views::{Choice, ChoiceField, Field, Page, Summary, long_date, mode_name};
use crate::error::{ApiError, InLang, refusal_message};
use crate::state::AppState;

type QueryPairs = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

fn query_fields(q: QueryPairs, lang: Lang) -> Result<Fields, PageError> {
    match q {
        Ok(Query(pairs)) => Ok(Fields(pairs)),
        Err(_) => Err(PageError::bad_request(lang, "query")),
    }
}

/// The prefix of intake answers in the form.
const ANSWER_PREFIX: &str = "answer.";

/// One free time offered as a radio button.
#[derive(Debug, Clone)]
pub(crate) struct TimeChoice {
    pub(crate) id: String,
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) checked: bool,
}

/// An intake question: a text input or a select.
#[derive(Debug, Clone)]
pub(crate) struct QuestionField {
    pub(crate) text: Option<Field>,
    pub(crate) choice: Option<ChoiceField>,
}

/// The staff booking form.
#[derive(Debug, Template)]
#[template(path = "staff/book.html")]
pub(crate) struct BookPage {
    pub(crate) p: Page,
    pub(crate) summary: Summary,
    pub(crate) unavailable: Option<String>,
    pub(crate) service: ChoiceField,
    pub(crate) date: Field,
    /// The service and day chosen (the second part of the form shows only then).
    pub(crate) chosen: bool,
    pub(crate) service_value: String,
    pub(crate) date_value: String,
    pub(crate) day_label: String,
    pub(crate) times: Vec<TimeChoice>,
    pub(crate) times_error: Option<String>,
    /// For managers of the office: a time outside the bookable ones.
    pub(crate) override_time: Option<Field>,
    pub(crate) override_checked: bool,
    pub(crate) contact: Vec<Field>,
    pub(crate) mode: ChoiceField,
    pub(crate) questions: Vec<QuestionField>,
    pub(crate) notes: Field,
    pub(crate) email_lang: ChoiceField,
    pub(crate) privacy_error: Option<String>,
    pub(crate) privacy_checked: bool,
    /// This form's one booking: sent again (a reload, a double click), it books nothing more.
    pub(crate) form_key: String,
}

/// What the official hands over after booking.
#[derive(Debug, Template)]
#[template(path = "staff/booked.html")]
pub(crate) struct BookedPage {
    pub(crate) p: Page,
    pub(crate) reference: String,
    pub(crate) link: String,
    pub(crate) when: String,
    pub(crate) service: String,
    pub(crate) office: String,
    pub(crate) citizen: String,
    pub(crate) emailed: bool,
    pub(crate) day_link: String,
}

/// The services this official may book, with their offices.
async fn bookable(state: &AppState, staff: &Staff) -> Result<Vec<(Service, Office)>, PageError> {
    let t = &staff.tenant;
    let grant = staff.grant();
    let offices = state.store.offices(t.id).await.map_err(|e| staff.err(e.into()))?;
    let services = state.desk.bookable_services(t).await.in_lang(staff.lang).map_err(|e| staff.err(e))?;
    Ok(services
        .into_iter()
        .filter(|s| grant.covers_office(s.office_id))
        .filter_map(|s| offices.iter().find(|o| o.id == s.office_id).cloned().map(|o| (s, o)))
        .collect())
}

fn parse_date(raw: &str, lang: Lang, errors: &mut Errors, name: &str) -> Option<Date> {
    match ricevo_core::day::Day::parse(raw.trim()) {
        Ok(d) => Some(d.date()),
        Err(e) => {
            errors.add(name, crate::error::day_error_message(e, lang));
            None
        }
    }
}

// The field names of the form for the core's `citizen.*` fields.
fn form_field(core: &str) -> String {
    match core.strip_prefix("citizen.") {
        Some(rest) => rest.to_owned(),
        None => match core.strip_prefix("answers.") {
            Some(key) => format!("{ANSWER_PREFIX}{key}"),
            None => core.to_owned(),
        },
    }
}

/// The booking form's input as the core reads it.
fn input_of(form: &Fields, lang: Lang) -> BookingInput {
    let optional = |name: &str| Some(form.get(name).to_owned()).filter(|v| !v.trim().is_empty());
    let answers: BTreeMap<String, String> = form
        .0
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(ANSWER_PREFIX).map(|key| (key.to_owned(), v.clone())))
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    BookingInput {
        name: form.get("name").to_owned(),
        email: form.get("email").to_owned(),
        phone: optional("phone"),
        fiscal_code: optional("fiscal_code"),
        mode: form.get("mode").to_owned(),
        notes: optional("notes"),
        answers,
        privacy_accepted: form.checked("privacy_accepted"),
        lang: Lang::parse(form.get("email_lang")).unwrap_or(lang),
    }
}

#[allow(clippy::too_many_arguments)]
async fn book_page(
    state: &AppState,
    staff: &Staff,
    list: &[(Service, Office)],
    values: &Fields,
    errors: &Errors,
    unavailable: Option<String>,
    alternatives: &[Slot],
) -> Result<BookPage, PageError> {
    let lang = staff.lang;
    let t = &staff.tenant;
    let zone = zone_of(t);
    let today = state.now().to_zoned(zone.clone()).date();
    let wanted_service = values.get("service").parse::<i64>().ok().map(ServiceId);
    let chosen_pair = list.iter().find(|(s, _)| Some(s.id) == wanted_service);
    let mut query_errors = Errors::default();
    let day = match values.get("date").trim() {
        "" => Some(today),
        raw => parse_date(raw, lang, &mut query_errors, "date"),
    };
    let mut options = vec![Choice {
        value: String::new(),
        label: staff.t("Scegli il servizio…", "Choose the service…").into(),
        selected: chosen_pair.is_none(),
    }];
    options.extend(list.iter().map(|(s, o)| Choice {
        value: s.id.0.to_string(),
        label: format!("{} – {}", s.name, o.name),
        selected: Some(s.id) == wanted_service,
    }));
    let mut all_errors = errors.clone();
    for (k, v) in &query_errors.0 {
        all_errors.add(k, v.clone());
    }
    let mut date_values = Fields::default();
    date_values.set("date", day.unwrap_or(today).to_string());
    let service_field = ChoiceField::new("service", staff.t("Servizio", "Service"), options, &all_errors);
    let date_field = Field::new("date", staff.t("Giorno", "Day"), "date", &date_values, &all_errors).required();
    let (mut times, mut override_time, mut modes, mut questions) = (Vec::new(), None, Vec::new(), Vec::new());
    let chosen = chosen_pair.is_some() && day.is_some();
    if let (Some((service, office)), Some(day)) = (chosen_pair, day) {
        let slots = if alternatives.is_empty() {
            state.desk.slots_between(t, service, office, day, day).await.in_lang(lang).map_err(|e| staff.err(e))?
        } else {
            alternatives.to_vec()
        };
        let picked = values.get("start");
        times = slots
            .iter()
            .filter(|s| s.available > 0)
            .enumerate()
            .map(|(i, s)| {
                let value = s.start.timestamp().to_string();
                TimeChoice {
                    id: format!("f-start-{i}"),
                    checked: picked == value,
                    label: if alternatives.is_empty() {
                        s.start.strftime("%H:%M").to_string()
                    } else {
                        format!("{} {}", long_date(s.start.date(), lang), s.start.strftime("%H:%M"))
                    },
                    value,
                }
            })
            .collect();
        if staff.grant().manages_office(office.id) {
            override_time = Some(
                Field::new("override_time", staff.t("Orario fuori agenda (HH:MM)", "Time outside the bookable ones (HH:MM)"), "time", values, &all_errors)
                    .hint(staff.t(
                        "Solo per responsabili: prenota anche fuori orario, in un giorno di chiusura o senza preavviso. Gli sportelli occupati restano occupati.",
                        "Managers only: book outside hours, on a closed day or without notice. Taken seats stay taken.",
                    )),
            );
        }
        modes = service
            .rules
            .modes()
            .iter()
            .map(|m| Choice {
                value: m.as_str().to_owned(),
                label: mode_name(*m, lang).to_owned(),
                selected: values.get("mode") == m.as_str(),
            })
            .collect();
        questions = service
            .questions
            .iter()
            .map(|q| {
                let name = format!("{ANSWER_PREFIX}{}", q.key);
                let label = if q.required { format!("{} *", q.label) } else { q.label.clone() };
                match &q.kind {
                    QuestionKind::ShortText => QuestionField {
                        text: Some(Field::new(&name, &label, "text", values, &all_errors)),
                        choice: None,
                    },
                    QuestionKind::YesNo | QuestionKind::Choice { .. } => {
                        let opts: Vec<(String, String)> = match &q.kind {
                            QuestionKind::Choice { options } => {
                                options.iter().map(|o| (o.clone(), o.clone())).collect()
                            }
                            _ => vec![
                                ("yes".into(), staff.t("Sì", "Yes").into()),
                                ("no".into(), staff.t("No", "No").into()),
                            ],
                        };
                        let mut choices = vec![Choice {
                            value: String::new(),
                            label: "—".into(),
                            selected: values.get(&name).is_empty(),
                        }];
                        choices.extend(opts.into_iter().map(|(value, label)| Choice {
                            selected: values.get(&name) == value,
                            value,
                            label,
                        }));
                        QuestionField {
                            text: None,
                            choice: Some(ChoiceField::new(&name, &label, choices, &all_errors)),
                        }
                    }
                }
            })
            .collect();
    }
    if modes.len() == 1 {
        modes[0].selected = true;
    }
    let langs = [Lang::It, Lang::En]
        .map(|l| Choice {
            value: l.code().to_owned(),
            label: if l == Lang::It { "Italiano".into() } else { "English".into() },
            selected: values.get("email_lang") == l.code() || (values.get("email_lang").is_empty() && l == Lang::It),
        })
        .to_vec();
    Ok(BookPage {
        p: staff.page(staff.t("Prenota per un cittadino", "Book for a citizen")),
        summary: Summary::of(&all_errors),
        unavailable,
        service: service_field,
        date: date_field,
        chosen,
        service_value: wanted_service.map(|s| s.0.to_string()).unwrap_or_default(),
        date_value: day.unwrap_or(today).to_string(),
        day_label: long_date(day.unwrap_or(today), lang),
        times,
        times_error: all_errors.get("start"),
        override_time,
        override_checked: values.checked("outside_hours"),
        contact: vec![
            Field::new("name", staff.t("Nome e cognome", "Full name"), "text", values, &all_errors).required(),
            Field::new("email", staff.t("E-mail", "E-mail"), "email", values, &all_errors).hint(staff.t(
                "Se il cittadino ha un'e-mail riceverà la conferma con il suo link personale.",
                "If the citizen has an e-mail they get the confirmation with their personal link.",
            )),
            Field::new("phone", staff.t("Telefono", "Phone"), "tel", values, &all_errors).hint(staff.t(
                "Obbligatorio senza e-mail e per l'appuntamento telefonico.",
                "Required without an e-mail and for a phone appointment.",
            )),
            Field::new("fiscal_code", staff.t("Codice fiscale", "Fiscal code"), "text", values, &all_errors),
        ],
        mode: ChoiceField::new("mode", staff.t("Modalità", "Mode"), modes, &all_errors),
        questions,
        notes: Field::new(
            "notes",
            staff.t("Note per l'ufficio", "Notes for the office"),
            "textarea",
            values,
            &all_errors,
        ),
        email_lang: ChoiceField::new(
            "email_lang",
            staff.t("Lingua dei messaggi", "Language of messages"),
            langs,
            &all_errors,
        ),
        privacy_error: all_errors.get("privacy_accepted"),
        privacy_checked: values.checked("privacy_accepted"),
        // The key the form was first shown with, kept while it comes back with corrections.
        form_key: Some(values.get("form_key"))
            .filter(|k| ricevo_desk::tokens::looks_like_token(k))
            .map_or_else(ricevo_desk::tokens::new_token, str::to_owned),
    })
}

/// `GET /{tenant}/staff/book?service=&date=`: choose a service and day, then a time and the
/// citizen's details.
pub(crate) async fn book_form(
    State(state): State<AppState>,
    staff: Staff,
    q: QueryPairs,
) -> Result<Response, PageError> {
    let values = query_fields(q, staff.lang)?;
    let list = bookable(&state, &staff).await?;
    let page = book_page(&state, &staff, &list, &values, &Errors::default(), None, &[]).await?;
    let status = if page.summary.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render(status, &page))
}

/// `POST /{tenant}/staff/book`: books, then shows the code and the link to hand over.
pub(crate) async fn book_submit(
    State(state): State<AppState>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let lang = staff.lang;
    let t = &staff.tenant;
    let list = bookable(&state, &staff).await?;
    let Some((service, office)) =
        form.get("service").parse::<i64>().ok().and_then(|id| list.iter().find(|(s, _)| s.id.0 == id)).cloned()
    else {
        let mut errors = Errors::default();
        errors.add("service", staff.t("Scegli uno dei servizi elencati.", "Choose one of the listed services."));
        let page = book_page(&state, &staff, &list, &form, &errors, None, &[]).await?;
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let mut errors = Errors::default();
    let zone = zone_of(t);
    let outside_hours = form.checked("outside_hours");
    let start: Option<Timestamp> = if outside_hours {
        let day = parse_date(form.get("date"), lang, &mut errors, "date");
        let time = form.get("override_time").trim().parse::<Time>().ok();
        if time.is_none() {
            errors.add("override_time", staff.t("Scrivi l'orario come HH:MM.", "Write the time as HH:MM."));
        }
        day.zip(time).and_then(|(d, tm)| d.to_datetime(tm).to_zoned(zone.clone()).ok()).map(|z| z.timestamp())
    } else {
        let start = form.get("start").parse::<Timestamp>().ok();
        if start.is_none() {
            errors.add("start", staff.t("Scegli uno degli orari liberi.", "Choose one of the free times."));
        }
        start
    };
    let Some(start) = start.filter(|_| errors.is_empty()) else {
        let page = book_page(&state, &staff, &list, &form, &errors, None, &[]).await?;
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let idempotency = form_idempotency(&staff, &form);
    let req = StaffBooking { service_id: service.id, start, input: input_of(&form, lang), outside_hours, idempotency };
    let booked = match state.desk.book_on_behalf(t, &staff.grant(), req, lang).await {
        Ok(BookingResult::Booked { receipt, .. }) => {
            tracing::info!(tenant = %t.slug, user = %staff.user.id, appointment = %receipt.id, "booked for a citizen");
            Ok(Booked { reference: receipt.id, link: receipt.manage_url })
        }
        // The same form sent again: the booking it made, shown again, and nothing booked twice.
        Ok(BookingResult::Replay(first)) => match serde_json::from_str::<serde_json::Value>(&first.body) {
            Ok(v) => Ok(Booked {
                reference: v["id"].as_str().unwrap_or_default().to_owned(),
                link: v["manage_url"].as_str().unwrap_or_default().to_owned(),
            }),
            Err(_) => Err(DeskError::Conflict),
        },
        Err(e) => Err(e),
    };
    match booked {
        Ok(receipt) => {
            let when = start.to_zoned(zone.clone());
            let page = BookedPage {
                p: staff.page(staff.t("Appuntamento prenotato", "Appointment booked")),
                reference: receipt.reference,
                link: receipt.link,
                when: format!("{} {}", long_date(when.date(), lang), when.strftime("%H:%M")),
                service: service.name.clone(),
                office: office.name.clone(),
                citizen: form.get("name").trim().to_owned(),
                emailed: !form.get("email").trim().is_empty(),
                day_link: format!("{}?date={}", staff.base(), when.date()),
            };
            Ok(render(StatusCode::CREATED, &page))
        }
        Err(DeskError::IdempotencyMismatch) => Err(staff.err(ApiError::Conflict(lang))),
        Err(DeskError::Fields(found)) => {
            for f in found {
                errors.add(&form_field(&f.field), f.message);
            }
            let page = book_page(&state, &staff, &list, &form, &errors, None, &[]).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(DeskError::Unavailable { reason, alternatives }) => {
            let message = refusal_message(reason, lang).to_owned();
            let page = book_page(&state, &staff, &list, &form, &errors, Some(message), &alternatives).await?;
            Ok(render(StatusCode::CONFLICT, &page))
        }
        Err(e @ DeskError::CitizenLimit(_)) => {
            let message = ApiError::from_desk(lang, e).message();
            let page = book_page(&state, &staff, &list, &form, &errors, Some(message), &[]).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(staff.err(ApiError::from_desk(lang, e))),
    }
}

/// What a booking made by the form returns, first time or again.
struct Booked {
    reference: String,
    link: String,
}

/// The form's key and a hash of what it asks, as the desk's idempotency takes them: the same
/// form sent twice books once. The key is the staff member's own (their account and the
/// form's random key), so no two forms share one.
fn form_idempotency(staff: &Staff, form: &Fields) -> Option<(String, String)> {
    let key = form.get("form_key");
    if !ricevo_desk::tokens::looks_like_token(key) {
        return None;
    }
    let mut asked: Vec<(&str, &str)> =
        form.0.iter().filter(|(k, _)| k != "csrf" && k != "form_key").map(|(k, v)| (k.as_str(), v.as_str())).collect();
    asked.sort_unstable();
    let hash = ricevo_desk::tokens::hash(&serde_json::to_string(&asked).unwrap_or_default());
    Some((format!("staff-form:{}:{key}", staff.user.id.0), hash))
}

// ---- move and cancel with a reason ----

/// The confirmation of a cancel or a move, with the reason to give.
#[derive(Debug, Template)]
#[template(path = "staff/change.html")]
pub(crate) struct ChangePage {
    pub(crate) p: Page,
    pub(crate) summary: Summary,
    /// `cancel` or `move`.
    pub(crate) kind: &'static str,
    pub(crate) action: String,
    pub(crate) back: String,
    pub(crate) citizen: String,
    pub(crate) reference: String,
    pub(crate) service: String,
    pub(crate) when: String,
    pub(crate) emailed: bool,
    pub(crate) reason: Field,
    /// Move: the day whose free times are listed, and those times.
    pub(crate) date: Option<Field>,
    pub(crate) date_value: String,
    pub(crate) times: Vec<TimeChoice>,
    pub(crate) times_error: Option<String>,
    pub(crate) unavailable: Option<String>,
}

fn day_of(staff: &Staff, a: &Appointment) -> String {
    format!("{}?date={}", staff.base(), a.start.to_zoned(zone_of(&staff.tenant)).date())
}

#[allow(clippy::too_many_arguments)]
async fn change_page(
    state: &AppState,
    staff: &Staff,
    a: &Appointment,
    kind: &'static str,
    values: &Fields,
    errors: &Errors,
    unavailable: Option<String>,
) -> Result<ChangePage, PageError> {
    let lang = staff.lang;
    let t = &staff.tenant;
    let zone = zone_of(t);
    let (service, office) =
        state.desk.service_and_office(t, a.service_id).await.in_lang(lang).map_err(|e| staff.err(e))?;
    let start = a.start.to_zoned(zone.clone());
    let mut errors = errors.clone();
    let (mut date, mut date_value, mut times) = (None, String::new(), Vec::new());
    if kind == "move" {
        let day = match values.get("date").trim() {
            "" => Some(start.date()),
            raw => parse_date(raw, lang, &mut errors, "date"),
        }
        .unwrap_or(start.date());
        let mut v = Fields::default();
        v.set("date", day.to_string());
        date = Some(Field::new("date", staff.t("Giorno", "Day"), "date", &v, &errors).required());
        date_value = day.to_string();
        let slots =
            state.desk.slots_between(t, &service, &office, day, day).await.in_lang(lang).map_err(|e| staff.err(e))?;
        times = slots
            .iter()
            .filter(|s| s.available > 0 && s.start.timestamp() != a.start)
            .enumerate()
            .map(|(i, s)| {
                let value = s.start.timestamp().to_string();
                TimeChoice {
                    id: format!("f-start-{i}"),
                    checked: values.get("start") == value,
                    label: s.start.strftime("%H:%M").to_string(),
                    value,
                }
            })
            .collect();
    }
    let title = match kind {
        "cancel" => staff.t("Annulla l'appuntamento", "Cancel the appointment"),
        _ => staff.t("Sposta l'appuntamento", "Move the appointment"),
    };
    Ok(ChangePage {
        p: staff.page(title),
        summary: Summary::of(&errors),
        kind,
        action: format!("{}/appointments/{}/{kind}", staff.base(), a.id.0),
        back: day_of(staff, a),
        citizen: a.citizen_name.clone(),
        reference: a.public_id.clone(),
        service: service.name,
        when: format!("{} {}", long_date(start.date(), lang), start.strftime("%H:%M")),
        emailed: !a.citizen_email.trim().is_empty(),
        reason: Field::new(
            "reason",
            staff.t("Motivo, comunicato al cittadino", "Reason, told to the citizen"),
            "text",
            values,
            &errors,
        )
        .required()
        .hint(staff.t("Una frase, da 3 a 300 caratteri.", "One sentence, 3 to 300 characters.")),
        date,
        date_value,
        times_error: errors.get("start"),
        times,
        unavailable,
    })
}

async fn load(state: &AppState, staff: &Staff, id: &str) -> Result<Appointment, PageError> {
    let id = AppointmentId(path_id(id, staff.lang)?);
    let a = state
        .desk
        .appointment_for(&staff.tenant, &staff.grant(), id)
        .await
        .in_lang(staff.lang)
        .map_err(|e| staff.err(e))?;
    if !a.status.is_active() {
        return Err(staff.err(ApiError::NotActive(staff.lang)));
    }
    Ok(a)
}

/// `GET /{tenant}/staff/appointments/{id}/cancel`: asks for confirmation and a reason.
pub(crate) async fn cancel_form(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    staff: Staff,
) -> Result<Response, PageError> {
    let a = load(&state, &staff, &id).await?;
    let page = change_page(&state, &staff, &a, "cancel", &Fields::default(), &Errors::default(), None).await?;
    Ok(render(StatusCode::OK, &page))
}

/// `POST /{tenant}/staff/appointments/{id}/cancel`: cancels and tells the citizen why.
pub(crate) async fn cancel_submit(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let a = load(&state, &staff, &id).await?;
    let reason = match Reason::parse(form.get("reason")) {
        Ok(r) => r,
        Err(e) => {
            let mut errors = Errors::default();
            errors.add("reason", e.message(staff.lang));
            let page = change_page(&state, &staff, &a, "cancel", &form, &errors, None).await?;
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    state
        .desk
        .cancel_with_reason(&staff.tenant, &staff.grant(), a.id, &reason)
        .await
        .in_lang(staff.lang)
        .map_err(|e| staff.err(e))?;
    tracing::info!(tenant = %staff.tenant.slug, user = %staff.user.id, appointment = %a.public_id, "cancelled with a reason");
    Ok(see_other(&day_of(&staff, &a)))
}

/// `GET /{tenant}/staff/appointments/{id}/move?date=`: the free times of a day and a reason.
pub(crate) async fn move_form(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    staff: Staff,
    q: QueryPairs,
) -> Result<Response, PageError> {
    let values = query_fields(q, staff.lang)?;
    let a = load(&state, &staff, &id).await?;
    let page = change_page(&state, &staff, &a, "move", &values, &Errors::default(), None).await?;
    let status = if page.summary.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render(status, &page))
}

/// `POST /{tenant}/staff/appointments/{id}/move`: moves and tells the citizen why.
pub(crate) async fn move_submit(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let lang = staff.lang;
    let a = load(&state, &staff, &id).await?;
    let mut errors = Errors::default();
    let reason = Reason::parse(form.get("reason")).map_err(|e| errors.add("reason", e.message(lang))).ok();
    let start = form.get("start").parse::<Timestamp>().ok();
    if start.is_none() {
        errors.add("start", staff.t("Scegli uno degli orari liberi.", "Choose one of the free times."));
    }
    let (Some(reason), Some(start)) = (reason, start) else {
        let page = change_page(&state, &staff, &a, "move", &form, &errors, None).await?;
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    match state.desk.move_with_reason(&staff.tenant, &staff.grant(), a.id, start, Some(&reason)).await {
        Ok(moved) => {
            tracing::info!(tenant = %staff.tenant.slug, user = %staff.user.id, appointment = %a.public_id, "moved with a reason");
            Ok(see_other(&day_of(&staff, &moved)))
        }
        Err(DeskError::Unavailable { reason, .. }) => {
            let page =
                change_page(&state, &staff, &a, "move", &form, &errors, Some(refusal_message(reason, lang).to_owned()))
                    .await?;
            Ok(render(StatusCode::CONFLICT, &page))
        }
        Err(e) => Err(staff.err(ApiError::from_desk(lang, e))),
    }
}
