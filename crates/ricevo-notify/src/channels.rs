//! Sending a [`CitizenMessage`] on one channel besides e-mail: App IO (PagoPA's messages API),
//! an SMS gateway configured by the town, Telegram. Each answer is sorted into three outcomes:
//! sent; refused for this citizen ([`NotifyError::Refused`], the next channel is tried); or the
//! service is down (any other error, the message waits and is tried again with backoff).

use std::time::Duration;

use ricevo_core::channel::PhoneNumber;
use ricevo_store::{SmsGateway, SmsMethod};
use serde_json::json;

use crate::destination::{AllowedHosts, WebhookUrl};
use crate::telegram::{BotApi, DEFAULT_BASE_URL};
use crate::{CitizenMessage, NotifyError};

/// App IO's public API.
pub const APP_IO_BASE_URL: &str = "https://api.io.pagopa.it";
/// How long a message waits in App IO for a citizen whose app is not reachable: App IO's
/// default and minimum, one hour, in seconds.
pub const APP_IO_TIME_TO_LIVE: u32 = 3600;
/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The clients of the channels besides e-mail.
#[derive(Debug, Clone)]
pub struct ChannelSenders {
    client: reqwest::Client,
    app_io_base: String,
    bot: BotApi,
    instance_bot_token: Option<String>,
    allowed: AllowedHosts,
}

impl ChannelSenders {
    /// Senders to the public services: App IO and Telegram at their addresses, SMS gateways
    /// anywhere public (and on `allowed` internal hosts).
    pub fn new(allowed: AllowedHosts) -> Result<ChannelSenders, NotifyError> {
        ChannelSenders::at(APP_IO_BASE_URL, DEFAULT_BASE_URL, allowed)
    }

    /// Senders to App IO at `app_io_base` and the Bot API at `telegram_base` (fakes in tests).
    pub fn at(app_io_base: &str, telegram_base: &str, allowed: AllowedHosts) -> Result<ChannelSenders, NotifyError> {
        Ok(ChannelSenders {
            client: reqwest::Client::builder().timeout(TIMEOUT).redirect(reqwest::redirect::Policy::none()).build()?,
            app_io_base: app_io_base.trim_end_matches('/').to_owned(),
            bot: BotApi::new(telegram_base)?,
            instance_bot_token: None,
            allowed,
        })
    }

    /// The instance's own bot, used for towns without a bot of their own.
    pub fn with_instance_bot(mut self, token: Option<String>) -> ChannelSenders {
        self.instance_bot_token = token.filter(|t| !t.is_empty());
        self
    }

    /// The instance's bot token, if any.
    pub fn instance_bot_token(&self) -> Option<&str> {
        self.instance_bot_token.as_deref()
    }

