//! What a town's administrators do to staff accounts and API tokens after creating them:
//! list, edit (name, e-mail, role, offices), disable and re-enable accounts, list and revoke
//! tokens; and what each staff member does to their own account: change the password.
//!
//! A disabled account's sessions are deleted in the same transaction that disables it, and
//! the store refuses any change that would leave a town without an enabled administrator.

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::Timestamp;
use ricevo_core::citizen::FieldError;
use ricevo_core::{Email, Lang, OfficeId, UserId};
use ricevo_store::{AccountChange, ApiTokenInfo, Grant, Role, StoreError, Tenant, User};

use ricevo_core::audit::{Act, Actor, Subject};

use crate::audit::Record;
use crate::staff::{require_admin, verify_password};
use crate::{Desk, DeskError};

/// The shortest password a staff member may choose (generated ones are 16 characters).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest password checked (argon2 is fed at most this much).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Compares two byte strings in time independent of where they differ.
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a new password is refused, in `lang`; `None` when it is strong enough: at least
/// [`MIN_PASSWORD_CHARS`] characters, not the account's e-mail, not one character repeated.
pub fn password_problem(password: &str, email: &str, lang: Lang) -> Option<&'static str> {
    let chars = password.chars().count();
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if chars < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        Some(match lang {
            Lang::It => "La password deve avere almeno 12 caratteri (e al massimo 1024 byte).",
            Lang::En => "The password must have at least 12 characters (and at most 1024 bytes).",
        })
    } else if password.trim().eq_ignore_ascii_case(email.trim()) || distinct.len() < 4 {
        Some(match lang {
            Lang::It => "Scegli una password meno prevedibile: non l'e-mail, non un carattere ripetuto.",
            Lang::En => "Choose a less predictable password: not your e-mail, not one character repeated.",
        })
    } else {
        None
    }
}

/// The changes an administrator makes to an account (checked by [`Desk::update_account`]).
#[derive(Debug, Clone)]
pub struct AccountEdit {
    /// Login e-mail.
    pub email: Email,
    /// Display name (1 to 200 characters).
    pub name: String,
    /// Role.
    pub role: Role,
    /// Offices (operators and managers).
    pub offices: Vec<OfficeId>,
}

/// When each API token was last recorded as used, so a busy integration writes at most once
/// a minute per token.
#[derive(Debug, Default)]
pub struct TokenUses(Mutex<HashMap<String, Timestamp>>);

impl TokenUses {
    /// Whether a use of `hash` at `now` is worth writing down.
    fn due(&self, hash: &str, now: Timestamp) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 10_000 {
            seen.clear();
        }
        match seen.get(hash) {
            Some(last) if now.as_second() - last.as_second() < 60 => false,
            _ => {
                seen.insert(hash.to_owned(), now);
                true
            }
        }
    }
}

fn last_admin(e: StoreError) -> DeskError {
    match e {
        StoreError::LastAdministrator => DeskError::LastAdministrator,
        other => other.into(),
    }
}

impl Desk {
    /// The town's staff accounts, by name.
    pub async fn accounts(&self, tenant: &Tenant, grant: &Grant) -> Result<Vec<User>, DeskError> {
        require_admin(tenant, grant)?;
        Ok(self.store.users(tenant.id).await?)
    }

    /// One account of the town.
    pub async fn account(&self, tenant: &Tenant, grant: &Grant, id: UserId) -> Result<User, DeskError> {
        require_admin(tenant, grant)?;
        self.store.user(tenant.id, id).await?.ok_or(DeskError::NotFound)
    }

