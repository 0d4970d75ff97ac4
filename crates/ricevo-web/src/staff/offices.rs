//! Offices for administrators and their managers: office data, weekly hours, closures and
//! services with their intake questions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::civil::{Time, Weekday};
use ricevo_core::hours::{OpeningHours, WeeklyRange};
use ricevo_core::service::{IntakeQuestion, ServiceError, ServiceRules, check_questions};
use ricevo_core::{Email, Lang, Mode, OfficeId, ServiceId};
use ricevo_desk::DeskError;
use ricevo_desk::offices::{
    ClosurePlan, PlannedRange, WeekPlan, check_closure, check_hours, range_end_field, range_start_field,
};
use ricevo_store::{NewOffice, NewService, Office, Role, Service};

use super::common::{
    Errors, Fields, PageError, Posted, Staff, int_field, optional_line, path_id, render, required_line, see_other,
    text_block, tr,
};
use super::views::{
    Choice, ChoiceField, ClosureItem, DayHours, Field, OfficePage, OfficeRow, OfficesPage, ServiceItem, ServicePage,
    Summary, mode_name, weekday_name,
};
use crate::error::InLang;
use crate::state::AppState;

fn office_link(staff: &Staff, id: OfficeId) -> String {
    format!("{}/offices/{}", staff.base(), id.0)
}

/// The office of the URL, if this account manages it (the desk decides).
async fn managed_office(state: &AppState, staff: &Staff, raw: &str) -> Result<Office, PageError> {
    // Operators may not manage anything, not even learn which offices exist (nor whether an
    // office id is well formed).
    if staff.user.role == Role::Operator {
        return Err(staff.forbidden());
    }
    let id = OfficeId(path_id(raw, staff.lang)?);
    state.desk.managed_office(&staff.tenant, &staff.grant(), id).await.in_lang(staff.lang).map_err(|e| staff.err(e))
}

/// A refusal of the desk on a form page: its field errors to show next to the fields (those
/// named `other` when the form has no such field), anything else as an error page.
fn form_errors(staff: &Staff, e: DeskError, fields: &[&str], other: &str) -> Result<Errors, PageError> {
    match e {
        DeskError::Fields(found) => {
            let mut errors = Errors::default();
            for f in found {
                let name = if fields.contains(&f.field.as_str()) { f.field.as_str() } else { other };
                errors.add(name, f.message);
            }
            Ok(errors)
        }
        other => Err(staff.err(crate::error::ApiError::from_desk(staff.lang, other))),
    }
}

// ---- office data ----

fn office_values(o: &Office) -> Fields {
    let mut v = Fields::default();
    v.set("name", o.name.clone());
    v.set("description", o.description.clone());
    v.set("address", o.address.clone());
    v.set("contact_email", o.contact_email.clone());
    v
}

fn office_fields(lang: Lang, values: &Fields, errors: &Errors) -> Vec<Field> {
    vec![
        Field::new("name", tr(lang, "Nome", "Name"), "text", values, errors).required(),
        Field::new("description", tr(lang, "Descrizione", "Description"), "textarea", values, errors),
        Field::new(
            "address",
            tr(lang, "Indirizzo per gli incontri in presenza", "Address for in-person visits"),
            "text",
            values,
            errors,
        )
        .autocomplete("street-address"),
        Field::new("contact_email", tr(lang, "E-mail dell'ufficio", "Office e-mail"), "email", values, errors)
            .required()
            .autocomplete("email"),
    ]
}

fn parse_office(form: &Fields, lang: Lang) -> Result<NewOffice, Errors> {
    let mut errors = Errors::default();
    let name = required_line(form, "name", 120, lang, &mut errors);
    let description = text_block(form, "description", 2000, lang, &mut errors);
    let address = optional_line(form, "address", 200, lang, &mut errors);
    let contact_email = match Email::parse(form.get("contact_email")) {
        Ok(e) => e.as_str().to_owned(),
        Err(e) => {
            errors.add("contact_email", e.message(lang));
            String::new()
        }
    };
    if errors.is_empty() { Ok(NewOffice { name, description, address, contact_email }) } else { Err(errors) }
}

