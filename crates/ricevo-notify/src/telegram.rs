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
