//! Web Push for the waiting room (issue 15): a browser's push subscription for one place in a
//! waiting room, and the town's switch. The statements live in `impl_web_push!`, which both
//! engines expand; `impl_store!` answers the [`crate::Store`] methods with them.
//!
//! A subscription is personal data of a short life: it is bound to the place (and, for a booked
//! citizen, to the appointment, so a citizen who comes back to the queue keeps it), expires, and
//! is deleted when the visit ends ([`crate::Store::purge_push_subscriptions`]), when the push
//! service says it is gone, with the citizen's erasure and with the town's retention.

use jiff::Timestamp;
use ricevo_core::{AppointmentId, EntryId, Lang, TenantId};

/// How many browsers may subscribe for one place (a phone and a PC, a tablet): enough for a
/// person, too few to turn one link into a way of filling the table.
pub const MAX_SUBSCRIPTIONS_PER_ENTRY: i64 = 5;

/// A subscription to store, as the desk checked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPushSubscription {
    /// The town.
    pub tenant_id: TenantId,
    /// The place in the waiting room it is for.
    pub entry_id: EntryId,
    /// The place's appointment, for a booked citizen.
    pub appointment_id: Option<AppointmentId>,
    /// The push service's URL for this browser (RFC 8030), checked.
    pub endpoint: String,
    /// The browser's P-256 public key (base64url, RFC 8291 `p256dh`).
    pub p256dh: String,
    /// The browser's authentication secret (base64url, 16 bytes).
    pub auth: String,
    /// The language the notification is worded in.
    pub lang: Lang,
    /// When it is deleted even if the visit has not ended.
    pub expires_at: Timestamp,
}

/// A stored subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubscription {
    /// Its id.
    pub id: i64,
    /// The town.
    pub tenant_id: TenantId,
    /// The place it was made for.
    pub entry_id: EntryId,
    /// The place's appointment, for a booked citizen.
    pub appointment_id: Option<AppointmentId>,
    /// The push service's URL.
    pub endpoint: String,
    /// The browser's public key (base64url).
    pub p256dh: String,
    /// The browser's authentication secret (base64url).
    pub auth: String,
    /// The notification's language.
    pub lang: Lang,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it goes.
    pub expires_at: Timestamp,
}

/// What storing a subscription did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscribed {
    /// Stored (or its keys renewed), with its id.
    Stored(i64),
    /// The place already has [`MAX_SUBSCRIPTIONS_PER_ENTRY`]; nothing stored.
    TooMany,
}

/// Columns of `push_subscriptions` in the order [`subscription_from`] reads them.
pub(crate) const SUBSCRIPTION_COLUMNS: &str =
    "id, tenant_id, entry_id, appointment_id, endpoint, p256dh, auth, lang, created_at, expires_at";

/// The raw columns of a subscription.
pub(crate) type SubscriptionRow = (i64, i64, i64, Option<i64>, String, String, String, String, i64, i64);

/// A subscription from its columns.
pub(crate) fn subscription_from(r: SubscriptionRow) -> crate::Result<PushSubscription> {
    Ok(PushSubscription {
        id: r.0,
        tenant_id: TenantId(r.1),
        entry_id: EntryId(r.2),
        appointment_id: r.3.map(AppointmentId),
        endpoint: r.4,
        p256dh: r.5,
        auth: r.6,
        lang: Lang::parse(&r.7).unwrap_or_default(),
        created_at: crate::sql::instant(r.8)?,
        expires_at: crate::sql::instant(r.9)?,
    })
}

/// The statuses of a place whose visit is over: its subscriptions have nothing more to say.
pub(crate) const VISIT_OVER: &str = "('done', 'no_show', 'refused', 'removed', 'cancelled')";

/// The erasure of a citizen's subscriptions: those of the places `entry_cond` selects.
pub(crate) fn erase_sql(entry_cond: &str) -> String {
    format!(
        "DELETE FROM push_subscriptions WHERE tenant_id = $1 AND entry_id IN (SELECT id FROM entries WHERE {entry_cond})"
    )
}

