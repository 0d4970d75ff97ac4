//! Web Push for the waiting room (issue 15): a citizen in the queue asks their browser to tell
//! them when it is their turn, so they can leave the tab; when an official lets them in (admit,
//! call next) the push is queued in the admission's own transaction, once per browser and place.
//!
//! Only a town that turned it on offers it ([`Desk::set_web_push`] in `settings`), and only to
//! the citizen of a place (a booked citizen's arrival or a walk-in ticket) while it is queued:
//! the link token alone decides which place, so nobody can subscribe for someone else's.

use jiff::{SignedDuration, Timestamp};
use ricevo_core::Lang;
use ricevo_core::citizen::FieldError;
use ricevo_core::lobby::{Entry, EntryKind};
use ricevo_notify::{Outgoing, PushNotice, SubscriptionKeys};
use ricevo_store::{NewOutboxMessage, NewPushSubscription, Subscribed, Tenant};

use crate::{Desk, DeskError};

/// How long a subscription lives at most, even if the visit never ends properly (a ticket
/// nobody called): a working day.
pub const SUBSCRIPTION_LIFETIME: SignedDuration = SignedDuration::from_hours(12);

/// What a browser sent when it subscribed (`PushSubscription.toJSON()`), unchecked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionRequest {
    /// The push service's URL for the browser.
    pub endpoint: String,
    /// The browser's public key (base64url).
    pub p256dh: String,
    /// The browser's authentication secret (base64url).
    pub auth: String,
}

fn it_en(lang: Lang, it: &'static str, en: &'static str) -> String {
    match lang {
        Lang::It => it.to_owned(),
        Lang::En => en.to_owned(),
    }
}

/// Whether a place is a citizen's (a booked arrival or a walk-in ticket), not an official's or
/// an invitee's: only citizens wait to be let in.
fn is_citizens(entry: &Entry) -> bool {
    matches!(entry.kind, EntryKind::Appointment | EntryKind::Ticket)
}

/// The dedupe key of "it is your turn" for one place and one browser: never twice.
pub fn turn_key(entry: &Entry, subscription: i64) -> String {
    format!("push:turn:{}:{subscription}", entry.id.0)
}

/// The dedupe key of "your turn is near" for one walk-in ticket and one browser: never twice.
pub fn near_key(entry: &Entry, subscription: i64) -> String {
    format!("push:near:{}:{subscription}", entry.id.0)
}

/// Which push a place gets.
#[derive(Debug, Clone, Copy)]
enum Turn {
    /// It is their turn (on admission).
    Now,
    /// A walk-in ticket's turn is near.
    Near,
}

impl Desk {
    /// Whether the page of `entry` offers "notify me when it's my turn": the town turned Web
    /// Push on, and it is a citizen's place still in the queue.
    pub fn offers_web_push(&self, tenant: &Tenant, entry: &Entry) -> bool {
        tenant.web_push && is_citizens(entry) && entry.status.is_queued()
    }

