//! The outbox worker against a real SQLite store, a real outbox folder and real webhook
//! receivers on loopback.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp, Zoned};
use ricevo_core::hours::{OpeningHours, WeeklyRange};
use ricevo_core::service::ServiceRules;
use ricevo_core::{Lang, Mode, TenantId};
use ricevo_notify::{
    AllowedHosts, AppointmentNotice, EmailKind, Mailer, Outgoing, OutgoingEmail, WebhookSender, Worker,
    list_outbox_dir, render, verify,
};
use ricevo_store::{BookOutcome, NewAppointment, NewOffice, NewOutboxMessage, NewService, NewTenant, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

struct Town {
    tenant: TenantId,
    office: ricevo_store::Office,
    service: ricevo_store::Service,
}

async fn town(store: &dyn Store, slug: &str) -> Town {
    let tenant = store
        .create_tenant(&NewTenant {
            slug: slug.into(),
            name: format!("Comune di {slug}"),
            time_zone: "Europe/Rome".into(),
            patron_day: None,
            contact_email: format!("urp@{slug}.it"),
            privacy_notice: "Informativa".into(),
            retention_days: 365,
        })
        .await
        .unwrap();
    let office = store
        .create_office(
            tenant.id,
            &NewOffice {
                name: "Anagrafe".into(),
                description: String::new(),
                address: "Piazza del Comune 1".into(),
                contact_email: format!("anagrafe@{slug}.it"),
            },
        )
        .await
        .unwrap();
    let t = |h, m| jiff::civil::Time::new(h, m, 0, 0).unwrap();
    let hours =
        OpeningHours::new(vec![WeeklyRange::new(jiff::civil::Weekday::Monday, t(9, 0), t(12, 0)).unwrap()], 1).unwrap();
    store.set_hours(tenant.id, office.id, &hours).await.unwrap();
    let service = store
        .create_service(
            tenant.id,
            &NewService {
                office_id: office.id,
                name: "Carta d'identità elettronica".into(),
                description: String::new(),
                rules: ServiceRules::new(20, 10, vec![Mode::InPerson], 0, 60).unwrap(),
                what_to_bring: "Foto tessera".into(),
                questions: vec![],
                active: true,
            },
        )
        .await
        .unwrap();
    Town { tenant: tenant.id, office, service }
}

/// Books an appointment whose transaction queues `messages` (payload, due), as the web crate will.
async fn book_with(store: &dyn Store, town: &Town, start: &str, messages: Vec<(String, String, Timestamp)>) {
    let start = at(start);
    let outbox = messages
        .into_iter()
        .enumerate()
        .map(|(i, (kind, payload, due_at))| NewOutboxMessage {
            kind,
            dedupe_key: format!("{start}-{i}"),
            payload,
            due_at,
            retractable: false,
        })
        .collect();
    let outcome = store
        .book(&NewAppointment {
            public_id: format!("pub-{start}"),
            token_hash: format!("hash-{start}"),
            occupied_until: start + SignedDuration::from_mins(30),
            mode: Mode::InPerson,
            citizen_email: "maria.rossi@example.org".into(),
            now: at("2026-11-01T00:00:00Z"),
            outbox,
            ..ricevo_store::testing::appointment(town.tenant, town.office.id, town.service.id, start)
        })
        .await
        .unwrap();
    assert!(matches!(outcome, BookOutcome::Booked(_)), "{outcome:?}");
}

fn notice() -> AppointmentNotice {
    let start: Zoned = "2026-11-30T09:00[Europe/Rome]".parse().unwrap();
    AppointmentNotice {
        uid: "pub-1@ricevo.example.it".into(),
        sequence: 0,
        tenant_name: "Comune di prato".into(),
        tenant_email: "urp@prato.it".into(),
        office_name: "Anagrafe".into(),
        office_address: "Piazza del Comune 1".into(),
        service_name: "Carta d'identità elettronica".into(),
        what_to_bring: "Foto tessera".into(),
        end: start.checked_add(SignedDuration::from_mins(20)).unwrap(),
        start,
        mode: Mode::InPerson,
        citizen_name: "Maria Rossi".into(),
        citizen_email: "maria.rossi@example.org".into(),
        manage_url: "https://ricevo.example.it/a/tok".into(),
        cancel_url: "https://ricevo.example.it/a/tok/cancel".into(),
        join_url: None,
        lang: Lang::It,
        reference: "K7M-4QP".into(),
        reason: None,
        rebook_url: None,
        rebook_times: Vec::new(),
    }
}

/// An outbox row (kind, payload, due) for a message.
fn row(o: &Outgoing, due: Timestamp) -> (String, String, Timestamp) {
    (o.kind().to_string(), o.to_payload().unwrap(), due)
}

/// A worker whose configuration allows the test receivers on loopback.
fn loopback_worker(store: Arc<dyn Store>, mailer: Mailer) -> Worker {
    let allowed = AllowedHosts::parse(["127.0.0.1"]).unwrap();
    Worker::with_webhooks(store, mailer, WebhookSender::new(allowed).unwrap())
}

fn webhook(webhook_id: i64, event_id: &str, body: &str) -> Outgoing {
    Outgoing::Webhook { webhook_id, event_id: event_id.into(), body: body.into() }
}

/// What a loopback webhook receiver saw: the signature header and the body.
type Seen = (String, Vec<u8>);

/// A loopback HTTP receiver that answers one request with `status`.
async fn receiver(status: u16) -> (String, tokio::task::JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0);
            buf.extend_from_slice(&chunk[..n]);
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let header = |name: &str| {
                head.lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_string())
            };
            let length: usize = header("content-length").unwrap().parse().unwrap();
            if buf.len() < end + 4 + length {
                continue;
            }
            let body = buf[end + 4..end + 4 + length].to_vec();
            let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            socket.write_all(reply.as_bytes()).await.unwrap();
            return (header("ricevo-signature").unwrap(), body);
        }
    });
    (url, task)
}

