//! Reports of the service: the pure part. The store counts in SQL and hands over small grouped
//! rows (counts per office, service, channel, mode and status; histograms of waits, meeting
//! lengths and lead times; ratings); this module checks the period asked for, folds the rows
//! into town-wide, per-office and per-service figures, computes percentiles from histograms
//! and withholds every breakdown of a group smaller than [`MIN_GROUP`].
//!
//! Why histograms: a median over a million waits needs every value, but the values repeat
//! (seconds of waiting, hours of notice), so `GROUP BY value` in the database returns a few
//! thousand rows at most and the percentile is exact.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;

use crate::day::{Day, DayError};
use crate::{AppointmentStatus, Mode, OfficeId, ServiceId};

/// Below this many appointments or answers a group is not broken down further (privacy: a
/// small group's details could point at a person).
pub const MIN_GROUP: u64 = 5;

/// The period a report covers when none is asked for: the last 30 days, today included.
pub const DEFAULT_DAYS: i64 = 30;

/// The longest period one report may cover (three years).
pub const MAX_DAYS: i64 = 3 * 366;

/// Through which channel an appointment was booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BookedVia {
    /// The citizen's booking pages.
    Page,
    /// The JSON API (the town's portal, a widget).
    Api,
    /// An official, for a citizen who phoned or came in.
    Staff,
    /// Booked before Ricevo recorded the channel.
    Unknown,
    /// The Telegram bot.
    Telegram,
}

impl BookedVia {
    /// Every channel, in the order reports list them.
    pub const ALL: [BookedVia; 5] =
        [BookedVia::Page, BookedVia::Api, BookedVia::Staff, BookedVia::Telegram, BookedVia::Unknown];

    /// The database and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            BookedVia::Page => "page",
            BookedVia::Api => "api",
            BookedVia::Staff => "staff",
            BookedVia::Unknown => "unknown",
            BookedVia::Telegram => "telegram",
        }
    }

    /// Reads the database spelling; anything else is `Unknown`.
    pub fn parse(s: &str) -> BookedVia {
        BookedVia::ALL.into_iter().find(|v| v.as_str() == s).unwrap_or(BookedVia::Unknown)
    }
}

/// Why a period is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// The first day is not a date (or outside Ricevo's window).
    #[error("the first day: {0}")]
    From(DayError),
    /// The last day is not a date (or outside Ricevo's window).
    #[error("the last day: {0}")]
    To(DayError),
    /// The first day comes after the last.
    #[error("the first day comes after the last")]
    Reversed,
    /// More than [`MAX_DAYS`] days.
    #[error("a period longer than {MAX_DAYS} days")]
    TooLong,
}

/// The civil days a report covers, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// The first day.
    pub from: Date,
    /// The last day.
    pub to: Date,
}

impl Period {
    /// Reads `from` and `to` (`YYYY-MM-DD`; missing or empty means the default: the last
    /// [`DEFAULT_DAYS`] days up to `today`, or that many days from or up to the one given).
    pub fn parse(from: Option<&str>, to: Option<&str>, today: Date) -> Result<Period, PeriodError> {
        fn given(s: Option<&str>) -> Option<&str> {
            s.map(str::trim).filter(|s| !s.is_empty())
        }
        let from = given(from).map(|s| Day::parse(s).map(Day::date).map_err(PeriodError::From)).transpose()?;
        let to = given(to).map(|s| Day::parse(s).map(Day::date).map_err(PeriodError::To)).transpose()?;
        let back = |d: Date| d.checked_sub((DEFAULT_DAYS - 1).days()).unwrap_or(d);
        let ahead = |d: Date| d.checked_add((DEFAULT_DAYS - 1).days()).unwrap_or(d);
        let (from, to) = match (from, to) {
            (Some(f), Some(t)) => (f, t),
            (Some(f), None) => (f, ahead(f)),
            (None, Some(t)) => (back(t), t),
            (None, None) => (back(today), today),
        };
        if from > to {
            return Err(PeriodError::Reversed);
        }
        let period = Period { from, to };
        if period.days() > MAX_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(period)
    }

    /// How many days it covers.
    pub fn days(&self) -> i64 {
        i64::from((self.to - self.from).get_days()) + 1
    }

