//! Signing in with SPID or CIE, for citizens (issue 16): optional, never needed to book.
//!
//! The provider choice (`/{town}/accedi`, the national "Entra con SPID" and "Entra con CIE"
//! buttons, served from our own origin and working without JavaScript), the redirect to the
//! chosen provider (`/{town}/accedi/avvia`), the callback (`/accedi/callback` for the instance's
//! relying party, `/{town}/accedi/callback` for a town's own), signing out (`/{town}/esci`),
//! "I miei appuntamenti" in every town of the instance with cancel and move, and the relying
//! party's entity configuration (`/.well-known/openid-federation`). The protocol is
//! `ricevo_identity`'s and the decisions the desk's (`ricevo_desk::signed_in`); this module
//! parses, words and renders.
//!
//! Two cookies: the browser's binding of a sign-in under way (`ricevo_accesso`, ten minutes,
//! `SameSite=Lax` so that it comes back with the provider's redirect) and the session
//! (`ricevo_cittadino`, scoped to the town's path, no `Max-Age`: it ends with the browser,
//! and the server ends it after half an hour whatever the browser does).

use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ricevo_core::Lang;
use ricevo_desk::DeskError;
use ricevo_desk::signed_in::SignInRefusal;
use ricevo_desk::town::zone_of;
use ricevo_identity::{IdentityError, ProviderKind, RelyingParty, VerifiedIdentity};
use ricevo_store::{AppointmentStatus, CitizenSession, Tenant};
use serde::Deserialize;

use crate::citizen_session::{BROWSER_COOKIE, SESSION_COOKIE, kind_label, tr};
use crate::error::{ApiError, InLang};
use crate::lang;
use crate::pages::layout::{CSRF_FIELD, Ctx, Layout, encode};
use crate::pages::texts::{self, Texts};
use crate::request::{self, parse_instant};
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-federation", get(instance_entity_configuration))
        .route("/{tenant}/.well-known/openid-federation", get(town_entity_configuration))
        .route("/{tenant}/accedi", get(choose))
        .route("/{tenant}/accedi/avvia", get(start))
        .route("/accedi/callback", get(instance_callback))
        .route("/{tenant}/accedi/callback", get(town_callback))
        .route("/{tenant}/esci", post(sign_out))
        .route("/{tenant}/i-miei-appuntamenti", get(mine))
        .route("/{tenant}/i-miei-appuntamenti/{reference}/annulla", post(cancel_mine))
        .route("/{tenant}/i-miei-appuntamenti/{reference}/sposta", get(move_mine).post(move_mine_submit))
        .route("/{tenant}/staff/settings/spid-cie", post(set_verified_max))
}

/// The signed-in citizen of `tenant`, if the request carries one.
fn signed_in<'a>(ctx: &'a Ctx, tenant: &Tenant) -> Option<&'a CitizenSession> {
    ctx.citizen.as_ref().map(|(s, _)| s).filter(|s| s.tenant_id == tenant.id)
}

/// The `Set-Cookie` values of this module.
fn cookie(state: &AppState, name: &str, value: &str, path: &str, max_age: Option<i64>) -> Option<HeaderValue> {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    HeaderValue::from_str(&format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax{age}{secure}")).ok()
}

/// The relying party that signs citizens in to `tenant`, or 404 when the instance offers none.
fn relying_party<'a>(state: &'a AppState, tenant: &Tenant, lang: Lang) -> Result<&'a RelyingParty, ApiError> {
    state.identity.as_deref().and_then(|ids| ids.for_town(&tenant.slug)).ok_or(ApiError::NotFound(lang))
}

// ---------------------------------------------------------------- entity configuration

