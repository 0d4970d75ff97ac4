//! Italian public holidays, so offices are never bookable when the town hall is closed by law.
//!
//! National holidays come from the law; each town adds the day of its patron saint.

use jiff::civil::{Date, date};
use serde::{Deserialize, Serialize};

use crate::Lang;

/// Easter Sunday of a Gregorian year, by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
///
/// # Panics
///
/// If `year` is outside the range jiff supports (-9999..=9999).
pub fn easter_sunday(year: i16) -> Date {
    // Euclidean division keeps the algorithm total for proleptic negative years too.
    let y = i32::from(year);
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let n = h + l - 7 * m + 114;
    // n / 31 is 3 or 4 and n % 31 + 1 is at most 31, so both fit in an i8.
    let month = (n / 31) as i8;
    let day = (n % 31 + 1) as i8;
    date(year, month, day)
}

/// The day of a town's patron saint, the same month and day every year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatronDay {
    /// Month, 1 to 12.
    pub month: i8,
    /// Day of the month, 1 to 31.
    pub day: i8,
}

impl PatronDay {
    /// Parses `MM-DD` as stored in a town's settings; `None` unless it is a real calendar day.
    pub fn parse(s: &str) -> Option<PatronDay> {
        let (mm, dd) = s.trim().split_once('-')?;
        let two_digits = |p: &str| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(mm) || !two_digits(dd) {
            return None;
        }
        let month: i8 = mm.parse().ok()?;
        let day: i8 = dd.parse().ok()?;
        // 2000 is a leap year, so 02-29 is accepted: it simply does not occur in other years.
        Date::new(2000, month, day).ok()?;
        Some(PatronDay { month, day })
    }

    /// The `MM-DD` spelling, as stored in a town's settings.
    pub fn as_string(&self) -> String {
        format!("{:02}-{:02}", self.month, self.day)
    }

    /// The date of the feast in `year`; `None` for 02-29 outside leap years.
    pub fn in_year(&self, year: i16) -> Option<Date> {
        Date::new(year, self.month, self.day).ok()
    }

    /// Whether `date` is this feast.
    fn falls_on(self, date: Date) -> bool {
        date.month() == self.month && date.day() == self.day
    }
}

/// A holiday fixed by national law.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NationalHoliday {
    /// 1 January.
    Capodanno,
    /// 6 January.
    Epifania,
    /// Easter Sunday.
    Pasqua,
    /// Easter Monday.
    LunediDellAngelo,
    /// 25 April.
    Liberazione,
    /// 1 May.
    FestaDelLavoro,
    /// 2 June.
    FestaDellaRepubblica,
    /// 15 August.
    Ferragosto,
    /// 4 October, a holiday again from 2026 (law 151/2025).
    SanFrancesco,
    /// 1 November.
    Ognissanti,
    /// 8 December.
    Immacolata,
    /// 25 December.
    Natale,
    /// 26 December.
    SantoStefano,
}

impl NationalHoliday {
    /// The name shown to citizens and staff.
    pub fn name(self, lang: Lang) -> &'static str {
        use NationalHoliday::*;
        match (self, lang) {
            (Capodanno, Lang::It) => "Capodanno",
            (Capodanno, Lang::En) => "New Year's Day",
            (Epifania, Lang::It) => "Epifania",
            (Epifania, Lang::En) => "Epiphany",
            (Pasqua, Lang::It) => "Pasqua",
            (Pasqua, Lang::En) => "Easter Sunday",
            (LunediDellAngelo, Lang::It) => "Lunedì dell'Angelo",
            (LunediDellAngelo, Lang::En) => "Easter Monday",
            (Liberazione, Lang::It) => "Festa della Liberazione",
            (Liberazione, Lang::En) => "Liberation Day",
            (FestaDelLavoro, Lang::It) => "Festa del Lavoro",
            (FestaDelLavoro, Lang::En) => "Labour Day",
            (FestaDellaRepubblica, Lang::It) => "Festa della Repubblica",
            (FestaDellaRepubblica, Lang::En) => "Republic Day",
            (Ferragosto, Lang::It) => "Ferragosto",
            (Ferragosto, Lang::En) => "Assumption Day (Ferragosto)",
            (SanFrancesco, Lang::It) => "San Francesco d'Assisi",
            (SanFrancesco, Lang::En) => "Saint Francis of Assisi",
            (Ognissanti, Lang::It) => "Ognissanti",
            (Ognissanti, Lang::En) => "All Saints' Day",
            (Immacolata, Lang::It) => "Immacolata Concezione",
            (Immacolata, Lang::En) => "Immaculate Conception",
            (Natale, Lang::It) => "Natale",
            (Natale, Lang::En) => "Christmas Day",
            (SantoStefano, Lang::It) => "Santo Stefano",
            (SantoStefano, Lang::En) => "Saint Stephen's Day",
        }
    }
}

