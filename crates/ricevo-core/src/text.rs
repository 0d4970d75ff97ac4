//! Validated text values: an invalid one cannot exist past the edge of the system.

use serde::{Deserialize, Serialize};

/// Why a piece of text was refused; each variant has a message in the user's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Nothing was given where something is required.
    #[error("empty")]
    Empty,
    /// Longer than the field allows.
    #[error("too long")]
    TooLong,
    /// Contains control characters or other characters the field cannot hold.
    #[error("invalid characters")]
    InvalidCharacters,
    /// Not shaped like an e-mail address.
    #[error("not an e-mail address")]
    NotAnEmail,
    /// Not shaped like a phone number.
    #[error("not a phone number")]
    NotAPhone,
    /// Not a valid slug (lowercase letters, digits and dashes).
    #[error("not a slug")]
    NotASlug,
}

impl TextError {
    /// A message a citizen understands.
    pub fn message(self, lang: crate::Lang) -> &'static str {
        use crate::Lang::{En, It};
        match (self, lang) {
            (TextError::Empty, It) => "Questo campo è obbligatorio.",
            (TextError::Empty, En) => "This field is required.",
            (TextError::TooLong, It) => "Il testo è troppo lungo.",
            (TextError::TooLong, En) => "The text is too long.",
            (TextError::InvalidCharacters, It) => "Il testo contiene caratteri non ammessi.",
            (TextError::InvalidCharacters, En) => "The text contains characters that are not allowed.",
            (TextError::NotAnEmail, It) => "Indica un indirizzo e-mail valido, ad esempio nome@esempio.it.",
            (TextError::NotAnEmail, En) => "Enter a valid e-mail address, such as name@example.com.",
            (TextError::NotAPhone, It) => "Indica un numero di telefono valido (cifre, spazi, + iniziale).",
            (TextError::NotAPhone, En) => "Enter a valid phone number (digits, spaces, a leading +).",
            (TextError::NotASlug, It) => "Usa solo lettere minuscole, cifre e trattini.",
            (TextError::NotASlug, En) => "Use only lowercase letters, digits and dashes.",
        }
    }
}

/// Trims and checks a single-line text: not empty, at most `max` characters, no control chars.
pub fn single_line(input: &str, max: usize) -> Result<String, TextError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(TextError::Empty);
    }
    if s.chars().count() > max {
        return Err(TextError::TooLong);
    }
    if s.chars().any(|c| c.is_control() || is_invisible_format_char(c)) {
        return Err(TextError::InvalidCharacters);
    }
    Ok(s.to_owned())
}

/// Trims and checks a multi-line text: at most `max` characters, newlines and tabs allowed.
/// An empty text is `None`.
pub fn multi_line(input: &str, max: usize) -> Result<Option<String>, TextError> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > max {
        return Err(TextError::TooLong);
    }
    if s.chars().any(|c| (c.is_control() && c != '\n' && c != '\r' && c != '\t') || is_invisible_format_char(c)) {
        return Err(TextError::InvalidCharacters);
    }
    Ok(Some(s.replace("\r\n", "\n")))
}

/// Whether `c` is an invisible formatting character: bidirectional marks, embeddings,
/// overrides and isolates (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069), zero-width
/// characters and joiners (U+200B–U+200D, U+2060–U+2064) or a byte-order mark. They can
/// disguise a name (`fattura\u{202E}fdp.exe` shows as `fatturaexe.pdf`) on a staff screen.
pub fn is_invisible_format_char(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// A person's name as they want to be called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    /// Accepts 1 to 100 printable characters.
    pub fn parse(input: &str) -> Result<PersonName, TextError> {
        single_line(input, 100).map(PersonName)
    }
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, checked for shape (the only real check is delivering to it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld` with no spaces, at most 254 characters.
    pub fn parse(input: &str) -> Result<Email, TextError> {
        let s = single_line(input, 254)?;
        let (local, domain) = s.rsplit_once('@').ok_or(TextError::NotAnEmail)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !(local_ok && domain_ok) {
            return Err(TextError::NotAnEmail);
        }
        Ok(Email(format!("{local}@{}", domain.to_lowercase())))
    }
    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number as people write it: digits, spaces, dots, dashes, a leading `+`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Accepts 6 to 15 digits with common separators.
    pub fn parse(input: &str) -> Result<Phone, TextError> {
        let s = single_line(input, 30)?;
        let body = s.strip_prefix('+').unwrap_or(&s);
        let digits = body.chars().filter(char::is_ascii_digit).count();
        let shape_ok = body.chars().all(|c| c.is_ascii_digit() || " .-/()".contains(c));
        if !shape_ok || !(6..=15).contains(&digits) {
            return Err(TextError::NotAPhone);
        }
        Ok(Phone(s))
    }
    /// The number as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Path words a town cannot take as its slug, since Ricevo's own routes use them.
pub const RESERVED_SLUGS: [&str; 6] = ["a", "api", "static", "healthz", "metrics", "staff"];

/// The short name of a town in URLs, such as `demo` or `prato`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    /// Accepts 1 to 40 lowercase ASCII letters, digits and inner dashes, except the words
    /// that name Ricevo's own paths (`a`, `api`, `static`, ...).
    pub fn parse(input: &str) -> Result<Slug, TextError> {
        let s = input.trim();
        let ok = !s.is_empty()
            && !RESERVED_SLUGS.contains(&s)
            && s.len() <= 40
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok { Ok(Slug(s.to_owned())) } else { Err(TextError::NotASlug) }
    }
    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_checked_for_shape_and_the_domain_is_lowercased() {
        assert_eq!(
            Email::parse(" Mario.Rossi@Comune.Prato.IT ").map(|e| e.0),
            Ok("Mario.Rossi@comune.prato.it".into())
        );
        for bad in [
            "",
            "mario",
            "mario@",
            "@x.it",
            "mario@localhost",
            "ma rio@x.it",
            "a..b@x.it",
            "a@-x.it",
            "<script>@x.it",
            "a@x.it\nBcc: b@y.it",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn names_refuse_control_and_invisible_characters_and_huge_input() {
        assert!(PersonName::parse("Maria Rossi").is_ok());
        assert!(PersonName::parse("D'Annunzio-Ñúñez").is_ok());
        assert_eq!(PersonName::parse("   "), Err(TextError::Empty));
        assert_eq!(PersonName::parse("a\u{0}b"), Err(TextError::InvalidCharacters));
        assert_eq!(PersonName::parse("evil\u{202E}gnp.exe"), Err(TextError::InvalidCharacters));
        assert_eq!(PersonName::parse(&"x".repeat(101)), Err(TextError::TooLong));
    }

    #[test]
    fn phones_accept_common_italian_writing() {
        assert!(Phone::parse("+39 0574 183 5000").is_ok());
        assert!(Phone::parse("333-1234567").is_ok());
        assert_eq!(Phone::parse("call me"), Err(TextError::NotAPhone));
        assert_eq!(Phone::parse("12"), Err(TextError::NotAPhone));
    }

    #[test]
    fn slugs_are_lowercase_words_with_dashes() {
        assert!(Slug::parse("san-giovanni-2").is_ok());
        for bad in ["", "Demo", "-x", "x-", "a b", "città", &"a".repeat(41), "a", "api", "static"] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn multi_line_text_keeps_newlines_but_refuses_other_controls() {
        assert_eq!(multi_line("  a\r\nb ", 10), Ok(Some("a\nb".into())));
        assert_eq!(multi_line("   ", 10), Ok(None));
        assert_eq!(multi_line("a\u{7}", 10), Err(TextError::InvalidCharacters));
    }
}
