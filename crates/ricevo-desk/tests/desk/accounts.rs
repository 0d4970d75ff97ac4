//! Staff accounts after creation, the second factor, API token use and revocation, a town's
//! settings and its suspension, through the desk on SQLite and PostgreSQL; each time a second
//! town proves it is neither seen nor touched.

#![allow(clippy::unwrap_used, clippy::needless_pass_by_value)]

use crate::support;

use jiff::Timestamp;
use ricevo_core::audit::{Act, Subject};
use ricevo_core::{Email, Lang};
use ricevo_desk::accounts::AccountEdit;
use ricevo_desk::second_factor::{code_at, step_of};
use ricevo_desk::staff::NewAccount;
use ricevo_desk::{DeskError, DeskSettings, tokens};
use ricevo_store::{AuditFilter, Grant, Role, TenantSettings};
use support::{Engine, desk, desk_at, engines, forbidden, new_town, not_found};

fn edit(email: &str, name: &str, role: Role) -> AccountEdit {
    AccountEdit { email: Email::parse(email).unwrap(), name: name.into(), role, offices: Vec::new() }
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions_and_the_last_administrator_cannot_go() {
    for Engine { name, store, .. } in engines().await {
        let desk = desk(&store, DeskSettings::default());
        let (tenant, admin) = new_town(&desk, "prato").await;
        let (other, admin_other) = new_town(&desk, "pistoia").await;
        let first = store.user_by_email(tenant.id, "admin@prato.example").await.unwrap().unwrap();
        let new = NewAccount {
            email: Email::parse("anna@prato.example").unwrap(),
            name: "Anna Neri".into(),
            role: Role::Admin,
            offices: Vec::new(),
        };
        let (anna, _) = desk.create_account(&tenant, &admin, &new).await.unwrap();
        let later = Timestamp::from_second(4_000_000_000).unwrap();
        store.create_session("anna-session", anna.id, "csrf", later).await.unwrap();
        assert!(store.session("anna-session", support::now()).await.unwrap().is_some(), "{name}");

        // Disabled: the open session is gone at once, and it stays gone once re-enabled.
        desk.set_account_disabled(&tenant, &admin, anna.id, true).await.unwrap();
        assert!(store.session("anna-session", support::now()).await.unwrap().is_none(), "{name}");
        assert!(store.user(tenant.id, anna.id).await.unwrap().unwrap().disabled, "{name}");
        // A session somehow opened for a disabled account opens nothing.
        store.create_session("late", anna.id, "csrf", later).await.unwrap();
        assert!(store.session("late", support::now()).await.unwrap().is_none(), "{name}");

        // With Anna disabled the first administrator is the last one: neither disabled nor demoted.
        let refused = desk.set_account_disabled(&tenant, &admin, first.id, true).await;
        assert!(matches!(refused, Err(DeskError::LastAdministrator)), "{name}: {refused:?}");
        let demote = edit("admin@prato.example", "Amministratore", Role::Operator);
        let refused = desk.update_account(&tenant, &admin, first.id, &demote).await;
        assert!(matches!(refused, Err(DeskError::LastAdministrator)), "{name}: {refused:?}");
        assert_eq!(store.user(tenant.id, first.id).await.unwrap().unwrap().role, Role::Admin, "{name}: unchanged");

        // Re-enabled, Anna is an administrator again, and the first one may step down.
        desk.set_account_disabled(&tenant, &admin, anna.id, false).await.unwrap();
        let stepped =
            desk.update_account(&tenant, &admin, first.id, &edit("capo@prato.example", "Capo", Role::Admin)).await;
        assert_eq!(stepped.unwrap().email, "capo@prato.example", "{name}");
        desk.set_account_disabled(&tenant, &admin, first.id, true).await.unwrap();
        let log = desk.audit_log(&admin, tenant.id, AuditFilter::default()).await.unwrap();
        for act in [Act::AccountDisabled, Act::AccountEnabled, Act::AccountChanged] {
            assert!(log.iter().any(|e| e.act == act), "{name}: {act:?} recorded");
        }

        // An e-mail another account has is a duplicate.
        let taken =
            desk.update_account(&tenant, &admin, anna.id, &edit("capo@prato.example", "Anna", Role::Admin)).await;
        assert!(matches!(taken, Err(DeskError::Duplicate)), "{name}: {taken:?}");

        // The other town's administrator neither sees nor touches Prato's accounts.
        assert!(forbidden(desk.accounts(&tenant, &admin_other).await), "{name}");
        assert!(not_found(desk.set_account_disabled(&other, &admin_other, anna.id, true).await), "{name}");
        assert!(
            not_found(
                desk.update_account(&other, &admin_other, anna.id, &edit("x@y.example", "X", Role::Operator)).await
            ),
            "{name}"
        );
        assert!(!store.user(tenant.id, anna.id).await.unwrap().unwrap().disabled, "{name}");
        assert!(desk.accounts(&other, &admin_other).await.unwrap().iter().all(|u| u.tenant_id == other.id), "{name}");
        let operator = Grant {
            tenant_id: tenant.id,
            role: Role::Operator,
            offices: Vec::new(),
            actor: ricevo_core::audit::Actor::System,
        };
        assert!(forbidden(desk.set_account_disabled(&tenant, &operator, anna.id, true).await), "{name}");
    }
}

#[tokio::test]
async fn changing_ones_own_password_needs_the_current_one_and_a_strong_new_one() {
    for Engine { name, store, .. } in engines().await {
        let desk = desk(&store, DeskSettings::default());
        let (tenant, admin) = new_town(&desk, "prato").await;
        let user = store.user_by_email(tenant.id, "admin@prato.example").await.unwrap().unwrap();
        let (_, first) = desk.reset_password(&tenant, &admin, user.id).await.unwrap();
        let user = store.user(tenant.id, user.id).await.unwrap().unwrap();

        let Err(DeskError::Fields(f)) = desk.change_own_password(&tenant, &user, "wrong", "corto", Lang::It).await
        else {
            panic!("{name}: refused")
        };
        let named: Vec<&str> = f.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, ["current_password", "new_password"], "{name}");
        assert!(f[1].message.contains("almeno 12 caratteri"), "{name}: {}", f[1].message);
        let same = desk.change_own_password(&tenant, &user, &first, "aaaaaaaaaaaaaaaa", Lang::En).await;
        assert!(matches!(same, Err(DeskError::Fields(_))), "{name}: one repeated character is refused");

        store.create_session("s", user.id, "c", Timestamp::from_second(4_000_000_000).unwrap()).await.unwrap();
        desk.change_own_password(&tenant, &user, &first, "una nuova password lunga", Lang::It).await.unwrap();
        let stored = store.user(tenant.id, user.id).await.unwrap().unwrap();
        assert!(ricevo_desk::staff::verify_password("una nuova password lunga", &stored.password_hash), "{name}");
        assert!(store.session("s", support::now()).await.unwrap().is_none(), "{name}: sessions end");
    }
}

