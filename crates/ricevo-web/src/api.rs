//! `/api/v1`: the JSON API for integrators (the town's portal) and for our acceptance tests.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::ToSpan;
use jiff::civil::Date;
use ricevo_core::citizen::FieldError;
use ricevo_core::day::Day;
use ricevo_core::reason::Reason;
use ricevo_core::slots::{Slot, SlotRefusal};
use ricevo_core::{Lang, Mode, OfficeId, ServiceId};
use ricevo_store::{Appointment, AppointmentStatus, Tenant};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use ricevo_desk::DeskError;
use ricevo_desk::booking::{BookingRequest, BookingResult, MAX_SLOT_RANGE_DAYS};
use ricevo_desk::on_behalf::StaffBooking;
use ricevo_desk::town::zone_of;

pub use ricevo_input::api::{BookingBody, CitizenBody, MoveBody, StatusBody};

use crate::error::{ApiError, ErrorBody, InLang, day_error_message, refusal_message};
use crate::lang::ReqLang;
use crate::request::{ApiQuery, ClientKey, bearer, by_token, parse_instant, read_json, tenant};
use crate::state::AppState;

/// RFC 3339 with the local offset, as every API time is written.
pub use ricevo_desk::town::rfc3339;

/// A service as listed by the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServiceView {
    /// Id.
    pub id: i64,
    /// The office providing it.
    pub office_id: i64,
    /// The office's name.
    pub office_name: String,
    /// Name.
    pub name: String,
    /// Meeting length.
    pub duration_minutes: i32,
    /// `video`, `in_person`, `phone`.
    #[schema(value_type = Vec<String>)]
    pub modes: Vec<Mode>,
}

/// Lists the bookable services of a town.
#[utoipa::path(get, path = "/api/v1/{tenant}/services", params(("tenant" = String, Path, description = "Town slug")),
    responses((status = 200, description = "The town's bookable services", body = [ServiceView]),
        (status = 404, description = "`not_found`: no such town", body = ErrorBody)))]
pub async fn services(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path(slug): Path<String>,
) -> Result<Json<Vec<ServiceView>>, ApiError> {
    let t = tenant(&state, &slug, lang).await?;
    let offices = state.store.offices(t.id).await?;
    let list = state
        .desk
        .bookable_services(&t)
        .await
        .in_lang(lang)?
        .into_iter()
        .map(|s| ServiceView {
            id: s.id.0,
            office_id: s.office_id.0,
            office_name: offices.iter().find(|o| o.id == s.office_id).map(|o| o.name.clone()).unwrap_or_default(),
            name: s.name,
            duration_minutes: s.rules.duration_minutes(),
            modes: s.rules.modes().to_vec(),
        })
        .collect();
    Ok(Json(list))
}

/// Query of the slot list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SlotParams {
    /// First day, `YYYY-MM-DD` (default today).
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day, inclusive (default `from` + 13 days).
    #[param(format = Date)]
    pub to: Option<String>,
    /// Only if the service offers this mode.
    pub mode: Option<String>,
}

/// A slot as the API shows it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlotView {
    /// Start, RFC 3339 with the local offset.
    pub start: String,
    /// End, RFC 3339 with the local offset.
    pub end: String,
    /// Seats left.
    pub available: u16,
}

impl From<&Slot> for SlotView {
    fn from(s: &Slot) -> Self {
        SlotView { start: rfc3339(&s.start), end: rfc3339(&s.end), available: s.available }
    }
}

fn parse_day(field: &str, value: &str, lang: Lang) -> Result<Date, ApiError> {
    Day::parse(value)
        .map(Day::date)
        .map_err(|e| ApiError::Fields(lang, vec![FieldError::new(field, day_error_message(e, lang))]))
}

