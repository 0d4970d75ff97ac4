//! Offices, their services, hours and closures, changed through the desk without HTTP, on
//! SQLite and PostgreSQL: changes reach booking at once, the core's rules refuse bad hours
//! and closures field by field, operators and managers are held to their rights, and a town
//! never changes another town's catalogue.

#![allow(clippy::unwrap_used, clippy::needless_pass_by_value)]

use crate::support;

use ricevo_core::audit::Actor;
use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::{Time, Weekday, date};
use ricevo_core::citizen::BookingInput;
use ricevo_core::service::{IntakeQuestion, QuestionKind, ServiceRules};
use ricevo_core::{Email, Lang, Mode, OfficeId};
use ricevo_desk::booking::{BookingRequest, BookingResult};
use ricevo_desk::offices::{ClosurePlan, PlannedRange, WeekPlan};
use ricevo_desk::staff::NewAccount;
use ricevo_desk::{Desk, DeskError, DeskSettings};
use ricevo_store::{Grant, NewOffice, NewService, Office, Role, Service, Tenant};
use support::{Engine, desk, engines, forbidden, new_town, not_found};

fn at(h: i8, m: i8) -> Time {
    Time::new(h, m, 0, 0).unwrap()
}

fn mornings(desks: i32, days: &[Weekday]) -> WeekPlan {
    WeekPlan {
        desks,
        ranges: days.iter().map(|&weekday| PlannedRange { weekday, start: at(9, 0), end: at(12, 0) }).collect(),
    }
}

fn new_office(name: &str) -> NewOffice {
    NewOffice {
        name: name.into(),
        description: String::new(),
        address: "Piazza del Comune 1".into(),
        contact_email: "ufficio@comune.example".into(),
    }
}

fn new_service(office: OfficeId, active: bool) -> NewService {
    NewService {
        office_id: office,
        name: "Carta d'identità".into(),
        description: String::new(),
        rules: ServiceRules::new(20, 0, vec![Mode::InPerson], 0, 60).unwrap(),
        what_to_bring: String::new(),
        questions: Vec::new(),
        active,
    }
}

/// An office open Monday mornings with one service, created by the town's administrator.
async fn catalogue(desk: &Desk, tenant: &Tenant, admin: &Grant) -> (Office, Service) {
    let office = desk.create_office(tenant, admin, &new_office("Anagrafe")).await.unwrap();
    desk.set_hours(tenant, admin, office.id, &mornings(1, &[Weekday::Monday]), Lang::It).await.unwrap();
    let service = desk.create_service(tenant, admin, &new_service(office.id, true), Lang::It).await.unwrap();
    (office, service)
}

// A booking at `local` (Rome) on 14 or 15 December 2026, from a source of its own.
async fn book(desk: &Desk, tenant: &Tenant, service: &Service, local: &str, who: &str) -> Result<(), DeskError> {
    let start: Timestamp = format!("{local}[Europe/Rome]").parse::<jiff::Zoned>().unwrap().timestamp();
    let req = BookingRequest {
        service_id: service.id,
        start,
        input: BookingInput {
            name: "Maria Rossi".into(),
            email: format!("{who}@example.it"),
            phone: None,
            fiscal_code: None,
            mode: "in_person".into(),
            notes: None,
            answers: BTreeMap::new(),
            privacy_accepted: true,
            lang: Lang::It,
        },
        idempotency: None,
        source: who.into(),
    };
    match desk.book(tenant, req, Lang::It).await? {
        BookingResult::Booked { .. } => Ok(()),
        BookingResult::Replay(_) => panic!("no idempotency key was given"),
    }
}

fn refused_as_unavailable(r: Result<(), DeskError>) -> bool {
    matches!(r, Err(DeskError::Unavailable { .. }))
}

