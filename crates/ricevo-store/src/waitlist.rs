//! The waitlist: citizens waiting for a time per service, and the offers of freed slots made to
//! them (`ricevo_core::waitlist` decides who is next and how an offer may change). The
//! statements live in `impl_waitlist!`, which both engines expand.
//!
//! An open offer holds its slot in the `seats` table itself (rows with `offer_id` instead of
//! `appointment_id`), under the same primary key as appointments: while the hold lasts nobody
//! else can take those seats, and the booking pages, the API and any other channel see the slot
//! as taken. Accepting is one transaction: the offer goes from `offered` to `accepted` only if
//! it still is offered and unexpired (compare and set), its hold seats are released and the
//! appointment is booked on them with the usual booking statements; of many racing
//! confirmations exactly one changes the row, the others find it decided.

use jiff::Timestamp;
use ricevo_core::waitlist::{EntryState, OfferState, Preferences};
use ricevo_core::{Lang, Mode, OfficeId, ServiceId, TenantId};

use crate::{Appointment, BookOutcome, NewOutboxMessage};

/// A citizen joining a service's waitlist (checked by the desk).
#[derive(Debug, Clone)]
pub struct NewWaitlistEntry {
    /// The town.
    pub tenant_id: TenantId,
    /// The service's office.
    pub office_id: OfficeId,
    /// The service.
    pub service_id: ServiceId,
    /// Full name.
    pub citizen_name: String,
    /// E-mail (may be empty when a phone is given).
    pub citizen_email: String,
    /// Phone.
    pub citizen_phone: Option<String>,
    /// Codice fiscale.
    pub fiscal_code: Option<String>,
    /// A Telegram chat to reach them in.
    pub telegram_chat_id: Option<i64>,
    /// How they want to meet.
    pub mode: Mode,
    /// Their language.
    pub lang: Lang,
    /// What times suit them.
    pub preferences: Preferences,
    /// The appointment an accepted offer replaces.
    pub replaces: Option<ricevo_core::AppointmentId>,
    /// The citizen's keys (e-mail, phone, codice fiscale, normalised): one waiting entry per
    /// service for any of them.
    pub citizen_keys: Vec<String>,
    /// The hash of the entry's link token.
    pub token_hash: String,
    /// Now.
    pub now: Timestamp,
}

/// A waitlist entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitlistEntry {
    /// Its id.
    pub id: i64,
    /// The town.
    pub tenant_id: TenantId,
    /// The office.
    pub office_id: OfficeId,
    /// The service.
    pub service_id: ServiceId,
    /// Full name.
    pub citizen_name: String,
    /// E-mail (may be empty).
    pub citizen_email: String,
    /// Phone.
    pub citizen_phone: Option<String>,
    /// Codice fiscale.
    pub fiscal_code: Option<String>,
    /// Telegram chat.
    pub telegram_chat_id: Option<i64>,
    /// How they want to meet.
    pub mode: Mode,
    /// Their language.
    pub lang: Lang,
    /// What times suit them.
    pub preferences: Preferences,
    /// The appointment an accepted offer replaces.
    pub replaces: Option<ricevo_core::AppointmentId>,
    /// Where it stands.
    pub status: EntryState,
    /// When they joined: their place in line.
    pub created_at: Timestamp,
}

/// An offer to make: the slot, the hold, and the message that tells the citizen.
#[derive(Debug, Clone)]
pub struct NewWaitlistOffer {
    /// The town.
    pub tenant_id: TenantId,
    /// The entry offered to.
    pub entry_id: i64,
    /// The office whose seats are held.
    pub office_id: OfficeId,
    /// The service.
    pub service_id: ServiceId,
    /// The office's desks (seats per step).
    pub desks: u16,
    /// Meeting start.
    pub start: Timestamp,
    /// Meeting end.
    pub end: Timestamp,
    /// End of the desk's occupancy (with the buffer): the hold covers `[start, occupied_until)`.
    pub occupied_until: Timestamp,
    /// When the hold lapses.
    pub expires_at: Timestamp,
    /// The hash of the link token the message carries (opens the entry's page).
    pub token_hash: String,
    /// The messages telling the citizen.
    pub outbox: Vec<NewOutboxMessage>,
    /// Now.
    pub now: Timestamp,
}

