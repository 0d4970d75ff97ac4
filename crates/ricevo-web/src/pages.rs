//! The citizen pages: towns, services, the slot picker, the booking form and the page a
//! citizen's link opens to view, cancel or move an appointment.
//!
//! Server-rendered HTML that works without JavaScript, in Italian or English (`?lang=`, the
//! `lang` cookie, `Accept-Language`). `?embed=1` shows a page inside a town's iframe.
//! Booking itself is decided by the desk (`ricevo_desk::booking`); handlers here parse, call it
//! and render.

pub(crate) mod form;
pub(crate) mod layout;
mod picker;
pub(crate) mod privacy;
pub(crate) mod texts;

use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequestParts, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use jiff::Timestamp;
use ricevo_core::slots::Slot;
use ricevo_core::{Lang, Mode, ServiceId};
use ricevo_notify::ics::{self, Method};
use ricevo_store::{Appointment, AppointmentStatus, Office, Service, Tenant};
use serde::Deserialize;

use self::form::{Fields, Opt, Question, SummaryLine, Values};
use self::layout::{CSRF_FIELD, Ctx, Layout};
use self::picker::{Picker, Purpose};
use self::texts::Texts;
use crate::error::refusal_message;
use crate::error::{ApiError, InLang};
use crate::request::ClientKey;
use crate::request::{self, parse_instant};
use crate::state::AppState;
use ricevo_desk::DeskError;
use ricevo_desk::booking::{BookingRequest, BookingResult};
use ricevo_desk::messages::notice;
use ricevo_desk::town::zone_of;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/{tenant}", get(town))
        .route("/{tenant}/services/{service}", get(service_page))
        .route("/{tenant}/services/{service}/book", get(book_form).post(book_submit))
        .route("/a/{token}", get(manage))
        .route("/a/{token}/invite.ics", get(invite))
        .route("/a/{token}/cancel", get(cancel_confirm).post(cancel_submit))
        .route("/a/{token}/move", get(move_picker).post(move_submit))
        .merge(privacy::routes())
}

/// A friendly 404 page in the request's language, for the router's fallback outside `/api/`.
pub async fn not_found(State(state): State<AppState>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let Ok(ctx) = Ctx::from_request_parts(&mut parts, &state).await;
    ctx.error(&ApiError::NotFound(ctx.lang), None)
}

/// The query of pages with a slot picker or a chosen time.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PageQuery {
    /// First day of the picker, `YYYY-MM-DD`.
    from: Option<String>,
    /// The chosen start, RFC 3339.
    start: Option<String>,
    /// Just booked (the manage page's banner).
    booked: Option<String>,
    /// Just moved (the manage page's banner).
    moved: Option<String>,
}

/// A posted form, as name/value pairs.
type Posted = Result<Form<Vec<(String, String)>>, FormRejection>;

/// A link with its label.
struct Link {
    /// What it says.
    label: String,
    /// Where it leads.
    href: String,
}

/// Renders a handler's result, or its error as a page.
fn answer(ctx: &Ctx, result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(|e| ctx.error(&e, None))
}

fn service_id(raw: &str, lang: Lang) -> Result<ServiceId, ApiError> {
    raw.parse::<i64>().map(ServiceId).map_err(|_| ApiError::not_found_service(lang))
}

/// The `<title>`: the page, then the town.
fn title(page: &str, tenant: &Tenant) -> String {
    format!("{page} – {}", tenant.name)
}

/// A local date and time as the citizen pages say it ("lunedì 7 dicembre 2026, 09:30").
pub(crate) fn when_text(lang: Lang, z: &jiff::Zoned) -> String {
    texts::when(lang, z)
}

/// Paths of the citizen pages.
fn town_path(t: &Tenant) -> String {
    format!("/{}", t.slug)
}

fn service_path(t: &Tenant, service: ServiceId) -> String {
    format!("/{}/services/{}", t.slug, service.0)
}

