//! The staff and walk-in API of the virtual office (`/api/v1/{tenant}/...`). Staff endpoints
//! take `Authorization: Bearer <api token>` of a staff member of the office.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use ricevo_core::text::PersonName;
use ricevo_core::{EntryId, Lang, MeetingId, OfficeId};
use ricevo_desk::meetings::role_abilities;
use ricevo_desk::waiting_room::{Granted, office_message};
use ricevo_store::{Grant, Meeting, Tenant};
use serde::{Deserialize, Serialize};

use super::actions::{self, WaitingView};
use super::walkin;
use crate::error::{ApiError, ErrorBody, InLang};
use crate::lang::ReqLang;
use crate::request::ClientKey;
use crate::request::{bearer, read_json, tenant};
use crate::route::ApiRoute;
use crate::state::AppState;

/// The API routes of the virtual office (listed with the others in [`crate::api_routes`]).
pub(crate) fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::new(Method::GET, "/api/v1/{tenant}/offices/{office_id}/waiting", waiting),
        ApiRoute::new(Method::POST, "/api/v1/{tenant}/offices/{office_id}/call-next", call_next),
        ApiRoute::new(Method::POST, "/api/v1/{tenant}/offices/{office_id}/tickets", take_ticket),
        ApiRoute::new(Method::POST, "/api/v1/{tenant}/waiting/{entry_id}/{action}", act),
        ApiRoute::new(Method::POST, "/api/v1/{tenant}/meetings/{meeting_id}/invite", invite),
        ApiRoute::new(Method::POST, "/api/v1/{tenant}/meetings/{meeting_id}/end", end),
        ApiRoute::new(Method::GET, "/api/v1/{tenant}/meetings/{meeting_id}/documents/{document_id}", meeting_document),
    ]
}

/// An office as the public walk-in API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicOfficeView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Whether its walk-in virtual desk takes tickets now.
    pub walk_in_open: bool,
}

/// Every office of a town with its walk-in desk's state (no credentials needed).
pub(crate) async fn public_offices(state: &AppState, t: &Tenant) -> Result<Vec<PublicOfficeView>, ApiError> {
    let mut out = Vec::new();
    for o in state.store.offices(t.id).await? {
        let walk_in_open = walkin::is_open(state, t, &o).await?;
        out.push(PublicOfficeView { id: o.id.0, name: o.name, walk_in_open });
    }
    Ok(out)
}

fn id_of(raw: &str, lang: Lang) -> Result<i64, ApiError> {
    raw.parse::<i64>().map_err(|_| ApiError::NotFound(lang))
}

/// Who waits for an office, in service order, and who is in its meetings.
#[utoipa::path(get, tag = "virtual office", path = "/api/v1/{tenant}/offices/{office_id}/waiting",
    params(("tenant" = String, Path, description = "Town slug"), ("office_id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, description = "The office's waiting room and meetings, in service order", body = [WaitingView]),
        (status = 401, description = "`unauthorized`: no token, or not one of this town", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token does not cover this office", body = ErrorBody),
        (status = 404, description = "`not_found`: no such town or office", body = ErrorBody)))]
pub(crate) async fn waiting(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path((slug, office)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Vec<WaitingView>>, ApiError> {
    let office = OfficeId(id_of(&office, lang)?);
    let t = tenant(&state, &slug, lang).await?;
    let grant = bearer(&state, &headers, &t, lang).await?;
    let now = state.now();
    let list = state.desk.office_queue(&t, &grant, office).await.in_lang(lang)?;
    Ok(Json(list.iter().map(|e| actions::view(&state, &t, e, now)).collect()))
}

/// The answer of an admission.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Admitted {
    /// The person admitted.
    pub entry_id: i64,
    /// Their meeting.
    pub meeting_id: i64,
}

/// What an action on a waiting person answers: [`Admitted`] for `admit`, the person's
/// [`WaitingView`] for the others. Names the answer in the document only.
#[derive(Debug)]
pub struct ActOutcome;

impl utoipa::PartialSchema for ActOutcome {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::AnyOfBuilder::new()
            .item(utoipa::openapi::Ref::from_schema_name("Admitted"))
            .item(utoipa::openapi::Ref::from_schema_name("WaitingView"))
            .into()
    }
}