/// Lists the slots of a service between two days.
#[utoipa::path(get, path = "/api/v1/{tenant}/services/{service_id}/slots",
    params(("tenant" = String, Path, description = "Town slug"), ("service_id" = i64, Path), SlotParams),
    responses((status = 200, description = "Free slots, earliest first", body = [SlotView]),
        (status = 400, description = "`bad_request`: the query cannot be read", body = ErrorBody),
        (status = 404, description = "`not_found` (town) or `service_not_found`", body = ErrorBody),
        (status = 422, description = "`invalid_fields`: a bad day, range or mode", body = ErrorBody)))]
pub async fn slots(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path((slug, service_id)): Path<(String, String)>,
    ApiQuery(p): ApiQuery<SlotParams>,
) -> Result<Json<Vec<SlotView>>, ApiError> {
    let t = tenant(&state, &slug, lang).await?;
    let service_id = service_id.parse::<i64>().map(ServiceId).map_err(|_| ApiError::not_found_service(lang))?;
    let (service, office) = state.desk.service_and_office(&t, service_id).await.in_lang(lang)?;
    let now = state.now();
    let today = now.to_zoned(zone_of(&t)).date();
    let from = match p.from.as_deref() {
        Some(v) => parse_day("from", v, lang)?,
        None => today,
    };
    let to = match p.to.as_deref() {
        Some(v) => parse_day("to", v, lang)?,
        None => from.checked_add(13.days()).unwrap_or(from),
    };
    let span_days = (to - from).get_days();
    if to < from || i64::from(span_days) >= MAX_SLOT_RANGE_DAYS {
        return Err(ApiError::Fields(
            lang,
            vec![FieldError::new(
                "to",
                match lang {
                    Lang::It => "L'intervallo deve andare in avanti e coprire al massimo 62 giorni.",
                    Lang::En => "The range must go forward and cover at most 62 days.",
                },
            )],
        ));
    }
    if let Some(m) = p.mode.as_deref() {
        match Mode::parse(m) {
            Some(mode) if service.rules.offers(mode) => {}
            Some(_) => return Ok(Json(Vec::new())),
            None => {
                return Err(ApiError::Fields(
                    lang,
                    vec![FieldError::new(
                        "mode",
                        match lang {
                            Lang::It => "Modalità sconosciuta: usa video, in_person o phone.",
                            Lang::En => "Unknown mode: use video, in_person or phone.",
                        },
                    )],
                ));
            }
        }
    }
    let list = state.desk.slots_between(&t, &service, &office, from, to).await.in_lang(lang)?;
    Ok(Json(list.iter().map(SlotView::from).collect()))
}

fn start_error(lang: Lang) -> FieldError {
    FieldError::new(
        "start",
        match lang {
            Lang::It => "Orario non valido: usa il formato RFC 3339, ad esempio 2026-12-07T09:00:00+01:00.",
            Lang::En => "Invalid time: use RFC 3339, for example 2026-12-07T09:00:00+01:00.",
        },
    )
}

fn service_error(lang: Lang) -> FieldError {
    FieldError::new(
        "service_id",
        match lang {
            Lang::It => "Indica il servizio.",
            Lang::En => "Give the service.",
        },
    )
}

/// The `Idempotency-Key` of a booking request with the hash of its body, `prefix`ed so the
/// keys of two endpoints never meet; `None` without the header, 400 for a bad one.
fn idempotency_of(
    headers: &HeaderMap,
    body: &[u8],
    prefix: &str,
    lang: Lang,
) -> Result<Option<(String, String)>, ApiError> {
    match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => Ok(None),
        Some(Ok(k)) if !k.trim().is_empty() && k.len() <= 200 => {
            Ok(Some((format!("{prefix}{}", k.trim()), hex::encode(Sha256::digest(body)))))
        }
        Some(_) => Err(ApiError::BadRequest(lang, "Idempotency-Key: 1-200 printable characters".into())),
    }
}

