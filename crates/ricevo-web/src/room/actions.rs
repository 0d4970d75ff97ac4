//! How the waiting room shows to officials (the dashboard and the API), and where a meeting's
//! media are served. What officials do to the queue and meetings is decided by the front desk
//! (`ricevo_desk::waiting_room`, `ricevo_desk::meetings`); the dashboard and the API call the
//! same desk function for the same act.

use jiff::Timestamp;
use ricevo_core::lobby::{self, Entry, Punctuality};
use ricevo_store::{Meeting, Tenant};
use serde::Serialize;

use crate::error::ApiError;
use crate::state::AppState;
use ricevo_desk::messages::token_link;

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
        booked_start: e.booked_start.map(|b| ricevo_desk::town::rfc3339(&b.to_zoned(zone.clone()))),
        waiting_since: ricevo_desk::town::rfc3339(&e.arrived_at.to_zoned(zone)),
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

/// Where a participant of `meeting` should be instead, when its media live on another node
/// (a meeting whose node died moves here first: see [`super::nodes::home_of`]).
pub(crate) async fn elsewhere(state: &AppState, meeting: &Meeting, token: &str) -> Result<Option<String>, ApiError> {
    let node = super::nodes::home_of(state, meeting).await?;
    Ok(node.map(|n| token_link(&n, token, "/join")))
}
