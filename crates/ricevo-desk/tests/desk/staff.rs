//! Staff accounts, API tokens, webhooks and new towns through the desk without HTTP, on
//! SQLite and PostgreSQL: only administrators act, secrets are shown once and stored hashed,
//! internal webhook addresses need the instance's leave, and a town never touches another's.

#![allow(clippy::unwrap_used, clippy::needless_pass_by_value)]

use crate::support;

use ricevo_core::audit::Actor;
use ricevo_core::{Email, OfficeId, UserId};
use ricevo_desk::staff::{NewAccount, verify_password};
use ricevo_desk::{DeskError, DeskSettings, tokens};
use ricevo_notify::{AllowedHosts, DestinationError};
use ricevo_store::{Grant, NewOffice, NewTenant, Role, Tenant};
use support::{Engine, desk, engines, forbidden, new_town, not_found};

fn account(email: &str, role: Role, offices: Vec<OfficeId>) -> NewAccount {
    NewAccount { email: Email::parse(email).unwrap(), name: "Giulia Verdi".into(), role, offices }
}

async fn office(desk: &ricevo_desk::Desk, tenant: &Tenant, admin: &Grant) -> OfficeId {
    let new = NewOffice {
        name: "Anagrafe".into(),
        description: String::new(),
        address: String::new(),
        contact_email: "anagrafe@comune.example".into(),
    };
    desk.create_office(tenant, admin, &new).await.unwrap().id
}

#[tokio::test]
async fn accounts_get_a_first_password_once_and_an_e_mail_only_once_per_town() {
    for Engine { name, store, .. } in engines().await {
        let desk = desk(&store, DeskSettings::default());
        let (tenant, admin) = new_town(&desk, "prato").await;
        let (other, admin_other) = new_town(&desk, "pistoia").await;
        let office = office(&desk, &tenant, &admin).await;

        let new = account("Giulia.Verdi@prato.example", Role::Operator, vec![office]);
        let (user, password) = desk.create_account(&tenant, &admin, &new).await.unwrap();
        assert_eq!((user.role, user.offices.as_slice()), (Role::Operator, [office].as_slice()), "{name}");
        let stored = store.user(tenant.id, user.id).await.unwrap().unwrap();
        assert!(stored.password_hash.starts_with("$argon2id$"), "{name}: stored hashed");
        assert!(verify_password(&password, &stored.password_hash), "{name}");

        // The same e-mail, however written, is refused in this town and welcome in another.
        let again = account("giulia.verdi@prato.example", Role::Manager, vec![office]);
        let refused = desk.create_account(&tenant, &admin, &again).await;
        assert!(matches!(refused, Err(DeskError::Duplicate)), "{name}: {refused:?}");
        let elsewhere = account("giulia.verdi@prato.example", Role::Admin, Vec::new());
        desk.create_account(&other, &admin_other, &elsewhere).await.unwrap();

        // Another town's administrator reaches neither this town's accounts nor its offices.
        assert!(not_found(desk.reset_password(&other, &admin_other, user.id).await), "{name}");
        assert!(forbidden(desk.reset_password(&tenant, &admin_other, user.id).await), "{name}");
        let into_prato = account("intruso@pistoia.example", Role::Operator, vec![office]);
        assert!(not_found(desk.create_account(&other, &admin_other, &into_prato).await), "{name}");
        assert!(store.user_by_email(other.id, "intruso@pistoia.example").await.unwrap().is_none(), "{name}");

        // An administrator works for every office: the offices given are not kept.
        let (boss, _) = desk
            .create_account(&tenant, &admin, &account("capo@prato.example", Role::Admin, vec![office]))
            .await
            .unwrap();
        assert!(store.user(tenant.id, boss.id).await.unwrap().unwrap().offices.is_empty(), "{name}");

        // A new password, once; the old one no longer opens the account.
        let (_, fresh) = desk.reset_password(&tenant, &admin, user.id).await.unwrap();
        let stored = store.user(tenant.id, user.id).await.unwrap().unwrap();
        assert!(verify_password(&fresh, &stored.password_hash), "{name}");
        assert!(!verify_password(&password, &stored.password_hash), "{name}");
        let missing = desk.reset_password(&tenant, &admin, UserId(user.id.0 + 1000)).await;
        assert!(not_found(missing), "{name}");

        // A town's slug is taken once.
        let dup = NewTenant {
            slug: "prato".into(),
            name: "Altro".into(),
            time_zone: "Europe/Rome".into(),
            patron_day: None,
            contact_email: "x@y.example".into(),
            privacy_notice: String::new(),
            retention_days: 30,
        };
        let refused = desk.create_town(&dup, &Email::parse("a@b.example").unwrap()).await;
        assert!(matches!(refused, Err(DeskError::Duplicate)), "{name}");
    }
}

