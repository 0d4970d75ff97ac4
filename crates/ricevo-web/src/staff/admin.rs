//! Administrators only: staff accounts, API tokens, webhooks and the e-mail outbox folder.
//! Passwords, tokens and webhook secrets are shown once, when created, and never again.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ricevo_core::{Email, Lang, OfficeId, Slug, UserId};
use ricevo_desk::DeskError;
use ricevo_desk::staff::NewAccount;
use ricevo_store::{Office, Role};

use super::common::{Errors, Fields, PageError, Posted, Staff, path_id, render, required_line, see_other, tr};
use super::views::{
    Choice, ChoiceField, Field, FileRow, HookRow, OutboxPage, Secret, Summary, TokenRow, TokensPage, UserRow,
    UsersPage, WebhooksPage, role_name,
};
use crate::error::{ApiError, InLang};
use crate::state::AppState;
use ricevo_desk::town::zone_of;

const ROLES: [Role; 3] = [Role::Operator, Role::Manager, Role::Admin];

/// The role select, with the role in `values` chosen.
pub(crate) fn role_choice(lang: Lang, values: &Fields, errors: &Errors) -> ChoiceField {
    let chosen = values.get("role");
    let options = ROLES
        .iter()
        .map(|r| Choice { value: r.as_str().into(), label: role_name(*r, lang).into(), selected: chosen == r.as_str() })
        .collect();
    ChoiceField::new("role", tr(lang, "Ruolo", "Role"), options, errors)
}

/// The town's offices as checkboxes, those in `values` ticked.
pub(crate) fn offices_choice(lang: Lang, offices: &[Office], values: &Fields, errors: &Errors) -> ChoiceField {
    let ticked: Vec<&str> = values.all("offices").collect();
    let options = offices
        .iter()
        .map(|o| Choice {
            value: o.id.0.to_string(),
            label: o.name.clone(),
            selected: ticked.contains(&o.id.0.to_string().as_str()),
        })
        .collect();
    ChoiceField::new(
        "offices",
        tr(lang, "Uffici (per operatori e responsabili)", "Offices (for operators and managers)"),
        options,
        errors,
    )
}

pub(crate) async fn offices_of(state: &AppState, staff: &Staff) -> Result<Vec<Office>, PageError> {
    state.store.offices(staff.tenant.id).await.map_err(|e| staff.err(e.into()))
}

fn status_of(errors: &Errors) -> StatusCode {
    if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY }
}

fn parse_role(form: &Fields, lang: Lang, errors: &mut Errors) -> Option<Role> {
    let role = Role::parse(form.get("role"));
    if role.is_none() {
        errors.add("role", tr(lang, "Scegli un ruolo.", "Choose a role."));
    }
    role
}

/// What an account form posts (the new-account form and an account's own page alike): its
/// name, e-mail, role and this town's offices, each checked. `None` when any is wrong, with
/// each problem in `errors` under its field.
pub(crate) async fn account_form(
    state: &AppState,
    staff: &Staff,
    form: &Fields,
    errors: &mut Errors,
) -> Result<Option<(String, Email, Role, Vec<OfficeId>)>, PageError> {
    let lang = staff.lang;
    let name = required_line(form, "name", 100, lang, errors);
    let email = Email::parse(form.get("email")).map_err(|e| errors.add("email", e.message(lang))).ok();
    let role = parse_role(form, lang, errors);
    let offices = offices_of(state, staff).await?;
    let mut chosen = Vec::new();
    for raw in form.all("offices") {
        match raw.parse::<i64>().ok().and_then(|id| offices.iter().find(|o| o.id.0 == id)) {
            Some(o) => chosen.push(o.id),
            None => errors.add("offices", tr(lang, "Ufficio sconosciuto.", "Unknown office.")),
        }
    }
    if matches!(role, Some(Role::Operator | Role::Manager)) && chosen.is_empty() {
        errors.add(
            "offices",
            tr(lang, "Scegli almeno un ufficio per questo ruolo.", "Choose at least one office for this role."),
        );
    }
    Ok(match (email, role, errors.is_empty()) {
        (Some(email), Some(role), true) => Some((name, email, role, chosen)),
        _ => None,
    })
}

