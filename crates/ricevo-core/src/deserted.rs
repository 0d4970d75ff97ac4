//! A meeting everyone left: when it closes by itself.
//!
//! Only the node that carries a meeting's media knows who is connected to it (each node tracks
//! its own sockets). Once nobody is, the meeting gets a grace period (a reload, a phone that
//! lost its signal for a moment) and then closes as if the official had ended it. The node
//! remembers since when each of its meetings has been empty ([`Vacancies`]); a node that
//! restarted, or took a meeting over from a dead node, counts from its own first look, so a
//! meeting never closes sooner than one grace period after this node saw it empty.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use crate::MeetingId;

/// How long an empty meeting waits for someone to come back, unless configured otherwise.
pub const DEFAULT_GRACE: SignedDuration = SignedDuration::from_secs(120);

/// The shortest grace accepted: below it a reload would end the meeting.
pub const MIN_GRACE: SignedDuration = SignedDuration::from_secs(1);

/// Whether a meeting empty since `empty_since` (`None`: someone is connected) closes at `now`.
pub fn should_close(empty_since: Option<Timestamp>, now: Timestamp, grace: SignedDuration) -> bool {
    let grace = grace.max(MIN_GRACE);
    empty_since.is_some_and(|since| now.duration_since(since) >= grace)
}

/// How often a node looks at its meetings: a quarter of the grace, between 1 and 30 seconds,
/// so a meeting closes at most a quarter grace (or 30 s) late.
pub fn look_every(grace: SignedDuration) -> SignedDuration {
    (grace / 4).clamp(SignedDuration::from_secs(1), SignedDuration::from_secs(30))
}

/// Since when each open meeting of one node has had nobody connected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vacancies {
    empty_since: BTreeMap<MeetingId, Timestamp>,
}

impl Vacancies {
    /// Notes what this node sees of an open meeting at `now`: whether anyone is connected to
    /// it. Returns true when the meeting should close now (see [`should_close`]).
    pub fn observe(
        &mut self,
        meeting: MeetingId,
        anyone_connected: bool,
        now: Timestamp,
        grace: SignedDuration,
    ) -> bool {
        if anyone_connected {
            self.empty_since.remove(&meeting);
            return false;
        }
        let since = *self.empty_since.entry(meeting).or_insert(now);
        should_close(Some(since), now, grace)
    }

    /// Since when `meeting` has been empty, as far as this node saw.
    pub fn empty_since(&self, meeting: MeetingId) -> Option<Timestamp> {
        self.empty_since.get(&meeting).copied()
    }

    /// Forgets the meetings `keep` says no (ended, or carried by another node now): if one comes
    /// back here, its clock starts again.
    pub fn retain(&mut self, mut keep: impl FnMut(MeetingId) -> bool) {
        self.empty_since.retain(|m, _| keep(*m));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    const TWO_MINUTES: SignedDuration = SignedDuration::from_secs(120);

    #[test]
    fn a_meeting_closes_one_grace_period_after_it_was_first_seen_empty() {
        let mut v = Vacancies::default();
        let m = MeetingId(7);
        assert!(!v.observe(m, false, at("2026-12-01T10:00:00Z"), TWO_MINUTES), "just emptied");
        assert!(!v.observe(m, false, at("2026-12-01T10:01:59Z"), TWO_MINUTES));
        assert!(v.observe(m, false, at("2026-12-01T10:02:00Z"), TWO_MINUTES), "exactly on the grace");
        assert_eq!(v.empty_since(m), Some(at("2026-12-01T10:00:00Z")));
    }

    #[test]
    fn someone_coming_back_within_the_grace_starts_the_clock_again() {
        let mut v = Vacancies::default();
        let m = MeetingId(7);
        assert!(!v.observe(m, false, at("2026-12-01T10:00:00Z"), TWO_MINUTES));
        assert!(!v.observe(m, true, at("2026-12-01T10:01:30Z"), TWO_MINUTES), "back after a reload");
        assert_eq!(v.empty_since(m), None);
        assert!(!v.observe(m, false, at("2026-12-01T10:02:30Z"), TWO_MINUTES), "empty again: a new grace");
        assert!(!v.observe(m, false, at("2026-12-01T10:04:29Z"), TWO_MINUTES));
        assert!(v.observe(m, false, at("2026-12-01T10:04:30Z"), TWO_MINUTES));
    }

    #[test]
    fn a_meeting_with_people_connected_never_closes() {
        let mut v = Vacancies::default();
        let m = MeetingId(1);
        for minute in 0..600 {
            let now = at("2026-12-01T10:00:00Z") + SignedDuration::from_mins(minute);
            assert!(!v.observe(m, true, now, TWO_MINUTES));
        }
        assert!(!should_close(None, at("2026-12-02T10:00:00Z"), TWO_MINUTES));
    }

    #[test]
    fn meetings_are_counted_apart_and_forgotten_when_they_leave_the_node() {
        let mut v = Vacancies::default();
        let (a, b) = (MeetingId(1), MeetingId(2));
        v.observe(a, false, at("2026-12-01T10:00:00Z"), TWO_MINUTES);
        v.observe(b, false, at("2026-12-01T10:01:00Z"), TWO_MINUTES);
        assert!(v.observe(a, false, at("2026-12-01T10:02:00Z"), TWO_MINUTES));
        assert!(!v.observe(b, false, at("2026-12-01T10:02:00Z"), TWO_MINUTES));
        v.retain(|m| m != b);
        assert_eq!(v.empty_since(b), None, "moved to another node: forgotten");
        assert!(!v.observe(b, false, at("2026-12-01T10:03:30Z"), TWO_MINUTES), "back here: counted from now");
    }

    #[test]
    fn a_zero_grace_is_raised_to_the_minimum_and_looks_come_often_enough() {
        let now = at("2026-12-01T10:00:00Z");
        assert!(!should_close(Some(now), now, SignedDuration::ZERO), "a reload does not end the meeting");
        assert!(should_close(Some(now), now + MIN_GRACE, SignedDuration::ZERO));
        assert_eq!(look_every(TWO_MINUTES), SignedDuration::from_secs(30));
        assert_eq!(look_every(SignedDuration::from_secs(2)), SignedDuration::from_secs(1));
        assert_eq!(look_every(SignedDuration::from_secs(3600)), SignedDuration::from_secs(30));
        assert_eq!(look_every(SignedDuration::from_secs(60)), SignedDuration::from_secs(15));
    }
}
