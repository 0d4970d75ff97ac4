use super::*;
use crate::hours::{Closure, OpeningHours, WeeklyRange};
use crate::mode::Mode;
use jiff::civil::{Time, Weekday, date, time};
use proptest::prelude::*;

fn rome() -> TimeZone {
    TimeZone::get("Europe/Rome").unwrap()
}

fn every_day(start: Time, end: Time, desks: u16) -> OpeningHours {
    let days = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];
    OpeningHours::new(days.iter().map(|d| WeeklyRange::new(*d, start, end).unwrap()).collect(), desks).unwrap()
}

fn rules(duration: i32, buffer: i32) -> ServiceRules {
    ServiceRules::new(duration, buffer, vec![Mode::Video], 0, 400).unwrap()
}

fn query<'a>(
    zone: &'a TimeZone,
    hours: &'a OpeningHours,
    service: &'a ServiceRules,
    booked: &'a [Booked],
    now: &str,
    from: Date,
    to: Date,
) -> SlotQuery<'a> {
    SlotQuery { zone, hours, closures: &[], patron: None, service, booked, now: now.parse().unwrap(), from, to }
}

#[test]
fn a_morning_is_cut_into_slots_of_duration_plus_buffer() {
    let zone = rome();
    let hours = every_day(time(9, 0, 0, 0), time(10, 0, 0, 0), 1);
    let service = rules(20, 5);
    let q = query(&zone, &hours, &service, &[], "2026-06-01T00:00:00Z", date(2026, 6, 3), date(2026, 6, 3));
    let starts: Vec<String> = compute(&q).iter().map(|s| s.start.time().to_string()).collect();
    assert_eq!(starts, ["09:00:00", "09:25:00"]);
    let first = &compute(&q)[0];
    assert_eq!(first.end.time(), time(9, 20, 0, 0));
    assert_eq!(first.start.offset().seconds(), 7200);
}

#[test]
fn nine_o_clock_carries_the_real_offset_on_both_change_days() {
    let zone = rome();
    let hours = every_day(time(9, 0, 0, 0), time(9, 30, 0, 0), 1);
    let service = rules(30, 0);
    for (day, offset_hours) in
        [(date(2026, 3, 29), 2), (date(2026, 10, 25), 1), (date(2026, 3, 28), 1), (date(2026, 10, 24), 2)]
    {
        let q = query(&zone, &hours, &service, &[], "2026-01-01T00:00:00Z", day, day);
        let slots = compute(&q);
        assert_eq!(slots.len(), 1, "{day}");
        assert_eq!(slots[0].start.time(), time(9, 0, 0, 0));
        assert_eq!(slots[0].start.offset().seconds(), offset_hours * 3600, "{day}");
    }
}

#[test]
fn no_slot_starts_in_the_spring_forward_gap() {
    let zone = rome();
    let hours = every_day(time(1, 0, 0, 0), time(4, 0, 0, 0), 1);
    let service = rules(30, 0);
    let q = query(&zone, &hours, &service, &[], "2026-01-01T00:00:00Z", date(2026, 3, 29), date(2026, 3, 29));
    let starts: Vec<String> = compute(&q).iter().map(|s| s.start.time().to_string()).collect();
    assert_eq!(starts, ["01:00:00", "01:30:00", "03:00:00", "03:30:00"]);
}

#[test]
fn no_slot_appears_twice_in_the_autumn_fold() {
    let zone = rome();
    let hours = every_day(time(1, 0, 0, 0), time(4, 0, 0, 0), 1);
    let service = rules(30, 0);
    let q = query(&zone, &hours, &service, &[], "2026-01-01T00:00:00Z", date(2026, 10, 25), date(2026, 10, 25));
    let slots = compute(&q);
    let instants: Vec<Timestamp> = slots.iter().map(|s| s.start.timestamp()).collect();
    let mut sorted = instants.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(instants, sorted, "slots must be strictly increasing and unique");
    let civil: Vec<String> = slots.iter().map(|s| s.start.time().to_string()).collect();
    assert_eq!(civil, ["01:00:00", "01:30:00", "02:00:00", "02:30:00", "03:00:00", "03:30:00"]);
    // The 02:00 slot is the first 02:00 (summer time, +02:00).
    assert_eq!(slots[2].start.offset().seconds(), 7200);
}

