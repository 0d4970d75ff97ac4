//! Signing in with SPID or CIE, at the web edge (the demo town on SQLite behind the real router;
//! the desk's tests run the same rules on PostgreSQL too). Citizens are signed in through
//! `Desk::open_citizen_session`, as the provider's callback does once it verified them; the
//! provider's side is the federation tests'.

#![allow(clippy::unwrap_used)]

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jiff::Timestamp;
use ricevo_core::hours::{OpeningHours, WeeklyRange};
use ricevo_core::service::ServiceRules;
use ricevo_core::{Mode, TenantId};
use ricevo_identity::{Acr, PendingSignIn, ProviderKind, VerifiedIdentity};
use ricevo_store::{NewOffice, NewService, Tenant};
use serde_json::json;
use support::{Answer, App, NOW, Session, app, send};

const MARIA: &str = "RSSMRA85T10A562S";
const LUCA: &str = "BNCLCU80A01H501Q";

pub(crate) fn identity(fiscal_code: &str, given: &str, family: &str) -> VerifiedIdentity {
    VerifiedIdentity {
        kind: ProviderKind::Spid,
        provider: "https://idp.example.it".into(),
        subject: format!("sub-{fiscal_code}"),
        fiscal_code: fiscal_code.into(),
        given_name: given.into(),
        family_name: family.into(),
        email: Some(format!("{}@example.org", given.to_lowercase())),
        phone: Some("+39 333 1234567".into()),
        acr: Acr::SpidL2.as_uri().into(),
        id_token: "header.payload.signature".into(),
    }
}

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

async fn town(app: &App, slug: &str) -> Tenant {
    app.store.tenant_by_slug(slug).await.unwrap().unwrap()
}

/// The cookie of a citizen signed in to `slug` (and a form token), as after the callback.
pub(crate) async fn signed_in(app: &App, slug: &str, who: &VerifiedIdentity) -> Session {
    let t = town(app, slug).await;
    let token = app.state.desk.open_citizen_session(&t, who, now()).await.unwrap();
    let csrf = ricevo_desk::tokens::new_token();
    Session { cookie: format!("ricevo_cittadino={token}; ricevo_csrf={csrf}"), csrf }
}

fn nobody() -> Session {
    let csrf = ricevo_desk::tokens::new_token();
    Session { cookie: format!("ricevo_csrf={csrf}"), csrf }
}

/// Resolves the character references askama writes.
fn text(a: &Answer) -> String {
    [("&#38;", "&"), ("&amp;", "&"), ("&#39;", "'"), ("&#34;", "\""), ("&quot;", "\"")]
        .iter()
        .fold(a.body.clone(), |acc, (from, to)| acc.replace(from, to))
}

fn location(a: &Answer) -> String {
    a.headers.get(header::LOCATION).unwrap().to_str().unwrap().to_owned()
}

/// The first free time's booking link of a demo service.
async fn first_slot(app: &App, s: &Session, service: &str) -> String {
    let id = support::service_id(app, service).await;
    let page = text(&support::get(app, s, &format!("/demo/services/{id}")).await);
    let at = page.find("/book?start=").unwrap();
    let start = page[..at].rfind('"').unwrap() + 1;
    let end = at + page[at..].find('"').unwrap();
    page[start..end].to_owned()
}

/// A second town with an office open every weekday morning and one service.
pub(crate) async fn second_town(app: &App) -> (Tenant, i64) {
    let t = support::altro_town(app).await;
    let office = app
        .store
        .create_office(
            t.id,
            &NewOffice {
                name: "Tributi".into(),
                description: String::new(),
                address: "Via Roma 2".into(),
                contact_email: "tributi@altro.it".into(),
            },
        )
        .await
        .unwrap();
    let h = |h: i8| jiff::civil::Time::new(h, 0, 0, 0).unwrap();
    let days = [jiff::civil::Weekday::Monday, jiff::civil::Weekday::Tuesday, jiff::civil::Weekday::Wednesday];
    let ranges = days.iter().map(|d| WeeklyRange::new(*d, h(9), h(12)).unwrap()).collect();
    app.store.set_hours(t.id, office.id, &OpeningHours::new(ranges, 1).unwrap()).await.unwrap();
    let service = app
        .store
        .create_service(
            t.id,
            &NewService {
                office_id: office.id,
                name: "Rimborso TARI".into(),
                description: String::new(),
                rules: ServiceRules::new(30, 0, vec![Mode::Video], 2, 60).unwrap(),
                what_to_bring: String::new(),
                questions: Vec::new(),
                active: true,
            },
        )
        .await
        .unwrap();
    (t, service.id.0)
}

