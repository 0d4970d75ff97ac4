//! Slot computation for a busy office: two desks, 60 days, 1,000 existing bookings.

use std::time::Instant;

use jiff::civil::{Time, Weekday, date};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use rand::{Rng, SeedableRng};
use ricevo_core::hours::{OpeningHours, WeeklyRange};
use ricevo_core::slots::{Booked, SlotQuery, compute};
use ricevo_core::{Mode, service::ServiceRules};

pub(crate) fn run() {
    let zone = TimeZone::get("Europe/Rome").unwrap();
    let t = |h, m| Time::new(h, m, 0, 0).unwrap();
    let mut ranges = Vec::new();
    for d in [Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday] {
        ranges.push(WeeklyRange::new(d, t(8, 0), t(13, 0)).unwrap());
        ranges.push(WeeklyRange::new(d, t(14, 0), t(18, 0)).unwrap());
    }
    let hours = OpeningHours::new(ranges, 2).unwrap();
    let service = ServiceRules::new(20, 5, vec![Mode::Video], 0, 90).unwrap();
    let now: Timestamp = "2026-11-23T06:00:00Z".parse().unwrap();
    let from = date(2026, 11, 23);
    let to = from.checked_add(59.days()).unwrap();
    // 1,000 bookings placed on real slots, at most two per slot.
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let empty = SlotQuery {
        zone: &zone,
        hours: &hours,
        closures: &[],
        patron: None,
        service: &service,
        booked: &[],
        now,
        from,
        to,
    };
    let all = compute(&empty);
    let mut booked = Vec::new();
    let mut per_slot = vec![0u8; all.len()];
    while booked.len() < 1000 {
        let i = rng.random_range(0..all.len());
        if per_slot[i] < 2 {
            per_slot[i] += 1;
            let start = all[i].start.timestamp();
            booked.push(Booked { start, end: start + SignedDuration::from_mins(25) });
        }
    }
    let q = SlotQuery { booked: &booked, ..empty };
    let runs = 300;
    let mut samples = Vec::with_capacity(runs);
    let mut produced = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let slots = compute(&q);
        samples.push(started.elapsed().as_secs_f64() * 1e3);
        produced = slots.len();
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "slots: 60 days, 2 desks, 1000 bookings -> {produced} slots; {runs} runs: median {:.3} ms, p90 {:.3} ms, min {:.3} ms",
        crate::quantile(&samples, 0.5),
        crate::quantile(&samples, 0.9),
        samples[0]
    );
}