// ---- staff accounts ----

async fn users_page(
    state: &AppState,
    staff: &Staff,
    values: &Fields,
    errors: &Errors,
    secret: Option<Secret>,
) -> Result<Response, PageError> {
    let lang = staff.lang;
    let offices = offices_of(state, staff).await?;
    let users = state.store.users(staff.tenant.id).await.map_err(|e| staff.err(e.into()))?;
    let office_names = |ids: &[OfficeId]| {
        offices.iter().filter(|o| ids.contains(&o.id)).map(|o| o.name.as_str()).collect::<Vec<_>>().join(", ")
    };
    let page = UsersPage {
        p: staff.page(staff.t("Personale", "Staff")),
        summary: Summary::of(errors),
        secret,
        users: users
            .iter()
            .map(|u| UserRow {
                name: u.name.clone(),
                email: u.email.clone(),
                role: role_name(u.role, lang),
                offices: if u.role == Role::Admin {
                    staff.t("Tutti", "All").to_owned()
                } else {
                    office_names(&u.offices)
                },
                reset: format!("{}/users/{}/password", staff.base(), u.id.0),
                edit: format!("{}/users/{}", staff.base(), u.id.0),
                state: match (u.disabled, u.has_second_factor()) {
                    (true, _) => staff.t("Disattivato", "Disabled"),
                    (false, true) => staff.t("Attivo, con verifica in due passaggi", "Active, two-step verification"),
                    (false, false) => staff.t("Attivo", "Active"),
                }
                .to_owned(),
            })
            .collect(),
        texts: vec![
            Field::new("name", tr(lang, "Nome e cognome", "Full name"), "text", values, errors).required(),
            Field::new("email", "E-mail", "email", values, errors).required(),
        ],
        role: role_choice(lang, values, errors),
        offices: offices_choice(lang, &offices, values, errors),
    };
    Ok(render(status_of(errors), &page))
}

/// `GET /{tenant}/staff/users`: the staff accounts.
pub(crate) async fn users(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff.require_admin()?;
    let mut values = Fields::default();
    values.set("role", Role::Operator.as_str());
    users_page(&state, &staff, &values, &Errors::default(), None).await
}

/// `POST /{tenant}/staff/users`: creates an account and shows its first password once.
pub(crate) async fn create_user(
    State(state): State<AppState>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let lang = staff.lang;
    let mut errors = Errors::default();
    let Some((name, email, role, offices)) = account_form(&state, &staff, &form, &mut errors).await? else {
        return users_page(&state, &staff, &form, &errors, None).await;
    };
    let new = NewAccount { email, name, role, offices };
    match state.desk.create_account(&staff.tenant, &staff.grant(), &new).await {
        Ok((u, password)) => {
            tracing::info!(tenant = %staff.tenant.slug, user = %staff.user.id, created = %u.id, "staff account created");
            let secret = Secret {
                what: format!("{} {}:", staff.t("Password iniziale di", "First password of"), u.email),
                value: password,
            };
            let mut values = Fields::default();
            values.set("role", Role::Operator.as_str());
            users_page(&state, &staff, &values, &Errors::default(), Some(secret)).await
        }
        Err(DeskError::Duplicate) => {
            errors.add(
                "email",
                tr(lang, "Esiste già un account con questa e-mail.", "An account with this e-mail exists."),
            );
            users_page(&state, &staff, &form, &errors, None).await
        }
        Err(e) => Err(staff.err(ApiError::from_desk(lang, e))),
    }
}