fn book_path(t: &Tenant, service: ServiceId) -> String {
    format!("{}/book", service_path(t, service))
}

fn manage_path(token: &str) -> String {
    format!("/a/{token}")
}

/// The address to show: only where the citizen goes in person.
fn address_for(office: &Office, in_person: bool) -> Option<String> {
    (in_person && !office.address.trim().is_empty()).then(|| office.address.clone())
}

/// The list of towns.
#[derive(Template)]
#[template(path = "index.html", whitespace = "minimize")]
struct IndexPage {
    l: Layout,
    t: &'static Texts,
    towns: Vec<Link>,
}

async fn index(State(state): State<AppState>, ctx: Ctx) -> Response {
    let result = async {
        let towns = state
            .store
            .tenants()
            .await?
            .into_iter()
            .map(|t| Link { href: ctx.href(&town_path(&t)), label: t.name })
            .collect();
        let page = IndexPage { l: ctx.layout(ctx.t.index_title.to_owned(), Vec::new(), None, false), t: ctx.t, towns };
        Ok(ctx.page(StatusCode::OK, &page))
    };
    answer(&ctx, result.await)
}

/// A service in the town's list.
struct ServiceLink {
    name: String,
    href: String,
    /// "20 minuti · Videochiamata, Telefonata".
    meta: String,
}

/// An office with its services.
struct OfficeView {
    name: String,
    description: String,
    services: Vec<ServiceLink>,
}

/// A town: its offices and their services.
#[derive(Template)]
#[template(path = "town.html", whitespace = "minimize")]
struct TownPage {
    l: Layout,
    t: &'static Texts,
    name: String,
    offices: Vec<OfficeView>,
}

async fn town(State(state): State<AppState>, ctx: Ctx, Path(slug): Path<String>) -> Response {
    let result = async {
        let t = request::tenant(&state, &slug, ctx.lang).await?;
        let services: Vec<Service> = state.desk.bookable_services(&t).await.in_lang(ctx.lang)?;
        let offices = state
            .store
            .offices(t.id)
            .await?
            .into_iter()
            .map(|o| OfficeView {
                services: services
                    .iter()
                    .filter(|s| s.office_id == o.id)
                    .map(|s| ServiceLink {
                        name: s.name.clone(),
                        href: ctx.href(&service_path(&t, s.id)),
                        meta: format!(
                            "{} · {}",
                            texts::minutes(ctx.lang, s.rules.duration_minutes()),
                            texts::mode_list(ctx.lang, s.rules.modes())
                        ),
                    })
                    .collect(),
                name: o.name,
                description: o.description,
            })
            .filter(|o| !o.services.is_empty())
            .collect();
        let crumbs = ctx.crumbs(vec![(t.name.clone(), None)]);
        let page = TownPage { l: ctx.layout(t.name.clone(), crumbs, Some(&t), false), t: ctx.t, name: t.name, offices };
        Ok(ctx.page(StatusCode::OK, &page))
    };
    answer(&ctx, result.await)
}

/// A service: what it is, and its free times.
#[derive(Template)]
#[template(path = "service.html", whitespace = "minimize")]
struct ServicePage {
    l: Layout,
    t: &'static Texts,
    name: String,
    description: String,
    what_to_bring: String,
    office: String,
    address: Option<String>,
    duration: String,
    modes: String,
    picker: Picker,
}

