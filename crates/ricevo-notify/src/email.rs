//! The e-mails a citizen receives about an appointment or a walk-in ticket, in Italian or
//! English, each with a plain-text and an HTML body and, where it helps, a calendar invite.

use std::fmt::Write as _;

use jiff::{Timestamp, Zoned};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};
use ricevo_core::{Lang, Mode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ics::{self, Method};
use crate::{AppointmentNotice, NotifyError, TicketNotice};

/// Which event an e-mail announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// The appointment was booked.
    Confirmation,
    /// The appointment got a new time or place.
    Moved,
    /// The appointment was cancelled.
    Cancelled,
    /// The appointment is coming soon.
    Reminder,
}

impl EmailKind {
    /// A stable name, used in Message-IDs and dedupe keys.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::Confirmation => "confirmation",
            EmailKind::Moved => "moved",
            EmailKind::Cancelled => "cancelled",
            EmailKind::Reminder => "reminder",
        }
    }
}

/// A rendered e-mail, ready to be stored in the outbox and sent later as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingEmail {
    /// The recipient as a mailbox (`Name <address>`).
    pub to: String,
    /// The sender as a mailbox: the town's name with the instance's sending address.
    pub from: String,
    /// Where replies go: the town's own address.
    pub reply_to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body: self-contained, without external resources.
    pub html: String,
    /// The calendar invite, if the message carries one.
    pub ics: Option<String>,
    /// `REQUEST` or `CANCEL`, the invite's iTIP method.
    pub ics_method: Option<String>,
    /// The Message-ID header with its angle brackets, the same on every redelivery.
    pub message_id: String,
    /// A one-click unsubscribe address (RFC 8058), for messages to a contact list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_unsubscribe: Option<String>,
}

/// Writes a date and time for people, in the zone of `at`: "lunedì 7 dicembre 2026, ore 09:00"
/// or "Monday 7 December 2026, 09:00".
pub fn human_datetime(lang: Lang, at: &Zoned) -> String {
    let (weekday, month) = (lang.weekday(at.weekday()), lang.month(at.month()));
    let (day, year, time) = (at.day(), at.year(), at.strftime("%H:%M"));
    match lang {
        Lang::It => {
            // Italian writes the first of the month as an ordinal: "1º dicembre".
            let day = if day == 1 { "1º".to_string() } else { day.to_string() };
            format!("{weekday} {day} {month} {year}, ore {time}")
        }
        Lang::En => format!("{weekday} {day} {month} {year}, {time}"),
    }
}

/// Escapes text for HTML element content and quoted attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Replaces control characters, so a value typed in a form cannot break a header line.
pub(crate) fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_string()
}

/// Formats `Name <address>` with the quoting RFC 5322 needs; an unparsable address is kept
/// as it is so that [`to_eml`] reports it, instead of rendering failing silently.
pub(crate) fn mailbox(name: &str, address: &str) -> String {
    match address.trim().parse::<Address>() {
        Ok(a) => {
            let name = one_line(name);
            Mailbox::new((!name.is_empty()).then_some(name), a).to_string()
        }
        Err(_) => address.to_string(),
    }
}

/// A Message-ID that depends only on the event, so a message redelivered after a crash is
/// recognised by mail systems as the same one.
pub(crate) fn message_id(uid: &str, kind: &str, sequence: i32, from_address: &str) -> String {
    let digest = Sha256::digest(format!("{uid}\n{kind}\n{sequence}").as_bytes());
    let hash = hex::encode(&digest[..16]);
    let domain: String = from_address
        .rsplit_once('@')
        .map(|(_, d)| d.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')).collect())
        .unwrap_or_default();
    let domain = if domain.is_empty() { "ricevo.invalid".to_string() } else { domain };
    format!("<{hash}.{kind}@{domain}>")
}

/// A link with words that say where it leads (screen readers list links out of context).
pub(crate) struct Link {
    pub(crate) url: String,
    pub(crate) label: String,
}

/// One line of the appointment's summary.
pub(crate) struct Detail {
    pub(crate) label: &'static str,
    pub(crate) text: String,
    pub(crate) link: Option<Link>,
}

/// A sentence followed by the link it introduces.
pub(crate) struct Action {
    pub(crate) lead: String,
    pub(crate) link: Link,
}

/// The content of one e-mail, rendered twice: as plain text and as HTML.
pub(crate) struct Doc {
    pub(crate) lang: Lang,
    pub(crate) title: String,
    pub(crate) greeting: String,
    pub(crate) intro: String,
    pub(crate) details: Vec<Detail>,
    pub(crate) actions: Vec<Action>,
    pub(crate) sign_off: String,
    pub(crate) signature: String,
    pub(crate) footer: String,
}

/// Renders the e-mail of `kind` about `n`, sent from `from_address` in the name of the town.
pub fn render(kind: EmailKind, n: &AppointmentNotice, from_address: &str, now: Timestamp) -> OutgoingEmail {
    let doc = compose(kind, n);
    let when = human_datetime(n.lang, &n.start);
    let subject = one_line(&match n.reference.trim() {
        "" => format!("{}: {}, {when}", subject_prefix(kind, n.lang), n.service_name),
        code => format!("{} {code}: {}, {when}", subject_prefix(kind, n.lang), n.service_name),
    });
    let method = if kind == EmailKind::Cancelled { Method::Cancel } else { Method::Request };
    OutgoingEmail {
        to: mailbox(&n.citizen_name, &n.citizen_email),
        from: mailbox(&n.tenant_name, from_address),
        reply_to: mailbox(&n.tenant_name, &n.tenant_email),
        text: text_body(&doc),
        html: html_body(&doc, &subject),
        subject,
        ics: Some(ics::invite(n, method, now)),
        ics_method: Some(method.as_str().to_string()),
        message_id: message_id(&n.uid, kind.as_str(), n.sequence, from_address),
        list_unsubscribe: None,
    }
}

fn subject_prefix(kind: EmailKind, lang: Lang) -> &'static str {
    match (lang, kind) {
        (Lang::It, EmailKind::Confirmation) => "Appuntamento confermato",
        (Lang::It, EmailKind::Moved) => "Appuntamento spostato",
        (Lang::It, EmailKind::Cancelled) => "Appuntamento annullato",
        (Lang::It, EmailKind::Reminder) => "Promemoria appuntamento",
        (Lang::En, EmailKind::Confirmation) => "Appointment confirmed",
        (Lang::En, EmailKind::Moved) => "Appointment moved",
        (Lang::En, EmailKind::Cancelled) => "Appointment cancelled",
        (Lang::En, EmailKind::Reminder) => "Appointment reminder",
    }
}

