//! Telling a citizen something on the channel that reaches them (issue 15): the town's order of
//! preference and enabled channels (`ricevo_store::TownChannels`), what the citizen gave
//! (`ricevo_core::channel::Reach`), and one outbox row that the worker tries channel by channel.

use jiff::Timestamp;
use ricevo_core::Lang;
use ricevo_core::audit::{Act, Subject};
use ricevo_core::channel::{Channel, Reach, order_to_string, parse_order, route};
use ricevo_core::citizen::FieldError;
use ricevo_notify::citizen_message::render_email;
use ricevo_notify::{CitizenMessage, Outgoing, WebhookUrl};
use ricevo_store::{Grant, NewOutboxMessage, SmsGateway, SmsMethod, Tenant, TownChannels};

use crate::audit::Record;
use crate::staff::require_admin;
use crate::{Desk, DeskError, tokens};

impl Desk {
    /// The town's channel settings (e-mail only when it configured none).
    pub async fn town_channels(&self, tenant: &Tenant) -> Result<TownChannels, DeskError> {
        Ok(self.store.town_channels(tenant.id).await?.unwrap_or_else(|| TownChannels::none(tenant.id)))
    }

    /// The channels a message to `reach` tries, in order.
    pub async fn route_for(&self, tenant: &Tenant, reach: &Reach) -> Result<Vec<Channel>, DeskError> {
        let town = self.town_channels(tenant).await?;
        Ok(route(&town.order, &town.enabled(), reach))
    }

    /// Outbox rows telling the citizen `message` on the first channel of the route that
    /// works (fallback at delivery: App IO refused -> next channel). Written by the caller in
    /// the same transaction as the change. `dedupe_key` makes it never twice.
    pub async fn citizen_message_rows(
        &self,
        tenant: &Tenant,
        reach: &Reach,
        message: &CitizenMessage,
        dedupe_key: &str,
        due_at: Timestamp,
    ) -> Result<Vec<NewOutboxMessage>, DeskError> {
        let email = reach.email.as_deref().map(|to| {
            let uid = format!("{}:{dedupe_key}", tenant.slug);
            Outgoing::Email(render_email(message, "", to, &tenant.contact_email, &self.mail_from(tenant), &uid))
        });
        self.routed_rows(tenant, reach, message, email, dedupe_key, due_at, false).await
    }

    /// The rows of [`Desk::citizen_message_rows`] with the e-mail Ricevo sends on the e-mail
    /// leg given (an appointment's, with its calendar invite). When the route starts with
    /// e-mail, the row is that e-mail alone, exactly as before channels existed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn routed_rows(
        &self,
        tenant: &Tenant,
        reach: &Reach,
        message: &CitizenMessage,
        email: Option<Outgoing>,
        dedupe_key: &str,
        due_at: Timestamp,
        retractable: bool,
    ) -> Result<Vec<NewOutboxMessage>, DeskError> {
        let route = self.route_for(tenant, reach).await?;
        let payload = |o: &Outgoing| o.to_payload().map_err(|e| DeskError::Internal(e.to_string()));
        let row = match (route.first(), email) {
            (None, _) => return Ok(Vec::new()),
            (Some(Channel::Email), Some(email)) => NewOutboxMessage {
                kind: email.kind().into(),
                dedupe_key: dedupe_key.to_owned(),
                payload: payload(&email)?,
                due_at,
                retractable,
            },
            (Some(_), email) => {
                let routed = Outgoing::Citizen {
                    message: Box::new(message.clone()),
                    route,
                    reach: reach.clone(),
                    email: email.map(Box::new),
                };
                NewOutboxMessage {
                    kind: routed.kind().into(),
                    dedupe_key: dedupe_key.to_owned(),
                    payload: payload(&routed)?,
                    due_at,
                    retractable,
                }
            }
        };
        Ok(vec![row])
    }
}

/// What an administrator submits on the channels page. A key, password or token left blank
/// keeps the stored one (pages never show them back); `clear_*` removes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelsForm {
    /// Channel names in the order of preference.
    pub order: Vec<String>,
    /// App IO on.
    pub app_io_enabled: bool,
    /// A new App IO service key (blank: keep).
    pub app_io_key: String,
    /// SMS on.
    pub sms_enabled: bool,
    /// The gateway's address.
    pub sms_url: String,
    /// `get`, `post_form` or `post_json`.
    pub sms_method: String,
    /// HTTP Basic user (blank: none).
    pub sms_username: String,
    /// A new password (blank: keep).
    pub sms_password: String,
    /// Field names.
    pub sms_to_field: String,
    /// Field names.
    pub sms_text_field: String,
    /// Field names.
    pub sms_sender_field: String,
    /// The sender's name or number.
    pub sms_sender: String,
    /// Telegram on.
    pub telegram_enabled: bool,
    /// A new bot token (blank: keep).
    pub telegram_bot_token: String,
    /// Forget the stored App IO key, SMS password and bot token.
    pub clear_secrets: bool,
}

fn field(name: &'static str, it: &'static str, en: &'static str, lang: Lang) -> FieldError {
    FieldError::new(name, if lang == Lang::It { it } else { en })
}

/// A field name a gateway can take: letters, digits, `_`, `-`, `.`, at most 40.
fn field_name_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= 40 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The stored form of a secret: the new one, or the old one when left blank.
fn kept(new: &str, old: Option<String>, clear: bool) -> Option<String> {
    let new = new.trim();
    if !new.is_empty() {
        Some(new.to_owned())
    } else if clear {
        None
    } else {
        old
    }
}