#[tokio::test]
async fn catalogue_changes_reach_booking_at_once() {
    for Engine { name, store, .. } in engines().await {
        let desk = desk(&store, DeskSettings::default());
        let (tenant, admin) = new_town(&desk, "prato").await;
        let (office, service) = catalogue(&desk, &tenant, &admin).await;

        // Booking reads the service, its office, hours and closures through the two-second
        // memory: the first booking fills it.
        book(&desk, &tenant, &service, "2026-12-14T09:00", "a").await.unwrap();
        assert!(refused_as_unavailable(book(&desk, &tenant, &service, "2026-12-15T09:00", "b").await), "{name}");

        // New hours: Tuesday opens at once.
        let week = mornings(1, &[Weekday::Monday, Weekday::Tuesday]);
        desk.set_hours(&tenant, &admin, office.id, &week, Lang::It).await.unwrap();
        book(&desk, &tenant, &service, "2026-12-15T09:00", "c").await.unwrap();

        // A closure of that Tuesday: refused at once; deleted: bookable at once.
        let plan = ClosurePlan { first: date(2026, 12, 15), last: date(2026, 12, 15), reason: "Trasloco".into() };
        let closure = desk.add_closure(&tenant, &admin, office.id, &plan, Lang::It).await.unwrap();
        assert!(refused_as_unavailable(book(&desk, &tenant, &service, "2026-12-15T09:20", "d").await), "{name}");
        desk.delete_closure(&tenant, &admin, office.id, closure).await.unwrap();
        book(&desk, &tenant, &service, "2026-12-15T09:20", "e").await.unwrap();

        // The office's new name is what booking sees.
        desk.update_office(&tenant, &admin, office.id, &new_office("Servizi demografici")).await.unwrap();
        let ctx = desk.service_context(&tenant, service.id).await.unwrap();
        assert_eq!(ctx.office.name, "Servizi demografici", "{name}");

        // A service taken off the catalogue cannot be booked any more, at once.
        desk.update_service(&tenant, &admin, service.id, &new_service(office.id, false), Lang::It).await.unwrap();
        let gone = book(&desk, &tenant, &service, "2026-12-15T09:40", "f").await;
        assert!(matches!(gone, Err(DeskError::ServiceNotFound)), "{name}: {gone:?}");
    }
}

#[tokio::test]
async fn bad_hours_and_closures_are_refused_field_by_field_and_change_nothing() {
    for Engine { name, store, .. } in engines().await {
        let desk = desk(&store, DeskSettings::default());
        let (tenant, admin) = new_town(&desk, "lucca").await;
        let (office, _) = catalogue(&desk, &tenant, &admin).await;

        let bad = WeekPlan {
            desks: 0,
            ranges: vec![
                PlannedRange { weekday: Weekday::Tuesday, start: at(12, 0), end: at(9, 0) },
                PlannedRange { weekday: Weekday::Wednesday, start: at(9, 3), end: at(10, 0) },
            ],
        };
        let Err(DeskError::Fields(errors)) = desk.set_hours(&tenant, &admin, office.id, &bad, Lang::En).await else {
            panic!("{name}: bad hours were accepted")
        };
        let fields: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.message)).collect();
        assert_eq!(
            fields,
            [
                ("desks", "At least one desk is needed."),
                ("ranges[0].end", "The closing time must come after the opening time."),
                ("ranges[1].start", "Times must be multiples of 5 minutes."),
            ],
            "{name}"
        );
        let overlapping = WeekPlan {
            desks: 1,
            ranges: vec![
                PlannedRange { weekday: Weekday::Friday, start: at(9, 0), end: at(12, 0) },
                PlannedRange { weekday: Weekday::Friday, start: at(11, 0), end: at(13, 0) },
            ],
        };
        let refused = desk.set_hours(&tenant, &admin, office.id, &overlapping, Lang::It).await;
        assert!(matches!(&refused, Err(DeskError::Fields(e)) if e[0].field == "ranges[1].start"), "{name}");
        let kept = store.hours(tenant.id, office.id).await.unwrap();
        assert_eq!(kept.len(), 1, "{name}: the Monday morning stays");
        assert_eq!(store.office(tenant.id, office.id).await.unwrap().unwrap().desks, 1, "{name}");

        let backwards = ClosurePlan { first: date(2026, 12, 20), last: date(2026, 12, 18), reason: String::new() };
        let refused = desk.add_closure(&tenant, &admin, office.id, &backwards, Lang::It).await;
        let Err(DeskError::Fields(errors)) = refused else { panic!("{name}: a backwards closure was accepted") };
        assert_eq!(errors[0].field, "last_day", "{name}");
        assert_eq!(errors[0].message, "L'ultimo giorno di chiusura non può precedere il primo.", "{name}");
        assert!(store.closures(tenant.id, office.id).await.unwrap().is_empty(), "{name}");

        // Intake questions are checked too, whoever sends them.
        let mut service = new_service(office.id, true);
        service.questions = vec![IntakeQuestion {
            key: "Bad Key".into(),
            label: "Hai lo SPID?".into(),
            kind: QuestionKind::YesNo,
            required: true,
        }];
        let refused = desk.create_service(&tenant, &admin, &service, Lang::En).await;
        assert!(matches!(&refused, Err(DeskError::Invalid(m)) if m.starts_with("Question 1")), "{name}: {refused:?}");
    }
}

