//! The walk-in virtual desk: a citizen takes a numbered ticket (name, optional e-mail, to which
//! the number and the personal link are sent) and waits in the same waiting room as booked
//! citizens, until an official calls the next one.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use jiff::Timestamp;
use jiff::civil::Date;
use ricevo_core::lobby::{self, Abilities, Entry, EntryKind};
use ricevo_core::slots::closed_on;
use ricevo_core::text::{Email, PersonName};
use ricevo_core::{Lang, OfficeId};
use ricevo_notify::{Outgoing, TicketNotice};
use ricevo_store::{NewEntry, NewOutboxMessage, Office, Tenant};

use super::texts::{RoomTexts, room_texts};
use crate::AppState;
use crate::api;
use crate::error::ApiError;
use crate::error::InLang;
use crate::limits::ClientKey;
use crate::pages::layout::{CSRF_FIELD, Ctx, Layout};
use ricevo_desk::messages::token_link;
use ricevo_desk::tokens;
use ricevo_desk::town::zone_of;

/// The routes of the walk-in desk pages.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/{tenant}/walk-in", get(list)).route("/{tenant}/walk-in/{office}", get(list_one).post(take))
}

/// Whether an office's walk-in desk is open now.
pub(crate) async fn is_open(state: &AppState, tenant: &Tenant, office: &Office) -> Result<bool, ApiError> {
    let desk = state.store.walk_in(tenant.id, office.id).await?;
    if desk.always_open {
        return Ok(true);
    }
    let facts = state.desk.office_facts(tenant, office).await.in_lang(ricevo_core::Lang::It)?;
    Ok(lobby::walk_in_open(&desk, &zone_of(tenant), state.now(), |d| closed_on(d, facts.patron, &facts.closures)))
}

/// Takes the next ticket of an office's walk-in desk; returns the entry and its join URL.
pub(crate) async fn take_ticket(
    state: &AppState,
    tenant: &Tenant,
    office: &Office,
    name: &str,
    email: Option<&str>,
    client: &str,
    lang: Lang,
) -> Result<(Entry, String), ApiError> {
    let name = PersonName::parse(name).map_err(|e| field_error("name", e.message(lang), lang))?;
    let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
        Some(raw) => Some(Email::parse(raw).map_err(|e| field_error("email", e.message(lang), lang))?),
        None => None,
    };
    if !is_open(state, tenant, office).await? {
        return Err(ApiError::WalkInClosed(lang));
    }
    let now = state.now();
    // A budget of tickets per client address and hour, so one machine cannot fill the queue.
    if !state.ticket_budget.allow(client, now) {
        state.ticket_budget.give_back(client, now);
        return Err(ApiError::TooManyBookings(lang, state.ticket_budget.retry_after(now)));
    }
    let token = tokens::new_token();
    let new = NewEntry {
        tenant_id: tenant.id,
        office_id: office.id,
        kind: EntryKind::Ticket,
        appointment_id: None,
        meeting_id: None,
        name: name.as_str().to_owned(),
        email: email.map(|e| e.as_str().to_owned()),
        service: String::new(),
        booked_start: None,
        booked_end: None,
        abilities: Abilities::citizen(),
        direct: false,
        token_hash: Some(tokens::hash(&token)),
    };
    let day = now.to_zoned(zone_of(tenant)).date();
    let join_url = token_link(&state.config.public_url, &token, "/join");
    // The e-mail keeps the personal link for a citizen who closes the tab. It is queued in the
    // ticket's own transaction, which alone knows the number.
    let notice = new.email.as_ref().map(|email| TicketNotice {
        uid: String::new(),
        tenant_name: tenant.name.clone(),
        tenant_email: tenant.contact_email.clone(),
        office_name: office.name.clone(),
        ticket_number: 0,
        citizen_name: new.name.clone(),
        citizen_email: email.clone(),
        join_url: join_url.clone(),
        lang,
    });
    let from = state.desk.mail_from(tenant);
    let outbox = |number: i32| ticket_email(notice.as_ref(), &from, office, day, number, now);
    let entry = state.store.take_ticket(&new, day, now, &outbox).await?;
    super::hub::office_changed(state, office.id);
    Ok((entry, join_url))
}