#[tokio::test]
async fn a_totp_code_works_once_per_step_and_each_recovery_code_once() {
    for Engine { name, store, .. } in engines().await {
        let (desk, clock) = desk_at(&store, DeskSettings::default(), "2026-12-07T08:00:00+01:00");
        let (tenant, admin) = new_town(&desk, "prato").await;
        let (other, admin_other) = new_town(&desk, "pistoia").await;
        let user = store.user_by_email(tenant.id, "admin@prato.example").await.unwrap().unwrap();
        let enrolment = desk.begin_second_factor(&tenant, &user).unwrap();
        assert!(enrolment.uri.starts_with("otpauth://totp/"), "{name}");
        assert!(enrolment.qr_svg.contains("<svg"), "{name}");
        let secret = ricevo_desk::second_factor::decode_secret(&enrolment.secret).unwrap();
        let now = desk.now();

        let wrong = desk.confirm_second_factor(&tenant, &user, &enrolment.secret, "000000", Lang::It).await;
        assert!(matches!(wrong, Err(DeskError::Fields(_))) || code_at(&secret, step_of(now), 6) == "000000", "{name}");
        let code = code_at(&secret, step_of(now), 6);
        let recovery = desk.confirm_second_factor(&tenant, &user, &enrolment.secret, &code, Lang::It).await.unwrap();
        assert_eq!(recovery.len(), 10, "{name}");
        let user = store.user(tenant.id, user.id).await.unwrap().unwrap();
        assert!(user.has_second_factor(), "{name}");
        assert_eq!(store.recovery_codes_left(tenant.id, user.id).await.unwrap(), 10, "{name}");

        // The code that confirmed the enrolment is spent; the next step's code works once.
        assert!(!desk.check_second_factor(&tenant, &user, &code).await.unwrap(), "{name}: replay refused");
        clock.set("2026-12-07T08:00:30+01:00");
        let next = code_at(&secret, step_of(desk.now()), 6);
        assert!(desk.check_second_factor(&tenant, &user, &next).await.unwrap(), "{name}");
        assert!(!desk.check_second_factor(&tenant, &user, &next).await.unwrap(), "{name}: replay refused");
        // A recovery code, however typed, works once.
        let typed = recovery[3].to_uppercase().replace('-', " ");
        assert!(desk.check_second_factor(&tenant, &user, &typed).await.unwrap(), "{name}");
        assert!(!desk.check_second_factor(&tenant, &user, &recovery[3]).await.unwrap(), "{name}: used up");
        assert_eq!(store.recovery_codes_left(tenant.id, user.id).await.unwrap(), 9, "{name}");
        // Another town's grant cannot reset it; the town's administrator can.
        assert!(forbidden(desk.reset_second_factor(&tenant, &admin_other, user.id).await), "{name}");
        assert!(not_found(desk.reset_second_factor(&other, &admin_other, user.id).await), "{name}");
        assert!(!desk.check_second_factor(&other, &user, &recovery[4]).await.unwrap(), "{name}: not in Pistoia");
        desk.reset_second_factor(&tenant, &admin, user.id).await.unwrap();
        let user = store.user(tenant.id, user.id).await.unwrap().unwrap();
        assert!(!user.has_second_factor(), "{name}");
        assert_eq!(store.recovery_codes_left(tenant.id, user.id).await.unwrap(), 0, "{name}");
    }
}

