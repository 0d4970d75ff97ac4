//! Staff accounts after creation: an administrator edits, disables, re-enables an account and
//! resets its second factor, revokes API tokens and edits the town's settings; every staff
//! member changes their own password and enrols in the second factor (TOTP).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use ricevo_core::{Lang, UserId};
use ricevo_desk::DeskError;
use ricevo_desk::accounts::AccountEdit;
use ricevo_store::TenantSettings;

use super::admin::{account_form, offices_choice, offices_of, role_choice};
use super::common::{
    Errors, Fields, PageError, Posted, Staff, confirm_page, confirmed, path_id, render, see_other, tr,
};
use super::views::{AccountPage, Choice, ChoiceField, EnrolPage, Field, SettingsPage, Summary, UserPage};
use crate::error::{ApiError, InLang};
use crate::state::AppState;

fn status_of(errors: &Errors) -> StatusCode {
    if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY }
}

// A desk refusal with field errors goes back to the form; anything else is an error page.
fn into_errors(staff: &Staff, e: DeskError, errors: &mut Errors) -> Result<(), PageError> {
    match e {
        DeskError::Fields(fields) => {
            for f in fields {
                errors.add(&f.field, f.message);
            }
            Ok(())
        }
        DeskError::Duplicate => {
            errors.add(
                "email",
                staff.t("Esiste già un account con questa e-mail.", "An account with this e-mail exists."),
            );
            Ok(())
        }
        DeskError::LastAdministrator => {
            errors.add("role", ApiError::LastAdministrator(staff.lang).message());
            Ok(())
        }
        other => Err(staff.err(ApiError::from_desk(staff.lang, other))),
    }
}

// ---- one account, for administrators ----

async fn user_page(
    state: &AppState,
    staff: &Staff,
    id: UserId,
    values: Option<&Fields>,
    errors: &Errors,
) -> Result<Response, PageError> {
    let lang = staff.lang;
    let user = state.desk.account(&staff.tenant, &staff.grant(), id).await.in_lang(lang).map_err(|e| staff.err(e))?;
    let offices = offices_of(state, staff).await?;
    let mut current = Fields::default();
    current.set("name", user.name.clone());
    current.set("email", user.email.clone());
    current.set("role", user.role.as_str());
    for o in &user.offices {
        current.0.push(("offices".into(), o.0.to_string()));
    }
    let values = values.unwrap_or(&current);
    let base = format!("{}/users/{}", staff.base(), id.0);
    let page = UserPage {
        p: staff.page(&format!("{}: {}", staff.t("Account", "Account"), user.name)),
        summary: Summary::of(errors),
        action: base.clone(),
        name: Field::new("name", tr(lang, "Nome e cognome", "Full name"), "text", values, errors).required(),
        email: Field::new("email", "E-mail", "email", values, errors).required(),
        role: role_choice(lang, values, errors),
        offices: offices_choice(lang, &offices, values, errors),
        disabled: user.disabled,
        second_factor: user.has_second_factor(),
        toggle: format!("{base}/{}", if user.disabled { "enable" } else { "disable" }),
        reset_second_factor: format!("{base}/second-factor/reset"),
        back: format!("{}/users", staff.base()),
    };
    Ok(render(status_of(errors), &page))
}

/// `GET /{tenant}/staff/users/{user}`: an account's edit form.
pub(crate) async fn edit_user(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    staff: Staff,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let id = UserId(path_id(&id, staff.lang)?);
    user_page(&state, &staff, id, None, &Errors::default()).await
}

/// `POST /{tenant}/staff/users/{user}`: changes an account's name, e-mail, role and offices.
pub(crate) async fn update_user(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let lang = staff.lang;
    let id = UserId(path_id(&id, lang)?);
    let mut errors = Errors::default();
    if let Some((name, email, role, offices)) = account_form(&state, &staff, &form, &mut errors).await? {
        let edit = AccountEdit { email, name, role, offices };
        match state.desk.update_account(&staff.tenant, &staff.grant(), id, &edit).await {
            Ok(_) => return Ok(see_other(&format!("{}/users", staff.base()))),
            Err(e) => into_errors(&staff, e, &mut errors)?,
        }
    }
    user_page(&state, &staff, id, Some(&form), &errors).await
}

