//! The waitlist's pages: joining a service's list (`/{town}/lista-attesa/servizio/{id}`), the
//! citizen's own page from their link (`/{town}/lista-attesa/{token}`: their place, the slot
//! held for them with the time it is held until, confirm, decline, leave; no script needed),
//! and the staff's view of each service's line with its offers (`/{town}/staff/waitlist`).

use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ricevo_core::citizen::BookingInput;
use ricevo_core::waitlist::OfferState;
use ricevo_core::{Lang, ServiceId};
use ricevo_desk::waitlist::{JoinRequest, ServiceLine};
use ricevo_store::Tenant;

use crate::error::{ApiError, InLang};
use crate::lang::tr;
use crate::pages::layout::{CSRF_FIELD, Ctx, Layout};
use crate::pages::texts::Texts;
use crate::staff::common::{PageError, Staff, render};
use crate::staff::views::Page;
use crate::state::AppState;

type Posted = Result<Form<Vec<(String, String)>>, FormRejection>;

/// The routes of the waitlist pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/lista-attesa/servizio/{service}", get(join_page).post(join))
        .route("/{tenant}/lista-attesa/{token}", get(entry_page))
        .route("/{tenant}/lista-attesa/{token}/conferma", post(confirm))
        .route("/{tenant}/lista-attesa/{token}/rifiuta", post(decline))
        .route("/{tenant}/lista-attesa/{token}/esci", post(leave))
        .route("/{tenant}/staff/waitlist", get(staff_page))
}

/// What the service page's link to the waitlist says: joining when no time is free in the
/// horizon, an earlier time otherwise.
pub(crate) fn invitation(lang: Lang, free: bool) -> &'static str {
    match free {
        false => tr(
            lang,
            "Nessun orario libero: mettiti in lista d'attesa e ti offriamo il primo posto che si libera",
            "No free time: join the waitlist and we offer you the first time that frees up",
        ),
        true => tr(lang, "Vuoi un orario prima? Mettiti in lista d'attesa", "Want an earlier time? Join the waitlist"),
    }
}

const DAYS_IT: [&str; 7] = ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"];
const DAYS_EN: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

fn day_name(lang: Lang, n: i8) -> &'static str {
    let days = if lang == Lang::It { &DAYS_IT } else { &DAYS_EN };
    usize::try_from(n - 1).ok().and_then(|i| days.get(i)).copied().unwrap_or("")
}

/// The join form.
#[derive(Template)]
#[template(path = "waitlist/join.html", whitespace = "minimize")]
struct JoinPage {
    l: Layout,
    t: &'static Texts,
    lang_it: bool,
    service_name: String,
    action: String,
    csrf: String,
    earlier: String,
    days: Vec<(i8, &'static str)>,
}

/// A citizen's own waitlist page.
#[derive(Template)]
#[template(path = "waitlist/entry.html", whitespace = "minimize")]
struct EntryPage {
    l: Layout,
    t: &'static Texts,
    lang_it: bool,
    service_name: String,
    office_name: String,
    status: &'static str,
    waiting: bool,
    ahead: usize,
    days: String,
    hours: String,
    offer: Option<OfferView>,
    base: String,
    csrf: String,
    notice: Option<&'static str>,
}

/// The held slot, as the page shows it.
struct OfferView {
    when: String,
    until: String,
    until_iso: String,
}

/// The staff page of every line.
#[derive(Template)]
#[template(path = "waitlist/staff.html")]
struct StaffPage {
    p: Page,
    lines: Vec<LineView>,
}

struct LineView {
    name: String,
    rows: Vec<RowView>,
}

struct RowView {
    place: usize,
    name: String,
    joined: String,
    wants: String,
    offers: Vec<String>,
}

fn town_crumbs(ctx: &Ctx, tenant: &Tenant, title: &str) -> Vec<crate::pages::layout::Crumb> {
    ctx.crumbs(vec![(tenant.name.clone(), Some(ctx.href(&format!("/{}", tenant.slug)))), (title.to_owned(), None)])
}

/// `GET /{town}/lista-attesa/servizio/{id}[?prima=TOKEN]`: the form to join a service's list
/// (`prima`: the citizen's appointment link, for an earlier time than it).
async fn join_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, service)): Path<(String, String)>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let run = async {
        let tenant = state.desk.town(&slug).await.in_lang(ctx.lang)?;
        ctx.in_town(&tenant);
        let service = bookable(&state, &tenant, &service, ctx.lang).await?;
        let earlier = q.iter().find(|(k, _)| k == "prima").map(|(_, v)| v.clone()).unwrap_or_default();
        Ok::<_, ApiError>(render_join(&ctx, &tenant, &service, earlier))
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}

