//! The outbox worker: delivers due messages, records failures with exponential backoff, and
//! never lets one bad message stop the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ricevo_core::channel::{Channel, Reach};
use ricevo_core::{Slug, TenantId};
use ricevo_store::{OutboxMessage, Store, TownChannels};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::delivery::{Mailer, Outgoing};
use crate::destination::AllowedHosts;
use crate::{ChannelSenders, NotifyError, WebhookSender};

/// How many due messages one round takes.
pub const BATCH: i64 = 50;
/// How long the worker sleeps when the outbox had nothing more to do.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// The first retry waits this long; each further one twice as long.
const BACKOFF_BASE: SignedDuration = SignedDuration::from_secs(30);
/// No retry waits longer than this.
const BACKOFF_CAP: SignedDuration = SignedDuration::from_hours(6);
/// A payload nobody can read will not become readable by retrying soon: park it far away,
/// where staff can see it in the backlog, instead of spinning on it.
const PARKED: SignedDuration = SignedDuration::from_hours(24 * 30);
/// Stored error texts are cut to this many characters.
const MAX_ERROR_CHARS: usize = 500;

/// How long to wait before the next attempt of a message that has already failed
/// `attempts` times: 30 s, 1 min, 2 min, ... at most 6 h.
pub fn backoff(attempts: i32) -> SignedDuration {
    // 2^10 * 30 s is past the cap already, so larger exponents need not be computed.
    let exponent = attempts.clamp(0, 10);
    let wait = BACKOFF_BASE.checked_mul(1 << exponent).unwrap_or(BACKOFF_CAP);
    wait.min(BACKOFF_CAP)
}

/// What happened to one message.
enum Outcome {
    /// Handed to the mail system or accepted by the webhook receiver.
    Delivered,
    /// Nothing to deliver any more (the webhook subscription was deleted).
    Obsolete,
}

/// Delivers the outbox: e-mails through the [`Mailer`], webhooks over HTTP.
#[derive(Debug)]
pub struct Worker {
    store: Arc<dyn Store>,
    mailer: Mailer,
    webhooks: WebhookSender,
    /// Each town's slug, which names its outbox folder; towns are few and slugs never change,
    /// so they are read once and again only for a town not seen yet.
    towns: Mutex<HashMap<TenantId, Slug>>,
    /// App IO, SMS and Telegram.
    channels: Option<ChannelSenders>,
}

impl Worker {
    /// A worker whose webhooks reach public addresses only.
    pub fn new(store: Arc<dyn Store>, mailer: Mailer) -> Result<Worker, NotifyError> {
        Ok(Worker::with_webhooks(store, mailer, WebhookSender::new(AllowedHosts::default())?))
    }

    /// A worker sending webhooks through `webhooks` (with the configuration's allowed hosts).
    pub fn with_webhooks(store: Arc<dyn Store>, mailer: Mailer, webhooks: WebhookSender) -> Worker {
        Worker { store, mailer, webhooks, towns: Mutex::new(HashMap::new()), channels: None }
    }

    /// This worker sending citizens' messages on App IO, SMS and Telegram through `channels`
    /// (without them, only their e-mail leg is tried).
    pub fn with_channels(mut self, channels: ChannelSenders) -> Worker {
        self.channels = Some(channels);
        self
    }

    /// The slug of the town an outbox message belongs to.
    async fn town_of(&self, tenant: TenantId) -> Result<Slug, NotifyError> {
        if let Some(slug) = self.known_town(tenant) {
            return Ok(slug);
        }
        let mut read = HashMap::new();
        for t in self.store.tenants().await? {
            // Slugs are checked when a town is created; one that is not would not be a safe
            // folder name, so its e-mails fail (visibly) instead of landing somewhere else.
            if let Ok(slug) = Slug::parse(&t.slug) {
                read.insert(t.id, slug);
            }
        }
        let found = read.get(&tenant).cloned();
        if let Ok(mut towns) = self.towns.lock() {
            *towns = read;
        }
        found.ok_or_else(|| NotifyError::Invalid(format!("town {tenant} has no usable slug for its outbox folder")))
    }

    fn known_town(&self, tenant: TenantId) -> Option<Slug> {
        self.towns.lock().ok().and_then(|towns| towns.get(&tenant).cloned())
    }

    /// Delivers up to [`BATCH`] messages due at `now`, one after the other; returns how many it
    /// handled (delivered, dropped as obsolete, or failed and rescheduled: after [`backoff`], or
    /// after weeks when the failure is permanent). Only a failing database stops the round early.
    pub async fn run_once(&self, now: Timestamp) -> Result<usize, NotifyError> {
        let due = self.store.due_outbox(now, BATCH).await?;
        let count = due.len();
        let mut sent = Vec::with_capacity(count);
        let mut result = Ok(());
        for message in due {
            if let Err(e) = self.handle(&message, now, &mut sent).await {
                result = Err(e);
                break;
            }
        }
        // One transaction marks the round's deliveries: on SQLite each commit is an fsync, and
        // bookings share the writer. A crash before this line redelivers the round; e-mails
        // keep their Message-ID and the outbox folder their file name, so copies are recognisable.
        self.store.outbox_sent(&sent, now).await?;
        result.map(|()| count)
    }

