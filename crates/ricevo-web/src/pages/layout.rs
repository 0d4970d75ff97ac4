//! What every citizen page shares: the request's language and embed mode, the page frame
//! (header, breadcrumbs, footer), the response headers, the form token and the error pages.

use std::convert::Infallible;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ricevo_core::Lang;
use ricevo_store::Tenant;

use super::texts::{self, Texts};
use crate::error::ApiError;
use crate::state::AppState;
use crate::{assets, lang};
use ricevo_desk::tokens;

/// The cookie holding the form token (double submit: the same value is in a hidden field).
pub(crate) const CSRF_COOKIE: &str = "ricevo_csrf";
/// The hidden field echoing the form token.
pub(crate) const CSRF_FIELD: &str = "csrf";

// The router's policy plus who may frame the page (copied: the router only adds its own when
// a response has none).
const CSP_BASE: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                        connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; \
                        form-action 'self'";

/// The content security policy of a page that `ancestors` may frame.
pub(crate) fn csp(ancestors: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{CSP_BASE}; frame-ancestors {ancestors}")).ok()
}

/// The parts of a request every page needs.
pub(crate) struct Ctx {
    /// The language to answer in.
    pub lang: Lang,
    /// Its texts.
    pub t: &'static Texts,
    /// Shown inside a town's iframe (`?embed=1`): no header or footer, framing allowed.
    pub embed: bool,
    /// The `?lang=` of the request, remembered in a cookie.
    lang_asked: Option<Lang>,
    path: String,
    query: Option<String>,
    /// The form token the request carried in its cookie.
    csrf_cookie: Option<String>,
    /// The form token this page's forms carry (the cookie's, or a new one).
    pub csrf: String,
    secure_cookies: bool,
    cross_site: bool,
    /// The town the request turned out to be about, once a handler knows it: error pages keep
    /// its header and footer.
    town: std::sync::OnceLock<Tenant>,
    // ---- citizen ----
    /// The citizen signed in to the town of the path with SPID or CIE, and the cookie's token.
    pub citizen: Option<(ricevo_store::CitizenSession, String)>,
    /// Whether the instance offers citizens to sign in with SPID or CIE.
    pub identity_offered: bool,
    // ---- end citizen ----
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = lang::detect(parts);
        let query = parts.uri.query().map(str::to_owned);
        let param = |name: &str| {
            query.as_deref().and_then(|q| {
                q.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.to_owned())
            })
        };
        let csrf_cookie = lang::cookie(parts, CSRF_COOKIE).filter(|v| tokens::looks_like_token(v)).map(str::to_owned);
        // Browsers say where a request comes from; a form posted from another site is refused
        // even before the token is compared.
        let cross_site = parts
            .headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == "cross-site" || v == "same-site");
        Ok(Ctx {
            lang,
            t: texts::texts(lang),
            embed: param("embed").as_deref() == Some("1"),
            lang_asked: param("lang").as_deref().and_then(Lang::parse),
            path: parts.uri.path().to_owned(),
            query,
            csrf: csrf_cookie.clone().unwrap_or_else(tokens::new_token),
            csrf_cookie,
            secure_cookies: state.config.secure_cookies,
            cross_site,
            town: std::sync::OnceLock::new(),
            // ---- citizen ----
            citizen: crate::citizen_session::session_of_request(parts, state).await,
            identity_offered: state.identity.is_some(),
            // ---- end citizen ----
        })
    }
}

/// One step of the breadcrumbs; the last has no link.
pub(crate) struct Crumb {
    /// What it says.
    pub label: String,
    /// Where it leads.
    pub href: Option<String>,
}

/// The town a page belongs to, for the header and footer.
pub(crate) struct Town {
    /// Its name.
    pub name: String,
    /// Its page.
    pub href: String,
    /// Where citizens write.
    pub email: String,
    /// Its privacy notice.
    pub privacy_href: String,
    /// Its accessibility statement (AgID requires a link in every footer).
    pub accessibility_href: String,
    /// The emblem's URL on our own origin, if the town uploaded one.
    pub emblem: Option<String>,
    /// The town's own website, if given.
    pub website: Option<String>,
    /// The town hall's postal address, if given.
    pub address: Option<String>,
    /// The town's certified e-mail (PEC), if given.
    pub pec: Option<String>,
    /// Its legal notes.
    pub legal_href: String,
}

