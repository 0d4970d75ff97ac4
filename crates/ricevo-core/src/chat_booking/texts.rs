//! What the bot says, in Italian and English, with its buttons.

use jiff::Zoned;
use jiff::civil::Date;

use super::{Callback, Conversation, Refusal, Step};
use crate::{Lang, Mode};

/// One button: its label and what it says when pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// The label.
    pub label: String,
    /// The callback data.
    pub data: Callback,
}

/// The keyboard under a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Keyboard {
    /// No keyboard.
    #[default]
    None,
    /// Buttons under the message, in rows.
    Inline(Vec<Vec<Button>>),
    /// Telegram's own button that shares the citizen's phone number (a reply keyboard).
    ShareContact(String),
}

/// A message to send to the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The text (plain, no markup).
    pub text: String,
    /// The buttons.
    pub keyboard: Keyboard,
}

/// Why the desk could not do what the citizen asked, to be said in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The chosen thing is not (or no longer) offered here.
    NotOffered,
    /// The time was taken or is no longer bookable; free times near it follow as buttons.
    TimeGone,
    /// No free time in the coming weeks.
    NoFreeTime,
    /// The appointment is cancelled or over.
    NotActive,
    /// The citizen holds the most appointments allowed for the service.
    CitizenLimit(u16),
    /// Too many bookings or tickets from this chat in the last hour.
    TooMany,
    /// The walk-in desk is closed now.
    WalkInClosed,
    /// A detail was refused; the message says which and why.
    Detail(String),
    /// Something failed on our side; try again later.
    Failure,
}

fn tr(lang: Lang, it: &str, en: &str) -> String {
    match lang {
        Lang::It => it.to_owned(),
        Lang::En => en.to_owned(),
    }
}

fn button(label: impl Into<String>, data: Callback) -> Button {
    Button { label: label.into(), data }
}

fn menu_button(lang: Lang) -> Button {
    button(tr(lang, "↩ Menu", "↩ Menu"), Callback::Menu)
}

fn with_menu(lang: Lang, mut rows: Vec<Vec<Button>>) -> Keyboard {
    rows.push(vec![menu_button(lang)]);
    Keyboard::Inline(rows)
}

/// A day as said mid-sentence: "lunedì 7 dicembre", "Monday 7 December".
pub fn day_words(lang: Lang, day: Date) -> String {
    format!("{} {} {}", lang.weekday(day.weekday()), day.day(), lang.month(day.month()))
}

/// A local time as said mid-sentence: "lunedì 7 dicembre, 09:30".
pub fn when_words(lang: Lang, when: &Zoned) -> String {
    format!("{}, {:02}:{:02}", day_words(lang, when.date()), when.hour(), when.minute())
}

/// The mode's name.
pub fn mode_words(lang: Lang, mode: Mode) -> String {
    match mode {
        Mode::Video => tr(lang, "In video", "By video"),
        Mode::InPerson => tr(lang, "In presenza", "In person"),
        Mode::Phone => tr(lang, "Al telefono", "By phone"),
    }
}

/// The main menu of a town.
pub fn menu(lang: Lang, town: &str) -> Reply {
    let other = match lang {
        Lang::It => button("English", Callback::Lang(Lang::En)),
        Lang::En => button("Italiano", Callback::Lang(Lang::It)),
    };
    Reply {
        text: match lang {
            Lang::It => format!("{town}: che cosa vuoi fare?"),
            Lang::En => format!("{town}: what would you like to do?"),
        },
        keyboard: Keyboard::Inline(vec![
            vec![button(tr(lang, "📅 Prenota un appuntamento", "📅 Book an appointment"), Callback::Book)],
            vec![button(tr(lang, "🗂 I miei appuntamenti", "🗂 My appointments"), Callback::Mine)],
            vec![button(tr(lang, "🎫 Prendi un numero", "🎫 Take a ticket"), Callback::Ticket)],
            vec![other],
        ]),
    }
}

/// The towns an instance-wide bot serves.
pub fn towns(lang: Lang, towns: &[(i64, String)]) -> Reply {
    let other = match lang {
        Lang::It => button("English", Callback::Lang(Lang::En)),
        Lang::En => button("Italiano", Callback::Lang(Lang::It)),
    };
    let mut rows: Vec<Vec<Button>> = towns.iter().map(|(id, name)| vec![button(name, Callback::Town(*id))]).collect();
    rows.push(vec![other]);
    Reply { text: tr(lang, "Scegli il tuo Comune.", "Choose your town."), keyboard: Keyboard::Inline(rows) }
}

