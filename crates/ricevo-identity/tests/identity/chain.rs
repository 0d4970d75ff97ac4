//! Trust chains: who is trusted, and what their metadata becomes.

use jiff::SignedDuration;
use ricevo_identity::{IdentityError, ProviderKind};
use serde_json::json;

use crate::support::{Entity, Federation, new_key};

#[tokio::test]
async fn a_provider_registered_with_our_trust_anchor_is_offered_and_signs_in() {
    let fed = Federation::start().await;
    let mut settings = fed.settings();
    settings.providers = vec![fed.provider.id.clone()];
    let (rp, _dir) = fed.relying_party(settings);
    let choices = rp.providers(fed.now).await;
    assert_eq!(choices.len(), 1);
    assert_eq!(choices[0].entity_id, fed.provider.id);
    assert_eq!(choices[0].kind, ProviderKind::Spid);
    assert_eq!(choices[0].name, "Provider di prova");
    assert_eq!(choices[0].logo_uri.as_deref(), Some(format!("{}/logo.svg", fed.provider.id).as_str()));
    let (url, _) = rp.begin(&fed.provider.id, fed.now).await.expect("begins");
    assert!(url.starts_with(&format!("{}/authorization?", fed.provider.id)));
}

#[tokio::test]
async fn a_provider_whose_chain_reaches_another_anchor_is_untrusted_and_not_offered() {
    let fed = Federation::start().await;
    // A whole second federation on the same server: its own anchor, its own provider.
    let rogue_anchor = Entity { id: format!("{}/rogue-ta", fed.base), key: new_key("sig") };
    let rogue = Entity { id: format!("{}/rogue-op", fed.base), key: new_key("sig") };
    let rogue_oidc = new_key("sig");
    fed.publish_anchor(&rogue_anchor, &[rogue.id.clone()]);
    fed.publish_provider(&rogue, &rogue_oidc, &[rogue_anchor.id.clone()]);
    fed.register(&rogue_anchor, &rogue, json!({}), fed.now + SignedDuration::from_hours(24));
    // Our anchor lists both (a list is no proof of trust).
    fed.publish_anchor(&fed.anchor, &[fed.provider.id.clone(), rogue.id.clone()]);

    let (rp, _dir) = fed.relying_party(fed.settings());
    let offered: Vec<String> = rp.providers(fed.now).await.into_iter().map(|p| p.entity_id).collect();
    assert_eq!(offered, vec![fed.provider.id.clone()]);
    let refused = rp.begin(&rogue.id, fed.now).await.expect_err("untrusted");
    assert!(matches!(refused, IdentityError::Untrusted(_)), "{refused:?}");
}

#[tokio::test]
async fn a_provider_claiming_our_anchor_without_being_registered_is_untrusted() {
    let fed = Federation::start().await;
    let stranger = Entity { id: format!("{}/stranger", fed.base), key: new_key("sig") };
    fed.publish_provider(&stranger, &new_key("sig"), &[fed.anchor.id.clone()]);
    let (rp, _dir) = fed.relying_party(fed.settings());
    let refused = rp.begin(&stranger.id, fed.now).await.expect_err("not registered");
    assert!(!matches!(refused, IdentityError::NotConfigured), "{refused:?}");
    assert!(rp.providers(fed.now).await.iter().all(|p| p.entity_id != stranger.id));
}

#[tokio::test]
async fn a_provider_signing_with_a_key_the_anchor_never_registered_is_refused() {
    let fed = Federation::start().await;
    // The anchor registered other keys for the provider than those its configuration uses.
    let other = new_key("sig");
    fed.register_keys(
        &fed.anchor,
        &fed.provider,
        crate::support::public_jwks(&[&other]),
        json!({}),
        fed.now + SignedDuration::from_hours(24),
    );
    let (rp, _dir) = fed.relying_party(fed.settings());
    let refused = rp.begin(&fed.provider.id, fed.now).await.expect_err("refused");
    assert!(matches!(refused, IdentityError::Signature(_)), "{refused:?}");
}

#[tokio::test]
async fn an_anchor_whose_keys_differ_from_the_pinned_ones_is_not_believed() {
    let fed = Federation::start().await;
    let mut settings = fed.settings();
    settings.trust_anchors[0].jwks = crate::support::public_jwks(&[&new_key("sig")]);
    let (rp, _dir) = fed.relying_party(settings);
    let refused = rp.begin(&fed.provider.id, fed.now).await.expect_err("refused");
    assert!(matches!(refused, IdentityError::Signature(_)), "{refused:?}");
}

#[tokio::test]
async fn an_expired_trust_chain_is_refused() {
    let fed = Federation::start().await;
    fed.register(&fed.anchor, &fed.provider, json!({}), fed.now - SignedDuration::from_mins(1));
    let (rp, _dir) = fed.relying_party(fed.settings());
    let refused = rp.begin(&fed.provider.id, fed.now).await.expect_err("expired");
    assert_eq!(refused, IdentityError::ChainExpired);
    assert!(rp.providers(fed.now).await.is_empty());
}

