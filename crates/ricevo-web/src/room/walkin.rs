//! The walk-in virtual desk: a citizen takes a numbered ticket (name, optional e-mail, to which
//! the number and the personal link are sent) and waits in the same waiting room as booked
//! citizens, until an official calls the next one.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use ricevo_core::OfficeId;
use ricevo_desk::DeskError;
use ricevo_store::{Office, Tenant};

use super::texts::{RoomTexts, room_texts};
use crate::error::ApiError;
use crate::error::InLang;
use crate::pages::layout::{CSRF_FIELD, Ctx, Layout};
use crate::request;
use crate::request::ClientKey;
use crate::state::AppState;

/// The routes of the walk-in desk pages.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/{tenant}/walk-in", get(list)).route("/{tenant}/walk-in/{office}", get(list_one).post(take))
}

/// Whether an office's walk-in desk is open now (see `Desk::walk_in_open`).
pub(crate) async fn is_open(state: &AppState, tenant: &Tenant, office: &Office) -> Result<bool, ApiError> {
    state.desk.walk_in_open(tenant, office).await.in_lang(ricevo_core::Lang::It)
}

/// A walk-in desk as the town's page and the desk's page present it.
pub(crate) struct WalkInSummary {
    /// The office.
    pub office: Office,
    /// Its desk's page.
    pub href: String,
    /// Its hours, a line per day ("lunedì 09:00–12:00"); empty when always open.
    pub hours: Vec<String>,
    /// Taking tickets now.
    pub open: bool,
    /// People waiting in the office's waiting room now.
    pub waiting: usize,
}

/// The weekday's name.
fn weekday_name(lang: ricevo_core::Lang, d: jiff::civil::Weekday) -> &'static str {
    use jiff::civil::Weekday as W;
    let i = d.to_monday_zero_offset() as usize;
    let it = ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"];
    let en = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    let _ = W::Monday;
    match lang {
        ricevo_core::Lang::It => it[i],
        ricevo_core::Lang::En => en[i],
    }
}

/// A desk's weekly hours, a line per open day.
fn hours_lines(lang: ricevo_core::Lang, hours: &ricevo_core::hours::OpeningHours) -> Vec<String> {
    let mut lines = Vec::new();
    for i in 0..7i8 {
        let Ok(day) = jiff::civil::Weekday::from_monday_zero_offset(i) else { continue };
        let ranges: Vec<String> = hours
            .ranges_on(day)
            .map(|r| format!("{}–{}", r.start().strftime("%H:%M"), r.end().strftime("%H:%M")))
            .collect();
        if !ranges.is_empty() {
            lines.push(format!("{} {}", weekday_name(lang, day), ranges.join(", ")));
        }
    }
    lines
}

/// The town's walk-in desks (those with hours), with their hours, whether open now and how
/// many people wait.
pub(crate) async fn summaries(state: &AppState, ctx: &Ctx, tenant: &Tenant) -> Result<Vec<WalkInSummary>, ApiError> {
    let mut out = Vec::new();
    for office in state.store.offices(tenant.id).await? {
        let desk = state.store.walk_in(tenant.id, office.id).await?;
        if !desk.always_open && desk.hours.ranges().is_empty() {
            continue;
        }
        let waiting =
            state.store.office_entries(tenant.id, office.id).await?.iter().filter(|e| e.status.is_queued()).count();
        out.push(WalkInSummary {
            href: ctx.href(&format!("/{}/walk-in/{}", tenant.slug, office.id.0)),
            hours: if desk.always_open { Vec::new() } else { hours_lines(ctx.lang, &desk.hours) },
            open: is_open(state, tenant, &office).await?,
            waiting,
            office,
        });
    }
    Ok(out)
}

/// One desk on the page.
struct DeskView {
    id: i64,
    name: String,
    open: bool,
    hours: Vec<String>,
    waiting: String,
    action: String,
    /// The error summary: each line names its field and links to it.
    errors: Vec<(String, String)>,
    name_error: Option<String>,
    email_error: Option<String>,
    name_value: String,
    email_value: String,
}

#[derive(Template)]
#[template(path = "walkin.html", whitespace = "minimize")]
struct WalkInPage {
    l: Layout,
    t: &'static crate::pages::texts::Texts,
    r: &'static RoomTexts,
    desks: Vec<DeskView>,
    csrf: String,
    notice: crate::pages::privacy::Notice,
}

