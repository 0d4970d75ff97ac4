//! Council (and Giunta, commission) sessions: the staff's scheduling pages, the members'
//! session room (video, roll call, floor, votes), the public page with the live stream and
//! the recording, and the minutes.

use axum::Router;

use crate::AppState;

mod hls;
pub mod live;
mod public;
mod room;
mod staff;

/// Every council route.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().merge(room::routes()).merge(public::routes()).merge(staff::routes()).merge(hls::routes())
}

// ---- room ----
/// Where the stream of the member's session is recorded on this node, if anywhere.
fn recording_for(state: &AppState, seat: &ricevo_desk::council::CouncilSeat) -> Option<std::path::PathBuf> {
    let _ = (state, seat);
    None
}
// ---- end room ----