/// An offer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitlistOffer {
    /// Its id.
    pub id: i64,
    /// The town.
    pub tenant_id: TenantId,
    /// The entry.
    pub entry_id: i64,
    /// The office.
    pub office_id: OfficeId,
    /// The service.
    pub service_id: ServiceId,
    /// Meeting start.
    pub start: Timestamp,
    /// Meeting end.
    pub end: Timestamp,
    /// Its state.
    pub state: OfferState,
    /// When the hold lapses.
    pub expires_at: Timestamp,
    /// When it was made.
    pub created_at: Timestamp,
    /// The appointment it became.
    pub appointment_id: Option<ricevo_core::AppointmentId>,
}

/// How accepting an offer ended.
#[derive(Debug)]
pub enum AcceptOutcome {
    /// Booked: the appointment.
    Booked(Box<Appointment>),
    /// The offer was already decided (another confirmation won, or it was declined).
    Decided(OfferState),
    /// The hold lapsed before the answer.
    Lapsed,
    /// The booking itself was refused (the citizen's quota, ...); nothing changed.
    Refused(BookOutcome),
}

/// Columns of `waitlist_entries` in the order [`entry_from`] reads them.
pub(crate) const ENTRY_COLUMNS: &str = "id, tenant_id, office_id, service_id, citizen_name, citizen_email, \
     citizen_phone, fiscal_code, telegram_chat_id, mode, lang, weekdays, time_ranges, earlier_than, \
     replaces_appointment_id, status, created_at";

/// The raw columns of an entry.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EntryRow {
    id: i64,
    tenant_id: i64,
    office_id: i64,
    service_id: i64,
    citizen_name: String,
    citizen_email: String,
    citizen_phone: Option<String>,
    fiscal_code: Option<String>,
    telegram_chat_id: Option<i64>,
    mode: String,
    lang: String,
    weekdays: i64,
    time_ranges: String,
    earlier_than: Option<i64>,
    replaces_appointment_id: Option<i64>,
    status: String,
    created_at: i64,
}

/// An entry from its row.
pub(crate) fn entry_from(r: EntryRow) -> crate::Result<WaitlistEntry> {
    use ricevo_core::waitlist::Weekdays;
    let corrupt = |what: &str| crate::StoreError::Corrupt(format!("waitlist entry {}: {what}", r.id));
    let weekdays = Weekdays::from_bits(u8::try_from(r.weekdays).map_err(|_| corrupt("weekdays"))?)
        .map_err(|_| corrupt("weekdays"))?;
    let ranges = Preferences::ranges_from_label(&r.time_ranges).map_err(|_| corrupt("time ranges"))?;
    let earlier_than = r.earlier_than.map(crate::sql::instant).transpose()?;
    Ok(WaitlistEntry {
        id: r.id,
        tenant_id: TenantId(r.tenant_id),
        office_id: OfficeId(r.office_id),
        service_id: ServiceId(r.service_id),
        citizen_name: r.citizen_name,
        citizen_email: r.citizen_email,
        citizen_phone: r.citizen_phone,
        fiscal_code: r.fiscal_code,
        telegram_chat_id: r.telegram_chat_id,
        mode: Mode::parse(&r.mode).ok_or_else(|| corrupt("mode"))?,
        lang: Lang::parse(&r.lang).unwrap_or_default(),
        preferences: Preferences { weekdays, ranges, earlier_than },
        replaces: r.replaces_appointment_id.map(ricevo_core::AppointmentId),
        status: EntryState::parse(&r.status).ok_or_else(|| corrupt("status"))?,
        created_at: crate::sql::instant(r.created_at)?,
    })
}

/// Columns of `waitlist_offers` in the order [`offer_from`] reads them.
pub(crate) const OFFER_COLUMNS: &str =
    "id, tenant_id, entry_id, office_id, service_id, start_at, end_at, state, expires_at, created_at, appointment_id";

/// The raw columns of an offer.
pub(crate) type OfferRow = (i64, i64, i64, i64, i64, i64, i64, String, i64, i64, Option<i64>);

/// An offer from its row.
pub(crate) fn offer_from(r: OfferRow) -> crate::Result<WaitlistOffer> {
    let (id, tenant, entry, office, service, start, end, state, expires, created, appointment) = r;
    Ok(WaitlistOffer {
        id,
        tenant_id: TenantId(tenant),
        entry_id: entry,
        office_id: OfficeId(office),
        service_id: ServiceId(service),
        start: crate::sql::instant(start)?,
        end: crate::sql::instant(end)?,
        state: OfferState::parse(&state)
            .ok_or_else(|| crate::StoreError::Corrupt(format!("waitlist offer {id}: state {state}")))?,
        expires_at: crate::sql::instant(expires)?,
        created_at: crate::sql::instant(created)?,
        appointment_id: appointment.map(ricevo_core::AppointmentId),
    })
}