    /// The instants it covers in a town's zone: from the first day's start (included) to the
    /// start of the day after the last (excluded).
    pub fn bounds(&self, zone: &TimeZone) -> (Timestamp, Timestamp) {
        let start = |d: Date| d.to_zoned(zone.clone()).map(|z| z.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH);
        let after = self.to.checked_add(1.day()).unwrap_or(self.to);
        (start(self.from), start(after))
    }
}

/// The value at percentile `p` (0..=100, nearest rank) of a histogram of `(value, count)`
/// pairs in any order; `None` when it is empty.
pub fn percentile(histogram: &[(i64, u64)], p: u8) -> Option<i64> {
    let mut sorted: Vec<(i64, u64)> = histogram.iter().copied().filter(|(_, n)| *n > 0).collect();
    sorted.sort_unstable();
    let total: u64 = sorted.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    // Nearest rank: the smallest value with at least p% of the values at or below it.
    let rank = (u128::from(total) * u128::from(p.min(100))).div_ceil(100).max(1);
    let mut seen: u128 = 0;
    for (value, n) in sorted {
        seen += u128::from(n);
        if seen >= rank {
            return Some(value);
        }
    }
    None
}

/// How a duration is spread: how many, the median and the 90th percentile (withheld below
/// [`MIN_GROUP`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Spread {
    /// How many values.
    pub count: u64,
    /// The median.
    pub median: Option<i64>,
    /// The 90th percentile.
    pub p90: Option<i64>,
}

impl Spread {
    /// The spread of a histogram.
    pub fn of(histogram: &[(i64, u64)]) -> Spread {
        let count = histogram.iter().map(|(_, n)| n).sum();
        if count < MIN_GROUP {
            return Spread { count, median: None, p90: None };
        }
        Spread { count, median: percentile(histogram, 50), p90: percentile(histogram, 90) }
    }
}

/// Satisfaction from the after-contact feedback.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Satisfaction {
    /// How many answers gave a rating.
    pub count: u64,
    /// The average rating (1 to 5) to two decimals; withheld below [`MIN_GROUP`].
    pub average: Option<f64>,
    /// How many gave 1, 2, 3, 4 and 5; withheld below [`MIN_GROUP`].
    pub distribution: Option<[u64; 5]>,
}

impl Satisfaction {
    /// From the count of each rating (index 0 is a rating of 1).
    pub fn of(counts: [u64; 5]) -> Satisfaction {
        let count: u64 = counts.iter().sum();
        if count < MIN_GROUP {
            return Satisfaction { count, average: None, distribution: None };
        }
        let sum: u64 = counts.iter().zip(1u64..).map(|(n, r)| n * r).sum();
        let average = (sum as f64 / count as f64 * 100.0).round() / 100.0;
        Satisfaction { count, average: Some(average), distribution: Some(counts) }
    }
}

/// Appointments of one office, service, channel, mode and status, as the store counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentCount {
    /// The office.
    pub office: OfficeId,
    /// The service.
    pub service: ServiceId,
    /// The channel.
    pub via: BookedVia,
    /// The mode.
    pub mode: Mode,
    /// The status.
    pub status: AppointmentStatus,
    /// How many appointments.
    pub count: u64,
    /// How many times they were moved, all together.
    pub moves: u64,
}

/// A histogram bar of one office (and service, when known): `count` values equal to `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// The office.
    pub office: OfficeId,
    /// The service (none for a walk-in ticket).
    pub service: Option<ServiceId>,
    /// The value (seconds, or hours for lead times).
    pub value: i64,
    /// How many.
    pub count: u64,
}

/// The walk-in tickets of one office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Tickets {
    /// Taken.
    pub taken: u64,
    /// Served (let in by an official).
    pub served: u64,
    /// Given up before being served (left, cancelled, not there when called).
    pub abandoned: u64,
}

/// How many ratings of a value one office and service got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatingCount {
    /// The office, when the answer names one.
    pub office: Option<OfficeId>,
    /// The service, when the answer names one.
    pub service: Option<ServiceId>,
    /// The rating, 1 to 5.
    pub rating: u8,
    /// How many.
    pub count: u64,
}

