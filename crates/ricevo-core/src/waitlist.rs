//! The waitlist: citizens who want a time that is not free (or an earlier one) wait per
//! service, with the weekdays and hours that suit them. When a slot frees up, the first
//! waiting citizen it suits, by order of joining, is offered it; the offer holds the slot for a
//! few minutes, and if it is declined or lapses the slot passes to the next in line.
//!
//! Pure rules only: which slots suit an entry, who is next, how long a hold lasts, and how an
//! offer's state may change. The desk loads the facts and the store makes the decisions stick.

use jiff::civil::{Time, Weekday};
use jiff::{SignedDuration, Timestamp, Zoned};

/// Hold length when the instance does not set one.
pub const DEFAULT_HOLD_MINUTES: u16 = 5;

/// The most time ranges one entry may give.
pub const MAX_RANGES: usize = 4;

/// Why a waitlist preference is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PreferenceError {
    /// No weekday chosen.
    #[error("no weekday chosen")]
    NoWeekday,
    /// A weekday number outside 1 (Monday) to 7 (Sunday).
    #[error("not a weekday")]
    BadWeekday,
    /// A time that is not `HH:MM`.
    #[error("not a time")]
    BadTime,
    /// A range that ends before it starts.
    #[error("range ends before it starts")]
    EmptyRange,
    /// More ranges than [`MAX_RANGES`].
    #[error("too many ranges")]
    TooManyRanges,
    /// A hold length outside 1 to 60 minutes.
    #[error("hold length out of range")]
    BadHold,
}

impl PreferenceError {
    /// The message for a citizen, in Italian or English.
    pub fn message(self, lang: crate::Lang) -> &'static str {
        let it = lang == crate::Lang::It;
        match self {
            PreferenceError::NoWeekday => {
                if it {
                    "Scegli almeno un giorno della settimana."
                } else {
                    "Choose at least one day of the week."
                }
            }
            PreferenceError::BadWeekday => {
                if it {
                    "Giorno della settimana non valido."
                } else {
                    "Not a day of the week."
                }
            }
            PreferenceError::BadTime => {
                if it {
                    "Scrivi gli orari come 09:30."
                } else {
                    "Write times as 09:30."
                }
            }
            PreferenceError::EmptyRange => {
                if it {
                    "Ogni fascia oraria deve finire dopo l'inizio."
                } else {
                    "Each time range must end after it starts."
                }
            }
            PreferenceError::TooManyRanges => {
                if it {
                    "Al massimo quattro fasce orarie."
                } else {
                    "At most four time ranges."
                }
            }
            PreferenceError::BadHold => {
                if it {
                    "La durata della prenotazione provvisoria va da 1 a 60 minuti."
                } else {
                    "The hold lasts from 1 to 60 minutes."
                }
            }
        }
    }
}

/// A set of weekdays, never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Weekdays(u8);

impl Weekdays {
    /// Every day of the week.
    pub const ALL: Weekdays = Weekdays(0b0111_1111);

    /// From weekday numbers, 1 = Monday to 7 = Sunday (repeats ignored).
    pub fn parse(days: &[i8]) -> Result<Weekdays, PreferenceError> {
        let mut bits = 0u8;
        for &d in days {
            if !(1..=7).contains(&d) {
                return Err(PreferenceError::BadWeekday);
            }
            bits |= 1 << (d - 1);
        }
        Weekdays::from_bits(bits)
    }

    /// From the stored bit set (bit 0 = Monday).
    pub fn from_bits(bits: u8) -> Result<Weekdays, PreferenceError> {
        match bits & 0b0111_1111 {
            0 => Err(PreferenceError::NoWeekday),
            b => Ok(Weekdays(b)),
        }
    }

    /// The stored bit set.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Whether `day` is in the set.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << (day.to_monday_one_offset() - 1)) != 0
    }

    /// The weekday numbers in the set, Monday (1) first.
    pub fn numbers(self) -> Vec<i8> {
        (1..=7).filter(|d| self.0 & (1 << (d - 1)) != 0).collect()
    }
}