async fn service_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Response {
    let result = async {
        let t = request::tenant(&state, &slug, ctx.lang).await?;
        let (service, office) =
            state.desk.service_and_office(&t, service_id(&id, ctx.lang)?).await.in_lang(ctx.lang)?;
        let here = service_path(&t, service.id);
        let picker = picker::build(
            &ctx,
            &state,
            &t,
            &service,
            &office,
            q.from.as_deref(),
            state.now(),
            &here,
            Purpose::Book(&book_path(&t, service.id)),
        )
        .await?;
        let crumbs = ctx.crumbs(vec![(t.name.clone(), Some(ctx.href(&town_path(&t)))), (service.name.clone(), None)]);
        let page = ServicePage {
            l: ctx.layout(title(&service.name, &t), crumbs, Some(&t), false),
            t: ctx.t,
            address: address_for(&office, service.rules.offers(Mode::InPerson)),
            duration: texts::minutes(ctx.lang, service.rules.duration_minutes()),
            modes: texts::mode_list(ctx.lang, service.rules.modes()),
            name: service.name,
            description: service.description,
            what_to_bring: service.what_to_bring,
            office: office.name,
            picker,
        };
        Ok(ctx.page(StatusCode::OK, &page))
    };
    answer(&ctx, result.await)
}

/// The booking form, empty or filled again with errors or a refused time.
#[derive(Template)]
#[template(path = "book.html", whitespace = "minimize")]
struct BookPage {
    l: Layout,
    t: &'static Texts,
    service_name: String,
    office_name: String,
    when: String,
    duration: String,
    back_href: String,
    action: String,
    csrf: String,
    start: String,
    fields: Fields,
    summary: Vec<SummaryLine>,
    unavailable: Option<String>,
    alternatives: Vec<Opt>,
    notice: privacy::Notice,
}

/// Free times offered instead of a refused one.
fn alternatives(ctx: &Ctx, slots: &[Slot]) -> Vec<Opt> {
    slots
        .iter()
        .enumerate()
        .map(|(i, s)| Opt {
            id: format!("f-start-{i}"),
            value: ricevo_desk::town::rfc3339(&s.start),
            label: texts::when(ctx.lang, &s.start),
            checked: false,
        })
        .collect()
}

/// What a re-rendered booking form shows besides the values.
#[derive(Default)]
struct Outcome {
    errors: Vec<ricevo_core::citizen::FieldError>,
    unavailable: Option<String>,
    alternatives: Vec<Slot>,
}

/// Renders the booking form for `start`.
fn book_page(
    ctx: &Ctx,
    t: &Tenant,
    service: &Service,
    office: &Office,
    start: Timestamp,
    values: &Values,
    outcome: &Outcome,
) -> BookPage {
    let at = start.to_zoned(zone_of(t));
    let crumbs = ctx.crumbs(vec![
        (t.name.clone(), Some(ctx.href(&town_path(t)))),
        (service.name.clone(), Some(ctx.href(&service_path(t, service.id)))),
        (ctx.t.form_title.to_owned(), None),
    ]);
    let mut page_title = title(ctx.t.form_title, t);
    if !outcome.errors.is_empty() || outcome.unavailable.is_some() {
        page_title = format!("{}{page_title}", ctx.t.error_prefix);
    }
    BookPage {
        l: ctx.layout(page_title, crumbs, Some(t), false),
        t: ctx.t,
        service_name: service.name.clone(),
        office_name: office.name.clone(),
        when: texts::when(ctx.lang, &at),
        duration: texts::minutes(ctx.lang, service.rules.duration_minutes()),
        back_href: format!("{}#times", ctx.href(&service_path(t, service.id))),
        action: ctx.here(),
        csrf: ctx.csrf.clone(),
        start: ricevo_desk::town::rfc3339(&at),
        fields: form::fields(service, values, &outcome.errors, ctx.lang),
        summary: form::summary(&outcome.errors, ctx.t, &service.questions),
        unavailable: outcome.unavailable.clone(),
        alternatives: alternatives(ctx, &outcome.alternatives),
        notice: privacy::Notice::of(ctx, t),
    }
}

/// The 400 page for a time that cannot be read, leading back to the picker at `picker`.
fn bad_start(ctx: &Ctx, picker: String) -> Response {
    let back = Some((ctx.t.back_to_times, picker));
    ctx.problem(StatusCode::BAD_REQUEST, texts::error_title(ctx.lang, 400), ctx.t.bad_start.to_owned(), back)
}

