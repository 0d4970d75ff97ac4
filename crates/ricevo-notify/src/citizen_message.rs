//! One thing to tell a citizen, in the forms every channel needs: a subject, a short text for
//! SMS and chat (aimed at one 160-character GSM-7 message, ending with the link) and a long
//! text for e-mail and App IO (markdown, 80 to 10,000 characters, App IO's rule), in Italian or
//! English. Rendered when the event happens and stored in the outbox as it is.

use jiff::{Timestamp, Zoned};
use ricevo_core::Lang;
use ricevo_core::channel::{gsm7_septets, to_gsm7};
use serde::{Deserialize, Serialize};

use crate::AppointmentNotice;
use crate::email::{OutgoingEmail, human_datetime, mailbox, message_id, one_line};

/// App IO's shortest subject.
pub const SUBJECT_MIN: usize = 10;
/// App IO's longest subject.
pub const SUBJECT_MAX: usize = 120;
/// App IO's shortest markdown body.
pub const MARKDOWN_MIN: usize = 80;
/// App IO's longest markdown body.
pub const MARKDOWN_MAX: usize = 10_000;
/// One GSM-7 text message.
pub const SMS_SEPTETS: usize = 160;

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// An appointment was booked.
    Confirmation,
    /// An appointment got a new time or place.
    Moved,
    /// An appointment was cancelled.
    Cancelled,
    /// An appointment is coming soon.
    Reminder,
    /// A walk-in ticket's turn is near.
    TurnNear,
    /// After a contact: how did it go?
    FeedbackRequest,
    /// A freed time is offered to a citizen on the waitlist.
    WaitlistOffer,
}

impl MessageKind {
    /// A stable name, used in dedupe keys.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Confirmation => "confirmation",
            MessageKind::Moved => "moved",
            MessageKind::Cancelled => "cancelled",
            MessageKind::Reminder => "reminder",
            MessageKind::TurnNear => "turn_near",
            MessageKind::FeedbackRequest => "feedback_request",
            MessageKind::WaitlistOffer => "waitlist_offer",
        }
    }
}

/// One message for a citizen, in every form a channel needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitizenMessage {
    /// What it is about.
    pub kind: MessageKind,
    /// The citizen's language.
    pub lang: Lang,
    /// The town, which signs it.
    pub town: String,
    /// The subject: 10 to 120 characters (App IO's rule; e-mail uses it too).
    pub subject: String,
    /// The text for SMS and chat: one GSM-7 message where possible, ending with the link.
    pub short: String,
    /// The text for e-mail and App IO: markdown, 80 to 10,000 characters.
    pub long: String,
    /// When the thing it is about happens (App IO shows it as a due date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<Timestamp>,
    /// Where the citizen acts on it (manage the appointment, confirm the offer...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// A date and time short enough for a text message: "lun 7/12 09:00" or "Mon 7/12 09:00".
pub fn short_datetime(lang: Lang, at: &Zoned) -> String {
    let weekday: String = lang.weekday(at.weekday()).chars().take(3).collect();
    format!("{weekday} {}/{} {}", at.day(), at.month(), at.strftime("%H:%M"))
}

impl CitizenMessage {
    /// Builds a message, holding every form to its channel's rules.
    #[allow(clippy::too_many_arguments)]
    fn build(
        kind: MessageKind,
        lang: Lang,
        town: &str,
        subject: &str,
        short_head: &str,
        long: &str,
        due_date: Option<Timestamp>,
        link: Option<String>,
    ) -> CitizenMessage {
        let link = link.filter(|l| !l.is_empty());
        let short = fit_short(&format!("{town}: {short_head}"), link.as_deref());
        CitizenMessage {
            kind,
            lang,
            town: town.to_owned(),
            subject: fit_subject(subject, lang),
            short,
            long: fit_markdown(long, town, lang),
            due_date,
            link,
        }
    }

    /// The appointment was booked.
    pub fn confirmation(n: &AppointmentNotice) -> CitizenMessage {
        let (subject, head) = match n.lang {
            Lang::It => (
                format!("Appuntamento confermato: {}", n.service_name),
                format!("appuntamento confermato {} {}.", short_datetime(n.lang, &n.start), n.office_name),
            ),
            Lang::En => (
                format!("Appointment confirmed: {}", n.service_name),
                format!("appointment confirmed {} {}.", short_datetime(n.lang, &n.start), n.office_name),
            ),
        };
        Self::appointment(MessageKind::Confirmation, n, &subject, &head)
    }