/// Writes the words of one e-mail. Italian addresses the citizen with the informal "tu" of the
/// citizen pages (as the national model of municipal sites does) and,
/// as Italian letters do, goes on in lower case after the greeting's comma.
fn compose(kind: EmailKind, n: &AppointmentNotice) -> Doc {
    let it = n.lang == Lang::It;
    let tenant = n.tenant_name.trim();
    let when = format!(
        "{} ({} {})",
        human_datetime(n.lang, &n.start),
        if it { "fino alle" } else { "until" },
        n.end.strftime("%H:%M")
    );
    let cancelled = kind == EmailKind::Cancelled;

    let intro = match (it, kind) {
        (true, EmailKind::Confirmation) => format!("ti confermiamo l'appuntamento con {tenant}."),
        (true, EmailKind::Moved) => format!("il tuo appuntamento con {tenant} è stato spostato. Ecco i nuovi dati."),
        (true, EmailKind::Cancelled) => format!("il tuo appuntamento con {tenant} è stato annullato."),
        (true, EmailKind::Reminder) => format!("ti ricordiamo il tuo appuntamento con {tenant}."),
        (false, EmailKind::Confirmation) => format!("Your appointment with {tenant} is confirmed."),
        (false, EmailKind::Moved) => {
            format!("Your appointment with {tenant} has been moved. Here are the new details.")
        }
        (false, EmailKind::Cancelled) => format!("Your appointment with {tenant} has been cancelled."),
        (false, EmailKind::Reminder) => format!("This is a reminder of your appointment with {tenant}."),
    };
    let mut details = Vec::new();
    if !n.reference.trim().is_empty() {
        details.push(Detail {
            label: if it { "Codice della prenotazione" } else { "Booking reference" },
            text: n.reference.trim().to_string(),
            link: None,
        });
    }
    details.extend([
        Detail { label: if it { "Servizio" } else { "Service" }, text: n.service_name.clone(), link: None },
        Detail { label: if it { "Ufficio" } else { "Office" }, text: n.office_name.clone(), link: None },
        Detail { label: if it { "Quando" } else { "When" }, text: when, link: None },
    ]);
    if let Some(reason) = n.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        details.insert(
            usize::from(!n.reference.trim().is_empty()),
            Detail { label: if it { "Motivo" } else { "Reason" }, text: one_line(reason), link: None },
        );
    }
    let how = match n.mode {
        Mode::InPerson => Detail {
            label: if it { "Dove" } else { "Where" },
            text: if it {
                format!("in presenza, presso {}", n.office_address.trim())
            } else {
                format!("in person, at {}", n.office_address.trim())
            },
            link: None,
        },
        Mode::Video => Detail {
            label: if it { "Come" } else { "How" },
            text: if it {
                "in videochiamata dal browser, senza installare nulla. All'ora dell'appuntamento apri il link:".into()
            } else {
                "by video call in your browser, with nothing to install. At the time of the appointment open the link:"
                    .into()
            },
            link: n
                .join_url
                .clone()
                .or_else(|| Some(n.manage_url.clone()))
                .filter(|url| !cancelled && !url.is_empty())
                .map(|url| Link {
                    url,
                    label: if it { "Entra nella sala d'attesa virtuale" } else { "Join the video call" }.into(),
                }),
        },
        Mode::Phone => Detail {
            label: if it { "Come" } else { "How" },
            text: if it {
                "al telefono: sarà l'ufficio a chiamarti al numero che hai indicato.".into()
            } else {
                "by phone: the office will call you on the number you gave.".into()
            },
            link: None,
        },
    };
    let how = if cancelled && n.mode == Mode::Video {
        Detail { text: if it { "in videochiamata".into() } else { "by video call".into() }, ..how }
    } else {
        how
    };
    details.push(how);
    if !cancelled && !n.what_to_bring.trim().is_empty() {
        details.push(Detail {
            label: if it { "Cosa portare" } else { "What to bring" },
            text: n.what_to_bring.trim().to_string(),
            link: None,
        });
    }

    let mut actions = Vec::new();
    if cancelled || n.manage_url.is_empty() {
        // Nothing to manage any more (the invite in this message removes the calendar entry),
        // or the office changed it and only the citizen's first e-mail holds their link.
    } else {
        actions.push(Action {
            lead: if it {
                "Per vedere, spostare o annullare l'appuntamento:".into()
            } else {
                "To see, move or cancel the appointment:".into()
            },
            link: Link {
                url: n.manage_url.clone(),
                label: if it { "Gestisci l'appuntamento" } else { "Manage the appointment" }.into(),
            },
        });
    }
    if cancelled && let Some(url) = n.rebook_url.as_deref().filter(|u| !u.is_empty()) {
        let times = n.rebook_times.iter().map(|t| one_line(t)).collect::<Vec<_>>();
        let lead = match (it, times.is_empty()) {
            (true, true) => "Puoi prenotare un nuovo appuntamento qui:".to_string(),
            (false, true) => "You can book a new appointment here:".to_string(),
            (true, false) => format!("Primi orari liberi: {}. Puoi prenotarne uno qui:", times.join("; ")),
            (false, false) => format!("The nearest free times: {}. You can book one here:", times.join("; ")),
        };
        actions.push(Action {
            lead,
            link: Link {
                url: url.to_string(),
                label: if it { "Prenota un nuovo appuntamento" } else { "Book a new appointment" }.into(),
            },
        });
    }
    if kind == EmailKind::Reminder && !n.cancel_url.is_empty() {
        actions.push(Action {
            lead: if it {
                "Se non puoi venire, annulla con un clic: il posto tornerà libero per altri cittadini.".into()
            } else {
                "If you cannot come, cancel with one click so that someone else can have the time.".into()
            },
            link: Link {
                url: n.cancel_url.clone(),
                label: if it { "Annulla l'appuntamento" } else { "Cancel the appointment" }.into(),
            },
        });
    }

    Doc {
        lang: n.lang,
        title: subject_prefix(kind, n.lang).to_string(),
        greeting: format!("{} {},", if it { "Gentile" } else { "Dear" }, one_line(&n.citizen_name)),
        intro: if cancelled && it {
            format!("{intro} Per incontrare l'ufficio in un altro momento puoi prenotare un nuovo appuntamento.")
        } else if cancelled {
            format!("{intro} To meet the office another time, please book a new appointment.")
        } else {
            intro
        },
        details,
        actions,
        sign_off: if it { "Cordiali saluti," } else { "Kind regards," }.into(),
        signature: format!("{tenant} – {}", n.office_name.trim()),
        footer: footer(n.lang, tenant),
    }
}

