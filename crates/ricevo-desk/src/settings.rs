//! A town's settings as its administrators edit them (name, contacts, zone, patron day,
//! retention, languages, the privacy notice's and accessibility statement's fields, the
//! emblem), and the instance administrator's suspension of a whole town.
//!
//! Every value is checked here and every problem reported at once in the user's language. A
//! suspended town's pages, staff sign-in and API answer "service suspended" (see
//! [`Desk::town`]); nothing is deleted, and restoring it brings everything back.

use ricevo_core::citizen::FieldError;
use ricevo_core::holidays::PatronDay;
use ricevo_core::{Email, Lang};
use ricevo_store::{Grant, Tenant, TenantSettings};

use ricevo_core::audit::{Act, Actor, Subject};

use crate::audit::Record;
use crate::staff::require_admin;
use crate::{Desk, DeskError};

/// The largest emblem accepted.
pub const MAX_EMBLEM_BYTES: usize = 512 * 1024;
/// Retention of personal data, in days (as the command line's `tenant add` accepts).
pub const RETENTION_DAYS: std::ops::RangeInclusive<i32> = 1..=3650;

fn it_en(lang: Lang, it: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::It => it,
        Lang::En => en,
    }
}

/// Whether `s` is an `http(s)://` address with a host and nothing a page could trip on.
pub fn is_web_address(s: &str) -> bool {
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
    let Some(rest) = rest else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    s.len() <= 500
        && host.contains('.')
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        && !s.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '\\' | '`'))
}

fn text(value: &str, max: usize) -> Result<String, ()> {
    let v = value.trim();
    if v.chars().count() > max || v.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        Err(())
    } else {
        Ok(v.replace("\r\n", "\n"))
    }
}

/// Checks settings as typed; every problem at once, worded in `lang`.
pub fn check_settings(s: &TenantSettings, lang: Lang) -> Result<TenantSettings, DeskError> {
    let mut errors = Vec::new();
    let mut bad =
        |field: &str, it: &'static str, en: &'static str| errors.push(FieldError::new(field, it_en(lang, it, en)));
    let mut out = s.clone();
    match text(&s.name, 200) {
        Ok(n) if !n.is_empty() && !n.contains('\n') => out.name = n,
        _ => bad(
            "name",
            "Indica il nome del Comune (al massimo 200 caratteri).",
            "Enter the town's name (at most 200 characters).",
        ),
    }
    out.time_zone = s.time_zone.trim().to_owned();
    if jiff::tz::TimeZone::get(&out.time_zone).is_err() {
        bad(
            "time_zone",
            "Fuso orario sconosciuto: usa un nome come Europe/Rome.",
            "Unknown time zone: use a name such as Europe/Rome.",
        );
    }
    out.patron_day = s.patron_day.as_deref().map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned);
    if let Some(day) = &out.patron_day
        && (day.len() != 5 || PatronDay::parse(day).is_none())
    {
        bad(
            "patron_day",
            "Giorno del patrono non valido: usa MM-GG, per esempio 06-24.",
            "Invalid patron day: use MM-DD, for example 06-24.",
        );
    }
    match Email::parse(s.contact_email.trim()) {
        Ok(e) => out.contact_email = e.as_str().to_owned(),
        Err(_) => bad(
            "contact_email",
            "Indica un indirizzo e-mail di contatto valido.",
            "Enter a valid contact e-mail address.",
        ),
    }
    if !RETENTION_DAYS.contains(&s.retention_days) {
        bad("retention_days", "La conservazione va da 1 a 3650 giorni.", "Retention must be between 1 and 3650 days.");
    }
    out.website = s.website.trim().to_owned();
    if !out.website.is_empty() && !is_web_address(&out.website) {
        bad(
            "website",
            "Sito non valido: indica un indirizzo che inizia con https://.",
            "Invalid website: enter an address starting with https://.",
        );
    }
    match text(&s.address, 300) {
        Ok(a) => out.address = a,
        Err(()) => bad(
            "address",
            "Indirizzo troppo lungo (al massimo 300 caratteri).",
            "Address too long (at most 300 characters).",
        ),
    }
    out.pec = s.pec.trim().to_lowercase();
    if !out.pec.is_empty() && Email::parse(&out.pec).is_err() {
        bad("pec", "Indirizzo PEC non valido.", "Invalid PEC (certified e-mail) address.");
    }
    let mut langs = Vec::new();
    for l in &s.languages {
        if !langs.contains(l) {
            langs.push(*l);
        }
    }
    if langs.is_empty() {
        bad("languages", "Offri almeno una lingua.", "Offer at least one language.");
    }
    out.languages = langs;
    for (field, value, max, target) in [
        ("privacy_controller", &s.privacy_controller, 500, &mut out.privacy_controller),
        ("privacy_dpo_contact", &s.privacy_dpo_contact, 500, &mut out.privacy_dpo_contact),
        ("privacy_legal_basis", &s.privacy_legal_basis, 4000, &mut out.privacy_legal_basis),
        (
            "accessibility_statement_text",
            &s.accessibility_statement_text,
            20_000,
            &mut out.accessibility_statement_text,
        ),
    ] {
        match text(value, max) {
            Ok(v) => *target = v,
            Err(()) => bad(
                field,
                "Testo troppo lungo o con caratteri non ammessi.",
                "Text too long or with characters not allowed.",
            ),
        }
    }
    out.accessibility_statement_url = s.accessibility_statement_url.trim().to_owned();
    if !out.accessibility_statement_url.is_empty() && !is_web_address(&out.accessibility_statement_url) {
        bad(
            "accessibility_statement_url",
            "Indirizzo della dichiarazione non valido: deve iniziare con https://.",
            "Invalid statement address: it must start with https://.",
        );
    }
    if errors.is_empty() { Ok(out) } else { Err(DeskError::Fields(errors)) }
}