    /// The appointment got a new time or place.
    pub fn moved(n: &AppointmentNotice) -> CitizenMessage {
        let (subject, head) = match n.lang {
            Lang::It => (
                format!("Appuntamento spostato: {}", n.service_name),
                format!("appuntamento spostato a {} {}.", short_datetime(n.lang, &n.start), n.office_name),
            ),
            Lang::En => (
                format!("Appointment moved: {}", n.service_name),
                format!("appointment moved to {} {}.", short_datetime(n.lang, &n.start), n.office_name),
            ),
        };
        Self::appointment(MessageKind::Moved, n, &subject, &head)
    }

    /// The appointment was cancelled.
    pub fn cancelled(n: &AppointmentNotice) -> CitizenMessage {
        let (subject, head) = match n.lang {
            Lang::It => (
                format!("Appuntamento annullato: {}", n.service_name),
                format!("appuntamento del {} annullato.", short_datetime(n.lang, &n.start)),
            ),
            Lang::En => (
                format!("Appointment cancelled: {}", n.service_name),
                format!("appointment of {} cancelled.", short_datetime(n.lang, &n.start)),
            ),
        };
        let mut m = Self::appointment(MessageKind::Cancelled, n, &subject, &head);
        // Nothing is due any more; the link books again when there is one.
        m.due_date = None;
        m
    }

    /// The appointment is coming soon.
    pub fn reminder(n: &AppointmentNotice) -> CitizenMessage {
        let (subject, head) = match n.lang {
            Lang::It => (
                format!("Promemoria: {}", n.service_name),
                format!("ti aspettiamo {} {}.", short_datetime(n.lang, &n.start), n.office_name),
            ),
            Lang::En => (
                format!("Reminder: {}", n.service_name),
                format!("see you {} {}.", short_datetime(n.lang, &n.start), n.office_name),
            ),
        };
        Self::appointment(MessageKind::Reminder, n, &subject, &head)
    }

    fn appointment(kind: MessageKind, n: &AppointmentNotice, subject: &str, head: &str) -> CitizenMessage {
        let lang = n.lang;
        let when = human_datetime(lang, &n.start);
        let mut long = String::new();
        let (intro, l_when, l_office, l_service, l_ref, l_reason, l_bring, l_manage, l_join) = match lang {
            Lang::It => (
                format!("Ciao {},", n.citizen_name),
                "Quando",
                "Ufficio",
                "Servizio",
                "Codice",
                "Motivo",
                "Cosa portare",
                "Vedi, sposta o annulla l'appuntamento",
                "Entra nella videochiamata",
            ),
            Lang::En => (
                format!("Hello {},", n.citizen_name),
                "When",
                "Office",
                "Service",
                "Reference",
                "Reason",
                "What to bring",
                "See, move or cancel the appointment",
                "Join the video call",
            ),
        };
        let what = match (kind, lang) {
            (MessageKind::Confirmation, Lang::It) => "il tuo appuntamento è confermato.",
            (MessageKind::Moved, Lang::It) => "il tuo appuntamento ha un nuovo orario.",
            (MessageKind::Cancelled, Lang::It) => "il tuo appuntamento è stato annullato.",
            (MessageKind::Reminder, Lang::It) => "ti ricordiamo il tuo appuntamento.",
            (MessageKind::Confirmation, Lang::En) => "your appointment is confirmed.",
            (MessageKind::Moved, Lang::En) => "your appointment has a new time.",
            (MessageKind::Cancelled, Lang::En) => "your appointment has been cancelled.",
            (_, Lang::En) => "this is a reminder of your appointment.",
            (_, Lang::It) => "ti ricordiamo il tuo appuntamento.",
        };
        long.push_str(&format!("{intro} {what}\n\n"));
        long.push_str(&format!("- **{l_when}:** {when}\n"));
        long.push_str(&format!("- **{l_office}:** {}", n.office_name));
        if !n.office_address.is_empty() && n.mode == ricevo_core::Mode::InPerson {
            long.push_str(&format!(", {}", n.office_address));
        }
        long.push('\n');
        long.push_str(&format!("- **{l_service}:** {}\n", n.service_name));
        if !n.reference.is_empty() {
            long.push_str(&format!("- **{l_ref}:** {}\n", n.reference));
        }
        if let Some(reason) = &n.reason {
            long.push_str(&format!("- **{l_reason}:** {reason}\n"));
        }
        if kind != MessageKind::Cancelled && !n.what_to_bring.trim().is_empty() {
            long.push_str(&format!("\n**{l_bring}:**\n"));
            for line in n.what_to_bring.lines().filter(|l| !l.trim().is_empty()) {
                long.push_str(&format!("- {}\n", line.trim()));
            }
        }
        let link = if kind == MessageKind::Cancelled {
            n.rebook_url.clone().unwrap_or_else(|| n.manage_url.clone())
        } else {
            n.manage_url.clone()
        };
        if kind == MessageKind::Cancelled {
            let again = match lang {
                Lang::It => "Prenota di nuovo",
                Lang::En => "Book again",
            };
            if let Some(url) = &n.rebook_url {
                long.push_str(&format!("\n[{again}]({url})\n"));
            }
        } else {
            if let Some(join) = &n.join_url {
                long.push_str(&format!("\n[{l_join}]({join})\n"));
            }
            long.push_str(&format!("\n[{l_manage}]({})\n", n.manage_url));
        }
        Self::build(kind, lang, &n.tenant_name, subject, head, &long, Some(n.start.timestamp()), Some(link))
    }

