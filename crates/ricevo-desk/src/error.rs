//! The one error type of the desk: every way a use case can be refused, without any wording
//! or status code. Each channel words it in the user's language (the web edge as a 4xx).

use ricevo_core::appointment::StatusChangeError;
use ricevo_core::citizen::FieldError;
use ricevo_core::slots::{Slot, SlotRefusal};
use ricevo_store::StoreError;

/// Why the desk refused or could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeskError {
    /// No such thing in this town (or not one the caller may see).
    #[error("not found")]
    NotFound,
    /// No such bookable service.
    #[error("service not found")]
    ServiceNotFound,
    /// No valid credentials for this town (an unknown token, or another town's).
    #[error("unauthorized")]
    Unauthorized,
    /// The caller may not do this (an office outside its grant, a right it lacks).
    #[error("forbidden")]
    Forbidden,
    /// Some fields are wrong; the messages are in the language the request asked for.
    #[error("invalid fields")]
    Fields(Vec<FieldError>),
    /// One value is wrong; the message is in the language the request asked for.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The wanted time cannot be booked; nearby free slots.
    #[error("slot unavailable: {reason:?}")]
    Unavailable {
        /// Why.
        reason: SlotRefusal,
        /// Up to five free slots near the wanted time.
        alternatives: Vec<Slot>,
    },
    /// The appointment was cancelled or has ended.
    #[error("appointment not active")]
    NotActive,
    /// An idempotency key was used before for a different request.
    #[error("idempotency key reused")]
    IdempotencyMismatch,
    /// The citizen already holds the most active appointments allowed for the service.
    #[error("citizen limit of {0} reached")]
    CitizenLimit(u16),
    /// This source spent its hourly budget of bookings or tickets; retry after so many seconds.
    #[error("budget spent, retry after {retry_after_seconds} s")]
    BudgetSpent {
        /// Seconds until the budget is back.
        retry_after_seconds: i64,
    },
    /// The appointment's status cannot change that way now.
    #[error("status change refused: {0}")]
    StatusChange(StatusChangeError),
    /// Someone else changed it meanwhile.
    #[error("changed concurrently")]
    Conflict,
    /// The person is no longer in the queue (admitted, refused, marked not present, gone).
    #[error("not queued")]
    NotQueued,
    /// Nobody is waiting in the office's queue.
    #[error("nobody waiting")]
    NobodyWaiting,
    /// The office's walk-in desk is closed now.
    #[error("walk-in desk closed")]
    WalkInClosed,
    /// A document over the size limit (in megabytes).
    #[error("document over {0} MB")]
    DocumentTooLarge(usize),
    /// A document whose content is not an accepted type.
    #[error("unsupported document type")]
    UnsupportedDocument,
    /// A webhook address that is malformed, or on an internal network the instance does not
    /// allow (the error names the host, so the channel can say which).
    #[error("webhook address refused: {0}")]
    WebhookUrl(ricevo_notify::DestinationError),
    /// Already exists (an account with that e-mail, a duplicate name).
    #[error("already exists")]
    Duplicate,
    // ---- privacy ----
    /// A citizen's data cannot be erased while these appointments (their public ids) are still
    /// to come: staff cancel them first, which frees the seats and tells the citizen.
    #[error("active appointments: {0:?}")]
    ActiveAppointments(Vec<String>),
    /// The change would leave the town without an enabled administrator.
    #[error("last enabled administrator")]
    LastAdministrator,
    /// The town is suspended by the instance administrator: nothing is served for it.
    #[error("town suspended")]
    Suspended,
    // ---- citizen ----
    /// The service books only for a citizen signed in with SPID or CIE.
    #[error("a verified identity is required")]
    IdentityRequired,
    // ---- end citizen ----
    // ---- council ----
    /// A council session refused a command (a 4xx: `Refusal::message` words it).
    #[error("council: {0}")]
    Council(ricevo_core::council::Refusal),
    // ---- end council ----
    /// The database failed; logged, never shown.
    #[error("storage: {0}")]
    Storage(String),
    /// A bug.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for DeskError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => DeskError::NotFound,
            StoreError::Stale => DeskError::Conflict,
            StoreError::Duplicate => DeskError::Duplicate,
            StoreError::LastAdministrator => DeskError::LastAdministrator,
            other => DeskError::Storage(other.to_string()),
        }
    }
}
