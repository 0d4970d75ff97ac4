//! Configuration: a TOML file (`--config`) overridden by `RICEVO_*` environment variables,
//! with defaults that run a demo on a fresh machine.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for our settings.
    #[error("invalid configuration file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<toml::de::Error>,
    },
    /// A value is wrong.
    #[error("invalid setting {name}: {reason}")]
    Invalid {
        /// The setting, as in the file or the environment.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

/// How to talk to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SmtpSecurity {
    /// Plain connection (only for a relay on the same machine).
    None,
    /// Upgrade with STARTTLS (port 587).
    Starttls,
    /// TLS from the start (port 465).
    Tls,
}

/// Settings of the SMTP server; without it e-mails go to `<data_dir>/outbox/`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct SmtpConfig {
    /// Host name.
    pub(crate) host: String,
    /// Port (587 for STARTTLS, 465 for TLS).
    #[serde(default = "default_smtp_port")]
    pub(crate) port: u16,
    /// Connection security.
    #[serde(default = "default_smtp_security")]
    pub(crate) security: SmtpSecurity,
    /// User name.
    pub(crate) username: Option<String>,
    /// Password.
    pub(crate) password: Option<String>,
}

fn default_smtp_port() -> u16 {
    587
}

fn default_smtp_security() -> SmtpSecurity {
    SmtpSecurity::Starttls
}

/// Everything `ricevo` can be told.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    /// Address and port to listen on.
    pub(crate) listen: String,
    /// Where the SQLite database and the e-mail outbox live.
    pub(crate) data_dir: PathBuf,
    /// The address citizens use, for links in e-mails (default: from `listen`).
    pub(crate) public_url: Option<String>,
    /// This node's own address when several nodes share one PostgreSQL (default: public_url).
    pub(crate) node_url: Option<String>,
    /// Seconds without a heartbeat after which other nodes take a node for dead and move its
    /// meetings (several nodes on one PostgreSQL).
    pub(crate) node_dead_after_seconds: i64,
    /// Days each town's audit log entries are kept (their citizen names go with the town's
    /// own retention).
    pub(crate) audit_retention_days: i64,
    /// Database settings.
    pub(crate) database: DatabaseConfig,
    /// E-mail settings.
    pub(crate) mail: MailConfig,
    /// SMTP server; none means the outbox folder.
    pub(crate) smtp: Option<SmtpConfig>,
    /// HTTP settings.
    pub(crate) http: HttpConfig,
    /// Limits against booking and ticket spam.
    pub(crate) limits: LimitsConfig,
    /// The virtual office: media server, join window, documents.
    pub(crate) media: MediaSettings,
    /// TURN relay for networks that block direct media; none by default.
    pub(crate) turn: Option<TurnSettings>,
    /// Webhooks.
    pub(crate) webhooks: WebhookSettings,
    /// Who may read `/metrics`.
    pub(crate) metrics: MetricsConfig,
    /// Feedback links and survey campaigns.
    pub(crate) surveys: SurveyConfig,
    // ---- waitlist ----
    /// The waitlist's offers.
    pub(crate) waitlist: WaitlistConfig,
    // ---- end waitlist ----
    // ---- telegram ----
    /// The instance's Telegram bot and the Bot API's address.
    pub(crate) telegram: TelegramSettings,
    // ---- end telegram ----
    // ---- ident ----
    /// SPID/CIE sign-in for citizens (`[identity]`).
    pub(crate) identity: crate::identity::IdentityConfig,
    // ---- end ident ----
    // ---- public ----
    /// Council sessions (`[council]`).
    pub(crate) council: CouncilConfig,
    // ---- end public ----
}

// ---- public ----
/// Council sessions (`[council]`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct CouncilConfig {
    /// Where sessions' recordings are written (one folder per town and session); default
    /// `<data_dir>/council-recordings`. Several nodes: a folder they share.
    pub(crate) recordings_dir: Option<PathBuf>,
}
// ---- end public ----

// ---- waitlist ----
/// The waitlist's offers (`[waitlist]`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct WaitlistConfig {
    /// Minutes an offered time is held for the citizen before it passes to the next (1-60).
    pub(crate) hold_minutes: u16,
}

impl Default for WaitlistConfig {
    fn default() -> Self {
        WaitlistConfig { hold_minutes: ricevo_core::waitlist::DEFAULT_HOLD_MINUTES }
    }
}
// ---- end waitlist ----

/// Feedback links and survey campaigns.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SurveyConfig {
    /// Days a feedback link in a follow-up message stays valid.
    pub(crate) feedback_link_days: i64,
    /// Campaign e-mails one town hands to the outbox per minute.
    pub(crate) campaign_messages_per_minute: u32,
}

impl Default for SurveyConfig {
    fn default() -> Self {
        let d = ricevo_desk::SurveySettings::default();
        SurveyConfig {
            feedback_link_days: d.feedback_link_days,
            campaign_messages_per_minute: d.campaign_messages_per_minute,
        }
    }
}

/// Webhook settings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct WebhookSettings {
    /// Internal hosts (names or IP addresses) webhooks may reach; every other loopback,
    /// private or link-local address is refused. Empty by default.
    pub(crate) allow_hosts: Vec<String>,
}

