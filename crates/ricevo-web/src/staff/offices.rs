//! Offices for administrators and their managers: office data, weekly hours, closures and
//! services with their intake questions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::civil::{Time, Weekday};
use ricevo_core::hours::{OpeningHours, WeeklyRange};
use ricevo_core::service::{IntakeQuestion, QuestionKind, ServiceError, ServiceRules, check_questions};
use ricevo_core::{Email, Lang, Mode, OfficeId, ServiceId};
use ricevo_desk::DeskError;
use ricevo_desk::offices::{
    ClosurePlan, PlannedRange, WeekPlan, check_closure, check_hours, range_end_field, range_start_field,
};
use ricevo_store::{NewOffice, NewService, Office, Role, Service};

use super::common::{
    Errors, Fields, PageError, Posted, Staff, confirm_page, confirmed, int_field, optional_line, path_id, render,
    required_line, see_other, text_block, tr,
};
use super::views::{
    Choice, ChoiceField, ClosureItem, DayHours, Field, OfficePage, OfficeRow, OfficesPage, QuestionRow, RangeRow,
    ServiceItem, ServicePage, Summary, closure_days, mode_name, weekday_name,
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

/// The most ranges the grid offers on one day (the domain has no limit; a counter has two or
/// three at most, so six is plenty and keeps the form short).
const MAX_RANGES_PER_DAY: usize = 6;

/// The highest range index read from a posted form: scripts number new rows past the last one,
/// so indexes may have gaps after rows were removed.
const MAX_RANGE_INDEX: usize = 40;

/// The hours grid as typed: for each weekday (Monday first) its ranges, `(opens, closes)`.
type Week = [Vec<(String, String)>; 7];

fn from_name(day: usize, k: usize) -> String {
    format!("d{day}_from{k}")
}

fn to_name(day: usize, k: usize) -> String {
    format!("d{day}_to{k}")
}

/// Reads the grid's rows from a form (`d{day}_from{k}` / `d{day}_to{k}`), in index order.
fn typed_week(form: &Fields) -> Week {
    let present = |name: &str| form.0.iter().any(|(k, _)| k == name);
    std::array::from_fn(|i| {
        let day = i + 1;
        (1..=MAX_RANGE_INDEX)
            .filter(|&k| present(&from_name(day, k)) || present(&to_name(day, k)))
            .map(|k| (form.get(&from_name(day, k)).trim().to_owned(), form.get(&to_name(day, k)).trim().to_owned()))
            .collect()
    })
}

/// The grid as form values, ranges numbered from 1 without gaps.
fn week_values(week: &Week, desks: &str) -> Fields {
    let mut v = Fields::default();
    v.set("desks", desks);
    for (i, ranges) in week.iter().enumerate() {
        for (k, (from, to)) in ranges.iter().enumerate() {
            v.set(&from_name(i + 1, k + 1), from.clone());
            v.set(&to_name(i + 1, k + 1), to.clone());
        }
    }
    v
}

fn hours_values(rows: &[ricevo_store::RangeRow], desks: i32) -> Fields {
    let mut week: Week = Default::default();
    let mut rows: Vec<_> = rows.iter().collect();
    rows.sort_by_key(|r| (r.weekday, r.start_minute));
    for r in rows {
        if let Some(day) = usize::try_from(r.weekday).ok().and_then(|d| d.checked_sub(1)).filter(|d| *d < 7) {
            week[day].push((hhmm(r.start_minute), hhmm(r.end_minute)));
        }
    }
    week_values(&week, &desks.to_string())
}

/// What a press of one of the grid's buttons asks for besides saving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GridEdit {
    /// "Aggiungi una fascia" on a day (1 = Monday): one more blank row.
    Add(usize),
    /// "Rimuovi" on a day's `k`-th row (from 1).
    Remove(usize, usize),
}

fn grid_edit(form: &Fields) -> Option<GridEdit> {
    let day = |raw: &str| raw.parse::<usize>().ok().filter(|d| (1..=7).contains(d));
    if let Some(d) = day(form.get("add_range")) {
        return Some(GridEdit::Add(d));
    }
    let (d, k) = form.get("remove_range").split_once('-')?;
    Some(GridEdit::Remove(day(d)?, k.parse().ok().filter(|k| *k >= 1)?))
}

