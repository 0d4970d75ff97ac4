//! The ICE servers handed to browsers: none by default (the SFU is ICE-lite and announces its
//! own addresses), or a TURN relay with time-limited credentials from the TURN REST API's shared
//! secret (coturn `use-auth-secret`): username `expiry:entry`, password
//! `base64(HMAC-SHA1(secret, username))`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use ricevo_core::EntryId;
use serde_json::{Value, json};
use sha1::Sha1;

use crate::state::WebConfig;

/// The `iceServers` list for one participant.
pub(crate) fn servers(config: &WebConfig, entry: EntryId, now: Timestamp) -> Value {
    let Some(turn) = &config.turn else { return json!([]) };
    let (username, credential) = credentials(&turn.secret, entry, now.as_second() + turn.ttl_seconds.max(60));
    json!([{ "urls": turn.urls, "username": username, "credential": credential }])
}

/// TURN REST API credentials valid until `expires` (Unix seconds).
pub(crate) fn credentials(secret: &str, entry: EntryId, expires: i64) -> (String, String) {
    let username = format!("{expires}:{}", entry.0);
    let credential = match Hmac::<Sha1>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(username.as_bytes());
            STANDARD.encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this arm cannot run.
        Err(_) => String::new(),
    };
    (username, credential)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_credentials_follow_the_turn_rest_api() {
        // Computed independently: printf '1700000000:7' | openssl dgst -sha1 -hmac secret -binary | base64
        let (user, pass) = credentials("secret", EntryId(7), 1_700_000_000);
        assert_eq!(user, "1700000000:7");
        assert_eq!(pass, "Cf4dX1iIxoaSkwMIEX411xSxa14=");
    }

    #[test]
    fn without_turn_browsers_get_no_ice_servers() {
        assert_eq!(servers(&WebConfig::default(), EntryId(1), Timestamp::UNIX_EPOCH), json!([]));
    }
}
