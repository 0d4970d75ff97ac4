//! Days and instants that come from outside (a query string, a form, a JSON body), held to a
//! window where every calendar sum Ricevo makes is defined.
//!
//! jiff accepts years -9999 to 9999, but adding a day to 9999-12-31, or putting a day of year
//! -9999 in a time zone, fails: an unchecked date from a URL could turn into a 500 or a panic
//! deep in the slot engine. Nobody books, or looks at a day, outside 2000-2199, so input is
//! held to that window at the edge, and everything inside has centuries of room on each side.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

/// The first day accepted from outside.
pub const FIRST_DAY: Date = Date::constant(2000, 1, 1);

/// The last day accepted from outside.
pub const LAST_DAY: Date = Date::constant(2199, 12, 31);

/// Why a day or instant from outside is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DayError {
    /// Not `YYYY-MM-DD` (or not RFC 3339 for an instant), or no such day.
    #[error("not a date in the YYYY-MM-DD format")]
    Format,
    /// A real date, outside [`FIRST_DAY`]..=[`LAST_DAY`].
    #[error("a date outside 2000-01-01..=2199-12-31")]
    OutOfRange,
}

/// A civil day within Ricevo's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(Date);

impl Day {
    /// Parses `YYYY-MM-DD` (surrounding spaces ignored) within the window.
    pub fn parse(input: &str) -> Result<Day, DayError> {
        let s = input.trim();
        // jiff also reads signed six-digit years (`-009999-01-01`): a day from a person is
        // written with four digits.
        if s.len() != 10 || !s.as_bytes()[0].is_ascii_digit() {
            return Err(DayError::Format);
        }
        let date: Date = s.parse().map_err(|_| DayError::Format)?;
        Day::new(date)
    }

    /// A date within the window.
    pub fn new(date: Date) -> Result<Day, DayError> {
        if (FIRST_DAY..=LAST_DAY).contains(&date) { Ok(Day(date)) } else { Err(DayError::OutOfRange) }
    }

    /// The date.
    pub fn date(self) -> Date {
        self.0
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Parses an RFC 3339 instant (with an offset or `Z`) that falls within the window's days in
/// any time zone (a day of margin on each side).
pub fn parse_instant(input: &str) -> Result<Timestamp, DayError> {
    let s = input.trim();
    if s.len() > 64 {
        return Err(DayError::Format);
    }
    let t: Timestamp = s.parse().map_err(|_| DayError::Format)?;
    let day = SignedDuration::from_hours(24);
    let first = FIRST_DAY.to_zoned(jiff::tz::TimeZone::UTC).map_err(|_| DayError::OutOfRange)?.timestamp();
    let after = LAST_DAY.to_zoned(jiff::tz::TimeZone::UTC).map_err(|_| DayError::OutOfRange)?.timestamp();
    if t < first + day || t >= after {
        return Err(DayError::OutOfRange);
    }
    Ok(t)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use jiff::ToSpan;
    use jiff::tz::TimeZone;
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_edges_of_jiffs_calendar_are_refused_as_out_of_range_and_garbage_as_format() {
        for s in ["9999-12-31", "0000-01-01", "1999-12-31", "2200-01-01"] {
            assert_eq!(Day::parse(s), Err(DayError::OutOfRange), "{s}");
        }
        for s in ["-9999-01-01", "-009999-01-01", "+009999-12-31", "2026-02-30", "2026-1-1", "oggi", ""] {
            assert_eq!(Day::parse(s), Err(DayError::Format), "{s}");
        }
        assert_eq!(Day::parse(" 2026-11-25 ").unwrap().to_string(), "2026-11-25");
        assert!(Day::parse("2000-01-01").is_ok() && Day::parse("2199-12-31").is_ok());
    }

    #[test]
    fn instants_at_the_edges_of_time_are_refused() {
        for s in ["1999-12-31T23:00:00Z", "2199-12-31T12:00:00Z", "9999-12-30T00:00:00Z", "-009999-01-03T00:00:00Z"] {
            assert_eq!(parse_instant(s), Err(DayError::OutOfRange), "{s}");
        }
        // Beyond jiff's own instants: not even readable.
        assert_eq!(parse_instant("9999-12-31T23:59:59Z"), Err(DayError::Format));
        assert_eq!(parse_instant("domani alle nove"), Err(DayError::Format));
        assert!(parse_instant("2026-12-07T09:00:00+01:00").is_ok());
    }

    fn rome() -> TimeZone {
        TimeZone::get("Europe/Rome").unwrap()
    }

    proptest! {
        // Whatever the year, a day that is accepted supports the sums the slot engine and the
        // day view make (a year either way, in a real zone); one that is refused is refused.
        #[test]
        fn an_accepted_day_supports_every_sum_ricevo_makes(year in -9999i16..=9999, month in 1i8..=12, day in 1i8..=31) {
            let Ok(date) = Date::new(year, month, day) else { return Ok(()) };
            let text = if year >= 0 { format!("{year:04}-{month:02}-{day:02}") } else { date.to_string() };
            match Day::parse(&text) {
                Ok(d) => {
                    let d = d.date();
                    prop_assert!(d.checked_add(400.days()).is_ok() && d.checked_sub(400.days()).is_ok());
                    prop_assert!(d.to_zoned(rome()).is_ok());
                    prop_assert!(d.checked_add(1.day()).and_then(|n| n.to_zoned(rome())).is_ok());
                }
                Err(_) => prop_assert!(!(FIRST_DAY..=LAST_DAY).contains(&date)),
            }
        }

        #[test]
        fn an_accepted_instant_has_a_local_day_in_the_window(secs in Timestamp::MIN.as_second()..=Timestamp::MAX.as_second()) {
            let t = Timestamp::from_second(secs).unwrap();
            if let Ok(ok) = parse_instant(&t.to_string()) {
                let local = ok.to_zoned(rome()).date();
                prop_assert!(Day::new(local).is_ok());
                prop_assert!(ok.checked_add(SignedDuration::from_hours(24 * 400)).is_ok());
            }
        }
    }
}