/// A booking's answer: 201 with the receipt, or the first answer again for a replayed key.
fn booked_answer(result: BookingResult) -> Response {
    match result {
        BookingResult::Booked { receipt, .. } => (StatusCode::CREATED, Json(receipt)).into_response(),
        BookingResult::Replay(first) => {
            let status = StatusCode::from_u16(first.status).unwrap_or(StatusCode::CREATED);
            (status, [(axum::http::header::CONTENT_TYPE, "application/json")], first.body).into_response()
        }
    }
}

/// A conflict answer: 409 with the nearest free slots.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConflictBody {
    /// `slot_unavailable`.
    pub error: &'static str,
    /// Why, for people.
    pub message: String,
    /// Why, for machines: `full`, `too_soon`, `beyond_horizon`, `not_a_slot`.
    pub reason: &'static str,
    /// Free slots near the wanted time.
    pub alternatives: Vec<SlotView>,
}

fn reason_code(reason: SlotRefusal) -> &'static str {
    match reason {
        SlotRefusal::Full => "full",
        SlotRefusal::TooSoon => "too_soon",
        SlotRefusal::BeyondHorizon => "beyond_horizon",
        SlotRefusal::NotASlot => "not_a_slot",
    }
}

/// Turns a refusal into its HTTP answer.
pub fn refusal_response(r: DeskError, lang: Lang) -> Response {
    match r {
        DeskError::Unavailable { reason, alternatives } => {
            let status =
                if reason == SlotRefusal::Full { StatusCode::CONFLICT } else { StatusCode::UNPROCESSABLE_ENTITY };
            let body = ConflictBody {
                error: "slot_unavailable",
                message: refusal_message(reason, lang).to_owned(),
                reason: reason_code(reason),
                alternatives: alternatives.iter().map(SlotView::from).collect(),
            };
            (status, Json(body)).into_response()
        }
        other => ApiError::from_desk(lang, other).into_response(),
    }
}

/// Books an appointment.
#[utoipa::path(post, path = "/api/v1/{tenant}/appointments", params(("tenant" = String, Path, description = "Town slug"),
        ("Idempotency-Key" = Option<String>, Header, description = "1-200 characters; retries with the same key and body get the first answer")),
    request_body = BookingBody,
    responses((status = 201, description = "Booked", body = ricevo_desk::booking::BookingReceipt),
        (status = 400, description = "`bad_request`: the body is not JSON, or a bad Idempotency-Key", body = ErrorBody),
        (status = 404, description = "`not_found`: no such town", body = ErrorBody),
        (status = 409, description = "`slot_unavailable` (`full`): taken meanwhile, with alternatives", body = RefusalBody),
        (status = 422, description = "`invalid_fields`, `service_not_found`... as `ErrorBody`; `slot_unavailable` (`too_soon`, `beyond_horizon`, `not_a_slot`) as `ConflictBody`; `idempotency_key_reused`", body = RefusalBody)))]
