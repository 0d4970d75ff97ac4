//! A town's channels for messages besides e-mail (issue 15): App IO, its SMS gateway, its
//! Telegram bot, and its order of preference. One row per town in `town_channels`; the
//! statements live in `impl_channels!`, which both engines expand.

use jiff::Timestamp;
use ricevo_core::TenantId;
use ricevo_core::channel::Channel;

/// How the SMS gateway is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsMethod {
    /// `GET` with the fields in the query string (or in the URL template's placeholders).
    Get,
    /// `POST` with an `application/x-www-form-urlencoded` body.
    #[default]
    PostForm,
    /// `POST` with a JSON object body.
    PostJson,
}

impl SmsMethod {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SmsMethod::Get => "get",
            SmsMethod::PostForm => "post_form",
            SmsMethod::PostJson => "post_json",
        }
    }

    /// Reads a stored name; `None` for others.
    pub fn parse(s: &str) -> Option<SmsMethod> {
        [SmsMethod::Get, SmsMethod::PostForm, SmsMethod::PostJson].into_iter().find(|m| m.as_str() == s.trim())
    }
}

/// A town's SMS gateway: an HTTP endpoint of its provider and the names it gives the fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SmsGateway {
    /// The endpoint; `{to}`, `{text}` and `{from}` in it are replaced (URL-encoded).
    pub url: String,
    /// How it is called.
    pub method: SmsMethod,
    /// HTTP Basic user name (Twilio's account SID, for instance); `None`: no authentication.
    pub username: Option<String>,
    /// HTTP Basic password or API key.
    pub password: Option<String>,
    /// The field that carries the recipient's number.
    pub to_field: String,
    /// The field that carries the text.
    pub text_field: String,
    /// The field that carries the sender's name or number (left out when `sender` is empty).
    pub sender_field: String,
    /// The sender's name or number.
    pub sender: String,
}

/// A town's channel settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TownChannels {
    /// The town.
    pub tenant_id: TenantId,
    /// The order of preference (every channel once).
    pub order: Vec<Channel>,
    /// Whether messages may go through App IO.
    pub app_io_enabled: bool,
    /// The App IO service's subscription key (`Ocp-Apim-Subscription-Key`).
    pub app_io_key: Option<String>,
    /// Whether messages may go by SMS.
    pub sms_enabled: bool,
    /// The SMS gateway.
    pub sms: SmsGateway,
    /// Whether messages may go to Telegram chats.
    pub telegram_enabled: bool,
    /// The town's own bot's token (`None`: the instance's bot, if any).
    pub telegram_bot_token: Option<String>,
    /// The secret Telegram sends back in `X-Telegram-Bot-Api-Secret-Token` on the webhook.
    pub telegram_webhook_secret: Option<String>,
    /// When last changed.
    pub updated_at: Timestamp,
}

impl TownChannels {
    /// The settings of a town that has configured nothing: e-mail only.
    pub fn none(tenant_id: TenantId) -> TownChannels {
        TownChannels {
            tenant_id,
            order: Channel::ALL.to_vec(),
            app_io_enabled: false,
            app_io_key: None,
            sms_enabled: false,
            sms: SmsGateway {
                to_field: "to".into(),
                text_field: "text".into(),
                sender_field: "from".into(),
                ..SmsGateway::default()
            },
            telegram_enabled: false,
            telegram_bot_token: None,
            telegram_webhook_secret: None,
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    /// The channels besides e-mail that are switched on and have what they need to send.
    pub fn enabled(&self) -> Vec<Channel> {
        let mut on = vec![Channel::Email];
        if self.app_io_enabled && self.app_io_key.as_deref().is_some_and(|k| !k.is_empty()) {
            on.push(Channel::AppIo);
        }
        if self.sms_enabled && !self.sms.url.is_empty() {
            on.push(Channel::Sms);
        }
        if self.telegram_enabled {
            on.push(Channel::Telegram);
        }
        on
    }
}

/// A message of a town that failed and waits for another attempt (or was parked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxFailure {
    /// The outbox row.
    pub id: i64,
    /// `email`, `webhook` or `citizen`.
    pub kind: String,
    /// What it is about (`<appointment>:<kind>:<sequence>`...).
    pub dedupe_key: String,
    /// Attempts so far.
    pub attempts: i32,
    /// The last error, with the channel it came from.
    pub last_error: String,
    /// When it is tried next.
    pub next_attempt: Timestamp,
}

/// The columns of `town_channels` in the order [`ChannelsRow`] reads them.
pub(crate) const CHANNELS_COLUMNS: &str = "tenant_id, channel_order, app_io_enabled, app_io_key, sms_enabled, sms_url, \
     sms_method, sms_username, sms_password, sms_to_field, sms_text_field, sms_sender_field, sms_sender, \
     telegram_enabled, telegram_bot_token, telegram_webhook_secret, updated_at";

/// The raw columns of a town's channel settings.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ChannelsRow {
    tenant_id: i64,
    channel_order: String,
    app_io_enabled: i32,
    app_io_key: Option<String>,
    sms_enabled: i32,
    sms_url: String,
    sms_method: String,
    sms_username: Option<String>,
    sms_password: Option<String>,
    sms_to_field: String,
    sms_text_field: String,
    sms_sender_field: String,
    sms_sender: String,
    telegram_enabled: i32,
    telegram_bot_token: Option<String>,
    telegram_webhook_secret: Option<String>,
    updated_at: i64,
}

