//! What officials do to the waiting room and meetings, shared by the dashboard and the API:
//! admit, hold, refuse, mark as not present (no-show), transfer, call next, invite, end. Each
//! action on a queued entry reads it, asks the pure state machine (`ricevo_core::lobby`) for the
//! next state, writes it only if nobody changed it meanwhile, and then tells the connected
//! browsers (all through [`apply`]).

use jiff::Timestamp;
use ricevo_core::lobby::{self, Abilities, Entry, EntryKind, EntryStatus, Punctuality, TransitionError};
use ricevo_core::{EntryId, Lang, MeetingId, OfficeId};
use ricevo_store::{AppointmentStatus, Grant, Meeting, NewEntry, StoreError, Tenant};
use serde::Serialize;

use super::hub;
use crate::AppState;
use crate::error::ApiError;
use ricevo_desk::messages::token_link;
use ricevo_desk::tokens;

/// The service time assumed until an office has finished enough meetings to measure its own.
const DEFAULT_SERVICE_MINUTES: i64 = 15;

/// Longest message an official may send to someone waiting.
pub(crate) const MAX_MESSAGE_CHARS: usize = 500;

/// An entry of an office's queue as dashboards and the API show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WaitingView {
    /// Id for the actions.
    pub entry_id: i64,
    /// `appointment`, `ticket`, `invitee` or `official`.
    pub kind: &'static str,
    /// Name of the person.
    pub name: String,
    /// Service booked (empty for invitees and tickets).
    pub service: String,
    /// Booked start, RFC 3339 local (appointments only).
    pub booked_start: Option<String>,
    /// Since when they wait, RFC 3339 local.
    pub waiting_since: String,
    /// `waiting`, `held`, `admitted`, `in_meeting`, ...
    pub status: &'static str,
    /// Ticket number (walk-in desk).
    pub ticket_number: Option<i32>,
    /// Minutes waited so far.
    pub minutes_waited: i64,
    /// Minutes early for the booked time.
    pub early_minutes: Option<i64>,
    /// Minutes late for the booked time.
    pub late_minutes: Option<i64>,
    /// Whether their page is open on this node right now.
    pub connected: bool,
    /// Their meeting, once admitted.
    pub meeting_id: Option<i64>,
    /// The office's last message to them.
    pub message: Option<String>,
}

/// Minutes between two instants, rounded down, never negative.
pub(crate) fn minutes_between(from: Timestamp, to: Timestamp) -> i64 {
    (to.as_second() - from.as_second()).max(0) / 60
}

/// How an entry shows on the dashboard.
pub(crate) fn view(state: &AppState, tenant: &Tenant, e: &Entry, now: Timestamp) -> WaitingView {
    let zone = ricevo_desk::town::zone_of(tenant);
    let (early, late) = match e.booked_start.map(|b| lobby::punctuality(b, e.arrived_at, 2)) {
        Some(Punctuality::Early { minutes }) => (Some(minutes), None),
        Some(Punctuality::Late { minutes }) => (None, Some(minutes)),
        _ => (None, None),
    };
    let waited_until = e.admitted_at.unwrap_or(now);
    WaitingView {
        entry_id: e.id.0,
        kind: e.kind.as_str(),
        name: e.name.clone(),
        service: e.service.clone(),
        booked_start: e.booked_start.map(|b| crate::api::rfc3339(&b.to_zoned(zone.clone()))),
        waiting_since: crate::api::rfc3339(&e.arrived_at.to_zoned(zone)),
        status: e.status.as_str(),
        ticket_number: e.ticket_number,
        minutes_waited: minutes_between(e.arrived_at, waited_until),
        early_minutes: early,
        late_minutes: late,
        connected: state.hub.is_connected(e.id),
        meeting_id: e.meeting_id.map(|m| m.0),
        message: e.message.clone(),
    }
}

/// The office's queue and meetings in service order: queued first, then those admitted.
pub(crate) async fn office_queue(state: &AppState, tenant: &Tenant, office: OfficeId) -> Result<Vec<Entry>, ApiError> {
    let entries = state.store.office_entries(tenant.id, office).await?;
    let mut ordered: Vec<Entry> = lobby::queue_order(&entries).into_iter().cloned().collect();
    ordered.extend(entries.iter().filter(|e| !e.status.is_queued() && e.kind != EntryKind::Official).cloned());
    Ok(ordered)
}

