//! Feedback requests on SQLite and PostgreSQL: one per appointment, and one answer per
//! request even when two answers race on two nodes; an answer retracts the follow-up e-mail
//! not sent yet; expired and unknown requests take nothing.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::sync::Arc;

use jiff::Timestamp;
use ricevo_core::feedback::{ContactMode, Measures, Refusal};
use ricevo_core::service::ServiceRules;
use ricevo_core::survey::{Answers, SurveyChannel};
use ricevo_core::{AppointmentStatus, Lang, Mode};
use ricevo_store::*;

struct Fixture {
    store: Arc<dyn Store>,
    // A second pool on the same database: a second server node.
    other_node: Arc<dyn Store>,
    _guard: Box<dyn std::any::Any + Send>,
}

async fn fixtures() -> Vec<(&'static str, Fixture)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = open(&url).await.unwrap();
    let other_node = open(&url).await.unwrap();
    let mut all = vec![("sqlite", Fixture { store, other_node, _guard: Box::new(dir) })];
    if let Some(schema) = ricevo_store::testing::TestSchema::create("fb").await {
        let store = schema.node().await;
        store.migrate().await.unwrap();
        let other_node = schema.node().await;
        all.push(("postgres", Fixture { store, other_node, _guard: Box::new(schema) }));
    }
    all
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A town with an office, a service and one in-person appointment; the appointment.
async fn appointment(store: &dyn Store, slug: &str) -> Appointment {
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
                address: "Piazza 1".into(),
                contact_email: "a@x.it".into(),
            },
        )
        .await
        .unwrap();
    let service = store
        .create_service(
            tenant.id,
            &NewService {
                office_id: office.id,
                name: "CIE".into(),
                description: String::new(),
                rules: ServiceRules::new(20, 0, vec![Mode::InPerson], 0, 60).unwrap(),
                what_to_bring: String::new(),
                questions: vec![],
                active: true,
            },
        )
        .await
        .unwrap();
    let start = at("2026-12-07T09:00:00Z");
    let new = NewAppointment {
        public_id: format!("P{slug}"),
        token_hash: format!("appointment-{slug}"),
        mode: Mode::InPerson,
        citizen_name: "Maria".into(),
        now: at("2026-12-01T00:00:00Z"),
        ..ricevo_store::testing::appointment(tenant.id, office.id, service.id, start)
    };
    match store.book(&new).await.unwrap() {
        BookOutcome::Booked(a) => *a,
        other => panic!("{other:?}"),
    }
}

fn request(a: &Appointment, token_hash: &str, key: &str) -> NewFeedbackRequest {
    NewFeedbackRequest {
        token_hash: token_hash.into(),
        tenant_id: a.tenant_id,
        appointment_id: Some(a.id),
        entry_id: None,
        office_id: a.office_id,
        service_id: Some(a.service_id),
        mode: ContactMode::InPerson,
        measures: Measures::default(),
        expires_at: at("2026-12-17T10:00:00Z"),
        outbox: Some(NewOutboxMessage {
            kind: "email".into(),
            dedupe_key: key.into(),
            payload: "{\"kind\":\"email\"}".into(),
            due_at: at("2026-12-07T10:30:00Z"),
            retractable: true,
        }),
    }
}

fn response(a: &Appointment, rating: u8, now: Timestamp) -> NewResponse {
    NewResponse {
        tenant_id: a.tenant_id,
        questionnaire_id: None,
        channel: SurveyChannel::AfterContact,
        place: None,
        office_id: Some(a.office_id),
        service_id: Some(a.service_id),
        mode: Some("in_person".into()),
        wait_seconds: None,
        duration_seconds: None,
        rating: Some(rating),
        answers: Answers::default(),
        lang: Lang::It,
        submitted_at: now,
    }
}