async fn set_disabled(state: &AppState, staff: Staff, id: &str, disabled: bool) -> Result<Response, PageError> {
    staff.require_admin()?;
    let id = UserId(path_id(id, staff.lang)?);
    match state.desk.set_account_disabled(&staff.tenant, &staff.grant(), id, disabled).await {
        Ok(()) if id == staff.user.id && disabled => unreachable_own_session(&staff),
        Ok(()) => Ok(see_other(&format!("{}/users/{}", staff.base(), id.0))),
        Err(DeskError::LastAdministrator) => {
            let mut errors = Errors::default();
            errors.add("role", ApiError::LastAdministrator(staff.lang).message());
            user_page(state, &staff, id, None, &errors).await
        }
        Err(e) => Err(staff.err(ApiError::from_desk(staff.lang, e))),
    }
}

// Administrators may disable themselves while another administrator remains: their session
// has just ended, so the sign-in page is where they land.
fn unreachable_own_session(staff: &Staff) -> Result<Response, PageError> {
    Ok(see_other(&super::common::login_url(&staff.tenant.slug)))
}

/// `POST /{tenant}/staff/users/{user}/disable`: disables an account and ends its sessions,
/// after a confirmation step.
pub(crate) async fn disable_user(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    if !confirmed(&form) {
        let question = |u: &ricevo_store::User| match staff.lang {
            Lang::It => format!("Disattivare l'account di {} ({})?", u.name, u.email),
            Lang::En => format!("Disable the account of {} ({})?", u.name, u.email),
        };
        let detail = staff.t(
            "Le sue sessioni aperte si chiudono subito e non potrà più accedere finché non lo riattivi.",
            "Its open sessions end at once and it cannot sign in until you re-enable it.",
        );
        let button = staff.t("Sì, disattiva", "Yes, disable");
        return ask_about_account(&state, &staff, &id, "disable", question, detail, button).await;
    }
    set_disabled(&state, staff, &id, true).await
}

/// The confirmation step of an action on an account (administrators; another town's account
/// is not found).
async fn ask_about_account(
    state: &AppState,
    staff: &Staff,
    raw: &str,
    action: &str,
    question: impl Fn(&ricevo_store::User) -> String,
    detail: &str,
    button: &str,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let id = UserId(path_id(raw, staff.lang)?);
    let user =
        state.desk.account(&staff.tenant, &staff.grant(), id).await.in_lang(staff.lang).map_err(|e| staff.err(e))?;
    let base = format!("{}/users/{}", staff.base(), id.0);
    Ok(confirm_page(staff, &format!("{base}/{action}"), question(&user), detail, button, &base))
}

/// `POST /{tenant}/staff/users/{user}/enable`: re-enables an account.
pub(crate) async fn enable_user(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, .. }: Posted,
) -> Result<Response, PageError> {
    set_disabled(&state, staff, &id, false).await
}

/// `POST /{tenant}/staff/users/{user}/second-factor/reset`: removes an account's second factor.
pub(crate) async fn reset_second_factor(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    if !confirmed(&form) {
        let question = |u: &ricevo_store::User| match staff.lang {
            Lang::It => format!("Azzerare la verifica in due passaggi di {} ({})?", u.name, u.email),
            Lang::En => format!("Reset the two-step verification of {} ({})?", u.name, u.email),
        };
        let detail = staff.t(
            "Potrà accedere con la sola password finché non attiva di nuovo la verifica.",
            "It can sign in with the password alone until it turns verification on again.",
        );
        let button = staff.t("Sì, azzera", "Yes, reset");
        return ask_about_account(&state, &staff, &id, "second-factor/reset", question, detail, button).await;
    }
    staff.require_admin()?;
    let id = UserId(path_id(&id, staff.lang)?);
    state
        .desk
        .reset_second_factor(&staff.tenant, &staff.grant(), id)
        .await
        .in_lang(staff.lang)
        .map_err(|e| staff.err(e))?;
    Ok(see_other(&format!("{}/users/{}", staff.base(), id.0)))
}

