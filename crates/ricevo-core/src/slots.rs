//! The slot engine: which start times a service can be booked at, and how many seats are left.
//!
//! Slots are generated in the tenant's civil time (an office opens at 08:30 local whatever the
//! offset), then pinned to instants. A civil time that does not exist (spring-forward gap)
//! yields no slot; one that exists twice (autumn fold) yields one slot, at its first instant.

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};

use crate::holidays::{PatronDay, is_holiday};
use crate::hours::{Closure, OpeningHours, minutes_of_day};
use crate::seats::{STEP_SECONDS, steps};
use crate::service::ServiceRules;

/// An existing booking of the office, as the desk interval it occupies (meeting plus buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booked {
    /// When the desk is taken.
    pub start: Timestamp,
    /// When the desk is free again (after the buffer).
    pub end: Timestamp,
}

/// Everything the engine needs to know, loaded by the caller.
#[derive(Debug, Clone, Copy)]
pub struct SlotQuery<'a> {
    /// The tenant's time zone.
    pub zone: &'a TimeZone,
    /// The office's weekly hours and desks.
    pub hours: &'a OpeningHours,
    /// The office's closures.
    pub closures: &'a [Closure],
    /// The town's patron saint's day, a local holiday.
    pub patron: Option<PatronDay>,
    /// The service's rules.
    pub service: &'a ServiceRules,
    /// Every booking of the office that may overlap the range (any service).
    pub booked: &'a [Booked],
    /// The current instant.
    pub now: Timestamp,
    /// First local day asked for.
    pub from: Date,
    /// Last local day asked for, inclusive.
    pub to: Date,
}

/// A bookable time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Start, in the tenant's zone with that day's real offset.
    pub start: Zoned,
    /// End of the meeting (without the buffer).
    pub end: Zoned,
    /// Seats still free for the whole meeting and buffer.
    pub available: u16,
}

/// Why a requested start cannot be booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SlotRefusal {
    /// The time is in the past or inside the minimum notice.
    #[error("too soon")]
    TooSoon,
    /// The time is beyond the booking horizon.
    #[error("too far ahead")]
    BeyondHorizon,
    /// The office is not open for this service at that time (or it is not on the slot grid).
    #[error("not a slot")]
    NotASlot,
    /// Every seat is taken.
    #[error("full")]
    Full,
}

/// The last local day bookable under the horizon rule.
pub fn last_bookable_day(q: &SlotQuery<'_>) -> Date {
    let today = q.now.to_zoned(q.zone.clone()).date();
    today.checked_add(q.service.horizon_days().days()).unwrap_or(Date::MAX)
}

/// Computes every slot between `from` and `to`, including full ones (`available == 0`).
pub fn compute(q: &SlotQuery<'_>) -> Vec<Slot> {
    let earliest = q.now + SignedDuration::from_hours(i64::from(q.service.min_notice_hours()));
    let to = q.to.min(last_bookable_day(q));
    let today = q.now.to_zoned(q.zone.clone()).date();
    let from = q.from.max(today);
    if to < from {
        return Vec::new();
    }
    let candidates = candidate_starts(q, from, to);
    let window_end = candidates.iter().map(|c| c.1).max();
    let occupancy = Occupancy::new(q.booked, candidates.first().map(|c| c.0.clone()), window_end);
    candidates
        .into_iter()
        .filter(|(start, _)| start.timestamp() >= earliest)
        .map(|(start, occupied_until)| {
            let used = occupancy.peak(steps(start.timestamp(), occupied_until));
            let end = start.timestamp() + q.service.duration();
            Slot { end: end.to_zoned(q.zone.clone()), available: q.hours.desks().saturating_sub(used), start }
        })
        .collect()
}

