//! A fake Telegram Bot API on loopback, following the published contract
//! (<https://core.telegram.org/bots/api>) for the methods Ricevo's bot calls:
//!
//! - every call is `POST {base}/bot{token}/{method}` with a JSON body; the answer is
//!   `{"ok": true, "result": ...}` or `{"ok": false, "error_code": N, "description": "..."}`;
//!   an unknown token is `401 Unauthorized`, an unknown method `404 Not Found`;
//! - `sendMessage` (`chat_id`, `text` of 1-4096 characters, `reply_markup`: inline buttons'
//!   `callback_data` 1-64 bytes) answers the Message; `editMessageText` likewise;
//! - `answerCallbackQuery` (`callback_query_id`) answers `true`;
//! - `setWebhook` (`url` HTTPS or empty to remove, `secret_token` 1-256 characters of
//!   `A-Z a-z 0-9 _ -`) and `deleteWebhook`; `getWebhookInfo`;
//! - `getUpdates` (`offset`, `limit` 1-100, `timeout` seconds): updates with an id below
//!   `offset` are confirmed and forgotten, a negative offset keeps only the last `-offset`;
//!   with no update waiting it holds the request up to `timeout`; refused with `409 Conflict`
//!   while a webhook is set.
//!
//! The test injects updates with [`TelegramFake::push_update`] and reads what the bot sent with
//! [`TelegramFake::sent`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// What one call to the fake asked, as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The bot's token.
    pub token: String,
    /// The method (`sendMessage`, ...).
    pub method: String,
    /// The JSON body.
    pub body: Value,
}

#[derive(Debug, Default)]
struct Bot {
    queue: VecDeque<Value>,
    next_update_id: i64,
    next_message_id: i64,
    webhook: Option<(String, Option<String>)>,
}

#[derive(Debug, Default)]
struct Inner {
    bots: HashMap<String, Bot>,
    calls: Vec<Call>,
}

/// The handle a test holds: register bots, inject updates, read the calls.
#[derive(Debug, Clone, Default)]
pub struct TelegramFake {
    inner: Arc<Mutex<Inner>>,
    arrived: Arc<Notify>,
}

/// Starts the fake on 127.0.0.1 (a port the OS chooses); returns its base URL and its handle.
pub async fn start() -> (String, TelegramFake) {
    let fake = TelegramFake::default();
    let app = Router::new().route("/{bot}/{method}", post(call)).with_state(fake.clone());
    (crate::serve(app).await, fake)
}

impl TelegramFake {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes `token` a bot the fake knows (others get 401).
    pub fn add_bot(&self, token: &str) {
        self.lock().bots.entry(token.to_owned()).or_insert_with(|| Bot { next_update_id: 1000, ..Bot::default() });
    }

    /// Queues an update for `token`'s `getUpdates` (the fake gives it the next `update_id`,
    /// which it returns); `update` is the Update without its id.
    pub fn push_update(&self, token: &str, mut update: Value) -> i64 {
        let id = {
            let mut inner = self.lock();
            let bot = inner.bots.entry(token.to_owned()).or_default();
            bot.next_update_id += 1;
            let id = bot.next_update_id;
            update["update_id"] = json!(id);
            bot.queue.push_back(update);
            id
        };
        self.arrived.notify_waiters();
        id
    }

    /// Every call received, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The `sendMessage` bodies sent by `token` to `chat_id`, oldest first.
    pub fn sent(&self, token: &str, chat_id: i64) -> Vec<Value> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.token == token && c.method == "sendMessage" && c.body["chat_id"].as_i64() == Some(chat_id))
            .map(|c| c.body.clone())
            .collect()
    }

    /// The webhook set for `token` (URL and secret token), if any.
    pub fn webhook(&self, token: &str) -> Option<(String, Option<String>)> {
        self.lock().bots.get(token).and_then(|b| b.webhook.clone())
    }

    /// How many updates wait for `token` (not yet confirmed by an offset).
    pub fn pending(&self, token: &str) -> usize {
        self.lock().bots.get(token).map(|b| b.queue.len()).unwrap_or(0)
    }
}

/// A text message from a private chat (the Update without its id).
pub fn text_update(chat_id: i64, language_code: &str, text: &str) -> Value {
    json!({ "message": {
        "message_id": 1, "date": 0, "text": text,
        "chat": { "id": chat_id, "type": "private" },
        "from": { "id": chat_id, "is_bot": false, "first_name": "Test", "language_code": language_code },
    }})
}

/// A button press in a private chat (the Update without its id).
pub fn button_update(chat_id: i64, language_code: &str, data: &str) -> Value {
    json!({ "callback_query": {
        "id": format!("cq{chat_id}-{data}"), "data": data, "chat_instance": "1",
        "from": { "id": chat_id, "is_bot": false, "first_name": "Test", "language_code": language_code },
        "message": { "message_id": 1, "date": 0, "chat": { "id": chat_id, "type": "private" }, "text": "..." },
    }})
}

/// A shared contact in a private chat; `user_id` is the sender's own for their own number.
pub fn contact_update(chat_id: i64, phone: &str, user_id: i64) -> Value {
    json!({ "message": {
        "message_id": 1, "date": 0,
        "chat": { "id": chat_id, "type": "private" },
        "from": { "id": chat_id, "is_bot": false, "first_name": "Test" },
        "contact": { "phone_number": phone, "first_name": "Test", "user_id": user_id },
    }})
}

