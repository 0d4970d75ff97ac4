//! Questionnaires and their answers. The rows, and how they become domain values, are here;
//! the statements live in `impl_surveys!`, which both engines expand inside `impl_store!`.
//!
//! A response never holds the citizen's identity: the town learns what was answered, where and
//! after which kind of contact, not by whom.

use jiff::Timestamp;
use ricevo_core::survey::{Answers, Questionnaire, QuestionnaireId, SurveyChannel, SurveyKind, SurveyStatus};
use ricevo_core::{Lang, OfficeId, ServiceId, TenantId};
use serde::Serialize;

use crate::sql::instant;
use crate::{Result, StoreError};

/// A questionnaire to create, or the new content of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQuestionnaire {
    /// Its title for staff (and as the heading citizens see).
    pub title: String,
    /// A questionnaire of its own, or a town's extra feedback questions.
    pub kind: SurveyKind,
    /// The office it concerns (feedback extras; optional for a survey).
    pub office_id: Option<OfficeId>,
    /// The service it concerns (feedback extras; optional for a survey).
    pub service_id: Option<ServiceId>,
    /// What is asked.
    pub definition: Questionnaire,
}

/// A stored questionnaire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredQuestionnaire {
    /// Its id.
    pub id: QuestionnaireId,
    /// Its town.
    pub tenant_id: TenantId,
    /// Its title.
    pub title: String,
    /// Survey or feedback extras.
    pub kind: SurveyKind,
    /// The office it concerns.
    pub office_id: Option<OfficeId>,
    /// The service it concerns.
    pub service_id: Option<ServiceId>,
    /// What is asked.
    pub definition: Questionnaire,
    /// Draft, open or closed.
    pub status: SurveyStatus,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// One set of answers to store, with the context of how it was given (no identity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewResponse {
    /// The town.
    pub tenant_id: TenantId,
    /// The questionnaire answered; `None` for the built-in after-contact feedback.
    pub questionnaire_id: Option<QuestionnaireId>,
    /// How it was given.
    pub channel: SurveyChannel,
    /// Where (a kiosk's place, such as "Anagrafe").
    pub place: Option<String>,
    /// The office of the contact.
    pub office_id: Option<OfficeId>,
    /// The service of the contact.
    pub service_id: Option<ServiceId>,
    /// The contact's mode: `video`, `in_person`, `phone` or `walk_in`.
    pub mode: Option<String>,
    /// Seconds waited before the contact.
    pub wait_seconds: Option<i64>,
    /// Seconds the contact lasted.
    pub duration_seconds: Option<i64>,
    /// The rating given (`Answers::rating`), kept in its own column for reports.
    pub rating: Option<u8>,
    /// The checked answers.
    pub answers: Answers,
    /// The language the questions were shown in.
    pub lang: Lang,
    /// When it was given.
    pub submitted_at: Timestamp,
}

/// A stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// Its id.
    pub id: i64,
    /// Everything it was stored with.
    pub response: NewResponse,
}

/// Which responses to read: one questionnaire's (or the built-in feedback's), optionally
/// narrowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseFilter {
    /// Given at or after this instant.
    pub from: Option<Timestamp>,
    /// Given before this instant.
    pub to: Option<Timestamp>,
    /// Only this channel.
    pub channel: Option<SurveyChannel>,
    /// Only contacts with this office.
    pub office: Option<OfficeId>,
    /// At most this many, newest first (0 = no limit).
    pub limit: i64,
}

/// Columns of `questionnaires` in the order [`questionnaire_from`] reads them.
pub(crate) const QUESTIONNAIRE_COLUMNS: &str =
    "id, tenant_id, title, kind, office_id, service_id, definition, status, created_at, updated_at";

/// The raw columns of a questionnaire.
pub(crate) type QuestionnaireTuple = (i64, i64, String, String, Option<i64>, Option<i64>, String, String, i64, i64);