// ---- API tokens ----

/// `POST /{tenant}/staff/tokens/{id}/revoke`: revokes a token at once.
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let id = path_id(&id, staff.lang)?;
    if !confirmed(&form) {
        let tokens =
            state.desk.api_tokens(&staff.tenant, &staff.grant()).await.in_lang(staff.lang).map_err(|e| staff.err(e))?;
        let token = tokens.iter().find(|t| t.id == id && t.revoked_at.is_none()).ok_or_else(|| staff.not_found())?;
        let question = match staff.lang {
            Lang::It => format!("Revocare il token «{}»?", token.label),
            Lang::En => format!("Revoke the token “{}”?", token.label),
        };
        let detail = staff.t(
            "I sistemi che lo usano vengono rifiutati subito; il token non si può riattivare.",
            "Systems using it are refused at once; the token cannot be restored.",
        );
        let action = format!("{}/tokens/{id}/revoke", staff.base());
        let back = format!("{}/tokens", staff.base());
        return Ok(confirm_page(&staff, &action, question, detail, staff.t("Sì, revoca", "Yes, revoke"), &back));
    }
    state
        .desk
        .revoke_api_token(&staff.tenant, &staff.grant(), id)
        .await
        .in_lang(staff.lang)
        .map_err(|e| staff.err(e))?;
    Ok(see_other(&format!("{}/tokens", staff.base())))
}

// ---- one's own account ----

async fn account_page(
    state: &AppState,
    staff: &Staff,
    errors: &Errors,
    codes: Option<Vec<String>>,
    done: Option<&'static str>,
) -> Result<Response, PageError> {
    let lang = staff.lang;
    let left =
        state.desk.recovery_codes_left(&staff.tenant, &staff.user).await.in_lang(lang).map_err(|e| staff.err(e))?;
    let none = Fields::default();
    let page = AccountPage {
        p: staff.page(staff.t("Il mio account", "My account")),
        summary: Summary::of(errors),
        current: Field::new(
            "current_password",
            tr(lang, "Password attuale", "Current password"),
            "password",
            &none,
            errors,
        )
        .required()
        .autocomplete("current-password"),
        new: Field::new("new_password", tr(lang, "Nuova password", "New password"), "password", &none, errors)
            .required()
            .autocomplete("new-password")
            .hint(tr(lang, "Almeno 12 caratteri.", "At least 12 characters.")),
        second_factor: staff.user.has_second_factor(),
        codes_left: left,
        codes,
        done,
    };
    Ok(render(status_of(errors), &page))
}

/// `GET /{tenant}/staff/account`: change one's password, enrol in the second factor.
pub(crate) async fn account(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    account_page(&state, &staff, &Errors::default(), None, None).await
}

/// `POST /{tenant}/staff/account/password`: changes one's own password.
pub(crate) async fn change_password(
    State(state): State<AppState>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let mut errors = Errors::default();
    match state
        .desk
        .change_own_password(
            &staff.tenant,
            &staff.user,
            form.get("current_password"),
            form.get("new_password"),
            staff.lang,
        )
        .await
    {
        // The new password ended every session, this one too: sign in again with it.
        Ok(()) => Ok(see_other(&super::common::login_url(&staff.tenant.slug))),
        Err(e) => {
            into_errors(&staff, e, &mut errors)?;
            account_page(&state, &staff, &errors, None, None).await
        }
    }
}

