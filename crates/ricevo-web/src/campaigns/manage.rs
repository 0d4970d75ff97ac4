//! Administrators only: the town's contact list (imported from CSV, previewed first, every
//! refused line with its number and reason) and its campaigns (created for a questionnaire,
//! started, paused, resumed, finished; their figures refresh by themselves while open).

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ricevo_core::Lang;
use ricevo_core::campaign::{CampaignAction, CampaignStatus, ContactImport};
use ricevo_desk::DeskError;
use ricevo_store::{Campaign, CampaignProgress, ContactsImported, Tenant};

use crate::error::ApiError;
use crate::staff::common::{Fields, PageError, Posted, Staff, path_id, render, same_secret, see_other, tr};
use crate::staff::views::Page;
use crate::state::AppState;

/// Where the figures' refresher is served.
pub(crate) const SCRIPT_PATH: &str = "/static/campaigns/figures.js";
/// Refreshes the figures of an open campaign page every few seconds (same origin, no library).
const SCRIPT: &str = r#""use strict";
(function () {
  var box = document.getElementById("figures");
  if (!box || !box.dataset.src) { return; }
  setInterval(function () {
    fetch(box.dataset.src, { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (html !== null) { box.innerHTML = html; }
    }).catch(function () {});
  }, 5000);
})();
"#;

/// `GET /static/campaigns/figures.js`.
pub(crate) async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        SCRIPT,
    )
        .into_response()
}

fn when(tenant: &Tenant, t: Timestamp) -> String {
    t.to_zoned(ricevo_desk::town::zone_of(tenant)).strftime("%d/%m/%Y %H:%M").to_string()
}

/// One refused line.
struct RefusedRow {
    line: usize,
    reason: String,
}

/// The contacts page: counts, the upload form, and what the last file held.
#[derive(Template)]
#[template(path = "campaigns/contacts.html")]
struct ContactsPage {
    p: Page,
    total: i64,
    unsubscribed: i64,
    /// `?csrf=` for the multipart form's action.
    action: String,
    error: Option<String>,
    /// The file read: preview (nothing stored) or import.
    read: Option<ReadView>,
    recent: Vec<(String, String, String, String, String)>,
}

struct ReadView {
    imported: bool,
    valid: usize,
    header: bool,
    separator: char,
    refused: Vec<RefusedRow>,
    done: Option<ContactsImported>,
}

async fn contacts_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    error: Option<String>,
    read: Option<ReadView>,
) -> Result<Response, PageError> {
    let counts = state.store.contact_counts(staff.tenant.id).await.map_err(|e| staff.err(e.into()))?;
    let recent = state.store.contacts(staff.tenant.id, 20).await.map_err(|e| staff.err(e.into()))?;
    let page = ContactsPage {
        p: staff.page(staff.t("Contatti per i questionari", "Survey contacts")),
        total: counts.total,
        unsubscribed: counts.unsubscribed,
        action: format!("{}/contacts?csrf={}", staff.base(), staff.csrf),
        error,
        read,
        recent: recent
            .into_iter()
            .map(|c| {
                let unsub = c.unsubscribed_at.map(|t| when(&staff.tenant, t)).unwrap_or_default();
                (c.email, c.name, c.consent_date, c.lang.code().to_owned(), unsub)
            })
            .collect(),
    };
    Ok(render(status, &page))
}

/// `GET /{tenant}/staff/contacts`.
pub(crate) async fn contacts(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff.require_admin()?;
    contacts_page(&state, &staff, StatusCode::OK, None, None).await
}

fn read_view(read: &ContactImport, lang: Lang, done: Option<ContactsImported>) -> ReadView {
    ReadView {
        imported: done.is_some(),
        valid: read.contacts.len(),
        header: read.header,
        separator: read.separator,
        refused: read.refused.iter().map(|r| RefusedRow { line: r.line, reason: r.reason.message(lang) }).collect(),
        done,
    }
}

