//! Citizens without e-mail and the officials who book for them, on SQLite and PostgreSQL: a
//! phone number instead of an e-mail, short reference codes, bookings on a citizen's behalf
//! (with the manager's override, never over a taken seat), moves and cancellations with a
//! reason, closures over booked days that cancel and tell, and a second town that never sees
//! the first's appointments.

#![allow(clippy::unwrap_used)]

use crate::support;

use jiff::Timestamp;
use ricevo_core::UserId;
use ricevo_core::audit::{Act, Actor, Subject};
use ricevo_core::reason::Reason;
use ricevo_core::reference::ReferenceCode;
use ricevo_core::slots::SlotRefusal;
use ricevo_core::{AppointmentStatus, Lang};
use ricevo_desk::booking::{BookingRequest, BookingResult};
use ricevo_desk::offices::ClosurePlan;
use ricevo_desk::on_behalf::StaffBooking;
use ricevo_desk::{Desk, DeskError, DeskSettings};
use ricevo_store::{Appointment, AuditFilter, Grant, OutboxMessage, Role, Store};
use support::{citizen, desk_at, engines, town};

// Monday 23 November 2026, 09:00 in Rome.
const NOW: &str = "2026-11-23T08:00:00Z";
// Tuesday 24 November 2026, 10:00 and 10:30 in Rome.
const TUESDAY_10: &str = "2026-11-24T09:00:00Z";
const TUESDAY_1030: &str = "2026-11-24T09:30:00Z";
// Tuesday 24 November 2026, 15:00 in Rome: the office is closed then.
const TUESDAY_15: &str = "2026-11-24T14:00:00Z";

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn phone_only(name: &str, phone: &str) -> ricevo_core::citizen::BookingInput {
    let mut input = citizen(name, "");
    input.phone = Some(phone.into());
    input.mode = "in_person".into();
    input
}

fn grant(town: &support::Town, role: Role) -> Grant {
    let actor = Actor::Staff { id: UserId(7), name: "Ufficiale URP".into() };
    Grant { tenant_id: town.tenant.id, role, offices: vec![town.office.id], actor }
}

// The acts of the audit log on one appointment, oldest first, with their details.
async fn audit_of(store: &dyn Store, town: &support::Town, id: ricevo_core::AppointmentId) -> Vec<(Act, String)> {
    let filter = AuditFilter { subject: Some(Subject::Appointment(id)), limit: 50, ..AuditFilter::default() };
    let mut acts: Vec<(Act, String)> =
        store.audit_log(town.tenant.id, &filter).await.unwrap().into_iter().map(|e| (e.act, e.detail)).collect();
    acts.reverse();
    acts
}

fn staff_booking(town: &support::Town, start: &str, input: ricevo_core::citizen::BookingInput) -> StaffBooking {
    StaffBooking { service_id: town.service.id, start: at(start), input, outside_hours: false, idempotency: None }
}

async fn booked(desk: &Desk, result: BookingResult) -> Appointment {
    let BookingResult::Booked { token, .. } = result else { panic!("not booked: {result:?}") };
    desk.appointment_by_token(&token).await.unwrap().1
}

async fn outbox(store: &dyn Store) -> Vec<OutboxMessage> {
    store.due_outbox(at("2027-12-01T00:00:00Z"), 100).await.unwrap()
}