impl utoipa::ToSchema for ActOutcome {}

/// The actions on a waiting person (the `{action}` of their path), for the document.
#[derive(Debug, utoipa::ToSchema)]
#[schema(rename_all = "kebab-case")]
pub enum WaitingAction {
    /// Into a meeting.
    Admit,
    /// Asked to wait, with a message.
    Hold,
    /// Turned away, with a message.
    Refuse,
    /// Not present.
    NoShow,
    /// To another office's line (`office_id`).
    Transfer,
}

/// A message to the person (hold, refuse) or the office to transfer to.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ActionBody {
    /// Shown to the person (hold, refuse).
    pub message: Option<String>,
    /// Target office (transfer).
    pub office_id: Option<i64>,
}

/// Acts on a waiting person: `admit`, `hold`, `refuse`, `no-show` (not present: the wait ends,
/// and a booked appointment becomes a no-show too; no body) or `transfer`. 409 `not_queued` when
/// the person is no longer in the queue.
#[utoipa::path(post, tag = "virtual office", path = "/api/v1/{tenant}/waiting/{entry_id}/{action}",
    params(("tenant" = String, Path, description = "Town slug"), ("entry_id" = i64, Path),
        ("action" = WaitingAction, Path, description = "admit, hold, refuse, no-show or transfer")),
    request_body(content = Option<ActionBody>, description = "Optional: `message` for hold and refuse, `office_id` for transfer"),
    security(("bearer" = [])),
    responses((status = 200, description = "`Admitted` for admit; the person's `WaitingView` for the others", body = ActOutcome),
        (status = 400, description = "`bad_request`: the body is not JSON, a bad message, or transfer without `office_id`", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no token, or not one of this town", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token does not cover the person's office", body = ErrorBody),
        (status = 404, description = "`not_found`: no such town, person, action or target office", body = ErrorBody),
        (status = 409, description = "`not_queued` (no longer waiting) or `conflict`", body = ErrorBody),
        (status = 422, description = "`invalid_fields`: a value of the wrong type", body = ErrorBody)))]
