//! Calendar invitations (RFC 5545 with the iTIP methods of RFC 5546) for one appointment.
//!
//! Every version of an appointment shares one UID and carries a growing SEQUENCE, so a
//! calendar that received the first invite updates or removes that same entry later.

use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};
use jiff::Timestamp;
use ricevo_core::{Lang, Mode};

use crate::AppointmentNotice;

/// The iTIP method of an invite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A new or changed appointment: calendars add or update the entry.
    Request,
    /// A cancelled appointment: calendars remove the entry.
    Cancel,
}

impl Method {
    /// The spelling used in `METHOD:` and in the MIME `method=` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }
}

/// Formats an instant as an iCalendar UTC date-time (`20261207T080000Z`).
fn utc(ts: Timestamp) -> String {
    ts.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Makes a value safe inside a quoted parameter such as `CN`, where quotes and line breaks
/// cannot be escaped at all.
fn param_text(s: &str) -> String {
    s.chars().map(|c| if c == '"' || c.is_control() { ' ' } else { c }).collect::<String>().trim().to_string()
}

/// Builds the `.ics` text (CRLF lines, folded at 75 octets) for `n` with the given method.
pub fn invite(n: &AppointmentNotice, method: Method, now: Timestamp) -> String {
    let mut event = Event::new();
    event
        .uid(&n.uid)
        .sequence(u32::try_from(n.sequence).unwrap_or(0))
        .timestamp_utc(now)
        .add_property("DTSTART", utc(n.start.timestamp()))
        .add_property("DTEND", utc(n.end.timestamp()))
        .summary(&summary(n))
        .description(&description(n))
        .url(&n.manage_url)
        .status(match method {
            Method::Request => EventStatus::Confirmed,
            Method::Cancel => EventStatus::Cancelled,
        })
        .append_property(
            Property::new("ORGANIZER", format!("mailto:{}", n.tenant_email))
                .add_parameter("CN", &param_text(&n.tenant_name))
                .done(),
        );
    // A citizen without e-mail (booked with a phone number) is no mailto: attendee.
    if !n.citizen_email.trim().is_empty() {
        event.append_multi_property(
            Property::new("ATTENDEE", format!("mailto:{}", n.citizen_email))
                .add_parameter("CN", &param_text(&n.citizen_name))
                .add_parameter("ROLE", "REQ-PARTICIPANT")
                // The citizen booked it, so there is nothing to accept and no reply to send.
                .add_parameter("PARTSTAT", "ACCEPTED")
                .add_parameter("RSVP", "FALSE")
                .done(),
        );
    }
    match n.mode {
        Mode::InPerson => {
            event.location(&n.office_address);
        }
        Mode::Video => {
            if let Some(join) = &n.join_url {
                event.location(join);
            }
        }
        Mode::Phone => {}
    }

    let mut cal = Calendar::empty();
    cal.append_property(("PRODID", "-//Ricevo//Ricevo//IT"))
        .append_property(("VERSION", "2.0"))
        .append_property(("CALSCALE", "GREGORIAN"))
        .append_property(("METHOD", method.as_str()))
        .push(event.done());
    cal.to_string()
}

/// The event's title: what, where, and the reference code to quote.
fn summary(n: &AppointmentNotice) -> String {
    match n.reference.trim() {
        "" => format!("{} – {}", n.service_name, n.office_name),
        code => format!("{} – {} ({code})", n.service_name, n.office_name),
    }
}

/// The event's notes: what, where, the reference code and the link to manage it.
fn description(n: &AppointmentNotice) -> String {
    let mut lines = Vec::new();
    if !n.reference.trim().is_empty() {
        lines.push(match n.lang {
            Lang::It => format!("Codice: {}", n.reference.trim()),
            Lang::En => format!("Reference: {}", n.reference.trim()),
        });
    }
    match n.lang {
        Lang::It => {
            lines.push(format!("{} – {}", n.service_name, n.office_name));
            match n.mode {
                Mode::InPerson => lines.push(format!("In presenza: {}", n.office_address)),
                Mode::Video => lines.push(format!("Videochiamata: {}", n.join_url.as_deref().unwrap_or(&n.manage_url))),
                Mode::Phone => lines.push("Al telefono: sarà l'ufficio a chiamarti.".into()),
            }
            if !n.what_to_bring.trim().is_empty() {
                lines.push(format!("Cosa portare: {}", n.what_to_bring.trim()));
            }
            lines.push(format!("Gestisci o annulla: {}", n.manage_url));
        }
        Lang::En => {
            lines.push(format!("{} – {}", n.service_name, n.office_name));
            match n.mode {
                Mode::InPerson => lines.push(format!("In person: {}", n.office_address)),
                Mode::Video => lines.push(format!("Video call: {}", n.join_url.as_deref().unwrap_or(&n.manage_url))),
                Mode::Phone => lines.push("By phone: the office will call you.".into()),
            }
            if !n.what_to_bring.trim().is_empty() {
                lines.push(format!("What to bring: {}", n.what_to_bring.trim()));
            }
            lines.push(format!("Manage or cancel: {}", n.manage_url));
        }
    }
    lines.join("\n")
}

/// Sets DTSTAMP from a jiff instant without going through chrono.
trait TimestampUtc {
    /// Sets DTSTAMP to `now`.
    fn timestamp_utc(&mut self, now: Timestamp) -> &mut Self;
}

impl TimestampUtc for Event {
    fn timestamp_utc(&mut self, now: Timestamp) -> &mut Self {
        self.add_property("DTSTAMP", utc(now))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::appointment::tests::sample;

    fn now() -> Timestamp {
        "2026-11-20T10:15:30Z".parse().unwrap()
    }

    /// Unfolds content lines (RFC 5545 §3.1) and returns them without their CRLF.
    fn unfolded(ics: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for raw in ics.split("\r\n") {
            if let Some(rest) = raw.strip_prefix(' ') {
                out.last_mut().unwrap().push_str(rest);
            } else if !raw.is_empty() {
                out.push(raw.to_string());
            }
        }
        out
    }

    fn value<'a>(lines: &'a [String], name: &str) -> Vec<&'a str> {
        lines
            .iter()
            .filter_map(|l| {
                let (head, value) = l.split_once(':')?;
                (head == name || head.starts_with(&format!("{name};"))).then_some(value)
            })
            .collect()
    }

    #[test]
    fn a_request_carries_method_uid_sequence_and_utc_times() {
        let mut n = sample(Lang::It, Mode::InPerson);
        n.sequence = 2;
        let ics = invite(&n, Method::Request, now());
        let lines = unfolded(&ics);
        assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
        assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
        assert_eq!(value(&lines, "METHOD"), ["REQUEST"]);
        assert_eq!(value(&lines, "VERSION"), ["2.0"]);
        assert_eq!(value(&lines, "UID"), ["a1b2c3d4@comune.example.it"]);
        assert_eq!(value(&lines, "SEQUENCE"), ["2"]);
        // 09:00 in Rome in December (CET, UTC+1) is 08:00 UTC.
        assert_eq!(value(&lines, "DTSTART"), ["20261207T080000Z"]);
        assert_eq!(value(&lines, "DTEND"), ["20261207T082000Z"]);
        assert_eq!(value(&lines, "DTSTAMP"), ["20261120T101530Z"]);
        assert_eq!(value(&lines, "STATUS"), ["CONFIRMED"]);
        assert_eq!(value(&lines, "SUMMARY"), ["Carta d'identità elettronica – Ufficio Anagrafe (K7M-4QP)"]);
        // A comma in a TEXT value is escaped.
        assert_eq!(value(&lines, "LOCATION"), [r"Piazza Municipio 1\, 88040 Serrastretta (CZ)"]);
        assert!(lines.iter().any(|l| l == "ORGANIZER;CN=Comune di Serrastretta:mailto:protocollo@comune.example.it"));
        let attendee = value(&lines, "ATTENDEE");
        assert_eq!(attendee, ["mailto:maria.rossi@example.org"]);
        assert!(lines.iter().any(|l| l.starts_with("ATTENDEE;") && l.contains("CN=Maria Rossi")));
        let description = value(&lines, "DESCRIPTION").concat();
        assert!(description.contains("https://ricevo.example.it/a/tok123"), "{description}");
        assert!(description.contains(r"\n"), "line breaks are escaped: {description}");
    }

    #[test]
    fn a_cancellation_keeps_the_uid_and_says_cancelled() {
        let mut n = sample(Lang::En, Mode::Phone);
        n.sequence = 3;
        let lines = unfolded(&invite(&n, Method::Cancel, now()));
        assert_eq!(value(&lines, "METHOD"), ["CANCEL"]);
        assert_eq!(value(&lines, "STATUS"), ["CANCELLED"]);
        assert_eq!(value(&lines, "UID"), ["a1b2c3d4@comune.example.it"]);
        assert_eq!(value(&lines, "SEQUENCE"), ["3"]);
        assert!(value(&lines, "LOCATION").is_empty(), "a phone call has no place");
    }

    #[test]
    fn a_video_invite_puts_the_join_link_in_the_location() {
        let n = sample(Lang::En, Mode::Video);
        let lines = unfolded(&invite(&n, Method::Request, now()));
        assert_eq!(value(&lines, "LOCATION"), [r"https://ricevo.example.it/j/tok123"]);
    }

    #[test]
    fn every_line_ends_in_crlf_and_fits_in_75_octets() {
        let mut n = sample(Lang::It, Mode::InPerson);
        // Long values with multi-byte letters force folding in the middle of text.
        n.what_to_bring = "Documento d'identità valido, codice fiscale, ricevuta di pagamento è già là ".repeat(8);
        n.office_address = "Via dell'Università àèìòù ".repeat(6);
        n.citizen_name = "Maria \"la \u{7}bella\" Rossi".into();
        let ics = invite(&n, Method::Request, now());
        assert!(ics.ends_with("\r\n"));
        let body = ics.strip_suffix("\r\n").unwrap();
        assert!(!body.replace("\r\n", "").contains('\n'), "no bare LF");
        assert!(!body.replace("\r\n", "").contains('\r'), "no bare CR");
        let mut folded = 0;
        for line in body.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
            folded += usize::from(line.starts_with(' '));
        }
        assert!(folded > 5, "long values were folded");
        let lines = unfolded(&ics);
        let location = value(&lines, "LOCATION").concat();
        assert_eq!(location, n.office_address, "folding loses nothing");
        assert!(lines.iter().any(|l| l.starts_with("ATTENDEE;") && l.contains("CN=Maria  la  bella  Rossi")));
    }
}
