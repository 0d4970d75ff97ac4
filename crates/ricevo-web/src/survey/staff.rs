//! The questionnaire pages under `/{tenant}/staff/surveys`: the list, the builder (a form with
//! server round trips, no script needed), a questionnaire's page (open, close, kiosks), the
//! preview as citizens see it, the results (and their CSV), and the kiosk.
//!
//! The kiosk: a signed-in staff member opens `/{tenant}/staff/surveys/{id}/kiosk`, names the
//! place and starts it; the device then holds a kiosk pass in a cookie scoped to that page
//! (see `ricevo_desk::surveys`) and its staff session ends, so a citizen at the tablet can
//! reach no staff page and the kiosk keeps working for days. Each answer is stored with channel
//! `kiosk` and the place; the thanks starts over after a few seconds.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ricevo_core::Lang;
use ricevo_core::survey::{Questionnaire, QuestionnaireId, SurveyChannel, SurveyKind, SurveyStatus};
use ricevo_desk::DeskError;
use ricevo_desk::surveys::{KIOSK_DAYS, may_manage};
use ricevo_store::{NewQuestionnaire, ResponseFilter, Role, StoredQuestionnaire};
use serde::Deserialize;

use super::builder::{Action, Draft};
use super::form::{self, SurveyView};
use super::views::{
    BuilderPage, KioskMessage, KioskPage, KioskRow, KioskSetup, ListPage, ListRow, Opt, PreviewPage, ResultsPage,
    ShowPage, results_out,
};
use crate::error::ApiError;
use crate::pages::layout::Ctx;
use crate::staff::common::{PageError, Posted, SESSION_COOKIE, Staff, path_id, render, see_other};
use crate::state::AppState;

/// The kiosk pass's cookie (scoped to one questionnaire's kiosk page).
const KIOSK_COOKIE: &str = "ricevo_kiosk";
/// Seconds the kiosk's thanks stays before it starts over.
const RESTART_SECONDS: u32 = 6;

fn desk_err(staff: &Staff, e: DeskError) -> PageError {
    staff.err(ApiError::from_desk(staff.lang, e))
}

fn qid(raw: &str, lang: Lang) -> Result<QuestionnaireId, PageError> {
    path_id(raw, lang).map(QuestionnaireId)
}

fn status_word(s: SurveyStatus, lang: Lang) -> &'static str {
    s.label(lang)
}

fn kind_word(k: SurveyKind, staff: &Staff) -> &'static str {
    match k {
        SurveyKind::Survey => staff.t("Questionario", "Questionnaire"),
        SurveyKind::Feedback => staff.t("Domande aggiuntive del feedback", "Extra feedback questions"),
    }
}