/// A time of day range `[from, to)` a slot must start in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeRange {
    from: Time,
    to: Time,
}

impl TimeRange {
    /// A range from two `HH:MM` times; `to` must be after `from`.
    pub fn parse(from: &str, to: &str) -> Result<TimeRange, PreferenceError> {
        let read = |s: &str| {
            let (h, m) = s.trim().split_once(':').ok_or(PreferenceError::BadTime)?;
            let (h, m): (i8, i8) =
                (h.parse().map_err(|_| PreferenceError::BadTime)?, m.parse().map_err(|_| PreferenceError::BadTime)?);
            Time::new(h, m, 0, 0).map_err(|_| PreferenceError::BadTime)
        };
        TimeRange::new(read(from)?, read(to)?)
    }

    /// A range of two times; `to` must be after `from`.
    pub fn new(from: Time, to: Time) -> Result<TimeRange, PreferenceError> {
        if to <= from {
            return Err(PreferenceError::EmptyRange);
        }
        Ok(TimeRange { from, to })
    }

    /// Whether a slot starting at `t` starts in the range.
    pub fn contains(self, t: Time) -> bool {
        t >= self.from && t < self.to
    }

    /// `HH:MM-HH:MM`, as stored and shown.
    pub fn label(self) -> String {
        format!("{:02}:{:02}-{:02}:{:02}", self.from.hour(), self.from.minute(), self.to.hour(), self.to.minute())
    }

    /// From its label (`09:00-12:30`).
    pub fn from_label(s: &str) -> Result<TimeRange, PreferenceError> {
        let (a, b) = s.split_once('-').ok_or(PreferenceError::BadTime)?;
        TimeRange::parse(a, b)
    }
}

/// What times suit a waiting citizen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    /// The weekdays that suit them.
    pub weekdays: Weekdays,
    /// The hours that suit them; empty: any time the office is open.
    pub ranges: Vec<TimeRange>,
    /// Only slots starting before this instant (a citizen who holds an appointment and wants
    /// an earlier one).
    pub earlier_than: Option<Timestamp>,
}

impl Preferences {
    /// Checks the ranges' count and builds the preferences.
    pub fn new(
        weekdays: Weekdays,
        ranges: Vec<TimeRange>,
        earlier_than: Option<Timestamp>,
    ) -> Result<Preferences, PreferenceError> {
        if ranges.len() > MAX_RANGES {
            return Err(PreferenceError::TooManyRanges);
        }
        Ok(Preferences { weekdays, ranges, earlier_than })
    }

    /// Whether a slot starting at `start` (in the town's zone) suits the citizen.
    pub fn suits(&self, start: &Zoned) -> bool {
        self.weekdays.contains(start.weekday())
            && (self.ranges.is_empty() || self.ranges.iter().any(|r| r.contains(start.time())))
            && self.earlier_than.is_none_or(|t| start.timestamp() < t)
    }

    /// The ranges as stored (`09:00-12:00,14:00-16:00`).
    pub fn ranges_label(&self) -> String {
        self.ranges.iter().map(|r| r.label()).collect::<Vec<_>>().join(",")
    }

    /// The ranges from their stored form.
    pub fn ranges_from_label(s: &str) -> Result<Vec<TimeRange>, PreferenceError> {
        s.split(',').filter(|p| !p.trim().is_empty()).map(TimeRange::from_label).collect()
    }
}

/// How long an offer holds its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldLength(u16);

impl HoldLength {
    /// From minutes, 1 to 60.
    pub fn minutes(m: u16) -> Result<HoldLength, PreferenceError> {
        if (1..=60).contains(&m) { Ok(HoldLength(m)) } else { Err(PreferenceError::BadHold) }
    }

    /// The minutes.
    pub fn as_minutes(self) -> u16 {
        self.0
    }

    /// When an offer made at `now` lapses.
    pub fn expires_at(self, now: Timestamp) -> Timestamp {
        now + SignedDuration::from_mins(i64::from(self.0))
    }
}