/// The media type of an emblem's bytes, sniffed (the name and declared type are ignored):
/// PNG, JPEG, or SVG without scripts, event handlers, external references or entities.
pub fn emblem_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let lower = text.trim_start_matches('\u{feff}').trim_start().to_ascii_lowercase();
    if !(lower.starts_with("<svg") || lower.starts_with("<?xml")) || !lower.contains("<svg") {
        return None;
    }
    let forbidden =
        ["<script", "javascript:", "<foreignobject", "<!entity", "<!doctype", "<iframe", "<embed", "<object"];
    if forbidden.iter().any(|f| lower.contains(f)) {
        return None;
    }
    // Event handlers (`onload=`...) and any reference that is not to the image itself (`#id`).
    let compact: String = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    let handler = compact.match_indices(" on").any(|(i, _)| {
        let rest = &compact[i + 3..];
        let name_len = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
        name_len > 0 && rest[name_len..].trim_start().starts_with('=')
    });
    let external = compact.match_indices("href").any(|(i, _)| {
        let rest = compact[i + 4..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else { return false };
        let value = rest.trim_start().trim_start_matches(['"', '\'']);
        !value.starts_with('#')
    }) || compact.contains("url(") && !compact.contains("url(#")
        || compact.contains("@import");
    if handler || external { None } else { Some("image/svg+xml") }
}

// The names of the settings that differ, for the audit log (values may be long texts).
fn changed_fields(before: &TenantSettings, after: &TenantSettings) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut diff = |name: &'static str, changed: bool| {
        if changed {
            out.push(name);
        }
    };
    diff("name", before.name != after.name);
    diff("time_zone", before.time_zone != after.time_zone);
    diff("patron_day", before.patron_day != after.patron_day);
    diff("contact_email", before.contact_email != after.contact_email);
    diff("retention_days", before.retention_days != after.retention_days);
    diff("website", before.website != after.website);
    diff("address", before.address != after.address);
    diff("pec", before.pec != after.pec);
    diff("languages", before.languages != after.languages);
    diff("privacy_controller", before.privacy_controller != after.privacy_controller);
    diff("privacy_dpo_contact", before.privacy_dpo_contact != after.privacy_dpo_contact);
    diff("privacy_legal_basis", before.privacy_legal_basis != after.privacy_legal_basis);
    diff("accessibility_statement_url", before.accessibility_statement_url != after.accessibility_statement_url);
    diff("accessibility_statement_text", before.accessibility_statement_text != after.accessibility_statement_text);
    if out.is_empty() {
        out.push("nothing");
    }
    out
}