pub async fn create_appointment(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path(slug): Path<String>,
    ClientKey(client): ClientKey,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let t = match tenant(&state, &slug, lang).await {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let parsed: BookingBody = match read_json(&body, lang) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let idempotency = match idempotency_of(&headers, &body, "", lang) {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    let mut errors = Vec::new();
    let service_id = parsed.service_id.map(ServiceId);
    if service_id.is_none() {
        errors.push(service_error(lang));
    }
    let (start, input) = parsed.into_input(lang);
    if start.is_none() {
        errors.push(start_error(lang));
    }
    let (Some(service_id), Some(start)) = (service_id, start) else {
        // Report the other fields' problems too, when the service is known.
        if let Some(id) = service_id
            && let Ok((service, _)) = state.desk.service_and_office(&t, id).await
            && let Err(more) = ricevo_core::citizen::check_booking(&input, &service.rules, &service.questions, lang)
        {
            errors.extend(more);
        }
        return ApiError::Fields(lang, errors).into_response();
    };
    let req = BookingRequest { service_id, start, input, idempotency, source: client };
    match state.desk.book_through_api(&t, req, lang).await {
        Ok(result) => booked_answer(result),
        Err(r) => refusal_response(r, lang),
    }
}

/// An appointment as its citizen sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppointmentView {
    /// The reference code (`K7M-4QP`; appointments booked before codes: a 16-character id).
    pub id: String,
    /// `booked`, `checked_in`, `done`, `no_show`, `cancelled`.
    #[schema(value_type = String)]
    pub status: AppointmentStatus,
    /// Start, RFC 3339 local.
    pub start: String,
    /// End, RFC 3339 local.
    pub end: String,
    /// Mode.
    #[schema(value_type = String)]
    pub mode: Mode,
    /// Service id.
    pub service_id: i64,
    /// Service name.
    pub service_name: String,
    /// Office name.
    pub office_name: String,
    /// Citizen's name.
    pub citizen_name: String,
}

/// Builds the view of an appointment.
pub async fn appointment_view(state: &AppState, t: &Tenant, a: &Appointment) -> Result<AppointmentView, ApiError> {
    let zone = zone_of(t);
    let service = state.store.service(t.id, a.service_id).await?;
    let office = state.store.office(t.id, a.office_id).await?;
    Ok(AppointmentView {
        id: a.public_id.clone(),
        status: a.status,
        start: rfc3339(&a.start.to_zoned(zone.clone())),
        end: rfc3339(&a.end.to_zoned(zone)),
        mode: a.mode,
        service_id: a.service_id.0,
        service_name: service.map(|s| s.name).unwrap_or_default(),
        office_name: office.map(|o| o.name).unwrap_or_default(),
        citizen_name: a.citizen_name.clone(),
    })
}

/// Shows the appointment a token opens.
#[utoipa::path(get, path = "/api/v1/appointments/{token}", params(("token" = String, Path, description = "The citizen's token from their link")),
    responses((status = 200, description = "The appointment", body = AppointmentView),
        (status = 404, description = "`not_found`: no appointment has this token", body = ErrorBody)))]
pub async fn get_appointment(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path(token): Path<String>,
) -> Result<Json<AppointmentView>, ApiError> {
    let (t, a) = by_token(&state, &token, lang).await?;
    Ok(Json(appointment_view(&state, &t, &a).await?))
}

/// Cancels the appointment a token opens.
#[utoipa::path(post, path = "/api/v1/appointments/{token}/cancel", params(("token" = String, Path, description = "The citizen's token from their link")),
    responses((status = 200, description = "Cancelled", body = AppointmentView),
        (status = 404, description = "`not_found`: no appointment has this token", body = ErrorBody),
        (status = 409, description = "`not_active` (already cancelled or over) or `conflict`", body = ErrorBody)))]
pub async fn cancel_appointment(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path(token): Path<String>,
) -> Result<Json<AppointmentView>, ApiError> {
    let (t, a) = by_token(&state, &token, lang).await?;
    let done = state.desk.cancel(&t, &a).await.in_lang(lang)?;
    Ok(Json(appointment_view(&state, &t, &done).await?))
}

/// Moves the appointment a token opens.
#[utoipa::path(post, path = "/api/v1/appointments/{token}/move", params(("token" = String, Path, description = "The citizen's token from their link")),
    request_body = MoveBody,
    responses((status = 200, description = "Moved", body = AppointmentView),
        (status = 400, description = "`bad_request`: the body is not JSON", body = ErrorBody),
        (status = 404, description = "`not_found`: no appointment has this token", body = ErrorBody),
        (status = 409, description = "`slot_unavailable` (`full`) as `ConflictBody`; `not_active` or `conflict` as `ErrorBody`", body = RefusalBody),
        (status = 422, description = "`invalid_fields` as `ErrorBody`; `slot_unavailable` (`too_soon`, `beyond_horizon`, `not_a_slot`) as `ConflictBody`", body = RefusalBody)))]
