//! The Telegram edge: the webhook Telegram posts a bot's updates to, and the one function both
//! the webhook and the long-polling loop (in the binary) run each update through.
//!
//! - `POST /telegram/{town}/webhook`: a town's own bot (token and secret in the town's channel
//!   settings); `POST /telegram/webhook`: the instance's bot (`[telegram]` in the config).
//!   Telegram sends the secret given to `setWebhook` in `X-Telegram-Bot-Api-Secret-Token`: it
//!   is compared in constant time, and without it (401) or with another (403) nothing runs.
//! - The body is capped (Telegram's messages are at most 4096 characters; a bigger body is
//!   refused with 413 before it is read), a malformed update is 400, and a replayed
//!   `update_id` changes nothing (the desk remembers the ids it handled).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use ricevo_desk::Desk;
use ricevo_desk::telegram::{Bot, ChatUpdate};
use ricevo_notify::telegram::BotApi;
use ricevo_notify::telegram_updates::{Update, reply_markup};

use crate::staff::common::same_secret;
use crate::state::AppState;

/// The header Telegram carries the webhook's secret token in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The largest update body the webhook reads: a 4096-character message with its envelope fits
/// many times over.
pub const MAX_UPDATE_BYTES: usize = 32 * 1024;

/// The webhook routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/telegram/{town}/webhook", post(town_webhook))
        .route("/telegram/webhook", post(instance_webhook))
        .layer(DefaultBodyLimit::max(MAX_UPDATE_BYTES))
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}

// The refusal of a webhook call without the bot's secret: missing 401, another one 403.
fn check_secret(headers: &HeaderMap, expected: &str) -> Option<Response> {
    match headers.get(SECRET_HEADER).and_then(|v| v.to_str().ok()) {
        None => Some(plain(StatusCode::UNAUTHORIZED, "missing secret token\n")),
        Some(given) if same_secret(given, expected) => None,
        Some(_) => Some(plain(StatusCode::FORBIDDEN, "wrong secret token\n")),
    }
}

async fn town_webhook(
    State(state): State<AppState>,
    Path(town): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(tenant) = state.desk.town(&town).await else {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    };
    let channels = match state.store.town_channels(tenant.id).await {
        Ok(Some(c)) => c,
        Ok(None) => return plain(StatusCode::NOT_FOUND, "not found\n"),
        Err(e) => {
            tracing::error!(error = %e, "telegram webhook: town channels unreadable");
            return plain(StatusCode::SERVICE_UNAVAILABLE, "unavailable\n");
        }
    };
    // A town without a bot in webhook mode has no webhook.
    let (Some(token), Some(secret)) = (channels.telegram_bot_token, channels.telegram_webhook_secret) else {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    };
    if let Some(refused) = check_secret(&headers, &secret) {
        tracing::warn!(town = %tenant.slug, "telegram webhook refused: secret token");
        return refused;
    }
    receive(&state, &token, &Bot::Town(Box::new(tenant)), &body).await
}

async fn instance_webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(bot) = state.config.telegram.instance.as_ref() else {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    };
    let Some(secret) = bot.webhook_secret.as_deref() else {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    };
    if let Some(refused) = check_secret(&headers, secret) {
        tracing::warn!("telegram webhook refused: secret token");
        return refused;
    }
    receive(&state, &bot.token, &Bot::Instance, &body).await
}

async fn receive(state: &AppState, token: &str, bot: &Bot, body: &[u8]) -> Response {
    let Ok(update) = serde_json::from_slice::<Update>(body) else {
        return plain(StatusCode::BAD_REQUEST, "not a Telegram update\n");
    };
    let Some(api) = state.telegram_api.as_deref() else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "unavailable\n");
    };
    match handle_update(&state.desk, api, token, bot, &update).await {
        Ok(()) => plain(StatusCode::OK, "ok\n"),
        Err(e) => {
            tracing::error!(error = %e, "telegram update failed");
            plain(StatusCode::SERVICE_UNAVAILABLE, "unavailable\n")
        }
    }
}

/// Runs one update of `bot` (whose token is `token`) through the desk and sends the answers:
/// the messages in order, and the answer to a pressed button (so its spinner stops). An
/// update the bot does not read (a group, an edited message) is ignored.
pub async fn handle_update(
    desk: &Desk,
    api: &BotApi,
    token: &str,
    bot: &Bot,
    update: &Update,
) -> Result<(), ricevo_desk::DeskError> {
    let Some(read) = update.chat_input() else { return Ok(()) };
    let turn = ChatUpdate {
        update_id: read.update_id,
        chat_id: read.chat_id,
        language_code: read.language_code.clone(),
        input: read.input.clone(),
    };
    let answer = desk.telegram_update(bot, &turn).await?;
    if let Some(id) = &read.callback_query_id
        && let Err(e) = api.answer_callback_query(token, id).await
    {
        tracing::warn!(error = %e, "telegram: callback query not answered");
    }
    for reply in answer.replies {
        if let Err(e) = api.send_message(token, read.chat_id, &reply.text, reply_markup(&reply.keyboard)).await {
            // Told once: the conversation moved on, and the citizen can ask again.
            tracing::warn!(error = %e, "telegram: reply not sent");
        }
    }
    Ok(())
}

