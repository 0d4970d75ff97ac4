//! Ricevo's notifications: e-mails with calendar invites, walk-in tickets' links, signed webhooks, and the outbox
//! worker that delivers both with retries.
//!
//! Rendering is pure ([`render`], [`invite`], [`sign`]): the caller renders a message when the
//! change happens and stores the result in the outbox in the same transaction, so what is
//! delivered later is exactly what was decided then. The [`Worker`] only delivers.

pub mod appointment;
pub mod delivery;
pub mod destination;
pub mod email;
pub mod feedback;
pub mod ics;
pub mod survey;
pub mod ticket;
pub mod webhook;
pub mod worker;
// ---- channels ----
pub mod channels;
pub mod citizen_message;
pub mod telegram;
pub use channels::ChannelSenders;
pub use citizen_message::{CitizenMessage, MessageKind};
pub use telegram::BotApi;
// ---- end channels ----
// ---- webpush ----
pub mod push;
pub use push::{PushNotice, PushOutcome, PushSender, SubscriptionError, SubscriptionKeys, VapidKey};
// ---- end webpush ----
// ---- telegram ----
pub mod telegram_updates;
// ---- end telegram ----

pub use appointment::AppointmentNotice;
pub use delivery::{Mailer, Outgoing, SmtpSecurity, list_outbox_dir, purge_outbox_dir, town_outbox_dir};
pub use destination::{AllowedHosts, DestinationError, WebhookUrl};
pub use email::{EmailKind, OutgoingEmail, human_datetime, render, render_survey, render_ticket, to_eml};
pub use feedback::{FeedbackNotice, render_feedback};
pub use ics::{Method, invite};
pub use survey::SurveyNotice;
pub use ticket::TicketNotice;
pub use webhook::{WebhookSender, sign, verify};
pub use worker::{Worker, backoff};

/// Everything that can go wrong while rendering or delivering a notification.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// An e-mail address could not be parsed.
    #[error("invalid e-mail address: {0}")]
    Address(#[from] lettre::address::AddressError),
    /// The MIME message could not be built.
    #[error("cannot build the e-mail: {0}")]
    Email(#[from] lettre::error::Error),
    /// A MIME content type was malformed.
    #[error("invalid content type: {0}")]
    ContentType(#[from] lettre::message::header::ContentTypeErr),
    /// The SMTP server refused the message or could not be reached.
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    /// A webhook request failed before an answer (connection, TLS, timeout).
    #[error("webhook request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// A webhook address may not be reached: malformed, or internal and not allowed.
    #[error("webhook address refused: {0}")]
    Destination(#[from] destination::DestinationError),
    /// A webhook receiver answered with a status other than 2xx.
    #[error("webhook receiver answered HTTP {0}")]
    WebhookStatus(u16),
    /// Writing to the outbox folder failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The database failed.
    #[error("store: {0}")]
    Store(#[from] ricevo_store::StoreError),
    /// A stored payload is not a message we know how to deliver.
    #[error("unreadable payload: {0}")]
    Payload(#[from] serde_json::Error),
    /// A value or a setting is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// A channel refused the message for this citizen (App IO: not allowed or no profile; SMS:
    /// an invalid number; Telegram: the bot is blocked): the next channel is tried.
    #[error("refused: {0}")]
    Refused(String),
    /// A channel's service is down or overloaded: the message is tried again later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    // ---- webpush ----
    /// A push service answered with a status other than 2xx, 404 or 410.
    #[error("push service answered HTTP {0}")]
    PushStatus(u16),
    // ---- end webpush ----
}

impl NotifyError {
    /// Whether trying again cannot help: the message itself is wrong (a bad address, a
    /// malformed payload) or the mail server refused it for good (an SMTP 5xx answer).
    pub fn is_permanent(&self) -> bool {
        match self {
            NotifyError::Address(_)
            | NotifyError::Email(_)
            | NotifyError::ContentType(_)
            | NotifyError::Payload(_)
            | NotifyError::Invalid(_)
            | NotifyError::Refused(_) => true,
            NotifyError::Smtp(e) => e.is_permanent(),
            // An internal address may become allowed (the configuration) or a name public
            // again (DNS): retried with backoff, never connected to meanwhile.
            NotifyError::Destination(e) => matches!(e, destination::DestinationError::Malformed),
            // ---- webpush ----
            // A push the service calls malformed or too large will stay so.
            NotifyError::PushStatus(status) => matches!(status, 400 | 413),
            // ---- end webpush ----
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_errors_of_the_message_itself_are_permanent() {
        assert!(NotifyError::Invalid("bad method".into()).is_permanent());
        assert!(NotifyError::Address(lettre::address::AddressError::MissingParts).is_permanent());
        assert!(!NotifyError::WebhookStatus(500).is_permanent());
        assert!(!NotifyError::WebhookStatus(404).is_permanent(), "a receiver may be fixed later");
        assert!(!NotifyError::Io(std::io::Error::other("disk full")).is_permanent());
    }
}
