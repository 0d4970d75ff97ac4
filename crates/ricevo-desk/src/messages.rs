//! What the desk tells citizens and a town's systems about an appointment: the e-mail, the
//! reminder and one webhook per subscription, written to the outbox in the same transaction as
//! the change they announce.

use jiff::{SignedDuration, Timestamp};
use ricevo_core::Mode;
use ricevo_core::channel::Reach;
use ricevo_notify::{AppointmentNotice, CitizenMessage, EmailKind, Outgoing};
use ricevo_store::{Appointment, NewOutboxMessage, Office, Service, Tenant};

use crate::town::{rfc3339, zone_of};
use crate::{Desk, DeskError};

/// The citizen's links for one appointment.
#[derive(Debug, Clone)]
pub struct Links {
    /// View, cancel, move.
    pub manage: String,
    /// One-click cancel (asks for confirmation, never cancels on GET).
    pub cancel: String,
    /// Video meeting.
    pub join: Option<String>,
    /// Calendar file.
    pub ics: String,
}

impl Links {
    /// No links: for messages caused by the office, which holds only the token's hash.
    pub fn none() -> Links {
        Links { manage: String::new(), cancel: String::new(), join: None, ics: String::new() }
    }

    /// The links a token opens under `base` (the public URL).
    pub fn new(base: &str, token: &str, mode: Mode) -> Links {
        Links {
            manage: token_link(base, token, ""),
            cancel: token_link(base, token, "/cancel"),
            join: (mode == Mode::Video).then(|| token_link(base, token, "/join")),
            ics: token_link(base, token, "/invite.ics"),
        }
    }
}

/// The address of a link token's page `rest` (`""`, `"/join"`, ...) under `base`, the public
/// or a node's URL; a `base` ending in `/` gives no double slash.
pub fn token_link(base: &str, token: &str, rest: &str) -> String {
    format!("{}/a/{token}{rest}", base.trim_end_matches('/'))
}

/// What happened to an appointment, for the messages that announce it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Booked.
    Created,
    /// Moved to another time.
    Moved,
    /// Cancelled.
    Cancelled,
}

impl Change {
    fn event(self) -> &'static str {
        match self {
            Change::Created => "appointment.created",
            Change::Moved => "appointment.moved",
            Change::Cancelled => "appointment.cancelled",
        }
    }
}

// ---- what the office tells the citizen (booking) ----

/// What an official adds to the message about a change they made: why, and where to book
/// again with the nearest free times (for a cancellation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Told {
    /// The official's reason, as the citizen reads it.
    pub reason: Option<String>,
    /// Where the citizen books again.
    pub rebook_url: Option<String>,
    /// The nearest free times, written for people.
    pub rebook_times: Vec<String>,
}

/// Everything an e-mail about `appointment` needs.
pub fn notice(
    tenant: &Tenant,
    office: &Office,
    service: &Service,
    a: &Appointment,
    links: &Links,
) -> AppointmentNotice {
    let zone = zone_of(tenant);
    AppointmentNotice {
        uid: format!("{}@ricevo", a.public_id),
        sequence: a.sequence,
        tenant_name: tenant.name.clone(),
        tenant_email: tenant.contact_email.clone(),
        office_name: office.name.clone(),
        office_address: office.address.clone(),
        service_name: service.name.clone(),
        what_to_bring: service.what_to_bring.clone(),
        start: a.start.to_zoned(zone.clone()),
        end: a.end.to_zoned(zone),
        mode: a.mode,
        citizen_name: a.citizen_name.clone(),
        citizen_email: a.citizen_email.clone(),
        manage_url: links.manage.clone(),
        cancel_url: links.cancel.clone(),
        join_url: links.join.clone(),
        lang: a.lang,
        reference: a.public_id.clone(),
        reason: None,
        rebook_url: None,
        rebook_times: Vec::new(),
    }
}

impl Desk {
    /// The links a citizen's token opens.
    pub fn links(&self, token: &str, mode: Mode) -> Links {
        Links::new(&self.settings.public_url, token, mode)
    }

    /// The From address of a town's e-mails: the instance's sending address if configured,
    /// else the town's own.
    pub fn mail_from(&self, tenant: &Tenant) -> String {
        self.settings.mail_from.clone().unwrap_or_else(|| tenant.contact_email.clone())
    }

