//! An appointment's reference code, short enough to read aloud over the phone: six symbols in
//! two groups, `K7M-4QP`. The alphabet leaves out what is easily misread (`0`/`O`, `1`/`I`/`l`,
//! and so `L`, since codes are read in any case), so a code written down by hand comes back right. Codes are drawn at random by
//! the caller (the core has no randomness); the store refuses a code already taken, and the
//! caller draws again.
//!
//! Appointments booked before codes existed keep their 16-character public id; a lookup that
//! is not a code is tried as such an id, as it was written.

use serde::Serialize;

/// The symbols of a code: digits 2-9 and the capital letters without I, L and O (31 symbols,
/// so a code is one of about 887 million).
pub const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// How many symbols a code has (without its dash).
pub const LEN: usize = 6;

/// A reference code in its written form, `K7M-4QP`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ReferenceCode(String);

impl ReferenceCode {
    /// The code a random number picks (its base-31 digits; 64 random bits leave no bias
    /// worth the name).
    pub fn from_random(mut n: u64) -> ReferenceCode {
        let base = ALPHABET.len() as u64;
        let symbols: Vec<u8> = (0..LEN)
            .map(|_| {
                let digit = usize::try_from(n % base).unwrap_or(0);
                n /= base;
                ALPHABET[digit]
            })
            .collect();
        ReferenceCode(written(&symbols))
    }

    /// Reads a code as a person types it: any case, with or without the dash, with spaces
    /// around or between the groups. `None` if it is not a code.
    pub fn parse(input: &str) -> Option<ReferenceCode> {
        let symbols: Vec<u8> = input
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| u8::try_from(c.to_ascii_uppercase()).ok())
            .collect::<Option<Vec<u8>>>()?;
        if symbols.len() != LEN || !symbols.iter().all(|s| ALPHABET.contains(s)) {
            return None;
        }
        Some(ReferenceCode(written(&symbols)))
    }

    /// The written form, `K7M-4QP`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ReferenceCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn written(symbols: &[u8]) -> String {
    let (a, b) = symbols.split_at(LEN / 2);
    format!("{}-{}", String::from_utf8_lossy(a), String::from_utf8_lossy(b))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_alphabet_has_no_symbol_that_reads_like_another() {
        for bad in [b'0', b'O', b'1', b'I', b'l', b'L'] {
            assert!(!ALPHABET.contains(&bad), "{}", bad as char);
        }
        let mut sorted = ALPHABET.to_vec();
        sorted.dedup();
        assert_eq!(sorted.len(), ALPHABET.len(), "every symbol once");
    }

    #[test]
    fn a_random_code_is_two_groups_of_three_and_reads_back_as_itself() {
        for n in [0, 1, 30, 31, 887_503_680, u64::MAX, 0x9e37_79b9_7f4a_7c15] {
            let code = ReferenceCode::from_random(n);
            let s = code.as_str();
            assert_eq!(s.len(), 7);
            assert_eq!(&s[3..4], "-");
            assert_eq!(ReferenceCode::parse(s), Some(code.clone()));
        }
    }

    #[test]
    fn a_code_is_found_in_any_case_with_or_without_its_dash() {
        let want = ReferenceCode::parse("K7M-4QP").unwrap();
        for typed in ["k7m4qp", " K7M 4QP ", "k7m-4qp", "K7M4QP"] {
            assert_eq!(ReferenceCode::parse(typed).as_ref(), Some(&want), "{typed}");
        }
    }

    #[test]
    fn what_is_not_a_code_is_refused() {
        for typed in [
            "",
            "K7M-4Q",
            "K7M-4QPX",
            "K0M-4QP",
            "KOM-4QP",
            "K1M-4QP",
            "KIM-4QP",
            "KLM-4QP",
            "klm-4qp",
            "K7M-4Q€",
            "AbCdEfGhIjKlMnOp",
        ] {
            assert_eq!(ReferenceCode::parse(typed), None, "{typed}");
        }
    }
}