async fn book_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Response {
    let result = async {
        let t = request::tenant(&state, &slug, ctx.lang).await?;
        let (service, office) =
            state.desk.service_and_office(&t, service_id(&id, ctx.lang)?).await.in_lang(ctx.lang)?;
        let Some(start) = q.start.as_deref().and_then(parse_instant) else {
            return Ok(bad_start(&ctx, ctx.href(&service_path(&t, service.id))));
        };
        let page = book_page(&ctx, &t, &service, &office, start, &Values::default(), &Outcome::default());
        Ok(ctx.form_page(StatusCode::OK, &page))
    };
    answer(&ctx, result.await)
}

async fn book_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    ClientKey(client): ClientKey,
    posted: Posted,
) -> Response {
    let result = async {
        let t = request::tenant(&state, &slug, ctx.lang).await?;
        let (service, office) =
            state.desk.service_and_office(&t, service_id(&id, ctx.lang)?).await.in_lang(ctx.lang)?;
        let Ok(Form(pairs)) = posted else {
            return Ok(ctx.problem(
                StatusCode::BAD_REQUEST,
                texts::error_title(ctx.lang, 400),
                ctx.t.bad_form.to_owned(),
                Some((ctx.t.csrf_retry, ctx.here())),
            ));
        };
        let values = Values::new(pairs);
        if !ctx.csrf_ok(values.get(CSRF_FIELD)) {
            return Ok(ctx.csrf_refused(ctx.here()));
        }
        // A time chosen among the alternatives comes in the form; the first choice in the URL.
        let Some(start) = values.get("start").or(q.start.as_deref()).and_then(parse_instant) else {
            return Ok(bad_start(&ctx, ctx.href(&service_path(&t, service.id))));
        };
        let req = BookingRequest {
            service_id: service.id,
            start,
            input: values.input(ctx.lang),
            idempotency: None,
            source: client,
        };
        let outcome = match state.desk.book(&t, req, ctx.lang).await {
            Ok(BookingResult::Booked { token, .. }) => {
                return Ok(Redirect::to(&ctx.href(&format!("{}?booked=1", manage_path(&token)))).into_response());
            }
            // Only API requests carry an idempotency key; a replay cannot come from this form.
            Ok(BookingResult::Replay(_)) => return Err(ApiError::Conflict(ctx.lang)),
            Err(DeskError::Fields(errors)) => Outcome { errors, ..Outcome::default() },
            Err(DeskError::Unavailable { reason, alternatives }) => Outcome {
                unavailable: Some(refusal_message(reason, ctx.lang).to_owned()),
                alternatives,
                ..Outcome::default()
            },
            // The form comes back with what the citizen typed and why it cannot be booked.
            Err(e @ (DeskError::CitizenLimit(_) | DeskError::BudgetSpent { .. })) => {
                let e = ApiError::from_desk(ctx.lang, e);
                let page = book_page(
                    &ctx,
                    &t,
                    &service,
                    &office,
                    start,
                    &values,
                    &Outcome { unavailable: Some(e.message()), ..Outcome::default() },
                );
                let mut resp = ctx.form_page(e.status(), &page);
                if let ApiError::TooManyBookings(_, secs) = e {
                    resp.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
                }
                return Ok(resp);
            }
            Err(e) => return Err(ApiError::from_desk(ctx.lang, e)),
        };
        let status = if outcome.errors.is_empty() { StatusCode::CONFLICT } else { StatusCode::UNPROCESSABLE_ENTITY };
        let page = book_page(&ctx, &t, &service, &office, start, &values, &outcome);
        Ok(ctx.form_page(status, &page))
    };
    answer(&ctx, result.await)
}

/// An appointment with everything its pages show.
struct Opened {
    token: String,
    tenant: Tenant,
    appointment: Appointment,
    service: Service,
    office: Office,
}

