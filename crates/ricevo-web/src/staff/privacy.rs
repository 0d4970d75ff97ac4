//! Administrators only: a citizen's data on request (GDPR). Find a citizen of this town by
//! e-mail, phone or codice fiscale, read what the town holds, download it as JSON or the
//! shared documents one by one, and erase it after a confirmation.
//!
//! The citizen's key is always posted (with the CSRF token), never put in a URL, so neither
//! the browser's history nor an access log keeps it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ricevo_core::{DocumentId, Lang, MeetingId};
use ricevo_desk::DeskError;
use ricevo_desk::privacy::CitizenKey;

use super::common::{Errors, Fields, PageError, Posted, Staff, path_id, render, tr};
use super::views::{Choice, ChoiceField, Field, Page, Summary};
use crate::error::{ApiError, InLang};
use crate::gdpr::{CitizenExport, ErasureView, export_from};
use crate::state::AppState;

const KEYS: [&str; 3] = ["email", "phone", "fiscal_code"];

fn key_label(key: &str, lang: Lang) -> &'static str {
    match key {
        "phone" => tr(lang, "Telefono", "Phone"),
        "fiscal_code" => tr(lang, "Codice fiscale", "Fiscal code"),
        _ => tr(lang, "E-mail", "E-mail"),
    }
}

/// The search form, with its values and problems.
struct SearchForm {
    by: ChoiceField,
    value: Field,
}

fn search_form(lang: Lang, values: &Fields, errors: &Errors) -> SearchForm {
    let chosen = values.get("by");
    let by = ChoiceField::new(
        "by",
        tr(lang, "Cerca per", "Find by"),
        KEYS.iter()
            .map(|k| Choice { value: (*k).into(), label: key_label(k, lang).into(), selected: chosen == *k })
            .collect(),
        errors,
    );
    let value = Field::new("value", tr(lang, "Valore", "Value"), "text", values, errors).required().hint(tr(
        lang,
        "L'indirizzo e-mail, il numero di telefono o il codice fiscale, come li ha dati il cittadino.",
        "The e-mail address, phone number or fiscal code, as the citizen gave it.",
    ));
    SearchForm { by, value }
}

/// The privacy page: the search form, and what was found.
#[derive(Template)]
#[template(path = "staff/privacy.html")]
struct PrivacyPage {
    p: Page,
    summary: Summary,
    form: SearchForm,
    /// The key posted on (hidden in the export and erase forms).
    by: String,
    value: String,
    found: Option<CitizenExport>,
    erased: Option<ErasureView>,
    /// Whether the documents are download links.
    downloads: bool,
}

/// The erasure's confirmation.
#[derive(Template)]
#[template(path = "staff/privacy_erase.html")]
struct ErasePage {
    p: Page,
    by: String,
    value: String,
    found: CitizenExport,
    refusal: Option<String>,
    confirm_error: Option<String>,
    /// No: documents are downloaded from the record page.
    downloads: bool,
}

// The key a form names, or the form's problems in the user's language.
fn key_of(form: &Fields, lang: Lang) -> Result<CitizenKey, Errors> {
    let value = Some(form.get("value"));
    let parsed = match form.get("by") {
        "phone" => CitizenKey::parse(None, value, None, lang),
        "fiscal_code" => CitizenKey::parse(None, None, value, lang),
        _ => CitizenKey::parse(value, None, None, lang),
    };
    parsed.map_err(|e| {
        let mut errors = Errors::default();
        match e {
            DeskError::Fields(fields) => fields.iter().for_each(|f| errors.add("value", f.message)),
            _ => errors.add("value", tr(lang, "Indica un valore da cercare.", "Enter a value to look for.")),
        }
        errors
    })
}

fn page(staff: &Staff) -> Page {
    staff.page(staff.t("Dati dei cittadini (privacy)", "Citizens' data (privacy)"))
}

async fn found(state: &AppState, staff: &Staff, key: &CitizenKey) -> Result<CitizenExport, PageError> {
    let record = state.desk.citizen_record(&staff.tenant, &staff.grant(), key).await.in_lang(staff.lang);
    let record = record.map_err(|e| staff.err(e))?;
    export_from(&*state.store, &staff.tenant, key, &record, state.now()).await.map_err(|e| staff.err(e.into()))
}

