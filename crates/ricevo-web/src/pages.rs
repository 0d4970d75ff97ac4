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
// ---- citizen ----
pub(crate) mod signed_in_form;
// ---- end citizen ----

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
    // An unknown address inside a town keeps the town's header, footer and way home.
    if let Some(t) = ctx.town_of_path(&state).await {
        ctx.in_town(&t);
    }
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
    walk_ins: Vec<WalkInView>,
}

/// A walk-in desk on the town's page.
struct WalkInView {
    name: String,
    href: String,
    hours: Vec<String>,
    open: bool,
    waiting: String,
}

async fn town(State(state): State<AppState>, ctx: Ctx, Path(slug): Path<String>) -> Response {
    let result = async {
        let t = request::tenant(&state, &slug, ctx.lang).await?;
        ctx.in_town(&t);
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
        let walk_ins = crate::room::walkin::summaries(&state, &ctx, &t)
            .await?
            .into_iter()
            .map(|d| WalkInView {
                name: d.office.name,
                href: d.href,
                hours: d.hours,
                open: d.open,
                waiting: ctx.t.waiting_now.replace("{n}", &d.waiting.to_string()),
            })
            .collect();
        let crumbs = ctx.crumbs(vec![(t.name.clone(), None)]);
        let page = TownPage {
            l: ctx.layout(t.name.clone(), crumbs, Some(&t), false),
            t: ctx.t,
            name: t.name,
            offices,
            walk_ins,
        };
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
    steps: Vec<StepView>,
    picker: Picker,
    // ---- waitlist ----
    /// The waitlist's join form, and what the link says (no free time, or an earlier one).
    waitlist: (String, &'static str),
    // ---- end waitlist ----
}

async fn service_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Response {
    let result = async {
        let t = request::tenant(&state, &slug, ctx.lang).await?;
        ctx.in_town(&t);
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
        // ---- waitlist ----
        let waitlist = (
            ctx.href(&format!("/{}/lista-attesa/servizio/{}", t.slug, service.id)),
            crate::waitlist::invitation(ctx.lang, state.desk.free_time_in_horizon(&t, &service, &office).await),
        );
        // ---- end waitlist ----
        let page = ServicePage {
            waitlist,
            l: ctx.layout(title(&service.name, &t), crumbs, Some(&t), false),
            t: ctx.t,
            address: address_for(&office, service.rules.offers(Mode::InPerson)),
            duration: texts::minutes(ctx.lang, service.rules.duration_minutes()),
            modes: texts::mode_list(ctx.lang, service.rules.modes()),
            name: service.name,
            description: service.description,
            what_to_bring: service.what_to_bring,
            office: office.name,
            steps: steps(&ctx, Step::Time, Some(ctx.href(&town_path(&t))), None),
            picker,
        };
        Ok(ctx.page(StatusCode::OK, &page))
    };
    answer(&ctx, result.await)
}

/// The steps of the booking, as the national model of municipal sites has them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Step {
    /// The office (chosen with the service on the town's page).
    Place = 1,
    /// Date and time (the service page's picker).
    Time = 2,
    /// How to meet, the reason (intake questions, notes) and the privacy notice.
    Details = 3,
    /// Who books and how to reach them.
    Applicant = 4,
    /// The review before confirming.
    Summary = 5,
}

impl Step {
    /// The step a posted `step` or `goto` names.
    fn parse(s: &str) -> Option<Step> {
        match s {
            "details" => Some(Step::Details),
            "applicant" => Some(Step::Applicant),
            "confirm" | "summary" => Some(Step::Summary),
            _ => None,
        }
    }

    /// The step a field error belongs to (by the API's field name).
    fn of_error(field: &str) -> Step {
        if field == "mode" || field == "notes" || field == "privacy_accepted" || field.starts_with("answers.") {
            Step::Details
        } else {
            Step::Applicant
        }
    }

    /// Whether a posted field is asked on this step.
    fn asks(self, name: &str) -> bool {
        match self {
            Step::Details => {
                matches!(name, "mode" | "notes" | "privacy_accepted") || name.starts_with(form::ANSWER_PREFIX)
            }
            Step::Applicant => matches!(name, "name" | "email" | "phone" | "fiscal_code" | "email_lang"),
            _ => false,
        }
    }
}

/// One step of the step indicator.
pub(crate) struct StepView {
    /// 1 to 5.
    pub number: u8,
    /// Its name.
    pub label: &'static str,
    /// Already done.
    pub done: bool,
    /// The current one (`aria-current="step"`).
    pub current: bool,
    /// A way back to it, where one keeps what was typed (place and time only).
    pub href: Option<String>,
}

/// The step indicator at `current`; `place` and `time` lead back to the town and service pages.
pub(crate) fn steps(ctx: &Ctx, current: Step, place: Option<String>, time: Option<String>) -> Vec<StepView> {
    let t = ctx.t;
    [
        (Step::Place, t.step_place, place),
        (Step::Time, t.step_time, time),
        (Step::Details, t.step_details, None),
        (Step::Applicant, t.step_applicant, None),
        (Step::Summary, t.step_summary, None),
    ]
    .into_iter()
    .map(|(step, label, href)| StepView {
        number: step as u8,
        label,
        done: step < current,
        current: step == current,
        href: href.filter(|_| step < current),
    })
    .collect()
}

/// A posted value carried on, unseen, to the next step.
struct Hidden {
    name: String,
    value: String,
}

/// One line of the summary.
struct ReviewLine {
    label: String,
    value: String,
}

/// The booking pages after the picker: details, applicant, summary (one template, one step
/// shown at a time, or details and applicant together for a form posted whole).
#[derive(Template)]
#[template(path = "book.html", whitespace = "minimize")]
struct BookPage {
    l: Layout,
    t: &'static Texts,
    steps: Vec<StepView>,
    /// "Passo 3 di 5".
    step_of: String,
    heading: &'static str,
    show_details: bool,
    show_applicant: bool,
    show_summary: bool,
    service_name: String,
    office_name: String,
    address: Option<String>,
    when: String,
    duration: String,
    back_href: String,
    town_href: String,
    action: String,
    csrf: String,
    start: String,
    form_key: String,
    hidden: Vec<Hidden>,
    fields: Fields,
    summary: Vec<SummaryLine>,
    review_details: Vec<ReviewLine>,
    review_applicant: Vec<ReviewLine>,
    unavailable: Option<String>,
    alternatives: Vec<Opt>,
    notice: privacy::Notice,
    // ---- citizen ----
    /// The signed-in citizen's verified details (the codice fiscale read-only).
    verified: Option<signed_in_form::VerifiedView>,
    /// "Compila con SPID o CIE", for a citizen not signed in.
    sign_in: Option<signed_in_form::SignInOffer>,
    // ---- end citizen ----
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

/// What a re-rendered booking page shows besides the values.
#[derive(Default)]
struct Outcome {
    errors: Vec<ricevo_core::citizen::FieldError>,
    unavailable: Option<String>,
    alternatives: Vec<Slot>,
}

/// Which steps a booking page shows.
#[derive(Clone, Copy)]
struct Showing {
    details: bool,
    applicant: bool,
    summary: bool,
}

impl Showing {
    fn only(step: Step) -> Showing {
        Showing { details: step == Step::Details, applicant: step == Step::Applicant, summary: step == Step::Summary }
    }

    fn first(self) -> Step {
        if self.details {
            Step::Details
        } else if self.applicant {
            Step::Applicant
        } else {
            Step::Summary
        }
    }

    fn asks(self, name: &str) -> bool {
        (self.details && Step::Details.asks(name)) || (self.applicant && Step::Applicant.asks(name))
    }
}

/// The fields never carried on as hidden values.
const CONTROL_FIELDS: [&str; 5] = [CSRF_FIELD, "step", "goto", "form_key", "start"];

/// The summary's lines: the details step's answers, then the applicant's.
fn review(ctx: &Ctx, service: &Service, values: &Values) -> (Vec<ReviewLine>, Vec<ReviewLine>) {
    let t = ctx.t;
    let shown = |v: Option<&str>| {
        let v = v.unwrap_or("").trim();
        if v.is_empty() { t.not_given.to_owned() } else { v.to_owned() }
    };
    let line = |label: &str, value: String| ReviewLine { label: label.to_owned(), value };
    let mode = values.get("mode").and_then(|m| Mode::ALL.into_iter().find(|x| x.as_str() == m));
    let mut details = vec![line(
        t.meeting,
        mode.map_or_else(|| t.not_given.to_owned(), |m| texts::mode_name(ctx.lang, m).to_owned()),
    )];
    for q in &service.questions {
        let answer = values.get(&format!("{}{}", form::ANSWER_PREFIX, q.key));
        let answer = match answer {
            Some("yes") => Some(t.yes),
            Some("no") => Some(t.no),
            other => other,
        };
        details.push(line(&q.label, shown(answer)));
    }
    details.push(line(t.notes_short, shown(values.get("notes"))));
    let email_lang = values.get("email_lang").and_then(Lang::parse).unwrap_or(ctx.lang);
    let applicant = vec![
        line(t.name, shown(values.get("name"))),
        line(t.email, shown(values.get("email"))),
        line(t.phone, shown(values.get("phone"))),
        line(t.fiscal_code_short, shown(values.get("fiscal_code"))),
        line(t.email_lang, texts::lang_name(email_lang).to_owned()),
    ];
    (details, applicant)
}

/// Renders the booking page for `start` at the steps `showing`.
#[allow(clippy::too_many_arguments)]
fn book_page(
    ctx: &Ctx,
    t: &Tenant,
    service: &Service,
    office: &Office,
    start: Timestamp,
    values: &Values,
    outcome: &Outcome,
    showing: Showing,
) -> BookPage {
    let at = start.to_zoned(zone_of(t));
    let current = showing.first();
    let heading = match current {
        Step::Details => ctx.t.step_details,
        Step::Applicant => ctx.t.step_applicant,
        _ => ctx.t.step_summary,
    };
    let crumbs = ctx.crumbs(vec![
        (t.name.clone(), Some(ctx.href(&town_path(t)))),
        (service.name.clone(), Some(ctx.href(&service_path(t, service.id)))),
        (heading.to_owned(), None),
    ]);
    let step_of = ctx.t.step_of.replace("{n}", &(current as u8).to_string()).replace("{total}", "5");
    let mut page_title = title(&format!("{heading} ({step_of})"), t);
    if !outcome.errors.is_empty() || outcome.unavailable.is_some() {
        page_title = format!("{}{page_title}", ctx.t.error_prefix);
    }
    let back_href = format!("{}#times", ctx.href(&service_path(t, service.id)));
    let town_href = ctx.href(&town_path(t));
    // The summary carries a key of its own: a reload or a second press of "confirm" books once.
    let form_key = match values.get("form_key") {
        Some(k) if ricevo_desk::tokens::looks_like_token(k) => k.to_owned(),
        _ => ricevo_desk::tokens::new_token(),
    };
    let hidden = values
        .pairs()
        .iter()
        .filter(|(k, _)| !CONTROL_FIELDS.contains(&k.as_str()) && !showing.asks(k))
        .map(|(k, v)| Hidden { name: k.clone(), value: v.clone() })
        .collect();
    let (review_details, review_applicant) = review(ctx, service, values);
    let mut summary = form::summary(&outcome.errors, ctx.t, &service.questions);
    form::order_like_page(&mut summary, &outcome.errors, &service.questions);
    BookPage {
        l: ctx.layout(page_title, crumbs, Some(t), false),
        t: ctx.t,
        steps: steps(ctx, current, Some(town_href.clone()), Some(back_href.clone())),
        step_of,
        heading,
        show_details: showing.details,
        show_applicant: showing.applicant,
        show_summary: showing.summary,
        service_name: service.name.clone(),
        office_name: office.name.clone(),
        address: address_for(office, service.rules.offers(Mode::InPerson)),
        when: texts::when(ctx.lang, &at),
        duration: texts::minutes(ctx.lang, service.rules.duration_minutes()),
        back_href,
        town_href,
        action: ctx.here(),
        csrf: ctx.csrf.clone(),
        start: ricevo_desk::town::rfc3339(&at),
        form_key,
        hidden,
        fields: form::fields(service, values, &outcome.errors, ctx.lang),
        summary,
        review_details,
        review_applicant,
        unavailable: outcome.unavailable.clone(),
        alternatives: alternatives(ctx, &outcome.alternatives),
        notice: privacy::Notice::of(ctx, t),
        // ---- citizen ----
        verified: signed_in_form::verified_view(ctx, t),
        sign_in: None,
        // ---- end citizen ----
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
        ctx.in_town(&t);
        let (service, office) =
            state.desk.service_and_office(&t, service_id(&id, ctx.lang)?).await.in_lang(ctx.lang)?;
        let Some(start) = q.start.as_deref().and_then(parse_instant) else {
            return Ok(bad_start(&ctx, ctx.href(&service_path(&t, service.id))));
        };
        // ---- citizen ---- A service asking for SPID or CIE says so before the form is filled;
        // a signed-in citizen finds their verified details already in it.
        let signed_in = signed_in_form::session_for_booking(&ctx, &t).is_some();
        if !signed_in && state.desk.service_requires_identity(&t, service.id).await.in_lang(ctx.lang)? {
            return Ok(signed_in_form::identity_required_page(&state, &ctx, &t, &ctx.here()));
        }
        let mut pairs = Vec::new();
        signed_in_form::prefill(&ctx, &t, &mut pairs);
        let mut page = book_page(
            &ctx,
            &t,
            &service,
            &office,
            start,
            &Values::new(pairs),
            &Outcome::default(),
            Showing::only(Step::Details),
        );
        page.sign_in = signed_in_form::sign_in_offer(&state, &ctx, &t, &ctx.here());
        // ---- end citizen ----
        Ok(ctx.form_page(StatusCode::OK, &page))
    };
    answer(&ctx, result.await)
}

/// The idempotency of a confirmed summary: its key (scoped to citizen forms) and a hash of
/// everything it asks, so the same summary sent twice books once.
fn summary_idempotency(values: &Values) -> Option<(String, String)> {
    let key = values.get("form_key").filter(|k| ricevo_desk::tokens::looks_like_token(k))?;
    let mut asked: Vec<(&str, &str)> = values
        .pairs()
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), CSRF_FIELD | "form_key" | "goto" | "step"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    asked.sort_unstable();
    let hash = ricevo_desk::tokens::hash(&serde_json::to_string(&asked).unwrap_or_default());
    Some((format!("citizen-form:{key}"), hash))
}

/// The citizen's link token in the answer first given to a replayed summary.
fn token_of_receipt(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let url = v["manage_url"].as_str()?;
    let token = url.rsplit_once("/a/")?.1.split(['?', '#', '/']).next()?;
    ricevo_desk::tokens::looks_like_token(token).then(|| token.to_owned())
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
        ctx.in_town(&t);
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
        // ---- citizen ---- (the verified codice fiscale whatever was posted)
        let mut pairs = pairs;
        signed_in_form::prefill(&ctx, &t, &mut pairs);
        // ---- end citizen ----
        let values = Values::new(pairs);
        if !ctx.csrf_ok(values.get(CSRF_FIELD)) {
            return Ok(ctx.csrf_refused(ctx.here()));
        }
        // A time chosen among the alternatives comes in the form; the first choice in the URL.
        let Some(start) = values.get("start").or(q.start.as_deref()).and_then(parse_instant) else {
            return Ok(bad_start(&ctx, ctx.href(&service_path(&t, service.id))));
        };
        let render = |status: StatusCode, outcome: &Outcome, showing: Showing| {
            let mut page = book_page(&ctx, &t, &service, &office, start, &values, outcome, showing);
            // ---- citizen ----
            if showing.details || showing.applicant {
                page.sign_in = signed_in_form::sign_in_offer(&state, &ctx, &t, &ctx.here());
            }
            // ---- end citizen ----
            ctx.form_page(status, &page)
        };
        // "Change" on the summary, or "back": that step again, as it was filled.
        if let Some(step) = values.get("goto").and_then(Step::parse) {
            return Ok(render(StatusCode::OK, &Outcome::default(), Showing::only(step)));
        }
        let posted_step = values.get("step").and_then(Step::parse);
        if posted_step != Some(Step::Summary) {
            // A step of the form: checked by the core's own rules, nothing is booked yet.
            let input = values.input(ctx.lang);
            let errors = ricevo_core::citizen::check_booking(&input, &service.rules, &service.questions, ctx.lang)
                .err()
                .unwrap_or_default();
            let (showing, errors) = match posted_step {
                Some(Step::Details) => {
                    let mine: Vec<_> =
                        errors.into_iter().filter(|e| Step::of_error(&e.field) == Step::Details).collect();
                    let next = if mine.is_empty() { Step::Applicant } else { Step::Details };
                    (Showing::only(next), mine)
                }
                Some(_) => {
                    // The applicant step: an error of the details (changed meanwhile) goes back there.
                    let details: Vec<_> =
                        errors.iter().filter(|e| Step::of_error(&e.field) == Step::Details).cloned().collect();
                    if details.is_empty() {
                        (Showing::only(if errors.is_empty() { Step::Summary } else { Step::Applicant }), errors)
                    } else {
                        (Showing::only(Step::Details), details)
                    }
                }
                // The whole form posted at once (an older page, a script): every error at once.
                None => {
                    let details = errors.iter().any(|e| Step::of_error(&e.field) == Step::Details);
                    let applicant = errors.iter().any(|e| Step::of_error(&e.field) == Step::Applicant);
                    (Showing { details, applicant, summary: errors.is_empty() }, errors)
                }
            };
            let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
            return Ok(render(status, &Outcome { errors, ..Outcome::default() }, showing));
        }
        let req = BookingRequest {
            service_id: service.id,
            start,
            input: values.input(ctx.lang),
            idempotency: summary_idempotency(&values),
            source: client,
        };
        let booked_at =
            |token: &str| Redirect::to(&ctx.href(&format!("{}?booked=1", manage_path(token)))).into_response();
        // ---- citizen ---- A signed-in citizen books with their verified identity.
        let booked = match signed_in_form::session_for_booking(&ctx, &t) {
            Some(session) => state.desk.book_verified(&t, req, ctx.lang, session).await,
            None => state.desk.book(&t, req, ctx.lang).await,
        };
        // ---- end citizen ----
        let outcome = match booked {
            Ok(BookingResult::Booked { token, .. }) => return Ok(booked_at(&token)),
            // The same summary confirmed again (a reload, a double press): the first booking.
            Ok(BookingResult::Replay(first)) => {
                return match token_of_receipt(&first.body) {
                    Some(token) => Ok(booked_at(&token)),
                    None => Err(ApiError::Conflict(ctx.lang)),
                };
            }
            Err(DeskError::Fields(errors)) => {
                let first = errors.iter().map(|e| Step::of_error(&e.field)).min().unwrap_or(Step::Details);
                let outcome = Outcome { errors, ..Outcome::default() };
                return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &outcome, Showing::only(first)));
            }
            Err(DeskError::Unavailable { reason, alternatives }) => Outcome {
                unavailable: Some(refusal_message(reason, ctx.lang).to_owned()),
                alternatives,
                ..Outcome::default()
            },
            // The summary comes back with what the citizen typed and why it cannot be booked.
            Err(e @ (DeskError::CitizenLimit(_) | DeskError::BudgetSpent { .. })) => {
                let e = ApiError::from_desk(ctx.lang, e);
                let outcome = Outcome { unavailable: Some(e.message()), ..Outcome::default() };
                let mut resp = render(e.status(), &outcome, Showing::only(Step::Summary));
                if let ApiError::TooManyBookings(_, secs) = e {
                    resp.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
                }
                return Ok(resp);
            }
            // ---- citizen ----
            Err(DeskError::IdentityRequired) => {
                return Ok(signed_in_form::identity_required_page(&state, &ctx, &t, &ctx.here()));
            }
            // ---- end citizen ----
            Err(e) => return Err(ApiError::from_desk(ctx.lang, e)),
        };
        Ok(render(StatusCode::CONFLICT, &outcome, Showing::only(Step::Summary)))
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
    async fn load(state: &AppState, token: String, ctx: &Ctx) -> Result<Opened, ApiError> {
        let lang = ctx.lang;
        let (tenant, appointment) = request::by_token(state, &token, lang).await?;
        ctx.in_town(&tenant);
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
    // ---- waitlist ----
    /// The waitlist for an earlier time than this appointment's.
    earlier_href: Option<String>,
    // ---- end waitlist ----
}

