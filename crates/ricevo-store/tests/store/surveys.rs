//! Questionnaires and their responses, run against SQLite and PostgreSQL alike (PostgreSQL as
//! in `behaviour.rs`: skipped without a server, except under `CI=true`).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use jiff::Timestamp;
use ricevo_core::Lang;
use ricevo_core::survey::{Questionnaire, QuestionnaireId, SurveyChannel, SurveyKind, SurveyStatus};
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
    let schema = ricevo_store::testing::TestSchema::create("surveys").await?;
    let store = schema.node().await;
    store.migrate().await.unwrap();
    Some(Fixture { store, _guard: Box::new(schema) })
}

async fn town(store: &dyn Store, slug: &str) -> (Tenant, Office) {
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
    (tenant, office)
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn survey(title: &str) -> NewQuestionnaire {
    NewQuestionnaire {
        title: title.into(),
        kind: SurveyKind::Survey,
        office_id: None,
        service_id: None,
        definition: Questionnaire::feedback_default(),
    }
}

fn response(tenant: TenantIdOf, q: Option<QuestionnaireId>, rating: &str, when: &str) -> NewResponse {
    let def = Questionnaire::feedback_default();
    let answers = def
        .read_answers(&[("rating".to_owned(), rating.to_owned()), ("details".to_owned(), "<b>bene</b>".to_owned())])
        .unwrap();
    NewResponse {
        tenant_id: tenant,
        questionnaire_id: q,
        channel: SurveyChannel::Kiosk,
        place: Some("Anagrafe".into()),
        office_id: None,
        service_id: None,
        mode: None,
        wait_seconds: None,
        duration_seconds: None,
        rating: answers.rating(&def),
        answers,
        lang: Lang::It,
        submitted_at: at(when),
    }
}

type TenantIdOf = ricevo_core::TenantId;

macro_rules! surveys {
    ($engine:ident) => {
        mod $engine {
            use super::*;

            #[tokio::test]
            async fn a_questionnaire_is_created_as_a_draft_changed_opened_and_seen_only_by_its_town() {
                let Some(f) = super::$engine().await else { return };
                let ((a, office_a), (b, office_b)) = (town(&*f.store, "a").await, town(&*f.store, "b").await);
                let now = at("2026-12-01T09:00:00Z");
                let q = f.store.create_questionnaire(a.id, &survey("Servizi online"), now).await.unwrap();
                assert_eq!((q.status, q.tenant_id, q.kind), (SurveyStatus::Draft, a.id, SurveyKind::Survey));
                assert_eq!(q.definition, Questionnaire::feedback_default());

                let mut changed = survey("Servizi online 2026");
                changed.office_id = Some(office_a.id);
                let later = at("2026-12-01T10:00:00Z");
                f.store.update_questionnaire(a.id, q.id, &changed, later).await.unwrap();
                f.store.set_questionnaire_status(a.id, q.id, SurveyStatus::Open, later).await.unwrap();
                let back = f.store.questionnaire(a.id, q.id).await.unwrap().unwrap();
                assert_eq!(
                    (back.title.as_str(), back.office_id, back.status),
                    ("Servizi online 2026", Some(office_a.id), SurveyStatus::Open)
                );
                assert_eq!(back.updated_at, later);

                // The other town sees nothing and changes nothing.
                assert!(f.store.questionnaire(b.id, q.id).await.unwrap().is_none());
                assert!(f.store.questionnaires(b.id).await.unwrap().is_empty());
                assert!(matches!(
                    f.store.update_questionnaire(b.id, q.id, &survey("x"), later).await,
                    Err(StoreError::NotFound)
                ));
                assert!(matches!(
                    f.store.set_questionnaire_status(b.id, q.id, SurveyStatus::Closed, later).await,
                    Err(StoreError::NotFound)
                ));
                // Nor may a town name another town's office.
                let mut foreign = survey("x");
                foreign.office_id = Some(office_b.id);
                assert!(matches!(f.store.create_questionnaire(a.id, &foreign, now).await, Err(StoreError::NotFound)));
                assert!(matches!(
                    f.store.update_questionnaire(a.id, q.id, &foreign, now).await,
                    Err(StoreError::NotFound)
                ));
                assert_eq!(f.store.questionnaires(a.id).await.unwrap().len(), 1);
            }

            #[tokio::test]
            async fn responses_are_taken_only_while_open_and_read_back_by_town_and_questionnaire() {
                let Some(f) = super::$engine().await else { return };
                let ((a, _), (b, _)) = (town(&*f.store, "a").await, town(&*f.store, "b").await);
                let now = at("2026-12-01T09:00:00Z");
                let q = f.store.create_questionnaire(a.id, &survey("Sportello"), now).await.unwrap();
                // A draft takes no answers.
                assert!(matches!(
                    f.store.add_response(&response(a.id, Some(q.id), "4", "2026-12-01T09:01:00Z")).await,
                    Err(StoreError::Stale)
                ));
                f.store.set_questionnaire_status(a.id, q.id, SurveyStatus::Open, now).await.unwrap();
                let first =
                    f.store.add_response(&response(a.id, Some(q.id), "4", "2026-12-01T09:01:00Z")).await.unwrap();
                let second =
                    f.store.add_response(&response(a.id, Some(q.id), "2", "2026-12-01T09:02:00Z")).await.unwrap();
                // Another town cannot answer this town's questionnaire.
                assert!(matches!(
                    f.store.add_response(&response(b.id, Some(q.id), "1", "2026-12-01T09:03:00Z")).await,
                    Err(StoreError::NotFound)
                ));
                // The built-in feedback (no questionnaire) of the same town is kept apart.
                f.store.add_response(&response(a.id, None, "5", "2026-12-01T09:04:00Z")).await.unwrap();
                f.store.set_questionnaire_status(a.id, q.id, SurveyStatus::Closed, now).await.unwrap();
                assert!(matches!(
                    f.store.add_response(&response(a.id, Some(q.id), "4", "2026-12-01T09:05:00Z")).await,
                    Err(StoreError::Stale)
                ));

                let all = f.store.responses(a.id, Some(q.id), &ResponseFilter::default()).await.unwrap();
                assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), [second, first], "newest first");
                let r = &all[1].response;
                assert_eq!(
                    (r.rating, r.channel, r.place.as_deref()),
                    (Some(4), SurveyChannel::Kiosk, Some("Anagrafe"))
                );
                assert_eq!(r.answers, response(a.id, Some(q.id), "4", "2026-12-01T09:01:00Z").answers);
                assert_eq!(r.submitted_at, at("2026-12-01T09:01:00Z"));
                let feedback = f.store.responses(a.id, None, &ResponseFilter::default()).await.unwrap();
                assert_eq!(feedback.len(), 1);
                assert_eq!(feedback[0].response.rating, Some(5));
                assert!(f.store.responses(b.id, Some(q.id), &ResponseFilter::default()).await.unwrap().is_empty());
                assert!(f.store.responses(b.id, None, &ResponseFilter::default()).await.unwrap().is_empty());

                let narrowed = ResponseFilter {
                    from: Some(at("2026-12-01T09:01:30Z")),
                    to: Some(at("2026-12-01T10:00:00Z")),
                    channel: Some(SurveyChannel::Kiosk),
                    office: None,
                    limit: 10,
                };
                assert_eq!(f.store.responses(a.id, Some(q.id), &narrowed).await.unwrap().len(), 1);
                let email = ResponseFilter { channel: Some(SurveyChannel::Email), ..ResponseFilter::default() };
                assert!(f.store.responses(a.id, Some(q.id), &email).await.unwrap().is_empty());
                let one = ResponseFilter { limit: 1, ..ResponseFilter::default() };
                assert_eq!(f.store.responses(a.id, Some(q.id), &one).await.unwrap().len(), 1);
            }
        }
    };
}

