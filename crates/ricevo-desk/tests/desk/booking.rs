//! Where a booking is decided, tested at the desk itself on SQLite and PostgreSQL, without
//! HTTP: booking with its messages, idempotent retries, full slots with alternatives, the
//! citizen's quota, the source's budget, cancelling, moving, status changes, and towns that
//! never see each other.

#![allow(clippy::unwrap_used)]

use crate::support;

use jiff::Timestamp;
use ricevo_core::audit::Actor;
use ricevo_core::slots::SlotRefusal;
use ricevo_core::{AppointmentStatus, Lang};
use ricevo_desk::booking::{BookingRequest, BookingResult};
use ricevo_desk::staff::town_administrator;
use ricevo_desk::{DeskError, DeskSettings};
use ricevo_store::{Appointment, Grant, Role, Store};
use support::{citizen, desk_at, engines, town};

// Monday 23 November 2026, 09:00 in Rome.
const NOW: &str = "2026-11-23T08:00:00Z";
// Tuesday 24 November 2026, 10:00 and 10:30 in Rome.
const TUESDAY_10: &str = "2026-11-24T09:00:00Z";
const TUESDAY_1030: &str = "2026-11-24T09:30:00Z";

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn request(service: &ricevo_store::Service, start: &str, name: &str, email: &str) -> BookingRequest {
    BookingRequest {
        service_id: service.id,
        start: at(start),
        input: citizen(name, email),
        idempotency: None,
        source: "203.0.113.7".into(),
    }
}

// The appointment a booking result stored, read back by its link token.
async fn booked(desk: &ricevo_desk::Desk, result: BookingResult) -> Appointment {
    let BookingResult::Booked { token, .. } = result else { panic!("not booked: {result:?}") };
    desk.appointment_by_token(&token).await.unwrap().1
}

// Everything the outbox would deliver within a year, by dedupe key.
async fn outbox_keys(store: &dyn Store) -> Vec<String> {
    let later = at("2027-12-01T00:00:00Z");
    store.due_outbox(later, 100).await.unwrap().into_iter().map(|m| m.dedupe_key).collect()
}

