//! Why a session refuses a command, worded in Italian and English.

use crate::Lang;

/// Why a command was refused. Every refusal is the caller's doing (a 4xx), never a bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// Only the chair may do this.
    #[error("only the chair may do this")]
    NotChair,
    /// The sender does not sit in this session.
    #[error("not a member of this session")]
    NotMember,
    /// No such member in this session.
    #[error("unknown member")]
    UnknownMember,
    /// No such agenda item.
    #[error("unknown agenda item")]
    UnknownItem,
    /// The session is not open yet.
    #[error("session not open")]
    NotOpen,
    /// The session is already open.
    #[error("session already open")]
    AlreadyOpen,
    /// The session is closed.
    #[error("session closed")]
    SessionClosed,
    /// The member is not present.
    #[error("member not present")]
    NotPresent,
    /// The member's role does not vote.
    #[error("role does not vote")]
    NotAVoter,
    /// No vote is open.
    #[error("no vote open")]
    NoVoteOpen,
    /// A vote is open: close it first.
    #[error("a vote is open")]
    VoteOpen,
    /// The member already voted in this vote.
    #[error("already voted")]
    AlreadyVoted,
    /// The member was absent for this vote (left or marked absent before voting).
    #[error("absent for this vote")]
    AbsentFromVote,
    /// No agenda item is under discussion.
    #[error("no agenda item under discussion")]
    NoItem,
    /// Nobody has the floor (or not the sender).
    #[error("nobody has the floor")]
    NoFloor,
    /// The member already asked for the floor.
    #[error("floor already requested")]
    AlreadyRequested,
    /// The member had not asked for the floor.
    #[error("floor not requested")]
    NotRequested,
    /// The member already has the floor.
    #[error("already has the floor")]
    HasFloor,
    /// Not a command (malformed, unknown, or reserved for the system).
    #[error("malformed command")]
    Malformed,
}

impl Refusal {
    /// The message for the member, in Italian or English.
    pub fn message(self, lang: Lang) -> &'static str {
        let (it, en) = match self {
            Refusal::NotChair => ("Solo il presidente può farlo.", "Only the chair may do this."),
            Refusal::NotMember => ("Non fai parte di questa seduta.", "You do not sit in this session."),
            Refusal::UnknownMember => {
                ("Questo componente non fa parte della seduta.", "No such member in this session.")
            }
            Refusal::UnknownItem => ("Questo punto non è all'ordine del giorno.", "No such item on the agenda."),
            Refusal::NotOpen => ("La seduta non è ancora aperta.", "The session is not open yet."),
            Refusal::AlreadyOpen => ("La seduta è già aperta.", "The session is already open."),
            Refusal::SessionClosed => ("La seduta è chiusa.", "The session is closed."),
            Refusal::NotPresent => ("Il componente non risulta presente.", "The member is not present."),
            Refusal::NotAVoter => ("Questo ruolo non vota.", "This role does not vote."),
            Refusal::NoVoteOpen => ("Nessuna votazione è aperta.", "No vote is open."),
            Refusal::VoteOpen => ("C'è una votazione aperta: chiudila prima.", "A vote is open: close it first."),
            Refusal::AlreadyVoted => ("Hai già votato.", "You have already voted."),
            Refusal::AbsentFromVote => {
                ("Risulti assente per questa votazione.", "You are recorded as absent for this vote.")
            }
            Refusal::NoItem => {
                ("Nessun punto all'ordine del giorno è in discussione.", "No agenda item is under discussion.")
            }
            Refusal::NoFloor => ("Nessuno ha la parola.", "Nobody has the floor."),
            Refusal::AlreadyRequested => ("Hai già chiesto la parola.", "You have already asked for the floor."),
            Refusal::NotRequested => ("Non avevi chiesto la parola.", "You had not asked for the floor."),
            Refusal::HasFloor => ("Hai già la parola.", "You already have the floor."),
            Refusal::Malformed => ("Comando non valido.", "Not a valid command."),
        };
        match lang {
            Lang::It => it,
            Lang::En => en,
        }
    }

    /// A stable code for clients (`already_voted`).
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NotChair => "not_chair",
            Refusal::NotMember => "not_member",
            Refusal::UnknownMember => "unknown_member",
            Refusal::UnknownItem => "unknown_item",
            Refusal::NotOpen => "not_open",
            Refusal::AlreadyOpen => "already_open",
            Refusal::SessionClosed => "session_closed",
            Refusal::NotPresent => "not_present",
            Refusal::NotAVoter => "not_a_voter",
            Refusal::NoVoteOpen => "no_vote_open",
            Refusal::VoteOpen => "vote_open",
            Refusal::AlreadyVoted => "already_voted",
            Refusal::AbsentFromVote => "absent_from_vote",
            Refusal::NoItem => "no_item",
            Refusal::NoFloor => "no_floor",
            Refusal::AlreadyRequested => "already_requested",
            Refusal::NotRequested => "not_requested",
            Refusal::HasFloor => "has_floor",
            Refusal::Malformed => "malformed",
        }
    }
}