    /// A walk-in ticket's turn is near: `ahead` people are still before it.
    pub fn turn_near(
        lang: Lang,
        town: &str,
        office: &str,
        ticket_number: i32,
        ahead: u32,
        link: &str,
    ) -> CitizenMessage {
        let people = match (lang, ahead) {
            (Lang::It, 1) => "c'è una persona".to_owned(),
            (Lang::It, n) => format!("ci sono {n} persone"),
            (Lang::En, 1) => "one person is".to_owned(),
            (Lang::En, n) => format!("{n} people are"),
        };
        let (subject, head, long) = match lang {
            Lang::It => (
                format!("Tocca quasi a te: numero {ticket_number}"),
                format!("numero {ticket_number}, {office}: tocca quasi a te ({ahead} prima di te)."),
                format!(
                    "Ciao, il tuo numero **{ticket_number}** all'ufficio **{office}** sta per essere chiamato: \
                     prima di te {people}.\n\nAvvicinati allo sportello o apri la sala d'attesa:\n\n[Sala d'attesa]({link})\n"
                ),
            ),
            Lang::En => (
                format!("Your turn is near: number {ticket_number}"),
                format!("number {ticket_number}, {office}: your turn is near ({ahead} before you)."),
                format!(
                    "Hello, your number **{ticket_number}** at **{office}** is about to be called: \
                     {people} before you.\n\nCome to the desk or open the waiting room:\n\n[Waiting room]({link})\n"
                ),
            ),
        };
        Self::build(MessageKind::TurnNear, lang, town, &subject, &head, &long, None, Some(link.to_owned()))
    }

    /// After a contact with `office`: the link to the short questionnaire.
    pub fn feedback_request(lang: Lang, town: &str, office: &str, link: &str) -> CitizenMessage {
        let (subject, head, long) = match lang {
            Lang::It => (
                "Com'è andata? Dacci il tuo parere".to_owned(),
                format!("com'è andata con {office}? Rispondi in un minuto."),
                format!(
                    "Ciao, grazie per aver incontrato l'ufficio **{office}**.\n\nCi aiuti a migliorare? \
                     Bastano un minuto e poche domande, le risposte sono anonime.\n\n[Rispondi]({link})\n"
                ),
            ),
            Lang::En => (
                "How did it go? Tell us".to_owned(),
                format!("how did it go with {office}? Answer in a minute."),
                format!(
                    "Hello, thank you for meeting **{office}**.\n\nWill you help us improve? \
                     It takes a minute and a few questions; answers are anonymous.\n\n[Answer]({link})\n"
                ),
            ),
        };
        Self::build(MessageKind::FeedbackRequest, lang, town, &subject, &head, &long, None, Some(link.to_owned()))
    }

