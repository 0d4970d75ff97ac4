//! Booking through a chat bot (Telegram): the conversation as a pure state machine.
//!
//! A chat is a [`Conversation`] (stored between messages as JSON). Each thing the citizen
//! does (a text, a button press, a shared phone number) is an [`Input`]; [`advance`] returns
//! the next conversation and the [`Action`] the desk must carry out (load the offices, book,
//! cancel...), or a [`Refusal`] that changes nothing. The desk loads the facts, calls its
//! ordinary use cases and draws the answer with [`texts`]. Button data ([`Callback`]) is
//! short (Telegram allows 64 bytes), versioned, and parsed strictly: anything else is refused.

pub mod texts;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::text::{Email, PersonName, Phone, TextError};
use crate::{Lang, Mode};

/// Telegram's limit on a button's callback data, in bytes.
pub const MAX_CALLBACK_BYTES: usize = 64;

/// The longest text the bot reads (Telegram's own limit on a message).
pub const MAX_TEXT_CHARS: usize = 4096;

/// The version prefix of every callback data this bot writes.
const VERSION: char = '1';

/// What a button says when pressed: each kind with its value, encoded as `1<kind>:<value>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    /// Switch the chat's language.
    Lang(Lang),
    /// Back to the main menu (and forget a booking in progress).
    Menu,
    /// Start booking an appointment.
    Book,
    /// List my appointments.
    Mine,
    /// Take a walk-in ticket.
    Ticket,
    /// A town, by id (an instance-wide bot serves several).
    Town(i64),
    /// An office, by id.
    Office(i64),
    /// A service, by id.
    Service(i64),
    /// How to meet.
    Mode(Mode),
    /// A local day.
    Day(Date),
    /// A start time, in seconds since the Unix epoch.
    Time(i64),
    /// I have read the privacy notice.
    Privacy,
    /// Confirm the booking.
    Confirm,
    /// Cancel this appointment (asks first).
    Cancel(i64),
    /// Yes, cancel this appointment.
    CancelYes(i64),
    /// Move this appointment.
    Move(i64),
    /// Take a ticket at this office.
    TicketOffice(i64),
}

impl Callback {
    /// The callback data of a button.
    pub fn encode(self) -> String {
        let (kind, value) = match self {
            Callback::Lang(l) => ("l", l.code().to_owned()),
            Callback::Menu => ("m", String::new()),
            Callback::Book => ("b", String::new()),
            Callback::Mine => ("a", String::new()),
            Callback::Ticket => ("w", String::new()),
            Callback::Town(id) => ("t", id.to_string()),
            Callback::Office(id) => ("o", id.to_string()),
            Callback::Service(id) => ("s", id.to_string()),
            Callback::Mode(m) => ("v", m.as_str().to_owned()),
            Callback::Day(d) => ("d", format!("{:04}{:02}{:02}", d.year(), d.month(), d.day())),
            Callback::Time(t) => ("h", t.to_string()),
            Callback::Privacy => ("p", String::new()),
            Callback::Confirm => ("k", String::new()),
            Callback::Cancel(id) => ("c", id.to_string()),
            Callback::CancelYes(id) => ("y", id.to_string()),
            Callback::Move(id) => ("x", id.to_string()),
            Callback::TicketOffice(id) => ("q", id.to_string()),
        };
        format!("{VERSION}{kind}:{value}")
    }

