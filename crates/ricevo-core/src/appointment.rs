//! An appointment's status and the one rule for changing it, shared by the staff pages, the
//! JSON API and the citizen's own cancel link.
//!
//! ```text
//!            ┌──────── check in (from 2 h before the start) ────────┐
//!            │                                                        ▼
//!  Booked ───┼── done (once started) ──────────────────▶ Done ◀── done ── CheckedIn
//!    │  │    └── no-show (5 min after the start) ──▶ NoShow ◀── no-show ──┘  │
//!    │  │                                        │ late arrival,             │
//!    │  │                                        └ before the end ─▶ CheckedIn
//!    └──┴──────────────── cancel ──────────────▶ Cancelled ◀──── cancel ─────┘
//! ```
//!
//! Why these rules:
//! - a no-show is a fact about the past: it can only be said once the start (plus a short
//!   grace for a citizen a few minutes late) has passed; marking it days ahead would close an
//!   appointment the citizen still means to keep;
//! - an appointment is done once it has been held: not before its start, unless the citizen
//!   is already checked in (then the office may well have received them early);
//! - check-in is for a citizen who is there, so not more than two hours early;
//! - Done and Cancelled are final: a cancelled appointment gave its seat away, and a done one
//!   is history (reports count it). A no-show is final too, except that a citizen who turns up
//!   late, before the appointment's end, may still be checked in;
//! - asking for the status an appointment already has is refused like any other change that
//!   makes no sense, so two officials clicking the same button learn that one was first.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// How long before its start a citizen may be checked in.
pub const CHECK_IN_EARLY: SignedDuration = SignedDuration::from_hours(2);

/// How long after its start an appointment may be marked a no-show.
pub const NO_SHOW_GRACE: SignedDuration = SignedDuration::from_mins(5);

/// Where an appointment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    /// Booked and upcoming.
    Booked,
    /// The citizen has arrived (or joined the waiting room).
    CheckedIn,
    /// The meeting took place.
    Done,
    /// The citizen did not come.
    NoShow,
    /// Cancelled by the citizen or the office.
    Cancelled,
}

/// When an appointment takes place, as the status rule needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Its start.
    pub start: Timestamp,
    /// Its end.
    pub end: Timestamp,
    /// Now.
    pub now: Timestamp,
}

/// Why a status change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StatusChangeError {
    /// The appointment already has that status.
    #[error("the appointment is already {}", .0.as_str())]
    Already(AppointmentStatus),
    /// The change makes no sense from the current status (from a final status, or back to booked).
    #[error("an appointment that is {} cannot become {}", from.as_str(), to.as_str())]
    NotAllowed {
        /// The current status.
        from: AppointmentStatus,
        /// The wanted status.
        to: AppointmentStatus,
    },
    /// The change is possible only from `allowed_from` on.
    #[error("an appointment cannot become {} before {allowed_from}", to.as_str())]
    TooEarly {
        /// The wanted status.
        to: AppointmentStatus,
        /// The first instant it is allowed.
        allowed_from: Timestamp,
    },
    /// The change was possible only before `allowed_until`.
    #[error("an appointment cannot become {} after {allowed_until}", to.as_str())]
    TooLate {
        /// The wanted status.
        to: AppointmentStatus,
        /// The last instant it was allowed.
        allowed_until: Timestamp,
    },
}

impl AppointmentStatus {
    /// Every status.
    pub const ALL: [AppointmentStatus; 5] = [
        AppointmentStatus::Booked,
        AppointmentStatus::CheckedIn,
        AppointmentStatus::Done,
        AppointmentStatus::NoShow,
        AppointmentStatus::Cancelled,
    ];

    /// The database and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Booked => "booked",
            AppointmentStatus::CheckedIn => "checked_in",
            AppointmentStatus::Done => "done",
            AppointmentStatus::NoShow => "no_show",
            AppointmentStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the database spelling.
    pub fn parse(s: &str) -> Option<AppointmentStatus> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the appointment still holds its seat (and can be cancelled or moved).
    pub fn is_active(self) -> bool {
        matches!(self, AppointmentStatus::Booked | AppointmentStatus::CheckedIn)
    }

    /// The status after changing to `to` at `timing.now`, or why that is refused (see the
    /// module's rules). The caller writes it only if the stored status is still `self`.
    pub fn transition(self, to: AppointmentStatus, timing: Timing) -> Result<AppointmentStatus, StatusChangeError> {
        use AppointmentStatus::{Booked, Cancelled, CheckedIn, Done, NoShow};
        let Timing { start, end, now } = timing;
        let not_before = |allowed_from: Timestamp| {
            if now < allowed_from { Err(StatusChangeError::TooEarly { to, allowed_from }) } else { Ok(to) }
        };
        if self == to {
            return Err(StatusChangeError::Already(to));
        }
        match (self, to) {
            (Booked | CheckedIn, Cancelled) => Ok(to),
            (Booked, CheckedIn) => not_before(shifted(start, -CHECK_IN_EARLY)),
            (Booked, Done) => not_before(start),
            (CheckedIn, Done) => Ok(to),
            (Booked | CheckedIn, NoShow) => not_before(shifted(start, NO_SHOW_GRACE)),
            (NoShow, CheckedIn) if now >= end => Err(StatusChangeError::TooLate { to, allowed_until: end }),
            (NoShow, CheckedIn) => Ok(to),
            (from, to) => Err(StatusChangeError::NotAllowed { from, to }),
        }
    }
}