/// A questionnaire from its row.
pub(crate) fn questionnaire_from(t: QuestionnaireTuple) -> Result<StoredQuestionnaire> {
    let (id, tenant_id, title, kind, office_id, service_id, definition, status, created_at, updated_at) = t;
    Ok(StoredQuestionnaire {
        id: QuestionnaireId(id),
        tenant_id: TenantId(tenant_id),
        title,
        kind: SurveyKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("questionnaire kind {kind}")))?,
        office_id: office_id.map(OfficeId),
        service_id: service_id.map(ServiceId),
        definition: serde_json::from_str(&definition)
            .map_err(|e| StoreError::Corrupt(format!("questionnaire {id} definition: {e}")))?,
        status: SurveyStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("questionnaire status {status}")))?,
        created_at: instant(created_at)?,
        updated_at: instant(updated_at)?,
    })
}

/// A definition as stored.
pub(crate) fn definition_json(q: &Questionnaire) -> Result<String> {
    serde_json::to_string(q).map_err(|e| StoreError::Corrupt(format!("definition: {e}")))
}

/// Columns of `survey_responses` in the order [`ResponseRow`] reads them.
pub(crate) const RESPONSE_COLUMNS: &str = "id, tenant_id, questionnaire_id, channel, place, office_id, service_id, mode, \
     wait_seconds, duration_seconds, rating, answers, lang, submitted_at";

/// The raw columns of a response.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ResponseRow {
    id: i64,
    tenant_id: i64,
    questionnaire_id: Option<i64>,
    channel: String,
    place: Option<String>,
    office_id: Option<i64>,
    service_id: Option<i64>,
    mode: Option<String>,
    wait_seconds: Option<i64>,
    duration_seconds: Option<i64>,
    rating: Option<i32>,
    answers: String,
    lang: String,
    submitted_at: i64,
}

/// A response from its row.
pub(crate) fn response_from(r: ResponseRow) -> Result<StoredResponse> {
    Ok(StoredResponse {
        id: r.id,
        response: NewResponse {
            tenant_id: TenantId(r.tenant_id),
            questionnaire_id: r.questionnaire_id.map(QuestionnaireId),
            channel: SurveyChannel::parse(&r.channel)
                .ok_or_else(|| StoreError::Corrupt(format!("response channel {}", r.channel)))?,
            place: r.place,
            office_id: r.office_id.map(OfficeId),
            service_id: r.service_id.map(ServiceId),
            mode: r.mode,
            wait_seconds: r.wait_seconds,
            duration_seconds: r.duration_seconds,
            rating: r.rating.and_then(|n| u8::try_from(n).ok()),
            answers: serde_json::from_str(&r.answers)
                .map_err(|e| StoreError::Corrupt(format!("response {} answers: {e}", r.id)))?,
            lang: Lang::parse(&r.lang).unwrap_or_default(),
            submitted_at: instant(r.submitted_at)?,
        },
    })
}

/// The WHERE clause and binds of a response query: `$1` the town, then the filter's values.
pub(crate) fn response_query(
    questionnaire: Option<QuestionnaireId>,
    f: &ResponseFilter,
) -> (String, Vec<i64>, Option<&'static str>) {
    let mut sql = format!("SELECT {RESPONSE_COLUMNS} FROM survey_responses WHERE tenant_id = $1");
    let mut ints = Vec::new();
    let mut n = 1;
    let mut next = |sql: &mut String, cond: &str| {
        n += 1;
        sql.push_str(&cond.replace('?', &format!("${n}")));
    };
    match questionnaire {
        Some(q) => {
            next(&mut sql, " AND questionnaire_id = ?");
            ints.push(q.0);
        }
        None => sql.push_str(" AND questionnaire_id IS NULL"),
    }
    if let Some(from) = f.from {
        next(&mut sql, " AND submitted_at >= ?");
        ints.push(from.as_second());
    }
    if let Some(to) = f.to {
        next(&mut sql, " AND submitted_at < ?");
        ints.push(to.as_second());
    }
    if let Some(o) = f.office {
        next(&mut sql, " AND office_id = ?");
        ints.push(o.0);
    }
    let channel = f.channel.map(SurveyChannel::as_str);
    if channel.is_some() {
        next(&mut sql, " AND channel = ?");
    }
    sql.push_str(" ORDER BY submitted_at DESC, id DESC");
    if f.limit > 0 {
        sql.push_str(&format!(" LIMIT {}", f.limit));
    }
    (sql, ints, channel)
}

