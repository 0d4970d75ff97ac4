//! The optional second factor of staff accounts: TOTP (RFC 6238: HMAC-SHA-1, 30-second steps,
//! six digits, what every authenticator app reads from an `otpauth://` URI) with ten one-time
//! recovery codes stored hashed.
//!
//! A code is accepted for the step before, the current and the next one (clock drift), and a
//! step is accepted once: the store records the last step used and refuses it or an earlier
//! one again, so a code seen over a shoulder cannot be replayed.

use jiff::Timestamp;
use qrcode::QrCode;
use qrcode::render::svg;
use rand::RngCore;
use ricevo_core::citizen::FieldError;
use ricevo_core::{Lang, UserId};
use ricevo_store::{Grant, Tenant, User};
use totp_rs::{Algorithm, Secret, TOTP};

use ricevo_core::audit::{Act, Subject};

use crate::accounts::staff_actor;
use crate::audit::Record;
use crate::staff::require_admin;
use crate::{Desk, DeskError, tokens};

/// Seconds in a time step.
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const DIGITS: usize = 6;
/// Recovery codes issued at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// The code of `secret` for the time step `step` (`digits` long: 6 here, 8 in RFC 6238's
/// test vectors).
pub fn code_at(secret: &[u8], step: i64, digits: usize) -> String {
    let totp =
        TOTP::new_unchecked(Algorithm::SHA1, digits, 0, STEP_SECONDS as u64, secret.to_vec(), None, String::new());
    totp.generate(step.max(0) as u64 * STEP_SECONDS as u64)
}

/// The time step `now` falls in.
pub fn step_of(now: Timestamp) -> i64 {
    now.as_second().div_euclid(STEP_SECONDS)
}