fn enrol_page(staff: &Staff, secret: &str, uri: &str, qr_svg: &str, errors: &Errors) -> Response {
    let mut values = Fields::default();
    values.set("secret", secret);
    let page = EnrolPage {
        p: staff.page(staff.t("Verifica in due passaggi", "Two-step verification")),
        summary: Summary::of(errors),
        secret: secret.to_owned(),
        uri: uri.to_owned(),
        qr_svg: qr_svg.to_owned(),
        code: Field::new("code", staff.t("Codice di 6 cifre", "6-digit code"), "text", &Fields::default(), errors)
            .required()
            .autocomplete("one-time-code"),
    };
    render(status_of(errors), &page)
}

/// `GET /{tenant}/staff/account/second-factor`: a new secret, as a QR code and a URI.
pub(crate) async fn enrol(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    let e = state.desk.begin_second_factor(&staff.tenant, &staff.user).in_lang(staff.lang).map_err(|e| staff.err(e))?;
    Ok(enrol_page(&staff, &e.secret, &e.uri, &e.qr_svg, &Errors::default()))
}

/// `POST /{tenant}/staff/account/second-factor`: confirms with a code; shows the recovery codes once.
pub(crate) async fn confirm_enrol(
    State(state): State<AppState>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let secret = form.get("secret").trim().to_owned();
    match state.desk.confirm_second_factor(&staff.tenant, &staff.user, &secret, form.get("code"), staff.lang).await {
        Ok(codes) => {
            let mut staff = staff;
            staff.user.totp_secret = Some(secret);
            let done = staff.t(
                "Verifica in due passaggi attivata. Conserva questi codici di recupero: ognuno vale una volta.",
                "Two-step verification is on. Keep these recovery codes: each works once.",
            );
            account_page(&state, &staff, &Errors::default(), Some(codes), Some(done)).await
        }
        Err(DeskError::Fields(fields)) => {
            let mut errors = Errors::default();
            for f in fields {
                errors.add(&f.field, f.message);
            }
            // The same secret again, so the app already set up keeps working.
            let uri = ricevo_desk::second_factor::otpauth_uri(
                &decode(&secret).ok_or_else(|| staff.err(ApiError::BadRequest(staff.lang, "secret".into())))?,
                &staff.tenant.name,
                &staff.user.email,
            );
            let svg = ricevo_desk::second_factor::qr_svg(&uri).in_lang(staff.lang).map_err(|e| staff.err(e))?;
            Ok(enrol_page(&staff, &secret, &uri, &svg, &errors))
        }
        Err(e) => Err(staff.err(ApiError::from_desk(staff.lang, e))),
    }
}

fn decode(secret: &str) -> Option<Vec<u8>> {
    ricevo_desk::second_factor::decode_secret(secret)
}

// ---- the town's settings ----

const SETTINGS_TEXTS: [(&str, &str, &str, &str); 13] = [
    ("name", "Nome del Comune", "Town name", "text"),
    ("website", "Sito del Comune", "Town website", "url"),
    ("address", "Indirizzo della sede", "Town hall address", "text"),
    ("pec", "PEC", "PEC (certified e-mail)", "email"),
    ("contact_email", "E-mail di contatto", "Contact e-mail", "email"),
    ("time_zone", "Fuso orario", "Time zone", "text"),
    ("patron_day", "Giorno del patrono (MM-GG)", "Patron day (MM-DD)", "text"),
    ("retention_days", "Conservazione dei dati personali (giorni)", "Retention of personal data (days)", "number"),
    ("privacy_controller", "Titolare del trattamento", "Data controller", "text"),
    (
        "privacy_dpo_contact",
        "Contatto del responsabile della protezione dei dati (RPD/DPO)",
        "Data protection officer (DPO) contact",
        "text",
    ),
    ("privacy_legal_basis", "Base giuridica del trattamento", "Legal basis of the processing", "textarea"),
    (
        "accessibility_statement_url",
        "Indirizzo della dichiarazione di accessibilità",
        "Accessibility statement address",
        "url",
    ),
    (
        "accessibility_statement_text",
        "Testo della dichiarazione di accessibilità (se non c'è un indirizzo)",
        "Accessibility statement text (if there is no address)",
        "textarea",
    ),
];

