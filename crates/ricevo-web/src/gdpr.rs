//! A citizen's data on request (GDPR): the JSON export the API, the staff page and the command
//! line share, and the two API endpoints for the town's administrators,
//! `POST /api/v1/{tenant}/citizens/export` and `POST /api/v1/{tenant}/citizens/erase`.
//!
//! The citizen's key travels in the body, never in the URL, so no access log or proxy keeps it.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use jiff::Timestamp;
use ricevo_core::Lang;
use ricevo_desk::privacy::CitizenKey;
use ricevo_desk::town::{rfc3339, zone_of};
use ricevo_store::{CitizenRecord, ErasureCounts, Office, Service, Store, StoreError, Tenant};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorBody, InLang};
use crate::lang::ReqLang;
use crate::request::{bearer, read_json, tenant};
use crate::route::ApiRoute;
use crate::state::AppState;

/// The API routes of this module (listed with the others in [`crate::api_routes`]).
pub(crate) fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::new(Method::POST, "/api/v1/{tenant}/citizens/export", export),
        ApiRoute::new(Method::POST, "/api/v1/{tenant}/citizens/erase", erase),
    ]
}

/// Who the request is about: exactly one of the three.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CitizenKeyBody {
    /// The citizen's e-mail address (appointments, tickets, invitations).
    pub email: Option<String>,
    /// The citizen's phone number, however written (`+39 333 123 4567`).
    pub phone: Option<String>,
    /// The citizen's codice fiscale.
    pub fiscal_code: Option<String>,
}

impl CitizenKeyBody {
    /// The checked key.
    pub fn key(&self, lang: Lang) -> Result<CitizenKey, ApiError> {
        CitizenKey::parse(self.email.as_deref(), self.phone.as_deref(), self.fiscal_code.as_deref(), lang).in_lang(lang)
    }
}

/// One appointment of the citizen.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppointmentData {
    /// Reference code.
    pub id: String,
    /// Office.
    pub office: String,
    /// Service.
    pub service: String,
    /// `booked`, `checked_in`, `done`, `no_show`, `cancelled`.
    pub status: String,
    /// Start (RFC 3339, local offset).
    pub start: String,
    /// End.
    pub end: String,
    /// `video` or `in_person` (or `phone`).
    pub mode: String,
    /// Name as given.
    pub name: String,
    /// E-mail as given.
    pub email: String,
    /// Phone as given.
    pub phone: Option<String>,
    /// Codice fiscale.
    pub fiscal_code: Option<String>,
    /// Notes the citizen wrote.
    pub notes: Option<String>,
    /// Answers to the service's questions.
    #[schema(value_type = Object)]
    pub answers: serde_json::Value,
    /// Language of the messages.
    pub lang: String,
    /// When it was booked.
    pub booked_at: String,
}

/// One waiting-room place, walk-in ticket or invitation of the citizen.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlaceData {
    /// `appointment`, `ticket` or `invitee`.
    pub kind: String,
    /// Office.
    pub office: String,
    /// Reference code of the appointment it belongs to.
    pub appointment: Option<String>,
    /// A ticket's day and number.
    pub ticket: Option<String>,
    /// Name staff saw.
    pub name: String,
    /// E-mail the ticket or invitation went to.
    pub email: Option<String>,
    /// Status (`waiting`, `done`, ...).
    pub status: String,
    /// What an official wrote to the citizen.
    pub message: Option<String>,
    /// Arrival.
    pub arrived_at: String,
    /// End.
    pub ended_at: Option<String>,
}

/// One document shared by the citizen or in their appointment's meeting.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentData {
    /// Document id (with the meeting id it is downloaded from
    /// `GET /api/v1/{tenant}/meetings/{meeting_id}/documents/{document_id}`).
    pub id: i64,
    /// Meeting id.
    pub meeting_id: i64,
    /// File name.
    pub name: String,
    /// Media type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Upload time.
    pub uploaded_at: String,
}

/// A message about the citizen still in the outbox.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessageData {
    /// `email`, `ticket`, `webhook`, ...
    pub kind: String,
    /// Reference code of the appointment it is about.
    pub appointment: Option<String>,
    /// When it was queued.
    pub queued_at: String,
    /// When it is (was) due.
    pub due_at: String,
    /// When it was delivered (its body is then forgotten).
    pub sent_at: Option<String>,
    /// The body held, as stored (JSON); `{}` once delivered.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
}