    /// The outbox rows announcing a change: the e-mail, a reminder if the meeting is far
    /// enough ahead, and one webhook per subscription.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn announcements(
        &self,
        tenant: &Tenant,
        office: &Office,
        service: &Service,
        a: &Appointment,
        links: &Links,
        change: Change,
        now: Timestamp,
    ) -> Result<Vec<NewOutboxMessage>, DeskError> {
        self.announcements_told(tenant, office, service, a, links, change, &Told::default(), now).await
    }

    /// [`Desk::announcements`] with what the office tells the citizen, on the channel that
    /// reaches them (`crate::channels`): the e-mail with its calendar invite when e-mail comes
    /// first, else App IO, SMS or Telegram with the others as fallbacks. The webhooks always go.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn announcements_told(
        &self,
        tenant: &Tenant,
        office: &Office,
        service: &Service,
        a: &Appointment,
        links: &Links,
        change: Change,
        told: &Told,
        now: Timestamp,
    ) -> Result<Vec<NewOutboxMessage>, DeskError> {
        let mut n = notice(tenant, office, service, a, links);
        n.reason = told.reason.clone();
        n.rebook_url = told.rebook_url.clone();
        n.rebook_times = told.rebook_times.clone();
        let from = self.mail_from(tenant);
        let mut out = Vec::new();
        let reach =
            Reach::of(&a.citizen_email, a.citizen_phone.as_deref(), a.fiscal_code.as_deref(), a.telegram_chat_id);
        self.citizen_messages(&mut out, tenant, &reach, a, &n, &from, change, now).await?;
        self.webhook_rows(&mut out, tenant, a, change, now).await?;
        Ok(out)
    }

    // The message about a change and, ahead of a meeting still to come, its reminder, each
    // along the citizen's route; the e-mail leg is the e-mail Ricevo always sent.
    #[allow(clippy::too_many_arguments)]
    async fn citizen_messages(
        &self,
        out: &mut Vec<NewOutboxMessage>,
        tenant: &Tenant,
        reach: &Reach,
        a: &Appointment,
        n: &AppointmentNotice,
        from: &str,
        change: Change,
        now: Timestamp,
    ) -> Result<(), DeskError> {
        let (kind, message) = match change {
            Change::Created => (EmailKind::Confirmation, CitizenMessage::confirmation(n)),
            Change::Moved => (EmailKind::Moved, CitizenMessage::moved(n)),
            Change::Cancelled => (EmailKind::Cancelled, CitizenMessage::cancelled(n)),
        };
        let email = |kind: EmailKind, notice: &AppointmentNotice| {
            reach.email.as_ref().map(|_| Outgoing::Notice {
                email: kind,
                notice: Box::new(notice.clone()),
                from: from.to_owned(),
            })
        };
        let key = format!("{}:{}:{}", a.public_id, kind.as_str(), a.sequence);
        out.extend(self.routed_rows(tenant, reach, &message, email(kind, n), &key, now, false).await?);
        let remind_at = a.start - SignedDuration::from_hours(i64::from(self.settings.reminder_hours));
        if change != Change::Cancelled && remind_at > now {
            // A reminder does not repeat why the appointment was moved.
            let plain = AppointmentNotice { reason: None, ..n.clone() };
            let key = format!("{}:reminder:{}", a.public_id, a.sequence);
            let reminder = CitizenMessage::reminder(&plain);
            out.extend(
                self.routed_rows(tenant, reach, &reminder, email(EmailKind::Reminder, &plain), &key, remind_at, true)
                    .await?,
            );
        }
        Ok(())
    }

    // One webhook row per subscription of the town.
    async fn webhook_rows(
        &self,
        out: &mut Vec<NewOutboxMessage>,
        tenant: &Tenant,
        a: &Appointment,
        change: Change,
        now: Timestamp,
    ) -> Result<(), DeskError> {
        let zone = zone_of(tenant);
        for hook in self.webhooks(tenant).await?.iter() {
            let event_id = format!("{}:{}:{}", a.public_id, change.event(), a.sequence);
            let body = serde_json::json!({
                "id": event_id,
                "type": change.event(),
                "created_at": now.to_string(),
                "tenant": tenant.slug,
                "appointment": {
                    "id": a.public_id,
                    "service_id": a.service_id,
                    "office_id": a.office_id,
                    "status": if change == Change::Cancelled { "cancelled" } else { "booked" },
                    "start": rfc3339(&a.start.to_zoned(zone.clone())),
                    "end": rfc3339(&a.end.to_zoned(zone.clone())),
                    "mode": a.mode,
                }
            });
            let outgoing =
                Outgoing::Webhook { webhook_id: hook.id, event_id: event_id.clone(), body: body.to_string() };
            out.push(NewOutboxMessage {
                kind: "webhook".into(),
                dedupe_key: format!("{event_id}:hook{}", hook.id),
                payload: outgoing.to_payload().map_err(|e| DeskError::Internal(e.to_string()))?,
                due_at: now,
                retractable: false,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::token_link;

    #[test]
    fn token_links_have_one_slash_whatever_the_base_ends_with() {
        assert_eq!(token_link("https://comune.example", "t0k", "/join"), "https://comune.example/a/t0k/join");
        assert_eq!(token_link("https://comune.example/ricevo/", "t0k", ""), "https://comune.example/ricevo/a/t0k");
    }
}