impl Opened {
    /// Opens the appointment of a citizen's link (404 for anything else). The service and
    /// office are read even when no longer bookable: the appointment still shows them.
    async fn load(state: &AppState, token: String, lang: Lang) -> Result<Opened, ApiError> {
        let (tenant, appointment) = request::by_token(state, &token, lang).await?;
        let service = state.store.service(tenant.id, appointment.service_id).await?.ok_or(ApiError::NotFound(lang))?;
        let office = state.store.office(tenant.id, appointment.office_id).await?.ok_or(ApiError::NotFound(lang))?;
        Ok(Opened { token, tenant, appointment, service, office })
    }

    fn when(&self, lang: Lang) -> String {
        texts::when(lang, &self.appointment.start.to_zoned(zone_of(&self.tenant)))
    }

    /// The breadcrumbs of the appointment's pages, ending with `last` (if not the appointment).
    fn crumbs(&self, ctx: &Ctx, last: Option<&str>) -> Vec<layout::Crumb> {
        let manage = (ctx.t.manage_title.to_owned(), last.map(|_| ctx.href(&manage_path(&self.token))));
        let mut steps = vec![(self.tenant.name.clone(), Some(ctx.href(&town_path(&self.tenant)))), manage];
        steps.extend(last.map(|l| (l.to_owned(), None)));
        ctx.crumbs(steps)
    }

    /// The 409 page for an appointment already cancelled or over.
    fn not_active(&self, ctx: &Ctx) -> Response {
        ctx.error(
            &ApiError::NotActive(ctx.lang),
            Some((ctx.t.back_to_appointment, ctx.href(&manage_path(&self.token)))),
        )
    }
}

/// The banner on top of the manage page.
struct Banner {
    title: &'static str,
    text: &'static str,
}

/// The page a citizen's link opens.
#[derive(Template)]
#[template(path = "manage.html", whitespace = "minimize")]
struct ManagePage {
    l: Layout,
    t: &'static Texts,
    banner: Option<Banner>,
    service_name: String,
    office_name: String,
    address: Option<String>,
    when: String,
    duration: String,
    mode: &'static str,
    status: &'static str,
    citizen: String,
    reference: String,
    /// For a citizen who gave no e-mail, just after booking: the personal link to keep (its
    /// full address as text, followed as a link within this site).
    keep_link: Option<String>,
    keep_href: String,
    active: bool,
    join_href: Option<String>,
    mode_hint: Option<&'static str>,
    ics_href: String,
    move_href: String,
    cancel_href: String,
    book_again_href: String,
}

async fn manage(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let result = async {
        let o = Opened::load(&state, token, ctx.lang).await?;
        let a = &o.appointment;
        let active = a.status.is_active();
        // Without an e-mail nothing reaches the citizen: this page is where they get the code
        // and their link, so it says what to keep.
        let no_email = a.citizen_email.trim().is_empty();
        let keep_link = (q.booked.is_some() && active && no_email).then(|| state.desk.links(&o.token, a.mode).manage);
        let banner = match (q.booked.is_some(), q.moved.is_some()) {
            (true, _) if active && no_email => {
                Some(Banner { title: ctx.t.booked_title, text: ctx.t.booked_no_email_text })
            }
            (true, _) if active => Some(Banner { title: ctx.t.booked_title, text: ctx.t.booked_text }),
            (_, true) if active => Some(Banner { title: ctx.t.moved_title, text: ctx.t.moved_text }),
            _ => None,
        };
        let path = manage_path(&o.token);
        let page = ManagePage {
            l: ctx.layout(title(ctx.t.manage_title, &o.tenant), o.crumbs(&ctx, None), Some(&o.tenant), true),
            t: ctx.t,
            banner,
            service_name: o.service.name.clone(),
            office_name: o.office.name.clone(),
            address: address_for(&o.office, a.mode == Mode::InPerson),
            when: o.when(ctx.lang),
            duration: texts::minutes(ctx.lang, o.service.rules.duration_minutes()),
            mode: texts::mode_name(ctx.lang, a.mode),
            status: texts::status_name(ctx.lang, a.status),
            citizen: a.citizen_name.clone(),
            reference: a.public_id.clone(),
            keep_link,
            keep_href: ctx.href(&manage_path(&o.token)),
            active,
            join_href: (a.mode == Mode::Video).then(|| ctx.href(&format!("{path}/join"))),
            mode_hint: (a.mode == Mode::Phone).then_some(ctx.t.phone_meeting_hint),
            ics_href: format!("{path}/invite.ics"),
            move_href: ctx.href(&format!("{path}/move")),
            cancel_href: ctx.href(&format!("{path}/cancel")),
            book_again_href: ctx.href(&service_path(&o.tenant, o.service.id)),
        };
        Ok(ctx.page(StatusCode::OK, &page))
    };
    answer(&ctx, result.await)
}

