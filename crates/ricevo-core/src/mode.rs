//! How a meeting takes place.

use serde::{Deserialize, Serialize};

/// The way a citizen meets the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A video call in the browser.
    Video,
    /// A visit to the office's address.
    InPerson,
    /// A phone call from the office.
    Phone,
}

impl Mode {
    /// Every mode, in the order forms show them.
    pub const ALL: [Mode; 3] = [Mode::Video, Mode::InPerson, Mode::Phone];

    /// The API and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Video => "video",
            Mode::InPerson => "in_person",
            Mode::Phone => "phone",
        }
    }

    /// Parses the API spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Parses a comma-separated list as stored in the database, ignoring unknown words.
    pub fn parse_list(s: &str) -> Vec<Mode> {
        let mut modes: Vec<Mode> = s.split(',').filter_map(|w| Mode::parse(w.trim())).collect();
        modes.sort();
        modes.dedup();
        modes
    }

    /// The comma-separated list stored in the database.
    pub fn join(modes: &[Mode]) -> String {
        modes.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_through_their_api_spelling() {
        for m in Mode::ALL {
            assert_eq!(Mode::parse(m.as_str()), Some(m));
        }
        assert_eq!(Mode::parse("fax"), None);
        assert_eq!(Mode::parse_list("phone, video,fax,video"), vec![Mode::Video, Mode::Phone]);
        assert_eq!(Mode::join(&[Mode::Video, Mode::InPerson]), "video,in_person");
    }
}