#[tokio::test]
async fn operators_and_managers_are_refused_every_administrator_act() {
    for Engine { name, store, .. } in engines().await {
        let desk = desk(&store, DeskSettings::default());
        let (tenant, admin) = new_town(&desk, "lucca").await;
        let office = office(&desk, &tenant, &admin).await;
        let (target, _) = desk
            .create_account(&tenant, &admin, &account("op@lucca.example", Role::Operator, vec![office]))
            .await
            .unwrap();
        for role in [Role::Operator, Role::Manager] {
            let grant = Grant { tenant_id: tenant.id, role, offices: vec![office], actor: Actor::System };
            let new = account("nuovo@lucca.example", Role::Admin, Vec::new());
            assert!(forbidden(desk.create_account(&tenant, &grant, &new).await), "{name} {role:?}");
            assert!(forbidden(desk.reset_password(&tenant, &grant, target.id).await), "{name} {role:?}");
            let token = desk.create_api_token(&tenant, &grant, Role::Admin, None, "x").await;
            assert!(forbidden(token), "{name} {role:?}");
            let hook = desk.create_webhook(&tenant, &grant, "https://93.184.216.34/hook").await;
            assert!(forbidden(hook), "{name} {role:?}");
            assert!(forbidden(desk.delete_webhook(&tenant, &grant, 1).await), "{name} {role:?}");
        }
        assert!(store.user_by_email(tenant.id, "nuovo@lucca.example").await.unwrap().is_none(), "{name}");
        assert!(store.webhooks(tenant.id).await.unwrap().is_empty(), "{name}");
    }
}

#[tokio::test]
async fn an_api_token_is_shown_once_and_opens_what_it_was_made_for() {
    for Engine { name, store, .. } in engines().await {
        let desk = desk(&store, DeskSettings::default());
        let (tenant, admin) = new_town(&desk, "pisa").await;
        let (other, admin_other) = new_town(&desk, "livorno").await;
        let office = office(&desk, &tenant, &admin).await;
        let other_office = self::office(&desk, &other, &admin_other).await;

        let token = desk.create_api_token(&tenant, &admin, Role::Manager, Some(office), "gestionale").await.unwrap();
        assert!(tokens::looks_like_token(&token), "{name}");
        let grant = store.api_token(&tokens::hash(&token)).await.unwrap().unwrap();
        let Actor::Token { id, label } = grant.actor.clone() else { panic!("{name}: a token acts as itself") };
        assert_eq!(label, "gestionale", "{name}");
        assert_eq!(
            grant,
            Grant {
                tenant_id: tenant.id,
                role: Role::Manager,
                offices: vec![office],
                actor: Actor::Token { id, label }
            },
            "{name}"
        );
        assert!(store.api_token(&token).await.unwrap().is_none(), "{name}: only the hash is stored");

        let whole_town = desk.create_api_token(&tenant, &admin, Role::Admin, None, "portale").await.unwrap();
        let grant = store.api_token(&tokens::hash(&whole_town)).await.unwrap().unwrap();
        assert_eq!((grant.tenant_id, grant.role), (tenant.id, Role::Admin), "{name}");
        // What a channel asks with the token: its grant in its own town, nothing elsewhere.
        assert_eq!(desk.api_grant(&tenant, &whole_town).await.unwrap(), grant, "{name}");
        let elsewhere = desk.api_grant(&other, &whole_town).await;
        assert!(matches!(elsewhere, Err(DeskError::Unauthorized)), "{name}: {elsewhere:?}");
        let made_up = desk.api_grant(&tenant, &tokens::new_token()).await;
        assert!(matches!(made_up, Err(DeskError::Unauthorized)), "{name}: {made_up:?}");

        // Another town's office, or another town's administrator: no token.
        let refused = desk.create_api_token(&tenant, &admin, Role::Operator, Some(other_office), "x").await;
        assert!(matches!(refused, Err(DeskError::NotFound)), "{name}: {refused:?}");
        let refused = desk.create_api_token(&tenant, &admin_other, Role::Admin, None, "x").await;
        assert!(matches!(refused, Err(DeskError::Forbidden)), "{name}: {refused:?}");
    }
}

