//! The citizen pages, driven through the real router on a real SQLite store, without JavaScript:
//! every step is a plain GET or form POST, as a browser with scripts off would send it.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use jiff::Timestamp;
use ricevo_web::{AppState, WebConfig};
use tower::ServiceExt;

// Monday 23 November 2026, 09:00 in Rome.
const NOW: &str = "2026-11-23T08:00:00Z";

struct App {
    router: Router,
    state: AppState,
    _dir: tempfile::TempDir,
}

async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = ricevo_store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
    ricevo_web::demo::load(&*store, |pw| format!("plain:{pw}")).await.unwrap();
    let now: Timestamp = NOW.parse().unwrap();
    let state = AppState::with_clock(store, WebConfig::default(), Arc::new(move || now));
    App { router: ricevo_web::router(state.clone()), state, _dir: dir }
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    /// The body with character references resolved, to compare with plain text.
    body: String,
    /// The body as sent.
    raw: String,
}

impl Page {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The hidden fields of the page's forms, as they would be posted back.
    fn hidden_fields(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = self.raw.as_str();
        while let Some(i) = rest.find("<input type=\"hidden\" name=\"") {
            rest = &rest[i..];
            let tag = &rest[..rest.find('>').unwrap()];
            let name = between(tag, "name=\"", "\"").unwrap();
            let value = between(tag, "value=\"", "\"").unwrap_or_default();
            out.push((unescape(&name), unescape(&value)));
            rest = &rest[tag.len()..];
        }
        out
    }

    /// Whether this is the summary to confirm (step 5 of the booking).
    fn is_summary(&self) -> bool {
        self.status == StatusCode::OK && self.raw.contains("name=\"form_key\"")
    }

    /// The value of the hidden form token.
    fn csrf_field(&self) -> String {
        between(&self.body, "name=\"csrf\" value=\"", "\"").unwrap()
    }

    /// Every `href`, `src` and `action` of the page, unescaped.
    fn urls(&self) -> Vec<String> {
        let mut out = Vec::new();
        for attr in ["href=\"", "src=\"", "action=\""] {
            let mut rest = self.body.as_str();
            while let Some(i) = rest.find(attr) {
                rest = &rest[i + attr.len()..];
                let end = rest.find('"').unwrap();
                out.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
        }
        out
    }

    /// The `href` of the link whose text is `text`.
    fn link_to(&self, text: &str) -> String {
        let end = self.body.find(&format!(">{text}</a>")).unwrap_or_else(|| panic!("no link {text}"));
        let tag = &self.body[self.body[..end].rfind("<a ").unwrap()..end];
        between(tag, "href=\"", "\"").unwrap()
    }

    /// The booking links of the slot picker.
    fn slot_links(&self) -> Vec<String> {
        self.urls().into_iter().filter(|u| u.contains("/book?start=")).collect()
    }

    /// The accessible name of the element linking to `href`.
    fn label_of(&self, href: &str) -> String {
        let at = self.body.find(&format!("href=\"{href}\"")).unwrap();
        between(&self.body[at..], "aria-label=\"", "\"").unwrap()
    }
}

/// Resolves the character references askama writes.
fn unescape(s: &str) -> String {
    [("&#38;", "&"), ("&amp;", "&"), ("&#39;", "'"), ("&#34;", "\""), ("&quot;", "\""), ("&#60;", "<"), ("&#62;", ">")]
        .iter()
        .fold(s.to_owned(), |acc, (from, to)| acc.replace(from, to))
}

fn between(s: &str, start: &str, end: &str) -> Option<String> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(s[i..j].to_owned())
}

async fn send(app: &App, req: Request<Body>) -> Page {
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22).await.unwrap();
    let raw = String::from_utf8_lossy(&bytes).into_owned();
    Page { status, headers, body: unescape(&raw), raw }
}

