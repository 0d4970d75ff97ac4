//! Entry points for the fuzz targets in `fuzz/` (not part of the API): the parsers of this
//! crate, called as the web crate calls them.

use jiff::Timestamp;
use ricevo_core::Lang;
use ricevo_core::citizen::BookingInput;

use crate::api::{BookingBody, MoveBody, StatusBody};

/// A WebSocket text message as the meeting socket reads it: the message's `Debug` form, or
/// `None` when the socket would answer "malformed message".
pub fn browser_message(text: &str) -> Option<String> {
    serde_json::from_str::<crate::socket::FromBrowser>(text).ok().map(|m| format!("{m:?}"))
}

/// The booking form's posted pairs as the page reads them.
pub fn form_booking_input(pairs: Vec<(String, String)>, lang: Lang) -> BookingInput {
    crate::form::Values::new(pairs).input(lang)
}

/// A `POST /api/v1/{tenant}/appointments` body as the handler reads it (`serde_json`, as its
/// `read_json` does) before the desk sees it: `None` when the handler answers 400 or 422 for
/// the body itself; the start instant is returned beside the input.
pub fn api_booking_input(body: &[u8], lang: Lang) -> Option<(Option<Timestamp>, BookingInput)> {
    let parsed: BookingBody = serde_json::from_slice(body).ok()?;
    Some(parsed.into_input(lang))
}

/// The other JSON bodies of the API: a move's start and a staff status change.
pub fn api_small_bodies(body: &[u8]) {
    if let Ok(m) = serde_json::from_slice::<MoveBody>(body) {
        let _ = m.start.as_deref().map(ricevo_core::day::parse_instant);
    }
    let _ = serde_json::from_slice::<StatusBody>(body);
}