/// `GET /{tenant}/staff/privacy`: the search form.
pub(crate) async fn form(staff: Staff) -> Result<Response, PageError> {
    staff.require_admin()?;
    let empty = Fields::default();
    let page = PrivacyPage {
        p: page(&staff),
        summary: Summary::default(),
        form: search_form(staff.lang, &empty, &Errors::default()),
        by: String::new(),
        value: String::new(),
        found: None,
        erased: None,
        downloads: false,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /{tenant}/staff/privacy`: what the town holds about the citizen.
pub(crate) async fn search(State(state): State<AppState>, posted: Posted) -> Result<Response, PageError> {
    let Posted { staff, form } = posted;
    staff.require_admin()?;
    let (status, found, summary) = match key_of(&form, staff.lang) {
        Ok(key) => (StatusCode::OK, Some(found(&state, &staff, &key).await?), Errors::default()),
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, None, errors),
    };
    let page = PrivacyPage {
        p: page(&staff),
        summary: Summary::of(&summary),
        form: search_form(staff.lang, &form, &summary),
        by: form.get("by").to_owned(),
        value: form.get("value").to_owned(),
        downloads: true,
        found,
        erased: None,
    };
    Ok(render(status, &page))
}

/// `POST /{tenant}/staff/privacy/export`: the citizen's data as a JSON download.
pub(crate) async fn export(State(state): State<AppState>, posted: Posted) -> Result<Response, PageError> {
    let Posted { staff, form } = posted;
    staff.require_admin()?;
    let key = key_of(&form, staff.lang).map_err(|_| staff.err(ApiError::BadRequest(staff.lang, "value".into())))?;
    let export = found(&state, &staff, &key).await?;
    let body = serde_json::to_vec_pretty(&export).map_err(|e| staff.err(ApiError::Internal(e.to_string())))?;
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let name = format!("attachment; filename=\"dati-{}-{}.json\"", staff.tenant.slug, state.now().as_second());
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// `POST /{tenant}/staff/privacy/erase`: first the confirmation, then (with `step=erase` and
/// the box ticked) the erasure.
pub(crate) async fn erase(State(state): State<AppState>, posted: Posted) -> Result<Response, PageError> {
    let Posted { staff, form } = posted;
    staff.require_admin()?;
    let key = key_of(&form, staff.lang).map_err(|_| staff.err(ApiError::BadRequest(staff.lang, "value".into())))?;
    let confirm = |found, refusal, confirm_error, status| {
        let page = ErasePage {
            p: staff.page(staff.t("Cancellare i dati del cittadino?", "Erase the citizen's data?")),
            by: form.get("by").to_owned(),
            value: form.get("value").to_owned(),
            found,
            refusal,
            confirm_error,
            downloads: false,
        };
        Ok(render(status, &page))
    };
    if form.get("step") != "erase" {
        return confirm(found(&state, &staff, &key).await?, None, None, StatusCode::OK);
    }
    if form.get("confirm") != "yes" {
        let missing =
            staff.t("Spunta la casella per confermare la cancellazione.", "Tick the box to confirm the erasure.");
        let found = found(&state, &staff, &key).await?;
        return confirm(found, None, Some(missing.to_owned()), StatusCode::UNPROCESSABLE_ENTITY);
    }
    match state.desk.erase_citizen(&staff.tenant, &staff.grant(), &key).await {
        Ok(counts) => {
            let empty = Fields::default();
            let page = PrivacyPage {
                p: page(&staff),
                summary: Summary::default(),
                form: search_form(staff.lang, &empty, &Errors::default()),
                by: String::new(),
                value: String::new(),
                found: None,
                erased: Some(counts.into()),
                downloads: false,
            };
            Ok(render(StatusCode::OK, &page))
        }
        Err(e @ DeskError::ActiveAppointments(_)) => {
            let message = ApiError::from_desk(staff.lang, e).message();
            confirm(found(&state, &staff, &key).await?, Some(message), None, StatusCode::CONFLICT)
        }
        Err(e) => Err(staff.err(ApiError::from_desk(staff.lang, e))),
    }
}

/// `GET /{tenant}/staff/privacy/documents/{meeting}/{document}`: one shared document.
pub(crate) async fn document(
    State(state): State<AppState>,
    Path((_, meeting, document)): Path<(String, String, String)>,
    staff: Staff,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let meeting = MeetingId(path_id(&meeting, staff.lang)?);
    let id = DocumentId(path_id(&document, staff.lang)?);
    let (meta, bytes) =
        state.desk.citizen_document(&staff.tenant, &staff.grant(), meeting, id).await.map_err(|e| match e {
            DeskError::NotFound => staff.not_found(),
            other => staff.err(ApiError::from_desk(staff.lang, other)),
        })?;
    Ok(crate::room::documents::attachment(&meta, bytes))
}
