//! Survey campaigns by e-mail: a town's contact list, its campaigns and one row per contact
//! per campaign. The statements live in `impl_campaigns!`, which both engines expand;
//! `impl_store!` answers the [`crate::Store`] methods with them.
//!
//! Delivery is exactly-once per contact because two things happen in one transaction: the
//! recipient row is marked queued (only if it was not) and the outbox row is inserted under
//! the key `campaign:<campaign>:<contact>` (unique). A crash before the commit leaves both
//! undone, after it both done; the outbox worker's own redelivery keeps the Message-ID.

use jiff::Timestamp;
use ricevo_core::Lang;
use ricevo_core::campaign::CampaignStatus;
use serde::Serialize;

use crate::NewOutboxMessage;

/// A contact to import (already checked by `ricevo_core::campaign::parse_contacts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    /// The address in lower case.
    pub email: String,
    /// The name (may be empty).
    pub name: String,
    /// The consent date, `YYYY-MM-DD`.
    pub consent_date: String,
    /// The language of their e-mails.
    pub lang: Lang,
}

/// What an import changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ContactsImported {
    /// New addresses.
    pub added: u64,
    /// Addresses already on the list, whose name, consent and language were updated.
    pub updated: u64,
    /// Of those, how many had unsubscribed and stay unsubscribed.
    pub still_unsubscribed: u64,
}

/// A contact of a town's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SurveyContact {
    /// Its id.
    pub id: i64,
    /// The address.
    pub email: String,
    /// The name.
    pub name: String,
    /// The consent date, `YYYY-MM-DD`.
    pub consent_date: String,
    /// The language of their e-mails.
    pub lang: Lang,
    /// When it was last imported.
    pub imported_at: Timestamp,
    /// When they unsubscribed; they are never written to again.
    pub unsubscribed_at: Option<Timestamp>,
}

/// How many contacts a town has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ContactCounts {
    /// All of them.
    pub total: i64,
    /// Those who unsubscribed.
    pub unsubscribed: i64,
}

/// A campaign to create: as staff write it, then as the desk checked it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCampaign {
    /// The questionnaire it sends.
    pub questionnaire_id: i64,
    /// Its name for staff.
    pub title: String,
    /// The e-mail's subject in Italian.
    pub subject_it: String,
    /// The e-mail's subject in English (the Italian one when blank).
    pub subject_en: String,
    /// The e-mail's opening words in Italian.
    pub intro_it: String,
    /// The e-mail's opening words in English (the Italian ones when blank).
    pub intro_en: String,
}

/// A campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Campaign {
    /// Its id.
    pub id: i64,
    /// Its town.
    pub tenant_id: ricevo_core::TenantId,
    /// The questionnaire it sends.
    pub questionnaire_id: i64,
    /// Its name for staff.
    pub title: String,
    /// Subject in Italian.
    pub subject_it: String,
    /// Subject in English.
    pub subject_en: String,
    /// Opening words in Italian.
    pub intro_it: String,
    /// Opening words in English.
    pub intro_en: String,
    /// Where it stands.
    pub status: CampaignStatus,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was started.
    pub started_at: Option<Timestamp>,
    /// When it was finished.
    pub finished_at: Option<Timestamp>,
}

impl Campaign {
    /// The subject in `lang`.
    pub fn subject(&self, lang: Lang) -> &str {
        if lang == Lang::En && !self.subject_en.trim().is_empty() { &self.subject_en } else { &self.subject_it }
    }
    /// The opening words in `lang`.
    pub fn intro(&self, lang: Lang) -> &str {
        if lang == Lang::En && !self.intro_en.trim().is_empty() { &self.intro_en } else { &self.intro_it }
    }
}

/// How far a campaign has gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CampaignProgress {
    /// Contacts it goes to.
    pub recipients: i64,
    /// Messages handed to the outbox.
    pub queued: i64,
    /// Messages delivered to the mail system.
    pub sent: i64,
    /// Messages whose last attempt failed (and will be tried again).
    pub errors: i64,
    /// Messages refused for good by the mail system.
    pub bounced: i64,
    /// Answers received.
    pub answered: i64,
    /// Recipients who unsubscribed.
    pub unsubscribed: i64,
}

