//! The harness works before Ricevo's relying party exists: spid-cie-oidc's own relying party,
//! registered with our trust anchor like any relying party, signs the test citizen in through
//! our SPID and CIE providers (trust chains both ways, the trust mark the provider requires, signed
//! request object, PKCE, private_key_jwt, encrypted userinfo) and receives the fiscal number.

use ricevo_fakes::federation::Federation;

use crate::browser::{Browser, urlencode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_relying_party_signs_a_citizen_in_through_the_spid_and_cie_providers() {
    let Some(federation) = Federation::start_or_skip("federation reference RP").await else { return };
    let rp = federation.start_reference_relying_party().await.unwrap_or_else(|e| panic!("{e}"));
    let cie = federation.cie_provider.clone().expect("a CIE provider");
    let user = federation.user.clone();

    for (provider, profile, log) in [(federation.spid_provider.clone(), "spid", "spid"), (cie, "cie", "cie")] {
        let mut browser = Browser::new();
        let begin = format!("{rp}/oidc/rp/authorization?provider={}&profile={profile}", urlencode(&provider));
        let login = browser.get(&begin).await;
        assert!(
            login.url.starts_with(&format!("{provider}/oidc/op/authorization?")),
            "the relying party sends the citizen to the provider: {login:?}\nRP log:\n{}\nOP log:\n{}",
            federation.log("rp"),
            federation.log(log)
        );
        let done = browser.sign_in_at_provider(&login, &user.username, &user.password).await;

        assert!(
            done.visited.iter().any(|u| u.starts_with(&format!("{rp}/oidc/rp/callback?code="))),
            "the provider answers the relying party's callback with a code: {:?}\nRP log:\n{}",
            done.visited,
            federation.log("rp")
        );
        assert_eq!(done.url, format!("{rp}/oidc/rp/echo_attributes"), "signed in: {done:?}\n{}", federation.log("rp"));
        assert!(
            done.body.contains(&user.fiscal_number),
            "{profile}: the relying party got the fiscal number: {}",
            done.body
        );
        assert!(done.body.contains(&user.family_name), "{profile}: and the family name: {}", done.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_relying_party_refuses_a_provider_the_trust_anchor_does_not_know() {
    let Some(federation) = Federation::start_or_skip("federation untrusted provider").await else { return };
    let rp = federation.start_reference_relying_party().await.unwrap_or_else(|e| panic!("{e}"));
    let untrusted = federation.untrusted_provider.clone().expect("an unregistered provider");
    let mut browser = Browser::new();

    let page =
        browser.get(&format!("{rp}/oidc/rp/authorization?provider={}&profile=spid", urlencode(&untrusted))).await;
    assert!(page.status.is_client_error(), "refused: {page:?}");
    assert!(
        !page.visited.iter().any(|u| u.starts_with(&untrusted)),
        "the citizen is never sent to the untrusted provider: {:?}",
        page.visited
    );
}