/// A town's settings from its row.
pub(crate) fn channels_from(r: ChannelsRow) -> crate::Result<TownChannels> {
    Ok(TownChannels {
        tenant_id: TenantId(r.tenant_id),
        order: ricevo_core::channel::parse_order(&r.channel_order),
        app_io_enabled: r.app_io_enabled != 0,
        app_io_key: r.app_io_key,
        sms_enabled: r.sms_enabled != 0,
        sms: SmsGateway {
            url: r.sms_url,
            method: SmsMethod::parse(&r.sms_method)
                .ok_or_else(|| crate::StoreError::Corrupt(format!("sms method {}", r.sms_method)))?,
            username: r.sms_username,
            password: r.sms_password,
            to_field: r.sms_to_field,
            text_field: r.sms_text_field,
            sender_field: r.sms_sender_field,
            sender: r.sms_sender,
        },
        telegram_enabled: r.telegram_enabled != 0,
        telegram_bot_token: r.telegram_bot_token,
        telegram_webhook_secret: r.telegram_webhook_secret,
        updated_at: crate::sql::instant(r.updated_at)?,
    })
}

/// Implements the channel statements for a store type with `reader` and `writer` pools.
macro_rules! impl_channels {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn channels_read(&self, tenant: TenantId) -> Result<Option<$crate::TownChannels>> {
                let row: Option<$crate::channels::ChannelsRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM town_channels WHERE tenant_id = $1",
                    $crate::channels::CHANNELS_COLUMNS
                ))
                .bind(tenant.0)
                .fetch_optional(&self.reader)
                .await?;
                row.map($crate::channels::channels_from).transpose()
            }

            async fn channels_failures(&self, tenant: TenantId, limit: i64) -> Result<Vec<$crate::OutboxFailure>> {
                let rows: Vec<(i64, String, String, i32, Option<String>, i64)> = sqlx::query_as(
                    "SELECT id, kind, dedupe_key, attempts, last_error, due_at FROM outbox \
                     WHERE tenant_id = $1 AND sent_at IS NULL AND last_error IS NOT NULL ORDER BY due_at, id LIMIT $2",
                )
                .bind(tenant.0)
                .bind(limit)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter()
                    .map(|(id, kind, dedupe_key, attempts, last_error, due_at)| {
                        Ok($crate::OutboxFailure {
                            id,
                            kind,
                            dedupe_key,
                            attempts,
                            last_error: last_error.unwrap_or_default(),
                            next_attempt: $crate::sql::instant(due_at)?,
                        })
                    })
                    .collect()
            }

            async fn channels_write(&self, c: &$crate::TownChannels) -> Result<()> {
                sqlx::query(
                    "INSERT INTO town_channels (tenant_id, channel_order, app_io_enabled, app_io_key, sms_enabled, \
                     sms_url, sms_method, sms_username, sms_password, sms_to_field, sms_text_field, sms_sender_field, \
                     sms_sender, telegram_enabled, telegram_bot_token, telegram_webhook_secret, updated_at) \
                     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17 \
                     WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $1) \
                     ON CONFLICT (tenant_id) DO UPDATE SET channel_order = excluded.channel_order, \
                     app_io_enabled = excluded.app_io_enabled, app_io_key = excluded.app_io_key, \
                     sms_enabled = excluded.sms_enabled, sms_url = excluded.sms_url, sms_method = excluded.sms_method, \
                     sms_username = excluded.sms_username, sms_password = excluded.sms_password, \
                     sms_to_field = excluded.sms_to_field, sms_text_field = excluded.sms_text_field, \
                     sms_sender_field = excluded.sms_sender_field, sms_sender = excluded.sms_sender, \
                     telegram_enabled = excluded.telegram_enabled, telegram_bot_token = excluded.telegram_bot_token, \
                     telegram_webhook_secret = excluded.telegram_webhook_secret, updated_at = excluded.updated_at",
                )
                .bind(c.tenant_id.0)
                .bind(ricevo_core::channel::order_to_string(&c.order))
                .bind(i32::from(c.app_io_enabled))
                .bind(&c.app_io_key)
                .bind(i32::from(c.sms_enabled))
                .bind(&c.sms.url)
                .bind(c.sms.method.as_str())
                .bind(&c.sms.username)
                .bind(&c.sms.password)
                .bind(&c.sms.to_field)
                .bind(&c.sms.text_field)
                .bind(&c.sms.sender_field)
                .bind(&c.sms.sender)
                .bind(i32::from(c.telegram_enabled))
                .bind(&c.telegram_bot_token)
                .bind(&c.telegram_webhook_secret)
                .bind(c.updated_at.as_second())
                .execute(&self.writer)
                .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_channels;