fn render_join(ctx: &Ctx, tenant: &Tenant, service: &ricevo_store::Service, earlier: String) -> Response {
    let title = tr(ctx.lang, "Lista d'attesa", "Waitlist");
    let page = JoinPage {
        l: ctx.layout(format!("{title} – {}", service.name), town_crumbs(ctx, tenant, title), Some(tenant), true),
        t: ctx.t,
        lang_it: ctx.lang == Lang::It,
        service_name: service.name.clone(),
        action: ctx.here(),
        csrf: ctx.csrf.clone(),
        earlier,
        days: (1..=7).map(|d| (d, day_name(ctx.lang, d))).collect(),
    };
    ctx.form_page(StatusCode::OK, &page)
}

async fn bookable(
    state: &AppState,
    tenant: &Tenant,
    service: &str,
    lang: Lang,
) -> Result<ricevo_store::Service, ApiError> {
    let id: i64 = service.parse().map_err(|_| ApiError::ServiceNotFound(lang))?;
    state
        .desk
        .bookable_services(tenant)
        .await
        .in_lang(lang)?
        .into_iter()
        .find(|s| s.id == ServiceId(id))
        .ok_or(ApiError::ServiceNotFound(lang))
}

fn form_of(posted: Posted, lang: Lang) -> Result<Vec<(String, String)>, ApiError> {
    match posted {
        Ok(Form(pairs)) => Ok(pairs),
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::TooLarge(lang)),
        Err(r) => Err(ApiError::BadRequest(lang, r.body_text())),
    }
}

/// `POST /{town}/lista-attesa/servizio/{id}`: joins, then shows the citizen's own page.
async fn join(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, service)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let run = async {
        let tenant = state.desk.town(&slug).await.in_lang(ctx.lang)?;
        ctx.in_town(&tenant);
        let service = bookable(&state, &tenant, &service, ctx.lang).await?;
        let pairs = form_of(posted, ctx.lang)?;
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
        if !ctx.csrf_ok(Some(&get(CSRF_FIELD))) {
            return Ok(ctx.csrf_refused(ctx.here()));
        }
        let mut weekdays = Vec::new();
        for (k, v) in &pairs {
            if k == "day" {
                weekdays.push(v.parse::<i8>().map_err(|_| {
                    ApiError::BadRequest(ctx.lang, tr(ctx.lang, "Giorno non valido.", "Not a day.").into())
                })?);
            }
        }
        let ranges = vec![(get("from"), get("to"))];
        let optional = |v: String| (!v.is_empty()).then_some(v);
        let req = JoinRequest {
            service_id: service.id,
            input: BookingInput {
                name: get("name"),
                email: get("email"),
                phone: optional(get("phone")),
                fiscal_code: optional(get("fiscal_code")),
                mode: service.rules.modes().first().map(|m| m.as_str().to_owned()).unwrap_or_default(),
                notes: None,
                answers: Default::default(),
                privacy_accepted: get("privacy") == "yes",
                lang: ctx.lang,
            },
            weekdays,
            ranges,
            earlier_than_token: optional(get("prima")),
        };
        let (_, token) = state.desk.join_waitlist(&tenant, req, ctx.lang).await.in_lang(ctx.lang)?;
        Ok::<_, ApiError>(Redirect::to(&ctx.href(&format!("/{}/lista-attesa/{token}", tenant.slug))).into_response())
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}

/// `GET /{town}/lista-attesa/{token}`: the citizen's place, and the slot held for them.
async fn entry_page(State(state): State<AppState>, ctx: Ctx, Path((slug, token)): Path<(String, String)>) -> Response {
    let run = async {
        let tenant = state.desk.town(&slug).await.in_lang(ctx.lang)?;
        ctx.in_town(&tenant);
        render_entry(&state, &ctx, &tenant, &token, None).await
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}

async fn render_entry(
    state: &AppState,
    ctx: &Ctx,
    tenant: &Tenant,
    token: &str,
    notice: Option<&'static str>,
) -> Result<Response, ApiError> {
    let lang = ctx.lang;
    let view = state.desk.waitlist_by_token(tenant, token).await.in_lang(lang)?;
    let zone = ricevo_desk::town::zone_of(tenant);
    let title = tr(lang, "La tua lista d'attesa", "Your waitlist");
    let e = &view.entry;
    let waiting = e.status == ricevo_core::waitlist::EntryState::Waiting;
    let status = match e.status {
        ricevo_core::waitlist::EntryState::Waiting => tr(lang, "in lista d'attesa", "on the waitlist"),
        ricevo_core::waitlist::EntryState::Served => tr(lang, "appuntamento preso", "appointment taken"),
        ricevo_core::waitlist::EntryState::Left => tr(lang, "uscito dalla lista", "left the list"),
    };
    let days = e.preferences.weekdays.numbers().into_iter().map(|d| day_name(lang, d)).collect::<Vec<_>>().join(", ");
    let hours = if e.preferences.ranges.is_empty() {
        tr(lang, "a qualsiasi ora di apertura", "any opening hour").to_owned()
    } else {
        e.preferences.ranges.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ")
    };
    let offer = view.offer.as_ref().map(|o| OfferView {
        when: ricevo_notify::human_datetime(lang, &o.start.to_zoned(zone.clone())),
        until: o.expires_at.to_zoned(zone.clone()).strftime("%H:%M").to_string(),
        until_iso: o.expires_at.to_string(),
    });
    let page = EntryPage {
        l: ctx.layout(format!("{title} – {}", view.service.name), town_crumbs(ctx, tenant, title), Some(tenant), true),
        t: ctx.t,
        lang_it: lang == Lang::It,
        service_name: view.service.name.clone(),
        office_name: view.office_name.clone(),
        status,
        waiting,
        ahead: view.ahead,
        days,
        hours,
        offer,
        base: ctx.href(&format!("/{}/lista-attesa/{token}", tenant.slug)),
        csrf: ctx.csrf.clone(),
        notice,
    };
    Ok(ctx.form_page(StatusCode::OK, &page))
}

// Runs one of the citizen's answers (confirm, decline, leave) after the form's CSRF check.
async fn answer(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
    token: &str,
    posted: Posted,
) -> Result<Result<Tenant, Response>, ApiError> {
    let tenant = state.desk.town(slug).await.in_lang(ctx.lang)?;
    ctx.in_town(&tenant);
    let pairs = form_of(posted, ctx.lang)?;
    let csrf = pairs.iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.as_str());
    if !ctx.csrf_ok(csrf) {
        return Ok(Err(ctx.csrf_refused(ctx.href(&format!("/{slug}/lista-attesa/{token}")))));
    }
    Ok(Ok(tenant))
}

