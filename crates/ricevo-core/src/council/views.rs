//! What members, viewers and the minutes see of a session.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::model::{BodyKind, Choice, CouncilSessionId, ItemNo, MemberId, Phase, Role};

/// A span of presence: from, and until (`None`: still present).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Since when.
    pub from: Timestamp,
    /// Until when; `None`: still.
    pub to: Option<Timestamp>,
}

/// An agenda item as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemView {
    /// Its number.
    pub number: ItemNo,
    /// Its title.
    pub title: String,
}

/// A member as the other members see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    /// The seat.
    pub id: MemberId,
    /// The name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// Whether the role votes.
    pub votes: bool,
    /// Whether present now.
    pub present: bool,
    /// Whether their page is connected now.
    pub connected: bool,
    /// Present since (the current span's start).
    pub present_since: Option<Timestamp>,
}

/// The quorum: voting members present against those needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quorum {
    /// Voting members needed.
    pub needed: u16,
    /// Voting members present.
    pub present: u16,
    /// Whether `present >= needed`.
    pub reached: bool,
}

/// Who has the floor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloorView {
    /// The speaker.
    pub member: MemberId,
    /// The speaker's name.
    pub name: String,
    /// Since when.
    pub since: Timestamp,
    /// The speech's limit in seconds; `None`: none.
    pub limit_seconds: Option<u32>,
    /// When the speech's time runs out (`since + limit`).
    pub ends_at: Option<Timestamp>,
}

/// The open vote as members see it: who voted, not how (until it closes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenVoteView {
    /// The vote's number.
    pub number: u32,
    /// The item voted on.
    pub item: ItemNo,
    /// Opened at.
    pub opened_at: Timestamp,
    /// Who voted so far.
    pub voted: Vec<MemberId>,
    /// Who is absent for this vote.
    pub absent: Vec<MemberId>,
}

/// One member's vote in a closed vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ballot {
    /// The seat.
    pub member: MemberId,
    /// The name.
    pub name: String,
    /// The choice.
    pub choice: Choice,
}

/// The result of a closed vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// More in favour than against.
    Approved,
    /// Not more in favour than against.
    Rejected,
}

/// A closed vote: the result and each member's vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteResult {
    /// The vote's number.
    pub number: u32,
    /// The item voted on.
    pub item: ItemNo,
    /// The item's title.
    pub item_title: String,
    /// Opened at.
    pub opened_at: Timestamp,
    /// Closed at.
    pub closed_at: Timestamp,
    /// Votes in favour.
    pub in_favour: u16,
    /// Votes against.
    pub against: u16,
    /// Abstentions.
    pub abstain: u16,
    /// Each member's vote, in the order of the members.
    pub ballots: Vec<Ballot>,
    /// Voting members who did not vote (absent, or present and silent), by name.
    pub not_voting: Vec<String>,
    /// Whether the quorum was reached when the vote opened.
    pub quorum_reached: bool,
    /// Approved (more in favour than against) or rejected.
    pub outcome: Outcome,
}

/// The session as its members see it, pushed to each after every change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The session.
    pub session: CouncilSessionId,
    /// How many events the session has (grows with each change).
    pub seq: u64,
    /// Its state.
    pub state: Phase,
    /// The kind of body.
    pub body: BodyKind,
    /// The body's name.
    pub body_name: String,
    /// The title.
    pub title: String,
    /// When called for.
    pub starts_at: Timestamp,
    /// Opened at.
    pub opened_at: Option<Timestamp>,
    /// Closed at.
    pub closed_at: Option<Timestamp>,
    /// Whether the roll was called.
    pub roll_called: bool,
    /// The agenda.
    pub items: Vec<ItemView>,
    /// The item under discussion.
    pub item: Option<ItemNo>,
    /// The members.
    pub members: Vec<MemberView>,
    /// The chair's seat.
    pub chair: Option<MemberId>,
    /// The quorum.
    pub quorum: Quorum,
    /// Who has the floor.
    pub floor: Option<FloorView>,
    /// Who asked for the floor, first asked first.
    pub queue: Vec<MemberId>,
    /// The open vote.
    pub vote: Option<OpenVoteView>,
    /// The closed votes.
    pub results: Vec<VoteResult>,
}

/// The session as a viewer sees it: no controls, no tokens, no queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicSnapshot {
    /// The session.
    pub session: CouncilSessionId,
    /// How many events the session has.
    pub seq: u64,
    /// Its state.
    pub state: Phase,
    /// The kind of body.
    pub body: BodyKind,
    /// The body's name.
    pub body_name: String,
    /// The title.
    pub title: String,
    /// When called for.
    pub starts_at: Timestamp,
    /// The agenda.
    pub items: Vec<ItemView>,
    /// The item under discussion.
    pub item: Option<ItemView>,
    /// The floor holder's name.
    pub speaker: Option<String>,
    /// Speaking since.
    pub speaker_since: Option<Timestamp>,
    /// Whether a vote is under way.
    pub voting: bool,
    /// The closed votes.
    pub results: Vec<VoteResult>,
}

/// One member's presence in the minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinutesPresence {
    /// The seat.
    pub member: MemberId,
    /// The name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// Present from, until.
    pub spans: Vec<Span>,
}

/// One speech in the minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinutesSpeech {
    /// The speaker.
    pub member: MemberId,
    /// The speaker's name.
    pub name: String,
    /// From.
    pub from: Timestamp,
    /// Until (`None`: the session ended while they spoke, or is still going).
    pub to: Option<Timestamp>,
}

/// One agenda item in the minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinutesItem {
    /// Its number.
    pub number: ItemNo,
    /// Its title.
    pub title: String,
    /// When discussion started (first set), if it was discussed.
    pub discussed_from: Option<Timestamp>,
    /// Speeches on it.
    pub speakers: Vec<MinutesSpeech>,
    /// Votes on it.
    pub votes: Vec<VoteResult>,
}

/// The skeleton of a session's minutes (verbale).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Minutes {
    /// The session.
    pub session: CouncilSessionId,
    /// Its state.
    pub state: Phase,
    /// The kind of body.
    pub body: BodyKind,
    /// The body's name.
    pub body_name: String,
    /// The title.
    pub title: String,
    /// When called for.
    pub starts_at: Timestamp,
    /// Opened at.
    pub opened_at: Option<Timestamp>,
    /// Closed at.
    pub closed_at: Option<Timestamp>,
    /// Each member's presence.
    pub presences: Vec<MinutesPresence>,
    /// The agenda items with speakers and votes.
    pub items: Vec<MinutesItem>,
    /// Speeches before any agenda item was under discussion.
    pub opening_speakers: Vec<MinutesSpeech>,
}
