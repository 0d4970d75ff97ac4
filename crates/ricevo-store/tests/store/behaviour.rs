//! The behaviour every store must have, run against SQLite and PostgreSQL alike.
//!
//! PostgreSQL is reached at `RICEVO_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test gets its own schema and drops it.
//! Without a server the PostgreSQL cases are skipped, except under `CI=true`, where they fail.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use ricevo_core::hours::{OpeningHours, WeeklyRange};
use ricevo_core::lobby::{Abilities, Entry, EntryKind, EntryStatus, WalkInDesk};
use ricevo_core::service::ServiceRules;
use ricevo_core::{Closure, Lang, Mode, OfficeId, TenantId};
use ricevo_store::*;

struct Fixture {
    store: Arc<dyn Store>,
    // A second connection pool on the same database: a second server node.
    other_node: Arc<dyn Store>,
    _guard: Box<dyn std::any::Any + Send>,
}

async fn sqlite() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = open(&url).await.unwrap();
    let other_node = open(&url).await.unwrap();
    Some(Fixture { store, other_node, _guard: Box::new(dir) })
}

async fn postgres() -> Option<Fixture> {
    let schema = ricevo_store::testing::TestSchema::create("t").await?;
    let store = schema.node().await;
    store.migrate().await.unwrap();
    let other_node = schema.node().await;
    Some(Fixture { store, other_node, _guard: Box::new(schema) })
}

fn new_tenant(slug: &str) -> NewTenant {
    NewTenant {
        slug: slug.into(),
        name: format!("Comune di {slug}"),
        time_zone: "Europe/Rome".into(),
        patron_day: Some("06-24".into()),
        contact_email: format!("urp@{slug}.it"),
        privacy_notice: "Informativa".into(),
        retention_days: 365,
    }
}

struct Town {
    tenant: Tenant,
    office: Office,
    service: Service,
}

async fn town(store: &dyn Store, slug: &str, desks: u16) -> Town {
    let tenant = store.create_tenant(&new_tenant(slug)).await.unwrap();
    let office = store
        .create_office(
            tenant.id,
            &NewOffice {
                name: "Anagrafe".into(),
                description: "Servizi demografici".into(),
                address: "Piazza del Comune 1".into(),
                contact_email: "anagrafe@x.it".into(),
            },
        )
        .await
        .unwrap();
    let t = |h, m| jiff::civil::Time::new(h, m, 0, 0).unwrap();
    let hours =
        OpeningHours::new(vec![WeeklyRange::new(jiff::civil::Weekday::Monday, t(9, 0), t(12, 0)).unwrap()], desks)
            .unwrap();
    store.set_hours(tenant.id, office.id, &hours).await.unwrap();
    let office = store.office(tenant.id, office.id).await.unwrap().unwrap();
    assert_eq!(office.desks, i32::from(desks));
    let service = store
        .create_service(
            tenant.id,
            &NewService {
                office_id: office.id,
                name: "Carta d'identità elettronica".into(),
                description: String::new(),
                rules: ServiceRules::new(20, 10, vec![Mode::Video, Mode::InPerson], 0, 60).unwrap(),
                what_to_bring: "Foto tessera".into(),
                questions: vec![],
                active: true,
            },
        )
        .await
        .unwrap();
    Town { tenant, office, service }
}

