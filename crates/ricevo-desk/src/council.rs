//! Council sessions: a town schedules a session of its council, Giunta or a commission with
//! personal links for its members; the members run it through [`Desk::council_act`] (the
//! rules are the core's `council` module); viewers read [`Desk::council_public`]; the minutes'
//! skeleton comes from [`Desk::council_minutes`].
//!
//! Every change is an event appended to the session's log with the next sequence number; two
//! nodes acting at once collide on the (session, seq) key and the loser replays and retries, so
//! no event is lost. A vote is also a row keyed by (session, vote, member): a second vote is
//! impossible even across nodes.

use jiff::Timestamp;
use ricevo_core::council::{
    BodyKind, Command, CouncilSessionId, MemberId, Minutes, Phase, PublicSnapshot, Role, Setup, Snapshot,
};
use ricevo_core::{Lang, TenantId};
use ricevo_store::{Grant, Tenant};
use serde::Serialize;

use crate::{Desk, DeskError};

/// A member to seat in a new session, as the schedule form gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDraft {
    /// The member's name.
    pub name: String,
    /// The member's role (exactly one chair per session).
    pub role: Role,
    /// Where to send the personal link; `None`: staff hand it over.
    pub email: Option<String>,
}

/// A session to schedule, as the schedule form gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDraft {
    /// The kind of body.
    pub body: BodyKind,
    /// The body's name ("Consiglio comunale", "Commissione bilancio"); empty: the kind's name.
    pub body_name: String,
    /// The session's title ("Seduta ordinaria").
    pub title: String,
    /// When it is called for.
    pub starts_at: Timestamp,
    /// The agenda items' titles, in order.
    pub items: Vec<String>,
    /// Who sits (at most [`MAX_MEMBERS`]).
    pub members: Vec<MemberDraft>,
    /// Voting members present needed for the quorum; `None`: a majority of the voting members.
    pub quorum: Option<u16>,
    /// The length of a speech in minutes; `None`: no limit.
    pub speech_minutes: Option<u16>,
}

/// Most members one session seats (everyone speaks and shows video).
pub const MAX_MEMBERS: usize = 50;
/// Most agenda items.
pub const MAX_ITEMS: usize = 100;

/// A member's personal link, returned once (only its hash is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberLink {
    /// The seat.
    pub member: MemberId,
    /// The member's name.
    pub name: String,
    /// The member's role.
    pub role: Role,
    /// The link (`{public_url}/{town}/consiglio/membro/{token}`).
    pub url: String,
    /// Whether an e-mail with the link was queued.
    pub emailed: bool,
}

/// A session in the town's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouncilSummary {
    /// The session.
    pub id: CouncilSessionId,
    /// The kind of body.
    pub body: BodyKind,
    /// The body's name.
    pub body_name: String,
    /// The title.
    pub title: String,
    /// When called for.
    pub starts_at: Timestamp,
    /// Its state.
    pub state: Phase,
    /// When it closed.
    pub closed_at: Option<Timestamp>,
}

/// A session as staff see it: the setup, members with their e-mails, and the state now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouncilView {
    /// Its place in the list.
    pub summary: CouncilSummary,
    /// The facts it was scheduled with.
    pub setup: Setup,
    /// Each member's e-mail, by seat (`None`: no e-mail).
    pub emails: Vec<(MemberId, Option<String>)>,
    /// The state now.
    pub snapshot: Snapshot,
}

/// Who a member's link opened: their seat in one session of one town.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouncilSeat {
    /// The town.
    pub tenant: TenantId,
    /// The session.
    pub session: CouncilSessionId,
    /// The seat.
    pub member: MemberId,
    /// The role.
    pub role: Role,
    /// The member's name.
    pub name: String,
}

/// A town's council settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CouncilSettings {
    /// Days a session's recording is kept after it closes; `None`: forever; 0: removed when
    /// the session closes.
    pub recording_keep_days: Option<u16>,
}