fn settings_values(s: &TenantSettings) -> Fields {
    let mut v = Fields::default();
    v.set("name", s.name.clone());
    v.set("website", s.website.clone());
    v.set("address", s.address.clone());
    v.set("pec", s.pec.clone());
    v.set("contact_email", s.contact_email.clone());
    v.set("time_zone", s.time_zone.clone());
    v.set("patron_day", s.patron_day.clone().unwrap_or_default());
    v.set("retention_days", s.retention_days.to_string());
    v.set("privacy_controller", s.privacy_controller.clone());
    v.set("privacy_dpo_contact", s.privacy_dpo_contact.clone());
    v.set("privacy_legal_basis", s.privacy_legal_basis.clone());
    v.set("accessibility_statement_url", s.accessibility_statement_url.clone());
    v.set("accessibility_statement_text", s.accessibility_statement_text.clone());
    for l in &s.languages {
        v.0.push(("languages".into(), l.code().into()));
    }
    v
}

fn settings_page(staff: &Staff, values: &Fields, errors: &Errors, saved: bool) -> Response {
    settings_page_with(staff, values, errors, saved, None)
}

fn settings_page_with(
    staff: &Staff,
    values: &Fields,
    errors: &Errors,
    saved: bool,
    emblem_error: Option<String>,
) -> Response {
    let lang = staff.lang;
    let ticked: Vec<&str> = values.all("languages").collect();
    let status = if emblem_error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { status_of(errors) };
    let page = SettingsPage {
        slug: staff.tenant.slug.clone(),
        emblem: staff.tenant.emblem,
        emblem_error,
        // ---- webpush ----
        web_push: staff.tenant.web_push,
        // ---- end webpush ----
        // ---- citizen ----
        verified_max_active: values.get("verified_max_active").to_owned(),
        // ---- end citizen ----
        p: staff.page(staff.t("Impostazioni del Comune", "Town settings")),
        summary: Summary::of(errors),
        saved,
        fields: SETTINGS_TEXTS
            .iter()
            .map(|(name, it, en, kind)| {
                let f = Field::new(name, tr(lang, it, en), kind, values, errors);
                if matches!(*name, "name" | "contact_email" | "time_zone" | "retention_days") {
                    f.required()
                } else {
                    f
                }
            })
            .collect(),
        languages: ChoiceField::new(
            "languages",
            tr(lang, "Lingue offerte ai cittadini", "Languages offered to citizens"),
            [(Lang::It, "Italiano"), (Lang::En, "English")]
                .iter()
                .map(|(l, label)| Choice {
                    value: l.code().into(),
                    label: (*label).into(),
                    selected: ticked.contains(&l.code()),
                })
                .collect(),
            errors,
        ),
    };
    render(status, &page)
}

/// `GET /{tenant}/staff/settings`: the town's settings (administrators).
pub(crate) async fn settings(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff.require_admin()?;
    let values = with_verified_max(&state, &staff, settings_values(&TenantSettings::of(&staff.tenant))).await?;
    Ok(settings_page(&staff, &values, &Errors::default(), false))
}

// ---- citizen ----
/// The settings' values with the town's limit for citizens signed in with SPID or CIE.
async fn with_verified_max(state: &AppState, staff: &Staff, mut values: Fields) -> Result<Fields, PageError> {
    let max = state.store.verified_max_active(staff.tenant.id).await.map_err(|e| staff.err(ApiError::from(e)))?;
    values.set("verified_max_active", max.map(|m| m.to_string()).unwrap_or_default());
    Ok(values)
}
// ---- end citizen ----