#[tokio::test]
async fn one_round_delivers_what_it_can_and_reschedules_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = ricevo_store::open(&format!("sqlite://{}", dir.path().join("ricevo.db").display())).await.unwrap();
    let prato = town(&*store, "prato").await;
    let other = town(&*store, "altro").await;

    let (ok_url, ok_receiver) = receiver(204).await;
    let (bad_url, bad_receiver) = receiver(500).await;
    // Another town's receiver must never hear about this town's events.
    let foreign = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let foreign_url = format!("http://{}/hook", foreign.local_addr().unwrap());
    let ok_hook = store.create_webhook(prato.tenant, &ok_url, "whsec-ok").await.unwrap();
    let bad_hook = store.create_webhook(prato.tenant, &bad_url, "whsec-bad").await.unwrap();
    let gone_hook = store.create_webhook(prato.tenant, &bad_url, "whsec-gone").await.unwrap();
    store.delete_webhook(prato.tenant, gone_hook.id).await.unwrap();
    let foreign_hook = store.create_webhook(other.tenant, &foreign_url, "whsec-foreign").await.unwrap();

    let now = at("2026-11-01T00:00:00Z");
    let email = render(EmailKind::Confirmation, &notice(), "noreply@ricevo.example.it", now);
    let body = r#"{"type":"appointment.booked","appointment":"pub-1"}"#;
    book_with(
        &*store,
        &prato,
        "2026-11-30T08:00:00Z",
        vec![
            row(&Outgoing::Email(email.clone()), now),
            row(&webhook(ok_hook.id, "evt-1", body), now),
            row(&webhook(bad_hook.id, "evt-2", body), now),
            row(&webhook(gone_hook.id, "evt-3", body), now),
            row(&webhook(foreign_hook.id, "evt-4", body), now),
            ("email".into(), "this is not JSON".into(), now),
            row(&Outgoing::Email(OutgoingEmail { to: "no address here".into(), ..email.clone() }), now),
            // Not due yet: a reminder for the day before.
            row(&Outgoing::Email(email.clone()), at("2026-11-29T08:00:00Z")),
        ],
    )
    .await;

    let outbox_dir = dir.path().join("outbox");
    let worker = loopback_worker(store.clone(), Mailer::outbox(&outbox_dir));
    assert_eq!(worker.run_once(now).await.unwrap(), 7, "every due message is handled");

    // The e-mail is in the outbox folder.
    let files = list_outbox_dir(&outbox_dir.join("prato")).unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    let eml = std::fs::read_to_string(outbox_dir.join("prato").join(&files[0].0)).unwrap();
    assert!(eml.contains(&format!("Message-ID: {}", email.message_id)));

    // The live subscription received a body it can verify.
    let (signature, received) = ok_receiver.await.unwrap();
    assert_eq!(received, body.as_bytes());
    assert!(verify("whsec-ok", &signature, &received, now.as_second(), 300));
    bad_receiver.await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(200), foreign.accept()).await.is_err(),
        "another town's subscription was contacted"
    );

    // Left: the 500 (retried after 30 s), the unreadable payload and the e-mail without an
    // address (both parked), and the reminder.
    assert_eq!(store.outbox_backlog().await.unwrap(), 4);
    assert!(store.due_outbox(now + SignedDuration::from_secs(29), 50).await.unwrap().is_empty());

    // A second failure waits twice as long: the receiver that answered 500 has closed its
    // port, so this attempt cannot even connect. (`due_outbox` claims what it returns, so the
    // checks below come after the worker's own round.)
    let retry_at = now + SignedDuration::from_secs(30);
    assert_eq!(worker.run_once(retry_at).await.unwrap(), 1);
    assert!(store.due_outbox(retry_at + SignedDuration::from_secs(59), 50).await.unwrap().is_empty());
    let again = store.due_outbox(retry_at + SignedDuration::from_secs(60), 50).await.unwrap();
    assert_eq!(again.iter().map(|m| m.attempts).collect::<Vec<_>>(), [2]);
    assert!(again[0].payload.contains("evt-2"));
    let much_later = store.due_outbox(at("2026-11-20T00:00:00Z"), 50).await.unwrap();
    assert_eq!(much_later.len(), 1, "only the webhook to retry is due; the parked ones wait: {much_later:?}");
    let parked = store.due_outbox(at("2026-12-02T00:00:00Z"), 50).await.unwrap();
    assert_eq!(parked.len(), 4, "unreadable and undeliverable messages come back after weeks: {parked:?}");
}