impl Desk {
    /// Checks and stores the town's channel settings (administrators only, audited); a new
    /// bot token gets a new webhook secret. Field errors are in `lang`.
    pub async fn save_town_channels(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        form: &ChannelsForm,
        lang: Lang,
    ) -> Result<TownChannels, DeskError> {
        require_admin(tenant, grant)?;
        let old = self.town_channels(tenant).await?;
        let mut errors = Vec::new();
        let mut order = Vec::new();
        for name in &form.order {
            match Channel::parse(name) {
                Some(c) if !order.contains(&c) => order.push(c),
                _ => errors.push(field("order", "Ordine dei canali non valido.", "Invalid order of channels.", lang)),
            }
        }
        let order = parse_order(&order_to_string(&order));
        let app_io_key = kept(&form.app_io_key, old.app_io_key.clone(), form.clear_secrets);
        if app_io_key.as_deref().is_some_and(|k| k.len() > 200 || k.chars().any(|c| !c.is_ascii_alphanumeric())) {
            errors.push(field(
                "app_io_key",
                "La chiave del servizio App IO contiene solo lettere e cifre.",
                "The App IO service key holds letters and digits only.",
                lang,
            ));
        }
        if form.app_io_enabled && app_io_key.is_none() {
            errors.push(field(
                "app_io_key",
                "Per attivare App IO serve la chiave del servizio (dal portale Back-office di IO).",
                "App IO needs the service key (from IO's back-office portal).",
                lang,
            ));
        }
        let sms_url = form.sms_url.trim().to_owned();
        if !sms_url.is_empty() && WebhookUrl::parse(&sms_url.replace(['{', '}'], "")).is_err() {
            errors.push(field(
                "sms_url",
                "L'indirizzo del gateway SMS deve iniziare con https:// (o http://).",
                "The SMS gateway address must start with https:// (or http://).",
                lang,
            ));
        }
        if form.sms_enabled && sms_url.is_empty() {
            errors.push(field(
                "sms_url",
                "Per attivare gli SMS serve l'indirizzo del gateway del tuo fornitore.",
                "SMS needs your provider's gateway address.",
                lang,
            ));
        }
        let method = SmsMethod::parse(&form.sms_method);
        if method.is_none() {
            errors.push(field(
                "sms_method",
                "Scegli come chiamare il gateway.",
                "Choose how to call the gateway.",
                lang,
            ));
        }
        let names = [
            ("sms_to_field", &form.sms_to_field),
            ("sms_text_field", &form.sms_text_field),
            ("sms_sender_field", &form.sms_sender_field),
        ];
        for (name, value) in names {
            if !field_name_ok(value.trim()) {
                errors.push(field(
                    name,
                    "Nome di campo non valido: lettere, cifre, _ - . (al massimo 40).",
                    "Invalid field name: letters, digits, _ - . (at most 40).",
                    lang,
                ));
            }
        }
        if form.sms_sender.chars().count() > 20 {
            errors.push(field(
                "sms_sender",
                "Il mittente ha al massimo 20 caratteri (11 se è un nome).",
                "The sender has at most 20 characters (11 for a name).",
                lang,
            ));
        }
        let token = kept(&form.telegram_bot_token, old.telegram_bot_token.clone(), form.clear_secrets);
        if token.as_deref().is_some_and(|t| !is_bot_token(t)) {
            errors.push(field(
                "telegram_bot_token",
                "Il token del bot ha la forma 123456789:ABC... (da @BotFather).",
                "A bot token looks like 123456789:ABC... (from @BotFather).",
                lang,
            ));
        }
        if !errors.is_empty() {
            return Err(DeskError::Fields(errors));
        }
        let new_token = token.is_some() && token != old.telegram_bot_token;
        let secret = match (&token, new_token) {
            (None, _) => None,
            (Some(_), true) => Some(tokens::new_token()),
            (Some(_), false) => old.telegram_webhook_secret.clone().or_else(|| Some(tokens::new_token())),
        };
        let saved = TownChannels {
            tenant_id: tenant.id,
            order,
            app_io_enabled: form.app_io_enabled,
            app_io_key,
            sms_enabled: form.sms_enabled,
            sms: SmsGateway {
                url: sms_url,
                method: method.unwrap_or_default(),
                username: Some(form.sms_username.trim().to_owned()).filter(|u| !u.is_empty()),
                password: kept(&form.sms_password, old.sms.password.clone(), form.clear_secrets),
                to_field: form.sms_to_field.trim().to_owned(),
                text_field: form.sms_text_field.trim().to_owned(),
                sender_field: form.sms_sender_field.trim().to_owned(),
                sender: form.sms_sender.trim().to_owned(),
            },
            telegram_enabled: form.telegram_enabled,
            telegram_bot_token: token,
            telegram_webhook_secret: secret,
            updated_at: self.now(),
        };
        self.store.set_town_channels(&saved).await?;
        // The audit says what changed, never a key.
        let on: Vec<&str> = saved.enabled().iter().map(|c| c.as_str()).collect();
        let detail = format!("channels: {} (order {})", on.join(", "), order_to_string(&saved.order));
        self.record(grant, Record::new(Act::SettingsChanged, Subject::Town).detail(detail)).await;
        tracing::info!(tenant = %tenant.slug, "channel settings changed");
        Ok(saved)
    }
}

/// `<digits>:<letters, digits, _ and ->`, as @BotFather gives them.
fn is_bot_token(t: &str) -> bool {
    match t.split_once(':') {
        Some((id, secret)) => {
            !id.is_empty()
                && id.len() <= 20
                && id.chars().all(|c| c.is_ascii_digit())
                && (20..=100).contains(&secret.len())
                && secret.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        }
        None => false,
    }
}