pub async fn move_appointment(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let run = async {
        let (t, a) = by_token(&state, &token, lang).await?;
        let parsed: MoveBody = read_json(&body, lang)?;
        let Some(start) = parsed.start.as_deref().and_then(parse_instant) else {
            return Err(ApiError::Fields(lang, vec![start_error(lang)]).into_response());
        };
        match state.desk.reschedule(&t, &a, Some(&token), start).await {
            Ok(moved) => Ok(appointment_view(&state, &t, &moved).await?),
            Err(refusal) => Err(refusal_response(refusal, lang)),
        }
    };
    match run.await {
        Ok(view) => Json(view).into_response(),
        Err(resp) => resp,
    }
}

/// Query of the day view.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DayParams {
    /// The local day, `YYYY-MM-DD` (default today).
    #[param(format = Date)]
    pub date: Option<String>,
    /// Only this office.
    pub office_id: Option<i64>,
}

/// An appointment as staff see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffAppointmentView {
    /// Internal id (for staff actions).
    pub id: i64,
    /// The reference code the citizen quotes (`K7M-4QP`; older appointments: a 16-character id).
    pub public_id: String,
    /// Office.
    pub office_id: i64,
    /// Service.
    pub service_id: i64,
    /// Status.
    #[schema(value_type = String)]
    pub status: AppointmentStatus,
    /// Start, RFC 3339 local.
    pub start: String,
    /// End, RFC 3339 local.
    pub end: String,
    /// Mode.
    #[schema(value_type = String)]
    pub mode: Mode,
    /// Citizen's name.
    pub citizen_name: String,
    /// Citizen's e-mail; empty for a citizen who gave only a phone number.
    pub citizen_email: String,
    /// Citizen's phone.
    pub citizen_phone: Option<String>,
    /// Codice fiscale.
    pub fiscal_code: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Answers.
    #[schema(value_type = Object)]
    pub answers: serde_json::Value,
}

/// The staff view of an appointment.
pub fn staff_view(t: &Tenant, a: &Appointment) -> StaffAppointmentView {
    let zone = zone_of(t);
    StaffAppointmentView {
        id: a.id.0,
        public_id: a.public_id.clone(),
        office_id: a.office_id.0,
        service_id: a.service_id.0,
        status: a.status,
        start: rfc3339(&a.start.to_zoned(zone.clone())),
        end: rfc3339(&a.end.to_zoned(zone)),
        mode: a.mode,
        citizen_name: a.citizen_name.clone(),
        citizen_email: a.citizen_email.clone(),
        citizen_phone: a.citizen_phone.clone(),
        fiscal_code: a.fiscal_code.clone(),
        notes: a.notes.clone(),
        answers: a.answers.clone(),
    }
}

/// The day's appointments for staff (Bearer token).
#[utoipa::path(get, path = "/api/v1/{tenant}/day", params(("tenant" = String, Path, description = "Town slug"), DayParams),
    security(("bearer" = [])),
    responses((status = 200, description = "The day's appointments the token may see, earliest first", body = [StaffAppointmentView]),
        (status = 400, description = "`bad_request`: the query cannot be read", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no token, or not one of this town", body = ErrorBody),
        (status = 404, description = "`not_found`: no such town", body = ErrorBody),
        (status = 422, description = "`invalid_fields`: a bad date", body = ErrorBody)))]
pub async fn day(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<DayParams>,
) -> Result<Json<Vec<StaffAppointmentView>>, ApiError> {
    let t = tenant(&state, &slug, lang).await?;
    let grant = bearer(&state, &headers, &t, lang).await?;
    let day = match p.date.as_deref() {
        Some(d) => parse_day("date", d, lang)?,
        None => state.now().to_zoned(zone_of(&t)).date(),
    };
    let list = state.desk.appointments_of_day(&t, &grant, day, p.office_id.map(OfficeId)).await.in_lang(lang)?;
    Ok(Json(list.iter().map(|a| staff_view(&t, a)).collect()))
}