    /// Stores the subscription a browser made on the page of `token` (the citizen's own link):
    /// `NotFound` for a link that is not a citizen's arrived place or a town without Web Push,
    /// `NotQueued` once the place left the queue, `Fields` (worded in `lang`) for what the browser
    /// sent, `Invalid` when the place has as many browsers as allowed.
    pub async fn subscribe_push(
        &self,
        token: &str,
        request: &SubscriptionRequest,
        lang: Lang,
    ) -> Result<(), DeskError> {
        let opened = self.open(token).await?;
        let (tenant, entry) = (opened.tenant, opened.entry);
        if !tenant.web_push || !is_citizens(&entry) {
            return Err(DeskError::NotFound);
        }
        if !entry.status.is_queued() {
            return Err(DeskError::NotQueued);
        }
        let allowed = &self.settings.webhook_allow_hosts;
        let refused =
            |e: ricevo_notify::SubscriptionError| DeskError::Fields(vec![FieldError::new(e.field(), e.message(lang))]);
        let keys =
            SubscriptionKeys::parse(&request.endpoint, &request.p256dh, &request.auth, allowed).map_err(refused)?;
        keys.check_endpoint(allowed).await.map_err(refused)?;
        let now = self.now();
        let new = NewPushSubscription {
            tenant_id: tenant.id,
            entry_id: entry.id,
            appointment_id: entry.appointment_id,
            endpoint: keys.endpoint.as_str().to_owned(),
            p256dh: keys.p256dh,
            auth: keys.auth,
            lang,
            expires_at: now.checked_add(SUBSCRIPTION_LIFETIME).unwrap_or(Timestamp::MAX),
        };
        match self.store.add_push_subscription(&new, now).await {
            Ok(Subscribed::Stored(id)) => {
                tracing::info!(tenant = %tenant.slug, entry = %entry.id.0, subscription = id, "push subscription stored");
                Ok(())
            }
            Ok(Subscribed::TooMany) => Err(DeskError::Invalid(it_en(
                lang,
                "Troppi dispositivi chiedono già l'avviso per questo posto in coda.",
                "Too many devices already asked to be notified for this place in the queue.",
            ))),
            // The place left the queue between the check above and the write.
            Err(ricevo_store::StoreError::NotFound) => Err(DeskError::NotQueued),
            Err(e) => Err(e.into()),
        }
    }

    /// The outbox rows telling each browser subscribed for `entry` that it is their turn, for
    /// the admission's transaction; none when the town has Web Push off. Reading them must not
    /// keep anyone out of a meeting: a failure is logged and nobody is pushed.
    pub(crate) async fn turn_pushes(&self, entry: &Entry, now: Timestamp) -> Vec<NewOutboxMessage> {
        self.pushes(entry, Turn::Now, now).await
    }

    /// The outbox rows telling each browser subscribed for walk-in ticket `entry` that its
    /// turn is near, like [`Desk::turn_pushes`] (each browser once, see [`near_key`]).
    pub(crate) async fn turn_near_pushes(&self, entry: &Entry, now: Timestamp) -> Vec<NewOutboxMessage> {
        self.pushes(entry, Turn::Near, now).await
    }

    async fn pushes(&self, entry: &Entry, turn: Turn, now: Timestamp) -> Vec<NewOutboxMessage> {
        match self.try_turn_pushes(entry, turn, now).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(entry = %entry.id.0, error = %e, "push notifications not queued");
                Vec::new()
            }
        }
    }

    async fn try_turn_pushes(
        &self,
        entry: &Entry,
        turn: Turn,
        now: Timestamp,
    ) -> Result<Vec<NewOutboxMessage>, DeskError> {
        if !is_citizens(entry) {
            return Ok(Vec::new());
        }
        let tenant = self.town_by_id(entry.tenant_id).await?;
        if !tenant.web_push {
            return Ok(Vec::new());
        }
        let subscriptions = self.store.push_subscriptions_of(tenant.id, entry.id, entry.appointment_id, now).await?;
        if subscriptions.is_empty() {
            return Ok(Vec::new());
        }
        let office = self.store.office(tenant.id, entry.office_id).await?.map(|o| o.name).unwrap_or_default();
        let mut rows = Vec::with_capacity(subscriptions.len());
        for s in subscriptions {
            let (notice, dedupe_key) = match (turn, entry.ticket_number) {
                (Turn::Near, Some(number)) => {
                    (PushNotice::turn_near(s.lang, &tenant.name, &office, entry.id.0, number), near_key(entry, s.id))
                }
                (Turn::Near, None) => continue,
                (Turn::Now, ticket) => {
                    (PushNotice::your_turn(s.lang, &tenant.name, &office, entry.id.0, ticket), turn_key(entry, s.id))
                }
            };
            let outgoing = Outgoing::Push { subscription_id: s.id, notice: Box::new(notice) };
            let payload = outgoing.to_payload().map_err(|e| DeskError::Internal(e.to_string()))?;
            rows.push(NewOutboxMessage {
                kind: outgoing.kind().into(),
                dedupe_key,
                payload,
                due_at: now,
                retractable: false,
            });
        }
        Ok(rows)
    }
}