async fn get(app: &App, uri: &str) -> Page {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn get_with(app: &App, uri: &str, name: &str, value: &str) -> Page {
    send(app, Request::get(uri).header(name, value).body(Body::empty()).unwrap()).await
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn post(app: &App, uri: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Page {
    let body = fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
    let mut req = Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    send(app, req.body(Body::from(body)).unwrap()).await
}

/// The `name=value` of the form token cookie a page set.
fn csrf_cookie(page: &Page) -> String {
    page.cookie("ricevo_csrf").unwrap().split(';').next().unwrap().to_owned()
}

/// Opens the service page of `name` from the town page.
async fn service_page(app: &App, name: &str) -> (String, Page) {
    let town = get(app, "/demo").await;
    let href = town.link_to(name);
    let page = get(app, &href).await;
    assert_eq!(page.status, StatusCode::OK);
    (href, page)
}

const CITIZEN: [(&str, &str); 5] = [
    ("name", "Maria Rossi"),
    ("email", "maria@example.it"),
    ("phone", "+39 333 1234567"),
    ("fiscal_code", "RSSMRA85T10A562S"),
    ("notes", "Porto i documenti"),
];

/// Presses "confirm" on a summary page posted to `uri`: everything it carries, sent back.
async fn confirm(app: &App, uri: &str, cookie: &str, summary: &Page) -> Page {
    assert!(summary.is_summary(), "not a summary ({}): {}", summary.status, summary.body);
    let fields = summary.hidden_fields();
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    post(app, uri, Some(cookie), &fields).await
}

/// Posts a whole booking form; when the summary comes back, confirms it.
async fn post_and_confirm(app: &App, uri: &str, cookie: &str, fields: &[(&str, &str)]) -> Page {
    let answer = post(app, uri, Some(cookie), fields).await;
    if answer.is_summary() { confirm(app, uri, cookie, &answer).await } else { answer }
}

/// Fills and posts the booking form at `slot_href`, and confirms its summary; returns the
/// form page and the answer.
async fn book(app: &App, slot_href: &str, mode: &str, extra: &[(&str, &str)]) -> (Page, Page) {
    let form = get(app, slot_href).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let cookie = csrf_cookie(&form);
    let csrf = form.csrf_field();
    let mut fields: Vec<(&str, &str)> = CITIZEN.to_vec();
    fields.extend([("mode", mode), ("privacy_accepted", "1"), ("email_lang", "it"), ("csrf", csrf.as_str())]);
    fields.extend_from_slice(extra);
    let answer = post_and_confirm(app, slot_href, &cookie, &fields).await;
    (form, answer)
}

/// The citizen's token from the redirect after booking.
fn token_of(redirect: &Page) -> String {
    let location = redirect.header(header::LOCATION);
    location.strip_prefix("/a/").unwrap().split('?').next().unwrap().to_owned()
}

fn no_other_origin(page: &Page) {
    for url in page.urls() {
        let lower = url.to_ascii_lowercase();
        assert!(
            !(lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("//")),
            "a page refers to another origin: {url}"
        );
    }
}

#[tokio::test]
async fn a_citizen_books_views_downloads_and_cancels_without_javascript() {
    let app = app().await;
    let index = get(&app, "/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.body.contains("href=\"/demo\""), "{}", index.body);

    let town = get(&app, "/demo").await;
    assert_eq!(town.status, StatusCode::OK);
    for office in ["Anagrafe", "Tributi", "Edilizia / SUE", "Polizia Municipale", "Ufficio del Sindaco"] {
        assert!(town.body.contains(office), "missing {office}");
    }
    assert!(town.body.contains("30 minuti · Videochiamata, In presenza, allo sportello, Telefonata"), "{}", town.body);

    let (service_href, service) = service_page(&app, "Cambio di residenza").await;
    assert!(service.body.contains("Un documento d'identità"), "what to bring is shown");
    let slots = service.slot_links();
    assert!(!slots.is_empty(), "the picker offers times");
    let slot = slots[0].clone();
    let label = service.label_of(&slot);
    assert!(label.starts_with("Prenota lunedì 23 novembre 2026 alle "), "{label}");
    assert!(label.ends_with(", 2 posti liberi"), "{label}");

    let (form, done) = book(&app, &slot, "in_person", &[]).await;
    assert!(form.body.contains("Informativa sulla privacy") && form.body.contains("Il Comune di Esempio, titolare"));
    assert!(form.cookie("ricevo_csrf").unwrap().contains("SameSite=Strict"));
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let location = done.header(header::LOCATION).to_owned();
    assert!(location.starts_with("/a/") && location.ends_with("?booked=1"), "{location}");
    let token = token_of(&done);

    let manage = get(&app, &location).await;
    assert_eq!(manage.status, StatusCode::OK);
    assert!(manage.body.contains("Prenotazione confermata"));
    assert!(manage.body.contains("role=\"status\""));
    assert!(manage.body.contains("Cambio di residenza") && manage.body.contains("Anagrafe"));
    assert!(manage.body.contains("Piazza del Municipio 1"), "the address of an in-person meeting is shown");
    assert!(manage.body.contains("lunedì 23 novembre 2026, ore "));
    assert!(manage.body.contains("Prenotato") && manage.body.contains("Maria Rossi"));
    assert!(manage.body.contains("noindex"), "a personal page stays out of search engines");
    assert!(!manage.body.contains("/join"), "no join link for an in-person meeting");
    assert_eq!(manage.header(header::CACHE_CONTROL), "no-store");

    let api = get(&app, &format!("/api/v1/appointments/{token}")).await;
    let public_id = between(&api.body, "\"id\":\"", "\"").unwrap();
    let ics = get(&app, &format!("/a/{token}/invite.ics")).await;
    assert_eq!(ics.status, StatusCode::OK);
    assert!(ics.header(header::CONTENT_TYPE).starts_with("text/calendar"));
    assert!(ics.body.contains("METHOD:REQUEST"), "{}", ics.body);
    assert!(ics.body.contains(&format!("UID:{public_id}@ricevo")), "{}", ics.body);

    let taken = get(&app, &service_href).await;
    assert!(taken.label_of(&slot).ends_with(", 1 posto libero"), "{}", taken.label_of(&slot));

    let confirm = get(&app, &format!("/a/{token}/cancel")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("Vuoi annullare l'appuntamento?"));
    let still = get(&app, &format!("/api/v1/appointments/{token}")).await;
    assert!(still.body.contains("\"status\":\"booked\""), "opening the cancel link does not cancel");

    let cancelled =
        post(&app, &format!("/a/{token}/cancel"), Some(&csrf_cookie(&confirm)), &[("csrf", &confirm.csrf_field())])
            .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert!(cancelled.body.contains("Appuntamento annullato"));
    let after = get(&app, &format!("/api/v1/appointments/{token}")).await;
    assert!(after.body.contains("\"status\":\"cancelled\""));
    let ics = get(&app, &format!("/a/{token}/invite.ics")).await;
    assert!(ics.body.contains("METHOD:CANCEL"));
    let manage = get(&app, &format!("/a/{token}")).await;
    assert!(manage.body.contains("Annullato") && manage.body.contains("Prenota un nuovo appuntamento"));
    assert!(!manage.body.contains("/cancel\""), "a cancelled appointment offers no cancel link");

    let free = get(&app, &service_href).await;
    assert!(free.label_of(&slot).ends_with(", 2 posti liberi"), "the slot is free again");
}

#[tokio::test]
async fn a_citizen_moves_an_appointment_by_choosing_a_new_time() {
    let app = app().await;
    let (_, service) = service_page(&app, "Incontro con il Sindaco").await;
    let slots = service.slot_links();
    let (_, done) = book(&app, &slots[0], "video", &[]).await;
    let token = token_of(&done);
    let manage = get(&app, &format!("/a/{token}")).await;
    assert!(manage.body.contains(&format!("href=\"/a/{token}/join\"")), "a video meeting links its waiting room");

    let picker = get(&app, &format!("/a/{token}/move")).await;
    assert_eq!(picker.status, StatusCode::OK);
    assert!(picker.body.contains("aria-label=\"Sposta a "), "{}", picker.body);
    let new_start = slots[3].split("start=").nth(1).unwrap().replace("%3A", ":").replace("%2B", "+");
    assert!(picker.body.contains(&format!("value=\"{new_start}\"")), "the new time is a button of the move form");

    // Choosing a time asks first, old → new; nothing moves until confirmed.
    let asked = post(
        &app,
        &format!("/a/{token}/move"),
        Some(&csrf_cookie(&picker)),
        &[("csrf", &picker.csrf_field()), ("start", &new_start)],
    )
    .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(asked.body.contains("Confermi lo spostamento?") && asked.body.contains("Nuovo orario"), "{}", asked.body);
    let unmoved = get(&app, &format!("/api/v1/appointments/{token}")).await;
    assert!(!unmoved.body.contains(&format!("\"start\":\"{new_start}\"")), "not moved before the confirmation");
    let fields = asked.hidden_fields();
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert!(fields.contains(&("confirm", "1")) && fields.contains(&("start", new_start.as_str())), "{fields:?}");
    let moved = post(&app, &format!("/a/{token}/move"), Some(&csrf_cookie(&picker)), &fields).await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    assert_eq!(moved.header(header::LOCATION), format!("/a/{token}?moved=1"));
    let manage = get(&app, &format!("/a/{token}?moved=1")).await;
    assert!(manage.body.contains("Appuntamento spostato"));
    let api = get(&app, &format!("/api/v1/appointments/{token}")).await;
    assert!(api.body.contains(&format!("\"start\":\"{new_start}\"")), "{}", api.body);
}

#[tokio::test]
async fn pages_speak_english_when_asked_by_query_or_by_the_browser() {
    let app = app().await;
    let by_query = get(&app, "/demo?lang=en").await;
    assert!(by_query.body.contains("<html lang=\"en\">"));
    assert!(by_query.body.contains("Choose a service"));
    assert!(by_query.body.contains("30 minutes · Video call"));
    assert!(by_query.cookie("lang").unwrap().starts_with("lang=en;"), "the choice is remembered");
    assert_eq!(by_query.link_to("Italiano"), "/demo?lang=it", "a visible switch back to Italian");

    let by_browser = get_with(&app, "/demo", "accept-language", "en-GB,en;q=0.9").await;
    assert!(by_browser.body.contains("<html lang=\"en\">"));
    assert!(by_browser.body.contains("Skip to content"));

    let by_cookie = get_with(&app, "/demo", "cookie", "lang=en").await;
    assert!(by_cookie.body.contains("<html lang=\"en\">"));

    let italian = get(&app, "/demo").await;
    assert!(italian.body.contains("<html lang=\"it\">"));
    assert!(italian.body.contains("Vai al contenuto"));
    assert_eq!(italian.link_to("English"), "/demo?lang=en");

    let (_, service) = service_page(&app, "TARI / IMU").await;
    let english = get(&app, &format!("{}&lang=en", service.slot_links()[0])).await;
    assert!(english.body.contains("Appointment details") && english.body.contains(">Next</button>"));
    let missing = get_with(&app, "/demo/services/999", "accept-language", "en").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Service not found."));
}

#[tokio::test]
async fn field_errors_are_listed_on_top_and_tied_to_their_fields_with_the_values_kept() {
    let app = app().await;
    let (_, service) = service_page(&app, "Carta d'identità elettronica").await;
    let slot = service.slot_links()[0].clone();
    let form = get(&app, &slot).await;
    // One way of marking: optional fields say "(facoltativo)", required ones carry no mark.
    assert!(form.body.contains("Si tratta di primo rilascio o di rinnovo?"));
    assert!(!form.body.contains("(obbligatoria)") && form.body.contains("Note per l'ufficio (facoltativo)"));
    assert!(!form.body.contains("value=\"video\""), "only the modes the service offers");
    let cookie = csrf_cookie(&form);
    let csrf = form.csrf_field();
    let answer = post(
        &app,
        &slot,
        Some(&cookie),
        &[("name", "Maria Rossi"), ("email", "maria-at-example"), ("mode", "in_person"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = &answer.body;
    assert!(body.contains("<title>Errore: "), "the title says the page has errors");
    let summary = between(body, "role=\"alert\"", "</div>").unwrap();
    for anchor in ["#f-email", "#f-privacy", "#f-q0-0"] {
        assert!(summary.contains(&format!("href=\"{anchor}\"")), "summary links {anchor}: {summary}");
    }
    let email = between(body, "<input type=\"email\"", ">").unwrap();
    assert!(email.contains("id=\"f-email\"") && email.contains("aria-invalid=\"true\""), "{email}");
    assert!(email.contains("aria-describedby=\"f-email-hint f-email-error\""), "{email}");
    assert!(email.contains("value=\"maria-at-example\""), "the typed value is kept: {email}");
    assert!(body.contains("id=\"f-email-error\""));
    assert!(body.contains("value=\"Maria Rossi\""));
    assert!(body.contains("id=\"f-privacy\"") && body.contains("f-privacy-error"));
    let question = between(body, "id=\"f-q0-0\"", ">").unwrap();
    assert!(question.contains("aria-invalid=\"true\"") && question.contains("aria-describedby=\"f-q0-error\""));
    assert!(between(body, "id=\"f-mode-0\"", ">").unwrap().contains("checked"), "the chosen mode is kept");
    let name = between(body, "id=\"f-name\"", ">").unwrap();
    assert!(!name.contains("aria-invalid"), "a valid field is not marked: {name}");
}

#[tokio::test]
async fn what_a_citizen_types_is_escaped_when_the_form_comes_back() {
    let app = app().await;
    let (_, service) = service_page(&app, "TARI / IMU").await;
    let slot = service.slot_links()[0].clone();
    let form = get(&app, &slot).await;
    let typed = "<script>alert(1)</script>\" onfocus=\"x";
    let answer = post(
        &app,
        &slot,
        Some(&csrf_cookie(&form)),
        &[("name", "Maria"), ("email", typed), ("notes", typed), ("csrf", &form.csrf_field())],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!answer.raw.contains("<script>") && !answer.raw.contains("\" onfocus"), "{}", answer.raw);
    assert!(answer.raw.contains("&#60;script&#62;"), "{}", answer.raw);
}

#[tokio::test]
async fn a_slot_taken_meanwhile_offers_the_nearest_free_times_and_keeps_the_details() {
    let app = app().await;
    let (_, service) = service_page(&app, "TARI / IMU").await;
    let slot = service.slot_links()[0].clone();
    let (_, first) = book(&app, &slot, "phone", &[]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);

    let (_, second) = book(&app, &slot, "phone", &[]).await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert!(second.body.contains("Questo orario è appena stato prenotato da qualcun altro"), "{}", second.body);
    assert!(second.body.contains("Scegli uno di questi orari liberi"));
    let alternative = between(&second.body, "id=\"f-start-0\" name=\"start\" value=\"", "\"").unwrap();
    assert!(second.body.contains("value=\"Maria Rossi\""), "the details are kept");

    // The page was posted with the token's cookie, so it carries the same token on.
    let csrf = second.csrf_field();
    let cookie = format!("ricevo_csrf={csrf}");
    let mut fields: Vec<(&str, &str)> = CITIZEN.to_vec();
    fields.extend([("mode", "phone"), ("privacy_accepted", "1"), ("csrf", &csrf), ("start", &alternative)]);
    let third = post_and_confirm(&app, &slot, &cookie, &fields).await;
    assert_eq!(third.status, StatusCode::SEE_OTHER, "choosing an alternative books it: {}", third.body);
    let api = get(&app, &format!("/api/v1/appointments/{}", token_of(&third))).await;
    assert!(api.body.contains(&format!("\"start\":\"{alternative}\"")));
}

#[tokio::test]
async fn forms_without_a_matching_token_are_refused_with_an_explanation() {
    let app = app().await;
    let (_, service) = service_page(&app, "TARI / IMU").await;
    let slot = service.slot_links()[0].clone();
    let form = get(&app, &slot).await;
    let cookie = csrf_cookie(&form);
    let csrf = form.csrf_field();
    let mut fields: Vec<(&str, &str)> = CITIZEN.to_vec();
    fields.extend([("mode", "phone"), ("privacy_accepted", "1")]);

    let mut no_field = fields.clone();
    no_field.push(("csrf", ""));
    let missing = post(&app, &slot, Some(&cookie), &no_field).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.body.contains("Il modulo è scaduto"));

    let mut with_field = fields.clone();
    with_field.push(("csrf", &csrf));
    let no_cookie = post(&app, &slot, None, &with_field).await;
    assert_eq!(no_cookie.status, StatusCode::FORBIDDEN);

    let other = "ricevo_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let mismatched = post(&app, &slot, Some(other), &with_field).await;
    assert_eq!(mismatched.status, StatusCode::FORBIDDEN);
    assert!(mismatched.body.contains("<html lang=\"it\">"));

    let body = with_field.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
    let cross = Request::post(&slot)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &cookie)
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(send(&app, cross).await.status, StatusCode::FORBIDDEN, "a form posted from another site");

    let (_, done) = book(&app, &slot, "phone", &[]).await;
    let token = token_of(&done);
    let refused = post(&app, &format!("/a/{token}/cancel"), Some(&cookie), &[("csrf", "wrong")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let api = get(&app, &format!("/api/v1/appointments/{token}")).await;
    assert!(api.body.contains("\"status\":\"booked\""), "a refused cancel changes nothing");
    let refused_move = post(&app, &format!("/a/{token}/move"), None, &[("start", "2026-11-24T09:00:00+01:00")]).await;
    assert_eq!(refused_move.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn unknown_towns_services_and_links_get_a_friendly_not_found_page_in_italian() {
    let app = app().await;
    for (uri, message) in [
        ("/nessuno", "Pagina o risorsa non trovata."),
        ("/demo/services/999", "Servizio non trovato."),
        ("/demo/services/abc", "Servizio non trovato."),
        ("/demo/services/999/book?start=2026-11-24T09:00:00%2B01:00", "Servizio non trovato."),
        ("/a/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "Pagina o risorsa non trovata."),
        ("/a/short/cancel", "Pagina o risorsa non trovata."),
        ("/a/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/invite.ics", "Pagina o risorsa non trovata."),
    ] {
        let page = get(&app, uri).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(page.header(header::CONTENT_TYPE).starts_with("text/html"), "{uri}");
        assert!(page.body.contains("<html lang=\"it\">"), "{uri}");
        assert!(page.body.contains(message), "{uri}: {}", page.body);
        assert!(page.body.contains("Torna alla pagina iniziale"), "{uri}");
    }
    let bad_time = get(&app, "/demo/services/1/book?start=domani").await;
    assert_eq!(bad_time.status, StatusCode::BAD_REQUEST);
    assert!(bad_time.body.contains("Torna all'elenco degli orari"));
}

#[tokio::test]
async fn the_fallback_page_for_unknown_addresses_is_html_in_the_visitors_language() {
    let app = app().await;
    let fallback = App {
        router: Router::new().fallback(ricevo_web::pages::not_found).with_state(app.state.clone()),
        state: app.state.clone(),
        _dir: tempfile::tempdir().unwrap(),
    };
    let page = get_with(&fallback, "/demo/services/1/nothing", "accept-language", "en").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.header(header::CONTENT_TYPE).starts_with("text/html"));
    assert!(page.body.contains("<html lang=\"en\">") && page.body.contains("Page not found"));
}

#[tokio::test]
async fn embed_mode_drops_the_page_frame_keeps_the_flow_inside_and_allows_framing() {
    let app = app().await;
    let normal = get(&app, "/demo").await;
    assert!(normal.body.contains("<header>") && normal.body.contains("<footer"));
    assert!(normal.header(header::CONTENT_SECURITY_POLICY).contains("frame-ancestors 'none'"));
    assert!(!normal.body.contains("frame.js"), "no script at all outside embed mode");

    let town = get(&app, "/demo?embed=1").await;
    assert_eq!(town.status, StatusCode::OK);
    assert!(!town.body.contains("<header>") && !town.body.contains("<footer"));
    let csp = town.header(header::CONTENT_SECURITY_POLICY);
    assert!(csp.contains("frame-ancestors *") && csp.contains("script-src 'self'"), "{csp}");
    assert!(town.body.contains("/static/frame.js?v="));
    let service_href = town.link_to("TARI / IMU");
    assert!(service_href.contains("embed=1"), "{service_href}");

    let service = get(&app, &service_href).await;
    let slot = service.slot_links()[0].clone();
    assert!(slot.contains("embed=1"), "{slot}");
    let (form, done) = book(&app, &slot, "video", &[]).await;
    assert!(between(&form.body, "<form", ">").unwrap().contains("embed=1"), "the form stays in embed mode");
    let location = done.header(header::LOCATION);
    assert!(location.contains("booked=1") && location.contains("embed=1"), "{location}");
    let manage = get(&app, location).await;
    assert!(manage.header(header::CONTENT_SECURITY_POLICY).contains("frame-ancestors *"));
    assert!(!manage.body.contains("<header>"));
    assert!(manage.link_to("Annulla l'appuntamento").contains("embed=1"));
}

#[tokio::test]
async fn no_page_refers_to_another_origin() {
    let app = app().await;
    let (service_href, service) = service_page(&app, "Consulenza tecnica").await;
    let slot = service.slot_links()[0].clone();
    let (form, done) = book(&app, &slot, "video", &[("answer.tecnico", "yes")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let token = token_of(&done);
    let mut pages = vec![service, form];
    for uri in [
        "/".to_owned(),
        "/demo".to_owned(),
        "/demo?embed=1".to_owned(),
        service_href,
        format!("/a/{token}?booked=1"),
        format!("/a/{token}/cancel"),
        format!("/a/{token}/move"),
        "/nessuno".to_owned(),
    ] {
        let page = get(&app, &uri).await;
        assert!(page.body.contains("<!DOCTYPE html>"), "{uri}");
        pages.push(page);
    }
    for page in &pages {
        no_other_origin(page);
        assert!(!page.body.contains(" style=\""), "no inline styles under the CSP");
        assert!(!page.body.contains("<script>"), "no inline scripts under the CSP");
    }
}

#[tokio::test]
async fn the_picker_pages_two_weeks_at_a_time_and_says_when_a_day_has_no_times() {
    let app = app().await;
    let (href, service) = service_page(&app, "Cambio di residenza").await;
    assert!(service.body.contains("<h3>lunedì 23 novembre 2026</h3>"));
    // A weekend without times is one line saying why.
    assert!(service.body.contains("<h3>sabato 28 novembre 2026 – domenica 29 novembre 2026</h3>"), "{}", service.body);
    assert!(service.body.contains("Ufficio chiuso"));
    assert!(!service.body.contains("Giorni precedenti"), "nothing bookable before today");
    let later = service.link_to("Giorni successivi →");
    assert_eq!(later, format!("{href}?from=2026-12-07#times"));
    let next = get(&app, &later).await;
    assert!(next.body.contains("<h3>lunedì 7 dicembre 2026</h3>"));
    assert!(next.body.contains("<h3>martedì 8 dicembre 2026</h3>"), "{}", next.body);
    assert!(next.body.contains("Festivo: Immacolata"), "a holiday says its name: {}", next.body);
    assert!(!next.body.contains("<h3>domenica 6 dicembre 2026</h3>"));
    assert!(next.slot_links().iter().all(|s| !s.contains("2026-11-")), "only the days asked for");
    assert_eq!(next.link_to("← Giorni precedenti"), format!("{href}?from=2026-11-23#times"));
    let past = get(&app, &format!("{href}?from=2020-01-01")).await;
    assert!(past.body.contains("<h3>lunedì 23 novembre 2026</h3>"), "a past start shows from today");
}

#[tokio::test]
async fn static_files_are_served_with_their_type_and_long_caching_when_versioned() {
    let app = app().await;
    let town = get(&app, "/demo").await;
    let css_href = town.urls().into_iter().find(|u| u.starts_with("/static/ricevo.css?v=")).unwrap();
    let css = get(&app, &css_href).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header(header::CONTENT_TYPE), "text/css; charset=utf-8");
    assert!(css.header(header::CACHE_CONTROL).contains("immutable"));
    assert!(css.body.contains("#0066cc") && css.body.contains("prefers-reduced-motion"));

    let embed = get(&app, "/static/embed.js").await;
    assert_eq!(embed.header(header::CONTENT_TYPE), "text/javascript; charset=utf-8");
    assert_eq!(embed.header(header::CACHE_CONTROL), "public, max-age=3600", "the town's copy is not pinned");
    let frame = get(&app, "/static/frame.js").await;
    assert!(frame.body.contains("postMessage"));
    let icon = get(&app, "/static/favicon.svg").await;
    assert_eq!(icon.header(header::CONTENT_TYPE), "image/svg+xml");

    let etag = css.header(header::ETAG).to_owned();
    let again = get_with(&app, &css_href, "if-none-match", &etag).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(get(&app, "/static/nope.css").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/static/..%2Fpages.rs").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_booking_pages_stay_small_for_weak_connections() {
    let app = app().await;
    let (_, service) = service_page(&app, "Cambio di residenza").await;
    let form = get(&app, &service.slot_links()[0]).await;
    let css = get(&app, "/static/ricevo.css").await;
    // Uncompressed: compressed over the wire they are several times smaller still.
    assert!(service.body.len() + css.body.len() < 60 * 1024, "service page {} bytes", service.body.len());
    assert!(form.body.len() + css.body.len() < 30 * 1024, "form page {} bytes", form.body.len());
}

// A time at the edge of the calendar (where adding the meeting's length overflows) is a time
// that cannot be read: 400 with the way back to the picker, not a 500.
#[tokio::test]
async fn a_booking_form_posted_with_a_time_at_the_edge_of_the_calendar_is_refused_with_a_400() {
    let app = app().await;
    let (_, service) = service_page(&app, "Cambio di residenza").await;
    let slot = service.slot_links()[0].clone();
    for start in ["9999-12-31T23:59:59Z", "-009999-01-01T00:00:00Z"] {
        let form = get(&app, &slot).await;
        let cookie = csrf_cookie(&form);
        let csrf = form.csrf_field();
        let mut fields: Vec<(&str, &str)> = CITIZEN.to_vec();
        fields.extend([("mode", "video"), ("privacy_accepted", "1"), ("csrf", csrf.as_str()), ("start", start)]);
        let answer = post(&app, &slot, Some(&cookie), &fields).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{start}: {}", answer.body);
        let shown = get(&app, &format!("{}?start={start}", slot.split('?').next().unwrap())).await;
        assert_eq!(shown.status, StatusCode::BAD_REQUEST, "{start}: {}", shown.body);
    }
    let far = get(&app, &format!("{}?from=9999-12-31", slot.split('/').take(4).collect::<Vec<_>>().join("/"))).await;
    assert_eq!(far.status, StatusCode::OK);
}

#[tokio::test]
async fn the_booking_form_tells_a_citizen_who_holds_two_active_appointments_why_a_third_is_refused() {
    let app = app().await;
    let (_, service) = service_page(&app, "Cambio di residenza").await;
    let slots = service.slot_links();
    for slot in &slots[..2] {
        let (_, booked) = book(&app, slot, "video", &[]).await;
        assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);
    }
    // The same person with their e-mail written otherwise.
    let (_, third) = book(&app, &slots[2], "video", &[("email", "MARIA+altra@example.it")]).await;
    assert_eq!(third.status, StatusCode::CONFLICT, "{}", third.body);
    assert!(third.body.contains("Hai già 2 appuntamenti attivi per questo servizio"), "{}", third.body);
    assert!(third.body.contains("value=\"Maria Rossi\""), "the details are kept");
    let english = get(&app, &format!("{}&lang=en", slots[2])).await;
    let cookie = csrf_cookie(&english);
    let csrf = english.csrf_field();
    let mut fields: Vec<(&str, &str)> = CITIZEN.to_vec();
    fields.extend([("mode", "video"), ("privacy_accepted", "1"), ("csrf", csrf.as_str())]);
    let refused = post_and_confirm(&app, &format!("{}&lang=en", slots[2]), &cookie, &fields).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("You already have 2 active appointments"), "{}", refused.body);
}

#[tokio::test]
async fn the_booking_form_answers_429_with_retry_after_once_an_address_spent_its_hourly_budget() {
    let app = app().await;
    let (_, service) = service_page(&app, "Cambio di residenza").await;
    let slots = service.slot_links();
    // Ten different citizens from one address (the default budget), then an eleventh.
    for (n, slot) in slots[..11].iter().enumerate() {
        let form = get(&app, slot).await;
        let cookie = csrf_cookie(&form);
        let csrf = form.csrf_field();
        let email = format!("persona{n}@example.it");
        let fields = [
            ("name", "Persona di prova"),
            ("email", email.as_str()),
            ("mode", "video"),
            ("privacy_accepted", "1"),
            ("csrf", csrf.as_str()),
        ];
        let answer = post_and_confirm(&app, slot, &cookie, &fields).await;
        if n < 10 {
            assert_eq!(answer.status, StatusCode::SEE_OTHER, "booking {n}: {}", answer.body);
        } else {
            assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{}", answer.body);
            assert_eq!(answer.header(header::RETRY_AFTER), "3600");
            assert!(answer.body.contains("Troppe prenotazioni o biglietti da questa connessione"), "{}", answer.body);
            assert!(answer.body.contains("value=\"Persona di prova\""), "the details are kept");
        }
    }
}

// ---- citizens without e-mail (booking) ----

#[tokio::test]
async fn a_citizen_without_e_mail_books_with_a_phone_and_the_confirmation_says_what_to_keep() {
    let app = app().await;
    let (_, service) = service_page(&app, "Cambio di residenza").await;
    let slot = service.slot_links()[0].clone();
    let form = get(&app, &slot).await;
    let cookie = csrf_cookie(&form);
    let csrf = form.csrf_field();
    // Neither e-mail nor phone: refused on the e-mail field, saying a phone will do.
    let fields =
        [("name", "Giuseppe Verdi"), ("mode", "in_person"), ("privacy_accepted", "1"), ("csrf", csrf.as_str())];
    let refused = post(&app, &slot, Some(&cookie), &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unescape(&refused.body).contains("oppure, se non ne hai uno, un numero di telefono"), "{}", refused.body);
    // The applicant's step says from the start that an e-mail is optional.
    assert!(
        unescape(&refused.body).contains("Se non hai un'e-mail lascia vuoto e indica il telefono"),
        "e-mail is optional"
    );
    let mut with_phone = fields.to_vec();
    with_phone.push(("phone", "+39 333 123 4567"));
    let done = post_and_confirm(&app, &slot, &cookie, &with_phone).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let location = done.header(header::LOCATION).to_owned();
    let token = token_of(&done);
    let manage = get(&app, &location).await;
    let body = unescape(&manage.body);
    assert!(body.contains("Conserva questi dati") && body.contains("non riceverai messaggi"), "{body}");
    assert!(body.contains(&format!("/a/{token}</a>")), "the full link is shown to be copied: {body}");
    let code = between(&body, "<strong class=\"reference-code\">", "<").unwrap();
    assert!(ricevo_core::reference::ReferenceCode::parse(&code).is_some(), "{code}");
    no_other_origin(&manage);
    // Opened again later, the page no longer shouts the box.
    let later = get(&app, &format!("/a/{token}")).await;
    assert!(!unescape(&later.body).contains("Conserva questi dati"));
    assert!(later.body.contains(&code), "the code stays on the page");
}

// ---- path: the booking steps, the town's frame, a second town ----

/// Gives the demo town its address, PEC and website, as its administrator would.
async fn demo_with_contacts(app: &App) {
    let demo = app.state.store.tenant_by_slug("demo").await.unwrap().unwrap();
    let mut settings = ricevo_store::TenantSettings::of(&demo);
    settings.address = "Piazza Grande 1, 00100 Esempio".into();
    settings.pec = "protocollo@pec.comune.esempio.it".into();
    settings.website = "https://www.comune.esempio.it".into();
    app.state.store.update_tenant_settings(demo.id, &settings).await.unwrap();
}

#[tokio::test]
async fn without_javascript_a_citizen_goes_through_the_steps_reviews_and_a_replayed_confirm_books_once() {
    let app = app().await;
    let (service_href, service) = service_page(&app, "Cambio di residenza").await;
    assert!(service.body.contains("aria-current=\"step\""), "the service page is a step of the booking");
    assert!(service.body.contains("data-element=\"appointment-booking\""), "{}", service.body);
    let slot = service.slot_links()[0].clone();

    // Step 3: how to meet, the reason and the privacy notice; nothing about the applicant yet.
    let details = get(&app, &slot).await;
    assert_eq!(details.status, StatusCode::OK);
    let current = between(&details.body, "aria-current=\"step\"", "</li>").unwrap();
    assert!(current.contains("Dettagli appuntamento"), "{current}");
    assert!(details.body.contains("Passo 3 di 5") && !details.body.contains("id=\"f-name\""));
    let cookie = csrf_cookie(&details);
    let csrf = details.csrf_field();
    let missing = post(&app, &slot, Some(&cookie), &[("csrf", &csrf), ("step", "details")]).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let summary = between(&missing.body, "id=\"errors\"", "</div>").unwrap();
    assert!(summary.contains("autofocus"), "focus moves to the error summary without scripts: {summary}");
    assert!(!summary.contains("#f-name"), "only this step's errors: {summary}");
    let (privacy, mode) = (summary.find("#f-privacy").unwrap(), summary.find("#f-mode-0").unwrap());
    assert!(privacy < mode, "the summary follows the page order: {summary}");

    // Step 4: the applicant; the details ride along unseen.
    let details_fields = [
        ("csrf", csrf.as_str()),
        ("step", "details"),
        ("privacy_accepted", "1"),
        ("mode", "in_person"),
        ("notes", "Porto i documenti"),
    ];
    let applicant = post(&app, &slot, Some(&cookie), &details_fields).await;
    assert_eq!(applicant.status, StatusCode::OK, "{}", applicant.body);
    assert!(applicant.body.contains("Passo 4 di 5") && applicant.body.contains("id=\"f-name\""));
    let carried = applicant.hidden_fields();
    assert!(carried.contains(&("notes".into(), "Porto i documenti".into())), "{carried:?}");
    let mut fields = carried.clone();
    fields.retain(|(k, _)| k != "step");
    fields.extend(
        [("step", "applicant"), ("name", "Maria Rossi"), ("email", "maria@example.it"), ("email_lang", "it")]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    // Step 5: the summary to review; nothing is booked yet.
    let review = post(&app, &slot, Some(&cookie), &fields).await;
    assert!(review.is_summary(), "{}", review.body);
    for words in ["Passo 5 di 5", "Maria Rossi", "maria@example.it", "Porto i documenti", "In presenza", "Anagrafe"] {
        assert!(review.body.contains(words), "the summary shows {words}: {}", review.body);
    }
    assert!(review.body.contains("name=\"goto\" value=\"details\"") && review.body.contains(">Modifica<"));
    assert!(get(&app, &service_href).await.label_of(&slot).ends_with(", 2 posti liberi"), "not booked yet");

    // "Modifica" brings a step back as it was filled, and on to the summary again.
    let mut edit: Vec<(&str, &str)> = Vec::new();
    let hidden = review.hidden_fields();
    edit.extend(hidden.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    edit.push(("goto", "details"));
    let again = post(&app, &slot, Some(&cookie), &edit).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.body.contains("Passo 3 di 5") && again.body.contains(">Porto i documenti</textarea>"));

    // Confirmed twice (a reload, a double press): one booking, the same page.
    let first = confirm(&app, &slot, &cookie, &review).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let second = confirm(&app, &slot, &cookie, &review).await;
    assert_eq!(second.status, StatusCode::SEE_OTHER, "{}", second.body);
    assert_eq!(first.header(header::LOCATION), second.header(header::LOCATION), "the replay leads to the same booking");
    assert!(get(&app, &service_href).await.label_of(&slot).ends_with(", 1 posto libero"), "booked once");
    let manage = get(&app, first.header(header::LOCATION)).await;
    assert!(manage.body.contains("Prenotazione confermata"));
}

#[tokio::test]
async fn citizen_pages_wear_the_towns_header_and_footer_with_the_models_data_elements_even_on_errors() {
    let app = app().await;
    demo_with_contacts(&app).await;
    let town = get(&app, "/demo").await;
    for needle in [
        "data-element=\"privacy-policy-link\"",
        "data-element=\"accessibility-link\"",
        "data-element=\"legal-notes\"",
        "data-element=\"service-link\"",
        "Piazza Grande 1, 00100 Esempio",
        "protocollo@pec.comune.esempio.it",
        "href=\"https://www.comune.esempio.it\"",
    ] {
        assert!(town.body.contains(needle), "the town page has {needle}");
    }
    // The walk-in desk is reached from the town's page, with its hours and who waits.
    let walk_in = between(&town.body, "id=\"walk-in-heading\"", "</section>").unwrap();
    assert!(walk_in.contains("href=\"/demo/walk-in/") && walk_in.contains("In attesa ora: 0"), "{walk_in}");
    let legal = get(&app, &town.link_to("Note legali")).await;
    assert_eq!(legal.status, StatusCode::OK);
    assert!(legal.body.contains("data-element=\"legal-notes-section\"") && legal.body.contains("EUPL"));
    let crumbs = between(&legal.body, "data-element=\"breadcrumb\"", "</ol>").unwrap();
    assert!(crumbs.contains("href=\"/demo\">Home</a>"), "Home is the town: {crumbs}");

    // An unknown address and an unknown service inside the town: the town's page, 404.
    for uri in ["/demo/nessuna-pagina", "/demo/services/999", "/demo/services/abc/book?start=x"] {
        let page = get(&app, uri).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(
            page.body.contains("Comune di Esempio") && page.body.contains("protocollo@pec"),
            "{uri}: {}",
            page.body
        );
        assert!(page.body.contains("href=\"/demo\""), "the way home is the town: {uri}");
        assert!(!page.body.contains(">Ricevo</span>"), "{uri}");
    }
}

#[tokio::test]
async fn a_summary_of_one_town_books_nothing_in_another_and_each_footer_shows_its_own_contacts() {
    let app = app().await;
    demo_with_contacts(&app).await;
    let store = &app.state.store;
    let other = store
        .create_tenant(&ricevo_store::NewTenant {
            slug: "altro".into(),
            name: "Comune di Altro".into(),
            time_zone: "Europe/Rome".into(),
            patron_day: None,
            contact_email: "info@altro.it".into(),
            privacy_notice: String::new(),
            retention_days: 365,
        })
        .await
        .unwrap();
    let mut settings = ricevo_store::TenantSettings::of(&other);
    settings.address = "Via Altra 2".into();
    settings.pec = "altro@pec.it".into();
    store.update_tenant_settings(other.id, &settings).await.unwrap();

    let (service_href, service) = service_page(&app, "Cambio di residenza").await;
    let slot = service.slot_links()[0].clone();
    let form = get(&app, &slot).await;
    let cookie = csrf_cookie(&form);
    let csrf = form.csrf_field();
    let mut fields: Vec<(&str, &str)> = CITIZEN.to_vec();
    fields.extend([("mode", "video"), ("privacy_accepted", "1"), ("csrf", csrf.as_str())]);
    let review = post(&app, &slot, Some(&cookie), &fields).await;
    assert!(review.is_summary(), "{}", review.body);
    // The same summary sent to the other town's address for that service: not found there.
    let foreign = slot.replacen("/demo/", "/altro/", 1);
    let refused = confirm(&app, &foreign, &cookie, &review).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);
    assert!(refused.body.contains("Comune di Altro") && !refused.body.contains("Piazza Grande"), "{}", refused.body);
    assert!(get(&app, &service_href).await.label_of(&slot).ends_with(", 2 posti liberi"), "nothing booked");

    let demo = get(&app, "/demo").await;
    let altro = get(&app, "/altro").await;
    assert!(demo.body.contains("protocollo@pec.comune.esempio.it") && !demo.body.contains("altro@pec.it"));
    assert!(altro.body.contains("altro@pec.it") && altro.body.contains("Via Altra 2"));
    assert!(!altro.body.contains("protocollo@pec") && !altro.body.contains("Piazza Grande"));
    // Its legal notes are its own.
    let legal = get(&app, "/altro/note-legali").await;
    assert!(legal.body.contains("Comune di Altro") && legal.body.contains("altro@pec.it"));
}

#[tokio::test]
async fn a_walk_in_error_names_its_field_and_the_move_picker_marks_the_current_time() {
    let app = app().await;
    let town = get(&app, "/demo").await;
    let i = town.body.find("class=\"walk-in-link\"").unwrap();
    let desk_href = between(&town.body[town.body[..i].rfind("<a ").unwrap()..i], "href=\"", "\"").unwrap();
    let desk = get(&app, &desk_href).await;
    assert_eq!(desk.status, StatusCode::OK);
    let action = between(&desk.body, "<form method=\"post\" action=\"", "\"").unwrap();
    let refused =
        post(&app, &action, Some(&csrf_cookie(&desk)), &[("csrf", &desk.csrf_field()), ("name", ""), ("email", "x")])
            .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let summary = between(&refused.body, "id=\"errors\"", "</div>").unwrap();
    assert!(summary.contains("Nome e cognome: ") && summary.contains("href=\"#name-"), "{summary}");
    let name = between(&refused.body, "<input type=\"text\" id=\"name-", ">").unwrap();
    assert!(name.contains("aria-invalid=\"true\""), "{name}");
    let bad_email = post(
        &app,
        &action,
        Some(&csrf_cookie(&desk)),
        &[("csrf", &desk.csrf_field()), ("name", "Maria Rossi"), ("email", "maria-at-example")],
    )
    .await;
    assert_eq!(bad_email.status, StatusCode::UNPROCESSABLE_ENTITY);
    let summary = between(&bad_email.body, "id=\"errors\"", "</div>").unwrap();
    assert!(summary.contains("E-mail (facoltativo): ") && summary.contains("href=\"#email-"), "{summary}");
    assert!(bad_email.body.contains("value=\"maria-at-example\""), "the typed value is kept");

    let (_, service) = service_page(&app, "Incontro con il Sindaco").await;
    let slot = service.slot_links()[0].clone();
    let (_, done) = book(&app, &slot, "video", &[]).await;
    let token = token_of(&done);
    let picker = get(&app, &format!("/a/{token}/move")).await;
    let current = between(&picker.body, "class=\"slot current\"", "</span>").unwrap();
    assert!(current.contains("il tuo orario attuale"), "{current}");
}