fn entity_statement(rp: Option<&RelyingParty>, state: &AppState) -> Response {
    let Some(rp) = rp else { return StatusCode::NOT_FOUND.into_response() };
    match rp.entity_configuration(state.now()) {
        Ok(jwt) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/entity-statement+jwt"))], jwt)
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, entity = rp.entity_id(), "could not sign the entity configuration");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// `GET /.well-known/openid-federation`: the instance's relying party (404 without one).
async fn instance_entity_configuration(State(state): State<AppState>) -> Response {
    entity_statement(state.identity.as_deref().and_then(|ids| ids.instance_rp()), &state)
}

/// `GET /{town}/.well-known/openid-federation`: a town's own relying party (404 in instance
/// mode, where the instance's is the only one).
async fn town_entity_configuration(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let ids = state.identity.as_deref();
    let own = ids.filter(|i| i.instance_rp().is_none()).and_then(|i| i.for_town(&slug));
    if own.is_some() && state.desk.town(&slug).await.is_err() {
        return StatusCode::NOT_FOUND.into_response();
    }
    entity_statement(own, &state)
}

// ---------------------------------------------------------------- the provider choice

/// A provider on the choice page.
struct ProviderLink {
    name: String,
    href: String,
}

#[derive(Template)]
#[template(path = "signed_in/choose.html", whitespace = "minimize")]
struct ChoosePage {
    l: Layout,
    t: &'static Texts,
    lang: Lang,
    spid: Vec<ProviderLink>,
    cie: Vec<ProviderLink>,
    back_href: String,
    required: bool,
}

impl ChoosePage {
    fn tr(&self, it: &'static str, en: &'static str) -> &'static str {
        tr(self.lang, it, en)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChooseQuery {
    next: Option<String>,
    provider: Option<String>,
    /// Shown because a service asks for a verified identity.
    required: Option<String>,
}

/// Where to go back to after signing in: a page of this town, else its home page.
fn next_of(tenant: &Tenant, next: Option<&str>) -> String {
    match next {
        Some(n) if ricevo_desk::signed_in::is_return_path(&tenant.slug, n) => n.to_owned(),
        _ => format!("/{}", tenant.slug),
    }
}

/// `GET /{town}/accedi`: "Entra con SPID" (its providers in a list that opens without
/// JavaScript) and "Entra con CIE".
async fn choose(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Query(q): Query<ChooseQuery>,
) -> Response {
    let result = async {
        let t = request::tenant(&state, &slug, ctx.lang).await?;
        ctx.in_town(&t);
        let rp = relying_party(&state, &t, ctx.lang)?;
        let next = next_of(&t, q.next.as_deref());
        let providers = rp.providers(state.now()).await;
        let link = |p: &ricevo_identity::ProviderChoice| ProviderLink {
            name: p.name.clone(),
            href: format!("/{}/accedi/avvia?provider={}&next={}", t.slug, encode(&p.entity_id), encode(&next)),
        };
        let spid = providers.iter().filter(|p| p.kind == ProviderKind::Spid).map(link).collect();
        let cie = providers.iter().filter(|p| p.kind == ProviderKind::Cie).map(link).collect();
        let heading = tr(ctx.lang, "Accedi con la tua identità digitale", "Sign in with your digital identity");
        let crumbs =
            ctx.crumbs(vec![(t.name.clone(), Some(ctx.href(&format!("/{}", t.slug)))), (heading.to_owned(), None)]);
        let page = ChoosePage {
            l: ctx.layout(format!("{heading} – {}", t.name), crumbs, Some(&t), true),
            t: ctx.t,
            lang: ctx.lang,
            spid,
            cie,
            back_href: next,
            required: q.required.is_some(),
        };
        Ok(ctx.page(StatusCode::OK, &page))
    };
    result.await.unwrap_or_else(|e: ApiError| ctx.error(&e, None))
}

/// `GET /{town}/accedi/avvia?provider=…&next=…`: the sign-in is stored, bound to this browser,
/// and the citizen goes to the provider.
async fn start(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Query(q): Query<ChooseQuery>,
    parts: Parts,
) -> Response {
    let result = async {
        let t = request::tenant(&state, &slug, ctx.lang).await?;
        ctx.in_town(&t);
        let rp = relying_party(&state, &t, ctx.lang)?;
        let back = Some((tr(ctx.lang, "Scegli di nuovo", "Choose again"), format!("/{}/accedi", t.slug)));
        let Some(provider) = q.provider.as_deref().filter(|p| !p.is_empty() && p.len() <= 512) else {
            let message = tr(ctx.lang, "Scegli un gestore dell'identità.", "Choose an identity provider.");
            return Ok(ctx.problem(StatusCode::BAD_REQUEST, texts::error_title(ctx.lang, 400), message.into(), back));
        };
        let now = state.now();
        let (url, pending) = match rp.begin(provider, now).await {
            Ok(begun) => begun,
            Err(e) => {
                tracing::warn!(tenant = %t.slug, provider, error = %e, "could not begin a citizen sign-in");
                return Ok(refusal_page(&ctx, &t, &e));
            }
        };
        let browser = lang::cookie(&parts, BROWSER_COOKIE)
            .filter(|b| ricevo_desk::tokens::looks_like_token(b))
            .map_or_else(ricevo_desk::tokens::new_token, str::to_owned);
        let next = next_of(&t, q.next.as_deref());
        state.desk.remember_sign_in(&t, &pending, &browser, &next).await.in_lang(ctx.lang)?;
        let mut resp = Redirect::to(&url).into_response();
        let minutes = ricevo_desk::signed_in::SIGN_IN_LENGTH.as_secs();
        if let Some(c) = cookie(&state, BROWSER_COOKIE, &browser, "/", Some(minutes)) {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(resp)
    };
    result.await.unwrap_or_else(|e: ApiError| ctx.error(&e, None))
}

// ---------------------------------------------------------------- the callback

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// What the citizen reads when a sign-in is refused: what happened in their terms, never the
/// protocol's details (those go to the log).
fn identity_message(lang: Lang, e: &IdentityError) -> &'static str {
    match e {
        IdentityError::Provider { error, .. } if error == "access_denied" => tr(
            lang,
            "L'accesso è stato annullato presso il gestore dell'identità. Puoi riprovare, o prenotare senza accedere.",
            "Signing in was cancelled at the identity provider. You may try again, or book without signing in.",
        ),
        IdentityError::Provider { .. } => tr(
            lang,
            "Il gestore dell'identità non ha completato l'accesso. Riprova, o prenota senza accedere.",
            "The identity provider did not complete the sign-in. Try again, or book without signing in.",
        ),
        IdentityError::Untrusted(_) | IdentityError::TrustChain(_) | IdentityError::ChainExpired => tr(
            lang,
            "Questo gestore dell'identità non risulta al momento affidabile per il Comune. Scegline un altro o riprova più tardi.",
            "This identity provider cannot be trusted by the town right now. Choose another one or try again later.",
        ),
        IdentityError::Network(_) => tr(
            lang,
            "Il gestore dell'identità non risponde. Riprova tra qualche minuto.",
            "The identity provider does not answer. Try again in a few minutes.",
        ),
        IdentityError::MissingClaim(_) => tr(
            lang,
            "Il gestore dell'identità non ha comunicato il nome e il codice fiscale, necessari per accedere. Riprova acconsentendo al loro invio.",
            "The identity provider did not release your name and fiscal code, which signing in needs. Try again and allow them.",
        ),
        IdentityError::NotConfigured | IdentityError::Keys(_) => tr(
            lang,
            "L'accesso con SPID e CIE non è disponibile in questo momento. Puoi prenotare senza accedere.",
            "Signing in with SPID and CIE is not available right now. You may book without signing in.",
        ),
        _ => tr(
            lang,
            "Non è stato possibile verificare la risposta del gestore dell'identità, quindi l'accesso non è avvenuto. Riprova.",
            "The identity provider's answer could not be verified, so you are not signed in. Try again.",
        ),
    }
}

/// What the citizen reads when the callback cannot be matched with a sign-in of theirs.
fn refusal_message(lang: Lang, r: SignInRefusal) -> &'static str {
    match r {
        SignInRefusal::UnknownState => tr(
            lang,
            "Questo accesso non è valido o è già stato usato. Ricomincia dalla pagina di accesso.",
            "This sign-in is not valid or was already used. Start again from the sign-in page.",
        ),
        SignInRefusal::OtherBrowser => tr(
            lang,
            "L'accesso è stato avviato da un altro browser (o i cookie sono disattivati). Ricomincia da questo browser.",
            "The sign-in was started in another browser (or cookies are turned off). Start again in this browser.",
        ),
        SignInRefusal::Expired => tr(
            lang,
            "È passato troppo tempo dall'avvio dell'accesso. Ricomincia dalla pagina di accesso.",
            "Too much time passed since the sign-in began. Start again from the sign-in page.",
        ),
        SignInRefusal::OtherTown => tr(
            lang,
            "Questo accesso è stato avviato per un altro Comune. Ricomincia dalla pagina di accesso.",
            "This sign-in was started for another town. Start again from the sign-in page.",
        ),
    }
}

fn refusal_page(ctx: &Ctx, t: &Tenant, e: &IdentityError) -> Response {
    let status = match e {
        IdentityError::Network(_) => StatusCode::BAD_GATEWAY,
        IdentityError::NotConfigured | IdentityError::Keys(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::FORBIDDEN,
    };
    let title = tr(ctx.lang, "Accesso non riuscito", "Sign-in failed");
    let back =
        Some((tr(ctx.lang, "Torna alla pagina di accesso", "Back to the sign-in page"), format!("/{}/accedi", t.slug)));
    ctx.problem(status, title, identity_message(ctx.lang, e).to_owned(), back)
}

/// `GET /accedi/callback`: the instance's relying party's callback (404 in per-town mode).
async fn instance_callback(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<CallbackQuery>,
    parts: Parts,
) -> Response {
    if state.identity.as_deref().and_then(|i| i.instance_rp()).is_none() {
        return ctx.error(&ApiError::NotFound(ctx.lang), None);
    }
    callback(&state, &ctx, None, q, &parts).await
}

/// `GET /{town}/accedi/callback`: a town's own relying party's callback (404 in instance mode).
async fn town_callback(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Query(q): Query<CallbackQuery>,
    parts: Parts,
) -> Response {
    let per_town = state.identity.as_deref().is_some_and(|i| i.instance_rp().is_none() && i.for_town(&slug).is_some());
    let town = match state.desk.town(&slug).await {
        Ok(t) if per_town => t,
        _ => return ctx.error(&ApiError::NotFound(ctx.lang), None),
    };
    ctx.in_town(&town);
    callback(&state, &ctx, Some(&town), q, &parts).await
}

async fn callback(state: &AppState, ctx: &Ctx, town: Option<&Tenant>, q: CallbackQuery, parts: &Parts) -> Response {
    let lang = ctx.lang;
    let title = tr(lang, "Accesso non riuscito", "Sign-in failed");
    let Some(sent_state) = q.state.as_deref().filter(|s| !s.is_empty()) else {
        let message = tr(
            lang,
            "La risposta del gestore dell'identità è incompleta.",
            "The identity provider's answer is incomplete.",
        );
        return ctx.problem(StatusCode::BAD_REQUEST, title, message.to_owned(), None);
    };
    let browser = lang::cookie(parts, BROWSER_COOKIE);
    let resumed = match state.desk.resume_sign_in(town, sent_state, browser).await {
        Ok(r) => r,
        Err(refusal) => {
            tracing::warn!(?refusal, town = town.map(|t| t.slug.as_str()), "citizen sign-in callback refused");
            let back = town.map(|t| {
                (tr(lang, "Torna alla pagina di accesso", "Back to the sign-in page"), format!("/{}/accedi", t.slug))
            });
            return ctx.problem(StatusCode::BAD_REQUEST, title, refusal_message(lang, refusal).to_owned(), back);
        }
    };
    let t = &resumed.tenant;
    ctx.in_town(t);
    let Some(rp) = state.identity.as_deref().and_then(|ids| ids.for_town(&t.slug)) else {
        return ctx.error(&ApiError::NotFound(lang), None);
    };
    if let Some(error) = q.error {
        let description = q.error_description.unwrap_or_default();
        tracing::info!(tenant = %t.slug, error, description, "the identity provider refused the sign-in");
        return refusal_page(ctx, t, &IdentityError::Provider { error, description });
    }
    let Some(code) = q.code.filter(|c| !c.is_empty() && c.len() <= 4096) else {
        let message = tr(
            lang,
            "La risposta del gestore dell'identità è incompleta.",
            "The identity provider's answer is incomplete.",
        );
        return ctx.problem(StatusCode::BAD_REQUEST, title, message.to_owned(), None);
    };
    let now = state.now();
    let identity = match rp.finish(&resumed.pending, &code, now).await {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(tenant = %t.slug, provider = %resumed.pending.provider, error = %e, "citizen sign-in refused");
            return refusal_page(ctx, t, &e);
        }
    };
    let token = match state.desk.open_citizen_session(t, &identity, now).await {
        Ok(token) => token,
        Err(e) => return ctx.error(&ApiError::from_desk(lang, e), None),
    };
    let mut resp = Redirect::to(&resumed.next).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(c) = cookie(state, SESSION_COOKIE, &token, &format!("/{}", t.slug), None) {
        h.append(header::SET_COOKIE, c);
    }
    if let Some(c) = cookie(state, BROWSER_COOKIE, "", "/", Some(0)) {
        h.append(header::SET_COOKIE, c);
    }
    resp
}

// ---------------------------------------------------------------- signing out

type Posted = Result<Form<Vec<(String, String)>>, FormRejection>;

fn field<'a>(posted: &'a Posted, name: &str) -> Option<&'a str> {
    posted.as_ref().ok().and_then(|Form(p)| p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()))
}