pub(crate) async fn act(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path((slug, entry, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let t = tenant(&state, &slug, lang).await?;
    let grant = bearer(&state, &headers, &t, lang).await?;
    let id = EntryId(id_of(&entry, lang)?);
    let body: ActionBody = if body.is_empty() { ActionBody::default() } else { read_json(&body, lang)? };
    let e = state.desk.entry_for(&t, &grant, id).await.in_lang(lang)?;
    let message = office_message(body.message.as_deref(), lang).in_lang(lang)?;
    let now = state.now();
    let changed = match action.as_str() {
        "admit" => {
            let (e, meeting) = state.desk.admit(e).await.in_lang(lang)?;
            return Ok(Json(Admitted { entry_id: e.id.0, meeting_id: meeting.0 }).into_response());
        }
        "hold" => state.desk.hold(e, message).await.in_lang(lang)?,
        "refuse" => state.desk.refuse(e, message).await.in_lang(lang)?,
        "no-show" => state.desk.no_show(e).await.in_lang(lang)?,
        "transfer" => {
            let to = body.office_id.map(OfficeId).ok_or_else(|| {
                ApiError::BadRequest(
                    lang,
                    if lang == Lang::It { "manca office_id" } else { "office_id is missing" }.into(),
                )
            })?;
            state.desk.transfer(e, to).await.in_lang(lang)?
        }
        _ => return Err(ApiError::NotFound(lang)),
    };
    Ok(Json(actions::view(&state, &t, &changed, now)).into_response())
}

/// Admits the next person in the office's line.
#[utoipa::path(post, tag = "virtual office", path = "/api/v1/{tenant}/offices/{office_id}/call-next",
    params(("tenant" = String, Path, description = "Town slug"), ("office_id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, description = "The person admitted and their meeting", body = Admitted),
        (status = 401, description = "`unauthorized`: no token, or not one of this town", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token does not cover this office", body = ErrorBody),
        (status = 404, description = "`not_found`: no such town or office", body = ErrorBody),
        (status = 409, description = "`nobody_waiting` or `conflict`", body = ErrorBody)))]
pub(crate) async fn call_next(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path((slug, office)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Admitted>, ApiError> {
    let office = OfficeId(id_of(&office, lang)?);
    let t = tenant(&state, &slug, lang).await?;
    let grant = bearer(&state, &headers, &t, lang).await?;
    let (e, meeting) = state.desk.call_next(&t, &grant, office).await.in_lang(lang)?;
    Ok(Json(Admitted { entry_id: e.id.0, meeting_id: meeting.0 }))
}

/// An invitation into a meeting.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct InviteBody {
    /// The invitee's name, as others see it.
    pub name: String,
    /// `participant` (speak, video, screen, documents), `speaker` (speak and video), `viewer`
    /// (watch only), `official` (everything, including muting and ending), or a comma list of
    /// `speak`, `video`, `screen`, `documents`.
    pub role: String,
    /// Enter without the waiting room.
    pub direct: bool,
}

/// The personal link of an invitee.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Invitation {
    /// The invitee's place.
    pub entry_id: i64,
    /// Their personal link.
    pub join_url: String,
}

async fn meeting_for(
    state: &AppState,
    t: &Tenant,
    grant: &Grant,
    raw: &str,
    lang: Lang,
) -> Result<Granted<Meeting>, ApiError> {
    let id = MeetingId(id_of(raw, lang)?);
    state.desk.open_meeting_for(t, grant, id).await.in_lang(lang)
}

/// Invites someone into a meeting with a personal link.
#[utoipa::path(post, tag = "virtual office", path = "/api/v1/{tenant}/meetings/{meeting_id}/invite",
    params(("tenant" = String, Path, description = "Town slug"), ("meeting_id" = i64, Path)), request_body = InviteBody,
    security(("bearer" = [])),
    responses((status = 201, description = "Invited", body = Invitation),
        (status = 400, description = "`bad_request`: the body is not JSON", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no token, or not one of this town", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token does not cover the meeting's office", body = ErrorBody),
        (status = 404, description = "`not_found`: no such town or meeting", body = ErrorBody),
        (status = 409, description = "`not_active`: the meeting has ended", body = ErrorBody),
        (status = 422, description = "`invalid_fields`: a bad name or role", body = ErrorBody)))]
