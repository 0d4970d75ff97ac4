//! Reports of the service over HTTP: the staff page (charts, tables, no citizen's name), the
//! CSV and ODS exports (the ODS read back as a zip archive), the JSON API with a staff token,
//! who sees which offices, refusals in the reader's language, and a second town that sees
//! only its own figures.

#![allow(clippy::unwrap_used)]

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ricevo_core::OfficeId;
use ricevo_store::Role;
use support::*;
use tower::ServiceExt;

const NOVEMBER: &str = "from=2026-11-01&to=2026-11-30";

async fn bytes(app: &App, s: &Session, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let req = Request::get(uri).header(header::COOKIE, &s.cookie).body(Body::empty()).unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = axum::body::to_bytes(resp.into_body(), 1 << 22).await.unwrap().to_vec();
    (status, headers, body)
}

async fn api(app: &App, token: &str, uri: &str) -> Answer {
    let req = Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap();
    send(app, req).await
}

async fn token(app: &App, tenant: ricevo_core::TenantId, role: Role, office: Option<OfficeId>) -> String {
    let token = format!("tok-{}", rand_suffix());
    app.store.create_api_token(tenant, role, office, &ricevo_desk::tokens::hash(&token), "report").await.unwrap();
    token
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    N.fetch_add(1, Ordering::SeqCst) * 7919 + 1_000_003
}

async fn office_id(app: &App, name: &str) -> OfficeId {
    app.store.offices(app.tenant).await.unwrap().into_iter().find(|o| o.name == name).unwrap().id
}

/// The entries of a zip archive in order, each checked stored (uncompressed, as ODS asks of
/// `mimetype`) and read in full (the reader checks every CRC).
fn unzip_stored(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let name = entry.name().unwrap().into_owned();
            assert_eq!(entry.compression(), zip::CompressionMethod::Stored, "{name}");
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            (name, data)
        })
        .collect()
}

/// Three bookings through the API and one on a citizen's behalf, all on 25 November.
async fn bookings(app: &App) {
    for (time, who) in [("09:00", "Mario Rossi"), ("09:35", "Anna Verdi"), ("10:10", "Luca Bianchi")] {
        book(app, "Cambio di residenza", time, who).await;
    }
}