// ---- hours ----

/// Minutes since midnight as a clock time, `09:05`.
pub(crate) fn hhmm(minutes: i32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn hours_values(rows: &[ricevo_store::RangeRow], desks: i32) -> Fields {
    let mut v = Fields::default();
    v.set("desks", desks.to_string());
    for day in 1..=7 {
        let mut ranges: Vec<_> = rows.iter().filter(|r| r.weekday == day).collect();
        ranges.sort_by_key(|r| r.start_minute);
        for (k, r) in ranges.iter().take(2).enumerate() {
            v.set(&format!("d{day}_from{}", k + 1), hhmm(r.start_minute));
            v.set(&format!("d{day}_to{}", k + 1), hhmm(r.end_minute));
        }
    }
    v
}

fn parse_hhmm(raw: &str) -> Option<Time> {
    let (h, rest) = raw.trim().split_once(':')?;
    // Browsers may add seconds ("09:00:00").
    let m = rest.strip_suffix(":00").unwrap_or(rest);
    let ok = |s: &str| (1..=2).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !ok(h) || !ok(m) {
        return None;
    }
    Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
}

fn parse_hours(form: &Fields, lang: Lang) -> Result<OpeningHours, Errors> {
    let mut errors = Errors::default();
    // A desk count that is not a number is this form's problem; the desk's rules check the rest
    // (a placeholder of one desk lets them check the ranges meanwhile).
    let desks = int_field(form, "desks", lang, &mut errors).unwrap_or(1);
    let mut plan = WeekPlan { desks, ranges: Vec::new() };
    // The form's fields of each planned range, for the desk's field errors.
    let mut names: Vec<(String, String)> = Vec::new();
    for day in 1..=7i8 {
        let Ok(weekday) = Weekday::from_monday_one_offset(day) else { continue };
        for k in 1..=2 {
            let (from_name, to_name) = (format!("d{day}_from{k}"), format!("d{day}_to{k}"));
            let (from_raw, to_raw) = (form.get(&from_name).trim(), form.get(&to_name).trim());
            if from_raw.is_empty() && to_raw.is_empty() {
                continue;
            }
            let both =
                tr(lang, "Indica sia l'apertura sia la chiusura.", "Give both the opening and the closing time.");
            let bad = tr(lang, "Orario non valido: usa il formato HH:MM.", "Invalid time: use HH:MM.");
            let mut parse = |name: &str, raw: &str| {
                if raw.is_empty() {
                    errors.add(name, both);
                    None
                } else {
                    parse_hhmm(raw).or_else(|| {
                        errors.add(name, bad);
                        None
                    })
                }
            };
            let (Some(start), Some(end)) = (parse(&from_name, from_raw), parse(&to_name, to_raw)) else { continue };
            plan.ranges.push(PlannedRange { weekday, start, end });
            names.push((from_name, to_name));
        }
    }
    match check_hours(&plan, lang) {
        Ok(hours) if errors.is_empty() => Ok(hours),
        Ok(_) => Err(errors),
        Err(found) => {
            for f in found {
                let name = (0..names.len())
                    .find_map(|i| {
                        if f.field == range_start_field(i) {
                            Some(names[i].0.as_str())
                        } else if f.field == range_end_field(i) {
                            Some(names[i].1.as_str())
                        } else {
                            None
                        }
                    })
                    .unwrap_or(f.field.as_str());
                // A field keeps its first problem (a desk count that is not a number).
                errors.add(name, f.message);
            }
            Err(errors)
        }
    }
}

/// Opening hours as the desk's plan of a week.
fn week_plan(hours: &OpeningHours) -> WeekPlan {
    WeekPlan {
        desks: i32::from(hours.desks()),
        ranges: hours
            .ranges()
            .iter()
            .map(|r: &WeeklyRange| PlannedRange { weekday: r.weekday(), start: r.start(), end: r.end() })
            .collect(),
    }
}

fn day_fields(lang: Lang, values: &Fields, errors: &Errors) -> Vec<DayHours> {
    (1..=7i8)
        .map(|d| {
            let name = weekday_name(d, lang);
            let f = |n: &str, label: &str| {
                Field::new(&format!("d{d}_{n}"), &format!("{name}: {label}"), "time", values, errors)
            };
            DayHours {
                name: name.to_owned(),
                from1: f("from1", tr(lang, "apertura", "opens")),
                to1: f("to1", tr(lang, "chiusura", "closes")),
                from2: f("from2", tr(lang, "seconda apertura", "opens again")),
                to2: f("to2", tr(lang, "seconda chiusura", "closes again")),
            }
        })
        .collect()
}

// ---- closures ----

fn parse_closure(form: &Fields, lang: Lang) -> Result<ClosurePlan, Errors> {
    let mut errors = Errors::default();
    let mut date = |name: &str| {
        ricevo_core::day::Day::parse(form.get(name))
            .map(ricevo_core::day::Day::date)
            .map_err(|e| errors.add(name, crate::error::day_error_message(e, lang)))
    };
    let (first, last) = (date("first_day"), date("last_day"));
    let reason = optional_line(form, "reason", ricevo_desk::offices::MAX_CLOSURE_REASON, lang, &mut errors);
    let (Ok(first), Ok(last)) = (first, last) else { return Err(errors) };
    if !errors.is_empty() {
        return Err(errors);
    }
    let plan = ClosurePlan { first, last, reason };
    match check_closure(&plan, lang) {
        Ok(_) => Ok(plan),
        Err(found) => {
            for f in found {
                errors.add(&f.field, f.message);
            }
            Err(errors)
        }
    }
}

fn closure_fields(lang: Lang, values: &Fields, errors: &Errors) -> Vec<Field> {
    vec![
        Field::new("first_day", tr(lang, "Primo giorno di chiusura", "First closed day"), "date", values, errors)
            .required(),
        Field::new("last_day", tr(lang, "Ultimo giorno di chiusura", "Last closed day"), "date", values, errors)
            .required(),
        Field::new("reason", tr(lang, "Motivo", "Reason"), "text", values, errors),
    ]
}

// ---- the office page ----

/// Which form of the office page failed, with what was typed.
#[derive(Debug, Default)]
struct Typed {
    data: Option<Fields>,
    hours: Option<Fields>,
    closure: Option<Fields>,
}

async fn office_page(
    state: &AppState,
    staff: &Staff,
    office: &Office,
    typed: Typed,
    errors: &Errors,
) -> Result<Response, PageError> {
    let lang = staff.lang;
    let t = &staff.tenant;
    let db = |e: ricevo_store::StoreError| staff.err(e.into());
    let hours = state.store.hours(t.id, office.id).await.map_err(db)?;
    let closures = state.store.closures(t.id, office.id).await.map_err(db)?;
    let services = state.store.services(t.id).await.map_err(db)?;
    let link = office_link(staff, office.id);
    let data = typed.data.unwrap_or_else(|| office_values(office));
    let hours_v = typed.hours.unwrap_or_else(|| hours_values(&hours, office.desks));
    let closure_v = typed.closure.unwrap_or_default();
    let page = OfficePage {
        p: staff.page(&format!("{}: {}", staff.t("Ufficio", "Office"), office.name)),
        summary: Summary::of(errors),
        action: link.clone(),
        data: office_fields(lang, &data, errors),
        desks: Field::new("desks", staff.t("Sportelli in parallelo", "Parallel desks"), "number", &hours_v, errors)
            .required()
            .hint(staff.t(
                "Quanti cittadini l'ufficio riceve nello stesso momento.",
                "How many citizens the office receives at once.",
            )),
        days: day_fields(lang, &hours_v, errors),
        hours_error: errors.get("hours"),
        closures: closures
            .into_iter()
            .map(|c| ClosureItem {
                delete: format!("{link}/closures/{}/delete", c.id),
                first: c.first_day,
                last: c.last_day,
                reason: c.reason,
            })
            .collect(),
        closure: closure_fields(lang, &closure_v, errors),
        services: services
            .into_iter()
            .filter(|s| s.office_id == office.id)
            .map(|s| ServiceItem {
                link: format!("{}/services/{}", staff.base(), s.id.0),
                duration: s.rules.duration_minutes(),
                modes: s.rules.modes().iter().map(|m| mode_name(*m, lang)).collect::<Vec<_>>().join(", "),
                active: s.active,
                name: s.name,
            })
            .collect(),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render(status, &page))
}

async fn offices_page(state: &AppState, staff: &Staff, typed: &Fields, errors: &Errors) -> Result<Response, PageError> {
    let grant = staff.grant();
    let offices = state.store.offices(staff.tenant.id).await.map_err(|e| staff.err(e.into()))?;
    let page = OfficesPage {
        p: staff.page(staff.t("Uffici", "Offices")),
        offices: offices
            .into_iter()
            .filter(|o| grant.covers_office(o.id))
            .map(|o| OfficeRow { link: office_link(staff, o.id), name: o.name, address: o.address, desks: o.desks })
            .collect(),
        create: staff.is_admin().then(|| office_fields(staff.lang, typed, errors)),
        summary: Summary::of(errors),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render(status, &page))
}

/// `GET /{tenant}/staff/offices`: the offices this account manages.
pub(crate) async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    if staff.user.role == Role::Operator {
        return Err(staff.forbidden());
    }
    offices_page(&state, &staff, &Fields::default(), &Errors::default()).await
}

