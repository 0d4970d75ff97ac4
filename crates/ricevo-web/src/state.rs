//! What every handler shares.

use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use ricevo_desk::{Desk, DeskSettings};
use ricevo_store::Store;

use crate::limits::{LoginThrottle, PasswordGate, RateLimiter};
use crate::metrics::Metrics;

/// Settings of the web edge.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The address citizens reach, used in links and e-mails (`http://127.0.0.1:8080`).
    pub public_url: String,
    /// This node's own address, when several nodes share one PostgreSQL behind one public
    /// address: a meeting's media live on the node that opened it, and participants who reach
    /// another node are sent there. `None`: the public URL.
    pub node_url: Option<String>,
    /// How long a node may go without a heartbeat before others take it for dead and move its
    /// meetings (see `ricevo_core::nodes`).
    pub node_dead_after: jiff::SignedDuration,
    /// The From address of e-mails; the tenant's contact address when unset.
    pub mail_from: Option<String>,
    /// How long before an appointment the reminder goes out.
    pub reminder_hours: i32,
    /// Where e-mails are written when no SMTP server is configured (listed for staff).
    pub outbox_dir: Option<PathBuf>,
    /// Whether cookies carry `Secure` (true when served over HTTPS).
    pub secure_cookies: bool,
    /// Requests per minute one client address may make to public endpoints.
    pub rate_limit_per_minute: u32,
    /// Bookings one client address may make per hour (page and API together).
    pub bookings_per_hour_per_address: u32,
    /// Walk-in tickets one client address may take per hour.
    pub tickets_per_hour_per_address: u32,
    /// Active appointments one citizen (by e-mail, phone or codice fiscale) may hold per service;
    /// 0: no limit.
    pub max_active_per_citizen: u16,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted reverse proxy).
    pub trust_forwarded_for: bool,
    /// The reverse proxies allowed to name the client in `X-Forwarded-For`; when empty and
    /// `trust_forwarded_for` is on, whoever connects is taken as the one proxy.
    pub trusted_proxies: Vec<crate::proxy::ProxyNet>,
    /// How many minutes before its start a video appointment's waiting room opens.
    pub join_open_minutes: i64,
    /// Largest document a meeting accepts, in bytes.
    pub max_document_bytes: usize,
    /// How long a meeting everyone left waits before it closes by itself.
    pub empty_meeting_grace: jiff::SignedDuration,
    /// Feedback links and survey campaigns.
    pub surveys: ricevo_desk::SurveySettings,
    /// Where an upload is spooled while it arrives (`ricevo serve` uses `<data_dir>/spool`; the
    /// default here is the system's temporary directory): a slow upload holds disk, not
    /// memory, and its file is gone when the request ends.
    pub spool_dir: PathBuf,
    /// TURN relay (coturn with the REST API shared secret), handed to browsers when set.
    pub turn: Option<TurnConfig>,
    /// Internal hosts webhooks may be registered for; every other internal address is refused.
    pub webhook_allow_hosts: ricevo_notify::AllowedHosts,
    /// The bearer token `/metrics` asks for; without one, `/metrics` is not served on the
    /// public address (only on the separate metrics address, if configured).
    pub metrics_token: Option<String>,
    /// Longest time a request may take to produce its response head (streams and WebSockets
    /// run after the head, so they are not cut).
    pub request_timeout: std::time::Duration,
    // ---- webpush ----
    /// The instance's VAPID public key (base64url) that waiting rooms hand to browsers; `None`:
    /// Web Push is not offered on this instance, whatever the towns chose.
    pub web_push_key: Option<String>,
    // ---- end webpush ----
    // ---- telegram ----
    /// The Bot API's address and the instance's own bot, if any.
    pub telegram: ricevo_notify::telegram::TelegramConfig,
    // ---- end telegram ----
    // ---- public ----
    /// Where council sessions' recordings are written and read, one folder per town and
    /// session (see `council::recording_dir`); `ricevo serve` uses `<data_dir>/council-recordings`.
    pub council_recordings_dir: PathBuf,
    // ---- end public ----
}

impl WebConfig {
    /// The address of this node (see [`WebConfig::node_url`]).
    pub fn node(&self) -> &str {
        self.node_url.as_deref().unwrap_or(&self.public_url)
    }

    /// What the front desk needs of these settings.
    pub fn desk_settings(&self) -> DeskSettings {
        DeskSettings {
            public_url: self.public_url.clone(),
            node_url: self.node_url.clone(),
            mail_from: self.mail_from.clone(),
            reminder_hours: self.reminder_hours,
            max_active_per_citizen: self.max_active_per_citizen,
            bookings_per_hour_per_source: self.bookings_per_hour_per_address,
            tickets_per_hour_per_source: self.tickets_per_hour_per_address,
            join_open_minutes: self.join_open_minutes,
            max_document_bytes: self.max_document_bytes,
            webhook_allow_hosts: self.webhook_allow_hosts.clone(),
            empty_meeting_grace: self.empty_meeting_grace,
            surveys: self.surveys,
        }
    }
}