/// `POST …/conferma`: takes the held slot; on to the appointment's own page.
async fn confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, token)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let run = async {
        let tenant = match answer(&state, &ctx, &slug, &token, posted).await? {
            Ok(t) => t,
            Err(page) => return Ok(page),
        };
        let (receipt, _) = state.desk.confirm_offer(&tenant, &token).await.in_lang(ctx.lang)?;
        Ok::<_, ApiError>(Redirect::to(&receipt.manage_url).into_response())
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}

/// `POST …/rifiuta`: leaves the held slot to the next in line, staying on the list.
async fn decline(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, token)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let run = async {
        let tenant = match answer(&state, &ctx, &slug, &token, posted).await? {
            Ok(t) => t,
            Err(page) => return Ok(page),
        };
        state.desk.decline_offer(&tenant, &token).await.in_lang(ctx.lang)?;
        let said = tr(
            ctx.lang,
            "Hai lasciato il posto a chi viene dopo. Resti in lista.",
            "You left the time to the next in line. You stay on the list.",
        );
        render_entry(&state, &ctx, &tenant, &token, Some(said)).await
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}

/// `POST …/esci`: leaves the list.
async fn leave(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, token)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let run = async {
        let tenant = match answer(&state, &ctx, &slug, &token, posted).await? {
            Ok(t) => t,
            Err(page) => return Ok(page),
        };
        state.desk.leave_waitlist(&tenant, &token).await.in_lang(ctx.lang)?;
        let said = tr(ctx.lang, "Sei uscito dalla lista d'attesa.", "You have left the waitlist.");
        render_entry(&state, &ctx, &tenant, &token, Some(said)).await
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}

/// `GET /{town}/staff/waitlist`: each service's line in order, with the offers made.
async fn staff_page(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    let lang = staff.lang;
    let lines: Vec<ServiceLine> =
        state.desk.waitlists_for_staff(&staff.tenant, &staff.grant()).await.in_lang(lang).map_err(|e| staff.err(e))?;
    let zone = ricevo_desk::town::zone_of(&staff.tenant);
    let at = |t: jiff::Timestamp| t.to_zoned(zone.clone()).strftime("%d/%m/%Y %H:%M").to_string();
    let lines = lines
        .into_iter()
        .map(|l| LineView {
            name: l.service_name,
            rows: l
                .waiting
                .into_iter()
                .map(|e| RowView {
                    place: e.place,
                    name: e.citizen_name,
                    joined: at(e.joined_at),
                    wants: format!(
                        "{}; {}",
                        e.weekdays.iter().map(|d| day_name(lang, *d)).collect::<Vec<_>>().join(", "),
                        if e.ranges.is_empty() {
                            tr(lang, "ogni ora", "any hour").to_owned()
                        } else {
                            e.ranges.join(", ")
                        }
                    ),
                    offers: e
                        .offers
                        .iter()
                        .map(|(start, state, until)| match state {
                            OfferState::Offered => format!(
                                "{}: {} ({} {})",
                                at(*start),
                                state.label(lang),
                                tr(lang, "fino alle", "until"),
                                at(*until)
                            ),
                            _ => format!("{}: {}", at(*start), state.label(lang)),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let page = StaffPage { p: staff.page(staff.t("Liste d'attesa", "Waitlists")), lines };
    Ok(render(StatusCode::OK, &page))
}