/// Why a day is a holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HolidayKind {
    /// A holiday for the whole country.
    National(NationalHoliday),
    /// The feast of the town's patron saint.
    Patron,
}

impl HolidayKind {
    /// The name shown to citizens and staff.
    pub fn name(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (HolidayKind::National(h), _) => h.name(lang),
            (HolidayKind::Patron, Lang::It) => "Festa del santo patrono",
            (HolidayKind::Patron, Lang::En) => "Patron saint's day",
        }
    }
}

/// The holidays on the same month and day every year, San Francesco aside.
const FIXED: [(i8, i8, NationalHoliday); 10] = [
    (1, 1, NationalHoliday::Capodanno),
    (1, 6, NationalHoliday::Epifania),
    (4, 25, NationalHoliday::Liberazione),
    (5, 1, NationalHoliday::FestaDelLavoro),
    (6, 2, NationalHoliday::FestaDellaRepubblica),
    (8, 15, NationalHoliday::Ferragosto),
    (11, 1, NationalHoliday::Ognissanti),
    (12, 8, NationalHoliday::Immacolata),
    (12, 25, NationalHoliday::Natale),
    (12, 26, NationalHoliday::SantoStefano),
];

/// The first year 4 October is a national holiday again (law 151/2025).
const SAN_FRANCESCO_FROM: i16 = 2026;

/// The national holiday on `date`, if any.
pub fn national_holiday(date: Date) -> Option<NationalHoliday> {
    let (month, day) = (date.month(), date.day());
    if let Some(&(_, _, h)) = FIXED.iter().find(|&&(m, d, _)| m == month && d == day) {
        return Some(h);
    }
    if month == 10 && day == 4 && date.year() >= SAN_FRANCESCO_FROM {
        return Some(NationalHoliday::SanFrancesco);
    }
    // Easter is always in March or April: skip the computus the rest of the year.
    if month == 3 || month == 4 {
        let easter = easter_sunday(date.year());
        if date == easter {
            return Some(NationalHoliday::Pasqua);
        }
        if date.yesterday().ok() == Some(easter) {
            return Some(NationalHoliday::LunediDellAngelo);
        }
    }
    None
}

/// Every national holiday of `year`, in calendar order.
pub fn national_holidays(year: i16) -> Vec<(Date, NationalHoliday)> {
    let mut days: Vec<(Date, NationalHoliday)> =
        FIXED.iter().filter_map(|&(m, d, h)| Date::new(year, m, d).ok().map(|dt| (dt, h))).collect();
    if year >= SAN_FRANCESCO_FROM {
        days.extend(Date::new(year, 10, 4).ok().map(|d| (d, NationalHoliday::SanFrancesco)));
    }
    let easter = easter_sunday(year);
    days.push((easter, NationalHoliday::Pasqua));
    days.extend(easter.tomorrow().ok().map(|d| (d, NationalHoliday::LunediDellAngelo)));
    days.sort_by_key(|&(d, _)| d);
    days
}

/// Why `date` is a holiday in a town with the given patron day, if it is one.
///
/// A national holiday wins when the patron's feast falls on it, since its name is more telling.
pub fn holiday_kind(date: Date, patron: Option<PatronDay>) -> Option<HolidayKind> {
    national_holiday(date)
        .map(HolidayKind::National)
        .or_else(|| patron.filter(|p| p.falls_on(date)).map(|_| HolidayKind::Patron))
}

/// The holiday's name in `lang` if `date` is a holiday in a town with the given patron day.
pub fn holiday_name(date: Date, patron: Option<PatronDay>, lang: Lang) -> Option<&'static str> {
    holiday_kind(date, patron).map(|k| k.name(lang))
}