async fn town_named(store: &dyn Store, slug: &str) -> Tenant {
    store.create_tenant(&new_tenant(slug)).await.unwrap()
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn booking(town: &Town, start: &str, n: u32) -> NewAppointment {
    let start = at(start);
    NewAppointment {
        desks: u16::try_from(town.office.desks).unwrap(),
        public_id: format!("pub-{n}-{}", rand::random::<u64>()),
        token_hash: format!("hash-{n}-{}", rand::random::<u64>()),
        occupied_until: start + SignedDuration::from_mins(30),
        citizen_name: format!("Cittadino {n}"),
        citizen_email: format!("c{n}@example.it"),
        fiscal_code: Some("RSSMRA85T10A562S".into()),
        now: at("2026-11-01T00:00:00Z"),
        outbox: vec![
            NewOutboxMessage {
                kind: "email".into(),
                dedupe_key: format!("confirm-{n}-{}", rand::random::<u64>()),
                payload: "{\"n\":1}".into(),
                due_at: at("2026-11-01T00:00:00Z"),
                retractable: false,
            },
            NewOutboxMessage {
                kind: "email".into(),
                dedupe_key: format!("remind-{n}-{}", rand::random::<u64>()),
                payload: "{\"n\":2}".into(),
                due_at: start - SignedDuration::from_hours(24),
                retractable: true,
            },
        ],
        ..ricevo_store::testing::appointment(town.tenant.id, town.office.id, town.service.id, start)
    }
}

fn booked(outcome: BookOutcome) -> Appointment {
    match outcome {
        BookOutcome::Booked(a) => *a,
        other => panic!("expected a booking, got {other:?}"),
    }
}

fn arrival(town: &Town, appt: &Appointment) -> NewEntry {
    NewEntry {
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
    }
}

fn walk_in(town: &Town, name: &str) -> NewEntry {
    NewEntry {
        tenant_id: town.tenant.id,
        office_id: town.office.id,
        kind: EntryKind::Ticket,
        appointment_id: None,
        meeting_id: None,
        name: name.into(),
        email: Some(format!("{name}@example.it")),
        service: String::new(),
        booked_start: None,
        booked_end: None,
        abilities: Abilities::citizen(),
        direct: false,
        token_hash: Some(format!("ticket-{name}-{}", rand::random::<u64>())),
        phone: None,
        telegram_chat_id: None,
    }
}

/// Queues nothing with a ticket.
fn no_mail(_: i32) -> Vec<NewOutboxMessage> {
    Vec::new()
}

fn official_entry(town: &Town, meeting: &Meeting) -> NewEntry {
    NewEntry {
        kind: EntryKind::Official,
        meeting_id: Some(meeting.id),
        name: "Operatrice".into(),
        email: None,
        abilities: Abilities::official(),
        direct: true,
        token_hash: Some(format!("official-{}", rand::random::<u64>())),
        phone: None,
        telegram_chat_id: None,
        ..walk_in(town, "x")
    }
}

macro_rules! behaviour {
    ($engine:ident) => {
        mod $engine {
            use super::*;

            async fn fixture() -> Option<Fixture> {
                super::$engine().await
            }

            #[tokio::test]
            async fn a_slug_can_belong_to_one_tenant_only() {
                let Some(f) = fixture().await else { return };
                f.store.create_tenant(&new_tenant("prato")).await.unwrap();
                let again = f.store.create_tenant(&new_tenant("prato")).await;
                assert!(matches!(again, Err(StoreError::Duplicate)), "{again:?}");
                assert_eq!(f.store.tenant_by_slug("prato").await.unwrap().unwrap().name, "Comune di prato");
                assert!(f.store.tenant_by_slug("nessuno").await.unwrap().is_none());
            }

            #[tokio::test]
            async fn hours_closures_and_services_read_back_as_written() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 2).await;
                let hours = f.store.hours(town.tenant.id, town.office.id).await.unwrap();
                assert_eq!(hours, vec![RangeRow { weekday: 1, start_minute: 540, end_minute: 720 }]);
                assert_eq!(f.store.office(town.tenant.id, town.office.id).await.unwrap().unwrap().desks, 2);
                let d = |s: &str| s.parse::<jiff::civil::Date>().unwrap();
                let id = f
                    .store
                    .add_closure(
                        town.tenant.id,
                        town.office.id,
                        &Closure::new(d("2026-12-07"), d("2026-12-09"), "Trasloco".into()).unwrap(),
                    )
                    .await
                    .unwrap();
                let closures = f.store.closures(town.tenant.id, town.office.id).await.unwrap();
                assert_eq!(closures.len(), 1);
                assert_eq!(closures[0].first_day, "2026-12-07");
                f.store.delete_closure(town.tenant.id, town.office.id, id).await.unwrap();
                assert!(f.store.closures(town.tenant.id, town.office.id).await.unwrap().is_empty());
                let service = f.store.service(town.tenant.id, town.service.id).await.unwrap().unwrap();
                assert_eq!(service, town.service);
                assert_eq!(service.rules.modes(), &[Mode::Video, Mode::InPerson]);
            }

            #[tokio::test]
            async fn nothing_of_one_town_is_reachable_through_another() {
                let Some(f) = fixture().await else { return };
                let a = town(&*f.store, "a", 1).await;
                let b = town(&*f.store, "b", 1).await;
                let appt = booked(f.store.book(&booking(&a, "2026-11-30T08:00:00Z", 1)).await.unwrap());
                assert!(f.store.office(b.tenant.id, a.office.id).await.unwrap().is_none());
                assert!(f.store.service(b.tenant.id, a.service.id).await.unwrap().is_none());
                assert!(f.store.appointment(b.tenant.id, appt.id).await.unwrap().is_none());
                assert!(f.store.hours(b.tenant.id, a.office.id).await.unwrap().is_empty());
                let everything = (at("2000-01-01T00:00:00Z"), at("2100-01-01T00:00:00Z"));
                assert!(
                    f.store
                        .appointments_between(b.tenant.id, None, everything.0, everything.1)
                        .await
                        .unwrap()
                        .is_empty()
                );
                assert!(matches!(
                    f.store.cancel(b.tenant.id, appt.id, 0, at("2026-11-02T00:00:00Z"), &[]).await,
                    Err(StoreError::NotFound)
                ));
                let office_b = NewOffice {
                    name: "x".into(),
                    description: String::new(),
                    address: String::new(),
                    contact_email: String::new(),
                };
                assert!(matches!(
                    f.store.update_office(b.tenant.id, a.office.id, &office_b).await,
                    Err(StoreError::NotFound)
                ));
                // A user of town B cannot be given an office of town A.
                let grant =
                    f.store.create_user(b.tenant.id, "op@b.it", "Op", Role::Operator, "h", &[a.office.id]).await;
                assert!(matches!(grant, Err(StoreError::NotFound)), "{grant:?}");
                assert!(f.store.search_appointments(b.tenant.id, "Cittadino", 10).await.unwrap().is_empty());
                assert_eq!(f.store.search_appointments(a.tenant.id, "cittadino 1", 10).await.unwrap().len(), 1);
            }

            #[tokio::test]
            async fn a_booking_takes_its_seats_and_a_cancellation_gives_them_back() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let appt = booked(f.store.book(&booking(&town, "2026-11-30T08:00:00Z", 1)).await.unwrap());
                assert_eq!(appt.status, AppointmentStatus::Booked);
                assert_eq!(appt.occupied_until, at("2026-11-30T08:30:00Z"));
                let stored = f.store.appointment(town.tenant.id, appt.id).await.unwrap().unwrap();
                assert_eq!(stored, appt, "the answer is what was stored");
                // The buffer counts: 08:20 overlaps the first booking's buffer.
                assert_eq!(f.store.book(&booking(&town, "2026-11-30T08:20:00Z", 2)).await.unwrap(), BookOutcome::Full);
                let b = f
                    .store
                    .booked(town.tenant.id, town.office.id, at("2026-11-30T00:00:00Z"), at("2026-12-01T00:00:00Z"))
                    .await
                    .unwrap();
                assert_eq!(b.len(), 1);
                let cancelled =
                    f.store.cancel(town.tenant.id, appt.id, 0, at("2026-11-02T00:00:00Z"), &[]).await.unwrap();
                assert_eq!(cancelled.status, AppointmentStatus::Cancelled);
                assert_eq!(cancelled.sequence, 1);
                assert!(
                    f.store
                        .booked(town.tenant.id, town.office.id, at("2026-11-30T00:00:00Z"), at("2026-12-01T00:00:00Z"))
                        .await
                        .unwrap()
                        .is_empty()
                );
                booked(f.store.book(&booking(&town, "2026-11-30T08:20:00Z", 3)).await.unwrap());
                // Cancelling twice is refused as stale, not silently repeated.
                assert!(matches!(
                    f.store.cancel(town.tenant.id, appt.id, 1, at("2026-11-02T00:00:00Z"), &[]).await,
                    Err(StoreError::Stale)
                ));
            }

            #[tokio::test]
            async fn taken_seats_are_read_per_step_without_the_excepted_appointment_or_other_towns() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 2).await;
                let other = town_named(&*f.store, "b").await;
                let a = booked(f.store.book(&booking(&town, "2026-11-30T08:00:00Z", 1)).await.unwrap());
                let (from, to) = (at("2026-11-30T08:00:00Z"), at("2026-11-30T08:30:00Z"));
                let taken = f.store.taken_seats(town.tenant.id, town.office.id, from, to, None).await.unwrap();
                assert_eq!(taken.len(), 6, "30 minutes of meeting and buffer are six steps");
                assert_eq!(taken.iter().map(|b| b.start).min(), Some(from));
                assert!(
                    f.store.taken_seats(town.tenant.id, town.office.id, from, to, Some(a.id)).await.unwrap().is_empty()
                );
                assert!(f.store.taken_seats(other.id, town.office.id, from, to, None).await.unwrap().is_empty());
                let later = f
                    .store
                    .taken_seats(town.tenant.id, town.office.id, to, at("2026-11-30T09:00:00Z"), None)
                    .await
                    .unwrap();
                assert!(later.is_empty());
            }

            #[tokio::test]
            async fn what_one_node_announces_the_other_nodes_hear() {
                let Some(f) = fixture().await else { return };
                let Some(mut heard) = f.other_node.listen().await.unwrap() else {
                    // SQLite: one node per file, so there is no one to listen to.
                    assert!(f.store.listen().await.unwrap().is_none());
                    f.store.announce("office:1").await.unwrap();
                    return;
                };
                for topic in ["entry:7", "office:3"] {
                    f.store.announce(topic).await.unwrap();
                    let got = tokio::time::timeout(std::time::Duration::from_secs(10), heard.recv())
                        .await
                        .expect("the announcement arrives")
                        .expect("the listener is alive");
                    assert_eq!(got, topic);
                }
            }

            #[tokio::test]
            async fn the_last_seat_goes_to_exactly_one_of_many_concurrent_bookings_across_nodes() {
                let Some(f) = fixture().await else { return };
                let town = Arc::new(town(&*f.store, "a", 2).await);
                let mut tasks = Vec::new();
                for n in 0..24u32 {
                    let store = if n % 2 == 0 { f.store.clone() } else { f.other_node.clone() };
                    let town = town.clone();
                    tasks.push(tokio::spawn(async move {
                        store.book(&booking(&town, "2026-11-30T08:00:00Z", n)).await.unwrap()
                    }));
                }
                let outcomes = futures::future::join_all(tasks).await;
                let wins = outcomes.iter().filter(|o| matches!(o.as_ref().unwrap(), BookOutcome::Booked(_))).count();
                let full = outcomes.iter().filter(|o| matches!(o.as_ref().unwrap(), BookOutcome::Full)).count();
                assert_eq!((wins, full), (2, 22));
                let b = f
                    .store
                    .booked(town.tenant.id, town.office.id, at("2026-11-30T00:00:00Z"), at("2026-12-01T00:00:00Z"))
                    .await
                    .unwrap();
                assert_eq!(b.len(), 2);
            }

            #[tokio::test]
            async fn a_status_change_is_written_only_over_the_status_it_was_decided_from() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let other = town_named(&*f.store, "b").await;
                let appt = booked(f.store.book(&booking(&town, "2026-11-30T08:00:00Z", 1)).await.unwrap());
                let now = at("2026-11-30T08:10:00Z");
                use AppointmentStatus::{Booked, CheckedIn, Done, NoShow};
                // Two officials decide from Booked at once, on two nodes: one wins, one is stale.
                let (a, b) = tokio::join!(
                    f.store.set_status(town.tenant.id, appt.id, Booked, Done, now),
                    f.other_node.set_status(town.tenant.id, appt.id, Booked, NoShow, now),
                );
                assert!(a.is_ok() != b.is_ok(), "exactly one wins: {a:?} {b:?}");
                assert!(matches!(a.err().or(b.err()), Some(StoreError::Stale)));
                let after = f.store.appointment(town.tenant.id, appt.id).await.unwrap().unwrap().status;
                assert!(after == Done || after == NoShow);
                // A decision taken from a status the appointment no longer has writes nothing.
                let stale = f.store.set_status(town.tenant.id, appt.id, Booked, CheckedIn, now).await;
                assert!(matches!(stale, Err(StoreError::Stale)), "{stale:?}");
                assert_eq!(f.store.appointment(town.tenant.id, appt.id).await.unwrap().unwrap().status, after);
                // Another town's id is not found, whatever status it names.
                let foreign = f.store.set_status(other.id, appt.id, after, CheckedIn, now).await;
                assert!(matches!(foreign, Err(StoreError::NotFound)), "{foreign:?}");
            }

            #[tokio::test]
            async fn concurrent_bookings_of_one_citizen_across_nodes_never_exceed_the_quota() {
                let Some(f) = fixture().await else { return };
                let other = town(&*f.store, "b", 3).await;
                let town = Arc::new(town(&*f.store, "a", 3).await);
                let quota = ricevo_core::quota::CitizenQuota::new(2);
                let mine = |n: u32, keys: &[&str]| {
                    // Sixteen different times, so only the quota can refuse.
                    let start = at("2026-11-30T08:00:00Z") + SignedDuration::from_mins(i64::from(n) * 40);
                    let mut new = booking(&town, &start.to_string(), n);
                    new.citizen_keys = keys.iter().map(|k| (*k).to_owned()).collect();
                    new.quota = Some(quota);
                    new
                };
                let mut tasks = Vec::new();
                for n in 0..16u32 {
                    let store = if n % 2 == 0 { f.store.clone() } else { f.other_node.clone() };
                    // The same person, known by e-mail on some requests and by codice fiscale on others.
                    let keys: &[&str] = if n % 3 == 0 { &["cf:RSSMRA85T10A562S"] } else { &["email:m@x.it", "cf:RSSMRA85T10A562S"] };
                    let new = mine(n, keys);
                    tasks.push(tokio::spawn(async move { store.book(&new).await.unwrap() }));
                }
                let outcomes: Vec<BookOutcome> =
                    futures::future::join_all(tasks).await.into_iter().map(Result::unwrap).collect();
                let wins = outcomes.iter().filter(|o| matches!(o, BookOutcome::Booked(_))).count();
                let refused = outcomes.iter().filter(|o| matches!(o, BookOutcome::QuotaReached(q) if q.max() == 2)).count();
                assert_eq!((wins, refused), (2, 14), "{outcomes:?}");
                // Someone else, another service, or after a cancellation: room again.
                booked(f.store.book(&mine(20, &["email:other@x.it"])).await.unwrap());
                let mut elsewhere = booking(&other, "2026-11-30T08:00:00Z", 21);
                elsewhere.citizen_keys = vec!["cf:RSSMRA85T10A562S".into()];
                elsewhere.quota = Some(quota);
                booked(f.store.book(&elsewhere).await.unwrap());
                let first = outcomes.iter().find_map(|o| match o { BookOutcome::Booked(a) => Some(a.clone()), _ => None }).unwrap();
                f.store.cancel(town.tenant.id, first.id, 0, at("2026-11-02T00:00:00Z"), &[]).await.unwrap();
                booked(f.store.book(&mine(22, &["cf:RSSMRA85T10A562S"])).await.unwrap());
                assert!(matches!(f.store.book(&mine(23, &["email:m@x.it", "cf:RSSMRA85T10A562S"])).await.unwrap(), BookOutcome::QuotaReached(_)));
                // An appointment that has ended counts no more.
                let mut later = mine(24, &["email:m@x.it"]);
                later.now = at("2026-12-31T00:00:00Z");
                later.start = at("2027-01-04T08:00:00Z");
                later.end = later.start + SignedDuration::from_mins(20);
                later.occupied_until = later.start + SignedDuration::from_mins(30);
                booked(f.store.book(&later).await.unwrap());
            }

            #[tokio::test]
            async fn a_retried_request_with_the_same_key_gets_the_first_answer() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 3).await;
                let mut first = booking(&town, "2026-11-30T08:00:00Z", 1);
                first.idempotency = Some(IdempotencyRecord {
                    key: "k-1".into(),
                    request_hash: "h".into(),
                    status: 201,
                    body: "{\"id\":\"x\"}".into(),
                });
                booked(f.store.book(&first).await.unwrap());
                let mut retry = booking(&town, "2026-11-30T08:00:00Z", 2);
                retry.idempotency = first.idempotency.clone();
                match f.store.book(&retry).await.unwrap() {
                    BookOutcome::Replay(r) => assert_eq!((r.status, r.body.as_str()), (201, "{\"id\":\"x\"}")),
                    other => panic!("expected a replay, got {other:?}"),
                }
                let b = f
                    .store
                    .booked(town.tenant.id, town.office.id, at("2026-11-30T00:00:00Z"), at("2026-12-01T00:00:00Z"))
                    .await
                    .unwrap();
                assert_eq!(b.len(), 1, "the retry must not book again");
            }

            #[tokio::test]
            async fn concurrent_requests_with_one_key_book_once_and_the_others_get_the_first_answer() {
                let Some(f) = fixture().await else { return };
                let town = Arc::new(town(&*f.store, "a", 3).await);
                let key = IdempotencyRecord {
                    key: "k-1".into(),
                    request_hash: "h".into(),
                    status: 201,
                    body: "{\"id\":\"x\"}".into(),
                };
                let mut tasks = Vec::new();
                for n in 0..16u32 {
                    let store = if n % 2 == 0 { f.store.clone() } else { f.other_node.clone() };
                    let mut new = booking(&town, "2026-11-30T08:00:00Z", n);
                    new.idempotency = Some(key.clone());
                    tasks.push(tokio::spawn(async move { store.book(&new).await.unwrap() }));
                }
                let outcomes: Vec<BookOutcome> =
                    futures::future::join_all(tasks).await.into_iter().map(Result::unwrap).collect();
                let wins = outcomes.iter().filter(|o| matches!(o, BookOutcome::Booked(_))).count();
                let replays = outcomes
                    .iter()
                    .filter(|o| matches!(o, BookOutcome::Replay(r) if r.body == key.body && r.status == 201))
                    .count();
                assert_eq!((wins, replays), (1, 15), "{outcomes:?}");
                let b = f
                    .store
                    .booked(town.tenant.id, town.office.id, at("2026-11-30T00:00:00Z"), at("2026-12-01T00:00:00Z"))
                    .await
                    .unwrap();
                assert_eq!(b.len(), 1, "one key books once");
            }

            #[tokio::test]
            async fn moving_to_a_full_time_keeps_the_old_seat_and_moving_to_a_free_one_bumps_the_sequence() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let a = booked(f.store.book(&booking(&town, "2026-11-30T08:00:00Z", 1)).await.unwrap());
                booked(f.store.book(&booking(&town, "2026-11-30T09:00:00Z", 2)).await.unwrap());
                let to = |s: &str| Reschedule {
                    start: at(s),
                    end: at(s) + SignedDuration::from_mins(20),
                    occupied_until: at(s) + SignedDuration::from_mins(30),
                    desks: 1,
                };
                let now = at("2026-11-02T00:00:00Z");
                assert_eq!(
                    f.store.reschedule(town.tenant.id, a.id, 0, &to("2026-11-30T09:00:00Z"), now, &[]).await.unwrap(),
                    None
                );
                let still = f.store.appointment(town.tenant.id, a.id).await.unwrap().unwrap();
                assert_eq!((still.start, still.sequence), (a.start, 0));
                assert_eq!(f.store.book(&booking(&town, "2026-11-30T08:00:00Z", 3)).await.unwrap(), BookOutcome::Full);
                let moved = f
                    .store
                    .reschedule(town.tenant.id, a.id, 0, &to("2026-11-30T10:00:00Z"), now, &[])
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!((moved.start, moved.sequence), (at("2026-11-30T10:00:00Z"), 1));
                booked(f.store.book(&booking(&town, "2026-11-30T08:00:00Z", 4)).await.unwrap());
                assert!(matches!(
                    f.store.reschedule(town.tenant.id, a.id, 0, &to("2026-11-30T11:00:00Z"), now, &[]).await,
                    Err(StoreError::Stale)
                ));
            }

            #[tokio::test]
            async fn the_outbox_holds_messages_until_due_and_forgets_bodies_once_sent() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let a = booked(f.store.book(&booking(&town, "2026-11-30T08:00:00Z", 1)).await.unwrap());
                let now = at("2026-11-01T00:00:00Z");
                let due = f.store.due_outbox(now, 10).await.unwrap();
                assert_eq!(due.len(), 1, "only the confirmation is due; the reminder waits");
                assert_eq!(f.store.outbox_backlog().await.unwrap(), 2);
                assert!(f.other_node.due_outbox(now, 10).await.unwrap().is_empty(), "claimed by the first node");
                f.store.outbox_failed(due[0].id, "smtp down", at("2026-11-01T00:05:00Z")).await.unwrap();
                assert!(f.store.due_outbox(now, 10).await.unwrap().is_empty());
                let retry = f.store.due_outbox(at("2026-11-01T00:05:00Z"), 10).await.unwrap();
                assert_eq!(retry[0].attempts, 1);
                f.store.outbox_sent(&[retry[0].id], now).await.unwrap();
                assert_eq!(f.store.outbox_backlog().await.unwrap(), 1);
                // Cancelling drops the pending reminder and queues the cancellation.
                let cancel_mail = NewOutboxMessage {
                    kind: "email".into(),
                    dedupe_key: "cancel-1".into(),
                    payload: "{}".into(),
                    due_at: now,
                    retractable: false,
                };
                f.store.cancel(town.tenant.id, a.id, 0, now, std::slice::from_ref(&cancel_mail)).await.unwrap();
                let left = f.store.due_outbox(at("2027-01-01T00:00:00Z"), 10).await.unwrap();
                assert_eq!(left.iter().map(|m| m.dedupe_key.as_str()).collect::<Vec<_>>(), ["cancel-1"]);
            }

            #[tokio::test]
            async fn anonymising_old_appointments_keeps_them_for_statistics() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let a = booked(f.store.book(&booking(&town, "2026-11-30T08:00:00Z", 1)).await.unwrap());
                assert_eq!(f.store.anonymise_before(town.tenant.id, at("2026-11-30T00:00:00Z")).await.unwrap(), 0);
                assert_eq!(f.store.anonymise_before(town.tenant.id, at("2026-12-30T00:00:00Z")).await.unwrap(), 1);
                let after = f.store.appointment(town.tenant.id, a.id).await.unwrap().unwrap();
                assert_eq!(
                    (after.citizen_name.as_str(), after.citizen_email.as_str(), after.fiscal_code),
                    ("", "", None)
                );
                assert_eq!(after.service_id, a.service_id);
            }

            #[tokio::test]
            async fn staff_sessions_and_api_tokens_carry_their_grants() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let u = f
                    .store
                    .create_user(town.tenant.id, "Op@A.it", "Operatrice", Role::Operator, "hash", &[town.office.id])
                    .await
                    .unwrap();
                assert_eq!(u.email, "op@a.it");
                assert!(matches!(
                    f.store.create_user(town.tenant.id, "op@a.it", "x", Role::Admin, "h", &[]).await,
                    Err(StoreError::Duplicate)
                ));
                let found = f.store.user_by_email(town.tenant.id, " OP@a.it ").await.unwrap().unwrap();
                assert_eq!(found.offices, vec![town.office.id]);
                f.store.create_session("s1", u.id, "csrf", at("2030-01-01T00:00:00Z")).await.unwrap();
                let (user, csrf) = f.store.session("s1", at("2029-01-01T00:00:00Z")).await.unwrap().unwrap();
                assert_eq!((user.id, csrf.as_str()), (u.id, "csrf"));
                assert!(f.store.session("s1", at("2031-01-01T00:00:00Z")).await.unwrap().is_none(), "expired");
                f.store.set_password(town.tenant.id, u.id, "new").await.unwrap();
                assert!(
                    f.store.session("s1", at("2029-01-01T00:00:00Z")).await.unwrap().is_none(),
                    "a new password ends sessions"
                );
                f.store
                    .create_api_token(town.tenant.id, Role::Operator, Some(town.office.id), "t1", "portal")
                    .await
                    .unwrap();
                let g = f.store.api_token("t1").await.unwrap().unwrap();
                assert!(g.covers_office(town.office.id));
                assert!(!g.covers_office(OfficeId(town.office.id.0 + 1000)));
                assert_eq!(g.tenant_id, TenantId(town.tenant.id.0));
            }

            #[tokio::test]
            async fn arriving_again_returns_the_same_place_even_from_two_nodes_at_once() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let appt = booked(f.store.book(&booking(&town, "2026-11-30T08:00:00Z", 1)).await.unwrap());
                let now = at("2026-11-30T07:50:00Z");
                let new = arrival(&town, &appt);
                let (a, b) = tokio::join!(f.store.arrive(&new, now), f.other_node.arrive(&new, now));
                let (a, b) = (a.unwrap(), b.unwrap());
                assert_eq!(a, b, "two tabs on two nodes share one place");
                assert_eq!(
                    (a.status, a.kind, a.booked_start),
                    (EntryStatus::Waiting, EntryKind::Appointment, Some(appt.start))
                );
                assert_eq!(a.arrived_at, now);
                let later = f.store.arrive(&new, at("2026-11-30T07:55:00Z")).await.unwrap();
                assert_eq!(later, a, "a reload keeps the arrival time");
                assert_eq!(f.store.entry_for_appointment(town.tenant.id, appt.id).await.unwrap(), Some(a.clone()));
                assert_eq!(f.store.office_entries(town.tenant.id, town.office.id).await.unwrap(), vec![a.clone()]);
                // Giving up the queue ends that place; coming back queues anew.
                let gone = a.leave(at("2026-11-30T07:56:00Z")).unwrap();
                f.store.update_entry(&gone, EntryStatus::Waiting).await.unwrap();
                assert!(f.store.office_entries(town.tenant.id, town.office.id).await.unwrap().is_empty());
                let again = f.store.arrive(&new, at("2026-11-30T07:58:00Z")).await.unwrap();
                assert_ne!(again.id, a.id);
                assert_eq!(again.arrived_at, at("2026-11-30T07:58:00Z"));
                // Another town cannot queue for this appointment.
                let other = town_named(&*f.store, "b").await;
                let stolen = NewEntry { tenant_id: other.id, ..new.clone() };
                assert!(matches!(f.store.arrive(&stolen, now).await, Err(StoreError::NotFound)));
                assert!(f.store.entry(other.id, again.id).await.unwrap().is_none());
            }

            #[tokio::test]
            async fn tickets_are_numbered_from_one_per_office_and_day() {
                let Some(f) = fixture().await else { return };
                let a = town(&*f.store, "a", 1).await;
                let b = town(&*f.store, "b", 1).await;
                let day = jiff::civil::date(2026, 11, 30);
                let now = at("2026-11-30T09:00:00Z");
                let mut numbers = Vec::new();
                for name in ["anna", "bruno", "carla"] {
                    let t = f.store.take_ticket(&walk_in(&a, name), day, now, &no_mail).await.unwrap();
                    assert_eq!((t.kind, t.status), (EntryKind::Ticket, EntryStatus::Waiting));
                    numbers.push(t.ticket_number);
                }
                assert_eq!(numbers, vec![Some(1), Some(2), Some(3)]);
                let other_office = f.store.take_ticket(&walk_in(&b, "dario"), day, now, &no_mail).await.unwrap();
                assert_eq!(other_office.ticket_number, Some(1));
                let tomorrow = f
                    .store
                    .take_ticket(&walk_in(&a, "elena"), day.tomorrow().unwrap(), at("2026-12-01T09:00:00Z"), &no_mail)
                    .await
                    .unwrap();
                assert_eq!(tomorrow.ticket_number, Some(1));
                let token = walk_in(&a, "fabio");
                let t = f.store.take_ticket(&token, day, now, &no_mail).await.unwrap();
                assert_eq!(t.ticket_number, Some(4), "numbers are not reused within a day");
                assert_eq!(f.store.entry_by_token(token.token_hash.as_deref().unwrap()).await.unwrap(), Some(t));
                // A ticket for another town's office is refused.
                let foreign = NewEntry { tenant_id: b.tenant.id, ..walk_in(&a, "gino") };
                assert!(matches!(f.store.take_ticket(&foreign, day, now, &no_mail).await, Err(StoreError::NotFound)));
            }

            #[tokio::test]
            async fn a_ticket_commits_the_messages_built_from_its_number_and_no_others() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let other = town_named(&*f.store, "b").await;
                let day = jiff::civil::date(2026, 11, 30);
                let now = at("2026-11-30T09:00:00Z");
                let mail = |n: i32| {
                    vec![NewOutboxMessage {
                        kind: "email".into(),
                        dedupe_key: format!("ticket-{n}:email"),
                        payload: format!("{{\"ticket_number\":{n}}}"),
                        due_at: now,
                        retractable: false,
                    }]
                };
                let first = f.store.take_ticket(&walk_in(&town, "anna"), day, now, &no_mail).await.unwrap();
                assert_eq!(first.ticket_number, Some(1));
                assert_eq!(f.store.outbox_backlog().await.unwrap(), 0, "no messages given, no rows");
                let second = f.store.take_ticket(&walk_in(&town, "bruno"), day, now, &mail).await.unwrap();
                assert_eq!(second.ticket_number, Some(2));
                // A refused ticket queues nothing.
                let foreign = NewEntry { tenant_id: other.id, ..walk_in(&town, "gino") };
                assert!(matches!(f.store.take_ticket(&foreign, day, now, &mail).await, Err(StoreError::NotFound)));
                let due = f.store.due_outbox(now, 10).await.unwrap();
                let rows: Vec<_> = due
                    .iter()
                    .map(|m| (m.tenant_id, m.kind.as_str(), m.dedupe_key.as_str(), m.payload.as_str()))
                    .collect();
                assert_eq!(rows, [(town.tenant.id, "email", "ticket-2:email", "{\"ticket_number\":2}")]);
                assert_eq!(f.store.outbox_backlog().await.unwrap(), 1);
            }

            #[tokio::test]
            async fn concurrent_ticket_takers_on_two_nodes_get_distinct_numbers() {
                let Some(f) = fixture().await else { return };
                let town = Arc::new(town(&*f.store, "a", 1).await);
                let day = jiff::civil::date(2026, 11, 30);
                let mut tasks = Vec::new();
                for n in 0..20u32 {
                    let store = if n % 2 == 0 { f.store.clone() } else { f.other_node.clone() };
                    let town = town.clone();
                    tasks.push(tokio::spawn(async move {
                        let t = store
                            .take_ticket(&walk_in(&town, &format!("p{n}")), day, at("2026-11-30T09:00:00Z"), &no_mail)
                            .await
                            .unwrap();
                        t.ticket_number.unwrap()
                    }));
                }
                let mut numbers: Vec<i32> =
                    futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
                numbers.sort_unstable();
                assert_eq!(numbers, (1..=20).collect::<Vec<_>>());
            }

            #[tokio::test]
            async fn a_transition_written_over_a_changed_status_is_stale() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let now = at("2026-11-30T09:00:00Z");
                let waiting = f
                    .store
                    .take_ticket(&walk_in(&town, "anna"), now.to_zoned(jiff::tz::TimeZone::UTC).date(), now, &no_mail)
                    .await
                    .unwrap();
                let meeting =
                    f.store.create_meeting(town.tenant.id, town.office.id, None, "m-1", None, now).await.unwrap();
                // Two officials admit the same citizen: the second is told it changed.
                let first = waiting.admit(meeting.id, now).unwrap();
                f.store.update_entry(&first, EntryStatus::Waiting).await.unwrap();
                let second = waiting.refuse("no".into(), now).unwrap();
                assert!(matches!(f.store.update_entry(&second, EntryStatus::Waiting).await, Err(StoreError::Stale)));
                let stored = f.store.entry(town.tenant.id, waiting.id).await.unwrap().unwrap();
                assert_eq!(stored, first);
                // An entry cannot be moved into another town's office or meeting.
                let other = super::town(&*f.store, "b", 1).await;
                let theirs =
                    f.store.create_meeting(other.tenant.id, other.office.id, None, "m-2", None, now).await.unwrap();
                let hijack = Entry { meeting_id: Some(theirs.id), ..first.clone() };
                assert!(matches!(
                    f.store.update_entry(&hijack, EntryStatus::Admitted).await,
                    Err(StoreError::NotFound)
                ));
                let elsewhere = Entry { office_id: other.office.id, ..first.clone() };
                assert!(matches!(
                    f.store.update_entry(&elsewhere, EntryStatus::Admitted).await,
                    Err(StoreError::NotFound)
                ));
                let foreign = Entry { tenant_id: other.tenant.id, ..first.clone() };
                assert!(matches!(
                    f.store.update_entry(&foreign, EntryStatus::Admitted).await,
                    Err(StoreError::NotFound)
                ));
                assert!(matches!(
                    f.store.create_meeting(town.tenant.id, town.office.id, None, "m-1", None, now).await,
                    Err(StoreError::Duplicate)
                ));
                assert!(matches!(
                    f.store.create_meeting(other.tenant.id, town.office.id, None, "m-3", None, now).await,
                    Err(StoreError::NotFound)
                ));
            }

            #[tokio::test]
            async fn a_removal_and_a_mute_are_stored_and_a_removed_citizen_arriving_again_finds_the_removal() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let appt = booked(f.store.book(&booking(&town, "2026-11-30T08:00:00Z", 1)).await.unwrap());
                let now = at("2026-11-30T08:00:00Z");
                let waiting = f.store.arrive(&arrival(&town, &appt), now).await.unwrap();
                assert!(!waiting.muted);
                let meeting =
                    f.store.create_meeting(town.tenant.id, town.office.id, Some(appt.id), "m-1", None, now).await.unwrap();
                let joined = waiting.admit(meeting.id, now).unwrap().join_media(now).unwrap();
                f.store.update_entry(&joined, EntryStatus::Waiting).await.unwrap();
                let muted = joined.set_muted(true).unwrap();
                f.store.update_entry(&muted, EntryStatus::InMeeting).await.unwrap();
                // Another node reads the mute: it is not a memory of the process that set it.
                assert!(f.other_node.entry(town.tenant.id, joined.id).await.unwrap().unwrap().muted);

                let removed = muted.remove(now).unwrap();
                f.store.update_entry(&removed, EntryStatus::InMeeting).await.unwrap();
                let stored = f.other_node.entry(town.tenant.id, joined.id).await.unwrap().unwrap();
                assert_eq!(stored, removed);
                assert_eq!((stored.status, stored.muted), (EntryStatus::Removed, true));
                assert!(
                    f.store.office_entries(town.tenant.id, town.office.id).await.unwrap().is_empty(),
                    "a removed person holds no active place"
                );
                // Opening the link again returns the removal, not a new place in the queue.
                let again = f.other_node.arrive(&arrival(&town, &appt), now).await.unwrap();
                assert_eq!((again.id, again.status), (removed.id, EntryStatus::Removed));
                // Until an official lets them back in, into the same meeting, still muted.
                let back = again.admit(meeting.id, now).unwrap();
                f.store.update_entry(&back, EntryStatus::Removed).await.unwrap();
                let back = f.store.entry(town.tenant.id, joined.id).await.unwrap().unwrap();
                assert_eq!((back.status, back.muted), (EntryStatus::Admitted, true));
                // Ending the meeting leaves a removal on record rather than calling it done.
                let other = f.store.arrive(&arrival(&town, &booked(f.store.book(&booking(&town, "2026-11-30T09:00:00Z", 2)).await.unwrap())), now).await.unwrap();
                let out = other.admit(meeting.id, now).unwrap();
                f.store.update_entry(&out, EntryStatus::Waiting).await.unwrap();
                f.store.update_entry(&out.remove(now).unwrap(), EntryStatus::Admitted).await.unwrap();
                let finished = f.store.end_meeting(town.tenant.id, meeting.id, now).await.unwrap();
                assert_eq!(finished.iter().map(|e| e.id).collect::<Vec<_>>(), [joined.id]);
                assert_eq!(f.store.entry(town.tenant.id, other.id).await.unwrap().unwrap().status, EntryStatus::Removed);
            }

            #[tokio::test]
            async fn cancelling_an_appointment_ends_its_place_in_the_waiting_room_in_the_same_write() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let now = at("2026-11-30T08:00:00Z");
                let meeting =
                    f.store.create_meeting(town.tenant.id, town.office.id, None, "m-1", None, now).await.unwrap();
                // One citizen waits, one is already in the meeting, one was removed from it.
                let mut places = Vec::new();
                for (n, start) in [(1, "2026-11-30T08:00:00Z"), (2, "2026-11-30T08:30:00Z"), (3, "2026-11-30T09:00:00Z")] {
                    let appt = booked(f.store.book(&booking(&town, start, n)).await.unwrap());
                    let mut e = f.store.arrive(&arrival(&town, &appt), now).await.unwrap();
                    if n >= 2 {
                        let joined = e.admit(meeting.id, now).unwrap().join_media(now).unwrap();
                        f.store.update_entry(&joined, EntryStatus::Waiting).await.unwrap();
                        e = joined;
                    }
                    if n == 3 {
                        let removed = e.remove(now).unwrap();
                        f.store.update_entry(&removed, EntryStatus::InMeeting).await.unwrap();
                    }
                    places.push((appt, e.id));
                }
                let later = at("2026-11-30T08:05:00Z");
                for (appt, entry) in &places {
                    let cancelled = f.store.cancel(town.tenant.id, appt.id, appt.sequence, later, &[]).await.unwrap();
                    assert_eq!(cancelled.status, AppointmentStatus::Cancelled);
                    let stored = f.other_node.entry(town.tenant.id, *entry).await.unwrap().unwrap();
                    assert_eq!((stored.status, stored.ended_at), (EntryStatus::Cancelled, Some(later)), "{stored:?}");
                    assert!(!stored.may_join_media());
                }
                assert!(f.store.office_entries(town.tenant.id, town.office.id).await.unwrap().is_empty());
                // The link of a cancelled appointment queues nobody again.
                let (appt, entry) = &places[0];
                assert!(matches!(f.store.arrive(&arrival(&town, appt), later).await, Err(StoreError::Stale)));
                assert_eq!(f.store.entry_for_appointment(town.tenant.id, appt.id).await.unwrap().unwrap().id, *entry);
                // A cancellation that loses its race changes no place either.
                let fresh = booked(f.store.book(&booking(&town, "2026-11-30T10:00:00Z", 4)).await.unwrap());
                let waiting = f.store.arrive(&arrival(&town, &fresh), now).await.unwrap();
                let stale = f.store.cancel(town.tenant.id, fresh.id, fresh.sequence + 1, later, &[]).await;
                assert!(matches!(stale, Err(StoreError::Stale)));
                assert_eq!(f.store.entry(town.tenant.id, waiting.id).await.unwrap().unwrap().status, EntryStatus::Waiting);
            }

            #[tokio::test]
            async fn a_no_show_in_the_waiting_room_is_a_no_show_of_the_appointment_in_one_write() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let appt = booked(f.store.book(&booking(&town, "2026-11-30T08:00:00Z", 1)).await.unwrap());
                let waiting = f.store.arrive(&arrival(&town, &appt), at("2026-11-30T07:55:00Z")).await.unwrap();
                let now = at("2026-11-30T08:10:00Z");
                let gone = waiting.no_show(now).unwrap();
                f.store
                    .update_entry_closing_appointment(&gone, EntryStatus::Waiting, AppointmentStatus::NoShow, now)
                    .await
                    .unwrap();
                let stored = f.store.entry(town.tenant.id, waiting.id).await.unwrap().unwrap();
                assert_eq!((stored.status, stored.ended_at), (EntryStatus::NoShow, Some(now)));
                assert_eq!(
                    f.store.appointment(town.tenant.id, appt.id).await.unwrap().unwrap().status,
                    AppointmentStatus::NoShow
                );
                // A second official's stale write changes neither the entry nor the appointment.
                let late = waiting.admit(ricevo_core::MeetingId(1), now).unwrap();
                assert!(matches!(
                    f.store
                        .update_entry_closing_appointment(&late, EntryStatus::Waiting, AppointmentStatus::Done, now)
                        .await,
                    Err(StoreError::Stale)
                ));
                assert_eq!(f.store.entry(town.tenant.id, waiting.id).await.unwrap().unwrap(), stored);
                assert_eq!(
                    f.store.appointment(town.tenant.id, appt.id).await.unwrap().unwrap().status,
                    AppointmentStatus::NoShow
                );
                // Another town's entry is not found, and nothing of it is written.
                let other = town_named(&*f.store, "b").await;
                let foreign = Entry { tenant_id: other.id, ..gone.clone() };
                assert!(matches!(
                    f.store
                        .update_entry_closing_appointment(&foreign, EntryStatus::NoShow, AppointmentStatus::Done, now)
                        .await,
                    Err(StoreError::NotFound)
                ));
                assert_eq!(
                    f.store.appointment(town.tenant.id, appt.id).await.unwrap().unwrap().status,
                    AppointmentStatus::NoShow
                );
            }

            #[tokio::test]
            async fn ending_a_meeting_finishes_its_people_and_marks_the_appointment_done() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let appt = booked(f.store.book(&booking(&town, "2026-11-30T08:00:00Z", 1)).await.unwrap());
                let t0 = at("2026-11-30T07:55:00Z");
                let citizen = f.store.arrive(&arrival(&town, &appt), t0).await.unwrap();
                let meeting = f
                    .store
                    .create_meeting(
                        town.tenant.id,
                        town.office.id,
                        Some(appt.id),
                        "m-1",
                        None,
                        at("2026-11-30T08:00:00Z"),
                    )
                    .await
                    .unwrap();
                assert_eq!(f.store.meeting(town.tenant.id, meeting.id).await.unwrap(), Some(meeting.clone()));
                let official =
                    f.store.add_entry(&official_entry(&town, &meeting), at("2026-11-30T08:00:00Z")).await.unwrap();
                assert_eq!(
                    (official.status, official.admitted_at),
                    (EntryStatus::Admitted, Some(at("2026-11-30T08:00:00Z")))
                );
                let admitted = citizen.admit(meeting.id, at("2026-11-30T08:01:00Z")).unwrap();
                f.store.update_entry(&admitted, EntryStatus::Waiting).await.unwrap();
                let joined = admitted.join_media(at("2026-11-30T08:02:00Z")).unwrap();
                f.store.update_entry(&joined, EntryStatus::Admitted).await.unwrap();
                // An invitee still waiting when the meeting ends is done too.
                let invitee = NewEntry { kind: EntryKind::Invitee, direct: false, ..official_entry(&town, &meeting) };
                let invitee = f.store.add_entry(&invitee, at("2026-11-30T08:05:00Z")).await.unwrap();
                assert_eq!(invitee.status, EntryStatus::Waiting);
                assert_eq!(f.store.meeting_entries(town.tenant.id, meeting.id).await.unwrap().len(), 3);
                let end = at("2026-11-30T08:22:00Z");
                let finished = f.store.end_meeting(town.tenant.id, meeting.id, end).await.unwrap();
                assert_eq!(finished.len(), 3);
                assert!(finished.iter().all(|e| e.status == EntryStatus::Done && e.ended_at == Some(end)));
                let stored = f.store.entry(town.tenant.id, citizen.id).await.unwrap().unwrap();
                assert_eq!(
                    (stored.waited(), stored.met()),
                    (Some(SignedDuration::from_mins(6)), Some(SignedDuration::from_mins(20)))
                );
                assert_eq!(
                    f.store.appointment(town.tenant.id, appt.id).await.unwrap().unwrap().status,
                    AppointmentStatus::Done
                );
                assert_eq!(f.store.meeting(town.tenant.id, meeting.id).await.unwrap().unwrap().ended_at, Some(end));
                assert!(f.store.office_entries(town.tenant.id, town.office.id).await.unwrap().is_empty());
                assert!(
                    f.store
                        .end_meeting(town.tenant.id, meeting.id, at("2026-11-30T09:00:00Z"))
                        .await
                        .unwrap()
                        .is_empty(),
                    "ending twice changes nothing"
                );
                assert_eq!(f.store.meeting(town.tenant.id, meeting.id).await.unwrap().unwrap().ended_at, Some(end));
                let other = town_named(&*f.store, "b").await;
                assert!(matches!(f.store.end_meeting(other.id, meeting.id, end).await, Err(StoreError::NotFound)));
                // Only citizens' meeting times count as service times.
                assert_eq!(
                    f.store.recent_service_seconds(town.tenant.id, town.office.id, 10).await.unwrap(),
                    vec![1200]
                );
                assert!(f.store.recent_service_seconds(other.id, town.office.id, 10).await.unwrap().is_empty());
            }

            #[tokio::test]
            async fn documents_come_back_byte_for_byte_and_only_in_their_town() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let now = at("2026-11-30T08:00:00Z");
                let meeting =
                    f.store.create_meeting(town.tenant.id, town.office.id, None, "m-1", None, now).await.unwrap();
                let official = f.store.add_entry(&official_entry(&town, &meeting), now).await.unwrap();
                let body: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
                let meta = f
                    .store
                    .add_document(town.tenant.id, meeting.id, official.id, "modulo.pdf", "application/pdf", &body, now)
                    .await
                    .unwrap();
                assert_eq!((meta.size, meta.entry_id, meta.name.as_str()), (70_000, official.id, "modulo.pdf"));
                assert_eq!(f.store.documents(town.tenant.id, meeting.id).await.unwrap(), vec![meta.clone()]);
                let (read, bytes) = f.store.document(town.tenant.id, meeting.id, meta.id).await.unwrap().unwrap();
                assert_eq!(read, meta);
                assert!(bytes == body, "the bytes come back exactly");
                let other = super::town(&*f.store, "b", 1).await;
                assert!(f.store.document(other.tenant.id, meeting.id, meta.id).await.unwrap().is_none());
                assert!(f.store.documents(other.tenant.id, meeting.id).await.unwrap().is_empty());
                let theirs =
                    f.store.create_meeting(other.tenant.id, other.office.id, None, "m-2", None, now).await.unwrap();
                assert!(f.store.document(other.tenant.id, theirs.id, meta.id).await.unwrap().is_none());
                assert!(
                    matches!(
                        f.store
                            .add_document(other.tenant.id, theirs.id, official.id, "x", "text/plain", b"x", now)
                            .await,
                        Err(StoreError::NotFound)
                    ),
                    "only a participant of the meeting can share into it"
                );
                assert_eq!(f.store.purge_documents(now).await.unwrap(), 0);
                assert_eq!(f.store.purge_documents(at("2026-12-30T00:00:00Z")).await.unwrap(), 1);
                assert!(f.store.document(town.tenant.id, meeting.id, meta.id).await.unwrap().is_none());
            }

            #[tokio::test]
            async fn a_walk_in_desk_reads_back_as_written() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                assert_eq!(f.store.walk_in(town.tenant.id, town.office.id).await.unwrap(), WalkInDesk::default());
                let t = |h, m| jiff::civil::Time::new(h, m, 0, 0).unwrap();
                let ranges = vec![
                    WeeklyRange::new(jiff::civil::Weekday::Tuesday, t(14, 0), t(16, 30)).unwrap(),
                    WeeklyRange::new(jiff::civil::Weekday::Monday, t(9, 0), t(12, 0)).unwrap(),
                ];
                let desk = WalkInDesk { always_open: false, hours: OpeningHours::new(ranges, 2).unwrap() };
                f.store.set_walk_in(town.tenant.id, town.office.id, &desk).await.unwrap();
                assert_eq!(f.store.walk_in(town.tenant.id, town.office.id).await.unwrap(), desk);
                let urp = WalkInDesk { always_open: true, ..WalkInDesk::default() };
                f.store.set_walk_in(town.tenant.id, town.office.id, &urp).await.unwrap();
                assert_eq!(f.store.walk_in(town.tenant.id, town.office.id).await.unwrap(), urp);
                assert_eq!(
                    f.store.hours(town.tenant.id, town.office.id).await.unwrap().len(),
                    1,
                    "opening hours untouched"
                );
                let other = town_named(&*f.store, "b").await;
                assert!(matches!(f.store.walk_in(other.id, town.office.id).await, Err(StoreError::NotFound)));
                assert!(matches!(f.store.set_walk_in(other.id, town.office.id, &urp).await, Err(StoreError::NotFound)));
            }

            #[tokio::test]
            async fn a_nodes_heartbeat_is_seen_by_the_other_nodes() {
                let Some(f) = fixture().await else { return };
                assert_eq!(f.other_node.node_seen("http://a:8080").await.unwrap(), None);
                let t0 = at("2026-11-30T09:00:00.250Z");
                f.store.heartbeat("http://a:8080", t0).await.unwrap();
                assert_eq!(f.other_node.node_seen("http://a:8080").await.unwrap(), Some(t0));
                let t1 = at("2026-11-30T09:00:03.500Z");
                f.store.heartbeat("http://a:8080", t1).await.unwrap();
                assert_eq!(f.other_node.node_seen("http://a:8080").await.unwrap(), Some(t1), "refreshed in place");
                assert_eq!(f.other_node.node_seen("http://b:8080").await.unwrap(), None);
            }

            #[tokio::test]
            async fn a_meeting_moves_off_a_dead_node_once_and_never_off_a_live_one() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let (a, b, c) = ("http://a:8080", "http://b:8080", "http://c:8080");
                let t0 = at("2026-11-30T09:00:00Z");
                let meeting =
                    f.store.create_meeting(town.tenant.id, town.office.id, None, "m-1", Some(a), t0).await.unwrap();
                f.store.heartbeat(a, t0).await.unwrap();
                // Alive (its heartbeat is within the bound): the meeting stays.
                let kept =
                    f.other_node.move_meeting(town.tenant.id, meeting.id, a, b, at("2026-11-30T08:59:55Z")).await;
                assert_eq!(kept.unwrap().unwrap().node.as_deref(), Some(a));
                // Dead: the first survivor takes it, the next one finds it moved already.
                let dead_since = at("2026-11-30T09:00:10Z");
                let moved = f.other_node.move_meeting(town.tenant.id, meeting.id, a, b, dead_since).await.unwrap();
                assert_eq!(moved.unwrap().node.as_deref(), Some(b));
                let late = f.store.move_meeting(town.tenant.id, meeting.id, a, c, dead_since).await.unwrap();
                assert_eq!(late.unwrap().node.as_deref(), Some(b), "compare-and-set on the old node");
                // Another town cannot move it, nor see it.
                let other = town_named(&*f.store, "b").await;
                assert!(f.store.move_meeting(other.id, meeting.id, b, c, at("2030-01-01T00:00:00Z")).await.unwrap().is_none());
                let stored = f.store.meeting(town.tenant.id, meeting.id).await.unwrap().unwrap();
                assert_eq!(stored.node.as_deref(), Some(b));
                // A node that never recorded a heartbeat is dead.
                let never = f.store.move_meeting(town.tenant.id, meeting.id, b, c, t0).await.unwrap();
                assert_eq!(never.unwrap().node.as_deref(), Some(c));
                // An ended meeting stays where it ended.
                f.store.end_meeting(town.tenant.id, meeting.id, t0).await.unwrap();
                let ended = f.store.move_meeting(town.tenant.id, meeting.id, c, a, t0).await.unwrap();
                assert_eq!(ended.unwrap().node.as_deref(), Some(c));
            }

            #[tokio::test]
            async fn of_two_nodes_taking_an_orphaned_meeting_at_once_exactly_one_wins() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let t0 = at("2026-11-30T09:00:00Z");
                for n in 0..10 {
                    let m = f
                        .store
                        .create_meeting(town.tenant.id, town.office.id, None, &format!("m-{n}"), Some("http://a"), t0)
                        .await
                        .unwrap();
                    let (b, c) = tokio::join!(
                        f.store.move_meeting(town.tenant.id, m.id, "http://a", "http://b", t0),
                        f.other_node.move_meeting(town.tenant.id, m.id, "http://a", "http://c", t0),
                    );
                    let (b, c) = (b.unwrap().unwrap().node.unwrap(), c.unwrap().unwrap().node.unwrap());
                    assert_eq!(b, c, "both see the one winner");
                    assert!(b == "http://b" || b == "http://c", "{b}");
                }
            }

            #[tokio::test]
            async fn anonymising_blanks_who_waited_but_keeps_how_long() {
                let Some(f) = fixture().await else { return };
                let town = town(&*f.store, "a", 1).await;
                let now = at("2026-11-30T09:00:00Z");
                let t =
                    f.store.take_ticket(&walk_in(&town, "anna"), jiff::civil::date(2026, 11, 30), now, &no_mail).await.unwrap();
                let meeting =
                    f.store.create_meeting(town.tenant.id, town.office.id, None, "m-1", None, now).await.unwrap();
                let admitted = t.admit(meeting.id, at("2026-11-30T09:04:00Z")).unwrap();
                f.store.update_entry(&admitted, EntryStatus::Waiting).await.unwrap();
                assert_eq!(f.store.anonymise_before(town.tenant.id, now).await.unwrap(), 0);
                assert_eq!(f.store.anonymise_before(town.tenant.id, at("2027-01-01T00:00:00Z")).await.unwrap(), 1);
                let after = f.store.entry(town.tenant.id, t.id).await.unwrap().unwrap();
                assert_eq!(after.name, "");
                assert_eq!(after.waited(), Some(SignedDuration::from_mins(4)));
                assert_eq!(f.store.anonymise_before(town.tenant.id, at("2027-01-01T00:00:00Z")).await.unwrap(), 0);
            }

            // ---- reference codes and staff search (booking) ----

            #[tokio::test]
            async fn a_reference_code_already_taken_is_told_apart_and_writes_nothing() {
                let Some(f) = fixture().await else { return };
                let a = town(&*f.store, "a", 2).await;
                let b = town(&*f.store, "b", 2).await;
                let mut first = booking(&a, "2026-11-30T08:00:00Z", 1);
                first.public_id = "K7M-4QP".into();
                booked(f.store.book(&first).await.unwrap());
                // The same code drawn again, even in another town: nothing written, seats free.
                let mut twin = booking(&b, "2026-11-30T08:00:00Z", 2);
                twin.public_id = "K7M-4QP".into();
                assert_eq!(f.store.book(&twin).await.unwrap(), BookOutcome::IdTaken);
                assert!(f.store.taken_seats(b.tenant.id, b.office.id, at("2026-11-30T00:00:00Z"), at("2026-12-01T00:00:00Z"), None).await.unwrap().is_empty());
                twin.public_id = "K7M-4QR".into();
                booked(f.store.book(&twin).await.unwrap());
            }

            #[tokio::test]
            async fn staff_search_finds_by_code_in_any_spelling_e_mail_phone_or_fiscal_code_within_the_town() {
                let Some(f) = fixture().await else { return };
                let a = town(&*f.store, "a", 2).await;
                let b = town(&*f.store, "b", 2).await;
                let mut new = booking(&a, "2026-11-30T08:00:00Z", 7);
                new.public_id = "K7M-4QP".into();
                new.citizen_email = String::new();
                new.citizen_phone = Some("+39 333 123-4567".into());
                new.citizen_name = "Giuseppe Verdi".into();
                booked(f.store.book(&new).await.unwrap());
                let mut old = booking(&a, "2026-11-30T08:30:00Z", 8);
                old.public_id = "AbCdEfGhIjKlMnOp".into();
                old.citizen_email = "anna.neri@example.it".into();
                old.fiscal_code = Some("NRENNA80A41H501U".into());
                booked(f.store.book(&old).await.unwrap());
                let names = |found: Vec<Appointment>| found.into_iter().map(|x| x.citizen_name).collect::<Vec<_>>();
                for q in ["K7M-4QP", "k7m4qp", " K7M 4QP ", "3331234567", "333 123 4567", "+393331234567"] {
                    assert_eq!(names(f.store.search_appointments(a.tenant.id, q, 10).await.unwrap()), ["Giuseppe Verdi"], "{q}");
                }
                for q in ["AbCdEfGhIjKlMnOp", "ANNA.NERI@", "nrenna80"] {
                    assert_eq!(names(f.store.search_appointments(a.tenant.id, q, 10).await.unwrap()), ["Cittadino 8"], "{q}");
                }
                // Too few digits search no phone; another town finds nothing.
                assert!(f.store.search_appointments(a.tenant.id, "333", 10).await.unwrap().is_empty());
                for q in ["K7M-4QP", "3331234567", "anna.neri"] {
                    assert!(f.store.search_appointments(b.tenant.id, q, 10).await.unwrap().is_empty(), "{q}");
                }
            }

            // ---- channels ----
            #[tokio::test]
            async fn a_towns_channel_settings_and_telegram_chats_are_its_own() {
                use ricevo_core::channel::Channel;
                let Some(f) = fixture().await else { return };
                let a = town(&*f.store, "a", 2).await;
                let b = town(&*f.store, "b", 2).await;
                assert!(f.store.town_channels(a.tenant.id).await.unwrap().is_none());
                let mut settings = TownChannels::none(a.tenant.id);
                settings.order = vec![Channel::Sms, Channel::Email, Channel::AppIo, Channel::Telegram];
                settings.app_io_enabled = true;
                settings.app_io_key = Some("key-of-a".into());
                settings.sms_enabled = true;
                settings.sms = SmsGateway {
                    url: "https://sms.example.it/send?to={to}".into(),
                    method: SmsMethod::PostJson,
                    username: Some("user".into()),
                    password: Some("secret".into()),
                    to_field: "recipient".into(),
                    text_field: "message".into(),
                    sender_field: "sender".into(),
                    sender: "Comune".into(),
                };
                settings.telegram_bot_token = Some("123:abc".into());
                settings.updated_at = at("2026-11-30T08:00:00Z");
                f.store.set_town_channels(&settings).await.unwrap();
                assert_eq!(f.other_node.town_channels(a.tenant.id).await.unwrap(), Some(settings.clone()));
                assert!(f.store.town_channels(b.tenant.id).await.unwrap().is_none(), "town b sees nothing of a's");
                // Writing again replaces; b's row is b's.
                settings.app_io_key = None;
                f.store.set_town_channels(&settings).await.unwrap();
                f.store.set_town_channels(&TownChannels { app_io_key: Some("key-of-b".into()), ..TownChannels::none(b.tenant.id) }).await.unwrap();
                assert_eq!(f.store.town_channels(a.tenant.id).await.unwrap().unwrap().app_io_key, None);
                assert_eq!(f.store.town_channels(b.tenant.id).await.unwrap().unwrap().app_io_key.as_deref(), Some("key-of-b"));
                // A town that does not exist gets no row.
                f.store.set_town_channels(&TownChannels::none(TenantId(999_999))).await.unwrap();
                assert!(f.store.town_channels(TenantId(999_999)).await.unwrap().is_none());
                // The chat an appointment was booked from reads back.
                let mut new = booking(&a, "2026-11-30T08:00:00Z", 7);
                new.telegram_chat_id = Some(-100_123);
                let BookOutcome::Booked(booked) = f.store.book(&new).await.unwrap() else { panic!("not booked") };
                let read = f.store.appointment(a.tenant.id, booked.id).await.unwrap().unwrap();
                assert_eq!(read.telegram_chat_id, Some(-100_123));
            }
            // ---- end channels ----
            // ---- telegram ----
            #[tokio::test]
            async fn telegram_chats_and_handled_updates_are_kept_per_bot_and_lapse() {
                let Some(f) = fixture().await else { return };
                let a = town(&*f.store, "a", 1).await;
                let b = town(&*f.store, "b", 1).await;
                let now = at("2026-11-01T10:00:00Z");
                let chat = |bot: &str, tenant: TenantId, state: &str| ChatState {
                    bot: bot.into(),
                    chat_id: 42,
                    tenant_id: Some(tenant),
                    state: state.into(),
                    lang: Lang::En,
                    updated_at: now,
                    expires_at: now + SignedDuration::from_hours(24),
                };
                let bot_a = format!("town:{}", a.tenant.id.0);
                let bot_b = format!("town:{}", b.tenant.id.0);
                f.store.save_telegram_chat(&chat(&bot_a, a.tenant.id, "{\"x\":1}")).await.unwrap();
                f.store.save_telegram_chat(&chat(&bot_a, a.tenant.id, "{\"x\":2}")).await.unwrap();
                // The same chat id with town B's bot is another conversation.
                assert!(f.store.telegram_chat(&bot_b, 42, now).await.unwrap().is_none());
                f.store.save_telegram_chat(&chat(&bot_b, b.tenant.id, "{}")).await.unwrap();
                let read = f.other_node.telegram_chat(&bot_a, 42, now).await.unwrap().unwrap();
                assert_eq!(read, chat(&bot_a, a.tenant.id, "{\"x\":2}"));
                // A lapsed conversation is gone.
                let later = now + SignedDuration::from_hours(25);
                assert!(f.store.telegram_chat(&bot_a, 42, later).await.unwrap().is_none());
                // An update is handled once per bot; a replay is recognised, on any node.
                assert!(f.store.telegram_update_first_seen(&bot_a, 7, now).await.unwrap());
                assert!(!f.other_node.telegram_update_first_seen(&bot_a, 7, now).await.unwrap());
                assert!(f.store.telegram_update_first_seen(&bot_b, 7, now).await.unwrap());
                // Appointments of a chat: only those booked from it, of its town, not yet over.
                assert!(f.store.telegram_chat_appointments(a.tenant.id, 42, now).await.unwrap().is_empty());
                let mut from_chat = booking(&a, "2026-11-30T08:00:00Z", 1);
                from_chat.telegram_chat_id = Some(42);
                let booked_a = booked(f.store.book(&from_chat).await.unwrap());
                booked(f.store.book(&booking(&a, "2026-11-30T09:00:00Z", 2)).await.unwrap());
                let mine = f.store.telegram_chat_appointments(a.tenant.id, 42, now).await.unwrap();
                assert_eq!(mine.iter().map(|x| x.id).collect::<Vec<_>>(), [booked_a.id]);
                assert!(f.store.telegram_chat_appointments(b.tenant.id, 42, now).await.unwrap().is_empty());
                let after = at("2026-12-01T00:00:00Z");
                assert!(f.store.telegram_chat_appointments(a.tenant.id, 42, after).await.unwrap().is_empty());
            }
            // ---- end telegram ----
        }
    };
}

behaviour!(sqlite);
behaviour!(postgres);
