//! The booking form for a citizen signed in with SPID or CIE (their verified details, the
//! codice fiscale read-only), the offer to sign in ("Compila con SPID o CIE") for one who is
//! not, and the page of a service that books only for a verified identity.

use axum::http::StatusCode;
use axum::response::Response;
use ricevo_store::{CitizenSession, Tenant};

use super::layout::{Ctx, encode};
use crate::citizen_session::{kind_label, tr};
use crate::state::AppState;

/// The signed-in citizen of `tenant`, if the request carries one.
fn signed_in<'a>(ctx: &'a Ctx, tenant: &Tenant) -> Option<&'a CitizenSession> {
    ctx.citizen.as_ref().map(|(s, _)| s).filter(|s| s.tenant_id == tenant.id)
}

/// The signed-in citizen on the booking form: their verified details.
pub(crate) struct VerifiedView {
    /// The verified codice fiscale (shown read-only).
    pub fiscal_code: String,
    /// "Dati compilati con SPID: il codice fiscale è verificato e non si può cambiare."
    pub note: String,
    /// "Codice fiscale (verificato)".
    pub label: &'static str,
}

/// The booking form's offer to sign in: "Compila con SPID o CIE".
pub(crate) struct SignInOffer {
    /// Where it leads (back to this form once signed in).
    pub href: String,
    /// "Compila con SPID o CIE".
    pub label: &'static str,
    /// What it does.
    pub text: &'static str,
}

/// The booking form's view of a signed-in citizen, if any.
pub(crate) fn verified_view(ctx: &Ctx, tenant: &Tenant) -> Option<VerifiedView> {
    let s = signed_in(ctx, tenant)?;
    let kind = kind_label(&s.identity.kind);
    Some(VerifiedView {
        fiscal_code: s.identity.fiscal_code.clone(),
        note: format!(
            "{} {kind}: {}",
            tr(ctx.lang, "Dati compilati con", "Details filled in with"),
            tr(
                ctx.lang,
                "il codice fiscale è verificato e non si può cambiare; puoi correggere e-mail e telefono.",
                "the fiscal code is verified and cannot be changed; you may correct e-mail and phone."
            )
        ),
        label: tr(ctx.lang, "Codice fiscale (verificato)", "Fiscal code (verified)"),
    })
}

/// The offer to sign in on the booking form at `here`, when the instance offers it and the
/// citizen is not signed in.
pub(crate) fn sign_in_offer(state: &AppState, ctx: &Ctx, tenant: &Tenant, here: &str) -> Option<SignInOffer> {
    if ctx.embed || signed_in(ctx, tenant).is_some() {
        return None;
    }
    state.identity.as_deref()?.for_town(&tenant.slug)?;
    Some(SignInOffer {
        href: format!("/{}/accedi?next={}", tenant.slug, encode(here)),
        label: tr(ctx.lang, "Compila con SPID o CIE", "Fill in with SPID or CIE"),
        text: tr(
            ctx.lang,
            "Facoltativo: accedi con la tua identità digitale e i tuoi dati saranno già compilati.",
            "Optional: sign in with your digital identity and your details are filled in for you.",
        ),
    })
}

/// The form's values for a signed-in citizen: their name, codice fiscale, e-mail and phone
/// where the form has none yet.
pub(crate) fn prefill(ctx: &Ctx, tenant: &Tenant, pairs: &mut Vec<(String, String)>) {
    let Some(s) = signed_in(ctx, tenant) else { return };
    let i = &s.identity;
    let mut set = |name: &str, value: Option<String>, force: bool| {
        let Some(value) = value.filter(|v| !v.trim().is_empty()) else { return };
        match pairs.iter_mut().find(|(k, _)| k == name) {
            Some(pair) if force => pair.1 = value,
            Some(_) => {}
            None => pairs.push((name.to_owned(), value)),
        }
    };
    set("name", Some(format!("{} {}", i.given_name, i.family_name)), false);
    set("email", i.email.clone(), false);
    set("phone", i.phone.clone(), false);
    // The verified codice fiscale, whatever was posted.
    set("fiscal_code", Some(i.fiscal_code.clone()), true);
}

/// The signed-in citizen of `tenant` for the booking (the desk books it as verified).
pub(crate) fn session_for_booking<'a>(ctx: &'a Ctx, tenant: &Tenant) -> Option<&'a CitizenSession> {
    signed_in(ctx, tenant)
}

/// The page saying a service books only for a verified identity, with the way to sign in.
pub(crate) fn identity_required_page(state: &AppState, ctx: &Ctx, tenant: &Tenant, here: &str) -> Response {
    let lang = ctx.lang;
    let title = tr(lang, "Serve SPID o CIE", "SPID or CIE needed");
    let message = tr(
        lang,
        "Il Comune prenota questo servizio solo a chi accede con SPID o CIE, per verificarne l'identità. Gli altri servizi si prenotano anche senza accedere.",
        "The town books this service only for citizens who sign in with SPID or CIE, to verify who they are. Other services can be booked without signing in.",
    );
    let back = state.identity.as_deref().and_then(|i| i.for_town(&tenant.slug)).map(|_| {
        (
            tr(lang, "Accedi con SPID o CIE", "Sign in with SPID or CIE"),
            format!("/{}/accedi?required=1&next={}", tenant.slug, encode(here)),
        )
    });
    ctx.problem(StatusCode::FORBIDDEN, title, message.to_owned(), back)
}