/// Everything the store counted for a report.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Appointments starting in the period.
    pub appointments: Vec<AppointmentCount>,
    /// Seconds waited in the virtual waiting room (arrival to admission).
    pub waits: Vec<Bucket>,
    /// Seconds meetings lasted.
    pub meetings: Vec<Bucket>,
    /// Hours between booking and appointment.
    pub leads: Vec<Bucket>,
    /// Walk-in tickets per office.
    pub tickets: Vec<(OfficeId, Tickets)>,
    /// Ratings of the after-contact feedback.
    pub ratings: Vec<RatingCount>,
    /// Appointments per hour since the epoch (`start / 3600`), for the busiest days and hours.
    pub hours: Vec<(i64, u64)>,
}

/// A count under a name (a channel, a mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// The API spelling of what is counted.
    pub key: &'static str,
    /// How many.
    pub count: u64,
}

/// The figures of one group (the town, an office, a service).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Figures {
    /// Appointments starting in the period.
    pub appointments: u64,
    /// By booking channel.
    pub by_channel: Vec<Count>,
    /// By mode.
    pub by_mode: Vec<Count>,
    /// Cancelled.
    pub cancelled: u64,
    /// Moves to another time (an appointment moved twice counts twice).
    pub moves: u64,
    /// Marked as no-shows.
    pub no_shows: u64,
    /// Held (done).
    pub done: u64,
    /// Seconds waited in the virtual waiting room.
    pub wait_seconds: Spread,
    /// Seconds a meeting lasted.
    pub meeting_seconds: Spread,
    /// Hours between booking and appointment.
    pub lead_hours: Spread,
    /// Walk-in tickets.
    pub tickets: Tickets,
    /// Satisfaction.
    pub satisfaction: Satisfaction,
}

/// One office or service in a report; `figures` is withheld when it had fewer than
/// [`MIN_GROUP`] appointments and tickets and fewer than that many answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The office's or service's id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// How many appointments (always shown).
    pub appointments: u64,
    /// The breakdown, when the group is big enough.
    pub figures: Option<Figures>,
}

/// A whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The period.
    pub period: Period,
    /// The whole town (or the offices and service the report is narrowed to).
    pub town: Figures,
    /// Per office.
    pub offices: Vec<Row>,
    /// Per service.
    pub services: Vec<Row>,
    /// Appointments per weekday, Monday first (the town's zone).
    pub weekdays: [u64; 7],
    /// Appointments per hour of the day, 0 to 23 (the town's zone).
    pub hours: [u64; 24],
}

/// The names of the offices and services a report may list.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Offices in the order to list them.
    pub offices: Vec<(OfficeId, String)>,
    /// Services in the order to list them.
    pub services: Vec<(ServiceId, String)>,
}

/// What a group collects before its figures are computed.
#[derive(Debug, Default)]
struct Gathered {
    appointments: u64,
    channels: BTreeMap<BookedVia, u64>,
    modes: BTreeMap<Mode, u64>,
    cancelled: u64,
    moves: u64,
    no_shows: u64,
    done: u64,
    waits: BTreeMap<i64, u64>,
    meetings: BTreeMap<i64, u64>,
    leads: BTreeMap<i64, u64>,
    tickets: Tickets,
    ratings: [u64; 5],
}

impl Gathered {
    fn add_appointments(&mut self, c: &AppointmentCount) {
        self.appointments += c.count;
        *self.channels.entry(c.via).or_default() += c.count;
        *self.modes.entry(c.mode).or_default() += c.count;
        self.moves += c.moves;
        match c.status {
            AppointmentStatus::Cancelled => self.cancelled += c.count,
            AppointmentStatus::NoShow => self.no_shows += c.count,
            AppointmentStatus::Done => self.done += c.count,
            AppointmentStatus::Booked | AppointmentStatus::CheckedIn => {}
        }
    }

    fn add_tickets(&mut self, t: Tickets) {
        self.tickets.taken += t.taken;
        self.tickets.served += t.served;
        self.tickets.abandoned += t.abandoned;
    }

    fn big_enough(&self) -> bool {
        self.appointments + self.tickets.taken >= MIN_GROUP || self.ratings.iter().sum::<u64>() >= MIN_GROUP
    }

