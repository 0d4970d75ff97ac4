//! Text messages a browser sends on its WebSocket (`/a/{token}/ws`), read as the socket reads
//! them: never a panic, and only messages whose `type` is one we know are accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;

// Every `type` of `room::socket::FromBrowser`.
const KINDS: [&str; 12] = [
    "offer",
    "answer",
    "chat",
    "leave",
    "audio_only",
    "mute",
    "unmute",
    "remove",
    "readmit",
    "ask_to_speak",
    "end",
    "ping",
];

fuzz_target!(|text: &str| {
    if ricevo_input::fuzzing::browser_message(text).is_some() {
        let value: serde_json::Value = serde_json::from_str(text).expect("an accepted message is JSON");
        // serde's tagged enums also read `["chat", "text"]`, the tag first: harmless, and the
        // same names apply.
        let kind = value.get("type").or_else(|| value.get(0)).and_then(|t| t.as_str());
        assert!(kind.is_some_and(|k| KINDS.contains(&k)), "{text:?}");
    }
});