async fn desks(
    state: &AppState,
    ctx: &Ctx,
    tenant: &Tenant,
    only: Option<OfficeId>,
) -> Result<Vec<DeskView>, ApiError> {
    let t = ctx.t;
    Ok(summaries(state, ctx, tenant)
        .await?
        .into_iter()
        .filter(|d| only.is_none_or(|o| o == d.office.id))
        .map(|d| DeskView {
            id: d.office.id.0,
            open: d.open,
            hours: d.hours,
            waiting: t.waiting_now.replace("{n}", &d.waiting.to_string()),
            action: d.href,
            name: d.office.name,
            errors: Vec::new(),
            name_error: None,
            email_error: None,
            name_value: String::new(),
            email_value: String::new(),
        })
        .collect())
}

fn page(ctx: &Ctx, tenant: &Tenant, desks: Vec<DeskView>, status: StatusCode) -> Response {
    let r = room_texts(ctx.lang);
    let crumbs = ctx.crumbs(vec![
        (tenant.name.clone(), Some(ctx.href(&format!("/{}", tenant.slug)))),
        (r.walk_in_title.to_owned(), None),
    ]);
    let page = WalkInPage {
        l: ctx.layout(format!("{} – {}", r.walk_in_title, tenant.name), crumbs, Some(tenant), false),
        t: ctx.t,
        r,
        desks,
        csrf: ctx.csrf.clone(),
        notice: crate::pages::privacy::Notice::of(ctx, tenant),
    };
    ctx.form_page(status, &page)
}

async fn list(State(state): State<AppState>, ctx: Ctx, Path(slug): Path<String>) -> Response {
    let run = async {
        let tenant = request::tenant(&state, &slug, ctx.lang).await?;
        ctx.in_town(&tenant);
        let desks = desks(&state, &ctx, &tenant, None).await?;
        Ok::<_, ApiError>(page(&ctx, &tenant, desks, StatusCode::OK))
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}

async fn list_one(State(state): State<AppState>, ctx: Ctx, Path((slug, office)): Path<(String, String)>) -> Response {
    let run = async {
        let tenant = request::tenant(&state, &slug, ctx.lang).await?;
        ctx.in_town(&tenant);
        let office = office.parse::<i64>().map(OfficeId).map_err(|_| ApiError::NotFound(ctx.lang))?;
        let desks = desks(&state, &ctx, &tenant, Some(office)).await?;
        if desks.is_empty() {
            return Err(ApiError::NotFound(ctx.lang));
        }
        Ok(page(&ctx, &tenant, desks, StatusCode::OK))
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}

async fn take(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, office)): Path<(String, String)>,
    ClientKey(client): ClientKey,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let run = async {
        let tenant = request::tenant(&state, &slug, ctx.lang).await?;
        ctx.in_town(&tenant);
        let office_id = office.parse::<i64>().map(OfficeId).map_err(|_| ApiError::NotFound(ctx.lang))?;
        let office = state.store.office(tenant.id, office_id).await?.ok_or(ApiError::NotFound(ctx.lang))?;
        let fields = form.map(|Form(f)| f).unwrap_or_default();
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        if !ctx.csrf_ok(get(CSRF_FIELD)) {
            return Ok(ctx.csrf_refused(ctx.here()));
        }
        match state.desk.take_ticket(&tenant, &office, get("name").unwrap_or(""), get("email"), &client, ctx.lang).await
        {
            Ok((_, url)) => {
                let path = url.strip_prefix(&state.config.public_url).unwrap_or(&url).to_owned();
                Ok(Redirect::to(&path).into_response())
            }
            Err(DeskError::Fields(errors)) => {
                let mut desks = desks(&state, &ctx, &tenant, Some(office_id)).await?;
                let r = room_texts(ctx.lang);
                let of = |field: &str| {
                    Some(errors.iter().filter(|e| e.field == field).map(|e| e.message).collect::<Vec<_>>().join(" "))
                        .filter(|m| !m.is_empty())
                };
                for d in &mut desks {
                    // Each error names its field and leads to it, in the order of the form.
                    d.name_error = of("name");
                    d.email_error = of("email");
                    let mut lines = Vec::new();
                    if let Some(m) = &d.name_error {
                        lines.push((format!("#name-{}", d.id), format!("{}: {m}", r.name)));
                    }
                    if let Some(m) = &d.email_error {
                        lines.push((format!("#email-{}", d.id), format!("{}: {m}", r.email_optional)));
                    }
                    d.errors = lines;
                    d.name_value = get("name").unwrap_or("").chars().take(120).collect();
                    d.email_value = get("email").unwrap_or("").chars().take(254).collect();
                }
                Ok(page(&ctx, &tenant, desks, StatusCode::UNPROCESSABLE_ENTITY))
            }
            Err(e) => Err(ApiError::from_desk(ctx.lang, e)),
        }
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}
