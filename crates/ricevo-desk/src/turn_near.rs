//! "Your turn is near" for walk-in tickets: when an official admits someone, the ticket that
//! now has [`TURN_NEAR_AHEAD`] people before it is told once, through the channel its citizen
//! can be reached on (e-mail, text message, Telegram chat) and by Web Push if they asked, in
//! the admission's own transaction.

use jiff::Timestamp;
use ricevo_core::Lang;
use ricevo_core::channel::Reach;
use ricevo_core::lobby::{self, Entry, TURN_NEAR_AHEAD};
use ricevo_notify::CitizenMessage;
use ricevo_store::NewOutboxMessage;

use crate::{Desk, DeskError};

/// The dedupe key of the "your turn is near" message of one ticket: never twice.
pub fn turn_near_key(entry: &Entry) -> String {
    format!("turn-near:{}", entry.id.0)
}

impl Desk {
    /// The outbox rows telling the ticket whose turn is now near, once `admitted` has left
    /// the queue of its office. Telling must not keep anyone out of a meeting: a failure is
    /// logged and nobody is told.
    pub(crate) async fn turn_near_rows(&self, admitted: &Entry, now: Timestamp) -> Vec<NewOutboxMessage> {
        match self.try_turn_near_rows(admitted, now).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(entry = %admitted.id.0, error = %e, "turn-near message not queued");
                Vec::new()
            }
        }
    }

    async fn try_turn_near_rows(&self, admitted: &Entry, now: Timestamp) -> Result<Vec<NewOutboxMessage>, DeskError> {
        // The office's queue as it stands once this admission is written (a town's own rows only).
        let mut entries = self.store.office_entries(admitted.tenant_id, admitted.office_id).await?;
        entries.retain(|e| e.id != admitted.id);
        let Some(near) = lobby::turn_near(&entries) else { return Ok(Vec::new()) };
        let Some(number) = near.ticket_number else { return Ok(Vec::new()) };
        let tenant = self.town_by_id(near.tenant_id).await?;
        let contact = self.store.ticket_contact(tenant.id, near.id).await?.unwrap_or_default();
        let reach =
            Reach::of(contact.email.as_deref().unwrap_or(""), contact.phone.as_deref(), None, contact.telegram_chat_id);
        let office = self.store.office(tenant.id, near.office_id).await?.map(|o| o.name).unwrap_or_default();
        // A ticket keeps no language: the town's first one (Italian unless it chose otherwise).
        let lang = tenant.languages.first().copied().unwrap_or(Lang::It);
        // The personal link is never stored in clear; the ticket's e-mail or chat holds it, and
        // this message leads to the town's page.
        let link = format!("{}/{}", self.settings.public_url.trim_end_matches('/'), tenant.slug);
        let ahead = u32::try_from(TURN_NEAR_AHEAD).unwrap_or(u32::MAX);
        let message = CitizenMessage::turn_near(lang, &tenant.name, &office, number, ahead, &link);
        let mut rows = self.citizen_message_rows(&tenant, &reach, &message, &turn_near_key(near), now).await?;
        rows.extend(self.turn_near_pushes(near, now).await);
        Ok(rows)
    }
}