pub(crate) fn footer(lang: Lang, tenant: &str) -> String {
    match lang {
        Lang::It => {
            format!("Messaggio automatico di {tenant}: puoi rispondere a questa e-mail per scrivere all'ufficio.")
        }
        Lang::En => format!("An automatic message from {tenant}: you can reply to this e-mail to write to the office."),
    }
}

/// Renders the e-mail that gives a citizen their walk-in ticket's number and personal link to
/// the virtual waiting room, sent from `from_address` in the name of the town.
pub fn render_ticket(n: &TicketNotice, from_address: &str) -> OutgoingEmail {
    let it = n.lang == Lang::It;
    let (tenant, office, number) = (n.tenant_name.trim(), n.office_name.trim(), n.ticket_number);
    let subject = one_line(&if it {
        format!("Il tuo numero per {office}: {number}")
    } else {
        format!("Your number for {office}: {number}")
    });
    let doc = Doc {
        lang: n.lang,
        title: if it { format!("Il tuo numero: {number}") } else { format!("Your number: {number}") },
        greeting: format!("{} {},", if it { "Gentile" } else { "Dear" }, one_line(&n.citizen_name)),
        intro: if it {
            format!("il tuo numero per {office} è il {number}.")
        } else {
            format!("Your number for {office} is {number}.")
        },
        details: vec![
            Detail { label: if it { "Ufficio" } else { "Office" }, text: office.to_string(), link: None },
            Detail { label: if it { "Numero" } else { "Number" }, text: number.to_string(), link: None },
        ],
        actions: vec![Action {
            lead: if it {
                "Questo link apre la sala d'attesa virtuale. È personale: non condividerlo con nessuno.".into()
            } else {
                "This link opens the virtual waiting room. It is personal: do not share it with anyone.".into()
            },
            link: Link {
                url: n.join_url.clone(),
                label: if it { "Entra nella sala d'attesa virtuale" } else { "Enter the waiting room" }.into(),
            },
        }],
        sign_off: if it { "Cordiali saluti," } else { "Kind regards," }.into(),
        signature: format!("{tenant} – {office}"),
        footer: footer(n.lang, tenant),
    };
    let envelope = Envelope {
        to: (&n.citizen_name, &n.citizen_email),
        town: (&n.tenant_name, &n.tenant_email),
        from_address,
        uid: &n.uid,
        kind: "ticket",
    };
    without_invite(&doc, subject, &envelope, None)
}

/// Renders a survey campaign's e-mail to one contact: the town's words, the personal link to
/// the questionnaire and the link to unsubscribe (also as a List-Unsubscribe header).
pub fn render_survey(n: &crate::SurveyNotice, from_address: &str) -> OutgoingEmail {
    let it = n.lang == Lang::It;
    let tenant = n.tenant_name.trim();
    let subject = one_line(&n.subject);
    let name = one_line(&n.name);
    let greeting = match (it, name.is_empty()) {
        (true, true) => "Ciao,".to_string(),
        (true, false) => format!("Ciao {name},"),
        (false, true) => "Hello,".to_string(),
        (false, false) => format!("Hello {name},"),
    };
    let doc = Doc {
        lang: n.lang,
        title: subject.clone(),
        greeting,
        intro: n.intro.trim().to_string(),
        details: Vec::new(),
        actions: vec![
            Action {
                lead: if it {
                    "Il link è personale e vale per una sola risposta: non inoltrarlo.".into()
                } else {
                    "The link is personal and takes one answer: do not forward it.".into()
                },
                link: Link {
                    url: n.answer_url.clone(),
                    label: if it { "Rispondi al questionario" } else { "Answer the questionnaire" }.into(),
                },
            },
            Action {
                lead: if it {
                    format!("Non vuoi più ricevere questionari da {tenant}? Togli il tuo indirizzo con un clic:")
                } else {
                    format!("No more questionnaires from {tenant}? Remove your address with one click:")
                },
                link: Link {
                    url: n.unsubscribe_url.clone(),
                    label: if it { "Non ricevere più questionari" } else { "Unsubscribe" }.into(),
                },
            },
        ],
        sign_off: if it { "Grazie," } else { "Thank you," }.into(),
        signature: tenant.to_string(),
        footer: footer(n.lang, tenant),
    };
    let envelope = Envelope {
        to: (&n.name, &n.email),
        town: (&n.tenant_name, &n.tenant_email),
        from_address,
        uid: &n.uid,
        kind: "survey",
    };
    without_invite(&doc, subject, &envelope, Some(n.unsubscribe_url.clone()))
}