async fn invite(State(state): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> Response {
    let result = async {
        let o = Opened::load(&state, token, ctx.lang).await?;
        let a = &o.appointment;
        let links = state.desk.links(&o.token, a.mode);
        let notice = notice(&o.tenant, &o.office, &o.service, a, &links);
        let method = if a.status == AppointmentStatus::Cancelled { Method::Cancel } else { Method::Request };
        let body = ics::invite(&notice, method, state.now());
        let content_type = format!("text/calendar; charset=utf-8; method={}", method.as_str());
        let mut resp = body.into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&content_type).map_err(|e| ApiError::Internal(e.to_string()))?,
        );
        h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"appuntamento.ics\""));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(resp)
    };
    answer(&ctx, result.await)
}

/// Cancelling: the confirmation, then the result.
#[derive(Template)]
#[template(path = "cancel.html", whitespace = "minimize")]
struct CancelPage {
    l: Layout,
    t: &'static Texts,
    done: bool,
    service_name: String,
    when: String,
    action: String,
    csrf: String,
    back_href: String,
    book_again_href: String,
}

fn cancel_page(ctx: &Ctx, o: &Opened, done: bool) -> CancelPage {
    let heading = if done { ctx.t.cancelled_title } else { ctx.t.cancel_link };
    CancelPage {
        l: ctx.layout(title(heading, &o.tenant), o.crumbs(ctx, Some(heading)), Some(&o.tenant), true),
        t: ctx.t,
        done,
        service_name: o.service.name.clone(),
        when: o.when(ctx.lang),
        action: ctx.href(&format!("{}/cancel", manage_path(&o.token))),
        csrf: ctx.csrf.clone(),
        back_href: ctx.href(&manage_path(&o.token)),
        book_again_href: ctx.href(&service_path(&o.tenant, o.service.id)),
    }
}