/// A recipient whose message is not yet queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRecipient {
    /// The recipient row.
    pub id: i64,
    /// The contact.
    pub contact_id: i64,
    /// Their address.
    pub email: String,
    /// Their name.
    pub name: String,
    /// Their language.
    pub lang: Lang,
}

/// A recipient's message to queue: its row, its link token's hash and the outbox message
/// (which alone holds the raw token, until it is sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    /// The recipient row.
    pub recipient_id: i64,
    /// The hash of the personal link's token.
    pub token_hash: String,
    /// The message.
    pub message: NewOutboxMessage,
}

/// A recipient whose message failed or bounced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecipientProblem {
    /// The address.
    pub email: String,
    /// The last error.
    pub error: Option<String>,
    /// When the mail system refused it for good.
    pub bounced_at: Option<Timestamp>,
    /// When it was queued.
    pub queued_at: Option<Timestamp>,
}

/// What a personal campaign link opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignLink {
    /// The recipient row.
    pub recipient_id: i64,
    /// The contact.
    pub contact_id: i64,
    /// The campaign (with its town).
    pub campaign: Campaign,
    /// The contact's language.
    pub lang: Lang,
    /// When they answered.
    pub answered_at: Option<Timestamp>,
    /// When they unsubscribed.
    pub unsubscribed_at: Option<Timestamp>,
}

/// Columns of `campaigns` in the order `campaign_from` reads them.
pub(crate) const CAMPAIGN_COLUMNS: &str = "id, tenant_id, questionnaire_id, title, subject_it, subject_en, intro_it, \
     intro_en, status, created_at, started_at, finished_at";

/// The raw columns of a campaign.
pub(crate) type CampaignTuple =
    (i64, i64, i64, String, String, String, String, String, String, i64, Option<i64>, Option<i64>);

/// A campaign from its columns.
pub(crate) fn campaign_from(t: CampaignTuple) -> crate::Result<Campaign> {
    let (
        id,
        tenant,
        questionnaire_id,
        title,
        subject_it,
        subject_en,
        intro_it,
        intro_en,
        status,
        created,
        started,
        finished,
    ) = t;
    Ok(Campaign {
        id,
        tenant_id: ricevo_core::TenantId(tenant),
        questionnaire_id,
        title,
        subject_it,
        subject_en,
        intro_it,
        intro_en,
        status: CampaignStatus::parse(&status)
            .ok_or_else(|| crate::StoreError::Corrupt(format!("campaign status {status}")))?,
        created_at: crate::sql::instant(created)?,
        started_at: started.map(crate::sql::instant).transpose()?,
        finished_at: finished.map(crate::sql::instant).transpose()?,
    })
}

/// Columns of `survey_contacts` in the order `contact_from` reads them.
pub(crate) const CONTACT_COLUMNS: &str = "id, email, name, consent_date, lang, imported_at, unsubscribed_at";

/// The raw columns of a contact.
pub(crate) type ContactTuple = (i64, String, String, String, String, i64, Option<i64>);

/// A contact from its columns.
pub(crate) fn contact_from(t: ContactTuple) -> crate::Result<SurveyContact> {
    let (id, email, name, consent_date, lang, imported, unsubscribed) = t;
    Ok(SurveyContact {
        id,
        email,
        name,
        consent_date,
        lang: Lang::parse(&lang).unwrap_or_default(),
        imported_at: crate::sql::instant(imported)?,
        unsubscribed_at: unsubscribed.map(crate::sql::instant).transpose()?,
    })
}

/// The outbox key of a recipient row, as SQL (`r` is `campaign_recipients`).
pub(crate) const RECIPIENT_KEY: &str = "('campaign:' || r.campaign_id || ':' || r.contact_id)";

/// Contacts written per INSERT (six parameters each).
const CONTACTS_PER_INSERT: usize = 500;
/// Outbox rows written per INSERT (eight parameters each).
pub(crate) const MESSAGES_PER_INSERT: usize = 500;

