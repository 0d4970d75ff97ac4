//! `/{tenant}/staff/sign-in`, for administrators (issue 16): the town's own OpenID Connect
//! provider for staff (issuer, client, allowed e-mail domains, groups to roles and offices,
//! accounts on first sign-in) and whether passwords are on. The client secret is stored, never
//! shown back (its last four characters only), kept when left blank.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use ricevo_desk::DeskError;
use ricevo_desk::staff_sign_in::{DEFAULT_GROUPS_CLAIM, ProviderForm, is_configured, mappings_text};
use ricevo_store::TownIdentityProvider;

use super::common::{Fields, PageError, Posted, Staff, render};
use super::views::Page;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "staff/sign_in_settings.html")]
struct SignInSettingsPage {
    p: Page,
    saved: bool,
    errors: Vec<(String, String)>,
    redirect_uri: String,
    issuer_url: String,
    client_id: String,
    client_secret: String,
    email_domains: String,
    groups_claim: String,
    mappings: String,
    create_unknown: bool,
    passwords_off: bool,
    configured: bool,
    via_provider: bool,
    offices: Vec<(i64, String)>,
}

impl SignInSettingsPage {
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

/// What the form shows: the stored settings, or what was typed when it was refused.
struct Shown {
    form: ProviderForm,
    stored_secret: Option<String>,
    configured: bool,
}

impl Shown {
    fn stored(p: Option<&TownIdentityProvider>) -> Shown {
        match p {
            Some(p) => Shown {
                form: ProviderForm {
                    issuer_url: p.issuer_url.clone(),
                    client_id: p.client_id.clone(),
                    client_secret: String::new(),
                    clear_secret: false,
                    email_domains: p.email_domains.join(" "),
                    groups_claim: p.groups_claim.clone(),
                    mappings: mappings_text(&p.mappings),
                    create_unknown: p.create_unknown,
                    passwords_off: p.passwords_off,
                },
                stored_secret: p.client_secret.clone(),
                configured: is_configured(p),
            },
            None => Shown {
                form: ProviderForm { groups_claim: DEFAULT_GROUPS_CLAIM.into(), ..ProviderForm::default() },
                stored_secret: None,
                configured: false,
            },
        }
    }
}

async fn show(
    state: &AppState,
    staff: &Staff,
    shown: Shown,
    status: StatusCode,
    saved: bool,
    errors: Vec<(String, String)>,
) -> Result<Response, PageError> {
    let via_provider = state.store.session_via_provider(&staff.session_hash).await.map_err(|e| staff.err(e.into()))?;
    let offices = state.store.offices(staff.tenant.id).await.map_err(|e| staff.err(e.into()))?;
    let f = shown.form;
    let page = SignInSettingsPage {
        p: staff.page(staff.t("Accesso del personale", "Staff sign-in")),
        saved,
        errors,
        redirect_uri: super::provider_sign_in::redirect_uri(state, &staff.tenant.slug),
        issuer_url: f.issuer_url,
        client_id: f.client_id,
        client_secret: masked(shown.stored_secret.as_deref()),
        email_domains: f.email_domains,
        groups_claim: f.groups_claim,
        mappings: f.mappings,
        create_unknown: f.create_unknown,
        passwords_off: f.passwords_off,
        configured: shown.configured,
        via_provider,
        offices: offices.into_iter().map(|o| (o.id.0, o.name)).collect(),
    };
    Ok(render(status, &page))
}

/// `GET /{tenant}/staff/sign-in`.
pub(crate) async fn page(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff.require_admin()?;
    let stored = state
        .desk
        .town_identity_provider(&staff.tenant)
        .await
        .map_err(|e| staff.err(ApiError::from_desk(staff.lang, e)))?;
    show(&state, &staff, Shown::stored(stored.as_ref()), StatusCode::OK, false, Vec::new()).await
}

fn form_of(f: &Fields) -> ProviderForm {
    ProviderForm {
        issuer_url: f.get("issuer_url").to_owned(),
        client_id: f.get("client_id").to_owned(),
        client_secret: f.get("client_secret").to_owned(),
        clear_secret: f.checked("clear_secret"),
        email_domains: f.get("email_domains").to_owned(),
        groups_claim: f.get("groups_claim").to_owned(),
        mappings: f.get("mappings").to_owned(),
        create_unknown: f.checked("create_unknown"),
        passwords_off: f.checked("passwords_off"),
    }
}

/// `POST /{tenant}/staff/sign-in`: checks and stores the settings (audited, never the secret).
pub(crate) async fn save(State(state): State<AppState>, Posted { staff, form }: Posted) -> Result<Response, PageError> {
    staff.require_admin()?;
    let submitted = form_of(&form);
    let via_provider = state.store.session_via_provider(&staff.session_hash).await.map_err(|e| staff.err(e.into()))?;
    let result = state
        .desk
        .save_town_identity_provider(&staff.tenant, &staff.grant(), &submitted, via_provider, staff.lang)
        .await;
    match result {
        Ok(saved) => show(&state, &staff, Shown::stored(Some(&saved)), StatusCode::OK, true, Vec::new()).await,
        Err(DeskError::Fields(errors)) => {
            // Shown again as typed, the secret excepted.
            let stored = state
                .desk
                .town_identity_provider(&staff.tenant)
                .await
                .map_err(|e| staff.err(ApiError::from_desk(staff.lang, e)))?;
            let mut shown = Shown::stored(stored.as_ref());
            shown.form = ProviderForm { client_secret: String::new(), ..submitted };
            let errors = errors.into_iter().map(|e| (e.field, e.message.to_owned())).collect();
            show(&state, &staff, shown, StatusCode::UNPROCESSABLE_ENTITY, false, errors).await
        }
        Err(e) => Err(staff.err(ApiError::from_desk(staff.lang, e))),
    }
}
