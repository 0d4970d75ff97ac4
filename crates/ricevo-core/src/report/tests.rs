use jiff::civil::date;
use proptest::prelude::*;

use super::*;

fn rome() -> TimeZone {
    TimeZone::get("Europe/Rome").expect("Rome is in the bundled database")
}

#[test]
fn no_period_means_the_last_thirty_days_up_to_today() {
    let p = Period::parse(None, Some(""), date(2026, 12, 6)).expect("default");
    assert_eq!(p, Period { from: date(2026, 11, 7), to: date(2026, 12, 6) });
    assert_eq!(p.days(), 30);
}

#[test]
fn one_day_given_makes_thirty_from_or_up_to_it() {
    let today = date(2026, 12, 6);
    assert_eq!(Period::parse(Some("2026-01-01"), None, today).map(|p| p.to), Ok(date(2026, 1, 30)));
    assert_eq!(Period::parse(None, Some("2026-01-30"), today).map(|p| p.from), Ok(date(2026, 1, 1)));
}

#[test]
fn bad_reversed_and_too_long_periods_are_refused() {
    let today = date(2026, 12, 6);
    assert_eq!(Period::parse(Some("2026-13-01"), None, today), Err(PeriodError::From(DayError::Format)));
    assert_eq!(Period::parse(None, Some("ieri"), today), Err(PeriodError::To(DayError::Format)));
    assert_eq!(Period::parse(Some("1900-01-01"), None, today), Err(PeriodError::From(DayError::OutOfRange)));
    assert_eq!(Period::parse(Some("2026-02-01"), Some("2026-01-01"), today), Err(PeriodError::Reversed));
    assert_eq!(Period::parse(Some("2020-01-01"), Some("2026-01-01"), today), Err(PeriodError::TooLong));
    assert!(Period::parse(Some("2023-01-01"), Some("2025-12-31"), today).is_ok(), "three years fit");
}

#[test]
fn a_period_runs_from_local_midnight_to_local_midnight() {
    let p = Period { from: date(2026, 3, 29), to: date(2026, 3, 29) };
    let (start, end) = p.bounds(&rome());
    assert_eq!(start.to_string(), "2026-03-28T23:00:00Z");
    // The spring-forward day is 23 hours long.
    assert_eq!(end.to_string(), "2026-03-29T22:00:00Z");
}

#[test]
fn percentiles_take_the_nearest_rank() {
    let h = [(10, 1), (20, 1), (30, 1), (40, 1)];
    assert_eq!(percentile(&h, 50), Some(20));
    assert_eq!(percentile(&h, 90), Some(40));
    assert_eq!(percentile(&h, 0), Some(10));
    assert_eq!(percentile(&[], 50), None);
    assert_eq!(percentile(&[(5, 0)], 50), None);
}

#[test]
fn a_group_under_five_is_not_broken_down() {
    assert_eq!(Spread::of(&[(60, 4)]), Spread { count: 4, median: None, p90: None });
    assert_eq!(Spread::of(&[(60, 5)]).median, Some(60));
    let s = Satisfaction::of([0, 0, 1, 1, 2]);
    assert_eq!((s.count, s.average, s.distribution), (4, None, None));
    let s = Satisfaction::of([1, 0, 0, 1, 3]);
    assert_eq!((s.count, s.average, s.distribution), (5, Some(4.0), Some([1, 0, 0, 1, 3])));
}

fn count(office: i64, service: i64, via: BookedVia, status: AppointmentStatus, n: u64) -> AppointmentCount {
    AppointmentCount {
        office: OfficeId(office),
        service: ServiceId(service),
        via,
        mode: Mode::Video,
        status,
        count: n,
        moves: 0,
    }
}

