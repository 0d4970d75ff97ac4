//! Council (and Giunta, commission) sessions: the staff's scheduling pages, the members'
//! session room (video, roll call, floor, votes), the public page with the live stream and
//! the recording, and the minutes.

use axum::Router;

use crate::state::AppState;

mod hls;
pub mod live;
mod public;
// ---- public ----
mod recordings;
// ---- end public ----
mod room;
mod staff;

// ---- public ----
pub use hls::{is_stream_path, recording_dir};
pub use recordings::{SWEEP_EVERY, run_recording_sweeper, sweep_recordings};
// ---- end public ----

/// Every council route.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().merge(room::routes()).merge(public::routes()).merge(staff::routes()).merge(hls::routes())
}