#[tokio::test]
async fn tokens_are_listed_without_secrets_record_their_use_and_a_revoked_one_is_refused_at_once() {
    for Engine { name, store, .. } in engines().await {
        let (desk, clock) = desk_at(&store, DeskSettings::default(), "2026-12-07T08:00:00+01:00");
        let (tenant, admin) = new_town(&desk, "prato").await;
        let (other, admin_other) = new_town(&desk, "pistoia").await;
        let token = desk.create_api_token(&tenant, &admin, Role::Operator, None, "portale").await.unwrap();
        let listed = desk.api_tokens(&tenant, &admin).await.unwrap();
        assert_eq!(listed.len(), 1, "{name}");
        assert_eq!((listed[0].label.as_str(), listed[0].last_used_at), ("portale", None), "{name}");

        desk.api_grant(&tenant, &token).await.unwrap();
        let used = desk.api_tokens(&tenant, &admin).await.unwrap()[0].last_used_at;
        assert_eq!(used, Some(desk.now()), "{name}");
        // Within the minute the use is not written again; after it, it is.
        clock.set("2026-12-07T08:00:40+01:00");
        desk.api_grant(&tenant, &token).await.unwrap();
        assert_eq!(desk.api_tokens(&tenant, &admin).await.unwrap()[0].last_used_at, used, "{name}");
        clock.set("2026-12-07T08:02:00+01:00");
        desk.api_grant(&tenant, &token).await.unwrap();
        assert_eq!(desk.api_tokens(&tenant, &admin).await.unwrap()[0].last_used_at, Some(desk.now()), "{name}");

        // Pistoia's administrator neither lists nor revokes Prato's token.
        assert!(desk.api_tokens(&other, &admin_other).await.unwrap().is_empty(), "{name}");
        let id = listed[0].id;
        assert!(not_found(desk.revoke_api_token(&other, &admin_other, id).await), "{name}");
        assert!(forbidden(desk.revoke_api_token(&tenant, &admin_other, id).await), "{name}");
        desk.api_grant(&tenant, &token).await.unwrap();

        desk.revoke_api_token(&tenant, &admin, id).await.unwrap();
        assert!(matches!(desk.api_grant(&tenant, &token).await, Err(DeskError::Unauthorized)), "{name}");
        assert!(store.api_token(&tokens::hash(&token)).await.unwrap().is_none(), "{name}");
        assert!(desk.api_tokens(&tenant, &admin).await.unwrap()[0].revoked_at.is_some(), "{name}: still listed");
        assert!(not_found(desk.revoke_api_token(&tenant, &admin, id).await), "{name}: once");
        let log = desk.audit_log(&admin, tenant.id, AuditFilter::default()).await.unwrap();
        assert!(log.iter().any(|e| e.act == Act::TokenRevoked && e.subject == Subject::Token(id)), "{name}: {log:?}");
        let theirs = desk.audit_log(&admin_other, other.id, AuditFilter::default()).await.unwrap();
        assert!(theirs.iter().all(|e| e.act != Act::TokenRevoked), "{name}: not in Pistoia's log");
    }
}

