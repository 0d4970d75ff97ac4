//! What a citizen tells us when booking, checked field by field.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Lang;
use crate::fiscal_code::FiscalCode;
use crate::mode::Mode;
use crate::service::{IntakeQuestion, ServiceRules, check_answers};
use crate::text::{Email, PersonName, Phone, TextError, multi_line};

/// The booking details as typed, before any check.
#[derive(Debug, Clone, Default)]
pub struct BookingInput {
    /// Full name.
    pub name: String,
    /// E-mail address for the confirmation; may be blank when a phone number is given.
    pub email: String,
    /// Phone number: optional, except without an e-mail or for a phone appointment.
    pub phone: Option<String>,
    /// Optional codice fiscale.
    pub fiscal_code: Option<String>,
    /// The mode as its API spelling.
    pub mode: String,
    /// Free notes for the office.
    pub notes: Option<String>,
    /// Answers to the service's intake questions, by key.
    pub answers: BTreeMap<String, String>,
    /// Whether the privacy notice was accepted.
    pub privacy_accepted: bool,
    /// The language the citizen wants e-mails in.
    pub lang: Lang,
}

/// A citizen's checked contact details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Citizen {
    /// Full name.
    pub name: PersonName,
    /// E-mail address: `None` for a citizen who has none (then `phone` is given).
    pub email: Option<Email>,
    /// Phone number.
    pub phone: Option<Phone>,
    /// Codice fiscale.
    pub fiscal_code: Option<FiscalCode>,
}

/// Checked booking details, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingDetails {
    /// Who books.
    pub citizen: Citizen,
    /// How they meet the office.
    pub mode: Mode,
    /// Free notes.
    pub notes: Option<String>,
    /// Cleaned answers.
    pub answers: BTreeMap<String, String>,
    /// Language for e-mails.
    pub lang: Lang,
}

/// One field's problem, with a message in the user's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as in the API (`citizen.email`, `answers.spid`, ...).
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: &'static str,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: &'static str) -> FieldError {
        FieldError { field: field.into(), message }
    }
}