/// `POST /{tenant}/staff/offices`: creates an office (administrators).
pub(crate) async fn create(
    State(state): State<AppState>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    match parse_office(&form, staff.lang) {
        Ok(new) => {
            let o = state
                .desk
                .create_office(&staff.tenant, &staff.grant(), &new)
                .await
                .in_lang(staff.lang)
                .map_err(|e| staff.err(e))?;
            tracing::info!(tenant = %staff.tenant.slug, user = %staff.user.id, office = %o.id, "office created");
            Ok(see_other(&office_link(&staff, o.id)))
        }
        Err(errors) => offices_page(&state, &staff, &form, &errors).await,
    }
}

/// `GET /{tenant}/staff/offices/{office}`: an office's data, hours, closures and services.
pub(crate) async fn show(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    staff: Staff,
) -> Result<Response, PageError> {
    let office = managed_office(&state, &staff, &id).await?;
    office_page(&state, &staff, &office, Typed::default(), &Errors::default()).await
}

/// `POST /{tenant}/staff/offices/{office}`: saves the office's data.
pub(crate) async fn update(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let office = managed_office(&state, &staff, &id).await?;
    match parse_office(&form, staff.lang) {
        Ok(new) => {
            state
                .desk
                .update_office(&staff.tenant, &staff.grant(), office.id, &new)
                .await
                .in_lang(staff.lang)
                .map_err(|e| staff.err(e))?;
            Ok(see_other(&office_link(&staff, office.id)))
        }
        Err(errors) => {
            office_page(&state, &staff, &office, Typed { data: Some(form), ..Typed::default() }, &errors).await
        }
    }
}

