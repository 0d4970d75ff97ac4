//! Staff sign-in with the town's own OpenID Connect provider (issue 16): the settings a town's
//! administrators keep (issuer, client, allowed e-mail domains, groups to roles and offices,
//! passwords on or off), and what a sign-in the provider vouched for opens: which account, with
//! which role, or why none.
//!
//! The protocol itself (discovery, PKCE, ID token checks) is the web edge's; this module only
//! sees the claims it verified ([`ProviderClaims`]).

use ricevo_core::audit::{Act, Actor, Subject};
use ricevo_core::citizen::FieldError;
use ricevo_core::{Email, Lang, OfficeId};
use ricevo_store::{AccountChange, Grant, Role, RoleMapping, StoreError, Tenant, TownIdentityProvider, User};

use crate::audit::Record;
use crate::staff::require_admin;
use crate::{Desk, DeskError};

/// The claim that holds groups when the administrator names none.
pub const DEFAULT_GROUPS_CLAIM: &str = "groups";

/// Whether the town can sign staff in through its provider (an issuer and a client id).
pub fn is_configured(p: &TownIdentityProvider) -> bool {
    !p.issuer_url.is_empty() && !p.client_id.is_empty()
}

/// Whether the town's staff may sign in with passwords.
pub fn passwords_allowed(p: Option<&TownIdentityProvider>) -> bool {
    p.is_none_or(|p| !(p.passwords_off && is_configured(p)))
}

/// The e-mail's domain is one the town allows (case-insensitive, exact: no subdomains).
pub fn domain_allowed(domains: &[String], email: &str) -> bool {
    match email.rsplit_once('@') {
        Some((_, domain)) => domains.iter().any(|d| d.eq_ignore_ascii_case(domain)),
        None => false,
    }
}

/// The first mapping that one of `groups` matches (exactly, case-sensitive as providers send
/// them).
pub fn mapping_for<'m>(mappings: &'m [RoleMapping], groups: &[String]) -> Option<&'m RoleMapping> {
    mappings.iter().find(|m| groups.contains(&m.value))
}

/// Why a line of the mapping text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingLineError {
    /// The line number, from 1.
    pub line: usize,
}

/// Reads the mappings an administrator typed, one a line: `GROUP = ROLE` or
/// `GROUP = ROLE: OFFICE, OFFICE` (office ids). Roles: `admin`, `manager`, `operator` (or the
/// Italian `amministratore`, `responsabile`, `operatore`). The group is everything before the
/// last `=`, so LDAP-style names (`CN=staff,OU=...`) work. Blank lines and `#` comments are
/// skipped.
pub fn parse_mappings(text: &str) -> Result<Vec<RoleMapping>, MappingLineError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = MappingLineError { line: i + 1 };
        let (value, grant) = line.rsplit_once('=').ok_or(bad.clone())?;
        let value = value.trim();
        if value.is_empty() || value.chars().count() > 200 || value.chars().any(char::is_control) {
            return Err(bad);
        }
        let (role, offices) = match grant.split_once(':') {
            Some((role, offices)) => (role, offices),
            None => (grant, ""),
        };
        let role = match role.trim().to_lowercase().as_str() {
            "admin" | "amministratore" => Role::Admin,
            "manager" | "responsabile" => Role::Manager,
            "operator" | "operatore" => Role::Operator,
            _ => return Err(bad),
        };
        let mut ids = Vec::new();
        for part in offices.split([',', ' ']).map(str::trim).filter(|p| !p.is_empty()) {
            let id = part.parse::<i64>().ok().filter(|n| *n > 0).ok_or(bad.clone())?;
            if !ids.contains(&OfficeId(id)) {
                ids.push(OfficeId(id));
            }
        }
        if role == Role::Admin {
            ids.clear();
        }
        out.push(RoleMapping { value: value.to_owned(), role, offices: ids });
    }
    Ok(out)
}

