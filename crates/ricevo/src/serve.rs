//! `ricevo serve`: the web server, the outbox worker and the daily privacy job.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use jiff::{SignedDuration, Timestamp};
use ricevo_core::Slug;
use ricevo_notify::{Mailer, SmtpSecurity, WebhookSender, Worker};
use ricevo_store::Store;
use ricevo_web::{AppState, WebConfig};
use tokio::sync::watch;

use crate::config::{self, Config};

/// Starts everything and runs until Ctrl-C or SIGTERM.
#[allow(clippy::print_stdout)]
pub(crate) async fn serve(config: Config) -> Result<(), String> {
    let store = crate::cli::open_store(&config).await?;
    let is_empty = store.tenants().await.map_err(|e| e.to_string())?.is_empty();
    let admin_password = if is_empty { crate::cli::load_demo(&*store).await? } else { None };

    let mailer = match &config.smtp {
        Some(s) => Mailer::smtp(
            &s.host,
            s.port,
            match s.security {
                config::SmtpSecurity::None => SmtpSecurity::None,
                config::SmtpSecurity::Starttls => SmtpSecurity::StartTls,
                config::SmtpSecurity::Tls => SmtpSecurity::Tls,
            },
            s.username.clone(),
            s.password.clone(),
        )
        .map_err(|e| format!("SMTP: {e}"))?,
        None => {
            std::fs::create_dir_all(config.outbox_dir())
                .map_err(|e| format!("cannot create {}: {e}", config.outbox_dir().display()))?;
            Mailer::outbox(config.outbox_dir())
        }
    };
    std::fs::create_dir_all(config.spool_dir())
        .map_err(|e| format!("cannot create {}: {e}", config.spool_dir().display()))?;
    // ---- public ----
    std::fs::create_dir_all(config.council_recordings_dir())
        .map_err(|e| format!("cannot create {}: {e}", config.council_recordings_dir().display()))?;
    // ---- end public ----
    let (stop_tx, stop_rx) = watch::channel(false);
    let webhook_allow_hosts = config.webhook_allow_hosts().map_err(|e| e.to_string())?;
    let webhooks = WebhookSender::new(webhook_allow_hosts.clone()).map_err(|e| e.to_string())?;
    let worker = Worker::with_webhooks(store.clone(), mailer, webhooks);
    // ---- webpush ----
    // The VAPID key pair is made in the data folder on first start and kept: browsers that
    // subscribed with its public key keep receiving across restarts.
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", config.data_dir.display()))?;
    let vapid_path = config.data_dir.join("vapid-private.key");
    let vapid = ricevo_notify::VapidKey::load_or_create(&vapid_path)
        .map_err(|e| format!("VAPID key {}: {e}", vapid_path.display()))?;
    let web_push_key = Some(vapid.public_key());
    let push_contact = match &config.mail.from {
        Some(from) => format!("mailto:{from}"),
        None => config.public_url(),
    };
    let push = ricevo_notify::PushSender::new(Arc::new(vapid), push_contact, webhook_allow_hosts.clone())
        .map_err(|e| e.to_string())?;
    let worker = worker.with_push(push);
    // ---- end webpush ----
    // ---- channels ----
    // App IO, SMS gateways (which, like webhooks, reach internal hosts only when allowed) and Telegram.
    // Notifications to Telegram chats go through the same Bot API address as the bots, and
    // through the instance's bot for towns without a bot of their own.
    let telegram = config.telegram.to_config();
    let senders = ricevo_notify::ChannelSenders::at(
        ricevo_notify::channels::APP_IO_BASE_URL,
        &telegram.api_url,
        webhook_allow_hosts.clone(),
    )
    .map_err(|e| e.to_string())?
    .with_instance_bot(telegram.instance.map(|bot| bot.token));
    let worker = worker.with_channels(senders);
    // ---- end channels ----
    let worker_task = tokio::spawn(worker.run(stop_rx.clone()));
    let document_days = config.media.document_retention_days.max(1);
    let outbox_dir = config.smtp.is_none().then(|| config.outbox_dir());
    let audit_days = config.audit_retention_days;
    let privacy_task = tokio::spawn(privacy_job(store.clone(), document_days, audit_days, outbox_dir, stop_rx.clone()));

    let web = WebConfig {
        public_url: config.public_url(),
        node_url: config.node_url.as_deref().map(|url| url.trim_end_matches('/').to_owned()),
        node_dead_after: SignedDuration::from_secs(config.node_dead_after_seconds),
        mail_from: config.mail.from.clone(),
        reminder_hours: config.mail.reminder_hours,
        outbox_dir: config.smtp.is_none().then(|| config.outbox_dir()),
        secure_cookies: config.secure_cookies(),
        rate_limit_per_minute: config.http.rate_limit_per_minute,
        trust_forwarded_for: config.http.trust_forwarded_for,
        trusted_proxies: config.trusted_proxies().map_err(|e| e.to_string())?,
        bookings_per_hour_per_address: config.limits.bookings_per_hour_per_address,
        tickets_per_hour_per_address: config.limits.tickets_per_hour_per_address,
        max_active_per_citizen: config.limits.max_active_appointments_per_citizen,
        join_open_minutes: config.media.join_open_minutes,
        max_document_bytes: config.media.max_document_mb * 1024 * 1024,
        empty_meeting_grace: SignedDuration::from_secs(config.media.empty_meeting_grace_seconds),
        surveys: ricevo_desk::SurveySettings {
            feedback_link_days: config.surveys.feedback_link_days,
            campaign_messages_per_minute: config.surveys.campaign_messages_per_minute,
        },
        spool_dir: config.spool_dir(),
        turn: config.turn.as_ref().map(|t| ricevo_web::TurnConfig {
            urls: t.urls.clone(),
            secret: t.secret.clone(),
            ttl_seconds: t.ttl_seconds,
        }),
        webhook_allow_hosts,
        metrics_token: config.metrics.token.clone(),
        request_timeout: Duration::from_secs(config.http.request_timeout_seconds),
        // ---- webpush ----
        web_push_key,
        // ---- end webpush ----
        // ---- telegram ----
        telegram: config.telegram.to_config(),
        // ---- end telegram ----
        // ---- public ----
        council_recordings_dir: config.council_recordings_dir(),
        // ---- end public ----
    };
    let media_config = ricevo_media::MediaConfig {
        udp_listen: config.media_udp().map_err(|e| e.to_string())?,
        public_ips: config.media_public_ips().map_err(|e| e.to_string())?,
        tcp_listen: config.media_tcp().map_err(|e| e.to_string())?,
    };
    let media = ricevo_media::MediaServer::start(media_config).map_err(|e| {
        let tcp = config.media.tcp_listen.as_deref().map(|t| format!(" or TCP {t}")).unwrap_or_default();
        format!("cannot open the media port (UDP {}{tcp}): {e}", config.media.udp_listen)
    })?;
    let media_addr = media.udp_addr();
    let mut state = AppState::new(store.clone(), web).with_media(media);
    // SPID/CIE sign-in for citizens, when `[identity]` turns it on: one relying party for the
    // instance, or one per town that exists now (a town created later gets its own at restart).
    let slugs: Vec<String> = if config.identity.mode == crate::identity::IdentityMode::Town {
        store.tenants().await.map_err(|e| e.to_string())?.into_iter().map(|t| t.slug.to_string()).collect()
    } else {
        Vec::new() // only town mode needs the towns
    };
    if let Some(parties) = crate::identity::relying_parties(&config, &slugs)? {
        state = state.with_identity(Arc::new(parties));
    }
    // ---- waitlist ----
    // Offers hold their time for the configured minutes (checked by `Config::check`).
    if let Ok(hold) = ricevo_core::waitlist::HoldLength::minutes(config.waitlist.hold_minutes) {
        state.desk = state.desk.clone().with_waitlist_hold(hold);
    }
    // Lapsed holds pass to the next in line within seconds, whether or not anyone opens a page.
    let waitlist_task = tokio::spawn(ricevo_desk::waitlist::run_sweeper(state.desk.clone(), stop_rx.clone()));
    // ---- end waitlist ----
    // Several nodes on one PostgreSQL: waiting rooms and dashboards hear each other's changes.
    let nodes_task = tokio::spawn(ricevo_web::room::follow_other_nodes(state.clone()));
    let hub = state.hub.clone();
    let metrics_app = ricevo_web::metrics_router(state.clone());
    // This node's heartbeat, so the others know when it dies and take over its meetings.
    let heartbeat_task = tokio::spawn(ricevo_web::room::keep_node_alive(state.clone()));
    // Meetings of this node that everyone left close by themselves after the grace period.
    let deserted_task = tokio::spawn(ricevo_web::room::close_deserted_meetings(state.clone()));
    // Survey campaigns hand their e-mails to the outbox at each town's rate.
    let campaigns_task = tokio::spawn(ricevo_desk::campaigns::run_sender(state.desk.clone(), stop_rx.clone()));
    // ---- telegram ----
    // The towns' and the instance's Telegram bots: webhooks set, or long polling for the others.
    let telegram_task = tokio::spawn(ricevo_web::telegram::run_bots(state.clone(), stop_rx.clone()));
    // ---- end telegram ----
    // ---- public ----
    // Council recordings past their town's retention are removed (and no longer offered).
    let recordings_task = tokio::spawn(ricevo_web::council::run_recording_sweeper(
        state.desk.clone(),
        config.council_recordings_dir(),
        stop_rx.clone(),
    ));
    // ---- end public ----
    let app = ricevo_web::router(state);
    let addr = config.listen_addr().map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let metrics_listener = match config.metrics_addr().map_err(|e| e.to_string())? {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr} (metrics): {e}"))?,
        ),
        None => None,
    };
    println!("Ricevo is serving on http://{local}  (demo town: http://{local}/demo)");
    if let Some(l) = &metrics_listener {
        println!("Metrics on http://{}/metrics", l.local_addr().map_err(|e| e.to_string())?);
    }
    println!("Meetings' media on UDP {media_addr}; walk-in virtual desk: http://{local}/demo/walk-in");
    if let Some(password) = admin_password {
        println!(
            "Demo town created. Staff login: http://{local}/demo/staff/login  e-mail {}  password {password}",
            ricevo_web::demo::DEMO_ADMIN_EMAIL
        );
        println!(
            "(shown once; reset it with: ricevo user password --tenant demo --email {})",
            ricevo_web::demo::DEMO_ADMIN_EMAIL
        );
    }
    let limits = ricevo_web::server::ConnectionLimits {
        header_read_timeout: Duration::from_secs(config.http.header_read_timeout_seconds),
        max_per_address: config.http.max_connections_per_address,
        shutdown_grace: Duration::from_secs(config.http.shutdown_grace_seconds),
    };
    if config.http.trust_forwarded_for && limits.max_per_address > 0 {
        // Behind the proxy every connection comes from its address: the cap would cut it off.
        tracing::warn!(
            cap = limits.max_per_address,
            "behind a reverse proxy all connections come from the proxy: set max_connections_per_address = 0 \
             and limit connections per client in the proxy"
        );
    }
    let stop_signal = shutdown_signal();
    let (signal_tx, signal_rx) = watch::channel(false);
    let signalled = || {
        let mut rx = signal_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let server = tokio::spawn(ricevo_web::server::serve(listener, app, limits, signalled()));
    let metrics_server =
        metrics_listener.map(|l| tokio::spawn(ricevo_web::server::serve(l, metrics_app, limits, signalled())));
    stop_signal.await;
    // Stop accepting; live pages hear "restarting" and reconnect to the next process; the
    // workers finish their round. All of it within one bound, whatever the clients do.
    let _ = signal_tx.send(true);
    hub.close_all();
    let _ = stop_tx.send(true);
    nodes_task.abort();
    heartbeat_task.abort();
    deserted_task.abort();
    let done = tokio::time::timeout(limits.shutdown_grace, async {
        let _ = server.await;
        if let Some(m) = metrics_server {
            let _ = m.await;
        }
        hub.all_closed().await;
        let _ = worker_task.await;
        let _ = privacy_task.await;
        let _ = campaigns_task.await;
        // ---- waitlist ----
        let _ = waitlist_task.await;
        // ---- end waitlist ----
        // ---- telegram ----
        let _ = telegram_task.await;
        // ---- end telegram ----
        // ---- public ----
        let _ = recordings_task.await;
        // ---- end public ----
    })
    .await;
    if done.is_err() {
        tracing::warn!(grace = ?limits.shutdown_grace, "shutdown grace over: exiting with work still open");
    }
    tracing::info!("stopped");
    Ok(())
}

