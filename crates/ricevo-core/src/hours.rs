//! When an office is open: weekly ranges, parallel desks and closures.

use jiff::civil::{Date, Time, Weekday};

/// Appointments, opening hours and durations all live on a grid of this many minutes, so
/// that the database can hold one row per desk and grid step (see `seats`).
pub const GRID_MINUTES: i32 = 5;

/// The most desks an office may serve at once.
pub const MAX_DESKS: u16 = 99;

/// Why opening hours were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    /// The range ends at or before it starts.
    #[error("a range must end after it starts")]
    EndsBeforeStart,
    /// A time is not on the five-minute grid.
    #[error("times must be multiples of five minutes")]
    OffGrid,
    /// The office has no desk.
    #[error("an office needs at least one desk")]
    NoDesk,
    /// More desks than [`MAX_DESKS`].
    #[error("an office has at most 99 desks")]
    TooManyDesks,
    /// Two ranges of the same weekday overlap.
    #[error("ranges of one weekday overlap")]
    Overlap,
    /// The closure's last day is before its first.
    #[error("a closure must end on or after its first day")]
    ClosureEndsBeforeStart,
}

impl HoursError {
    /// A message for the staff member who typed it.
    pub fn message(self, lang: crate::Lang) -> &'static str {
        use crate::Lang::{En, It};
        match (self, lang) {
            (HoursError::EndsBeforeStart, It) => "L'orario di chiusura deve seguire quello di apertura.",
            (HoursError::EndsBeforeStart, En) => "The closing time must come after the opening time.",
            (HoursError::OffGrid, It) => "Gli orari devono essere multipli di 5 minuti.",
            (HoursError::OffGrid, En) => "Times must be multiples of 5 minutes.",
            (HoursError::NoDesk, It) => "Serve almeno uno sportello.",
            (HoursError::NoDesk, En) => "At least one desk is needed.",
            (HoursError::TooManyDesks, It) => "Indica da 1 a 99 sportelli.",
            (HoursError::TooManyDesks, En) => "Enter 1 to 99 desks.",
            (HoursError::Overlap, It) => "Due fasce orarie dello stesso giorno si sovrappongono.",
            (HoursError::Overlap, En) => "Two ranges on the same day overlap.",
            (HoursError::ClosureEndsBeforeStart, It) => "L'ultimo giorno di chiusura non può precedere il primo.",
            (HoursError::ClosureEndsBeforeStart, En) => "The last day of a closure cannot precede the first.",
        }
    }
}

/// Minutes since local midnight of a civil time.
pub fn minutes_of_day(t: Time) -> i32 {
    i32::from(t.hour()) * 60 + i32::from(t.minute())
}

/// One opening range on one weekday, such as Monday 08:30–12:30.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyRange {
    weekday: Weekday,
    start: Time,
    end: Time,
}

impl WeeklyRange {
    /// Checks that the range ends after it starts and lies on the grid.
    pub fn new(weekday: Weekday, start: Time, end: Time) -> Result<WeeklyRange, HoursError> {
        let on_grid = |t: Time| t.second() == 0 && t.subsec_nanosecond() == 0 && minutes_of_day(t) % GRID_MINUTES == 0;
        if !on_grid(start) || !on_grid(end) {
            return Err(HoursError::OffGrid);
        }
        if end <= start {
            return Err(HoursError::EndsBeforeStart);
        }
        Ok(WeeklyRange { weekday, start, end })
    }
    /// The weekday.
    pub fn weekday(&self) -> Weekday {
        self.weekday
    }
    /// The local opening time.
    pub fn start(&self) -> Time {
        self.start
    }
    /// The local closing time.
    pub fn end(&self) -> Time {
        self.end
    }
}

/// The weekly opening hours of an office and how many people it serves at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningHours {
    ranges: Vec<WeeklyRange>,
    desks: u16,
}