surveys!(sqlite);
surveys!(postgres);

macro_rules! kiosks {
    ($engine:ident) => {
        mod $engine {
            use super::*;

            #[tokio::test]
            async fn a_kiosk_pass_opens_one_questionnaire_until_revoked_or_expired_and_only_in_its_town() {
                let Some(f) = super::$engine().await else { return };
                let ((a, _), (b, _)) = (town(&*f.store, "a").await, town(&*f.store, "b").await);
                let now = at("2026-12-01T09:00:00Z");
                let q = f.store.create_questionnaire(a.id, &survey("Sportello"), now).await.unwrap();
                let pass = KioskPass {
                    id: 0,
                    tenant_id: a.id,
                    questionnaire_id: q.id,
                    place: "Anagrafe".into(),
                    created_by: None,
                    created_at: now,
                    expires_at: at("2026-12-02T09:00:00Z"),
                };
                let stored = f.store.start_kiosk("hash-1", &pass).await.unwrap();
                assert_eq!((stored.place.as_str(), stored.questionnaire_id), ("Anagrafe", q.id));
                assert_eq!(f.store.kiosk_pass("hash-1", now).await.unwrap().map(|p| p.id), Some(stored.id));
                assert!(f.store.kiosk_pass("hash-1", at("2026-12-02T09:00:00Z")).await.unwrap().is_none(), "expired");
                assert!(f.store.kiosk_pass("hash-2", now).await.unwrap().is_none());
                // Another town can neither start a kiosk on it, nor see or stop this one.
                let foreign = KioskPass { tenant_id: b.id, ..pass.clone() };
                assert!(matches!(f.store.start_kiosk("hash-3", &foreign).await, Err(StoreError::NotFound)));
                assert!(f.store.kiosk_passes(b.id, q.id, now).await.unwrap().is_empty());
                assert!(matches!(f.store.revoke_kiosk_pass(b.id, stored.id, now).await, Err(StoreError::NotFound)));
                assert_eq!(f.store.kiosk_passes(a.id, q.id, now).await.unwrap().len(), 1);
                f.store.revoke_kiosk_pass(a.id, stored.id, now).await.unwrap();
                assert!(f.store.kiosk_pass("hash-1", now).await.unwrap().is_none(), "revoked at once");
                assert!(f.store.kiosk_passes(a.id, q.id, now).await.unwrap().is_empty());
            }
        }
    };
}

mod kiosk {
    use super::*;
    kiosks!(sqlite);
    kiosks!(postgres);
}
