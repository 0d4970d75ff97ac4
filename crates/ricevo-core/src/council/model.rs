//! The words of a council session: ids, bodies, roles, choices, commands and events.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

macro_rules! council_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

council_id!(
    /// A scheduled session of a town's council, Giunta or commission.
    CouncilSessionId
);
council_id!(
    /// One member's seat in one session (the same person in two sessions has two seats).
    MemberId
);

/// An agenda item's number as the agenda prints it: 1 is the first item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ItemNo(pub u16);

impl std::fmt::Display for ItemNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The kind of body that meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    /// The town council (Consiglio comunale).
    Council,
    /// The town's executive (Giunta).
    Executive,
    /// A council commission.
    Commission,
}

impl BodyKind {
    /// Every kind, in the order forms list them.
    pub const ALL: [BodyKind; 3] = [BodyKind::Council, BodyKind::Executive, BodyKind::Commission];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyKind::Council => "council",
            BodyKind::Executive => "executive",
            BodyKind::Commission => "commission",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<BodyKind> {
        BodyKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The body's usual name ("Consiglio comunale", "Town council").
    pub fn label(self, lang: crate::Lang) -> &'static str {
        let it = lang == crate::Lang::It;
        match (self, it) {
            (BodyKind::Council, true) => "Consiglio comunale",
            (BodyKind::Council, false) => "Town council",
            (BodyKind::Executive, true) => "Giunta comunale",
            (BodyKind::Executive, false) => "Town executive (Giunta)",
            (BodyKind::Commission, true) => "Commissione consiliare",
            (BodyKind::Commission, false) => "Council commission",
        }
    }
}

/// A member's role in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The chair (presidente), who runs the session; votes.
    Chair,
    /// The mayor (sindaco); votes.
    Mayor,
    /// A councillor (consigliere); votes.
    Councillor,
    /// An assessor (assessore); votes.
    Assessor,
    /// The town secretary (segretario), who takes the minutes; does not vote.
    Secretary,
    /// An invited official or guest; does not vote.
    Invited,
}

impl Role {
    /// Every role, in the order forms list them.
    pub const ALL: [Role; 6] =
        [Role::Chair, Role::Mayor, Role::Councillor, Role::Assessor, Role::Secretary, Role::Invited];

    /// Whether this role votes (and counts for the quorum).
    pub fn votes(self) -> bool {
        matches!(self, Role::Chair | Role::Mayor | Role::Councillor | Role::Assessor)
    }

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Chair => "chair",
            Role::Mayor => "mayor",
            Role::Councillor => "councillor",
            Role::Assessor => "assessor",
            Role::Secretary => "secretary",
            Role::Invited => "invited",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The role's name ("Presidente", "Chair").
    pub fn label(self, lang: crate::Lang) -> &'static str {
        let it = lang == crate::Lang::It;
        match (self, it) {
            (Role::Chair, true) => "Presidente",
            (Role::Chair, false) => "Chair",
            (Role::Mayor, true) => "Sindaco",
            (Role::Mayor, false) => "Mayor",
            (Role::Councillor, true) => "Consigliere",
            (Role::Councillor, false) => "Councillor",
            (Role::Assessor, true) => "Assessore",
            (Role::Assessor, false) => "Assessor",
            (Role::Secretary, true) => "Segretario",
            (Role::Secretary, false) => "Secretary",
            (Role::Invited, true) => "Invitato",
            (Role::Invited, false) => "Invited",
        }
    }
}

/// A vote's choice, spelled in Italian on the wire ("favorevole", "contrario", "astenuto").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Choice {
    /// In favour.
    #[serde(rename = "favorevole")]
    InFavour,
    /// Against.
    #[serde(rename = "contrario")]
    Against,
    /// Abstains.
    #[serde(rename = "astenuto")]
    Abstain,
}

impl Choice {
    /// Every choice.
    pub const ALL: [Choice; 3] = [Choice::InFavour, Choice::Against, Choice::Abstain];

    /// The wire and stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::InFavour => "favorevole",
            Choice::Against => "contrario",
            Choice::Abstain => "astenuto",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Choice> {
        Choice::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The choice's name ("favorevole", "in favour").
    pub fn label(self, lang: crate::Lang) -> &'static str {
        match (self, lang) {
            (c, crate::Lang::It) => c.as_str(),
            (Choice::InFavour, crate::Lang::En) => "in favour",
            (Choice::Against, crate::Lang::En) => "against",
            (Choice::Abstain, crate::Lang::En) => "abstains",
        }
    }
}