    /// Parses callback data this bot wrote; `None` for anything else (another version, an
    /// unknown kind, a malformed value, more than 64 bytes).
    pub fn parse(data: &str) -> Option<Callback> {
        if data.len() > MAX_CALLBACK_BYTES || !data.is_ascii() {
            return None;
        }
        let rest = data.strip_prefix(VERSION)?;
        let (kind, value) = rest.split_once(':')?;
        let empty = |c: Callback| value.is_empty().then_some(c);
        match kind {
            "l" => Lang::parse(value).filter(|l| l.code() == value).map(Callback::Lang),
            "m" => empty(Callback::Menu),
            "b" => empty(Callback::Book),
            "a" => empty(Callback::Mine),
            "w" => empty(Callback::Ticket),
            "p" => empty(Callback::Privacy),
            "k" => empty(Callback::Confirm),
            "t" => id(value).map(Callback::Town),
            "o" => id(value).map(Callback::Office),
            "s" => id(value).map(Callback::Service),
            "c" => id(value).map(Callback::Cancel),
            "y" => id(value).map(Callback::CancelYes),
            "x" => id(value).map(Callback::Move),
            "q" => id(value).map(Callback::TicketOffice),
            "h" => id(value).map(Callback::Time),
            "v" => Mode::parse(value).map(Callback::Mode),
            "d" => day(value).map(Callback::Day),
            _ => None,
        }
    }
}

// A positive id in plain decimal digits (no sign, no leading zero, at most 19 digits).
fn id(value: &str) -> Option<i64> {
    let plain =
        !value.is_empty() && value.len() <= 19 && value.bytes().all(|b| b.is_ascii_digit()) && !value.starts_with('0');
    plain.then(|| value.parse().ok()).flatten()
}

// A day as `YYYYMMDD`.
fn day(value: &str) -> Option<Date> {
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i16 = value[..4].parse().ok()?;
    let m: i8 = value[4..6].parse().ok()?;
    let d: i8 = value[6..].parse().ok()?;
    Date::new(y, m, d).ok()
}

/// What the citizen did in the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A text message (a command such as `/start` included).
    Text(String),
    /// A button pressed, with its callback data as received.
    Button(String),
    /// A phone number shared with Telegram's contact button; `own` when it is the sender's.
    Contact {
        /// The number.
        phone: String,
        /// Whether the contact is the sender's own (Telegram's `user_id` is the sender's).
        own: bool,
    },
}

/// Where the conversation stands.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// The main menu (book, my appointments, a ticket, the language).
    #[default]
    Menu,
    /// An instance-wide bot asks for the town first.
    Town,
    /// Booking: which office.
    Office,
    /// Booking: which service.
    Service,
    /// Booking: how to meet.
    Mode,
    /// Booking: which day.
    Day,
    /// Booking: which time.
    Time,
    /// Booking: the name.
    Name,
    /// Booking: an e-mail or phone number (or the shared contact).
    Contact,
    /// Booking: read the privacy notice.
    Privacy,
    /// Booking: the summary, to confirm.
    Confirm,
    /// The citizen's appointments are listed, with cancel and move buttons.
    Mine,
    /// Asked whether to cancel this appointment.
    CancelAsked {
        /// The appointment.
        appointment: i64,
    },
    /// Moving this appointment: which day.
    MoveDay {
        /// The appointment.
        appointment: i64,
    },
    /// Moving this appointment: which time of `day`.
    MoveTime {
        /// The appointment.
        appointment: i64,
        /// The day chosen.
        day: Date,
    },
    /// A ticket: which office.
    TicketOffice,
    /// A ticket at this office: the name.
    TicketName {
        /// The office.
        office: i64,
    },
}

/// What the citizen chose so far while booking.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Draft {
    /// The office.
    pub office: Option<i64>,
    /// The service.
    pub service: Option<i64>,
    /// How to meet.
    pub mode: Option<Mode>,
    /// The day.
    pub day: Option<Date>,
    /// The start, in seconds since the Unix epoch.
    pub start: Option<i64>,
    /// The name.
    pub name: Option<PersonName>,
    /// An e-mail address.
    pub email: Option<Email>,
    /// A phone number.
    pub phone: Option<Phone>,
    /// Whether the privacy notice was read.
    pub privacy: bool,
}

/// One chat's conversation, stored between messages.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Conversation {
    /// The language the bot speaks in this chat.
    pub lang: Lang,
    /// The town an instance-wide bot serves this chat for (a town's own bot: always its town).
    pub town: Option<i64>,
    /// Where it stands.
    pub step: Step,
    /// The booking in progress.
    pub draft: Draft,
}

