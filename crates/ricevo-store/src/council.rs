//! Council sessions (issue 17): the sessions a town schedules, their agenda and members (each
//! with a personal link stored as its hash), the append-only event log and the votes. The
//! rules are the core's `council` module; here only what is kept. The statements live in
//! `impl_council!`, which both engines expand.
//!
//! Two guarantees hold across nodes: an event is appended with the next sequence number under
//! a (session, seq) key, so of two nodes appending after the same event one fails (`Stale`)
//! and replays; and a vote is a row keyed by (session, vote, member), so a member's second
//! vote fails (`Duplicate`) whatever the log says.

use jiff::Timestamp;
use ricevo_core::TenantId;
use ricevo_core::council::{AgendaItem, BodyKind, Event, ItemNo, MemberId, Phase, Role};
use ricevo_core::council::{Choice, CouncilSessionId};

use crate::NewOutboxMessage;

/// A member to seat in a new session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCouncilMember {
    /// The member's name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// Where the link goes, if anywhere.
    pub email: Option<String>,
    /// The hash of the personal link's token.
    pub token_hash: String,
}

/// A session to store (checked by the desk).
#[derive(Debug, Clone)]
pub struct NewCouncilSession {
    /// The town.
    pub tenant_id: TenantId,
    /// The kind of body.
    pub body: BodyKind,
    /// The body's name.
    pub body_name: String,
    /// The title.
    pub title: String,
    /// When called for.
    pub starts_at: Timestamp,
    /// The agenda items' titles, in order (numbered from 1).
    pub items: Vec<String>,
    /// The members, in order.
    pub members: Vec<NewCouncilMember>,
    /// Voting members present needed; `None`: a majority.
    pub quorum: Option<u16>,
    /// Minutes per speech; `None`: no limit.
    pub speech_minutes: Option<u16>,
    /// Messages to queue in the same transaction (the members' links by e-mail).
    pub outbox: Vec<NewOutboxMessage>,
    /// Now.
    pub now: Timestamp,
}

/// A session as stored (without agenda and members).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouncilSessionRecord {
    /// Its id.
    pub id: CouncilSessionId,
    /// The town.
    pub tenant_id: TenantId,
    /// The kind of body.
    pub body: BodyKind,
    /// The body's name.
    pub body_name: String,
    /// The title.
    pub title: String,
    /// When called for.
    pub starts_at: Timestamp,
    /// Voting members present needed; `None`: a majority.
    pub quorum: Option<u16>,
    /// Minutes per speech; `None`: no limit.
    pub speech_minutes: Option<u16>,
    /// Its state, as the log last left it.
    pub state: Phase,
    /// Opened at.
    pub opened_at: Option<Timestamp>,
    /// Closed at.
    pub closed_at: Option<Timestamp>,
    /// When its recording was removed.
    pub recording_removed_at: Option<Timestamp>,
    /// Scheduled at.
    pub created_at: Timestamp,
}

/// A member's seat as stored (the token's hash is never read back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouncilMemberRecord {
    /// The seat.
    pub id: MemberId,
    /// The town.
    pub tenant_id: TenantId,
    /// The session.
    pub session_id: CouncilSessionId,
    /// The name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The e-mail, if any.
    pub email: Option<String>,
}

/// A session with its agenda and members, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouncilSessionFull {
    /// The session.
    pub session: CouncilSessionRecord,
    /// The agenda.
    pub items: Vec<AgendaItem>,
    /// The members.
    pub members: Vec<CouncilMemberRecord>,
}

/// Events to append to a session's log after event `after` (the last one the caller saw).
#[derive(Debug, Clone)]
pub struct CouncilAppend<'a> {
    /// The town.
    pub tenant_id: TenantId,
    /// The session.
    pub session_id: CouncilSessionId,
    /// The sequence number of the last event the caller replayed (0: none).
    pub after: u64,
    /// The new events, in order (numbered `after + 1`, ...).
    pub events: &'a [Event],
    /// Messages to queue in the same transaction.
    pub outbox: &'a [NewOutboxMessage],
    /// Now.
    pub now: Timestamp,
}

