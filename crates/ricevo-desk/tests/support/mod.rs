//! What the desk's tests share: a store on each engine, a clock standing still, and a town
//! created through the desk as the command line creates one.
//!
//! PostgreSQL is reached at `RICEVO_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), one schema per test; without a server its
//! cases are skipped, except under `CI=true`, where they fail.

#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::sync::Arc;

use jiff::Timestamp;
use ricevo_core::Email;
use ricevo_desk::staff::town_administrator;
use ricevo_desk::{Desk, DeskError, DeskSettings};
use ricevo_store::{Grant, NewTenant, Store, Tenant};

/// A store on one engine, kept alive (its file or schema) as long as this is.
pub struct Engine {
    /// `sqlite` or `postgres`.
    pub name: &'static str,
    /// The store, migrated.
    pub store: Arc<dyn Store>,
    _guard: Box<dyn std::any::Any + Send>,
}

/// A migrated store on SQLite, and one on PostgreSQL when a server answers (always under
/// `CI=true`).
pub async fn engines() -> Vec<Engine> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let sqlite = ricevo_store::open(&url).await.unwrap();
    let mut engines = vec![Engine { name: "sqlite", store: sqlite, _guard: Box::new(dir) }];
    if let Some(schema) = ricevo_store::testing::TestSchema::create("desk").await {
        let store = schema.node().await;
        store.migrate().await.unwrap();
        engines.push(Engine { name: "postgres", store, _guard: Box::new(schema) });
    }
    engines
}

/// Monday 7 December 2026, 08:00 in Rome: the tests' "now".
pub fn now() -> Timestamp {
    "2026-12-07T07:00:00Z".parse().unwrap()
}

/// A desk on `store` whose clock stands at [`now`].
pub fn desk(store: &Arc<dyn Store>, settings: DeskSettings) -> Desk {
    Desk::with_clock(store.clone(), settings, Arc::new(now))
}

/// A new town `slug` with its first administrator, created by the desk; the administrator's
/// authority with it.
pub async fn town(desk: &Desk, slug: &str) -> (Tenant, Grant) {
    let new = NewTenant {
        slug: slug.into(),
        name: format!("Comune di {slug}"),
        time_zone: "Europe/Rome".into(),
        patron_day: None,
        contact_email: format!("urp@{slug}.example"),
        privacy_notice: "Informativa".into(),
        retention_days: 365,
    };
    let admin = Email::parse(&format!("admin@{slug}.example")).unwrap();
    let (tenant, password) = desk.create_town(&new, &admin).await.unwrap();
    let user = desk.store().user_by_email(tenant.id, admin.as_str()).await.unwrap().unwrap();
    assert!(ricevo_desk::staff::verify_password(&password, &user.password_hash), "the first password opens it");
    let grant = town_administrator(tenant.id);
    (tenant, grant)
}

/// Whether the desk refused for lack of rights.
pub fn forbidden<T>(r: Result<T, DeskError>) -> bool {
    matches!(r, Err(DeskError::Forbidden))
}

/// Whether the desk found no such thing (in this town).
pub fn not_found<T>(r: Result<T, DeskError>) -> bool {
    matches!(r, Err(DeskError::NotFound))
}