/// Who may read `/metrics`: by default nobody on the public address. A bearer token opens it
/// there (Prometheus' `authorization` setting); a separate listen address (an internal
/// interface) serves it alone, with the token too when one is set.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct MetricsConfig {
    /// A separate address serving only `/metrics` (e.g. `127.0.0.1:9464`).
    pub(crate) listen: Option<String>,
    /// The bearer token `/metrics` asks for (at least 16 characters).
    pub(crate) token: Option<String>,
}

/// Settings of the virtual office.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct MediaSettings {
    /// The one UDP address and port all meetings' media use.
    pub(crate) udp_listen: String,
    /// Addresses announced to browsers (the server's public address behind NAT).
    pub(crate) public_ips: Vec<String>,
    /// A TCP address for media (RFC 4571 framing) for networks that block UDP; none by default.
    pub(crate) tcp_listen: Option<String>,
    /// Minutes before a video appointment's start its waiting room opens.
    pub(crate) join_open_minutes: i64,
    /// Largest document shared in a meeting, in megabytes.
    pub(crate) max_document_mb: usize,
    /// Days documents shared in meetings are kept.
    pub(crate) document_retention_days: i64,
    /// Seconds a meeting everyone left waits for someone to come back before it closes by itself.
    pub(crate) empty_meeting_grace_seconds: i64,
}

impl Default for MediaSettings {
    fn default() -> Self {
        MediaSettings {
            udp_listen: "127.0.0.1:3479".into(),
            public_ips: Vec::new(),
            tcp_listen: None,
            join_open_minutes: 15,
            max_document_mb: 20,
            document_retention_days: 30,
            empty_meeting_grace_seconds: 120,
        }
    }
}

/// A coturn relay with the TURN REST API shared secret (`use-auth-secret`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct TurnSettings {
    /// `turn:` / `turns:` URLs handed to browsers.
    pub(crate) urls: Vec<String>,
    /// coturn's `static-auth-secret`.
    pub(crate) secret: String,
    /// Lifetime of handed-out credentials, in seconds.
    #[serde(default = "default_turn_ttl")]
    pub(crate) ttl_seconds: i64,
}

fn default_turn_ttl() -> i64 {
    12 * 3600
}

/// Database settings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct DatabaseConfig {
    /// `sqlite://path` or `postgres://user@host/db`; default SQLite in the data dir.
    pub(crate) url: Option<String>,
}

/// E-mail settings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct MailConfig {
    /// From address (default: the town's contact address).
    pub(crate) from: Option<String>,
    /// Hours before an appointment the reminder goes out.
    pub(crate) reminder_hours: i32,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig { from: None, reminder_hours: 24 }
    }
}

/// HTTP settings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct HttpConfig {
    /// Mark cookies `Secure` (set when citizens reach us over HTTPS).
    pub(crate) secure_cookies: Option<bool>,
    /// Requests per minute per client address on public endpoints.
    pub(crate) rate_limit_per_minute: u32,
    /// Trust `X-Forwarded-For` (only behind your own reverse proxy).
    pub(crate) trust_forwarded_for: bool,
    /// The reverse proxies (addresses or CIDR networks) allowed to name the client in
    /// `X-Forwarded-For`; a list implies `trust_forwarded_for`.
    pub(crate) trusted_proxies: Vec<String>,
    /// Seconds a client has to send a request's headers (also the idle keep-alive bound).
    pub(crate) header_read_timeout_seconds: u64,
    /// Seconds a request may take to produce its response (streams and WebSockets excepted).
    pub(crate) request_timeout_seconds: u64,
    /// Open connections one client address may hold (0: no limit). Behind a reverse proxy all
    /// connections come from the proxy: set 0 there and let the proxy limit its clients.
    pub(crate) max_connections_per_address: usize,
    /// Seconds a shutdown waits for connections before the process exits anyway.
    pub(crate) shutdown_grace_seconds: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            secure_cookies: None,
            rate_limit_per_minute: 600,
            trust_forwarded_for: false,
            trusted_proxies: Vec::new(),
            header_read_timeout_seconds: 15,
            request_timeout_seconds: 30,
            max_connections_per_address: 128,
            shutdown_grace_seconds: 10,
        }
    }
}

/// Limits against booking and ticket spam (no CAPTCHA: budgets per address and per citizen).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct LimitsConfig {
    /// Bookings one client address may make per hour (pages and API together).
    pub(crate) bookings_per_hour_per_address: u32,
    /// Walk-in tickets one client address may take per hour.
    pub(crate) tickets_per_hour_per_address: u32,
    /// Active appointments one citizen (by e-mail, phone or codice fiscale) may hold per service;
    /// 0 turns the limit off.
    pub(crate) max_active_appointments_per_citizen: u16,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            bookings_per_hour_per_address: 10,
            tickets_per_hour_per_address: 10,
            max_active_appointments_per_citizen: 2,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            public_url: None,
            node_url: None,
            node_dead_after_seconds: 10,
            audit_retention_days: 730,
            database: DatabaseConfig::default(),
            mail: MailConfig::default(),
            smtp: None,
            http: HttpConfig::default(),
            limits: LimitsConfig::default(),
            media: MediaSettings::default(),
            turn: None,
            webhooks: WebhookSettings::default(),
            metrics: MetricsConfig::default(),
            surveys: SurveyConfig::default(),
            // ---- waitlist ----
            waitlist: WaitlistConfig::default(),
            // ---- end waitlist ----
            // ---- telegram ----
            telegram: TelegramSettings::default(),
            // ---- end telegram ----
            // ---- ident ----
            identity: crate::identity::IdentityConfig::default(),
            // ---- end ident ----
            // ---- public ----
            council: CouncilConfig::default(),
            // ---- end public ----
        }
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { name, reason: reason.into() }
}

