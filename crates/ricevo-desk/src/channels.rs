//! Telling a citizen something on the channel that reaches them (issue 15): the town's order of
//! preference and enabled channels (`ricevo_store::TownChannels`), what the citizen gave
//! (`ricevo_core::channel::Reach`), and one outbox row that the worker tries channel by channel.

use jiff::Timestamp;
use ricevo_core::channel::{Channel, Reach, route};
use ricevo_notify::citizen_message::render_email;
use ricevo_notify::{CitizenMessage, Outgoing};
use ricevo_store::{NewOutboxMessage, Tenant, TownChannels};

use crate::{Desk, DeskError};

impl Desk {
    /// The town's channel settings (e-mail only when it configured none).
    pub async fn town_channels(&self, tenant: &Tenant) -> Result<TownChannels, DeskError> {
        Ok(self.store.town_channels(tenant.id).await?.unwrap_or_else(|| TownChannels::none(tenant.id)))
    }

    /// The channels a message to `reach` tries, in order.
    pub async fn route_for(&self, tenant: &Tenant, reach: &Reach) -> Result<Vec<Channel>, DeskError> {
        let town = self.town_channels(tenant).await?;
        Ok(route(&town.order, &town.enabled(), reach))
    }

    /// Outbox rows telling the citizen `message` on the first channel of the route that
    /// works (fallback at delivery: App IO refused -> next channel). Written by the caller in
    /// the same transaction as the change. `dedupe_key` makes it never twice.
    pub async fn citizen_message_rows(
        &self,
        tenant: &Tenant,
        reach: &Reach,
        message: &CitizenMessage,
        dedupe_key: &str,
        due_at: Timestamp,
    ) -> Result<Vec<NewOutboxMessage>, DeskError> {
        let email = reach.email.as_deref().map(|to| {
            let uid = format!("{}:{dedupe_key}", tenant.slug);
            Outgoing::Email(render_email(message, "", to, &tenant.contact_email, &self.mail_from(tenant), &uid))
        });
        self.routed_rows(tenant, reach, message, email, dedupe_key, due_at, false).await
    }

    /// The rows of [`Desk::citizen_message_rows`] with the e-mail Ricevo sends on the e-mail
    /// leg given (an appointment's, with its calendar invite). When the route starts with
    /// e-mail, the row is that e-mail alone, exactly as before channels existed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn routed_rows(
        &self,
        tenant: &Tenant,
        reach: &Reach,
        message: &CitizenMessage,
        email: Option<Outgoing>,
        dedupe_key: &str,
        due_at: Timestamp,
        retractable: bool,
    ) -> Result<Vec<NewOutboxMessage>, DeskError> {
        let route = self.route_for(tenant, reach).await?;
        let payload = |o: &Outgoing| o.to_payload().map_err(|e| DeskError::Internal(e.to_string()));
        let row = match (route.first(), email) {
            (None, _) => return Ok(Vec::new()),
            (Some(Channel::Email), Some(email)) => NewOutboxMessage {
                kind: email.kind().into(),
                dedupe_key: dedupe_key.to_owned(),
                payload: payload(&email)?,
                due_at,
                retractable,
            },
            (Some(_), email) => {
                let routed = Outgoing::Citizen {
                    message: Box::new(message.clone()),
                    route,
                    reach: reach.clone(),
                    email: email.map(Box::new),
                };
                NewOutboxMessage {
                    kind: routed.kind().into(),
                    dedupe_key: dedupe_key.to_owned(),
                    payload: payload(&routed)?,
                    due_at,
                    retractable,
                }
            }
        };
        Ok(vec![row])
    }
}
