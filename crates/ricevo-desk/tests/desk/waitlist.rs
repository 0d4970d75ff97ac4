//! The waitlist on both engines: a freed slot is offered to the first in line and held for
//! them, a lapsed offer passes to the next, of many racing confirmations exactly one books, and
//! another town sees and confirms nothing.

#![allow(clippy::unwrap_used)]

use crate::support;

use std::sync::Arc;

use jiff::Timestamp;
use ricevo_core::Mode;
use ricevo_core::service::ServiceRules;
use ricevo_core::slots::SlotRefusal;
use ricevo_core::waitlist::{EntryState, OfferState};
use ricevo_desk::booking::{BookingRequest, BookingResult};
use ricevo_desk::staff::town_administrator;
use ricevo_desk::waitlist::JoinRequest;
use ricevo_desk::{Desk, DeskError, DeskSettings};
use ricevo_store::{NewService, Service, Store, Tenant};
use support::{citizen, desk_at, engines, town};

// Wednesday 9 December 2026, 09:00 in Rome (the 8th is a holiday).
const SLOT: &str = "2026-12-09T08:00:00Z";

// A service bookable two days ahead: only Wednesday 9:00 suits the citizens who wait.
async fn short_service(store: &dyn Store, tenant: &Tenant, office: ricevo_core::OfficeId) -> Service {
    store
        .create_service(
            tenant.id,
            &NewService {
                office_id: office,
                name: "Residenza".into(),
                description: String::new(),
                rules: ServiceRules::new(30, 0, vec![Mode::Video, Mode::InPerson], 2, 2).unwrap(),
                what_to_bring: String::new(),
                questions: Vec::new(),
                active: true,
            },
        )
        .await
        .unwrap()
}

fn join(service: &Service, name: &str, email: &str) -> JoinRequest {
    JoinRequest {
        service_id: service.id,
        input: citizen(name, email),
        weekdays: vec![3],
        ranges: vec![("09:00".into(), "09:30".into())],
        earlier_than_token: None,
    }
}

fn booking(service: &Service, name: &str, email: &str) -> BookingRequest {
    BookingRequest {
        service_id: service.id,
        start: SLOT.parse().unwrap(),
        input: citizen(name, email),
        idempotency: None,
        source: format!("src-{email}"),
    }
}

async fn book(desk: &Desk, tenant: &Tenant, req: BookingRequest) -> Result<String, DeskError> {
    match desk.book(tenant, req, ricevo_core::Lang::It).await? {
        BookingResult::Booked { token, .. } => Ok(token),
        BookingResult::Replay(_) => panic!("no idempotency key was given"),
    }
}

// The waitlist offer messages queued so far (claimed from the outbox, like the worker does).
async fn offer_messages(store: &Arc<dyn Store>, now: Timestamp) -> Vec<(String, String)> {
    store
        .due_outbox(now, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.dedupe_key.starts_with("waitlist-offer:"))
        .map(|m| (m.dedupe_key, m.payload))
        .collect()
}

