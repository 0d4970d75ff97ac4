//! Signing in with SPID in a real browser, through the SPID/CIE OIDC Federation's reference
//! implementation (spid-cie-oidc from PyPI, run locally by `ricevo_fakes::federation` as trust
//! anchor and providers): the onboarding an operator does (`ricevo identity keys`, registration
//! at the trust anchor, the trust mark in the settings), then a citizen who signs in from the
//! booking form, books with the form filled in, finds the booking under "I miei appuntamenti"
//! and signs out. Ricevo's own pages pass axe and load nothing from another origin.
//!
//! Needs Chromium, chromedriver, axe-core and Python with access to PyPI (the test installs
//! spid-cie-oidc into `.venv-spid/`). Without them it says why and passes, except under
//! `CI=true`, where it fails. Run alone with `cargo test -p ricevo --test app spid_browser::`.

use fantoccini::{Client, Locator};
use ricevo_fakes::federation::Federation;

use crate::browser::{IT, SERVICE, audit_phone_and_pc, button, check, to_booking_form, wait_for_text};
use crate::support::{self, Audit, Server, World, body_text, click_to, current_url, field, wait_for};

/// The settings of an instance-wide relying party in `fed`, served at `origin`.
fn identity_settings(fed: &Federation, origin: &str, anchor_jwks: &std::path::Path) -> Vec<(String, String)> {
    let mut providers = vec![fed.spid_provider.clone()];
    providers.extend(fed.cie_provider.clone());
    [
        ("RICEVO_PUBLIC_URL", origin.to_owned()),
        ("RICEVO_IDENTITY_MODE", "instance".to_owned()),
        ("RICEVO_IDENTITY_ALLOW_HTTP", "true".to_owned()),
        ("RICEVO_IDENTITY_TRUST_ANCHOR", fed.trust_anchor.clone()),
        ("RICEVO_IDENTITY_TRUST_ANCHOR_JWKS", anchor_jwks.display().to_string()),
        ("RICEVO_IDENTITY_AUTHORITY_HINTS", fed.trust_anchor.clone()),
        ("RICEVO_IDENTITY_PROVIDERS", providers.join(",")),
        ("RICEVO_IDENTITY_CIE_PROVIDERS", fed.cie_provider.clone().unwrap_or_default()),
        ("RICEVO_IDENTITY_ORGANIZATION_NAME", "Comune di Esempio".to_owned()),
        ("RICEVO_IDENTITY_CONTACTS", "urp@comune.esempio.it".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn as_env(settings: &[(String, String)]) -> Vec<(&str, &str)> {
    settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Every URL the current page asked for is on `origin`.
async fn assert_same_origin(c: &Client, origin: &str, page: &str) {
    for url in support::requested_urls(c).await {
        assert!(url.starts_with(origin), "{page} asked for {url}, not on {origin}");
    }
}

#[tokio::test]
async fn a_citizen_signs_in_with_spid_books_with_the_form_filled_in_and_finds_the_booking() {
    let Some(tools) = support::tools() else { return };
    let Some(fed) = Federation::start_or_skip("spid_browser").await else { return };

    // Onboarding, as an operator does it: keys first, their public half to the federation,
    // the trust mark it issues into the settings, then the server.
    let dir = tempfile::tempdir().expect("temporary directory");
    let port = support::free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let data = dir.path().join("data");
    let anchor_jwks = dir.path().join("trust-anchor.jwks.json");
    std::fs::write(&anchor_jwks, fed.trust_anchor_jwks.to_string()).expect("write the trust anchor's keys");
    let mut settings = identity_settings(&fed, &origin, &anchor_jwks);
    let printed = support::ricevo_command(&data, &as_env(&settings), &["identity", "keys"]);
    let jwks: serde_json::Value = serde_json::from_str(&printed).expect("`ricevo identity keys` prints a JWKS");
    let trust_mark = fed.register_relying_party(&origin, &jwks).await.expect("register Ricevo at the trust anchor");
    settings.push(("RICEVO_IDENTITY_TRUST_MARKS".to_owned(), trust_mark));
    let server = Server::start_in(dir, port, &as_env(&settings));
    let user = fed.user.clone();

    support::with_server_world(tools, server, move |w: World| async move {
        let c = w.driver.session().await;
        let mut audit = Audit::default();
        let form_url = to_booking_form(&c, &w, &mut audit, "/demo", &IT, "").await;

        // The form offers signing in; the choice page follows the national buttons' rules.
        let offer = wait_for(&c, Locator::XPath("//a[contains(@href, '/demo/accedi')]")).await;
        click_to(&c, &offer, |u| u.contains("/demo/accedi")).await;
        let choice = wait_for_text(&c, "Entra con SPID").await;
        assert!(choice.contains("Entra con CIE"), "the CIE button is offered beside SPID:\n{choice}");
        assert!(choice.contains("Continua senza accedere"), "signing in stays optional:\n{choice}");
        audit_phone_and_pc(&c, &w, &mut audit, "sign-in choice").await;
        assert_same_origin(&c, &w.server.origin, "the sign-in choice").await;
        c.set_window_size(1280, 800).await.expect("window size");

        // "Entra con SPID" opens the list of providers; ours is the one there.
        wait_for(&c, Locator::XPath("//summary[contains(., 'Entra con SPID')]")).await.click().await.expect("open");
        let provider = wait_for(&c, Locator::XPath("//ul[contains(@class, 'id-providers')]//a")).await;
        let href = provider.attr("href").await.expect("href").unwrap_or_default();
        assert!(href.contains("/demo/accedi/avvia?"), "a provider link starts the sign-in here: {href}");
        let spid = fed.spid_provider.clone();
        click_to(&c, &provider, move |u| u.starts_with(&spid)).await;

        // At the provider (the reference implementation's own pages): credentials, consent.
        wait_for(&c, Locator::Css("#id_username")).await.send_keys(&user.username).await.expect("username");
        wait_for(&c, Locator::Css("#id_password")).await.send_keys(&user.password).await.expect("password");
        let login = wait_for(&c, Locator::Css("button#submit")).await;
        click_to(&c, &login, |u| u.contains("/consent")).await;
        let agree = wait_for(&c, Locator::Css("button#agree")).await;
        let origin = w.server.origin.clone();
        let back = click_to(&c, &agree, move |u| u.starts_with(&origin) && !u.contains("/accedi")).await;

        // Back on the booking form, signed in: the details come from the identity.
        assert!(back.contains("/book?start="), "the sign-in returns to the booking form, got {back}");
        assert_eq!(back, form_url, "to the very time chosen");
        let page = wait_for_text(&c, "Dati compilati con SPID").await;
        assert!(page.contains("Esci"), "the header shows the citizen signed in, with Esci:\n{page}");
        check(&c, IT.mode).await;
        check(&c, IT.privacy).await;
        button(&c, IT.submit).await.click().await.expect("on to the applicant's step");
        let name = field(&c, IT.name).await;
        let full_name = format!("{} {}", user.given_name, user.family_name);
        assert_eq!(name.prop("value").await.expect("value").as_deref(), Some(full_name.as_str()));
        let email = field(&c, IT.email).await;
        assert_eq!(email.prop("value").await.expect("value").as_deref(), Some(user.email.as_str()));
        let fiscal = wait_for(&c, Locator::Css("input[name=fiscal_code]")).await;
        assert_eq!(fiscal.prop("value").await.expect("value").as_deref(), Some(user.fiscal_code.as_str()));
        assert!(fiscal.attr("readonly").await.expect("readonly").is_some(), "a verified code cannot be changed");
        audit_phone_and_pc(&c, &w, &mut audit, "applicant step, signed in").await;
        c.set_window_size(1280, 800).await.expect("window size");
        button(&c, IT.submit).await.click().await.expect("on to the summary");
        let summary = wait_for_text(&c, IT.confirm).await;
        assert!(summary.contains(&user.fiscal_code) && summary.contains(&full_name), "{summary}");
        let confirm = button(&c, IT.confirm).await;
        click_to(&c, &confirm, |u| u.contains("/a/") && u.contains("booked=1")).await;
        let booked = wait_for_text(&c, IT.booked_title).await;
        assert!(booked.contains(SERVICE) && booked.contains(&full_name), "{booked}");

        // "I miei appuntamenti" lists it, by the verified fiscal code.
        c.goto(&w.server.url("/demo/i-miei-appuntamenti")).await.expect("my appointments");
        let mine = wait_for_text(&c, SERVICE).await;
        assert!(mine.contains("identità verificata con SPID"), "{mine}");
        audit_phone_and_pc(&c, &w, &mut audit, "my appointments").await;
        assert_same_origin(&c, &w.server.origin, "my appointments").await;
        c.set_window_size(1280, 800).await.expect("window size");

        // Signing out ends the session: the page asks to sign in again.
        let out = button(&c, "Esci").await;
        let before = current_url(&c).await;
        out.click().await.expect("sign out");
        support::wait_for_url(&c, &before, |_| true).await;
        c.goto(&w.server.url("/demo/i-miei-appuntamenti")).await.expect("my appointments again");
        let after = body_text(&c).await;
        assert!(!after.contains(&user.fiscal_code), "signed out, nothing personal is shown:\n{after}");
        audit.assert_clean();
    })
    .await;
}
