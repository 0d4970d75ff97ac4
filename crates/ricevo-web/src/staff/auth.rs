//! Signing in and out: argon2id passwords, a session cookie holding a random token whose hash
//! is stored, failed attempts throttled per address and per account (see
//! [`crate::limits::LoginThrottle`]), password checks bounded by [`crate::limits::PasswordGate`].

use ricevo_core::audit::{Act, Actor, Subject};
use ricevo_desk::audit::Record;
use std::sync::OnceLock;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::SignedDuration;
use ricevo_core::Lang;
use ricevo_store::Tenant;

use super::common::SESSION_COOKIE;
use super::common::{
    Errors, Fields, PageError, Posted, login_url, read_form, render, same_secret, see_other, town, tr,
};
use super::views::{Field, LoginPage, Page};
use crate::lang::{cookie, detect};
use crate::limits::{Busy, LoginRefused};
use crate::state::AppState;
use ricevo_desk::staff::{hash_password, verify_password};
use ricevo_desk::tokens;

/// The double-submit cookie of the login form.
const LOGIN_CSRF_COOKIE: &str = "ricevo_login_csrf";
/// How long a session lasts.
const SESSION_HOURS: i64 = 12;

// Verified against when the e-mail is unknown, so both answers take as long.
static DUMMY_HASH: OnceLock<String> = OnceLock::new();

fn dummy_hash() -> &'static str {
    DUMMY_HASH.get_or_init(|| hash_password(&tokens::new_token()))
}

/// A `Set-Cookie` value (HttpOnly; Secure when the instance runs on HTTPS).
pub(crate) fn cookie_header(
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
    same_site: &str,
    secure: bool,
) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let v = format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// How the town's staff may sign in (issue 16): the link to the town's provider when it has
/// one, and whether passwords are on.
#[derive(Debug, Clone)]
pub(crate) struct SignInWays {
    /// `/{slug}/staff/login/oidc` when the town configured a provider.
    pub(crate) provider: Option<String>,
    /// Whether the password form is offered.
    pub(crate) passwords: bool,
}

impl SignInWays {
    /// The ways of the town `t` (passwords only, when reading its settings fails).
    pub(crate) async fn of(state: &AppState, t: &Tenant) -> SignInWays {
        let provider = match state.store.town_identity_provider(t.id).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(tenant = %t.slug, error = %e, "reading the town's identity provider failed");
                None
            }
        };
        SignInWays {
            provider: provider
                .as_ref()
                .filter(|p| ricevo_desk::staff_sign_in::is_configured(p))
                .map(|_| super::common::provider_sign_in_url(&t.slug)),
            passwords: ricevo_desk::staff_sign_in::passwords_allowed(provider.as_ref()),
        }
    }
}

/// The login page of `t`, with `error` above the form.
pub(crate) fn login_page_for(
    t: &Tenant,
    lang: Lang,
    path: &str,
    email: &str,
    error: Option<String>,
    login_csrf: &str,
    ways: &SignInWays,
) -> LoginPage {
    let mut values = Fields::default();
    values.set("email", email);
    let errors = Errors::default();
    LoginPage {
        p: Page {
            base: format!("/{}/staff", t.slug),
            tenant_name: t.name.clone(),
            path: path.to_owned(),
            ..Page::bare(lang, tr(lang, "Accesso del personale", "Staff sign-in"))
        },
        action: login_url(&t.slug),
        login_csrf: login_csrf.to_owned(),
        email: Field::new("email", "E-mail", "email", &values, &errors).required().autocomplete("username"),
        password: Field::new("password", "Password", "password", &Fields::default(), &errors)
            .required()
            .autocomplete("current-password"),
        error,
        provider: ways.provider.clone(),
        passwords: ways.passwords,
    }
}