impl Desk {
    /// Replaces the town's settings after checking them (field errors in `lang`).
    pub async fn update_settings(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        settings: &TenantSettings,
        lang: Lang,
    ) -> Result<Tenant, DeskError> {
        require_admin(tenant, grant)?;
        let checked = check_settings(settings, lang)?;
        self.store.update_tenant_settings(tenant.id, &checked).await?;
        self.catalogue.forget();
        tracing::info!(tenant = %tenant.slug, "town settings changed");
        let changed = changed_fields(&TenantSettings::of(tenant), &checked);
        self.record(grant, Record::new(Act::SettingsChanged, Subject::Town).detail(changed.join(", "))).await;
        self.town(&tenant.slug).await
    }

    /// Stores the town's emblem (PNG, JPEG or a script-free SVG, at most
    /// [`MAX_EMBLEM_BYTES`]); a refusal is worded in `lang`.
    pub async fn set_emblem(&self, tenant: &Tenant, grant: &Grant, bytes: &[u8], lang: Lang) -> Result<(), DeskError> {
        require_admin(tenant, grant)?;
        if bytes.len() > MAX_EMBLEM_BYTES {
            return Err(DeskError::Fields(vec![FieldError::new(
                "emblem",
                it_en(lang, "Lo stemma supera i 512 KB.", "The emblem is over 512 KB."),
            )]));
        }
        let Some(content_type) = emblem_type(bytes) else {
            return Err(DeskError::Fields(vec![FieldError::new(
                "emblem",
                it_en(
                    lang,
                    "Stemma non accettato: usa un'immagine PNG, JPEG o SVG senza script né riferimenti esterni.",
                    "Emblem not accepted: use a PNG, JPEG or SVG image without scripts or external references.",
                ),
            )]));
        };
        self.store.set_emblem(tenant.id, Some((content_type, bytes)), self.now()).await?;
        self.catalogue.forget();
        tracing::info!(tenant = %tenant.slug, content_type, "emblem changed");
        self.record(grant, Record::new(Act::SettingsChanged, Subject::Town).detail(format!("emblem ({content_type})")))
            .await;
        Ok(())
    }

    /// Removes the town's emblem.
    pub async fn remove_emblem(&self, tenant: &Tenant, grant: &Grant) -> Result<(), DeskError> {
        require_admin(tenant, grant)?;
        self.store.set_emblem(tenant.id, None, self.now()).await?;
        self.catalogue.forget();
        self.record(grant, Record::new(Act::SettingsChanged, Subject::Town).detail("emblem removed")).await;
        Ok(())
    }

    /// The town's emblem (media type and bytes), for its pages' header.
    pub async fn emblem(&self, tenant: &Tenant) -> Result<(String, Vec<u8>), DeskError> {
        self.store.emblem(tenant.id).await?.ok_or(DeskError::NotFound)
    }

    /// Every town, suspended ones too (for whoever runs the instance).
    pub async fn all_towns(&self) -> Result<Vec<Tenant>, DeskError> {
        Ok(self.store.tenants().await?)
    }

    /// Suspends (`true`) or restores a town by slug; whoever runs the instance does this.
    /// Returns the town as it now stands.
    pub async fn set_town_disabled(&self, slug: &str, disabled: bool) -> Result<Tenant, DeskError> {
        let t = self.store.tenant_by_slug(slug).await?.ok_or(DeskError::NotFound)?;
        self.store.set_tenant_disabled(t.id, disabled.then(|| self.now())).await?;
        self.catalogue.forget();
        tracing::info!(tenant = %t.slug, disabled, "town suspended or restored");
        let detail = if disabled { "town suspended" } else { "town restored" };
        self.record_as(t.id, Actor::System, Record::new(Act::SettingsChanged, Subject::Town).detail(detail)).await;
        self.store.tenant_by_slug(slug).await?.ok_or(DeskError::NotFound)
    }
}