/// Implements the waitlist statements for a store type with `reader` and `writer` pools of
/// engine `$db` (inside `impl_store!`, which provides `Tx`, `free_seats`, `book_in`, ...).
macro_rules! impl_waitlist {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn waitlist_join(&self, e: &$crate::NewWaitlistEntry) -> Result<$crate::WaitlistEntry> {
                use $crate::waitlist::{ENTRY_COLUMNS, EntryRow, entry_from};
                let Some(first_key) = e.citizen_keys.first() else {
                    return Err(StoreError::Corrupt("a waitlist entry needs a contact".into()));
                };
                let mut tx = self.begin_write().await?;
                // Any of the citizen's keys already waiting for the service: one entry each.
                for key in &e.citizen_keys {
                    let (n,): (i64,) = sqlx::query_as(
                        "SELECT COUNT(*) FROM waitlist_entries WHERE tenant_id = $1 AND service_id = $2 \
                         AND status = 'waiting' AND contact_key = $3",
                    )
                    .bind(e.tenant_id.0)
                    .bind(e.service_id.0)
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
                    if n > 0 {
                        tx.rollback().await?;
                        return Err(StoreError::Duplicate);
                    }
                }
                let row: std::result::Result<EntryRow, sqlx::Error> = sqlx::query_as(&format!(
                    "INSERT INTO waitlist_entries (tenant_id, office_id, service_id, citizen_name, citizen_email, \
                     citizen_phone, fiscal_code, telegram_chat_id, mode, lang, weekdays, time_ranges, earlier_than, \
                     replaces_appointment_id, contact_key, token_hash, status, created_at, updated_at) \
                     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'waiting', $17, $17 \
                     WHERE EXISTS (SELECT 1 FROM services WHERE id = $3 AND tenant_id = $1 AND office_id = $2) \
                     RETURNING {ENTRY_COLUMNS}"
                ))
                .bind(e.tenant_id.0)
                .bind(e.office_id.0)
                .bind(e.service_id.0)
                .bind(&e.citizen_name)
                .bind(&e.citizen_email)
                .bind(&e.citizen_phone)
                .bind(&e.fiscal_code)
                .bind(e.telegram_chat_id)
                .bind(e.mode.as_str())
                .bind(e.lang.code())
                .bind(i64::from(e.preferences.weekdays.bits()))
                .bind(e.preferences.ranges_label())
                .bind(e.preferences.earlier_than.map(|t| t.as_second()))
                .bind(e.replaces.map(|a| a.0))
                .bind(first_key)
                .bind(&e.token_hash)
                .bind(e.now.as_second())
                .fetch_one(&mut *tx)
                .await;
                match row {
                    Ok(row) => {
                        tx.commit().await?;
                        entry_from(row)
                    }
                    Err(sqlx::Error::RowNotFound) => Err(StoreError::NotFound),
                    // Two joins of one citizen on two nodes: the unique index keeps one.
                    Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate),
                    Err(e) => Err(e.into()),
                }
            }

            async fn waitlist_entry_by(&self, tenant: Option<TenantId>, id: i64, token_hash: &str) -> Result<Option<$crate::WaitlistEntry>> {
                use $crate::waitlist::{ENTRY_COLUMNS, EntryRow, entry_from};
                let row: Option<EntryRow> = sqlx::query_as(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM waitlist_entries WHERE ($1 < 0 OR tenant_id = $1) \
                     AND ($2 < 0 OR id = $2) AND ($3 = '' OR token_hash = $3 \
                     OR id = (SELECT entry_id FROM waitlist_offers WHERE token_hash = $3))"
                ))
                .bind(tenant.map_or(-1, |t| t.0))
                .bind(id)
                .bind(token_hash)
                .fetch_optional(&self.reader)
                .await?;
                row.map(entry_from).transpose()
            }

            async fn waitlist_line(
                &self,
                tenant: TenantId,
                service: Option<ServiceId>,
                only_waiting: bool,
            ) -> Result<Vec<$crate::WaitlistEntry>> {
                use $crate::waitlist::{ENTRY_COLUMNS, EntryRow, entry_from};
                let rows: Vec<EntryRow> = sqlx::query_as(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM waitlist_entries WHERE tenant_id = $1 \
                     AND ($2 < 0 OR service_id = $2) AND ($3 = 0 OR status = 'waiting') \
                     ORDER BY service_id, created_at, id LIMIT 2000"
                ))
                .bind(tenant.0)
                .bind(service.map_or(-1, |s| s.0))
                .bind(i32::from(only_waiting))
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map(entry_from).collect()
            }

            async fn waitlist_offers_of(
                &self,
                tenant: TenantId,
                service: Option<ServiceId>,
                entry: Option<i64>,
            ) -> Result<Vec<$crate::WaitlistOffer>> {
                use $crate::waitlist::{OFFER_COLUMNS, OfferRow, offer_from};
                let rows: Vec<OfferRow> = sqlx::query_as(&format!(
                    "SELECT {OFFER_COLUMNS} FROM waitlist_offers WHERE tenant_id = $1 \
                     AND ($2 < 0 OR service_id = $2) AND ($3 < 0 OR entry_id = $3) \
                     ORDER BY created_at, id LIMIT 5000"
                ))
                .bind(tenant.0)
                .bind(service.map_or(-1, |s| s.0))
                .bind(entry.unwrap_or(-1))
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map(offer_from).collect()
            }

            async fn waitlist_offer(&self, o: &$crate::NewWaitlistOffer) -> Result<Option<$crate::WaitlistOffer>> {
                use $crate::waitlist::{OFFER_COLUMNS, OfferRow, offer_from};
                for _ in 0..SEAT_RACE_RETRIES {
                    let mut tx = self.begin_write().await?;
                    // Only a waiting entry of this town, with no open offer.
                    let (ok,): (i64,) = sqlx::query_as(
                        "SELECT COUNT(*) FROM waitlist_entries e WHERE e.id = $1 AND e.tenant_id = $2 \
                         AND e.status = 'waiting' AND NOT EXISTS (SELECT 1 FROM waitlist_offers f \
                         WHERE f.entry_id = e.id AND f.state = 'offered')",
                    )
                    .bind(o.entry_id)
                    .bind(o.tenant_id.0)
                    .fetch_one(&mut *tx)
                    .await?;
                    if ok == 0 {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    let Some(assigned) = Self::free_seats(&mut tx, o.office_id, o.start, o.occupied_until, o.desks).await? else {
                        tx.rollback().await?;
                        return Ok(None);
                    };
                    let row: OfferRow = sqlx::query_as(&format!(
                        "INSERT INTO waitlist_offers (tenant_id, entry_id, office_id, service_id, start_at, end_at, \
                         occupied_until, state, expires_at, created_at, token_hash) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 'offered', $8, $9, $10) RETURNING {OFFER_COLUMNS}"
                    ))
                    .bind(o.tenant_id.0)
                    .bind(o.entry_id)
                    .bind(o.office_id.0)
                    .bind(o.service_id.0)
                    .bind(o.start.as_second())
                    .bind(o.end.as_second())
                    .bind(o.occupied_until.as_second())
                    .bind(o.expires_at.as_second())
                    .bind(o.now.as_second())
                    .bind(&o.token_hash)
                    .fetch_one(&mut *tx)
                    .await?;
                    let mut held = Ok(());
                    for (step, seat) in &assigned {
                        held = sqlx::query("INSERT INTO seats (office_id, step, seat, offer_id) VALUES ($1, $2, $3, $4)")
                            .bind(o.office_id.0)
                            .bind(step)
                            .bind(seat)
                            .bind(row.0)
                            .execute(&mut *tx)
                            .await
                            .map(|_| ());
                        if held.is_err() {
                            break;
                        }
                    }
                    match held {
                        // A booker on another node took a seat first: look again.
                        Err(e) if is_unique_violation(&e) => {
                            tx.rollback().await?;
                            tokio::task::yield_now().await;
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                        Ok(()) => {}
                    }
                    Self::insert_outbox(&mut tx, o.tenant_id, None, &o.outbox, o.now).await?;
                    tx.commit().await?;
                    return offer_from(row).map(Some);
                }
                Err(StoreError::Contended)
            }

            async fn waitlist_close_offer(
                &self,
                tenant: TenantId,
                offer: i64,
                to: ricevo_core::waitlist::OfferState,
                now: Timestamp,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                // Declined any time while open; expired only once lapsed (the core's rule).
                let lapsed = if to == ricevo_core::waitlist::OfferState::Expired { "expires_at <= $4" } else { "expires_at > $4" };
                let r = sqlx::query(&format!(
                    "UPDATE waitlist_offers SET state = $1, decided_at = $4 WHERE tenant_id = $2 AND id = $3 \
                     AND state = 'offered' AND {lapsed}"
                ))
                .bind(to.as_str())
                .bind(tenant.0)
                .bind(offer)
                .bind(now.as_second())
                .execute(&mut *tx)
                .await?;
                if r.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                sqlx::query("DELETE FROM seats WHERE offer_id = $1").bind(offer).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn waitlist_leave(&self, tenant: TenantId, entry: i64, now: Timestamp) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query(
                    "UPDATE waitlist_entries SET status = 'left', updated_at = $1 WHERE tenant_id = $2 AND id = $3 \
                     AND status = 'waiting'",
                )
                .bind(now.as_second())
                .bind(tenant.0)
                .bind(entry)
                .execute(&mut *tx)
                .await?;
                if r.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Err(StoreError::Stale);
                }
                // Leaving declines the open offer and releases its hold.
                let open: Vec<(i64,)> =
                    sqlx::query_as("SELECT id FROM waitlist_offers WHERE entry_id = $1 AND state = 'offered'")
                        .bind(entry)
                        .fetch_all(&mut *tx)
                        .await?;
                for (id,) in open {
                    sqlx::query("UPDATE waitlist_offers SET state = 'declined', decided_at = $1 WHERE id = $2")
                        .bind(now.as_second())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM seats WHERE offer_id = $1").bind(id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn waitlist_lapsed(&self, now: Timestamp, limit: i64) -> Result<Vec<$crate::WaitlistOffer>> {
                use $crate::waitlist::{OFFER_COLUMNS, OfferRow, offer_from};
                let rows: Vec<OfferRow> = sqlx::query_as(&format!(
                    "SELECT {OFFER_COLUMNS} FROM waitlist_offers WHERE state = 'offered' AND expires_at <= $1 \
                     ORDER BY expires_at LIMIT $2"
                ))
                .bind(now.as_second())
                .bind(limit)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map(offer_from).collect()
            }

            async fn waitlist_accept(
                &self,
                tenant: TenantId,
                offer: i64,
                new: &NewAppointment,
            ) -> Result<$crate::AcceptOutcome> {
                use $crate::AcceptOutcome;
                for _ in 0..SEAT_RACE_RETRIES {
                    let mut tx = self.begin_write().await?;
                    // The compare and set that lets exactly one confirmation through.
                    let won = sqlx::query(
                        "UPDATE waitlist_offers SET state = 'accepted', decided_at = $1 WHERE tenant_id = $2 AND id = $3 \
                         AND state = 'offered' AND expires_at > $1",
                    )
                    .bind(new.now.as_second())
                    .bind(tenant.0)
                    .bind(offer)
                    .execute(&mut *tx)
                    .await?;
                    if won.rows_affected() != 1 {
                        let state: Option<(String,)> =
                            sqlx::query_as("SELECT state FROM waitlist_offers WHERE tenant_id = $1 AND id = $2")
                                .bind(tenant.0)
                                .bind(offer)
                                .fetch_optional(&mut *tx)
                                .await?;
                        tx.rollback().await?;
                        return match state.and_then(|(s,)| ricevo_core::waitlist::OfferState::parse(&s)) {
                            None => Err(StoreError::NotFound),
                            Some(ricevo_core::waitlist::OfferState::Offered) => Ok(AcceptOutcome::Lapsed),
                            Some(s) => Ok(AcceptOutcome::Decided(s)),
                        };
                    }
                    // The hold makes way for the appointment, in the same transaction.
                    sqlx::query("DELETE FROM seats WHERE offer_id = $1").bind(offer).execute(&mut *tx).await?;
                    match Self::book_in(&mut tx, new).await {
                        Ok(BookOutcome::Booked(a)) => {
                            sqlx::query("UPDATE waitlist_offers SET appointment_id = $1 WHERE id = $2")
                                .bind(a.id.0)
                                .bind(offer)
                                .execute(&mut *tx)
                                .await?;
                            sqlx::query(
                                "UPDATE waitlist_entries SET status = 'served', updated_at = $1 WHERE id = \
                                 (SELECT entry_id FROM waitlist_offers WHERE id = $2)",
                            )
                            .bind(new.now.as_second())
                            .bind(offer)
                            .execute(&mut *tx)
                            .await?;
                            tx.commit().await?;
                            return Ok(AcceptOutcome::Booked(a));
                        }
                        Ok(other) => {
                            tx.rollback().await?;
                            return Ok(AcceptOutcome::Refused(other));
                        }
                        Err(e) if is_unique_violation(&e) => {
                            tx.rollback().await?;
                            tokio::task::yield_now().await;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(StoreError::Contended)
            }
        }
    };
}

pub(crate) use impl_waitlist;