#[tokio::test]
async fn two_concurrent_answers_to_one_request_store_exactly_one() {
    for (engine, f) in fixtures().await {
        eprintln!("engine: {engine}");
        let a = appointment(&*f.store, "borgo").await;
        let now = at("2026-12-07T10:00:00Z");
        let ask = request(&a, "hash-1", "feedback:appointment:test");
        f.store
            .set_status_asking_feedback(
                a.tenant_id,
                a.id,
                AppointmentStatus::Booked,
                AppointmentStatus::Done,
                now,
                &ask,
            )
            .await
            .unwrap();
        // A second request for the same appointment is ignored, with its e-mail.
        let twice = NewFeedbackRequest { token_hash: "hash-2".into(), ..request(&a, "hash-2", "feedback:other") };
        f.store
            .set_status_asking_feedback(
                a.tenant_id,
                a.id,
                AppointmentStatus::Done,
                AppointmentStatus::NoShow,
                now,
                &twice,
            )
            .await
            .unwrap();
        assert!(f.store.feedback_request("hash-2").await.unwrap().is_none());
        assert_eq!(f.store.outbox_backlog().await.unwrap(), 1, "one follow-up e-mail");

        for round in 0..5 {
            let (five, one_star) = (response(&a, 5, now), response(&a, 1, now));
            let (one, two) = tokio::join!(
                f.store.answer_feedback(a.tenant_id, "hash-1", now, &five),
                f.other_node.answer_feedback(a.tenant_id, "hash-1", now, &one_star),
            );
            let outcomes = [one.unwrap(), two.unwrap()];
            let stored = outcomes.iter().filter(|o| matches!(o, FeedbackAnswer::Stored(_))).count();
            if round == 0 {
                assert_eq!(stored, 1, "exactly one of two racing answers: {outcomes:?}");
            } else {
                assert_eq!(stored, 0, "never again: {outcomes:?}");
            }
            assert!(
                outcomes
                    .iter()
                    .all(|o| matches!(o, FeedbackAnswer::Stored(_) | FeedbackAnswer::Refused(Refusal::Answered))),
                "{outcomes:?}"
            );
        }
        let stored = f.store.responses(a.tenant_id, None, &ResponseFilter::default()).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].response.channel, SurveyChannel::AfterContact);
        assert_eq!(stored[0].response.mode.as_deref(), Some("in_person"));
        let r = f.store.feedback_request("hash-1").await.unwrap().unwrap();
        assert_eq!(r.answered_at, Some(now));
        assert_eq!(f.store.outbox_backlog().await.unwrap(), 0, "the answer withdrew the e-mail not sent yet");
    }
}

#[tokio::test]
async fn an_expired_unknown_or_other_towns_request_takes_no_answer() {
    for (engine, f) in fixtures().await {
        eprintln!("engine: {engine}");
        let a = appointment(&*f.store, "borgo").await;
        let b = appointment(&*f.store, "altrove").await;
        let now = at("2026-12-07T10:00:00Z");
        let ask = request(&a, "hash-a", "feedback:appointment:a");
        f.store
            .set_status_asking_feedback(
                a.tenant_id,
                a.id,
                AppointmentStatus::Booked,
                AppointmentStatus::Done,
                now,
                &ask,
            )
            .await
            .unwrap();
        let late = at("2026-12-17T10:00:00Z");
        let expired = f.store.answer_feedback(a.tenant_id, "hash-a", late, &response(&a, 3, late)).await.unwrap();
        assert_eq!(expired, FeedbackAnswer::Refused(Refusal::Expired));
        let other_town = f.store.answer_feedback(b.tenant_id, "hash-a", now, &response(&b, 3, now)).await;
        assert!(matches!(other_town, Err(StoreError::NotFound)), "{other_town:?}");
        let unknown = f.store.answer_feedback(a.tenant_id, "nope", now, &response(&a, 3, now)).await;
        assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
        assert!(f.store.responses(a.tenant_id, None, &ResponseFilter::default()).await.unwrap().is_empty());
        assert_eq!(f.store.feedback_request("hash-a").await.unwrap().unwrap().answered_at, None);

        // The town's retention takes old requests with it.
        f.store.purge_personal_before(a.tenant_id, at("2026-12-08T00:00:00Z")).await.unwrap();
        assert!(f.store.feedback_request("hash-a").await.unwrap().is_none());
    }
}