/// What someone asks of the session. The member socket's JSON deserializes straight into it:
/// `{"do":"give_floor","member":12}`, `{"do":"vote","choice":"favorevole"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    // The chair's.
    /// Opens the session.
    Open,
    /// Calls the roll: members connected now are present, the others absent.
    CallRoll,
    /// Marks a member present.
    MarkPresent {
        /// Who.
        member: MemberId,
    },
    /// Marks a member absent.
    MarkAbsent {
        /// Who.
        member: MemberId,
    },
    /// Sets the agenda item under discussion.
    SetItem {
        /// Its number.
        item: ItemNo,
    },
    /// Gives the floor to a present member (ending the current speech).
    GiveFloor {
        /// Who.
        member: MemberId,
    },
    /// Ends the current speech (the chair, or the speaker yielding).
    TakeFloor,
    /// Opens a vote on the item under discussion.
    OpenVote,
    /// Closes the open vote: the result and each member's vote are shown to all.
    CloseVote,
    /// Closes the session.
    Close,
    // Any member's.
    /// Asks for the floor (joins the queue).
    RequestFloor,
    /// Leaves the queue.
    WithdrawRequest,
    /// Votes in the open vote.
    Vote {
        /// The choice.
        choice: Choice,
    },
    // The system's (never accepted from a socket).
    /// A member's page connected.
    Connected {
        /// Who.
        member: MemberId,
    },
    /// A member's page disconnected.
    Disconnected {
        /// Who.
        member: MemberId,
    },
}

impl Command {
    /// Whether only the system may send it (connected, disconnected).
    pub fn is_system(&self) -> bool {
        matches!(self, Command::Connected { .. } | Command::Disconnected { .. })
    }

    /// Whether only the chair may send it.
    pub fn is_chair_only(&self) -> bool {
        matches!(
            self,
            Command::Open
                | Command::CallRoll
                | Command::MarkPresent { .. }
                | Command::MarkAbsent { .. }
                | Command::SetItem { .. }
                | Command::GiveFloor { .. }
                | Command::OpenVote
                | Command::CloseVote
                | Command::Close
        )
    }
}

/// The state of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Scheduled, not open yet.
    Scheduled,
    /// Open: the chair runs it.
    Open,
    /// Closed: minutes and recording.
    Closed,
}

impl Phase {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Scheduled => "scheduled",
            Phase::Open => "open",
            Phase::Closed => "closed",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Phase> {
        [Phase::Scheduled, Phase::Open, Phase::Closed].into_iter().find(|p| p.as_str() == s)
    }

    /// The state's name ("in corso", "under way").
    pub fn label(self, lang: crate::Lang) -> &'static str {
        let it = lang == crate::Lang::It;
        match (self, it) {
            (Phase::Scheduled, true) => "convocata",
            (Phase::Scheduled, false) => "scheduled",
            (Phase::Open, true) => "in corso",
            (Phase::Open, false) => "under way",
            (Phase::Closed, true) => "conclusa",
            (Phase::Closed, false) => "ended",
        }
    }
}

/// An agenda item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaItem {
    /// Its number (1 is the first).
    pub number: ItemNo,
    /// Its title.
    pub title: String,
}

/// A member's seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Its id.
    pub id: MemberId,
    /// The member's name.
    pub name: String,
    /// The member's role.
    pub role: Role,
}

/// What a session starts from: the facts scheduled by the town.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setup {
    /// The session.
    pub id: CouncilSessionId,
    /// The kind of body.
    pub body: BodyKind,
    /// The body's name ("Consiglio comunale di Serrastretta", "Commissione bilancio").
    pub body_name: String,
    /// The session's title.
    pub title: String,
    /// When it is called for.
    pub starts_at: Timestamp,
    /// The agenda.
    pub items: Vec<AgendaItem>,
    /// Who sits.
    pub members: Vec<Member>,
    /// Voting members present needed for the quorum; `None`: a majority of the voting members.
    pub quorum: Option<u16>,
    /// The length of a speech in minutes; `None`: no limit.
    pub speech_minutes: Option<u16>,
}

/// Something that happened in a session, as the event log stores it (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When.
    pub at: Timestamp,
    /// What.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// The chair opened the session.
    Opened,
    /// The chair called the roll (presence events follow).
    RollCalled,
    /// A member became present.
    Present {
        /// Who.
        member: MemberId,
    },
    /// A member became absent (left, dropped out, or marked so).
    Absent {
        /// Who.
        member: MemberId,
    },
    /// A member's page connected.
    Connected {
        /// Who.
        member: MemberId,
    },
    /// A member's page disconnected.
    Disconnected {
        /// Who.
        member: MemberId,
    },
    /// The item under discussion changed.
    ItemSet {
        /// Its number.
        item: ItemNo,
    },
    /// A member asked for the floor.
    FloorRequested {
        /// Who.
        member: MemberId,
    },
    /// A member withdrew the request.
    RequestWithdrawn {
        /// Who.
        member: MemberId,
    },
    /// A member got the floor.
    FloorGiven {
        /// Who.
        member: MemberId,
        /// How long the speech may last, in seconds; `None`: no limit.
        limit_seconds: Option<u32>,
    },
    /// A speech ended.
    FloorTaken {
        /// Whose.
        member: MemberId,
    },
    /// A vote opened on the item under discussion.
    VoteOpened {
        /// The vote's number in the session (1 is the first).
        number: u32,
        /// The item voted on.
        item: ItemNo,
    },
    /// A member voted.
    VoteCast {
        /// The vote's number.
        number: u32,
        /// Who.
        member: MemberId,
        /// How.
        choice: Choice,
    },
    /// A member who had not voted left or was marked absent: absent for this vote.
    AbsentFromVote {
        /// The vote's number.
        number: u32,
        /// Who.
        member: MemberId,
    },
    /// The vote closed.
    VoteClosed {
        /// The vote's number.
        number: u32,
    },
    /// The session closed.
    Closed,
}