#[tokio::test]
async fn the_report_page_draws_charts_beside_tables_and_names_no_citizen() {
    let app = app().await;
    bookings(&app).await;
    let s = login(&app, ADMIN).await;
    let page = get(&app, &s, &format!("/demo/staff/reports?{NOVEMBER}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let b = &page.body;
    assert!(b.contains(r#"<svg class="chart" role="img" aria-labelledby="chart-channels-t""#), "{b}");
    assert!(b.contains(r#"<title id="chart-channels-t">Prenotazioni per canale</title>"#));
    assert!(b.contains("<th scope=\"row\">API (portale, widget)</th><td>3</td>"), "{b}");
    assert!(b.contains("<th scope=\"row\">Anagrafe</th><td>0</td>") || b.contains("Anagrafe</th><td>3</td>"));
    // Three appointments at Anagrafe are fewer than five: not broken down.
    assert!(b.contains("<th scope=\"row\">Anagrafe</th><td>3</td><td>—</td>"), "{b}");
    for name in ["Mario", "Rossi", "Anna Verdi", "example.it"] {
        assert!(!b.contains(name), "a citizen's {name} on the report page");
    }
    assert!(!b.contains("<script"), "no script on the report page");
    assert!(b.contains("export?from=2026-11-01&#38;to=2026-11-30&#38;table=channels&#38;format=csv"), "{b}");
    // Without a period: the last 30 days up to today (23 November), filled in the form.
    let default = get(&app, &s, "/demo/staff/reports").await;
    assert_eq!(default.status, StatusCode::OK);
    assert!(default.body.contains(r#"value="2026-10-25""#) && default.body.contains(r#"value="2026-11-23""#));
    // The page is light: no chart library, a few tens of kilobytes.
    assert!(page.body.len() < 60_000, "{} bytes", page.body.len());
    // The staff menu links to it.
    assert!(b.contains(r#"href="/demo/staff/reports" aria-current="page""#));
}

#[tokio::test]
async fn every_table_exports_as_csv_and_the_ods_reads_back() {
    let app = app().await;
    bookings(&app).await;
    let s = login(&app, ADMIN).await;
    let (status, headers, body) =
        bytes(&app, &s, &format!("/demo/staff/reports/export?{NOVEMBER}&table=channels&format=csv")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("ricevo-demo-2026-11-01-2026-11-30-channels.csv")
    );
    let csv = String::from_utf8(body).unwrap();
    assert_eq!(csv.lines().next(), Some("Canale,Appuntamenti"));
    assert!(csv.contains("\"API (portale, widget)\",3\n"), "{csv}");
    for key in ["summary", "modes", "offices", "services", "weekdays", "hours", "satisfaction"] {
        let (status, _, body) =
            bytes(&app, &s, &format!("/demo/staff/reports/export?{NOVEMBER}&table={key}&format=csv")).await;
        assert_eq!(status, StatusCode::OK, "{key}");
        assert!(!body.is_empty(), "{key}");
    }

    let (status, headers, zip) =
        bytes(&app, &s, &format!("/demo/staff/reports/export?{NOVEMBER}&table=all&format=ods")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/vnd.oasis.opendocument.spreadsheet");
    let entries = unzip_stored(&zip);
    assert_eq!(entries[0], ("mimetype".to_owned(), b"application/vnd.oasis.opendocument.spreadsheet".to_vec()));
    let content = entries.iter().find(|(n, _)| n == "content.xml").map(|(_, d)| String::from_utf8(d.clone()).unwrap());
    let content = content.expect("content.xml");
    assert_eq!(content.matches("<table:table ").count(), 8, "one sheet per table");
    assert!(content.contains(r#"<table:table table:name="Prenotazioni per canale">"#));
    assert!(content.contains(r#"<text:p>API (portale, widget)</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="3">"#));
    assert!(!content.contains("Rossi"));
    // An independent reader agrees, where one is installed.
    let file = app.dir.path().join("report.ods");
    std::fs::write(&file, &zip).unwrap();
    if let Ok(out) = std::process::Command::new("unzip").arg("-tq").arg(&file).output() {
        assert!(out.status.success(), "unzip -t: {}", String::from_utf8_lossy(&out.stdout));
    }
}

#[tokio::test]
async fn bad_periods_formats_and_tables_are_refused_in_the_readers_language() {
    let app = app().await;
    let s = login(&app, ADMIN).await;
    for (query, message) in [
        ("from=2026-13-01", "La data di inizio non è valida"),
        ("from=2026-11-30&to=2026-11-01", "La data di inizio viene dopo quella di fine"),
        ("from=2020-01-01&to=2026-11-01", "al massimo 1098 giorni"),
        ("to=domani", "La data di fine non è valida"),
        ("office=abc", "Ufficio sconosciuto"),
    ] {
        let page = get(&app, &s, &format!("/demo/staff/reports?{query}")).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(page.body.contains(message), "{query}: {}", page.body);
        assert!(!page.body.contains("<svg"), "{query}: no report under an error");
    }
    let en = get(&app, &s, "/demo/staff/reports?from=2026-11-30&to=2026-11-01&lang=en").await;
    assert!(en.body.contains("The first day comes after the last."), "{}", en.body);
    let bad_format = get(&app, &s, &format!("/demo/staff/reports/export?{NOVEMBER}&table=channels&format=xlsx")).await;
    assert_eq!(bad_format.status, StatusCode::BAD_REQUEST);
    assert!(bad_format.body.contains("Formato sconosciuto"), "{}", bad_format.body);
    let bad_table = get(&app, &s, &format!("/demo/staff/reports/export?{NOVEMBER}&table=people&format=csv")).await;
    assert_eq!(bad_table.status, StatusCode::BAD_REQUEST);
    let csv_all = get(&app, &s, &format!("/demo/staff/reports/export?{NOVEMBER}&table=all&format=csv")).await;
    assert_eq!(csv_all.status, StatusCode::BAD_REQUEST);
    let bad_period =
        get(&app, &s, "/demo/staff/reports/export?from=2026-11-30&to=2026-11-01&table=hours&format=csv").await;
    assert_eq!(bad_period.status, StatusCode::BAD_REQUEST);
    assert!(bad_period.body.contains("viene dopo"), "{}", bad_period.body);
    // No such office in the town: 404, not a 500 and not an empty report.
    let missing = get(&app, &s, &format!("/demo/staff/reports?{NOVEMBER}&office=999999")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn operators_and_managers_see_only_their_offices() {
    let app = app().await;
    bookings(&app).await;
    let tributi = office_id(&app, "Tributi").await;
    let anagrafe = office_id(&app, "Anagrafe").await;
    app.store
        .create_user(app.tenant, "op@esempio.it", "Operatrice", Role::Operator, &PASSWORD_HASH, &[tributi])
        .await
        .unwrap();
    let s = login(&app, "op@esempio.it").await;
    let page = get(&app, &s, &format!("/demo/staff/reports?{NOVEMBER}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("I miei uffici"));
    assert!(!page.body.contains(">Anagrafe<"), "another office's name");
    assert!(page.body.contains("<th scope=\"row\">Appuntamenti nel periodo</th><td>0</td>"), "{}", page.body);
    let other = get(&app, &s, &format!("/demo/staff/reports?{NOVEMBER}&office={}", anagrafe.0)).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    let export = get(
        &app,
        &s,
        &format!("/demo/staff/reports/export?{NOVEMBER}&office={}&table=channels&format=csv", anagrafe.0),
    )
    .await;
    assert_eq!(export.status, StatusCode::FORBIDDEN);

    app.store
        .create_user(app.tenant, "man@esempio.it", "Responsabile", Role::Manager, &PASSWORD_HASH, &[anagrafe])
        .await
        .unwrap();
    let m = login(&app, "man@esempio.it").await;
    let page = get(&app, &m, &format!("/demo/staff/reports?{NOVEMBER}")).await;
    assert!(page.body.contains("<th scope=\"row\">Appuntamenti nel periodo</th><td>3</td>"), "{}", page.body);
}

#[tokio::test]
async fn the_api_answers_json_to_a_staff_token_scoped_like_the_page() {
    let app = app().await;
    bookings(&app).await;
    let admin = token(&app, app.tenant, Role::Admin, None).await;
    let answer = api(&app, &admin, &format!("/api/v1/demo/reports?{NOVEMBER}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(json["period"]["from"], "2026-11-01");
    assert_eq!(json["town"]["appointments"], 3);
    assert_eq!(json["town"]["by_channel"][1], serde_json::json!({"key": "api", "count": 3}));
    assert!(!answer.body.contains("Rossi"));

    let tributi = office_id(&app, "Tributi").await;
    let anagrafe = office_id(&app, "Anagrafe").await;
    let operator = token(&app, app.tenant, Role::Operator, Some(tributi)).await;
    let mine = api(&app, &operator, &format!("/api/v1/demo/reports?{NOVEMBER}")).await;
    let json: serde_json::Value = serde_json::from_str(&mine.body).unwrap();
    assert_eq!(json["town"]["appointments"], 0);
    assert_eq!(json["offices"].as_array().map(Vec::len), Some(1));
    let theirs = api(&app, &operator, &format!("/api/v1/demo/reports?{NOVEMBER}&office={}", anagrafe.0)).await;
    assert_eq!(theirs.status, StatusCode::FORBIDDEN);

    let bad = api(&app, &admin, "/api/v1/demo/reports?from=2026-11-30&to=2026-11-01").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("La data di inizio viene dopo quella di fine."), "{}", bad.body);
    let long = api(&app, &admin, "/api/v1/demo/reports?from=2020-01-01&to=2026-01-01&lang=en").await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(long.body.contains("at most 1098 days"), "{}", long.body);
    let no_token = send(&app, Request::get("/api/v1/demo/reports").body(Body::empty()).unwrap()).await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_second_town_sees_only_its_own_figures_everywhere() {
    let app = app().await;
    bookings(&app).await;
    let altro = altro_town(&app).await;
    app.store.create_user(altro.id, "admin@altro.it", "Admin Altro", Role::Admin, &PASSWORD_HASH, &[]).await.unwrap();
    let s = login_to(&app, "altro", "admin@altro.it").await;
    let page = get(&app, &s, &format!("/altro/staff/reports?{NOVEMBER}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<th scope=\"row\">Appuntamenti nel periodo</th><td>0</td>"), "{}", page.body);
    assert!(!page.body.contains("Anagrafe"), "the demo town's office");
    let (_, _, csv) =
        bytes(&app, &s, &format!("/altro/staff/reports/export?{NOVEMBER}&table=offices&format=csv")).await;
    assert!(!String::from_utf8(csv).unwrap().contains("Anagrafe"));
    let (_, _, csv) =
        bytes(&app, &s, &format!("/altro/staff/reports/export?{NOVEMBER}&table=channels&format=csv")).await;
    assert!(String::from_utf8(csv).unwrap().contains("\"API (portale, widget)\",0"));
    // The demo town's office id through the other town: no such office there.
    let anagrafe = office_id(&app, "Anagrafe").await;
    let foreign = get(&app, &s, &format!("/altro/staff/reports?{NOVEMBER}&office={}", anagrafe.0)).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let foreign =
        get(&app, &s, &format!("/altro/staff/reports/export?{NOVEMBER}&office={}&table=hours&format=ods", anagrafe.0))
            .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    // The other town's session opens nothing of the demo town.
    let cross = get(&app, &s, &format!("/demo/staff/reports?{NOVEMBER}")).await;
    assert_ne!(cross.status, StatusCode::OK);

    let altro_token = token(&app, altro.id, Role::Admin, None).await;
    let own = api(&app, &altro_token, &format!("/api/v1/altro/reports?{NOVEMBER}")).await;
    assert_eq!(own.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&own.body).unwrap();
    assert_eq!(json["town"]["appointments"], 0);
    assert_eq!(json["offices"], serde_json::json!([]));
    let across = api(&app, &altro_token, &format!("/api/v1/demo/reports?{NOVEMBER}")).await;
    assert_eq!(across.status, StatusCode::UNAUTHORIZED);
    let foreign = api(&app, &altro_token, &format!("/api/v1/altro/reports?{NOVEMBER}&office={}", anagrafe.0)).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}
