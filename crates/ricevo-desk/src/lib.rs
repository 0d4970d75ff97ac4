//! Ricevo's front desk: every use case a channel can trigger, in one place.
//!
//! A channel (the citizen pages, the JSON API, the staff pages, the command line, and later a
//! messaging bot) parses what someone asked for, calls the [`Desk`], and shows the answer. The
//! desk loads the facts from the [`Store`], asks the pure rules in `ricevo_core` for a
//! decision, and commits it through the store together with the messages that announce it
//! (the outbox rows are written in the same transaction). It knows nothing about HTTP, pages
//! or sockets: it returns domain results or a [`DeskError`], and tells the live side of this
//! node what changed through [`Live`].
//!
//! - [`booking`]: offer slots, book (idempotent), cancel, move, status changes, the day's list;
//! - [`waiting_room`]: what a link opens, arrivals, and what officials do to the queue (admit,
//!   hold, refuse, transfer, call next, no-show);
//! - [`walk_in`]: the walk-in desk's hours and its numbered tickets;
//! - [`meetings`]: invitations, moderation, documents, the end of a meeting;
//! - [`deserted`]: a meeting everyone left closes by itself after a grace period;
//! - [`offices`]: the town's offices, services, hours and closures; [`closures`]: a closure
//!   over booked days, previewed, then saved with every affected citizen cancelled and told;
//! - [`on_behalf`]: what an official does for a citizen who phones or walks in (book for them,
//!   move or cancel with a reason);
//! - [`privacy`]: a citizen's data exported or erased on request (GDPR);
//! - [`staff`]: new towns, staff accounts, API tokens and webhooks;
//! - [`accounts`], [`second_factor`], [`settings`]: editing and disabling accounts, own
//!   passwords, the TOTP second factor, listing and revoking tokens, a town's settings and
//!   emblem, suspending a town;
//! - [`town`] and [`catalogue`]: the facts those use cases read, remembered for two seconds;
//! - [`messages`]: the e-mails and webhooks that announce a change, written to the outbox.

pub mod accounts;
pub mod audit;
pub mod booking;
pub mod budget;
pub mod catalogue;
pub mod closures;
pub mod deserted;
mod error;
mod live;
pub mod meetings;
pub mod messages;
pub mod offices;
pub mod on_behalf;
pub mod privacy;
pub mod second_factor;
pub mod settings;
pub mod staff;
pub mod tokens;
pub mod town;
pub mod waiting_room;
pub mod walk_in;
// ---- surveys ----
pub mod surveys;
// ---- end surveys ----
// ---- feedback ----
pub mod feedback;
// ---- end feedback ----
// ---- campaigns ----
pub mod campaigns;
// ---- end campaigns ----
// ---- reports ----
pub mod reports;
// ---- end reports ----
// ---- channels ----
pub mod channels;
// ---- end channels ----
// ---- webpush ----
pub mod web_push;
// ---- end webpush ----
// ---- waitlist ----
pub mod waitlist;
// ---- end waitlist ----
// ---- telegram ----
pub mod telegram;
// ---- end telegram ----
// ---- turnnear ----
pub mod turn_near;
// ---- end turnnear ----
// ---- staffoidc ----
pub mod staff_sign_in;
// ---- end staffoidc ----
// ---- citizen ----
pub mod signed_in;
// ---- end citizen ----
// ---- council ----
pub mod council;
// ---- end council ----

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use ricevo_store::Store;

pub use error::DeskError;
pub use live::{Live, Unattended};

/// The clock the desk reads, replaceable in tests.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// What the desk needs to know about the instance.
#[derive(Debug, Clone)]
pub struct DeskSettings {
    /// The address citizens reach, used in links and e-mails (`http://127.0.0.1:8080`).
    pub public_url: String,
    /// This node's own address when several nodes share one database; `None`: the public URL.
    pub node_url: Option<String>,
    /// The From address of e-mails; the town's contact address when unset.
    pub mail_from: Option<String>,
    /// How long before an appointment the reminder goes out.
    pub reminder_hours: i32,
    /// Active appointments one citizen (by e-mail, phone or codice fiscale) may hold per
    /// service; 0: no limit.
    pub max_active_per_citizen: u16,
    /// Bookings one source (a client address, a chat) may make per hour.
    pub bookings_per_hour_per_source: u32,
    /// Walk-in tickets one source may take per hour.
    pub tickets_per_hour_per_source: u32,
    /// How many minutes before its start a video appointment's waiting room opens.
    pub join_open_minutes: i64,
    /// Largest document a meeting accepts, in bytes.
    pub max_document_bytes: usize,
    /// Internal hosts webhooks may be registered for; every other internal address is refused.
    pub webhook_allow_hosts: ricevo_notify::AllowedHosts,
    /// How long a meeting everyone left waits before it closes by itself.
    pub empty_meeting_grace: jiff::SignedDuration,
    /// Feedback links and survey campaigns.
    pub surveys: SurveySettings,
}

/// How after-contact feedback and survey campaigns behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SurveySettings {
    /// Days a feedback link in a follow-up message stays valid.
    pub feedback_link_days: i64,
    /// Campaign e-mails one town hands to the outbox per minute.
    pub campaign_messages_per_minute: u32,
}