/// Who a message without a calendar invite goes to and who sends it: the town, answering at
/// its contact address.
pub(crate) struct Envelope<'a> {
    /// The recipient's name and address.
    pub(crate) to: (&'a str, &'a str),
    /// The town's name and contact address.
    pub(crate) town: (&'a str, &'a str),
    /// The instance's sending address.
    pub(crate) from_address: &'a str,
    /// What the message is about for good (`appointment:ID`, `ticket:...`), and its kind.
    pub(crate) uid: &'a str,
    pub(crate) kind: &'a str,
}

/// An e-mail without a calendar invite: `doc` as text and HTML under `subject`.
pub(crate) fn without_invite(
    doc: &Doc,
    subject: String,
    e: &Envelope<'_>,
    list_unsubscribe: Option<String>,
) -> OutgoingEmail {
    OutgoingEmail {
        to: mailbox(e.to.0, e.to.1),
        from: mailbox(e.town.0, e.from_address),
        reply_to: mailbox(e.town.0, e.town.1),
        text: text_body(doc),
        html: html_body(doc, &subject),
        subject,
        ics: None,
        ics_method: None,
        message_id: message_id(e.uid, e.kind, 0, e.from_address),
        list_unsubscribe,
    }
}

pub(crate) fn text_body(d: &Doc) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail; the results are ignored for that reason.
    let _ = writeln!(out, "{}\n\n{}\n", d.greeting, d.intro);
    for detail in &d.details {
        let mut lines = detail.text.lines();
        let first = lines.next().unwrap_or_default();
        let _ = writeln!(out, "{}: {first}", detail.label);
        for line in lines {
            let _ = writeln!(out, "  {}", line.trim());
        }
        if let Some(link) = &detail.link {
            let _ = writeln!(out, "  {}", link.url);
        }
    }
    for action in &d.actions {
        let _ = writeln!(out, "\n{}\n{}", action.lead, action.link.url);
    }
    let _ = writeln!(out, "\n{}\n{}\n\n-- \n{}", d.sign_off, d.signature, d.footer);
    out
}

pub(crate) fn html_body(d: &Doc, subject: &str) -> String {
    let mut out = String::new();
    let link = |l: &Link| format!("<a href=\"{}\" style=\"color:#0047b3\">{}</a>", esc(&l.url), esc(&l.label));
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n</head>\n\
         <body style=\"margin:0;padding:16px;background:#ffffff;color:#1a1a1a;\
         font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5\">\n\
         <div style=\"max-width:600px;margin:0 auto\">\n\
         <h1 style=\"font-size:22px;margin:0 0 16px\">{}</h1>\n<p>{}</p>\n<p>{}</p>\n\
         <dl style=\"margin:16px 0\">\n",
        d.lang.code(),
        esc(subject),
        esc(&d.title),
        esc(&d.greeting),
        esc(&d.intro),
    );
    for detail in &d.details {
        let text = detail.text.lines().map(|l| esc(l.trim())).collect::<Vec<_>>().join("<br>\n");
        let _ = write!(
            out,
            "<dt style=\"font-weight:bold\">{}</dt>\n<dd style=\"margin:0 0 8px\">{text}",
            esc(detail.label)
        );
        if let Some(l) = &detail.link {
            let _ = write!(out, "<br>\n{}", link(l));
        }
        out.push_str("</dd>\n");
    }
    out.push_str("</dl>\n");
    for action in &d.actions {
        let _ = writeln!(out, "<p>{}<br>\n{}</p>", esc(&action.lead), link(&action.link));
    }
    let _ = write!(
        out,
        "<p>{}<br>\n{}</p>\n<hr>\n<p style=\"font-size:14px;color:#4d4d4d\">{}</p>\n</div>\n</body>\n</html>\n",
        esc(&d.sign_off),
        esc(&d.signature),
        esc(&d.footer),
    );
    out
}

/// Builds the MIME message: text and HTML as alternatives, the invite as a `text/calendar`
/// alternative (which calendar-aware clients act on) and as an `invite.ics` attachment.
pub fn to_message(e: &OutgoingEmail) -> Result<Message, NotifyError> {
    let builder = Message::builder()
        .from(e.from.parse()?)
        .reply_to(e.reply_to.parse()?)
        .to(e.to.parse()?)
        .subject(one_line(&e.subject))
        .message_id(Some(e.message_id.clone()))
        // RFC 3834: auto-responders must not answer, so vacation replies do not loop.
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".into()));
    // RFC 2369 and RFC 8058: mail clients offer "unsubscribe", which POSTs to the link.
    let builder = match e.list_unsubscribe.as_deref().map(one_line) {
        Some(url) if url.starts_with("http") && !url.contains(['<', '>', ',', ' ']) => builder
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), format!("<{url}>")))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            )),
        _ => builder,
    };
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(e.text.clone()))
        .singlepart(SinglePart::html(e.html.clone()));
    let body = match &e.ics {
        None => alternative,
        Some(ics) => {
            let method = match e.ics_method.as_deref().unwrap_or("REQUEST") {
                m @ ("REQUEST" | "CANCEL") => m,
                other => return Err(NotifyError::Invalid(format!("unknown calendar method {other:?}"))),
            };
            let calendar = ContentType::parse(&format!("text/calendar; method={method}; charset=UTF-8"))?;
            let alternative = alternative.singlepart(SinglePart::builder().header(calendar).body(ics.clone()));
            let attachment =
                Attachment::new("invite.ics".into()).body(ics.clone(), ContentType::parse("application/ics")?);
            MultiPart::mixed().multipart(alternative).singlepart(attachment)
        }
    };
    Ok(builder.multipart(body)?)
}