/// An office with its hours, for staff.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OfficeView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Address.
    pub address: String,
    /// Contact e-mail.
    pub contact_email: String,
    /// Parallel desks.
    pub desks: i32,
    /// Weekly opening ranges.
    #[schema(value_type = Vec<WeeklyRange>)]
    pub hours: Vec<ricevo_store::RangeRow>,
    /// Whether its walk-in virtual desk takes tickets now.
    pub walk_in_open: bool,
}

/// The offices of a town. With a Bearer token: the offices the token covers, with their hours.
/// Without: every office's id, name and whether its walk-in desk is open now (public).
#[utoipa::path(get, path = "/api/v1/{tenant}/offices", params(("tenant" = String, Path, description = "Town slug")),
    security((), ("bearer" = [])),
    responses((status = 200, description = "With a token: `OfficeView`s of the offices it covers; without: `PublicOfficeView`s of every office", body = [OfficesItem]),
        (status = 401, description = "`unauthorized`: a token that is not one of this town", body = ErrorBody),
        (status = 404, description = "`not_found`: no such town", body = ErrorBody)))]
pub async fn offices(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t = tenant(&state, &slug, lang).await?;
    if !headers.contains_key(axum::http::header::AUTHORIZATION) {
        return Ok(Json(crate::room::api::public_offices(&state, &t).await?).into_response());
    }
    let grant = bearer(&state, &headers, &t, lang).await?;
    let mut out = Vec::new();
    for o in state.store.offices(t.id).await? {
        if !grant.covers_office(o.id) {
            continue;
        }
        let hours = state.store.hours(t.id, o.id).await?;
        let walk_in_open = crate::room::walkin::is_open(&state, &t, &o).await?;
        out.push(OfficeView {
            id: o.id.0,
            name: o.name,
            description: o.description,
            address: o.address,
            contact_email: o.contact_email,
            desks: o.desks,
            hours,
            walk_in_open,
        });
    }
    Ok(Json(out).into_response())
}

// ---- reasons and bookings on a citizen's behalf (booking) ----

/// Reads an optional reason from a body (`None` when absent or blank).
fn optional_reason(raw: Option<&str>, lang: Lang) -> Result<Option<Reason>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(r) => Reason::parse(r)
            .map(Some)
            .map_err(|e| ApiError::Fields(lang, vec![FieldError::new("reason", e.message(lang))])),
    }
}

/// Changes an appointment's status (Bearer token; operators only for their offices).
#[utoipa::path(post, path = "/api/v1/{tenant}/appointments/{id}/status",
    params(("tenant" = String, Path, description = "Town slug"), ("id" = i64, Path, description = "The internal id of `StaffAppointmentView`")),
    request_body = StatusBody, security(("bearer" = [])),
    responses((status = 200, description = "The changed appointment", body = StaffAppointmentView),
        (status = 400, description = "`bad_request`: the body is not JSON", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no token, or not one of this town", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token does not cover the appointment's office", body = ErrorBody),
        (status = 404, description = "`not_found`: no such town or appointment", body = ErrorBody),
        (status = 409, description = "`not_active` or `conflict`: the appointment cannot take this status now", body = ErrorBody),
        (status = 422, description = "`invalid_fields`: an unknown status", body = ErrorBody)))]