/// Whether the town hall is closed by law on `date`.
pub fn is_holiday(date: Date, patron: Option<PatronDay>) -> bool {
    holiday_kind(date, patron).is_some()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::civil::Weekday;
    use proptest::prelude::*;

    #[test]
    fn easter_sunday_matches_known_years() {
        let known = [
            (2024, date(2024, 3, 31)),
            (2025, date(2025, 4, 20)),
            (2026, date(2026, 4, 5)),
            (2027, date(2027, 3, 28)),
            (2000, date(2000, 4, 23)),
            (2038, date(2038, 4, 25)),
            (1818, date(1818, 3, 22)),
            (2285, date(2285, 3, 22)),
        ];
        for (year, easter) in known {
            assert_eq!(easter_sunday(year), easter, "Easter {year}");
        }
    }

    #[test]
    fn easter_and_easter_monday_are_holidays() {
        let it = |d| holiday_name(d, None, Lang::It);
        let en = |d| holiday_name(d, None, Lang::En);
        assert_eq!(it(date(2025, 4, 20)), Some("Pasqua"));
        assert_eq!(it(date(2025, 4, 21)), Some("Lunedì dell'Angelo"));
        assert_eq!(en(date(2025, 4, 21)), Some("Easter Monday"));
        // Easter Monday crosses into April when Easter is the last day of March.
        assert_eq!(it(date(2024, 4, 1)), Some("Lunedì dell'Angelo"));
        assert!(!is_holiday(date(2025, 4, 22), None));
        assert!(!is_holiday(date(2025, 4, 19), None));
    }

    #[test]
    fn fixed_national_holidays_fall_every_year() {
        let names = [
            ((1, 1), "Capodanno"),
            ((1, 6), "Epifania"),
            ((4, 25), "Festa della Liberazione"),
            ((5, 1), "Festa del Lavoro"),
            ((6, 2), "Festa della Repubblica"),
            ((8, 15), "Ferragosto"),
            ((11, 1), "Ognissanti"),
            ((12, 8), "Immacolata Concezione"),
            ((12, 25), "Natale"),
            ((12, 26), "Santo Stefano"),
        ];
        for year in [1999, 2024, 2025, 2031] {
            for ((m, d), name) in names {
                assert_eq!(holiday_name(date(year, m, d), None, Lang::It), Some(name));
            }
        }
        assert_eq!(holiday_name(date(2025, 12, 25), None, Lang::En), Some("Christmas Day"));
        assert!(!is_holiday(date(2025, 12, 27), None));
        assert!(!is_holiday(date(2025, 6, 3), None));
    }

    #[test]
    fn four_october_is_a_holiday_only_from_2026() {
        assert!(!is_holiday(date(2024, 10, 4), None));
        assert!(!is_holiday(date(2025, 10, 4), None));
        assert_eq!(holiday_name(date(2026, 10, 4), None, Lang::It), Some("San Francesco d'Assisi"));
        assert!(is_holiday(date(2040, 10, 4), None));
    }

    #[test]
    fn the_patron_day_is_a_holiday_only_in_its_town() {
        let milan = PatronDay::parse("12-07");
        assert_eq!(holiday_name(date(2025, 12, 7), milan, Lang::It), Some("Festa del santo patrono"));
        assert_eq!(holiday_name(date(2025, 12, 7), milan, Lang::En), Some("Patron saint's day"));
        assert!(!is_holiday(date(2025, 12, 7), None));
        assert!(!is_holiday(date(2025, 12, 7), PatronDay::parse("06-24")));
    }

    #[test]
    fn a_patron_day_on_a_national_holiday_keeps_the_national_name() {
        let bologna = PatronDay::parse("10-04");
        assert_eq!(holiday_name(date(2026, 10, 4), bologna, Lang::It), Some("San Francesco d'Assisi"));
        assert_eq!(holiday_name(date(2025, 10, 4), bologna, Lang::It), Some("Festa del santo patrono"));
    }

    #[test]
    fn a_leap_day_patron_only_occurs_in_leap_years() {
        let p = PatronDay::parse("02-29").unwrap();
        assert_eq!(p.in_year(2025), None);
        assert_eq!(p.in_year(2028), Some(date(2028, 2, 29)));
        assert!(is_holiday(date(2028, 2, 29), Some(p)));
        assert!(!is_holiday(date(2025, 2, 28), Some(p)));
        assert!(!is_holiday(date(2025, 3, 1), Some(p)));
    }

    #[test]
    fn patron_days_parse_only_real_days_written_mm_dd() {
        assert_eq!(PatronDay::parse("06-24"), Some(PatronDay { month: 6, day: 24 }));
        assert_eq!(PatronDay::parse(" 01-31 "), Some(PatronDay { month: 1, day: 31 }));
        for bad in ["6-24", "06-4", "13-01", "00-10", "04-31", "02-30", "06/24", "+6-24", "", "0624"] {
            assert_eq!(PatronDay::parse(bad), None, "{bad}");
        }
        assert_eq!(PatronDay { month: 1, day: 6 }.as_string(), "01-06");
        assert_eq!(PatronDay::parse("09-19").unwrap().as_string(), "09-19");
    }

    #[test]
    fn the_year_list_agrees_with_the_day_by_day_check() {
        for year in [2024, 2025, 2026] {
            let listed = national_holidays(year);
            assert_eq!(listed.len(), if year >= 2026 { 13 } else { 12 });
            let mut day = date(year, 1, 1);
            let mut found = Vec::new();
            while day.year() == year {
                if let Some(h) = national_holiday(day) {
                    found.push((day, h));
                }
                day = day.tomorrow().unwrap();
            }
            assert_eq!(listed, found);
        }
    }

    proptest! {
        #[test]
        fn easter_is_always_a_sunday_between_22_march_and_25_april(year in 1583i16..=4099) {
            let easter = easter_sunday(year);
            prop_assert_eq!(easter.weekday(), Weekday::Sunday);
            prop_assert_eq!(easter.year(), year);
            let md = (easter.month(), easter.day());
            prop_assert!(((3, 22)..=(4, 25)).contains(&md), "{easter}");
        }
    }
}