// The offer link's token in a message.
fn link_token(payload: &str) -> String {
    let at = payload.find("/lista-attesa/").unwrap() + "/lista-attesa/".len();
    payload[at..at + 43].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_freed_slot_is_offered_to_the_first_in_line_held_and_passed_on_when_it_lapses() {
    for engine in engines().await {
        let store = &engine.store;
        let (desk, clock) = desk_at(store, DeskSettings::default(), "2026-12-07T07:00:00Z");
        let t = town(store.as_ref(), "borgo", 1).await;
        let service = short_service(store.as_ref(), &t.tenant, t.office.id).await;
        let alice = book(&desk, &t.tenant, booking(&service, "Alice Bianchi", "alice@example.org")).await.unwrap();
        let (bob, _) = desk
            .join_waitlist(&t.tenant, join(&service, "Bob Verdi", "bob@example.org"), ricevo_core::Lang::It)
            .await
            .unwrap();
        let (carla, carla_token) = desk
            .join_waitlist(&t.tenant, join(&service, "Carla Neri", "carla@example.org"), ricevo_core::Lang::It)
            .await
            .unwrap();
        // One waiting entry per citizen and service.
        assert!(matches!(
            desk.join_waitlist(&t.tenant, join(&service, "Bob Verdi", "BOB@example.org"), ricevo_core::Lang::It).await,
            Err(DeskError::Duplicate)
        ));
        assert!(offer_messages(store, desk.now()).await.is_empty(), "{}: nothing is free yet", engine.name);

        // Alice cancels: Bob, first in line, is offered her slot, held for him.
        let (_, a) = desk.appointment_by_token(&alice).await.unwrap();
        desk.cancel(&t.tenant, &a).await.unwrap();
        let sent = offer_messages(store, desk.now()).await;
        assert_eq!(sent.len(), 1, "{}", engine.name);
        assert!(sent[0].1.contains("bob@example.org"), "{}: the offer goes to Bob", engine.name);
        let bob_link = link_token(&sent[0].1);
        let view = desk.waitlist_by_token(&t.tenant, &bob_link).await.unwrap();
        assert_eq!(view.entry.id, bob.id);
        assert_eq!(view.offer.as_ref().map(|o| o.start), Some(SLOT.parse().unwrap()));
        assert!(desk.waitlist_by_token(&t.tenant, &carla_token).await.unwrap().offer.is_none());
        // Nobody else can take the held slot, and the picker shows it taken.
        let eve = book(&desk, &t.tenant, booking(&service, "Eve Russo", "eve@example.org")).await;
        assert!(
            matches!(eve, Err(DeskError::Unavailable { reason: SlotRefusal::Full, .. })),
            "{}: {eve:?}",
            engine.name
        );
        let day = jiff::civil::date(2026, 12, 9);
        let slots = desk.slots_between(&t.tenant, &service, &t.office, day, day).await.unwrap();
        let held = slots.iter().find(|s| s.start.timestamp() == SLOT.parse::<Timestamp>().unwrap()).unwrap();
        assert_eq!(held.available, 0, "{}", engine.name);

        // Bob lets it lapse: the next sweep passes it to Carla.
        clock.set("2026-12-07T07:06:00Z");
        assert!(matches!(desk.confirm_offer(&t.tenant, &bob_link).await, Err(DeskError::NotActive)));
        assert_eq!(desk.expire_offers().await.unwrap(), 1, "{}", engine.name);
        // (Bob's message, claimed and not marked sent here, comes round again after its lease.)
        let sent: Vec<_> =
            offer_messages(store, desk.now()).await.into_iter().filter(|m| !m.1.contains("bob@example.org")).collect();
        assert_eq!(sent.len(), 1, "{}", engine.name);
        assert!(sent[0].1.contains("carla@example.org"), "{}: now Carla's turn", engine.name);
        let carla_link = link_token(&sent[0].1);
        let bob_offers = store.waitlist_offers(t.tenant.id, None, Some(bob.id)).await.unwrap();
        assert_eq!(bob_offers.iter().map(|o| o.state).collect::<Vec<_>>(), vec![OfferState::Expired]);

        // Carla confirms: booked on the slot through the booking rules, with its confirmation.
        let (receipt, token) = desk.confirm_offer(&t.tenant, &carla_link).await.unwrap();
        assert_eq!(receipt.status, "booked");
        let (_, booked) = desk.appointment_by_token(&token).await.unwrap();
        assert_eq!(booked.start, SLOT.parse::<Timestamp>().unwrap());
        assert_eq!(booked.citizen_name, "Carla Neri");
        assert_eq!(store.waitlist_entry(t.tenant.id, carla.id).await.unwrap().unwrap().status, EntryState::Served);
        assert!(matches!(desk.confirm_offer(&t.tenant, &carla_link).await, Err(DeskError::NotActive)));
        // Bob still waits, first in line, for the next free time.
        let lines = desk.waitlists_for_staff(&t.tenant, &town_administrator(t.tenant.id)).await.unwrap();
        let line = lines.iter().find(|l| l.service_id == service.id).unwrap();
        assert_eq!(line.waiting.iter().map(|e| e.citizen_name.as_str()).collect::<Vec<_>>(), vec!["Bob Verdi"]);
        // He leaves from his link.
        desk.leave_waitlist(&t.tenant, &bob_link).await.unwrap();
        assert_eq!(store.waitlist_entry(t.tenant.id, bob.id).await.unwrap().unwrap().status, EntryState::Left);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_many_concurrent_confirmations_of_one_offer_exactly_one_books() {
    for engine in engines().await {
        let store = &engine.store;
        let (desk, _clock) = desk_at(store, DeskSettings::default(), "2026-12-07T07:00:00Z");
        let t = town(store.as_ref(), "borgo", 1).await;
        let service = short_service(store.as_ref(), &t.tenant, t.office.id).await;
        let alice = book(&desk, &t.tenant, booking(&service, "Alice Bianchi", "alice@example.org")).await.unwrap();
        desk.join_waitlist(&t.tenant, join(&service, "Bob Verdi", "bob@example.org"), ricevo_core::Lang::It)
            .await
            .unwrap();
        let (_, a) = desk.appointment_by_token(&alice).await.unwrap();
        desk.cancel(&t.tenant, &a).await.unwrap();
        let link = link_token(&offer_messages(store, desk.now()).await[0].1);
        // Bob's link opened on many devices at once, and other citizens booking the slot.
        let mut tasks = Vec::new();
        for i in 0..24 {
            let (desk, tenant, link, service) = (desk.clone(), t.tenant.clone(), link.clone(), service.clone());
            tasks.push(tokio::spawn(async move {
                if i % 3 == 2 {
                    book(&desk, &tenant, booking(&service, "Eve Russo", &format!("eve{i}@example.org"))).await.is_ok()
                } else {
                    desk.confirm_offer(&tenant, &link).await.is_ok()
                }
            }));
        }
        let mut won = 0;
        for task in tasks {
            won += usize::from(task.await.unwrap());
        }
        assert_eq!(won, 1, "{}: exactly one gets the slot", engine.name);
        let day_start: Timestamp = SLOT.parse().unwrap();
        let booked = store
            .appointments_between(t.tenant.id, None, day_start, day_start + jiff::SignedDuration::from_mins(1))
            .await
            .unwrap();
        let active: Vec<_> = booked.iter().filter(|a| a.status.is_active()).collect();
        assert_eq!(active.len(), 1, "{}", engine.name);
        assert_eq!(active[0].citizen_name, "Bob Verdi", "{}: the hold kept it for Bob", engine.name);
    }
}

#[tokio::test]
async fn another_town_neither_sees_nor_confirms_a_towns_waitlist_and_bad_input_is_refused_in_words() {
    for engine in engines().await {
        let store = &engine.store;
        let (desk, _clock) = desk_at(store, DeskSettings::default(), "2026-12-07T07:00:00Z");
        let a = town(store.as_ref(), "borgo", 1).await;
        let b = town(store.as_ref(), "colle", 1).await;
        let service = short_service(store.as_ref(), &a.tenant, a.office.id).await;
        let alice = book(&desk, &a.tenant, booking(&service, "Alice Bianchi", "alice@example.org")).await.unwrap();
        let (_, entry_token) = desk
            .join_waitlist(&a.tenant, join(&service, "Bob Verdi", "bob@example.org"), ricevo_core::Lang::It)
            .await
            .unwrap();
        let (_, appt) = desk.appointment_by_token(&alice).await.unwrap();
        desk.cancel(&a.tenant, &appt).await.unwrap();
        let link = link_token(&offer_messages(store, desk.now()).await[0].1);
        // Town B's pages open nothing of town A's, and cannot confirm, decline or leave.
        for token in [&entry_token, &link] {
            assert!(matches!(desk.waitlist_by_token(&b.tenant, token).await, Err(DeskError::NotFound)));
            assert!(matches!(desk.confirm_offer(&b.tenant, token).await, Err(DeskError::NotFound)));
            assert!(matches!(desk.decline_offer(&b.tenant, token).await, Err(DeskError::NotFound)));
            assert!(matches!(desk.leave_waitlist(&b.tenant, token).await, Err(DeskError::NotFound)));
        }
        // Town B's staff see no line of town A's; town B cannot join town A's service.
        let lines = desk.waitlists_for_staff(&b.tenant, &town_administrator(b.tenant.id)).await.unwrap();
        assert!(lines.iter().all(|l| l.waiting.is_empty() && l.service_id != service.id), "{}", engine.name);
        assert!(
            desk.join_waitlist(&b.tenant, join(&service, "Zoe Blu", "zoe@example.org"), ricevo_core::Lang::It)
                .await
                .is_err()
        );
        // Still Bob's to take in town A.
        assert!(desk.waitlist_by_token(&a.tenant, &link).await.unwrap().offer.is_some());

        // Bad days and hours are refused in the citizen's language.
        let mut bad = join(&service, "Ugo Gialli", "ugo@example.org");
        bad.weekdays = Vec::new();
        match desk.join_waitlist(&a.tenant, bad.clone(), ricevo_core::Lang::It).await {
            Err(DeskError::Invalid(m)) => assert!(m.contains("giorno"), "{m}"),
            other => panic!("{other:?}"),
        }
        bad.weekdays = vec![1];
        bad.ranges = vec![("12:00".into(), "09:00".into())];
        match desk.join_waitlist(&a.tenant, bad, ricevo_core::Lang::En).await {
            Err(DeskError::Invalid(m)) => assert!(m.contains("end after"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
