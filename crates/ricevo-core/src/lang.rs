//! The languages Ricevo speaks: Italian first, English too.

use serde::{Deserialize, Serialize};

/// A language of the user interface and of e-mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Italian, the default.
    #[default]
    It,
    /// English.
    En,
}

impl Lang {
    /// The BCP 47 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }

    /// Parses a language code such as `it`, `en`, `en-GB`; `None` for languages we lack.
    pub fn parse(s: &str) -> Option<Lang> {
        let primary = s.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "it" => Some(Lang::It),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Picks the best language from an `Accept-Language` header, honouring q-values.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let Some(tag) = pieces.next() else { continue };
            let q = pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
            if let Some(lang) = Lang::parse(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }
}

const WEEKDAYS_IT: [&str; 7] = ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"];
const WEEKDAYS_EN: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS_IT: [&str; 12] = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Lang {
    /// A weekday's name as written mid-sentence ("lunedì", "Monday").
    pub fn weekday(self, day: jiff::civil::Weekday) -> &'static str {
        let i = usize::from(day.to_monday_zero_offset().unsigned_abs()) % 7;
        match self {
            Lang::It => WEEKDAYS_IT[i],
            Lang::En => WEEKDAYS_EN[i],
        }
    }

    /// A month's name as written mid-sentence ("dicembre", "December"); `month` is 1 to 12.
    pub fn month(self, month: i8) -> &'static str {
        let i = usize::from(month.clamp(1, 12).unsigned_abs()) - 1;
        match self {
            Lang::It => MONTHS_IT[i],
            Lang::En => MONTHS_EN[i],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_words_come_in_both_languages() {
        use jiff::civil::Weekday;
        assert_eq!(Lang::It.weekday(Weekday::Monday), "lunedì");
        assert_eq!(Lang::En.weekday(Weekday::Sunday), "Sunday");
        assert_eq!(Lang::It.month(12), "dicembre");
        assert_eq!(Lang::En.month(1), "January");
        assert_eq!(Lang::It.month(13), "dicembre", "out of range clamps, never panics");
    }

    #[test]
    fn accept_language_picks_the_highest_supported_preference() {
        assert_eq!(Lang::from_accept_language("en-GB,en;q=0.9,it;q=0.8"), Lang::En);
        assert_eq!(Lang::from_accept_language("de-DE,it;q=0.5,en;q=0.4"), Lang::It);
        assert_eq!(Lang::from_accept_language("fr"), Lang::It);
        assert_eq!(Lang::from_accept_language(""), Lang::It);
        assert_eq!(Lang::from_accept_language("it;q=0.2, en;q=0.7"), Lang::En);
    }
}