/// `POST /{tenant}/staff/offices/{office}/hours`: replaces the weekly hours and desks.
pub(crate) async fn set_hours(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let office = managed_office(&state, &staff, &id).await?;
    match parse_hours(&form, staff.lang) {
        Ok(hours) => {
            let (grant, plan) = (staff.grant(), week_plan(&hours));
            if let Err(e) = state.desk.set_hours(&staff.tenant, &grant, office.id, &plan, staff.lang).await {
                let errors = form_errors(&staff, e, &["desks"], "hours")?;
                let typed = Typed { hours: Some(form), ..Typed::default() };
                return office_page(&state, &staff, &office, typed, &errors).await;
            }
            tracing::info!(tenant = %staff.tenant.slug, user = %staff.user.id, office = %office.id, "hours set");
            Ok(see_other(&format!("{}#office-hours", office_link(&staff, office.id))))
        }
        Err(errors) => {
            office_page(&state, &staff, &office, Typed { hours: Some(form), ..Typed::default() }, &errors).await
        }
    }
}

/// `POST /{tenant}/staff/offices/{office}/closures`: adds a closure. Over days with active
/// appointments it first shows who is affected; confirmed (`confirm=1`), it saves the closure
/// and cancels those appointments, telling each citizen.
pub(crate) async fn add_closure(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let office = managed_office(&state, &staff, &id).await?;
    match parse_closure(&form, staff.lang) {
        Ok(plan) => {
            // ---- a closure over booked days (booking): first who is affected, then save and tell ----
            let grant = staff.grant();
            let back = format!("{}#office-closures", office_link(&staff, office.id));
            if form.get("confirm") != "1" {
                match state.desk.closure_preview(&staff.tenant, &grant, office.id, &plan, staff.lang).await {
                    Ok(affected) if !affected.is_empty() => {
                        return super::closure_notice::page(&state, &staff, &office, &plan, &affected, false, back)
                            .await;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let errors = form_errors(&staff, e, &["first_day", "last_day", "reason"], "last_day")?;
                        let typed = Typed { closure: Some(form), ..Typed::default() };
                        return office_page(&state, &staff, &office, typed, &errors).await;
                    }
                }
            }
            match state.desk.close_and_tell(&staff.tenant, &grant, office.id, &plan, staff.lang).await {
                Ok(saved) if !saved.cancelled.is_empty() => {
                    super::closure_notice::page(&state, &staff, &office, &plan, &saved.cancelled, true, back).await
                }
                Ok(_) => Ok(see_other(&back)),
                Err(e) => {
                    let errors = form_errors(&staff, e, &["first_day", "last_day", "reason"], "last_day")?;
                    let typed = Typed { closure: Some(form), ..Typed::default() };
                    office_page(&state, &staff, &office, typed, &errors).await
                }
            }
        }
        Err(errors) => {
            office_page(&state, &staff, &office, Typed { closure: Some(form), ..Typed::default() }, &errors).await
        }
    }
}