/// What the desk must do after an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Show the main menu.
    Menu,
    /// Show the towns (instance-wide bot).
    Towns,
    /// Check the chosen town exists and show its menu.
    TownChosen(i64),
    /// Show the town's offices that take bookings.
    Offices,
    /// Show the bookable services of this office.
    Services(i64),
    /// Show the modes of this service (or choose its only one).
    Modes(i64),
    /// Show the days with free time of this service.
    Days(i64),
    /// Show the free times of this service on this day.
    Times(i64, Date),
    /// Check the chosen time is still free and ask the name.
    TimeChosen(i64, i64),
    /// Ask an e-mail or phone number, offering to share the phone.
    AskContact,
    /// Show the privacy notice's link.
    Privacy,
    /// Show the summary to confirm.
    Summary,
    /// Book what the draft holds.
    Book,
    /// List the chat's appointments.
    Mine,
    /// Ask whether to cancel this appointment of the chat.
    AskCancel(i64),
    /// Cancel this appointment of the chat.
    Cancel(i64),
    /// Show the days to move this appointment to.
    MoveDays(i64),
    /// Show the free times of `day` for this appointment.
    MoveTimes(i64, Date),
    /// Move this appointment to this start.
    Move(i64, i64),
    /// Show the offices whose walk-in desk takes tickets.
    TicketOffices,
    /// Ask the name for a ticket at this office.
    TicketName(i64),
    /// Take a ticket at this office in this name.
    TakeTicket(i64, PersonName),
}

/// Why an input changed nothing; [`texts::refusal`] words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Button data this bot did not write (forged, or from an older version).
    UnknownButton,
    /// A button of an earlier step, pressed after the conversation moved on.
    StaleButton,
    /// A text where a button is expected.
    UseButtons,
    /// A text over the limit.
    TooLong,
    /// A name or contact that does not check out.
    Text(TextError),
    /// Someone else's contact was shared.
    NotOwnContact,
}

/// Where a new chat starts: the language from Telegram's `language_code`, Italian otherwise.
pub fn start(language_code: Option<&str>, town: Option<i64>) -> Conversation {
    let lang = language_code.and_then(Lang::parse).unwrap_or_default();
    let step = if town.is_some() { Step::Menu } else { Step::Town };
    Conversation { lang, town, step, draft: Draft::default() }
}

/// The next conversation and what to do, or why the input changes nothing.
pub fn advance(conv: &Conversation, input: &Input) -> Result<(Conversation, Action), Refusal> {
    let mut next = conv.clone();
    match input {
        Input::Text(text) => {
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err(Refusal::TooLong);
            }
            let command = text.trim().split(['@', ' ']).next().unwrap_or("");
            if matches!(command, "/start" | "/menu" | "/help") {
                return Ok(menu(next));
            }
            let action = match conv.step.clone() {
                Step::Name => {
                    next.draft.name = Some(PersonName::parse(text).map_err(Refusal::Text)?);
                    next.step = Step::Contact;
                    Action::AskContact
                }
                Step::Contact => {
                    let text = text.trim();
                    if text.contains('@') {
                        next.draft.email = Some(Email::parse(text).map_err(Refusal::Text)?);
                    } else {
                        next.draft.phone = Some(Phone::parse(text).map_err(Refusal::Text)?);
                    }
                    next.step = Step::Privacy;
                    Action::Privacy
                }
                Step::TicketName { office } => {
                    let name = PersonName::parse(text).map_err(Refusal::Text)?;
                    next.step = Step::Menu;
                    Action::TakeTicket(office, name)
                }
                _ => return Err(Refusal::UseButtons),
            };
            Ok((next, action))
        }
        Input::Contact { phone, own } => {
            if conv.step != Step::Contact {
                return Err(Refusal::UseButtons);
            }
            if !own {
                return Err(Refusal::NotOwnContact);
            }
            next.draft.phone = Some(Phone::parse(phone).map_err(Refusal::Text)?);
            next.step = Step::Privacy;
            Ok((next, Action::Privacy))
        }
        Input::Button(data) => {
            let pressed = Callback::parse(data).ok_or(Refusal::UnknownButton)?;
            button(next, pressed)
        }
    }
}

