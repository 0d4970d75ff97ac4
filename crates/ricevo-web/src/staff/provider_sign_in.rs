//! Staff sign-in through the town's own identity provider (issue 16):
//! `GET /{tenant}/staff/login/oidc` sends the browser to the provider, with the pending sign-in
//! stored server-side and bound to this browser by a cookie; the provider sends it back to
//! `GET /{tenant}/staff/login/oidc/callback`, where the answer is checked (same browser, same
//! town, same `state`, once) and the account opened as a password sign-in would.

use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use jiff::SignedDuration;
use ricevo_core::Lang;
use ricevo_core::audit::{Act, Actor, Subject};
use ricevo_desk::audit::Record;
use ricevo_desk::staff_sign_in::{ProviderRefusal, is_configured};
use ricevo_desk::tokens;
use ricevo_store::{PendingProviderSignIn, Tenant, TownIdentityProvider};
use serde::Deserialize;

use super::auth::{SignInWays, cookie_header, login_page_for, open_session};
use super::common::{PageError, render, see_other, town, tr};
use super::provider;
use crate::lang::{cookie, detect};
use crate::state::AppState;

/// The cookie binding a pending sign-in to the browser that started it.
const PROVIDER_COOKIE: &str = "ricevo_provider_sign_in";
/// How long the provider may take to send the browser back.
const PENDING_MINUTES: i64 = 10;

/// `/{slug}/staff/login/oidc`: where the login page's button goes.
fn start_url(slug: &str) -> String {
    super::common::provider_sign_in_url(slug)
}

/// The address the provider sends the browser back to (registered at the provider).
pub(crate) fn redirect_uri(state: &AppState, slug: &str) -> String {
    format!("{}/{slug}/staff/login/oidc/callback", state.config.public_url.trim_end_matches('/'))
}

// The login page with `message` above it, in `status`.
// The town's provider settings, or the page saying it has none (404).
async fn configured_provider(
    state: &AppState,
    t: &Tenant,
    lang: Lang,
) -> Result<Result<TownIdentityProvider, Response>, PageError> {
    let settings = state.store.town_identity_provider(t.id).await.map_err(|e| PageError::api(e.into(), lang))?;
    match settings.filter(is_configured) {
        Some(settings) => Ok(Ok(settings)),
        None => {
            let message = tr(
                lang,
                "Il Comune non ha configurato un fornitore di identità per il personale.",
                "The town has not configured an identity provider for its staff.",
            );
            Ok(Err(refused(state, t, lang, StatusCode::NOT_FOUND, message).await))
        }
    }
}

async fn refused(state: &AppState, t: &Tenant, lang: Lang, status: StatusCode, message: &str) -> Response {
    let ways = SignInWays::of(state, t).await;
    // A fresh form token: the password form, when offered, must work from this page.
    let login_csrf = tokens::new_token();
    let page =
        login_page_for(t, lang, &super::common::login_url(&t.slug), "", Some(message.into()), &login_csrf, &ways);
    let mut resp = render(status, &page);
    let secure = state.config.secure_cookies;
    let headers = resp.headers_mut();
    headers.append(
        header::SET_COOKIE,
        cookie_header("ricevo_login_csrf", &login_csrf, &super::common::login_url(&t.slug), 3600, "Strict", secure),
    );
    headers.append(header::SET_COOKIE, cookie_header(PROVIDER_COOKIE, "", &start_url(&t.slug), 0, "Lax", secure));
    resp
}

async fn audit_refusal(state: &AppState, t: &Tenant, address: &str, detail: String) {
    let record = Record::new(Act::SignInFailed, Subject::Town)
        .detail(format!("identity provider: {detail}"))
        .from_address(Some(address.to_owned()));
    state.desk.record_as(t.id, Actor::Anonymous { name: "identity provider".into() }, record).await;
}

