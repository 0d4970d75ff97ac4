//! GDPR access and erasure of one citizen, and retention of everything personal, run against
//! SQLite and PostgreSQL alike (PostgreSQL as in `behaviour.rs`: skipped without a server,
//! except under `CI=true`).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use ricevo_core::audit::{Act, Actor, Subject};
use ricevo_core::hours::{OpeningHours, WeeklyRange};
use ricevo_core::lobby::{Abilities, EntryKind, EntryStatus};
use ricevo_core::service::ServiceRules;
use ricevo_core::{Lang, Mode};
use ricevo_store::*;

struct Fixture {
    store: Arc<dyn Store>,
    _guard: Box<dyn std::any::Any + Send>,
}

async fn sqlite() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&format!("sqlite://{}", dir.path().join("test.db").display())).await.unwrap();
    Some(Fixture { store, _guard: Box::new(dir) })
}

async fn postgres() -> Option<Fixture> {
    let schema = ricevo_store::testing::TestSchema::create("privacy").await?;
    let store = schema.node().await;
    store.migrate().await.unwrap();
    Some(Fixture { store, _guard: Box::new(schema) })
}

struct Town {
    tenant: Tenant,
    office: Office,
    service: Service,
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
                name: "Carta d'identità".into(),
                description: String::new(),
                rules: ServiceRules::new(20, 10, vec![Mode::Video, Mode::InPerson], 0, 60).unwrap(),
                what_to_bring: String::new(),
                questions: vec![],
                active: true,
            },
        )
        .await
        .unwrap();
    Town { tenant, office, service }
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A booking in `town` at `start` for `email`; Maria's phone is written with spaces, and
/// everyone shares a test codice fiscale.
async fn book(store: &dyn Store, town: &Town, start: &str, email: &str) -> Appointment {
    let phone = if email.starts_with("gino") { "06 1234567" } else { "+39 333 123 4567" };
    let start = at(start);
    let n = rand::random::<u64>();
    let new = NewAppointment {
        public_id: format!("pub-{n}"),
        token_hash: format!("hash-{n}"),
        occupied_until: start + SignedDuration::from_mins(30),
        citizen_email: email.into(),
        citizen_phone: Some(phone.into()),
        fiscal_code: Some("RSSMRA85T10A562S".into()),
        notes: Some("Porto il vecchio documento".into()),
        answers: serde_json::json!({"motivo": "scaduta"}),
        now: at("2026-11-01T00:00:00Z"),
        outbox: vec![NewOutboxMessage {
            kind: "email".into(),
            dedupe_key: format!("confirm-{n}"),
            payload: format!("{{\"to\":\"{email}\"}}"),
            due_at: at("2026-11-01T00:00:00Z"),
            retractable: false,
        }],
        citizen_keys: vec![format!("email:{email}")],
        ..ricevo_store::testing::appointment(town.tenant.id, town.office.id, town.service.id, start)
    };
    match store.book(&new).await.unwrap() {
        BookOutcome::Booked(a) => *a,
        other => panic!("expected a booking, got {other:?}"),
    }
}

/// A walk-in ticket for `email`, whose e-mail is queued under the ticket's key.
// The citizen of `email` on the town's waitlist for its service, reachable on a Telegram chat.
async fn wait(store: &dyn Store, town: &Town, email: &str, chat: i64, now: Timestamp) -> WaitlistEntry {
    use ricevo_core::waitlist::{Preferences, Weekdays};
    store
        .join_waitlist(&NewWaitlistEntry {
            tenant_id: town.tenant.id,
            office_id: town.office.id,
            service_id: town.service.id,
            citizen_name: "Maria Rossi".into(),
            citizen_email: email.into(),
            citizen_phone: None,
            fiscal_code: None,
            telegram_chat_id: Some(chat),
            mode: Mode::InPerson,
            lang: Lang::It,
            preferences: Preferences::new(Weekdays::ALL, vec![], None).unwrap(),
            replaces: None,
            citizen_keys: vec![format!("email:{email}")],
            token_hash: format!("{}-{email}", town.tenant.slug),
            now,
        })
        .await
        .unwrap()
}

