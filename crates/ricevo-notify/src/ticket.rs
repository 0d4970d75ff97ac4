//! What the e-mail about a walk-in ticket needs to say, gathered once by the caller.

use ricevo_core::Lang;
use serde::{Deserialize, Serialize};

/// Everything the e-mail of a walk-in desk's ticket needs, already resolved, so rendering
/// never has to reach the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketNotice {
    /// Names this ticket for good (office, day and number); the Message-ID derives from it.
    pub uid: String,
    /// The town, shown as the sender's name.
    pub tenant_name: String,
    /// The town's address for replies.
    pub tenant_email: String,
    /// The office whose desk gave the ticket.
    pub office_name: String,
    /// The number of the day at that office.
    pub ticket_number: i32,
    /// The citizen's name as typed.
    pub citizen_name: String,
    /// Where the citizen gets the message.
    pub citizen_email: String,
    /// The citizen's personal link to the virtual waiting room.
    pub join_url: String,
    /// The citizen's language.
    pub lang: Lang,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;

    /// Ticket 7 of the registry office's walk-in desk.
    pub(crate) fn sample(lang: Lang) -> TicketNotice {
        TicketNotice {
            uid: "ticket:3:2026-11-30:7".into(),
            tenant_name: "Comune di Serrastretta".into(),
            tenant_email: "protocollo@comune.example.it".into(),
            office_name: "Ufficio Anagrafe".into(),
            ticket_number: 7,
            citizen_name: "Maria Rossi".into(),
            citizen_email: "maria.rossi@example.org".into(),
            join_url: "https://ricevo.example.it/a/tok456/join".into(),
            lang,
        }
    }

    #[test]
    fn a_ticket_notice_survives_a_round_trip_through_json() {
        let n = sample(Lang::It);
        let back: TicketNotice = serde_json::from_str(&serde_json::to_string(&n).unwrap()).unwrap();
        assert_eq!(back, n);
    }
}