    /// A freed time of `service` at `when` is held for the citizen for `minutes_held` minutes:
    /// the first to confirm through `link` gets it.
    pub fn waitlist_offer(
        lang: Lang,
        town: &str,
        service: &str,
        when: &Zoned,
        link: &str,
        minutes_held: u32,
    ) -> CitizenMessage {
        let (short_when, long_when) = (short_datetime(lang, when), human_datetime(lang, when));
        let (subject, head, long) = match lang {
            Lang::It => (
                format!("Si è liberato un posto: {service}"),
                format!("posto libero {short_when} per {service}. Conferma entro {minutes_held} min."),
                format!(
                    "Ciao, si è liberato un posto per **{service}**: **{long_when}**.\n\n\
                     Te lo teniamo per {minutes_held} minuti: se lo vuoi, confermalo subito. \
                     Lo abbiamo offerto anche ad altre persone in lista: lo ottiene chi conferma per primo.\n\n\
                     [Conferma il posto]({link})\n"
                ),
            ),
            Lang::En => (
                format!("A time has become free: {service}"),
                format!("free time {short_when} for {service}. Confirm within {minutes_held} min."),
                format!(
                    "Hello, a time has become free for **{service}**: **{long_when}**.\n\n\
                     We hold it for you for {minutes_held} minutes: if you want it, confirm now. \
                     Others on the list may have been offered it too: the first to confirm gets it.\n\n\
                     [Confirm the time]({link})\n"
                ),
            ),
        };
        Self::build(
            MessageKind::WaitlistOffer,
            lang,
            town,
            &subject,
            &head,
            &long,
            Some(when.timestamp()),
            Some(link.to_owned()),
        )
    }
}