// Back to the menu, forgetting a booking in progress (the name and contact stay, to be offered
// again would need a question: they are asked anew).
fn menu(mut next: Conversation) -> (Conversation, Action) {
    next.draft = Draft::default();
    if next.town.is_none() {
        next.step = Step::Town;
        return (next, Action::Towns);
    }
    next.step = Step::Menu;
    (next, Action::Menu)
}

fn button(mut next: Conversation, pressed: Callback) -> Result<(Conversation, Action), Refusal> {
    // The language and the menu work from any step; the rest only from the step that showed them.
    match pressed {
        Callback::Lang(lang) => {
            next.lang = lang;
            return Ok(menu(next));
        }
        Callback::Menu => return Ok(menu(next)),
        _ => {}
    }
    let step = next.step.clone();
    if next.town.is_none() && !matches!(pressed, Callback::Town(_)) {
        return Err(Refusal::StaleButton);
    }
    let action = match (step, pressed) {
        (Step::Town, Callback::Town(id)) => {
            next.town = Some(id);
            next.step = Step::Menu;
            Action::TownChosen(id)
        }
        // The menu's buttons stay pressable from any later step: they start over.
        (_, Callback::Book) => {
            next.draft = Draft::default();
            next.step = Step::Office;
            Action::Offices
        }
        (_, Callback::Mine) => {
            next.draft = Draft::default();
            next.step = Step::Mine;
            Action::Mine
        }
        (_, Callback::Ticket) => {
            next.draft = Draft::default();
            next.step = Step::TicketOffice;
            Action::TicketOffices
        }
        (Step::Office, Callback::Office(id)) => {
            next.draft.office = Some(id);
            next.step = Step::Service;
            Action::Services(id)
        }
        (Step::Service, Callback::Service(id)) => {
            next.draft.service = Some(id);
            next.step = Step::Mode;
            Action::Modes(id)
        }
        (Step::Mode, Callback::Mode(mode)) => {
            next.draft.mode = Some(mode);
            next.step = Step::Day;
            Action::Days(next.draft.service.ok_or(Refusal::StaleButton)?)
        }
        (Step::Day, Callback::Day(day)) => {
            next.draft.day = Some(day);
            next.step = Step::Time;
            Action::Times(next.draft.service.ok_or(Refusal::StaleButton)?, day)
        }
        (Step::Time, Callback::Time(start)) => {
            next.draft.start = Some(start);
            next.step = Step::Name;
            Action::TimeChosen(next.draft.service.ok_or(Refusal::StaleButton)?, start)
        }
        (Step::Privacy, Callback::Privacy) => {
            next.draft.privacy = true;
            next.step = Step::Confirm;
            Action::Summary
        }
        (Step::Confirm, Callback::Confirm) if next.draft.ready() => Action::Book,
        (Step::Mine, Callback::Cancel(id)) => {
            next.step = Step::CancelAsked { appointment: id };
            Action::AskCancel(id)
        }
        (Step::CancelAsked { appointment }, Callback::CancelYes(id)) if appointment == id => {
            next.step = Step::Menu;
            Action::Cancel(id)
        }
        (Step::Mine, Callback::Move(id)) => {
            next.step = Step::MoveDay { appointment: id };
            Action::MoveDays(id)
        }
        (Step::MoveDay { appointment }, Callback::Day(day)) => {
            next.step = Step::MoveTime { appointment, day };
            Action::MoveTimes(appointment, day)
        }
        (Step::MoveTime { appointment, .. }, Callback::Time(start)) => {
            next.step = Step::Menu;
            Action::Move(appointment, start)
        }
        (Step::TicketOffice, Callback::TicketOffice(office)) => {
            next.step = Step::TicketName { office };
            Action::TicketName(office)
        }
        _ => return Err(Refusal::StaleButton),
    };
    Ok((next, action))
}