    async fn handle(&self, message: &OutboxMessage, now: Timestamp, sent: &mut Vec<i64>) -> Result<(), NotifyError> {
        let outgoing = match Outgoing::from_payload(&message.payload) {
            Ok(outgoing) => outgoing,
            Err(e) => {
                warn!(id = message.id, kind = %message.kind, error = %e, "outbox message cannot be read; parked");
                let retry_at = now.checked_add(PARKED).unwrap_or(Timestamp::MAX);
                self.store.outbox_failed(message.id, &truncate(&e.to_string()), retry_at).await?;
                return Ok(());
            }
        };
        match self.deliver(message, &outgoing, now).await {
            Ok(Outcome::Delivered) => {
                debug!(id = message.id, kind = outgoing.kind(), "outbox message delivered");
                sent.push(message.id);
            }
            Ok(Outcome::Obsolete) => sent.push(message.id),
            Err(e) => {
                // A message that can never be delivered is parked, not retried every 6 hours;
                // it stays in the backlog, with its error, for staff to see.
                let wait = if e.is_permanent() { PARKED } else { backoff(message.attempts) };
                let retry_at = now.checked_add(wait).unwrap_or(Timestamp::MAX);
                warn!(
                    id = message.id,
                    kind = outgoing.kind(),
                    attempts = message.attempts + 1,
                    error = %e,
                    permanent = e.is_permanent(),
                    retry_in_s = wait.as_secs(),
                    "outbox delivery failed"
                );
                self.store.outbox_failed(message.id, &truncate(&e.to_string()), retry_at).await?;
                // A survey campaign shows its bounces per recipient.
                if e.is_permanent() && ricevo_core::campaign::parse_dedupe_key(&message.dedupe_key).is_some() {
                    let error = truncate(&e.to_string());
                    self.store.campaign_bounced(message.tenant_id, &message.dedupe_key, &error, now).await?;
                }
            }
        }
        Ok(())
    }

    async fn deliver(
        &self,
        message: &OutboxMessage,
        outgoing: &Outgoing,
        now: Timestamp,
    ) -> Result<Outcome, NotifyError> {
        match outgoing {
            Outgoing::Email(email) => {
                self.mailer.send(&self.town_of(message.tenant_id).await?, email).await?;
                Ok(Outcome::Delivered)
            }
            Outgoing::Notice { email, notice, from } => {
                let town = self.town_of(message.tenant_id).await?;
                self.mailer.send(&town, &crate::render(*email, notice, from, now)).await?;
                Ok(Outcome::Delivered)
            }
            Outgoing::Ticket { ticket, from } => {
                let town = self.town_of(message.tenant_id).await?;
                self.mailer.send(&town, &crate::render_ticket(ticket, from)).await?;
                Ok(Outcome::Delivered)
            }
            Outgoing::Survey { survey, from } => {
                let town = self.town_of(message.tenant_id).await?;
                self.mailer.send(&town, &crate::render_survey(survey, from)).await?;
                Ok(Outcome::Delivered)
            }
            Outgoing::Webhook { webhook_id, event_id, body } => match self.store.webhook(*webhook_id).await? {
                // A subscription of another town must never receive this town's events.
                Some(hook) if hook.tenant_id == message.tenant_id => {
                    self.webhooks.deliver(&hook.url, &hook.secret, event_id, body, now).await?;
                    Ok(Outcome::Delivered)
                }
                _ => {
                    info!(id = message.id, webhook_id, event_id = %event_id, "webhook subscription is gone; event dropped");
                    Ok(Outcome::Obsolete)
                }
            },
            // ---- channels ----
            Outgoing::Citizen { message: m, route, reach, email } => {
                self.deliver_citizen(message, m, route, reach, email.as_deref(), now).await
            } // ---- end channels ----
        }
    }

    // ---- channels ----
    /// Tries the route's channels in order: the first that takes the message delivers it; a
    /// refusal for this citizen passes to the next; a channel that is down stops the attempt
    /// (the message is tried again later, from the first channel). Every refusal is in the
    /// error of a message no channel took.
    async fn deliver_citizen(
        &self,
        message: &OutboxMessage,
        m: &crate::CitizenMessage,
        route: &[Channel],
        reach: &Reach,
        email: Option<&Outgoing>,
        now: Timestamp,
    ) -> Result<Outcome, NotifyError> {
        let mut refusals = Vec::new();
        let mut settings = None;
        for &channel in route {
            if channel != Channel::Email && settings.is_none() {
                settings = Some(
                    self.store
                        .town_channels(message.tenant_id)
                        .await?
                        .unwrap_or_else(|| TownChannels::none(message.tenant_id)),
                );
            }
            let tried = match (channel, settings.as_ref()) {
                (Channel::Email, _) => match email {
                    Some(e) => self.deliver_email(message, e, now).await,
                    None => Err(NotifyError::Refused("no e-mail address".into())),
                },
                (_, Some(town)) => self.deliver_on(channel, town, reach, m).await,
                (_, None) => Err(NotifyError::Refused("no settings".into())),
            };
            match tried {
                Ok(()) => {
                    debug!(id = message.id, channel = channel.as_str(), "citizen message delivered");
                    return Ok(Outcome::Delivered);
                }
                Err(e) if e.is_permanent() => {
                    info!(id = message.id, channel = channel.as_str(), error = %e, "channel refused; trying the next");
                    refusals.push(format!("{}: {e}", channel.as_str()));
                }
                Err(e) => {
                    return Err(NotifyError::Unavailable(format!("{}: {e}", channel.as_str())));
                }
            }
        }
        if refusals.is_empty() {
            refusals.push("no channel reaches this citizen".into());
        }
        Err(NotifyError::Refused(refusals.join("; ")))
    }

