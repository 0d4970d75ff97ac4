//! Who a citizen page is for: the SPID/CIE session a request carries (its cookies), and the
//! header's part that says who is signed in, with "Esci", or offers to sign in. Below the pages
//! (`pages::layout` reads it for every page); the sign-in itself is `signed_in`.

use axum::http::request::Parts;
use ricevo_core::Lang;
use ricevo_store::{CitizenSession, Tenant};

use crate::lang;
pub(crate) use crate::lang::tr;
use crate::state::AppState;

/// The session cookie of a signed-in citizen (its path is the town's).
pub(crate) const SESSION_COOKIE: &str = "ricevo_cittadino";
/// The cookie binding a sign-in under way to the browser that started it.
pub(crate) const BROWSER_COOKIE: &str = "ricevo_accesso";

/// "SPID" or "CIE", as the citizen reads it.
pub(crate) fn kind_label(kind: &str) -> &'static str {
    if kind == "cie" { "CIE" } else { "SPID" }
}

/// "identità verificata con SPID", as the official reads it beside a name.
pub(crate) fn verified_text(lang: Lang, kind: &str) -> String {
    format!("{} {}", tr(lang, "identità verificata con", "identity verified with"), kind_label(kind))
}

/// The signed-in state in a town page's header, or the way to sign in.
pub(crate) struct CitizenBar {
    /// The citizen's name, when signed in.
    pub name: Option<String>,
    /// "SPID" or "CIE".
    pub kind: &'static str,
    /// "I miei appuntamenti".
    pub mine_href: String,
    /// Its label.
    pub mine_label: &'static str,
    /// Where "Esci" posts.
    pub logout_action: String,
    /// "Esci".
    pub logout_label: &'static str,
    /// The form token.
    pub csrf: String,
    /// "Accedi", when not signed in.
    pub sign_in_href: Option<String>,
    /// Its label.
    pub sign_in_label: &'static str,
}

/// The header's citizen part for `tenant`'s pages: signed in there, or the way to sign in when
/// the instance offers it (`here` is the page, percent-encoded, to come back to); `None`
/// otherwise and inside a town's iframe.
#[allow(clippy::too_many_arguments)]
pub(crate) fn bar(
    citizen: Option<&CitizenSession>,
    identity_offered: bool,
    embed: bool,
    lang: Lang,
    csrf: &str,
    here: &str,
    tenant: &Tenant,
) -> Option<CitizenBar> {
    if embed {
        return None;
    }
    let signed_in = citizen.filter(|s| s.tenant_id == tenant.id);
    if signed_in.is_none() && !identity_offered {
        return None;
    }
    Some(CitizenBar {
        name: signed_in.map(|s| format!("{} {}", s.identity.given_name, s.identity.family_name)),
        kind: kind_label(signed_in.map_or("spid", |s| s.identity.kind.as_str())),
        mine_href: format!("/{}/i-miei-appuntamenti", tenant.slug),
        mine_label: tr(lang, "I miei appuntamenti", "My appointments"),
        logout_action: format!("/{}/esci", tenant.slug),
        logout_label: tr(lang, "Esci", "Sign out"),
        csrf: csrf.to_owned(),
        sign_in_href: signed_in.is_none().then(|| format!("/{}/accedi?next={here}", tenant.slug)),
        sign_in_label: tr(lang, "Accedi", "Sign in"),
    })
}

/// The town a path starts with, if it can be one.
fn town_segment(path: &str) -> Option<&str> {
    let slug = path.trim_start_matches('/').split('/').next().filter(|s| !s.is_empty())?;
    (!matches!(slug, "a" | "api" | "static" | "staff" | "accedi" | ".well-known" | "healthz" | "metrics"))
        .then_some(slug)
}

/// The citizen signed in to the town of the request's path, and the cookie's token (read by
/// every citizen page's `Ctx`; nothing is looked up without the cookie).
pub(crate) async fn session_of_request(parts: &Parts, state: &AppState) -> Option<(CitizenSession, String)> {
    let token = lang::cookie(parts, SESSION_COOKIE)?;
    let slug = town_segment(parts.uri.path())?;
    let town = state.desk.town(slug).await.ok()?;
    match state.desk.citizen_session(&town, token).await {
        Ok(Some(s)) => Some((s, token.to_owned())),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "could not read a citizen session");
            None
        }
    }
}
