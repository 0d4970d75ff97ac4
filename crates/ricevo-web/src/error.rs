//! The one error type of the web boundary: every refusal becomes a 4xx with a message in the
//! user's language; storage failures become 503 and are logged, never shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ricevo_core::appointment::StatusChangeError;
use ricevo_core::citizen::FieldError;
use ricevo_core::day::DayError;
use ricevo_core::slots::SlotRefusal;
use ricevo_core::{AppointmentStatus, Lang};
use ricevo_desk::DeskError;
use ricevo_notify::DestinationError;
use ricevo_store::StoreError;
use serde::Serialize;

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400: the request could not be read.
    #[error("bad request: {1}")]
    BadRequest(Lang, String),
    /// 404: no such thing (or not yours).
    #[error("not found")]
    NotFound(Lang),
    /// 404: no such service.
    #[error("service not found")]
    ServiceNotFound(Lang),
    /// 422: fields are wrong.
    #[error("invalid fields")]
    Fields(Lang, Vec<FieldError>),
    /// 409: the appointment is no longer active.
    #[error("appointment not active")]
    NotActive(Lang),
    /// 422: an idempotency key was reused for a different request.
    #[error("idempotency key reused")]
    IdempotencyMismatch(Lang),
    /// 401: no or bad credentials.
    #[error("unauthorized")]
    Unauthorized(Lang),
    /// 403: not allowed.
    #[error("forbidden")]
    Forbidden(Lang),
    /// 429: too many requests.
    #[error("too many requests")]
    TooManyRequests(Lang),
    /// 409: changed concurrently.
    #[error("conflict")]
    Conflict(Lang),
    /// 409: the citizen already holds the most active appointments allowed for the service.
    #[error("citizen limit reached")]
    CitizenLimit(Lang, u16),
    /// 429: this client address spent its hourly budget of bookings or tickets; retry after so
    /// many seconds.
    #[error("too many bookings")]
    TooManyBookings(Lang, i64),
    /// 409: the appointment's status cannot change that way now (`AppointmentStatus::transition`).
    #[error("status change refused: {1}")]
    StatusChange(Lang, StatusChangeError),
    /// 409: the person is no longer in the queue (admitted, refused, marked not present, gone).
    #[error("not queued")]
    NotQueued(Lang),
    /// 409: nobody is waiting in the office's queue.
    #[error("nobody waiting")]
    NobodyWaiting(Lang),
    /// 409: the office's walk-in desk is closed now.
    #[error("walk-in desk closed")]
    WalkInClosed(Lang),
    /// 413: a document over the size limit (in megabytes).
    #[error("document too large")]
    DocumentTooLarge(Lang, usize),
    /// 413: a request body over the server's limit.
    #[error("request too large")]
    TooLarge(Lang),
    /// 415: a document whose content is not an accepted type.
    #[error("unsupported document type")]
    UnsupportedDocument(Lang),
    // ---- privacy ----
    /// 409: a citizen's data cannot be erased while these appointments (public ids) are still
    /// to come.
    #[error("citizen has appointments to come")]
    ActiveAppointments(Lang, Vec<String>),
    /// 409: the change would leave the town without an enabled administrator.
    #[error("last administrator")]
    LastAdministrator(Lang),
    /// 503: the town is suspended by the instance administrator.
    #[error("town suspended")]
    Suspended(Lang),
    /// 503: the database failed.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    /// 404 for an unknown service.
    pub fn not_found_service(lang: Lang) -> ApiError {
        ApiError::ServiceNotFound(lang)
    }

    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(..) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) | ApiError::ServiceNotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Fields(..) | ApiError::IdempotencyMismatch(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotActive(_)
            | ApiError::Conflict(_)
            | ApiError::StatusChange(..)
            | ApiError::CitizenLimit(..)
            | ApiError::NotQueued(_)
            | ApiError::NobodyWaiting(_)
            | ApiError::WalkInClosed(_)
            | ApiError::ActiveAppointments(..)
            | ApiError::LastAdministrator(_) => StatusCode::CONFLICT,
            ApiError::Suspended(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::DocumentTooLarge(..) | ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedDocument(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests(_) | ApiError::TooManyBookings(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(..) => "bad_request",
            ApiError::NotFound(_) => "not_found",
            ApiError::ServiceNotFound(_) => "service_not_found",
            ApiError::Fields(..) => "invalid_fields",
            ApiError::NotActive(_) => "not_active",
            ApiError::IdempotencyMismatch(_) => "idempotency_key_reused",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::TooManyRequests(_) => "too_many_requests",
            ApiError::Conflict(_) => "conflict",
            ApiError::CitizenLimit(..) => "citizen_limit",
            ApiError::TooManyBookings(..) => "too_many_bookings",
            ApiError::StatusChange(_, StatusChangeError::Already(_)) => "status_unchanged",
            ApiError::StatusChange(_, StatusChangeError::NotAllowed { .. }) => "status_change_not_allowed",
            ApiError::StatusChange(_, StatusChangeError::TooEarly { .. }) => "status_change_too_early",
            ApiError::StatusChange(_, StatusChangeError::TooLate { .. }) => "status_change_too_late",
            ApiError::NotQueued(_) => "not_queued",
            ApiError::NobodyWaiting(_) => "nobody_waiting",
            ApiError::WalkInClosed(_) => "walk_in_closed",
            ApiError::DocumentTooLarge(..) => "document_too_large",
            ApiError::TooLarge(_) => "request_too_large",
            ApiError::UnsupportedDocument(_) => "unsupported_document",
            ApiError::ActiveAppointments(..) => "citizen_has_appointments_to_come",
            ApiError::LastAdministrator(_) => "last_administrator",
            ApiError::Suspended(_) => "town_suspended",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// A message for the person reading it.
    pub fn message(&self) -> String {
        use Lang::{En, It};
        match self {
            ApiError::BadRequest(It, d) => format!("Richiesta non valida: {d}"),
            ApiError::BadRequest(En, d) => format!("Invalid request: {d}"),
            ApiError::NotFound(It) => "Pagina o risorsa non trovata.".into(),
            ApiError::NotFound(En) => "Page or resource not found.".into(),
            ApiError::ServiceNotFound(It) => "Servizio non trovato.".into(),
            ApiError::ServiceNotFound(En) => "Service not found.".into(),
            ApiError::Fields(It, _) => "Alcuni campi non sono validi.".into(),
            ApiError::Fields(En, _) => "Some fields are not valid.".into(),
            ApiError::NotActive(It) => "L'appuntamento è già stato annullato o concluso.".into(),
            ApiError::NotActive(En) => "The appointment has already been cancelled or has ended.".into(),
            ApiError::IdempotencyMismatch(It) => {
                "La chiave Idempotency-Key è già stata usata per una richiesta diversa.".into()
            }
            ApiError::IdempotencyMismatch(En) => "The Idempotency-Key was already used for a different request.".into(),
            ApiError::Unauthorized(It) => "Accesso non autorizzato: credenziali mancanti o non valide.".into(),
            ApiError::Unauthorized(En) => "Unauthorized: missing or invalid credentials.".into(),
            ApiError::Forbidden(It) => "Non hai i permessi per questa operazione.".into(),
            ApiError::Forbidden(En) => "You are not allowed to do this.".into(),
            ApiError::TooManyRequests(It) => "Troppe richieste: riprova tra qualche istante.".into(),
            ApiError::TooManyRequests(En) => "Too many requests: try again in a moment.".into(),
            ApiError::Conflict(It) => "I dati sono cambiati nel frattempo: ricarica e riprova.".into(),
            ApiError::Conflict(En) => "The data changed in the meantime: reload and try again.".into(),
            ApiError::StatusChange(lang, e) => status_change_message(*lang, *e),
            ApiError::CitizenLimit(It, n) => format!(
                "Hai già {n} appuntamenti attivi per questo servizio, il massimo consentito. Annullane uno \
                 (dal link nell'e-mail di conferma) o attendi che si svolga, poi prenota di nuovo."
            ),
            ApiError::CitizenLimit(En, n) => format!(
                "You already have {n} active appointments for this service, the most allowed. Cancel one \
                 (from the link in its confirmation e-mail) or wait until it has taken place, then book again."
            ),
            ApiError::TooManyBookings(It, secs) => format!(
                "Troppe prenotazioni o biglietti da questa connessione: riprova tra {} minuti.",
                ((secs + 59) / 60).max(1)
            ),
            ApiError::TooManyBookings(En, secs) => {
                format!(
                    "Too many bookings or tickets from this connection: try again in {} minutes.",
                    ((secs + 59) / 60).max(1)
                )
            }
            ApiError::NotQueued(It) => {
                "Questa persona non è più in coda: è già entrata, è stata rifiutata o segnata come non presente, \
                 oppure è uscita."
                    .into()
            }
            ApiError::NotQueued(En) => {
                "This person is no longer in the queue: already admitted, refused or marked as not present, or gone."
                    .into()
            }
            ApiError::NobodyWaiting(It) => "Nessuno è in attesa in questo ufficio.".into(),
            ApiError::NobodyWaiting(En) => "Nobody is waiting for this office.".into(),
            ApiError::WalkInClosed(It) => "Lo sportello virtuale di questo ufficio ora è chiuso.".into(),
            ApiError::WalkInClosed(En) => "This office's virtual desk is closed now.".into(),
            ApiError::DocumentTooLarge(It, mb) => format!("Il documento supera il limite di {mb} MB."),
            ApiError::DocumentTooLarge(En, mb) => format!("The document is over the {mb} MB limit."),
            ApiError::TooLarge(It) => "La richiesta è troppo grande.".into(),
            ApiError::TooLarge(En) => "The request is too large.".into(),
            ApiError::UnsupportedDocument(It) => {
                "Tipo di documento non accettato: usa PDF, immagini (PNG, JPEG, GIF, WebP) o testo.".into()
            }
            ApiError::UnsupportedDocument(En) => {
                "Document type not accepted: use PDF, images (PNG, JPEG, GIF, WebP) or plain text.".into()
            }
            ApiError::ActiveAppointments(It, ids) => format!(
                "Il cittadino ha ancora appuntamenti da svolgere ({}): annullali prima dalla giornata \
                 dell'ufficio (il cittadino ne viene avvisato e i posti tornano liberi), poi cancella i dati.",
                ids.join(", ")
            ),
            ApiError::ActiveAppointments(En, ids) => format!(
                "The citizen still has appointments to come ({}): cancel them first from the office's day \
                 (the citizen is told and the seats are freed), then erase the data.",
                ids.join(", ")
            ),
            ApiError::LastAdministrator(It) => {
                "Non è possibile: il Comune resterebbe senza un amministratore attivo. Nomina prima un altro \
                 amministratore."
                    .into()
            }
            ApiError::LastAdministrator(En) => {
                "Not possible: the town would be left without an active administrator. Make someone else an \
                 administrator first."
                    .into()
            }
            ApiError::Suspended(It) => {
                "Servizio sospeso: i servizi online di questo Comune sono momentaneamente sospesi. Per urgenze \
                 rivolgiti direttamente agli uffici comunali."
                    .into()
            }
            ApiError::Suspended(En) => {
                "Service suspended: this town's online services are suspended for now. For urgent matters \
                 contact the town's offices directly."
                    .into()
            }
            ApiError::Unavailable(_) => {
                "Servizio momentaneamente non disponibile. / Service temporarily unavailable.".into()
            }
            ApiError::Internal(_) => "Errore interno. / Internal error.".into(),
        }
    }

    /// The field errors, if any.
    pub fn fields(&self) -> &[FieldError] {
        match self {
            ApiError::Fields(_, f) => f,
            _ => &[],
        }
    }
}

// A status as the sentences below use it.
fn status_words(s: AppointmentStatus, lang: Lang) -> &'static str {
    use AppointmentStatus::{Booked, Cancelled, CheckedIn, Done, NoShow};
    match (lang, s) {
        (Lang::It, Booked) => "prenotato",
        (Lang::It, CheckedIn) => "arrivato",
        (Lang::It, Done) => "concluso",
        (Lang::It, NoShow) => "non presentato",
        (Lang::It, Cancelled) => "annullato",
        (Lang::En, Booked) => "booked",
        (Lang::En, CheckedIn) => "checked in",
        (Lang::En, Done) => "done",
        (Lang::En, NoShow) => "a no-show",
        (Lang::En, Cancelled) => "cancelled",
    }
}

// Why a status change is refused, in the user's words (instants in Rome's time would need the
// town's zone; the minutes are what an official needs, so the rule is stated instead).
fn status_change_message(lang: Lang, e: StatusChangeError) -> String {
    use AppointmentStatus::{CheckedIn, Done, NoShow};
    match (lang, e) {
        (Lang::It, StatusChangeError::Already(s)) => format!("L'appuntamento è già «{}».", status_words(s, lang)),
        (Lang::En, StatusChangeError::Already(s)) => format!("The appointment is already {}.", status_words(s, lang)),
        (Lang::It, StatusChangeError::NotAllowed { from, to }) => {
            format!("Un appuntamento «{}» non può diventare «{}».", status_words(from, lang), status_words(to, lang))
        }
        (Lang::En, StatusChangeError::NotAllowed { from, to }) => {
            format!("An appointment that is {} cannot become {}.", status_words(from, lang), status_words(to, lang))
        }
        (Lang::It, StatusChangeError::TooEarly { to: NoShow, .. }) => {
            "Troppo presto: si può segnare «non presentato» solo 5 minuti dopo l'inizio dell'appuntamento.".into()
        }
        (Lang::En, StatusChangeError::TooEarly { to: NoShow, .. }) => {
            "Too early: a no-show can be marked only 5 minutes after the appointment's start.".into()
        }
        (Lang::It, StatusChangeError::TooEarly { to: Done, .. }) => {
            "Troppo presto: l'appuntamento non è ancora iniziato, non può essere concluso.".into()
        }
        (Lang::En, StatusChangeError::TooEarly { to: Done, .. }) => {
            "Too early: the appointment has not started yet, so it cannot be done.".into()
        }
        (Lang::It, StatusChangeError::TooEarly { to: CheckedIn, .. }) => {
            "Troppo presto: l'arrivo si registra al massimo 2 ore prima dell'inizio.".into()
        }
        (Lang::En, StatusChangeError::TooEarly { to: CheckedIn, .. }) => {
            "Too early: a check-in is recorded at most 2 hours before the start.".into()
        }
        (Lang::It, StatusChangeError::TooEarly { .. }) => "Troppo presto per questo cambio di stato.".into(),
        (Lang::En, StatusChangeError::TooEarly { .. }) => "Too early for this status change.".into(),
        (Lang::It, StatusChangeError::TooLate { .. }) => {
            "Troppo tardi: l'appuntamento è già finito, non si può più registrare l'arrivo.".into()
        }
        (Lang::En, StatusChangeError::TooLate { .. }) => {
            "Too late: the appointment has already ended, so the arrival can no longer be recorded.".into()
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound(Lang::It),
            StoreError::Stale | StoreError::Duplicate => ApiError::Conflict(Lang::It),
            StoreError::LastAdministrator => ApiError::LastAdministrator(Lang::It),
            StoreError::Contended => ApiError::Unavailable("contention".into()),
            other => ApiError::Unavailable(other.to_string()),
        }
    }
}

/// The JSON body of every API error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code.
    pub error: &'static str,
    /// Human-readable message in the request's language.
    pub message: String,
    /// Per-field problems (422 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldErrorBody>,
}

/// One field's problem.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    /// The field, such as `citizen.email`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ApiError {
    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code(),
            message: self.message(),
            fields: self
                .fields()
                .iter()
                .map(|f| FieldErrorBody { field: f.field.clone(), message: f.message.to_owned() })
                .collect(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Unavailable(detail) => tracing::error!(%detail, "storage unavailable"),
            ApiError::Internal(detail) => tracing::error!(%detail, "internal error"),
            _ => {}
        }
        let mut resp = (self.status(), Json(self.body())).into_response();
        if let ApiError::TooManyBookings(_, secs) = &self {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(*secs));
        }
        resp
    }
}