    /// Changes an account's e-mail, name, role and offices. `Duplicate` for an e-mail another
    /// account has, `NotFound` for an office of another town, `LastAdministrator` when the
    /// town would have no enabled administrator left.
    pub async fn update_account(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: UserId,
        edit: &AccountEdit,
    ) -> Result<User, DeskError> {
        require_admin(tenant, grant)?;
        let name = edit.name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(DeskError::Invalid("name".into()));
        }
        let change = AccountChange {
            email: edit.email.as_str().to_owned(),
            name: name.to_owned(),
            role: edit.role,
            offices: if edit.role == Role::Admin { Vec::new() } else { edit.offices.clone() },
        };
        let user = self.store.update_user(tenant.id, id, &change).await.map_err(last_admin)?;
        tracing::info!(tenant = %tenant.slug, target = %id, role = user.role.as_str(), "staff account changed");
        let offices: Vec<String> = user.offices.iter().map(|o| o.0.to_string()).collect();
        let detail =
            format!("{} <{}>, {}, offices [{}]", user.name, user.email, user.role.as_str(), offices.join(", "));
        self.record(grant, Record::new(Act::AccountChanged, Subject::Account(id)).detail(detail)).await;
        Ok(user)
    }

    /// Disables (`true`) or re-enables an account. Disabling ends its sessions at once;
    /// `LastAdministrator` when it is the town's last enabled administrator.
    pub async fn set_account_disabled(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: UserId,
        disabled: bool,
    ) -> Result<(), DeskError> {
        require_admin(tenant, grant)?;
        let at = disabled.then(|| self.now());
        self.store.set_user_disabled(tenant.id, id, at).await.map_err(last_admin)?;
        tracing::info!(tenant = %tenant.slug, target = %id, disabled, "staff account disabled or enabled");
        let act = if disabled { Act::AccountDisabled } else { Act::AccountEnabled };
        self.record(grant, Record::new(act, Subject::Account(id))).await;
        Ok(())
    }

    /// A staff member changes their own password: the current one must be right, the new one
    /// strong enough ([`password_problem`]). Other sessions of the account end; field errors
    /// are in `lang`.
    pub async fn change_own_password(
        &self,
        tenant: &Tenant,
        user: &User,
        current: &str,
        new: &str,
        lang: Lang,
    ) -> Result<(), DeskError> {
        if user.tenant_id != tenant.id || user.disabled {
            return Err(DeskError::Forbidden);
        }
        let mut problems = Vec::new();
        if let Some(p) = password_problem(new, &user.email, lang) {
            problems.push(FieldError::new("new_password", p));
        }
        let stored = user.password_hash.clone();
        let typed = current.to_owned();
        let right = current.len() <= MAX_PASSWORD_BYTES
            && tokio::task::spawn_blocking(move || verify_password(&typed, &stored))
                .await
                .map_err(|e| DeskError::Internal(format!("password check: {e}")))?;
        if !right {
            problems.insert(
                0,
                FieldError::new(
                    "current_password",
                    match lang {
                        Lang::It => "La password attuale non è corretta.",
                        Lang::En => "The current password is not correct.",
                    },
                ),
            );
        }
        if !problems.is_empty() {
            return Err(DeskError::Fields(problems));
        }
        let phc = crate::staff::hashed(new.to_owned()).await?;
        self.store.set_password(tenant.id, user.id, &phc).await?;
        tracing::info!(tenant = %tenant.slug, user = %user.id, "own password changed");
        let record = Record::new(Act::PasswordChanged, Subject::Account(user.id)).detail("changed by its owner");
        self.record_as(tenant.id, staff_actor(user), record).await;
        Ok(())
    }

    /// The town's API tokens, newest first, revoked ones too (never their secrets).
    pub async fn api_tokens(&self, tenant: &Tenant, grant: &Grant) -> Result<Vec<ApiTokenInfo>, DeskError> {
        require_admin(tenant, grant)?;
        Ok(self.store.api_tokens(tenant.id).await?)
    }

    /// Revokes one of the town's API tokens: refused from the next request on.
    pub async fn revoke_api_token(&self, tenant: &Tenant, grant: &Grant, id: i64) -> Result<(), DeskError> {
        require_admin(tenant, grant)?;
        self.store.revoke_api_token(tenant.id, id, self.now()).await?;
        tracing::info!(tenant = %tenant.slug, token = id, "API token revoked");
        self.record(grant, Record::new(Act::TokenRevoked, Subject::Token(id))).await;
        Ok(())
    }

    /// Records that the token hashed as `hash` was used now, at most once a minute per token
    /// on this node; a failure to record is logged, never a refusal.
    pub(crate) async fn token_used(&self, hash: &str) {
        let now = self.now();
        if self.token_uses.due(hash, now)
            && let Err(e) = self.store.touch_api_token(hash, now).await
        {
            tracing::warn!(error = %e, "could not record an API token's use");
        }
    }
}

/// A staff member acting on their own account, as the audit log names them.
pub(crate) fn staff_actor(user: &User) -> Actor {
    Actor::Staff { id: user.id, name: format!("{} <{}>", user.name, user.email) }
}