/// The frame of a page: what `base.html` shows around the content.
pub(crate) struct Layout {
    /// `<html lang>`.
    pub lang: &'static str,
    /// `<title>`.
    pub title: String,
    /// Inside an iframe.
    pub embed: bool,
    /// The stylesheet's URL.
    pub css: String,
    /// A second stylesheet only some pages need (the call's), after the first.
    pub extra_css: Option<String>,
    /// The icon's URL.
    pub icon: String,
    /// The script that sizes the iframe (embed mode only).
    pub script: Option<String>,
    /// The language switch: where, its label and language code.
    pub switch_href: String,
    /// The other language's name.
    pub switch_label: &'static str,
    /// The other language's code.
    pub switch_lang: &'static str,
    /// Breadcrumbs.
    pub crumbs: Vec<Crumb>,
    /// The town, if the page is about one.
    pub town: Option<Town>,
    /// Keep out of search engines (pages opened by a personal link).
    pub noindex: bool,
    // ---- citizen ----
    /// The citizen signed in to this page's town, for the header ("Esci").
    pub citizen: Option<crate::citizen_session::CitizenBar>,
    // ---- end citizen ----
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Ctx {
    /// A link inside the citizen pages, keeping embed mode (and its language, since a framed
    /// page may not be allowed to keep cookies).
    pub(crate) fn href(&self, path: &str) -> String {
        if !self.embed {
            return path.to_owned();
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}embed=1&lang={}", self.lang.code())
    }

    /// The URL this request came to, as a form action (keeps its query).
    pub(crate) fn here(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }

    /// The page frame.
    pub(crate) fn layout(&self, title: String, crumbs: Vec<Crumb>, town: Option<&Tenant>, noindex: bool) -> Layout {
        let other = match self.lang {
            Lang::It => Lang::En,
            Lang::En => Lang::It,
        };
        let mut query: Vec<&str> = self
            .query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("lang="))
            .collect();
        let lang_pair = format!("lang={}", other.code());
        query.push(&lang_pair);
        Layout {
            lang: self.lang.code(),
            title,
            embed: self.embed,
            css: assets::url("ricevo.css"),
            extra_css: None,
            icon: assets::url("favicon.svg"),
            script: self.embed.then(|| assets::url("frame.js")),
            switch_href: format!("{}?{}", self.path, query.join("&")),
            switch_label: texts::lang_name(other),
            switch_lang: other.code(),
            crumbs,
            town: town.map(|t| Town {
                name: t.name.clone(),
                href: self.href(&format!("/{}", t.slug)),
                email: t.contact_email.clone(),
                privacy_href: self.href(&format!("/{}/privacy", t.slug)),
                accessibility_href: self.href(&format!("/{}/accessibilita", t.slug)),
                emblem: t.emblem.then(|| self.href(&format!("/{}/emblem", t.slug))),
                website: Some(t.website.trim().to_owned())
                    .filter(|w| w.starts_with("https://") || w.starts_with("http://")),
                address: Some(t.address.trim().to_owned()).filter(|a| !a.is_empty()),
                pec: Some(t.pec.trim().to_owned()).filter(|p| !p.is_empty()),
                legal_href: self.href(&format!("/{}/note-legali", t.slug)),
            }),
            noindex,
            // ---- citizen ----
            citizen: town.and_then(|t| {
                crate::citizen_session::bar(
                    self.citizen.as_ref().map(|(s, _)| s),
                    self.identity_offered,
                    self.embed,
                    self.lang,
                    &self.csrf,
                    &encode(&self.here()),
                    t,
                )
            }),
            // ---- end citizen ----
        }
    }

    /// Remembers the town this request is about (the first call wins): from now on its error
    /// pages show the town's header and footer.
    pub(crate) fn in_town(&self, tenant: &Tenant) {
        let _ = self.town.set(tenant.clone());
    }

    /// The town remembered by [`Ctx::in_town`].
    pub(crate) fn town(&self) -> Option<&Tenant> {
        self.town.get()
    }

    /// The town named by the first segment of the path, if there is one (for pages that fail
    /// before a handler knew it, like an unknown address inside a town).
    pub(crate) async fn town_of_path(&self, state: &AppState) -> Option<Tenant> {
        let slug = self.path.trim_start_matches('/').split('/').next().filter(|s| !s.is_empty())?;
        if matches!(slug, "a" | "api" | "static" | "staff") {
            return None;
        }
        state.desk.town(slug).await.ok()
    }

    /// The breadcrumbs from the home page (left out when embedded: the town's site is home).
    /// Inside a town "Home" is the town's page: a first step naming the town becomes "Home".
    pub(crate) fn crumbs(&self, mut steps: Vec<(String, Option<String>)>) -> Vec<Crumb> {
        let mut home_href = Some("/".to_owned());
        if let Some(t) = self.town()
            && steps.first().is_some_and(|(label, _)| *label == t.name)
        {
            home_href = steps.remove(0).1;
        }
        let home = (!self.embed).then(|| Crumb { label: self.t.home.to_owned(), href: home_href });
        home.into_iter().chain(steps.into_iter().map(|(label, href)| Crumb { label, href })).collect()
    }