pub async fn set_status(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StaffAppointmentView>, ApiError> {
    let t = tenant(&state, &slug, lang).await?;
    let grant = bearer(&state, &headers, &t, lang).await?;
    let id = id.parse::<i64>().map_err(|_| ApiError::NotFound(lang))?;
    let a = state.desk.appointment_for(&t, &grant, ricevo_core::AppointmentId(id)).await.in_lang(lang)?;
    let parsed: StatusBody = read_json(&body, lang)?;
    let status = parsed.status.as_deref().and_then(AppointmentStatus::parse).ok_or_else(|| {
        ApiError::Fields(
            lang,
            vec![FieldError::new(
                "status",
                match lang {
                    Lang::It => "Stato non valido: checked_in, done, no_show o cancelled.",
                    Lang::En => "Invalid status: checked_in, done, no_show or cancelled.",
                },
            )],
        )
    })?;
    let reason = optional_reason(parsed.reason.as_deref(), lang)?;
    let updated = match (status, reason) {
        (AppointmentStatus::Cancelled, Some(reason)) => {
            state.desk.cancel_with_reason(&t, &grant, a.id, &reason).await.in_lang(lang)?
        }
        (_, _) => state.desk.change_status(&t, &grant, &a, status).await.in_lang(lang)?,
    };
    Ok(Json(staff_view(&t, &updated)))
}

/// Moves an appointment to another time (Bearer token; operators only for their offices).
/// The citizen gets a "moved" e-mail with the updated invite; their link stays the same.
#[utoipa::path(post, path = "/api/v1/{tenant}/appointments/{id}/move",
    params(("tenant" = String, Path, description = "Town slug"), ("id" = i64, Path, description = "The internal id of `StaffAppointmentView`")),
    request_body = StaffMoveBody, security(("bearer" = [])),
    responses((status = 200, description = "Moved", body = StaffAppointmentView),
        (status = 400, description = "`bad_request`: the body is not JSON", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no token, or not one of this town", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token does not cover the appointment's office", body = ErrorBody),
        (status = 404, description = "`not_found`: no such town or appointment", body = ErrorBody),
        (status = 409, description = "`slot_unavailable` (`full`) as `ConflictBody`; `not_active` or `conflict` as `ErrorBody`", body = RefusalBody),
        (status = 422, description = "`invalid_fields` as `ErrorBody`; `slot_unavailable` (`too_soon`, `beyond_horizon`, `not_a_slot`) as `ConflictBody`", body = RefusalBody)))]
pub async fn staff_move(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = async {
        let t = tenant(&state, &slug, lang).await?;
        let grant = bearer(&state, &headers, &t, lang).await?;
        let id = id.parse::<i64>().map_err(|_| ApiError::NotFound(lang))?;
        let a = state.desk.appointment_for(&t, &grant, ricevo_core::AppointmentId(id)).await.in_lang(lang)?;
        let parsed: StaffMoveBody = read_json(&body, lang)?;
        let Some(start) = parsed.start.as_deref().and_then(parse_instant) else {
            return Err(ApiError::Fields(lang, vec![start_error(lang)]).into_response());
        };
        let reason = optional_reason(parsed.reason.as_deref(), lang)?;
        let moved = state.desk.move_with_reason(&t, &grant, a.id, start, reason.as_ref()).await;
        match moved {
            Ok(moved) => Ok(staff_view(&t, &moved)),
            Err(refusal) => Err(refusal_response(refusal, lang)),
        }
    };
    match run.await {
        Ok(view) => Json(view).into_response(),
        Err(resp) => resp,
    }
}

/// An official's move.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct StaffMoveBody {
    /// The new start, RFC 3339.
    #[schema(format = DateTime)]
    pub start: Option<String>,
    /// Why, told to the citizen in the e-mail about the move (3-300 characters, one line).
    pub reason: Option<String>,
}

/// A booking an official makes for a citizen who phoned or walked in: the citizen's booking
/// request (`citizen` with an e-mail, or else a phone number; `privacy_accepted` when the
/// citizen was given the privacy notice), and whether it may fall outside the bookable times.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct StaffBookingBody {
    /// The booking, as a citizen would send it.
    #[serde(flatten)]
    pub booking: BookingBody,
    /// Book outside the bookable times (closed hours, notice, horizon): only a token of a
    /// manager of the office or an administrator. Seats are never double-booked.
    pub outside_hours: Option<bool>,
}

