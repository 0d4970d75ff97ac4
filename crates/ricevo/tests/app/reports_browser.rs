//! The report page in a real headless browser: axe-core's WCAG 2.1 A/AA rules at a phone's and
//! a PC's size (with figures, and with a refused period), and nothing loaded from another
//! origin. Needs what `tests/browser.rs` needs; without it the test says why and passes, except
//! under `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use crate::support;

use serde_json::json;
use support::{Audit, with_world};

/// Books the demo service's first free video time through the API; returns its day.
async fn one_booking(w: &support::World) -> String {
    let http = reqwest::Client::new();
    let services: serde_json::Value =
        http.get(w.server.url("/api/v1/demo/services")).send().await.unwrap().json().await.unwrap();
    let service = services.as_array().unwrap().iter().find(|s| s["name"] == "Cambio di residenza").unwrap()["id"]
        .as_i64()
        .unwrap();
    let slots: serde_json::Value = http
        .get(w.server.url(&format!("/api/v1/demo/services/{service}/slots?mode=video")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let start = slots.as_array().unwrap().first().expect("a free time")["start"].clone();
    let body = json!({"service_id": service, "start": start, "mode": "video", "privacy_accepted": true,
        "citizen": {"name": "Lucia Verdi", "email": "lucia@example.it"}});
    let resp = http.post(w.server.url("/api/v1/demo/appointments")).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 201, "book through the API");
    start.as_str().unwrap()[..10].to_owned()
}

#[tokio::test]
async fn the_report_page_passes_axe_on_a_phone_and_a_pc_and_loads_nothing_from_elsewhere() {
    with_world(|w| async move {
        let day = one_booking(&w).await;
        let c = w.driver.session().await;
        let mut audit = Audit::default();
        support::sign_in_as_demo_admin(&w, &c).await;
        c.goto(&w.server.url(&format!("/demo/staff/reports?to={day}"))).await.expect("report");
        let text = support::body_text(&c).await;
        assert!(text.contains("Prenotazioni per canale"), "{text}");
        assert!(!text.contains("Lucia"), "no citizen on the report");
        audit.page(&c, &w.tools.axe, "reports").await;
        let origin = w.server.url("");
        for url in support::requested_urls(&c).await {
            assert!(url.starts_with(&origin), "the report page loads {url} from another origin");
        }
        let (document, resources) = support::transferred(&c).await;
        eprintln!("report page: document {document} bytes; resources {resources:?}");
        c.goto(&w.server.url("/demo/staff/reports?from=2026-02-30")).await.expect("a refused period");
        audit.page(&c, &w.tools.axe, "reports, a refused period").await;
        audit.assert_clean();
    })
    .await;
}
