//! What every staff handler shares: the signed-in staff member, CSRF-checked forms, field
//! errors and the error page.

use askama::Template;
use axum::extract::{Form, FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ricevo_core::Lang;
use ricevo_core::audit::Actor;
use ricevo_store::{Grant, Role, Tenant, User};

pub(crate) use super::form::{Errors, Fields, int_field, optional_line, required_line, text_block, tr};
use super::views::{ErrorPage, Page};
use crate::error::ApiError;
use crate::lang::{cookie, detect};
use crate::request;
use crate::state::AppState;
use ricevo_desk::tokens;

/// The name of the staff session cookie.
pub const SESSION_COOKIE: &str = "ricevo_session";

/// Compares two secrets in time independent of where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && !a.is_empty() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An HTML answer that is never cached.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    resp
}

/// Renders a template, or a 500 if the template fails (a bug).
pub(crate) fn render(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            html(StatusCode::INTERNAL_SERVER_ERROR, "Errore interno. / Internal error.".into())
        }
    }
}

/// A `303 See Other` to `to`.
pub(crate) fn see_other(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// The login page of a town.
pub(crate) fn login_url(slug: &str) -> String {
    format!("/{slug}/staff/login")
}

// ---- staffoidc ----
/// Where the login page's "sign in with the town's account" goes (issue 16).
pub(crate) fn provider_sign_in_url(slug: &str) -> String {
    format!("/{slug}/staff/login/oidc")
}
// ---- end staffoidc ----

/// Why a staff request stops: a redirect to the login, or an error page.
#[derive(Debug)]
pub(crate) enum PageError {
    /// No valid session for this town.
    Login(String),
    /// A refusal or failure, shown as a page in `Lang`.
    Api(ApiError, Lang, Option<String>),
}

impl PageError {
    /// 404 in the user's language.
    pub(crate) fn not_found(lang: Lang) -> PageError {
        PageError::Api(ApiError::NotFound(lang), lang, None)
    }
    /// 400 with a detail.
    pub(crate) fn bad_request(lang: Lang, detail: &str) -> PageError {
        PageError::Api(ApiError::BadRequest(lang, detail.into()), lang, None)
    }
    /// Any API error, answered in `lang`.
    pub(crate) fn api(e: ApiError, lang: Lang) -> PageError {
        PageError::Api(e, lang, None)
    }
}

// Store errors carry no language: give the refusal the user's.
fn in_lang(e: ApiError, lang: Lang) -> ApiError {
    match e {
        ApiError::BadRequest(_, d) => ApiError::BadRequest(lang, d),
        ApiError::NotFound(_) => ApiError::NotFound(lang),
        ApiError::ServiceNotFound(_) => ApiError::ServiceNotFound(lang),
        ApiError::Fields(_, f) => ApiError::Fields(lang, f),
        ApiError::NotActive(_) => ApiError::NotActive(lang),
        ApiError::IdempotencyMismatch(_) => ApiError::IdempotencyMismatch(lang),
        ApiError::Unauthorized(_) => ApiError::Unauthorized(lang),
        ApiError::Forbidden(_) => ApiError::Forbidden(lang),
        ApiError::TooManyRequests(_) => ApiError::TooManyRequests(lang),
        ApiError::Conflict(_) => ApiError::Conflict(lang),
        ApiError::StatusChange(_, e) => ApiError::StatusChange(lang, e),
        ApiError::CitizenLimit(_, n) => ApiError::CitizenLimit(lang, n),
        ApiError::TooManyBookings(_, secs) => ApiError::TooManyBookings(lang, secs),
        ApiError::NotQueued(_) => ApiError::NotQueued(lang),
        ApiError::NobodyWaiting(_) => ApiError::NobodyWaiting(lang),
        ApiError::WalkInClosed(_) => ApiError::WalkInClosed(lang),
        ApiError::DocumentTooLarge(_, mb) => ApiError::DocumentTooLarge(lang, mb),
        ApiError::TooLarge(_) => ApiError::TooLarge(lang),
        ApiError::UnsupportedDocument(_) => ApiError::UnsupportedDocument(lang),
        ApiError::ActiveAppointments(_, ids) => ApiError::ActiveAppointments(lang, ids),
        ApiError::LastAdministrator(_) => ApiError::LastAdministrator(lang),
        ApiError::Suspended(_) => ApiError::Suspended(lang),
        other @ (ApiError::Unavailable(_) | ApiError::Internal(_)) => other,
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Login(slug) => see_other(&login_url(&slug)),
            PageError::Api(e, lang, back) => {
                let e = in_lang(e, lang);
                match &e {
                    ApiError::Unavailable(d) => tracing::error!(detail = %d, "storage unavailable"),
                    ApiError::Internal(d) => tracing::error!(detail = %d, "internal error"),
                    _ => {}
                }
                let status = e.status();
                let page = ErrorPage {
                    p: Page::bare(lang, tr(lang, "Errore", "Error")),
                    status: status.as_u16(),
                    message: e.message(),
                    back,
                };
                render(status, &page)
            }
        }
    }
}

/// A signed-in staff member of the town in the URL.
#[derive(Debug)]
pub(crate) struct Staff {
    /// The town.
    pub(crate) tenant: Tenant,
    /// The account.
    pub(crate) user: User,
    /// The session's CSRF token.
    pub(crate) csrf: String,
    /// The hash of the session token.
    pub(crate) session_hash: String,
    /// The language of the answer.
    pub(crate) lang: Lang,
    /// The request path (for the language switch).
    pub(crate) path: String,
}