/// A line of the chat of a meeting the citizen was in (kept with the case).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChatData {
    /// Meeting id.
    pub meeting_id: i64,
    /// Who wrote it, by the name they had in the meeting.
    pub from: String,
    /// The line.
    pub text: String,
    /// When it was written.
    pub written_at: String,
}

/// Everything a town holds about one citizen (GDPR art. 15).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CitizenExport {
    /// The town's name.
    pub town: String,
    /// When the export was made.
    pub exported_at: String,
    /// The key the citizen was found by: `email`, `phone` or `fiscal_code`.
    pub found_by: String,
    /// Its value.
    pub key: String,
    /// Appointments, newest first.
    pub appointments: Vec<AppointmentData>,
    /// Waiting-room places and tickets, newest first.
    pub waiting_room: Vec<PlaceData>,
    /// Shared documents (names and sizes).
    pub documents: Vec<DocumentData>,
    /// Messages still in the outbox.
    pub messages: Vec<MessageData>,
    /// The chat of the meetings they were in, oldest first.
    pub chat: Vec<ChatData>,
}

impl CitizenExport {
    /// Whether the town holds nothing about the citizen.
    pub fn is_empty(&self) -> bool {
        self.appointments.is_empty()
            && self.waiting_room.is_empty()
            && self.documents.is_empty()
            && self.messages.is_empty()
            && self.chat.is_empty()
    }
}

/// The export of `record`, with the town's office and service names and times in its zone.
pub fn export_of(
    t: &Tenant,
    key: &CitizenKey,
    record: &CitizenRecord,
    offices: &[Office],
    services: &[Service],
    now: Timestamp,
) -> CitizenExport {
    let zone = zone_of(t);
    let when = |ts: Timestamp| rfc3339(&ts.to_zoned(zone.clone()));
    let office_names: HashMap<_, _> = offices.iter().map(|o| (o.id, o.name.clone())).collect();
    let office = |id| office_names.get(&id).cloned().unwrap_or_default();
    let service_names: HashMap<_, _> = services.iter().map(|s| (s.id, s.name.clone())).collect();
    let codes: HashMap<_, _> = record.appointments.iter().map(|a| (a.id, a.public_id.clone())).collect();
    let code = |id: Option<_>| id.and_then(|id| codes.get(&id).cloned());
    CitizenExport {
        town: t.name.clone(),
        exported_at: when(now),
        found_by: key.field().to_owned(),
        key: key.value().to_owned(),
        appointments: record
            .appointments
            .iter()
            .map(|a| AppointmentData {
                id: a.public_id.clone(),
                office: office(a.office_id),
                service: service_names.get(&a.service_id).cloned().unwrap_or_default(),
                status: a.status.as_str().to_owned(),
                start: when(a.start),
                end: when(a.end),
                mode: a.mode.as_str().to_owned(),
                name: a.citizen_name.clone(),
                email: a.citizen_email.clone(),
                phone: a.citizen_phone.clone(),
                fiscal_code: a.fiscal_code.clone(),
                notes: a.notes.clone(),
                answers: a.answers.clone(),
                lang: a.lang.code().to_owned(),
                booked_at: when(a.created_at),
            })
            .collect(),
        waiting_room: record
            .entries
            .iter()
            .map(|e| PlaceData {
                kind: e.kind.clone(),
                office: office(e.office_id),
                appointment: code(e.appointment_id),
                ticket: e.ticket_number.map(|n| format!("{} n. {n}", e.ticket_day.as_deref().unwrap_or(""))),
                name: e.name.clone(),
                email: e.email.clone(),
                status: e.status.clone(),
                message: e.message.clone(),
                arrived_at: when(e.arrived_at),
                ended_at: e.ended_at.map(when),
            })
            .collect(),
        documents: record
            .documents
            .iter()
            .map(|d| DocumentData {
                id: d.id.0,
                meeting_id: d.meeting_id.0,
                name: d.name.clone(),
                content_type: d.content_type.clone(),
                size: d.size,
                uploaded_at: when(d.created_at),
            })
            .collect(),
        messages: record
            .messages
            .iter()
            .map(|m| MessageData {
                kind: m.kind.clone(),
                appointment: code(m.appointment_id),
                queued_at: when(m.created_at),
                due_at: when(m.due_at),
                sent_at: m.sent_at.map(when),
                body: serde_json::from_str(&m.payload).unwrap_or_else(|_| serde_json::Value::String(m.payload.clone())),
            })
            .collect(),
        chat: record
            .chat
            .iter()
            .map(|l| ChatData {
                meeting_id: l.meeting_id.0,
                from: l.name.clone(),
                text: l.text.clone(),
                written_at: when(l.created_at),
            })
            .collect(),
    }
}

