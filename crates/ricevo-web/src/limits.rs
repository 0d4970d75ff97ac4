//! Limits: a small fixed-window rate limiter keyed by client address or account, the sign-in
//! throttle built on it, and the gate that bounds how many password hashes run at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::Semaphore;

pub use ricevo_desk::budget::RateLimiter;

/// Why a sign-in attempt is refused before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefused {
    /// Too many failures from this address.
    Address,
    /// Too many failures for this account from addresses it has not signed in from.
    Account,
}

/// A sign-in attempt already counted against its budgets; say how it ended.
#[derive(Debug)]
#[must_use = "report how the attempt ended"]
pub struct LoginAttempt {
    account: String,
    address: String,
    counted_on_account: bool,
}

/// Failed sign-ins, throttled per address and per account.
///
/// Every attempt is counted before its password is checked, so a burst of concurrent guesses
/// gets no more checks than the budget. An account's own budget counts only attempts from
/// addresses that have not signed in to it recently: guessing from elsewhere can lock out
/// other strangers, never the account's owner at their usual address.
#[derive(Debug)]
pub struct LoginThrottle {
    per_address: RateLimiter,
    per_account: RateLimiter,
    /// (account, address) → when it last signed in successfully.
    known: Mutex<HashMap<(String, String), Timestamp>>,
}

/// How long a successful sign-in makes its address known to the account.
const KNOWN_FOR: SignedDuration = SignedDuration::from_hours(30 * 24);
/// Most (account, address) pairs remembered, so a flood of sign-ins cannot grow memory.
const MAX_KNOWN: usize = 100_000;

impl LoginThrottle {
    /// `limit` failures per `window_secs` per address, and as many per account from unknown
    /// addresses.
    pub fn new(limit: u32, window_secs: i64) -> LoginThrottle {
        LoginThrottle {
            per_address: RateLimiter::new(limit, window_secs),
            per_account: RateLimiter::new(limit, window_secs),
            known: Mutex::new(HashMap::new()),
        }
    }

    fn is_known(&self, account: &str, address: &str, now: Timestamp) -> bool {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.get(&(account.to_owned(), address.to_owned())).is_some_and(|at| now.duration_since(*at) < KNOWN_FOR)
    }

    /// Counts an attempt by `address` on `account` before its password is checked, or says
    /// which budget is spent (then nothing is counted).
    pub fn reserve(&self, account: &str, address: &str, now: Timestamp) -> Result<LoginAttempt, LoginRefused> {
        let address_key = format!("address:{address}");
        if !self.per_address.allow(&address_key, now) {
            self.per_address.refund(&address_key, now);
            return Err(LoginRefused::Address);
        }
        let counted_on_account = !self.is_known(account, address, now);
        if counted_on_account && !self.per_account.allow(account, now) {
            self.per_account.refund(account, now);
            self.per_address.refund(&address_key, now);
            return Err(LoginRefused::Account);
        }
        Ok(LoginAttempt { account: account.to_owned(), address: address.to_owned(), counted_on_account })
    }

    /// The password was right: the attempt is not a failure, the account's failures are
    /// forgotten and the address becomes known to the account. The address's other failures
    /// stay: a valid account must not unlock guessing at others.
    pub fn succeeded(&self, attempt: LoginAttempt, now: Timestamp) {
        self.per_address.refund(&format!("address:{}", attempt.address), now);
        self.per_account.reset(&attempt.account);
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= MAX_KNOWN {
            known.retain(|_, at| now.duration_since(*at) < KNOWN_FOR);
        }
        if known.len() < MAX_KNOWN {
            known.insert((attempt.account, attempt.address), now);
        }
    }

    /// The password was wrong: the attempt stays counted.
    pub fn failed(&self, attempt: LoginAttempt) {
        drop(attempt);
    }

    /// The password could not be checked (the server was busy): the attempt is given back.
    pub fn not_checked(&self, attempt: LoginAttempt, now: Timestamp) {
        let LoginAttempt { account, address, counted_on_account } = attempt;
        self.per_address.refund(&format!("address:{address}"), now);
        if counted_on_account {
            self.per_account.refund(&account, now);
        }
    }
}

/// Too many password checks are running or waiting: try again shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Bounds how many password hashes (argon2id, ~19 MiB and tens of milliseconds of CPU each)
/// run at once and how many requests may wait for one, so a burst of sign-ins costs bounded
/// memory and the rest of the server keeps its cores.
#[derive(Debug)]
pub struct PasswordGate {
    running: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
    max_wait: Duration,
    done: AtomicU64,
}

impl PasswordGate {
    /// `parallel` hashes at once, `max_waiting` requests queued for at most `max_wait` each.
    pub fn new(parallel: usize, max_waiting: usize, max_wait: Duration) -> PasswordGate {
        PasswordGate {
            running: Semaphore::new(parallel.max(1)),
            waiting: AtomicUsize::new(0),
            max_waiting,
            max_wait,
            done: AtomicU64::new(0),
        }
    }

