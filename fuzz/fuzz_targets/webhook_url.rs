//! Webhook addresses a town's admin types on the staff page: never a panic; an accepted
//! address is http(s) with a host, at most 500 characters, without spaces or control
//! characters, and checking it again changes nothing.
//!
//! It fuzzes the staff page's check (`parse_webhook_url`) as it is today; when webhook
//! addresses become a newtype in ricevo-notify, point this target at its `parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    let Some(url) = ricevo_core::webhook::WebhookUrl::parse(raw).ok().map(|u| u.as_str().to_owned()) else {
        return;
    };
    assert!(url.len() <= 500, "{url:?}");
    assert!(!url.chars().any(|c| c.is_whitespace() || c.is_control()), "{url:?}");
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let host = rest.and_then(|r| r.split(['/', '?', '#']).next()).map(|a| a.rsplit('@').next().unwrap_or(""));
    assert!(host.is_some_and(|h| !h.is_empty() && !h.starts_with(':')), "{url:?}");
    assert_eq!(ricevo_core::webhook::WebhookUrl::parse(&url).ok().map(|u| u.as_str().to_owned()).as_ref(), Some(&url));
});
