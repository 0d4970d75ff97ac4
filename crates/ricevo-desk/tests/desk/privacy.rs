//! A citizen's data exported and erased on request through the desk, on SQLite and
//! PostgreSQL: administrators only, within their own town, and never while an appointment is
//! still to come.

#![allow(clippy::unwrap_used)]

use crate::support;

use ricevo_core::Lang;
use ricevo_core::audit::{Act, Actor};
use ricevo_desk::booking::{BookingRequest, BookingResult};
use ricevo_desk::privacy::CitizenKey;
use ricevo_desk::staff::town_administrator;
use ricevo_desk::{DeskError, DeskSettings};
use ricevo_store::{Appointment, Grant, Role};
use support::{Engine, citizen, desk_at, engines, forbidden, town};

async fn book(desk: &ricevo_desk::Desk, t: &support::Town, start: &str) -> Appointment {
    let mut input = citizen("Maria Rossi", "maria.rossi@example.it");
    input.phone = Some("333 123 4567".into());
    let req = BookingRequest {
        service_id: t.service.id,
        start: start.parse().unwrap(),
        input,
        idempotency: None,
        source: format!("test-{}", rand::random::<u64>()),
    };
    let BookingResult::Booked { receipt, .. } = desk.book(&t.tenant, req, Lang::It).await.unwrap() else {
        panic!("expected a booking");
    };
    let all = desk.store().search_appointments(t.tenant.id, "maria", 10).await.unwrap();
    all.into_iter().find(|a| a.public_id == receipt.id).unwrap()
}

#[tokio::test]
async fn only_a_towns_administrator_exports_or_erases_and_only_that_towns_citizen() {
    for Engine { name, store, .. } in engines().await {
        let (desk, clock) = desk_at(&store, DeskSettings::default(), "2026-12-07T07:00:00Z");
        let (a, b) = (town(&*store, "prato", 1).await, town(&*store, "pistoia", 1).await);
        let (admin_a, admin_b) = (town_administrator(a.tenant.id), town_administrator(b.tenant.id));
        let ours = book(&desk, &a, "2026-12-09T09:00:00Z").await;
        let theirs = book(&desk, &b, "2026-12-09T09:00:00Z").await;
        let maria = CitizenKey::parse(Some("Maria.Rossi@example.it"), None, None, Lang::It).unwrap();

        // Operators and managers, and another town's administrator, get nothing.
        for role in [Role::Operator, Role::Manager] {
            let grant = Grant { tenant_id: a.tenant.id, role, offices: vec![a.office.id], actor: Actor::System };
            assert!(forbidden(desk.citizen_record(&a.tenant, &grant, &maria).await), "{name}: {role:?}");
            assert!(forbidden(desk.erase_citizen(&a.tenant, &grant, &maria).await), "{name}: {role:?}");
        }
        assert!(forbidden(desk.citizen_record(&a.tenant, &admin_b, &maria).await), "{name}");
        assert!(forbidden(desk.erase_citizen(&a.tenant, &admin_b, &maria).await), "{name}");

        let record = desk.citizen_record(&a.tenant, &admin_a, &maria).await.unwrap();
        assert_eq!(record.appointments.iter().map(|x| x.id).collect::<Vec<_>>(), [ours.id], "{name}");
        assert!(!record.messages.is_empty(), "{name}: the confirmation and reminder are queued");
        let by_phone = CitizenKey::parse(None, Some("+39 3331234567"), None, Lang::It).unwrap();
        assert_eq!(desk.citizen_record(&a.tenant, &admin_a, &by_phone).await.unwrap().appointments.len(), 1, "{name}");

        // Still to come: refused, naming it; nothing changed.
        let refused = desk.erase_citizen(&a.tenant, &admin_a, &maria).await;
        assert!(
            matches!(&refused, Err(DeskError::ActiveAppointments(ids)) if ids.as_slice() == std::slice::from_ref(&ours.public_id)),
            "{name}: {refused:?}"
        );
        // Once it is cancelled, the erasure goes through, in town a only.
        desk.cancel(&a.tenant, &ours).await.unwrap();
        clock.set("2026-12-08T07:00:00Z");
        let counts = desk.erase_citizen(&a.tenant, &admin_a, &maria).await.unwrap();
        assert_eq!(counts.appointments, 1, "{name}");
        assert!(desk.citizen_record(&a.tenant, &admin_a, &maria).await.unwrap().is_empty(), "{name}");
        let kept = store.appointment(b.tenant.id, theirs.id).await.unwrap().unwrap();
        assert_eq!(kept.citizen_email, "maria.rossi@example.it", "{name}: town b's record is b's");
        assert_eq!(desk.citizen_record(&b.tenant, &admin_b, &maria).await.unwrap().appointments.len(), 1, "{name}");

        // Both acts are in town a's audit log, the erasure without the citizen's name.
        let log = desk.audit_log(&admin_a, a.tenant.id, ricevo_store::AuditFilter::default()).await.unwrap();
        let acts: Vec<Act> = log.iter().map(|e| e.act).collect();
        assert!(acts.contains(&Act::CitizenExported) && acts.contains(&Act::CitizenErased), "{name}: {acts:?}");
        let erased = log.iter().find(|e| e.act == Act::CitizenErased).unwrap();
        assert_eq!(erased.citizen_name, None, "{name}");
        assert!(erased.detail.contains("1 appointments anonymised"), "{name}: {}", erased.detail);
        let theirs = desk.audit_log(&admin_b, b.tenant.id, ricevo_store::AuditFilter::default()).await.unwrap();
        assert!(theirs.iter().all(|e| e.act != Act::CitizenErased), "{name}: not in town b's log");
    }
}