/// The e-mail of a message's long form, to `to_name <to_email>`, from the town (`town_email`
/// for replies) through `from_address`; `uid` names the event for good (its Message-ID).
pub fn render_email(
    m: &CitizenMessage,
    to_name: &str,
    to_email: &str,
    town_email: &str,
    from_address: &str,
    uid: &str,
) -> OutgoingEmail {
    let mut html = String::from("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>");
    for paragraph in m.long.split("\n\n") {
        html.push_str("<p>");
        html.push_str(&escape(paragraph).replace('\n', "<br>"));
        html.push_str("</p>");
    }
    html.push_str("</body></html>");
    OutgoingEmail {
        to: mailbox(to_name, to_email),
        from: mailbox(&m.town, from_address),
        reply_to: mailbox(&m.town, town_email),
        subject: one_line(&m.subject),
        text: m.long.clone(),
        html,
        ics: None,
        ics_method: None,
        message_id: message_id(uid, m.kind.as_str(), 0, from_address),
        list_unsubscribe: None,
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A subject of 10 to 120 characters on one line.
fn fit_subject(subject: &str, lang: Lang) -> String {
    let one_line: String = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut s = cut(&one_line, SUBJECT_MAX);
    if s.chars().count() < SUBJECT_MIN {
        s = match lang {
            Lang::It => format!("Messaggio: {s}"),
            Lang::En => format!("Message: {s}"),
        };
    }
    s
}

/// A markdown body of 80 to 10,000 characters: signed by the town, cut if it is too long.
fn fit_markdown(long: &str, town: &str, lang: Lang) -> String {
    let signature = match lang {
        Lang::It => format!("\n---\n{town}. Questo messaggio è inviato automaticamente, non rispondere."),
        Lang::En => format!("\n---\n{town}. This message is sent automatically, do not reply."),
    };
    let sig_len = signature.chars().count();
    let mut body = cut(long.trim_end(), MARKDOWN_MAX - sig_len - 1);
    body.push('\n');
    body.push_str(&signature);
    while body.chars().count() < MARKDOWN_MIN {
        body.push(' ');
    }
    body
}

/// At most `max` characters; a cut text ends with an ellipsis.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The short form: the head in GSM-7 where a stand-in exists, shortened so that head and link
/// fit one 160-septet message; the link is never cut.
fn fit_short(head: &str, link: Option<&str>) -> String {
    let head = to_gsm7(head.trim());
    let link_len = link.map_or(0, |l| l.chars().count() + 1);
    let budget = SMS_SEPTETS.saturating_sub(link_len);
    let head = if gsm7_septets(&head).unwrap_or(usize::MAX) <= budget || head.chars().count() <= budget.min(60) {
        head
    } else {
        // Cut by characters until the septets fit, ending with "...".
        let mut kept: String = String::new();
        for c in head.chars() {
            let candidate = format!("{kept}{c}...");
            if gsm7_septets(&candidate).unwrap_or(candidate.chars().count()) > budget {
                break;
            }
            kept.push(c);
        }
        format!("{}...", kept.trim_end())
    };
    match link {
        Some(l) => format!("{head} {l}"),
        None => head,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::appointment::tests::sample;
    use ricevo_core::Mode;
    use ricevo_core::channel::{SmsEncoding, sms_encoding, sms_parts};

    fn all(lang: Lang) -> Vec<CitizenMessage> {
        let n = sample(lang, Mode::InPerson);
        let when: Zoned = "2026-12-07T09:00[Europe/Rome]".parse().unwrap();
        vec![
            CitizenMessage::confirmation(&n),
            CitizenMessage::moved(&n),
            CitizenMessage::cancelled(&n),
            CitizenMessage::reminder(&n),
            CitizenMessage::turn_near(
                lang,
                &n.tenant_name,
                &n.office_name,
                7,
                2,
                "https://ricevo.example.it/a/tok456/join",
            ),
            CitizenMessage::feedback_request(
                lang,
                &n.tenant_name,
                &n.office_name,
                "https://ricevo.example.it/f/tok789",
            ),
            CitizenMessage::waitlist_offer(
                lang,
                &n.tenant_name,
                &n.service_name,
                &when,
                "https://ricevo.example.it/w/tok1",
                15,
            ),
        ]
    }

    #[test]
    fn every_message_keeps_app_io_lengths_and_fits_one_text_message() {
        for lang in [Lang::It, Lang::En] {
            for m in all(lang) {
                let subject = m.subject.chars().count();
                assert!((SUBJECT_MIN..=SUBJECT_MAX).contains(&subject), "{m:?}");
                let long = m.long.chars().count();
                assert!((MARKDOWN_MIN..=MARKDOWN_MAX).contains(&long), "{m:?}");
                assert_eq!(sms_encoding(&m.short), SmsEncoding::Gsm7, "{}", m.short);
                assert_eq!(sms_parts(&m.short), 1, "{} ({:?})", m.short, gsm7_septets(&m.short));
                let link = m.link.clone().unwrap();
                assert!(m.short.ends_with(&link), "the short form ends with the link: {}", m.short);
                assert!(m.long.contains(&link) || m.kind == MessageKind::Cancelled, "{m:?}");
            }
        }
    }

    #[test]
    fn the_confirmation_says_when_where_and_carries_the_due_date() {
        let n = sample(Lang::It, Mode::InPerson);
        let m = CitizenMessage::confirmation(&n);
        assert!(m.short.starts_with("Comune di Serrastretta: appuntamento confermato lun 7/12 09:00"), "{}", m.short);
        assert!(m.long.contains("lunedì 7 dicembre 2026, ore 09:00"), "{}", m.long);
        assert!(m.long.contains("Una fototessera recente"));
        assert_eq!(m.due_date, Some(n.start.timestamp()));
        assert_eq!(CitizenMessage::cancelled(&n).due_date, None);
        let en = CitizenMessage::reminder(&sample(Lang::En, Mode::Video));
        assert!(en.long.contains("Join the video call"), "{}", en.long);
    }

    #[test]
    fn long_names_are_cut_but_the_link_and_the_rules_hold() {
        let mut n = sample(Lang::It, Mode::InPerson);
        n.office_name = "Ufficio ".repeat(60);
        n.service_name = "Servizio ".repeat(40);
        n.what_to_bring = "x".repeat(20_000);
        let m = CitizenMessage::confirmation(&n);
        assert!(m.subject.chars().count() <= SUBJECT_MAX);
        assert!(m.long.chars().count() <= MARKDOWN_MAX);
        assert_eq!(sms_parts(&m.short), 1, "{}", m.short);
        assert!(m.short.ends_with(&n.manage_url));
        assert!(fit_subject("Ciao", Lang::It).chars().count() >= SUBJECT_MIN);
    }
}
