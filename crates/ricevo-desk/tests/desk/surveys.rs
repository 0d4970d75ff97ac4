//! Questionnaires through the desk, on SQLite and PostgreSQL: who may build, open and close
//! them, a kiosk that answers only while its questionnaire is open, results without identity,
//! an audit entry for every act, and a second town that sees and changes nothing.

#![allow(clippy::unwrap_used, clippy::needless_pass_by_value)]

use crate::support;

use ricevo_core::audit::{Act, Actor, Subject};
use ricevo_core::survey::{QuestionKey, Questionnaire, SurveyChannel, SurveyKind, SurveyStatus};
use ricevo_core::{Lang, UserId};
use ricevo_desk::{Desk, DeskError, DeskSettings};
use ricevo_store::{AuditFilter, Grant, NewQuestionnaire, NewResponse, ResponseFilter, Role, Tenant};
use support::{desk, engines, forbidden, new_town, not_found, town};

fn survey(title: &str, office: Option<ricevo_core::OfficeId>) -> NewQuestionnaire {
    NewQuestionnaire {
        title: title.into(),
        kind: SurveyKind::Survey,
        office_id: office,
        service_id: None,
        definition: Questionnaire::feedback_default(),
    }
}

fn grant(tenant: &Tenant, role: Role, offices: Vec<ricevo_core::OfficeId>) -> Grant {
    Grant { tenant_id: tenant.id, role, offices, actor: Actor::Staff { id: UserId(99), name: "x".into() } }
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn invalid<T>(r: Result<T, DeskError>) -> bool {
    matches!(r, Err(DeskError::Invalid(_)))
}

#[tokio::test]
async fn a_questionnaire_is_built_opened_closed_and_audited_only_by_those_allowed() {
    for e in engines().await {
        let desk: Desk = desk(&e.store, DeskSettings::default());
        let (tenant, admin) = new_town(&desk, "prato").await;
        let (other, other_admin) = new_town(&desk, "siena").await;
        let place = town(&*e.store, "empoli", 1).await;
        let office = desk
            .create_office(
                &tenant,
                &admin,
                &ricevo_store::NewOffice {
                    name: "Anagrafe".into(),
                    description: String::new(),
                    address: "Piazza 1".into(),
                    contact_email: "a@prato.example".into(),
                },
            )
            .await
            .unwrap();
        let q =
            desk.create_questionnaire(&tenant, &admin, &survey("  Servizi online  ", None), Lang::It).await.unwrap();
        assert_eq!((q.title.as_str(), q.status), ("Servizi online", SurveyStatus::Draft), "{}", e.name);

        // A manager manages questionnaires of their offices only, never one for the whole town.
        let manager = grant(&tenant, Role::Manager, vec![office.id]);
        assert!(invalid(desk.create_questionnaire(&tenant, &manager, &survey("Mio", None), Lang::It).await));
        let theirs =
            desk.create_questionnaire(&tenant, &manager, &survey("Anagrafe", Some(office.id)), Lang::En).await.unwrap();
        assert!(forbidden(desk.managed_questionnaire(&tenant, &manager, q.id).await));
        assert_eq!(
            desk.questionnaires(&tenant, &manager).await.unwrap().iter().map(|x| x.id).collect::<Vec<_>>(),
            [theirs.id]
        );
        // Not another town's office.
        assert!(not_found(
            desk.create_questionnaire(&tenant, &admin, &survey("x", Some(place.office.id)), Lang::It).await
        ));
        // An operator builds nothing.
        let operator = grant(&tenant, Role::Operator, vec![office.id]);
        assert!(forbidden(
            desk.create_questionnaire(&tenant, &operator, &survey("x", Some(office.id)), Lang::It).await
        ));
        assert!(forbidden(desk.managed_questionnaire(&tenant, &operator, theirs.id).await));

        // A broken definition is refused in the user's language.
        let mut broken = survey("Rotto", None);
        broken.definition.sections[0].questions[1].show_if.as_mut().unwrap().values = vec!["9".into()];
        let Err(DeskError::Invalid(why)) = desk.create_questionnaire(&tenant, &admin, &broken, Lang::En).await else {
            panic!()
        };
        assert!(why.contains("condition"), "{why}");

        // A draft changes; once open it no longer does; it closes and reopens, never back to draft.
        desk.update_questionnaire(&tenant, &admin, q.id, &survey("Servizi online 2026", None), Lang::It).await.unwrap();
        desk.set_questionnaire_status(&tenant, &admin, q.id, SurveyStatus::Open, Lang::It).await.unwrap();
        assert!(invalid(desk.update_questionnaire(&tenant, &admin, q.id, &survey("Altro", None), Lang::It).await));
        assert!(invalid(desk.set_questionnaire_status(&tenant, &admin, q.id, SurveyStatus::Draft, Lang::It).await));
        desk.set_questionnaire_status(&tenant, &admin, q.id, SurveyStatus::Closed, Lang::It).await.unwrap();
        desk.set_questionnaire_status(&tenant, &admin, q.id, SurveyStatus::Open, Lang::It).await.unwrap();
        // An operator sees the open ones they may run at a kiosk.
        assert_eq!(
            desk.questionnaires(&tenant, &operator).await.unwrap().iter().map(|x| x.id).collect::<Vec<_>>(),
            [q.id]
        );

        // The other town sees nothing of it and changes nothing.
        assert!(desk.questionnaires(&other, &other_admin).await.unwrap().is_empty());
        assert!(not_found(desk.managed_questionnaire(&other, &other_admin, q.id).await));
        assert!(not_found(
            desk.set_questionnaire_status(&other, &other_admin, q.id, SurveyStatus::Closed, Lang::It).await
        ));
        assert!(forbidden(desk.managed_questionnaire(&tenant, &other_admin, q.id).await));

        let log =
            desk.store().audit_log(tenant.id, &AuditFilter { limit: 50, ..AuditFilter::default() }).await.unwrap();
        let details: Vec<&str> = log
            .iter()
            .filter(|x| x.act == Act::QuestionnaireChanged && x.subject == Subject::Questionnaire(q.id.0))
            .map(|x| x.detail.as_str())
            .collect();
        assert_eq!(details, ["open", "closed", "open", "changed", "created"], "{}", e.name);
    }
}

#[tokio::test]
async fn a_kiosk_answers_while_its_questionnaire_is_open_and_only_there() {
    for e in engines().await {
        let desk: Desk = desk(&e.store, DeskSettings::default());
        let (tenant, admin) = new_town(&desk, "prato").await;
        let (other, other_admin) = new_town(&desk, "siena").await;
        let q = desk.create_questionnaire(&tenant, &admin, &survey("Sportelli", None), Lang::It).await.unwrap();
        let operator = grant(&tenant, Role::Operator, vec![]);
        // A draft runs no kiosk.
        assert!(invalid(desk.start_kiosk(&tenant, &operator, q.id, "Anagrafe", Lang::It).await));
        desk.set_questionnaire_status(&tenant, &admin, q.id, SurveyStatus::Open, Lang::It).await.unwrap();
        assert!(invalid(desk.start_kiosk(&tenant, &operator, q.id, "  ", Lang::It).await));
        assert!(not_found(desk.start_kiosk(&other, &other_admin, q.id, "Anagrafe", Lang::It).await));
        let (token, pass) = desk.start_kiosk(&tenant, &operator, q.id, " Anagrafe ", Lang::It).await.unwrap();
        assert_eq!(pass.place, "Anagrafe");

        // The token opens this questionnaire's kiosk in this town only.
        let (pass2, q2) = desk.kiosk(&tenant, q.id, &token).await.unwrap();
        assert_eq!((pass2.id, q2.id), (pass.id, q.id));
        assert!(matches!(desk.kiosk(&other, q.id, &token).await, Err(DeskError::Unauthorized)));
        assert!(matches!(desk.kiosk(&tenant, q.id, "forged").await, Err(DeskError::Unauthorized)));

        let answers = q.definition.read_answers(&pairs(&[("rating", "2"), ("difficulties", "unclear")])).unwrap();
        desk.answer_questionnaire(&q2, SurveyChannel::Kiosk, Some(&pass.place), answers.clone(), Lang::It)
            .await
            .unwrap();
        let stored = desk.store().responses(tenant.id, Some(q.id), &ResponseFilter::default()).await.unwrap();
        assert_eq!(stored.len(), 1);
        let r: &NewResponse = &stored[0].response;
        assert_eq!((r.channel, r.place.as_deref(), r.rating), (SurveyChannel::Kiosk, Some("Anagrafe"), Some(2)));

        // Closed: refused clearly, nothing stored, even with the questionnaire read before.
        desk.set_questionnaire_status(&tenant, &admin, q.id, SurveyStatus::Closed, Lang::It).await.unwrap();
        let Err(DeskError::Invalid(why)) =
            desk.answer_questionnaire(&q2, SurveyChannel::Kiosk, Some("Anagrafe"), answers.clone(), Lang::It).await
        else {
            panic!()
        };
        assert!(why.contains("chiuso"), "{why}");
        assert_eq!(desk.store().responses(tenant.id, Some(q.id), &ResponseFilter::default()).await.unwrap().len(), 1);

        // Stopped: the token opens nothing.
        desk.set_questionnaire_status(&tenant, &admin, q.id, SurveyStatus::Open, Lang::It).await.unwrap();
        assert!(forbidden(desk.stop_kiosk(&tenant, &operator, q.id, pass.id).await));
        desk.stop_kiosk(&tenant, &admin, q.id, pass.id).await.unwrap();
        assert!(matches!(desk.kiosk(&tenant, q.id, &token).await, Err(DeskError::Unauthorized)));
    }
}

#[tokio::test]
async fn results_count_every_answer_without_identity_for_those_who_manage() {
    for e in engines().await {
        let desk: Desk = desk(&e.store, DeskSettings::default());
        let (tenant, admin) = new_town(&desk, "prato").await;
        let (other, other_admin) = new_town(&desk, "siena").await;
        let q = desk.create_questionnaire(&tenant, &admin, &survey("Sportelli", None), Lang::It).await.unwrap();
        desk.set_questionnaire_status(&tenant, &admin, q.id, SurveyStatus::Open, Lang::It).await.unwrap();
        let q = desk.managed_questionnaire(&tenant, &admin, q.id).await.unwrap();
        for rating in ["5", "4", "4", "2", "5", "5"] {
            let a =
                q.definition.read_answers(&pairs(&[("rating", rating), ("details", "<script>x</script>")])).unwrap();
            desk.answer_questionnaire(&q, SurveyChannel::Kiosk, Some("URP"), a, Lang::It).await.unwrap();
        }
        let (_, r) = desk.questionnaire_results(&tenant, &admin, q.id, &ResponseFilter::default()).await.unwrap();
        assert_eq!(r.total, 6);
        let rating = r.questions.iter().find(|x| x.key == QuestionKey::parse("rating").unwrap()).unwrap();
        assert_eq!(rating.average, Some(25.0 / 6.0));
        assert_eq!(r.by_channel[0].averages, Some(vec![Some(25.0 / 6.0)]));
        assert_eq!(r.questions[3].texts.len(), 6);
        assert!(forbidden(
            desk.questionnaire_results(
                &tenant,
                &grant(&tenant, Role::Operator, vec![]),
                q.id,
                &ResponseFilter::default()
            )
            .await
        ));
        assert!(not_found(desk.questionnaire_results(&other, &other_admin, q.id, &ResponseFilter::default()).await));
    }
}