pub(crate) const SESSION_COLUMNS: &str = "id, tenant_id, body, body_name, title, starts_at, quorum, speech_minutes, \
     state, opened_at, closed_at, recording_removed_at, created_at";

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: i64,
    tenant_id: i64,
    body: String,
    body_name: String,
    title: String,
    starts_at: i64,
    quorum: Option<i32>,
    speech_minutes: Option<i32>,
    state: String,
    opened_at: Option<i64>,
    closed_at: Option<i64>,
    recording_removed_at: Option<i64>,
    created_at: i64,
}

pub(crate) fn session_from(r: SessionRow) -> crate::Result<CouncilSessionRecord> {
    let corrupt = |what: &str| crate::StoreError::Corrupt(format!("council session {}: {what}", r.id));
    let instant = crate::sql::instant;
    Ok(CouncilSessionRecord {
        id: CouncilSessionId(r.id),
        tenant_id: TenantId(r.tenant_id),
        body: BodyKind::parse(&r.body).ok_or_else(|| corrupt("body"))?,
        body_name: r.body_name,
        title: r.title,
        starts_at: instant(r.starts_at)?,
        quorum: r.quorum.map(|q| u16::try_from(q).map_err(|_| corrupt("quorum"))).transpose()?,
        speech_minutes: r.speech_minutes.map(|q| u16::try_from(q).map_err(|_| corrupt("speech"))).transpose()?,
        state: Phase::parse(&r.state).ok_or_else(|| corrupt("state"))?,
        opened_at: r.opened_at.map(instant).transpose()?,
        closed_at: r.closed_at.map(instant).transpose()?,
        recording_removed_at: r.recording_removed_at.map(instant).transpose()?,
        created_at: instant(r.created_at)?,
    })
}

pub(crate) const MEMBER_COLUMNS: &str = "id, tenant_id, session_id, name, role, email";

pub(crate) type MemberRow = (i64, i64, i64, String, String, Option<String>);

pub(crate) fn member_from(r: MemberRow) -> crate::Result<CouncilMemberRecord> {
    let (id, tenant, session, name, role, email) = r;
    Ok(CouncilMemberRecord {
        id: MemberId(id),
        tenant_id: TenantId(tenant),
        session_id: CouncilSessionId(session),
        name,
        role: Role::parse(&role).ok_or_else(|| crate::StoreError::Corrupt(format!("council member {id}: role")))?,
        email,
    })
}

pub(crate) fn item_from((number, title): (i32, String)) -> crate::Result<AgendaItem> {
    let number = u16::try_from(number).map_err(|_| crate::StoreError::Corrupt(format!("agenda item {number}")))?;
    Ok(AgendaItem { number: ItemNo(number), title })
}

pub(crate) fn event_from((seq, json): (i64, String)) -> crate::Result<Event> {
    serde_json::from_str(&json).map_err(|e| crate::StoreError::Corrupt(format!("council event {seq}: {e}")))
}

pub(crate) fn choice_from(s: &str) -> crate::Result<Choice> {
    Choice::parse(s).ok_or_else(|| crate::StoreError::Corrupt(format!("council vote choice {s}")))
}

