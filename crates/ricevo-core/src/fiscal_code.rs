//! The Italian codice fiscale, checked before a booking so typos are caught at the desk.
//!
//! Only the shape, the date fields and the check character are verified: the name letters and
//! the town code cannot be checked without the person's data and the cadastral registry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Lang;

/// A well-formed codice fiscale, normalised to 16 upper-case characters without spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct FiscalCode(String);

/// Why a fiscal code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FiscalCodeError {
    /// Not 16 characters once spaces are removed.
    #[error("a fiscal code has 16 characters")]
    WrongLength,
    /// Letters and digits are not where they belong.
    #[error("the fiscal code does not follow the pattern of letters and digits")]
    BadPattern,
    /// The month letter or the day of birth is impossible.
    #[error("the fiscal code has an impossible date of birth")]
    BadDate,
    /// The last character does not match the other fifteen.
    #[error("the check character of the fiscal code does not match")]
    WrongCheckCharacter,
}

impl FiscalCodeError {
    /// A message a citizen understands, for the booking form.
    pub fn message(&self, lang: Lang) -> &'static str {
        match (self, lang) {
            (FiscalCodeError::WrongLength, Lang::It) => "Il codice fiscale deve avere 16 caratteri.",
            (FiscalCodeError::WrongLength, Lang::En) => "The fiscal code must have 16 characters.",
            (FiscalCodeError::BadPattern, Lang::It) => {
                "Il codice fiscale non è scritto correttamente: controlla lettere e numeri."
            }
            (FiscalCodeError::BadPattern, Lang::En) => {
                "The fiscal code is not written correctly: check its letters and digits."
            }
            (FiscalCodeError::BadDate, Lang::It) => {
                "La data di nascita nel codice fiscale non è valida: controlla il codice."
            }
            (FiscalCodeError::BadDate, Lang::En) => {
                "The date of birth in the fiscal code is not valid: check the code."
            }
            (FiscalCodeError::WrongCheckCharacter, Lang::It) => {
                "Il codice fiscale non è valido: probabilmente c'è un errore di battitura."
            }
            (FiscalCodeError::WrongCheckCharacter, Lang::En) => {
                "The fiscal code is not valid: it probably contains a typing mistake."
            }
        }
    }
}

/// The month letters, January to December.
const MONTHS: &[u8; 12] = b"ABCDEHLMPRST";

/// The letters that replace the digits 0 to 9 when two people would share a code (omocodia).
const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";

/// Indices that hold a digit or, under omocodia, its replacement letter.
const DIGIT_POSITIONS: [usize; 7] = [6, 7, 9, 10, 12, 13, 14];

/// Check-digit values of characters in odd (1st, 3rd, ...) positions, for 0-9 and A-Z alike.
const ODD_VALUES: [u8; 26] =
    [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];

impl FiscalCode {
    /// Parses what a citizen typed: case and spaces do not matter.
    pub fn parse(input: &str) -> Result<FiscalCode, FiscalCodeError> {
        let code: String = input.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
        if code.chars().count() != 16 {
            return Err(FiscalCodeError::WrongLength);
        }
        let bytes: &[u8; 16] = code.as_bytes().try_into().map_err(|_| FiscalCodeError::BadPattern)?;
        for (i, &b) in bytes.iter().enumerate() {
            let ok = if DIGIT_POSITIONS.contains(&i) {
                b.is_ascii_digit() || OMOCODIA.contains(&b)
            } else {
                b.is_ascii_uppercase()
            };
            if !ok {
                return Err(FiscalCodeError::BadPattern);
            }
        }
        if !MONTHS.contains(&bytes[8]) {
            return Err(FiscalCodeError::BadDate);
        }
        // Women have 40 added to the day of birth.
        let day = decode_digit(bytes[9]) * 10 + decode_digit(bytes[10]);
        if !matches!(day, 1..=31 | 41..=71) {
            return Err(FiscalCodeError::BadDate);
        }
        if check_character(&bytes[..15]) != bytes[15] {
            return Err(FiscalCodeError::WrongCheckCharacter);
        }
        Ok(FiscalCode(code))
    }