async fn ticket(store: &dyn Store, town: &Town, email: &str, now: Timestamp) -> ricevo_core::lobby::Entry {
    let day = jiff::civil::date(2026, 11, 30);
    let office = town.office.id;
    let mail = |n: i32| {
        vec![NewOutboxMessage {
            kind: "ticket".into(),
            dedupe_key: format!("ticket:{}:{day}:{n}:email", office.0),
            payload: format!("{{\"to\":\"{email}\",\"ticket_number\":{n}}}"),
            due_at: now,
            retractable: false,
        }]
    };
    let new = NewEntry {
        tenant_id: town.tenant.id,
        office_id: town.office.id,
        kind: EntryKind::Ticket,
        appointment_id: None,
        meeting_id: None,
        name: "Maria Rossi".into(),
        email: Some(email.into()),
        service: String::new(),
        booked_start: None,
        booked_end: None,
        abilities: Abilities::citizen(),
        direct: false,
        token_hash: Some(format!("ticket-{}", rand::random::<u64>())),
        phone: None,
        telegram_chat_id: None,
    };
    store.take_ticket(&new, day, now, &mail).await.unwrap()
}

/// The appointment's citizen arrives, is admitted into a meeting, shares a document and writes
/// in the chat; the official shares one back and answers.
async fn meet_and_share(store: &dyn Store, town: &Town, appt: &Appointment, now: Timestamp) -> Meeting {
    let arrival = NewEntry {
        tenant_id: town.tenant.id,
        office_id: town.office.id,
        kind: EntryKind::Appointment,
        appointment_id: Some(appt.id),
        meeting_id: None,
        name: appt.citizen_name.clone(),
        email: None,
        service: town.service.name.clone(),
        booked_start: Some(appt.start),
        booked_end: Some(appt.end),
        abilities: Abilities::citizen(),
        direct: false,
        token_hash: None,
        phone: None,
        telegram_chat_id: None,
    };
    let entry = store.arrive(&arrival, now).await.unwrap();
    let meeting = store
        .create_meeting(town.tenant.id, town.office.id, Some(appt.id), &format!("m-{}", appt.id.0), None, now)
        .await
        .unwrap();
    let admitted = entry.admit(meeting.id, now).unwrap();
    store.update_entry(&admitted, EntryStatus::Waiting).await.unwrap();
    store
        .add_document(town.tenant.id, meeting.id, entry.id, "carta.pdf", "application/pdf", b"%PDF-1", now)
        .await
        .unwrap();
    let official = NewEntry {
        kind: EntryKind::Official,
        appointment_id: None,
        meeting_id: Some(meeting.id),
        name: "Operatrice".into(),
        abilities: Abilities::official(),
        direct: true,
        token_hash: Some(format!("official-{}", rand::random::<u64>())),
        ..arrival
    };
    let official = store.add_entry(&official, now).await.unwrap();
    store
        .add_document(town.tenant.id, meeting.id, official.id, "ricevuta.pdf", "application/pdf", b"%PDF-2", now)
        .await
        .unwrap();
    store.add_chat_line(town.tenant.id, meeting.id, entry.id, &entry.name, "Ecco la carta", now).await.unwrap();
    store.add_chat_line(town.tenant.id, meeting.id, official.id, "Operatrice", "Ricevuta", now).await.unwrap();
    meeting
}

/// An audit entry naming Maria, about `subject`, at `at`.
async fn audit(store: &dyn Store, town: &Town, subject: Subject, at: Timestamp) {
    let entry = NewAuditEntry {
        tenant_id: town.tenant.id,
        at,
        actor: Actor::System,
        act: Act::AppointmentStatus,
        subject,
        citizen_name: Some("Maria Rossi".into()),
        detail: "done".into(),
        source: None,
    };
    store.record_audit(&entry).await.unwrap();
}

/// The citizen names of a town's audit log, newest first.
async fn audit_names(store: &dyn Store, town: &Town) -> Vec<Option<String>> {
    let filter = AuditFilter { limit: 100, ..AuditFilter::default() };
    store.audit_log(town.tenant.id, &filter).await.unwrap().into_iter().map(|e| e.citizen_name).collect()
}