#[tokio::test]
async fn the_running_worker_delivers_and_stops_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let store = ricevo_store::open(&format!("sqlite://{}", dir.path().join("ricevo.db").display())).await.unwrap();
    let prato = town(&*store, "prato").await;
    let past = Timestamp::now() - SignedDuration::from_hours(1);
    let email = render(EmailKind::Confirmation, &notice(), "noreply@ricevo.example.it", past);
    book_with(&*store, &prato, "2026-11-30T08:00:00Z", vec![row(&Outgoing::Email(email), past)]).await;

    let outbox_dir = dir.path().join("outbox");
    let worker = Worker::new(store.clone() as Arc<dyn Store>, Mailer::outbox(&outbox_dir)).unwrap();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(worker.run(shutdown));
    let mut waited = Duration::ZERO;
    while list_outbox_dir(&outbox_dir.join("prato")).unwrap().is_empty() {
        assert!(waited < Duration::from_secs(10), "the worker delivered nothing");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_notice_is_rendered_at_delivery_with_the_message_id_it_would_have_had() {
    let dir = tempfile::tempdir().unwrap();
    let store = ricevo_store::open(&format!("sqlite://{}", dir.path().join("ricevo.db").display())).await.unwrap();
    let prato = town(&*store, "prato").await;
    let now = at("2026-11-20T10:00:00Z");
    let outgoing = Outgoing::Notice {
        email: EmailKind::Confirmation,
        notice: Box::new(notice()),
        from: "noreply@ricevo.example.it".into(),
    };
    assert_eq!(outgoing.kind(), "email");
    book_with(&*store, &prato, "2026-11-30T08:00:00Z", vec![row(&outgoing, now)]).await;
    let outbox_dir = dir.path().join("outbox");
    let worker = Worker::new(store.clone() as Arc<dyn Store>, Mailer::outbox(&outbox_dir)).unwrap();
    assert_eq!(worker.run_once(now).await.unwrap(), 1);
    let files = list_outbox_dir(&outbox_dir.join("prato")).unwrap();
    assert_eq!(files.len(), 1);
    let eml = std::fs::read_to_string(outbox_dir.join("prato").join(&files[0].0)).unwrap();
    let expected = render(EmailKind::Confirmation, &notice(), "noreply@ricevo.example.it", now);
    assert!(eml.contains(&format!("Message-ID: {}", expected.message_id)), "{eml}");
    assert!(eml.contains("METHOD:REQUEST"));
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);
}