impl Default for HoldLength {
    fn default() -> Self {
        HoldLength(DEFAULT_HOLD_MINUTES)
    }
}

/// A waiting citizen as the line sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The entry's id.
    pub id: i64,
    /// When they joined: the line's order.
    pub joined_at: Timestamp,
    /// What suits them.
    pub preferences: Preferences,
    /// Whether they hold an open offer already (one at a time).
    pub holds_offer: bool,
}

/// The first waiting citizen, by order of joining (ties by id), whom the slot at `start`
/// suits, who holds no open offer and was not offered this slot before (`passed`: they
/// declined it or let it lapse).
pub fn next_in_line<'a>(line: &'a [Waiting], start: &Zoned, passed: &[i64]) -> Option<&'a Waiting> {
    line.iter()
        .filter(|w| !w.holds_offer && !passed.contains(&w.id) && w.preferences.suits(start))
        .min_by_key(|w| (w.joined_at, w.id))
}

/// The state of an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfferState {
    /// Sent; the slot is held until it expires.
    Offered,
    /// The citizen confirmed in time: the slot is theirs.
    Accepted,
    /// The hold lapsed: the slot passes to the next in line.
    Expired,
    /// The citizen said no: the slot passes to the next in line.
    Declined,
}

/// Why an offer cannot change that way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OfferRefusal {
    /// The offer is already decided (accepted, declined or expired).
    #[error("offer already {0:?}")]
    Decided(OfferState),
    /// The hold has lapsed: the offer can only expire.
    #[error("hold lapsed")]
    Lapsed,
    /// The hold still runs: it cannot expire yet.
    #[error("hold still running")]
    StillHeld,
    /// Not a change an offer makes (back to offered).
    #[error("not a change")]
    NotAChange,
}

impl OfferState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OfferState::Offered => "offered",
            OfferState::Accepted => "accepted",
            OfferState::Expired => "expired",
            OfferState::Declined => "declined",
        }
    }

    /// From the stored spelling.
    pub fn parse(s: &str) -> Option<OfferState> {
        Some(match s {
            "offered" => OfferState::Offered,
            "accepted" => OfferState::Accepted,
            "expired" => OfferState::Expired,
            "declined" => OfferState::Declined,
            _ => return None,
        })
    }

    /// Words for staff and citizens.
    pub fn label(self, lang: crate::Lang) -> &'static str {
        let it = lang == crate::Lang::It;
        match self {
            OfferState::Offered => {
                if it {
                    "offerto, in attesa di risposta"
                } else {
                    "offered, awaiting an answer"
                }
            }
            OfferState::Accepted => {
                if it {
                    "accettato"
                } else {
                    "accepted"
                }
            }
            OfferState::Expired => {
                if it {
                    "scaduto"
                } else {
                    "expired"
                }
            }
            OfferState::Declined => {
                if it {
                    "rifiutato"
                } else {
                    "declined"
                }
            }
        }
    }

    /// The one rule for an offer's changes: only an open offer changes; it is accepted or
    /// declined while its hold runs, and expires once the hold has lapsed (an answer that
    /// comes late finds it lapsed).
    pub fn transition(self, to: OfferState, now: Timestamp, expires_at: Timestamp) -> Result<OfferState, OfferRefusal> {
        if self != OfferState::Offered {
            return Err(OfferRefusal::Decided(self));
        }
        let lapsed = now >= expires_at;
        match to {
            OfferState::Offered => Err(OfferRefusal::NotAChange),
            OfferState::Accepted | OfferState::Declined if lapsed => Err(OfferRefusal::Lapsed),
            OfferState::Expired if !lapsed => Err(OfferRefusal::StillHeld),
            to => Ok(to),
        }
    }
}

/// Where a waitlist entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryState {
    /// In line.
    Waiting,
    /// Got an appointment through an offer.
    Served,
    /// Left the list.
    Left,
}

