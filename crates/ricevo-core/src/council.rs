//! Council sessions (Consiglio comunale, Giunta, commissions) run by video: who sits, who is
//! present and since when, who has the floor, the agenda item under discussion, the votes.
//!
//! A [`Session`] is a state machine fed by [`Command`]s from its members (and two system
//! commands from the socket: connected, disconnected). [`Session::apply`] checks a command
//! against the rules and answers with the [`Event`]s it causes, or a [`Refusal`]; the events
//! are what the store persists (an append-only log), and [`Session::replay`] rebuilds the state
//! from them. Nothing here reads a clock or a database: callers pass `now`.
//!
//! The rules:
//! - only the chair (presidente) runs the session: opens it, calls the roll, marks presence,
//!   sets the item under discussion, gives and takes the floor, opens and closes votes, closes;
//! - a member votes only when present, with a voting role, while a vote is open, once; a
//!   member who disconnects (or is marked absent) before voting is absent for that vote;
//! - presence is a list of spans with times; the quorum is shown, counted over voting roles;
//! - one floor holder at a time, a queue of requests, a timer per speech;
//! - each closed vote shows its result and each member's vote to everyone.

mod model;
mod refusal;
mod session;
mod views;

pub use model::{
    AgendaItem, BodyKind, Choice, Command, CouncilSessionId, Event, EventKind, ItemNo, Member, MemberId, Phase, Role,
    Setup,
};
pub use refusal::Refusal;
pub use session::Session;
pub use views::{
    Ballot, FloorView, ItemView, MemberView, Minutes, MinutesItem, MinutesPresence, MinutesSpeech, OpenVoteView,
    Outcome, PublicSnapshot, Quorum, Snapshot, Span, VoteResult,
};

#[cfg(test)]
mod tests;
