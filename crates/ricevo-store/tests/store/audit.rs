//! The audit log on SQLite and PostgreSQL: appended, read newest first with filters and pages,
//! never changed (the database itself refuses an update of anything but the citizen's name),
//! each town's own, and forgotten past its retention.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use ricevo_core::audit::{Act, Actor, Subject};
use ricevo_core::{AppointmentId, TenantId, UserId};
use ricevo_store::*;

struct Fixture {
    store: Arc<dyn Store>,
    // Raw SQL on the same database, as a careless operator or an attacker with the app's
    // credentials would send it.
    raw: Raw,
    _guard: Box<dyn std::any::Any + Send>,
}

enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match self {
            Raw::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
            Raw::Postgres(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
        }
    }
}

async fn sqlite() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let store = open(&format!("sqlite://{}", path.display())).await.unwrap();
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    Some(Fixture { store, raw: Raw::Sqlite(raw), _guard: Box::new(dir) })
}

async fn postgres() -> Option<Fixture> {
    let schema = ricevo_store::testing::TestSchema::create("audit").await?;
    let store = schema.node().await;
    store.migrate().await.unwrap();
    let raw = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&schema.url()).await.unwrap();
    Some(Fixture { store, raw: Raw::Postgres(raw), _guard: Box::new(schema) })
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

async fn town(store: &dyn Store, slug: &str) -> TenantId {
    let t = NewTenant {
        slug: slug.into(),
        name: format!("Comune di {slug}"),
        time_zone: "Europe/Rome".into(),
        patron_day: None,
        contact_email: format!("urp@{slug}.it"),
        privacy_notice: "Informativa".into(),
        retention_days: 365,
    };
    store.create_tenant(&t).await.unwrap().id
}

fn entry(tenant: TenantId, at: Timestamp, actor: Actor, act: Act, subject: Subject) -> NewAuditEntry {
    NewAuditEntry {
        tenant_id: tenant,
        at,
        actor,
        act,
        subject,
        citizen_name: Some("Maria Bianchi".into()),
        detail: String::new(),
        source: None,
    }
}

fn anna() -> Actor {
    Actor::Staff { id: UserId(7), name: "Anna <anna@a.it>".into() }
}