fn list(lang: Lang, it: &str, en: &str, items: Vec<Button>, empty_it: &str, empty_en: &str) -> Reply {
    if items.is_empty() {
        return Reply { text: tr(lang, empty_it, empty_en), keyboard: with_menu(lang, Vec::new()) };
    }
    Reply { text: tr(lang, it, en), keyboard: with_menu(lang, items.into_iter().map(|b| vec![b]).collect()) }
}

/// The offices that take bookings.
pub fn offices(lang: Lang, offices: &[(i64, String)]) -> Reply {
    let items = offices.iter().map(|(id, name)| button(name, Callback::Office(*id))).collect();
    list(
        lang,
        "Scegli l'ufficio.",
        "Choose the office.",
        items,
        "Nessun ufficio prenotabile.",
        "No office takes bookings.",
    )
}

/// The services of an office.
pub fn services(lang: Lang, services: &[(i64, String)]) -> Reply {
    let items = services.iter().map(|(id, name)| button(name, Callback::Service(*id))).collect();
    list(
        lang,
        "Scegli il servizio.",
        "Choose the service.",
        items,
        "Questo ufficio non ha servizi prenotabili.",
        "This office has no bookable service.",
    )
}

/// How to meet.
pub fn modes(lang: Lang, modes: &[Mode]) -> Reply {
    let items = modes.iter().map(|m| button(mode_words(lang, *m), Callback::Mode(*m))).collect();
    list(lang, "Come preferisci incontrare l'ufficio?", "How would you like to meet the office?", items, "", "")
}

/// The days with free time.
pub fn days(lang: Lang, days: &[Date]) -> Reply {
    let items = days.iter().map(|d| button(day_words(lang, *d), Callback::Day(*d))).collect();
    list(
        lang,
        "Scegli il giorno.",
        "Choose the day.",
        items,
        "Non ci sono orari liberi nelle prossime settimane.",
        "There is no free time in the coming weeks.",
    )
}

/// The free times of a day (or, after a refusal, near the wanted time), three to a row.
pub fn times(lang: Lang, times: &[Zoned]) -> Reply {
    if times.is_empty() {
        return Reply {
            text: tr(lang, "Non ci sono più orari liberi in quel giorno.", "There is no free time left that day."),
            keyboard: with_menu(lang, Vec::new()),
        };
    }
    let buttons: Vec<Button> = times
        .iter()
        .map(|z| {
            let label = if times.iter().all(|o| o.date() == z.date()) {
                format!("{:02}:{:02}", z.hour(), z.minute())
            } else {
                when_words(lang, z)
            };
            button(label, Callback::Time(z.timestamp().as_second()))
        })
        .collect();
    let rows = buttons.chunks(3).map(<[Button]>::to_vec).collect();
    Reply { text: tr(lang, "Scegli l'orario.", "Choose the time."), keyboard: with_menu(lang, rows) }
}

/// Ask the name (for a booking or a ticket).
pub fn ask_name(lang: Lang) -> Reply {
    Reply {
        text: tr(lang, "Scrivi il tuo nome e cognome.", "Type your first and last name."),
        keyboard: with_menu(lang, Vec::new()),
    }
}

/// Ask an e-mail or a phone number, with the button that shares the phone number.
pub fn ask_contact(lang: Lang) -> Reply {
    Reply {
        text: tr(
            lang,
            "Scrivi un indirizzo e-mail o un numero di telefono, oppure condividi il tuo numero con il pulsante qui sotto.",
            "Type an e-mail address or a phone number, or share your number with the button below.",
        ),
        keyboard: Keyboard::ShareContact(tr(lang, "📱 Condividi il mio numero", "📱 Share my number")),
    }
}

/// The privacy notice's link, with the button that says it was read.
pub fn privacy(lang: Lang, url: &str) -> Reply {
    Reply {
        text: match lang {
            Lang::It => format!("Prima di confermare leggi l'informativa sul trattamento dei dati personali: {url}"),
            Lang::En => format!("Before confirming, read the privacy notice: {url}"),
        },
        keyboard: with_menu(
            lang,
            vec![vec![button(tr(lang, "✅ Ho letto l'informativa", "✅ I have read the notice"), Callback::Privacy)]],
        ),
    }
}

