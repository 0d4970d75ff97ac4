//! The reason an official gives when they cancel or move a citizen's appointment, or close an
//! office over booked days: the citizen reads it in the message that tells them.

use serde::Serialize;

use crate::Lang;
use crate::text::{TextError, single_line};

/// The longest reason accepted: a sentence or two, as it goes into an e-mail.
pub const MAX_REASON_CHARS: usize = 300;

/// A checked reason: one line, 3 to [`MAX_REASON_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason(String);

/// Why a reason is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonError {
    /// Missing, or too short to tell the citizen anything.
    Missing,
    /// A problem with the text itself.
    Text(TextError),
}

impl ReasonError {
    /// The message for the official, in their language.
    pub fn message(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (ReasonError::Missing, Lang::It) => {
                "Scrivi il motivo: il cittadino lo leggerà nel messaggio che lo avvisa (almeno 3 caratteri)."
            }
            (ReasonError::Missing, Lang::En) => {
                "Write the reason: the citizen reads it in the message that tells them (at least 3 characters)."
            }
            (ReasonError::Text(TextError::TooLong), Lang::It) => "Il motivo è troppo lungo (al massimo 300 caratteri).",
            (ReasonError::Text(TextError::TooLong), Lang::En) => "The reason is too long (at most 300 characters).",
            (ReasonError::Text(e), lang) => e.message(lang),
        }
    }
}

impl Reason {
    /// Checks a typed reason.
    pub fn parse(input: &str) -> Result<Reason, ReasonError> {
        match single_line(input, MAX_REASON_CHARS) {
            Err(TextError::Empty) => Err(ReasonError::Missing),
            Err(e) => Err(ReasonError::Text(e)),
            Ok(s) if s.chars().count() < 3 => Err(ReasonError::Missing),
            Ok(s) => Ok(Reason(s)),
        }
    }

    /// The reason as typed (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_one_readable_line_of_sensible_length() {
        assert_eq!(Reason::parse("  Ufficio chiuso per sciopero ").unwrap().as_str(), "Ufficio chiuso per sciopero");
        assert_eq!(Reason::parse(""), Err(ReasonError::Missing));
        assert_eq!(Reason::parse(" ok "), Err(ReasonError::Missing));
        assert_eq!(Reason::parse("a\nb and more"), Err(ReasonError::Text(TextError::InvalidCharacters)));
        assert_eq!(Reason::parse(&"x".repeat(301)), Err(ReasonError::Text(TextError::TooLong)));
        assert!(Reason::parse(&"x".repeat(300)).is_ok());
        assert!(ReasonError::Missing.message(Lang::En).contains("reason"));
    }
}