/// Books through the public API of `slug`, with a codice fiscale; returns the reference.
pub(crate) async fn book_api(app: &App, slug: &str, service: i64, start: &str, name: &str, cf: &str) -> String {
    let body = json!({
        "service_id": service,
        "start": start,
        "mode": "video",
        "citizen": {"name": name, "email": "x@example.it", "fiscal_code": cf},
        "privacy_accepted": true
    });
    let req = Request::post(format!("/api/v1/{slug}/appointments"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let answer = send(app, req).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    serde_json::from_str::<serde_json::Value>(&answer.body).unwrap()["id"].as_str().unwrap().to_owned()
}

/// Books at `slug` as a citizen signed in there with the codice fiscale `cf` (as the signed-in
/// booking form does); returns the reference.
async fn book_signed_in(app: &App, slug: &str, service: i64, start: &str, name: &str, cf: &str) -> String {
    let t = town(app, slug).await;
    let (given, family) = name.split_once(' ').unwrap();
    let token = app.state.desk.open_citizen_session(&t, &identity(cf, given, family), now()).await.unwrap();
    let session = app.state.desk.citizen_session(&t, &token).await.unwrap().unwrap();
    let input = ricevo_core::citizen::BookingInput {
        name: name.into(),
        email: "x@example.it".into(),
        phone: None,
        fiscal_code: None,
        mode: "video".into(),
        notes: None,
        answers: Default::default(),
        privacy_accepted: true,
        lang: ricevo_core::Lang::It,
    };
    let request = ricevo_desk::booking::BookingRequest {
        service_id: ricevo_core::ServiceId(service),
        start: start.parse::<Timestamp>().unwrap(),
        input,
        idempotency: None,
        source: "203.0.113.9".into(),
    };
    match app.state.desk.book_verified(&t, request, ricevo_core::Lang::It, &session).await.unwrap() {
        ricevo_desk::booking::BookingResult::Booked { receipt, .. } => receipt.id,
        other => panic!("not booked: {other:?}"),
    }
}

#[tokio::test]
async fn without_spid_cie_configured_the_well_known_and_sign_in_addresses_are_not_found() {
    let app = app().await;
    let s = signed_in(&app, "demo", &identity(MARIA, "Maria", "Rossi")).await;
    for uri in [
        "/.well-known/openid-federation",
        "/demo/.well-known/openid-federation",
        "/demo/accedi",
        "/demo/accedi/avvia?provider=https%3A%2F%2Fidp.example.it",
        "/accedi/callback?state=abc&code=def",
        "/demo/accedi/callback?state=abc&code=def",
    ] {
        let a = support::get(&app, &nobody(), uri).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{uri}: {}", a.body);
    }
    // Nobody is offered to sign in, and the booking form makes no offer.
    let home = support::get(&app, &nobody(), "/demo").await;
    assert!(!home.body.contains("/demo/accedi"), "no sign-in link");
    let slot = first_slot(&app, &nobody(), "Cambio di residenza").await;
    let form = support::get(&app, &nobody(), &slot).await;
    assert!(!form.body.contains("Compila con SPID o CIE"));
    // "My appointments" without a session leads nowhere.
    assert_eq!(support::get(&app, &nobody(), "/demo/i-miei-appuntamenti").await.status, StatusCode::NOT_FOUND);
    // A session (made by the desk) still shows its own list.
    assert_eq!(support::get(&app, &s, "/demo/i-miei-appuntamenti").await.status, StatusCode::OK);
}

#[tokio::test]
async fn signed_in_the_header_says_who_with_esci_and_esci_ends_the_session() {
    let app = app().await;
    let s = signed_in(&app, "demo", &identity(MARIA, "Maria", "Rossi")).await;
    let home = support::get(&app, &s, "/demo").await;
    let page = text(&home);
    assert!(page.contains("Maria Rossi") && page.contains(">SPID<") && page.contains(">Esci</button>"), "{page}");
    assert!(page.contains("action=\"/demo/esci\""));
    // Another town's pages do not know her.
    let (altro, _) = second_town(&app).await;
    let there = text(&support::get(&app, &s, &format!("/{}", altro.slug)).await);
    assert!(!there.contains("Maria Rossi"), "another town: {there}");
    // Without the form token, nothing ends.
    let forged = support::post_raw(&app, &s, "/demo/esci", &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let out = support::post(&app, &s, "/demo/esci", &[]).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert!(text(&out).contains("Sei uscito"));
    let cleared = support::set_cookie(&out.headers, "ricevo_cittadino").unwrap();
    assert!(cleared.contains("Max-Age=0") && cleared.contains("Path=/demo"), "{cleared}");
    let after = text(&support::get(&app, &s, "/demo").await);
    assert!(!after.contains("Maria Rossi"), "the session is gone on the server too");
}

#[tokio::test]
async fn the_form_is_prefilled_the_verified_fiscal_code_cannot_change_and_the_official_sees_it_verified() {
    let app = app().await;
    let s = signed_in(&app, "demo", &identity(MARIA, "Maria", "Rossi")).await;
    let slot = first_slot(&app, &s, "Cambio di residenza").await;
    let details = text(&support::get(&app, &s, &slot).await);
    assert!(details.contains("Dati compilati con SPID"), "{details}");
    let applicant =
        support::post(&app, &s, &slot, &[("step", "details"), ("privacy_accepted", "1"), ("mode", "video")]).await;
    let page = text(&applicant);
    assert!(page.contains("value=\"Maria Rossi\""), "name prefilled: {page}");
    assert!(page.contains("value=\"maria@example.org\""), "e-mail prefilled");
    assert!(page.contains(&format!("name=\"fiscal_code\" value=\"{MARIA}\" readonly")), "{page}");
    // A changed codice fiscale posted anyway is not what gets booked.
    let fields = [
        ("step", "applicant"),
        ("privacy_accepted", "1"),
        ("mode", "video"),
        ("name", "Maria Rossi"),
        ("email", "maria@example.org"),
        ("fiscal_code", LUCA),
        ("email_lang", "it"),
    ];
    let summary = text(&support::post(&app, &s, &slot, &fields).await);
    assert!(summary.contains(MARIA) && !summary.contains(LUCA), "{summary}");
    let form_key = support::hidden(&summary, "form_key");
    let mut confirm: Vec<(&str, &str)> = fields.to_vec();
    confirm.retain(|(k, _)| *k != "step");
    confirm.extend([("step", "confirm"), ("form_key", form_key.as_str())]);
    let booked = support::post(&app, &s, &slot, &confirm).await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);

    let mine = app.store.appointments_of_fiscal_code(MARIA, now()).await.unwrap();
    assert_eq!(mine.len(), 1);
    let a = &mine[0];
    assert_eq!(a.fiscal_code.as_deref(), Some(MARIA));
    let marks = app.store.verified_appointments(app.tenant, &[a.id]).await.unwrap();
    assert_eq!(marks, vec![(a.id, "spid".to_owned())]);

    // She arrives in the waiting room; the official's desk shows her identity verified.
    app.clock.store((a.start - jiff::SignedDuration::from_mins(5)).as_second(), std::sync::atomic::Ordering::SeqCst);
    let demo = town(&app, "demo").await;
    app.state.desk.arrive(&demo, a).await.unwrap().unwrap();
    let staff = support::login(&app, support::ADMIN).await;
    let desk = text(&support::get(&app, &staff, &format!("/demo/staff/desk/{}", a.office_id.0)).await);
    assert!(desk.contains("Maria Rossi") && desk.contains("identità verificata con SPID"), "{desk}");
    // Someone who booked without signing in is not marked.
    assert_eq!(desk.matches("identità verificata").count(), 1);
}

#[tokio::test]
async fn a_service_asking_for_spid_or_cie_is_booked_only_signed_in() {
    let app = app().await;
    let demo = town(&app, "demo").await;
    let service = ricevo_core::ServiceId(support::service_id(&app, "Cambio di residenza").await);
    let admin = ricevo_desk::staff::town_administrator(demo.id);
    app.state.desk.set_service_requires_identity(&demo, &admin, service, true).await.unwrap();
    let slot = first_slot(&app, &nobody(), "Cambio di residenza").await;
    let refused = support::get(&app, &nobody(), &slot).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(text(&refused).contains("Serve SPID o CIE"), "{}", refused.body);
    // The API says so too.
    let start = slot.split("start=").nth(1).unwrap().replace("%3A", ":").replace("%2B", "+");
    let body = json!({"service_id": service.0, "start": start, "mode": "video",
        "citizen": {"name": "Luca Bianchi", "email": "l@example.it"}, "privacy_accepted": true});
    let req = Request::post("/api/v1/demo/appointments")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    assert_eq!(send(&app, req).await.status, StatusCode::FORBIDDEN);
    // Signed in, the form opens.
    let s = signed_in(&app, "demo", &identity(MARIA, "Maria", "Rossi")).await;
    assert_eq!(support::get(&app, &s, &slot).await.status, StatusCode::OK);
    // Other services still book without signing in.
    let other = first_slot(&app, &nobody(), "Carta d'identità elettronica").await;
    assert_eq!(support::get(&app, &nobody(), &other).await.status, StatusCode::OK);
}

#[tokio::test]
async fn my_appointments_list_both_towns_never_another_citizens_and_cancel_and_move_from_there() {
    let app = app().await;
    let (altro, altro_service) = second_town(&app).await;
    let demo_service = support::service_id(&app, "Cambio di residenza").await;
    let here = book_signed_in(&app, "demo", demo_service, "2026-11-25T09:00:00+01:00", "Maria Rossi", MARIA).await;
    let there = book_signed_in(&app, "altro", altro_service, "2026-11-25T10:00:00+01:00", "Maria Rossi", MARIA).await;
    let lucas = book_signed_in(&app, "demo", demo_service, "2026-11-25T09:35:00+01:00", "Luca Bianchi", LUCA).await;
    // Booked without signing in, with her codice fiscale typed: whoever typed it may not be
    // Maria, so it is not listed as hers.
    let typed =
        book_api(&app, "altro", altro_service, "2026-11-25T11:30:00+01:00", "M Rossi", &MARIA.to_lowercase()).await;

    let s = signed_in(&app, "demo", &identity(MARIA, "Maria", "Rossi")).await;
    let list = support::get(&app, &s, "/demo/i-miei-appuntamenti").await;
    assert_eq!(list.status, StatusCode::OK);
    let page = text(&list);
    assert!(page.contains(&here) && page.contains(&there), "both towns: {page}");
    assert!(page.contains("Comune Altro") && page.contains("Rimborso TARI"));
    assert!(!page.contains(&lucas) && !page.contains("Luca Bianchi"), "never another citizen's");
    assert!(!page.contains(&typed), "never a booking made without signing in");

    // Luca's reference is not found through her session.
    let theirs = support::post(&app, &s, &format!("/demo/i-miei-appuntamenti/{lucas}/annulla"), &[]).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let move_theirs = support::get(&app, &s, &format!("/demo/i-miei-appuntamenti/{lucas}/sposta")).await;
    assert_eq!(move_theirs.status, StatusCode::NOT_FOUND);
    // Without the form token nothing is cancelled.
    let forged = support::post_raw(&app, &s, &format!("/demo/i-miei-appuntamenti/{here}/annulla"), &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // She moves the other town's appointment from here: the picker, the confirmation, the move.
    let move_uri = format!("/demo/i-miei-appuntamenti/{there}/sposta");
    let picker = support::get(&app, &s, &move_uri).await;
    assert_eq!(picker.status, StatusCode::OK, "{}", picker.body);
    assert!(text(&picker).contains("Rimborso TARI"));
    let new_start = "2026-11-25T11:00:00+01:00";
    let ask = support::post(&app, &s, &move_uri, &[("start", new_start)]).await;
    assert_eq!(ask.status, StatusCode::OK, "{}", ask.body);
    let moved = support::post(&app, &s, &move_uri, &[("start", new_start), ("confirm", "1")]).await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    assert_eq!(location(&moved), "/demo/i-miei-appuntamenti?moved=1");
    let stored = app.store.appointments_of_fiscal_code(MARIA, now()).await.unwrap();
    let there_now = stored.iter().find(|a| a.public_id == there).unwrap();
    assert_eq!(there_now.start, "2026-11-25T10:00:00Z".parse::<Timestamp>().unwrap());
    assert_eq!(there_now.tenant_id, altro.id);

    // And cancels this town's.
    let cancelled = support::post(&app, &s, &format!("/demo/i-miei-appuntamenti/{here}/annulla"), &[]).await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER, "{}", cancelled.body);
    let after = text(&support::get(&app, &s, "/demo/i-miei-appuntamenti?cancelled=1").await);
    assert!(after.contains("Appuntamento annullato") && after.contains("annullato"), "{after}");
    let lucas_now = app.store.appointments_of_fiscal_code(LUCA, now()).await.unwrap();
    assert_eq!(lucas_now[0].status, ricevo_store::AppointmentStatus::Booked, "Luca's untouched");

    // Her session is the first town's: the second town's list does not open with it.
    let elsewhere = support::get(&app, &s, "/altro/i-miei-appuntamenti").await;
    assert_ne!(elsewhere.status, StatusCode::OK);
    assert!(!text(&elsewhere).contains(&there));
}

/// The cookie binding a sign-in to a browser, and a sign-in stored for it as `avvia` does.
async fn pending_sign_in(app: &App, tenant: TenantId, state: &str) -> String {
    let t = app.store.tenants().await.unwrap().into_iter().find(|t| t.id == tenant).unwrap();
    let browser = ricevo_desk::tokens::new_token();
    let pending = PendingSignIn {
        state: state.into(),
        nonce: "n".into(),
        code_verifier: "v".into(),
        provider: "https://idp.example.it".into(),
        kind: ProviderKind::Spid,
        acr: Acr::SpidL2,
        created_at: now(),
    };
    app.state.desk.remember_sign_in(&t, &pending, &browser, "/demo").await.unwrap();
    browser
}

/// The demo app with an instance relying party (keys made in the app's folder, a trust anchor
/// that is never reached).
pub(crate) async fn app_with_identity() -> Option<App> {
    let mut app = app().await;
    let rp = relying_party(&app.dir.path().join("identity.json"), "http://127.0.0.1:8080");
    let state = app.state.clone().with_identity(std::sync::Arc::new(ricevo_identity::RelyingParties::instance(rp)));
    app.router = ricevo_web::router(state.clone());
    app.state = state;
    Some(app)
}

#[tokio::test]
async fn the_callback_refuses_a_state_without_its_browser_another_browser_a_replay_or_an_unknown_one() {
    let Some(app) = app_with_identity().await else { return };
    let (altro, _) = second_town(&app).await;
    let cb = |state: &str| format!("/accedi/callback?state={state}&code=abc");
    let with_cookie = |browser: &str| Session { cookie: format!("ricevo_accesso={browser}"), csrf: String::new() };

    // No cookie.
    pending_sign_in(&app, app.tenant, "s-no-cookie").await;
    let a = support::get(&app, &nobody(), &cb("s-no-cookie")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(text(&a).contains("avviato da un altro browser"), "{}", a.body);
    // Another browser's cookie.
    pending_sign_in(&app, app.tenant, "s-other").await;
    let a = support::get(&app, &with_cookie(&ricevo_desk::tokens::new_token()), &cb("s-other")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    // Unknown state.
    let browser = pending_sign_in(&app, app.tenant, "s-good").await;
    let a = support::get(&app, &with_cookie(&browser), &cb("s-never-sent")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(text(&a).contains("non è valido o è già stato usato"));
    // The right browser: the provider's answer is checked (here it cannot be: refused, worded for
    // the citizen without the protocol's details), and the state is spent: a replay is refused.
    let first = support::get(&app, &with_cookie(&browser), &cb("s-good")).await;
    assert_ne!(first.status, StatusCode::SEE_OTHER, "a made-up code signs nobody in");
    assert!(!first.body.contains("nonce") && !first.body.contains("trust chain"), "{}", first.body);
    let replay = support::get(&app, &with_cookie(&browser), &cb("s-good")).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert!(text(&replay).contains("già stato usato"));
    // The provider said no: the citizen reads it plainly.
    let browser = pending_sign_in(&app, app.tenant, "s-denied").await;
    let denied =
        support::get(&app, &with_cookie(&browser), "/accedi/callback?state=s-denied&error=access_denied").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(text(&denied).contains("annullato presso il gestore"));
    // Instance mode: a town has no callback and no entity configuration of its own.
    let town_cb = support::get(&app, &with_cookie(&browser), &format!("/{}/accedi/callback?state=x", altro.slug)).await;
    assert_eq!(town_cb.status, StatusCode::NOT_FOUND);
    assert_eq!(
        support::get(&app, &nobody(), "/demo/.well-known/openid-federation").await.status,
        StatusCode::NOT_FOUND
    );
    // The sign-in page answers, with the national buttons' words, from our own origin only.
    let choose = support::get(&app, &nobody(), "/demo/accedi?next=%2Fdemo").await;
    assert_eq!(choose.status, StatusCode::OK, "{}", choose.body);
    let page = text(&choose);
    assert!(page.contains("SPID") && page.contains("CIE") && page.contains("Continua senza accedere"));
    assert!(!page.contains("src=\"http"), "nothing loaded from another origin");
    // The instance's entity configuration is a signed statement.
    let ec = support::get(&app, &nobody(), "/.well-known/openid-federation").await;
    assert_eq!(ec.status, StatusCode::OK);
    assert_eq!(ec.headers.get(header::CONTENT_TYPE).unwrap(), "application/entity-statement+jwt");
    assert_eq!(ec.body.split('.').count(), 3, "a JWS: {}", ec.body);
}

/// A relying party of `entity_id` with keys in `dir`.
fn relying_party(dir: &std::path::Path, entity_id: &str) -> ricevo_identity::RelyingParty {
    let keys = ricevo_identity::RelyingPartyKeys::load_or_create(dir).unwrap();
    let keys = std::sync::Arc::new(keys);
    let settings = ricevo_identity::FederationSettings {
        trust_anchors: vec![ricevo_identity::TrustAnchor {
            entity_id: "http://127.0.0.1:9".into(),
            jwks: keys.public_federation_jwks(),
        }],
        authority_hints: vec!["http://127.0.0.1:9".into()],
        trust_marks: Vec::new(),
        providers: Vec::new(),
        acr: Acr::SpidL2,
        allow_http: true,
        contacts: vec!["urp@esempio.it".into()],
        organization_name: "Ricevo".into(),
    };
    ricevo_identity::RelyingParty::new(entity_id, keys, settings, reqwest::Client::new()).unwrap()
}

#[tokio::test]
async fn with_a_relying_party_per_town_a_second_town_never_finishes_the_first_towns_sign_in() {
    let mut app = app().await;
    let (altro, _) = second_town(&app).await;
    let demo_rp = relying_party(&app.dir.path().join("town-demo.json"), "http://127.0.0.1:8080/demo");
    let altro_rp = relying_party(&app.dir.path().join("town-altro.json"), "http://127.0.0.1:8080/altro");
    let parties = ricevo_identity::RelyingParties::per_town(vec![("demo".into(), demo_rp), ("altro".into(), altro_rp)]);
    let state = app.state.clone().with_identity(std::sync::Arc::new(parties));
    app.router = ricevo_web::router(state.clone());
    app.state = state;
    // Each town publishes its own entity configuration; the instance has none.
    assert_eq!(support::get(&app, &nobody(), "/.well-known/openid-federation").await.status, StatusCode::NOT_FOUND);
    for slug in ["demo", "altro"] {
        let ec = support::get(&app, &nobody(), &format!("/{slug}/.well-known/openid-federation")).await;
        assert_eq!(ec.status, StatusCode::OK, "{slug}");
    }
    assert_eq!(support::get(&app, &nobody(), "/accedi/callback?state=x&code=y").await.status, StatusCode::NOT_FOUND);
    // The first town's sign-in, brought to the second town's callback by its own browser.
    let browser = pending_sign_in(&app, app.tenant, "s-demo").await;
    let with_cookie = Session { cookie: format!("ricevo_accesso={browser}"), csrf: String::new() };
    let wrong =
        support::get(&app, &with_cookie, &format!("/{}/accedi/callback?state=s-demo&code=abc", altro.slug)).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(text(&wrong).contains("avviato per un altro Comune"), "{}", wrong.body);
    assert!(support::set_cookie(&wrong.headers, "ricevo_cittadino").is_none());
    // And it is spent: the first town's callback does not take it afterwards.
    let later = support::get(&app, &with_cookie, "/demo/accedi/callback?state=s-demo&code=abc").await;
    assert_eq!(later.status, StatusCode::BAD_REQUEST);
    assert!(text(&later).contains("già stato usato"));
}

#[tokio::test]
async fn the_service_form_shows_whether_the_service_asks_for_spid_or_cie() {
    let app = app().await;
    let staff = support::login(&app, support::ADMIN).await;
    let id = support::service_id(&app, "Cambio di residenza").await;
    let uri = format!("/demo/staff/services/{id}");
    let before = support::get(&app, &staff, &uri).await;
    assert_eq!(before.status, StatusCode::OK);
    assert!(
        before.body.contains("name=\"requires_identity\" value=\"1\" aria-describedby"),
        "unchecked: {}",
        before.body
    );
    let demo = town(&app, "demo").await;
    let admin = ricevo_desk::staff::town_administrator(demo.id);
    app.state.desk.set_service_requires_identity(&demo, &admin, ricevo_core::ServiceId(id), true).await.unwrap();
    let after = support::get(&app, &staff, &uri).await;
    assert!(after.body.contains("name=\"requires_identity\" value=\"1\" checked"), "checked");
}

#[tokio::test]
async fn an_administrator_sets_the_towns_limit_for_verified_citizens() {
    let app = app().await;
    let staff = support::login(&app, support::ADMIN).await;
    let page = support::get(&app, &staff, "/demo/staff/settings").await;
    assert!(
        page.body.contains("name=\"verified_max_active\" min=\"1\" max=\"100\" value=\"\""),
        "empty: the instance's"
    );
    let saved = support::post(&app, &staff, "/demo/staff/settings/spid-cie", &[("verified_max_active", "1")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(app.store.verified_max_active(app.tenant).await.unwrap(), Some(1));
    let page = support::get(&app, &staff, "/demo/staff/settings").await;
    assert!(
        page.body.contains("value=\"1\" aria-describedby=\"f-verified-max-hint\"")
            || page.body.contains("max=\"100\" value=\"1\"")
    );
    let bad = support::post(&app, &staff, "/demo/staff/settings/spid-cie", &[("verified_max_active", "0")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("da 1 a 100"), "{}", bad.body);
    let cleared = support::post(&app, &staff, "/demo/staff/settings/spid-cie", &[("verified_max_active", "")]).await;
    assert_eq!(cleared.status, StatusCode::SEE_OTHER);
    assert_eq!(app.store.verified_max_active(app.tenant).await.unwrap(), None);
    // A signed-in citizen is not staff: sent to the staff sign-in, nothing changes.
    let citizen = signed_in(&app, "demo", &identity(MARIA, "Maria", "Rossi")).await;
    let not_staff =
        support::post(&app, &citizen, "/demo/staff/settings/spid-cie", &[("verified_max_active", "5")]).await;
    assert!(not_staff.status.is_redirection() || not_staff.status.is_client_error(), "{}", not_staff.status);
    assert_eq!(app.store.verified_max_active(app.tenant).await.unwrap(), None);
}
