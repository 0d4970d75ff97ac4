//! Survey campaigns through the desk, on SQLite and PostgreSQL: administrators of the town
//! only, the sender holding each town to its rate per minute, a campaign started only with an
//! open questionnaire, and links that answer once.

#![allow(clippy::unwrap_used)]

use crate::support;

use ricevo_core::Lang;
use ricevo_core::audit::{Act, Actor};
use ricevo_core::campaign::CampaignAction;
use ricevo_core::survey::{Questionnaire, SurveyKind, SurveyStatus};
use ricevo_desk::staff::town_administrator;
use ricevo_desk::{DeskError, DeskSettings, SurveySettings};
use ricevo_store::{AuditFilter, Grant, NewQuestionnaire, Role};
use support::{Engine, desk_at, engines, forbidden, town};

fn list(n: usize) -> Vec<u8> {
    let mut s = String::from("email;nome;consenso;lingua\n");
    for i in 0..n {
        s.push_str(&format!("p{i}@example.org;Persona {i};2024-01-01;it\n"));
    }
    s.into_bytes()
}

#[tokio::test]
async fn the_sender_keeps_each_town_to_its_rate_and_only_administrators_run_campaigns() {
    for Engine { name, store, .. } in engines().await {
        let settings = DeskSettings {
            surveys: SurveySettings { campaign_messages_per_minute: 40, ..SurveySettings::default() },
            ..DeskSettings::default()
        };
        let (desk, clock) = desk_at(&store, settings, "2026-12-07T07:00:00Z");
        let (a, b) = (town(&*store, "prato", 1).await, town(&*store, "pistoia", 1).await);
        let (admin_a, admin_b) = (town_administrator(a.tenant.id), town_administrator(b.tenant.id));
        let operator =
            Grant { tenant_id: a.tenant.id, role: Role::Operator, offices: vec![a.office.id], actor: Actor::System };
        assert!(forbidden(desk.import_contacts(&a.tenant, &operator, &list(3), Lang::It).await), "{name}");
        assert!(forbidden(desk.import_contacts(&a.tenant, &admin_b, &list(3), Lang::It).await), "{name}");
        desk.import_contacts(&a.tenant, &admin_a, &list(100), Lang::It).await.unwrap();
        desk.import_contacts(&b.tenant, &admin_b, &list(10), Lang::It).await.unwrap();

        let now = desk.now();
        let q = store
            .create_questionnaire(
                a.tenant.id,
                &NewQuestionnaire {
                    title: "Servizi online".into(),
                    kind: SurveyKind::Survey,
                    office_id: None,
                    service_id: None,
                    definition: Questionnaire::feedback_default(),
                },
                now,
            )
            .await
            .unwrap();
        let draft = ricevo_store::NewCampaign {
            questionnaire_id: q.id.0,
            title: "Servizi".into(),
            subject_it: "Com'è andata?".into(),
            intro_it: "Ciao".into(),
            ..ricevo_store::NewCampaign::default()
        };
        assert!(
            matches!(desk.create_campaign(&b.tenant, &admin_b, &draft, Lang::It).await, Err(DeskError::Invalid(_))),
            "{name}: another town's questionnaire"
        );
        let c = desk.create_campaign(&a.tenant, &admin_a, &draft, Lang::It).await.unwrap();
        let closed = desk.campaign_action(&a.tenant, &admin_a, c.id, CampaignAction::Start, Lang::It).await;
        assert!(matches!(closed, Err(DeskError::Invalid(_))), "{name}: a draft questionnaire is not sent");
        store.set_questionnaire_status(a.tenant.id, q.id, SurveyStatus::Open, now).await.unwrap();
        assert!(forbidden(desk.campaign_action(&a.tenant, &operator, c.id, CampaignAction::Start, Lang::It).await));
        assert!(matches!(
            desk.campaign_action(&b.tenant, &admin_b, c.id, CampaignAction::Start, Lang::It).await,
            Err(DeskError::NotFound)
        ));
        desk.campaign_action(&a.tenant, &admin_a, c.id, CampaignAction::Start, Lang::It).await.unwrap();
        let again = desk.campaign_action(&a.tenant, &admin_a, c.id, CampaignAction::Start, Lang::It).await;
        assert!(matches!(again, Err(DeskError::Conflict)), "{name}");

        // 40 a minute: 40 now, none more in the same minute, 40 more a minute later.
        assert_eq!(desk.send_campaigns(desk.now()).await.unwrap(), 40, "{name}");
        assert_eq!(desk.send_campaigns(desk.now()).await.unwrap(), 0, "{name}");
        clock.set("2026-12-07T07:01:01Z");
        assert_eq!(desk.send_campaigns(desk.now()).await.unwrap(), 40, "{name}");
        desk.campaign_action(&a.tenant, &admin_a, c.id, CampaignAction::Pause, Lang::It).await.unwrap();
        clock.set("2026-12-07T07:02:02Z");
        assert_eq!(desk.send_campaigns(desk.now()).await.unwrap(), 0, "{name}: paused");
        desk.campaign_action(&a.tenant, &admin_a, c.id, CampaignAction::Resume, Lang::It).await.unwrap();
        assert_eq!(desk.send_campaigns(desk.now()).await.unwrap(), 20, "{name}: the rest");
        let (_, p) = desk.campaign_progress(&a.tenant, &admin_a, c.id).await.unwrap();
        assert_eq!((p.recipients, p.queued), (100, 100), "{name}");
        assert!(forbidden(desk.campaign_progress(&a.tenant, &admin_b, c.id).await), "{name}");
        assert_eq!(store.contact_counts(b.tenant.id).await.unwrap().total, 10, "{name}");

        // Every act is in the town's audit log, none in the other town's.
        let log = desk.audit_log(&admin_a, a.tenant.id, AuditFilter::default()).await.unwrap();
        let details: Vec<&str> =
            log.iter().filter(|e| e.act == Act::CampaignChanged).map(|e| e.detail.as_str()).rev().collect();
        assert_eq!(details, ["created", "running", "paused", "running"], "{name}");
        assert!(log.iter().any(|e| e.act == Act::ContactsImported && e.detail.starts_with("added 100")), "{name}");
        let theirs = desk.audit_log(&admin_b, b.tenant.id, AuditFilter::default()).await.unwrap();
        assert!(!theirs.iter().any(|e| e.act == Act::CampaignChanged), "{name}: another town's campaign");
    }
}
