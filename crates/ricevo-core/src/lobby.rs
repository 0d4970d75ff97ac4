//! The waiting room: who waits for which office, who is let into a meeting, and when.
//!
//! An [`Entry`] is one person's place: a citizen with an appointment, a walk-in ticket, an
//! invitee or the official. Its life is a small state machine:
//!
//! ```text
//! Waiting ⇄ Held ──admit──▶ Admitted ──join_media──▶ InMeeting ⇄ Left
//!    │         │                 │ └──────────── finish ───────┴──▶ Done
//!    │         │                 └──── remove ──▶ Removed ──admit (same meeting)──▶ Admitted
//!    └─────────┴──▶ Refused | NoShow | Left (gave up the queue)
//! any place that is not over ──cancel (the appointment was cancelled)──▶ Cancelled
//! ```
//!
//! Transitions never change an entry in place: each returns the next value, or a
//! [`TransitionError`] when the action makes no sense from the current status. The caller
//! stores the new value only if the stored status is still the one it read (see
//! `ricevo_store::Store::update_entry`), so two officials admitting the same citizen cannot both win.
//!
//! Admission is the gate: before it, an entry has no meeting (invitees excepted: they know the
//! meeting they are invited to, but cannot join its media until admitted). The rights in a
//! meeting — media, chat, documents — come from the status alone ([`Entry::may_join_media`]), so
//! a removal or a cancellation, once stored, ends them on every path (the socket, a reload, the
//! document routes) without each path remembering it. A mute is stored too ([`Entry::muted`]):
//! it holds until the official lifts it, whatever the person's browser does.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::hours::{OpeningHours, minutes_of_day};
use crate::ids::{AppointmentId, EntryId, MeetingId, OfficeId, TenantId};

/// Why a person is in the waiting room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A citizen who booked an appointment.
    Appointment,
    /// A citizen who took a ticket at the walk-in desk.
    Ticket,
    /// Someone the official invited into a meeting (a technician, the mayor, ...).
    Invitee,
    /// The official who runs the meeting.
    Official,
}

impl EntryKind {
    /// Every kind.
    pub const ALL: [EntryKind; 4] =
        [EntryKind::Appointment, EntryKind::Ticket, EntryKind::Invitee, EntryKind::Official];

    /// The API and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Appointment => "appointment",
            EntryKind::Ticket => "ticket",
            EntryKind::Invitee => "invitee",
            EntryKind::Official => "official",
        }
    }

    /// Parses the API spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// In the queue.
    Waiting,
    /// In the queue, asked by the office to wait (with a message).
    Held,
    /// Let into a meeting, media not connected yet.
    Admitted,
    /// Connected to the meeting's media.
    InMeeting,
    /// Gave up the queue, or left the meeting (and may come back while it lasts).
    Left,
    /// The meeting ended.
    Done,
    /// Never came (marked by the office).
    NoShow,
    /// Turned away by the office.
    Refused,
    /// Sent out of the meeting by the official: no media, chat or documents until an official
    /// admits them again (into the same meeting).
    Removed,
    /// The appointment was cancelled: the place is over.
    Cancelled,
}

impl EntryStatus {
    /// Every status.
    pub const ALL: [EntryStatus; 10] = [
        EntryStatus::Waiting,
        EntryStatus::Held,
        EntryStatus::Admitted,
        EntryStatus::InMeeting,
        EntryStatus::Left,
        EntryStatus::Done,
        EntryStatus::NoShow,
        EntryStatus::Refused,
        EntryStatus::Removed,
        EntryStatus::Cancelled,
    ];