impl Staff {
    /// What this account may do.
    pub(crate) fn grant(&self) -> Grant {
        Grant {
            tenant_id: self.tenant.id,
            role: self.user.role,
            offices: self.user.offices.clone(),
            actor: Actor::Staff { id: self.user.id, name: format!("{} <{}>", self.user.name, self.user.email) },
        }
    }
    /// Whether the account administers the whole town.
    pub(crate) fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }
    /// 403 unless an administrator.
    pub(crate) fn require_admin(&self) -> Result<(), PageError> {
        if self.is_admin() { Ok(()) } else { Err(self.forbidden()) }
    }
    /// `/{slug}/staff`.
    pub(crate) fn base(&self) -> String {
        format!("/{}/staff", self.tenant.slug)
    }
    /// The page frame for this staff member.
    pub(crate) fn page(&self, title: &str) -> Page {
        Page {
            lang: self.lang,
            base: self.base(),
            tenant_name: self.tenant.name.clone(),
            title: title.to_owned(),
            path: self.path.clone(),
            user_name: self.user.name.clone(),
            role: Some(self.user.role),
            csrf: self.csrf.clone(),
        }
    }
    /// Text in the user's language.
    pub(crate) fn t(&self, it: &'static str, en: &'static str) -> &'static str {
        tr(self.lang, it, en)
    }
    /// An error page in the user's language, linking back to the day page.
    pub(crate) fn err(&self, e: ApiError) -> PageError {
        PageError::Api(e, self.lang, Some(self.base()))
    }
    /// 403, linking back to the day page.
    pub(crate) fn forbidden(&self) -> PageError {
        self.err(ApiError::Forbidden(self.lang))
    }
    /// 404, linking back to the day page.
    pub(crate) fn not_found(&self) -> PageError {
        self.err(ApiError::NotFound(self.lang))
    }
}

/// The tenant slug of the matched route.
pub(crate) async fn slug_of(parts: &mut Parts, state: &AppState) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, state).await.ok()?;
    params.iter().find(|(k, _)| *k == "tenant").map(|(_, v)| v.to_owned())
}

/// Loads the town of the URL: a 404 page if there is none.
pub(crate) async fn town(state: &AppState, parts: &mut Parts, lang: Lang) -> Result<Tenant, PageError> {
    let slug = slug_of(parts, state).await.unwrap_or_default();
    request::tenant(state, &slug, lang).await.map_err(|e| PageError::api(e, lang))
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = detect(parts);
        let tenant = town(state, parts, lang).await?;
        let login = || PageError::Login(tenant.slug.clone());
        let token = cookie(parts, SESSION_COOKIE).filter(|t| tokens::looks_like_token(t)).ok_or_else(login)?;
        let session_hash = tokens::hash(token);
        let (user, csrf) = state
            .store
            .session(&session_hash, state.now())
            .await
            .map_err(|e| PageError::api(e.into(), lang))?
            .ok_or_else(login)?;
        // A session of another town is no session here.
        if user.tenant_id != tenant.id {
            return Err(login());
        }
        let path = parts.uri.path().to_owned();
        Ok(Staff { tenant, user, csrf, session_hash, lang, path })
    }
}

/// A form posted by a signed-in staff member, with its CSRF token checked.
#[derive(Debug)]
pub(crate) struct Posted {
    /// Who posted it.
    pub(crate) staff: Staff,
    /// What they typed.
    pub(crate) form: Fields,
}

/// Reads a urlencoded form body: a 400 page when it is not one.
pub(crate) async fn read_form(req: Request, state: &AppState, lang: Lang) -> Result<Fields, PageError> {
    match Form::<Vec<(String, String)>>::from_request(req, state).await {
        Ok(Form(pairs)) => Ok(Fields(pairs)),
        Err(_) => Err(PageError::bad_request(lang, tr(lang, "modulo non leggibile", "unreadable form"))),
    }
}

impl FromRequest<AppState> for Posted {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let staff = Staff::from_request_parts(&mut parts, state).await?;
        let form = read_form(Request::from_parts(parts, body), state, staff.lang).await?;
        if !same_secret(form.get("csrf"), &staff.csrf) {
            tracing::warn!(tenant = %staff.tenant.slug, user = %staff.user.id, "CSRF token mismatch");
            return Err(staff.forbidden());
        }
        Ok(Posted { staff, form })
    }
}

// ---- staffui: destructive actions ask to confirm ----

/// Whether a destructive action's form was posted from its confirmation step.
pub(crate) fn confirmed(form: &Fields) -> bool {
    form.get("confirm") == "1"
}

/// The confirmation step of a destructive action: `question` and `detail` above a button that
/// posts to `action` again with `confirm=1`, and a way `back`.
pub(crate) fn confirm_page(
    staff: &Staff,
    action: &str,
    question: String,
    detail: &str,
    button: &str,
    back: &str,
) -> Response {
    let page = super::views::ConfirmPage {
        p: staff.page(staff.t("Conferma", "Confirm")),
        question,
        detail: detail.to_owned(),
        action: action.to_owned(),
        button: button.to_owned(),
        back: back.to_owned(),
    };
    render(StatusCode::OK, &page)
}

/// Parses an id from a path segment: a 404 page for anything else.
pub(crate) fn path_id(raw: &str, lang: Lang) -> Result<i64, PageError> {
    raw.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| PageError::not_found(lang))
}