    /// Answers with a rendered page and the headers every page carries.
    pub(crate) fn page(&self, status: StatusCode, page: &impl Template) -> Response {
        self.render(status, page, false)
    }

    /// Like [`Ctx::page`] for a page with a form: also sets the form token's cookie.
    pub(crate) fn form_page(&self, status: StatusCode, page: &impl Template) -> Response {
        self.render(status, page, true)
    }

    fn render(&self, status: StatusCode, page: &impl Template, with_form: bool) -> Response {
        let body = match page.render() {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, "page template failed");
                return (StatusCode::INTERNAL_SERVER_ERROR, texts::unavailable(self.lang)).into_response();
            }
        };
        let mut resp = (status, body).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        // Pages show free seats and personal details: never from a cache.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // Only embed mode may be framed (by any town's site); no page is framed otherwise.
        if let Some(v) = csp(if self.embed { "*" } else { "'none'" }) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        if let Some(l) = self.lang_asked {
            let cookie = format!("lang={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}", l.code());
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                h.append(header::SET_COOKIE, v);
            }
        }
        // (citizen) A signed-in page carries the "Esci" form in its header.
        let with_form = with_form || self.citizen.is_some();
        if with_form && self.csrf_cookie.as_deref() != Some(self.csrf.as_str()) {
            // Inside a town's iframe a Strict cookie would never come back: there (over HTTPS
            // only) it is a partitioned cross-site cookie, still tied to our origin.
            let site = if self.embed && self.secure_cookies { "None; Partitioned" } else { "Strict" };
            let cookie = format!("{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite={site}{secure}", self.csrf);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                h.append(header::SET_COOKIE, v);
            }
        }
        resp
    }

    /// Whether a posted form carries the token of its cookie and comes from our own pages.
    pub(crate) fn csrf_ok(&self, field: Option<&str>) -> bool {
        match (self.csrf_cookie.as_deref(), field) {
            (Some(cookie), Some(field)) if !self.cross_site => same(cookie.as_bytes(), field.as_bytes()),
            _ => false,
        }
    }

    /// The 403 page for a form without a valid token; `retry` reloads the form.
    pub(crate) fn csrf_refused(&self, retry: String) -> Response {
        let t = self.t;
        self.problem(StatusCode::FORBIDDEN, t.csrf_title, t.csrf_text.to_owned(), Some((t.csrf_retry, retry)))
    }

    /// A friendly page for any error, in the request's language; `back` offers a way on.
    pub(crate) fn error(&self, e: &ApiError, back: Option<(&'static str, String)>) -> Response {
        let status = e.status();
        if matches!(e, ApiError::Suspended(_)) {
            // A town suspended by the instance administrator: said plainly, not as a failure.
            let title = match self.lang {
                ricevo_core::Lang::It => "Servizio sospeso",
                ricevo_core::Lang::En => "Service suspended",
            };
            return self.problem(status, title, e.message(), back);
        }
        let message = if status.is_server_error() {
            tracing::error!(error = %e, "citizen page failed");
            texts::unavailable(self.lang).to_owned()
        } else {
            e.message()
        };
        self.problem(status, texts::error_title(self.lang, status.as_u16()), message, back)
    }

    /// A page with a heading, one message and a link on.
    pub(crate) fn problem(
        &self,
        status: StatusCode,
        title: &'static str,
        message: String,
        back: Option<(&'static str, String)>,
    ) -> Response {
        let town = self.town();
        let home = town.map_or_else(|| self.href("/"), |t| self.href(&format!("/{}", t.slug)));
        let (back_label, back_href) = back.unwrap_or((self.t.back_home, home));
        let crumbs = match town {
            Some(t) => {
                self.crumbs(vec![(t.name.clone(), Some(self.href(&format!("/{}", t.slug)))), (title.to_owned(), None)])
            }
            None => self.crumbs(Vec::new()),
        };
        let page = ErrorPage {
            l: self.layout(title.to_owned(), crumbs, town, true),
            t: self.t,
            title,
            message,
            back_label,
            back_href,
        };
        self.page(status, &page)
    }
}

// Compares two secrets in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Any error, as a page.
#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    /// Frame.
    pub l: Layout,
    /// Texts.
    pub t: &'static Texts,
    /// Heading.
    pub title: &'static str,
    /// What happened.
    pub message: String,
    /// The way on.
    pub back_label: &'static str,
    /// Where it leads.
    pub back_href: String,
}