    /// The API and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Waiting => "waiting",
            EntryStatus::Held => "held",
            EntryStatus::Admitted => "admitted",
            EntryStatus::InMeeting => "in_meeting",
            EntryStatus::Left => "left",
            EntryStatus::Done => "done",
            EntryStatus::NoShow => "no_show",
            EntryStatus::Refused => "refused",
            EntryStatus::Removed => "removed",
            EntryStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the API spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<EntryStatus> {
        EntryStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the entry is in the queue (waiting or held).
    pub fn is_queued(self) -> bool {
        matches!(self, EntryStatus::Waiting | EntryStatus::Held)
    }

    /// Whether nothing can happen to the entry any more.
    pub fn is_final(self) -> bool {
        matches!(self, EntryStatus::Done | EntryStatus::NoShow | EntryStatus::Refused | EntryStatus::Cancelled)
    }

    // How an error message names someone in this status.
    fn describe(self) -> &'static str {
        match self {
            EntryStatus::Waiting => "waiting",
            EntryStatus::Held => "held in the queue",
            EntryStatus::Admitted => "already admitted",
            EntryStatus::InMeeting => "in a meeting",
            EntryStatus::Left => "gone",
            EntryStatus::Done => "done",
            EntryStatus::NoShow => "marked as a no-show",
            EntryStatus::Refused => "refused",
            EntryStatus::Removed => "removed from the meeting",
            EntryStatus::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for EntryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a participant may do in a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Abilities {
    /// Send audio.
    pub speak: bool,
    /// Send camera video.
    pub video: bool,
    /// Share the screen.
    pub share_screen: bool,
    /// Upload documents.
    pub share_documents: bool,
    /// Mute or remove others and end the meeting.
    pub moderate: bool,
}

impl Abilities {
    /// What a citizen may do: everything but moderate.
    pub fn citizen() -> Abilities {
        Abilities { speak: true, video: true, share_screen: true, share_documents: true, moderate: false }
    }

    /// What the official may do: everything.
    pub fn official() -> Abilities {
        Abilities { moderate: true, ..Abilities::citizen() }
    }

    // Each ability with its stored word.
    fn words(self) -> [(bool, &'static str); 5] {
        [
            (self.speak, "speak"),
            (self.video, "video"),
            (self.share_screen, "screen"),
            (self.share_documents, "documents"),
            (self.moderate, "moderate"),
        ]
    }

    /// Parses the stored form, such as `speak,video,screen`; unknown words are ignored.
    pub fn parse(s: &str) -> Abilities {
        let mut a = Abilities::default();
        for word in s.split(',').map(str::trim) {
            match word {
                "speak" => a.speak = true,
                "video" => a.video = true,
                "screen" => a.share_screen = true,
                "documents" => a.share_documents = true,
                "moderate" => a.moderate = true,
                _ => {}
            }
        }
        a
    }
}

/// The stored form: the granted abilities' words, comma-separated (`speak,video,screen,documents,moderate`).
impl std::fmt::Display for Abilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let granted: Vec<&str> = self.words().into_iter().filter(|(on, _)| *on).map(|(_, w)| w).collect();
        f.write_str(&granted.join(","))
    }
}

/// One person who waits and/or meets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Its id.
    pub id: EntryId,
    /// Its town.
    pub tenant_id: TenantId,
    /// The office whose queue it is in (or whose meeting it joins).
    pub office_id: OfficeId,
    /// Why the person is here.
    pub kind: EntryKind,
    /// The appointment, for citizens who booked.
    pub appointment_id: Option<AppointmentId>,
    /// The ticket number, for walk-ins: numbered per office and civil day from 1.
    pub ticket_number: Option<i32>,
    /// The meeting: set on admission (appointments, tickets) or at invitation (invitees, officials).
    pub meeting_id: Option<MeetingId>,
    /// The name staff see.
    pub name: String,
    /// The service's name shown to staff (empty for invitees).
    pub service: String,
    /// Booked start, for appointments.
    pub booked_start: Option<Timestamp>,
    /// Booked end, for appointments.
    pub booked_end: Option<Timestamp>,
    /// What the person may do in the meeting.
    pub abilities: Abilities,
    /// Muted by the official: no audio of theirs is forwarded until the official lifts it
    /// (renegotiating or reloading does not lift it).
    pub muted: bool,
    /// Enters its meeting without waiting (invitees the official marked so, and the official).
    pub direct: bool,
    /// Where it stands.
    pub status: EntryStatus,
    /// The last message from the office (when holding or refusing).
    pub message: Option<String>,
    /// When the person arrived in the waiting room.
    pub arrived_at: Timestamp,
    /// When the office let the person in.
    pub admitted_at: Option<Timestamp>,
    /// When the person's media first connected.
    pub joined_at: Option<Timestamp>,
    /// When the wait or the meeting ended for this person.
    pub ended_at: Option<Timestamp>,
}

/// An action on an entry, as named in a [`TransitionError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Ask to wait.
    Hold,
    /// Let into a meeting.
    Admit,
    /// Turn away.
    Refuse,
    /// Move to another office's queue.
    Transfer,
    /// Connect (or reconnect) to the meeting's media.
    JoinMedia,
    /// Give up the queue or leave the meeting.
    Leave,
    /// End with the meeting.
    Finish,
    /// Mark as never come.
    NoShow,
    /// Send out of the meeting.
    Remove,
    /// Mute or unmute.
    Mute,
    /// End because the appointment was cancelled.
    Cancel,
}

