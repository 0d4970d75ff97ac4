//! What a meeting page's browser sends on its WebSocket.

use serde::Deserialize;

/// A message from the browser.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromBrowser {
    Offer { sdp: String },
    Answer { sdp: String },
    Chat { text: String },
    Leave,
    AudioOnly { on: bool },
    Mute { entry_id: i64 },
    Unmute { entry_id: i64 },
    Remove { entry_id: i64 },
    Readmit { entry_id: i64 },
    AskToSpeak,
    End,
    Ping,
}