#[tokio::test]
async fn a_booking_is_stored_with_its_confirmation_and_reminder_and_a_retry_gets_the_first_answer() {
    for engine in engines().await {
        let town = town(&*engine.store, "uno", 1).await;
        let (desk, _clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        let mut req = request(&town.service, TUESDAY_10, "Maria Rossi", "maria@example.org");
        req.idempotency = Some(("key-1".into(), "hash-a".into()));
        let first = desk.book(&town.tenant, req.clone(), Lang::It).await.unwrap();
        let BookingResult::Booked { receipt, token } = first else { panic!("{}: not booked", engine.name) };
        assert_eq!(receipt.status, "booked");
        assert_eq!(receipt.start, "2026-11-24T10:00:00+01:00", "{}", engine.name);
        assert!(receipt.manage_url.ends_with(&format!("/a/{token}")));
        assert!(receipt.join_url.is_some(), "a video appointment has a join link");
        let (t, a) = desk.appointment_by_token(&token).await.unwrap();
        assert_eq!(
            (t.id, a.status, a.citizen_name.as_str()),
            (town.tenant.id, AppointmentStatus::Booked, "Maria Rossi")
        );
        let keys = outbox_keys(&*engine.store).await;
        assert!(keys.iter().any(|k| k.contains(":confirmation:")), "{}: {keys:?}", engine.name);
        assert!(keys.iter().any(|k| k.contains(":reminder:")), "{}: {keys:?}", engine.name);
        assert_eq!(desk.counters().bookings(), 1);

        // The same key and body: the first answer, nothing booked twice.
        let again = desk.book(&town.tenant, req.clone(), Lang::It).await.unwrap();
        let BookingResult::Replay(record) = again else { panic!("{}: not a replay", engine.name) };
        assert!(record.body.contains(&receipt.id));
        // The same key with another body: refused.
        req.idempotency = Some(("key-1".into(), "hash-b".into()));
        assert!(matches!(desk.book(&town.tenant, req, Lang::It).await, Err(DeskError::IdempotencyMismatch)));
        assert_eq!(desk.counters().bookings(), 1, "{}", engine.name);
    }
}

#[tokio::test]
async fn a_taken_time_is_refused_with_free_alternatives_and_bad_fields_are_named() {
    for engine in engines().await {
        let town = town(&*engine.store, "uno", 1).await;
        let (desk, _clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        desk.book(&town.tenant, request(&town.service, TUESDAY_10, "Maria Rossi", "maria@example.org"), Lang::It)
            .await
            .unwrap();
        let refused = desk
            .book(&town.tenant, request(&town.service, TUESDAY_10, "Luca Bianchi", "luca@example.org"), Lang::It)
            .await;
        let Err(DeskError::Unavailable { reason, alternatives }) = refused else {
            panic!("{}: {refused:?}", engine.name)
        };
        assert_eq!(reason, SlotRefusal::Full);
        assert!(!alternatives.is_empty() && alternatives.len() <= 5);
        assert!(alternatives.iter().all(|s| s.start.timestamp() != at(TUESDAY_10)), "the taken time is not offered");

        // Too soon (the service wants two hours' notice).
        let soon = desk
            .book(
                &town.tenant,
                request(&town.service, "2026-11-23T09:00:00Z", "Luca Bianchi", "luca@example.org"),
                Lang::It,
            )
            .await;
        assert!(matches!(soon, Err(DeskError::Unavailable { reason: SlotRefusal::TooSoon, .. })), "{soon:?}");

        // Fields are checked and named, in the language asked for.
        let mut bad = request(&town.service, TUESDAY_1030, "", "not-an-e-mail");
        bad.input.privacy_accepted = false;
        let Err(DeskError::Fields(fields)) = desk.book(&town.tenant, bad, Lang::En).await else { panic!() };
        let named: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert!(named.contains(&"citizen.name") || named.contains(&"name"), "{named:?}");
        assert!(fields.len() >= 3, "{fields:?}");
    }
}

#[tokio::test]
async fn one_citizen_holds_at_most_two_active_appointments_per_service_and_a_source_ten_bookings_an_hour() {
    for engine in engines().await {
        let town = town(&*engine.store, "uno", 4).await;
        let settings = DeskSettings { bookings_per_hour_per_source: 3, ..DeskSettings::default() };
        let (desk, _clock) = desk_at(&engine.store, settings, NOW);
        for start in [TUESDAY_10, TUESDAY_1030] {
            desk.book(&town.tenant, request(&town.service, start, "Maria Rossi", "maria@example.org"), Lang::It)
                .await
                .unwrap();
        }
        // The same citizen (same e-mail, whatever the case) a third time: refused, and the
        // refusal gives the source's booking back.
        let third = desk
            .book(
                &town.tenant,
                request(&town.service, "2026-11-24T10:00:00Z", "Maria Rossi", "MARIA@example.org"),
                Lang::It,
            )
            .await;
        assert!(matches!(third, Err(DeskError::CitizenLimit(2))), "{}: {third:?}", engine.name);
        // The source has one booking left of three: another citizen books, then the budget is spent.
        desk.book(
            &town.tenant,
            request(&town.service, "2026-11-24T10:00:00Z", "Luca Bianchi", "l@example.org"),
            Lang::It,
        )
        .await
        .unwrap();
        let over = desk
            .book(&town.tenant, request(&town.service, "2026-11-24T10:30:00Z", "Anna Verdi", "a@example.org"), Lang::It)
            .await;
        let Err(DeskError::BudgetSpent { retry_after_seconds }) = over else { panic!("{}: {over:?}", engine.name) };
        assert!(retry_after_seconds > 0 && retry_after_seconds <= 3600);
        // Another source is not affected.
        let mut other = request(&town.service, "2026-11-24T10:30:00Z", "Anna Verdi", "a@example.org");
        other.source = "198.51.100.9".into();
        assert!(desk.book(&town.tenant, other, Lang::It).await.is_ok());
    }
}

#[tokio::test]
async fn a_cancellation_frees_the_time_and_is_announced_once_and_status_changes_follow_the_core_rule() {
    for engine in engines().await {
        let town = town(&*engine.store, "uno", 1).await;
        let (desk, clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        let a = booked(
            &desk,
            desk.book(&town.tenant, request(&town.service, TUESDAY_10, "Maria Rossi", "m@example.org"), Lang::It)
                .await
                .unwrap(),
        )
        .await;
        let cancelled = desk.cancel(&town.tenant, &a).await.unwrap();
        assert_eq!(cancelled.status, AppointmentStatus::Cancelled);
        assert!(matches!(desk.cancel(&town.tenant, &cancelled).await, Err(DeskError::NotActive)));
        assert!(outbox_keys(&*engine.store).await.iter().any(|k| k.contains(":cancelled:")), "{}", engine.name);
        // The time is free again.
        let b = booked(
            &desk,
            desk.book(&town.tenant, request(&town.service, TUESDAY_10, "Luca Bianchi", "l@example.org"), Lang::It)
                .await
                .unwrap(),
        )
        .await;

        // A no-show before the appointment is refused by the core's rule; after its start it is taken.
        let early =
            desk.change_status(&town.tenant, &town_administrator(town.tenant.id), &b, AppointmentStatus::NoShow).await;
        assert!(matches!(early, Err(DeskError::StatusChange(_))), "{}: {early:?}", engine.name);
        clock.set("2026-11-24T09:10:00Z");
        let no_show = desk
            .change_status(&town.tenant, &town_administrator(town.tenant.id), &b, AppointmentStatus::NoShow)
            .await
            .unwrap();
        assert_eq!(no_show.status, AppointmentStatus::NoShow);
        // A change decided from a stale read is refused, not written over.
        let stale =
            desk.change_status(&town.tenant, &town_administrator(town.tenant.id), &b, AppointmentStatus::Done).await;
        assert!(matches!(stale, Err(DeskError::Conflict)), "{}: {stale:?}", engine.name);
    }
}

#[tokio::test]
async fn a_move_takes_a_free_time_keeps_the_link_and_refuses_a_taken_one() {
    for engine in engines().await {
        let town = town(&*engine.store, "uno", 1).await;
        let (desk, _clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        let BookingResult::Booked { token, .. } = desk
            .book(&town.tenant, request(&town.service, TUESDAY_10, "Maria Rossi", "m@example.org"), Lang::It)
            .await
            .unwrap()
        else {
            panic!()
        };
        let (_, a) = desk.appointment_by_token(&token).await.unwrap();
        let moved = desk.reschedule(&town.tenant, &a, Some(&token), at(TUESDAY_1030)).await.unwrap();
        assert_eq!((moved.start, moved.sequence), (at(TUESDAY_1030), a.sequence + 1), "{}", engine.name);
        assert_eq!(desk.appointment_by_token(&token).await.unwrap().1.start, at(TUESDAY_1030), "same link");
        assert!(outbox_keys(&*engine.store).await.iter().any(|k| k.contains(":moved:")));
        // Someone else takes 10:00 again; moving there is refused with alternatives.
        desk.book(&town.tenant, request(&town.service, TUESDAY_10, "Luca Bianchi", "l@example.org"), Lang::It)
            .await
            .unwrap();
        let refused = desk.reschedule(&town.tenant, &moved, None, at(TUESDAY_10)).await;
        assert!(matches!(refused, Err(DeskError::Unavailable { reason: SlotRefusal::Full, .. })), "{refused:?}");
    }
}

#[tokio::test]
async fn a_town_never_books_cancels_or_changes_what_belongs_to_another() {
    for engine in engines().await {
        let one = town(&*engine.store, "uno", 1).await;
        let two = town(&*engine.store, "due", 1).await;
        let (desk, _clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        // Town two's service through town one: no such service.
        let cross = desk.book(&one.tenant, request(&two.service, TUESDAY_10, "Maria Rossi", "m@example.org"), Lang::It);
        assert!(matches!(cross.await, Err(DeskError::ServiceNotFound)), "{}", engine.name);
        let a = booked(
            &desk,
            desk.book(&one.tenant, request(&one.service, TUESDAY_10, "Maria Rossi", "m@example.org"), Lang::It)
                .await
                .unwrap(),
        )
        .await;
        // Town two's administrator, with town one's appointment id: not found.
        let admin_two =
            Grant { tenant_id: two.tenant.id, role: Role::Admin, offices: Vec::new(), actor: Actor::System };
        assert!(matches!(desk.appointment_for(&two.tenant, &admin_two, a.id).await, Err(DeskError::NotFound)));
        // Town one's operator of another office: forbidden.
        let elsewhere = Grant {
            tenant_id: one.tenant.id,
            role: Role::Operator,
            offices: vec![two.office.id],
            actor: Actor::System,
        };
        assert!(matches!(desk.appointment_for(&one.tenant, &elsewhere, a.id).await, Err(DeskError::Forbidden)));
        let own = Grant {
            tenant_id: one.tenant.id,
            role: Role::Operator,
            offices: vec![one.office.id],
            actor: Actor::System,
        };
        assert_eq!(desk.appointment_for(&one.tenant, &own, a.id).await.unwrap().id, a.id);
        // Town two's free 10:00 is not taken by town one's booking.
        let slots = desk
            .slots_between(
                &two.tenant,
                &two.service,
                &two.office,
                at(TUESDAY_10).to_zoned(jiff::tz::TimeZone::UTC).date(),
                at(TUESDAY_10).to_zoned(jiff::tz::TimeZone::UTC).date(),
            )
            .await
            .unwrap();
        assert!(slots.iter().any(|s| s.start.timestamp() == at(TUESDAY_10) && s.available > 0), "{}", engine.name);
    }
}

#[tokio::test]
async fn the_days_list_shows_a_grant_only_its_own_offices_and_towns_bookings() {
    for engine in engines().await {
        let one = town(&*engine.store, "uno", 1).await;
        let two = town(&*engine.store, "due", 1).await;
        let (desk, _clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        for (t, name) in [(&one, "Maria Rossi"), (&two, "Luca Bianchi")] {
            desk.book(&t.tenant, request(&t.service, TUESDAY_10, name, "c@example.org"), Lang::It).await.unwrap();
        }
        let tuesday: jiff::civil::Date = "2026-11-24".parse().unwrap();
        let names = |list: Vec<Appointment>| list.into_iter().map(|a| a.citizen_name).collect::<Vec<_>>();
        let admin = Grant { tenant_id: one.tenant.id, role: Role::Admin, offices: Vec::new(), actor: Actor::System };
        let all = desk.appointments_of_day(&one.tenant, &admin, tuesday, None).await.unwrap();
        assert_eq!(names(all), ["Maria Rossi"], "{}: only town one's", engine.name);
        let own = Grant {
            tenant_id: one.tenant.id,
            role: Role::Operator,
            offices: vec![one.office.id],
            actor: Actor::System,
        };
        assert_eq!(names(desk.appointments_of_day(&one.tenant, &own, tuesday, None).await.unwrap()), ["Maria Rossi"]);
        // An operator naming an office they do not work for sees nothing, not everything.
        let other = Grant { tenant_id: one.tenant.id, role: Role::Operator, offices: Vec::new(), actor: Actor::System };
        let asked = desk.appointments_of_day(&one.tenant, &other, tuesday, Some(one.office.id)).await.unwrap();
        assert!(asked.is_empty(), "{}", engine.name);
        assert!(desk.appointments_of_day(&one.tenant, &other, tuesday, None).await.unwrap().is_empty());
        // Town one's administrator naming town two's office: nothing.
        let cross = desk.appointments_of_day(&one.tenant, &admin, tuesday, Some(two.office.id)).await.unwrap();
        assert!(cross.is_empty(), "{}", engine.name);
        // Monday has none.
        let monday: jiff::civil::Date = "2026-11-23".parse().unwrap();
        assert!(desk.appointments_of_day(&one.tenant, &admin, monday, None).await.unwrap().is_empty());
    }
}