/// Implements the council statements for a store type with `reader` and `writer` pools of
/// engine `$db` (inside `impl_store!`).
macro_rules! impl_council {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn council_create(
                &self,
                s: &$crate::NewCouncilSession,
            ) -> Result<$crate::CouncilSessionFull> {
                use $crate::council::{SESSION_COLUMNS, SessionRow, session_from};
                let mut tx = self.begin_write().await?;
                let row: SessionRow = sqlx::query_as(&format!(
                    "INSERT INTO council_sessions (tenant_id, body, body_name, title, starts_at, quorum, speech_minutes, \
                     state, created_at) SELECT $1, $2, $3, $4, $5, $6, $7, 'scheduled', $8 \
                     WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $1) RETURNING {SESSION_COLUMNS}"
                ))
                .bind(s.tenant_id.0)
                .bind(s.body.as_str())
                .bind(&s.body_name)
                .bind(&s.title)
                .bind(s.starts_at.as_second())
                .bind(s.quorum.map(i32::from))
                .bind(s.speech_minutes.map(i32::from))
                .bind(s.now.as_second())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
                let session = session_from(row)?;
                let mut items = Vec::with_capacity(s.items.len());
                for (i, title) in s.items.iter().enumerate() {
                    let number = u16::try_from(i + 1).map_err(|_| StoreError::Corrupt("too many agenda items".into()))?;
                    sqlx::query(
                        "INSERT INTO council_agenda_items (tenant_id, session_id, number, title) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(s.tenant_id.0)
                    .bind(session.id.0)
                    .bind(i32::from(number))
                    .bind(title)
                    .execute(&mut *tx)
                    .await?;
                    items.push(ricevo_core::council::AgendaItem { number: ricevo_core::council::ItemNo(number), title: title.clone() });
                }
                let mut members = Vec::with_capacity(s.members.len());
                for (i, m) in s.members.iter().enumerate() {
                    let (id,): (i64,) = sqlx::query_as(
                        "INSERT INTO council_members (tenant_id, session_id, position, name, role, email, token_hash) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    )
                    .bind(s.tenant_id.0)
                    .bind(session.id.0)
                    .bind(i32::try_from(i).unwrap_or(i32::MAX))
                    .bind(&m.name)
                    .bind(m.role.as_str())
                    .bind(&m.email)
                    .bind(&m.token_hash)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(duplicate_or)?;
                    members.push($crate::CouncilMemberRecord {
                        id: ricevo_core::council::MemberId(id),
                        tenant_id: s.tenant_id,
                        session_id: session.id,
                        name: m.name.clone(),
                        role: m.role,
                        email: m.email.clone(),
                    });
                }
                Self::insert_outbox(&mut tx, s.tenant_id, None, &s.outbox, s.now).await?;
                tx.commit().await?;
                Ok($crate::CouncilSessionFull { session, items, members })
            }

            async fn council_list(&self, tenant: TenantId) -> Result<Vec<$crate::CouncilSessionRecord>> {
                use $crate::council::{SESSION_COLUMNS, SessionRow, session_from};
                let rows: Vec<SessionRow> = sqlx::query_as(&format!(
                    "SELECT {SESSION_COLUMNS} FROM council_sessions WHERE tenant_id = $1 \
                     ORDER BY starts_at DESC, id DESC LIMIT 1000"
                ))
                .bind(tenant.0)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map(session_from).collect()
            }

            async fn council_full(
                &self,
                tenant: TenantId,
                id: ricevo_core::council::CouncilSessionId,
            ) -> Result<Option<$crate::CouncilSessionFull>> {
                use $crate::council::{MEMBER_COLUMNS, MemberRow, SESSION_COLUMNS, SessionRow, item_from, member_from, session_from};
                let row: Option<SessionRow> = sqlx::query_as(&format!(
                    "SELECT {SESSION_COLUMNS} FROM council_sessions WHERE tenant_id = $1 AND id = $2"
                ))
                .bind(tenant.0)
                .bind(id.0)
                .fetch_optional(&self.reader)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let session = session_from(row)?;
                let items: Vec<(i32, String)> = sqlx::query_as(
                    "SELECT number, title FROM council_agenda_items WHERE tenant_id = $1 AND session_id = $2 ORDER BY number",
                )
                .bind(tenant.0)
                .bind(id.0)
                .fetch_all(&self.reader)
                .await?;
                let members: Vec<MemberRow> = sqlx::query_as(&format!(
                    "SELECT {MEMBER_COLUMNS} FROM council_members WHERE tenant_id = $1 AND session_id = $2 \
                     ORDER BY position, id"
                ))
                .bind(tenant.0)
                .bind(id.0)
                .fetch_all(&self.reader)
                .await?;
                Ok(Some($crate::CouncilSessionFull {
                    session,
                    items: items.into_iter().map(item_from).collect::<Result<_>>()?,
                    members: members.into_iter().map(member_from).collect::<Result<_>>()?,
                }))
            }

            async fn council_member_of_token(
                &self,
                tenant: TenantId,
                token_hash: &str,
            ) -> Result<Option<$crate::CouncilMemberRecord>> {
                use $crate::council::{MEMBER_COLUMNS, MemberRow, member_from};
                let row: Option<MemberRow> = sqlx::query_as(&format!(
                    "SELECT {MEMBER_COLUMNS} FROM council_members WHERE tenant_id = $1 AND token_hash = $2"
                ))
                .bind(tenant.0)
                .bind(token_hash)
                .fetch_optional(&self.reader)
                .await?;
                row.map(member_from).transpose()
            }

            async fn council_set_token(
                &self,
                tenant: TenantId,
                session: ricevo_core::council::CouncilSessionId,
                member: ricevo_core::council::MemberId,
                token_hash: &str,
            ) -> Result<()> {
                let r = sqlx::query(
                    "UPDATE council_members SET token_hash = $1 WHERE tenant_id = $2 AND session_id = $3 AND id = $4",
                )
                .bind(token_hash)
                .bind(tenant.0)
                .bind(session.0)
                .bind(member.0)
                .execute(&self.writer)
                .await
                .map_err(duplicate_or)?;
                if r.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
            }

            async fn council_log(
                &self,
                tenant: TenantId,
                session: ricevo_core::council::CouncilSessionId,
            ) -> Result<Vec<ricevo_core::council::Event>> {
                let rows: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT seq, event FROM council_events WHERE tenant_id = $1 AND session_id = $2 ORDER BY seq",
                )
                .bind(tenant.0)
                .bind(session.0)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map($crate::council::event_from).collect()
            }

            async fn council_append(&self, a: &$crate::CouncilAppend<'_>) -> Result<()> {
                use ricevo_core::council::EventKind;
                if a.events.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                // The session must be this town's; the key does the rest.
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM council_sessions WHERE tenant_id = $1 AND id = $2")
                    .bind(a.tenant_id.0)
                    .bind(a.session_id.0)
                    .fetch_one(&mut *tx)
                    .await?;
                if n == 0 {
                    tx.rollback().await?;
                    return Err(StoreError::NotFound);
                }
                let mut seq = i64::try_from(a.after).map_err(|_| StoreError::Corrupt("council seq".into()))?;
                for event in a.events {
                    seq += 1;
                    let json = serde_json::to_string(event).map_err(|e| StoreError::Corrupt(format!("council event: {e}")))?;
                    let inserted = sqlx::query(
                        "INSERT INTO council_events (tenant_id, session_id, seq, at, event) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(a.tenant_id.0)
                    .bind(a.session_id.0)
                    .bind(seq)
                    .bind(event.at.as_second())
                    .bind(&json)
                    .execute(&mut *tx)
                    .await;
                    match inserted {
                        Ok(_) => {}
                        // Another node appended after the same event: replay and retry.
                        Err(e) if is_unique_violation(&e) => {
                            tx.rollback().await?;
                            return Err(StoreError::Stale);
                        }
                        Err(e) => return Err(e.into()),
                    }
                    match &event.kind {
                        EventKind::VoteCast { number, member, choice } => {
                            let cast = sqlx::query(
                                "INSERT INTO council_votes (tenant_id, session_id, vote_number, member_id, choice, cast_at) \
                                 SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM council_members \
                                 WHERE id = $4 AND session_id = $2 AND tenant_id = $1)",
                            )
                            .bind(a.tenant_id.0)
                            .bind(a.session_id.0)
                            .bind(i32::try_from(*number).unwrap_or(i32::MAX))
                            .bind(member.0)
                            .bind(choice.as_str())
                            .bind(event.at.as_second())
                            .execute(&mut *tx)
                            .await;
                            match cast {
                                Ok(r) if r.rows_affected() == 1 => {}
                                Ok(_) => {
                                    tx.rollback().await?;
                                    return Err(StoreError::NotFound);
                                }
                                Err(e) if is_unique_violation(&e) => {
                                    tx.rollback().await?;
                                    return Err(StoreError::Duplicate);
                                }
                                Err(e) => return Err(e.into()),
                            }
                        }
                        EventKind::Opened => {
                            sqlx::query("UPDATE council_sessions SET state = 'open', opened_at = $1 WHERE id = $2")
                                .bind(event.at.as_second())
                                .bind(a.session_id.0)
                                .execute(&mut *tx)
                                .await?;
                        }
                        EventKind::Closed => {
                            sqlx::query("UPDATE council_sessions SET state = 'closed', closed_at = $1 WHERE id = $2")
                                .bind(event.at.as_second())
                                .bind(a.session_id.0)
                                .execute(&mut *tx)
                                .await?;
                        }
                        _ => {}
                    }
                }
                Self::insert_outbox(&mut tx, a.tenant_id, None, a.outbox, a.now).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn council_vote_rows(
                &self,
                tenant: TenantId,
                session: ricevo_core::council::CouncilSessionId,
            ) -> Result<Vec<(u32, ricevo_core::council::MemberId, ricevo_core::council::Choice)>> {
                let rows: Vec<(i32, i64, String)> = sqlx::query_as(
                    "SELECT vote_number, member_id, choice FROM council_votes WHERE tenant_id = $1 AND session_id = $2 \
                     ORDER BY vote_number, member_id",
                )
                .bind(tenant.0)
                .bind(session.0)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter()
                    .map(|(n, m, c)| {
                        Ok((
                            u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("council vote {n}")))?,
                            ricevo_core::council::MemberId(m),
                            $crate::council::choice_from(&c)?,
                        ))
                    })
                    .collect()
            }

            async fn council_keep_days(&self, tenant: TenantId) -> Result<Option<u16>> {
                let row: Option<(Option<i32>,)> =
                    sqlx::query_as("SELECT recording_keep_days FROM council_settings WHERE tenant_id = $1")
                        .bind(tenant.0)
                        .fetch_optional(&self.reader)
                        .await?;
                row.and_then(|(d,)| d)
                    .map(|d| u16::try_from(d).map_err(|_| StoreError::Corrupt(format!("recording_keep_days {d}"))))
                    .transpose()
            }

            async fn council_set_keep_days(&self, tenant: TenantId, days: Option<u16>) -> Result<()> {
                let r = sqlx::query(
                    "INSERT INTO council_settings (tenant_id, recording_keep_days) \
                     SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $1) \
                     ON CONFLICT (tenant_id) DO UPDATE SET recording_keep_days = excluded.recording_keep_days",
                )
                .bind(tenant.0)
                .bind(days.map(i32::from))
                .execute(&self.writer)
                .await?;
                if r.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
            }

            async fn council_due(
                &self,
                now: Timestamp,
            ) -> Result<Vec<(TenantId, ricevo_core::council::CouncilSessionId)>> {
                let rows: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT s.tenant_id, s.id FROM council_sessions s JOIN council_settings c ON c.tenant_id = s.tenant_id \
                     WHERE s.state = 'closed' AND s.recording_removed_at IS NULL AND c.recording_keep_days IS NOT NULL \
                     AND s.closed_at + CAST(c.recording_keep_days AS BIGINT) * 86400 <= $1 ORDER BY s.closed_at LIMIT 500",
                )
                .bind(now.as_second())
                .fetch_all(&self.reader)
                .await?;
                Ok(rows.into_iter().map(|(t, s)| (TenantId(t), ricevo_core::council::CouncilSessionId(s))).collect())
            }

            async fn council_removed(
                &self,
                tenant: TenantId,
                session: ricevo_core::council::CouncilSessionId,
                now: Timestamp,
            ) -> Result<()> {
                let r = sqlx::query(
                    "UPDATE council_sessions SET recording_removed_at = COALESCE(recording_removed_at, $1) \
                     WHERE tenant_id = $2 AND id = $3",
                )
                .bind(now.as_second())
                .bind(tenant.0)
                .bind(session.0)
                .execute(&self.writer)
                .await?;
                if r.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
            }
        }
    };
}

pub(crate) use impl_council;