macro_rules! impl_web_push {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn web_push_subscribe(
                &self,
                s: &$crate::NewPushSubscription,
                now: Timestamp,
            ) -> Result<$crate::Subscribed> {
                use $crate::web_push::MAX_SUBSCRIPTIONS_PER_ENTRY;
                let mut tx = self.begin_write().await?;
                // Only a place of this town that is still in the queue may be told its turn came.
                let place: Option<(i64,)> = sqlx::query_as(
                    "SELECT id FROM entries WHERE tenant_id = $1 AND id = $2 AND status IN ('waiting', 'held')",
                )
                .bind(s.tenant_id.0)
                .bind(s.entry_id.0)
                .fetch_optional(&mut *tx)
                .await?;
                if place.is_none() {
                    tx.rollback().await?;
                    return Err(StoreError::NotFound);
                }
                let renewed: Option<(i64,)> = sqlx::query_as(
                    "UPDATE push_subscriptions SET p256dh = $1, auth = $2, lang = $3, expires_at = $4 \
                     WHERE tenant_id = $5 AND entry_id = $6 AND endpoint = $7 RETURNING id",
                )
                .bind(&s.p256dh)
                .bind(&s.auth)
                .bind(s.lang.code())
                .bind(s.expires_at.as_second())
                .bind(s.tenant_id.0)
                .bind(s.entry_id.0)
                .bind(&s.endpoint)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((id,)) = renewed {
                    tx.commit().await?;
                    return Ok($crate::Subscribed::Stored(id));
                }
                let (count,): (i64,) =
                    sqlx::query_as("SELECT COUNT(*) FROM push_subscriptions WHERE tenant_id = $1 AND entry_id = $2")
                        .bind(s.tenant_id.0)
                        .bind(s.entry_id.0)
                        .fetch_one(&mut *tx)
                        .await?;
                if count >= MAX_SUBSCRIPTIONS_PER_ENTRY {
                    tx.rollback().await?;
                    return Ok($crate::Subscribed::TooMany);
                }
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO push_subscriptions (tenant_id, entry_id, appointment_id, endpoint, p256dh, auth, lang, \
                     created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(s.tenant_id.0)
                .bind(s.entry_id.0)
                .bind(s.appointment_id.map(|a| a.0))
                .bind(&s.endpoint)
                .bind(&s.p256dh)
                .bind(&s.auth)
                .bind(s.lang.code())
                .bind(now.as_second())
                .bind(s.expires_at.as_second())
                .fetch_one(&mut *tx)
                .await
                .map_err(duplicate_or)?;
                tx.commit().await?;
                Ok($crate::Subscribed::Stored(id))
            }

            async fn web_push_subscriptions_of(
                &self,
                tenant: TenantId,
                entry: EntryId,
                appointment: Option<AppointmentId>,
                now: Timestamp,
            ) -> Result<Vec<$crate::PushSubscription>> {
                use $crate::web_push::{SUBSCRIPTION_COLUMNS, SubscriptionRow, subscription_from};
                // Read from the writer: an admission right after subscribing must see it.
                let rows: Vec<SubscriptionRow> = sqlx::query_as(&format!(
                    "SELECT {SUBSCRIPTION_COLUMNS} FROM push_subscriptions WHERE tenant_id = $1 \
                     AND (entry_id = $2 OR appointment_id = $3) AND expires_at > $4 ORDER BY id"
                ))
                .bind(tenant.0)
                .bind(entry.0)
                // No appointment: -1 matches no row (ids are positive).
                .bind(appointment.map_or(-1, |a| a.0))
                .bind(now.as_second())
                .fetch_all(&self.writer)
                .await?;
                let mut out: Vec<$crate::PushSubscription> = Vec::with_capacity(rows.len());
                for row in rows {
                    let s = subscription_from(row)?;
                    // One browser that subscribed on two visits of one appointment is told once.
                    if !out.iter().any(|o| o.endpoint == s.endpoint) {
                        out.push(s);
                    }
                }
                Ok(out)
            }

            async fn web_push_subscription(&self, id: i64) -> Result<Option<$crate::PushSubscription>> {
                use $crate::web_push::{SUBSCRIPTION_COLUMNS, SubscriptionRow, subscription_from};
                let row: Option<SubscriptionRow> =
                    sqlx::query_as(&format!("SELECT {SUBSCRIPTION_COLUMNS} FROM push_subscriptions WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.writer)
                        .await?;
                row.map(subscription_from).transpose()
            }

            async fn web_push_delete(&self, tenant: TenantId, id: i64) -> Result<()> {
                sqlx::query("DELETE FROM push_subscriptions WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(id)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn web_push_purge(&self, now: Timestamp) -> Result<u64> {
                let over = $crate::web_push::VISIT_OVER;
                let gone = sqlx::query(&format!(
                    "DELETE FROM push_subscriptions WHERE expires_at <= $1 \
                     OR entry_id IN (SELECT id FROM entries WHERE status IN {over})"
                ))
                .bind(now.as_second())
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(gone)
            }

            async fn web_push_set(&self, tenant: TenantId, on: bool) -> Result<()> {
                let r = sqlx::query("UPDATE tenants SET web_push = $1 WHERE id = $2")
                    .bind(i32::from(on))
                    .bind(tenant.0)
                    .execute(&self.writer)
                    .await?;
                if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn web_push_update_entry(
                &self,
                entry: &Entry,
                expected: EntryStatus,
                outbox: &[NewOutboxMessage],
                now: Timestamp,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                if Self::write_entry(&mut *tx, entry, expected).await? != 1 {
                    let err = Self::entry_not_written(&mut *tx, entry, expected).await;
                    tx.rollback().await?;
                    return Err(err);
                }
                let appointment = entry.appointment_id.map(|a| a.0);
                Self::insert_outbox(&mut tx, entry.tenant_id, appointment, outbox, now).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_web_push;
