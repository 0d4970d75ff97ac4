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
    std::fs::create_dir_all(config.spool_dir())
        .map_err(|e| format!("cannot create {}: {e}", config.spool_dir().display()))?;
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
        spool_dir: config.spool_dir(),
        turn: config.turn.as_ref().map(|t| ricevo_web::TurnConfig {
            urls: t.urls.clone(),
            secret: t.secret.clone(),
            ttl_seconds: t.ttl_seconds,
        }),
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
    let app = ricevo_web::router(state);
    let addr = config.listen_addr().map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("Ricevo is serving on http://{local}  (demo town: http://{local}/demo)");
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
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal());
    let result = server.await.map_err(|e| format!("server: {e}"));
    let _ = stop_tx.send(true);
    nodes_task.abort();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let _ = worker_task.await;
        let _ = privacy_task.await;
    })
    .await;
    tracing::info!("stopped");
    result
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
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