pub(crate) async fn invite(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path((slug, meeting)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let t = tenant(&state, &slug, lang).await?;
    let grant = bearer(&state, &headers, &t, lang).await?;
    let m = meeting_for(&state, &t, &grant, &meeting, lang).await?;
    let body: InviteBody = read_json(&body, lang)?;
    let name = PersonName::parse(&body.name)
        .map_err(|e| ApiError::Fields(lang, vec![ricevo_core::citizen::FieldError::new("name", e.message(lang))]))?;
    let (kind, abilities) = role_abilities(&body.role).ok_or_else(|| {
        let message = if lang == Lang::It {
            "Ruolo non valido: participant, speaker, viewer, official o un elenco di speak, video, screen, documents."
        } else {
            "Invalid role: participant, speaker, viewer, official or a list of speak, video, screen, documents."
        };
        ApiError::Fields(lang, vec![ricevo_core::citizen::FieldError::new("role", message)])
    })?;
    let (entry, join_url) =
        state.desk.invite(&m, name.as_str().to_owned(), kind, abilities, body.direct).await.in_lang(lang)?;
    Ok((StatusCode::CREATED, Json(Invitation { entry_id: entry.id.0, join_url })).into_response())
}

/// Ends a meeting for everyone.
#[utoipa::path(post, tag = "virtual office", path = "/api/v1/{tenant}/meetings/{meeting_id}/end",
    params(("tenant" = String, Path, description = "Town slug"), ("meeting_id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204, description = "Ended for everyone"),
        (status = 401, description = "`unauthorized`: no token, or not one of this town", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token does not cover the meeting's office", body = ErrorBody),
        (status = 404, description = "`not_found`: no such town or meeting", body = ErrorBody),
        (status = 409, description = "`not_active`: the meeting has already ended", body = ErrorBody)))]
pub(crate) async fn end(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path((slug, meeting)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let t = tenant(&state, &slug, lang).await?;
    let grant = bearer(&state, &headers, &t, lang).await?;
    let m = meeting_for(&state, &t, &grant, &meeting, lang).await?;
    state.desk.end_meeting(&m).await.in_lang(lang)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A document shared in a meeting of the caller's offices, as an attachment, also after the
/// meeting ended: the office keeps the case's documents (until the retention job removes them).
#[utoipa::path(get, tag = "virtual office", path = "/api/v1/{tenant}/meetings/{meeting_id}/documents/{document_id}",
    params(("tenant" = String, Path, description = "Town slug"), ("meeting_id" = i64, Path), ("document_id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "The document, as an attachment of its sniffed type",
            content_type = "application/octet-stream"),
        (status = 401, description = "`unauthorized`: no token, or not one of this town", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token does not cover the meeting's office", body = ErrorBody),
        (status = 404, description = "`not_found`: no such town, meeting or document", body = ErrorBody)))]
pub(crate) async fn meeting_document(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path((slug, meeting, document)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t = tenant(&state, &slug, lang).await?;
    let grant = bearer(&state, &headers, &t, lang).await?;
    let m = state.desk.meeting_for(&t, &grant, MeetingId(id_of(&meeting, lang)?)).await.in_lang(lang)?;
    let id = ricevo_core::DocumentId(id_of(&document, lang)?);
    let (meta, bytes) = state.desk.meeting_document(&m, id).await.in_lang(lang)?;
    Ok(super::documents::attachment(&meta, bytes))
}

/// A walk-in ticket request.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TicketBody {
    /// The citizen's name.
    pub name: String,
    /// Optional e-mail: the ticket's number and personal link are sent to it, in the
    /// request's language.
    pub email: Option<String>,
}

/// A taken ticket.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ticket {
    /// Number of the day at this office.
    pub ticket_number: i32,
    /// The citizen's personal link to the waiting room.
    pub join_url: String,
}

/// Takes a ticket at an office's walk-in desk (public; 409 when the desk is closed). With an
/// `email`, an e-mail with the number and the `join_url` is queued with the ticket.
#[utoipa::path(post, tag = "virtual office", path = "/api/v1/{tenant}/offices/{office_id}/tickets",
    params(("tenant" = String, Path, description = "Town slug"), ("office_id" = i64, Path)), request_body = TicketBody,
    responses((status = 201, description = "The ticket", body = Ticket),
        (status = 400, description = "`bad_request`: the body is not JSON", body = ErrorBody),
        (status = 404, description = "`not_found`: no such town or office", body = ErrorBody),
        (status = 409, description = "`walk_in_closed`: the office's walk-in desk is closed now", body = ErrorBody),
        (status = 422, description = "`invalid_fields`: a bad name or e-mail", body = ErrorBody)))]
pub(crate) async fn take_ticket(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path((slug, office)): Path<(String, String)>,
    ClientKey(client): ClientKey,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let t = tenant(&state, &slug, lang).await?;
    let office = OfficeId(id_of(&office, lang)?);
    let office = state.store.office(t.id, office).await?.ok_or(ApiError::NotFound(lang))?;
    let body: TicketBody = read_json(&body, lang)?;
    let (entry, join_url) =
        state.desk.take_ticket(&t, &office, &body.name, body.email.as_deref(), &client, lang).await.in_lang(lang)?;
    let ticket = Ticket { ticket_number: entry.ticket_number.unwrap_or(0), join_url };
    Ok((StatusCode::CREATED, Json(ticket)).into_response())
}