/// The statements of this module for one engine: inherent methods of `$store`.
macro_rules! impl_surveys {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Stores one response inside the caller's transaction (the feedback marks its
            /// request answered in the same one). Checks nothing: the caller has.
            #[allow(dead_code)]
            pub(crate) async fn insert_response(
                tx: &mut Tx<'_>,
                r: &$crate::surveys::NewResponse,
            ) -> std::result::Result<i64, sqlx::Error> {
                let answers = serde_json::to_string(&r.answers).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO survey_responses (tenant_id, questionnaire_id, channel, place, office_id, service_id, \
                     mode, wait_seconds, duration_seconds, rating, answers, lang, submitted_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                )
                .bind(r.tenant_id.0)
                .bind(r.questionnaire_id.map(|q| q.0))
                .bind(r.channel.as_str())
                .bind(r.place.as_deref())
                .bind(r.office_id.map(|o| o.0))
                .bind(r.service_id.map(|s| s.0))
                .bind(r.mode.as_deref())
                .bind(r.wait_seconds)
                .bind(r.duration_seconds)
                .bind(r.rating.map(i32::from))
                .bind(answers)
                .bind(r.lang.code())
                .bind(r.submitted_at.as_second())
                .fetch_one(&mut **tx)
                .await?;
                Ok(id)
            }

            async fn surveys_create(
                &self,
                tenant: TenantId,
                q: &$crate::surveys::NewQuestionnaire,
                now: Timestamp,
            ) -> Result<$crate::surveys::StoredQuestionnaire> {
                use $crate::surveys::{QUESTIONNAIRE_COLUMNS, QuestionnaireTuple, definition_json, questionnaire_from};
                let mut tx = self.begin_write().await?;
                Self::surveys_check_places(&mut tx, tenant, q).await?;
                let row: QuestionnaireTuple = sqlx::query_as(&format!(
                    "INSERT INTO questionnaires (tenant_id, title, kind, office_id, service_id, definition, status, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $7) RETURNING {QUESTIONNAIRE_COLUMNS}"
                ))
                .bind(tenant.0)
                .bind(&q.title)
                .bind(q.kind.as_str())
                .bind(q.office_id.map(|o| o.0))
                .bind(q.service_id.map(|s| s.0))
                .bind(definition_json(&q.definition)?)
                .bind(now.as_second())
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                questionnaire_from(row)
            }

            /// `NotFound` unless the office and service named are the town's.
            async fn surveys_check_places(
                tx: &mut Tx<'_>,
                tenant: TenantId,
                q: &$crate::surveys::NewQuestionnaire,
            ) -> Result<()> {
                if let Some(o) = q.office_id {
                    let found: Option<(i64,)> = sqlx::query_as("SELECT id FROM offices WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant.0)
                        .bind(o.0)
                        .fetch_optional(&mut **tx)
                        .await?;
                    found.ok_or(StoreError::NotFound)?;
                }
                if let Some(s) = q.service_id {
                    let found: Option<(i64,)> = sqlx::query_as("SELECT id FROM services WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant.0)
                        .bind(s.0)
                        .fetch_optional(&mut **tx)
                        .await?;
                    found.ok_or(StoreError::NotFound)?;
                }
                Ok(())
            }

            async fn surveys_update(
                &self,
                tenant: TenantId,
                id: ricevo_core::survey::QuestionnaireId,
                q: &$crate::surveys::NewQuestionnaire,
                now: Timestamp,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                Self::surveys_check_places(&mut tx, tenant, q).await?;
                let r = sqlx::query(
                    "UPDATE questionnaires SET title = $1, kind = $2, office_id = $3, service_id = $4, definition = $5, \
                     updated_at = $6 WHERE tenant_id = $7 AND id = $8",
                )
                .bind(&q.title)
                .bind(q.kind.as_str())
                .bind(q.office_id.map(|o| o.0))
                .bind(q.service_id.map(|s| s.0))
                .bind($crate::surveys::definition_json(&q.definition)?)
                .bind(now.as_second())
                .bind(tenant.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
                if r.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                tx.commit().await?;
                Ok(())
            }

            async fn surveys_set_status(
                &self,
                tenant: TenantId,
                id: ricevo_core::survey::QuestionnaireId,
                status: ricevo_core::survey::SurveyStatus,
                now: Timestamp,
            ) -> Result<()> {
                let r = sqlx::query("UPDATE questionnaires SET status = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
                    .bind(status.as_str())
                    .bind(now.as_second())
                    .bind(tenant.0)
                    .bind(id.0)
                    .execute(&self.writer)
                    .await?;
                if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn surveys_one(
                &self,
                tenant: TenantId,
                id: ricevo_core::survey::QuestionnaireId,
            ) -> Result<Option<$crate::surveys::StoredQuestionnaire>> {
                use $crate::surveys::{QUESTIONNAIRE_COLUMNS, QuestionnaireTuple, questionnaire_from};
                let row: Option<QuestionnaireTuple> = sqlx::query_as(&format!(
                    "SELECT {QUESTIONNAIRE_COLUMNS} FROM questionnaires WHERE tenant_id = $1 AND id = $2"
                ))
                .bind(tenant.0)
                .bind(id.0)
                .fetch_optional(&self.reader)
                .await?;
                row.map(questionnaire_from).transpose()
            }

            async fn surveys_all(&self, tenant: TenantId) -> Result<Vec<$crate::surveys::StoredQuestionnaire>> {
                use $crate::surveys::{QUESTIONNAIRE_COLUMNS, QuestionnaireTuple, questionnaire_from};
                let rows: Vec<QuestionnaireTuple> = sqlx::query_as(&format!(
                    "SELECT {QUESTIONNAIRE_COLUMNS} FROM questionnaires WHERE tenant_id = $1 ORDER BY id DESC"
                ))
                .bind(tenant.0)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map(questionnaire_from).collect()
            }

            async fn surveys_add_response(&self, r: &$crate::surveys::NewResponse) -> Result<i64> {
                let mut tx = self.begin_write().await?;
                if let Some(q) = r.questionnaire_id {
                    // In the same transaction as the insert: a questionnaire closed a moment
                    // ago takes no more answers.
                    let status: Option<(String,)> =
                        sqlx::query_as("SELECT status FROM questionnaires WHERE tenant_id = $1 AND id = $2")
                            .bind(r.tenant_id.0)
                            .bind(q.0)
                            .fetch_optional(&mut *tx)
                            .await?;
                    match status {
                        None => return Err(StoreError::NotFound),
                        Some((s,)) if s != "open" => return Err(StoreError::Stale),
                        Some(_) => {}
                    }
                }
                let id = Self::insert_response(&mut tx, r).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn surveys_responses(
                &self,
                tenant: TenantId,
                questionnaire: Option<ricevo_core::survey::QuestionnaireId>,
                filter: &$crate::surveys::ResponseFilter,
            ) -> Result<Vec<$crate::surveys::StoredResponse>> {
                let (sql, ints, channel) = $crate::surveys::response_query(questionnaire, filter);
                let mut query = sqlx::query_as::<_, $crate::surveys::ResponseRow>(&sql).bind(tenant.0);
                for i in ints {
                    query = query.bind(i);
                }
                if let Some(c) = channel {
                    query = query.bind(c);
                }
                let rows = query.fetch_all(&self.reader).await?;
                rows.into_iter().map($crate::surveys::response_from).collect()
            }
        }
    };
}

pub(crate) use impl_surveys;
