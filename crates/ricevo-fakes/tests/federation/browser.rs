//! A minimal browser for sign-in flows: cookies kept per origin (the entities share the host
//! 127.0.0.1 and differ by port), redirects followed by hand so that each hop can be checked,
//! and the hidden fields of the providers' forms read from their HTML.

use std::collections::HashMap;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

/// The most redirects one navigation follows.
const MAX_REDIRECTS: usize = 10;

/// Where a navigation ended.
#[derive(Debug)]
pub(crate) struct Page {
    /// The URL of the last response.
    pub(crate) url: String,
    /// Its status.
    pub(crate) status: StatusCode,
    /// Its body.
    pub(crate) body: String,
    /// Every URL visited, in order.
    pub(crate) visited: Vec<String>,
}

impl Page {
    /// The value of the form field `name` (`name="…" value="…"`), if the page has one.
    pub(crate) fn field(&self, name: &str) -> Option<String> {
        let at = self.body.find(&format!("name=\"{name}\""))?;
        let rest = &self.body[at..];
        let value = rest.find("value=\"")? + "value=\"".len();
        let end = rest[value..].find('"')?;
        Some(html_unescape(&rest[value..value + end]))
    }
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#x27;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The origin (`http://host:port`) of a URL.
fn origin(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..].find('/').map_or(url.len(), |i| after_scheme + i);
    url[..end].to_owned()
}

/// A browser with a cookie jar per origin.
pub(crate) struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, HashMap<String, String>>,
}

impl Browser {
    /// A browser with no cookies.
    pub(crate) fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap();
        Browser { http, cookies: HashMap::new() }
    }

    fn cookie_header(&self, url: &str) -> Option<String> {
        let jar = self.cookies.get(&origin(url))?;
        (!jar.is_empty()).then(|| jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
    }

    fn keep_cookies(&mut self, url: &str, response: &reqwest::Response) {
        let jar = self.cookies.entry(origin(url)).or_default();
        for header in response.headers().get_all(SET_COOKIE) {
            let Ok(text) = header.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                jar.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    async fn send(&mut self, url: &str, form: Option<&[(&str, &str)]>) -> (StatusCode, Option<String>, String) {
        let mut request = match form {
            Some(fields) => self.http.post(url).header("content-type", "application/x-www-form-urlencoded").body(
                fields.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&"),
            ),
            None => self.http.get(url),
        };
        if let Some(cookies) = self.cookie_header(url) {
            request = request.header(COOKIE, cookies);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        self.keep_cookies(url, &response);
        let status = response.status();
        let location = response.headers().get(LOCATION).and_then(|l| l.to_str().ok()).map(|l| absolute(url, l));
        let body = response.text().await.unwrap_or_default();
        (status, location, body)
    }

    async fn follow(&mut self, mut url: String, form: Option<&[(&str, &str)]>) -> Page {
        let mut visited = vec![url.clone()];
        let (mut status, mut location, mut body) = self.send(&url, form).await;
        for _ in 0..MAX_REDIRECTS {
            let Some(next) = location.take().filter(|_| status.is_redirection()) else { break };
            url = next;
            visited.push(url.clone());
            (status, location, body) = self.send(&url, None).await;
        }
        Page { url, status, body, visited }
    }

    /// GETs `url`, following redirects.
    pub(crate) async fn get(&mut self, url: &str) -> Page {
        self.follow(url.to_owned(), None).await
    }

    /// POSTs a form to `url`, following redirects.
    pub(crate) async fn post(&mut self, url: &str, fields: &[(&str, &str)]) -> Page {
        self.follow(url.to_owned(), Some(fields)).await
    }

    /// On a provider's login page: signs in as `username` and gives consent; the page the
    /// provider's redirect ends on (the relying party's, after its callback).
    pub(crate) async fn sign_in_at_provider(&mut self, login: &Page, username: &str, password: &str) -> Page {
        assert_eq!(login.status, StatusCode::OK, "the provider's login page at {}: {}", login.url, login.body);
        let csrf = login.field("csrfmiddlewaretoken").expect("the login form's CSRF token");
        let request = login.field("authz_request_object").expect("the login form carries the request object");
        let action = format!("{}/oidc/op/authorization", origin(&login.url));
        let consent = self
            .post(
                &action,
                &[
                    ("csrfmiddlewaretoken", &csrf),
                    ("authz_request_object", &request),
                    ("username", username),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(consent.status, StatusCode::OK, "the consent page at {}: {}", consent.url, consent.body);
        assert!(consent.url.ends_with("/oidc/op/consent"), "the provider asks for consent: {consent:?}");
        let csrf = consent.field("csrfmiddlewaretoken").expect("the consent form's CSRF token");
        self.post(&consent.url.clone(), &[("csrfmiddlewaretoken", &csrf), ("agree", "True")]).await
    }
}

/// `location` made absolute against `base`.
fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else {
        format!("{}{location}", origin(base))
    }
}

/// Percent-encodes a form value.
pub(crate) fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
