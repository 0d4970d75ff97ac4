//! Staff sign-in under guessing: attempts are counted before the password is checked, checks
//! are bounded, and guessing from one address never locks the account's owner out of theirs.
//! Driven through the real router on a real SQLite store, with the peer address set as the
//! server sets it for a real connection.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use jiff::Timestamp;
use ricevo_web::limits::PasswordGate;
use ricevo_web::{AppState, WebConfig};
use tower::ServiceExt;

const NOW: &str = "2026-11-23T08:00:00Z";
const PASSWORD: &str = "una-password-lunga-1";
const ADMIN: &str = "admin@esempio.it";
const GUESSER: &str = "203.0.113.7";
const OWNER: &str = "127.0.0.2";

static PASSWORD_HASH: LazyLock<String> = LazyLock::new(|| ricevo_web::staff::hash_password(PASSWORD));

struct App {
    router: Router,
    gate: Arc<PasswordGate>,
    _dir: tempfile::TempDir,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn app_with(config: WebConfig) -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = ricevo_store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
    let hash = PASSWORD_HASH.clone();
    ricevo_web::demo::load(&*store, move |_| hash.clone()).await.unwrap();
    let now: Timestamp = NOW.parse().unwrap();
    let state = AppState::with_clock(store, config, Arc::new(move || now));
    App { gate: state.password_gate.clone(), router: ricevo_web::router(state), _dir: dir }
}

async fn send(app: &App, req: Request<Body>) -> Answer {
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

/// The login form's double-submit pair: (hidden field, cookie).
async fn login_form(app: &App) -> (String, String) {
    let page = send(app, Request::get("/demo/staff/login").body(Body::empty()).unwrap()).await;
    let at = page.body.find("name=\"login_csrf\" value=\"").unwrap() + 25;
    let field = page.body[at..at + page.body[at..].find('"').unwrap()].to_owned();
    let cookie = page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("ricevo_login_csrf="))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .unwrap();
    (field, cookie)
}

fn login_request(form: &(String, String), from: &str, email: &str, password: &str) -> Request<Body> {
    let body = format!("login_csrf={}&email={}&password={}", encode(&form.0), encode(email), encode(password));
    let mut req = Request::post("/demo/staff/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("ricevo_login_csrf={}", form.1))
        .body(Body::from(body))
        .unwrap();
    let peer: SocketAddr = format!("{from}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    req
}

async fn login_from(app: &App, from: &str, email: &str, password: &str) -> Answer {
    let form = login_form(app).await;
    send(app, login_request(&form, from, email, password)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_concurrent_guesses_gets_no_more_password_checks_than_the_budget() {
    let app = Arc::new(app_with(WebConfig::default()).await);
    let form = login_form(&app).await;
    let before = app.gate.runs();
    let guesses = (0..40).map(|i| {
        let app = app.clone();
        let req = login_request(&form, GUESSER, ADMIN, &format!("guess-{i}"));
        tokio::spawn(async move { send(&app, req).await.status })
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(guesses).await.into_iter().map(Result::unwrap).collect();
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, refused), (10, 30), "{statuses:?}");
    assert_eq!(app.gate.runs() - before, 10, "only the budget's attempts were hashed");
}

#[tokio::test]
async fn after_a_guessing_burst_the_owner_still_signs_in_from_their_own_address_and_the_guesser_stays_out() {
    let app = app_with(WebConfig::default()).await;
    // The owner has signed in from their office before.
    assert_eq!(login_from(&app, OWNER, ADMIN, PASSWORD).await.status, StatusCode::SEE_OTHER);
    for attempt in 1..=10 {
        let answer = login_from(&app, GUESSER, ADMIN, &format!("guess-{attempt}")).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let guesser = login_from(&app, GUESSER, ADMIN, "guess-11").await;
    assert_eq!(guesser.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(guesser.body.contains("da questo indirizzo: riprova tra 15 minuti"), "{}", guesser.body);
    assert_eq!(guesser.headers[header::RETRY_AFTER], "900");

    let owner = login_from(&app, OWNER, ADMIN, PASSWORD).await;
    assert_eq!(owner.status, StatusCode::SEE_OTHER, "{}", owner.body);
    assert!(
        owner.headers.get_all(header::SET_COOKIE).iter().any(|c| c.to_str().unwrap().starts_with("ricevo_session="))
    );

    // The guesser's address stays throttled, right password or not.
    let again = login_from(&app, GUESSER, ADMIN, PASSWORD).await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn guessing_from_many_addresses_locks_the_account_for_strangers_only() {
    let app = app_with(WebConfig::default()).await;
    assert_eq!(login_from(&app, OWNER, ADMIN, PASSWORD).await.status, StatusCode::SEE_OTHER);
    // Two guessers, each within its own address's budget, spend the account's.
    for attempt in 0..10 {
        let from = if attempt % 2 == 0 { "203.0.113.1" } else { "203.0.113.2" };
        assert_eq!(login_from(&app, from, ADMIN, "guess").await.status, StatusCode::UNAUTHORIZED);
    }
    // A third stranger, even with the right password, is held: in English when asked.
    let form = login_form(&app).await;
    let mut req = login_request(&form, "198.51.100.3", ADMIN, PASSWORD);
    req.headers_mut().insert(header::ACCEPT_LANGUAGE, "en".parse().unwrap());
    let stranger = send(&app, req).await;
    assert_eq!(stranger.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(stranger.body.contains("on this account from unknown addresses"), "{}", stranger.body);
    assert!(stranger.body.contains("From the network you usually sign in from"), "{}", stranger.body);
    // An unknown e-mail is throttled the same way, so a refusal tells nothing about accounts.
    for attempt in 0..10 {
        let from = if attempt % 2 == 0 { "203.0.113.3" } else { "203.0.113.4" };
        assert_eq!(login_from(&app, from, "nessuno@esempio.it", "guess").await.status, StatusCode::UNAUTHORIZED);
    }
    let unknown = login_from(&app, "198.51.100.3", "nessuno@esempio.it", "guess").await;
    assert_eq!(unknown.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(unknown.body.contains("su questo account da indirizzi sconosciuti"), "{}", unknown.body);
    // The owner, at the address they signed in from, is not held.
    assert_eq!(login_from(&app, OWNER, ADMIN, PASSWORD).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn behind_a_proxy_a_guesser_cannot_dodge_the_throttle_by_writing_its_own_forwarded_address() {
    let app = app_with(WebConfig { trust_forwarded_for: true, ..WebConfig::default() }).await;
    let form = login_form(&app).await;
    let mut statuses = Vec::new();
    for attempt in 0..11 {
        // The guesser writes a fresh address each time (and tries a fresh e-mail, so only the
        // address's budget can stop it); the proxy appends the address it saw.
        let email = format!("utente{attempt}@esempio.it");
        let mut req = login_request(&form, "127.0.0.1", &email, "guess");
        let forwarded = format!("198.51.100.{attempt}, {GUESSER}");
        req.headers_mut().insert("x-forwarded-for", forwarded.parse().unwrap());
        statuses.push(send(&app, req).await.status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count(), 10, "{statuses:?}");
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS);
}
