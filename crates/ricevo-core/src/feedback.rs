//! After-contact feedback: after a meeting ends, a walk-in ticket is served or an in-person
//! appointment is marked done, the citizen is asked one short questionnaire, once, through a
//! link valid for a number of days. These are the rules of that request; the questions are
//! `survey`'s.
//!
//! What is measured travels with the answer (office, service, how the contact happened, the
//! wait in the virtual waiting room and the contact's length), never who gave it.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::Mode;
use crate::lobby::{Entry, EntryKind};

/// How long after a video meeting the follow-up e-mail waits: the closing page asks at once,
/// and an answer given there retracts the e-mail before it leaves.
pub const VIDEO_EMAIL_DELAY: SignedDuration = SignedDuration::from_mins(30);

/// Longest validity of a feedback link, in days, whatever the configuration says.
pub const MAX_LINK_DAYS: i64 = 365;

/// How the contact the feedback is about happened (the `mode` stored with the answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactMode {
    /// A video meeting of a booked appointment.
    Video,
    /// A booked visit at the office.
    InPerson,
    /// A booked phone call.
    Phone,
    /// A walk-in ticket of the virtual desk.
    WalkIn,
}

impl ContactMode {
    /// Every mode.
    pub const ALL: [ContactMode; 4] =
        [ContactMode::Video, ContactMode::InPerson, ContactMode::Phone, ContactMode::WalkIn];

    /// The stored spelling: `video`, `in_person`, `phone`, `walk_in`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactMode::Video => "video",
            ContactMode::InPerson => "in_person",
            ContactMode::Phone => "phone",
            ContactMode::WalkIn => "walk_in",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<ContactMode> {
        ContactMode::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The contact of a booked appointment of `mode`.
    pub fn of_appointment(mode: Mode) -> ContactMode {
        match mode {
            Mode::Video => ContactMode::Video,
            Mode::InPerson => ContactMode::InPerson,
            Mode::Phone => ContactMode::Phone,
        }
    }

    /// Whether the citizen sees a closing page at the end (and can answer there at once).
    pub fn has_closing_page(self) -> bool {
        matches!(self, ContactMode::Video | ContactMode::WalkIn)
    }
}

/// Whose contact a meeting's entry is: the appointment's citizen or a ticket's holder are
/// asked; invitees and officials never are.
pub fn asks(entry: &Entry) -> bool {
    matches!(entry.kind, EntryKind::Appointment | EntryKind::Ticket)
}

/// The wait and the length of a contact, in seconds, where known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measures {
    /// From arrival in the virtual waiting room to admission.
    pub wait_seconds: Option<i64>,
    /// From admission to the end of the meeting or ticket.
    pub duration_seconds: Option<i64>,
}

impl Measures {
    /// What a finished entry tells: the wait (`admitted_at - arrived_at`) and the duration
    /// (`ended_at - admitted_at`); nothing negative (a clock step backwards) is kept.
    pub fn of_entry(e: &Entry) -> Measures {
        let non_negative = |d: SignedDuration| Some(d.as_secs()).filter(|s| *s >= 0);
        Measures {
            wait_seconds: e.waited().and_then(non_negative),
            duration_seconds: match (e.admitted_at, e.ended_at) {
                (Some(a), Some(end)) => non_negative(end.duration_since(a)),
                _ => None,
            },
        }
    }
}

/// When a link made at `now` stops working, `days` later (1 to [`MAX_LINK_DAYS`]).
pub fn expires_at(now: Timestamp, days: i64) -> Timestamp {
    let days = days.clamp(1, MAX_LINK_DAYS);
    now.checked_add(SignedDuration::from_hours(24 * days)).unwrap_or(Timestamp::MAX)
}

/// Why a feedback request takes no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It was answered already (one answer per contact).
    Answered,
    /// Its link is past its validity.
    Expired,
}