/// `POST /{tenant}/staff/settings`: checks and saves the town's settings.
pub(crate) async fn save_settings(
    State(state): State<AppState>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let lang = staff.lang;
    let mut errors = Errors::default();
    let retention = form.get("retention_days").trim().parse::<i32>().unwrap_or(-1);
    let patron = form.get("patron_day").trim();
    let wanted = TenantSettings {
        name: form.get("name").into(),
        time_zone: form.get("time_zone").into(),
        patron_day: (!patron.is_empty()).then(|| patron.to_owned()),
        contact_email: form.get("contact_email").into(),
        retention_days: retention,
        website: form.get("website").into(),
        address: form.get("address").into(),
        pec: form.get("pec").into(),
        languages: form.all("languages").filter_map(Lang::parse).collect(),
        privacy_controller: form.get("privacy_controller").into(),
        privacy_dpo_contact: form.get("privacy_dpo_contact").into(),
        privacy_legal_basis: form.get("privacy_legal_basis").into(),
        accessibility_statement_url: form.get("accessibility_statement_url").into(),
        accessibility_statement_text: form.get("accessibility_statement_text").into(),
    };
    match state.desk.update_settings(&staff.tenant, &staff.grant(), &wanted, lang).await {
        Ok(t) => {
            let values = with_verified_max(&state, &staff, settings_values(&TenantSettings::of(&t))).await?;
            Ok(settings_page(&staff, &values, &Errors::default(), true))
        }
        Err(e) => {
            into_errors(&staff, e, &mut errors)?;
            // The summary lists the problems in the order of the form's fields.
            let place = |field: &str| SETTINGS_TEXTS.iter().position(|(name, ..)| *name == field).unwrap_or(usize::MAX);
            errors.0.sort_by_key(|(field, _)| place(field));
            let form = with_verified_max(&state, &staff, form).await?;
            Ok(settings_page(&staff, &form, &errors, false))
        }
    }
}

// ---- the emblem ----

/// `POST /{tenant}/staff/settings/emblem?csrf=...`: uploads the emblem (multipart, one file).
/// The CSRF token travels in the query: the multipart body is read only once it is checked.
pub(crate) async fn upload_emblem(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    staff: Staff,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let lang = staff.lang;
    if !super::common::same_secret(q.get("csrf").map_or("", String::as_str), &staff.csrf) {
        return Err(staff.forbidden());
    }
    let unreadable = || PageError::bad_request(lang, tr(lang, "modulo non leggibile", "unreadable form"));
    let mut multipart = multipart.map_err(|_| unreadable())?;
    let mut bytes = None;
    while let Some(field) = multipart.next_field().await.map_err(|_| unreadable())? {
        if field.name() == Some("emblem") {
            // Over the limit the body is cut by the server's own limit, or refused here.
            bytes = Some(field.bytes().await.map_err(|_| unreadable())?);
            break;
        }
    }
    let values = with_verified_max(&state, &staff, settings_values(&TenantSettings::of(&staff.tenant))).await?;
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        let message = tr(lang, "Scegli un file con lo stemma.", "Choose a file with the emblem.");
        return Ok(settings_page_with(&staff, &values, &Errors::default(), false, Some(message.into())));
    };
    match state.desk.set_emblem(&staff.tenant, &staff.grant(), &bytes, lang).await {
        Ok(()) => Ok(see_other(&format!("{}/settings", staff.base()))),
        Err(DeskError::Fields(f)) => {
            let message = f.first().map(|f| f.message.to_owned()).unwrap_or_default();
            Ok(settings_page_with(&staff, &values, &Errors::default(), false, Some(message)))
        }
        Err(e) => Err(staff.err(ApiError::from_desk(lang, e))),
    }
}

/// `GET /{tenant}/emblem`: the town's emblem, from our own origin, never run as a page.
pub(crate) async fn emblem_file(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    req: axum::extract::Request,
) -> Result<Response, PageError> {
    let (parts, _) = req.into_parts();
    let lang = crate::lang::detect(&parts);
    let t = crate::request::tenant(&state, &slug, lang).await.map_err(|e| PageError::api(e, lang))?;
    let (content_type, body) = state.desk.emblem(&t).await.in_lang(lang).map_err(|e| PageError::api(e, lang))?;
    let mut resp = axum::response::IntoResponse::into_response(body);
    let h = resp.headers_mut();
    use axum::http::{HeaderValue, header};
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("image/png")),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // An SVG opened on its own runs nothing and loads nothing.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    Ok(resp)
}