macro_rules! audit_tests {
    ($engine:ident) => {
        mod $engine {
            use super::*;

            #[tokio::test]
            async fn entries_are_read_newest_first_by_filter_and_page_and_only_by_their_town() {
                let Some(f) = super::$engine().await else { return };
                let (a, b) = (town(&*f.store, "a").await, town(&*f.store, "b").await);
                let start = at("2026-12-01T08:00:00Z");
                for i in 0..30 {
                    let (act, actor) =
                        if i % 3 == 0 { (Act::SignIn, anna()) } else { (Act::AppointmentCancelled, Actor::Citizen) };
                    let subject =
                        if i % 3 == 0 { Subject::Account(UserId(7)) } else { Subject::Appointment(AppointmentId(i)) };
                    f.store
                        .record_audit(&entry(a, start + SignedDuration::from_mins(i), actor, act, subject))
                        .await
                        .unwrap();
                }
                f.store.record_audit(&entry(b, start, anna(), Act::SignIn, Subject::Account(UserId(7)))).await.unwrap();

                let all = f.store.audit_log(a, &AuditFilter { limit: 100, ..Default::default() }).await.unwrap();
                assert_eq!(all.len(), 30, "town b's entry is not town a's");
                assert!(all.windows(2).all(|w| (w[0].at, w[0].id) > (w[1].at, w[1].id)), "newest first");
                assert_eq!(all[0].at, start + SignedDuration::from_mins(29));
                assert_eq!(all[0].citizen_name.as_deref(), Some("Maria Bianchi"));

                let sign_ins = AuditFilter { act: Some(Act::SignIn), limit: 100, ..Default::default() };
                let got = f.store.audit_log(a, &sign_ins).await.unwrap();
                assert_eq!(got.len(), 10);
                assert!(got.iter().all(|e| e.act == Act::SignIn && e.actor == anna()));

                let by_anna = AuditFilter { actor: Some(("staff".into(), Some(7))), limit: 100, ..Default::default() };
                assert_eq!(f.store.audit_log(a, &by_anna).await.unwrap().len(), 10);
                let by_someone_else =
                    AuditFilter { actor: Some(("staff".into(), Some(8))), limit: 100, ..Default::default() };
                assert!(f.store.audit_log(a, &by_someone_else).await.unwrap().is_empty());

                let one = AuditFilter {
                    subject: Some(Subject::Appointment(AppointmentId(4))),
                    limit: 100,
                    ..Default::default()
                };
                let got = f.store.audit_log(a, &one).await.unwrap();
                assert_eq!(
                    got.iter().map(|e| e.subject.clone()).collect::<Vec<_>>(),
                    [Subject::Appointment(AppointmentId(4))]
                );

                let window = AuditFilter {
                    from: Some(start + SignedDuration::from_mins(10)),
                    until: Some(start + SignedDuration::from_mins(20)),
                    limit: 100,
                    ..Default::default()
                };
                assert_eq!(f.store.audit_log(a, &window).await.unwrap().len(), 10);

                // Pages of 7 see every entry once, in order.
                let mut seen = Vec::new();
                let mut before = None;
                loop {
                    let page =
                        f.store.audit_log(a, &AuditFilter { before, limit: 7, ..Default::default() }).await.unwrap();
                    let Some(last) = page.last() else { break };
                    before = Some((last.at, last.id));
                    seen.extend(page.iter().map(|e| e.id));
                }
                assert_eq!(seen, all.iter().map(|e| e.id).collect::<Vec<_>>());

                // Town b sees only its own.
                let b_all = f.store.audit_log(b, &AuditFilter { limit: 100, ..Default::default() }).await.unwrap();
                assert_eq!(b_all.len(), 1);
            }

            #[tokio::test]
            async fn the_database_refuses_to_change_an_entry_but_lets_its_citizen_name_go() {
                let Some(f) = super::$engine().await else { return };
                let a = town(&*f.store, "a").await;
                let e = entry(
                    a,
                    at("2026-12-01T08:00:00Z"),
                    anna(),
                    Act::AppointmentCancelled,
                    Subject::Appointment(AppointmentId(1)),
                );
                f.store.record_audit(&e).await.unwrap();
                for forged in [
                    "UPDATE audit_log SET actor_name = 'nobody'",
                    "UPDATE audit_log SET act = 'sign_in'",
                    "UPDATE audit_log SET at = 0",
                    "UPDATE audit_log SET detail = 'changed'",
                ] {
                    let err = f.raw.execute(forged).await.expect_err(forged);
                    assert!(err.to_string().contains("append-only"), "{forged}: {err}");
                }
                assert_eq!(f.raw.execute("UPDATE audit_log SET citizen_name = NULL").await.unwrap(), 1);
                let got = f.store.audit_log(a, &AuditFilter { limit: 10, ..Default::default() }).await.unwrap();
                assert_eq!(got.len(), 1);
                assert_eq!(
                    (got[0].actor.clone(), got[0].act, got[0].citizen_name.clone()),
                    (anna(), Act::AppointmentCancelled, None)
                );
            }

            #[tokio::test]
            async fn retention_forgets_entries_older_than_the_limit_in_every_town() {
                let Some(f) = super::$engine().await else { return };
                let (a, b) = (town(&*f.store, "a").await, town(&*f.store, "b").await);
                for (t, when) in [(a, "2024-01-01T00:00:00Z"), (a, "2026-12-01T00:00:00Z"), (b, "2024-06-01T00:00:00Z")]
                {
                    f.store
                        .record_audit(&entry(t, at(when), Actor::System, Act::SettingsChanged, Subject::Town))
                        .await
                        .unwrap();
                }
                assert_eq!(f.store.purge_audit(at("2025-01-01T00:00:00Z")).await.unwrap(), 2);
                let left = f.store.audit_log(a, &AuditFilter { limit: 10, ..Default::default() }).await.unwrap();
                assert_eq!(left.iter().map(|e| e.at).collect::<Vec<_>>(), [at("2026-12-01T00:00:00Z")]);
                assert!(
                    f.store.audit_log(b, &AuditFilter { limit: 10, ..Default::default() }).await.unwrap().is_empty()
                );
            }
        }
    };
}

audit_tests!(sqlite);
audit_tests!(postgres);