// ---- webpush ----
impl Desk {
    /// Turns Web Push for the town's waiting rooms on or off (administrators). Off stops new
    /// subscriptions and pushes at once; subscriptions already made go with their visits.
    pub async fn set_web_push(&self, tenant: &Tenant, grant: &Grant, on: bool) -> Result<Tenant, DeskError> {
        require_admin(tenant, grant)?;
        self.store.set_web_push(tenant.id, on).await?;
        self.catalogue.forget();
        tracing::info!(tenant = %tenant.slug, on, "web push switched");
        let detail = if on { "web push on" } else { "web push off" };
        self.record(grant, Record::new(Act::SettingsChanged, Subject::Town).detail(detail)).await;
        self.town(&tenant.slug).await
    }
}
// ---- end webpush ----

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn emblems_are_sniffed_and_svg_with_scripts_or_external_references_is_refused() {
        assert_eq!(emblem_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(emblem_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
        let clean = br##"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><defs><linearGradient id="g"/></defs><rect fill="url(#g)" width="10" height="10"/><use href="#g"/></svg>"##;
        assert_eq!(emblem_type(clean), Some("image/svg+xml"));
        for evil in [
            &br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#[..],
            br#"<svg xmlns="http://www.w3.org/2000/svg" onload = "alert(1)"></svg>"#,
            br#"<svg xmlns="http://www.w3.org/2000/svg"><image href="https://evil.example/x.png"/></svg>"#,
            br#"<svg xmlns="http://www.w3.org/2000/svg"><a xlink:href="javascript:alert(1)">x</a></svg>"#,
            br#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>"#,
            br#"<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://evil.example/a.css);</style></svg>"#,
            b"GIF89a....",
            b"<html><body>not an image</body></html>",
        ] {
            assert_eq!(emblem_type(evil), None, "{}", String::from_utf8_lossy(evil));
        }
    }

    fn good() -> TenantSettings {
        TenantSettings {
            name: "Comune di Esempio".into(),
            time_zone: "Europe/Rome".into(),
            patron_day: Some("06-24".into()),
            contact_email: "urp@esempio.it".into(),
            retention_days: 365,
            website: "https://www.comune.esempio.it".into(),
            address: "Piazza del Municipio 1".into(),
            pec: "protocollo@pec.comune.esempio.it".into(),
            languages: vec![Lang::It, Lang::En],
            privacy_controller: "Comune di Esempio".into(),
            privacy_dpo_contact: "dpo@esempio.it".into(),
            privacy_legal_basis: "Art. 6.1.e GDPR".into(),
            accessibility_statement_url: "https://form.agid.gov.it/view/abc".into(),
            accessibility_statement_text: String::new(),
        }
    }

    #[test]
    fn good_settings_pass_and_each_bad_value_is_named_in_the_users_language() {
        assert_eq!(check_settings(&good(), Lang::It).unwrap(), good());
        let bad = TenantSettings {
            name: " ".into(),
            time_zone: "Mars/Olympus".into(),
            patron_day: Some("02-30".into()),
            contact_email: "not-an-email".into(),
            retention_days: 0,
            website: "javascript:alert(1)".into(),
            pec: "pec@".into(),
            languages: Vec::new(),
            accessibility_statement_url: "ftp://x.example".into(),
            ..good()
        };
        let Err(DeskError::Fields(fields)) = check_settings(&bad, Lang::En) else { panic!("refused") };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            names,
            [
                "name",
                "time_zone",
                "patron_day",
                "contact_email",
                "retention_days",
                "website",
                "pec",
                "languages",
                "accessibility_statement_url"
            ]
        );
        assert!(fields[1].message.contains("Europe/Rome"), "{}", fields[1].message);
        let Err(DeskError::Fields(it)) = check_settings(&bad, Lang::It) else { panic!("refused") };
        assert!(it[2].message.contains("MM-GG"), "{}", it[2].message);
    }
}