// The SIGTERM handler is installed when this is called (before serving), not when first
// polled: a SIGTERM right after start must not kill the process with the default action.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
        tracing::info!("shutting down");
    }
}

/// Once an hour: anonymise appointments and waiting-room places past each town's retention and
/// delete its outbox messages and documents past it, forget old idempotency keys, delete
/// documents shared in meetings after `document_days` whatever the town, delete e-mail files of
/// the outbox folder (when there is one) past each town's retention, and audit log entries older
/// than `audit_days`. Meeting chat is not stored.
async fn privacy_job(
    store: Arc<dyn Store>,
    document_days: i64,
    audit_days: i64,
    outbox_dir: Option<PathBuf>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let now = Timestamp::now();
        if let Err(e) = privacy_round(&*store, now, document_days, outbox_dir.as_deref()).await {
            tracing::warn!(error = %e, "privacy job failed; will retry");
        }
        match store.purge_audit(now - SignedDuration::from_hours(24 * audit_days)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(entries = n, "deleted audit log entries past the audit retention"),
            Err(e) => tracing::warn!(error = %e, "audit retention failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One round of the privacy job.
pub(crate) async fn privacy_round(
    store: &dyn Store,
    now: Timestamp,
    document_days: i64,
    outbox_dir: Option<&Path>,
) -> Result<(), ricevo_store::StoreError> {
    let tenants = store.tenants().await?;
    for t in &tenants {
        let keep = SignedDuration::from_hours(24 * i64::from(t.retention_days.max(1)));
        let n = store.anonymise_before(t.id, now - keep).await?;
        if n > 0 {
            tracing::info!(tenant = %t.slug, appointments = n, "anonymised personal data past retention");
        }
        // Queued messages and shared documents hold personal data too: they go by the town's
        // retention as well (documents sooner if `document_days` says so, below).
        let gone = store.purge_personal_before(t.id, now - keep).await?;
        if gone != ricevo_store::RetentionCounts::default() {
            tracing::info!(tenant = %t.slug, messages = gone.messages, documents = gone.documents,
                audit_names = gone.audit_names, "deleted personal data past retention");
        }
        if let (Some(root), Ok(slug)) = (outbox_dir, Slug::parse(&t.slug)) {
            purge_outbox(&ricevo_notify::town_outbox_dir(root, &slug), now - keep, &t.slug).await;
        }
    }
    // E-mails older versions wrote flat in the shared folder belong to no known town: no page
    // shows them, and they go as soon as the shortest retention of any town has passed.
    if let (Some(root), Some(days)) = (outbox_dir, tenants.iter().map(|t| t.retention_days.max(1)).min()) {
        purge_outbox(root, now - SignedDuration::from_hours(24 * i64::from(days)), "(shared folder)").await;
    }
    store.purge_idempotency(now - SignedDuration::from_hours(24)).await?;
    // ---- webpush ----
    // Push subscriptions of visits that ended (or expired) have nothing more to say.
    let subscriptions = store.purge_push_subscriptions(now).await?;
    if subscriptions > 0 {
        tracing::info!(subscriptions, "deleted push subscriptions of visits that ended");
    }
    // ---- end webpush ----
    let removed = store.purge_documents(now - SignedDuration::from_hours(24 * document_days)).await?;
    if removed > 0 {
        tracing::info!(documents = removed, "deleted meeting documents past retention");
    }
    Ok(())
}

/// Deletes the e-mail files of one outbox folder last written before `before`. A failure is
/// logged and the round goes on: the next round tries again.
async fn purge_outbox(dir: &Path, before: Timestamp, town: &str) {
    let dir = dir.to_owned();
    let before = SystemTime::from(before);
    match tokio::task::spawn_blocking(move || ricevo_notify::purge_outbox_dir(&dir, before)).await {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => tracing::info!(tenant = %town, emails = n, "deleted outbox e-mails past retention"),
        Ok(Err(e)) => tracing::warn!(tenant = %town, error = %e, "cannot delete old outbox e-mails; will retry"),
        Err(e) => tracing::warn!(tenant = %town, error = %e, "outbox purge stopped; will retry"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ricevo_store::NewTenant;

    async fn add_town(store: &dyn Store, slug: &str, retention_days: i32) {
        store
            .create_tenant(&NewTenant {
                slug: slug.into(),
                name: format!("Comune di {slug}"),
                time_zone: "Europe/Rome".into(),
                patron_day: None,
                contact_email: format!("urp@{slug}.it"),
                privacy_notice: "Informativa".into(),
                retention_days,
            })
            .await
            .unwrap();
    }

    /// Writes `root/path` as if last written `days` days before `now`.
    fn write_aged(root: &Path, path: &str, now: SystemTime, days: u64) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "To: Maria Rossi").unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(now - Duration::from_secs(days * 86_400)).unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        ricevo_notify::list_outbox_dir(dir).unwrap().into_iter().map(|f| f.0).collect::<Vec<_>>()
    }

    async fn the_privacy_round_deletes_each_towns_e_mails_past_its_retention(store: Arc<dyn Store>) {
        add_town(&*store, "prato", 30).await;
        add_town(&*store, "altro", 365).await;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let now = SystemTime::now();
        write_aged(root, "prato/old.eml", now, 40);
        write_aged(root, "prato/new.eml", now, 1);
        write_aged(root, "altro/forty-days.eml", now, 40);
        write_aged(root, "altro/too-old.eml", now, 400);
        write_aged(root, "flat-old.eml", now, 40);
        write_aged(root, "flat-new.eml", now, 1);

        privacy_round(&*store, Timestamp::try_from(now).unwrap(), 30, Some(root)).await.unwrap();
        assert_eq!(names(&root.join("prato")), ["new.eml"], "prato keeps e-mails 30 days");
        assert_eq!(names(&root.join("altro")), ["forty-days.eml"], "altro keeps e-mails a year");
        assert_eq!(names(root), ["flat-new.eml"], "flat files go after the shortest retention");
    }

    #[tokio::test]
    async fn the_privacy_round_deletes_each_towns_e_mails_past_its_retention_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let store = ricevo_store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        the_privacy_round_deletes_each_towns_e_mails_past_its_retention(store).await;
    }

    #[tokio::test]
    async fn the_privacy_round_deletes_each_towns_e_mails_past_its_retention_on_postgres() {
        let Some(schema) = ricevo_store::testing::TestSchema::create("privacy").await else { return };
        let store = schema.node().await;
        store.migrate().await.unwrap();
        the_privacy_round_deletes_each_towns_e_mails_past_its_retention(store).await;
    }
}