#[tokio::test]
async fn webhooks_to_internal_addresses_need_the_instances_leave_and_stay_in_their_town() {
    for Engine { name, store, .. } in engines().await {
        let strict = desk(&store, DeskSettings::default());
        let (tenant, admin) = new_town(&strict, "siena").await;
        let (other, admin_other) = new_town(&strict, "grosseto").await;

        let refused = strict.create_webhook(&tenant, &admin, "http://127.0.0.1:9000/hook").await;
        assert!(
            matches!(&refused, Err(DeskError::WebhookUrl(DestinationError::Internal { host, .. })) if host == "127.0.0.1"),
            "{name}: {refused:?}"
        );
        let refused = strict.create_webhook(&tenant, &admin, "ftp://93.184.216.34/hook").await;
        assert!(matches!(refused, Err(DeskError::WebhookUrl(DestinationError::Malformed))), "{name}: {refused:?}");
        assert!(store.webhooks(tenant.id).await.unwrap().is_empty(), "{name}");

        // The same address, allowed by the instance; booking's memory sees it at once.
        assert!(strict.webhooks(&tenant).await.unwrap().is_empty(), "{name}");
        let allowing = DeskSettings {
            webhook_allow_hosts: AllowedHosts::parse(["127.0.0.1"]).unwrap(),
            ..DeskSettings::default()
        };
        let desk = desk(&store, allowing);
        assert!(desk.webhooks(&tenant).await.unwrap().is_empty(), "{name}");
        let (hook, secret) = desk.create_webhook(&tenant, &admin, "http://127.0.0.1:9000/hook").await.unwrap();
        assert!(!secret.is_empty() && hook.url == "http://127.0.0.1:9000/hook", "{name}");
        let seen = desk.webhooks(&tenant).await.unwrap();
        assert_eq!(seen.iter().map(|h| (h.id, h.secret.as_str())).collect::<Vec<_>>(), [(hook.id, secret.as_str())]);

        // Another town's administrator cannot remove it, by its id or by naming the town.
        let refused = desk.delete_webhook(&other, &admin_other, hook.id).await;
        assert!(matches!(refused, Err(DeskError::NotFound)), "{name}: {refused:?}");
        let refused = desk.delete_webhook(&tenant, &admin_other, hook.id).await;
        assert!(matches!(refused, Err(DeskError::Forbidden)), "{name}: {refused:?}");
        assert_eq!(store.webhooks(tenant.id).await.unwrap().len(), 1, "{name}");

        desk.delete_webhook(&tenant, &admin, hook.id).await.unwrap();
        assert!(desk.webhooks(&tenant).await.unwrap().is_empty(), "{name}: forgotten at once");
    }
}