/// The grid after the edits a form asks for: "copy this day to" (each ticked `copy{day}` target
/// gets the source day's ranges; a day copied onto is not itself copied further) and, without
/// a script, adding or removing a row.
fn edited_week(form: &Fields) -> Week {
    let mut week = typed_week(form);
    let typed = week.clone();
    for source in 1..=7usize {
        for raw in form.all(&format!("copy{source}")) {
            if let Some(target) = raw.parse::<usize>().ok().filter(|t| (1..=7).contains(t) && *t != source) {
                week[target - 1] = typed[source - 1].clone();
            }
        }
    }
    match grid_edit(form) {
        Some(GridEdit::Add(d)) if week[d - 1].len() < MAX_RANGES_PER_DAY => {
            week[d - 1].push((String::new(), String::new()));
        }
        Some(GridEdit::Remove(d, k)) if k <= week[d - 1].len() => {
            week[d - 1].remove(k - 1);
        }
        _ => {}
    }
    week
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

/// "Lunedì, fascia 2, chiusura" for the messages of a range's field.
fn range_field_label(day: usize, k: usize, opening: bool, lang: Lang) -> String {
    let name = weekday_name(i8::try_from(day).unwrap_or(1), lang);
    let which = if opening { tr(lang, "apertura", "opens") } else { tr(lang, "chiusura", "closes") };
    format!("{name}, {} {k}, {which}", tr(lang, "fascia", "range"))
}

/// Checks the grid (already edited, see [`edited_week`]): every problem is keyed by its field
/// and its message names the day, the range and the field.
fn parse_hours(week: &Week, desks_raw: &Fields, lang: Lang) -> Result<OpeningHours, Errors> {
    let mut errors = Errors::default();
    // A desk count that is not a number is this form's problem; the desk's rules check the rest
    // (a placeholder of one desk lets them check the ranges meanwhile).
    let desks = int_field(desks_raw, "desks", lang, &mut errors).unwrap_or(1);
    let mut plan = WeekPlan { desks, ranges: Vec::new() };
    // The grid position (day, k) of each planned range, for the desk's field errors.
    let mut places: Vec<(usize, usize)> = Vec::new();
    let add = |errors: &mut Errors, day: usize, k: usize, opening: bool, message: &str| {
        let name = if opening { from_name(day, k) } else { to_name(day, k) };
        errors.add(&name, format!("{}: {message}", range_field_label(day, k, opening, lang)));
    };
    for (i, ranges) in week.iter().enumerate() {
        let day = i + 1;
        let Ok(weekday) = Weekday::from_monday_one_offset(i8::try_from(day).unwrap_or(1)) else { continue };
        for (j, (from_raw, to_raw)) in ranges.iter().enumerate() {
            let k = j + 1;
            if from_raw.is_empty() && to_raw.is_empty() {
                continue;
            }
            let both =
                tr(lang, "indica sia l'apertura sia la chiusura.", "give both the opening and the closing time.");
            let bad = tr(lang, "orario non valido, usa il formato HH:MM.", "invalid time, use HH:MM.");
            let mut parse = |opening: bool, raw: &str| {
                if raw.is_empty() {
                    add(&mut errors, day, k, opening, both);
                    None
                } else {
                    parse_hhmm(raw).or_else(|| {
                        add(&mut errors, day, k, opening, bad);
                        None
                    })
                }
            };
            let (Some(start), Some(end)) = (parse(true, from_raw), parse(false, to_raw)) else { continue };
            plan.ranges.push(PlannedRange { weekday, start, end });
            places.push((day, k));
        }
    }
    match check_hours(&plan, lang) {
        Ok(hours) if errors.is_empty() => Ok(hours),
        Ok(_) => Err(errors),
        Err(found) => {
            for f in found {
                let place = (0..places.len()).find_map(|i| {
                    if f.field == range_start_field(i) {
                        Some((places[i], true))
                    } else if f.field == range_end_field(i) {
                        Some((places[i], false))
                    } else {
                        None
                    }
                });
                match place {
                    Some(((day, k), opening)) => add(&mut errors, day, k, opening, f.message),
                    // A field keeps its first problem (a desk count that is not a number).
                    None => errors.add(&f.field, f.message),
                }
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
    let week = typed_week(values);
    (1..=7usize)
        .map(|day| {
            let name = weekday_name(i8::try_from(day).unwrap_or(1), lang);
            // A day with no range shows one blank row to type in.
            let count = week[day - 1].len().max(1);
            let ranges = (1..=count)
                .map(|k| {
                    let f = |name: &str, label: &str| Field::new(name, label, "time", values, errors);
                    RangeRow {
                        k,
                        from: f(&from_name(day, k), tr(lang, "Apertura", "Opens")),
                        to: f(&to_name(day, k), tr(lang, "Chiusura", "Closes")),
                        remove: format!("{day}-{k}"),
                    }
                })
                .collect();
            let targets = (1..=7usize)
                .filter(|t| *t != day)
                .map(|t| Choice {
                    value: t.to_string(),
                    label: weekday_name(i8::try_from(t).unwrap_or(1), lang),
                    selected: values.all(&format!("copy{day}")).any(|v| v == t.to_string()),
                })
                .collect();
            DayHours { day, name, ranges, can_add: count < MAX_RANGES_PER_DAY, targets }
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

/// A stored closure's days in words (as stored if a day does not parse, which cannot happen
/// for rows written through the desk).
fn closure_days_of(c: &ricevo_store::ClosureRow, lang: Lang) -> String {
    match (c.first_day.parse(), c.last_day.parse()) {
        (Ok(first), Ok(last)) => closure_days(first, last, lang),
        _ => format!("{} – {}", c.first_day, c.last_day),
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
    /// The grid was edited (a range added or removed) but not saved yet.
    hours_edited: bool,
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
        script: crate::assets::url("staff.js"),
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
        hours_edited: typed.hours_edited,
        closures: closures
            .into_iter()
            .map(|c| ClosureItem {
                delete: format!("{link}/closures/{}/delete", c.id),
                days: closure_days_of(&c, lang),
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

/// `POST /{tenant}/staff/offices/{office}/hours`: replaces the weekly hours and desks, after
/// copying the days ticked under "copy this day to". The grid's "add a range" and "remove"
/// buttons (pressed without a script) show the edited grid again without saving.
pub(crate) async fn set_hours(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let office = managed_office(&state, &staff, &id).await?;
    let week = edited_week(&form);
    let values = week_values(&week, form.get("desks"));
    if grid_edit(&form).is_some() {
        let typed = Typed { hours: Some(values), hours_edited: true, ..Typed::default() };
        return office_page(&state, &staff, &office, typed, &Errors::default()).await;
    }
    match parse_hours(&week, &values, staff.lang) {
        Ok(hours) => {
            let (grant, plan) = (staff.grant(), week_plan(&hours));
            if let Err(e) = state.desk.set_hours(&staff.tenant, &grant, office.id, &plan, staff.lang).await {
                let errors = form_errors(&staff, e, &["desks"], "hours")?;
                let typed = Typed { hours: Some(values), ..Typed::default() };
                return office_page(&state, &staff, &office, typed, &errors).await;
            }
            tracing::info!(tenant = %staff.tenant.slug, user = %staff.user.id, office = %office.id, "hours set");
            Ok(see_other(&format!("{}#office-hours", office_link(&staff, office.id))))
        }
        Err(errors) => {
            office_page(&state, &staff, &office, Typed { hours: Some(values), ..Typed::default() }, &errors).await
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
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let office = managed_office(&state, &staff, &id).await?;
    let closure = path_id(&closure, staff.lang)?;
    if !confirmed(&form) {
        let closures = state.store.closures(staff.tenant.id, office.id).await.map_err(|e| staff.err(e.into()))?;
        let c = closures.iter().find(|c| c.id == closure).ok_or_else(|| staff.not_found())?;
        let days = closure_days_of(c, staff.lang);
        let question = match staff.lang {
            Lang::It => format!("Rimuovere la chiusura di {} ({days})?", office.name),
            Lang::En => format!("Remove the closure of {} ({days})?", office.name),
        };
        let detail = staff.t(
            "In quei giorni l'ufficio tornerà prenotabile secondo l'orario settimanale.",
            "On those days the office can be booked again according to its weekly hours.",
        );
        let back = format!("{}#office-closures", office_link(&staff, office.id));
        let action = format!("{}/closures/{closure}/delete", office_link(&staff, office.id));
        return Ok(confirm_page(
            &staff,
            &action,
            question,
            detail,
            staff.t("Sì, rimuovi la chiusura", "Yes, remove the closure"),
            &back,
        ));
    }
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
    let rows: Vec<TypedQuestion> = s.questions.iter().map(TypedQuestion::of).collect();
    questions_values(&rows, &mut v);
    v
}

fn new_service_values() -> Fields {
    let mut v = Fields::default();
    v.set("duration", "20");
    v.set("buffer", "5");
    v.set("notice_hours", "24");
    v.set("horizon_days", "60");
    v.set("active", "1");
    v
}

// ---- staffui: the intake questions builder ----
//
// Each question is a row of fields `q{i}_label`, `q{i}_type` (`short_text`, `yes_no`,
// `choice`), `q{i}_options` (one per line, for a choice), `q{i}_required`, `q{i}_key` (the
// answer's stable name; made from the label when left empty) and `q{i}_remove`. The rows'
// order in the posted form is the questions' order (a script moves rows; without it the
// "move up/down" buttons post `q_up` / `q_down` with the row's `i`). Stored as before: the
// service's `Vec<IntakeQuestion>`.

/// The question types the builder offers, as stored.
const QUESTION_TYPES: [&str; 3] = ["short_text", "yes_no", "choice"];

fn question_type_name(kind: &str, lang: Lang) -> &'static str {
    match kind {
        "yes_no" => tr(lang, "Sì / no", "Yes / no"),
        "choice" => tr(lang, "Scelta tra opzioni", "Choice of options"),
        _ => tr(lang, "Testo breve", "Short text"),
    }
}

/// One row of the builder as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct TypedQuestion {
    label: String,
    key: String,
    kind: String,
    options: String,
    required: bool,
    remove: bool,
}

impl TypedQuestion {
    fn of(q: &IntakeQuestion) -> TypedQuestion {
        let (kind, options) = match &q.kind {
            QuestionKind::ShortText => ("short_text", String::new()),
            QuestionKind::YesNo => ("yes_no", String::new()),
            QuestionKind::Choice { options } => ("choice", options.join("\n")),
        };
        TypedQuestion {
            label: q.label.clone(),
            key: q.key.clone(),
            kind: kind.to_owned(),
            options,
            required: q.required,
            remove: false,
        }
    }
    /// A row nobody typed in: ignored when saving.
    fn is_blank(&self) -> bool {
        self.label.trim().is_empty() && self.key.trim().is_empty() && self.options.trim().is_empty()
    }
}

/// The builder's rows in the order they were posted, each with the `i` of its field names.
fn typed_questions(form: &Fields) -> Vec<(String, TypedQuestion)> {
    let mut ids: Vec<String> = Vec::new();
    for (name, _) in &form.0 {
        let id = name.strip_prefix('q').and_then(|r| r.strip_suffix("_label"));
        if let Some(id) = id.filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
            && !ids.iter().any(|i| i == id)
        {
            ids.push(id.to_owned());
        }
    }
    ids.into_iter()
        .map(|id| {
            let get = |f: &str| form.get(&format!("q{id}_{f}")).to_owned();
            let q = TypedQuestion {
                label: get("label"),
                key: get("key").trim().to_owned(),
                kind: get("type"),
                options: get("options"),
                required: form.checked(&format!("q{id}_required")),
                remove: form.checked(&format!("q{id}_remove")),
            };
            (id, q)
        })
        .collect()
}

/// Replaces the builder's fields in `into` by `rows`, numbered from 1 in order.
fn questions_values(rows: &[TypedQuestion], into: &mut Fields) {
    into.0.retain(|(k, _)| !(k.starts_with('q') && k[1..].starts_with(|c: char| c.is_ascii_digit())));
    for (i, q) in rows.iter().enumerate() {
        let n = i + 1;
        into.0.push((format!("q{n}_label"), q.label.clone()));
        into.0.push((format!("q{n}_key"), q.key.clone()));
        into.0.push((format!("q{n}_type"), q.kind.clone()));
        into.0.push((format!("q{n}_options"), q.options.clone()));
        if q.required {
            into.0.push((format!("q{n}_required"), "1".into()));
        }
    }
}

/// Whether the form asks to add or move a question rather than to save.
fn builder_edit(form: &Fields) -> bool {
    ["q_add", "q_up", "q_down"].iter().any(|b| form.checked(b))
}

/// The service form after the builder's edits: removed rows dropped, blank rows dropped (an
/// added row kept), a row moved up or down; the rows renumbered from 1.
fn edited_service_form(form: &Fields) -> Fields {
    let typed = typed_questions(form);
    let position = |button: &str| typed.iter().position(|(id, _)| id == form.get(button).trim());
    let (up, down) = (position("q_up"), position("q_down"));
    let mut rows: Vec<TypedQuestion> = typed.into_iter().map(|(_, q)| q).collect();
    if let Some(i) = up.filter(|i| *i > 0) {
        rows.swap(i, i - 1);
    }
    if let Some(i) = down.filter(|i| i + 1 < rows.len()) {
        rows.swap(i, i + 1);
    }
    let editing = builder_edit(form);
    rows.retain(|q| !q.remove && (editing || !q.is_blank()));
    if form.checked("q_add") {
        rows.push(TypedQuestion { kind: "short_text".into(), ..TypedQuestion::default() });
    }
    let mut out = form.clone();
    for b in ["q_add", "q_up", "q_down"] {
        out.0.retain(|(k, _)| k != b);
    }
    questions_values(&rows, &mut out);
    out
}

/// A key for the answers made from a label: "Hai già lo SPID?" gives `hai_gia_lo_spid`.
fn key_from_label(label: &str) -> String {
    let mut key = String::new();
    for c in label.trim().to_lowercase().chars() {
        let c = match c {
            'à' | 'á' | 'â' | 'ä' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            c if c.is_ascii_alphanumeric() => c,
            _ => '_',
        };
        if c == '_' && (key.is_empty() || key.ends_with('_')) {
            continue;
        }
        key.push(c);
    }
    key.truncate(32);
    let key = key.trim_end_matches('_').to_owned();
    if key.is_empty() { "domanda".to_owned() } else { key }
}

/// Checks the builder's rows (already edited, see [`edited_service_form`], so row `n` has the
/// fields `q{n}_*`): each problem is keyed by its field and its message names the question
/// and the field.
fn parse_questions(form: &Fields, lang: Lang, errors: &mut Errors) -> Vec<IntakeQuestion> {
    use ricevo_core::service::MAX_QUESTIONS;
    use ricevo_core::text::single_line;
    let rows: Vec<TypedQuestion> = typed_questions(form).into_iter().map(|(_, q)| q).collect();
    if rows.len() > MAX_QUESTIONS {
        errors.add("questions", tr(lang, "Al massimo 30 domande.", "At most 30 questions."));
        return Vec::new();
    }
    let say =
        |errors: &mut Errors, n: usize, field: &str, what_it: &'static str, what_en: &'static str, message: &str| {
            let what = tr(lang, what_it, what_en);
            let question = tr(lang, "Domanda", "Question");
            errors.add(&format!("q{n}_{field}"), format!("{question} {n}, {what}: {message}"));
        };
    // Keys typed by hand first, so that a key made from a label never takes one of them.
    let mut used: Vec<String> = rows.iter().filter(|q| !q.key.is_empty()).map(|q| q.key.clone()).collect();
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut questions = Vec::new();
    for (i, q) in rows.iter().enumerate() {
        let n = i + 1;
        let label = match single_line(&q.label, 300) {
            Ok(l) => Some(l),
            Err(e) => {
                say(errors, n, "label", "testo", "text", e.message(lang));
                None
            }
        };
        let key = if q.key.is_empty() {
            let base = key_from_label(&q.label);
            let mut key = base.clone();
            let mut k = 2;
            while used.contains(&key) {
                key = format!("{base}_{k}");
                k += 1;
            }
            used.push(key.clone());
            Some(key)
        } else if (1..=40).contains(&q.key.len())
            && q.key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            match seen.iter().find(|(k, _)| *k == q.key) {
                Some((_, m)) => {
                    let message = match lang {
                        Lang::It => format!("«{}» è già la chiave della domanda {m}.", q.key),
                        Lang::En => format!("“{}” is already the key of question {m}.", q.key),
                    };
                    say(errors, n, "key", "chiave", "key", &message);
                    None
                }
                None => Some(q.key.clone()),
            }
        } else {
            let message = tr(
                lang,
                "da 1 a 40 lettere minuscole senza accenti, cifre o _.",
                "1 to 40 lowercase letters without accents, digits or _.",
            );
            say(errors, n, "key", "chiave", "key", message);
            None
        };
        if let Some(k) = &key {
            seen.push((k.clone(), n));
        }
        let kind = match q.kind.as_str() {
            "short_text" | "" => Some(QuestionKind::ShortText),
            "yes_no" => Some(QuestionKind::YesNo),
            "choice" => {
                let options: Vec<&str> = q.options.lines().map(str::trim).filter(|o| !o.is_empty()).collect();
                let bad = options.iter().any(|o| single_line(o, 100).is_err());
                if options.is_empty() || options.len() > 20 || bad {
                    let message = tr(
                        lang,
                        "scrivi da 1 a 20 opzioni, una per riga, di al massimo 100 caratteri.",
                        "write 1 to 20 options, one per line, of at most 100 characters.",
                    );
                    say(errors, n, "options", "opzioni", "options", message);
                    None
                } else {
                    Some(QuestionKind::Choice { options: options.into_iter().map(str::to_owned).collect() })
                }
            }
            _ => {
                say(errors, n, "type", "tipo", "type", tr(lang, "tipo sconosciuto.", "unknown type."));
                None
            }
        };
        if let (Some(label), Some(key), Some(kind)) = (label, key, kind) {
            questions.push(IntakeQuestion { key, label, kind, required: q.required });
        }
    }
    // The core's rules are the last word (they agree with the checks above).
    if errors.is_empty()
        && let Err(e) = check_questions(&questions, lang)
    {
        errors.add("questions", e);
    }
    questions
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
    let questions = parse_questions(form, lang, &mut errors);
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

/// The builder's row `id` (a number, or `__N__` in the script's template), filled from `values`.
fn question_row(id: &str, lang: Lang, values: &Fields, errors: &Errors) -> QuestionRow {
    let name = |f: &str| format!("q{id}_{f}");
    let kind = values.get(&name("type"));
    let kind = if kind.is_empty() { "short_text" } else { kind };
    let types = QUESTION_TYPES
        .iter()
        .map(|t| Choice { value: (*t).into(), label: question_type_name(t, lang).into(), selected: *t == kind })
        .collect();
    QuestionRow {
        id: id.to_owned(),
        label: Field::new(&name("label"), tr(lang, "Testo della domanda", "Question text"), "text", values, errors),
        kind: ChoiceField::new(&name("type"), tr(lang, "Tipo di risposta", "Answer type"), types, errors),
        options: Field::new(&name("options"), tr(lang, "Opzioni, una per riga", "Options, one per line"), "textarea", values, errors)
            .hint(tr(lang, "Solo per «Scelta tra opzioni».", "Only for “Choice of options”.")),
        key: Field::new(&name("key"), tr(lang, "Chiave della risposta (facoltativa)", "Answer key (optional)"), "text", values, errors)
            .hint(tr(
                lang,
                "Il nome della risposta nell'API e nelle esportazioni: minuscole, cifre e _. Se vuota, è ricavata dal testo.",
                "The answer's name in the API and exports: lowercase, digits and _. Made from the text when empty.",
            )),
        required: values.checked(&name("required")),
    }
}

/// The builder's rows to show: those typed or stored, and one blank row to type a new one.
fn question_rows(lang: Lang, values: &Fields, errors: &Errors) -> Vec<QuestionRow> {
    let typed = typed_questions(values);
    let mut rows: Vec<QuestionRow> = typed.iter().map(|(id, _)| question_row(id, lang, values, errors)).collect();
    if !typed.iter().any(|(_, q)| q.is_blank()) {
        let next = typed.iter().filter_map(|(id, _)| id.parse::<usize>().ok()).max().unwrap_or(0) + 1;
        rows.push(question_row(&next.to_string(), lang, values, errors));
    }
    rows
}

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
        requires_identity: values.checked("requires_identity"),
        questions: question_rows(lang, values, errors),
        blank_question: question_row("__N__", lang, &Fields::default(), &Errors::default()),
        questions_error: errors.get("questions"),
        script: crate::assets::url("staff.js"),
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
    let (edit, form) = (builder_edit(&form), edited_service_form(&form));
    if edit {
        return Ok(service_page(&staff, &office, None, &form, &Errors::default()));
    }
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
            // ---- citizen ----
            if form.checked("requires_identity") {
                state
                    .desk
                    .set_service_requires_identity(&staff.tenant, &staff.grant(), s.id, true)
                    .await
                    .map_err(|e| staff.err(crate::error::ApiError::from_desk(staff.lang, e)))?;
            }
            // ---- end citizen ----
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
    let mut values = service_values(&service);
    // ---- citizen ----
    let required = state.desk.service_requires_identity(&staff.tenant, service.id).await;
    if required.in_lang(staff.lang).map_err(|e| staff.err(e))? {
        values.set("requires_identity", "1");
    }
    // ---- end citizen ----
    Ok(service_page(&staff, &office, Some(&service), &values, &Errors::default()))
}

/// `POST /{tenant}/staff/services/{service}`: saves a service (it stays with its office).
pub(crate) async fn update_service(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let (service, office) = managed_service(&state, &staff, &id).await?;
    let (edit, form) = (builder_edit(&form), edited_service_form(&form));
    if edit {
        return Ok(service_page(&staff, &office, Some(&service), &form, &Errors::default()));
    }
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
            // ---- citizen ----
            let wanted = form.checked("requires_identity");
            let now = state.desk.service_requires_identity(&staff.tenant, service.id).await;
            if now.in_lang(staff.lang).map_err(|e| staff.err(e))? != wanted {
                state
                    .desk
                    .set_service_requires_identity(&staff.tenant, &staff.grant(), service.id, wanted)
                    .await
                    .map_err(|e| staff.err(crate::error::ApiError::from_desk(staff.lang, e)))?;
            }
            // ---- end citizen ----
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

    fn hours(pairs: &[(&str, &str)], lang: Lang) -> Result<OpeningHours, Errors> {
        let f = form(pairs);
        let week = edited_week(&f);
        parse_hours(&week, &week_values(&week, f.get("desks")), lang)
    }

    #[test]
    fn hours_grids_accept_several_ranges_a_day_and_name_the_day_and_field_of_each_problem() {
        let ok = [
            ("desks", "2"),
            ("d1_from1", "09:00"),
            ("d1_to1", "12:30"),
            ("d1_from2", "15:00"),
            ("d1_to2", "17:00"),
            // A gap in the numbering (a row removed by the script) loses nothing.
            ("d1_from5", "17:30"),
            ("d1_to5", "18:00"),
        ];
        let saved = hours(&ok, Lang::It).expect("valid hours");
        assert_eq!(saved.desks(), 2);
        assert_eq!(saved.ranges().len(), 3);

        let bad = [
            ("desks", "0"),
            ("d2_from1", "12:00"),
            ("d2_to1", "09:00"),
            ("d3_from1", "9:03"),
            ("d3_to1", "10:00"),
            ("d4_from1", "09:00"),
            ("d4_to1", ""),
        ];
        let errors = hours(&bad, Lang::En).expect_err("invalid hours");
        assert_eq!(errors.get("desks").as_deref(), Some("At least one desk is needed."));
        assert_eq!(
            errors.get("d2_to1").as_deref(),
            Some("Tuesday, range 1, closes: The closing time must come after the opening time.")
        );
        assert!(errors.get("d3_from1").is_some_and(|e| e.starts_with("Wednesday, range 1, opens:")), "{errors:?}");
        assert!(errors.get("d4_to1").is_some_and(|e| e.contains("both")));

        let overlap =
            [("desks", "1"), ("d5_from1", "09:00"), ("d5_to1", "12:00"), ("d5_from2", "11:00"), ("d5_to2", "13:00")];
        let e = hours(&overlap, Lang::It).expect_err("overlap").get("d5_from2").expect("on the second range");
        assert!(e.starts_with("Venerdì, fascia 2, apertura:"), "{e}");
    }

    #[test]
    fn a_day_is_copied_onto_the_ticked_days_and_rows_are_added_and_removed_without_a_script() {
        let f = form(&[
            ("desks", "1"),
            ("d1_from1", "09:00"),
            ("d1_to1", "12:00"),
            ("d1_from2", "14:00"),
            ("d1_to2", "16:00"),
            ("d2_from1", "08:00"),
            ("d2_to1", "10:00"),
            ("copy1", "3"),
            ("copy1", "5"),
            // Copying onto the day itself or outside the week does nothing.
            ("copy1", "1"),
            ("copy1", "9"),
        ]);
        let week = edited_week(&f);
        let monday = vec![("09:00".to_owned(), "12:00".to_owned()), ("14:00".to_owned(), "16:00".to_owned())];
        assert_eq!(week[0], monday);
        assert_eq!(week[1], vec![("08:00".to_owned(), "10:00".to_owned())]);
        assert_eq!((&week[2], &week[4]), (&monday, &monday));
        assert!(week[3].is_empty() && week[5].is_empty() && week[6].is_empty());

        let mut add = f.clone();
        add.set("add_range", "2");
        assert_eq!(grid_edit(&add), Some(GridEdit::Add(2)));
        assert_eq!(edited_week(&add)[1].len(), 2);
        let mut remove = f.clone();
        remove.set("remove_range", "1-1");
        assert_eq!(edited_week(&remove)[0], vec![("14:00".to_owned(), "16:00".to_owned())]);
        remove.set("remove_range", "1-x");
        assert_eq!(grid_edit(&remove), None);
    }

    #[test]
    fn intake_rows_become_questions_in_their_posted_order_with_keys_made_from_labels() {
        let f = form(&[
            ("q7_label", "Hai già lo SPID?"),
            ("q7_type", "yes_no"),
            ("q7_required", "1"),
            ("q2_label", "Tipo di pratica"),
            ("q2_type", "choice"),
            ("q2_options", "Primo rilascio\r\n\r\n Rinnovo \n"),
            ("q3_label", "Numero di protocollo"),
            ("q3_key", "protocollo"),
            ("q3_type", "short_text"),
            ("q4_label", ""),
            ("q4_type", "short_text"),
            ("q5_label", "Da togliere"),
            ("q5_remove", "1"),
        ]);
        let f = edited_service_form(&f);
        let mut errors = Errors::default();
        let qs = parse_questions(&f, Lang::It, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        let keys: Vec<&str> = qs.iter().map(|q| q.key.as_str()).collect();
        assert_eq!(keys, ["hai_gia_lo_spid", "tipo_di_pratica", "protocollo"]);
        assert!(qs[0].required && !qs[1].required);
        assert_eq!(qs[1].kind, QuestionKind::Choice { options: vec!["Primo rilascio".into(), "Rinnovo".into()] });

        let bad = edited_service_form(&form(&[
            ("q1_label", "Tipo"),
            ("q1_type", "choice"),
            ("q1_key", "tipo"),
            ("q2_label", "Altro"),
            ("q2_key", "tipo"),
            ("q3_label", "x\ny"),
            ("q3_key", "Non Valida"),
            ("q4_label", "Quale?"),
            ("q4_type", "long_essay"),
        ]));
        let mut errors = Errors::default();
        parse_questions(&bad, Lang::En, &mut errors);
        assert!(errors.get("q1_options").is_some_and(|e| e.starts_with("Question 1, options:")), "{errors:?}");
        assert!(errors.get("q2_key").is_some_and(|e| e.contains("already the key of question 1")), "{errors:?}");
        assert!(errors.get("q3_label").is_some_and(|e| e.starts_with("Question 3, text:")), "{errors:?}");
        assert!(errors.get("q3_key").is_some(), "{errors:?}");
        assert!(errors.get("q4_type").is_some_and(|e| e.contains("unknown type")), "{errors:?}");
    }

    #[test]
    fn the_builder_moves_adds_and_renumbers_rows_without_saving() {
        let f = form(&[
            ("q1_label", "Prima"),
            ("q1_type", "short_text"),
            ("q2_label", "Seconda"),
            ("q2_type", "yes_no"),
            ("q_up", "2"),
        ]);
        assert!(builder_edit(&f));
        let moved = edited_service_form(&f);
        assert_eq!((moved.get("q1_label"), moved.get("q2_label")), ("Seconda", "Prima"));
        assert_eq!(moved.get("q1_type"), "yes_no");
        assert!(!builder_edit(&moved));
        let mut add = moved.clone();
        add.set("q_add", "1");
        let added = edited_service_form(&add);
        assert_eq!(typed_questions(&added).len(), 3);
        assert_eq!(added.get("q3_label"), "");
        assert_eq!(key_from_label("  Perché? È urgente!  "), "perche_e_urgente");
        assert_eq!(key_from_label("???"), "domanda");
    }
}