/// `POST /{tenant}/staff/offices/{office}/closures/{closure}/delete`: removes a closure.
pub(crate) async fn delete_closure(
    State(state): State<AppState>,
    Path((_, id, closure)): Path<(String, String, String)>,
    Posted { staff, .. }: Posted,
) -> Result<Response, PageError> {
    let office = managed_office(&state, &staff, &id).await?;
    let closure = path_id(&closure, staff.lang)?;
    state
        .desk
        .delete_closure(&staff.tenant, &staff.grant(), office.id, closure)
        .await
        .in_lang(staff.lang)
        .map_err(|e| staff.err(e))?;
    Ok(see_other(&format!("{}#office-closures", office_link(&staff, office.id))))
}

// ---- services ----

fn service_values(s: &Service) -> Fields {
    let mut v = Fields::default();
    v.set("name", s.name.clone());
    v.set("description", s.description.clone());
    v.set("what_to_bring", s.what_to_bring.clone());
    v.set("duration", s.rules.duration_minutes().to_string());
    v.set("buffer", s.rules.buffer_minutes().to_string());
    v.set("notice_hours", s.rules.min_notice_hours().to_string());
    v.set("horizon_days", s.rules.horizon_days().to_string());
    for m in s.rules.modes() {
        v.0.push(("modes".into(), m.as_str().into()));
    }
    if s.active {
        v.set("active", "1");
    }
    v.set("questions", serde_json::to_string_pretty(&s.questions).unwrap_or_else(|_| "[]".into()));
    v
}