/// The export of `record` with the names read from `store`.
pub async fn export_from(
    store: &dyn Store,
    t: &Tenant,
    key: &CitizenKey,
    record: &CitizenRecord,
    now: Timestamp,
) -> Result<CitizenExport, StoreError> {
    let offices = store.offices(t.id).await?;
    let services = store.services(t.id).await?;
    Ok(export_of(t, key, record, &offices, &services, now))
}

/// What an erasure removed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErasureView {
    /// Appointments anonymised.
    pub appointments: u64,
    /// Waiting-room places and tickets whose name and e-mail were removed.
    pub waiting_room: u64,
    /// Documents deleted.
    pub documents: u64,
    /// Outbox messages deleted.
    pub messages: u64,
    /// Audit log entries about the citizen whose name was removed (the acts stay).
    pub audit_names: u64,
    /// Chat lines of their meetings deleted.
    pub chat_lines: u64,
}

impl From<ErasureCounts> for ErasureView {
    fn from(c: ErasureCounts) -> Self {
        ErasureView {
            appointments: c.appointments,
            waiting_room: c.entries,
            documents: c.documents,
            messages: c.messages,
            audit_names: c.audit_names,
            chat_lines: c.chat_lines,
        }
    }
}

/// Everything the town holds about one citizen, found by e-mail, phone or codice fiscale
/// (GDPR art. 15). For an administrator's token of the town.
#[utoipa::path(post, tag = "privacy", path = "/api/v1/{tenant}/citizens/export",
    params(("tenant" = String, Path, description = "Town slug")), request_body = CitizenKeyBody, security(("bearer" = [])),
    responses((status = 200, description = "The citizen's data (empty lists when the town holds none)", body = CitizenExport),
        (status = 400, description = "`bad_request`: the body is not JSON, or gives no key or more than one", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no token, or not one of this town", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token is not an administrator's", body = ErrorBody),
        (status = 404, description = "`not_found`: no such town", body = ErrorBody),
        (status = 422, description = "`invalid_fields`: a malformed e-mail, phone or fiscal code", body = ErrorBody)))]
pub(crate) async fn export(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<CitizenExport>, ApiError> {
    let t = tenant(&state, &slug, lang).await?;
    let grant = bearer(&state, &headers, &t, lang).await?;
    let key = read_json::<CitizenKeyBody>(&body, lang)?.key(lang)?;
    let record = state.desk.citizen_record(&t, &grant, &key).await.in_lang(lang)?;
    Ok(Json(export_from(&*state.store, &t, &key, &record, state.now()).await?))
}

/// Erases one citizen's data (GDPR art. 17): appointments anonymised, waiting-room names
/// removed, documents and queued messages deleted, in one transaction. Refused (409, nothing
/// changed) while an appointment is still to come: cancel it first, so the citizen is told.
#[utoipa::path(post, tag = "privacy", path = "/api/v1/{tenant}/citizens/erase",
    params(("tenant" = String, Path, description = "Town slug")), request_body = CitizenKeyBody, security(("bearer" = [])),
    responses((status = 200, description = "What was erased", body = ErasureView),
        (status = 400, description = "`bad_request`: the body is not JSON, or gives no key or more than one", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no token, or not one of this town", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token is not an administrator's", body = ErrorBody),
        (status = 404, description = "`not_found`: no such town", body = ErrorBody),
        (status = 409, description = "`citizen_has_appointments_to_come`: cancel them first (the message names them)", body = ErrorBody),
        (status = 422, description = "`invalid_fields`: a malformed e-mail, phone or fiscal code", body = ErrorBody)))]
pub(crate) async fn erase(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<ErasureView>, ApiError> {
    let t = tenant(&state, &slug, lang).await?;
    let grant = bearer(&state, &headers, &t, lang).await?;
    let key = read_json::<CitizenKeyBody>(&body, lang)?.key(lang)?;
    let counts = state.desk.erase_citizen(&t, &grant, &key).await.in_lang(lang)?;
    Ok(Json(counts.into()))
}