impl Refusal {
    /// What the citizen reads, in `lang`.
    pub fn message(self, lang: crate::Lang) -> &'static str {
        match (self, lang) {
            (Refusal::Answered, crate::Lang::It) => "Hai già risposto, grazie.",
            (Refusal::Answered, crate::Lang::En) => "You have already answered, thank you.",
            (Refusal::Expired, crate::Lang::It) => "Il link è scaduto: non è più possibile rispondere.",
            (Refusal::Expired, crate::Lang::En) => "The link has expired: answers are no longer accepted.",
        }
    }

    /// A short title for the page.
    pub fn title(self, lang: crate::Lang) -> &'static str {
        match (self, lang) {
            (Refusal::Answered, crate::Lang::It) => "Hai già risposto",
            (Refusal::Answered, crate::Lang::En) => "Already answered",
            (Refusal::Expired, crate::Lang::It) => "Il link è scaduto",
            (Refusal::Expired, crate::Lang::En) => "The link has expired",
        }
    }
}

/// Whether a request answered at `answered_at` (if ever) and valid until `expires_at` takes an
/// answer at `now`. An answered request says so even once expired.
pub fn answerable(answered_at: Option<Timestamp>, expires_at: Timestamp, now: Timestamp) -> Result<(), Refusal> {
    if answered_at.is_some() {
        return Err(Refusal::Answered);
    }
    if now >= expires_at {
        return Err(Refusal::Expired);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::lobby::{Abilities, EntryStatus};
    use crate::{EntryId, OfficeId, TenantId};

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn entry(kind: EntryKind) -> Entry {
        Entry {
            id: EntryId(1),
            tenant_id: TenantId(1),
            office_id: OfficeId(1),
            kind,
            appointment_id: None,
            ticket_number: None,
            meeting_id: None,
            name: "Maria".into(),
            service: String::new(),
            booked_start: None,
            booked_end: None,
            abilities: Abilities::citizen(),
            muted: false,
            direct: false,
            status: EntryStatus::Done,
            message: None,
            arrived_at: at("2026-12-07T09:00:00Z"),
            admitted_at: Some(at("2026-12-07T09:04:00Z")),
            joined_at: Some(at("2026-12-07T09:05:00Z")),
            ended_at: Some(at("2026-12-07T09:19:00Z")),
        }
    }

    #[test]
    fn the_wait_runs_from_arrival_to_admission_and_the_contact_from_admission_to_the_end() {
        let m = Measures::of_entry(&entry(EntryKind::Ticket));
        assert_eq!(m, Measures { wait_seconds: Some(240), duration_seconds: Some(900) });
        let never_admitted = Entry { admitted_at: None, ..entry(EntryKind::Ticket) };
        assert_eq!(Measures::of_entry(&never_admitted), Measures::default());
        let clock_stepped_back = Entry { arrived_at: at("2026-12-07T09:10:00Z"), ..entry(EntryKind::Ticket) };
        assert_eq!(Measures::of_entry(&clock_stepped_back).wait_seconds, None);
    }

    #[test]
    fn only_the_citizen_of_an_appointment_or_a_ticket_is_asked() {
        assert!(asks(&entry(EntryKind::Appointment)));
        assert!(asks(&entry(EntryKind::Ticket)));
        assert!(!asks(&entry(EntryKind::Invitee)));
        assert!(!asks(&entry(EntryKind::Official)));
    }

    #[test]
    fn a_request_takes_one_answer_before_it_expires() {
        let now = at("2026-12-07T10:00:00Z");
        let until = expires_at(now, 30);
        assert_eq!(until, at("2027-01-06T10:00:00Z"));
        assert_eq!(answerable(None, until, now), Ok(()));
        assert_eq!(answerable(Some(now), until, now), Err(Refusal::Answered));
        assert_eq!(answerable(None, until, until), Err(Refusal::Expired));
        assert_eq!(answerable(Some(now), until, until), Err(Refusal::Answered), "answered says so even later");
        assert_eq!(expires_at(now, 0), expires_at(now, 1), "at least a day");
        assert_eq!(expires_at(now, 100_000), expires_at(now, MAX_LINK_DAYS));
    }

    #[test]
    fn modes_are_spelled_as_stored() {
        for m in ContactMode::ALL {
            assert_eq!(ContactMode::parse(m.as_str()), Some(m));
        }
        assert_eq!(ContactMode::of_appointment(Mode::InPerson).as_str(), "in_person");
        assert_eq!(ContactMode::WalkIn.as_str(), "walk_in");
        assert!(ContactMode::Video.has_closing_page() && !ContactMode::Phone.has_closing_page());
    }
}