/// The complete RFC 5322 message, as written to the outbox folder or handed to SMTP.
pub fn to_eml(e: &OutgoingEmail) -> Result<Vec<u8>, NotifyError> {
    Ok(to_message(e)?.formatted())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::appointment::tests::sample;

    fn now() -> Timestamp {
        "2026-11-20T10:15:30Z".parse().unwrap()
    }

    const FROM: &str = "noreply@ricevo.example.it";

    #[test]
    fn the_reference_code_is_in_the_subject_the_body_and_the_invite() {
        for kind in [EmailKind::Confirmation, EmailKind::Moved, EmailKind::Cancelled, EmailKind::Reminder] {
            let e = render(kind, &sample(Lang::It, Mode::InPerson), FROM, now());
            assert!(e.subject.contains("K7M-4QP"), "{kind:?}: {}", e.subject);
            assert!(e.text.contains("Codice della prenotazione: K7M-4QP"), "{}", e.text);
            assert!(e.html.contains("K7M-4QP"));
            assert!(e.ics.as_deref().is_some_and(|ics| ics.contains("K7M-4QP")));
        }
        let mut old = sample(Lang::En, Mode::InPerson);
        old.reference = String::new();
        let e = render(EmailKind::Confirmation, &old, FROM, now());
        assert!(e.subject.starts_with("Appointment confirmed: "), "{}", e.subject);
    }

    #[test]
    fn an_office_cancellation_gives_the_reason_and_a_link_to_book_the_nearest_free_times() {
        let mut n = sample(Lang::It, Mode::InPerson);
        n.reason = Some("Chiusura straordinaria per elezioni".into());
        n.rebook_url = Some("https://ricevo.example.it/serrastretta/services/3".into());
        n.rebook_times = vec!["martedì 8 dicembre 2026, ore 09:00".into(), "martedì 8 dicembre 2026, ore 09:20".into()];
        let e = render(EmailKind::Cancelled, &n, FROM, now());
        assert!(e.text.contains("Motivo: Chiusura straordinaria per elezioni"), "{}", e.text);
        assert!(e.text.contains("Primi orari liberi: martedì 8 dicembre 2026, ore 09:00; martedì"), "{}", e.text);
        assert!(e.text.contains("https://ricevo.example.it/serrastretta/services/3"));
        assert!(e.html.contains("Prenota un nuovo appuntamento"));
        let mut en = n.clone();
        en.lang = Lang::En;
        en.rebook_times.clear();
        let e = render(EmailKind::Cancelled, &en, FROM, now());
        assert!(e.text.contains("Reason: Chiusura"), "{}", e.text);
        assert!(e.text.contains("You can book a new appointment here:"), "{}", e.text);
        // A move gives its reason too, and never a rebooking link.
        let moved = render(EmailKind::Moved, &n, FROM, now());
        assert!(moved.text.contains("Motivo: Chiusura"), "{}", moved.text);
        assert!(!moved.text.contains("Prenota un nuovo"), "{}", moved.text);
    }

    #[test]
    fn dates_are_written_for_people_in_the_local_zone() {
        let z: Zoned = "2026-12-07T09:00[Europe/Rome]".parse().unwrap();
        assert_eq!(human_datetime(Lang::It, &z), "lunedì 7 dicembre 2026, ore 09:00");
        assert_eq!(human_datetime(Lang::En, &z), "Monday 7 December 2026, 09:00");
        let first: Zoned = "2027-08-01T15:30[Europe/Rome]".parse().unwrap();
        assert_eq!(human_datetime(Lang::It, &first), "domenica 1º agosto 2027, ore 15:30");
        assert_eq!(human_datetime(Lang::En, &first), "Sunday 1 August 2027, 15:30");
    }

    #[test]
    fn a_move_made_by_the_office_carries_no_empty_links() {
        // The office does not hold the citizen's link (only its hash): the e-mail says what
        // changed and updates the invite, and the citizen's first e-mail keeps the link.
        let mut n = sample(Lang::It, Mode::Video);
        n.manage_url = String::new();
        n.cancel_url = String::new();
        n.join_url = None;
        let e = render(EmailKind::Moved, &n, FROM, now());
        assert!(!e.html.contains("href=\"\""), "{}", e.html);
        assert!(!e.html.contains("Gestisci l'appuntamento"));
        assert!(e.ics.as_deref().is_some_and(|ics| ics.contains("METHOD:REQUEST")));
        let reminder = render(EmailKind::Reminder, &n, FROM, now());
        assert!(!reminder.html.contains("href=\"\""), "{}", reminder.html);
    }

    #[test]
    fn an_italian_confirmation_summarises_the_appointment() {
        let e = render(EmailKind::Confirmation, &sample(Lang::It, Mode::InPerson), FROM, now());
        assert_eq!(
            e.subject,
            "Appuntamento confermato K7M-4QP: Carta d'identità elettronica, lunedì 7 dicembre 2026, ore 09:00"
        );
        assert!(
            e.text.starts_with("Gentile Maria Rossi,\n\nti confermiamo l'appuntamento con Comune di Serrastretta.")
        );
        for needle in [
            "Servizio: Carta d'identità elettronica",
            "Ufficio: Ufficio Anagrafe",
            "Quando: lunedì 7 dicembre 2026, ore 09:00 (fino alle 09:20)",
            "Dove: in presenza, presso Piazza Municipio 1, 88040 Serrastretta (CZ)",
            "Cosa portare: Una fototessera recente\n  La carta d'identità scaduta",
            "Per vedere, spostare o annullare l'appuntamento:\nhttps://ricevo.example.it/a/tok123\n",
        ] {
            assert!(e.text.contains(needle), "missing {needle:?} in\n{}", e.text);
        }
        assert!(!e.text.contains("/cancel"), "only reminders carry the one-click cancel link");
        assert!(e.html.contains("<html lang=\"it\">"));
        assert!(e.html.contains(
            "<a href=\"https://ricevo.example.it/a/tok123\" style=\"color:#0047b3\">Gestisci l&#39;appuntamento</a>"
        ));
        assert!(e.html.contains("Una fototessera recente<br>\nLa carta d&#39;identità scaduta"));
        assert_eq!(e.to, "Maria Rossi <maria.rossi@example.org>");
        assert_eq!(e.from, "Comune di Serrastretta <noreply@ricevo.example.it>");
        assert_eq!(e.reply_to, "Comune di Serrastretta <protocollo@comune.example.it>");
        assert_eq!(e.ics_method.as_deref(), Some("REQUEST"));
        assert!(e.ics.as_deref().unwrap().contains("METHOD:REQUEST\r\n"));
    }

    #[test]
    fn an_english_video_reminder_has_the_join_link_and_a_one_click_cancel() {
        let e = render(EmailKind::Reminder, &sample(Lang::En, Mode::Video), FROM, now());
        assert_eq!(
            e.subject,
            "Appointment reminder K7M-4QP: Carta d'identità elettronica, Monday 7 December 2026, 09:00"
        );
        assert!(
            e.text.starts_with(
                "Dear Maria Rossi,\n\nThis is a reminder of your appointment with Comune di Serrastretta."
            )
        );
        assert!(e.text.contains("When: Monday 7 December 2026, 09:00 (until 09:20)"));
        assert!(e.text.contains("How: by video call in your browser"));
        assert!(e.text.contains("  https://ricevo.example.it/j/tok123\n"));
        assert!(e.text.contains("If you cannot come, cancel with one click so that someone else can have the time.\nhttps://ricevo.example.it/a/tok123/cancel\n"));
        assert!(e.html.contains(
            "<a href=\"https://ricevo.example.it/a/tok123/cancel\" style=\"color:#0047b3\">Cancel the appointment</a>"
        ));
        assert!(e.html.contains(">Join the video call</a>"));
        assert!(e.html.contains("<html lang=\"en\">"));
        assert_eq!(e.ics_method.as_deref(), Some("REQUEST"));
    }

    #[test]
    fn a_phone_appointment_says_the_office_will_call() {
        let it = render(EmailKind::Confirmation, &sample(Lang::It, Mode::Phone), FROM, now());
        assert!(it.text.contains("Come: al telefono: sarà l'ufficio a chiamarti al numero che hai indicato."));
        let en = render(EmailKind::Confirmation, &sample(Lang::En, Mode::Phone), FROM, now());
        assert!(en.text.contains("How: by phone: the office will call you on the number you gave."));
    }

    #[test]
    fn a_cancellation_says_so_and_carries_a_cancel_invite() {
        let e = render(EmailKind::Cancelled, &sample(Lang::It, Mode::Video), FROM, now());
        assert!(e.subject.starts_with("Appuntamento annullato K7M-4QP: "));
        assert!(e.text.contains("il tuo appuntamento con Comune di Serrastretta è stato annullato."));
        assert!(!e.text.contains("tok123"), "no links to an appointment that no longer exists:\n{}", e.text);
        assert!(!e.text.contains("Cosa portare"));
        assert_eq!(e.ics_method.as_deref(), Some("CANCEL"));
        let ics = e.ics.unwrap();
        assert!(ics.contains("METHOD:CANCEL\r\n") && ics.contains("STATUS:CANCELLED\r\n"));
    }

    #[test]
    fn each_kind_has_its_own_subject_and_message_id() {
        for lang in [Lang::It, Lang::En] {
            let n = sample(lang, Mode::InPerson);
            let kinds = [EmailKind::Confirmation, EmailKind::Moved, EmailKind::Cancelled, EmailKind::Reminder];
            let emails: Vec<_> = kinds.iter().map(|k| render(*k, &n, FROM, now())).collect();
            for (i, a) in emails.iter().enumerate() {
                for b in &emails[i + 1..] {
                    assert_ne!(a.subject, b.subject);
                    assert_ne!(a.message_id, b.message_id);
                }
            }
        }
    }

    #[test]
    fn the_message_id_depends_only_on_uid_kind_and_sequence() {
        let n = sample(Lang::It, Mode::InPerson);
        let a = render(EmailKind::Moved, &n, FROM, now());
        let later: Timestamp = "2026-11-21T00:00:00Z".parse().unwrap();
        let b = render(EmailKind::Moved, &n, FROM, later);
        assert_eq!(a.message_id, b.message_id, "a redelivery carries the same Message-ID");
        assert!(
            a.message_id.starts_with('<') && a.message_id.ends_with(".moved@ricevo.example.it>"),
            "{}",
            a.message_id
        );
        let mut moved_again = n.clone();
        moved_again.sequence += 1;
        assert_ne!(render(EmailKind::Moved, &moved_again, FROM, now()).message_id, a.message_id);
    }

    #[test]
    fn every_interpolated_value_is_escaped_in_html() {
        let mut n = sample(Lang::En, Mode::InPerson);
        n.citizen_name = "<script>alert(1)</script>".into();
        n.service_name = "Tax & \"fees\"".into();
        n.office_address = "<b>Main St</b>".into();
        n.what_to_bring = "<img src=x onerror=alert(2)>".into();
        n.tenant_name = "Town <i>".into();
        n.manage_url = "https://x.example/a/\"><script>".into();
        let e = render(EmailKind::Reminder, &n, FROM, now());
        assert!(!e.html.contains("<script>"), "{}", e.html);
        assert!(!e.html.contains("<img"), "{}", e.html);
        assert!(!e.html.contains("<b>") && !e.html.contains("<i>"));
        assert!(e.html.contains("Dear &lt;script&gt;alert(1)&lt;/script&gt;,"));
        assert!(e.html.contains("Tax &amp; &quot;fees&quot;"));
        assert!(e.html.contains("href=\"https://x.example/a/&quot;&gt;&lt;script&gt;\""));
        // Plain text stays as typed: it is never interpreted as markup.
        assert!(e.text.contains("Dear <script>alert(1)</script>,"));
    }

    #[test]
    fn a_ticket_email_gives_the_number_and_the_personal_link_in_italian_and_english() {
        let it = render_ticket(&crate::ticket::tests::sample(Lang::It), FROM);
        assert_eq!(it.subject, "Il tuo numero per Ufficio Anagrafe: 7");
        assert!(
            it.text.starts_with("Gentile Maria Rossi,\n\nil tuo numero per Ufficio Anagrafe è il 7."),
            "{}",
            it.text
        );
        assert!(it.text.contains("Numero: 7\n"), "{}", it.text);
        assert!(
            it.text.contains(
                "Questo link apre la sala d'attesa virtuale. È personale: non condividerlo con nessuno.\n\
                 https://ricevo.example.it/a/tok456/join\n"
            ),
            "{}",
            it.text
        );
        assert!(it.html.contains("<html lang=\"it\">"));
        assert!(it.html.contains(
            "<a href=\"https://ricevo.example.it/a/tok456/join\" style=\"color:#0047b3\">Entra nella sala d&#39;attesa virtuale</a>"
        ));
        assert_eq!(it.to, "Maria Rossi <maria.rossi@example.org>");
        assert_eq!(it.from, "Comune di Serrastretta <noreply@ricevo.example.it>");
        assert_eq!(it.reply_to, "Comune di Serrastretta <protocollo@comune.example.it>");
        assert!(it.ics.is_none() && it.ics_method.is_none(), "a ticket has no calendar invite");

        let en = render_ticket(&crate::ticket::tests::sample(Lang::En), FROM);
        assert_eq!(en.subject, "Your number for Ufficio Anagrafe: 7");
        assert!(en.text.starts_with("Dear Maria Rossi,\n\nYour number for Ufficio Anagrafe is 7."), "{}", en.text);
        assert!(
            en.text.contains("It is personal: do not share it with anyone.\nhttps://ricevo.example.it/a/tok456/join\n")
        );
        assert!(en.html.contains("<html lang=\"en\">"));
        assert!(en.html.contains(">Enter the waiting room</a>"));
        assert!(en.html.contains("Your number: 7"));

        let eml = String::from_utf8(to_eml(&it).unwrap()).unwrap();
        assert!(eml.contains("Content-Type: multipart/alternative;"));
        assert!(eml.contains(&format!("Message-ID: {}", it.message_id)), "{eml}");
        assert!(it.message_id.ends_with(".ticket@ricevo.example.it>"), "{}", it.message_id);
        assert_eq!(render_ticket(&crate::ticket::tests::sample(Lang::It), FROM).message_id, it.message_id);
        let mut next = crate::ticket::tests::sample(Lang::It);
        next.uid = "ticket:3:2026-11-30:8".into();
        assert_ne!(render_ticket(&next, FROM).message_id, it.message_id, "each ticket is its own message");
    }

    #[test]
    fn a_ticket_email_escapes_what_was_typed_in_html() {
        let mut n = crate::ticket::tests::sample(Lang::En);
        n.office_name = "<b>Tax & \"fees\"</b>".into();
        n.citizen_name = "<script>alert(1)</script>".into();
        n.tenant_name = "Town <i>".into();
        n.join_url = "https://x.example/a/\"><script>/join".into();
        let e = render_ticket(&n, FROM);
        assert!(!e.html.contains("<script>") && !e.html.contains("<b>") && !e.html.contains("<i>"), "{}", e.html);
        assert!(e.html.contains("Your number for &lt;b&gt;Tax &amp; &quot;fees&quot;&lt;/b&gt; is 7."), "{}", e.html);
        assert!(e.html.contains("href=\"https://x.example/a/&quot;&gt;&lt;script&gt;/join\""));
        assert!(e.text.contains("Office: <b>Tax & \"fees\"</b>"), "plain text stays as typed");
    }

    /// Splits a formatted message into its header block (unfolded) and the rest.
    fn headers(eml: &str) -> (Vec<String>, &str) {
        let (head, body) = eml.split_once("\r\n\r\n").unwrap();
        let mut out: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                out.last_mut().unwrap().push_str(line);
            } else {
                out.push(line.to_string());
            }
        }
        (out, body)
    }

    #[test]
    fn the_eml_has_the_right_headers_and_a_calendar_part() {
        let e = render(EmailKind::Confirmation, &sample(Lang::En, Mode::InPerson), FROM, now());
        let eml = String::from_utf8(to_eml(&e).unwrap()).unwrap();
        let (head, body) = headers(&eml);
        let has = |h: &str| head.iter().any(|l| l == h);
        assert!(
            has("From: \"Comune di Serrastretta\" <noreply@ricevo.example.it>")
                || has("From: Comune di Serrastretta <noreply@ricevo.example.it>"),
            "{head:#?}"
        );
        assert!(
            has("To: \"Maria Rossi\" <maria.rossi@example.org>") || has("To: Maria Rossi <maria.rossi@example.org>"),
            "{head:#?}"
        );
        assert!(head.iter().any(|l| l.starts_with("Reply-To: ") && l.contains("<protocollo@comune.example.it>")));
        assert!(has(&format!("Message-ID: {}", e.message_id)), "{head:#?}");
        assert!(has("MIME-Version: 1.0"));
        assert!(has("Auto-Submitted: auto-generated"));
        assert!(head.iter().any(|l| l.starts_with("Date: ")));
        assert!(head.iter().any(|l| l.starts_with("Subject: ")));
        assert!(head.iter().any(|l| l.starts_with("Content-Type: multipart/mixed;")));
        let lower = body.to_ascii_lowercase();
        assert!(lower.contains("content-type: multipart/alternative;"));
        assert!(lower.contains("content-type: text/plain; charset=utf-8"));
        assert!(lower.contains("content-type: text/html; charset=utf-8"));
        assert!(lower.contains("content-type: text/calendar; method=request; charset=utf-8"), "{body}");
        assert!(lower.contains("content-disposition: attachment; filename=\"invite.ics\""), "{body}");
        assert!(body.contains("METHOD:REQUEST"));
        assert!(body.contains("UID:a1b2c3d4@comune.example.it"));
    }

    #[test]
    fn a_cancellation_eml_has_a_cancel_calendar_part() {
        let e = render(EmailKind::Cancelled, &sample(Lang::En, Mode::Phone), FROM, now());
        let eml = String::from_utf8(to_eml(&e).unwrap()).unwrap().to_ascii_lowercase();
        assert!(eml.contains("content-type: text/calendar; method=cancel; charset=utf-8"));
    }

    #[test]
    fn an_email_without_an_invite_is_just_text_and_html() {
        let mut e = render(EmailKind::Confirmation, &sample(Lang::It, Mode::Phone), FROM, now());
        e.ics = None;
        e.ics_method = None;
        let eml = String::from_utf8(to_eml(&e).unwrap()).unwrap();
        assert!(eml.contains("Content-Type: multipart/alternative;"));
        assert!(!eml.to_ascii_lowercase().contains("text/calendar"));
    }

    #[test]
    fn a_survey_email_has_the_personal_link_and_a_one_click_unsubscribe() {
        let it = render_survey(&crate::survey::tests::sample(Lang::It), FROM);
        assert_eq!(it.subject, "Com'è andata con i servizi online?");
        assert!(it.text.starts_with("Ciao Maria Rossi,\n\nTi chiediamo due minuti"), "{}", it.text);
        assert!(it.text.contains("https://ricevo.example.it/prato/sondaggio/tok789\n"), "{}", it.text);
        assert!(it.text.contains("https://ricevo.example.it/prato/disiscriviti/tok789\n"));
        assert!(it.html.contains(">Rispondi al questionario</a>"));
        assert!(it.message_id.ends_with(".survey@ricevo.example.it>"));
        let eml = String::from_utf8(to_eml(&it).unwrap()).unwrap();
        let (head, _) = headers(&eml);
        assert!(
            head.iter().any(|l| l == "List-Unsubscribe: <https://ricevo.example.it/prato/disiscriviti/tok789>"),
            "{head:#?}"
        );
        assert!(head.iter().any(|l| l == "List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        let en = render_survey(&crate::survey::tests::sample(Lang::En), FROM);
        assert!(en.text.starts_with("Hello Maria Rossi,"));
        assert!(en.html.contains(">Unsubscribe</a>") && en.html.contains("<html lang=\"en\">"));
        let mut hostile = crate::survey::tests::sample(Lang::It);
        hostile.name = "<script>x</script>".into();
        hostile.intro = "<b>ciao</b>".into();
        hostile.unsubscribe_url = "https://x.example/a>\r\nBcc: y@example.org".into();
        let e = render_survey(&hostile, FROM);
        assert!(!e.html.contains("<script>") && !e.html.contains("<b>"));
        let eml = String::from_utf8(to_eml(&e).unwrap()).unwrap();
        let (head, _) = headers(&eml);
        assert!(!head.iter().any(|l| l.starts_with("List-Unsubscribe") || l.starts_with("Bcc")), "{head:#?}");
        assert!(
            render(EmailKind::Confirmation, &sample(Lang::It, Mode::Phone), FROM, now()).list_unsubscribe.is_none()
        );
    }

    #[test]
    fn a_bad_address_or_method_is_an_error_not_a_panic() {
        let mut e = render(EmailKind::Confirmation, &sample(Lang::It, Mode::Phone), FROM, now());
        e.to = "not an address".into();
        assert!(matches!(to_eml(&e), Err(NotifyError::Address(_))));
        let mut e = render(EmailKind::Confirmation, &sample(Lang::It, Mode::Phone), FROM, now());
        e.ics_method = Some("REQUEST\r\nBcc: x@example.org".into());
        assert!(matches!(to_eml(&e), Err(NotifyError::Invalid(_))));
    }
}