/// `GET /{tenant}/staff/login/oidc`: a 303 to the town's provider.
pub(crate) async fn start(State(state): State<AppState>, req: Request) -> Result<Response, PageError> {
    let address = crate::request::client_key(&state, &req);
    let (mut parts, _) = req.into_parts();
    let lang = detect(&parts);
    let t = town(&state, &mut parts, lang).await?;
    let settings = match configured_provider(&state, &t, lang).await? {
        Ok(settings) => settings,
        Err(refusal) => return Ok(refusal),
    };
    let begun =
        match provider::begin(&settings, &redirect_uri(&state, &t.slug), &state.config.webhook_allow_hosts).await {
            Ok(begun) => begun,
            Err(e) => {
                tracing::warn!(tenant = %t.slug, error = %e, "the town's identity provider cannot be reached");
                audit_refusal(&state, &t, &address, format!("start failed: {e}")).await;
                let message = tr(
                    lang,
                    "Il fornitore di identità del Comune non risponde come dovrebbe: riprova tra poco o avvisa un \
                 amministratore.",
                    "The town's identity provider is not answering as it should: try again shortly or tell an \
                 administrator.",
                );
                return Ok(refused(&state, &t, lang, StatusCode::BAD_GATEWAY, message).await);
            }
        };
    let browser = tokens::new_token();
    let now = state.now();
    let pending = PendingProviderSignIn {
        browser_hash: tokens::hash(&browser),
        tenant_id: t.id,
        state: begun.state,
        nonce: begun.nonce,
        code_verifier: begun.code_verifier,
        expires_at: now + SignedDuration::from_mins(PENDING_MINUTES),
    };
    state.store.put_provider_sign_in(&pending, now).await.map_err(|e| PageError::api(e.into(), lang))?;
    let mut resp = see_other(&begun.url);
    // Lax: the provider sends the browser back with a top-level GET from its own site.
    let c = cookie_header(
        PROVIDER_COOKIE,
        &browser,
        &start_url(&t.slug),
        PENDING_MINUTES * 60,
        "Lax",
        state.config.secure_cookies,
    );
    resp.headers_mut().append(header::SET_COOKIE, c);
    Ok(resp)
}

/// What the provider sends back.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /{tenant}/staff/login/oidc/callback`: checks the answer and opens the session.
pub(crate) async fn callback(State(state): State<AppState>, req: Request) -> Result<Response, PageError> {
    let address = crate::request::client_key(&state, &req);
    let (mut parts, _) = req.into_parts();
    // A query that does not parse is a callback without code or state: refused below.
    let answer = Query::<Callback>::try_from_uri(&parts.uri).map(|q| q.0).unwrap_or_default();
    let lang = detect(&parts);
    let t = town(&state, &mut parts, lang).await?;
    let now = state.now();
    let browser = cookie(&parts, PROVIDER_COOKIE).filter(|c| tokens::looks_like_token(c));
    // Taken (deleted) whatever follows: a callback is answered once.
    let pending = match browser {
        Some(b) => state
            .store
            .take_provider_sign_in(&tokens::hash(b), now)
            .await
            .map_err(|e| PageError::api(e.into(), lang))?,
        None => None,
    };
    let expired = tr(
        lang,
        "Questo accesso non è stato avviato da questo browser, è già stato usato o è scaduto: riprova con \
         «Accedi con l'account del Comune».",
        "This sign-in was not started from this browser, was already used or has expired: try again with \
         \"Sign in with the town's account\".",
    );
    let Some(pending) = pending else {
        audit_refusal(&state, &t, &address, "no pending sign-in for this browser (expired, replayed or forged)".into())
            .await;
        return Ok(refused(&state, &t, lang, StatusCode::BAD_REQUEST, expired).await);
    };
    // A sign-in started for another town never opens this one.
    if pending.tenant_id != t.id
        || !answer.state.as_deref().is_some_and(|s| super::common::same_secret(s, &pending.state))
    {
        tracing::warn!(tenant = %t.slug, "provider callback with a wrong state or town");
        audit_refusal(&state, &t, &address, "state does not match the sign-in started here".into()).await;
        return Ok(refused(&state, &t, lang, StatusCode::BAD_REQUEST, expired).await);
    }
    if let Some(error) = answer.error.as_deref() {
        let error: String = error.chars().filter(|c| c.is_ascii_graphic()).take(60).collect();
        audit_refusal(&state, &t, &address, format!("the provider answered {error}")).await;
        let message = if error == "access_denied" {
            tr(
                lang,
                "L'accesso è stato annullato o negato dal fornitore di identità del Comune.",
                "The sign-in was cancelled or denied by the town's identity provider.",
            )
        } else {
            tr(
                lang,
                "Il fornitore di identità del Comune non ha confermato l'accesso: riprova o avvisa un amministratore.",
                "The town's identity provider did not confirm the sign-in: try again or tell an administrator.",
            )
        };
        return Ok(refused(&state, &t, lang, StatusCode::UNAUTHORIZED, message).await);
    }
    let Some(code) = answer.code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        audit_refusal(&state, &t, &address, "no code in the callback".into()).await;
        return Ok(refused(&state, &t, lang, StatusCode::BAD_REQUEST, expired).await);
    };
    let settings = match configured_provider(&state, &t, lang).await? {
        Ok(settings) => settings,
        Err(refusal) => return Ok(refusal),
    };
    let redirect = redirect_uri(&state, &t.slug);
    let claims = match provider::finish(
        &settings,
        &redirect,
        &pending.nonce,
        &pending.code_verifier,
        &code,
        &state.config.webhook_allow_hosts,
    )
    .await
    {
        Ok(claims) => claims,
        Err(e) => {
            tracing::warn!(tenant = %t.slug, error = %e, "provider sign-in failed its checks");
            audit_refusal(&state, &t, &address, e.to_string()).await;
            let message = tr(
                lang,
                "Non è stato possibile verificare l'accesso con il fornitore di identità del Comune: riprova o \
                 avvisa un amministratore.",
                "The sign-in could not be verified with the town's identity provider: try again or tell an \
                 administrator.",
            );
            return Ok(refused(&state, &t, lang, StatusCode::BAD_GATEWAY, message).await);
        }
    };
    let user = match state.desk.account_for_provider_sign_in(&t, &claims, &address).await {
        Ok(user) => user,
        Err(refusal) => {
            let (status, message) = refusal_message(&refusal, lang);
            if let ProviderRefusal::Failed(e) = &refusal {
                tracing::error!(tenant = %t.slug, error = %e, "provider sign-in: storage failed");
            }
            return Ok(refused(&state, &t, lang, status, message).await);
        }
    };
    let mut resp = open_session(&state, &t, &user, &address, lang, true).await?;
    let c = cookie_header(PROVIDER_COOKIE, "", &start_url(&t.slug), 0, "Lax", state.config.secure_cookies);
    resp.headers_mut().append(header::SET_COOKIE, c);
    Ok(resp)
}