/// The INSERT of `rows` contacts (six parameters a row); a known address keeps its
/// `unsubscribed_at`.
pub(crate) fn contacts_insert_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let p: Vec<String> = (1..=6).map(|c| format!("${}", r * 6 + c)).collect();
            format!("({})", p.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO survey_contacts (tenant_id, email, name, consent_date, lang, imported_at) VALUES {} \
         ON CONFLICT (tenant_id, email) DO UPDATE SET name = excluded.name, consent_date = excluded.consent_date, \
         lang = excluded.lang, imported_at = excluded.imported_at",
        values.join(", ")
    )
}

/// The chunks a contact list is written in.
pub(crate) fn contact_chunks(contacts: &[NewContact]) -> std::slice::Chunks<'_, NewContact> {
    contacts.chunks(CONTACTS_PER_INSERT)
}

/// The statements of this module for one engine: inherent methods of `$store` that
/// `impl_store!`'s [`crate::Store`] methods call.
macro_rules! impl_campaigns {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn campaigns_import(
                &self,
                tenant: TenantId,
                contacts: &[$crate::NewContact],
                now: Timestamp,
            ) -> Result<$crate::ContactsImported> {
                let mut tx = self.begin_write().await?;
                let count = "SELECT COUNT(*) FROM survey_contacts WHERE tenant_id = $1";
                let (before,): (i64,) = sqlx::query_as(count).bind(tenant.0).fetch_one(&mut *tx).await?;
                for chunk in $crate::campaigns::contact_chunks(contacts) {
                    let sql = $crate::campaigns::contacts_insert_sql(chunk.len());
                    let mut q = sqlx::query(&sql);
                    for c in chunk {
                        q = q
                            .bind(tenant.0)
                            .bind(c.email.to_lowercase())
                            .bind(&c.name)
                            .bind(&c.consent_date)
                            .bind(c.lang.code())
                            .bind(now.as_second());
                    }
                    q.execute(&mut *tx).await?;
                }
                let (after,): (i64,) = sqlx::query_as(count).bind(tenant.0).fetch_one(&mut *tx).await?;
                let (still,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM survey_contacts WHERE tenant_id = $1 AND imported_at = $2 \
                     AND unsubscribed_at IS NOT NULL",
                )
                .bind(tenant.0)
                .bind(now.as_second())
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                let added = u64::try_from(after - before).unwrap_or(0);
                Ok($crate::ContactsImported {
                    added,
                    updated: (contacts.len() as u64).saturating_sub(added),
                    still_unsubscribed: u64::try_from(still).unwrap_or(0),
                })
            }

            async fn campaigns_contacts(
                &self,
                tenant: TenantId,
                limit: i64,
            ) -> Result<Vec<$crate::SurveyContact>> {
                let rows: Vec<$crate::campaigns::ContactTuple> = sqlx::query_as(&format!(
                    "SELECT {} FROM survey_contacts WHERE tenant_id = $1 ORDER BY imported_at DESC, id DESC LIMIT $2",
                    $crate::campaigns::CONTACT_COLUMNS
                ))
                .bind(tenant.0)
                .bind(limit)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map($crate::campaigns::contact_from).collect()
            }

            async fn campaigns_contact_counts(&self, tenant: TenantId) -> Result<$crate::ContactCounts> {
                let (total, unsubscribed): (i64, i64) = sqlx::query_as(
                    "SELECT COUNT(*), COUNT(unsubscribed_at) FROM survey_contacts WHERE tenant_id = $1",
                )
                .bind(tenant.0)
                .fetch_one(&self.reader)
                .await?;
                Ok($crate::ContactCounts { total, unsubscribed })
            }

            async fn campaigns_create(
                &self,
                tenant: TenantId,
                c: &$crate::NewCampaign,
                now: Timestamp,
            ) -> Result<$crate::Campaign> {
                let row: $crate::campaigns::CampaignTuple = sqlx::query_as(&format!(
                    "INSERT INTO campaigns (tenant_id, questionnaire_id, title, subject_it, subject_en, intro_it, \
                     intro_en, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'draft', $8) RETURNING {}",
                    $crate::campaigns::CAMPAIGN_COLUMNS
                ))
                .bind(tenant.0)
                .bind(c.questionnaire_id)
                .bind(&c.title)
                .bind(&c.subject_it)
                .bind(&c.subject_en)
                .bind(&c.intro_it)
                .bind(&c.intro_en)
                .bind(now.as_second())
                .fetch_one(&self.writer)
                .await?;
                $crate::campaigns::campaign_from(row)
            }

            async fn campaigns_list(&self, tenant: TenantId) -> Result<Vec<$crate::Campaign>> {
                let rows: Vec<$crate::campaigns::CampaignTuple> = sqlx::query_as(&format!(
                    "SELECT {} FROM campaigns WHERE tenant_id = $1 ORDER BY id DESC",
                    $crate::campaigns::CAMPAIGN_COLUMNS
                ))
                .bind(tenant.0)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map($crate::campaigns::campaign_from).collect()
            }

            async fn campaigns_one(&self, tenant: TenantId, id: i64) -> Result<Option<$crate::Campaign>> {
                let row: Option<$crate::campaigns::CampaignTuple> = sqlx::query_as(&format!(
                    "SELECT {} FROM campaigns WHERE tenant_id = $1 AND id = $2",
                    $crate::campaigns::CAMPAIGN_COLUMNS
                ))
                .bind(tenant.0)
                .bind(id)
                .fetch_optional(&self.reader)
                .await?;
                row.map($crate::campaigns::campaign_from).transpose()
            }

            async fn campaigns_running(&self) -> Result<Vec<$crate::Campaign>> {
                let rows: Vec<$crate::campaigns::CampaignTuple> = sqlx::query_as(&format!(
                    "SELECT {} FROM campaigns WHERE status = 'running' ORDER BY tenant_id, id",
                    $crate::campaigns::CAMPAIGN_COLUMNS
                ))
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map($crate::campaigns::campaign_from).collect()
            }

            async fn campaigns_set_status(
                &self,
                tenant: TenantId,
                id: i64,
                from: ricevo_core::campaign::CampaignStatus,
                to: ricevo_core::campaign::CampaignStatus,
                now: Timestamp,
            ) -> Result<u64> {
                use ricevo_core::campaign::CampaignStatus as S;
                let mut tx = self.begin_write().await?;
                let r = sqlx::query(
                    "UPDATE campaigns SET status = $1, \
                     started_at = CASE WHEN $2 = 1 THEN $3 ELSE started_at END, \
                     finished_at = CASE WHEN $4 = 1 THEN $3 ELSE finished_at END \
                     WHERE tenant_id = $5 AND id = $6 AND status = $7",
                )
                .bind(to.as_str())
                .bind(i32::from(from == S::Draft))
                .bind(now.as_second())
                .bind(i32::from(to == S::Finished))
                .bind(tenant.0)
                .bind(id)
                .bind(from.as_str())
                .execute(&mut *tx)
                .await?;
                if r.rows_affected() == 0 {
                    let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM campaigns WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant.0)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    tx.rollback().await?;
                    return Err(if exists.is_some() { StoreError::Stale } else { StoreError::NotFound });
                }
                // Starting: every subscribed contact becomes a recipient, in one statement.
                let mut added = 0;
                if from == S::Draft && to == S::Running {
                    added = sqlx::query(
                        "INSERT INTO campaign_recipients (tenant_id, campaign_id, contact_id) \
                         SELECT $1, $2, id FROM survey_contacts WHERE tenant_id = $1 AND unsubscribed_at IS NULL \
                         ORDER BY id ON CONFLICT (campaign_id, contact_id) DO NOTHING",
                    )
                    .bind(tenant.0)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await?;
                Ok(added)
            }

            async fn campaigns_queued_since(&self, tenant: TenantId, since: Timestamp) -> Result<i64> {
                let (n,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM campaign_recipients WHERE tenant_id = $1 AND queued_at >= $2",
                )
                .bind(tenant.0)
                .bind(since.as_second())
                .fetch_one(&self.reader)
                .await?;
                Ok(n)
            }

            async fn campaigns_pending(
                &self,
                tenant: TenantId,
                campaign: i64,
                limit: i64,
            ) -> Result<Vec<$crate::PendingRecipient>> {
                let rows: Vec<(i64, i64, String, String, String)> = sqlx::query_as(
                    "SELECT r.id, r.contact_id, c.email, c.name, c.lang FROM campaign_recipients r \
                     JOIN survey_contacts c ON c.id = r.contact_id \
                     WHERE r.campaign_id = $1 AND r.tenant_id = $2 AND r.queued_at IS NULL \
                     AND c.unsubscribed_at IS NULL ORDER BY r.id LIMIT $3",
                )
                .bind(campaign)
                .bind(tenant.0)
                .bind(limit)
                .fetch_all(&self.reader)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, contact_id, email, name, lang)| $crate::PendingRecipient {
                        id,
                        contact_id,
                        email,
                        name,
                        lang: ricevo_core::Lang::parse(&lang).unwrap_or_default(),
                    })
                    .collect())
            }

            async fn campaigns_queue(
                &self,
                tenant: TenantId,
                campaign: i64,
                messages: &[$crate::QueuedMessage],
                now: Timestamp,
            ) -> Result<u64> {
                if messages.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.begin_write().await?;
                let running: Option<(i64,)> = sqlx::query_as(
                    "SELECT id FROM campaigns WHERE tenant_id = $1 AND id = $2 AND status = 'running'",
                )
                .bind(tenant.0)
                .bind(campaign)
                .fetch_optional(&mut *tx)
                .await?;
                if running.is_none() {
                    tx.rollback().await?;
                    return Ok(0);
                }
                let mut outbox = Vec::with_capacity(messages.len());
                for m in messages {
                    // Only a recipient not queued yet, whose contact is still subscribed.
                    let r = sqlx::query(
                        "UPDATE campaign_recipients SET queued_at = $1, token_hash = $2 \
                         WHERE id = $3 AND tenant_id = $4 AND campaign_id = $5 AND queued_at IS NULL \
                         AND EXISTS (SELECT 1 FROM survey_contacts s WHERE s.id = campaign_recipients.contact_id \
                         AND s.unsubscribed_at IS NULL)",
                    )
                    .bind(now.as_second())
                    .bind(&m.token_hash)
                    .bind(m.recipient_id)
                    .bind(tenant.0)
                    .bind(campaign)
                    .execute(&mut *tx)
                    .await?;
                    if r.rows_affected() == 1 {
                        outbox.push(m.message.clone());
                    }
                }
                for chunk in outbox.chunks($crate::campaigns::MESSAGES_PER_INSERT) {
                    Self::insert_outbox(&mut tx, tenant, None, chunk, now).await?;
                }
                tx.commit().await?;
                Ok(outbox.len() as u64)
            }

            async fn campaigns_sync(&self, tenant: TenantId, campaign: i64) -> Result<()> {
                let key = $crate::campaigns::RECIPIENT_KEY;
                let mut tx = self.begin_write().await?;
                sqlx::query(&format!(
                    "UPDATE campaign_recipients AS r SET sent_at = (SELECT o.sent_at FROM outbox o WHERE o.dedupe_key = {key}), \
                     error = NULL WHERE r.tenant_id = $1 AND r.campaign_id = $2 AND r.queued_at IS NOT NULL \
                     AND r.sent_at IS NULL AND r.bounced_at IS NULL \
                     AND EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = {key} AND o.sent_at IS NOT NULL)"
                ))
                .bind(tenant.0)
                .bind(campaign)
                .execute(&mut *tx)
                .await?;
                sqlx::query(&format!(
                    "UPDATE campaign_recipients AS r SET error = (SELECT o.last_error FROM outbox o WHERE o.dedupe_key = {key}) \
                     WHERE r.tenant_id = $1 AND r.campaign_id = $2 AND r.queued_at IS NOT NULL \
                     AND r.sent_at IS NULL AND r.bounced_at IS NULL \
                     AND EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = {key} AND o.sent_at IS NULL AND o.last_error IS NOT NULL)"
                ))
                .bind(tenant.0)
                .bind(campaign)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn campaigns_progress(&self, tenant: TenantId, campaign: i64) -> Result<$crate::CampaignProgress> {
                let (recipients, queued, sent, errors, bounced, answered, unsubscribed): (i64, i64, i64, i64, i64, i64, i64) =
                    sqlx::query_as(
                        "SELECT COUNT(*), COUNT(r.queued_at), COUNT(r.sent_at), \
                         COUNT(CASE WHEN r.sent_at IS NULL AND r.bounced_at IS NULL THEN r.error END), \
                         COUNT(r.bounced_at), COUNT(r.answered_at), COUNT(c.unsubscribed_at) \
                         FROM campaign_recipients r JOIN survey_contacts c ON c.id = r.contact_id \
                         WHERE r.tenant_id = $1 AND r.campaign_id = $2",
                    )
                    .bind(tenant.0)
                    .bind(campaign)
                    .fetch_one(&self.reader)
                    .await?;
                Ok($crate::CampaignProgress { recipients, queued, sent, errors, bounced, answered, unsubscribed })
            }

            async fn campaigns_problems(
                &self,
                tenant: TenantId,
                campaign: i64,
                limit: i64,
            ) -> Result<Vec<$crate::RecipientProblem>> {
                let rows: Vec<(String, Option<String>, Option<i64>, Option<i64>)> = sqlx::query_as(
                    "SELECT c.email, r.error, r.bounced_at, r.queued_at FROM campaign_recipients r \
                     JOIN survey_contacts c ON c.id = r.contact_id WHERE r.tenant_id = $1 AND r.campaign_id = $2 \
                     AND r.sent_at IS NULL AND (r.error IS NOT NULL OR r.bounced_at IS NOT NULL) ORDER BY r.id LIMIT $3",
                )
                .bind(tenant.0)
                .bind(campaign)
                .bind(limit)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter()
                    .map(|(email, error, bounced, queued)| {
                        Ok($crate::RecipientProblem {
                            email,
                            error,
                            bounced_at: bounced.map(instant).transpose()?,
                            queued_at: queued.map(instant).transpose()?,
                        })
                    })
                    .collect()
            }

            async fn campaigns_link(&self, token_hash: &str) -> Result<Option<$crate::CampaignLink>> {
                let row: Option<(i64, i64, i64, String, Option<i64>, Option<i64>)> = sqlx::query_as(
                    "SELECT r.id, r.contact_id, r.campaign_id, c.lang, r.answered_at, c.unsubscribed_at \
                     FROM campaign_recipients r JOIN survey_contacts c ON c.id = r.contact_id WHERE r.token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&self.reader)
                .await?;
                let Some((recipient_id, contact_id, campaign_id, lang, answered, unsubscribed)) = row else {
                    return Ok(None);
                };
                let c: $crate::campaigns::CampaignTuple = sqlx::query_as(&format!(
                    "SELECT {} FROM campaigns WHERE id = $1",
                    $crate::campaigns::CAMPAIGN_COLUMNS
                ))
                .bind(campaign_id)
                .fetch_one(&self.reader)
                .await?;
                Ok(Some($crate::CampaignLink {
                    recipient_id,
                    contact_id,
                    campaign: $crate::campaigns::campaign_from(c)?,
                    lang: ricevo_core::Lang::parse(&lang).unwrap_or_default(),
                    answered_at: answered.map(instant).transpose()?,
                    unsubscribed_at: unsubscribed.map(instant).transpose()?,
                }))
            }

            async fn campaigns_unsubscribe(&self, tenant: TenantId, contact: i64, now: Timestamp) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query(
                    "UPDATE survey_contacts SET unsubscribed_at = $1 WHERE tenant_id = $2 AND id = $3 \
                     AND unsubscribed_at IS NULL",
                )
                .bind(now.as_second())
                .bind(tenant.0)
                .bind(contact)
                .execute(&mut *tx)
                .await?;
                // Honoured at once: their messages still waiting in the outbox go too.
                sqlx::query(&format!(
                    "DELETE FROM outbox WHERE tenant_id = $1 AND sent_at IS NULL AND dedupe_key IN \
                     (SELECT {} FROM campaign_recipients r WHERE r.tenant_id = $1 AND r.contact_id = $2)",
                    $crate::campaigns::RECIPIENT_KEY
                ))
                .bind(tenant.0)
                .bind(contact)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(r.rows_affected() == 1)
            }

            async fn campaigns_answer(
                &self,
                tenant: TenantId,
                recipient: i64,
                response: &$crate::NewResponse,
                now: Timestamp,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                // One answer per link, while the campaign takes answers: the mark and the
                // answer commit together or not at all.
                let r = sqlx::query(
                    "UPDATE campaign_recipients SET answered_at = $1 WHERE id = $2 AND tenant_id = $3 \
                     AND answered_at IS NULL AND campaign_id IN \
                     (SELECT id FROM campaigns WHERE tenant_id = $3 AND status IN ('running', 'paused'))",
                )
                .bind(now.as_second())
                .bind(recipient)
                .bind(tenant.0)
                .execute(&mut *tx)
                .await?;
                if r.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Err(StoreError::Stale);
                }
                Self::insert_response(&mut tx, response).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn campaigns_bounced(
                &self,
                tenant: TenantId,
                dedupe_key: &str,
                error: &str,
                now: Timestamp,
            ) -> Result<()> {
                let Some((campaign, contact)) = ricevo_core::campaign::parse_dedupe_key(dedupe_key) else {
                    return Ok(());
                };
                let error: String = error.chars().take(500).collect();
                sqlx::query(
                    "UPDATE campaign_recipients SET bounced_at = $1, error = $2 WHERE tenant_id = $3 \
                     AND campaign_id = $4 AND contact_id = $5 AND sent_at IS NULL",
                )
                .bind(now.as_second())
                .bind(error)
                .bind(tenant.0)
                .bind(campaign)
                .bind(contact)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            /// A citizen's contact rows (by e-mail, within one town): the export lists them.
            async fn campaigns_citizen_contacts(
                &self,
                tenant: TenantId,
                email: &str,
            ) -> Result<Vec<$crate::SurveyContact>> {
                let rows: Vec<$crate::campaigns::ContactTuple> = sqlx::query_as(&format!(
                    "SELECT {} FROM survey_contacts WHERE tenant_id = $1 AND email = $2",
                    $crate::campaigns::CONTACT_COLUMNS
                ))
                .bind(tenant.0)
                .bind(email.trim().to_lowercase())
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map($crate::campaigns::contact_from).collect()
            }

            /// Deletes contacts matching `condition` (with `$1` the town and `$2` its value):
            /// their unsent messages, their recipient rows, then the contacts; returns how many
            /// contacts went.
            async fn campaigns_delete_contacts(
                tx: &mut Tx<'_>,
                tenant: TenantId,
                condition: &str,
                value: i64,
                email: Option<&str>,
            ) -> std::result::Result<u64, sqlx::Error> {
                let contacts = format!("SELECT id FROM survey_contacts WHERE tenant_id = $1 AND {condition}");
                let statements = [
                    format!(
                        "DELETE FROM outbox WHERE tenant_id = $1 AND dedupe_key IN (SELECT {} FROM campaign_recipients r \
                         WHERE r.tenant_id = $1 AND r.contact_id IN ({contacts}))",
                        $crate::campaigns::RECIPIENT_KEY
                    ),
                    format!("DELETE FROM campaign_recipients WHERE tenant_id = $1 AND contact_id IN ({contacts})"),
                    format!("DELETE FROM survey_contacts WHERE tenant_id = $1 AND {condition}"),
                ];
                let mut removed = 0;
                for sql in &statements {
                    let q = sqlx::query(sql).bind(tenant.0);
                    let q = match email {
                        Some(e) => q.bind(e.to_owned()),
                        None => q.bind(value),
                    };
                    removed = q.execute(&mut **tx).await?.rows_affected();
                }
                Ok(removed)
            }
        }
    };
}

pub(crate) use impl_campaigns;