#[derive(Template)]
#[template(path = "signed_in/signed_out.html", whitespace = "minimize")]
struct SignedOutPage {
    l: Layout,
    t: &'static Texts,
    lang: Lang,
    provider_logout: Option<String>,
    town_href: String,
}

impl SignedOutPage {
    fn tr(&self, it: &'static str, en: &'static str) -> &'static str {
        tr(self.lang, it, en)
    }
}

/// The identity a session kept, as the relying party wants it for the provider's logout.
fn verified_of(s: &CitizenSession) -> VerifiedIdentity {
    let i = &s.identity;
    VerifiedIdentity {
        kind: if i.kind == "cie" { ProviderKind::Cie } else { ProviderKind::Spid },
        provider: i.provider.clone(),
        subject: i.subject.clone(),
        fiscal_code: i.fiscal_code.clone(),
        given_name: i.given_name.clone(),
        family_name: i.family_name.clone(),
        email: i.email.clone(),
        phone: i.phone.clone(),
        acr: i.acr.clone(),
        id_token: i.id_token.clone(),
    }
}

/// `POST /{town}/esci`: ends the session here, and offers the provider's logout when it has
/// one (a link: the provider is another origin, which our pages' forms may not reach).
async fn sign_out(State(state): State<AppState>, mut ctx: Ctx, Path(slug): Path<String>, posted: Posted) -> Response {
    let t = match request::tenant(&state, &slug, ctx.lang).await {
        Ok(t) => t,
        Err(e) => return ctx.error(&e, None),
    };
    ctx.in_town(&t);
    if !ctx.csrf_ok(field(&posted, CSRF_FIELD)) {
        return ctx.csrf_refused(format!("/{}", t.slug));
    }
    let closed = match ctx.citizen.take() {
        Some((_, token)) => match state.desk.close_citizen_session(&t, &token).await {
            Ok(closed) => closed,
            Err(e) => return ctx.error(&ApiError::from_desk(ctx.lang, e), None),
        },
        None => None,
    };
    let town_href = format!("/{}", t.slug);
    let provider_logout = match (&closed, state.identity.as_deref().and_then(|i| i.for_town(&t.slug))) {
        (Some(s), Some(rp)) => {
            let back = format!("{}/{}", state.config.public_url.trim_end_matches('/'), t.slug);
            rp.logout_url(&verified_of(s), &back).await
        }
        _ => None,
    };
    let heading = tr(ctx.lang, "Sei uscito", "You are signed out");
    let crumbs = ctx.crumbs(vec![(t.name.clone(), Some(town_href.clone())), (heading.to_owned(), None)]);
    // Drawn as signed out: the header offers to sign in again.
    let page = SignedOutPage {
        l: ctx.layout(format!("{heading} – {}", t.name), crumbs, Some(&t), true),
        t: ctx.t,
        lang: ctx.lang,
        provider_logout,
        town_href: town_href.clone(),
    };
    let mut resp = ctx.page(StatusCode::OK, &page);
    if let Some(c) = cookie(&state, SESSION_COOKIE, "", &town_href, Some(0)) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

// ---------------------------------------------------------------- my appointments

/// One appointment on "I miei appuntamenti".
struct MineRow {
    reference: String,
    town: String,
    service: String,
    office: String,
    when: String,
    mode: &'static str,
    status: &'static str,
    active: bool,
    cancel_action: String,
    move_href: String,
}

#[derive(Template)]
#[template(path = "signed_in/mine.html", whitespace = "minimize")]
struct MinePage {
    l: Layout,
    t: &'static Texts,
    lang: Lang,
    name: String,
    fiscal_code: String,
    kind: &'static str,
    rows: Vec<MineRow>,
    csrf: String,
    banner: Option<&'static str>,
    town_href: String,
}

impl MinePage {
    fn tr(&self, it: &'static str, en: &'static str) -> &'static str {
        tr(self.lang, it, en)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MineQuery {
    cancelled: Option<String>,
    moved: Option<String>,
    from: Option<String>,
}

fn status_label(lang: Lang, s: AppointmentStatus) -> &'static str {
    match s {
        AppointmentStatus::Booked => tr(lang, "prenotato", "booked"),
        AppointmentStatus::CheckedIn => tr(lang, "arrivato", "checked in"),
        AppointmentStatus::Done => tr(lang, "concluso", "done"),
        AppointmentStatus::NoShow => tr(lang, "assente", "missed"),
        AppointmentStatus::Cancelled => tr(lang, "annullato", "cancelled"),
    }
}

/// The sign-in page that returns to `next`, for a page that needs a signed-in citizen.
fn to_sign_in(state: &AppState, ctx: &Ctx, t: &Tenant, next: &str) -> Result<Response, ApiError> {
    relying_party(state, t, ctx.lang)?;
    Ok(Redirect::to(&format!("/{}/accedi?next={}", t.slug, encode(next))).into_response())
}

/// `GET /{town}/i-miei-appuntamenti`: the signed-in citizen's appointments in every town of
/// the instance, by their verified codice fiscale.
async fn mine(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Query(q): Query<MineQuery>,
) -> Response {
    let result = async {
        let t = request::tenant(&state, &slug, ctx.lang).await?;
        ctx.in_town(&t);
        let here = format!("/{}/i-miei-appuntamenti", t.slug);
        let Some(session) = signed_in(&ctx, &t) else { return to_sign_in(&state, &ctx, &t, &here) };
        let lang = ctx.lang;
        let found = state.desk.my_appointments(session).await.in_lang(lang)?;
        let now = state.now();
        let rows = found
            .into_iter()
            .map(|m| {
                let a = &m.appointment;
                let reference = a.public_id.clone();
                MineRow {
                    town: m.tenant.name.clone(),
                    service: m.service,
                    office: m.office,
                    when: texts::when(lang, &a.start.to_zoned(zone_of(&m.tenant))),
                    mode: texts::mode_name(lang, a.mode),
                    status: status_label(lang, a.status),
                    active: a.status.is_active() && a.end > now,
                    cancel_action: format!("{here}/{}/annulla", encode(&reference)),
                    move_href: format!("{here}/{}/sposta", encode(&reference)),
                    reference,
                }
            })
            .collect();
        let heading = tr(lang, "I miei appuntamenti", "My appointments");
        let banner = if q.cancelled.is_some() {
            Some(tr(lang, "Appuntamento annullato.", "Appointment cancelled."))
        } else if q.moved.is_some() {
            Some(tr(
                lang,
                "Appuntamento spostato. Ti abbiamo scritto il nuovo orario.",
                "Appointment moved. We sent you the new time.",
            ))
        } else {
            None
        };
        let crumbs = ctx.crumbs(vec![(t.name.clone(), Some(format!("/{}", t.slug))), (heading.to_owned(), None)]);
        let page = MinePage {
            l: ctx.layout(format!("{heading} – {}", t.name), crumbs, Some(&t), true),
            t: ctx.t,
            lang,
            name: format!("{} {}", session.identity.given_name, session.identity.family_name),
            fiscal_code: session.identity.fiscal_code.clone(),
            kind: kind_label(&session.identity.kind),
            rows,
            csrf: ctx.csrf.clone(),
            banner,
            town_href: format!("/{}", t.slug),
        };
        Ok(ctx.form_page(StatusCode::OK, &page))
    };
    result.await.unwrap_or_else(|e: ApiError| ctx.error(&e, None))
}

/// `POST /{town}/i-miei-appuntamenti/{reference}/annulla`: cancels one of the citizen's own,
/// authorised by the session (another citizen's reference is not found).
async fn cancel_mine(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, reference)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let result = async {
        let t = request::tenant(&state, &slug, ctx.lang).await?;
        ctx.in_town(&t);
        let here = format!("/{}/i-miei-appuntamenti", t.slug);
        if !ctx.csrf_ok(field(&posted, CSRF_FIELD)) {
            return Ok(ctx.csrf_refused(here));
        }
        let Some(session) = signed_in(&ctx, &t) else { return to_sign_in(&state, &ctx, &t, &here) };
        state.desk.cancel_mine(session, &reference).await.in_lang(ctx.lang)?;
        Ok(Redirect::to(&format!("{here}?cancelled=1")).into_response())
    };
    let back = Some((tr(ctx.lang, "I miei appuntamenti", "My appointments"), format!("/{slug}/i-miei-appuntamenti")));
    result.await.unwrap_or_else(|e: ApiError| ctx.error(&e, back))
}