impl Default for SurveySettings {
    fn default() -> Self {
        SurveySettings { feedback_link_days: 30, campaign_messages_per_minute: 600 }
    }
}

impl Default for DeskSettings {
    fn default() -> Self {
        DeskSettings {
            public_url: "http://127.0.0.1:8080".into(),
            node_url: None,
            mail_from: None,
            reminder_hours: 24,
            max_active_per_citizen: ricevo_core::quota::DEFAULT_MAX_ACTIVE,
            bookings_per_hour_per_source: 10,
            tickets_per_hour_per_source: 10,
            join_open_minutes: 15,
            max_document_bytes: 20 * 1024 * 1024,
            webhook_allow_hosts: ricevo_notify::AllowedHosts::default(),
            empty_meeting_grace: ricevo_core::deserted::DEFAULT_GRACE,
            surveys: SurveySettings::default(),
        }
    }
}

impl DeskSettings {
    /// The address of this node (see [`DeskSettings::node_url`]).
    pub fn node(&self) -> &str {
        self.node_url.as_deref().unwrap_or(&self.public_url)
    }
}

/// How many bookings the desk committed and lost to a full slot, for the operator's metrics.
#[derive(Debug, Default)]
pub struct Counters {
    bookings: AtomicU64,
    conflicts: AtomicU64,
}

impl Counters {
    /// Bookings committed since the process started.
    pub fn bookings(&self) -> u64 {
        self.bookings.load(Ordering::Relaxed)
    }
    /// Bookings refused since the process started because the slot filled up meanwhile.
    pub fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }
    /// Counts one committed booking.
    pub fn booking_committed(&self) {
        self.bookings.fetch_add(1, Ordering::Relaxed);
    }
    /// Counts one booking lost to a full slot.
    pub fn booking_conflict(&self) {
        self.conflicts.fetch_add(1, Ordering::Relaxed);
    }
}

/// The front desk of every town on this instance. Cheap to clone: everything is shared.
#[derive(Clone)]
pub struct Desk {
    store: Arc<dyn Store>,
    settings: Arc<DeskSettings>,
    clock: Clock,
    live: Arc<dyn Live>,
    catalogue: Arc<catalogue::Catalogue>,
    booking_budget: Arc<budget::RateLimiter>,
    ticket_budget: Arc<budget::RateLimiter>,
    counters: Arc<Counters>,
    token_uses: Arc<accounts::TokenUses>,
    // ---- waitlist ----
    waitlist_hold: ricevo_core::waitlist::HoldLength,
    // ---- end waitlist ----
}

impl fmt::Debug for Desk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Desk").field("store", &self.store).field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Desk {
    /// A desk with the real clock and nobody live to tell (the command line, tests).
    pub fn new(store: Arc<dyn Store>, settings: DeskSettings) -> Desk {
        Desk::with_clock(store, settings, Arc::new(Timestamp::now))
    }

    /// A desk with a given clock (tests travel in time with it).
    pub fn with_clock(store: Arc<dyn Store>, settings: DeskSettings, clock: Clock) -> Desk {
        Desk {
            store,
            booking_budget: Arc::new(budget::RateLimiter::new(settings.bookings_per_hour_per_source.max(1), 3600)),
            ticket_budget: Arc::new(budget::RateLimiter::new(settings.tickets_per_hour_per_source.max(1), 3600)),
            settings: Arc::new(settings),
            clock,
            live: Arc::new(Unattended),
            catalogue: Arc::default(),
            counters: Arc::default(),
            token_uses: Arc::default(),
            // ---- waitlist ----
            waitlist_hold: ricevo_core::waitlist::HoldLength::default(),
            // ---- end waitlist ----
        }
    }

    /// The same desk telling `live` about every change (the web edge's open pages).
    pub fn with_live(mut self, live: Arc<dyn Live>) -> Desk {
        self.live = live;
        self
    }

    /// Now.
    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// The store underneath, for what only reads (lists, searches, views).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The instance's settings.
    pub fn settings(&self) -> &DeskSettings {
        &self.settings
    }

    /// The short memory of each town's catalogue.
    pub fn catalogue(&self) -> &catalogue::Catalogue {
        &self.catalogue
    }

    /// Bookings committed and lost to a full slot.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Whether `entry`'s page is open on this node.
    pub fn is_connected(&self, entry: ricevo_core::EntryId) -> bool {
        self.live.is_connected(entry)
    }

    /// A place in a waiting room changed: its page here refreshes, and other nodes are told.
    pub fn entry_changed(&self, entry: ricevo_core::EntryId) {
        self.live.entry_changed(entry);
        self.announce(format!("entry:{}", entry.0));
    }

    /// An office's queue changed: its dashboards here refresh, and other nodes are told.
    pub fn office_changed(&self, office: ricevo_core::OfficeId) {
        self.live.office_changed(office);
        self.announce(format!("office:{}", office.0));
    }

    // Several nodes on one PostgreSQL hear each other through NOTIFY (a no-op on SQLite).
    fn announce(&self, topic: String) {
        let store = self.store.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = store.announce(&topic).await {
                    tracing::warn!(error = %e, topic, "could not tell the other nodes");
                }
            });
        }
    }
}