/// Decides whether `start` can be booked now, and returns the slot if so.
///
/// Gives the answer [`compute`] would give for `start`'s day, without laying out the day:
/// only the wanted slot is placed on the grid and counted.
pub fn check_start(q: &SlotQuery<'_>, start: Timestamp) -> Result<Slot, SlotRefusal> {
    let earliest = q.now + SignedDuration::from_hours(i64::from(q.service.min_notice_hours()));
    if start < earliest {
        return Err(SlotRefusal::TooSoon);
    }
    let zoned = start.to_zoned(q.zone.clone());
    let day = zoned.date();
    if day > last_bookable_day(q) {
        return Err(SlotRefusal::BeyondHorizon);
    }
    let on_grid = match on_plain_day_grid(q, &zoned) {
        Some(on_grid) => on_grid,
        // Around a change of offset, lay the day out as `compute` does.
        None => candidate_starts(q, day, day).iter().any(|(s, _)| s.timestamp() == start),
    };
    if !on_grid || day < q.now.to_zoned(q.zone.clone()).date() {
        return Err(SlotRefusal::NotASlot);
    }
    let occupied_until = start + q.service.occupancy();
    let used = Occupancy::new(q.booked, Some(zoned.clone()), Some(occupied_until)).peak(steps(start, occupied_until));
    let available = q.hours.desks().saturating_sub(used);
    if available == 0 {
        return Err(SlotRefusal::Full);
    }
    let end = (start + q.service.duration()).to_zoned(q.zone.clone());
    Ok(Slot { start: zoned, end, available })
}

// Whether `start` is a start of its day's grid (see `candidate_starts`), decided by arithmetic
// on its civil time when the zone keeps one offset from two days before to two days after:
// then every civil time of the day is one instant, in the same order, so a grid time is a
// slot exactly when its meeting ends by the range's end. `None` near a change of offset.
fn on_plain_day_grid(q: &SlotQuery<'_>, start: &Zoned) -> Option<bool> {
    let margin = SignedDuration::from_hours(48);
    let (from, to) = (start.timestamp().checked_sub(margin).ok()?, start.timestamp().checked_add(margin).ok()?);
    if q.zone.following(from).next().is_some_and(|t| t.timestamp() <= to) {
        return None;
    }
    let step = q.service.duration_minutes() + q.service.buffer_minutes();
    if step <= 0 {
        return None;
    }
    let civil = start.datetime();
    if civil.second() != 0 || civil.subsec_nanosecond() != 0 || closed_on(civil.date(), q.patron, q.closures) {
        return Some(false);
    }
    let minute = minutes_of_day(civil.time());
    let duration = q.service.duration_minutes();
    Some(q.hours.ranges_on(civil.weekday()).any(|range| {
        let (first, last) = (minutes_of_day(range.start()), minutes_of_day(range.end()));
        minute >= first && (minute - first) % step == 0 && minute + duration <= last
    }))
}

/// The bookable slots nearest to `wanted`, for a conflict answer: up to `count`, by distance.
pub fn nearest_free(slots: &[Slot], wanted: Timestamp, count: usize) -> Vec<Slot> {
    let mut free: Vec<&Slot> = slots.iter().filter(|s| s.available > 0 && s.start.timestamp() != wanted).collect();
    free.sort_by_key(|s| s.start.timestamp().duration_since(wanted).abs());
    let mut out: Vec<Slot> = free.into_iter().take(count).cloned().collect();
    out.sort_by_key(|s| s.start.timestamp());
    out
}

/// Why an office takes no one on a whole day, for a picker to say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClosedDay {
    /// A national holiday or the patron saint's day.
    Holiday(crate::holidays::HolidayKind),
    /// A closure the office announced, with its reason (may be empty).
    Closure(String),
    /// The office has no hours on that weekday.
    NoHours,
}