    /// Sends `m` through App IO to the citizen with `fiscal_code`, with the town's service
    /// `key`: first the profile (`sender_allowed`), then the message.
    pub async fn app_io(&self, key: &str, fiscal_code: &str, m: &CitizenMessage) -> Result<String, NotifyError> {
        if !is_fiscal_code_shape(fiscal_code) {
            return Err(NotifyError::Refused(format!("App IO: {fiscal_code:?} is not a fiscal code")));
        }
        let profile = self
            .client
            // "Get a User Profile using POST": the fiscal code travels in the body, never in an
            // address that proxies and logs keep (App IO deprecates the GET by path).
            .post(format!("{}/api/v1/profiles", self.app_io_base))
            .header("Ocp-Apim-Subscription-Key", key)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&json!({ "fiscal_code": fiscal_code }))?)
            .send()
            .await
            .map_err(|e| e.without_url())?;
        let status = profile.status().as_u16();
        match status {
            200 => {}
            404 => return Err(NotifyError::Refused("App IO: the citizen has no profile".into())),
            401 | 403 => {
                return Err(NotifyError::Refused(format!("App IO: the service key was refused (HTTP {status})")));
            }
            _ => return Err(NotifyError::WebhookStatus(status)),
        }
        let profile: serde_json::Value = serde_json::from_slice(&profile.bytes().await.map_err(|e| e.without_url())?)?;
        if profile["sender_allowed"] != json!(true) {
            return Err(NotifyError::Refused("App IO: the citizen does not accept messages from this service".into()));
        }
        let mut content = json!({ "subject": m.subject, "markdown": m.long });
        if let Some(due) = m.due_date {
            content["due_date"] = json!(due.strftime("%Y-%m-%dT%H:%M:%S.000Z").to_string());
        }
        let body = json!({ "time_to_live": APP_IO_TIME_TO_LIVE, "content": content, "fiscal_code": fiscal_code });
        let sent = self
            .client
            .post(format!("{}/api/v1/messages", self.app_io_base))
            .header("Ocp-Apim-Subscription-Key", key)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body)?)
            .send()
            .await
            .map_err(|e| e.without_url())?;
        let status = sent.status().as_u16();
        match status {
            200..=299 => {
                let answer: serde_json::Value = read_json(sent).await;
                Ok(answer["id"].as_str().unwrap_or_default().to_owned())
            }
            429 | 500..=599 => Err(NotifyError::WebhookStatus(status)),
            _ => {
                let answer: serde_json::Value = read_json(sent).await;
                let detail = answer["detail"].as_str().or(answer["title"].as_str()).unwrap_or("refused").to_owned();
                Err(NotifyError::Refused(format!("App IO: HTTP {status}: {detail}")))
            }
        }
    }

    /// Sends `text` to `to` through the town's SMS `gateway`.
    pub async fn sms(&self, gateway: &SmsGateway, to: &PhoneNumber, text: &str) -> Result<(), NotifyError> {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let templated = gateway.url.contains("{to}") || gateway.url.contains("{text}");
        let raw = gateway
            .url
            .replace("{to}", &enc(to.as_str()))
            .replace("{text}", &enc(text))
            .replace("{from}", &enc(&gateway.sender));
        let url = WebhookUrl::parse(&raw)
            .map_err(|_| NotifyError::Invalid("the SMS gateway address is not a valid http(s) address".into()))?;
        self.allowed.check(&url).await?;
        let mut fields: Vec<(&str, &str)> = Vec::new();
        if !templated {
            fields.push((&gateway.to_field, to.as_str()));
            fields.push((&gateway.text_field, text));
        }
        if !gateway.sender.is_empty() && !gateway.sender_field.is_empty() && !gateway.url.contains("{from}") {
            fields.push((&gateway.sender_field, &gateway.sender));
        }
        let request = match gateway.method {
            SmsMethod::Get => self.client.get(url.as_str()).query(&fields),
            SmsMethod::PostForm => self.client.post(url.as_str()).form(&fields),
            SmsMethod::PostJson => {
                let object: serde_json::Map<String, serde_json::Value> =
                    fields.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
                self.client
                    .post(url.as_str())
                    .header("content-type", "application/json")
                    .body(serde_json::to_vec(&object)?)
            }
        };
        let request = match (&gateway.username, &gateway.password) {
            (Some(user), password) if !user.is_empty() => request.basic_auth(user, password.as_deref()),
            _ => request,
        };
        let answer = request.send().await.map_err(|e| e.without_url())?;
        let status = answer.status().as_u16();
        match status {
            200..=299 => Ok(()),
            400 | 404 | 422 => {
                Err(NotifyError::Refused(format!("SMS gateway refused the number or text (HTTP {status})")))
            }
            401 | 403 => Err(NotifyError::Refused(format!("SMS gateway refused the credentials (HTTP {status})"))),
            _ => Err(NotifyError::WebhookStatus(status)),
        }
    }

    /// Sends `text` to the Telegram `chat` through the bot with `token`.
    pub async fn telegram(&self, token: &str, chat: i64, text: &str) -> Result<(), NotifyError> {
        self.bot.send_message(token, chat, text, None).await
    }
}

/// Sixteen letters and digits: the shape of a fiscal code (App IO checks the rest).
fn is_fiscal_code_shape(s: &str) -> bool {
    s.len() == 16 && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// An answer's JSON body, or `null` when it has none or it is not JSON.
pub(crate) async fn read_json(response: reqwest::Response) -> serde_json::Value {
    match response.bytes().await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        Err(_) => serde_json::Value::Null,
    }
}