/// The summary of the booking, to confirm.
pub fn summary(lang: Lang, service: &str, office: &str, mode: Mode, when: &Zoned, name: &str, contact: &str) -> Reply {
    let mode = mode_words(lang, mode);
    let when = when_words(lang, when);
    Reply {
        text: match lang {
            Lang::It => format!("Confermi?\n{service} ({office})\n{when}\n{mode}\n{name}, {contact}"),
            Lang::En => format!("Confirm?\n{service} ({office})\n{when}\n{mode}\n{name}, {contact}"),
        },
        keyboard: with_menu(lang, vec![vec![button(tr(lang, "✅ Conferma", "✅ Confirm"), Callback::Confirm)]]),
    }
}

/// The booking is stored.
pub fn booked(lang: Lang, reference: &str, service: &str, when: &Zoned, manage_url: &str) -> Reply {
    let when = when_words(lang, when);
    Reply {
        text: match lang {
            Lang::It => format!(
                "Prenotato: {service}, {when}. Codice {reference}. Riceverai qui la conferma e il promemoria. Per gestirlo: {manage_url}"
            ),
            Lang::En => format!(
                "Booked: {service}, {when}. Reference {reference}. The confirmation and the reminder will come here. To manage it: {manage_url}"
            ),
        },
        keyboard: with_menu(lang, Vec::new()),
    }
}

/// One of the chat's appointments, as listed.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The appointment's id (for the buttons).
    pub id: i64,
    /// Its reference code.
    pub reference: String,
    /// The service's name.
    pub service: String,
    /// When.
    pub when: Zoned,
}

/// The chat's coming appointments, each with cancel and move buttons.
pub fn mine(lang: Lang, appointments: &[Listed]) -> Reply {
    if appointments.is_empty() {
        return Reply {
            text: tr(
                lang,
                "Non hai appuntamenti prenotati da questa chat.",
                "You have no appointments booked from this chat.",
            ),
            keyboard: with_menu(lang, Vec::new()),
        };
    }
    let mut text = tr(lang, "I tuoi appuntamenti:", "Your appointments:");
    let mut rows = Vec::new();
    for a in appointments {
        text.push_str(&format!("\n• {} — {} ({})", a.service, when_words(lang, &a.when), a.reference));
        rows.push(vec![
            button(format!("❌ {}", a.reference), Callback::Cancel(a.id)),
            button(format!("🔁 {}", a.reference), Callback::Move(a.id)),
        ]);
    }
    text.push_str(&tr(lang, "\n❌ disdici, 🔁 sposta.", "\n❌ cancel, 🔁 move."));
    Reply { text, keyboard: with_menu(lang, rows) }
}

/// Ask whether to cancel.
pub fn ask_cancel(lang: Lang, a: &Listed) -> Reply {
    let when = when_words(lang, &a.when);
    Reply {
        text: match lang {
            Lang::It => format!("Vuoi disdire {} di {when}?", a.service),
            Lang::En => format!("Cancel {} on {when}?", a.service),
        },
        keyboard: with_menu(
            lang,
            vec![vec![button(tr(lang, "Sì, disdici", "Yes, cancel"), Callback::CancelYes(a.id))]],
        ),
    }
}

/// The appointment is cancelled.
pub fn cancelled(lang: Lang, a: &Listed) -> Reply {
    Reply {
        text: match lang {
            Lang::It => format!("Appuntamento {} disdetto.", a.reference),
            Lang::En => format!("Appointment {} cancelled.", a.reference),
        },
        keyboard: with_menu(lang, Vec::new()),
    }
}

/// The appointment is moved.
pub fn moved(lang: Lang, reference: &str, when: &Zoned) -> Reply {
    let when = when_words(lang, when);
    Reply {
        text: match lang {
            Lang::It => format!("Appuntamento {reference} spostato a {when}."),
            Lang::En => format!("Appointment {reference} moved to {when}."),
        },
        keyboard: with_menu(lang, Vec::new()),
    }
}

/// The offices whose walk-in desk is open now.
pub fn ticket_offices(lang: Lang, offices: &[(i64, String)]) -> Reply {
    let items = offices.iter().map(|(id, name)| button(name, Callback::TicketOffice(*id))).collect();
    list(
        lang,
        "In quale ufficio vuoi prendere il numero?",
        "At which office do you want a ticket?",
        items,
        "Nessuno sportello senza appuntamento è aperto ora.",
        "No walk-in desk is open now.",
    )
}