    /// One hash per core, eight waiting per core, for at most ten seconds.
    pub fn for_this_machine() -> PasswordGate {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        PasswordGate::new(cores, 8 * cores, Duration::from_secs(10))
    }

    /// Runs `work` (a password hash) on the blocking pool once a slot is free; [`Busy`] when
    /// too many are already waiting or none frees up in time.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
        let permit = match self.running.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(Busy);
                }
                let permit = tokio::time::timeout(self.max_wait, self.running.acquire()).await;
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                match permit {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(Busy),
                }
            }
        };
        self.done.fetch_add(1, Ordering::Relaxed);
        let result = tokio::task::spawn_blocking(work).await;
        drop(permit);
        result.map_err(|_| Busy)
    }

    /// How many hashes were started (for tests and metrics).
    pub fn runs(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_that_signed_in_is_not_held_by_the_account_lock_strangers_cause() {
        let th = LoginThrottle::new(3, 900);
        let now = t("2026-11-22T10:00:00Z");
        th.succeeded(th.reserve("demo:anna", "192.0.2.2", now).unwrap(), now);
        // A stranger spends the account's budget (from several addresses, each within its own).
        for address in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
            th.failed(th.reserve("demo:anna", address, now).unwrap());
        }
        assert_eq!(th.reserve("demo:anna", "203.0.113.4", now).unwrap_err(), LoginRefused::Account);
        // Anna at her own address still gets her password checked.
        let mine = th.reserve("demo:anna", "192.0.2.2", now).unwrap();
        th.succeeded(mine, now);
        // Her success forgot the account's failures (each stranger's address keeps its own).
        th.failed(th.reserve("demo:anna", "203.0.113.4", now).unwrap());
    }

    #[test]
    fn an_address_is_refused_after_its_budget_whatever_the_account_and_refusals_are_not_counted() {
        let th = LoginThrottle::new(2, 900);
        let now = t("2026-11-22T10:00:00Z");
        th.failed(th.reserve("demo:a", "203.0.113.1", now).unwrap());
        th.failed(th.reserve("demo:b", "203.0.113.1", now).unwrap());
        for _ in 0..5 {
            assert_eq!(th.reserve("demo:c", "203.0.113.1", now).unwrap_err(), LoginRefused::Address);
        }
        // The refusals above counted nothing on account c.
        th.failed(th.reserve("demo:c", "203.0.113.2", now).unwrap());
        th.failed(th.reserve("demo:c", "203.0.113.3", now).unwrap());
        assert_eq!(th.reserve("demo:c", "203.0.113.4", now).unwrap_err(), LoginRefused::Account);
        // An attempt that could not be checked is given back.
        let a = th.reserve("demo:d", "203.0.113.5", now).unwrap();
        th.not_checked(a, now);
        th.failed(th.reserve("demo:d", "203.0.113.5", now).unwrap());
        th.failed(th.reserve("demo:d", "203.0.113.5", now).unwrap());
        // A new window starts fresh.
        assert!(th.reserve("demo:c", "203.0.113.1", t("2026-11-22T10:15:00Z")).is_ok());
    }

    #[tokio::test]
    async fn the_gate_runs_a_bounded_number_of_hashes_and_turns_away_the_queue_overflow() {
        let gate = std::sync::Arc::new(PasswordGate::new(1, 1, Duration::from_secs(3600)));
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let gate = gate.clone();
            tokio::spawn(async move {
                gate.run(move || {
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                })
                .await
            })
        };
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap()).await.unwrap();
        // The one slot is taken: the next one waits...
        let waiter = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.run(|| 7).await })
        };
        while gate.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // ...and with the queue full, the one after is turned away at once.
        assert_eq!(gate.run(|| 8).await, Err(Busy));
        release_tx.send(()).unwrap();
        assert_eq!(holder.await.unwrap(), Ok(()));
        assert_eq!(waiter.await.unwrap(), Ok(7));
        assert_eq!(gate.runs(), 2, "the turned-away hash never ran");
    }

    #[tokio::test]
    async fn a_request_that_waits_too_long_for_a_slot_is_turned_away() {
        let gate = std::sync::Arc::new(PasswordGate::new(1, 4, Duration::ZERO));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let gate = gate.clone();
            tokio::spawn(async move {
                gate.run(move || {
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                })
                .await
            })
        };
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap()).await.unwrap();
        assert_eq!(gate.run(|| ()).await, Err(Busy));
        release_tx.send(()).unwrap();
        holder.await.unwrap().unwrap();
        assert_eq!(gate.run(|| 1).await, Ok(1), "free again");
    }
}
