//! The booking form as posted: its pairs, and the booking input they make.

use std::collections::BTreeMap;

use ricevo_core::Lang;
use ricevo_core::citizen::BookingInput;

/// The posted form's field prefix for intake answers: `answer.<key>`.
pub const ANSWER_PREFIX: &str = "answer.";

/// What the citizen typed, kept to fill the form again.
#[derive(Debug, Default)]
pub struct Values {
    pairs: Vec<(String, String)>,
}

impl Values {
    /// The posted pairs.
    pub fn new(pairs: Vec<(String, String)>) -> Values {
        Values { pairs }
    }

    /// Every posted pair, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first value of a field, or empty.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").to_owned()
    }

    /// The booking input these values make; `lang` is the page's language.
    pub fn input(&self, lang: Lang) -> BookingInput {
        let optional = |name: &str| self.get(name).map(str::to_owned);
        let answers: BTreeMap<String, String> = self
            .pairs
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(ANSWER_PREFIX).map(|key| (key.to_owned(), v.clone())))
            .collect();
        BookingInput {
            name: self.text("name"),
            email: self.text("email"),
            phone: optional("phone"),
            fiscal_code: optional("fiscal_code"),
            mode: self.text("mode"),
            notes: optional("notes"),
            answers,
            privacy_accepted: self.get("privacy_accepted").is_some_and(|v| !v.is_empty()),
            lang: self.get("email_lang").and_then(Lang::parse).unwrap_or(lang),
        }
    }
}