impl ApiError {
    /// The desk's refusal `e` as an HTTP client sees it, in `lang`. A slot refusal has no
    /// variant here: the handlers that book show its alternatives (see `api::refusal_response`);
    /// without them it is a plain conflict.
    pub fn from_desk(lang: Lang, e: DeskError) -> ApiError {
        match e {
            DeskError::NotFound => ApiError::NotFound(lang),
            DeskError::ServiceNotFound => ApiError::ServiceNotFound(lang),
            DeskError::Unauthorized => ApiError::Unauthorized(lang),
            DeskError::Forbidden => ApiError::Forbidden(lang),
            DeskError::Fields(fields) => ApiError::Fields(lang, fields),
            DeskError::Invalid(message) => ApiError::BadRequest(lang, message),
            DeskError::Unavailable { .. } | DeskError::Conflict | DeskError::Duplicate => ApiError::Conflict(lang),
            DeskError::NotActive => ApiError::NotActive(lang),
            DeskError::IdempotencyMismatch => ApiError::IdempotencyMismatch(lang),
            DeskError::CitizenLimit(n) => ApiError::CitizenLimit(lang, n),
            DeskError::BudgetSpent { retry_after_seconds } => ApiError::TooManyBookings(lang, retry_after_seconds),
            DeskError::StatusChange(e) => ApiError::StatusChange(lang, e),
            DeskError::NotQueued => ApiError::NotQueued(lang),
            DeskError::NobodyWaiting => ApiError::NobodyWaiting(lang),
            DeskError::WalkInClosed => ApiError::WalkInClosed(lang),
            DeskError::DocumentTooLarge(mb) => ApiError::DocumentTooLarge(lang, mb),
            DeskError::UnsupportedDocument => ApiError::UnsupportedDocument(lang),
            DeskError::ActiveAppointments(ids) => ApiError::ActiveAppointments(lang, ids),
            DeskError::Storage(detail) => ApiError::Unavailable(detail),
            DeskError::WebhookUrl(e) => ApiError::BadRequest(lang, webhook_url_message(&e, lang)),
            DeskError::Internal(detail) => ApiError::Internal(detail),
            DeskError::LastAdministrator => ApiError::LastAdministrator(lang),
            DeskError::Suspended => ApiError::Suspended(lang),
            // ---- citizen ----
            DeskError::IdentityRequired => ApiError::Forbidden(lang),
            // ---- end citizen ----
            // ---- public ----
            // A council session refused a command: said in the user's words (a 4xx, not a failure).
            DeskError::Council(refusal) => ApiError::BadRequest(lang, refusal.message(lang).to_owned()),
            // ---- end public ----
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Words a desk result in the user's language: `desk.cancel(..).await.in_lang(lang)?`.
pub trait InLang<T> {
    /// The result with the desk's refusal as an [`ApiError`] in `lang`.
    fn in_lang(self, lang: Lang) -> Result<T, ApiError>;
}

impl<T> InLang<T> for Result<T, DeskError> {
    fn in_lang(self, lang: Lang) -> Result<T, ApiError> {
        self.map_err(|e| ApiError::from_desk(lang, e))
    }
}

impl From<ApiError> for Response {
    fn from(e: ApiError) -> Response {
        e.into_response()
    }
}

/// The message for a slot refusal.
pub fn refusal_message(reason: SlotRefusal, lang: Lang) -> &'static str {
    match (reason, lang) {
        (SlotRefusal::Full, Lang::It) => {
            "Questo orario è appena stato prenotato da qualcun altro. Scegli un altro orario."
        }
        (SlotRefusal::Full, Lang::En) => "This time has just been booked by someone else. Please choose another time.",
        (SlotRefusal::TooSoon, Lang::It) => "Questo orario è passato o troppo vicino per prenotare.",
        (SlotRefusal::TooSoon, Lang::En) => "This time has passed or is too close to book.",
        (SlotRefusal::BeyondHorizon, Lang::It) => "Questo orario è troppo lontano: non è ancora prenotabile.",
        (SlotRefusal::BeyondHorizon, Lang::En) => "This time is too far ahead to book yet.",
        (SlotRefusal::NotASlot, Lang::It) => "L'ufficio non riceve per questo servizio a quell'orario.",
        (SlotRefusal::NotASlot, Lang::En) => "The office does not receive for this service at that time.",
    }
}

/// The message for a day or instant refused at the edge (`ricevo_core::day`).
pub fn day_error_message(e: DayError, lang: Lang) -> &'static str {
    match (e, lang) {
        (DayError::Format, Lang::It) => "Data non valida: usa il formato AAAA-MM-GG.",
        (DayError::Format, Lang::En) => "Invalid date: use the YYYY-MM-DD format.",
        (DayError::OutOfRange, Lang::It) => "Data fuori intervallo: scegli un giorno tra il 2000 e il 2199.",
        (DayError::OutOfRange, Lang::En) => "Date out of range: choose a day between 2000 and 2199.",
    }
}

/// What the staff page says about a refused webhook address.
/// Why a webhook address is refused, in the user's words.
pub fn webhook_url_message(e: &DestinationError, lang: Lang) -> String {
    match e {
        DestinationError::Internal { host, .. } => match lang {
            Lang::It => format!(
                "{host} è un indirizzo di una rete interna: i webhook non possono raggiungerlo. \
                 Se serve davvero, l'amministratore del sistema può consentirlo nella configurazione \
                 (webhooks.allow_hosts)."
            ),
            Lang::En => format!(
                "{host} is an address on an internal network: webhooks may not reach it. \
                 If it is really needed, the system administrator can allow it in the configuration \
                 (webhooks.allow_hosts)."
            ),
        },
        _ => match lang {
            Lang::It => "Indica un indirizzo che inizia con http:// o https://, senza spazi.".into(),
            Lang::En => "Enter an address starting with http:// or https://, without spaces.".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_desk_refusal_a_channel_can_meet_is_a_4xx_in_the_users_language_not_a_500() {
        let internal = || DestinationError::Internal { host: "intranet.local".into(), address: "10.0.0.5".into() };
        let refused = ApiError::from_desk(Lang::En, DeskError::WebhookUrl(internal()));
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(
            refused.message().contains("intranet.local is an address on an internal network"),
            "{}",
            refused.message()
        );
        let italian = ApiError::from_desk(Lang::It, DeskError::WebhookUrl(DestinationError::Malformed));
        assert!(italian.message().contains("http:// o https://"), "{}", italian.message());
        assert_eq!(ApiError::from_desk(Lang::It, DeskError::Unauthorized).status(), StatusCode::UNAUTHORIZED);
        assert_eq!(ApiError::from_desk(Lang::It, DeskError::Duplicate).status(), StatusCode::CONFLICT);
    }
}
