//! The citizen's contact newtypes, free text and language codes: never a panic; what is
//! accepted holds no control or invisible formatting characters, keeps within its length and
//! parses again to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ricevo_core::Lang;
use ricevo_core::text::{Email, PersonName, Phone, Slug, is_invisible_format_char, multi_line, single_line};

fn clean_line(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() || is_invisible_format_char(c))
}

fuzz_target!(|input: &str| {
    if let Ok(name) = PersonName::parse(input) {
        let s = name.as_str();
        assert!(!s.is_empty() && s.chars().count() <= 100 && clean_line(s), "{s:?}");
        assert_eq!(PersonName::parse(s).as_ref(), Ok(&name));
    }
    if let Ok(email) = Email::parse(input) {
        let s = email.as_str();
        assert!(s.chars().count() <= 254 && clean_line(s) && !s.contains(' '), "{s:?}");
        assert_eq!(s.matches('@').count(), 1, "{s:?}");
        assert_eq!(Email::parse(s).as_ref(), Ok(&email));
    }
    if let Ok(phone) = Phone::parse(input) {
        let s = phone.as_str();
        assert!(clean_line(s) && (6..=15).contains(&s.chars().filter(char::is_ascii_digit).count()), "{s:?}");
        assert_eq!(Phone::parse(s).as_ref(), Ok(&phone));
    }
    if let Ok(slug) = Slug::parse(input) {
        let s = slug.as_str();
        assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{s:?}");
        assert_eq!(Slug::parse(s).as_ref(), Ok(&slug));
    }
    if let Ok(line) = single_line(input, 200) {
        assert!(clean_line(&line) && line.chars().count() <= 200, "{line:?}");
    }
    if let Ok(Some(text)) = multi_line(input, 2000) {
        assert!(text.chars().count() <= 2000, "{text:?}");
        assert!(
            !text.chars().any(|c| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_invisible_format_char(c))
        );
    }
    if let Some(lang) = Lang::parse(input) {
        assert_eq!(Lang::parse(lang.code()), Some(lang));
    }
    let _ = Lang::from_accept_language(input);
});