    /// The normalised code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The digit a position stands for, whether written as a digit or as an omocodia letter.
fn decode_digit(b: u8) -> u8 {
    match OMOCODIA.iter().position(|&l| l == b) {
        Some(i) => i as u8,
        None => b - b'0',
    }
}

/// The check character of the first 15 characters, already validated as `[0-9A-Z]`.
fn check_character(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            // Digits weigh as the letter at the same index: 0 as A, 1 as B, ...
            let index = if b.is_ascii_digit() { b - b'0' } else { b - b'A' };
            // Index 0 is the first, "odd", position of the official tables.
            let value = if i % 2 == 0 { ODD_VALUES[usize::from(index)] } else { index };
            u32::from(value)
        })
        .sum();
    b'A' + (sum % 26) as u8
}

impl fmt::Display for FiscalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for FiscalCode {
    type Err = FiscalCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FiscalCode::parse(s)
    }
}

impl TryFrom<String> for FiscalCode {
    type Error = FiscalCodeError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        FiscalCode::parse(&s)
    }
}

impl From<FiscalCode> for String {
    fn from(code: FiscalCode) -> String {
        code.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Completes a 15-character body with its check character.
    fn with_check(body: &str) -> String {
        assert_eq!(body.len(), 15);
        format!("{body}{}", check_character(body.as_bytes()) as char)
    }

    /// Replaces the digit at `index` with its omocodia letter.
    fn omocode(body: &str, index: usize) -> String {
        let mut bytes = body.as_bytes().to_vec();
        bytes[index] = OMOCODIA[usize::from(bytes[index] - b'0')];
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_textbook_mario_rossi_code_is_valid() {
        // By hand: odd positions R8 S12 R8 8→19 T14 0→1 5→13 2→5 = 80, even positions
        // S18 M12 A0 5 1 A0 6 = 42; 122 mod 26 = 18, which is S.
        let code = FiscalCode::parse("RSSMRA85T10A562S").unwrap();
        assert_eq!(code.as_str(), "RSSMRA85T10A562S");
        assert_eq!(code.to_string(), "RSSMRA85T10A562S");
        assert_eq!(with_check("RSSMRA85T10A562"), "RSSMRA85T10A562S");
    }

    #[test]
    fn other_valid_codes_are_accepted() {
        // A woman born on the 1st (41 = 1 + 40) and men born on the 31st and the 15th.
        for body in ["BNCLRA90A41H501", "VRDGPP80S31F205", "CLMCST75M15L219"] {
            let code = with_check(body);
            assert_eq!(FiscalCode::parse(&code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn lowercase_and_spaced_input_is_normalised() {
        let code = FiscalCode::parse("  rssmra 85t10 a562s\t").unwrap();
        assert_eq!(code.as_str(), "RSSMRA85T10A562S");
        assert_eq!("RSS MRA 85T10 A562S".parse::<FiscalCode>(), Ok(code));
    }

    #[test]
    fn omocodia_letters_may_replace_digits() {
        let mut body = "RSSMRA85T10A562".to_string();
        // The Agenzia replaces digits from the right; each step is a distinct valid code.
        for index in DIGIT_POSITIONS.into_iter().rev() {
            body = omocode(&body, index);
            let code = with_check(&body);
            assert!(FiscalCode::parse(&code).is_ok(), "{code}");
        }
        assert_eq!(body, "RSSMRAURTMLARSN");
    }

    #[test]
    fn omocodia_letters_are_decoded_before_the_day_is_checked() {
        // "NM" stands for day 21, "QM" for day 41 and "PN" for day 32.
        assert!(FiscalCode::parse(&with_check("RSSMRA85TNMA562")).is_ok());
        assert!(FiscalCode::parse(&with_check("RSSMRA85TQMA562")).is_ok());
        assert_eq!(FiscalCode::parse(&with_check("RSSMRA85TPNA562")), Err(FiscalCodeError::BadDate));
    }

    #[test]
    fn a_wrong_check_character_is_rejected() {
        assert_eq!(FiscalCode::parse("RSSMRA85T10A562T"), Err(FiscalCodeError::WrongCheckCharacter));
        // Two swapped digits are caught too.
        assert_eq!(FiscalCode::parse("RSSMRA58T10A562S"), Err(FiscalCodeError::WrongCheckCharacter));
    }

    #[test]
    fn codes_of_the_wrong_length_are_rejected() {
        for input in ["", "RSSMRA85T10A562", "RSSMRA85T10A562SS", "RSSMRA85T10A562S 1"] {
            assert_eq!(FiscalCode::parse(input), Err(FiscalCodeError::WrongLength), "{input}");
        }
    }

    #[test]
    fn letters_and_digits_out_of_place_are_rejected() {
        for input in ["RSSMR185T10A562S", "RSSMRAA5T10A562S", "RSSMRA85110A562S", "RSSMRA85T10A56ZS"] {
            assert_eq!(FiscalCode::parse(input), Err(FiscalCodeError::BadPattern), "{input}");
        }
        assert_eq!(FiscalCode::parse("RSSMRA85T10A5621"), Err(FiscalCodeError::BadPattern));
        assert_eq!(FiscalCode::parse("RSSMRA85T10A562-"), Err(FiscalCodeError::BadPattern));
        assert_eq!(FiscalCode::parse("RSSMRA85T10A56èS"), Err(FiscalCodeError::BadPattern));
    }

    #[test]
    fn a_month_letter_outside_the_table_is_rejected() {
        // F and Z are letters, but no month.
        for body in ["RSSMRA85F10A562", "RSSMRA85Z10A562"] {
            assert_eq!(FiscalCode::parse(&with_check(body)), Err(FiscalCodeError::BadDate));
        }
    }

    #[test]
    fn impossible_days_are_rejected() {
        for body in ["RSSMRA85T32A562", "RSSMRA85T00A562", "RSSMRA85T40A562", "RSSMRA85T72A562"] {
            assert_eq!(FiscalCode::parse(&with_check(body)), Err(FiscalCodeError::BadDate), "{body}");
        }
    }

    #[test]
    fn every_error_has_a_message_in_both_languages() {
        assert_eq!(FiscalCodeError::WrongLength.message(Lang::It), "Il codice fiscale deve avere 16 caratteri.");
        assert_eq!(FiscalCodeError::WrongLength.message(Lang::En), "The fiscal code must have 16 characters.");
        for e in [
            FiscalCodeError::WrongLength,
            FiscalCodeError::BadPattern,
            FiscalCodeError::BadDate,
            FiscalCodeError::WrongCheckCharacter,
        ] {
            assert_ne!(e.message(Lang::It), e.message(Lang::En));
        }
    }

    #[test]
    fn serde_reads_a_plain_string_and_validates_it() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StringDeserializer};
        let read = |s: &str| {
            let de: StringDeserializer<Error> = s.to_string().into_deserializer();
            FiscalCode::deserialize(de)
        };
        assert_eq!(read("rssmra85t10a562s").unwrap().as_str(), "RSSMRA85T10A562S");
        assert!(read("RSSMRA85T10A562T").is_err());
        assert_eq!(String::from(read("RSSMRA85T10A562S").unwrap()), "RSSMRA85T10A562S");
    }

    /// A valid code: random name letters, date, town and omocodia.
    fn valid_code() -> impl Strategy<Value = String> {
        (
            "[A-Z]{6}",
            0u8..100,
            prop::sample::select(MONTHS.to_vec()),
            prop_oneof![1u8..=31, 41u8..=71],
            "[A-Z][0-9]{3}",
            0usize..=DIGIT_POSITIONS.len(),
        )
            .prop_map(|(name, year, month, day, town, omocodes)| {
                let mut body = format!("{name}{year:02}{}{day:02}{town}", month as char);
                for &index in DIGIT_POSITIONS.iter().rev().take(omocodes) {
                    body = omocode(&body, index);
                }
                with_check(&body)
            })
    }

    proptest! {
        #[test]
        fn valid_codes_are_accepted(code in valid_code()) {
            prop_assert_eq!(FiscalCode::parse(&code).map(String::from), Ok(code));
        }

        #[test]
        fn changing_the_check_character_makes_a_valid_code_invalid(
            code in valid_code(),
            other in prop::sample::select(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".to_vec()),
        ) {
            let mut bytes = code.clone().into_bytes();
            prop_assume!(bytes[15] != other);
            bytes[15] = other;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(FiscalCode::parse(&changed).is_err(), "{changed} accepted");
        }
    }
}