fn new_service_values() -> Fields {
    let mut v = Fields::default();
    v.set("duration", "20");
    v.set("buffer", "5");
    v.set("notice_hours", "24");
    v.set("horizon_days", "60");
    v.set("active", "1");
    v.set("questions", "[]");
    v
}

fn parse_questions(raw: &str, lang: Lang) -> Result<Vec<IntakeQuestion>, String> {
    if raw.trim().is_empty() {
        return Ok(Vec::new());
    }
    let questions: Vec<IntakeQuestion> = serde_json::from_str(raw).map_err(|e| match lang {
        Lang::It => format!(
            "Domande non valide alla riga {}, colonna {}: serve un elenco JSON di domande come nell'esempio ({e}).",
            e.line(),
            e.column()
        ),
        Lang::En => format!(
            "Invalid questions at line {}, column {}: a JSON list of questions as in the example is needed ({e}).",
            e.line(),
            e.column()
        ),
    })?;
    check_questions(&questions, lang)?;
    Ok(questions)
}

fn parse_service(form: &Fields, office: OfficeId, lang: Lang) -> Result<NewService, Errors> {
    let mut errors = Errors::default();
    let name = required_line(form, "name", 120, lang, &mut errors);
    let description = text_block(form, "description", 2000, lang, &mut errors);
    let what_to_bring = text_block(form, "what_to_bring", 2000, lang, &mut errors);
    let duration = int_field(form, "duration", lang, &mut errors);
    let buffer = int_field(form, "buffer", lang, &mut errors);
    let notice = int_field(form, "notice_hours", lang, &mut errors);
    let horizon = int_field(form, "horizon_days", lang, &mut errors);
    let mut modes = Vec::new();
    for raw in form.all("modes") {
        match Mode::parse(raw) {
            Some(m) => modes.push(m),
            None => errors.add("modes", tr(lang, "Modalità sconosciuta.", "Unknown mode.")),
        }
    }
    let questions = parse_questions(form.get("questions"), lang).unwrap_or_else(|e| {
        errors.add("questions", e);
        Vec::new()
    });
    let rules = match (duration, buffer, notice, horizon) {
        (Some(d), Some(b), Some(n), Some(h)) => ServiceRules::new(d, b, modes, n, h)
            .map_err(|e| {
                let field = match e {
                    ServiceError::BadDuration => "duration",
                    ServiceError::BadBuffer => "buffer",
                    ServiceError::NoMode => "modes",
                    ServiceError::BadHorizon => "horizon_days",
                    ServiceError::BadNotice => "notice_hours",
                };
                errors.add(field, e.message(lang));
            })
            .ok(),
        _ => None,
    };
    match rules {
        Some(rules) if errors.is_empty() => Ok(NewService {
            office_id: office,
            name,
            description,
            rules,
            what_to_bring,
            questions,
            active: form.checked("active"),
        }),
        _ => Err(errors),
    }
}

const QUESTIONS_EXAMPLE: &str = r#"[{"key": "spid", "label": "Hai lo SPID?", "type": "yes_no", "required": true}, {"key": "tipo", "label": "Tipo di pratica", "type": "choice", "options": ["Primo rilascio", "Rinnovo"]}, {"key": "nota", "label": "Numero di protocollo", "type": "short_text"}]"#;