async fn cancel_confirm(State(state): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> Response {
    let result = async {
        let o = Opened::load(&state, token, ctx.lang).await?;
        if !o.appointment.status.is_active() {
            return Ok(o.not_active(&ctx));
        }
        // Never cancels here: mail scanners follow links.
        Ok(ctx.form_page(StatusCode::OK, &cancel_page(&ctx, &o, false)))
    };
    answer(&ctx, result.await)
}

async fn cancel_submit(State(state): State<AppState>, ctx: Ctx, Path(token): Path<String>, posted: Posted) -> Response {
    let result = async {
        let o = Opened::load(&state, token, ctx.lang).await?;
        let csrf = posted.as_ref().ok().and_then(|Form(p)| p.iter().find(|(k, _)| k == CSRF_FIELD)).map(|(_, v)| v);
        if !ctx.csrf_ok(csrf.map(String::as_str)) {
            return Ok(ctx.csrf_refused(ctx.href(&format!("{}/cancel", manage_path(&o.token)))));
        }
        if !o.appointment.status.is_active() {
            return Ok(o.not_active(&ctx));
        }
        let cancelled = state.desk.cancel(&o.tenant, &o.appointment).await.in_lang(ctx.lang)?;
        let o = Opened { appointment: cancelled, ..o };
        Ok(ctx.page(StatusCode::OK, &cancel_page(&ctx, &o, true)))
    };
    answer(&ctx, result.await)
}

/// Moving: the picker of the same service, its times as buttons of one form.
#[derive(Template)]
#[template(path = "move.html", whitespace = "minimize")]
struct MovePage {
    l: Layout,
    t: &'static Texts,
    service_name: String,
    current: String,
    action: String,
    csrf: String,
    back_href: String,
    unavailable: Option<&'static str>,
    alternatives: Vec<Opt>,
    picker: Picker,
}

/// Renders the move page, with a refusal and its alternatives if a move failed.
async fn move_page(
    ctx: &Ctx,
    state: &AppState,
    o: &Opened,
    from: Option<&str>,
    refused: Option<(&'static str, Vec<Slot>)>,
) -> Result<MovePage, ApiError> {
    let (service, office) = state.desk.service_and_office(&o.tenant, o.service.id).await.in_lang(ctx.lang)?;
    let here = format!("{}/move", manage_path(&o.token));
    let picker =
        picker::build(ctx, state, &o.tenant, &service, &office, from, state.now(), &here, Purpose::Move).await?;
    let (unavailable, alternative_slots) = match refused {
        Some((message, slots)) => (Some(message), slots),
        None => (None, Vec::new()),
    };
    let mut page_title = title(ctx.t.move_title, &o.tenant);
    if unavailable.is_some() {
        page_title = format!("{}{page_title}", ctx.t.error_prefix);
    }
    Ok(MovePage {
        l: ctx.layout(page_title, o.crumbs(ctx, Some(ctx.t.move_title)), Some(&o.tenant), true),
        t: ctx.t,
        service_name: service.name,
        current: o.when(ctx.lang),
        action: ctx.href(&here),
        csrf: ctx.csrf.clone(),
        back_href: ctx.href(&manage_path(&o.token)),
        unavailable,
        alternatives: alternatives(ctx, &alternative_slots),
        picker,
    })
}

async fn move_picker(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let result = async {
        let o = Opened::load(&state, token, ctx.lang).await?;
        if !o.appointment.status.is_active() {
            return Ok(o.not_active(&ctx));
        }
        let page = move_page(&ctx, &state, &o, q.from.as_deref(), None).await?;
        Ok(ctx.form_page(StatusCode::OK, &page))
    };
    answer(&ctx, result.await)
}

async fn move_submit(State(state): State<AppState>, ctx: Ctx, Path(token): Path<String>, posted: Posted) -> Response {
    let result = async {
        let o = Opened::load(&state, token, ctx.lang).await?;
        let values = Values::new(posted.map(|Form(p)| p).unwrap_or_default());
        let here = ctx.href(&format!("{}/move", manage_path(&o.token)));
        if !ctx.csrf_ok(values.get(CSRF_FIELD)) {
            return Ok(ctx.csrf_refused(here));
        }
        if !o.appointment.status.is_active() {
            return Ok(o.not_active(&ctx));
        }
        let Some(start) = values.get("start").and_then(parse_instant) else {
            return Ok(bad_start(&ctx, here));
        };
        match state.desk.reschedule(&o.tenant, &o.appointment, Some(&o.token), start).await {
            Ok(_) => Ok(Redirect::to(&ctx.href(&format!("{}?moved=1", manage_path(&o.token)))).into_response()),
            Err(DeskError::Unavailable { reason, alternatives }) => {
                let refused = Some((refusal_message(reason, ctx.lang), alternatives));
                let page = move_page(&ctx, &state, &o, None, refused).await?;
                Ok(ctx.form_page(StatusCode::CONFLICT, &page))
            }
            Err(e) => Err(ApiError::from_desk(ctx.lang, e)),
        }
    };
    answer(&ctx, result.await)
}
