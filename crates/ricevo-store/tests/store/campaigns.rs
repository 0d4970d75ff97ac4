//! Survey campaigns in the store, on SQLite and PostgreSQL alike: contacts imported and kept
//! unsubscribed, recipients made in one statement, each queued exactly once with its outbox
//! row, the outbox's news copied back, and every town seeing only its own.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use ricevo_core::Lang;
use ricevo_core::campaign::CampaignStatus as S;
use ricevo_store::*;

struct Fixture {
    store: Arc<dyn Store>,
    _guard: Box<dyn std::any::Any + Send>,
}

async fn sqlite() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = open(&url).await.unwrap();
    Some(Fixture { store, _guard: Box::new(dir) })
}

async fn postgres() -> Option<Fixture> {
    let schema = ricevo_store::testing::TestSchema::create("c").await?;
    let store = schema.node().await;
    store.migrate().await.unwrap();
    Some(Fixture { store, _guard: Box::new(schema) })
}

fn now() -> Timestamp {
    "2026-12-01T09:00:00Z".parse().unwrap()
}

async fn tenant(store: &dyn Store, slug: &str) -> Tenant {
    store
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
        .unwrap()
}

fn contact(i: usize) -> NewContact {
    NewContact {
        email: format!("persona{i}@example.org"),
        name: format!("Persona {i}"),
        consent_date: "2024-01-01".into(),
        lang: if i.is_multiple_of(2) { Lang::It } else { Lang::En },
    }
}

fn draft() -> NewCampaign {
    NewCampaign {
        questionnaire_id: 1,
        title: "Servizi online".into(),
        subject_it: "Com'è andata?".into(),
        subject_en: "How did it go?".into(),
        intro_it: "Ciao".into(),
        intro_en: "Hello".into(),
    }
}

fn message(c: i64, r: &PendingRecipient) -> QueuedMessage {
    QueuedMessage {
        recipient_id: r.id,
        token_hash: format!("hash-{c}-{}", r.contact_id),
        message: NewOutboxMessage {
            kind: "email".into(),
            dedupe_key: ricevo_core::campaign::dedupe_key(c, r.contact_id),
            payload: "{}".into(),
            due_at: now(),
            retractable: false,
        },
    }
}

async fn queue_all(store: &dyn Store, t: &Tenant, c: i64, at: Timestamp) -> u64 {
    let pending = store.pending_recipients(t.id, c, 10_000).await.unwrap();
    let messages: Vec<_> = pending.iter().map(|r| message(c, r)).collect();
    store.queue_campaign_messages(t.id, c, &messages, at).await.unwrap()
}