#[tokio::test]
async fn a_ticket_email_queued_with_its_ticket_is_delivered_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = ricevo_store::open(&format!("sqlite://{}", dir.path().join("ricevo.db").display())).await.unwrap();
    let prato = town(&*store, "prato").await;
    let now = at("2026-11-30T09:00:00Z");
    let new = ricevo_store::NewEntry {
        tenant_id: prato.tenant,
        office_id: prato.office.id,
        kind: ricevo_core::lobby::EntryKind::Ticket,
        appointment_id: None,
        meeting_id: None,
        name: "Maria Rossi".into(),
        email: Some("maria.rossi@example.org".into()),
        service: String::new(),
        booked_start: None,
        booked_end: None,
        abilities: ricevo_core::lobby::Abilities::citizen(),
        direct: false,
        token_hash: Some("ticket-token-hash".into()),
        phone: None,
        telegram_chat_id: None,
    };
    let mail = |number: i32| {
        let ticket = ricevo_notify::TicketNotice {
            uid: format!("ticket:{}:2026-11-30:{number}", prato.office.id.0),
            tenant_name: "Comune di prato".into(),
            tenant_email: "urp@prato.it".into(),
            office_name: prato.office.name.clone(),
            ticket_number: number,
            citizen_name: "Maria Rossi".into(),
            citizen_email: "maria.rossi@example.org".into(),
            join_url: "https://ricevo.example.it/a/tok789/join".into(),
            lang: Lang::It,
        };
        let outgoing = Outgoing::Ticket { ticket: Box::new(ticket), from: "noreply@ricevo.example.it".into() };
        let (kind, payload, due_at) = row(&outgoing, now);
        vec![NewOutboxMessage { kind, dedupe_key: format!("ticket-{number}"), payload, due_at, retractable: false }]
    };
    let entry = store.take_ticket(&new, jiff::civil::date(2026, 11, 30), now, &mail).await.unwrap();
    assert_eq!(entry.ticket_number, Some(1));

    let outbox_dir = dir.path().join("outbox");
    let worker = Worker::new(store.clone(), Mailer::outbox(&outbox_dir)).unwrap();
    assert_eq!(worker.run_once(now).await.unwrap(), 1);
    assert_eq!(worker.run_once(now).await.unwrap(), 0, "sent once");
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);
    let files = list_outbox_dir(&outbox_dir.join("prato")).unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    let eml = std::fs::read_to_string(outbox_dir.join("prato").join(&files[0].0)).unwrap();
    assert!(eml.contains("maria.rossi@example.org"), "{eml}");
    assert!(eml.contains("https://ricevo.example.it/a/tok789/join"), "{eml}");
}

/// Each town's e-mails land in that town's outbox folder, and none in the shared root.
async fn each_towns_e_mails_land_in_its_own_folder(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let prato = town(&*store, "prato").await;
    let altro = town(&*store, "altro").await;
    let now = at("2026-11-20T10:00:00Z");
    let prato_mail = render(EmailKind::Confirmation, &notice(), "noreply@ricevo.example.it", now);
    let altro_notice = AppointmentNotice {
        uid: "pub-2@ricevo.example.it".into(),
        citizen_name: "Luca Bianchi".into(),
        citizen_email: "luca.bianchi@example.org".into(),
        ..notice()
    };
    let altro_mail = render(EmailKind::Confirmation, &altro_notice, "noreply@ricevo.example.it", now);
    book_with(&*store, &prato, "2026-11-30T08:00:00Z", vec![row(&Outgoing::Email(prato_mail.clone()), now)]).await;
    book_with(&*store, &altro, "2026-11-30T09:00:00Z", vec![row(&Outgoing::Email(altro_mail.clone()), now)]).await;

    let root = dir.path().join("outbox");
    let worker = Worker::new(store.clone(), Mailer::outbox(&root)).unwrap();
    assert_eq!(worker.run_once(now).await.unwrap(), 2);
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);
    for (slug, mail, stranger) in [("prato", &prato_mail, "Luca Bianchi"), ("altro", &altro_mail, "Maria Rossi")] {
        let folder = root.join(slug);
        let files = list_outbox_dir(&folder).unwrap();
        assert_eq!(files.len(), 1, "{slug}: {files:?}");
        let eml = std::fs::read_to_string(folder.join(&files[0].0)).unwrap();
        assert!(eml.contains(&format!("Message-ID: {}", mail.message_id)), "{slug}: {eml}");
        assert!(!eml.contains(stranger), "{slug} holds another town's e-mail");
    }
    assert!(list_outbox_dir(&root).unwrap().is_empty(), "nothing is written flat in the shared folder");
}