/// `POST /{tenant}/staff/contacts?csrf=…` (multipart: `file`, `action` = `preview` or
/// `import`): the preview stores nothing; the import stores every valid line in one transaction.
pub(crate) async fn upload(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    staff: Staff,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let lang = staff.lang;
    if !same_secret(q.get("csrf").map_or("", String::as_str), &staff.csrf) {
        return Err(staff.forbidden());
    }
    let unreadable = || {
        tr(lang, "File non ricevuto: forse è più grande di 16 MB.", "File not received: it may be larger than 16 MB.")
            .to_owned()
    };
    let mut bytes = None;
    let mut import = false;
    match multipart {
        Ok(mut m) => loop {
            match m.next_field().await {
                Ok(Some(field)) => match field.name() {
                    Some("file") => match field.bytes().await {
                        Ok(b) => bytes = Some(b),
                        Err(_) => {
                            return contacts_page(
                                &state,
                                &staff,
                                StatusCode::PAYLOAD_TOO_LARGE,
                                Some(unreadable()),
                                None,
                            )
                            .await;
                        }
                    },
                    Some("action") => import = field.text().await.is_ok_and(|t| t == "import"),
                    _ => {}
                },
                Ok(None) => break,
                Err(_) => {
                    return contacts_page(&state, &staff, StatusCode::BAD_REQUEST, Some(unreadable()), None).await;
                }
            }
        },
        Err(_) => return contacts_page(&state, &staff, StatusCode::BAD_REQUEST, Some(unreadable()), None).await,
    }
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        let message = tr(lang, "Scegli un file CSV.", "Choose a CSV file.").to_owned();
        return contacts_page(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, Some(message), None).await;
    };
    let grant = staff.grant();
    let result = if import {
        state.desk.import_contacts(&staff.tenant, &grant, &bytes, lang).await.map(|(r, d)| read_view(&r, lang, Some(d)))
    } else {
        state.desk.preview_contacts(&staff.tenant, &grant, &bytes, lang).map(|r| read_view(&r, lang, None))
    };
    match result {
        Ok(view) => contacts_page(&state, &staff, StatusCode::OK, None, Some(view)).await,
        Err(DeskError::Invalid(m)) => {
            contacts_page(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, Some(m), None).await
        }
        Err(e) => Err(staff.err(ApiError::from_desk(lang, e))),
    }
}

/// One campaign in the list.
struct CampaignRow {
    href: String,
    title: String,
    status: &'static str,
    created: String,
}

/// The campaigns page: the list and the form of a new one.
#[derive(Template)]
#[template(path = "campaigns/campaigns.html")]
struct CampaignsPage {
    p: Page,
    rows: Vec<CampaignRow>,
    questionnaires: Vec<(i64, String, bool)>,
    values: Fields,
    error: Option<String>,
}

async fn campaigns_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    values: Fields,
    error: Option<String>,
) -> Result<Response, PageError> {
    let grant = staff.grant();
    let list = state.store.campaigns(staff.tenant.id).await.map_err(|e| staff.err(e.into()))?;
    let qs = state
        .desk
        .campaign_questionnaires(&staff.tenant, &grant)
        .await
        .map_err(|e| staff.err(ApiError::from_desk(staff.lang, e)))?;
    let chosen = values.get("questionnaire").to_owned();
    let page = CampaignsPage {
        p: staff.page(staff.t("Campagne per e-mail", "E-mail campaigns")),
        rows: list
            .into_iter()
            .map(|c| CampaignRow {
                href: format!("{}/campaigns/{}", staff.base(), c.id),
                title: c.title,
                status: c.status.label(staff.lang),
                created: when(&staff.tenant, c.created_at),
            })
            .collect(),
        questionnaires: qs.into_iter().map(|q| (q.id.0, q.title, q.id.0.to_string() == chosen)).collect(),
        values,
        error,
    };
    Ok(render(status, &page))
}

/// `GET /{tenant}/staff/campaigns`.
pub(crate) async fn campaigns(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff.require_admin()?;
    let mut values = Fields::default();
    values.set("subject_it", "Ci aiuti a migliorare i servizi online?");
    values.set("subject_en", "Will you help us improve our online services?");
    values.set(
        "intro_it",
        "ti scriviamo perché sei nella lista dei contatti del Comune. Rispondere al questionario richiede pochi minuti.",
    );
    values.set(
        "intro_en",
        "we are writing because you are on the town's contact list. The questionnaire takes a few minutes.",
    );
    campaigns_page(&state, &staff, StatusCode::OK, values, None).await
}

/// `POST /{tenant}/staff/campaigns`: a new draft.
pub(crate) async fn create(State(state): State<AppState>, posted: Posted) -> Result<Response, PageError> {
    let Posted { staff, form } = posted;
    staff.require_admin()?;
    let draft = ricevo_store::NewCampaign {
        questionnaire_id: form.get("questionnaire").parse().unwrap_or(0),
        title: form.get("title").to_owned(),
        subject_it: form.get("subject_it").to_owned(),
        subject_en: form.get("subject_en").to_owned(),
        intro_it: form.get("intro_it").to_owned(),
        intro_en: form.get("intro_en").to_owned(),
    };
    match state.desk.create_campaign(&staff.tenant, &staff.grant(), &draft, staff.lang).await {
        Ok(c) => Ok(see_other(&format!("{}/campaigns/{}", staff.base(), c.id))),
        Err(DeskError::Invalid(m)) => {
            campaigns_page(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, form, Some(m)).await
        }
        Err(e) => Err(staff.err(ApiError::from_desk(staff.lang, e))),
    }
}

/// The figures of a campaign (the page's box, and what the script fetches).
#[derive(Template)]
#[template(path = "campaigns/figures.html")]
struct Figures {
    p: Page,
    status: &'static str,
    f: CampaignProgress,
}

