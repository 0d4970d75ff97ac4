//! The town's channels for messages (issue 15), for its administrators:
//! `/{tenant}/staff/channels` switches App IO, SMS and Telegram on and off, holds their keys
//! (stored, never shown back in full), the order of preference, and lists the messages that
//! failed with their channel and error.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use ricevo_core::channel::Channel;
use ricevo_desk::DeskError;
use ricevo_desk::channels::ChannelsForm;
use ricevo_store::{SmsMethod, TownChannels};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::ApiError;
use crate::staff::common::{Fields, PageError, Posted, Staff, render};
use crate::staff::views::Page;
use crate::state::AppState;

/// The routes of the channels page.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/staff/channels", get(page).post(save))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
}

/// One failed message.
struct FailureRow {
    what: String,
    attempts: i32,
    error: String,
    next: String,
}

#[derive(Template)]
#[template(path = "channels/settings.html")]
struct ChannelsPage {
    p: Page,
    saved: bool,
    errors: Vec<(String, String)>,
    order: Vec<(usize, String, String)>,
    app_io_enabled: bool,
    app_io_key: String,
    sms_enabled: bool,
    sms_url: String,
    methods: Vec<(String, String, bool)>,
    sms_username: String,
    sms_password: String,
    sms_to_field: String,
    sms_text_field: String,
    sms_sender_field: String,
    sms_sender: String,
    telegram_enabled: bool,
    telegram_bot_token: String,
    telegram_webhook_secret: String,
    failures: Vec<FailureRow>,
}

impl ChannelsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }
}

/// A stored secret as the page shows it: its last four characters only.
fn masked(secret: Option<&str>) -> String {
    match secret {
        Some(s) if !s.is_empty() => {
            let tail: String = s.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
            format!("••••{tail}")
        }
        _ => String::new(),
    }
}

async fn show(
    state: &AppState,
    staff: &Staff,
    c: &TownChannels,
    status: StatusCode,
    saved: bool,
    errors: Vec<(String, String)>,
) -> Result<Response, PageError> {
    let failures = state.store.town_outbox_failures(staff.tenant.id, 50).await.map_err(|e| staff.err(e.into()))?;
    let zone = ricevo_desk::town::zone_of(&staff.tenant);
    let method_label = |m: SmsMethod| match m {
        SmsMethod::Get => "GET",
        SmsMethod::PostForm => staff.t("POST, modulo (x-www-form-urlencoded)", "POST, form (x-www-form-urlencoded)"),
        SmsMethod::PostJson => "POST, JSON",
    };
    let page = ChannelsPage {
        p: staff.page(staff.t("Canali dei messaggi", "Message channels")),
        saved,
        errors,
        order: c
            .order
            .iter()
            .enumerate()
            .map(|(i, ch)| (i + 1, ch.as_str().to_owned(), ch.label(staff.lang).to_owned()))
            .collect(),
        app_io_enabled: c.app_io_enabled,
        app_io_key: masked(c.app_io_key.as_deref()),
        sms_enabled: c.sms_enabled,
        sms_url: c.sms.url.clone(),
        methods: [SmsMethod::PostForm, SmsMethod::PostJson, SmsMethod::Get]
            .into_iter()
            .map(|m| (m.as_str().to_owned(), method_label(m).to_owned(), m == c.sms.method))
            .collect(),
        sms_username: c.sms.username.clone().unwrap_or_default(),
        sms_password: masked(c.sms.password.as_deref()),
        sms_to_field: c.sms.to_field.clone(),
        sms_text_field: c.sms.text_field.clone(),
        sms_sender_field: c.sms.sender_field.clone(),
        sms_sender: c.sms.sender.clone(),
        telegram_enabled: c.telegram_enabled,
        telegram_bot_token: masked(c.telegram_bot_token.as_deref()),
        telegram_webhook_secret: c.telegram_webhook_secret.clone().unwrap_or_default(),
        failures: failures
            .into_iter()
            .map(|f| FailureRow {
                what: format!("{} ({})", f.dedupe_key, f.kind),
                attempts: f.attempts,
                error: f.last_error,
                next: f.next_attempt.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M").to_string(),
            })
            .collect(),
    };
    Ok(render(status, &page))
}

/// `GET /{tenant}/staff/channels`.
async fn page(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff.require_admin()?;
    let c = state.desk.town_channels(&staff.tenant).await.map_err(|e| staff.err(ApiError::from_desk(staff.lang, e)))?;
    show(&state, &staff, &c, StatusCode::OK, false, Vec::new()).await
}

fn form_of(f: &Fields) -> ChannelsForm {
    let mut order: Vec<(i64, String)> = Channel::ALL
        .iter()
        .map(|c| (f.get(&format!("rank_{}", c.as_str())).trim().parse::<i64>().unwrap_or(9), c.as_str().to_owned()))
        .collect();
    order.sort_by_key(|(rank, _)| *rank);
    ChannelsForm {
        order: order.into_iter().map(|(_, c)| c).collect(),
        app_io_enabled: f.checked("app_io_enabled"),
        app_io_key: f.get("app_io_key").to_owned(),
        sms_enabled: f.checked("sms_enabled"),
        sms_url: f.get("sms_url").to_owned(),
        sms_method: f.get("sms_method").to_owned(),
        sms_username: f.get("sms_username").to_owned(),
        sms_password: f.get("sms_password").to_owned(),
        sms_to_field: f.get("sms_to_field").to_owned(),
        sms_text_field: f.get("sms_text_field").to_owned(),
        sms_sender_field: f.get("sms_sender_field").to_owned(),
        sms_sender: f.get("sms_sender").to_owned(),
        telegram_enabled: f.checked("telegram_enabled"),
        telegram_bot_token: f.get("telegram_bot_token").to_owned(),
        clear_secrets: f.checked("clear_secrets"),
    }
}

/// `POST /{tenant}/staff/channels`: checks and stores the settings (audited).
async fn save(State(state): State<AppState>, Posted { staff, form }: Posted) -> Result<Response, PageError> {
    staff.require_admin()?;
    let submitted = form_of(&form);
    match state.desk.save_town_channels(&staff.tenant, &staff.grant(), &submitted, staff.lang).await {
        Ok(saved) => show(&state, &staff, &saved, StatusCode::OK, true, Vec::new()).await,
        Err(DeskError::Fields(errors)) => {
            // Shown again as typed, secrets excepted.
            let mut c = state
                .desk
                .town_channels(&staff.tenant)
                .await
                .map_err(|e| staff.err(ApiError::from_desk(staff.lang, e)))?;
            c.app_io_enabled = submitted.app_io_enabled;
            c.sms_enabled = submitted.sms_enabled;
            c.sms.url = submitted.sms_url.clone();
            c.sms.method = SmsMethod::parse(&submitted.sms_method).unwrap_or_default();
            c.sms.username = Some(submitted.sms_username.clone());
            c.sms.to_field = submitted.sms_to_field.clone();
            c.sms.text_field = submitted.sms_text_field.clone();
            c.sms.sender_field = submitted.sms_sender_field.clone();
            c.sms.sender = submitted.sms_sender.clone();
            c.telegram_enabled = submitted.telegram_enabled;
            let errors = errors.into_iter().map(|e| (e.field, e.message.to_owned())).collect();
            show(&state, &staff, &c, StatusCode::UNPROCESSABLE_ENTITY, false, errors).await
        }
        Err(e) => Err(staff.err(ApiError::from_desk(staff.lang, e))),
    }
}