#[test]
fn holidays_closures_and_the_patron_day_have_no_slots() {
    let zone = rome();
    let hours = every_day(time(9, 0, 0, 0), time(10, 0, 0, 0), 1);
    let service = rules(30, 0);
    let closures = [Closure::new(date(2026, 12, 28), date(2026, 12, 30), "Inventario".into()).unwrap()];
    let patron = PatronDay::parse("12-31");
    let q = SlotQuery {
        closures: &closures,
        patron,
        ..query(&zone, &hours, &service, &[], "2026-12-01T00:00:00Z", date(2026, 12, 24), date(2027, 1, 2))
    };
    let days: Vec<Date> = compute(&q).iter().map(|s| s.start.date()).collect();
    // 25, 26 Dec and 1 Jan are national holidays, 28-30 closed, 31 the patron.
    for closed in [
        date(2026, 12, 25),
        date(2026, 12, 26),
        date(2026, 12, 28),
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 1),
    ] {
        assert!(!days.contains(&closed), "{closed} should be closed");
    }
    for open in [date(2026, 12, 24), date(2026, 12, 27), date(2027, 1, 2)] {
        assert!(days.contains(&open), "{open} should be open");
    }
}

#[test]
fn bookings_reduce_availability_including_their_buffer() {
    let zone = rome();
    let hours = every_day(time(9, 0, 0, 0), time(10, 0, 0, 0), 2);
    let service = rules(30, 0);
    let booked = [
        Booked { start: "2026-06-03T07:00:00Z".parse().unwrap(), end: "2026-06-03T07:35:00Z".parse().unwrap() },
        Booked { start: "2026-06-03T07:00:00Z".parse().unwrap(), end: "2026-06-03T07:30:00Z".parse().unwrap() },
    ];
    let q = query(&zone, &hours, &service, &booked, "2026-06-01T00:00:00Z", date(2026, 6, 3), date(2026, 6, 3));
    let available: Vec<u16> = compute(&q).iter().map(|s| s.available).collect();
    assert_eq!(available, [0, 1]);
    assert_eq!(check_start(&q, "2026-06-03T07:00:00Z".parse().unwrap()), Err(SlotRefusal::Full));
    assert!(check_start(&q, "2026-06-03T07:30:00Z".parse().unwrap()).is_ok());
}

#[test]
fn check_start_refuses_past_too_soon_far_and_off_grid_times() {
    let zone = rome();
    let hours = every_day(time(9, 0, 0, 0), time(12, 0, 0, 0), 1);
    let service = ServiceRules::new(30, 0, vec![Mode::Video], 24, 30).unwrap();
    let q = query(&zone, &hours, &service, &[], "2026-06-01T10:00:00Z", date(2026, 6, 1), date(2026, 6, 1));
    let at = |s: &str| s.parse::<Timestamp>().unwrap();
    assert_eq!(check_start(&q, at("2026-05-01T07:00:00Z")), Err(SlotRefusal::TooSoon));
    assert_eq!(check_start(&q, at("2026-06-02T07:00:00Z")), Err(SlotRefusal::TooSoon));
    assert!(check_start(&q, at("2026-06-03T07:00:00Z")).is_ok());
    assert_eq!(check_start(&q, at("2026-06-03T07:10:00Z")), Err(SlotRefusal::NotASlot));
    assert_eq!(check_start(&q, at("2026-06-03T05:00:00Z")), Err(SlotRefusal::NotASlot));
    assert_eq!(check_start(&q, at("2026-08-03T07:00:00Z")), Err(SlotRefusal::BeyondHorizon));
}

