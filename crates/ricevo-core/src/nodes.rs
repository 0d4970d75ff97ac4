//! Liveness of the server nodes that share one database.
//!
//! Each node records a heartbeat every few seconds; a node whose last heartbeat is older than
//! a bound is dead. A meeting lives on one node (its media server); when that node is dead the
//! meeting moves to the node a participant reconnects to, so nobody goes back to the queue.

use jiff::{SignedDuration, Timestamp};

/// The shortest bound accepted: below it, a busy node would look dead between two heartbeats.
pub const MIN_DEAD_AFTER: SignedDuration = SignedDuration::from_secs(2);

/// Whether a node whose last heartbeat was `last_seen` (`None`: never) is alive at `now`.
pub fn is_alive(last_seen: Option<Timestamp>, now: Timestamp, dead_after: SignedDuration) -> bool {
    last_seen.is_some_and(|seen| seen >= alive_since(now, dead_after))
}

/// The oldest heartbeat that still counts as alive at `now`.
pub fn alive_since(now: Timestamp, dead_after: SignedDuration) -> Timestamp {
    now.saturating_sub(dead_after.max(MIN_DEAD_AFTER)).unwrap_or(now)
}

/// How often a node records its heartbeat: a quarter of the bound, so that three heartbeats in
/// a row may be late (a long pause, a slow database) before others take the node for dead.
pub fn heartbeat_every(dead_after: SignedDuration) -> SignedDuration {
    dead_after.max(MIN_DEAD_AFTER) / 4
}

/// Where a meeting's media should be served, seen from the node `here`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Home {
    /// On this node (it opened the meeting, or the meeting names no node).
    Here,
    /// On another node, alive: participants go there.
    There(String),
    /// On another node that is dead: the meeting should move here.
    Orphaned(String),
}

/// Decides where a meeting whose node is `node` lives, given that node's last heartbeat.
pub fn home(
    node: Option<&str>,
    here: &str,
    last_seen: Option<Timestamp>,
    now: Timestamp,
    dead_after: SignedDuration,
) -> Home {
    match node {
        None => Home::Here,
        Some(n) if n == here => Home::Here,
        Some(n) if is_alive(last_seen, now, dead_after) => Home::There(n.to_owned()),
        Some(n) => Home::Orphaned(n.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    const TEN: SignedDuration = SignedDuration::from_secs(10);

    #[test]
    fn a_node_is_alive_within_the_bound_and_dead_after_it() {
        let now = at("2026-12-01T10:00:10Z");
        assert!(is_alive(Some(at("2026-12-01T10:00:00Z")), now, TEN), "exactly on the bound");
        assert!(is_alive(Some(at("2026-12-01T10:00:09Z")), now, TEN));
        assert!(!is_alive(Some(at("2026-12-01T09:59:59Z")), now, TEN));
    }

    #[test]
    fn a_node_that_never_recorded_a_heartbeat_is_dead() {
        assert!(!is_alive(None, at("2026-12-01T10:00:00Z"), TEN));
    }

    #[test]
    fn a_tiny_bound_is_raised_to_the_minimum() {
        let now = at("2026-12-01T10:00:10Z");
        assert!(is_alive(Some(at("2026-12-01T10:00:09Z")), now, SignedDuration::ZERO));
        assert_eq!(heartbeat_every(SignedDuration::ZERO), SignedDuration::from_millis(500));
    }

    #[test]
    fn heartbeats_come_four_times_per_bound() {
        assert_eq!(heartbeat_every(TEN), SignedDuration::from_millis(2500));
    }

    #[test]
    fn a_meeting_stays_where_its_node_lives_and_moves_when_that_node_is_dead() {
        let now = at("2026-12-01T10:00:30Z");
        let a = "http://a:8080";
        let b = "http://b:8080";
        assert_eq!(home(None, b, None, now, TEN), Home::Here);
        assert_eq!(home(Some(b), b, None, now, TEN), Home::Here, "its own node never checks itself");
        assert_eq!(home(Some(a), b, Some(at("2026-12-01T10:00:25Z")), now, TEN), Home::There(a.into()));
        assert_eq!(home(Some(a), b, Some(at("2026-12-01T10:00:05Z")), now, TEN), Home::Orphaned(a.into()));
        assert_eq!(home(Some(a), b, None, now, TEN), Home::Orphaned(a.into()));
    }
}
