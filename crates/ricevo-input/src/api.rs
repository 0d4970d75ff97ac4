//! The JSON bodies of `/api/v1` requests, as clients send them (their OpenAPI schemas too).

use std::collections::BTreeMap;

use jiff::Timestamp;
use ricevo_core::Lang;
use ricevo_core::citizen::BookingInput;
use serde::{Deserialize, Serialize};

/// The citizen in a booking request.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CitizenBody {
    /// Full name.
    pub name: Option<String>,
    /// E-mail for the confirmation and the personal link; may be left out when `phone` is given
    /// (the citizen then keeps the reference code and the link from the answer).
    pub email: Option<String>,
    /// Phone: required without `email`, and for a `phone` appointment.
    pub phone: Option<String>,
    /// Codice fiscale.
    pub fiscal_code: Option<String>,
}

/// A booking request.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct BookingBody {
    /// The service.
    pub service_id: Option<i64>,
    /// The chosen start, RFC 3339.
    #[schema(format = DateTime)]
    pub start: Option<String>,
    /// `video`, `in_person` or `phone`.
    pub mode: Option<String>,
    /// Who books.
    pub citizen: CitizenBody,
    /// Notes for the office.
    pub notes: Option<String>,
    /// Answers to intake questions by key.
    #[schema(value_type = Object)]
    pub answers: BTreeMap<String, serde_json::Value>,
    /// Whether the privacy notice was accepted.
    pub privacy_accepted: Option<bool>,
    /// `it` or `en`: the language of the e-mails.
    pub lang: Option<String>,
}

impl BookingBody {
    /// The chosen start (`None` when missing or unreadable) and what the citizen typed, as the
    /// core's booking check reads it; `lang` is the request's, used when the body names none.
    pub fn into_input(self, lang: Lang) -> (Option<Timestamp>, BookingInput) {
        let start = self.start.as_deref().and_then(|s| ricevo_core::day::parse_instant(s).ok());
        let answers = self
            .answers
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Bool(true) => "yes".into(),
                    serde_json::Value::Bool(false) => "no".into(),
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect();
        let input = BookingInput {
            name: self.citizen.name.unwrap_or_default(),
            email: self.citizen.email.unwrap_or_default(),
            phone: self.citizen.phone,
            fiscal_code: self.citizen.fiscal_code,
            mode: self.mode.unwrap_or_default(),
            notes: self.notes,
            answers,
            privacy_accepted: self.privacy_accepted.unwrap_or(false),
            lang: self.lang.as_deref().and_then(Lang::parse).unwrap_or(lang),
        };
        (start, input)
    }
}

/// A move request.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct MoveBody {
    /// The new start, RFC 3339.
    #[schema(format = DateTime)]
    pub start: Option<String>,
}

/// A staff status change.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct StatusBody {
    /// `checked_in`, `done`, `no_show` or `cancelled`.
    pub status: Option<String>,
    /// With `cancelled`: why, told to the citizen in the cancellation e-mail (3-300 characters,
    /// one line). Optional; the staff pages always ask for one.
    pub reason: Option<String>,
}
