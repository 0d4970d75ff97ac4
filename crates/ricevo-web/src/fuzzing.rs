//! Entry points for the fuzz targets in `fuzz/` (not part of the API): the parsers of outside
//! input that live in this crate, reached without a running server.

use ricevo_core::Lang;
use ricevo_core::citizen::BookingInput;

use crate::api::{BookingBody, MoveBody, StatusBody};
use crate::request::{parse_instant, read_json};

/// A WebSocket text message as the socket reads it: the message's `Debug` form, or `None`
/// when the socket would answer "malformed message".
pub fn browser_message(text: &str) -> Option<String> {
    serde_json::from_str::<crate::room::socket::FromBrowser>(text).ok().map(|m| format!("{m:?}"))
}

/// The booking form's posted pairs as the page reads them.
pub fn form_booking_input(pairs: Vec<(String, String)>, lang: Lang) -> BookingInput {
    crate::pages::form::Values::new(pairs).input(lang)
}

/// A `POST /api/v1/{tenant}/appointments` body as the handler reads it before the desk sees
/// it: `None` when the handler answers 400 or 422 for the body itself; the start instant is
/// returned beside the input ([`BookingBody::into_input`], as the handler reads it).
pub fn api_booking_input(body: &[u8], lang: Lang) -> Option<(Option<jiff::Timestamp>, BookingInput)> {
    let parsed: BookingBody = read_json(body, lang).ok()?;
    Some(parsed.into_input(lang))
}

/// The other JSON bodies of the API: a move's start and a staff status change.
pub fn api_small_bodies(body: &[u8], lang: Lang) {
    if let Ok(m) = read_json::<MoveBody>(body, lang) {
        let _ = m.start.as_deref().and_then(parse_instant);
    }
    if let Ok(s) = read_json::<StatusBody>(body, lang) {
        let _ = s.status.as_deref().and_then(ricevo_store::AppointmentStatus::parse);
    }
}

/// A webhook address an admin typed, as the staff page reads it (its shape; whether it may be
/// reached is checked against the allowed hosts, with name resolution, separately).
pub fn webhook_url(raw: &str) -> Option<String> {
    ricevo_notify::WebhookUrl::parse(raw).ok().map(|url| url.as_str().to_owned())
}

/// An uploaded document's name (`X-File-Name`) as stored and shown.
pub fn document_name(raw: &str) -> String {
    ricevo_desk::meetings::clean_name(raw)
}

/// An uploaded document's type, decided by its first bytes.
pub fn document_kind(body: &[u8]) -> Option<&'static str> {
    ricevo_desk::meetings::sniff(body)
}