#[test]
fn nearest_free_slots_are_ordered_by_time_and_skip_full_ones() {
    let zone = rome();
    let hours = every_day(time(9, 0, 0, 0), time(11, 0, 0, 0), 1);
    let service = rules(30, 0);
    let booked =
        [Booked { start: "2026-06-03T07:30:00Z".parse().unwrap(), end: "2026-06-03T08:00:00Z".parse().unwrap() }];
    let q = query(&zone, &hours, &service, &booked, "2026-06-01T00:00:00Z", date(2026, 6, 3), date(2026, 6, 3));
    let slots = compute(&q);
    let near = nearest_free(&slots, "2026-06-03T07:30:00Z".parse().unwrap(), 2);
    let times: Vec<String> = near.iter().map(|s| s.start.time().to_string()).collect();
    assert_eq!(times, ["09:00:00", "10:00:00"]);
}

// Opening hours for property tests: one or two ranges a weekday on the grid.
fn arb_hours() -> impl Strategy<Value = OpeningHours> {
    let range = (0..7i8, 6 * 12..12 * 12i32, 1..6 * 12i32, 1..3u16);
    (proptest::collection::vec(range, 1..6), 1..4u16).prop_map(|(ranges, desks)| {
        let mut out: Vec<WeeklyRange> = Vec::new();
        for (wd, start_step, len_steps, _) in ranges {
            let weekday = Weekday::from_monday_zero_offset(wd).unwrap();
            let start = start_step * 5;
            let end = (start + len_steps * 5).min(23 * 60 + 55);
            let t = |m: i32| Time::new((m / 60) as i8, (m % 60) as i8, 0, 0).unwrap();
            let Ok(r) = WeeklyRange::new(weekday, t(start), t(end)) else { continue };
            if out.iter().any(|o| o.weekday() == weekday && o.start() < r.end() && r.start() < o.end()) {
                continue;
            }
            out.push(r);
        }
        OpeningHours::new(out, desks).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn booking_every_offered_seat_never_puts_more_people_than_desks_at_any_instant(
        hours in arb_hours(),
        duration_steps in 1..12i32,
        buffer_steps in 0..4i32,
        picks in proptest::collection::vec(any::<proptest::sample::Index>(), 1..120),
        now_offset_min in 0..(60 * 24 * 10i64),
    ) {
        let zone = rome();
        let service = ServiceRules::new(duration_steps * 5, buffer_steps * 5, vec![Mode::Video], 0, 60).unwrap();
        let now = Timestamp::from_second(1_774_000_000 + now_offset_min * 60).unwrap();
        let from = now.to_zoned(zone.clone()).date();
        let to = from.checked_add(14.days()).unwrap();
        let mut booked: Vec<Booked> = Vec::new();
        for pick in picks {
            let q = SlotQuery { zone: &zone, hours: &hours, closures: &[], patron: None, service: &service, booked: &booked, now, from, to };
            let free: Vec<Slot> = compute(&q).into_iter().filter(|s| s.available > 0).collect();
            if free.is_empty() { break; }
            let s = pick.get(&free);
            prop_assert!(check_start(&q, s.start.timestamp()).is_ok());
            booked.push(Booked { start: s.start.timestamp(), end: s.start.timestamp() + service.occupancy() });
        }
        // At every grid step no more bookings than desks.
        let mut per_step = std::collections::HashMap::<i64, u16>::new();
        for b in &booked {
            for step in steps(b.start, b.end) {
                *per_step.entry(step).or_default() += 1;
            }
        }
        prop_assert!(per_step.values().all(|&n| n <= hours.desks()));
    }

    #[test]
    fn every_slot_is_inside_opening_hours_outside_closed_days_and_within_notice_and_horizon(
        hours in arb_hours(),
        duration_steps in 1..12i32,
        notice_hours in 0..72i32,
        horizon_days in 1..40i32,
        closure_start in 0..30i64,
        closure_len in 0..5i64,
        now_offset_min in 0..(60 * 24 * 365i64),
    ) {
        let zone = rome();
        let service = ServiceRules::new(duration_steps * 5, 0, vec![Mode::Video], notice_hours, horizon_days).unwrap();
        let now = Timestamp::from_second(1_767_225_600 + now_offset_min * 60).unwrap();
        let today = now.to_zoned(zone.clone()).date();
        let c_first = today.checked_add(closure_start.days()).unwrap();
        let closures = [Closure::new(c_first, c_first.checked_add(closure_len.days()).unwrap(), "x".into()).unwrap()];
        let patron = PatronDay::parse("06-24");
        let q = SlotQuery {
            zone: &zone, hours: &hours, closures: &closures, patron, service: &service, booked: &[], now,
            from: today.checked_sub(3.days()).unwrap(), to: today.checked_add(60.days()).unwrap(),
        };
        let earliest = now + SignedDuration::from_hours(i64::from(notice_hours));
        let last_day = today.checked_add(i64::from(horizon_days).days()).unwrap();
        for s in compute(&q) {
            prop_assert!(s.start.timestamp() >= earliest);
            prop_assert!(s.start.date() <= last_day);
            prop_assert!(!closed_on(s.start.date(), patron, &closures));
            let inside = hours.ranges_on(s.start.date().weekday()).any(|r| {
                s.start.time() >= r.start() && s.end.date() == s.start.date() && s.end.time() <= r.end()
            });
            prop_assert!(inside, "{s:?} outside opening hours");
            prop_assert_eq!(s.available, hours.desks());
        }
    }
}

// `check_start` as it was before it stopped laying out the day: the reference it must match.
fn check_start_by_laying_out_the_day(q: &SlotQuery<'_>, start: Timestamp) -> Result<Slot, SlotRefusal> {
    let earliest = q.now + SignedDuration::from_hours(i64::from(q.service.min_notice_hours()));
    if start < earliest {
        return Err(SlotRefusal::TooSoon);
    }
    let day = start.to_zoned(q.zone.clone()).date();
    if day > last_bookable_day(q) {
        return Err(SlotRefusal::BeyondHorizon);
    }
    let day_query = SlotQuery { from: day, to: day, ..*q };
    let slot = compute(&day_query).into_iter().find(|s| s.start.timestamp() == start).ok_or(SlotRefusal::NotASlot)?;
    if slot.available == 0 {
        return Err(SlotRefusal::Full);
    }
    Ok(slot)
}

// Opening hours anywhere in the day, night hours included (where offsets change).
fn arb_any_hours() -> impl Strategy<Value = OpeningHours> {
    let range = (0..7i8, 0..23 * 12i32, 1..8 * 12i32);
    (proptest::collection::vec(range, 1..10), 1..4u16).prop_map(|(ranges, desks)| {
        let mut out: Vec<WeeklyRange> = Vec::new();
        for (wd, start_step, len_steps) in ranges {
            let weekday = Weekday::from_monday_zero_offset(wd).unwrap();
            let start = start_step * 5;
            let end = (start + len_steps * 5).min(23 * 60 + 55);
            let t = |m: i32| Time::new((m / 60) as i8, (m % 60) as i8, 0, 0).unwrap();
            let Ok(r) = WeeklyRange::new(weekday, t(start), t(end)) else { continue };
            if out.iter().any(|o| o.weekday() == weekday && o.start() < r.end() && r.start() < o.end()) {
                continue;
            }
            out.push(r);
        }
        OpeningHours::new(out, desks).unwrap()
    })
}

#[test]
fn checking_a_start_on_the_days_the_offset_changes_matches_the_laid_out_day() {
    let zone = rome();
    let hours = every_day(time(1, 0, 0, 0), time(4, 0, 0, 0), 1);
    let service = rules(30, 0);
    for day in [date(2026, 3, 29), date(2026, 10, 25)] {
        let q = query(&zone, &hours, &service, &[], "2026-01-01T00:00:00Z", day, day);
        let slots = compute(&q);
        for s in &slots {
            assert_eq!(check_start(&q, s.start.timestamp()), Ok(s.clone()));
        }
        // 02:30 on the spring day does not exist; its would-be instant is 03:30 CEST, a slot.
        let first = slots[0].start.timestamp();
        for minutes in (0..240).step_by(5) {
            let t = first + SignedDuration::from_mins(minutes);
            assert_eq!(check_start(&q, t), check_start_by_laying_out_the_day(&q, t), "{t}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn checking_one_start_gives_the_answer_of_laying_out_its_day(
        hours in arb_any_hours(),
        zone_name in proptest::sample::select(vec!["Europe/Rome", "UTC", "Australia/Lord_Howe", "America/St_Johns"]),
        base in proptest::sample::select(vec![
            "2026-03-06T00:00:00Z", "2026-03-27T00:00:00Z", "2026-04-03T00:00:00Z", "2026-06-10T00:00:00Z",
            "2026-10-02T00:00:00Z", "2026-10-23T00:00:00Z", "2026-10-30T00:00:00Z",
        ]),
        now_offset_min in 0..(60 * 24i64),
        duration_steps in 1..12i32,
        buffer_steps in 0..4i32,
        notice_hours in 0..30i32,
        horizon_days in 1..4i32,
        closed in proptest::option::of(0..4i64),
        picks in proptest::collection::vec((any::<proptest::sample::Index>(), 1..4usize), 0..40),
        jitter in prop_oneof![Just(0i64), 1..300i64],
    ) {
        let zone = TimeZone::get(zone_name).unwrap();
        let service =
            ServiceRules::new(duration_steps * 5, buffer_steps * 5, vec![Mode::Video], notice_hours, horizon_days)
                .unwrap();
        let base: Timestamp = base.parse().unwrap();
        let now = base + SignedDuration::from_mins(now_offset_min);
        let today = now.to_zoned(zone.clone()).date();
        let closures: Vec<Closure> = closed
            .map(|d| today.checked_add(d.days()).unwrap())
            .map(|d| Closure::new(d, d, "x".into()).unwrap())
            .into_iter()
            .collect();
        let patron = PatronDay::parse("10-25");
        let free = SlotQuery {
            zone: &zone, hours: &hours, closures: &closures, patron, service: &service, booked: &[], now,
            from: today, to: today.checked_add(5.days()).unwrap(),
        };
        // Bookings on offered slots, some of them taken by several (full when desks allow).
        let offered = compute(&free);
        let mut booked: Vec<Booked> = Vec::new();
        if !offered.is_empty() {
            for (pick, times) in &picks {
                let s = pick.get(&offered).start.timestamp();
                for _ in 0..*times {
                    booked.push(Booked { start: s, end: s + service.occupancy() });
                }
            }
        }
        let q = SlotQuery { booked: &booked, from: today, to: today, ..free };
        // Every five minutes from before now to past the horizon, on the grid and off it.
        for n in 0..(4 * 288i64) {
            let start = base + SignedDuration::from_secs(n * 300);
            prop_assert_eq!(check_start(&q, start), check_start_by_laying_out_the_day(&q, start), "{}", start);
            let off = start + SignedDuration::from_secs(jitter);
            prop_assert_eq!(check_start(&q, off), check_start_by_laying_out_the_day(&q, off), "{}", off);
        }
    }
}

// ---- path: why a day has no times ----

#[test]
fn a_day_without_times_says_whether_it_is_a_holiday_a_closure_or_outside_the_hours() {
    let weekdays = OpeningHours::new(
        [Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday]
            .into_iter()
            .map(|d| WeeklyRange::new(d, time(9, 0, 0, 0), time(12, 0, 0, 0)).unwrap())
            .collect(),
        1,
    )
    .unwrap();
    let strike = Closure::new(date(2026, 12, 9), date(2026, 12, 10), "Sciopero".into()).unwrap();
    let closures = [strike];
    let why = |d| why_closed(d, None, &closures, &weekdays);
    // Tuesday 8 December: the Immacolata, though the office has hours on Tuesdays.
    match why(date(2026, 12, 8)) {
        Some(ClosedDay::Holiday(h)) => assert!(h.name(crate::Lang::It).contains("Immacolata"), "{h:?}"),
        other => panic!("8 December is a holiday, not {other:?}"),
    }
    assert_eq!(why(date(2026, 12, 10)), Some(ClosedDay::Closure("Sciopero".into())));
    assert_eq!(why(date(2026, 12, 12)), Some(ClosedDay::NoHours), "a Saturday outside the hours");
    assert_eq!(why(date(2026, 12, 11)), None, "an ordinary Friday is open");
}