/// A refusal as the person reads it.
fn refusal_message(r: &ProviderRefusal, lang: Lang) -> (StatusCode, &'static str) {
    match r {
        ProviderRefusal::NotConfigured => (
            StatusCode::NOT_FOUND,
            tr(
                lang,
                "Il Comune non ha configurato un fornitore di identità per il personale.",
                "The town has not configured an identity provider for its staff.",
            ),
        ),
        ProviderRefusal::NoEmail => (
            StatusCode::FORBIDDEN,
            tr(
                lang,
                "Il fornitore di identità non ha comunicato un indirizzo e-mail: senza non si può accedere.",
                "The identity provider sent no e-mail address: without one you cannot sign in.",
            ),
        ),
        ProviderRefusal::EmailNotVerified => (
            StatusCode::FORBIDDEN,
            tr(
                lang,
                "Il fornitore di identità dice che il tuo indirizzo e-mail non è verificato.",
                "The identity provider says your e-mail address is not verified.",
            ),
        ),
        ProviderRefusal::DomainNotAllowed => (
            StatusCode::FORBIDDEN,
            tr(
                lang,
                "Il dominio del tuo indirizzo e-mail non è tra quelli del personale del Comune.",
                "Your e-mail address's domain is not one of the town's staff domains.",
            ),
        ),
        ProviderRefusal::NoAccount => (
            StatusCode::FORBIDDEN,
            tr(
                lang,
                "Non hai un account del personale in questo Comune: chiedilo a un amministratore.",
                "You have no staff account in this town: ask an administrator for one.",
            ),
        ),
        ProviderRefusal::Disabled => (
            StatusCode::FORBIDDEN,
            tr(
                lang,
                "Questo account è disattivato: rivolgiti a un amministratore del Comune.",
                "This account is disabled: please ask one of the town's administrators.",
            ),
        ),
        ProviderRefusal::Failed(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            tr(
                lang,
                "Il servizio non è al momento disponibile: riprova tra poco.",
                "The service is unavailable right now: please try again shortly.",
            ),
        ),
    }
}