fn flag(name: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(invalid(name, format!("expected true or false, got {other:?}"))),
    }
}

fn number<T: std::str::FromStr>(name: &'static str, v: &str) -> Result<T, ConfigError> {
    v.trim().parse().map_err(|_| invalid(name, format!("expected a number, got {v:?}")))
}

impl Config {
    /// Reads the file (if any), applies the environment, and checks the result.
    pub(crate) fn load(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut c = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
                toml::from_str(&text)
                    .map_err(|source| ConfigError::Parse { path: path.to_owned(), source: Box::new(source) })?
            }
            None => Config::default(),
        };
        if let Some(v) = env("RICEVO_LISTEN") {
            c.listen = v;
        }
        if let Some(v) = env("RICEVO_DATA_DIR") {
            c.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("RICEVO_DATABASE_URL") {
            c.database.url = Some(v);
        }
        if let Some(v) = env("RICEVO_PUBLIC_URL") {
            c.public_url = Some(v);
        }
        if let Some(v) = env("RICEVO_NODE_URL") {
            c.node_url = Some(v);
        }
        if let Some(v) = env("RICEVO_NODE_DEAD_AFTER_SECONDS") {
            c.node_dead_after_seconds = number("RICEVO_NODE_DEAD_AFTER_SECONDS", &v)?;
        }
        if let Some(v) = env("RICEVO_AUDIT_RETENTION_DAYS") {
            c.audit_retention_days = number("RICEVO_AUDIT_RETENTION_DAYS", &v)?;
        }
        if let Some(v) = env("RICEVO_MAIL_FROM") {
            c.mail.from = Some(v);
        }
        if let Some(v) = env("RICEVO_REMINDER_HOURS") {
            c.mail.reminder_hours = number("RICEVO_REMINDER_HOURS", &v)?;
        }
        if let Some(v) = env("RICEVO_SECURE_COOKIES") {
            c.http.secure_cookies = Some(flag("RICEVO_SECURE_COOKIES", &v)?);
        }
        if let Some(v) = env("RICEVO_RATE_LIMIT_PER_MINUTE") {
            c.http.rate_limit_per_minute = number("RICEVO_RATE_LIMIT_PER_MINUTE", &v)?;
        }
        if let Some(v) = env("RICEVO_TRUST_FORWARDED_FOR") {
            c.http.trust_forwarded_for = flag("RICEVO_TRUST_FORWARDED_FOR", &v)?;
        }
        if let Some(v) = env("RICEVO_TRUSTED_PROXIES") {
            c.http.trusted_proxies = v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        }
        if let Some(v) = env("RICEVO_HEADER_READ_TIMEOUT_SECONDS") {
            c.http.header_read_timeout_seconds = number("RICEVO_HEADER_READ_TIMEOUT_SECONDS", &v)?;
        }
        if let Some(v) = env("RICEVO_REQUEST_TIMEOUT_SECONDS") {
            c.http.request_timeout_seconds = number("RICEVO_REQUEST_TIMEOUT_SECONDS", &v)?;
        }
        if let Some(v) = env("RICEVO_MAX_CONNECTIONS_PER_ADDRESS") {
            c.http.max_connections_per_address = number("RICEVO_MAX_CONNECTIONS_PER_ADDRESS", &v)?;
        }
        if let Some(v) = env("RICEVO_SHUTDOWN_GRACE_SECONDS") {
            c.http.shutdown_grace_seconds = number("RICEVO_SHUTDOWN_GRACE_SECONDS", &v)?;
        }
        if let Some(v) = env("RICEVO_METRICS_LISTEN") {
            c.metrics.listen = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = env("RICEVO_METRICS_TOKEN") {
            c.metrics.token = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = env("RICEVO_BOOKINGS_PER_HOUR_PER_ADDRESS") {
            c.limits.bookings_per_hour_per_address = number("RICEVO_BOOKINGS_PER_HOUR_PER_ADDRESS", &v)?;
        }
        if let Some(v) = env("RICEVO_TICKETS_PER_HOUR_PER_ADDRESS") {
            c.limits.tickets_per_hour_per_address = number("RICEVO_TICKETS_PER_HOUR_PER_ADDRESS", &v)?;
        }
        if let Some(v) = env("RICEVO_MAX_ACTIVE_APPOINTMENTS_PER_CITIZEN") {
            c.limits.max_active_appointments_per_citizen = number("RICEVO_MAX_ACTIVE_APPOINTMENTS_PER_CITIZEN", &v)?;
        }
        if let Some(v) = env("RICEVO_MEDIA_UDP") {
            c.media.udp_listen = v;
        }
        if let Some(v) = env("RICEVO_MEDIA_PUBLIC_IPS") {
            c.media.public_ips = v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        }
        if let Some(v) = env("RICEVO_MEDIA_TCP") {
            c.media.tcp_listen = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = env("RICEVO_JOIN_OPEN_MINUTES") {
            c.media.join_open_minutes = number("RICEVO_JOIN_OPEN_MINUTES", &v)?;
        }
        if let Some(v) = env("RICEVO_EMPTY_MEETING_GRACE_SECONDS") {
            c.media.empty_meeting_grace_seconds = number("RICEVO_EMPTY_MEETING_GRACE_SECONDS", &v)?;
        }
        if let Some(v) = env("RICEVO_FEEDBACK_LINK_DAYS") {
            c.surveys.feedback_link_days = number("RICEVO_FEEDBACK_LINK_DAYS", &v)?;
        }
        if let Some(v) = env("RICEVO_CAMPAIGN_MESSAGES_PER_MINUTE") {
            c.surveys.campaign_messages_per_minute = number("RICEVO_CAMPAIGN_MESSAGES_PER_MINUTE", &v)?;
        }
        // ---- waitlist ----
        if let Some(v) = env("RICEVO_WAITLIST_HOLD_MINUTES") {
            c.waitlist.hold_minutes = number("RICEVO_WAITLIST_HOLD_MINUTES", &v)?;
        }
        // ---- end waitlist ----
        if let Some(v) = env("RICEVO_MAX_DOCUMENT_MB") {
            c.media.max_document_mb = number("RICEVO_MAX_DOCUMENT_MB", &v)?;
        }
        if let (Some(urls), Some(secret)) = (env("RICEVO_TURN_URLS"), env("RICEVO_TURN_SECRET")) {
            let urls = urls.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
            c.turn = Some(TurnSettings { urls, secret, ttl_seconds: default_turn_ttl() });
        }
        if let Some(v) = env("RICEVO_WEBHOOK_ALLOW_HOSTS") {
            c.webhooks.allow_hosts = v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        }
        if let Some(host) = env("RICEVO_SMTP_HOST") {
            let mut smtp = c.smtp.take().unwrap_or(SmtpConfig {
                host: String::new(),
                port: default_smtp_port(),
                security: default_smtp_security(),
                username: None,
                password: None,
            });
            smtp.host = host;
            c.smtp = Some(smtp);
        }
        if let Some(smtp) = c.smtp.as_mut() {
            if let Some(v) = env("RICEVO_SMTP_PORT") {
                smtp.port = number("RICEVO_SMTP_PORT", &v)?;
            }
            if let Some(v) = env("RICEVO_SMTP_SECURITY") {
                smtp.security = match v.trim().to_ascii_lowercase().as_str() {
                    "none" => SmtpSecurity::None,
                    "starttls" => SmtpSecurity::Starttls,
                    "tls" => SmtpSecurity::Tls,
                    other => {
                        return Err(invalid(
                            "RICEVO_SMTP_SECURITY",
                            format!("use none, starttls or tls, not {other:?}"),
                        ));
                    }
                };
            }
            if let Some(v) = env("RICEVO_SMTP_USERNAME") {
                smtp.username = Some(v);
            }
            if let Some(v) = env("RICEVO_SMTP_PASSWORD") {
                smtp.password = Some(v);
            }
        }
        // ---- telegram ----
        c.telegram.apply_env(&env);
        // ---- end telegram ----
        // ---- ident ----
        c.identity.apply_env(&env)?;
        // ---- end ident ----
        // ---- public ----
        if let Some(v) = env("RICEVO_COUNCIL_RECORDINGS_DIR") {
            c.council.recordings_dir = Some(PathBuf::from(v));
        }
        // ---- end public ----
        c.check()?;
        Ok(c)
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        // ---- telegram ----
        self.telegram.check()?;
        // ---- end telegram ----
        let url = self.database_url();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres:") || url.starts_with("postgresql:")) {
            return Err(invalid("database.url", "use sqlite://... or postgres://..."));
        }
        if !(0..=336).contains(&self.mail.reminder_hours) {
            return Err(invalid("mail.reminder_hours", "between 0 and 336 hours"));
        }
        if let Some(smtp) = &self.smtp
            && smtp.host.trim().is_empty()
        {
            return Err(invalid("smtp.host", "must not be empty"));
        }
        self.trusted_proxies()?;
        for (name, seconds) in [
            ("http.header_read_timeout_seconds", self.http.header_read_timeout_seconds),
            ("http.request_timeout_seconds", self.http.request_timeout_seconds),
            ("http.shutdown_grace_seconds", self.http.shutdown_grace_seconds),
        ] {
            if !(1..=3600).contains(&seconds) {
                return Err(invalid(name, "between 1 and 3600 seconds"));
            }
        }
        self.metrics_addr()?;
        if let Some(token) = &self.metrics.token
            && (token.trim().len() < 16 || token.trim() != token || token.contains(char::is_whitespace))
        {
            return Err(invalid("metrics.token", "at least 16 characters, no spaces"));
        }
        self.media_udp()?;
        self.media_public_ips()?;
        self.media_tcp()?;
        if !(0..=240).contains(&self.media.join_open_minutes) {
            return Err(invalid("media.join_open_minutes", "between 0 and 240 minutes"));
        }
        if !(1..=86_400).contains(&self.media.empty_meeting_grace_seconds) {
            return Err(invalid("media.empty_meeting_grace_seconds", "between 1 and 86400 seconds"));
        }
        if !(1..=365).contains(&self.surveys.feedback_link_days) {
            return Err(invalid("surveys.feedback_link_days", "between 1 and 365 days"));
        }
        if !(1..=100_000).contains(&self.surveys.campaign_messages_per_minute) {
            return Err(invalid("surveys.campaign_messages_per_minute", "between 1 and 100000"));
        }
        // ---- waitlist ----
        if ricevo_core::waitlist::HoldLength::minutes(self.waitlist.hold_minutes).is_err() {
            return Err(invalid("waitlist.hold_minutes", "between 1 and 60 minutes"));
        }
        // ---- end waitlist ----
        if !(1..=500).contains(&self.media.max_document_mb) {
            return Err(invalid("media.max_document_mb", "between 1 and 500 megabytes"));
        }
        if let Some(turn) = &self.turn {
            if turn.urls.is_empty() || !turn.urls.iter().all(|u| u.starts_with("turn:") || u.starts_with("turns:")) {
                return Err(invalid("turn.urls", "one or more turn:... or turns:... URLs"));
            }
            if turn.secret.trim().is_empty() {
                return Err(invalid("turn.secret", "must not be empty"));
            }
        }
        if !(30..=3650).contains(&self.audit_retention_days) {
            return Err(invalid("audit_retention_days", "between 30 and 3650 days"));
        }
        if !(2..=3600).contains(&self.node_dead_after_seconds) {
            return Err(invalid("node_dead_after_seconds", "between 2 and 3600 seconds"));
        }
        if let Some(node) = &self.node_url
            && !(node.starts_with("http://") || node.starts_with("https://"))
        {
            return Err(invalid("node_url", "must start with http:// or https://"));
        }
        let public = self.public_url();
        if !(public.starts_with("http://") || public.starts_with("https://")) {
            return Err(invalid("public_url", "must start with http:// or https://"));
        }
        self.webhook_allow_hosts()?;
        // ---- ident ----
        self.identity.check()?;
        // ---- end ident ----
        Ok(())
    }

    /// The internal hosts webhooks may reach.
    pub(crate) fn webhook_allow_hosts(&self) -> Result<ricevo_notify::AllowedHosts, ConfigError> {
        ricevo_notify::AllowedHosts::parse(&self.webhooks.allow_hosts).map_err(|e| invalid("webhooks.allow_hosts", e))
    }

    /// The socket address to bind.
    pub(crate) fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen
            .parse()
            .map_err(|_| invalid("listen", format!("{:?} is not an address like 127.0.0.1:8080", self.listen)))
    }

    /// The separate address serving `/metrics`, if any.
    pub(crate) fn metrics_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let Some(listen) = &self.metrics.listen else { return Ok(None) };
        listen
            .parse()
            .map(Some)
            .map_err(|_| invalid("metrics.listen", format!("{listen:?} is not an address like 127.0.0.1:9464")))
    }

    /// The media server's UDP address.
    pub(crate) fn media_udp(&self) -> Result<SocketAddr, ConfigError> {
        self.media.udp_listen.parse().map_err(|_| {
            invalid("media.udp_listen", format!("{:?} is not an address like 0.0.0.0:3479", self.media.udp_listen))
        })
    }

    /// The media server's TCP address, when media over TCP is on.
    pub(crate) fn media_tcp(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let Some(tcp) = &self.media.tcp_listen else { return Ok(None) };
        tcp.parse()
            .map(Some)
            .map_err(|_| invalid("media.tcp_listen", format!("{tcp:?} is not an address like 0.0.0.0:3479")))
    }

    /// The reverse proxies allowed to name the client.
    pub(crate) fn trusted_proxies(&self) -> Result<Vec<ricevo_web::proxy::ProxyNet>, ConfigError> {
        ricevo_web::proxy::parse_proxies(self.http.trusted_proxies.iter().map(String::as_str)).map_err(|bad| {
            invalid("http.trusted_proxies", format!("{bad:?} is not an IP address or a network like 10.0.0.0/8"))
        })
    }

    /// The addresses announced to browsers.
    pub(crate) fn media_public_ips(&self) -> Result<Vec<std::net::IpAddr>, ConfigError> {
        self.media
            .public_ips
            .iter()
            .map(|ip| ip.parse().map_err(|_| invalid("media.public_ips", format!("{ip:?} is not an IP address"))))
            .collect()
    }

    /// The database URL, defaulting to SQLite in the data dir.
    pub(crate) fn database_url(&self) -> String {
        self.database.url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("ricevo.db").display()))
    }

    /// The public address for links, without a trailing `/` (links append `/a/...`, so
    /// `https://comune.example/` must not give `https://comune.example//a/...`).
    pub(crate) fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let host = self.listen.replace("0.0.0.0", "127.0.0.1").replace("[::]", "[::1]");
                format!("http://{host}")
            }
        }
    }

    /// Where e-mails are written without SMTP.
    pub(crate) fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    // ---- public ----
    /// Where council sessions' recordings are written and read.
    pub(crate) fn council_recordings_dir(&self) -> PathBuf {
        match &self.council.recordings_dir {
            Some(dir) if !dir.as_os_str().is_empty() => dir.clone(),
            _ => self.data_dir.join("council-recordings"),
        }
    }
    // ---- end public ----

    /// Where uploads are written while they arrive: on disk under the data dir (a system temp
    /// dir may be a RAM-backed tmpfs, which would hold uploads in memory after all).
    pub(crate) fn spool_dir(&self) -> PathBuf {
        self.data_dir.join("spool")
    }

    /// Whether cookies are marked Secure: explicit, or inferred from an https public URL.
    pub(crate) fn secure_cookies(&self) -> bool {
        self.http.secure_cookies.unwrap_or_else(|| self.public_url().starts_with("https://"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn with_nothing_configured_the_demo_runs_on_sqlite_in_data() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.listen_addr().unwrap().to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url(), "sqlite://./data/ricevo.db");
        assert_eq!(c.public_url(), "http://127.0.0.1:8080");
        assert!(c.smtp.is_none());
        assert!(!c.secure_cookies());
    }

    #[test]
    fn the_public_url_loses_its_trailing_slash() {
        let c = Config::load(None, env(&[("RICEVO_PUBLIC_URL", "https://comune.example/ricevo/")])).unwrap();
        assert_eq!(c.public_url(), "https://comune.example/ricevo");
    }

    #[test]
    fn environment_variables_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ricevo.toml");
        std::fs::write(
            &path,
            "listen = \"0.0.0.0:9000\"\n[database]\nurl = \"sqlite://x.db\"\n[smtp]\nhost = \"mail.comune.it\"\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&path),
            env(&[
                ("RICEVO_LISTEN", "127.0.0.1:9999"),
                ("RICEVO_DATA_DIR", "/var/lib/ricevo"),
                ("RICEVO_DATABASE_URL", "postgres://ricevo@db/ricevo"),
                ("RICEVO_SMTP_SECURITY", "tls"),
                ("RICEVO_PUBLIC_URL", "https://ricevo.comune.it"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:9999");
        assert_eq!(c.database_url(), "postgres://ricevo@db/ricevo");
        assert_eq!(c.outbox_dir(), PathBuf::from("/var/lib/ricevo/outbox"));
        assert_eq!(c.spool_dir(), PathBuf::from("/var/lib/ricevo/spool"));
        let smtp = c.smtp.clone().unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port, smtp.security), ("mail.comune.it", 587, SmtpSecurity::Tls));
        assert!(c.secure_cookies(), "an https public URL implies Secure cookies");
    }

    // ---- public ----
    #[test]
    fn council_recordings_go_under_the_data_dir_unless_the_file_or_environment_says_otherwise() {
        let c = Config::load(None, env(&[("RICEVO_DATA_DIR", "/var/lib/ricevo")])).unwrap();
        assert_eq!(c.council_recordings_dir(), PathBuf::from("/var/lib/ricevo/council-recordings"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ricevo.toml");
        std::fs::write(&path, "[council]\nrecordings_dir = \"/srv/sedute\"\n").unwrap();
        let c = Config::load(Some(&path), env(&[])).unwrap();
        assert_eq!(c.council_recordings_dir(), PathBuf::from("/srv/sedute"));
        let c = Config::load(Some(&path), env(&[("RICEVO_COUNCIL_RECORDINGS_DIR", "/mnt/nfs/sedute")])).unwrap();
        assert_eq!(c.council_recordings_dir(), PathBuf::from("/mnt/nfs/sedute"));
    }
    // ---- end public ----

    #[test]
    fn survey_settings_have_defaults_come_from_the_environment_and_refuse_nonsense() {
        let d = Config::default();
        assert_eq!((d.surveys.feedback_link_days, d.surveys.campaign_messages_per_minute), (30, 600));
        let c = Config::load(
            None,
            env(&[("RICEVO_FEEDBACK_LINK_DAYS", "7"), ("RICEVO_CAMPAIGN_MESSAGES_PER_MINUTE", "120")]),
        )
        .unwrap();
        assert_eq!((c.surveys.feedback_link_days, c.surveys.campaign_messages_per_minute), (7, 120));
        for (name, value, setting) in [
            ("RICEVO_FEEDBACK_LINK_DAYS", "0", "surveys.feedback_link_days"),
            ("RICEVO_CAMPAIGN_MESSAGES_PER_MINUTE", "0", "surveys.campaign_messages_per_minute"),
        ] {
            let e = Config::load(None, env(&[(name, value)])).unwrap_err().to_string();
            assert!(e.contains(setting), "{name}={value}: {e}");
        }
    }

    #[test]
    fn media_and_turn_come_from_the_environment_and_bad_values_are_named() {
        let c = Config::load(
            None,
            env(&[
                ("RICEVO_MEDIA_UDP", "0.0.0.0:4000"),
                ("RICEVO_MEDIA_PUBLIC_IPS", "203.0.113.10, 2001:db8::1"),
                ("RICEVO_MEDIA_TCP", "0.0.0.0:3479"),
                ("RICEVO_JOIN_OPEN_MINUTES", "10"),
                ("RICEVO_TURN_URLS", "turn:turn.example.it:3478?transport=udp,turns:turn.example.it:5349"),
                ("RICEVO_TURN_SECRET", "s3cret"),
            ]),
        )
        .unwrap();
        assert_eq!(c.media_udp().unwrap().to_string(), "0.0.0.0:4000");
        assert_eq!(c.media_public_ips().unwrap().len(), 2);
        assert_eq!(c.media_tcp().unwrap().map(|a| a.to_string()).as_deref(), Some("0.0.0.0:3479"));
        assert_eq!(c.media.join_open_minutes, 10);
        let c3 = Config::load(None, env(&[("RICEVO_NODE_DEAD_AFTER_SECONDS", "30")])).unwrap();
        assert_eq!(c3.node_dead_after_seconds, 30);
        assert_eq!(Config::default().node_dead_after_seconds, 10);
        assert_eq!(Config::default().media.empty_meeting_grace_seconds, 120, "two minutes unless configured");
        let c4 = Config::load(None, env(&[("RICEVO_EMPTY_MEETING_GRACE_SECONDS", "5")])).unwrap();
        assert_eq!(c4.media.empty_meeting_grace_seconds, 5);
        let turn = c.turn.unwrap();
        assert_eq!(turn.urls.len(), 2);
        assert_eq!(turn.secret, "s3cret");
        for (name, value, setting) in [
            ("RICEVO_MEDIA_UDP", "nowhere", "media.udp_listen"),
            ("RICEVO_MEDIA_PUBLIC_IPS", "not-an-ip", "media.public_ips"),
            ("RICEVO_MEDIA_TCP", "nowhere", "media.tcp_listen"),
            ("RICEVO_MAX_DOCUMENT_MB", "0", "media.max_document_mb"),
            ("RICEVO_JOIN_OPEN_MINUTES", "-5", "media.join_open_minutes"),
            ("RICEVO_NODE_DEAD_AFTER_SECONDS", "1", "node_dead_after_seconds"),
            ("RICEVO_EMPTY_MEETING_GRACE_SECONDS", "0", "media.empty_meeting_grace_seconds"),
        ] {
            let e = Config::load(None, env(&[(name, value)])).unwrap_err().to_string();
            assert!(e.contains(setting), "{name}={value}: {e}");
        }
        let e = Config::load(None, env(&[("RICEVO_TURN_URLS", "http://x"), ("RICEVO_TURN_SECRET", "s")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("turn.urls"), "{e}");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks_and_a_bad_one_is_named() {
        let c = Config::load(None, env(&[("RICEVO_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.5")])).unwrap();
        assert_eq!(c.trusted_proxies().unwrap().len(), 2);
        let e = Config::load(None, env(&[("RICEVO_TRUSTED_PROXIES", "10.0.0.1,proxy.lan")])).unwrap_err().to_string();
        assert!(e.contains("http.trusted_proxies") && e.contains("proxy.lan"), "{e}");
    }

    #[test]
    fn bad_values_are_named_in_the_error() {
        let e = Config::load(None, env(&[("RICEVO_LISTEN", "nowhere")])).unwrap_err().to_string();
        assert!(e.contains("listen"), "{e}");
        let e = Config::load(None, env(&[("RICEVO_DATABASE_URL", "mysql://x")])).unwrap_err().to_string();
        assert!(e.contains("database.url"), "{e}");
        let e = Config::load(None, env(&[("RICEVO_SECURE_COOKIES", "maybe")])).unwrap_err().to_string();
        assert!(e.contains("RICEVO_SECURE_COOKIES"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "lisen = \"typo\"\n").unwrap();
        let e = Config::load(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(e.contains("bad.toml") && e.contains("lisen"), "{e}");
    }

    #[test]
    fn connection_limits_and_metrics_access_come_from_the_environment_and_bad_values_are_named() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!((c.metrics.listen.as_deref(), c.metrics.token.as_deref()), (None, None), "not public by default");
        assert_eq!(c.http.max_connections_per_address, 128);
        let c = Config::load(
            None,
            env(&[
                ("RICEVO_HEADER_READ_TIMEOUT_SECONDS", "5"),
                ("RICEVO_REQUEST_TIMEOUT_SECONDS", "20"),
                ("RICEVO_MAX_CONNECTIONS_PER_ADDRESS", "0"),
                ("RICEVO_SHUTDOWN_GRACE_SECONDS", "3"),
                ("RICEVO_METRICS_LISTEN", "127.0.0.1:9464"),
                ("RICEVO_METRICS_TOKEN", "a-long-random-metrics-token"),
            ]),
        )
        .unwrap();
        assert_eq!(c.http.header_read_timeout_seconds, 5);
        assert_eq!(c.http.request_timeout_seconds, 20);
        assert_eq!(c.http.max_connections_per_address, 0);
        assert_eq!(c.http.shutdown_grace_seconds, 3);
        assert_eq!(c.metrics_addr().unwrap().map(|a| a.to_string()).as_deref(), Some("127.0.0.1:9464"));
        assert_eq!(c.metrics.token.as_deref(), Some("a-long-random-metrics-token"));
        for (name, value, setting) in [
            ("RICEVO_HEADER_READ_TIMEOUT_SECONDS", "0", "http.header_read_timeout_seconds"),
            ("RICEVO_REQUEST_TIMEOUT_SECONDS", "99999", "http.request_timeout_seconds"),
            ("RICEVO_MAX_CONNECTIONS_PER_ADDRESS", "-1", "RICEVO_MAX_CONNECTIONS_PER_ADDRESS"),
            ("RICEVO_METRICS_LISTEN", "nowhere", "metrics.listen"),
            ("RICEVO_METRICS_TOKEN", "short", "metrics.token"),
        ] {
            let e = Config::load(None, env(&[(name, value)])).unwrap_err().to_string();
            assert!(e.contains(setting), "{name}={value}: {e}");
        }
    }

    #[test]
    fn the_documented_sample_file_is_valid() {
        let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ricevo.example.toml");
        let c = Config::load(Some(Path::new(sample)), env(&[])).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.limits, LimitsConfig::default(), "the sample documents the defaults");
    }

    #[test]
    fn the_spam_limits_come_from_the_environment() {
        let c = Config::load(
            None,
            env(&[
                ("RICEVO_BOOKINGS_PER_HOUR_PER_ADDRESS", "3"),
                ("RICEVO_TICKETS_PER_HOUR_PER_ADDRESS", "4"),
                ("RICEVO_MAX_ACTIVE_APPOINTMENTS_PER_CITIZEN", "0"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.limits,
            LimitsConfig {
                bookings_per_hour_per_address: 3,
                tickets_per_hour_per_address: 4,
                max_active_appointments_per_citizen: 0
            }
        );
        let bad = Config::load(None, env(&[("RICEVO_BOOKINGS_PER_HOUR_PER_ADDRESS", "tanti")]));
        assert!(bad.unwrap_err().to_string().contains("RICEVO_BOOKINGS_PER_HOUR_PER_ADDRESS"));
    }

    #[test]
    fn webhooks_reach_no_internal_host_unless_the_configuration_lists_it() {
        assert!(Config::load(None, env(&[])).unwrap().webhook_allow_hosts().unwrap().is_empty());
        let c = Config::load(None, env(&[("RICEVO_WEBHOOK_ALLOW_HOSTS", " erp.comune.local , 10.1.2.3,")])).unwrap();
        assert_eq!(c.webhooks.allow_hosts, ["erp.comune.local", "10.1.2.3"]);
        assert_eq!(
            c.webhook_allow_hosts().unwrap(),
            ricevo_notify::AllowedHosts::parse(["erp.comune.local", "10.1.2.3"]).unwrap()
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ricevo.toml");
        std::fs::write(&path, "[webhooks]\nallow_hosts = [\"erp.comune.local\"]\n").unwrap();
        let c = Config::load(Some(&path), env(&[])).unwrap();
        assert_eq!(c.webhooks.allow_hosts, ["erp.comune.local"]);
        let bad = Config::load(None, env(&[("RICEVO_WEBHOOK_ALLOW_HOSTS", "http://erp.local/x")]));
        assert!(matches!(bad, Err(ConfigError::Invalid { name: "webhooks.allow_hosts", .. })), "{bad:?}");
    }
    // ---- telegram ----
    #[test]
    fn the_instance_bot_comes_from_the_environment_and_a_bad_secret_is_refused() {
        let c = Config::load(
            None,
            env(&[("RICEVO_TELEGRAM_TOKEN", "123:abc"), ("RICEVO_TELEGRAM_WEBHOOK_SECRET", "s3cret_-x")]),
        )
        .unwrap();
        let bot = c.telegram.to_config().instance.unwrap();
        assert_eq!((bot.token.as_str(), bot.webhook_secret.as_deref()), ("123:abc", Some("s3cret_-x")));
        assert!(Config::load(None, env(&[])).unwrap().telegram.to_config().instance.is_none());
        for (name, value, setting) in [
            ("RICEVO_TELEGRAM_WEBHOOK_SECRET", "with space", "telegram.webhook_secret"),
            ("RICEVO_TELEGRAM_TOKEN", "12/3", "telegram.token"),
            ("RICEVO_TELEGRAM_API_URL", "ftp://x", "telegram.api_url"),
        ] {
            let e = Config::load(None, env(&[(name, value)])).unwrap_err().to_string();
            assert!(e.contains(setting), "{name}={value}: {e}");
        }
    }
    // ---- end telegram ----
}

// ---- telegram ----
/// The instance's Telegram bot (`[telegram]`): one bot for every town of the instance, whose
/// chats choose their town first. A town may instead have a bot of its own (its settings).
/// With `webhook_secret` the bot works by webhook (`{public_url}/telegram/webhook`, set with
/// `setWebhook` at start); without it, by long polling (`getUpdates`), for machines Telegram
/// cannot reach.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TelegramSettings {
    /// The bot's token from BotFather; none: no instance bot.
    pub(crate) token: Option<String>,
    /// The webhook's secret token (1-256 of `A-Z a-z 0-9 _ -`); none: long polling.
    pub(crate) webhook_secret: Option<String>,
    /// The Bot API's address (a local Bot API server, or a fake in tests).
    pub(crate) api_url: String,
}

impl Default for TelegramSettings {
    fn default() -> Self {
        TelegramSettings {
            token: None,
            webhook_secret: None,
            api_url: ricevo_notify::telegram::DEFAULT_BASE_URL.into(),
        }
    }
}

impl TelegramSettings {
    fn apply_env(&mut self, env: &impl Fn(&str) -> Option<String>) {
        if let Some(v) = env("RICEVO_TELEGRAM_TOKEN") {
            self.token = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = env("RICEVO_TELEGRAM_WEBHOOK_SECRET") {
            self.webhook_secret = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = env("RICEVO_TELEGRAM_API_URL") {
            self.api_url = v;
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        if let Some(token) = &self.token
            && (token.is_empty() || token.contains(|c: char| c.is_whitespace() || c == '/'))
        {
            return Err(invalid("telegram.token", "the token BotFather gave, without spaces"));
        }
        if let Some(secret) = &self.webhook_secret
            && !ricevo_notify::telegram::valid_secret_token(secret)
        {
            return Err(invalid("telegram.webhook_secret", "1 to 256 characters of A-Z, a-z, 0-9, _ and -"));
        }
        if !(self.api_url.starts_with("https://") || self.api_url.starts_with("http://")) {
            return Err(invalid("telegram.api_url", "an http:// or https:// address"));
        }
        Ok(())
    }

    /// What the web edge and the bots' loop need.
    pub(crate) fn to_config(&self) -> ricevo_notify::telegram::TelegramConfig {
        ricevo_notify::telegram::TelegramConfig {
            api_url: self.api_url.trim_end_matches('/').to_owned(),
            instance: self.token.as_ref().map(|token| ricevo_notify::telegram::InstanceBot {
                token: token.clone(),
                webhook_secret: self.webhook_secret.clone(),
            }),
        }
    }
}
// ---- end telegram ----