/// `GET /{town}/i-miei-appuntamenti/{reference}/sposta`: the free times of the appointment's
/// service (the same picker as the link's move page).
async fn move_mine(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, reference)): Path<(String, String)>,
    Query(q): Query<MineQuery>,
) -> Response {
    let result = async {
        let t = request::tenant(&state, &slug, ctx.lang).await?;
        ctx.in_town(&t);
        let list = format!("/{}/i-miei-appuntamenti", t.slug);
        let here = format!("{list}/{}/sposta", encode(&reference));
        let Some(session) = signed_in(&ctx, &t) else { return to_sign_in(&state, &ctx, &t, &here) };
        let m = state.desk.my_appointment(session, &reference).await.in_lang(ctx.lang)?;
        if !m.appointment.status.is_active() {
            return Err(ApiError::NotActive(ctx.lang));
        }
        crate::pages::move_page_signed_in(
            &ctx,
            &state,
            &m.tenant,
            &m.appointment,
            &here,
            &list,
            q.from.as_deref(),
            None,
            None,
        )
        .await
    };
    result.await.unwrap_or_else(|e: ApiError| ctx.error(&e, None))
}

/// `POST /{town}/i-miei-appuntamenti/{reference}/sposta`: a chosen time is shown to confirm;
/// the confirmation moves it.
async fn move_mine_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, reference)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let result = async {
        let t = request::tenant(&state, &slug, ctx.lang).await?;
        ctx.in_town(&t);
        let list = format!("/{}/i-miei-appuntamenti", t.slug);
        let here = format!("{list}/{}/sposta", encode(&reference));
        if !ctx.csrf_ok(field(&posted, CSRF_FIELD)) {
            return Ok(ctx.csrf_refused(here));
        }
        let Some(session) = signed_in(&ctx, &t) else { return to_sign_in(&state, &ctx, &t, &here) };
        let m = state.desk.my_appointment(session, &reference).await.in_lang(ctx.lang)?;
        let Some(start) = field(&posted, "start").and_then(parse_instant) else {
            let message = ctx.t.bad_start.to_owned();
            return Ok(ctx.problem(
                StatusCode::BAD_REQUEST,
                texts::error_title(ctx.lang, 400),
                message,
                Some((ctx.t.back_to_times, here)),
            ));
        };
        if field(&posted, "confirm") != Some("1") {
            return crate::pages::move_page_signed_in(
                &ctx,
                &state,
                &m.tenant,
                &m.appointment,
                &here,
                &list,
                None,
                None,
                Some(start),
            )
            .await;
        }
        match state.desk.move_mine(session, &reference, start).await {
            Ok(_) => Ok(Redirect::to(&format!("{list}?moved=1")).into_response()),
            Err(DeskError::Unavailable { reason, alternatives }) => {
                let refused = Some((crate::error::refusal_message(reason, ctx.lang), alternatives));
                crate::pages::move_page_signed_in(
                    &ctx,
                    &state,
                    &m.tenant,
                    &m.appointment,
                    &here,
                    &list,
                    None,
                    refused,
                    None,
                )
                .await
            }
            Err(e) => Err(ApiError::from_desk(ctx.lang, e)),
        }
    };
    result.await.unwrap_or_else(|e: ApiError| ctx.error(&e, None))
}

