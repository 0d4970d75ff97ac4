//! Desk occupancy on a five-minute grid.
//!
//! A booking takes one seat (0..desks) at every grid step it covers, meeting plus buffer.
//! The database stores one row per (office, step, seat) under a unique key, which is what
//! makes double booking impossible even with several server nodes: two transactions that
//! pick the same seat collide on the key, and the loser retries or gets a conflict.

use jiff::Timestamp;

/// Seconds in one grid step.
pub const STEP_SECONDS: i64 = crate::hours::GRID_MINUTES as i64 * 60;

/// The grid steps covered by `[start, end)`, as step numbers since the Unix epoch.
pub fn steps(start: Timestamp, end: Timestamp) -> std::ops::Range<i64> {
    let first = start.as_second().div_euclid(STEP_SECONDS);
    let last = (end.as_second() + STEP_SECONDS - 1).div_euclid(STEP_SECONDS);
    first..last.max(first)
}

/// Picks, for every step of `wanted`, the lowest seat below `desks` not in `taken`.
///
/// `taken` lists (step, seat) pairs already held. Returns `None` when some step is full.
pub fn assign(wanted: std::ops::Range<i64>, taken: &[(i64, i32)], desks: u16) -> Option<Vec<(i64, i32)>> {
    let mut out = Vec::with_capacity(wanted.clone().count());
    for step in wanted {
        let seat = (0..i32::from(desks)).find(|seat| !taken.iter().any(|&(s, t)| s == step && t == *seat))?;
        out.push((step, seat));
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn steps_cover_the_interval_rounding_outwards() {
        let r = steps(ts("2026-03-02T08:00:00Z"), ts("2026-03-02T08:20:00Z"));
        assert_eq!(r.clone().count(), 4);
        let r2 = steps(ts("2026-03-02T08:01:00Z"), ts("2026-03-02T08:20:01Z"));
        assert_eq!(r2.start, r.start);
        assert_eq!(r2.end, r.end + 1);
    }

    #[test]
    fn assignment_takes_the_lowest_free_seat_per_step_and_fails_when_a_step_is_full() {
        let taken = [(10, 0), (11, 0), (11, 1)];
        assert_eq!(assign(9..11, &taken, 2), Some(vec![(9, 0), (10, 1)]));
        assert_eq!(assign(10..12, &taken, 2), None);
        assert_eq!(assign(12..13, &taken, 1), Some(vec![(12, 0)]));
    }
}