/// The mappings as the administrator types them (the inverse of [`parse_mappings`]).
pub fn mappings_text(mappings: &[RoleMapping]) -> String {
    mappings
        .iter()
        .map(|m| {
            let offices: Vec<String> = m.offices.iter().map(|o| o.0.to_string()).collect();
            if offices.is_empty() {
                format!("{} = {}", m.value, m.role.as_str())
            } else {
                format!("{} = {}: {}", m.value, m.role.as_str(), offices.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether an issuer address is one Ricevo will talk to: `https://`, or `http://` on this
/// machine only (a provider run next to Ricevo, and the tests); no query or fragment.
pub fn issuer_ok(issuer: &str) -> bool {
    let Ok(url) = url::Url::parse(issuer) else { return false };
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    scheme_ok && url.host_str().is_some() && url.query().is_none() && url.fragment().is_none() && !issuer.contains(' ')
}

/// A domain as the administrator may type one: `comune.example.it`, lower case letters, digits,
/// `-` and dots.
fn domain_ok(d: &str) -> bool {
    let labels: Vec<&str> = d.split('.').collect();
    d.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

/// What an administrator submits on the sign-in page. The client secret left blank keeps the
/// stored one (pages never show it back); `clear_secret` removes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderForm {
    /// The issuer (blank: no provider).
    pub issuer_url: String,
    /// The client id.
    pub client_id: String,
    /// A new client secret (blank: keep).
    pub client_secret: String,
    /// Forget the stored secret (a public client, with PKCE only).
    pub clear_secret: bool,
    /// Allowed e-mail domains, separated by spaces, commas or new lines.
    pub email_domains: String,
    /// The claim that holds groups (blank: `groups`).
    pub groups_claim: String,
    /// The mappings, one a line (see [`parse_mappings`]).
    pub mappings: String,
    /// Create unknown staff on first sign-in when a mapping grants them a role.
    pub create_unknown: bool,
    /// Passwords off for the town.
    pub passwords_off: bool,
}

fn field(name: &'static str, it: &'static str, en: &'static str, lang: Lang) -> FieldError {
    FieldError::new(name, if lang == Lang::It { it } else { en })
}

impl Desk {
    /// The town's provider settings, if it has any.
    pub async fn town_identity_provider(&self, tenant: &Tenant) -> Result<Option<TownIdentityProvider>, DeskError> {
        Ok(self.store.town_identity_provider(tenant.id).await?)
    }

    /// Turns password sign-in back on for the town `slug`: the way back, for whoever runs the
    /// instance, when the town's provider is gone for good (`ricevo tenant passwords-on`).
    /// `NotFound` for no such town; nothing changes when passwords are on. Audited as the
    /// system.
    pub async fn turn_passwords_on(&self, slug: &str) -> Result<Tenant, DeskError> {
        let tenant = self.store.tenant_by_slug(slug).await?.ok_or(DeskError::NotFound)?;
        if let Some(mut provider) = self.store.town_identity_provider(tenant.id).await?.filter(|p| p.passwords_off) {
            provider.passwords_off = false;
            provider.updated_at = self.now();
            self.store.set_town_identity_provider(&provider).await?;
            let record = Record::new(Act::SettingsChanged, Subject::Town).detail("passwords on (command line)");
            self.record_as(tenant.id, Actor::System, record).await;
        }
        Ok(tenant)
    }

    /// Checks and stores the town's provider settings (administrators only, audited, never the
    /// secret). Passwords may be turned off only with a provider configured and by an
    /// administrator whose session came through that very provider (`via_provider`), so the
    /// town cannot be locked out by a provider nobody has signed in through. Field errors are
    /// in `lang`.
    pub async fn save_town_identity_provider(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        form: &ProviderForm,
        via_provider: bool,
        lang: Lang,
    ) -> Result<TownIdentityProvider, DeskError> {
        require_admin(tenant, grant)?;
        let old = self.store.town_identity_provider(tenant.id).await?;
        let mut errors = Vec::new();
        let issuer_url = form.issuer_url.trim().to_owned();
        if !issuer_url.is_empty() && (issuer_url.len() > 500 || !issuer_ok(&issuer_url)) {
            errors.push(field(
                "issuer_url",
                "L'indirizzo del fornitore (issuer) deve iniziare con https://, senza ? né #.",
                "The provider's address (issuer) must start with https://, without ? or #.",
                lang,
            ));
        }
        if !issuer_url.is_empty() && issuer_ok(&issuer_url) {
            // As for webhooks: no internal network unless the instance allows its host.
            let allowed = match ricevo_notify::WebhookUrl::parse(&issuer_url) {
                Ok(url) => self.settings.webhook_allow_hosts.check(&url).await.is_ok(),
                Err(_) => false,
            };
            if !allowed {
                errors.push(field(
                    "issuer_url",
                    "L'indirizzo del fornitore è su una rete interna che questa istanza non permette (chi la gestisce \
                     può aggiungerlo a webhook_allow_hosts).",
                    "The provider's address is on an internal network this instance does not allow (whoever runs it \
                     can add it to webhook_allow_hosts).",
                    lang,
                ));
            }
        }
        let client_id = form.client_id.trim().to_owned();
        if client_id.len() > 300 || client_id.chars().any(char::is_control) {
            errors.push(field("client_id", "Client id non valido.", "Invalid client id.", lang));
        } else if !issuer_url.is_empty() && client_id.is_empty() {
            errors.push(field(
                "client_id",
                "Serve il client id che il fornitore ha dato a Ricevo.",
                "Enter the client id the provider gave Ricevo.",
                lang,
            ));
        }
        let new_secret = form.client_secret.trim();
        let client_secret = if !new_secret.is_empty() {
            Some(new_secret.to_owned())
        } else if form.clear_secret {
            None
        } else {
            old.as_ref().and_then(|o| o.client_secret.clone())
        };
        if client_secret.as_deref().is_some_and(|s| s.len() > 500 || s.chars().any(char::is_control)) {
            errors.push(field("client_secret", "Client secret non valido.", "Invalid client secret.", lang));
        }
        let mut email_domains: Vec<String> = Vec::new();
        for d in form.email_domains.split([' ', ',', ';', '\n', '\r', '\t']).filter(|d| !d.is_empty()) {
            let d = d.trim_start_matches('@').to_lowercase();
            if !domain_ok(&d) {
                errors.push(field(
                    "email_domains",
                    "Domini non validi: scrivili come comune.esempio.it, separati da spazi.",
                    "Invalid domains: write them as town.example.it, separated by spaces.",
                    lang,
                ));
                break;
            }
            if !email_domains.contains(&d) {
                email_domains.push(d);
            }
        }
        if !issuer_url.is_empty() && email_domains.is_empty() {
            errors.push(field(
                "email_domains",
                "Indica almeno un dominio di posta del personale (per esempio comune.esempio.it).",
                "Enter at least one e-mail domain of the staff (for instance town.example.it).",
                lang,
            ));
        }
        let groups_claim = match form.groups_claim.trim() {
            "" => DEFAULT_GROUPS_CLAIM.to_owned(),
            c => c.to_owned(),
        };
        if groups_claim.len() > 200 || groups_claim.chars().any(|c| c.is_whitespace() || c.is_control()) {
            errors.push(field(
                "groups_claim",
                "Il nome del claim non può contenere spazi.",
                "The claim's name cannot contain spaces.",
                lang,
            ));
        }
        let mappings = match parse_mappings(&form.mappings) {
            Ok(m) => m,
            Err(_) => {
                errors.push(field(
                    "mappings",
                    "Una riga delle corrispondenze non si legge: scrivi GRUPPO = ruolo oppure GRUPPO = ruolo: uffici.",
                    "A line of the mappings cannot be read: write GROUP = role or GROUP = role: offices.",
                    lang,
                ));
                Vec::new()
            }
        };
        let offices = self.store.offices(tenant.id).await?;
        if mappings.iter().flat_map(|m| &m.offices).any(|id| !offices.iter().any(|o| o.id == *id)) {
            errors.push(field(
                "mappings",
                "Le corrispondenze citano un ufficio che il Comune non ha.",
                "The mappings name an office the town does not have.",
                lang,
            ));
        }
        if form.passwords_off {
            let configured = !issuer_url.is_empty() && !client_id.is_empty();
            // The provider the administrator came through must be the one that stays.
            let same_provider = old
                .as_ref()
                .is_some_and(|o| is_configured(o) && o.issuer_url == issuer_url && o.client_id == client_id);
            let was_off = old.as_ref().is_some_and(|o| o.passwords_off);
            if !configured {
                errors.push(field(
                    "passwords_off",
                    "Le password si possono disattivare solo con un fornitore di identità configurato.",
                    "Passwords can be turned off only with an identity provider configured.",
                    lang,
                ));
            } else if !(same_provider && (was_off || via_provider)) {
                errors.push(field(
                    "passwords_off",
                    "Per disattivare le password accedi prima con l'account del Comune (con questo fornitore): \
                     così nessuno resta chiuso fuori.",
                    "To turn passwords off, first sign in with the town's account (through this provider): \
                     so nobody is locked out.",
                    lang,
                ));
            }
        }
        if !errors.is_empty() {
            return Err(DeskError::Fields(errors));
        }
        let saved = TownIdentityProvider {
            tenant_id: tenant.id,
            issuer_url,
            client_id,
            client_secret,
            email_domains,
            groups_claim,
            mappings,
            create_unknown: form.create_unknown,
            passwords_off: form.passwords_off,
            updated_at: self.now(),
        };
        self.store.set_town_identity_provider(&saved).await?;
        // The audit says what changed, never the secret.
        let detail = format!(
            "staff sign-in: provider {} (client {}), domains [{}], groups claim {}, {} mappings, create unknown {}, \
             passwords {}{}",
            if saved.issuer_url.is_empty() { "none" } else { &saved.issuer_url },
            saved.client_id,
            saved.email_domains.join(" "),
            saved.groups_claim,
            saved.mappings.len(),
            saved.create_unknown,
            if saved.passwords_off { "off" } else { "on" },
            if old.as_ref().and_then(|o| o.client_secret.as_ref()) != saved.client_secret.as_ref() {
                ", client secret changed"
            } else {
                ""
            },
        );
        self.record(grant, Record::new(Act::SettingsChanged, Subject::Town).detail(detail)).await;
        tracing::info!(tenant = %tenant.slug, passwords_off = saved.passwords_off, "staff sign-in settings changed");
        Ok(saved)
    }
}

/// What the provider vouched for, after the web edge verified the ID token (and fetched
/// userinfo where the ID token lacked a claim).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderClaims {
    /// The provider's issuer.
    pub issuer: String,
    /// The provider's id of the person.
    pub subject: String,
    /// `email`.
    pub email: Option<String>,
    /// `email_verified`, when the provider sends it.
    pub email_verified: Option<bool>,
    /// `name` (or given and family name).
    pub name: Option<String>,
    /// The values of the town's groups claim.
    pub groups: Vec<String>,
}

/// Why a sign-in the provider vouched for opens nothing here (the web edge words it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderRefusal {
    /// The town has no provider (any more).
    NotConfigured,
    /// The provider sent no usable e-mail.
    NoEmail,
    /// The provider says the e-mail is not verified.
    EmailNotVerified,
    /// The e-mail's domain is not one the town allows.
    DomainNotAllowed,
    /// No account with that e-mail in this town, and none may be created for it.
    NoAccount,
    /// The account is disabled.
    Disabled,
    /// The store failed.
    Failed(String),
}

impl From<StoreError> for ProviderRefusal {
    fn from(e: StoreError) -> Self {
        ProviderRefusal::Failed(e.to_string())
    }
}

impl Desk {
    /// The account of this town that a verified sign-in opens: found by e-mail, or created when
    /// the town allows it and a mapping grants a role; its role and offices follow the mapping
    /// when one matches. Refusals are audited with the e-mail the provider gave.
    pub async fn account_for_provider_sign_in(
        &self,
        tenant: &Tenant,
        claims: &ProviderClaims,
        address: &str,
    ) -> Result<User, ProviderRefusal> {
        let provider = self.store.town_identity_provider(tenant.id).await?;
        let Some(provider) = provider.filter(is_configured) else { return Err(ProviderRefusal::NotConfigured) };
        let email = claims.email.as_deref().map(str::to_lowercase).and_then(|e| Email::parse(&e).ok());
        let who = Actor::Anonymous {
            name: email.as_ref().map_or_else(|| format!("{} ({})", claims.subject, claims.issuer), |e| e.to_string()),
        };
        let refuse = |why: ProviderRefusal, detail: &'static str, subject: Subject| {
            let who = who.clone();
            async move {
                tracing::info!(tenant = %tenant.slug, detail, "staff sign-in through the provider refused");
                let record = Record::new(Act::SignInFailed, subject)
                    .detail(format!("identity provider: {detail}"))
                    .from_address(Some(address.to_owned()));
                self.record_as(tenant.id, who, record).await;
                Err(why)
            }
        };
        let Some(email) = email else { return refuse(ProviderRefusal::NoEmail, "no e-mail", Subject::Town).await };
        if claims.email_verified == Some(false) {
            return refuse(ProviderRefusal::EmailNotVerified, "e-mail not verified", Subject::Town).await;
        }
        if !domain_allowed(&provider.email_domains, email.as_str()) {
            return refuse(ProviderRefusal::DomainNotAllowed, "e-mail domain not allowed", Subject::Town).await;
        }
        let mapped = mapping_for(&provider.mappings, &claims.groups);
        let user = match self.store.user_by_email(tenant.id, email.as_str()).await? {
            Some(user) => user,
            None => {
                let Some(m) = mapped.filter(|_| provider.create_unknown) else {
                    return refuse(ProviderRefusal::NoAccount, "no account in this town", Subject::Town).await;
                };
                let name = claims
                    .name
                    .as_deref()
                    .map(str::trim)
                    .filter(|n| !n.is_empty() && n.chars().count() <= 200 && !n.chars().any(char::is_control))
                    .map_or_else(|| email.as_str().split('@').next().unwrap_or_default().to_owned(), str::to_owned);
                // No password: such an account signs in through the provider (an administrator
                // may give it one later). An empty hash never verifies.
                let user = self.store.create_user(tenant.id, email.as_str(), &name, m.role, "", &m.offices).await?;
                tracing::info!(tenant = %tenant.slug, created = %user.id, "staff account created at first provider sign-in");
                let record = Record::new(Act::AccountCreated, Subject::Account(user.id)).detail(format!(
                    "{} <{}>, {}, created at first sign-in through the identity provider (group {})",
                    user.name,
                    user.email,
                    user.role.as_str(),
                    m.value
                ));
                self.record_as(tenant.id, Actor::System, record).await;
                user
            }
        };
        if user.disabled {
            return refuse(ProviderRefusal::Disabled, "account disabled", Subject::Account(user.id)).await;
        }
        let Some(m) = mapped else { return Ok(user) };
        let offices = if m.role == Role::Admin { Vec::new() } else { m.offices.clone() };
        if user.role == m.role && user.offices == offices {
            return Ok(user);
        }
        let change = AccountChange { email: user.email.clone(), name: user.name.clone(), role: m.role, offices };
        match self.store.update_user(tenant.id, user.id, &change).await {
            Ok(changed) => {
                let record = Record::new(Act::AccountChanged, Subject::Account(user.id)).detail(format!(
                    "role {} from the identity provider's group {}",
                    changed.role.as_str(),
                    m.value
                ));
                self.record_as(tenant.id, Actor::System, record).await;
                Ok(changed)
            }
            // The last administrator keeps the role: the town is never left without one.
            Err(StoreError::LastAdministrator) => {
                tracing::warn!(tenant = %tenant.slug, user = %user.id, "mapping would demote the last administrator");
                Ok(user)
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn mappings_read_groups_roles_and_offices() {
        let m = parse_mappings("# staff\nCN=Anagrafe,OU=Comune = operatore: 2, 3\n\nadmins = admin: 4\n").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].value, "CN=Anagrafe,OU=Comune");
        assert_eq!(m[0].role, Role::Operator);
        assert_eq!(m[0].offices, vec![OfficeId(2), OfficeId(3)]);
        assert_eq!(m[1].role, Role::Admin);
        assert!(m[1].offices.is_empty(), "administrators have every office");
        assert_eq!(parse_mappings(&mappings_text(&m)).unwrap(), m);
    }

    #[test]
    fn a_mapping_line_without_a_role_is_refused_with_its_number() {
        assert_eq!(parse_mappings("a = admin\nb = chief"), Err(MappingLineError { line: 2 }));
        assert_eq!(parse_mappings("no equals sign"), Err(MappingLineError { line: 1 }));
        assert_eq!(parse_mappings("a = operator: x"), Err(MappingLineError { line: 1 }));
    }

    #[test]
    fn the_first_matching_mapping_wins() {
        let m = parse_mappings("admins = admin\nstaff = operator: 1").unwrap();
        let groups = |g: &[&str]| g.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(mapping_for(&m, &groups(&["staff", "admins"])).unwrap().role, Role::Admin);
        assert_eq!(mapping_for(&m, &groups(&["staff"])).unwrap().role, Role::Operator);
        assert!(mapping_for(&m, &groups(&["Staff"])).is_none());
    }

    #[test]
    fn only_the_listed_domains_are_allowed_and_not_their_subdomains() {
        let d = vec!["comune.esempio.it".to_owned()];
        assert!(domain_allowed(&d, "anna@Comune.Esempio.it"));
        assert!(!domain_allowed(&d, "anna@evil.comune.esempio.it"));
        assert!(!domain_allowed(&d, "anna@esempio.it"));
        assert!(!domain_allowed(&d, "comune.esempio.it"));
    }

    #[test]
    fn issuers_are_https_or_loopback_http() {
        assert!(issuer_ok("https://login.comune.it/realms/staff"));
        assert!(issuer_ok("http://127.0.0.1:4000"));
        assert!(!issuer_ok("http://login.comune.it"));
        assert!(!issuer_ok("https://login.comune.it/?x=1"));
        assert!(!issuer_ok("ftp://login.comune.it"));
        assert!(!issuer_ok("login.comune.it"));
    }
}