impl Action {
    /// The verb, in English.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Hold => "hold",
            Action::Admit => "admit",
            Action::Refuse => "refuse",
            Action::Transfer => "transfer",
            Action::JoinMedia => "join the meeting of",
            Action::Leave => "leave with",
            Action::Finish => "finish",
            Action::NoShow => "mark as a no-show",
            Action::Remove => "remove from the meeting",
            Action::Mute => "mute or unmute",
            Action::Cancel => "cancel",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An action that makes no sense from the entry's current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} an entry that is {}", from.describe())]
pub struct TransitionError {
    /// The status the entry was in.
    pub from: EntryStatus,
    /// What was attempted.
    pub action: Action,
}

impl Entry {
    fn refuse_action(&self, action: Action) -> TransitionError {
        TransitionError { from: self.status, action }
    }

    // The next value with `status`; every transition goes through here.
    fn becomes(&self, status: EntryStatus) -> Entry {
        Entry { status, ..self.clone() }
    }

    /// Whether the entry is queued, admitted, in its meeting, or left a meeting it may rejoin
    /// (the meeting has not ended: ending it finishes every entry).
    pub fn is_active(&self) -> bool {
        match self.status {
            EntryStatus::Waiting | EntryStatus::Held | EntryStatus::Admitted | EntryStatus::InMeeting => true,
            EntryStatus::Left => self.was_admitted(),
            // A removed person holds no place until an official admits them again.
            EntryStatus::Done
            | EntryStatus::NoShow
            | EntryStatus::Refused
            | EntryStatus::Removed
            | EntryStatus::Cancelled => false,
        }
    }

    /// Whether the office let this person in at some point (a left participant may rejoin).
    pub fn was_admitted(&self) -> bool {
        self.admitted_at.is_some() && self.meeting_id.is_some()
    }

    /// Whether the person may take part in the meeting now: receive and send its media, chat,
    /// share and read its documents. Removed and cancelled people may not.
    pub fn may_join_media(&self) -> bool {
        matches!(self.status, EntryStatus::Admitted | EntryStatus::InMeeting | EntryStatus::Left) && self.was_admitted()
    }

    /// Whether the person may send audio now: allowed to speak, and not muted by the official.
    pub fn may_speak(&self) -> bool {
        self.abilities.speak && !self.muted
    }

    /// Whether the person may read the documents of their meeting: participants while it
    /// lasts (`meeting_open`), and the official who ran it even after (the case's papers stay
    /// with the office). Nobody removed or cancelled.
    pub fn may_read_documents(&self, meeting_open: bool) -> bool {
        if self.kind == EntryKind::Official && self.was_admitted() {
            return matches!(
                self.status,
                EntryStatus::Admitted | EntryStatus::InMeeting | EntryStatus::Left | EntryStatus::Done
            );
        }
        meeting_open && self.may_join_media()
    }

    /// Asks a queued person to wait, with a message they see.
    pub fn hold(&self, message: String, _now: Timestamp) -> Result<Entry, TransitionError> {
        if !self.status.is_queued() {
            return Err(self.refuse_action(Action::Hold));
        }
        Ok(Entry { message: Some(message), ..self.becomes(EntryStatus::Held) })
    }