fn not_yet<T>() -> Result<T, DeskError> {
    Err(DeskError::Internal("not yet".into()))
}

impl Desk {
    /// Schedules a session (administrators and managers of the town). Returns its id and each
    /// member's personal link, once; members with an e-mail get theirs by e-mail too. Field
    /// errors are worded in `lang`.
    pub async fn schedule_council(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        draft: SessionDraft,
        lang: Lang,
    ) -> Result<(CouncilSessionId, Vec<MemberLink>), DeskError> {
        let _ = (tenant, grant, draft, lang);
        not_yet()
    }

    /// A new link for one member (the old one stops working), e-mailed when they have an
    /// e-mail.
    pub async fn council_new_link(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        session: CouncilSessionId,
        member: MemberId,
    ) -> Result<MemberLink, DeskError> {
        let _ = (tenant, grant, session, member);
        not_yet()
    }

    /// The town's sessions, the latest called for first.
    pub async fn council_sessions(&self, tenant: &Tenant) -> Result<Vec<CouncilSummary>, DeskError> {
        let _ = tenant;
        not_yet()
    }

    /// One session as staff see it.
    pub async fn council_session(&self, tenant: &Tenant, id: CouncilSessionId) -> Result<CouncilView, DeskError> {
        let _ = (tenant, id);
        not_yet()
    }

    /// What a member's link opens: their seat. `NotFound` for an unknown token or another
    /// town's.
    pub async fn council_member(&self, tenant: &Tenant, token: &str) -> Result<CouncilSeat, DeskError> {
        let _ = (tenant, token);
        not_yet()
    }

    /// The session now, as members see it.
    pub async fn council_snapshot(&self, seat: &CouncilSeat) -> Result<Snapshot, DeskError> {
        let _ = seat;
        not_yet()
    }

    /// A member's command (from their socket). A refusal is `DeskError::Council`; the
    /// system's commands (connected, disconnected) are refused here: see
    /// [`Desk::council_presence`].
    pub async fn council_act(&self, seat: &CouncilSeat, command: Command) -> Result<Snapshot, DeskError> {
        let _ = (seat, command);
        not_yet()
    }

    /// A member's page connected or disconnected (a member who drops out before voting is
    /// absent for the open vote).
    pub async fn council_presence(&self, seat: &CouncilSeat, connected: bool) -> Result<Snapshot, DeskError> {
        let _ = (seat, connected);
        not_yet()
    }

    /// The skeleton of a session's minutes.
    pub async fn council_minutes(&self, tenant: &Tenant, id: CouncilSessionId) -> Result<Minutes, DeskError> {
        let _ = (tenant, id);
        not_yet()
    }

    /// A session as viewers see it.
    pub async fn council_public(&self, tenant: &Tenant, id: CouncilSessionId) -> Result<PublicSnapshot, DeskError> {
        let _ = (tenant, id);
        not_yet()
    }

    /// The town's council settings.
    pub async fn council_settings(&self, tenant: &Tenant) -> Result<CouncilSettings, DeskError> {
        let _ = tenant;
        not_yet()
    }

    /// Changes the town's council settings (administrators and managers).
    pub async fn set_council_settings(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        settings: CouncilSettings,
    ) -> Result<(), DeskError> {
        let _ = (tenant, grant, settings);
        not_yet()
    }

    /// Closed sessions whose recording is due for removal under their town's setting, and not
    /// removed yet.
    pub async fn council_recordings_due(&self) -> Result<Vec<(TenantId, CouncilSessionId)>, DeskError> {
        not_yet()
    }

    /// Records that a session's recording was removed (it is not offered any more).
    pub async fn council_recording_removed(&self, tenant: TenantId, id: CouncilSessionId) -> Result<(), DeskError> {
        let _ = (tenant, id);
        not_yet()
    }

    /// Whether a session's recording is still kept (not removed).
    pub async fn council_recording_kept(&self, tenant: &Tenant, id: CouncilSessionId) -> Result<bool, DeskError> {
        let _ = (tenant, id);
        not_yet()
    }
}
