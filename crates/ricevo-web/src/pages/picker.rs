//! The slot picker: two weeks of days, each with its times, as links (booking) or as the
//! buttons of one form (moving).

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use ricevo_core::slots::Slot;
use ricevo_store::{Office, Service, Tenant};

use super::layout::{Ctx, encode};
use super::texts;
use crate::state::AppState;
use ricevo_desk::town::rfc3339;
use ricevo_desk::town::zone_of;

use crate::error::ApiError;
use crate::error::InLang;

/// Days shown at once.
pub(crate) const DAYS_SHOWN: i32 = 14;

/// What a chosen time does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose<'a> {
    /// Opens the booking form at this path (a link).
    Book(&'a str),
    /// Moves the appointment now at this start (a button of the page's form).
    Move(Timestamp),
}

/// One time in the picker.
pub(crate) struct TimeView {
    /// "09:00".
    pub label: String,
    /// Seats left, briefly: "2 posti".
    pub seats: String,
    /// The accessible name: "Prenota lunedì 7 dicembre 2026 alle 09:00, 2 posti liberi".
    pub action: String,
    /// The booking form at this time (booking only).
    pub href: Option<String>,
    /// The start, RFC 3339 (the value of a move button).
    pub start: String,
    /// Whether a seat is left.
    pub free: bool,
    /// The citizen's own current time (moving).
    pub current: bool,
}

/// One day of the picker, or a run of days without times.
pub(crate) struct DayView {
    /// "lunedì 7 dicembre 2026", or "sabato 12 dicembre 2026 – domenica 13 dicembre 2026".
    pub heading: String,
    /// Its times (none for a run of empty days).
    pub times: Vec<TimeView>,
    /// Why there are no times: "Festivo: Immacolata Concezione", "Ufficio chiuso".
    pub why_empty: String,
}

/// The picker.
pub(crate) struct Picker {
    /// The days shown.
    pub days: Vec<DayView>,
    /// The two weeks before, if bookable.
    pub earlier: Option<String>,
    /// The two weeks after, if bookable.
    pub later: Option<String>,
}

/// Turns one slot into its view.
pub(crate) fn time_view(ctx: &Ctx, purpose: Purpose<'_>, slot: &Slot) -> TimeView {
    let label = slot.start.strftime("%H:%M").to_string();
    let day = texts::day_words(ctx.lang, &slot.start);
    let start = rfc3339(&slot.start);
    let free = slot.available > 0;
    let current = purpose == Purpose::Move(slot.start.timestamp());
    let mut action = if free {
        texts::slot_action(ctx.lang, matches!(purpose, Purpose::Move(_)), &day, &label, slot.available)
    } else {
        texts::slot_full(ctx.lang, &day, &label)
    };
    if current {
        action = format!("{day} {label}, {}", ctx.t.your_time);
    }
    TimeView {
        action,
        seats: if free { texts::seats_short(ctx.lang, slot.available) } else { ctx.t.full.to_owned() },
        href: match purpose {
            Purpose::Book(form) => Some(ctx.href(&format!("{form}?start={}", encode(&start)))),
            Purpose::Move(_) => None,
        },
        start,
        free,
        current,
        label,
    }
}

/// Builds the picker of `service` from `from` (today when absent, unreadable or past).
///
/// `page` is the picker's own path (for the pager).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn build(
    ctx: &Ctx,
    state: &AppState,
    tenant: &Tenant,
    service: &Service,
    office: &Office,
    from: Option<&str>,
    now: Timestamp,
    page: &str,
    purpose: Purpose<'_>,
) -> Result<Picker, ApiError> {
    let zone = zone_of(tenant);
    let today = now.to_zoned(zone.clone()).date();
    let last = today.checked_add(service.rules.horizon_days().days()).unwrap_or(today);
    let from = from.and_then(|f| ricevo_core::day::Day::parse(f).ok()).map_or(today, |d| d.date()).clamp(today, last);
    let to = from.checked_add((DAYS_SHOWN - 1).days()).unwrap_or(from);
    let slots = state.desk.slots_between(tenant, service, office, from, to).await.in_lang(ctx.lang)?;
    let facts = state.desk.office_facts(tenant, office).await.in_lang(ctx.lang)?;
    let heading_of = |d: Date| d.to_zoned(zone.clone()).map(|z| texts::day_words(ctx.lang, &z)).unwrap_or_default();
    let mut days: Vec<DayView> = Vec::new();
    // The last empty run: its first day's heading and last day, to grow it by one day.
    let mut run: Option<(String, Date)> = None;
    let mut day = from;
    while day <= to {
        let times: Vec<TimeView> =
            slots.iter().filter(|s| s.start.date() == day).map(|s| time_view(ctx, purpose, s)).collect();
        if times.is_empty() {
            let why = why_empty(ctx, ricevo_core::slots::why_closed(day, facts.patron, &facts.closures, &facts.hours));
            match (&mut run, days.last_mut()) {
                // The same reason as the day before: one line for both.
                (Some((first, last)), Some(prev)) if prev.times.is_empty() && prev.why_empty == why => {
                    *last = day;
                    prev.heading = ctx.t.days_without.replace("{from}", first).replace("{to}", &heading_of(day));
                }
                _ => {
                    run = Some((heading_of(day), day));
                    days.push(DayView { heading: heading_of(day), times, why_empty: why });
                }
            }
        } else {
            run = None;
            days.push(DayView { heading: heading_of(day), times, why_empty: String::new() });
        }
        day = match day.tomorrow() {
            Ok(d) => d,
            Err(_) => break,
        };
    }
    let pager = |d: Date| format!("{}#times", ctx.href(&format!("{page}?from={d}")));
    let earlier = (from > today).then(|| pager(from.checked_sub(DAYS_SHOWN.days()).unwrap_or(today).max(today)));
    let later = (to < last).then(|| to.tomorrow().ok()).flatten().map(pager);
    Ok(Picker { days, earlier, later })
}

/// What a day without times says.
fn why_empty(ctx: &Ctx, why: Option<ricevo_core::slots::ClosedDay>) -> String {
    use ricevo_core::slots::ClosedDay;
    match why {
        Some(ClosedDay::Holiday(h)) => ctx.t.holiday.replace("{name}", h.name(ctx.lang)),
        Some(ClosedDay::Closure(reason)) if !reason.is_empty() => ctx.t.closed_for.replace("{reason}", &reason),
        Some(ClosedDay::Closure(_) | ClosedDay::NoHours) => ctx.t.office_closed.to_owned(),
        None => ctx.t.no_slots_day.to_owned(),
    }
}