#[tokio::test]
async fn operators_change_nothing_and_managers_only_their_offices() {
    for Engine { name, store, .. } in engines().await {
        let desk = desk(&store, DeskSettings::default());
        let (tenant, admin) = new_town(&desk, "pisa").await;
        let (office, service) = catalogue(&desk, &tenant, &admin).await;
        let other = desk.create_office(&tenant, &admin, &new_office("Tributi")).await.unwrap();

        let account = |role, email: &str| NewAccount {
            email: Email::parse(email).unwrap(),
            name: "Luca Bianchi".into(),
            role,
            offices: vec![office.id],
        };
        let (operator, _) =
            desk.create_account(&tenant, &admin, &account(Role::Operator, "op@pisa.example")).await.unwrap();
        let (manager, _) =
            desk.create_account(&tenant, &admin, &account(Role::Manager, "mg@pisa.example")).await.unwrap();
        let grant = |u: &ricevo_store::User| Grant {
            tenant_id: tenant.id,
            role: u.role,
            offices: u.offices.clone(),
            actor: Actor::System,
        };
        let (operator, manager) = (grant(&operator), grant(&manager));
        let week = mornings(2, &[Weekday::Monday]);
        let closure = ClosurePlan { first: date(2026, 12, 24), last: date(2026, 12, 24), reason: String::new() };

        // An operator of the office: nothing, not even to learn that the office exists.
        assert!(forbidden(desk.managed_office(&tenant, &operator, office.id).await), "{name}");
        assert!(forbidden(desk.create_office(&tenant, &operator, &new_office("X")).await), "{name}");
        assert!(forbidden(desk.update_office(&tenant, &operator, office.id, &new_office("X")).await), "{name}");
        assert!(forbidden(desk.set_hours(&tenant, &operator, office.id, &week, Lang::It).await), "{name}");
        assert!(forbidden(desk.add_closure(&tenant, &operator, office.id, &closure, Lang::It).await), "{name}");
        let s = new_service(office.id, true);
        assert!(forbidden(desk.create_service(&tenant, &operator, &s, Lang::It).await), "{name}");
        assert!(forbidden(desk.update_service(&tenant, &operator, service.id, &s, Lang::It).await), "{name}");

        // A manager: their office, not another one, and no new offices.
        desk.set_hours(&tenant, &manager, office.id, &week, Lang::It).await.unwrap();
        desk.update_service(&tenant, &manager, service.id, &s, Lang::It).await.unwrap();
        assert!(forbidden(desk.set_hours(&tenant, &manager, other.id, &week, Lang::It).await), "{name}");
        let elsewhere = new_service(other.id, true);
        assert!(forbidden(desk.create_service(&tenant, &manager, &elsewhere, Lang::It).await), "{name}");
        assert!(forbidden(desk.update_service(&tenant, &manager, service.id, &elsewhere, Lang::It).await), "{name}");
        assert!(forbidden(desk.create_office(&tenant, &manager, &new_office("X")).await), "{name}");

        assert_eq!(store.offices(tenant.id).await.unwrap().len(), 2, "{name}");
        assert_eq!(store.office(tenant.id, office.id).await.unwrap().unwrap().desks, 2, "{name}: the manager's hours");
        assert!(store.hours(tenant.id, other.id).await.unwrap().is_empty(), "{name}");
        assert_eq!(store.service(tenant.id, service.id).await.unwrap().unwrap().office_id, office.id, "{name}");
    }
}

