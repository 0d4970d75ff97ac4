//! Telegram chats (`telegram_chats`: where each chat's conversation stands) and the updates
//! each bot has handled (`telegram_updates`, so that a replayed update changes nothing). The
//! statements live in `impl_telegram!`, which both engines expand.

use jiff::Timestamp;
use ricevo_core::{Lang, TenantId};

/// How long a handled update id is remembered (Telegram gives up redelivering within a day).
pub const UPDATES_KEPT_SECONDS: i64 = 7 * 24 * 3600;

/// One chat's conversation with one bot, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatState {
    /// The bot: `town:<tenant id>` or `instance`.
    pub bot: String,
    /// Telegram's chat id.
    pub chat_id: i64,
    /// The town the chat talks to (an instance bot's chat before it chose: none).
    pub tenant_id: Option<TenantId>,
    /// The conversation (`ricevo_core::chat_booking::Conversation` as JSON).
    pub state: String,
    /// The chat's language.
    pub lang: Lang,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it lapses: after this, the chat starts over.
    pub expires_at: Timestamp,
}

pub(crate) type ChatTuple = (String, i64, Option<i64>, String, String, i64, i64);

pub(crate) fn chat_from(t: ChatTuple) -> crate::Result<ChatState> {
    let (bot, chat_id, tenant, state, lang, updated_at, expires_at) = t;
    Ok(ChatState {
        bot,
        chat_id,
        tenant_id: tenant.map(TenantId),
        state,
        lang: Lang::parse(&lang).unwrap_or_default(),
        updated_at: crate::sql::instant(updated_at)?,
        expires_at: crate::sql::instant(expires_at)?,
    })
}

/// The statements of this module for one engine: inherent methods of `$store` that
/// `impl_store!`'s [`crate::Store`] methods call.
macro_rules! impl_telegram {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn telegram_chat_state(
                &self,
                bot: &str,
                chat_id: i64,
                now: Timestamp,
            ) -> Result<Option<$crate::telegram::ChatState>> {
                let row: Option<$crate::telegram::ChatTuple> = sqlx::query_as(
                    "SELECT bot, chat_id, tenant_id, state, lang, updated_at, expires_at FROM telegram_chats \
                     WHERE bot = $1 AND chat_id = $2 AND expires_at > $3",
                )
                .bind(bot)
                .bind(chat_id)
                .bind(now.as_second())
                .fetch_optional(&self.writer)
                .await?;
                row.map($crate::telegram::chat_from).transpose()
            }

            async fn telegram_save_chat(&self, chat: &$crate::telegram::ChatState) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO telegram_chats (bot, chat_id, tenant_id, state, lang, updated_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (bot, chat_id) DO UPDATE SET \
                     tenant_id = excluded.tenant_id, state = excluded.state, lang = excluded.lang, \
                     updated_at = excluded.updated_at, expires_at = excluded.expires_at",
                )
                .bind(&chat.bot)
                .bind(chat.chat_id)
                .bind(chat.tenant_id.map(|t| t.0))
                .bind(&chat.state)
                .bind(chat.lang.code())
                .bind(chat.updated_at.as_second())
                .bind(chat.expires_at.as_second())
                .execute(&mut *tx)
                .await?;
                // Lapsed conversations hold names and numbers typed half-way: they go.
                sqlx::query("DELETE FROM telegram_chats WHERE bot = $1 AND expires_at <= $2")
                    .bind(&chat.bot)
                    .bind(chat.updated_at.as_second())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn telegram_first_seen(&self, bot: &str, update_id: i64, now: Timestamp) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query(
                    "INSERT INTO telegram_updates (bot, update_id, received_at) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(bot)
                .bind(update_id)
                .bind(now.as_second())
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM telegram_updates WHERE received_at < $1")
                    .bind(now.as_second() - $crate::telegram::UPDATES_KEPT_SECONDS)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(r.rows_affected() == 1)
            }

            async fn telegram_appointments(
                &self,
                tenant: TenantId,
                chat_id: i64,
                from: Timestamp,
            ) -> Result<Vec<Appointment>> {
                let rows: Vec<AppointmentTuple> = sqlx::query_as(&format!(
                    "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE tenant_id = $1 AND telegram_chat_id = $2 \
                     AND end_at > $3 ORDER BY start_at, id"
                ))
                .bind(tenant.0)
                .bind(chat_id)
                .bind(from.as_second())
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map(appointment_from).collect()
            }
        }
    };
}

pub(crate) use impl_telegram;