    fn figures(&self) -> Figures {
        let hist = |m: &BTreeMap<i64, u64>| m.iter().map(|(v, n)| (*v, *n)).collect::<Vec<_>>();
        Figures {
            appointments: self.appointments,
            by_channel: BookedVia::ALL
                .iter()
                .map(|v| Count { key: v.as_str(), count: self.channels.get(v).copied().unwrap_or(0) })
                .collect(),
            by_mode: Mode::ALL
                .iter()
                .map(|m| Count { key: m.as_str(), count: self.modes.get(m).copied().unwrap_or(0) })
                .collect(),
            cancelled: self.cancelled,
            moves: self.moves,
            no_shows: self.no_shows,
            done: self.done,
            wait_seconds: Spread::of(&hist(&self.waits)),
            meeting_seconds: Spread::of(&hist(&self.meetings)),
            lead_hours: Spread::of(&hist(&self.leads)),
            tickets: self.tickets,
            satisfaction: Satisfaction::of(self.ratings),
        }
    }
}

/// Folds what the store counted into the report: the town, each office and each service
/// named in `names` (in that order; ones with nothing to count are listed with zero).
pub fn build(period: Period, zone: &TimeZone, facts: &Facts, names: &Names) -> Report {
    let mut town = Gathered::default();
    let mut offices: BTreeMap<OfficeId, Gathered> = BTreeMap::new();
    let mut services: BTreeMap<ServiceId, Gathered> = BTreeMap::new();
    for c in &facts.appointments {
        town.add_appointments(c);
        offices.entry(c.office).or_default().add_appointments(c);
        services.entry(c.service).or_default().add_appointments(c);
    }
    let mut histograms = |buckets: &[Bucket], pick: fn(&mut Gathered) -> &mut BTreeMap<i64, u64>| {
        for b in buckets {
            *pick(&mut town).entry(b.value).or_default() += b.count;
            *pick(offices.entry(b.office).or_default()).entry(b.value).or_default() += b.count;
            if let Some(s) = b.service {
                *pick(services.entry(s).or_default()).entry(b.value).or_default() += b.count;
            }
        }
    };
    histograms(&facts.waits, |g| &mut g.waits);
    histograms(&facts.meetings, |g| &mut g.meetings);
    histograms(&facts.leads, |g| &mut g.leads);
    for (office, t) in &facts.tickets {
        town.add_tickets(*t);
        offices.entry(*office).or_default().add_tickets(*t);
    }
    for r in &facts.ratings {
        let Some(i) = usize::from(r.rating).checked_sub(1).filter(|i| *i < 5) else { continue };
        town.ratings[i] += r.count;
        if let Some(o) = r.office {
            offices.entry(o).or_default().ratings[i] += r.count;
        }
        if let Some(s) = r.service {
            services.entry(s).or_default().ratings[i] += r.count;
        }
    }
    let row = |id: i64, name: &str, g: Option<&Gathered>| {
        let empty = Gathered::default();
        let g = g.unwrap_or(&empty);
        Row { id, name: name.to_owned(), appointments: g.appointments, figures: g.big_enough().then(|| g.figures()) }
    };
    let (weekdays, hours) = busiest(&facts.hours, zone);
    Report {
        period,
        town: town.figures(),
        offices: names.offices.iter().map(|(id, name)| row(id.0, name, offices.get(id))).collect(),
        services: names.services.iter().map(|(id, name)| row(id.0, name, services.get(id))).collect(),
        weekdays,
        hours,
    }
}

/// Counts per weekday (Monday first) and per hour of the day in `zone`, from counts per hour
/// since the epoch. Zones whose offset is a whole number of hours (all of Italy's) are exact.
pub fn busiest(per_hour: &[(i64, u64)], zone: &TimeZone) -> ([u64; 7], [u64; 24]) {
    let mut weekdays = [0u64; 7];
    let mut hours = [0u64; 24];
    for (hour, n) in per_hour {
        let Ok(at) = Timestamp::from_second(hour.saturating_mul(3600)) else { continue };
        let local = at.to_zoned(zone.clone());
        let day = usize::try_from(local.weekday().to_monday_zero_offset()).unwrap_or(0);
        weekdays[day.min(6)] += n;
        hours[usize::try_from(local.hour()).unwrap_or(0).min(23)] += n;
    }
    (weekdays, hours)
}

#[cfg(test)]
mod tests;