macro_rules! campaigns {
    ($engine:ident) => {
        mod $engine {
            use super::*;

            #[tokio::test]
            async fn a_reimport_updates_contacts_but_never_resubscribes_anyone() {
                let Some(f) = super::$engine().await else { return };
                let a = tenant(&*f.store, "prato").await;
                let b = tenant(&*f.store, "altro").await;
                let list: Vec<_> = (0..1200).map(contact).collect();
                let done = f.store.import_contacts(a.id, &list, now()).await.unwrap();
                assert_eq!((done.added, done.updated), (1200, 0));
                f.store.import_contacts(b.id, &list[..3], now()).await.unwrap();
                assert_eq!(f.store.contact_counts(a.id).await.unwrap().total, 1200);
                assert_eq!(f.store.contact_counts(b.id).await.unwrap().total, 3, "each town its own list");

                let c = f.store.create_campaign(a.id, &draft(), now()).await.unwrap();
                f.store.set_campaign_status(a.id, c.id, S::Draft, S::Running, now()).await.unwrap();
                let first = f.store.pending_recipients(a.id, c.id, 1).await.unwrap().remove(0);
                queue_all(&*f.store, &a, c.id, now()).await;
                let link =
                    f.store.campaign_link(&format!("hash-{}-{}", c.id, first.contact_id)).await.unwrap().unwrap();
                assert!(f.store.unsubscribe_contact(a.id, link.contact_id, now()).await.unwrap());
                assert!(!f.store.unsubscribe_contact(a.id, link.contact_id, now()).await.unwrap(), "once");

                let mut again = list[..2].to_vec();
                again[0].name = "Nome nuovo".into();
                let later = now() + SignedDuration::from_hours(1);
                let done = f.store.import_contacts(a.id, &again, later).await.unwrap();
                assert_eq!((done.added, done.updated, done.still_unsubscribed), (0, 2, 1));
                let contacts = f.store.contacts(a.id, 2).await.unwrap();
                let first = contacts.iter().find(|c| c.email == "persona0@example.org").unwrap();
                assert_eq!(first.name, "Nome nuovo");
                assert!(first.unsubscribed_at.is_some(), "still unsubscribed after the re-import");
                assert_eq!(f.store.contact_counts(a.id).await.unwrap().unsubscribed, 1);
                // Another town's contact cannot be unsubscribed through this town.
                assert!(!f.store.unsubscribe_contact(b.id, link.contact_id, now()).await.unwrap());
            }

            #[tokio::test]
            async fn every_recipient_is_queued_once_with_its_outbox_row_and_paused_campaigns_queue_nothing() {
                let Some(f) = super::$engine().await else { return };
                let a = tenant(&*f.store, "prato").await;
                let b = tenant(&*f.store, "altro").await;
                f.store.import_contacts(a.id, &(0..300).map(contact).collect::<Vec<_>>(), now()).await.unwrap();
                let c = f.store.create_campaign(a.id, &draft(), now()).await.unwrap();
                assert_eq!(c.status, S::Draft);
                assert!(f.store.pending_recipients(a.id, c.id, 10).await.unwrap().is_empty(), "a draft has none");
                let stale = f.store.set_campaign_status(a.id, c.id, S::Running, S::Paused, now()).await;
                assert!(matches!(stale, Err(StoreError::Stale)), "{stale:?}");
                let other = f.store.set_campaign_status(b.id, c.id, S::Draft, S::Running, now()).await;
                assert!(matches!(other, Err(StoreError::NotFound)), "another town's campaign: {other:?}");
                assert_eq!(f.store.set_campaign_status(a.id, c.id, S::Draft, S::Running, now()).await.unwrap(), 300);
                assert!(f.store.campaign(b.id, c.id).await.unwrap().is_none());
                assert!(f.store.campaigns(b.id).await.unwrap().is_empty());
                assert_eq!(f.store.running_campaigns().await.unwrap().len(), 1);

                // The first 100, then the same 100 again (a crashed sender retrying) and the rest.
                let pending = f.store.pending_recipients(a.id, c.id, 100).await.unwrap();
                let batch: Vec<_> = pending.iter().map(|r| message(c.id, r)).collect();
                assert_eq!(f.store.queue_campaign_messages(a.id, c.id, &batch, now()).await.unwrap(), 100);
                assert_eq!(f.store.queue_campaign_messages(a.id, c.id, &batch, now()).await.unwrap(), 0);
                assert_eq!(f.store.queue_campaign_messages(b.id, c.id, &batch, now()).await.unwrap(), 0);
                assert_eq!(f.store.campaign_queued_since(a.id, now()).await.unwrap(), 100);
                assert_eq!(f.store.campaign_queued_since(b.id, now()).await.unwrap(), 0);

                f.store.set_campaign_status(a.id, c.id, S::Running, S::Paused, now()).await.unwrap();
                assert_eq!(queue_all(&*f.store, &a, c.id, now()).await, 0, "paused: nothing queued");
                f.store.set_campaign_status(a.id, c.id, S::Paused, S::Running, now()).await.unwrap();
                assert_eq!(queue_all(&*f.store, &a, c.id, now()).await, 200);
                assert_eq!(f.store.outbox_backlog().await.unwrap(), 300);

                // Delivered and failed, as the outbox worker records them.
                let due = f.store.due_outbox(now(), 1000).await.unwrap();
                assert_eq!(due.len(), 300);
                let (bad, good) = due.split_at(2);
                f.store.outbox_sent(&good.iter().map(|m| m.id).collect::<Vec<_>>(), now()).await.unwrap();
                f.store.outbox_failed(bad[0].id, "connection refused", now()).await.unwrap();
                f.store.outbox_failed(bad[1].id, "550 no such user", now()).await.unwrap();
                f.store.campaign_bounced(a.id, &bad[1].dedupe_key, "550 no such user", now()).await.unwrap();
                f.store.sync_campaign(a.id, c.id).await.unwrap();
                let p = f.store.campaign_progress(a.id, c.id).await.unwrap();
                assert_eq!(
                    (p.recipients, p.queued, p.sent, p.errors, p.bounced, p.answered, p.unsubscribed),
                    (300, 300, 298, 1, 1, 0, 0)
                );
                let problems = f.store.campaign_problems(a.id, c.id, 10).await.unwrap();
                assert_eq!(problems.len(), 2);
                assert!(
                    problems.iter().any(|p| p.bounced_at.is_some() && p.error.as_deref() == Some("550 no such user"))
                );
                assert!(
                    problems.iter().any(|p| p.bounced_at.is_none() && p.error.as_deref() == Some("connection refused"))
                );
                assert!(f.store.campaign_problems(b.id, c.id, 10).await.unwrap().is_empty());
                assert_eq!(f.store.campaign_progress(b.id, c.id).await.unwrap().recipients, 0);

                f.store.set_campaign_status(a.id, c.id, S::Running, S::Finished, now()).await.unwrap();
                let done = f.store.campaign(a.id, c.id).await.unwrap().unwrap();
                assert_eq!(done.status, S::Finished);
                assert!(done.finished_at.is_some() && done.started_at.is_some());
                assert!(f.store.running_campaigns().await.unwrap().is_empty());
            }

            #[tokio::test]
            async fn unsubscribing_drops_the_messages_still_waiting_and_skips_the_contact() {
                let Some(f) = super::$engine().await else { return };
                let a = tenant(&*f.store, "prato").await;
                f.store.import_contacts(a.id, &(0..3).map(contact).collect::<Vec<_>>(), now()).await.unwrap();
                let c = f.store.create_campaign(a.id, &draft(), now()).await.unwrap();
                f.store.set_campaign_status(a.id, c.id, S::Draft, S::Running, now()).await.unwrap();
                let pending = f.store.pending_recipients(a.id, c.id, 10).await.unwrap();
                let first = message(c.id, &pending[0]);
                f.store.queue_campaign_messages(a.id, c.id, std::slice::from_ref(&first), now()).await.unwrap();
                assert_eq!(f.store.outbox_backlog().await.unwrap(), 1);
                f.store.unsubscribe_contact(a.id, pending[0].contact_id, now()).await.unwrap();
                assert_eq!(f.store.outbox_backlog().await.unwrap(), 0, "the queued message went");
                // A second one unsubscribes before being queued: never queued.
                f.store.unsubscribe_contact(a.id, pending[1].contact_id, now()).await.unwrap();
                let rest: Vec<_> = pending[1..].iter().map(|r| message(c.id, r)).collect();
                assert_eq!(f.store.queue_campaign_messages(a.id, c.id, &rest, now()).await.unwrap(), 1);
                assert_eq!(f.store.pending_recipients(a.id, c.id, 10).await.unwrap().len(), 0);
                let p = f.store.campaign_progress(a.id, c.id).await.unwrap();
                assert_eq!((p.recipients, p.queued, p.unsubscribed), (3, 2, 2));
                // A new campaign leaves the unsubscribed out from the start.
                let d = f.store.create_campaign(a.id, &draft(), now()).await.unwrap();
                assert_eq!(f.store.set_campaign_status(a.id, d.id, S::Draft, S::Running, now()).await.unwrap(), 1);
            }

            #[tokio::test]
            async fn contacts_follow_export_erasure_and_retention_within_their_town() {
                let Some(f) = super::$engine().await else { return };
                let a = tenant(&*f.store, "prato").await;
                let b = tenant(&*f.store, "altro").await;
                f.store.import_contacts(a.id, &(0..3).map(contact).collect::<Vec<_>>(), now()).await.unwrap();
                f.store.import_contacts(b.id, &(0..1).map(contact).collect::<Vec<_>>(), now()).await.unwrap();
                let c = f.store.create_campaign(a.id, &draft(), now()).await.unwrap();
                f.store.set_campaign_status(a.id, c.id, S::Draft, S::Running, now()).await.unwrap();
                queue_all(&*f.store, &a, c.id, now()).await;
                let maria = CitizenLookup::Email("PERSONA0@example.org".into());
                let record = f.store.citizen_record(a.id, &maria).await.unwrap();
                assert_eq!(record.contacts.len(), 1);
                assert_eq!(record.contacts[0].email, "persona0@example.org");
                let later = now() + SignedDuration::from_hours(1);
                let Erasure::Erased(counts) = f.store.erase_citizen(a.id, &maria, later).await.unwrap() else {
                    panic!("nothing to come")
                };
                assert_eq!(counts.contacts, 1);
                assert!(f.store.citizen_record(a.id, &maria).await.unwrap().contacts.is_empty());
                assert_eq!(
                    f.store.citizen_record(b.id, &maria).await.unwrap().contacts.len(),
                    1,
                    "the other town keeps its own"
                );
                assert_eq!(f.store.outbox_backlog().await.unwrap(), 2, "their waiting message went with them");
                assert_eq!(f.store.campaign_progress(a.id, c.id).await.unwrap().recipients, 2);

                let gone = f.store.purge_personal_before(a.id, later).await.unwrap();
                assert_eq!(gone.contacts, 2);
                assert_eq!(f.store.contact_counts(a.id).await.unwrap().total, 0);
                assert_eq!(f.store.contact_counts(b.id).await.unwrap().total, 1);
            }
        }
    };
}

campaigns!(sqlite);
campaigns!(postgres);