/// How long one `getUpdates` call waits for an update (Telegram's long polling).
pub const POLL_TIMEOUT_SECONDS: u64 = 25;

/// How often the bots' loop looks for towns whose bot was added, changed or removed.
const BOTS_RESCAN: std::time::Duration = std::time::Duration::from_secs(60);

/// Long-polls `bot`'s updates (`getUpdates` with the offset after the last one handled, so
/// each is confirmed once) and runs each, until `stop` turns true. Failures of the Bot API
/// are retried with a growing pause (1 s up to a minute).
pub async fn poll_bot(
    desk: Desk,
    api: std::sync::Arc<BotApi>,
    token: String,
    bot: Bot,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut offset: Option<i64> = None;
    let mut pause = std::time::Duration::from_secs(1);
    loop {
        if *stop.borrow_and_update() {
            break;
        }
        let polled = tokio::select! {
            polled = api.get_updates(&token, offset, POLL_TIMEOUT_SECONDS) => polled,
            _ = stop.changed() => break,
        };
        match polled {
            Ok(updates) => {
                pause = std::time::Duration::from_secs(1);
                for raw in updates {
                    let id = raw.get("update_id").and_then(serde_json::Value::as_i64);
                    if let Some(id) = id {
                        offset = Some(offset.map_or(id + 1, |o| o.max(id + 1)));
                    }
                    match serde_json::from_value::<Update>(raw) {
                        Ok(update) => {
                            if let Err(e) = handle_update(&desk, &api, &token, &bot, &update).await {
                                tracing::error!(error = %e, bot = %bot.key(), "telegram update failed");
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "telegram: an update could not be read"),
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, bot = %bot.key(), pause = ?pause, "telegram getUpdates failed");
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    _ = stop.changed() => break,
                }
                pause = (pause * 2).min(std::time::Duration::from_secs(60));
            }
        }
    }
    tracing::info!(bot = %bot.key(), "telegram polling stopped");
}

// One bot to run: its key, token and mode, as configured now.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Running {
    token: String,
    secret: Option<String>,
}

/// The bots of the instance and its towns, kept running until `stop`: a bot with a webhook
/// secret gets its webhook set (`setWebhook` with `secret_token`), the others are long-polled.
/// Towns are looked at again every minute, so a bot added in a town's settings starts by
/// itself.
pub async fn run_bots(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let Some(api) = state.telegram_api.clone() else { return };
    let mut running: std::collections::HashMap<String, (Running, Option<tokio::task::JoinHandle<()>>)> =
        std::collections::HashMap::new();
    loop {
        if *stop.borrow_and_update() {
            break;
        }
        let mut wanted: Vec<(Bot, Running)> = Vec::new();
        if let Some(b) = &state.config.telegram.instance {
            wanted.push((Bot::Instance, Running { token: b.token.clone(), secret: b.webhook_secret.clone() }));
        }
        match state.store.tenants().await {
            Ok(towns) => {
                for town in towns.into_iter().filter(|t| !t.disabled) {
                    if let Ok(Some(c)) = state.store.town_channels(town.id).await
                        && let Some(token) = c.telegram_bot_token
                    {
                        wanted.push((Bot::Town(Box::new(town)), Running { token, secret: c.telegram_webhook_secret }));
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "telegram: towns unreadable"),
        }
        let keys: std::collections::HashSet<String> = wanted.iter().map(|(b, _)| b.key()).collect();
        running.retain(|key, (_, task)| {
            let keep = keys.contains(key);
            if !keep && let Some(t) = task {
                t.abort();
            }
            keep
        });
        for (bot, want) in wanted {
            let key = bot.key();
            if running.get(&key).is_some_and(|(r, _)| *r == want) {
                continue;
            }
            if let Some((_, Some(task))) = running.remove(&key) {
                task.abort();
            }
            let task = match &want.secret {
                Some(secret) => {
                    let url = match &bot {
                        Bot::Town(t) => format!("{}/telegram/{}/webhook", state.config.public_url, t.slug),
                        Bot::Instance => format!("{}/telegram/webhook", state.config.public_url),
                    };
                    if let Err(e) = api.set_webhook(&want.token, &url, secret).await {
                        tracing::warn!(error = %e, bot = %key, "telegram setWebhook failed; tried again later");
                        continue;
                    }
                    tracing::info!(bot = %key, %url, "telegram webhook set");
                    None
                }
                None => {
                    // getUpdates is refused while a webhook is set.
                    if let Err(e) = api.delete_webhook(&want.token).await {
                        tracing::warn!(error = %e, bot = %key, "telegram deleteWebhook failed; tried again later");
                        continue;
                    }
                    tracing::info!(bot = %key, "telegram long polling started");
                    let poll = poll_bot(state.desk.clone(), api.clone(), want.token.clone(), bot, stop.clone());
                    Some(tokio::spawn(poll))
                }
            };
            running.insert(key, (want, task));
        }
        tokio::select! {
            () = tokio::time::sleep(BOTS_RESCAN) => {}
            _ = stop.changed() => break,
        }
    }
    for (_, (_, task)) in running {
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}