#[tokio::test]
async fn a_citizen_without_e_mail_books_with_a_phone_number_gets_a_short_code_and_no_e_mail_is_queued() {
    for engine in engines().await {
        let town = town(&*engine.store, "uno", 1).await;
        let (desk, _clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        let req = BookingRequest {
            service_id: town.service.id,
            start: at(TUESDAY_10),
            input: phone_only("Giuseppe Verdi", "+39 333 123 4567"),
            idempotency: None,
            source: "203.0.113.7".into(),
        };
        let result = desk.book(&town.tenant, req.clone(), Lang::It).await.unwrap();
        let BookingResult::Booked { receipt, .. } = &result else { panic!("not booked") };
        let receipt = receipt.clone();
        let code =
            ReferenceCode::parse(&receipt.id).unwrap_or_else(|| panic!("{}: {} is no code", engine.name, receipt.id));
        assert_eq!(code.as_str(), receipt.id, "the receipt gives the written form");
        let a = booked(&desk, result).await;
        assert_eq!((a.citizen_email.as_str(), a.public_id.as_str()), ("", receipt.id.as_str()));
        assert!(outbox(&*engine.store).await.is_empty(), "{}: no e-mail for a citizen without one", engine.name);

        // Without e-mail and phone, or a phone appointment without a number: refused, nothing stored.
        let mut nobody = req.clone();
        nobody.input.phone = None;
        nobody.start = at(TUESDAY_1030);
        let Err(DeskError::Fields(errors)) = desk.book(&town.tenant, nobody, Lang::En).await else { panic!() };
        assert_eq!(errors[0].field, "citizen.email", "{}", engine.name);
    }
}

#[tokio::test]
async fn an_official_books_for_a_citizen_on_the_same_seats_and_only_a_manager_books_outside_hours() {
    for engine in engines().await {
        let town = town(&*engine.store, "uno", 1).await;
        let (desk, _clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        let operator = grant(&town, Role::Operator);
        let manager = grant(&town, Role::Manager);

        // An operator books for a citizen with an e-mail: they get their confirmation.
        let first = desk
            .book_on_behalf(
                &town.tenant,
                &operator,
                staff_booking(&town, TUESDAY_10, citizen("Maria Rossi", "maria@example.org")),
                Lang::It,
            )
            .await
            .unwrap();
        let BookingResult::Booked { receipt, token } = &first else { panic!() };
        assert!(receipt.manage_url.ends_with(token.as_str()), "the link to hand over");
        assert!(
            outbox(&*engine.store).await.iter().any(|m| m.dedupe_key.contains(":confirmation:")),
            "{}",
            engine.name
        );

        // The one seat is taken: the same answer as a citizen gets, with alternatives.
        let again = desk
            .book_on_behalf(
                &town.tenant,
                &operator,
                staff_booking(&town, TUESDAY_10, phone_only("Luca", "0968 81234")),
                Lang::It,
            )
            .await;
        assert!(
            matches!(again, Err(DeskError::Unavailable { reason: SlotRefusal::Full, .. })),
            "{}: {again:?}",
            engine.name
        );

        // Outside hours: not a slot; the override is the manager's, not the operator's.
        let mut late = staff_booking(&town, TUESDAY_15, phone_only("Anna Neri", "0968 81234"));
        let refused = desk.book_on_behalf(&town.tenant, &operator, late.clone(), Lang::It).await;
        assert!(matches!(refused, Err(DeskError::Unavailable { reason: SlotRefusal::NotASlot, .. })), "{refused:?}");
        late.outside_hours = true;
        assert!(matches!(
            desk.book_on_behalf(&town.tenant, &operator, late.clone(), Lang::It).await,
            Err(DeskError::Forbidden)
        ));
        let a = booked(&desk, desk.book_on_behalf(&town.tenant, &manager, late.clone(), Lang::It).await.unwrap()).await;
        assert_eq!(a.start, at(TUESDAY_15), "{}", engine.name);
        // Even with the override a taken seat stays taken, and the past stays past.
        let twice = desk.book_on_behalf(&town.tenant, &manager, late.clone(), Lang::It).await;
        assert!(matches!(twice, Err(DeskError::Unavailable { .. })), "{}: {twice:?}", engine.name);
        let mut years_ahead = late.clone();
        years_ahead.start = at("2031-11-25T14:00:00Z");
        let far = desk.book_on_behalf(&town.tenant, &manager, years_ahead, Lang::It).await;
        assert!(matches!(far, Err(DeskError::Unavailable { .. })), "the override is for the coming year: {far:?}");
        let mut past = late.clone();
        past.start = at("2026-11-20T09:00:00Z");
        assert!(matches!(
            desk.book_on_behalf(&town.tenant, &manager, past, Lang::It).await,
            Err(DeskError::Unavailable { .. })
        ));
        let live =
            engine.store.booked(town.tenant.id, town.office.id, at(NOW), at("2026-11-30T00:00:00Z")).await.unwrap();
        assert_eq!(live.len(), 2, "{}: one at 10:00, one at 15:00", engine.name);
    }
}

#[tokio::test]
async fn an_official_moves_and_cancels_with_a_reason_the_citizen_reads() {
    for engine in engines().await {
        let town = town(&*engine.store, "uno", 1).await;
        let (desk, _clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        let operator = grant(&town, Role::Operator);
        let input = citizen("Maria Rossi", "maria@example.org");
        let a = booked(
            &desk,
            desk.book_on_behalf(&town.tenant, &operator, staff_booking(&town, TUESDAY_10, input), Lang::It)
                .await
                .unwrap(),
        )
        .await;
        let reason = Reason::parse("L'operatore è in malattia").unwrap();
        let moved =
            desk.move_with_reason(&town.tenant, &operator, a.id, at(TUESDAY_1030), Some(&reason)).await.unwrap();
        assert_eq!(moved.start, at(TUESDAY_1030));
        let told = outbox(&*engine.store).await;
        let email = told.iter().find(|m| m.dedupe_key.contains(":moved:")).unwrap();
        assert!(email.payload.contains("L'operatore è in malattia"), "{}: {}", engine.name, email.payload);
        assert!(email.payload.contains(&a.public_id), "the code is in the message");

        let strike = Reason::parse("Sciopero del personale").unwrap();
        let done = desk.cancel_with_reason(&town.tenant, &operator, a.id, &strike).await.unwrap();
        assert_eq!(done.status, AppointmentStatus::Cancelled);
        let told = outbox(&*engine.store).await;
        let email = told.iter().find(|m| m.dedupe_key.contains(":cancelled:")).unwrap();
        assert!(email.payload.contains("Sciopero del personale"), "{}", engine.name);
        assert!(matches!(
            desk.cancel_with_reason(&town.tenant, &operator, a.id, &strike).await,
            Err(DeskError::NotActive | DeskError::StatusChange(_))
        ));
        // The audit log says who booked, moved and cancelled, and why.
        let acts = audit_of(&*engine.store, &town, a.id).await;
        let kinds: Vec<Act> = acts.iter().map(|(act, _)| *act).collect();
        assert_eq!(
            kinds,
            [Act::AppointmentBooked, Act::AppointmentMoved, Act::AppointmentCancelled],
            "{}",
            engine.name
        );
        assert!(acts[1].1.ends_with(": L'operatore è in malattia"), "{:?}", acts[1]);
        assert!(acts[2].1.ends_with(": Sciopero del personale"), "{:?}", acts[2]);
    }
}

#[tokio::test]
async fn a_closure_over_booked_days_is_previewed_then_cancels_and_tells_each_citizen_where_to_rebook() {
    for engine in engines().await {
        let town = town(&*engine.store, "uno", 2).await;
        let (desk, _clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        let manager = grant(&town, Role::Manager);
        let with_email = citizen("Maria Rossi", "maria@example.org");
        let a = booked(
            &desk,
            desk.book_on_behalf(&town.tenant, &manager, staff_booking(&town, TUESDAY_10, with_email), Lang::It)
                .await
                .unwrap(),
        )
        .await;
        let b = booked(
            &desk,
            desk.book_on_behalf(
                &town.tenant,
                &manager,
                staff_booking(&town, TUESDAY_1030, phone_only("Luca Bianchi", "0968 81234")),
                Lang::It,
            )
            .await
            .unwrap(),
        )
        .await;
        let day = at(TUESDAY_10).to_zoned(jiff::tz::TimeZone::get("Europe/Rome").unwrap()).date();
        let plan = ClosurePlan { first: day, last: day, reason: "Elezioni: seggio nel municipio".into() };

        // An operator may not close the office; the manager sees who is affected, nothing changes yet.
        assert!(matches!(
            desk.closure_preview(&town.tenant, &grant(&town, Role::Operator), town.office.id, &plan, Lang::It).await,
            Err(DeskError::Forbidden)
        ));
        let preview = desk.closure_preview(&town.tenant, &manager, town.office.id, &plan, Lang::It).await.unwrap();
        assert_eq!(preview.iter().map(|x| x.id).collect::<Vec<_>>(), [a.id, b.id], "{}", engine.name);
        assert!(engine.store.closures(town.tenant.id, town.office.id).await.unwrap().is_empty());

        let saved = desk.close_and_tell(&town.tenant, &manager, town.office.id, &plan, Lang::It).await.unwrap();
        assert_eq!(saved.cancelled.len(), 2, "{}", engine.name);
        for x in [a.id, b.id] {
            let now = engine.store.appointment(town.tenant.id, x).await.unwrap().unwrap();
            assert_eq!(
                now.status,
                AppointmentStatus::Cancelled,
                "{}: nobody stays booked on a closed day",
                engine.name
            );
            let acts = audit_of(&*engine.store, &town, x).await;
            assert!(
                acts.iter().any(|(act, detail)| *act == Act::AppointmentCancelled && detail.contains("closure")),
                "{}: {acts:?}",
                engine.name
            );
        }
        let told = outbox(&*engine.store).await;
        let cancellations: Vec<&OutboxMessage> = told.iter().filter(|m| m.dedupe_key.contains(":cancelled:")).collect();
        assert_eq!(cancellations.len(), 1, "{}: only the citizen with an e-mail gets one", engine.name);
        let p = &cancellations[0].payload;
        assert!(p.contains("Elezioni: seggio nel municipio"), "{p}");
        assert!(p.contains(&format!("/uno/services/{}", town.service.id.0)), "the link to rebook: {p}");
        // The nearest free times are after the closure: Wednesday morning.
        assert!(p.contains("mercoledì 25 novembre 2026, ore 09:00"), "{}: {p}", engine.name);
        assert!(!p.contains("martedì 24 novembre 2026, ore 09"), "no time on the closed day: {p}");
    }
}

#[tokio::test]
async fn a_second_town_neither_books_nor_changes_the_first_towns_appointments() {
    for engine in engines().await {
        let uno = town(&*engine.store, "uno", 1).await;
        let due = town(&*engine.store, "due", 1).await;
        let (desk, _clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        let a = booked(
            &desk,
            desk.book_on_behalf(
                &uno.tenant,
                &grant(&uno, Role::Manager),
                staff_booking(&uno, TUESDAY_10, phone_only("Anna", "0968 81234")),
                Lang::It,
            )
            .await
            .unwrap(),
        )
        .await;
        let other = Grant { tenant_id: due.tenant.id, role: Role::Admin, offices: Vec::new(), actor: Actor::System };
        // Another town's grant books nothing here, and here finds nothing of the first town.
        let attempt = desk
            .book_on_behalf(
                &uno.tenant,
                &other,
                staff_booking(&uno, TUESDAY_1030, phone_only("X", "0968 81234")),
                Lang::It,
            )
            .await;
        assert!(matches!(attempt, Err(DeskError::Forbidden)), "{attempt:?}");
        let reason = Reason::parse("Prova di un altro comune").unwrap();
        assert!(matches!(desk.cancel_with_reason(&due.tenant, &other, a.id, &reason).await, Err(DeskError::NotFound)));
        assert!(matches!(
            desk.move_with_reason(&due.tenant, &other, a.id, at(TUESDAY_1030), Some(&reason)).await,
            Err(DeskError::NotFound)
        ));
        let plan = ClosurePlan {
            first: at(TUESDAY_10).to_zoned(jiff::tz::TimeZone::UTC).date(),
            last: at(TUESDAY_10).to_zoned(jiff::tz::TimeZone::UTC).date(),
            reason: String::new(),
        };
        assert!(
            desk.closure_preview(&due.tenant, &other, due.office.id, &plan, Lang::It).await.unwrap().is_empty(),
            "{}",
            engine.name
        );
        assert!(matches!(
            desk.closure_preview(&due.tenant, &other, uno.office.id, &plan, Lang::It).await,
            Err(DeskError::NotFound)
        ));
        let still = engine.store.appointment(uno.tenant.id, a.id).await.unwrap().unwrap();
        assert_eq!(still.status, AppointmentStatus::Booked, "{}", engine.name);
    }
}
