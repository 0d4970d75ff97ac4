//! Recording retention: each town says how long its sessions' recordings are kept after the
//! end (forever, N days, or removed when the session closes); the sweeper removes the folders
//! past it and tells the desk, so the public page stops offering them.

use std::path::Path;
use std::time::Duration;

use ricevo_desk::Desk;
use tokio::sync::watch;

use super::hls::recording_dir;

/// How often the sweeper looks for recordings due for removal: "removed at the end" takes at
/// most this long after a session closes.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// One round: removes every recording the desk says is due, under `root`. Returns how many
/// were removed; a folder that cannot be removed is logged and tried again next round.
pub async fn sweep_recordings(desk: &Desk, root: &Path) -> Result<usize, ricevo_desk::DeskError> {
    let due = desk.council_recordings_due().await?;
    let mut removed = 0;
    for (tenant, session) in due {
        let dir = recording_dir(root, tenant, session.0);
        let result = tokio::task::spawn_blocking(move || ricevo_stream::remove_recording(&dir)).await;
        match result {
            Ok(Ok(())) => {
                desk.council_recording_removed(tenant, session).await?;
                tracing::info!(tenant = tenant.0, session = session.0, "removed a council recording past retention");
                removed += 1;
            }
            Ok(Err(e)) => tracing::warn!(tenant = tenant.0, session = session.0, error = %e,
                "cannot remove a council recording; will retry"),
            Err(e) => tracing::warn!(error = %e, "removing a council recording stopped; will retry"),
        }
    }
    Ok(removed)
}

/// Runs [`sweep_recordings`] every [`SWEEP_EVERY`] until `stop` turns true.
pub async fn run_recording_sweeper(desk: Desk, root: std::path::PathBuf, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = sweep_recordings(&desk, &root).await {
            tracing::warn!(error = %e, "council recording retention failed; will retry");
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Where a running session's stream is recorded.
pub(super) fn recording_for(
    state: &crate::state::AppState,
    seat: &ricevo_desk::council::CouncilSeat,
) -> Option<std::path::PathBuf> {
    Some(recording_dir(&state.config.council_recordings_dir, seat.tenant, seat.session.0))
}
