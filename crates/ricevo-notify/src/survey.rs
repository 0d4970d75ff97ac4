//! What the e-mail of a survey campaign needs to say, gathered once when it is queued.

use ricevo_core::Lang;
use serde::{Deserialize, Serialize};

/// Everything a campaign's e-mail to one contact needs, already resolved: its personal
/// links hold the raw token, which lives only here (in the outbox payload, blanked once sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyNotice {
    /// Names this message for good (`campaign:<campaign>:<contact>`); the Message-ID derives from it.
    pub uid: String,
    /// The town, shown as the sender's name.
    pub tenant_name: String,
    /// The town's address for replies.
    pub tenant_email: String,
    /// The subject line, as staff wrote it.
    pub subject: String,
    /// The opening words, as staff wrote them.
    pub intro: String,
    /// The contact's name (may be empty).
    pub name: String,
    /// Where the contact gets the message.
    pub email: String,
    /// The personal link to the questionnaire.
    pub answer_url: String,
    /// The personal link to unsubscribe (also the List-Unsubscribe header, RFC 8058).
    pub unsubscribe_url: String,
    /// The contact's language.
    pub lang: Lang,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;

    /// A campaign's message to Maria.
    pub(crate) fn sample(lang: Lang) -> SurveyNotice {
        SurveyNotice {
            uid: "campaign:3:41".into(),
            tenant_name: "Comune di Prato".into(),
            tenant_email: "urp@comune.example.it".into(),
            subject: "Com'è andata con i servizi online?".into(),
            intro: "Ti chiediamo due minuti per dirci come usi i servizi online del Comune.".into(),
            name: "Maria Rossi".into(),
            email: "maria.rossi@example.org".into(),
            answer_url: "https://ricevo.example.it/prato/sondaggio/tok789".into(),
            unsubscribe_url: "https://ricevo.example.it/prato/disiscriviti/tok789".into(),
            lang,
        }
    }
}