/// The outbox row of the e-mail that gives ticket `number` of `day` its link, if the citizen
/// gave an address (`notice`).
fn ticket_email(
    notice: Option<&TicketNotice>,
    from: &str,
    office: &Office,
    day: Date,
    number: i32,
    now: Timestamp,
) -> Vec<NewOutboxMessage> {
    let Some(notice) = notice else { return Vec::new() };
    // A ticket is named for good by its office, day and number: numbers are never reused.
    let uid = format!("ticket:{}:{day}:{number}", office.id.0);
    let ticket = TicketNotice { uid: uid.clone(), ticket_number: number, ..notice.clone() };
    let outgoing = Outgoing::Ticket { ticket: Box::new(ticket), from: from.to_owned() };
    match outgoing.to_payload() {
        Ok(payload) => vec![NewOutboxMessage {
            kind: outgoing.kind().into(),
            dedupe_key: format!("{uid}:email"),
            payload,
            due_at: now,
            retractable: false,
        }],
        // Unreachable: JSON of strings and numbers cannot fail. The ticket is still worth more
        // to the citizen than the e-mail, so it is kept.
        Err(e) => {
            tracing::error!(error = %e, ticket = %uid, "ticket e-mail could not be queued");
            Vec::new()
        }
    }
}

fn field_error(field: &'static str, message: &'static str, lang: Lang) -> ApiError {
    ApiError::Fields(lang, vec![ricevo_core::citizen::FieldError::new(field, message)])
}

/// One desk on the page.
struct DeskView {
    id: i64,
    name: String,
    open: bool,
    action: String,
    error: Option<String>,
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
}

async fn desks(
    state: &AppState,
    ctx: &Ctx,
    tenant: &Tenant,
    only: Option<OfficeId>,
) -> Result<Vec<DeskView>, ApiError> {
    let mut out = Vec::new();
    for office in state.store.offices(tenant.id).await? {
        if only.is_some_and(|o| o != office.id) {
            continue;
        }
        let desk = state.store.walk_in(tenant.id, office.id).await?;
        if !desk.always_open && desk.hours.ranges().is_empty() {
            continue;
        }
        out.push(DeskView {
            id: office.id.0,
            open: is_open(state, tenant, &office).await?,
            action: ctx.href(&format!("/{}/walk-in/{}", tenant.slug, office.id.0)),
            name: office.name,
            error: None,
            name_value: String::new(),
            email_value: String::new(),
        });
    }
    Ok(out)
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
    };
    ctx.form_page(status, &page)
}

async fn list(State(state): State<AppState>, ctx: Ctx, Path(slug): Path<String>) -> Response {
    let run = async {
        let tenant = api::tenant(&state, &slug, ctx.lang).await?;
        let desks = desks(&state, &ctx, &tenant, None).await?;
        Ok::<_, ApiError>(page(&ctx, &tenant, desks, StatusCode::OK))
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}

async fn list_one(State(state): State<AppState>, ctx: Ctx, Path((slug, office)): Path<(String, String)>) -> Response {
    let run = async {
        let tenant = api::tenant(&state, &slug, ctx.lang).await?;
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
        let tenant = api::tenant(&state, &slug, ctx.lang).await?;
        let office_id = office.parse::<i64>().map(OfficeId).map_err(|_| ApiError::NotFound(ctx.lang))?;
        let office = state.store.office(tenant.id, office_id).await?.ok_or(ApiError::NotFound(ctx.lang))?;
        let fields = form.map(|Form(f)| f).unwrap_or_default();
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        if !ctx.csrf_ok(get(CSRF_FIELD)) {
            return Ok(ctx.csrf_refused(ctx.here()));
        }
        match take_ticket(&state, &tenant, &office, get("name").unwrap_or(""), get("email"), &client, ctx.lang).await {
            Ok((_, url)) => {
                let path = url.strip_prefix(&state.config.public_url).unwrap_or(&url).to_owned();
                Ok(Redirect::to(&path).into_response())
            }
            Err(ApiError::Fields(_, errors)) => {
                let mut desks = desks(&state, &ctx, &tenant, Some(office_id)).await?;
                for d in &mut desks {
                    d.error = Some(errors.iter().map(|e| e.message).collect::<Vec<_>>().join(" "));
                    d.name_value = get("name").unwrap_or("").chars().take(120).collect();
                    d.email_value = get("email").unwrap_or("").chars().take(254).collect();
                }
                Ok(page(&ctx, &tenant, desks, StatusCode::UNPROCESSABLE_ENTITY))
            }
            Err(e) => Err(e),
        }
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}