    /// Lets a queued person into `meeting`: a deliberate act of the office, never automatic.
    /// A removed person may be let back into their own meeting (and no other); they keep
    /// their first admission time.
    pub fn admit(&self, meeting: MeetingId, now: Timestamp) -> Result<Entry, TransitionError> {
        if self.status == EntryStatus::Removed && self.meeting_id == Some(meeting) {
            return Ok(Entry { message: None, ended_at: None, ..self.becomes(EntryStatus::Admitted) });
        }
        if !self.status.is_queued() {
            return Err(self.refuse_action(Action::Admit));
        }
        Ok(Entry {
            meeting_id: Some(meeting),
            admitted_at: Some(now),
            message: None,
            ..self.becomes(EntryStatus::Admitted)
        })
    }

    /// Turns a queued person away, with a message they see.
    pub fn refuse(&self, message: String, now: Timestamp) -> Result<Entry, TransitionError> {
        if !self.status.is_queued() {
            return Err(self.refuse_action(Action::Refuse));
        }
        Ok(Entry { message: Some(message), ended_at: Some(now), ..self.becomes(EntryStatus::Refused) })
    }

    /// Moves a queued person to another office's queue; they keep their arrival time.
    pub fn transfer(&self, office: OfficeId, _now: Timestamp) -> Result<Entry, TransitionError> {
        if !self.status.is_queued() {
            return Err(self.refuse_action(Action::Transfer));
        }
        Ok(Entry { office_id: office, message: None, ..self.becomes(EntryStatus::Waiting) })
    }

    /// Connects an admitted person's media, or reconnects it after a reload or a dropped
    /// connection, without queueing again. `joined_at` records the first time only.
    pub fn join_media(&self, now: Timestamp) -> Result<Entry, TransitionError> {
        if !self.may_join_media() {
            return Err(self.refuse_action(Action::JoinMedia));
        }
        Ok(Entry { joined_at: Some(self.joined_at.unwrap_or(now)), ..self.becomes(EntryStatus::InMeeting) })
    }

    /// Gives up the queue (the wait ends) or leaves the meeting (which can be rejoined while it lasts).
    pub fn leave(&self, now: Timestamp) -> Result<Entry, TransitionError> {
        match self.status {
            EntryStatus::Waiting | EntryStatus::Held => {
                Ok(Entry { ended_at: Some(now), ..self.becomes(EntryStatus::Left) })
            }
            EntryStatus::Admitted | EntryStatus::InMeeting => Ok(self.becomes(EntryStatus::Left)),
            _ => Err(self.refuse_action(Action::Leave)),
        }
    }

    /// Ends the entry with its meeting: admitted people, present or gone, are done, and so
    /// are invitees still waiting to be let into it.
    pub fn finish(&self, now: Timestamp) -> Result<Entry, TransitionError> {
        let allowed = match self.status {
            EntryStatus::Admitted | EntryStatus::InMeeting | EntryStatus::Left => self.was_admitted(),
            EntryStatus::Waiting | EntryStatus::Held => self.meeting_id.is_some(),
            _ => false,
        };
        if !allowed {
            return Err(self.refuse_action(Action::Finish));
        }
        Ok(Entry { ended_at: Some(now), ..self.becomes(EntryStatus::Done) })
    }

    /// Sends a participant out of their meeting: their rights in it end until an official
    /// admits them again. They keep their meeting (to be let back into it) and their mute.
    pub fn remove(&self, now: Timestamp) -> Result<Entry, TransitionError> {
        if !self.may_join_media() {
            return Err(self.refuse_action(Action::Remove));
        }
        Ok(Entry { ended_at: Some(now), ..self.becomes(EntryStatus::Removed) })
    }