/// The step (previous, current or next) whose code `code` is, if any.
pub fn matching_step(secret: &[u8], code: &str, now: Timestamp) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(now);
    // Every candidate is computed and compared whole, so timing says nothing about which matched.
    let mut found = None;
    for step in [now - 1, now, now + 1] {
        if crate::accounts::same_bytes(code_at(secret, step, DIGITS).as_bytes(), code.as_bytes()) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// A recovery code as typed: lower case, without spaces or dashes.
fn normalise_recovery(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

// No 0/o, 1/l/i: codes are read off paper.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A new recovery code: ten characters (about 49 bits) shown as `xxxxx-xxxxx`.
fn new_recovery_code() -> String {
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    let chars: String =
        bytes.iter().map(|b| RECOVERY_ALPHABET[*b as usize % RECOVERY_ALPHABET.len()] as char).collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// What the enrolment page shows: the new secret, its `otpauth://` URI and the URI as an
/// inline SVG QR code.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The secret in base32, to type into an app that cannot scan.
    pub secret: String,
    /// The `otpauth://totp/...` URI.
    pub uri: String,
    /// The URI as an SVG QR code (no script, no external reference).
    pub qr_svg: String,
}

/// An `otpauth://` URI for `secret`, named after the town and the account.
pub fn otpauth_uri(secret: &[u8], town: &str, account: &str) -> String {
    // The URI's label is `issuer:account`: a colon inside either would split it wrongly.
    let clean = |s: &str| s.replace(':', " ");
    TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECONDS as u64,
        secret.to_vec(),
        Some(clean(town)),
        clean(account),
    )
    .get_url()
}

/// `text` as an SVG QR code drawn with paths only.
pub fn qr_svg(text: &str) -> Result<String, DeskError> {
    let code = QrCode::new(text.as_bytes()).map_err(|e| DeskError::Internal(format!("qr code: {e}")))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// The bytes of a base32 secret of at least 128 bits.
pub fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    Secret::Encoded(secret.trim().to_ascii_uppercase()).to_bytes().ok().filter(|b| b.len() >= 16)
}

fn wrong_code(lang: Lang) -> DeskError {
    DeskError::Fields(vec![FieldError::new(
        "code",
        match lang {
            Lang::It => "Codice non valido: inserisci le 6 cifre che l'app mostra ora (ogni codice vale una volta).",
            Lang::En => "Invalid code: enter the 6 digits the app shows now (each code works once).",
        },
    )])
}

impl Desk {
    /// Starts enrolling `user` in a second factor: a new 160-bit secret, not stored until a
    /// code from it is confirmed ([`Desk::confirm_second_factor`]).
    pub fn begin_second_factor(&self, tenant: &Tenant, user: &User) -> Result<Enrolment, DeskError> {
        let mut secret = [0u8; 20];
        rand::rng().fill_bytes(&mut secret);
        let uri = otpauth_uri(&secret, &tenant.name, &user.email);
        let qr_svg = qr_svg(&uri)?;
        let Secret::Encoded(encoded) = Secret::Raw(secret.to_vec()).to_encoded() else {
            return Err(DeskError::Internal("base32 encoding".into()));
        };
        Ok(Enrolment { secret: encoded, uri, qr_svg })
    }

    /// Confirms `user`'s own enrolment with a code of `secret`: stores the secret and returns
    /// ten recovery codes, shown once. A wrong code is a field error in `lang`.
    pub async fn confirm_second_factor(
        &self,
        tenant: &Tenant,
        user: &User,
        secret: &str,
        code: &str,
        lang: Lang,
    ) -> Result<Vec<String>, DeskError> {
        if user.tenant_id != tenant.id {
            return Err(DeskError::Forbidden);
        }
        let bytes = decode_secret(secret).ok_or_else(|| DeskError::Invalid("secret".into()))?;
        let step = matching_step(&bytes, code, self.now()).ok_or_else(|| wrong_code(lang))?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|c| tokens::hash(&normalise_recovery(c))).collect();
        let encoded = secret.trim().to_ascii_uppercase();
        self.store.set_second_factor(tenant.id, user.id, Some(&encoded), &hashes).await?;
        // The confirming code is spent: it cannot open a session too.
        self.store.take_totp_step(tenant.id, user.id, step).await?;
        tracing::info!(tenant = %tenant.slug, user = %user.id, "second factor enrolled");
        let record = Record::new(Act::SecondFactorChanged, Subject::Account(user.id)).detail("turned on by its owner");
        self.record_as(tenant.id, staff_actor(user), record).await;
        Ok(codes)
    }

    /// Whether `code` is `user`'s current TOTP code (once per time step) or one of their
    /// unused recovery codes (used up now).
    pub async fn check_second_factor(&self, tenant: &Tenant, user: &User, code: &str) -> Result<bool, DeskError> {
        if user.tenant_id != tenant.id {
            return Ok(false);
        }
        let Some(secret) = user.totp_secret.as_deref().and_then(decode_secret) else { return Ok(false) };
        if let Some(step) = matching_step(&secret, code, self.now()) {
            return Ok(self.store.take_totp_step(tenant.id, user.id, step).await?);
        }
        let typed = normalise_recovery(code);
        if typed.len() != 10 {
            return Ok(false);
        }
        let used = self.store.use_recovery_code(tenant.id, user.id, &tokens::hash(&typed)).await?;
        if used {
            tracing::info!(tenant = %tenant.slug, user = %user.id, "recovery code used");
            let record = Record::new(Act::SecondFactorChanged, Subject::Account(user.id)).detail("recovery code used");
            self.record_as(tenant.id, staff_actor(user), record).await;
        }
        Ok(used)
    }

    /// How many recovery codes `user` has left.
    pub async fn recovery_codes_left(&self, tenant: &Tenant, user: &User) -> Result<i64, DeskError> {
        Ok(self.store.recovery_codes_left(tenant.id, user.id).await?)
    }

    /// An administrator removes an account's second factor (a lost phone): the next sign-in
    /// asks for the password only, and the account can enrol again.
    pub async fn reset_second_factor(&self, tenant: &Tenant, grant: &Grant, id: UserId) -> Result<(), DeskError> {
        require_admin(tenant, grant)?;
        self.store.user(tenant.id, id).await?.ok_or(DeskError::NotFound)?;
        self.store.set_second_factor(tenant.id, id, None, &[]).await?;
        tracing::info!(tenant = %tenant.slug, target = %id, "second factor reset");
        let record = Record::new(Act::SecondFactorChanged, Subject::Account(id)).detail("reset by an administrator");
        self.record(grant, record).await;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // RFC 6238, appendix B: the SHA-1 seed and the expected 8-digit codes.
    const RFC_SEED: &[u8] = b"12345678901234567890";
    const RFC_VECTORS: [(i64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn codes_match_the_rfc_6238_sha1_test_vectors() {
        for (time, expected) in RFC_VECTORS {
            assert_eq!(code_at(RFC_SEED, time / STEP_SECONDS, 8), expected, "T = {time}");
        }
    }

    #[test]
    fn six_digit_codes_are_the_last_six_digits_of_the_rfc_codes_and_match_one_step_either_side() {
        let now = Timestamp::from_second(1_111_111_109).unwrap();
        assert_eq!(code_at(RFC_SEED, step_of(now), 6), "081804");
        assert_eq!(matching_step(RFC_SEED, "081804", now), Some(step_of(now)));
        assert_eq!(matching_step(RFC_SEED, " 081 804 ", now), Some(step_of(now)));
        let previous = code_at(RFC_SEED, step_of(now) - 1, 6);
        assert_eq!(matching_step(RFC_SEED, &previous, now), Some(step_of(now) - 1));
        let old = code_at(RFC_SEED, step_of(now) - 2, 6);
        assert_eq!(matching_step(RFC_SEED, &old, now), None, "two steps back is too old");
        assert_eq!(matching_step(RFC_SEED, "12345", now), None);
        assert_eq!(matching_step(RFC_SEED, "abcdef", now), None);
    }

    #[test]
    fn the_otpauth_uri_names_the_town_and_account_and_the_qr_code_is_a_plain_svg() {
        let uri = otpauth_uri(RFC_SEED, "Comune di Esempio", "anna@example.org");
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), "{uri}");
        assert!(uri.contains("issuer=Comune%20di%20Esempio"), "{uri}");
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg"), "{svg}");
        assert!(!svg.contains("<script") && !svg.contains("href"), "no script, no external reference");
    }

    #[test]
    fn recovery_codes_are_readable_and_typed_loosely() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 11, "{code}");
        assert!(!code.contains(['0', 'o', '1', 'l', 'i']), "{code}");
        assert_eq!(normalise_recovery(&code.to_uppercase().replace('-', " ")), code.replace('-', ""));
    }
}