async fn manage(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let result = async {
        let o = Opened::load(&state, token, &ctx).await?;
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
            earlier_href: active.then(|| {
                ctx.href(&format!("/{}/lista-attesa/servizio/{}?prima={}", o.tenant.slug, o.service.id, o.token))
            }),
        };
        Ok(ctx.page(StatusCode::OK, &page))
    };
    answer(&ctx, result.await)
}

async fn invite(State(state): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> Response {
    let result = async {
        let o = Opened::load(&state, token, &ctx).await?;
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
        let o = Opened::load(&state, token, &ctx).await?;
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
        let o = Opened::load(&state, token, &ctx).await?;
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
    /// The chosen new time, to confirm before moving: its words and its value.
    confirm: Option<(String, String)>,
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
    let picker = picker::build(
        ctx,
        state,
        &o.tenant,
        &service,
        &office,
        from,
        state.now(),
        &here,
        Purpose::Move(o.appointment.start),
    )
    .await?;
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
        confirm: None,
    })
}

async fn move_picker(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let result = async {
        let o = Opened::load(&state, token, &ctx).await?;
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
        let o = Opened::load(&state, token, &ctx).await?;
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
        // A time chosen in the picker is first shown beside the current one (old → new); only
        // the confirmation moves.
        if values.get("confirm") != Some("1") {
            let mut page = move_page(&ctx, &state, &o, None, None).await?;
            let new_time = texts::when(ctx.lang, &start.to_zoned(zone_of(&o.tenant)));
            page.confirm = Some((new_time, ricevo_desk::town::rfc3339(&start.to_zoned(zone_of(&o.tenant)))));
            page.l.title = title(ctx.t.move_confirm_title, &o.tenant);
            return Ok(ctx.form_page(StatusCode::OK, &page));
        }
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

// ---- citizen ----
/// The move page for an appointment a signed-in citizen opened from "I miei appuntamenti"
/// (no link token): it posts to `here` and leads back to `back`; `confirm` shows a chosen
/// time beside the current one, `refused` a time taken meanwhile and its alternatives.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn move_page_signed_in(
    ctx: &Ctx,
    state: &AppState,
    tenant: &Tenant,
    a: &Appointment,
    here: &str,
    back: &str,
    from: Option<&str>,
    refused: Option<(&'static str, Vec<Slot>)>,
    confirm: Option<Timestamp>,
) -> Result<Response, ApiError> {
    let service = state.store.service(tenant.id, a.service_id).await?.ok_or(ApiError::NotFound(ctx.lang))?;
    let office = state.store.office(tenant.id, a.office_id).await?.ok_or(ApiError::NotFound(ctx.lang))?;
    let picker =
        picker::build(ctx, state, tenant, &service, &office, from, state.now(), here, Purpose::Move(a.start)).await?;
    let (unavailable, alternative_slots) = match refused {
        Some((message, slots)) => (Some(message), slots),
        None => (None, Vec::new()),
    };
    let heading = if confirm.is_some() { ctx.t.move_confirm_title } else { ctx.t.move_title };
    let mut page_title = title(heading, tenant);
    if unavailable.is_some() {
        page_title = format!("{}{page_title}", ctx.t.error_prefix);
    }
    let mine = match ctx.lang {
        Lang::It => "I miei appuntamenti",
        Lang::En => "My appointments",
    };
    let home = ctx.town().map_or_else(|| tenant.clone(), Clone::clone);
    let crumbs = ctx.crumbs(vec![
        (home.name.clone(), Some(town_path(&home))),
        (mine.to_owned(), Some(back.to_owned())),
        (heading.to_owned(), None),
    ]);
    let zone = zone_of(tenant);
    let page = MovePage {
        l: ctx.layout(page_title, crumbs, Some(&home), true),
        t: ctx.t,
        service_name: service.name,
        current: texts::when(ctx.lang, &a.start.to_zoned(zone.clone())),
        action: here.to_owned(),
        csrf: ctx.csrf.clone(),
        back_href: back.to_owned(),
        unavailable,
        alternatives: alternatives(ctx, &alternative_slots),
        picker,
        confirm: confirm.map(|s| {
            let z = s.to_zoned(zone);
            (texts::when(ctx.lang, &z), ricevo_desk::town::rfc3339(&z))
        }),
    };
    let status = if page.unavailable.is_some() { StatusCode::CONFLICT } else { StatusCode::OK };
    Ok(ctx.form_page(status, &page))
}
// ---- end citizen ----