/// `GET /{tenant}/staff/surveys`: the questionnaires this account may manage or run.
pub(crate) async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    let grant = staff.grant();
    let all = state.desk.questionnaires(&staff.tenant, &grant).await.map_err(|e| desk_err(&staff, e))?;
    let offices = state.store.offices(staff.tenant.id).await.map_err(|e| staff.err(e.into()))?;
    let base = format!("{}/surveys", staff.base());
    let rows = all
        .iter()
        .map(|q| ListRow {
            title: q.title.clone(),
            link: if may_manage(&grant, q) { format!("{base}/{}", q.id) } else { String::new() },
            kind: kind_word(q.kind, &staff),
            office: q
                .office_id
                .and_then(|o| offices.iter().find(|x| x.id == o))
                .map(|o| o.name.clone())
                .unwrap_or_else(|| staff.t("Tutto il comune", "Whole town").to_owned()),
            status: status_word(q.status, staff.lang),
            kiosk: (q.status == SurveyStatus::Open && q.kind == SurveyKind::Survey)
                .then(|| format!("{base}/{}/kiosk", q.id)),
        })
        .collect();
    let page = ListPage {
        p: staff.page(staff.t("Questionari", "Questionnaires")),
        rows,
        can_create: staff.user.role != Role::Operator,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The office and service choices of the builder for this account.
async fn choices(state: &AppState, staff: &Staff, d: &Draft) -> Result<(Vec<Opt>, Vec<Opt>), PageError> {
    let grant = staff.grant();
    let offices = state.store.offices(staff.tenant.id).await.map_err(|e| staff.err(e.into()))?;
    let services = state.store.services(staff.tenant.id).await.map_err(|e| staff.err(e.into()))?;
    let mut o: Vec<Opt> = Vec::new();
    if staff.is_admin() {
        o.push((String::new(), staff.t("Tutto il comune", "Whole town").to_owned(), d.office.is_empty()));
    }
    for x in offices.iter().filter(|x| grant.manages_office(x.id)) {
        o.push((x.id.to_string(), x.name.clone(), d.office == x.id.to_string()));
    }
    let mut s: Vec<Opt> =
        vec![(String::new(), staff.t("Nessuno in particolare", "None in particular").to_owned(), d.service.is_empty())];
    for x in services.iter().filter(|x| grant.manages_office(x.office_id)) {
        let office = offices.iter().find(|o| o.id == x.office_id).map(|o| o.name.as_str()).unwrap_or("");
        s.push((x.id.to_string(), format!("{office} · {}", x.name), d.service == x.id.to_string()));
    }
    Ok((o, s))
}

async fn builder(
    state: &AppState,
    staff: &Staff,
    action: String,
    d: &Draft,
    error: Option<String>,
    unsaved: bool,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (offices, services) = choices(state, staff, d).await?;
    let title = if action.ends_with("/new") {
        staff.t("Nuovo questionario", "New questionnaire")
    } else {
        staff.t("Modifica il questionario", "Edit the questionnaire")
    };
    let back = format!("{}/surveys", staff.base());
    let page = BuilderPage::new(staff.page(title), action, back, d, offices, services, error, unsaved);
    Ok(render(status, &page))
}

/// `GET /{tenant}/staff/surveys/new`: the builder with one question to start from.
pub(crate) async fn new_form(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    if staff.user.role == Role::Operator {
        return Err(staff.forbidden());
    }
    let action = format!("{}/surveys/new", staff.base());
    builder(&state, &staff, action, &Draft::blank(), None, false, StatusCode::OK).await
}

/// The questionnaire a builder form describes, as the desk takes it.
fn to_new(d: &Draft, lang: Lang) -> Result<NewQuestionnaire, String> {
    let id = |raw: &str| -> Result<Option<i64>, String> {
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse::<i64>().map(Some).map_err(|_| match lang {
            Lang::It => "Ufficio o servizio non valido.".to_owned(),
            Lang::En => "Invalid office or service.".to_owned(),
        })
    };
    Ok(NewQuestionnaire {
        title: d.title.clone(),
        kind: SurveyKind::parse(&d.kind).unwrap_or(SurveyKind::Survey),
        office_id: id(&d.office)?.map(ricevo_core::OfficeId),
        service_id: id(&d.service)?.map(ricevo_core::ServiceId),
        definition: d.to_questionnaire(),
    })
}

/// Refusals the builder shows on its own page rather than as an error page.
fn builder_refusal(e: &DeskError) -> Option<String> {
    match e {
        DeskError::Invalid(m) => Some(m.clone()),
        _ => None,
    }
}

/// `POST /{tenant}/staff/surveys/new`: a builder button, or saving a new questionnaire.
pub(crate) async fn new_submit(State(state): State<AppState>, posted: Posted) -> Result<Response, PageError> {
    let Posted { staff, form } = posted;
    if staff.user.role == Role::Operator {
        return Err(staff.forbidden());
    }
    let action_url = format!("{}/surveys/new", staff.base());
    let mut d = Draft::read(&form.0);
    let action = Action::parse(form.get("action"));
    action.apply(&mut d);
    if action != Action::Save {
        return builder(&state, &staff, action_url, &d, None, true, StatusCode::OK).await;
    }
    let new = match to_new(&d, staff.lang) {
        Ok(n) => n,
        Err(m) => {
            return builder(&state, &staff, action_url, &d, Some(m), true, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    match state.desk.create_questionnaire(&staff.tenant, &staff.grant(), &new, staff.lang).await {
        Ok(q) => Ok(see_other(&format!("{}/surveys/{}", staff.base(), q.id))),
        Err(e) => match builder_refusal(&e) {
            Some(m) => builder(&state, &staff, action_url, &d, Some(m), true, StatusCode::UNPROCESSABLE_ENTITY).await,
            None => Err(desk_err(&staff, e)),
        },
    }
}

async fn managed(state: &AppState, staff: &Staff, raw: &str) -> Result<StoredQuestionnaire, PageError> {
    let id = qid(raw, staff.lang)?;
    state.desk.managed_questionnaire(&staff.tenant, &staff.grant(), id).await.map_err(|e| desk_err(staff, e))
}

fn draft_of(q: &StoredQuestionnaire) -> Draft {
    Draft::of(&q.title, q.office_id.map(|o| o.0), q.service_id.map(|s| s.0), q.kind.as_str(), &q.definition)
}

/// `GET /{tenant}/staff/surveys/{id}/edit`: the builder on a draft.
pub(crate) async fn edit_form(
    State(state): State<AppState>,
    staff: Staff,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let q = managed(&state, &staff, &id).await?;
    if !q.status.is_editable() {
        return Ok(see_other(&format!("{}/surveys/{}", staff.base(), q.id)));
    }
    let action = format!("{}/surveys/{}/edit", staff.base(), q.id);
    builder(&state, &staff, action, &draft_of(&q), None, false, StatusCode::OK).await
}

/// `POST /{tenant}/staff/surveys/{id}/edit`: a builder button, or saving the draft.
pub(crate) async fn edit_submit(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    posted: Posted,
) -> Result<Response, PageError> {
    let Posted { staff, form } = posted;
    let q = managed(&state, &staff, &id).await?;
    let action_url = format!("{}/surveys/{}/edit", staff.base(), q.id);
    let mut d = Draft::read(&form.0);
    let action = Action::parse(form.get("action"));
    action.apply(&mut d);
    if action != Action::Save {
        return builder(&state, &staff, action_url, &d, None, true, StatusCode::OK).await;
    }
    let new = match to_new(&d, staff.lang) {
        Ok(n) => n,
        Err(m) => {
            return builder(&state, &staff, action_url, &d, Some(m), true, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    match state.desk.update_questionnaire(&staff.tenant, &staff.grant(), q.id, &new, staff.lang).await {
        Ok(()) => Ok(see_other(&format!("{}/surveys/{}", staff.base(), q.id))),
        Err(e) => match builder_refusal(&e) {
            Some(m) => builder(&state, &staff, action_url, &d, Some(m), true, StatusCode::UNPROCESSABLE_ENTITY).await,
            None => Err(desk_err(&staff, e)),
        },
    }
}

fn when(t: jiff::Timestamp, staff: &Staff) -> String {
    let zone = jiff::tz::TimeZone::get(&staff.tenant.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    t.to_zoned(zone).strftime("%d/%m/%Y %H:%M").to_string()
}

/// `GET /{tenant}/staff/surveys/{id}`: status, actions and kiosks of a questionnaire.
pub(crate) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let q = managed(&state, &staff, &id).await?;
    let base = format!("{}/surveys/{}", staff.base(), q.id);
    let kiosks = state.desk.kiosks(&staff.tenant, &staff.grant(), q.id).await.map_err(|e| desk_err(&staff, e))?;
    let page = ShowPage {
        p: staff.page(&q.title),
        status: status_word(q.status, staff.lang),
        kind: kind_word(q.kind, &staff),
        editable: q.status.is_editable(),
        can_open: q.status.can_become(SurveyStatus::Open),
        can_close: q.status.can_become(SurveyStatus::Closed),
        is_survey: q.kind == SurveyKind::Survey,
        questions: q.definition.questions().count(),
        kiosks: kiosks
            .iter()
            .map(|k| KioskRow {
                place: k.place.clone(),
                since: when(k.created_at, &staff),
                until: when(k.expires_at, &staff),
                stop: format!("{base}/kiosks/{}/stop", k.id),
            })
            .collect(),
        base,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /{tenant}/staff/surveys/{id}/status`: open, close or reopen (`to`).
pub(crate) async fn set_status(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    posted: Posted,
) -> Result<Response, PageError> {
    let Posted { staff, form } = posted;
    let id = qid(&id, staff.lang)?;
    let Some(to) = SurveyStatus::parse(form.get("to")) else {
        return Err(PageError::bad_request(staff.lang, staff.t("stato sconosciuto", "unknown status")));
    };
    state
        .desk
        .set_questionnaire_status(&staff.tenant, &staff.grant(), id, to, staff.lang)
        .await
        .map_err(|e| desk_err(&staff, e))?;
    Ok(see_other(&format!("{}/surveys/{}", staff.base(), id)))
}

/// `POST /{tenant}/staff/surveys/{id}/kiosks/{pass}/stop`: stops a kiosk at once.
pub(crate) async fn stop_kiosk(
    State(state): State<AppState>,
    Path((_, id, pass)): Path<(String, String, String)>,
    posted: Posted,
) -> Result<Response, PageError> {
    let staff = posted.staff;
    let id = qid(&id, staff.lang)?;
    let pass = path_id(&pass, staff.lang)?;
    state.desk.stop_kiosk(&staff.tenant, &staff.grant(), id, pass).await.map_err(|e| desk_err(&staff, e))?;
    Ok(see_other(&format!("{}/surveys/{}", staff.base(), id)))
}

fn preview_page(
    ctx: &Ctx,
    staff: &Staff,
    q: &StoredQuestionnaire,
    survey: SurveyView,
    checked: Option<&'static str>,
) -> PreviewPage {
    let base = format!("{}/surveys/{}", staff.base(), q.id);
    PreviewPage {
        l: ctx.layout(q.title.clone(), Vec::new(), Some(&staff.tenant), true),
        t: ctx.t,
        title: q.title.clone(),
        banner: staff.t(
            "Anteprima: il questionario come lo vede chi risponde. Puoi provare a inviarlo: nulla viene salvato.",
            "Preview: the questionnaire as respondents see it. You may try sending it: nothing is stored.",
        ),
        back: base.clone(),
        back_label: staff.t("← Torna al questionario", "← Back to the questionnaire"),
        action: format!("{base}/preview"),
        csrf: ctx.csrf.clone(),
        submit: staff.t("Invia", "Send"),
        checked,
        survey,
    }
}

/// What a questionnaire asks: a feedback one shows the built-in questions it extends.
fn shown(q: &StoredQuestionnaire) -> Questionnaire {
    match q.kind {
        SurveyKind::Survey => q.definition.clone(),
        SurveyKind::Feedback => Questionnaire::feedback_default().with_extra(&q.definition),
    }
}

/// `GET /{tenant}/staff/surveys/{id}/preview`: the questionnaire as a citizen sees it.
pub(crate) async fn preview(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: Staff,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let q = managed(&state, &staff, &id).await?;
    let survey = SurveyView::new(&shown(&q), staff.lang);
    Ok(ctx.form_page(StatusCode::OK, &preview_page(&ctx, &staff, &q, survey, None)))
}

/// `POST /{tenant}/staff/surveys/{id}/preview`: checks the answers as a real submission would,
/// and stores nothing.
pub(crate) async fn preview_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
    posted: Posted,
) -> Result<Response, PageError> {
    let Posted { staff, form } = posted;
    let q = managed(&state, &staff, &id).await?;
    let definition = shown(&q);
    match form::read(&definition, &form.0) {
        Ok(_) => {
            let ok = staff.t(
                "Le risposte sono valide: così verrebbero accettate (non sono state salvate).",
                "The answers are valid: they would be accepted like this (they were not stored).",
            );
            let survey = SurveyView::refill(&definition, staff.lang, &form.0, None);
            Ok(ctx.form_page(StatusCode::OK, &preview_page(&ctx, &staff, &q, survey, Some(ok))))
        }
        Err(e) => {
            let survey = SurveyView::refill(&definition, staff.lang, &form.0, Some(&e));
            Ok(ctx.form_page(StatusCode::UNPROCESSABLE_ENTITY, &preview_page(&ctx, &staff, &q, survey, None)))
        }
    }
}

/// `GET /{tenant}/staff/surveys/{id}/results`: counts, percentages, averages, texts, groups.
pub(crate) async fn results(
    State(state): State<AppState>,
    staff: Staff,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = qid(&id, staff.lang)?;
    let (q, r) = state
        .desk
        .questionnaire_results(&staff.tenant, &staff.grant(), id, &ResponseFilter::default())
        .await
        .map_err(|e| desk_err(&staff, e))?;
    let (questions, by_channel, by_service) = results_out(&r, staff.lang);
    let base = format!("{}/surveys/{}", staff.base(), q.id);
    let page = ResultsPage {
        p: staff.page(&format!("{}: {}", staff.t("Risultati", "Results"), q.title)),
        total: r.total,
        questions,
        ratings: r.ratings.iter().map(|l| l.get(staff.lang).to_owned()).collect(),
        by_channel,
        by_service,
        csv: format!("{base}/results.csv"),
        refresh: format!("{base}/results"),
        back: base,
    };
    Ok(render(StatusCode::OK, &page))
}

/// A cell as written to the results' CSV: a leading formula character is neutralised for
/// spreadsheets (free texts are citizens' words).
fn csv_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() }
}

/// `GET /{tenant}/staff/surveys/{id}/results.csv`: the per-question counts and texts as CSV.
pub(crate) async fn results_csv(
    State(state): State<AppState>,
    staff: Staff,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = qid(&id, staff.lang)?;
    let (q, r) = state
        .desk
        .questionnaire_results(&staff.tenant, &staff.grant(), id, &ResponseFilter::default())
        .await
        .map_err(|e| desk_err(&staff, e))?;
    let lang = staff.lang;
    // Every field quoted, CRLF line ends and a byte-order mark, as spreadsheets expect.
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .terminator(csv::Terminator::CRLF)
        .from_writer("\u{feff}".as_bytes().to_vec());
    let mut rows: Vec<[String; 4]> = vec![[
        staff.t("domanda", "question").to_owned(),
        staff.t("risposta", "answer").to_owned(),
        staff.t("numero", "count").to_owned(),
        staff.t("percentuale", "percent").to_owned(),
    ]];
    for x in &r.questions {
        let question = x.label.get(lang);
        for o in &x.options {
            let row = [question, o.label.get(lang), &o.count.to_string(), &format!("{:.1}", o.percent)];
            rows.push(row.map(csv_cell));
        }
        if let Some(a) = x.average {
            let row = [question, staff.t("media", "average"), &x.answered.to_string(), &format!("{a:.2}")];
            rows.push(row.map(csv_cell));
        }
        for t in &x.texts {
            rows.push([question, t.as_str(), "1", ""].map(csv_cell));
        }
    }
    // Writing to memory cannot fail; a failure would only shorten the file.
    for row in &rows {
        let _ = w.write_record(row);
    }
    let out = w.into_inner().unwrap_or_default();
    let name = format!("attachment; filename=\"questionario-{}.csv\"", q.id);
    let mut resp = out.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// The query of the kiosk's setup page.
#[derive(Debug, Deserialize)]
pub(crate) struct PlaceQuery {
    place: Option<String>,
}

fn kiosk_path(slug: &str, id: QuestionnaireId) -> String {
    format!("/{slug}/staff/surveys/{id}/kiosk")
}

fn kiosk_message(
    ctx: &Ctx,
    tenant: &ricevo_store::Tenant,
    heading: &'static str,
    text: &'static str,
    restart: Option<(u32, String, &'static str)>,
) -> KioskMessage {
    KioskMessage {
        l: ctx.layout(heading.to_owned(), Vec::new(), Some(tenant), true),
        t: ctx.t,
        heading,
        text,
        restart,
        script: form::script_url(),
    }
}

fn closed_page(ctx: &Ctx, tenant: &ricevo_store::Tenant) -> Response {
    let (h, t) = match ctx.lang {
        Lang::It => ("Questionario chiuso", "Questo questionario non accetta più risposte. Grazie comunque!"),
        Lang::En => ("Questionnaire closed", "This questionnaire takes no more answers. Thank you all the same!"),
    };
    ctx.page(StatusCode::CONFLICT, &kiosk_message(ctx, tenant, h, t, None))
}

fn kiosk_form(
    ctx: &Ctx,
    tenant: &ricevo_store::Tenant,
    q: &StoredQuestionnaire,
    place: &str,
    survey: SurveyView,
) -> KioskPage {
    KioskPage {
        l: ctx.layout(q.title.clone(), Vec::new(), Some(tenant), true),
        t: ctx.t,
        title: q.title.clone(),
        place: place.to_owned(),
        action: kiosk_path(&tenant.slug, q.id),
        csrf: ctx.csrf.clone(),
        submit: match ctx.lang {
            Lang::It => "Invia le risposte",
            Lang::En => "Send the answers",
        },
        survey: survey.big(),
    }
}

/// The kiosk pass this device holds for questionnaire `id`, if it is a live one of this town.
async fn held_pass(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    tenant: &ricevo_store::Tenant,
    id: QuestionnaireId,
) -> Option<(ricevo_store::KioskPass, StoredQuestionnaire)> {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .filter(|(k, _)| *k == KIOSK_COOKIE)
        .map(|(_, v)| v.to_owned())
        .collect::<Vec<_>>();
    for t in token {
        if let Ok(found) = state.desk.kiosk(tenant, id, &t).await {
            return Some(found);
        }
    }
    None
}

/// `GET /{tenant}/staff/surveys/{id}/kiosk`: the kiosk on a device holding its pass; for a
/// signed-in staff member without one, the page that starts it.
pub(crate) async fn kiosk(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
    Query(query): Query<PlaceQuery>,
    headers: axum::http::HeaderMap,
    staff: Result<Staff, PageError>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let tenant = crate::request::tenant(&state, &slug, lang).await.map_err(|e| PageError::api(e, lang))?;
    ctx.in_town(&tenant);
    let id = qid(&id, lang)?;
    if let Some((pass, q)) = held_pass(&state, &headers, &tenant, id).await {
        if q.status != SurveyStatus::Open {
            return Ok(closed_page(&ctx, &tenant));
        }
        let survey = SurveyView::new(&q.definition, lang);
        return Ok(ctx.form_page(StatusCode::OK, &kiosk_form(&ctx, &tenant, &q, &pass.place, survey)));
    }
    let staff = staff?;
    setup_page(&state, &staff, id, query.place.unwrap_or_default(), None, StatusCode::OK).await
}

async fn setup_page(
    state: &AppState,
    staff: &Staff,
    id: QuestionnaireId,
    place: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let q = state.store.questionnaire(staff.tenant.id, id).await.map_err(|e| staff.err(e.into()))?;
    let Some(q) = q.filter(|q| ricevo_desk::surveys::may_run_kiosk(&staff.grant(), q)) else {
        return Err(staff.not_found());
    };
    let places = state
        .store
        .offices(staff.tenant.id)
        .await
        .map_err(|e| staff.err(e.into()))?
        .into_iter()
        .map(|o| o.name)
        .collect();
    let page = KioskSetup {
        p: staff.page(&format!("{}: {}", staff.t("Postazione", "Kiosk"), q.title)),
        action: format!("{}/start", kiosk_path(&staff.tenant.slug, id)),
        place,
        places,
        error,
        days: KIOSK_DAYS,
    };
    Ok(render(status, &page))
}

fn cookie(name: &str, value: &str, path: &str, max_age: i64, same_site: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let v = format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// `POST /{tenant}/staff/surveys/{id}/kiosk/start`: starts the kiosk at the place given, gives
/// this device its pass and ends the staff session here.
pub(crate) async fn start_kiosk(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    posted: Posted,
) -> Result<Response, PageError> {
    let Posted { staff, form } = posted;
    let id = qid(&id, staff.lang)?;
    let place = form.get("place").to_owned();
    let (token, _) = match state.desk.start_kiosk(&staff.tenant, &staff.grant(), id, &place, staff.lang).await {
        Ok(x) => x,
        Err(DeskError::Invalid(m)) => {
            return setup_page(&state, &staff, id, place, Some(m), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Err(e) => return Err(desk_err(&staff, e)),
    };
    // The tablet keeps the pass, not the session: nobody at the counter reaches a staff page.
    state.store.delete_session(&staff.session_hash).await.map_err(|e| staff.err(e.into()))?;
    let path = kiosk_path(&staff.tenant.slug, id);
    let secure = state.config.secure_cookies;
    let mut resp = see_other(&path);
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, cookie(KIOSK_COOKIE, &token, &path, KIOSK_DAYS * 86_400, "Strict", secure));
    h.append(header::SET_COOKIE, cookie(SESSION_COOKIE, "", "/", 0, "Lax", secure));
    Ok(resp)
}

/// `POST /{tenant}/staff/surveys/{id}/kiosk`: one person's answers at the kiosk.
pub(crate) async fn kiosk_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    posted: Result<axum::extract::Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = ctx.lang;
    let Ok(axum::extract::Form(pairs)) = posted else {
        let detail = match lang {
            Lang::It => "modulo non leggibile",
            Lang::En => "unreadable form",
        };
        return ctx.error(&ApiError::BadRequest(lang, detail.into()), None);
    };
    let tenant = match crate::request::tenant(&state, &slug, lang).await {
        Ok(t) => t,
        Err(e) => return ctx.error(&e, None),
    };
    ctx.in_town(&tenant);
    let Ok(id) = qid(&id, lang) else { return ctx.error(&ApiError::NotFound(lang), None) };
    let path = kiosk_path(&tenant.slug, id);
    let csrf = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
    if !ctx.csrf_ok(csrf) {
        return ctx.csrf_refused(path);
    }
    let Some((pass, q)) = held_pass(&state, &headers, &tenant, id).await else {
        return ctx.error(&ApiError::Forbidden(lang), None);
    };
    if q.status != SurveyStatus::Open {
        return closed_page(&ctx, &tenant);
    }
    let answers = match form::read(&q.definition, &pairs) {
        Ok(a) => a,
        Err(e) => {
            let survey = SurveyView::refill(&q.definition, lang, &pairs, Some(&e));
            return ctx
                .form_page(StatusCode::UNPROCESSABLE_ENTITY, &kiosk_form(&ctx, &tenant, &q, &pass.place, survey));
        }
    };
    match state.desk.answer_questionnaire(&q, SurveyChannel::Kiosk, Some(&pass.place), answers, lang).await {
        Ok(_) => {
            let (h, t, again) = match lang {
                Lang::It => (
                    "Grazie!",
                    "Le tue risposte sono state registrate. Il tuo parere ci aiuterà a migliorare il servizio.",
                    "Nuova risposta",
                ),
                Lang::En => (
                    "Thank you!",
                    "Your answers have been recorded. Your opinion will help us improve the service.",
                    "New response",
                ),
            };
            ctx.page(StatusCode::OK, &kiosk_message(&ctx, &tenant, h, t, Some((RESTART_SECONDS, path, again))))
        }
        Err(DeskError::Invalid(_)) => closed_page(&ctx, &tenant),
        Err(e) => ctx.error(&ApiError::from_desk(lang, e), None),
    }
}
