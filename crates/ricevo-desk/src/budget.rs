//! Budgets: a small fixed-window rate limiter keyed by a source (a client address, an
//! account, a chat), used for the bookings and tickets one source may make per hour and by the
//! channels for their own limits.

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::Timestamp;

/// Allows `limit` events per `window_secs` for each key.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window_secs: i64,
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimiter {
    /// A limiter of `limit` events per window.
    pub fn new(limit: u32, window_secs: i64) -> RateLimiter {
        RateLimiter { limit, window_secs: window_secs.max(1), windows: Mutex::new(HashMap::new()) }
    }

    /// Counts one event for `key`; false when the key is over its budget.
    pub fn allow(&self, key: &str, now: Timestamp) -> bool {
        let window = now.as_second().div_euclid(self.window_secs);
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Old windows only: keep memory bounded under a flood of addresses.
            map.retain(|_, (w, _)| *w == window);
        }
        let entry = map.entry(key.to_owned()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 += 1;
        entry.1 <= self.limit
    }

    /// Whether `key` is already over its budget, without counting.
    pub fn exhausted(&self, key: &str, now: Timestamp) -> bool {
        let window = now.as_second().div_euclid(self.window_secs);
        let map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).is_some_and(|(w, n)| *w == window && *n >= self.limit)
    }

    /// Gives back one event counted for `key` in the current window (an attempt that ended
    /// without using what the budget guards, such as a booking refused for a full slot).
    pub fn give_back(&self, key: &str, now: Timestamp) {
        let window = now.as_second().div_euclid(self.window_secs);
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((w, n)) = map.get_mut(key)
            && *w == window
        {
            *n = n.saturating_sub(1);
        }
    }

    /// Seconds until the current window ends and every key has its budget again.
    pub fn retry_after(&self, now: Timestamp) -> i64 {
        self.window_secs - now.as_second().rem_euclid(self.window_secs)
    }

    /// Forgets `key` (after a successful login).
    pub fn reset(&self, key: &str) {
        self.windows.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    /// Gives back one event counted for `key` in the current window (it turned out not to be
    /// one worth counting).
    pub fn refund(&self, key: &str, now: Timestamp) {
        let window = now.as_second().div_euclid(self.window_secs);
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((w, n)) = map.get_mut(key)
            && *w == window
        {
            *n = n.saturating_sub(1);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_budget_per_window_and_a_new_window_starts_fresh() {
        let l = RateLimiter::new(2, 60);
        let t0: Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        assert!(l.allow("a", t0));
        assert!(l.allow("a", t0));
        assert!(!l.allow("a", t0));
        assert!(l.exhausted("a", t0));
        assert!(l.allow("b", t0), "keys are independent");
        let t1: Timestamp = "2026-11-22T10:01:00Z".parse().unwrap();
        assert!(l.allow("a", t1));
        l.reset("b");
        assert!(!l.exhausted("b", t0));
        l.refund("a", t0);
        assert!(l.allow("a", t1), "a refund in an old window touches nothing");
    }

    #[test]
    fn a_given_back_event_frees_its_place_and_retry_after_counts_to_the_windows_end() {
        let l = RateLimiter::new(1, 3600);
        let t0: Timestamp = "2026-11-22T10:15:00Z".parse().unwrap();
        assert!(l.allow("a", t0));
        assert!(!l.allow("a", t0));
        l.give_back("a", t0);
        l.give_back("a", t0);
        assert!(l.allow("a", t0), "the refused attempt and the given-back one are both returned");
        assert_eq!(l.retry_after(t0), 45 * 60);
    }
}