/// Why the office is closed all day on `date`, if it is: holidays first, then closures, then
/// the weekly hours.
pub fn why_closed(
    date: Date,
    patron: Option<PatronDay>,
    closures: &[Closure],
    hours: &OpeningHours,
) -> Option<ClosedDay> {
    if let Some(h) = crate::holidays::holiday_kind(date, patron) {
        return Some(ClosedDay::Holiday(h));
    }
    if let Some(c) = closures.iter().find(|c| c.covers(date)) {
        return Some(ClosedDay::Closure(c.reason().trim().to_owned()));
    }
    hours.ranges_on(date.weekday()).next().is_none().then_some(ClosedDay::NoHours)
}

/// Whether the office is closed all day on `date` (holiday or closure).
pub fn closed_on(date: Date, patron: Option<PatronDay>, closures: &[Closure]) -> bool {
    is_holiday(date, patron) || closures.iter().any(|c| c.covers(date))
}

// Every start on the grid of each opening range, as (start, end of desk occupancy).
fn candidate_starts(q: &SlotQuery<'_>, from: Date, to: Date) -> Vec<(Zoned, Timestamp)> {
    let step = q.service.duration_minutes() + q.service.buffer_minutes();
    let mut out = Vec::new();
    for date in from.series(1.day()).take_while(|d| *d <= to) {
        if closed_on(date, q.patron, q.closures) {
            continue;
        }
        for range in q.hours.ranges_on(date.weekday()) {
            let Some(range_end) = pin(q.zone, date.to_datetime(range.end())) else {
                continue;
            };
            let mut minute = minutes_of_day(range.start());
            let last_minute = minutes_of_day(range.end());
            while minute + q.service.duration_minutes() <= last_minute {
                let civil =
                    date.to_datetime(jiff::civil::Time::midnight()) + SignedDuration::from_mins(i64::from(minute));
                minute += step;
                let Some(start) = pin(q.zone, civil) else { continue };
                let meeting_end = start.timestamp() + q.service.duration();
                if meeting_end > range_end.timestamp() {
                    continue;
                }
                if out.last().is_some_and(|(prev, _): &(Zoned, Timestamp)| prev.timestamp() >= start.timestamp()) {
                    // A fold can map a later civil time before an earlier one: keep time moving forward.
                    continue;
                }
                out.push((start.clone(), start.timestamp() + q.service.occupancy()));
            }
        }
    }
    out
}

// The instant of a civil time: none in a gap, the first one in a fold.
fn pin(zone: &TimeZone, civil: DateTime) -> Option<Zoned> {
    let ambiguous = zone.to_ambiguous_zoned(civil);
    match ambiguous.offset() {
        AmbiguousOffset::Gap { .. } => None,
        AmbiguousOffset::Unambiguous { .. } | AmbiguousOffset::Fold { .. } => ambiguous.earlier().ok(),
    }
}

/// How many seats are taken at each grid step of a window.
struct Occupancy {
    first_step: i64,
    counts: Vec<u16>,
}

impl Occupancy {
    fn new(booked: &[Booked], first: Option<Zoned>, last_end: Option<Timestamp>) -> Occupancy {
        let (Some(first), Some(last_end)) = (first, last_end) else {
            return Occupancy { first_step: 0, counts: Vec::new() };
        };
        let window = steps(first.timestamp(), last_end);
        let len = usize::try_from(window.end - window.start).unwrap_or(0);
        let mut counts = vec![0u16; len];
        for b in booked {
            let r = steps(b.start, b.end);
            let lo = r.start.max(window.start);
            let hi = r.end.min(window.end);
            for step in lo..hi {
                if let Ok(i) = usize::try_from(step - window.start) {
                    counts[i] = counts[i].saturating_add(1);
                }
            }
        }
        Occupancy { first_step: window.start, counts }
    }

    /// The most seats taken at any step of `r`.
    fn peak(&self, r: std::ops::Range<i64>) -> u16 {
        r.filter_map(|step| usize::try_from(step - self.first_step).ok())
            .filter_map(|i| self.counts.get(i).copied())
            .max()
            .unwrap_or(0)
    }
}

// Keep the grid honest: the seat table and the occupancy share one step.
const _: () = assert!(STEP_SECONDS == 300);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