/// `POST /{tenant}/staff/users/{user}/password`: gives an account a new password, shown once.
pub(crate) async fn reset_password(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, .. }: Posted,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let id = UserId(path_id(&id, staff.lang)?);
    let (user, password) = state
        .desk
        .reset_password(&staff.tenant, &staff.grant(), id)
        .await
        .in_lang(staff.lang)
        .map_err(|e| staff.err(e))?;
    tracing::info!(tenant = %staff.tenant.slug, user = %staff.user.id, target = %user.id, "password reset");
    let secret = Secret {
        what: format!("{} {}:", staff.t("Nuova password di", "New password of"), user.email),
        value: password,
    };
    let mut values = Fields::default();
    values.set("role", Role::Operator.as_str());
    users_page(&state, &staff, &values, &Errors::default(), Some(secret)).await
}

// ---- API tokens ----

async fn tokens_page(
    state: &AppState,
    staff: &Staff,
    values: &Fields,
    errors: &Errors,
    secret: Option<Secret>,
) -> Result<Response, PageError> {
    let lang = staff.lang;
    let offices = offices_of(state, staff).await?;
    let chosen = values.get("office");
    let mut options = vec![Choice {
        value: String::new(),
        label: tr(lang, "Nessuno (solo per amministratori)", "None (administrators only)").into(),
        selected: chosen.is_empty(),
    }];
    options.extend(offices.iter().map(|o| Choice {
        value: o.id.0.to_string(),
        label: o.name.clone(),
        selected: chosen == o.id.0.to_string(),
    }));
    let zone = zone_of(&staff.tenant);
    let when = |t: jiff::Timestamp| super::views::short_date_time(&t.to_zoned(zone.clone()), lang);
    let listed = state.desk.api_tokens(&staff.tenant, &staff.grant()).await.in_lang(lang).map_err(|e| staff.err(e))?;
    let tokens = listed
        .into_iter()
        .map(|t| TokenRow {
            role: role_name(t.role, lang),
            office: t
                .office
                .and_then(|id| offices.iter().find(|o| o.id == id))
                .map(|o| o.name.clone())
                .unwrap_or_else(|| staff.t("Tutti", "All").to_owned()),
            created: when(t.created_at),
            last_used: t.last_used_at.map(when).unwrap_or_else(|| staff.t("mai", "never").to_owned()),
            revoke: t.revoked_at.is_none().then(|| format!("{}/tokens/{}/revoke", staff.base(), t.id)),
            label: t.label,
        })
        .collect();
    let page = TokensPage {
        tokens,
        p: staff.page(staff.t("Token API", "API tokens")),
        summary: Summary::of(errors),
        secret,
        label: Field::new(
            "label",
            tr(lang, "Descrizione (a chi serve)", "Label (who uses it)"),
            "text",
            values,
            errors,
        )
        .required(),
        role: role_choice(lang, values, errors),
        office: ChoiceField::new("office", tr(lang, "Ufficio", "Office"), options, errors),
    };
    Ok(render(status_of(errors), &page))
}

/// `GET /{tenant}/staff/tokens`: the form to create an API token.
pub(crate) async fn tokens(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff.require_admin()?;
    let mut values = Fields::default();
    values.set("role", Role::Operator.as_str());
    tokens_page(&state, &staff, &values, &Errors::default(), None).await
}

/// `POST /{tenant}/staff/tokens`: creates an API token and shows it once.
pub(crate) async fn create_token(
    State(state): State<AppState>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let lang = staff.lang;
    let mut errors = Errors::default();
    let label = required_line(&form, "label", 100, lang, &mut errors);
    let role = parse_role(&form, lang, &mut errors);
    let offices = offices_of(&state, &staff).await?;
    let office = match form.get("office").trim() {
        "" => None,
        raw => {
            let found = raw.parse::<i64>().ok().and_then(|id| offices.iter().find(|o| o.id.0 == id)).map(|o| o.id);
            if found.is_none() {
                errors.add("office", tr(lang, "Ufficio sconosciuto.", "Unknown office."));
            }
            found
        }
    };
    if matches!(role, Some(Role::Operator | Role::Manager)) && office.is_none() {
        errors.add("office", tr(lang, "Scegli l'ufficio per questo ruolo.", "Choose the office for this role."));
    }
    let (Some(role), true) = (role, errors.is_empty()) else {
        return tokens_page(&state, &staff, &form, &errors, None).await;
    };
    let token = state
        .desk
        .create_api_token(&staff.tenant, &staff.grant(), role, office, &label)
        .await
        .in_lang(lang)
        .map_err(|e| staff.err(e))?;
    tracing::info!(tenant = %staff.tenant.slug, user = %staff.user.id, role = role.as_str(), "API token created");
    let secret = Secret { what: format!("{} «{label}»:", staff.t("Token", "Token")), value: token };
    let mut values = Fields::default();
    values.set("role", Role::Operator.as_str());
    tokens_page(&state, &staff, &values, &Errors::default(), Some(secret)).await
}