impl EntryState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryState::Waiting => "waiting",
            EntryState::Served => "served",
            EntryState::Left => "left",
        }
    }

    /// From the stored spelling.
    pub fn parse(s: &str) -> Option<EntryState> {
        Some(match s {
            "waiting" => EntryState::Waiting,
            "served" => EntryState::Served,
            "left" => EntryState::Left,
            _ => return None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;
    use proptest::prelude::*;

    fn rome(s: &str) -> Zoned {
        s.parse::<jiff::civil::DateTime>().unwrap().to_zoned(TimeZone::get("Europe/Rome").unwrap()).unwrap()
    }

    fn waiting(id: i64, joined: i64, prefs: Preferences) -> Waiting {
        Waiting { id, joined_at: Timestamp::from_second(joined).unwrap(), preferences: prefs, holds_offer: false }
    }

    fn anytime() -> Preferences {
        Preferences::new(Weekdays::ALL, Vec::new(), None).unwrap()
    }

    #[test]
    fn a_slot_suits_only_the_chosen_days_hours_and_earlier_than() {
        // 2026-03-02 is a Monday.
        let mornings = Preferences::new(
            Weekdays::parse(&[1, 3]).unwrap(),
            vec![TimeRange::parse("09:00", "12:00").unwrap()],
            None,
        )
        .unwrap();
        assert!(mornings.suits(&rome("2026-03-02T09:00")));
        assert!(mornings.suits(&rome("2026-03-04T11:55")));
        assert!(!mornings.suits(&rome("2026-03-02T12:00")), "the range's end is excluded");
        assert!(!mornings.suits(&rome("2026-03-03T10:00")), "a Tuesday");
        let earlier = Preferences { earlier_than: Some(rome("2026-03-02T10:00").timestamp()), ..anytime() };
        assert!(earlier.suits(&rome("2026-03-02T09:30")));
        assert!(!earlier.suits(&rome("2026-03-02T10:00")));
    }

    #[test]
    fn bad_preferences_are_refused_with_words_in_both_languages() {
        assert_eq!(Weekdays::parse(&[]), Err(PreferenceError::NoWeekday));
        assert_eq!(Weekdays::parse(&[0]), Err(PreferenceError::BadWeekday));
        assert_eq!(Weekdays::parse(&[8]), Err(PreferenceError::BadWeekday));
        assert_eq!(TimeRange::parse("12:00", "09:00"), Err(PreferenceError::EmptyRange));
        assert_eq!(TimeRange::parse("25:00", "26:00"), Err(PreferenceError::BadTime));
        assert_eq!(TimeRange::parse("nine", "ten"), Err(PreferenceError::BadTime));
        let five = vec![TimeRange::parse("09:00", "10:00").unwrap(); 5];
        assert_eq!(Preferences::new(Weekdays::ALL, five, None), Err(PreferenceError::TooManyRanges));
        assert_eq!(HoldLength::minutes(0), Err(PreferenceError::BadHold));
        assert_ne!(
            PreferenceError::BadTime.message(crate::Lang::It),
            PreferenceError::BadTime.message(crate::Lang::En)
        );
    }

    #[test]
    fn an_offer_is_answered_while_held_and_expires_only_after() {
        let t0 = Timestamp::from_second(1_000_000).unwrap();
        let until = HoldLength::default().expires_at(t0);
        let o = OfferState::Offered;
        assert_eq!(o.transition(OfferState::Accepted, t0, until), Ok(OfferState::Accepted));
        assert_eq!(o.transition(OfferState::Declined, t0, until), Ok(OfferState::Declined));
        assert_eq!(o.transition(OfferState::Expired, t0, until), Err(OfferRefusal::StillHeld));
        assert_eq!(o.transition(OfferState::Accepted, until, until), Err(OfferRefusal::Lapsed));
        assert_eq!(o.transition(OfferState::Expired, until, until), Ok(OfferState::Expired));
        for done in [OfferState::Accepted, OfferState::Expired, OfferState::Declined] {
            assert_eq!(done.transition(OfferState::Accepted, t0, until), Err(OfferRefusal::Decided(done)));
        }
    }

    #[test]
    fn when_the_first_lets_the_offer_lapse_the_slot_passes_to_the_next() {
        let slot = rome("2026-03-02T09:00");
        let line = vec![waiting(1, 10, anytime()), waiting(2, 20, anytime()), waiting(3, 30, anytime())];
        assert_eq!(next_in_line(&line, &slot, &[]).map(|w| w.id), Some(1));
        assert_eq!(next_in_line(&line, &slot, &[1]).map(|w| w.id), Some(2));
        assert_eq!(next_in_line(&line, &slot, &[1, 2, 3]), None);
    }

    fn prefs() -> impl Strategy<Value = Preferences> {
        (1u8..128, proptest::option::of((0i8..23, 1i8..24))).prop_map(|(bits, range)| {
            let ranges = range
                .and_then(|(a, len)| {
                    TimeRange::new(Time::new(a, 0, 0, 0).ok()?, Time::new((a + len).min(23), 59, 0, 0).ok()?).ok()
                })
                .into_iter()
                .collect();
            Preferences::new(Weekdays::from_bits(bits).unwrap(), ranges, None).unwrap()
        })
    }

    proptest! {
        /// Fairness: the one chosen is suited, free and eligible, and nobody suited, free and
        /// eligible joined before them.
        #[test]
        fn the_next_in_line_is_the_earliest_suited_citizen(
            line in proptest::collection::vec((0i64..50, prefs(), any::<bool>()), 0..30),
            passed in proptest::collection::vec(0i64..30, 0..5),
            day in 0i64..14, minute in 0i64..(24 * 60),
        ) {
            let line: Vec<Waiting> = line.into_iter().enumerate().map(|(i, (joined, p, busy))| Waiting {
                id: i64::try_from(i).unwrap(),
                joined_at: Timestamp::from_second(joined).unwrap(),
                preferences: p,
                holds_offer: busy,
            }).collect();
            let slot = rome("2026-03-02T00:00") .checked_add(SignedDuration::from_mins(day * 24 * 60 + minute)).unwrap();
            let eligible = |w: &Waiting| !w.holds_offer && !passed.contains(&w.id) && w.preferences.suits(&slot);
            match next_in_line(&line, &slot, &passed) {
                Some(chosen) => {
                    prop_assert!(eligible(chosen));
                    for w in line.iter().filter(|w| eligible(w)) {
                        prop_assert!((chosen.joined_at, chosen.id) <= (w.joined_at, w.id));
                    }
                }
                None => prop_assert!(!line.iter().any(eligible)),
            }
        }

        /// Whatever happens, an offer is decided at most once, and only an open one changes.
        #[test]
        fn an_offer_is_decided_at_most_once(steps in proptest::collection::vec((0u8..4, 0i64..600), 1..10)) {
            let t0 = Timestamp::from_second(1_000_000).unwrap();
            let until = HoldLength::default().expires_at(t0);
            let mut state = OfferState::Offered;
            let mut changes = 0;
            for (to, at) in steps {
                let to = [OfferState::Offered, OfferState::Accepted, OfferState::Expired, OfferState::Declined][usize::from(to)];
                let now = t0 + SignedDuration::from_secs(at);
                if let Ok(next) = state.transition(to, now, until) {
                    prop_assert_eq!(state, OfferState::Offered);
                    prop_assert!(next != OfferState::Accepted || now < until);
                    state = next;
                    changes += 1;
                }
            }
            prop_assert!(changes <= 1);
        }

        /// Stored preferences read back the same.
        #[test]
        fn preferences_round_trip_through_their_stored_form(p in prefs()) {
            let back = Preferences::new(
                Weekdays::from_bits(p.weekdays.bits()).unwrap(),
                Preferences::ranges_from_label(&p.ranges_label()).unwrap(),
                None,
            ).unwrap();
            prop_assert_eq!(back, p);
        }
    }
}