#[tokio::test]
async fn each_towns_e_mails_land_in_its_own_folder_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = ricevo_store::open(&format!("sqlite://{}", dir.path().join("ricevo.db").display())).await.unwrap();
    each_towns_e_mails_land_in_its_own_folder(store).await;
}

#[tokio::test]
async fn each_towns_e_mails_land_in_its_own_folder_on_postgres() {
    let Some(schema) = ricevo_store::testing::TestSchema::create("notify").await else { return };
    let store = schema.node().await;
    store.migrate().await.unwrap();
    each_towns_e_mails_land_in_its_own_folder(store).await;
}

/// Whether someone connected to `listener` (accepted without waiting: a connection made before
/// this call is already in the backlog).
fn was_contacted(listener: &std::net::TcpListener) -> bool {
    listener.set_nonblocking(true).unwrap();
    match listener.accept() {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(e) => panic!("{e}"),
    }
}

/// A hook stored before the check existed (or whose name now resolves inside the network) is
/// refused at delivery, recorded as a failure like any other, and its receiver never contacted;
/// a hook whose internal host the configuration allows is delivered.
async fn an_internal_hook_stored_earlier_is_refused_at_delivery_unless_allowed(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let prato = town(&*store, "prato").await;
    let internal = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = internal.local_addr().unwrap().port();
    // Stored directly, as a row written before the check, or a name DNS now points inside.
    let literal = store.create_webhook(prato.tenant, &format!("http://0x7f000001:{port}/hook"), "k1").await.unwrap();
    let by_name = store.create_webhook(prato.tenant, &format!("http://localhost:{port}/hook"), "k2").await.unwrap();
    let now = at("2026-11-01T00:00:00Z");
    let body = r#"{"type":"appointment.booked"}"#;
    book_with(
        &*store,
        &prato,
        "2026-11-30T08:00:00Z",
        vec![row(&webhook(literal.id, "evt-1", body), now), row(&webhook(by_name.id, "evt-2", body), now)],
    )
    .await;

    let public_only = Worker::new(store.clone(), Mailer::outbox(dir.path())).unwrap();
    assert_eq!(public_only.run_once(now).await.unwrap(), 2);
    assert!(!was_contacted(&internal), "an internal receiver was contacted");
    assert_eq!(store.outbox_backlog().await.unwrap(), 2, "both wait for a retry");
    // The failures are recorded like any other: counted, retried after the usual backoff.
    let retry = store.due_outbox(now + SignedDuration::from_secs(30), 50).await.unwrap();
    assert_eq!(retry.iter().map(|m| m.attempts).collect::<Vec<_>>(), [1, 1]);

    // The system administrator allows the host: the next attempt goes through.
    let (url, receiver) = receiver(204).await;
    let allowed_hook = store.create_webhook(prato.tenant, &url, "k3").await.unwrap();
    book_with(&*store, &prato, "2026-11-30T09:00:00Z", vec![row(&webhook(allowed_hook.id, "evt-3", body), now)]).await;
    let allowing = loopback_worker(store.clone(), Mailer::outbox(dir.path()));
    assert_eq!(allowing.run_once(now).await.unwrap(), 1);
    let (signature, received) = receiver.await.unwrap();
    assert!(verify("k3", &signature, &received, now.as_second(), 300));
}

#[tokio::test]
async fn an_internal_hook_stored_earlier_is_refused_at_delivery_unless_allowed_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = ricevo_store::open(&format!("sqlite://{}", dir.path().join("ricevo.db").display())).await.unwrap();
    an_internal_hook_stored_earlier_is_refused_at_delivery_unless_allowed(store).await;
}

#[tokio::test]
async fn an_internal_hook_stored_earlier_is_refused_at_delivery_unless_allowed_on_postgres() {
    let Some(schema) = ricevo_store::testing::TestSchema::create("notify").await else { return };
    let store = schema.node().await;
    store.migrate().await.unwrap();
    an_internal_hook_stored_earlier_is_refused_at_delivery_unless_allowed(store).await;
}