#[tokio::test]
async fn a_cached_chain_is_used_until_it_expires_then_resolved_again() {
    let fed = Federation::start().await;
    let exp = fed.now + SignedDuration::from_mins(30);
    fed.register(&fed.anchor, &fed.provider, json!({}), exp);
    let (rp, _dir) = fed.relying_party(fed.settings());
    rp.begin(&fed.provider.id, fed.now).await.expect("resolves");
    // The anchor withdraws the registration: the cached chain still holds until its exp...
    fed.register_keys(&fed.anchor, &fed.provider, json!({"keys": []}), json!({}), exp);
    rp.begin(&fed.provider.id, fed.now + SignedDuration::from_mins(10)).await.expect("cached");
    // ...and not after.
    let later = exp + SignedDuration::from_secs(1);
    assert!(rp.begin(&fed.provider.id, later).await.is_err());
}

#[tokio::test]
async fn a_chain_through_an_intermediate_resolves_and_its_expiry_counts() {
    let fed = Federation::start().await;
    let intermediate = Entity { id: format!("{}/regione", fed.base), key: new_key("sig") };
    let op = Entity { id: format!("{}/op-regione", fed.base), key: new_key("sig") };
    let oidc = new_key("sig");
    fed.publish_authority(&intermediate, &[fed.anchor.id.clone()], &[]);
    fed.register(&fed.anchor, &intermediate, json!({}), fed.now + SignedDuration::from_hours(24));
    fed.publish_provider(&op, &oidc, &[intermediate.id.clone()]);
    fed.register(&intermediate, &op, json!({}), fed.now + SignedDuration::from_hours(24));
    let (rp, _dir) = fed.relying_party(fed.settings());
    rp.begin(&op.id, fed.now).await.expect("resolves through the intermediate");

    // The anchor's statement about the intermediate expires first: so does the chain.
    let (rp, _dir) = fed.relying_party(fed.settings());
    fed.register(&fed.anchor, &intermediate, json!({}), fed.now + SignedDuration::from_mins(5));
    rp.begin(&op.id, fed.now).await.expect("still valid");
    let after = fed.now + SignedDuration::from_mins(6);
    assert_eq!(rp.begin(&op.id, after).await.expect_err("expired"), IdentityError::ChainExpired);
}

#[tokio::test]
async fn the_anchors_metadata_policy_value_replaces_the_providers_own() {
    let fed = Federation::start().await;
    let forced = format!("{}/authorization-checked", fed.provider.id);
    fed.register(
        &fed.anchor,
        &fed.provider,
        json!({"authorization_endpoint": {"value": forced}}),
        fed.now + SignedDuration::from_hours(24),
    );
    let (rp, _dir) = fed.relying_party(fed.settings());
    let (url, _) = rp.begin(&fed.provider.id, fed.now).await.expect("begins");
    assert!(url.starts_with(&format!("{forced}?")), "{url}");
}

#[tokio::test]
async fn a_provider_breaking_the_anchors_metadata_policy_is_refused() {
    let fed = Federation::start().await;
    // subset_of: the provider signs ID tokens only with algorithms the anchor does not allow.
    fed.register(
        &fed.anchor,
        &fed.provider,
        json!({"id_token_signing_alg_values_supported": {"subset_of": ["PS512"]}}),
        fed.now + SignedDuration::from_hours(24),
    );
    let (rp, _dir) = fed.relying_party(fed.settings());
    let refused = rp.begin(&fed.provider.id, fed.now).await.expect_err("policy not met");
    assert!(matches!(refused, IdentityError::TrustChain(_)), "{refused:?}");

    // essential: a claim the provider does not publish.
    let fed = Federation::start().await;
    fed.register(
        &fed.anchor,
        &fed.provider,
        json!({"revocation_endpoint": {"essential": true}}),
        fed.now + SignedDuration::from_hours(24),
    );
    let (rp, _dir) = fed.relying_party(fed.settings());
    assert!(matches!(rp.begin(&fed.provider.id, fed.now).await, Err(IdentityError::TrustChain(_))));
}

#[tokio::test]
async fn a_provider_named_as_cie_is_offered_as_cie() {
    let fed = Federation::start().await;
    let (rp, _dir) = fed.relying_party(fed.settings());
    let rp = rp.with_cie_providers(vec![format!("{}/", fed.provider.id)]);
    let choices = rp.providers(fed.now).await;
    assert_eq!(choices.len(), 1);
    assert_eq!(choices[0].kind, ProviderKind::Cie);
    let (_, pending) = rp.begin(&fed.provider.id, fed.now).await.expect("begins");
    assert_eq!(pending.kind, ProviderKind::Cie);
}
