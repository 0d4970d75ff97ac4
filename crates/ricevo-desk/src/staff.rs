//! Staff accounts, API tokens and webhooks, and new towns with their first administrator.
//! Only a town's administrators (or the command line acting as one, see
//! [`town_administrator`]) do these. Passwords, tokens and webhook secrets are generated here
//! and returned once; only their hashes (passwords, tokens) are stored.

use crate::audit::Record;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use ricevo_core::audit::Actor;
use ricevo_core::audit::{Act, Subject};
use ricevo_core::{Email, OfficeId, TenantId, UserId};
use ricevo_notify::WebhookUrl;
use ricevo_store::{Grant, NewTenant, Role, Tenant, User, Webhook};

use crate::{Desk, DeskError, tokens};

/// The display name of the first administrator of a new town.
pub const FIRST_ADMIN_NAME: &str = "Amministratore";

/// Hashes a password with argon2id (default parameters) into a PHC string.
pub fn hash_password(pw: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let hashed = SaltString::encode_b64(&salt)
        .and_then(|salt| Argon2::default().hash_password(pw.as_bytes(), &salt).map(|h| h.to_string()));
    match hashed {
        Ok(phc) => phc,
        // Unreachable with a 16-byte salt; an empty hash never verifies, so nobody gets in.
        Err(e) => {
            tracing::error!(error = %e, "password hashing failed");
            String::new()
        }
    }
}

/// Whether `pw` matches the PHC string `phc` (false for a malformed hash).
pub fn verify_password(pw: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(pw.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

// argon2 takes tens of milliseconds of CPU: off the async workers.
pub(crate) async fn hashed(password: String) -> Result<String, DeskError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| DeskError::Internal(format!("password hashing: {e}")))
}

/// The authority of whoever runs the instance (the command line) over one town: that of its
/// administrator.
pub fn town_administrator(tenant: TenantId) -> Grant {
    Grant { tenant_id: tenant, role: Role::Admin, offices: Vec::new(), actor: Actor::System }
}

impl Desk {
    /// The authority an API token gives in `tenant`: `Unauthorized` for a token we did not
    /// issue, and for one of another town (as good as none here).
    pub async fn api_grant(&self, tenant: &Tenant, token: &str) -> Result<Grant, DeskError> {
        let grant = self.store.api_token(&tokens::hash(token)).await?.ok_or(DeskError::Unauthorized)?;
        if grant.tenant_id != tenant.id {
            return Err(DeskError::Unauthorized);
        }
        self.token_used(&tokens::hash(token)).await;
        Ok(grant)
    }
}

// Refuses a grant of another town, and anything but an administrator.
pub(crate) fn require_admin(tenant: &Tenant, grant: &Grant) -> Result<(), DeskError> {
    if grant.tenant_id == tenant.id && grant.role == Role::Admin { Ok(()) } else { Err(DeskError::Forbidden) }
}

/// A staff account to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The login e-mail (unique in the town).
    pub email: Email,
    /// The display name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The offices operators and managers work for (ignored for administrators); each must be
    /// one of this town's.
    pub offices: Vec<OfficeId>,
}

/// A secret shown once: a generated password, an API token, a webhook's signing secret.
pub type ShownOnce = String;

impl Desk {
    /// Creates a staff account with a generated first password, returned once. `Duplicate`
    /// when the town has an account with that e-mail, `NotFound` for an office of another town.
    pub async fn create_account(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        new: &NewAccount,
    ) -> Result<(User, ShownOnce), DeskError> {
        require_admin(tenant, grant)?;
        let offices: &[OfficeId] = if new.role == Role::Admin { &[] } else { &new.offices };
        let password = tokens::new_public_id();
        let phc = hashed(password.clone()).await?;
        let user = self.store.create_user(tenant.id, new.email.as_str(), &new.name, new.role, &phc, offices).await?;
        tracing::info!(tenant = %tenant.slug, created = %user.id, role = user.role.as_str(), "staff account created");
        self.record(
            grant,
            Record::new(Act::AccountCreated, Subject::Account(user.id)).detail(format!(
                "{} <{}>, {}",
                user.name,
                user.email,
                user.role.as_str()
            )),
        )
        .await;
        Ok((user, password))
    }