/// Loads an entry the grant may act on.
pub(crate) async fn entry_for(
    state: &AppState,
    tenant: &Tenant,
    grant: &Grant,
    id: EntryId,
    lang: Lang,
) -> Result<Entry, ApiError> {
    let e = state.store.entry(tenant.id, id).await?.ok_or(ApiError::NotFound(lang))?;
    if !grant.covers_office(e.office_id) {
        return Err(ApiError::Forbidden(lang));
    }
    Ok(e)
}

/// What an entry's new status means for its booked appointment: a person marked not present
/// in the waiting room did not attend the appointment either.
fn appointment_outcome(status: EntryStatus) -> Option<AppointmentStatus> {
    match status {
        EntryStatus::NoShow => Some(AppointmentStatus::NoShow),
        _ => None,
    }
}

/// Applies an official's transition to an entry: asks the state machine for the next value
/// (409 `not_queued` when the action makes no sense any more), writes it only if the stored
/// status is still the one read (409 `conflict` otherwise), together with what it means for the
/// appointment in the same transaction, then tells the person's page and the office's dashboards.
async fn apply(
    state: &AppState,
    entry: Entry,
    lang: Lang,
    transition: impl FnOnce(&Entry, Timestamp) -> Result<Entry, TransitionError>,
) -> Result<Entry, ApiError> {
    let now = state.now();
    let after = transition(&entry, now).map_err(|_| ApiError::NotQueued(lang))?;
    let written = match (after.appointment_id, appointment_outcome(after.status)) {
        (Some(_), Some(outcome)) => {
            state.store.update_entry_closing_appointment(&after, entry.status, outcome, now).await
        }
        _ => state.store.update_entry(&after, entry.status).await,
    };
    match written {
        Ok(()) => {}
        Err(StoreError::Stale) => return Err(ApiError::Conflict(lang)),
        Err(e) => return Err(e.into()),
    }
    hub::entry_changed(state, after.id);
    hub::office_changed(state, after.office_id);
    Ok(after)
}

/// A checked message from the office (one line, at most [`MAX_MESSAGE_CHARS`]).
pub(crate) fn office_message(raw: Option<&str>, lang: Lang) -> Result<Option<String>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    ricevo_core::text::single_line(raw, MAX_MESSAGE_CHARS)
        .map(Some)
        .map_err(|e| ApiError::BadRequest(lang, e.message(lang).to_owned()))
}

/// Lets a waiting person in: opens their meeting (or uses the one they were invited to).
pub(crate) async fn admit(
    state: &AppState,
    tenant: &Tenant,
    entry: Entry,
    lang: Lang,
) -> Result<(Entry, MeetingId), ApiError> {
    let now = state.now();
    let meeting = match entry.meeting_id {
        // An invitee, or someone removed from a meeting, goes back into that meeting only while it lasts.
        Some(_) if open_meeting_of(state, &entry).await?.is_none() => return Err(ApiError::NotQueued(lang)),
        Some(m) => m,
        None => {
            let public_id = tokens::new_public_id();
            let node = Some(state.config.node());
            state
                .store
                .create_meeting(tenant.id, entry.office_id, entry.appointment_id, &public_id, node, now)
                .await?
                .id
        }
    };
    let admitted = apply(state, entry, lang, |e, _| e.admit(meeting, now)).await?;
    Ok((admitted, meeting))
}

/// Asks a waiting person to wait, with a message they see.
pub(crate) async fn hold(
    state: &AppState,
    entry: Entry,
    message: Option<String>,
    lang: Lang,
) -> Result<Entry, ApiError> {
    apply(state, entry, lang, |e, now| e.hold(message.unwrap_or_default(), now)).await
}

/// Refuses a waiting person, with a message they see.
pub(crate) async fn refuse(
    state: &AppState,
    entry: Entry,
    message: Option<String>,
    lang: Lang,
) -> Result<Entry, ApiError> {
    apply(state, entry, lang, |e, now| e.refuse(message.unwrap_or_default(), now)).await
}

/// Marks a queued person as not present (they did not answer, or their page is closed): their
/// wait ends, and a booked appointment becomes a no-show in the same transaction.
pub(crate) async fn no_show(state: &AppState, entry: Entry, lang: Lang) -> Result<Entry, ApiError> {
    apply(state, entry, lang, Entry::no_show).await
}