    /// The e-mail leg of a citizen's message.
    async fn deliver_email(
        &self,
        message: &OutboxMessage,
        email: &Outgoing,
        now: Timestamp,
    ) -> Result<(), NotifyError> {
        let town = self.town_of(message.tenant_id).await?;
        match email {
            Outgoing::Email(e) => self.mailer.send(&town, e).await,
            Outgoing::Notice { email, notice, from } => {
                self.mailer.send(&town, &crate::render(*email, notice, from, now)).await
            }
            Outgoing::Ticket { ticket, from } => self.mailer.send(&town, &crate::render_ticket(ticket, from)).await,
            Outgoing::Survey { survey, from } => self.mailer.send(&town, &crate::render_survey(survey, from)).await,
            Outgoing::Webhook { .. } | Outgoing::Citizen { .. } => {
                Err(NotifyError::Invalid("a citizen's e-mail leg is not an e-mail".into()))
            }
        }
    }

    /// One channel besides e-mail, with the town's own settings (never another town's).
    async fn deliver_on(
        &self,
        channel: Channel,
        town: &TownChannels,
        reach: &Reach,
        m: &crate::CitizenMessage,
    ) -> Result<(), NotifyError> {
        let Some(senders) = &self.channels else {
            return Err(NotifyError::Refused("this server does not send on this channel".into()));
        };
        if !town.enabled().contains(&channel) {
            return Err(NotifyError::Refused("the town switched this channel off".into()));
        }
        match channel {
            Channel::AppIo => {
                let (Some(key), Some(cf)) = (town.app_io_key.as_deref(), reach.fiscal_code.as_deref()) else {
                    return Err(NotifyError::Refused("no service key or fiscal code".into()));
                };
                senders.app_io(key, cf, m).await.map(|_| ())
            }
            Channel::Sms => {
                let Some(phone) = &reach.phone else { return Err(NotifyError::Refused("no phone number".into())) };
                senders.sms(&town.sms, phone, &m.short).await
            }
            Channel::Telegram => {
                let Some(chat) = reach.telegram_chat else {
                    return Err(NotifyError::Refused("no Telegram chat".into()));
                };
                let token =
                    town.telegram_bot_token.as_deref().filter(|t| !t.is_empty()).or(senders.instance_bot_token());
                let Some(token) = token else { return Err(NotifyError::Refused("no Telegram bot".into())) };
                senders.telegram(token, chat.0, &m.short).await
            }
            Channel::Email => Err(NotifyError::Invalid("e-mail is not sent here".into())),
        }
    }
    // ---- end channels ----

    /// Runs rounds until `shutdown` becomes true (or its sender is dropped): at once again
    /// after a full batch, otherwise after [`POLL_INTERVAL`].
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        info!("outbox worker started");
        loop {
            if *shutdown.borrow_and_update() {
                break;
            }
            let handled = match self.run_once(Timestamp::now()).await {
                Ok(n) => n,
                Err(e) => {
                    warn!(error = %e, "outbox round failed");
                    0
                }
            };
            if handled as i64 >= BATCH {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(POLL_INTERVAL) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        info!("outbox worker stopped");
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(MAX_ERROR_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_up_to_six_hours() {
        assert_eq!(backoff(0), SignedDuration::from_secs(30));
        assert_eq!(backoff(1), SignedDuration::from_secs(60));
        assert_eq!(backoff(2), SignedDuration::from_secs(120));
        assert_eq!(backoff(5), SignedDuration::from_secs(960));
        assert_eq!(backoff(9), SignedDuration::from_secs(15_360));
        assert_eq!(backoff(10), SignedDuration::from_hours(6));
        assert_eq!(backoff(11), SignedDuration::from_hours(6));
        assert_eq!(backoff(i32::MAX), SignedDuration::from_hours(6));
        assert_eq!(backoff(-3), SignedDuration::from_secs(30), "a corrupt count still waits");
    }

    #[test]
    fn stored_errors_are_cut_short() {
        assert_eq!(truncate(&"è".repeat(2000)).chars().count(), MAX_ERROR_CHARS);
        assert_eq!(truncate("short"), "short");
    }
}