impl Draft {
    /// Whether everything a booking needs is there.
    pub fn ready(&self) -> bool {
        self.office.is_some()
            && self.service.is_some()
            && self.mode.is_some()
            && self.start.is_some()
            && self.name.is_some()
            && (self.email.is_some() || self.phone.is_some())
            && self.privacy
    }
}

impl Conversation {
    /// After a booking: back to the menu with an empty draft.
    pub fn booked(mut self) -> Conversation {
        self.draft = Draft::default();
        self.step = Step::Menu;
        self
    }

    /// After a refused time (taken meanwhile): choose another time of the same service.
    pub fn choose_time_again(mut self) -> Conversation {
        self.draft.start = None;
        self.step = Step::Time;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn press(conv: &Conversation, c: Callback) -> (Conversation, Action) {
        advance(conv, &Input::Button(c.encode())).expect("accepted")
    }

    fn type_text(conv: &Conversation, t: &str) -> (Conversation, Action) {
        advance(conv, &Input::Text(t.into())).expect("accepted")
    }

    #[test]
    fn every_callback_round_trips_within_telegrams_64_bytes() {
        let day = Date::new(2026, 12, 7).expect("date");
        let all = [
            Callback::Lang(Lang::En),
            Callback::Lang(Lang::It),
            Callback::Menu,
            Callback::Book,
            Callback::Mine,
            Callback::Ticket,
            Callback::Town(i64::MAX),
            Callback::Office(7),
            Callback::Service(12),
            Callback::Mode(Mode::InPerson),
            Callback::Day(day),
            Callback::Time(1_796_000_000),
            Callback::Privacy,
            Callback::Confirm,
            Callback::Cancel(3),
            Callback::CancelYes(3),
            Callback::Move(3),
            Callback::TicketOffice(9),
        ];
        for c in all {
            let data = c.encode();
            assert!(data.len() <= MAX_CALLBACK_BYTES, "{data}");
            assert_eq!(Callback::parse(&data), Some(c), "{data}");
        }
    }

    #[test]
    fn forged_or_foreign_callback_data_is_refused() {
        for data in [
            "",
            "1",
            "1o",
            "1o:",
            "1o:-3",
            "1o:+3",
            "1o:03",
            "1o:3x",
            "2o:3",
            "1z:3",
            "1m:x",
            "1d:20261340",
            "1l:fr",
            "1l:EN",
            "1v:fax",
            "1h:99999999999999999999",
            "1o:1\u{0}",
        ] {
            assert_eq!(Callback::parse(data), None, "{data:?}");
        }
        assert_eq!(Callback::parse(&format!("1o:{}", "1".repeat(70))), None);
    }

    #[test]
    fn a_booking_goes_from_office_to_confirmation_and_a_stale_button_changes_nothing() {
        let day = Date::new(2026, 12, 7).expect("date");
        let conv = start(Some("en-GB"), Some(1));
        assert_eq!(conv.lang, Lang::En);
        let (conv, a) = press(&conv, Callback::Book);
        assert_eq!(a, Action::Offices);
        let (conv, a) = press(&conv, Callback::Office(4));
        assert_eq!(a, Action::Services(4));
        // A button of another step, pressed now: refused, the conversation stays.
        assert_eq!(advance(&conv, &Input::Button(Callback::Time(5).encode())), Err(Refusal::StaleButton));
        let (conv, _) = press(&conv, Callback::Service(8));
        let (conv, a) = press(&conv, Callback::Mode(Mode::Video));
        assert_eq!(a, Action::Days(8));
        let (conv, a) = press(&conv, Callback::Day(day));
        assert_eq!(a, Action::Times(8, day));
        let (conv, a) = press(&conv, Callback::Time(1_796_000_000));
        assert_eq!(a, Action::TimeChosen(8, 1_796_000_000));
        assert_eq!(advance(&conv, &Input::Text("\u{7}".into())), Err(Refusal::Text(TextError::InvalidCharacters)));
        let (conv, a) = type_text(&conv, "Anna Rossi");
        assert_eq!(a, Action::AskContact);
        let not_own = Input::Contact { phone: "+39 333 1234567".into(), own: false };
        assert_eq!(advance(&conv, &not_own), Err(Refusal::NotOwnContact));
        let (conv, a) = advance(&conv, &Input::Contact { phone: "+39 333 1234567".into(), own: true }).expect("ok");
        assert_eq!(a, Action::Privacy);
        // Confirming before reading the notice is a stale button.
        assert_eq!(advance(&conv, &Input::Button(Callback::Confirm.encode())), Err(Refusal::StaleButton));
        let (conv, a) = press(&conv, Callback::Privacy);
        assert_eq!(a, Action::Summary);
        let (conv, a) = press(&conv, Callback::Confirm);
        assert_eq!(a, Action::Book);
        assert!(conv.draft.ready());
        assert_eq!(conv.booked().step, Step::Menu);
    }

    #[test]
    fn cancelling_asks_first_and_only_the_asked_appointment_is_cancelled() {
        let conv = start(None, Some(1));
        assert_eq!(conv.lang, Lang::It);
        let (conv, a) = press(&conv, Callback::Mine);
        assert_eq!(a, Action::Mine);
        assert_eq!(advance(&conv, &Input::Button(Callback::CancelYes(5).encode())), Err(Refusal::StaleButton));
        let (conv, a) = press(&conv, Callback::Cancel(5));
        assert_eq!(a, Action::AskCancel(5));
        assert_eq!(advance(&conv, &Input::Button(Callback::CancelYes(6).encode())), Err(Refusal::StaleButton));
        assert_eq!(press(&conv, Callback::CancelYes(5)).1, Action::Cancel(5));
    }

    #[test]
    fn an_instance_bot_asks_the_town_first_and_the_language_switches_anywhere() {
        let conv = start(Some("fr"), None);
        assert_eq!(conv.step, Step::Town);
        assert_eq!(advance(&conv, &Input::Button(Callback::Book.encode())), Err(Refusal::StaleButton));
        let (conv, a) = press(&conv, Callback::Lang(Lang::En));
        assert_eq!((conv.lang, a), (Lang::En, Action::Towns));
        let (conv, a) = press(&conv, Callback::Town(2));
        assert_eq!((conv.town, a), (Some(2), Action::TownChosen(2)));
        let (conv, _) = press(&conv, Callback::Ticket);
        let (_, a) = press(&conv, Callback::TicketOffice(3));
        assert_eq!(a, Action::TicketName(3));
    }

    fn any_input() -> impl Strategy<Value = Input> {
        prop_oneof![
            any::<String>().prop_map(Input::Text),
            any::<String>().prop_map(Input::Button),
            "[1][a-z]:[0-9a-z_]{0,12}".prop_map(Input::Button),
            (any::<String>(), any::<bool>()).prop_map(|(phone, own)| Input::Contact { phone, own }),
        ]
    }

    proptest! {
        #[test]
        fn no_input_sequence_panics_and_a_refusal_changes_nothing(
            inputs in proptest::collection::vec(any_input(), 0..30),
            town in proptest::option::of(1i64..4),
        ) {
            let mut conv = start(None, town);
            for input in &inputs {
                // A refusal returns no conversation: the stored one stays as it was.
                if let Ok((next, _)) = advance(&conv, input) {
                    // Every state survives its round trip through storage.
                    let stored = serde_json::to_string(&next).expect("json");
                    let back: Conversation = serde_json::from_str(&stored).expect("back");
                    prop_assert_eq!(&back, &next);
                    conv = next;
                }
                let _ = texts::step_hint(&conv);
            }
        }

        #[test]
        fn callback_parsing_never_panics(data in any::<String>()) {
            if let Some(c) = Callback::parse(&data) {
                prop_assert_eq!(Callback::parse(&c.encode()), Some(c));
            }
        }
    }
}