#[tokio::test]
async fn an_administrator_of_one_town_cannot_change_another_towns_catalogue() {
    for Engine { name, store, .. } in engines().await {
        let desk = desk(&store, DeskSettings::default());
        let (a, admin_a) = new_town(&desk, "siena").await;
        let (b, admin_b) = new_town(&desk, "arezzo").await;
        let (office_a, service_a) = catalogue(&desk, &a, &admin_a).await;
        let (office_b, _) = catalogue(&desk, &b, &admin_b).await;
        let week = mornings(3, &[Weekday::Friday]);
        let closure = ClosurePlan { first: date(2026, 12, 24), last: date(2026, 12, 24), reason: String::new() };
        let a_closure = desk.add_closure(&a, &admin_a, office_a.id, &closure, Lang::It).await.unwrap();

        // Town B's administrator, in town B, with ids of town A: no such things.
        assert!(not_found(desk.update_office(&b, &admin_b, office_a.id, &new_office("X")).await), "{name}");
        assert!(not_found(desk.set_hours(&b, &admin_b, office_a.id, &week, Lang::It).await), "{name}");
        assert!(not_found(desk.add_closure(&b, &admin_b, office_a.id, &closure, Lang::It).await), "{name}");
        assert!(not_found(desk.delete_closure(&b, &admin_b, office_a.id, a_closure).await), "{name}");
        assert!(not_found(desk.delete_closure(&b, &admin_b, office_b.id, a_closure).await), "{name}");
        let into_a = new_service(office_a.id, true);
        assert!(not_found(desk.create_service(&b, &admin_b, &into_a, Lang::It).await), "{name}");
        let in_b = new_service(office_b.id, false);
        assert!(not_found(desk.update_service(&b, &admin_b, service_a.id, &in_b, Lang::It).await), "{name}");

        // Town B's administrator naming town A: refused whatever the ids.
        assert!(forbidden(desk.update_office(&a, &admin_b, office_a.id, &new_office("X")).await), "{name}");
        assert!(forbidden(desk.create_office(&a, &admin_b, &new_office("X")).await), "{name}");
        assert!(forbidden(desk.set_hours(&a, &admin_b, office_a.id, &week, Lang::It).await), "{name}");
        assert!(forbidden(desk.update_service(&a, &admin_b, service_a.id, &in_b, Lang::It).await), "{name}");

        let kept = store.office(a.id, office_a.id).await.unwrap().unwrap();
        assert_eq!((kept.name.as_str(), kept.desks), ("Anagrafe", 1), "{name}");
        assert_eq!(store.hours(a.id, office_a.id).await.unwrap().len(), 1, "{name}");
        assert_eq!(store.closures(a.id, office_a.id).await.unwrap().len(), 1, "{name}");
        let kept = store.service(a.id, service_a.id).await.unwrap().unwrap();
        assert!(kept.active && kept.office_id == office_a.id, "{name}");
        assert_eq!(store.offices(a.id).await.unwrap().len(), 1, "{name}");
    }
}
