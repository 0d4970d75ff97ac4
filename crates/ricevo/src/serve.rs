//! `ricevo serve`: the web server, the outbox worker and the daily privacy job.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ricevo_notify::{Mailer, SmtpSecurity, Worker};
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
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker = Worker::new(store.clone(), mailer).map_err(|e| e.to_string())?;
    let worker_task = tokio::spawn(worker.run(stop_rx.clone()));
    let document_days = config.media.document_retention_days.max(1);
    let privacy_task = tokio::spawn(privacy_job(store.clone(), document_days, stop_rx.clone()));

    let web = WebConfig {
        public_url: config.public_url(),
        node_url: config.node_url.as_deref().map(|url| url.trim_end_matches('/').to_owned()),
        mail_from: config.mail.from.clone(),
        reminder_hours: config.mail.reminder_hours,
        outbox_dir: config.smtp.is_none().then(|| config.outbox_dir()),
        secure_cookies: config.secure_cookies(),
        rate_limit_per_minute: config.http.rate_limit_per_minute,
        trust_forwarded_for: config.http.trust_forwarded_for,
        join_open_minutes: config.media.join_open_minutes,
        max_document_bytes: config.media.max_document_mb * 1024 * 1024,
        turn: config.turn.as_ref().map(|t| ricevo_web::TurnConfig {
            urls: t.urls.clone(),
            secret: t.secret.clone(),
            ttl_seconds: t.ttl_seconds,
        }),
        metrics_token: config.metrics.token.clone(),
        request_timeout: Duration::from_secs(config.http.request_timeout_seconds),
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
    let state = AppState::new(store.clone(), web).with_media(media);
    // Several nodes on one PostgreSQL: waiting rooms and dashboards hear each other's changes.
    let nodes_task = tokio::spawn(ricevo_web::room::follow_other_nodes(state.clone()));
    let hub = state.hub.clone();
    let metrics_app = ricevo_web::metrics_router(state.clone());
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
    let done = tokio::time::timeout(limits.shutdown_grace, async {
        let _ = server.await;
        if let Some(m) = metrics_server {
            let _ = m.await;
        }
        hub.all_closed().await;
        let _ = worker_task.await;
        let _ = privacy_task.await;
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

/// Once an hour: anonymise appointments past each town's retention, forget old idempotency keys,
/// delete documents shared in meetings after `document_days`.
async fn privacy_job(store: Arc<dyn Store>, document_days: i64, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = privacy_round(&*store, Timestamp::now(), document_days).await {
            tracing::warn!(error = %e, "privacy job failed; will retry");
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
) -> Result<(), ricevo_store::StoreError> {
    for t in store.tenants().await? {
        let keep = SignedDuration::from_hours(24 * i64::from(t.retention_days.max(1)));
        let n = store.anonymise_before(t.id, now - keep).await?;
        if n > 0 {
            tracing::info!(tenant = %t.slug, appointments = n, "anonymised personal data past retention");
        }
    }
    store.purge_idempotency(now - SignedDuration::from_hours(24)).await?;
    let removed = store.purge_documents(now - SignedDuration::from_hours(24 * document_days)).await?;
    if removed > 0 {
        tracing::info!(documents = removed, "deleted meeting documents past retention");
    }
    Ok(())
}