/// A TURN relay using the TURN REST API's shared secret (coturn's `use-auth-secret`).
#[derive(Debug, Clone)]
pub struct TurnConfig {
    /// Its URLs, e.g. `turn:turn.example.it:3478?transport=udp`, `turns:turn.example.it:5349`.
    pub urls: Vec<String>,
    /// coturn's `static-auth-secret`.
    pub secret: String,
    /// How long handed-out credentials stay valid, in seconds.
    pub ttl_seconds: i64,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            public_url: "http://127.0.0.1:8080".into(),
            node_url: None,
            node_dead_after: jiff::SignedDuration::from_secs(10),
            mail_from: None,
            reminder_hours: 24,
            outbox_dir: None,
            secure_cookies: false,
            rate_limit_per_minute: 600,
            bookings_per_hour_per_address: 10,
            tickets_per_hour_per_address: 10,
            max_active_per_citizen: ricevo_core::quota::DEFAULT_MAX_ACTIVE,
            trust_forwarded_for: false,
            trusted_proxies: Vec::new(),
            join_open_minutes: 15,
            max_document_bytes: 20 * 1024 * 1024,
            empty_meeting_grace: ricevo_core::deserted::DEFAULT_GRACE,
            surveys: ricevo_desk::SurveySettings::default(),
            spool_dir: std::env::temp_dir(),
            turn: None,
            webhook_allow_hosts: ricevo_notify::AllowedHosts::default(),
            metrics_token: None,
            request_timeout: std::time::Duration::from_secs(30),
            // ---- webpush ----
            web_push_key: None,
            // ---- end webpush ----
            // ---- telegram ----
            telegram: ricevo_notify::telegram::TelegramConfig::default(),
            // ---- end telegram ----
            // ---- public ----
            council_recordings_dir: std::env::temp_dir().join("ricevo-council-recordings"),
            // ---- end public ----
        }
    }
}

/// The clock handlers read, replaceable in tests.
pub use ricevo_desk::Clock;

/// Shared state of the web edge.
#[derive(Clone)]
pub struct AppState {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Settings.
    pub config: Arc<WebConfig>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Per-client request budget.
    pub limiter: Arc<RateLimiter>,
    /// Failed logins per address, and per account from addresses it has not signed in from.
    pub login_throttle: Arc<LoginThrottle>,
    /// Bounds the password hashes running and waiting at once.
    pub password_gate: Arc<PasswordGate>,
    /// The front desk: every use case runs there.
    pub desk: Desk,
    /// Live connections of waiting rooms, dashboards and meetings on this node.
    pub hub: Arc<crate::room::hub::Hub>,
    /// The embedded SFU; without it meetings have no media (waiting rooms still work).
    pub media: Option<ricevo_media::MediaServer>,
    // ---- telegram ----
    /// The Telegram Bot API client the webhook answers through.
    pub telegram_api: Option<Arc<ricevo_notify::telegram::BotApi>>,
    // ---- end telegram ----
    // ---- citizen ----
    /// The instance's SPID/CIE relying parties; `None`: citizens are not offered to sign in.
    pub identity: Option<Arc<ricevo_identity::RelyingParties>>,
    // ---- end citizen ----
    // ---- council ----
    /// Council sessions live on this node: their media rooms and public streams.
    pub council: Arc<crate::council::live::Sessions>,
    // ---- end council ----
    clock: Clock,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("store", &self.store).field("config", &self.config).finish_non_exhaustive()
    }
}

impl AppState {
    /// State with the real clock.
    pub fn new(store: Arc<dyn Store>, config: WebConfig) -> AppState {
        AppState::with_clock(store, config, Arc::new(Timestamp::now))
    }

    /// State with a given clock (tests travel in time with it).
    pub fn with_clock(store: Arc<dyn Store>, config: WebConfig, clock: Clock) -> AppState {
        let per_minute = config.rate_limit_per_minute.max(1);
        let hub: Arc<crate::room::hub::Hub> = Arc::default();
        let desk = Desk::with_clock(store.clone(), config.desk_settings(), clock.clone())
            .with_live(Arc::new(crate::room::hub::LiveNode::new(hub.clone(), None)));
        AppState {
            store,
            metrics: Arc::new(Metrics::default()),
            limiter: Arc::new(RateLimiter::new(per_minute, 60)),
            // Ten failed logins per quarter of an hour per address, and per account from
            // addresses that have not signed in to it.
            login_throttle: Arc::new(LoginThrottle::new(10, 15 * 60)),
            password_gate: Arc::new(PasswordGate::for_this_machine()),
            desk,
            hub,
            media: None,
            // ---- telegram ----
            telegram_api: match ricevo_notify::telegram::BotApi::new(&config.telegram.api_url) {
                Ok(api) => Some(Arc::new(api)),
                Err(e) => {
                    tracing::error!(error = %e, "the Telegram Bot API client could not be made");
                    None
                }
            },
            // ---- end telegram ----
            // ---- citizen ----
            identity: None,
            // ---- end citizen ----
            // ---- council ----
            council: Arc::default(),
            // ---- end council ----
            config: Arc::new(config),
            clock,
        }
    }

    /// The same state with the embedded SFU attached.
    pub fn with_media(mut self, media: ricevo_media::MediaServer) -> AppState {
        self.desk =
            self.desk.with_live(Arc::new(crate::room::hub::LiveNode::new(self.hub.clone(), Some(media.clone()))));
        self.media = Some(media);
        self
    }

    // ---- citizen ----
    /// The same state offering SPID/CIE sign-in through these relying parties.
    pub fn with_identity(mut self, identity: Arc<ricevo_identity::RelyingParties>) -> AppState {
        self.identity = Some(identity);
        self
    }
    // ---- end citizen ----

    /// Now.
    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }
}