/// `GET /{tenant}/staff/login`: the sign-in form (already signed in: the day page).
pub(crate) async fn login_page(State(state): State<AppState>, req: Request) -> Result<Response, PageError> {
    let (mut parts, _) = req.into_parts();
    let lang = detect(&parts);
    let t = town(&state, &mut parts, lang).await?;
    if super::common::Staff::from_request_parts(&mut parts, &state).await.is_ok() {
        return Ok(see_other(&format!("/{}/staff", t.slug)));
    }
    if DUMMY_HASH.get().is_none() {
        // Ready before the first attempt, so that one is not slower for an unknown e-mail.
        drop(tokio::task::spawn_blocking(dummy_hash));
    }
    let login_csrf = tokens::new_token();
    let ways = SignInWays::of(&state, &t).await;
    let page = login_page_for(&t, lang, parts.uri.path(), "", None, &login_csrf, &ways);
    let mut resp = render(StatusCode::OK, &page);
    let c =
        cookie_header(LOGIN_CSRF_COOKIE, &login_csrf, &login_url(&t.slug), 3600, "Strict", state.config.secure_cookies);
    resp.headers_mut().append(header::SET_COOKIE, c);
    Ok(resp)
}

/// `POST /{tenant}/staff/login`: checks the password and opens a session.
pub(crate) async fn login(State(state): State<AppState>, req: Request) -> Result<Response, PageError> {
    let address = crate::request::client_key(&state, &req);
    let (mut parts, body) = req.into_parts();
    let lang = detect(&parts);
    let t = town(&state, &mut parts, lang).await?;
    let login_csrf = cookie(&parts, LOGIN_CSRF_COOKIE).unwrap_or("").to_owned();
    let path = parts.uri.path().to_owned();
    let form = read_form(Request::from_parts(parts, body), &state, lang).await?;
    let ways = SignInWays::of(&state, &t).await;
    if !ways.passwords {
        // The town signs its staff in through its provider only (issue 16).
        tracing::info!(tenant = %t.slug, %address, "password sign-in refused: passwords are off");
        let message = tr(
            lang,
            "Il Comune ha disattivato l'accesso con password: usa «Accedi con l'account del Comune».",
            "The town has turned password sign-in off: use \"Sign in with the town's account\".",
        );
        let page = login_page_for(&t, lang, &path, "", Some(message.into()), &login_csrf, &ways);
        return Ok(render(StatusCode::FORBIDDEN, &page));
    }
    if !same_secret(form.get("login_csrf"), &login_csrf) {
        // An expired or forged form: refuse it, and offer a fresh one.
        let fresh = tokens::new_token();
        let message = tr(
            lang,
            "Il modulo di accesso è scaduto o non è valido: inserisci di nuovo le credenziali.",
            "The sign-in form has expired or is not valid: please enter your credentials again.",
        );
        let page = login_page_for(&t, lang, &path, form.get("email").trim(), Some(message.into()), &fresh, &ways);
        let mut resp = render(StatusCode::FORBIDDEN, &page);
        let c =
            cookie_header(LOGIN_CSRF_COOKIE, &fresh, &login_url(&t.slug), 3600, "Strict", state.config.secure_cookies);
        resp.headers_mut().append(header::SET_COOKIE, c);
        return Ok(resp);
    }
    let email = form.get("email").trim().to_lowercase();
    let password = form.get("password").to_owned();
    let now = state.now();
    let throttle = &state.login_throttle;
    // Counted before the password is checked: a burst of concurrent guesses gets no more
    // checks than the budget. Keyed by the e-mail typed, known or not, so a refusal says
    // nothing about whether the account exists.
    let attempt = match throttle.reserve(&format!("{}:{email}", t.id), &address, now) {
        Ok(attempt) => attempt,
        Err(refused) => {
            tracing::warn!(tenant = %t.slug, %address, ?refused, "login throttled");
            let message = match refused {
                LoginRefused::Address => tr(
                    lang,
                    "Troppi tentativi di accesso non riusciti da questo indirizzo: riprova tra 15 minuti.",
                    "Too many failed sign-in attempts from this address: try again in 15 minutes.",
                ),
                LoginRefused::Account => tr(
                    lang,
                    "Troppi tentativi di accesso non riusciti su questo account da indirizzi sconosciuti: \
                     da qui riprova tra 15 minuti. Dalla rete da cui accedi di solito puoi entrare subito.",
                    "Too many failed sign-in attempts on this account from unknown addresses: from here, \
                     try again in 15 minutes. From the network you usually sign in from you can sign in now.",
                ),
            };
            return Ok(refusal(&t, lang, StatusCode::TOO_MANY_REQUESTS, message, "900"));
        }
    };
    let user = if email.is_empty() || email.len() > 254 {
        None
    } else {
        match state.store.user_by_email(t.id, &email).await {
            Ok(user) => user,
            Err(e) => {
                throttle.not_checked(attempt, now);
                return Err(PageError::api(e.into(), lang));
            }
        }
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let verified = if password.is_empty() || password.len() > 1024 {
        false
    } else {
        let check = move || match &stored {
            Some(phc) => verify_password(&password, phc),
            None => verify_password(&password, dummy_hash()),
        };
        // argon2 takes tens of milliseconds of CPU and ~19 MiB: a bounded number at once, off
        // the async workers.
        match state.password_gate.run(check).await {
            Ok(verified) => verified,
            Err(Busy) => {
                throttle.not_checked(attempt, now);
                tracing::warn!(tenant = %t.slug, %address, "login turned away: password checks busy");
                let message = tr(
                    lang,
                    "Il servizio di accesso è momentaneamente sovraccarico: riprova tra qualche secondo.",
                    "Sign-in is overloaded right now: please try again in a few seconds.",
                );
                return Ok(refusal(&t, lang, StatusCode::SERVICE_UNAVAILABLE, message, "5"));
            }
        }
    };
    let known = user.as_ref().map(|u| u.id);
    let Some(user) = user.filter(|_| verified) else {
        throttle.failed(attempt);
        tracing::info!(tenant = %t.slug, %address, "failed staff login");
        let subject = known.map_or(Subject::Town, Subject::Account);
        let record = Record::new(Act::SignInFailed, subject)
            .detail(if known.is_some() { "wrong password" } else { "unknown account" })
            .from_address(Some(address.to_string()));
        state.desk.record_as(t.id, Actor::Anonymous { name: email.clone() }, record).await;
        let message = tr(lang, "E-mail o password non corretti.", "Wrong e-mail or password.");
        let page = login_page_for(&t, lang, &path, &email, Some(message.into()), &login_csrf, &ways);
        return Ok(render(StatusCode::UNAUTHORIZED, &page));
    };
    throttle.succeeded(attempt, now);
    if user.disabled {
        tracing::info!(tenant = %t.slug, user = %user.id, "disabled account tried to sign in");
        let record = Record::new(Act::SignInFailed, Subject::Account(user.id))
            .detail("account disabled")
            .from_address(Some(address.to_string()));
        state.desk.record_as(t.id, Actor::Anonymous { name: email.clone() }, record).await;
        let message = tr(
            lang,
            "Questo account è disattivato: rivolgiti a un amministratore del Comune.",
            "This account is disabled: please ask one of the town's administrators.",
        );
        let page = login_page_for(&t, lang, &path, &email, Some(message.into()), &login_csrf, &ways);
        return Ok(render(StatusCode::FORBIDDEN, &page));
    }
    let secure = state.config.secure_cookies;
    if user.has_second_factor() {
        // The password was right: a pending session waits for the code, and opens nothing.
        let pending = tokens::new_token();
        let expires = now + SignedDuration::from_mins(PENDING_MINUTES);
        state
            .store
            .create_pending_session(&tokens::hash(&pending), user.id, expires)
            .await
            .map_err(|e| PageError::api(e.into(), lang))?;
        let mut resp = see_other(&code_url(&t.slug));
        let c = cookie_header(PENDING_COOKIE, &pending, &code_url(&t.slug), PENDING_MINUTES * 60, "Strict", secure);
        resp.headers_mut().append(header::SET_COOKIE, c);
        return Ok(resp);
    }
    open_session(&state, &t, &user, &address, lang, false).await
}

// --- The second step of signing in (issue 12: second factor) ---

/// The cookie holding a pending session, waiting for the second factor.
const PENDING_COOKIE: &str = "ricevo_pending";
/// How long a pending session waits for its code.
const PENDING_MINUTES: i64 = 5;

fn code_url(slug: &str) -> String {
    format!("/{slug}/staff/login/code")
}

/// A full session for `user`, its cookie, and the end of the login's other cookies;
/// `via_provider` for one the town's identity provider vouched for (issue 16).
pub(crate) async fn open_session(
    state: &AppState,
    t: &Tenant,
    user: &ricevo_store::User,
    address: &impl std::fmt::Display,
    lang: Lang,
    via_provider: bool,
) -> Result<Response, PageError> {
    let token = tokens::new_token();
    let csrf = tokens::new_token();
    let expires = state.now() + SignedDuration::from_hours(SESSION_HOURS);
    state
        .store
        .create_session(&tokens::hash(&token), user.id, &csrf, expires)
        .await
        .map_err(|e| PageError::api(e.into(), lang))?;
    let mut record = Record::new(Act::SignIn, Subject::Account(user.id)).from_address(Some(address.to_string()));
    if via_provider {
        state
            .store
            .mark_session_via_provider(&tokens::hash(&token))
            .await
            .map_err(|e| PageError::api(e.into(), lang))?;
        record = record.detail("through the town's identity provider");
    }
    tracing::info!(tenant = %t.slug, user = %user.id, via_provider, "staff signed in");
    state
        .desk
        .record_as(t.id, Actor::Staff { id: user.id, name: format!("{} <{}>", user.name, user.email) }, record)
        .await;
    let secure = state.config.secure_cookies;
    let mut resp = see_other(&format!("/{}/staff", t.slug));
    let headers = resp.headers_mut();
    headers.append(header::SET_COOKIE, cookie_header(SESSION_COOKIE, &token, "/", SESSION_HOURS * 3600, "Lax", secure));
    headers.append(header::SET_COOKIE, cookie_header(LOGIN_CSRF_COOKIE, "", &login_url(&t.slug), 0, "Strict", secure));
    headers.append(header::SET_COOKIE, cookie_header(PENDING_COOKIE, "", &code_url(&t.slug), 0, "Strict", secure));
    Ok(resp)
}

fn code_page_for(t: &Tenant, lang: Lang, path: &str, error: Option<String>) -> super::views::LoginCodePage {
    super::views::LoginCodePage {
        p: Page {
            base: format!("/{}/staff", t.slug),
            tenant_name: t.name.clone(),
            path: path.to_owned(),
            ..Page::bare(lang, tr(lang, "Verifica in due passaggi", "Two-step verification"))
        },
        action: code_url(&t.slug),
        code: Field::new("code", tr(lang, "Codice", "Code"), "text", &Fields::default(), &Errors::default())
            .required()
            .autocomplete("one-time-code"),
        error,
    }
}

/// `GET /{tenant}/staff/login/code`: asks for the second factor (no pending session: the login).
pub(crate) async fn code_page(State(state): State<AppState>, req: Request) -> Result<Response, PageError> {
    let (mut parts, _) = req.into_parts();
    let lang = detect(&parts);
    let t = town(&state, &mut parts, lang).await?;
    let pending = cookie(&parts, PENDING_COOKIE).filter(|c| tokens::looks_like_token(c));
    let Some(pending) = pending else { return Ok(see_other(&login_url(&t.slug))) };
    let user = state
        .store
        .pending_session(&tokens::hash(pending), state.now())
        .await
        .map_err(|e| PageError::api(e.into(), lang))?;
    if user.is_none_or(|u| u.tenant_id != t.id) {
        return Ok(see_other(&login_url(&t.slug)));
    }
    Ok(render(StatusCode::OK, &code_page_for(&t, lang, parts.uri.path(), None)))
}

/// `POST /{tenant}/staff/login/code`: checks the TOTP or recovery code and opens the session.
pub(crate) async fn code(State(state): State<AppState>, req: Request) -> Result<Response, PageError> {
    let address = crate::request::client_key(&state, &req);
    let (mut parts, body) = req.into_parts();
    let lang = detect(&parts);
    let t = town(&state, &mut parts, lang).await?;
    let path = parts.uri.path().to_owned();
    let pending = cookie(&parts, PENDING_COOKIE).filter(|c| tokens::looks_like_token(c)).map(str::to_owned);
    let form = read_form(Request::from_parts(parts, body), &state, lang).await?;
    let now = state.now();
    let Some(pending) = pending else { return Ok(see_other(&login_url(&t.slug))) };
    let pending_hash = tokens::hash(&pending);
    let user = state.store.pending_session(&pending_hash, now).await.map_err(|e| PageError::api(e.into(), lang))?;
    let Some(user) = user.filter(|u| u.tenant_id == t.id) else { return Ok(see_other(&login_url(&t.slug))) };
    // Codes are throttled like passwords, per account and address.
    let throttle = &state.login_throttle;
    let attempt = match throttle.reserve(&format!("{}:code:{}", t.id, user.id), &address, now) {
        Ok(attempt) => attempt,
        Err(_) => {
            let message = tr(
                lang,
                "Troppi codici non validi: riprova tra 15 minuti.",
                "Too many invalid codes: try again in 15 minutes.",
            );
            return Ok(refusal(&t, lang, StatusCode::TOO_MANY_REQUESTS, message, "900"));
        }
    };
    let right = match state.desk.check_second_factor(&t, &user, form.get("code")).await {
        Ok(right) => right,
        Err(e) => {
            throttle.not_checked(attempt, now);
            return Err(PageError::api(crate::error::ApiError::from_desk(lang, e), lang));
        }
    };
    if !right {
        throttle.failed(attempt);
        tracing::info!(tenant = %t.slug, user = %user.id, %address, "wrong second factor");
        let record = Record::new(Act::SignInFailed, Subject::Account(user.id))
            .detail("wrong or reused second-factor code")
            .from_address(Some(address.to_string()));
        state.desk.record_as(t.id, Actor::Anonymous { name: user.email.clone() }, record).await;
        let message = tr(
            lang,
            "Codice non valido o già usato: inserisci il codice che la app mostra ora.",
            "Invalid or already used code: enter the code the app shows now.",
        );
        return Ok(render(StatusCode::UNAUTHORIZED, &code_page_for(&t, lang, &path, Some(message.into()))));
    }
    throttle.succeeded(attempt, now);
    state.store.delete_session(&pending_hash).await.map_err(|e| PageError::api(e.into(), lang))?;
    open_session(&state, &t, &user, &address, lang, false).await
}

// A sign-in refused before the password was checked, with when to come back.
pub(crate) fn refusal(
    t: &Tenant,
    lang: Lang,
    status: StatusCode,
    message: &str,
    retry_after: &'static str,
) -> Response {
    let title = if status == StatusCode::TOO_MANY_REQUESTS {
        tr(lang, "Troppi tentativi", "Too many attempts")
    } else {
        tr(lang, "Servizio occupato", "Service busy")
    };
    let page = super::views::ErrorPage {
        p: Page { tenant_name: t.name.clone(), ..Page::bare(lang, title) },
        status: status.as_u16(),
        message: message.into(),
        back: None,
    };
    let mut resp = render(status, &page);
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(retry_after));
    resp
}

/// `POST /{tenant}/staff/logout`: ends the session.
pub(crate) async fn logout(State(state): State<AppState>, posted: Posted) -> Result<Response, PageError> {
    let staff = posted.staff;
    state.store.delete_session(&staff.session_hash).await.map_err(|e| staff.err(e.into()))?;
    state.desk.record(&staff.grant(), Record::new(Act::SignOut, Subject::Account(staff.user.id))).await;
    let mut resp = see_other(&login_url(&staff.tenant.slug));
    let c = cookie_header(SESSION_COOKIE, "", "/", 0, "Lax", state.config.secure_cookies);
    resp.headers_mut().append(header::SET_COOKIE, c);
    Ok(resp.into_response())
}