// ---------------------------------------------------------------- the town's limit (staff)

/// `POST /{tenant}/staff/settings/spid-cie`: the town's limit of active appointments per
/// service for a verified citizen (administrators; empty: the instance's); back to the settings.
async fn set_verified_max(
    State(state): State<AppState>,
    crate::staff::common::Posted { staff, form }: crate::staff::common::Posted,
) -> Result<Response, crate::staff::common::PageError> {
    use crate::staff::common::PageError;
    staff.require_admin()?;
    let lang = staff.lang;
    let raw = form.get("verified_max_active").trim();
    let max = if raw.is_empty() {
        None
    } else {
        match raw.parse::<u16>() {
            Ok(n) if (1..=100).contains(&n) => Some(n),
            _ => {
                let message = tr(
                    lang,
                    "Scrivi un numero da 1 a 100, o lascia vuoto.",
                    "Write a number from 1 to 100, or leave it empty.",
                );
                return Err(PageError::bad_request(lang, message));
            }
        }
    };
    state
        .desk
        .set_verified_max_active(&staff.tenant, &staff.grant(), max)
        .await
        .map_err(|e| staff.err(ApiError::from_desk(lang, e)))?;
    Ok(crate::staff::common::see_other(&format!("/{}/staff/settings#spid-cie", staff.tenant.slug)))
}