    /// The official mutes (`true`) or lets speak again (`false`) a participant of the meeting
    /// (present, gone for a moment, or removed: the mute outlives a re-admission).
    pub fn set_muted(&self, muted: bool) -> Result<Entry, TransitionError> {
        if !(self.may_join_media() || self.status == EntryStatus::Removed) {
            return Err(self.refuse_action(Action::Mute));
        }
        Ok(Entry { muted, ..self.clone() })
    }

    /// Ends the place because its appointment was cancelled: out of the queue, or out of the
    /// meeting, for good. A place already over (final, or a queue given up) cannot be cancelled.
    pub fn cancel(&self, now: Timestamp) -> Result<Entry, TransitionError> {
        let over = self.status.is_final() || (self.status == EntryStatus::Left && !self.was_admitted());
        if over {
            return Err(self.refuse_action(Action::Cancel));
        }
        Ok(Entry { ended_at: Some(now), ..self.becomes(EntryStatus::Cancelled) })
    }

    /// Marks a queued person as never come.
    pub fn no_show(&self, now: Timestamp) -> Result<Entry, TransitionError> {
        if !self.status.is_queued() {
            return Err(self.refuse_action(Action::NoShow));
        }
        Ok(Entry { ended_at: Some(now), ..self.becomes(EntryStatus::NoShow) })
    }

    /// How long the person waited before being let in.
    pub fn waited(&self) -> Option<SignedDuration> {
        Some(self.admitted_at?.duration_since(self.arrived_at))
    }

    /// How long the person was in the meeting, from first connecting to the end.
    pub fn met(&self) -> Option<SignedDuration> {
        Some(self.ended_at?.duration_since(self.joined_at?))
    }

    /// The instant the queue serves this entry by: the booked start for appointments, the
    /// arrival for everyone else.
    pub fn queue_time(&self) -> Timestamp {
        match (self.kind, self.booked_start) {
            (EntryKind::Appointment, Some(start)) => start,
            _ => self.arrived_at,
        }
    }
}

/// The queued entries (waiting or held) in the order they are served: appointments by their
/// booked start, everyone else by arrival, ties by id.
pub fn queue_order(entries: &[Entry]) -> Vec<&Entry> {
    let mut queued: Vec<&Entry> = entries.iter().filter(|e| e.status.is_queued()).collect();
    queued.sort_by_key(|e| (e.queue_time(), e.id));
    queued
}

/// How many queued entries are ahead of `id` (0 = next); `None` if it is not queued.
pub fn position(entries: &[Entry], id: EntryId) -> Option<usize> {
    queue_order(entries).iter().position(|e| e.id == id)
}

/// Who "call next" admits: the first queued entry.
pub fn next_in_line(entries: &[Entry]) -> Option<&Entry> {
    queue_order(entries).into_iter().next()
}

/// How many people may still be ahead of a walk-in ticket when it is told "your turn is
/// near": one, so the citizen has one whole conversation at the desk to come back.
pub const TURN_NEAR_AHEAD: usize = 1;

/// The walk-in ticket to tell "your turn is near" after the queue moved: the one with exactly
/// [`TURN_NEAR_AHEAD`] people before it, if it is a ticket. Every admission of someone ahead
/// moves a ticket forward by one place, so each ticket passes this place once; one that
/// arrives closer than that is about to be called anyway.
pub fn turn_near(entries: &[Entry]) -> Option<&Entry> {
    queue_order(entries).get(TURN_NEAR_AHEAD).copied().filter(|e| e.kind == EntryKind::Ticket)
}

/// Recent service times needed before they are trusted over the default.
pub const MIN_SAMPLES: usize = 3;

/// The expected wait of someone with `ahead` people before them: the median of recent service
/// times (or `default_minutes` with fewer than [`MIN_SAMPLES`]) for each round of `desks`
/// people served at once.
pub fn estimate_wait(ahead: usize, recent_met_seconds: &[i64], desks: u16, default_minutes: i64) -> SignedDuration {
    let mut samples: Vec<i64> = recent_met_seconds.iter().copied().filter(|s| *s >= 0).collect();
    let per_person = if samples.len() < MIN_SAMPLES {
        default_minutes.saturating_mul(60)
    } else {
        samples.sort_unstable();
        let mid = samples.len() / 2;
        if samples.len() % 2 == 1 { samples[mid] } else { (samples[mid - 1] + samples[mid]) / 2 }
    };
    let desks = usize::from(desks.max(1));
    let rounds = i64::try_from(ahead.div_ceil(desks)).unwrap_or(i64::MAX);
    SignedDuration::from_secs(per_person.max(0).saturating_mul(rounds))
}

/// [`estimate_wait`] for one entry: an appointment is not served before its booked start.
pub fn estimate_entry_wait(
    entry: &Entry,
    ahead: usize,
    recent_met_seconds: &[i64],
    desks: u16,
    default_minutes: i64,
    now: Timestamp,
) -> SignedDuration {
    let estimate = estimate_wait(ahead, recent_met_seconds, desks, default_minutes);
    match (entry.kind, entry.booked_start) {
        (EntryKind::Appointment, Some(start)) => estimate.max(start.duration_since(now)),
        _ => estimate,
    }
}

/// How a citizen's arrival compares with their booked start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Punctuality {
    /// Earlier than the tolerance allows, by this many whole minutes.
    Early {
        /// Minutes before the booked start.
        minutes: i64,
    },
    /// Within the tolerance.
    OnTime,
    /// Later than the tolerance allows, by this many whole minutes.
    Late {
        /// Minutes after the booked start.
        minutes: i64,
    },
}