/// Books for a citizen on an official's behalf (Bearer token; the same rules, seats and
/// quota as a citizen's booking, without the hourly budget). The answer's `manage_url` is the
/// citizen's personal link, to hand over; it also goes to the citizen by e-mail if they gave one.
#[utoipa::path(post, path = "/api/v1/{tenant}/appointments/on-behalf",
    params(("tenant" = String, Path, description = "Town slug"),
        ("Idempotency-Key" = Option<String>, Header, description = "1-200 characters; retries with the same key and body get the first answer")),
    request_body = StaffBookingBody, security(("bearer" = [])),
    responses((status = 201, description = "Booked; `id` is the reference code to read to the citizen", body = ricevo_desk::booking::BookingReceipt),
        (status = 400, description = "`bad_request`: the body is not JSON, or a bad Idempotency-Key", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no token, or not one of this town", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token does not cover the office, or asks for `outside_hours` without managing it", body = ErrorBody),
        (status = 404, description = "`not_found`: no such town", body = ErrorBody),
        (status = 409, description = "`slot_unavailable` (`full`): no free seat, with alternatives", body = RefusalBody),
        (status = 422, description = "`invalid_fields`, `service_not_found`, `citizen_limit`... as `ErrorBody`; `slot_unavailable` (`too_soon`, `beyond_horizon`, `not_a_slot`) as `ConflictBody`", body = RefusalBody)))]
pub async fn book_on_behalf(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = async {
        let t = tenant(&state, &slug, lang).await?;
        let grant = bearer(&state, &headers, &t, lang).await?;
        let parsed: StaffBookingBody = read_json(&body, lang)?;
        let idempotency = idempotency_of(&headers, &body, "staff:", lang).map_err(IntoResponse::into_response)?;
        let outside_hours = parsed.outside_hours.unwrap_or(false);
        let service_id = parsed.booking.service_id.map(ServiceId);
        let (start, input) = parsed.booking.into_input(lang);
        let (Some(service_id), Some(start)) = (service_id, start) else {
            let mut errors = Vec::new();
            if service_id.is_none() {
                errors.push(service_error(lang));
            }
            if start.is_none() {
                errors.push(start_error(lang));
            }
            return Err(ApiError::Fields(lang, errors).into_response());
        };
        let req = StaffBooking { service_id, start, input, outside_hours, idempotency };
        match state.desk.book_on_behalf(&t, &grant, req, lang).await {
            Ok(result) => Ok(booked_answer(result)),
            Err(r) => Err(refusal_response(r, lang)),
        }
    };
    match run.await {
        Ok(resp) | Err(resp) => resp,
    }
}

/// A weekly opening range (as [`ricevo_store::RangeRow`] is written), for the document only.
#[derive(Debug, utoipa::ToSchema)]
pub struct WeeklyRange {
    /// 1 = Monday ... 7 = Sunday.
    pub weekday: i32,
    /// Opening minute of the day.
    pub start_minute: i32,
    /// Closing minute of the day.
    pub end_minute: i32,
}

/// A schema that is any of the named component schemas: answers whose shape depends on the case.
fn any_of(names: &[&str]) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    let mut any = utoipa::openapi::schema::AnyOfBuilder::new();
    for name in names {
        any = any.item(utoipa::openapi::Ref::from_schema_name(*name));
    }
    any.into()
}

/// A refusal of a booking or a move: a slot problem as [`ConflictBody`], anything else as
/// [`ErrorBody`]. Names the answer in the document only.
#[derive(Debug)]
pub struct RefusalBody;

impl utoipa::PartialSchema for RefusalBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        any_of(&["ConflictBody", "ErrorBody"])
    }
}

impl utoipa::ToSchema for RefusalBody {}

/// An office as `GET /offices` lists it: [`OfficeView`] with a token,
/// [`crate::room::api::PublicOfficeView`] without. Names the answer in the document only.
#[derive(Debug)]
pub struct OfficesItem;

impl utoipa::PartialSchema for OfficesItem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        any_of(&["OfficeView", "PublicOfficeView"])
    }
}

impl utoipa::ToSchema for OfficesItem {}