/// Checks every field and reports every problem at once.
pub fn check_booking(
    input: &BookingInput,
    service: &ServiceRules,
    questions: &[IntakeQuestion],
    lang: Lang,
) -> Result<BookingDetails, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut field = |name: &str, e: TextError| errors.push(FieldError::new(name, e.message(lang)));
    let name = PersonName::parse(&input.name).map_err(|e| field("citizen.name", e)).ok();
    let email = match input.email.trim() {
        "" => Some(None),
        e => Email::parse(e).map(Some).map_err(|e| field("citizen.email", e)).ok(),
    };
    let phone = match input.phone.as_deref().map(str::trim) {
        None | Some("") => Some(None),
        Some(p) => Phone::parse(p).map(Some).map_err(|e| field("citizen.phone", e)).ok(),
    };
    let notes = multi_line(input.notes.as_deref().unwrap_or(""), 2000).map_err(|e| field("notes", e)).ok();
    let no_phone = matches!(phone, Some(None));
    // Someone must be able to reach the citizen: an e-mail, or else a phone number.
    if no_phone && matches!(email, Some(None)) {
        errors.push(FieldError::new(
            "citizen.email",
            match lang {
                Lang::It => "Indica un indirizzo e-mail oppure, se non ne hai uno, un numero di telefono.",
                Lang::En => "Give an e-mail address or, if you have none, a phone number.",
            },
        ));
    }
    let fiscal_code = match input.fiscal_code.as_deref().map(str::trim) {
        None | Some("") => Some(None),
        Some(code) => match FiscalCode::parse(code) {
            Ok(c) => Some(Some(c)),
            Err(e) => {
                errors.push(FieldError::new("citizen.fiscal_code", e.message(lang)));
                None
            }
        },
    };
    let mode = match Mode::parse(input.mode.trim()) {
        // The office calls the citizen: without a number there is no appointment.
        Some(Mode::Phone) if service.offers(Mode::Phone) && no_phone => {
            errors.push(FieldError::new(
                "citizen.phone",
                match lang {
                    Lang::It => "Per l'appuntamento telefonico indica il numero al quale l'ufficio ti chiamerà.",
                    Lang::En => "For a phone appointment give the number the office will call you on.",
                },
            ));
            None
        }
        Some(m) if service.offers(m) => Some(m),
        _ => {
            errors.push(FieldError::new(
                "mode",
                match lang {
                    Lang::It => "Scegli una delle modalità offerte per questo servizio.",
                    Lang::En => "Choose one of the modes this service offers.",
                },
            ));
            None
        }
    };
    if !input.privacy_accepted {
        errors.push(FieldError::new(
            "privacy_accepted",
            match lang {
                Lang::It => "Per prenotare dichiara di aver letto l'informativa sul trattamento dei dati personali.",
                Lang::En => "To book, state that you have read the privacy notice.",
            },
        ));
    }
    let answers = match check_answers(questions, &input.answers) {
        Ok(a) => Some(a),
        Err(list) => {
            errors.extend(list.into_iter().map(|(k, e)| FieldError::new(format!("answers.{k}"), e.message(lang))));
            None
        }
    };
    match (name, email, phone, fiscal_code, mode, notes, answers) {
        (Some(name), Some(email), Some(phone), Some(fiscal_code), Some(mode), Some(notes), Some(answers))
            if errors.is_empty() =>
        {
            Ok(BookingDetails {
                citizen: Citizen { name, email, phone, fiscal_code },
                mode,
                notes,
                answers,
                lang: input.lang,
            })
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn video_service() -> ServiceRules {
        ServiceRules::new(20, 0, vec![Mode::Video, Mode::InPerson], 0, 60).unwrap()
    }

    fn good() -> BookingInput {
        BookingInput {
            name: "Maria Rossi".into(),
            email: "maria@example.it".into(),
            mode: "video".into(),
            privacy_accepted: true,
            ..BookingInput::default()
        }
    }

    #[test]
    fn a_complete_form_passes_and_optional_fields_may_be_blank() {
        let mut input = good();
        input.phone = Some("  ".into());
        input.fiscal_code = Some(String::new());
        let d = check_booking(&input, &video_service(), &[], Lang::It).unwrap();
        assert_eq!(d.citizen.name.as_str(), "Maria Rossi");
        assert_eq!(d.citizen.phone, None);
        assert_eq!(d.mode, Mode::Video);
    }

    fn phone_service() -> ServiceRules {
        ServiceRules::new(20, 0, vec![Mode::Phone, Mode::InPerson], 0, 60).unwrap()
    }

    #[test]
    fn a_citizen_without_e_mail_books_with_a_phone_number() {
        let mut input = good();
        input.email = "  ".into();
        input.phone = Some("+39 333 123 4567".into());
        input.mode = "in_person".into();
        let d = check_booking(&input, &phone_service(), &[], Lang::It).unwrap();
        assert_eq!(d.citizen.email, None);
        assert_eq!(d.citizen.phone.unwrap().as_str(), "+39 333 123 4567");
    }

    #[test]
    fn without_e_mail_and_phone_nobody_could_reach_the_citizen() {
        let mut input = good();
        input.email = String::new();
        input.mode = "in_person".into();
        let errors = check_booking(&input, &phone_service(), &[], Lang::En).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "citizen.email");
        assert!(errors[0].message.contains("phone number"));
    }

    #[test]
    fn a_phone_appointment_needs_the_number_to_call() {
        let mut input = good();
        input.mode = "phone".into();
        let errors = check_booking(&input, &phone_service(), &[], Lang::It).unwrap_err();
        assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["citizen.phone"]);
        input.phone = Some("0968 81234".into());
        assert_eq!(check_booking(&input, &phone_service(), &[], Lang::It).unwrap().mode, Mode::Phone);
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_field() {
        let input = BookingInput {
            name: String::new(),
            email: "nope".into(),
            phone: Some("abc".into()),
            fiscal_code: Some("XYZ".into()),
            mode: "phone".into(),
            notes: Some("x".repeat(3000)),
            privacy_accepted: false,
            ..BookingInput::default()
        };
        let errors = check_booking(&input, &video_service(), &[], Lang::En).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "citizen.name",
            "citizen.email",
            "citizen.phone",
            "citizen.fiscal_code",
            "mode",
            "notes",
            "privacy_accepted",
        ] {
            assert!(fields.contains(&f), "missing error for {f}: {fields:?}");
        }
    }
}