#[test]
fn the_report_folds_rows_into_town_office_and_service_and_hides_small_groups() {
    let facts = Facts {
        appointments: vec![
            count(1, 10, BookedVia::Page, AppointmentStatus::Done, 6),
            count(1, 10, BookedVia::Api, AppointmentStatus::Cancelled, 2),
            count(2, 20, BookedVia::Staff, AppointmentStatus::NoShow, 3),
        ],
        waits: vec![Bucket { office: OfficeId(1), service: Some(ServiceId(10)), value: 30, count: 8 }],
        ..Facts::default()
    };
    let names = Names {
        offices: vec![(OfficeId(1), "Anagrafe".into()), (OfficeId(2), "Tributi".into()), (OfficeId(3), "Vuoto".into())],
        services: vec![(ServiceId(10), "Carta d'identità".into()), (ServiceId(20), "IMU".into())],
    };
    let period = Period { from: date(2026, 1, 1), to: date(2026, 1, 31) };
    let r = build(period, &rome(), &facts, &names);
    assert_eq!((r.town.appointments, r.town.cancelled, r.town.no_shows, r.town.done), (11, 2, 3, 6));
    assert_eq!(r.town.by_channel[0], Count { key: "page", count: 6 });
    assert_eq!(r.town.wait_seconds.median, Some(30));
    assert_eq!(r.offices.len(), 3);
    assert!(r.offices[0].figures.is_some(), "eight appointments are broken down");
    assert_eq!((r.offices[1].appointments, r.offices[1].figures.is_none()), (3, true), "three are not");
    assert_eq!((r.offices[2].appointments, r.offices[2].figures.is_none()), (0, true));
    assert!(r.services[1].figures.is_none());
}

#[test]
fn busiest_days_and_hours_are_counted_in_the_towns_zone() {
    // 2026-01-05 is a Monday; 08:00 UTC is 09:00 in Rome in winter.
    let at = jiff::Timestamp::from_second(1_767_600_000).expect("instant"); // 2026-01-05T08:00:00Z
    let (days, hours) = busiest(&[(at.as_second() / 3600, 3)], &rome());
    assert_eq!(days[0], 3);
    assert_eq!(hours[9], 3);
}

#[test]
fn channels_read_back_and_unknown_words_are_unknown() {
    for v in BookedVia::ALL {
        assert_eq!(BookedVia::parse(v.as_str()), v);
    }
    assert_eq!(BookedVia::parse("fax"), BookedVia::Unknown);
}

proptest! {
    #[test]
    fn percentiles_of_a_histogram_equal_those_of_its_values(
        bars in proptest::collection::vec((0i64..5000, 0u64..20), 0..40),
        p in 0u8..=100,
    ) {
        let mut values: Vec<i64> = bars.iter().flat_map(|(v, n)| std::iter::repeat_n(*v, *n as usize)).collect();
        values.sort_unstable();
        let expected = if values.is_empty() {
            None
        } else {
            let rank = ((values.len() * usize::from(p)).div_ceil(100)).max(1);
            Some(values[rank - 1])
        };
        prop_assert_eq!(percentile(&bars, p), expected);
    }

    #[test]
    fn the_median_never_exceeds_the_ninetieth_percentile(bars in proptest::collection::vec((0i64..100_000, 1u64..50), 1..60)) {
        let s = Spread::of(&bars);
        if let (Some(m), Some(p)) = (s.median, s.p90) {
            prop_assert!(m <= p);
        }
    }

    #[test]
    fn an_accepted_period_is_ordered_and_at_most_three_years(a in 0i64..5000, b in 0i64..5000) {
        let base = date(2020, 1, 1);
        let f = base.checked_add(a.days()).expect("in range").to_string();
        let t = base.checked_add(b.days()).expect("in range").to_string();
        match Period::parse(Some(&f), Some(&t), base) {
            Ok(p) => prop_assert!(p.from <= p.to && p.days() <= MAX_DAYS),
            Err(e) => prop_assert!(e == PeriodError::Reversed && a > b || e == PeriodError::TooLong),
        }
    }

    #[test]
    fn town_totals_are_the_sum_of_office_rows(ns in proptest::collection::vec((1i64..4, 0u64..9), 0..12)) {
        let facts = Facts {
            appointments: ns.iter().map(|(o, n)| count(*o, *o * 10, BookedVia::Page, AppointmentStatus::Booked, *n)).collect(),
            ..Facts::default()
        };
        let names = Names {
            offices: (1..4).map(|o| (OfficeId(o), format!("o{o}"))).collect(),
            services: (1..4).map(|o| (ServiceId(o * 10), format!("s{o}"))).collect(),
        };
        let r = build(Period { from: base_day(), to: base_day() }, &rome(), &facts, &names);
        prop_assert_eq!(r.town.appointments, r.offices.iter().map(|o| o.appointments).sum::<u64>());
        for row in r.offices.iter().chain(&r.services) {
            prop_assert_eq!(row.figures.is_some(), row.appointments >= MIN_GROUP);
        }
    }
}

fn base_day() -> Date {
    date(2026, 1, 1)
}