macro_rules! privacy {
    ($engine:ident) => {
        mod $engine {
            use super::*;

            #[tokio::test]
            async fn a_citizens_record_gathers_what_one_town_holds_by_email_phone_or_fiscal_code() {
                let Some(f) = super::$engine().await else { return };
                let (a, b) = (town(&*f.store, "a").await, town(&*f.store, "b").await);
                let now = at("2026-11-30T09:00:00Z");
                let appt = book(&*f.store, &a, "2026-11-30T09:00:00Z", "Maria.Rossi@example.it").await;
                meet_and_share(&*f.store, &a, &appt, now).await;
                ticket(&*f.store, &a, "maria.rossi@example.it", now).await;
                // The same person in another town, and someone else in this one.
                let theirs = book(&*f.store, &b, "2026-11-30T09:00:00Z", "maria.rossi@example.it").await;
                ticket(&*f.store, &b, "maria.rossi@example.it", now).await;
                let other = book(&*f.store, &a, "2026-12-07T09:00:00Z", "gino@example.it").await;

                let by_email = f
                    .store
                    .citizen_record(a.tenant.id, &CitizenLookup::Email("MARIA.ROSSI@example.it".into()))
                    .await
                    .unwrap();
                assert_eq!(by_email.appointments.iter().map(|x| x.id).collect::<Vec<_>>(), [appt.id]);
                let kinds: Vec<&str> = by_email.entries.iter().map(|e| e.kind.as_str()).collect();
                assert_eq!(kinds.iter().filter(|k| **k == "ticket").count(), 1, "{kinds:?}");
                assert_eq!(kinds.iter().filter(|k| **k == "appointment").count(), 1, "{kinds:?}");
                assert!(by_email.entries.iter().all(|e| e.office_id == a.office.id));
                let mut docs: Vec<&str> = by_email.documents.iter().map(|d| d.name.as_str()).collect();
                docs.sort_unstable();
                assert_eq!(docs, ["carta.pdf", "ricevuta.pdf"]);
                let chat: Vec<&str> = by_email.chat.iter().map(|l| l.text.as_str()).collect();
                assert_eq!(chat, ["Ecco la carta", "Ricevuta"], "the chat of her meeting, both sides");
                let theirs_record = f
                    .store
                    .citizen_record(b.tenant.id, &CitizenLookup::Email("maria.rossi@example.it".into()))
                    .await
                    .unwrap();
                assert!(theirs_record.chat.is_empty(), "town b holds no chat of town a's meeting");
                assert_eq!(by_email.messages.len(), 2, "the confirmation and the ticket's e-mail");
                assert!(by_email.messages.iter().all(|m| !m.payload.contains("gino")));
                assert!(!by_email.appointments.iter().any(|x| x.id == theirs.id || x.id == other.id));

                let by_phone =
                    f.store.citizen_record(a.tenant.id, &CitizenLookup::Phone("3331234567".into())).await.unwrap();
                assert_eq!(by_phone.appointments.iter().map(|x| x.id).collect::<Vec<_>>(), [appt.id]);
                assert_eq!(by_phone.entries.len(), 1, "a ticket has no phone: only the appointment's place");
                assert_eq!(by_phone.documents.len(), 2);
                assert_eq!(by_phone.messages.len(), 1);
                let by_cf = f
                    .store
                    .citizen_record(a.tenant.id, &CitizenLookup::FiscalCode("RSSMRA85T10A562S".into()))
                    .await
                    .unwrap();
                assert_eq!(by_cf.appointments.len(), 2, "gino's booking carries the same test code");
                let nobody = f
                    .store
                    .citizen_record(a.tenant.id, &CitizenLookup::Email("nobody@example.it".into()))
                    .await
                    .unwrap();
                assert!(nobody.is_empty());
            }

            #[tokio::test]
            async fn erasure_waits_for_future_appointments_then_removes_everything_in_one_go() {
                let Some(f) = super::$engine().await else { return };
                let (a, b) = (town(&*f.store, "a").await, town(&*f.store, "b").await);
                let now = at("2026-11-30T09:00:00Z");
                let past = book(&*f.store, &a, "2026-11-30T09:00:00Z", "maria@example.it").await;
                meet_and_share(&*f.store, &a, &past, now).await;
                let tk = ticket(&*f.store, &a, "maria@example.it", now).await;
                let future = book(&*f.store, &a, "2026-12-07T09:00:00Z", "maria@example.it").await;
                let theirs = book(&*f.store, &b, "2026-11-30T09:00:00Z", "maria@example.it").await;
                audit(&*f.store, &a, Subject::Appointment(past.id), now).await;
                audit(&*f.store, &a, Subject::Entry(tk.id), now).await;
                audit(&*f.store, &b, Subject::Appointment(theirs.id), now).await;
                let later = at("2026-12-01T09:00:00Z");
                let maria = CitizenLookup::Email("maria@example.it".into());
                // She also waits for a time in both towns, from a Telegram chat whose half-made
                // conversation the bot keeps.
                let waiting = wait(&*f.store, &a, "maria@example.it", 77, now).await;
                let waiting_b = wait(&*f.store, &b, "maria@example.it", 77, now).await;
                let bot = |town: &Town| format!("town:{}", town.tenant.id);
                for town in [&a, &b] {
                    let chat = ChatState {
                        bot: bot(town),
                        chat_id: 77,
                        tenant_id: Some(town.tenant.id),
                        state: "{\"name\":\"Maria\"}".into(),
                        lang: Lang::It,
                        updated_at: now,
                        expires_at: later + SignedDuration::from_hours(24),
                    };
                    f.store.save_telegram_chat(&chat).await.unwrap();
                }

                match f.store.erase_citizen(a.tenant.id, &maria, later).await.unwrap() {
                    Erasure::ActiveAppointments(list) => {
                        assert_eq!(list.iter().map(|x| x.id).collect::<Vec<_>>(), [future.id]);
                    }
                    other => panic!("expected a refusal, got {other:?}"),
                }
                let untouched = f.store.citizen_record(a.tenant.id, &maria).await.unwrap();
                assert_eq!((untouched.appointments.len(), untouched.documents.len()), (2, 2), "nothing changed");

                f.store.cancel(a.tenant.id, future.id, 0, later, &[]).await.unwrap();
                let Erasure::Erased(counts) = f.store.erase_citizen(a.tenant.id, &maria, later).await.unwrap() else {
                    panic!("expected an erasure");
                };
                assert_eq!(counts.appointments, 2);
                assert_eq!(counts.documents, 2);
                assert_eq!(counts.entries, 2, "the ticket and the appointment's place");
                assert!(counts.messages >= 2, "{counts:?}");
                assert_eq!(counts.audit_names, 2);
                assert_eq!(counts.chat_lines, 2, "the chat of her meeting goes with it");
                assert_eq!(audit_names(&*f.store, &a).await, [None, None], "the acts stay, without her name");
                assert_eq!(audit_names(&*f.store, &b).await, [Some("Maria Rossi".to_owned())]);
                assert!(f.store.citizen_record(a.tenant.id, &maria).await.unwrap().is_empty());
                let after = f.store.appointment(a.tenant.id, past.id).await.unwrap().unwrap();
                assert_eq!(
                    (after.citizen_name.as_str(), after.citizen_email.as_str(), after.citizen_phone, after.fiscal_code),
                    ("", "", None, None)
                );
                assert_eq!((after.notes, after.answers), (None, serde_json::json!({})));
                assert_eq!(after.start, past.start, "times stay for reports");
                let place = f.store.entry(a.tenant.id, tk.id).await.unwrap().unwrap();
                assert_eq!(place.name, "");
                assert_eq!(place.ticket_number, tk.ticket_number);
                assert!(f.store.waitlist_entry(a.tenant.id, waiting.id).await.unwrap().is_none(), "off the waitlist");
                assert!(
                    f.store.telegram_chat(&bot(&a), 77, later).await.unwrap().is_none(),
                    "the chat's conversation goes"
                );
                assert!(f.store.waitlist_entry(b.tenant.id, waiting_b.id).await.unwrap().is_some());
                assert!(f.store.telegram_chat(&bot(&b), 77, later).await.unwrap().is_some(), "town b's chat is b's");
                // The other town's record of the same person is theirs to erase.
                let kept = f.store.appointment(b.tenant.id, theirs.id).await.unwrap().unwrap();
                assert_eq!(kept.citizen_email, "maria@example.it");
                assert_eq!(f.store.citizen_record(b.tenant.id, &maria).await.unwrap().messages.len(), 1);
            }

            #[tokio::test]
            async fn retention_deletes_a_towns_old_messages_and_documents_and_no_other_towns() {
                let Some(f) = super::$engine().await else { return };
                let (a, b) = (town(&*f.store, "a").await, town(&*f.store, "b").await);
                let now = at("2026-11-30T09:00:00Z");
                let appt = book(&*f.store, &a, "2026-11-30T09:00:00Z", "maria@example.it").await;
                meet_and_share(&*f.store, &a, &appt, now).await;
                let theirs = book(&*f.store, &b, "2026-11-30T09:00:00Z", "maria@example.it").await;
                meet_and_share(&*f.store, &b, &theirs, now).await;
                audit(&*f.store, &a, Subject::Appointment(appt.id), now).await;
                audit(&*f.store, &a, Subject::Appointment(appt.id), at("2027-02-01T00:00:00Z")).await;
                audit(&*f.store, &b, Subject::Appointment(theirs.id), now).await;
                let maria = CitizenLookup::Email("maria@example.it".into());

                let none = f.store.purge_personal_before(a.tenant.id, at("2026-10-01T00:00:00Z")).await.unwrap();
                assert_eq!(none, RetentionCounts::default());
                let gone = f.store.purge_personal_before(a.tenant.id, at("2027-01-01T00:00:00Z")).await.unwrap();
                assert_eq!((gone.messages, gone.documents, gone.audit_names), (1, 2, 1));
                assert_eq!(gone.chat_lines, 2, "the chat goes with the case");
                assert_eq!(
                    audit_names(&*f.store, &a).await,
                    [Some("Maria Rossi".to_owned()), None],
                    "only entries past the retention forget the name; the entries stay"
                );
                assert_eq!(audit_names(&*f.store, &b).await, [Some("Maria Rossi".to_owned())]);
                let record = f.store.citizen_record(a.tenant.id, &maria).await.unwrap();
                assert!(record.messages.is_empty() && record.documents.is_empty());
                let theirs = f.store.citizen_record(b.tenant.id, &maria).await.unwrap();
                assert_eq!((theirs.messages.len(), theirs.documents.len()), (1, 2), "town b keeps its own");
                assert_eq!(theirs.chat.len(), 2, "town b keeps its own chat");
                assert!(record.chat.is_empty());
            }

            // ---- webpush ----
            #[tokio::test]
            async fn push_subscriptions_belong_to_one_queued_place_of_one_town_and_go_with_the_visit() {
                let Some(f) = super::$engine().await else { return };
                let (a, b) = (town(&*f.store, "a").await, town(&*f.store, "b").await);
                let now = at("2026-11-30T09:00:00Z");
                let later = now + SignedDuration::from_hours(12);
                let place = ticket(&*f.store, &a, "maria.rossi@example.it", now).await;
                let theirs = ticket(&*f.store, &b, "maria.rossi@example.it", now).await;
                let browser = |n: usize| NewPushSubscription {
                    tenant_id: a.tenant.id,
                    entry_id: place.id,
                    appointment_id: None,
                    endpoint: format!("https://push.example.net/sub/{n}"),
                    p256dh: "BPUBLIC".into(),
                    auth: "AUTH".into(),
                    lang: Lang::En,
                    expires_at: later,
                };
                let Subscribed::Stored(first) = f.store.add_push_subscription(&browser(0), now).await.unwrap() else {
                    panic!("stored")
                };
                // The same browser again renews its keys; it is not a second subscription.
                let renewed = NewPushSubscription { p256dh: "BNEWER".into(), ..browser(0) };
                assert_eq!(f.store.add_push_subscription(&renewed, now).await.unwrap(), Subscribed::Stored(first));
                // Another town's place cannot be named, nor a place of this town from another's.
                let foreign = NewPushSubscription { entry_id: theirs.id, ..browser(9) };
                assert!(matches!(f.store.add_push_subscription(&foreign, now).await, Err(StoreError::NotFound)));
                let wrong_town = NewPushSubscription { tenant_id: b.tenant.id, ..browser(9) };
                assert!(matches!(f.store.add_push_subscription(&wrong_town, now).await, Err(StoreError::NotFound)));
                for n in 1..MAX_SUBSCRIPTIONS_PER_ENTRY as usize {
                    assert!(matches!(f.store.add_push_subscription(&browser(n), now).await, Ok(Subscribed::Stored(_))));
                }
                assert_eq!(f.store.add_push_subscription(&browser(99), now).await.unwrap(), Subscribed::TooMany);
                let listed = f.store.push_subscriptions_of(a.tenant.id, place.id, None, now).await.unwrap();
                assert_eq!(listed.len(), MAX_SUBSCRIPTIONS_PER_ENTRY as usize);
                assert_eq!((listed[0].id, listed[0].p256dh.as_str(), listed[0].lang), (first, "BNEWER", Lang::En));
                assert!(f.store.push_subscriptions_of(b.tenant.id, place.id, None, now).await.unwrap().is_empty());
                assert!(
                    f.store.push_subscriptions_of(a.tenant.id, place.id, None, later).await.unwrap().is_empty(),
                    "expired"
                );

                // Admission and its push rows in one transaction; a stale status writes neither.
                let meeting =
                    f.store.create_meeting(a.tenant.id, a.office.id, None, "m-push", None, now).await.unwrap();
                let admitted = place.admit(meeting.id, now).unwrap();
                let push = NewOutboxMessage {
                    kind: "push".into(),
                    dedupe_key: format!("push:turn:{}:{first}", place.id.0),
                    payload: "{}".into(),
                    due_at: now,
                    retractable: false,
                };
                let stale = f
                    .store
                    .update_entry_with_outbox(&admitted, EntryStatus::Held, std::slice::from_ref(&push), now)
                    .await;
                assert!(matches!(stale, Err(StoreError::Stale)), "{stale:?}");
                assert_eq!(f.store.outbox_backlog().await.unwrap(), 2, "the two tickets' e-mails only");
                f.store.update_entry_with_outbox(&admitted, EntryStatus::Waiting, &[push], now).await.unwrap();
                assert_eq!(f.store.outbox_backlog().await.unwrap(), 3);
                // Admitted, it cannot be subscribed for any more; the visit goes on, so they stay.
                assert!(matches!(f.store.add_push_subscription(&browser(7), now).await, Err(StoreError::NotFound)));
                assert_eq!(f.store.purge_push_subscriptions(now).await.unwrap(), 0);
                // The visit ends: its subscriptions go with the next purge.
                let done = admitted.finish(now).unwrap();
                f.store.update_entry(&done, EntryStatus::Admitted).await.unwrap();
                assert_eq!(f.store.purge_push_subscriptions(now).await.unwrap(), MAX_SUBSCRIPTIONS_PER_ENTRY as u64);
                assert!(f.store.push_subscription(first).await.unwrap().is_none());

                // Erasure and retention take a citizen's subscriptions, and only their town's.
                let next = ticket(&*f.store, &a, "maria.rossi@example.it", now).await;
                let other = ticket(&*f.store, &b, "gino@example.it", now).await;
                let mine = NewPushSubscription { entry_id: next.id, ..browser(0) };
                let gino = NewPushSubscription { tenant_id: b.tenant.id, entry_id: other.id, ..browser(0) };
                let Subscribed::Stored(mine) = f.store.add_push_subscription(&mine, now).await.unwrap() else {
                    panic!()
                };
                let Subscribed::Stored(gino) = f.store.add_push_subscription(&gino, now).await.unwrap() else {
                    panic!()
                };
                let maria = CitizenLookup::Email("maria.rossi@example.it".into());
                assert!(matches!(f.store.erase_citizen(a.tenant.id, &maria, now).await.unwrap(), Erasure::Erased(_)));
                assert!(f.store.push_subscription(mine).await.unwrap().is_none(), "erased with her data");
                assert!(f.store.push_subscription(gino).await.unwrap().is_some(), "another town's stays");
                f.store.purge_personal_before(b.tenant.id, now + SignedDuration::from_secs(1)).await.unwrap();
                assert!(f.store.push_subscription(gino).await.unwrap().is_none(), "gone with the town's retention");
                f.store.set_web_push(a.tenant.id, true).await.unwrap();
                assert!(f.store.tenant_by_slug("a").await.unwrap().unwrap().web_push);
                assert!(!f.store.tenant_by_slug("b").await.unwrap().unwrap().web_push, "off by default");
            }
            // ---- end webpush ----
        }
    };
}

privacy!(sqlite);
privacy!(postgres);