// `t + d`, held at the ends of time instead of overflowing.
fn shifted(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_add(d).unwrap_or(if d.is_negative() { Timestamp::MIN } else { Timestamp::MAX })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::AppointmentStatus::{Booked, Cancelled, CheckedIn, Done, NoShow};
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    // 09:00-09:30 UTC on 25 November 2026.
    fn timing(now: &str) -> Timing {
        Timing { start: at("2026-11-25T09:00:00Z"), end: at("2026-11-25T09:30:00Z"), now: at(now) }
    }

    // What each pair answers two days before, ten minutes after the start, and after the end.
    #[test]
    fn every_pair_of_statuses_answers_as_the_rules_say_before_during_and_after_the_appointment() {
        let days_before = timing("2026-11-23T09:00:00Z");
        let during = timing("2026-11-25T09:10:00Z");
        let after = timing("2026-11-25T12:00:00Z");
        // (from, to, allowed days before, allowed during, allowed after)
        let table = [
            (Booked, Booked, false, false, false),
            (Booked, CheckedIn, false, true, true),
            (Booked, Done, false, true, true),
            (Booked, NoShow, false, true, true),
            (Booked, Cancelled, true, true, true),
            (CheckedIn, Booked, false, false, false),
            (CheckedIn, CheckedIn, false, false, false),
            (CheckedIn, Done, true, true, true),
            (CheckedIn, NoShow, false, true, true),
            (CheckedIn, Cancelled, true, true, true),
            (Done, Booked, false, false, false),
            (Done, CheckedIn, false, false, false),
            (Done, Done, false, false, false),
            (Done, NoShow, false, false, false),
            (Done, Cancelled, false, false, false),
            (NoShow, Booked, false, false, false),
            (NoShow, CheckedIn, true, true, false),
            (NoShow, Done, false, false, false),
            (NoShow, NoShow, false, false, false),
            (NoShow, Cancelled, false, false, false),
            (Cancelled, Booked, false, false, false),
            (Cancelled, CheckedIn, false, false, false),
            (Cancelled, Done, false, false, false),
            (Cancelled, NoShow, false, false, false),
            (Cancelled, Cancelled, false, false, false),
        ];
        assert_eq!(table.len(), AppointmentStatus::ALL.len() * AppointmentStatus::ALL.len(), "every pair once");
        for (from, to, before, in_it, later) in table {
            for (t, allowed) in [(days_before, before), (during, in_it), (after, later)] {
                let answer = from.transition(to, t);
                assert_eq!(answer.is_ok(), allowed, "{from:?} -> {to:?} at {}: {answer:?}", t.now);
                if let Ok(next) = answer {
                    assert_eq!(next, to);
                }
            }
        }
    }

    #[test]
    fn a_no_show_waits_for_the_grace_after_the_start_and_says_when_it_becomes_possible() {
        assert_eq!(
            Booked.transition(NoShow, timing("2026-11-25T09:04:59Z")),
            Err(StatusChangeError::TooEarly { to: NoShow, allowed_from: at("2026-11-25T09:05:00Z") })
        );
        assert_eq!(Booked.transition(NoShow, timing("2026-11-25T09:05:00Z")), Ok(NoShow));
    }

    #[test]
    fn check_in_opens_two_hours_before_the_start_and_done_at_the_start() {
        assert!(Booked.transition(CheckedIn, timing("2026-11-25T06:59:59Z")).is_err());
        assert_eq!(Booked.transition(CheckedIn, timing("2026-11-25T07:00:00Z")), Ok(CheckedIn));
        assert!(Booked.transition(Done, timing("2026-11-25T08:59:59Z")).is_err());
        assert_eq!(Booked.transition(Done, timing("2026-11-25T09:00:00Z")), Ok(Done));
    }

    #[test]
    fn a_late_citizen_marked_no_show_is_checked_in_only_before_the_end() {
        assert_eq!(NoShow.transition(CheckedIn, timing("2026-11-25T09:29:59Z")), Ok(CheckedIn));
        assert_eq!(
            NoShow.transition(CheckedIn, timing("2026-11-25T09:30:00Z")),
            Err(StatusChangeError::TooLate { to: CheckedIn, allowed_until: at("2026-11-25T09:30:00Z") })
        );
    }

    #[test]
    fn the_rule_holds_at_the_edges_of_time_without_overflowing() {
        let edge = Timing { start: Timestamp::MIN, end: Timestamp::MAX, now: Timestamp::MAX };
        for from in AppointmentStatus::ALL {
            for to in AppointmentStatus::ALL {
                let _ = from.transition(to, edge);
                let _ = from.transition(to, Timing { start: Timestamp::MAX, end: Timestamp::MAX, now: Timestamp::MIN });
            }
        }
    }

    #[test]
    fn statuses_round_trip_through_their_spelling() {
        for s in AppointmentStatus::ALL {
            assert_eq!(AppointmentStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(AppointmentStatus::parse("confirmed"), None);
    }
}