impl OpeningHours {
    /// Builds opening hours; ranges are kept sorted by weekday and time.
    pub fn new(mut ranges: Vec<WeeklyRange>, desks: u16) -> Result<OpeningHours, HoursError> {
        if desks == 0 {
            return Err(HoursError::NoDesk);
        }
        ranges.sort_by_key(|r| (r.weekday.to_monday_one_offset(), r.start));
        if ranges.windows(2).any(|w| w[0].weekday == w[1].weekday && w[1].start < w[0].end) {
            return Err(HoursError::Overlap);
        }
        Ok(OpeningHours { ranges, desks })
    }
    /// All ranges, Monday first.
    pub fn ranges(&self) -> &[WeeklyRange] {
        &self.ranges
    }
    /// The ranges of one weekday, in order.
    pub fn ranges_on(&self, weekday: Weekday) -> impl Iterator<Item = &WeeklyRange> {
        self.ranges.iter().filter(move |r| r.weekday == weekday)
    }
    /// How many citizens the office serves at the same time.
    pub fn desks(&self) -> u16 {
        self.desks
    }
}

/// Days an office is closed (holidays of the office, strikes, moves), inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    first: Date,
    last: Date,
    reason: String,
}

impl Closure {
    /// A closure from `first` to `last` inclusive.
    pub fn new(first: Date, last: Date, reason: String) -> Result<Closure, HoursError> {
        if last < first {
            return Err(HoursError::ClosureEndsBeforeStart);
        }
        Ok(Closure { first, last, reason })
    }
    /// Whether the office is closed on `date` because of this closure.
    pub fn covers(&self, date: Date) -> bool {
        self.first <= date && date <= self.last
    }
    /// The first closed day.
    pub fn first(&self) -> Date {
        self.first
    }
    /// The last closed day.
    pub fn last(&self) -> Date {
        self.last
    }
    /// Why the office is closed.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    #[test]
    fn ranges_must_end_after_they_start_and_sit_on_the_grid() {
        assert_eq!(
            WeeklyRange::new(Weekday::Monday, time(12, 0, 0, 0), time(9, 0, 0, 0)),
            Err(HoursError::EndsBeforeStart)
        );
        assert_eq!(WeeklyRange::new(Weekday::Monday, time(9, 3, 0, 0), time(12, 0, 0, 0)), Err(HoursError::OffGrid));
        assert!(WeeklyRange::new(Weekday::Monday, time(8, 30, 0, 0), time(12, 30, 0, 0)).is_ok());
    }

    #[test]
    fn an_office_needs_a_desk_and_keeps_its_ranges_in_week_order() {
        assert_eq!(OpeningHours::new(vec![], 0), Err(HoursError::NoDesk));
        let fri = WeeklyRange::new(Weekday::Friday, time(9, 0, 0, 0), time(12, 0, 0, 0)).unwrap();
        let mon = WeeklyRange::new(Weekday::Monday, time(14, 0, 0, 0), time(16, 0, 0, 0)).unwrap();
        let mon_am = WeeklyRange::new(Weekday::Monday, time(9, 0, 0, 0), time(12, 0, 0, 0)).unwrap();
        let hours = OpeningHours::new(vec![fri, mon, mon_am], 2).unwrap();
        assert_eq!(hours.ranges(), &[mon_am, mon, fri]);
        assert_eq!(hours.ranges_on(Weekday::Monday).count(), 2);
        let overlapping = WeeklyRange::new(Weekday::Monday, time(11, 0, 0, 0), time(15, 0, 0, 0)).unwrap();
        assert_eq!(OpeningHours::new(vec![mon_am, overlapping], 1), Err(HoursError::Overlap));
    }

    #[test]
    fn a_closure_covers_its_days_inclusively() {
        let c = Closure::new(date(2026, 8, 10), date(2026, 8, 14), "Chiusura estiva".into()).unwrap();
        assert!(!c.covers(date(2026, 8, 9)));
        assert!(c.covers(date(2026, 8, 10)));
        assert!(c.covers(date(2026, 8, 14)));
        assert!(!c.covers(date(2026, 8, 15)));
        assert!(Closure::new(date(2026, 8, 10), date(2026, 8, 9), String::new()).is_err());
    }
}
