//! What SPID/CIE providers and federation entities send (`ricevo_identity::fuzzing`): tokens
//! read as a JWS, an entity statement, an ID token and an encrypted userinfo, and a metadata
//! policy applied to metadata. Never a panic, and nothing signed by a key nobody holds is
//! accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(text) = std::str::from_utf8(input) {
        ricevo_identity::fuzzing::tokens(text);
    }
    // The first line is the metadata, the rest the policy.
    let split = input.iter().position(|b| *b == b'\n').unwrap_or(input.len());
    let (metadata, policy) = input.split_at(split);
    ricevo_identity::fuzzing::metadata_policy(metadata, policy.get(1..).unwrap_or_default());
});