/// Whether arriving `at` is early, on time or late for `booked_start`, allowing
/// `tolerance_minutes` either way (whole minutes, rounded towards zero).
pub fn punctuality(booked_start: Timestamp, at: Timestamp, tolerance_minutes: i64) -> Punctuality {
    let minutes = at.duration_since(booked_start).as_secs() / 60;
    if minutes < -tolerance_minutes {
        Punctuality::Early { minutes: -minutes }
    } else if minutes > tolerance_minutes {
        Punctuality::Late { minutes }
    } else {
        Punctuality::OnTime
    }
}

/// Whether a booked meeting's join link opens now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinWindow {
    /// Not yet: come back at `opens_at`.
    TooEarly {
        /// When the link opens.
        opens_at: Timestamp,
    },
    /// The link opens.
    Open,
    /// The slot is over.
    Over,
}

/// The join window of a slot `[start, end)`: open from `open_before` before the start until the end.
pub fn join_window(start: Timestamp, end: Timestamp, now: Timestamp, open_before: SignedDuration) -> JoinWindow {
    let opens_at = start.checked_sub(open_before).unwrap_or(Timestamp::MIN);
    if now < opens_at {
        JoinWindow::TooEarly { opens_at }
    } else if now < end {
        JoinWindow::Open
    } else {
        JoinWindow::Over
    }
}

/// An office's on-demand desk for walk-ins: when citizens can take a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkInDesk {
    /// Open at all hours, holidays and closures included (the demo's URP desk).
    pub always_open: bool,
    /// The weekly hours when it is open, and how many walk-ins are served at once.
    pub hours: OpeningHours,
}

/// A closed desk: no hours, one desk.
impl Default for WalkInDesk {
    fn default() -> WalkInDesk {
        // No ranges cannot overlap and one desk is not zero: this never fails.
        let hours = OpeningHours::new(Vec::new(), 1).expect("empty hours with one desk are valid");
        WalkInDesk { always_open: false, hours }
    }
}

/// Whether citizens can take a ticket at `now`: always for an always-open desk, otherwise
/// within one of the local weekday's ranges on a day that `closed_on` (holidays, closures)
/// does not exclude.
pub fn walk_in_open(desk: &WalkInDesk, zone: &TimeZone, now: Timestamp, closed_on: impl Fn(Date) -> bool) -> bool {
    if desk.always_open {
        return true;
    }
    let local = now.to_zoned(zone.clone());
    if closed_on(local.date()) {
        return false;
    }
    let minute = minutes_of_day(local.time());
    desk.hours
        .ranges_on(local.weekday())
        .any(|r| minutes_of_day(r.start()) <= minute && minute < minutes_of_day(r.end()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