/// The ticket is taken.
pub fn ticket(lang: Lang, number: i32, office: &str, join_url: &str) -> Reply {
    Reply {
        text: match lang {
            Lang::It => format!(
                "Il tuo numero: {number} ({office}). Entra in sala d'attesa da qui: {join_url} — ti scriveremo quando tocca quasi a te."
            ),
            Lang::En => format!(
                "Your number: {number} ({office}). Enter the waiting room here: {join_url} — we will write when your turn is near."
            ),
        },
        keyboard: with_menu(lang, Vec::new()),
    }
}

/// A refused input, in words, with a way back.
pub fn refusal(lang: Lang, r: Refusal) -> Reply {
    let text = match r {
        Refusal::UnknownButton => tr(lang, "Questo pulsante non è valido.", "This button is not valid."),
        Refusal::StaleButton => tr(
            lang,
            "Questo pulsante non vale più: riparti dal menu.",
            "This button no longer applies: start again from the menu.",
        ),
        Refusal::UseButtons => tr(lang, "Usa i pulsanti, per favore.", "Please use the buttons."),
        Refusal::TooLong => tr(lang, "Il messaggio è troppo lungo.", "The message is too long."),
        Refusal::Text(e) => e.message(lang).to_owned(),
        Refusal::NotOwnContact => {
            tr(lang, "Condividi il tuo numero, non quello di un altro.", "Share your own number, not someone else's.")
        }
    };
    Reply { text, keyboard: with_menu(lang, Vec::new()) }
}

/// What the desk refused, in words, with a way back.
pub fn problem(lang: Lang, p: &Problem) -> Reply {
    let text = match p {
        Problem::NotOffered => tr(lang, "Questa scelta non è più disponibile.", "This choice is no longer available."),
        Problem::TimeGone => tr(
            lang,
            "Questo orario non è più libero. Ecco gli orari liberi più vicini.",
            "This time is no longer free. Here are the nearest free times.",
        ),
        Problem::NoFreeTime => {
            tr(lang, "Non ci sono orari liberi nelle prossime settimane.", "There is no free time in the coming weeks.")
        }
        Problem::NotActive => {
            tr(lang, "Questo appuntamento è già disdetto o concluso.", "This appointment is already cancelled or over.")
        }
        Problem::CitizenLimit(n) => match lang {
            Lang::It => {
                format!("Hai già {n} appuntamenti attivi per questo servizio: disdicine uno per prenotarne un altro.")
            }
            Lang::En => {
                format!("You already hold {n} active appointments for this service: cancel one to book another.")
            }
        },
        Problem::TooMany => tr(
            lang,
            "Troppe richieste da questa chat nell'ultima ora: riprova più tardi.",
            "Too many requests from this chat in the last hour: try again later.",
        ),
        Problem::WalkInClosed => {
            tr(lang, "Lo sportello senza appuntamento è chiuso ora.", "The walk-in desk is closed now.")
        }
        Problem::Detail(message) => message.clone(),
        Problem::Failure => tr(
            lang,
            "Qualcosa non ha funzionato da parte nostra: riprova tra poco.",
            "Something went wrong on our side: try again shortly.",
        ),
    };
    Reply { text, keyboard: with_menu(lang, Vec::new()) }
}

/// What the citizen is expected to do at this step (after a refusal, or a text out of place).
pub fn step_hint(conv: &Conversation) -> Reply {
    match conv.step {
        Step::Name | Step::TicketName { .. } => ask_name(conv.lang),
        Step::Contact => ask_contact(conv.lang),
        _ => refusal(conv.lang, Refusal::UseButtons),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_is_said_in_both_languages() {
        let when = jiff::civil::date(2026, 12, 7).at(9, 30, 0, 0).in_tz("Europe/Rome").expect("zoned");
        let it = booked(Lang::It, "K7M-4QP", "Anagrafe", &when, "http://x/a");
        let en = booked(Lang::En, "K7M-4QP", "Anagrafe", &when, "http://x/a");
        assert!(it.text.contains("lunedì 7 dicembre, 09:30"), "{}", it.text);
        assert!(en.text.contains("Monday 7 December, 09:30"), "{}", en.text);
        assert_ne!(menu(Lang::It, "Demo").text, menu(Lang::En, "Demo").text);
        let Keyboard::Inline(rows) = menu(Lang::It, "Demo").keyboard else { panic!("inline") };
        assert!(rows.iter().flatten().any(|b| b.data == Callback::Lang(Lang::En)));
        assert!(matches!(ask_contact(Lang::En).keyboard, Keyboard::ShareContact(_)));
    }
}