/// A campaign's page.
#[derive(Template)]
#[template(path = "campaigns/campaign.html")]
struct CampaignPage {
    p: Page,
    c: Campaign,
    figures: String,
    src: String,
    live: bool,
    script: &'static str,
    actions: Vec<(String, &'static str, &'static str)>,
    problems: Vec<(String, String, String)>,
    error: Option<String>,
    rate: u32,
}

fn figures_html(staff: &Staff, c: &Campaign, f: CampaignProgress) -> String {
    let page = Figures { p: staff.page(""), status: c.status.label(staff.lang), f };
    page.render().unwrap_or_default()
}

async fn campaign_page(
    state: &AppState,
    staff: &Staff,
    id: i64,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, PageError> {
    let grant = staff.grant();
    let lang = staff.lang;
    let (c, f) = state
        .desk
        .campaign_progress(&staff.tenant, &grant, id)
        .await
        .map_err(|e| staff.err(ApiError::from_desk(lang, e)))?;
    let problems = state.store.campaign_problems(staff.tenant.id, id, 200).await.map_err(|e| staff.err(e.into()))?;
    let base = format!("{}/campaigns/{id}", staff.base());
    let actions = [
        (CampaignAction::Start, "start", staff.t("Avvia l'invio", "Start sending"), "btn"),
        (CampaignAction::Pause, "pause", staff.t("Metti in pausa", "Pause"), "btn btn-outline"),
        (CampaignAction::Resume, "resume", staff.t("Riprendi l'invio", "Resume sending"), "btn"),
        (CampaignAction::Finish, "finish", staff.t("Chiudi la campagna", "Finish the campaign"), "btn btn-danger"),
    ]
    .into_iter()
    .filter(|(a, ..)| c.status.after(*a).is_some())
    .map(|(_, path, label, class)| (format!("{base}/{path}"), label, class))
    .collect();
    let page = CampaignPage {
        p: staff.page(&c.title),
        figures: figures_html(staff, &c, f),
        src: format!("{base}/figures"),
        live: matches!(c.status, CampaignStatus::Running | CampaignStatus::Paused),
        script: SCRIPT_PATH,
        actions,
        problems: problems
            .into_iter()
            .map(|p| {
                let kind =
                    if p.bounced_at.is_some() { tr(lang, "rifiutata", "bounced") } else { tr(lang, "errore", "error") };
                (p.email, kind.to_owned(), p.error.unwrap_or_default())
            })
            .collect(),
        c,
        error,
        rate: state.desk.settings().surveys.campaign_messages_per_minute,
    };
    Ok(render(status, &page))
}

/// `GET /{tenant}/staff/campaigns/{id}`.
pub(crate) async fn campaign(
    State(state): State<AppState>,
    staff: Staff,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let id = path_id(&id, staff.lang)?;
    campaign_page(&state, &staff, id, StatusCode::OK, None).await
}

/// `GET /{tenant}/staff/campaigns/{id}/figures`: the figures alone (HTML fragment).
pub(crate) async fn figures(
    State(state): State<AppState>,
    staff: Staff,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    staff.require_admin()?;
    let id = path_id(&id, staff.lang)?;
    let (c, f) = state
        .desk
        .campaign_progress(&staff.tenant, &staff.grant(), id)
        .await
        .map_err(|e| staff.err(ApiError::from_desk(staff.lang, e)))?;
    Ok(crate::staff::common::html(StatusCode::OK, figures_html(&staff, &c, f)))
}

/// `POST /{tenant}/staff/campaigns/{id}/{start|pause|resume|finish}`.
pub(crate) async fn act(
    State(state): State<AppState>,
    Path((_, id, action)): Path<(String, String, String)>,
    posted: Posted,
) -> Result<Response, PageError> {
    let Posted { staff, form: _ } = posted;
    staff.require_admin()?;
    let lang = staff.lang;
    let id = path_id(&id, lang)?;
    let action = match action.as_str() {
        "start" => CampaignAction::Start,
        "pause" => CampaignAction::Pause,
        "resume" => CampaignAction::Resume,
        "finish" => CampaignAction::Finish,
        _ => return Err(staff.not_found()),
    };
    match state.desk.campaign_action(&staff.tenant, &staff.grant(), id, action, lang).await {
        Ok(_) => Ok(see_other(&format!("{}/campaigns/{id}", staff.base()))),
        Err(DeskError::Invalid(m)) => {
            campaign_page(&state, &staff, id, StatusCode::UNPROCESSABLE_ENTITY, Some(m)).await
        }
        Err(DeskError::Conflict) => {
            let m = tr(
                lang,
                "La campagna è cambiata nel frattempo: ecco com'è ora.",
                "The campaign changed meanwhile: here it is now.",
            );
            campaign_page(&state, &staff, id, StatusCode::CONFLICT, Some(m.to_owned())).await
        }
        Err(e) => Err(staff.err(ApiError::from_desk(lang, e))),
    }
}
