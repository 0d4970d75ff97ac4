//! What a notification about one appointment needs to say, gathered once by the caller.

use jiff::Zoned;
use ricevo_core::{Lang, Mode};
use serde::{Deserialize, Serialize};

/// Everything an e-mail or a calendar invite about one appointment needs, already resolved
/// (names instead of ids) so rendering never has to reach the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentNotice {
    /// Calendar UID, stable across moves and cancellation, e.g. `"<public_id>@<host>"`.
    pub uid: String,
    /// Grows with every change, so calendars replace the older version of the invite.
    pub sequence: i32,
    /// The town, shown as the sender's name.
    pub tenant_name: String,
    /// The town's address for replies and the invite's organizer.
    pub tenant_email: String,
    /// The office the citizen meets.
    pub office_name: String,
    /// Where the office is, for in-person meetings.
    pub office_address: String,
    /// The service booked.
    pub service_name: String,
    /// Documents to bring; may be empty or span several lines.
    pub what_to_bring: String,
    /// When it starts, in the town's zone.
    pub start: Zoned,
    /// When it ends, in the town's zone.
    pub end: Zoned,
    /// Video, in person or phone.
    pub mode: Mode,
    /// The citizen's name as typed.
    pub citizen_name: String,
    /// Where the citizen gets the message.
    pub citizen_email: String,
    /// The citizen's page to see, move or cancel the appointment.
    pub manage_url: String,
    /// The one-click cancel page.
    pub cancel_url: String,
    /// The link to join the video call; only for video meetings.
    pub join_url: Option<String>,
    /// The citizen's language.
    pub lang: Lang,
    // ---- told by the office (booking) ----
    /// The reference code the citizen quotes (`K7M-4QP`; older appointments: their public id).
    /// Empty in messages queued before codes existed.
    #[serde(default)]
    pub reference: String,
    /// Why the office cancelled or moved the appointment, in the official's words.
    #[serde(default)]
    pub reason: Option<String>,
    /// Where the citizen books again (a cancellation by the office: the service's page).
    #[serde(default)]
    pub rebook_url: Option<String>,
    /// The nearest free times when the office cancelled, already written for people.
    #[serde(default)]
    pub rebook_times: Vec<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;

    /// A notice for a registry-office appointment on Monday 7 December 2026 at 09:00 in Rome.
    pub(crate) fn sample(lang: Lang, mode: Mode) -> AppointmentNotice {
        let start: Zoned = "2026-12-07T09:00[Europe/Rome]".parse().unwrap();
        let end: Zoned = "2026-12-07T09:20[Europe/Rome]".parse().unwrap();
        AppointmentNotice {
            uid: "a1b2c3d4@comune.example.it".into(),
            sequence: 0,
            tenant_name: "Comune di Serrastretta".into(),
            tenant_email: "protocollo@comune.example.it".into(),
            office_name: "Ufficio Anagrafe".into(),
            office_address: "Piazza Municipio 1, 88040 Serrastretta (CZ)".into(),
            service_name: "Carta d'identità elettronica".into(),
            what_to_bring: "Una fototessera recente\nLa carta d'identità scaduta".into(),
            start,
            end,
            mode,
            citizen_name: "Maria Rossi".into(),
            citizen_email: "maria.rossi@example.org".into(),
            manage_url: "https://ricevo.example.it/a/tok123".into(),
            cancel_url: "https://ricevo.example.it/a/tok123/cancel".into(),
            join_url: (mode == Mode::Video).then(|| "https://ricevo.example.it/j/tok123".to_string()),
            lang,
            reference: "K7M-4QP".into(),
            reason: None,
            rebook_url: None,
            rebook_times: Vec::new(),
        }
    }

    #[test]
    fn a_notice_survives_a_round_trip_through_json() {
        let n = sample(Lang::En, Mode::Video);
        let json = serde_json::to_string(&n).unwrap();
        let back: AppointmentNotice = serde_json::from_str(&json).unwrap();
        assert_eq!(back, n);
        assert!(json.contains("\"mode\":\"video\""), "{json}");
        assert!(json.contains("Europe/Rome"), "the zone is kept: {json}");
    }

    #[test]
    fn a_notice_queued_before_reference_codes_still_reads() {
        let mut json = serde_json::to_value(sample(Lang::It, Mode::Phone)).unwrap();
        for gone in ["reference", "reason", "rebook_url", "rebook_times"] {
            json.as_object_mut().unwrap().remove(gone);
        }
        let back: AppointmentNotice = serde_json::from_value(json).unwrap();
        assert_eq!((back.reference.as_str(), back.reason, back.rebook_times.len()), ("", None, 0));
    }
}
