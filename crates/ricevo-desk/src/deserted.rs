//! A meeting everyone left closes by itself after a grace period
//! ([`DeskSettings::empty_meeting_grace`](crate::DeskSettings)), as if the official had ended
//! it: every place in it done, its appointment done, its media closed, the dashboards told, and
//! the end in the audit log as Ricevo's own act.
//!
//! Who is connected is known per node (each node tracks its own sockets, see [`crate::Live`]),
//! so only the node that carries a meeting's media judges it: the web edge's periodic sweep asks
//! [`Desk::open_meetings`], keeps those whose home is this node (taking over those of a dead
//! node first), and hands each to [`Desk::close_if_deserted`] with this node's
//! [`Vacancies`]. The decision itself is `ricevo_core::deserted`.

use ricevo_core::audit::Actor;
pub use ricevo_core::deserted::Vacancies;
use ricevo_store::Meeting;

use crate::{Desk, DeskError};

/// What the audit log says of a meeting that closed because everyone had left.
pub const EVERYONE_LEFT: &str = "everyone left";

impl Desk {
    /// Every meeting that has not ended, of every town.
    pub async fn open_meetings(&self) -> Result<Vec<Meeting>, DeskError> {
        Ok(self.store.open_meetings().await?)
    }

    /// Looks at an open meeting whose media this node carries: ends it once nobody admitted
    /// to it has had a page open on this node for the grace period (counted in `vacancies`).
    /// Returns whether it ended now.
    pub async fn close_if_deserted(&self, meeting: &Meeting, vacancies: &mut Vacancies) -> Result<bool, DeskError> {
        if meeting.ended_at.is_some() {
            return Ok(false);
        }
        let entries = self.store.meeting_entries(meeting.tenant_id, meeting.id).await?;
        // Someone still in the queue for it (an invitee not admitted yet) does not keep it open.
        let anyone = entries.iter().any(|e| e.may_join_media() && self.live.is_connected(e.id));
        if !vacancies.observe(meeting.id, anyone, self.now(), self.settings.empty_meeting_grace) {
            return Ok(false);
        }
        vacancies.retain(|m| m != meeting.id);
        tracing::info!(meeting = meeting.id.0, tenant = meeting.tenant_id.0, "closing a meeting everyone left");
        self.finish_meeting(meeting, Actor::System, EVERYONE_LEFT).await
    }
}