#[tokio::test]
async fn settings_are_checked_stored_and_a_suspended_town_serves_nothing_until_restored() {
    for Engine { name, store, .. } in engines().await {
        let desk = desk(&store, DeskSettings::default());
        let (tenant, admin) = new_town(&desk, "prato").await;
        let (other, admin_other) = new_town(&desk, "pistoia").await;
        let wanted = TenantSettings {
            name: "Comune di Prato".into(),
            website: "https://www.comune.prato.it".into(),
            address: "Piazza del Comune 2, Prato".into(),
            pec: "comune.prato@postacert.toscana.it".into(),
            languages: vec![Lang::It],
            privacy_controller: "Comune di Prato".into(),
            privacy_dpo_contact: "dpo@comune.prato.it".into(),
            privacy_legal_basis: "Art. 6.1.e GDPR".into(),
            accessibility_statement_url: "https://form.agid.gov.it/view/prato".into(),
            patron_day: Some("12-26".into()),
            ..TenantSettings::of(&tenant)
        };
        let saved = desk.update_settings(&tenant, &admin, &wanted, Lang::It).await.unwrap();
        assert_eq!(TenantSettings::of(&saved), wanted, "{name}");
        let read = store.tenant_by_slug("prato").await.unwrap().unwrap();
        assert_eq!(
            (read.pec.as_str(), read.languages.as_slice()),
            (wanted.pec.as_str(), [Lang::It].as_slice()),
            "{name}"
        );
        let bad = TenantSettings { time_zone: "Europe/Atlantis".into(), ..wanted.clone() };
        assert!(
            matches!(desk.update_settings(&tenant, &admin, &bad, Lang::It).await, Err(DeskError::Fields(_))),
            "{name}"
        );
        assert!(forbidden(desk.update_settings(&tenant, &admin_other, &wanted, Lang::It).await), "{name}");
        assert_eq!(store.tenant_by_slug("pistoia").await.unwrap().unwrap().pec, "", "{name}: untouched");

        // The emblem: sniffed, stored apart, and only this town's.
        let png = b"\x89PNG\r\n\x1a\n0000".to_vec();
        desk.set_emblem(&tenant, &admin, &png, Lang::It).await.unwrap();
        assert!(desk.town("prato").await.unwrap().emblem, "{name}");
        assert_eq!(desk.emblem(&tenant).await.unwrap(), ("image/png".to_owned(), png), "{name}");
        assert!(not_found(desk.emblem(&other).await), "{name}");
        let script = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>"#;
        assert!(
            matches!(desk.set_emblem(&tenant, &admin, script, Lang::En).await, Err(DeskError::Fields(_))),
            "{name}"
        );

        // Suspended: every channel's lookup refuses the town; the other town carries on.
        desk.set_town_disabled("prato", true).await.unwrap();
        assert!(matches!(desk.town("prato").await, Err(DeskError::Suspended)), "{name}");
        assert!(matches!(desk.town_by_id(tenant.id).await, Err(DeskError::Suspended)), "{name}");
        desk.town("pistoia").await.unwrap();
        assert!(desk.all_towns().await.unwrap().iter().any(|t| t.slug == "prato" && t.disabled), "{name}");
        // Restored with everything as it was.
        desk.set_town_disabled("prato", false).await.unwrap();
        let back = desk.town("prato").await.unwrap();
        assert_eq!(TenantSettings::of(&back), wanted, "{name}");
        assert!(back.emblem, "{name}");
        let log = desk.audit_log(&admin, tenant.id, AuditFilter::default()).await.unwrap();
        let settings: Vec<&str> =
            log.iter().filter(|e| e.act == Act::SettingsChanged).map(|e| e.detail.as_str()).collect();
        assert!(settings.iter().any(|d| d.contains("pec") && d.contains("website")), "{name}: {settings:?}");
        assert!(settings.contains(&"town suspended") && settings.contains(&"town restored"), "{name}: {settings:?}");
        assert!(matches!(desk.set_town_disabled("nessuno", true).await, Err(DeskError::NotFound)), "{name}");
    }
}
