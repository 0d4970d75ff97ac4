//! Telegram's Bot API (<https://core.telegram.org/bots/api>): the calls Ricevo makes to a bot.

use std::time::Duration;

use serde_json::json;

use crate::NotifyError;

/// The public Bot API.
pub const DEFAULT_BASE_URL: &str = "https://api.telegram.org";
/// How long one call may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A client of the Bot API at one base URL (the public one, or a fake in tests).
#[derive(Debug, Clone)]
pub struct BotApi {
    client: reqwest::Client,
    base: String,
}

impl BotApi {
    /// A client for the Bot API at `base_url` (`https://api.telegram.org` in production).
    pub fn new(base_url: &str) -> Result<BotApi, NotifyError> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(NotifyError::Invalid(format!("the Bot API address {base_url:?} is not http(s)")));
        }
        let client = reqwest::Client::builder().timeout(TIMEOUT).build()?;
        Ok(BotApi { client, base })
    }

    /// POST {base}/bot{token}/sendMessage; `reply_markup` is the Bot API's JSON (inline keyboard...).
    pub async fn send_message(
        &self,
        token: &str,
        chat_id: i64,
        text: &str,
        reply_markup: Option<serde_json::Value>,
    ) -> Result<(), NotifyError> {
        let mut body = json!({ "chat_id": chat_id, "text": text, "disable_web_page_preview": true });
        if let Some(markup) = reply_markup {
            body["reply_markup"] = markup;
        }
        self.call(token, "sendMessage", &body).await.map(|_| ())
    }

    /// Calls a method with a JSON body and returns its `result`. A refusal (4xx with
    /// `ok: false`) is [`NotifyError::Refused`]; a 5xx or 429 is [`NotifyError::WebhookStatus`]
    /// (tried again later).
    pub async fn call(
        &self,
        token: &str,
        method: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, NotifyError> {
        if token.is_empty() || token.contains(['/', '?', '#', ' ']) {
            return Err(NotifyError::Invalid("the Telegram bot token is malformed".into()));
        }
        let url = format!("{}/bot{token}/{method}", self.base);
        let response = self
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body)?)
            .send()
            .await
            .map_err(|e| e.without_url())?;
        let status = response.status();
        let answer: serde_json::Value = crate::channels::read_json(response).await;
        if status.is_success() && answer["ok"] == json!(true) {
            return Ok(answer["result"].clone());
        }
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(NotifyError::WebhookStatus(status.as_u16()));
        }
        Err(NotifyError::Refused(format!(
            "Telegram {}: {}",
            answer["error_code"].as_u64().unwrap_or(u64::from(status.as_u16())),
            answer["description"].as_str().unwrap_or("refused")
        )))
    }
}

// ---- telegram ----
/// Whether `secret` is a webhook secret token Telegram accepts: 1 to 256 characters of
/// `A-Z a-z 0-9 _ -`.
pub fn valid_secret_token(secret: &str) -> bool {
    !secret.is_empty()
        && secret.len() <= 256
        && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Where the Bot API is and the instance's own bot, if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramConfig {
    /// The Bot API's base URL.
    pub api_url: String,
    /// One bot for every town of the instance (its chats choose their town first).
    pub instance: Option<InstanceBot>,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig { api_url: DEFAULT_BASE_URL.into(), instance: None }
    }
}

/// The instance's bot.
#[derive(Clone, PartialEq, Eq)]
pub struct InstanceBot {
    /// Its token from BotFather.
    pub token: String,
    /// The webhook's secret token; `None`: the bot is long-polled.
    pub webhook_secret: Option<String>,
}

// The token and the secret are never logged.
impl std::fmt::Debug for InstanceBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceBot").field("webhook", &self.webhook_secret.is_some()).finish_non_exhaustive()
    }
}

impl BotApi {
    /// `answerCallbackQuery`: stops the spinner of a pressed button.
    pub async fn answer_callback_query(&self, token: &str, callback_query_id: &str) -> Result<(), NotifyError> {
        self.call(token, "answerCallbackQuery", &json!({ "callback_query_id": callback_query_id })).await.map(|_| ())
    }

    /// `setWebhook`: Telegram posts the bot's updates to `url` with `secret` in the
    /// `X-Telegram-Bot-Api-Secret-Token` header; only the update kinds the bot reads.
    pub async fn set_webhook(&self, token: &str, url: &str, secret: &str) -> Result<(), NotifyError> {
        if !valid_secret_token(secret) {
            return Err(NotifyError::Invalid("the webhook secret token is malformed".into()));
        }
        let body = json!({
            "url": url,
            "secret_token": secret,
            "allowed_updates": ["message", "callback_query"],
        });
        self.call(token, "setWebhook", &body).await.map(|_| ())
    }

    /// `deleteWebhook`: the bot's updates wait for `getUpdates` instead (kept, not dropped).
    pub async fn delete_webhook(&self, token: &str) -> Result<(), NotifyError> {
        self.call(token, "deleteWebhook", &json!({ "drop_pending_updates": false })).await.map(|_| ())
    }

    /// `getUpdates`: the updates from `offset` on (which confirms every earlier one), waiting
    /// up to `timeout_seconds` for one to arrive (long polling).
    pub async fn get_updates(
        &self,
        token: &str,
        offset: Option<i64>,
        timeout_seconds: u64,
    ) -> Result<Vec<serde_json::Value>, NotifyError> {
        let mut body = json!({ "timeout": timeout_seconds, "allowed_updates": ["message", "callback_query"] });
        if let Some(o) = offset {
            body["offset"] = json!(o);
        }
        match self.call(token, "getUpdates", &body).await? {
            serde_json::Value::Array(updates) => Ok(updates),
            other => Err(NotifyError::Refused(format!("Telegram getUpdates answered {other}"))),
        }
    }
}
// ---- end telegram ----
