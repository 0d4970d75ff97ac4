//! What browsers and API clients send, read into the core's types before the desk sees it:
//! a meeting socket's messages, the booking form's pairs, the API's JSON bodies.
//!
//! These parsers of outside input live apart from the web crate (axum, the store, the
//! mailer), so the fuzz targets in `fuzz/` build them without the whole server.

pub mod api;
pub mod form;
#[doc(hidden)]
pub mod fuzzing;
pub mod socket;