/// Moves a waiting person to another office's queue (they keep their arrival time).
pub(crate) async fn transfer(
    state: &AppState,
    tenant: &Tenant,
    entry: Entry,
    to: OfficeId,
    lang: Lang,
) -> Result<Entry, ApiError> {
    state.store.office(tenant.id, to).await?.ok_or(ApiError::NotFound(lang))?;
    let from = entry.office_id;
    let moved = apply(state, entry, lang, |e, now| e.transfer(to, now)).await?;
    hub::office_changed(state, from);
    Ok(moved)
}

/// Admits the next person in line of an office: people whose page is open come first.
pub(crate) async fn call_next(
    state: &AppState,
    tenant: &Tenant,
    office: OfficeId,
    lang: Lang,
) -> Result<(Entry, MeetingId), ApiError> {
    let entries = state.store.office_entries(tenant.id, office).await?;
    let order = lobby::queue_order(&entries);
    let next = order
        .iter()
        .find(|e| e.status == EntryStatus::Waiting && state.hub.is_connected(e.id))
        .or_else(|| order.iter().find(|e| e.status == EntryStatus::Waiting))
        .or_else(|| order.first())
        .map(|e| (*e).clone())
        .ok_or(ApiError::NobodyWaiting(lang))?;
    admit(state, tenant, next, lang).await
}

/// A new personal link into a meeting. `direct` enters without the waiting room.
pub(crate) async fn invite(
    state: &AppState,
    tenant: &Tenant,
    meeting: &Meeting,
    name: String,
    kind: EntryKind,
    abilities: Abilities,
    direct: bool,
) -> Result<(Entry, String), ApiError> {
    let token = tokens::new_token();
    let new = NewEntry {
        tenant_id: tenant.id,
        office_id: meeting.office_id,
        kind,
        appointment_id: None,
        meeting_id: Some(meeting.id),
        name,
        email: None,
        service: String::new(),
        booked_start: None,
        booked_end: None,
        abilities,
        direct,
        token_hash: Some(tokens::hash(&token)),
    };
    let entry = state.store.add_entry(&new, state.now()).await?;
    hub::office_changed(state, meeting.office_id);
    Ok((entry, token_link(&state.config.public_url, &token, "/join")))
}

/// Ends a meeting for everyone: entries done, the appointment done, media closed.
pub(crate) async fn end_meeting(state: &AppState, tenant: &Tenant, meeting: &Meeting) -> Result<(), ApiError> {
    let finished = state.store.end_meeting(tenant.id, meeting.id, state.now()).await?;
    if let Some(media) = &state.media {
        media.close_room(ricevo_media::RoomId(meeting.id.0));
    }
    for e in &finished {
        hub::entry_changed(state, e.id);
    }
    hub::office_changed(state, meeting.office_id);
    Ok(())
}

/// The meeting of an entry, if it has one and it has not ended.
pub(crate) async fn open_meeting_of(state: &AppState, e: &Entry) -> Result<Option<Meeting>, ApiError> {
    let Some(id) = e.meeting_id else { return Ok(None) };
    Ok(state.store.meeting(e.tenant_id, id).await?.filter(|m| m.ended_at.is_none()))
}

/// Where a participant of `meeting` should be instead, when its media live on another node
/// (a meeting whose node died moves here first: see [`super::nodes::home_of`]).
pub(crate) async fn elsewhere(state: &AppState, meeting: &Meeting, token: &str) -> Result<Option<String>, ApiError> {
    let node = super::nodes::home_of(state, meeting).await?;
    Ok(node.map(|n| token_link(&n, token, "/join")))
}

/// The wait estimate for a queued entry: `(position, minutes)`.
pub(crate) async fn estimate(state: &AppState, e: &Entry, now: Timestamp) -> Result<(Option<usize>, i64), ApiError> {
    let entries = state.store.office_entries(e.tenant_id, e.office_id).await?;
    let position = lobby::position(&entries, e.id);
    let recent = state.store.recent_service_seconds(e.tenant_id, e.office_id, 20).await?;
    let desks =
        state.store.office(e.tenant_id, e.office_id).await?.and_then(|o| u16::try_from(o.desks).ok()).unwrap_or(1);
    let wait = lobby::estimate_entry_wait(e, position.unwrap_or(0), &recent, desks, DEFAULT_SERVICE_MINUTES, now);
    Ok((position, (wait.as_secs().max(0) + 59) / 60))
}