// ---- webhooks ----

async fn webhooks_page(
    state: &AppState,
    staff: &Staff,
    values: &Fields,
    errors: &Errors,
    secret: Option<Secret>,
) -> Result<Response, PageError> {
    let hooks = state.store.webhooks(staff.tenant.id).await.map_err(|e| staff.err(e.into()))?;
    let page = WebhooksPage {
        p: staff.page(staff.t("Webhook", "Webhooks")),
        summary: Summary::of(errors),
        secret,
        hooks: hooks
            .into_iter()
            .map(|h| HookRow { delete: format!("{}/webhooks/{}/delete", staff.base(), h.id), url: h.url })
            .collect(),
        url: Field::new(
            "url",
            staff.t("Indirizzo che riceve gli eventi", "Address receiving the events"),
            "url",
            values,
            errors,
        )
        .required()
        .hint(staff.t(
            "http:// o https://, ad esempio https://portale.comune.it/ricevo",
            "http:// or https://, such as https://portal.town.example/ricevo",
        )),
    };
    Ok(render(status_of(errors), &page))
}

/// `GET /{tenant}/staff/webhooks`: the webhooks of the town.
pub(crate) async fn webhooks(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff.require_admin()?;
    webhooks_page(&state, &staff, &Fields::default(), &Errors::default(), None).await
}

/// `POST /{tenant}/staff/webhooks`: adds a webhook and shows its signing secret once.
pub(crate) async fn create_webhook(
    State(state): State<AppState>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let (hook, secret) = match state.desk.create_webhook(&staff.tenant, &staff.grant(), form.get("url")).await {
        Ok(created) => created,
        Err(DeskError::WebhookUrl(e)) => {
            let mut errors = Errors::default();
            errors.add("url", crate::error::webhook_url_message(&e, staff.lang));
            return webhooks_page(&state, &staff, &form, &errors, None).await;
        }
        Err(e) => return Err(staff.err(ApiError::from_desk(staff.lang, e))),
    };
    tracing::info!(tenant = %staff.tenant.slug, user = %staff.user.id, webhook = hook.id, "webhook added");
    let shown = Secret {
        what: format!("{} {}:", staff.t("Segreto di firma per", "Signing secret for"), hook.url),
        value: secret,
    };
    webhooks_page(&state, &staff, &Fields::default(), &Errors::default(), Some(shown)).await
}

/// `POST /{tenant}/staff/webhooks/{hook}/delete`: removes a webhook.
pub(crate) async fn delete_webhook(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let id = path_id(&id, staff.lang)?;
    if !super::common::confirmed(&form) {
        let hooks = state.store.webhooks(staff.tenant.id).await.map_err(|e| staff.err(e.into()))?;
        let hook = hooks.iter().find(|h| h.id == id).ok_or_else(|| staff.not_found())?;
        let question = match staff.lang {
            Lang::It => format!("Eliminare il webhook {}?", hook.url),
            Lang::En => format!("Delete the webhook {}?", hook.url),
        };
        let detail = staff.t(
            "Quell'indirizzo non riceverà più gli eventi del Comune.",
            "That address will no longer receive the town's events.",
        );
        let action = format!("{}/webhooks/{id}/delete", staff.base());
        let back = format!("{}/webhooks", staff.base());
        return Ok(super::common::confirm_page(
            &staff,
            &action,
            question,
            detail,
            staff.t("Sì, elimina", "Yes, delete"),
            &back,
        ));
    }
    state.desk.delete_webhook(&staff.tenant, &staff.grant(), id).await.in_lang(staff.lang).map_err(|e| staff.err(e))?;
    tracing::info!(tenant = %staff.tenant.slug, user = %staff.user.id, webhook = id, "webhook deleted");
    Ok(see_other(&format!("{}/webhooks", staff.base())))
}

