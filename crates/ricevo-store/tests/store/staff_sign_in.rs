//! Staff sign-in through the town's own identity provider (issue 16), on SQLite and PostgreSQL
//! alike: each town's settings are its own, a pending sign-in is taken once and not after it
//! lapsed, a session remembers that the provider opened it, and turning passwords off ends the
//! town's password sessions at once.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use ricevo_core::OfficeId;
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
    let schema = ricevo_store::testing::TestSchema::create("oidc").await?;
    let store = schema.node().await;
    store.migrate().await.unwrap();
    Some(Fixture { store, _guard: Box::new(schema) })
}

async fn town(store: &dyn Store, slug: &str) -> Tenant {
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

fn settings(tenant: &Tenant, client: &str) -> TownIdentityProvider {
    TownIdentityProvider {
        tenant_id: tenant.id,
        issuer_url: "https://login.esempio.it/realms/staff".into(),
        client_id: client.into(),
        client_secret: Some(format!("{client}-secret")),
        email_domains: vec!["esempio.it".into(), "comune.esempio.it".into()],
        groups_claim: "groups".into(),
        mappings: vec![
            RoleMapping { value: "CN=Anagrafe,OU=Comune".into(), role: Role::Operator, offices: vec![OfficeId(7)] },
            RoleMapping { value: "admins".into(), role: Role::Admin, offices: vec![] },
        ],
        create_unknown: true,
        passwords_off: false,
        updated_at: "2026-11-23T08:00:00Z".parse().unwrap(),
    }
}

async fn each_towns_settings_are_its_own(f: Fixture) {
    let store = &*f.store;
    let a = town(store, "uno").await;
    let b = town(store, "due").await;
    assert!(store.town_identity_provider(a.id).await.unwrap().is_none());
    let mut sa = settings(&a, "client-a");
    store.set_town_identity_provider(&sa).await.unwrap();
    store.set_town_identity_provider(&settings(&b, "client-b")).await.unwrap();
    assert_eq!(store.town_identity_provider(a.id).await.unwrap().unwrap(), sa);
    assert_eq!(store.town_identity_provider(b.id).await.unwrap().unwrap().client_id, "client-b");
    sa.passwords_off = true;
    sa.client_secret = None;
    sa.mappings.clear();
    store.set_town_identity_provider(&sa).await.unwrap();
    assert_eq!(store.town_identity_provider(a.id).await.unwrap().unwrap(), sa, "replaced");
    assert!(!store.town_identity_provider(b.id).await.unwrap().unwrap().passwords_off);
    let nowhere = TownIdentityProvider { tenant_id: ricevo_core::TenantId(999_999), ..sa };
    assert!(matches!(store.set_town_identity_provider(&nowhere).await, Err(StoreError::NotFound)));
}

async fn a_pending_sign_in_is_taken_once_and_never_after_it_lapsed(f: Fixture) {
    let store = &*f.store;
    let a = town(store, "uno").await;
    let now: Timestamp = "2026-11-23T08:00:00Z".parse().unwrap();
    let pending = |browser: &str, expires_at| PendingProviderSignIn {
        browser_hash: browser.into(),
        tenant_id: a.id,
        state: format!("state-{browser}"),
        nonce: "nonce".into(),
        code_verifier: "verifier".into(),
        expires_at,
    };
    let ten = now + SignedDuration::from_mins(10);
    store.put_provider_sign_in(&pending("b1", ten), now).await.unwrap();
    store.put_provider_sign_in(&pending("b2", now + SignedDuration::from_mins(1)), now).await.unwrap();
    assert_eq!(store.take_provider_sign_in("b1", now).await.unwrap(), Some(pending("b1", ten)));
    assert_eq!(store.take_provider_sign_in("b1", now).await.unwrap(), None, "once");
    let later = now + SignedDuration::from_mins(2);
    assert_eq!(store.take_provider_sign_in("b2", later).await.unwrap(), None, "lapsed");
    // A browser that starts again replaces its earlier sign-in.
    store.put_provider_sign_in(&pending("b3", ten), now).await.unwrap();
    let again = PendingProviderSignIn { state: "newer".into(), ..pending("b3", ten) };
    store.put_provider_sign_in(&again, now).await.unwrap();
    assert_eq!(store.take_provider_sign_in("b3", now).await.unwrap().unwrap().state, "newer");
}

async fn a_session_remembers_the_provider_opened_it(f: Fixture) {
    let store = &*f.store;
    let a = town(store, "uno").await;
    let user = store.create_user(a.id, "anna@esempio.it", "Anna", Role::Admin, "", &[]).await.unwrap();
    let expires: Timestamp = "2026-11-24T08:00:00Z".parse().unwrap();
    store.create_session("by-password", user.id, "csrf1", expires).await.unwrap();
    store.create_session("by-provider", user.id, "csrf2", expires).await.unwrap();
    store.mark_session_via_provider("by-provider").await.unwrap();
    assert!(!store.session_via_provider("by-password").await.unwrap());
    assert!(store.session_via_provider("by-provider").await.unwrap());
    assert!(!store.session_via_provider("no-such-session").await.unwrap());
}

async fn passwords_off_ends_the_towns_password_sessions_only(f: Fixture) {
    let store = &*f.store;
    let a = town(store, "uno").await;
    let b = town(store, "due").await;
    let anna = store.create_user(a.id, "anna@esempio.it", "Anna", Role::Admin, "", &[]).await.unwrap();
    let bruno = store.create_user(b.id, "bruno@esempio.it", "Bruno", Role::Admin, "", &[]).await.unwrap();
    let now: Timestamp = "2026-11-23T09:00:00Z".parse().unwrap();
    let expires = now + SignedDuration::from_hours(8);
    store.create_session("anna-password", anna.id, "c1", expires).await.unwrap();
    store.create_session("anna-provider", anna.id, "c2", expires).await.unwrap();
    store.mark_session_via_provider("anna-provider").await.unwrap();
    store.create_session("bruno-password", bruno.id, "c3", expires).await.unwrap();
    // Saved with passwords on, nothing ends.
    store.set_town_identity_provider(&settings(&a, "uno")).await.unwrap();
    assert!(store.session("anna-password", now).await.unwrap().is_some());
    let mut off = settings(&a, "uno");
    off.passwords_off = true;
    store.set_town_identity_provider(&off).await.unwrap();
    assert!(store.session("anna-password", now).await.unwrap().is_none(), "a password session ends");
    assert!(store.session("anna-provider", now).await.unwrap().is_some(), "the provider's goes on");
    assert!(store.session("bruno-password", now).await.unwrap().is_some(), "another town's is untouched");
}

#[tokio::test]
async fn passwords_off_ends_the_towns_password_sessions_only_on_sqlite() {
    passwords_off_ends_the_towns_password_sessions_only(sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn passwords_off_ends_the_towns_password_sessions_only_on_postgres() {
    let Some(f) = postgres().await else { return };
    passwords_off_ends_the_towns_password_sessions_only(f).await;
}

#[tokio::test]
async fn each_towns_settings_are_its_own_on_sqlite() {
    each_towns_settings_are_its_own(sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn each_towns_settings_are_its_own_on_postgres() {
    let Some(f) = postgres().await else { return };
    each_towns_settings_are_its_own(f).await;
}

#[tokio::test]
async fn a_pending_sign_in_is_taken_once_on_sqlite() {
    a_pending_sign_in_is_taken_once_and_never_after_it_lapsed(sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn a_pending_sign_in_is_taken_once_on_postgres() {
    let Some(f) = postgres().await else { return };
    a_pending_sign_in_is_taken_once_and_never_after_it_lapsed(f).await;
}

#[tokio::test]
async fn a_session_remembers_the_provider_opened_it_on_sqlite() {
    a_session_remembers_the_provider_opened_it(sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn a_session_remembers_the_provider_opened_it_on_postgres() {
    let Some(f) = postgres().await else { return };
    a_session_remembers_the_provider_opened_it(f).await;
}