    /// Gives an account of this town a new generated password, returned once.
    pub async fn reset_password(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: UserId,
    ) -> Result<(User, ShownOnce), DeskError> {
        require_admin(tenant, grant)?;
        let user = self.store.user(tenant.id, id).await?.ok_or(DeskError::NotFound)?;
        let password = tokens::new_public_id();
        let phc = hashed(password.clone()).await?;
        self.store.set_password(tenant.id, user.id, &phc).await?;
        tracing::info!(tenant = %tenant.slug, target = %user.id, "password reset");
        self.record(
            grant,
            Record::new(Act::PasswordChanged, Subject::Account(user.id)).detail("reset by an administrator"),
        )
        .await;
        Ok((user, password))
    }

    /// Creates an API token for an integration, limited to `office` if given (one of this
    /// town's, `NotFound` otherwise); the token is returned once and stored hashed.
    pub async fn create_api_token(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        role: Role,
        office: Option<OfficeId>,
        label: &str,
    ) -> Result<ShownOnce, DeskError> {
        require_admin(tenant, grant)?;
        let token = tokens::new_token();
        let id = self.store.create_api_token(tenant.id, role, office, &tokens::hash(&token), label).await?;
        tracing::info!(tenant = %tenant.slug, role = role.as_str(), "API token created");
        let detail = format!("{label}, {}", role.as_str());
        self.record(grant, Record::new(Act::TokenCreated, Subject::Token(id)).detail(detail)).await;
        Ok(token)
    }

    /// Subscribes `url` to the town's events, with a signing secret returned once. The address
    /// must be `http(s)://` and, unless the instance allows its host
    /// ([`crate::DeskSettings::webhook_allow_hosts`]), outside internal networks
    /// (`WebhookUrl` says why not).
    pub async fn create_webhook(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        url: &str,
    ) -> Result<(Webhook, ShownOnce), DeskError> {
        require_admin(tenant, grant)?;
        let url = WebhookUrl::parse(url).map_err(|e| DeskError::WebhookUrl(e.into()))?;
        self.settings.webhook_allow_hosts.check(&url).await.map_err(DeskError::WebhookUrl)?;
        let secret = tokens::new_token();
        let hook = self.store.create_webhook(tenant.id, url.as_str(), &secret).await?;
        self.catalogue.forget();
        tracing::info!(tenant = %tenant.slug, webhook = hook.id, "webhook added");
        self.record(grant, Record::new(Act::WebhookAdded, Subject::Webhook(hook.id)).detail(hook.url.clone())).await;
        Ok((hook, secret))
    }

    /// Ends one of the town's webhook subscriptions (`NotFound` for another town's).
    pub async fn delete_webhook(&self, tenant: &Tenant, grant: &Grant, id: i64) -> Result<(), DeskError> {
        require_admin(tenant, grant)?;
        self.store.delete_webhook(tenant.id, id).await?;
        self.catalogue.forget();
        tracing::info!(tenant = %tenant.slug, webhook = id, "webhook deleted");
        self.record(grant, Record::new(Act::WebhookRemoved, Subject::Webhook(id))).await;
        Ok(())
    }

    /// Creates a town with its first administrator (`admin_email`, a generated password
    /// returned once). `Duplicate` when the slug is taken. The caller runs the instance.
    pub async fn create_town(&self, new: &NewTenant, admin_email: &Email) -> Result<(Tenant, ShownOnce), DeskError> {
        let tenant = self.store.create_tenant(new).await?;
        let first = NewAccount {
            email: admin_email.clone(),
            name: FIRST_ADMIN_NAME.into(),
            role: Role::Admin,
            offices: Vec::new(),
        };
        let (_, password) = self.create_account(&tenant, &town_administrator(tenant.id), &first).await?;
        tracing::info!(tenant = %tenant.slug, "town created");
        Ok((tenant, password))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_to_argon2id_phc_strings_that_verify_only_the_right_password() {
        let phc = hash_password("correct horse");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong horse", &phc));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(hash_password("correct horse"), phc, "each hash has its own salt");
    }
}