fn service_page(
    staff: &Staff,
    office: &Office,
    service: Option<&Service>,
    values: &Fields,
    errors: &Errors,
) -> Response {
    let lang = staff.lang;
    let ticked: Vec<&str> = values.all("modes").collect();
    let modes = Mode::ALL
        .iter()
        .map(|m| Choice {
            value: m.as_str().into(),
            label: mode_name(*m, lang).into(),
            selected: ticked.contains(&m.as_str()),
        })
        .collect();
    let title = match service {
        Some(s) => format!("{}: {}", staff.t("Servizio", "Service"), s.name),
        None => staff.t("Nuovo servizio", "New service").to_owned(),
    };
    let action = match service {
        Some(s) => format!("{}/services/{}", staff.base(), s.id.0),
        None => format!("{}/services/new", office_link(staff, office.id)),
    };
    let num =
        |name: &str, label: &str, hint: &str| Field::new(name, label, "number", values, errors).required().hint(hint);
    let page = ServicePage {
        p: staff.page(&title),
        summary: Summary::of(errors),
        office_name: office.name.clone(),
        office_link: office_link(staff, office.id),
        action,
        is_new: service.is_none(),
        texts: vec![
            Field::new("name", tr(lang, "Nome", "Name"), "text", values, errors).required(),
            Field::new("description", tr(lang, "Descrizione", "Description"), "textarea", values, errors),
            Field::new("what_to_bring", tr(lang, "Cosa portare", "What to bring"), "textarea", values, errors),
        ],
        numbers: vec![
            num(
                "duration",
                tr(lang, "Durata (minuti)", "Duration (minutes)"),
                tr(lang, "Da 5 a 480, a multipli di 5.", "5 to 480, in steps of 5."),
            ),
            num(
                "buffer",
                tr(lang, "Pausa dopo l'incontro (minuti)", "Pause after the meeting (minutes)"),
                tr(lang, "Da 0 a 120, a multipli di 5.", "0 to 120, in steps of 5."),
            ),
            num(
                "notice_hours",
                tr(lang, "Preavviso minimo (ore)", "Minimum notice (hours)"),
                tr(lang, "Da 0 a 720.", "0 to 720."),
            ),
            num(
                "horizon_days",
                tr(lang, "Prenotabile fino a (giorni)", "Bookable up to (days ahead)"),
                tr(lang, "Da 1 a 730.", "1 to 730."),
            ),
        ],
        modes: ChoiceField::new("modes", tr(lang, "Modalità offerte", "Modes offered"), modes, errors),
        active: values.checked("active"),
        questions: Field::new(
            "questions",
            tr(lang, "Domande al cittadino (JSON)", "Questions for the citizen (JSON)"),
            "textarea",
            values,
            errors,
        )
        .hint(&format!(
            "{} {QUESTIONS_EXAMPLE}",
            tr(
                lang,
                "Un elenco JSON; \"type\" è short_text, yes_no o choice (con \"options\"). Esempio:",
                "A JSON list; \"type\" is short_text, yes_no or choice (with \"options\"). Example:"
            )
        )),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    render(status, &page)
}

/// `GET /{tenant}/staff/offices/{office}/services/new`: the form of a new service.
pub(crate) async fn new_service(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    staff: Staff,
) -> Result<Response, PageError> {
    let office = managed_office(&state, &staff, &id).await?;
    Ok(service_page(&staff, &office, None, &new_service_values(), &Errors::default()))
}

/// `POST /{tenant}/staff/offices/{office}/services/new`: creates a service.
pub(crate) async fn create_service(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let office = managed_office(&state, &staff, &id).await?;
    match parse_service(&form, office.id, staff.lang) {
        Ok(new) => {
            let s = match state.desk.create_service(&staff.tenant, &staff.grant(), &new, staff.lang).await {
                Ok(s) => s,
                Err(DeskError::Invalid(message)) => {
                    let mut errors = Errors::default();
                    errors.add("questions", message);
                    return Ok(service_page(&staff, &office, None, &form, &errors));
                }
                Err(e) => return Err(staff.err(crate::error::ApiError::from_desk(staff.lang, e))),
            };
            tracing::info!(tenant = %staff.tenant.slug, user = %staff.user.id, service = %s.id, "service created");
            Ok(see_other(&format!("{}#office-services", office_link(&staff, office.id))))
        }
        Err(errors) => Ok(service_page(&staff, &office, None, &form, &errors)),
    }
}

/// The service of the URL and its office, if this account manages that office (the desk
/// decides).
async fn managed_service(state: &AppState, staff: &Staff, raw: &str) -> Result<(Service, Office), PageError> {
    let id = ServiceId(path_id(raw, staff.lang)?);
    state.desk.managed_service(&staff.tenant, &staff.grant(), id).await.in_lang(staff.lang).map_err(|e| staff.err(e))
}

/// `GET /{tenant}/staff/services/{service}`: a service's form.
pub(crate) async fn edit_service(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    staff: Staff,
) -> Result<Response, PageError> {
    let (service, office) = managed_service(&state, &staff, &id).await?;
    Ok(service_page(&staff, &office, Some(&service), &service_values(&service), &Errors::default()))
}

/// `POST /{tenant}/staff/services/{service}`: saves a service (it stays with its office).
pub(crate) async fn update_service(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let (service, office) = managed_service(&state, &staff, &id).await?;
    match parse_service(&form, office.id, staff.lang) {
        Ok(new) => {
            match state.desk.update_service(&staff.tenant, &staff.grant(), service.id, &new, staff.lang).await {
                Ok(()) => {}
                Err(DeskError::Invalid(message)) => {
                    let mut errors = Errors::default();
                    errors.add("questions", message);
                    return Ok(service_page(&staff, &office, Some(&service), &form, &errors));
                }
                Err(e) => return Err(staff.err(crate::error::ApiError::from_desk(staff.lang, e))),
            }
            tracing::info!(tenant = %staff.tenant.slug, user = %staff.user.id, service = %service.id, "service updated");
            Ok(see_other(&format!("{}#office-services", office_link(&staff, office.id))))
        }
        Err(errors) => Ok(service_page(&staff, &office, Some(&service), &form, &errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Fields {
        Fields(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn minutes_print_as_clock_times() {
        assert_eq!(hhmm(9 * 60 + 5), "09:05");
        assert_eq!(hhmm(0), "00:00");
    }

    #[test]
    fn hours_forms_accept_two_ranges_a_day_and_tie_each_problem_to_its_field() {
        let ok = form(&[
            ("desks", "2"),
            ("d1_from1", "09:00"),
            ("d1_to1", "12:30"),
            ("d1_from2", "15:00"),
            ("d1_to2", "17:00"),
        ]);
        let hours = parse_hours(&ok, Lang::It).expect("valid hours");
        assert_eq!(hours.desks(), 2);
        assert_eq!(hours.ranges().len(), 2);

        let bad = form(&[
            ("desks", "0"),
            ("d2_from1", "12:00"),
            ("d2_to1", "09:00"),
            ("d3_from1", "9:03"),
            ("d3_to1", "10:00"),
            ("d4_from1", "09:00"),
        ]);
        let errors = parse_hours(&bad, Lang::En).expect_err("invalid hours");
        assert_eq!(errors.get("desks").as_deref(), Some("At least one desk is needed."));
        assert!(errors.get("d2_to1").is_some_and(|e| e.contains("closing time")));
        assert!(errors.get("d3_from1").is_some_and(|e| e.contains("5 minutes")));
        assert!(errors.get("d4_to1").is_some_and(|e| e.contains("both")));

        let overlap = form(&[
            ("desks", "1"),
            ("d5_from1", "09:00"),
            ("d5_to1", "12:00"),
            ("d5_from2", "11:00"),
            ("d5_to2", "13:00"),
        ]);
        assert!(parse_hours(&overlap, Lang::It).expect_err("overlap").get("d5_from2").is_some());
    }

    #[test]
    fn intake_questions_are_read_from_json_with_a_clear_error() {
        assert_eq!(parse_questions("", Lang::It), Ok(Vec::new()));
        let qs = parse_questions(QUESTIONS_EXAMPLE, Lang::It).expect("the example is valid");
        assert_eq!(qs.len(), 3);
        let e = parse_questions("[{\"key\": \"x\"", Lang::En).expect_err("truncated JSON");
        assert!(e.contains("line 1"), "{e}");
        let e =
            parse_questions(r#"[{"key": "Bad Key", "label": "L", "type": "yes_no"}]"#, Lang::It).expect_err("bad key");
        assert!(e.contains("Domanda 1"), "{e}");
    }
}