// ---- outbox ----

fn human_size(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    }
}

fn encode_segment(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'@' | b'+') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Whether `name` may be served from the outbox folder: a plain `.eml` file name, nothing more.
fn safe_eml_name(name: &str) -> bool {
    name.len() <= 255
        && name.ends_with(".eml")
        && !name.starts_with('.')
        && !name.contains("..")
        && !name.chars().any(|c| matches!(c, '/' | '\\' | '"' | ':') || c.is_control())
}

/// The town's own outbox folder: e-mails carry citizens' names, addresses and personal links,
/// so a town's staff see their town's folder and never the shared root or another town's.
fn town_outbox(state: &AppState, staff: &Staff) -> Option<std::path::PathBuf> {
    let root = state.config.outbox_dir.as_deref()?;
    // The slug came out of the database for this request's URL; parsing it again keeps the
    // guarantee that it is one plain path segment in one place.
    let slug = Slug::parse(&staff.tenant.slug).ok()?;
    Some(ricevo_notify::town_outbox_dir(root, &slug))
}

/// `GET /{tenant}/staff/outbox`: the e-mails of this town written to the outbox folder.
pub(crate) async fn outbox(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff.require_admin()?;
    let zone = zone_of(&staff.tenant);
    let files = match town_outbox(&state, &staff) {
        None => Vec::new(),
        Some(dir) => tokio::task::spawn_blocking(move || ricevo_notify::list_outbox_dir(&dir))
            .await
            .map_err(|e| staff.err(ApiError::Internal(e.to_string())))?
            .map_err(|e| staff.err(ApiError::Unavailable(format!("outbox folder: {e}"))))?,
    };
    let page = OutboxPage {
        p: staff.page(staff.t("Posta in uscita", "Outbox")),
        configured: state.config.outbox_dir.is_some(),
        files: files
            .into_iter()
            .map(|(name, size, time)| FileRow {
                href: format!("{}/outbox/{}", staff.base(), encode_segment(&name)),
                size: human_size(size),
                time: jiff::Timestamp::try_from(time)
                    .map(|t| {
                        let at = t.to_zoned(zone.clone());
                        format!("{}, {}", super::views::short_date(at.date(), staff.lang), at.strftime("%H:%M:%S"))
                    })
                    .unwrap_or_default(),
                name,
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /{tenant}/staff/outbox/{file}`: downloads one `.eml` file of this town's outbox folder.
pub(crate) async fn outbox_file(
    State(state): State<AppState>,
    Path((_, name)): Path<(String, String)>,
    staff: Staff,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    if !safe_eml_name(&name) {
        return Err(PageError::bad_request(staff.lang, staff.t("nome di file non valido", "invalid file name")));
    }
    let dir = town_outbox(&state, &staff).ok_or_else(|| staff.not_found())?;
    let bytes = match tokio::fs::read(dir.join(&name)).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(staff.not_found()),
        Err(e) => return Err(staff.err(ApiError::Unavailable(format!("outbox file: {e}")))),
    };
    let mut resp = bytes.into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("message/rfc822"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_eml_names_are_served_from_the_outbox() {
        assert!(safe_eml_name("abc.confirmation@ricevo.eml"));
        for bad in ["../secret.eml", "a/b.eml", "..\\x.eml", ".hidden.eml", "notes.txt", "x.eml\n", "a\"b.eml"] {
            assert!(!safe_eml_name(bad), "{bad:?}");
        }
    }
}