fn refuse(status: StatusCode, description: &str) -> Response {
    (status, axum::Json(json!({ "ok": false, "error_code": status.as_u16(), "description": description })))
        .into_response()
}

fn ok(result: &Value) -> Response {
    axum::Json(json!({ "ok": true, "result": result })).into_response()
}

async fn call(State(fake): State<TelegramFake>, Path((bot, method)): Path<(String, String)>, body: String) -> Response {
    let Some(token) = bot.strip_prefix("bot").map(str::to_owned) else {
        return refuse(StatusCode::NOT_FOUND, "Not Found");
    };
    let body: Value = if body.trim().is_empty() {
        json!({})
    } else {
        match serde_json::from_str(&body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return refuse(StatusCode::BAD_REQUEST, "Bad Request: can't parse JSON object"),
        }
    };
    {
        let mut inner = fake.lock();
        if !inner.bots.contains_key(&token) {
            return refuse(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        inner.calls.push(Call { token: token.clone(), method: method.clone(), body: body.clone() });
    }
    match method.as_str() {
        "getMe" => ok(&json!({ "id": 1, "is_bot": true, "first_name": "Ricevo", "username": "ricevo_bot" })),
        "sendMessage" | "editMessageText" => send_message(&fake, &token, &body),
        "answerCallbackQuery" => match body["callback_query_id"].as_str() {
            Some(id) if !id.is_empty() => ok(&json!(true)),
            _ => refuse(
                StatusCode::BAD_REQUEST,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            ),
        },
        "setWebhook" => set_webhook(&fake, &token, &body),
        "deleteWebhook" => {
            if let Some(b) = fake.lock().bots.get_mut(&token) {
                b.webhook = None;
            }
            ok(&json!(true))
        }
        "getWebhookInfo" => {
            let hook = fake.webhook(&token);
            ok(&json!({ "url": hook.map(|h| h.0).unwrap_or_default(), "pending_update_count": fake.pending(&token) }))
        }
        "getUpdates" => get_updates(&fake, &token, &body).await,
        _ => refuse(StatusCode::NOT_FOUND, "Not Found: method not found"),
    }
}

fn send_message(fake: &TelegramFake, token: &str, body: &Value) -> Response {
    let Some(chat_id) = body["chat_id"].as_i64() else {
        return refuse(StatusCode::BAD_REQUEST, "Bad Request: chat not found");
    };
    let text = body["text"].as_str().unwrap_or("");
    if text.trim().is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "Bad Request: message text is empty");
    }
    if text.chars().count() > 4096 {
        return refuse(StatusCode::BAD_REQUEST, "Bad Request: message is too long");
    }
    if let Some(rows) = body["reply_markup"]["inline_keyboard"].as_array() {
        for b in rows.iter().filter_map(Value::as_array).flatten() {
            let data = b["callback_data"].as_str().unwrap_or("");
            if b["text"].as_str().unwrap_or("").is_empty() || data.is_empty() || data.len() > 64 {
                return refuse(StatusCode::BAD_REQUEST, "Bad Request: BUTTON_DATA_INVALID");
            }
        }
    }
    let message_id = {
        let mut inner = fake.lock();
        let bot = inner.bots.entry(token.to_owned()).or_default();
        bot.next_message_id += 1;
        bot.next_message_id
    };
    ok(&json!({ "message_id": message_id, "date": 0, "chat": { "id": chat_id, "type": "private" }, "text": text }))
}

fn set_webhook(fake: &TelegramFake, token: &str, body: &Value) -> Response {
    let url = body["url"].as_str().unwrap_or("");
    let secret = body["secret_token"].as_str().map(str::to_owned);
    if let Some(s) = &secret
        && (s.is_empty() || s.len() > 256 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    {
        return refuse(StatusCode::BAD_REQUEST, "Bad Request: secret token contains unallowed characters");
    }
    if !url.is_empty() && !url.starts_with("https://") {
        return refuse(StatusCode::BAD_REQUEST, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook");
    }
    if let Some(b) = fake.lock().bots.get_mut(token) {
        b.webhook = (!url.is_empty()).then(|| (url.to_owned(), secret));
    }
    ok(&json!(true))
}

async fn get_updates(fake: &TelegramFake, token: &str, body: &Value) -> Response {
    if fake.webhook(token).is_some() {
        return refuse(
            StatusCode::CONFLICT,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
        );
    }
    let offset = body["offset"].as_i64();
    let limit = body["limit"].as_i64().unwrap_or(100).clamp(1, 100) as usize;
    let timeout = body["timeout"].as_u64().unwrap_or(0).min(50);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        let arrived = fake.arrived.notified();
        let batch: Vec<Value> = {
            let mut inner = fake.lock();
            let Some(bot) = inner.bots.get_mut(token) else { return refuse(StatusCode::UNAUTHORIZED, "Unauthorized") };
            match offset {
                // Confirmed: every update below the offset is forgotten.
                Some(o) if o >= 0 => bot.queue.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= o),
                // From the end: only the last -offset are kept.
                Some(o) => {
                    let keep = usize::try_from(o.unsigned_abs()).unwrap_or(usize::MAX);
                    while bot.queue.len() > keep {
                        bot.queue.pop_front();
                    }
                }
                None => {}
            }
            bot.queue.iter().take(limit).cloned().collect()
        };
        if !batch.is_empty() || tokio::time::Instant::now() >= deadline {
            return ok(&Value::Array(batch));
        }
        // Long polling: hold the request until an update arrives or the timeout passes.
        let _ = tokio::time::timeout_at(deadline, arrived).await;
    }
}
