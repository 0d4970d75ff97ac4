//! The staff's council pages under `/{town}/staff/consiglio`: the town's sessions and the form
//! that schedules one (administrators and office managers), a session's page with its members
//! and their personal links (shown once, a new one on request), the minutes' skeleton as a
//! printable page and as JSON, and the town's recording retention.
//!
//! Every page needs a staff session of the same town, every form its CSRF token (see
//! `staff::common`); the desk checks the account's rights again.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use ricevo_core::Lang;
use ricevo_core::council::{BodyKind, CouncilSessionId, MemberId, Minutes, Role};
use ricevo_desk::DeskError;
use ricevo_desk::council::{CouncilSettings, CouncilView, MemberDraft, MemberLink, SessionDraft};
use ricevo_desk::town::zone_of;
use tower_http::set_header::SetResponseHeaderLayer;

use super::public::{ResultRow, asset_url, when};
use crate::error::ApiError;
use crate::staff::common::{Errors, Fields, PageError, Posted, Staff, render, tr};
use crate::staff::views::Page;
use crate::state::AppState;

/// The routes of the staff's council pages.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/staff/consiglio", get(list).post(schedule))
        .route("/{tenant}/staff/consiglio/impostazioni", get(settings).post(save_settings))
        .route("/{tenant}/staff/consiglio/{id}", get(session))
        .route("/{tenant}/staff/consiglio/{id}/membri/{member}/link", post(new_link))
        .route("/{tenant}/staff/consiglio/{id}/verbale", get(minutes_page))
        .route("/{tenant}/staff/consiglio/{id}/verbale.json", get(minutes_json))
        // Staff pages hold personal data and one-time links: never cached.
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
}

/// Longest agenda item or member line, in characters.
const MAX_LINE: usize = 300;
/// Most agenda items and members the form reads (the desk has its own, equal or lower, limits).
const MAX_LINES: usize = 100;

// ---- the form ----

/// A role as staff type it in the members' box, in Italian or English.
pub(crate) fn role_word(word: &str) -> Option<Role> {
    let w = word.trim().to_lowercase();
    let role = match w.as_str() {
        "presidente" | "presidente del consiglio" | "chair" | "president" => Role::Chair,
        "sindaco" | "sindaca" | "mayor" => Role::Mayor,
        "consigliere" | "consigliera" | "councillor" | "councilor" => Role::Councillor,
        "assessore" | "assessora" | "assessor" => Role::Assessor,
        "segretario" | "segretaria" | "segretario comunale" | "secretary" => Role::Secretary,
        "invitato" | "invitata" | "ospite" | "invited" | "guest" => Role::Invited,
        _ => return None,
    };
    Some(role)
}

/// One line of the members' box: "Nome Cognome; ruolo; e-mail (optional)".
pub(crate) fn member_line(line: &str, lang: Lang) -> Result<MemberDraft, String> {
    let mut parts = line.split(';').map(str::trim);
    let name = parts.next().unwrap_or("");
    let role = parts.next().unwrap_or("");
    let email = parts.next().unwrap_or("");
    if parts.next().is_some() {
        return Err(tr(lang, "troppi campi (nome; ruolo; e-mail)", "too many fields (name; role; e-mail)").into());
    }
    if name.is_empty() {
        return Err(tr(lang, "manca il nome", "the name is missing").into());
    }
    let Some(role) = role_word(role) else {
        return Err(if role.is_empty() {
            tr(lang, "manca il ruolo", "the role is missing").into()
        } else {
            format!(
                "{} «{role}» ({})",
                tr(lang, "ruolo sconosciuto", "unknown role"),
                tr(
                    lang,
                    "usa presidente, sindaco, consigliere, assessore, segretario o invitato",
                    "use chair, mayor, councillor, assessor, secretary or invited"
                )
            )
        });
    };
    let email = if email.is_empty() {
        None
    } else if email.contains('@') && !email.contains(char::is_whitespace) && email.len() <= 254 {
        Some(email.to_owned())
    } else {
        return Err(format!("{} «{email}»", tr(lang, "e-mail non valida", "invalid e-mail")));
    };
    Ok(MemberDraft { name: name.to_owned(), role, email })
}

/// The non-blank lines of a text box, each checked for length.
fn lines<'a>(form: &'a Fields, name: &str, lang: Lang, errors: &mut Errors) -> Vec<(usize, &'a str)> {
    let lines: Vec<(usize, &str)> =
        form.get(name).lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty()).collect();
    if lines.len() > MAX_LINES {
        errors.add(name, format!("{} {MAX_LINES}", tr(lang, "Al massimo", "At most")));
    }
    if let Some((n, _)) = lines.iter().find(|(_, l)| l.chars().count() > MAX_LINE || l.chars().any(char::is_control)) {
        errors.add(
            name,
            format!(
                "{} {n}: {}",
                tr(lang, "Riga", "Line"),
                tr(lang, "troppo lunga o con caratteri non ammessi", "too long or with characters not allowed")
            ),
        );
    }
    lines
}

/// An optional whole number between `min` and `max`.
fn optional_number(form: &Fields, name: &str, min: u16, max: u16, lang: Lang, errors: &mut Errors) -> Option<u16> {
    let raw = form.get(name).trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<u16>() {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            errors.add(
                name,
                format!(
                    "{} {min} {} {max}.",
                    tr(lang, "Indica un numero tra", "Enter a number from"),
                    tr(lang, "e", "to")
                ),
            );
            None
        }
    }
}

/// Reads the schedule form: the draft, or the problems found field by field.
pub(crate) fn read_draft(form: &Fields, tenant: &ricevo_store::Tenant, lang: Lang) -> Result<SessionDraft, Errors> {
    let mut errors = Errors::default();
    let body = BodyKind::parse(form.get("body")).unwrap_or_else(|| {
        errors.add("body", tr(lang, "Scegli l'organo.", "Choose the body."));
        BodyKind::Council
    });
    let body_name = crate::staff::common::optional_line(form, "body_name", 120, lang, &mut errors);
    let title = crate::staff::common::required_line(form, "title", 200, lang, &mut errors);
    let date = form.get("date").trim().parse::<jiff::civil::Date>();
    let time = form.get("time").trim().parse::<jiff::civil::Time>();
    if date.is_err() {
        errors.add("date", tr(lang, "Indica la data (AAAA-MM-GG).", "Enter the date (YYYY-MM-DD)."));
    }
    if time.is_err() {
        errors.add("time", tr(lang, "Indica l'ora (HH:MM).", "Enter the time (HH:MM)."));
    }
    let starts_at: Option<Timestamp> = match (date, time) {
        (Ok(d), Ok(t)) => match d.to_datetime(t).to_zoned(zone_of(tenant)) {
            Ok(z) => Some(z.timestamp()),
            Err(_) => {
                errors.add("date", tr(lang, "Data fuori dall'intervallo ammesso.", "Date out of range."));
                None
            }
        },
        _ => None,
    };
    let items: Vec<String> = lines(form, "items", lang, &mut errors).into_iter().map(|(_, l)| l.to_owned()).collect();
    if items.is_empty() {
        errors
            .add("items", tr(lang, "Scrivi almeno un punto all'ordine del giorno.", "Write at least one agenda item."));
    }
    let mut members = Vec::new();
    for (n, line) in lines(form, "members", lang, &mut errors) {
        match member_line(line, lang) {
            Ok(m) => members.push(m),
            Err(why) => errors.add("members", format!("{} {n}: {why}", tr(lang, "Riga", "Line"))),
        }
    }
    if members.is_empty() && errors.get("members").is_none() {
        errors.add("members", tr(lang, "Scrivi almeno un componente.", "Write at least one member."));
    }
    let chairs = members.iter().filter(|m| m.role == Role::Chair).count();
    if !members.is_empty() && chairs != 1 && errors.get("members").is_none() {
        errors.add(
            "members",
            tr(lang, "Serve un solo presidente (ruolo «presidente»).", "Exactly one chair is needed (role «chair»)."),
        );
    }
    let quorum = optional_number(form, "quorum", 1, 50, lang, &mut errors);
    let speech_minutes = optional_number(form, "speech_minutes", 1, 120, lang, &mut errors);
    match starts_at {
        Some(starts_at) if errors.is_empty() => {
            Ok(SessionDraft { body, body_name, title, starts_at, items, members, quorum, speech_minutes })
        }
        _ => Err(errors),
    }
}

// ---- pages ----

/// A session in the staff's list.
struct Row {
    href: String,
    name: String,
    when: String,
    state: &'static str,
}

#[derive(Template)]
#[template(path = "council/staff_list.html")]
struct ListPage {
    p: Page,
    css: String,
    rows: Vec<Row>,
    can_schedule: bool,
    form: Fields,
    errors: Errors,
    bodies: Vec<(&'static str, &'static str)>,
    public_href: String,
}

impl ListPage {
    fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field)
    }
    fn value(&self, field: &str) -> &str {
        self.form.get(field)
    }
}

/// The page of one session.
#[derive(Template)]
#[template(path = "council/staff_session.html")]
struct SessionPage {
    p: Page,
    css: String,
    id: i64,
    when: String,
    state: &'static str,
    members: Vec<MemberRow>,
    /// Links just made: shown this once.
    links: Vec<LinkRow>,
    can_manage: bool,
    public_href: String,
    agenda: Vec<(u16, String)>,
    quorum: String,
}

struct MemberRow {
    id: i64,
    name: String,
    role: &'static str,
    email: String,
    present: bool,
}

struct LinkRow {
    name: String,
    role: &'static str,
    url: String,
    emailed: bool,
}

#[derive(Template)]
#[template(path = "council/staff_minutes.html")]
struct MinutesPage {
    p: Page,
    css: String,
    id: i64,
    town: String,
    name: String,
    when: String,
    opened: String,
    closed: String,
    state: &'static str,
    presences: Vec<(String, &'static str, String)>,
    opening: Vec<(String, String)>,
    items: Vec<MinutesItemRow>,
}

struct MinutesItemRow {
    title: String,
    discussed: String,
    speakers: Vec<(String, String)>,
    votes: Vec<ResultRow>,
}

#[derive(Template)]
#[template(path = "council/staff_settings.html")]
struct SettingsPage {
    p: Page,
    css: String,
    keep: &'static str,
    days: String,
    error: Option<String>,
    saved: bool,
}

/// A problem the desk found, as a page in the staff member's language.
fn desk_error(staff: &Staff, e: DeskError) -> PageError {
    staff.err(ApiError::from_desk(staff.lang, e))
}

fn back_to_list(staff: &Staff) -> PageError {
    PageError::Api(ApiError::NotFound(staff.lang), staff.lang, Some(format!("{}/consiglio", staff.base())))
}

fn session_id(staff: &Staff, raw: &str) -> Result<CouncilSessionId, PageError> {
    super::public::session_id(raw, staff.lang).map_err(|_| back_to_list(staff))
}

/// The account may schedule sessions and change the settings (administrators and managers).
fn can_manage(staff: &Staff) -> bool {
    staff.page("").can_manage()
}

async fn render_list(
    state: &AppState,
    staff: &Staff,
    form: Fields,
    errors: Errors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let sessions = state.desk.council_sessions(&staff.tenant).await.map_err(|e| desk_error(staff, e))?;
    let lang = staff.lang;
    let rows = sessions
        .iter()
        .map(|s| Row {
            href: format!("{}/consiglio/{}", staff.base(), s.id),
            name: if s.title.is_empty() { s.body_name.clone() } else { format!("{} – {}", s.body_name, s.title) },
            when: when(&staff.tenant, s.starts_at, lang),
            state: s.state.label(lang),
        })
        .collect();
    let page = ListPage {
        p: staff.page(staff.t("Sedute del consiglio", "Council sessions")),
        css: asset_url("public.css"),
        rows,
        can_schedule: can_manage(staff),
        form,
        errors,
        bodies: BodyKind::ALL.iter().map(|b| (b.as_str(), b.label(lang))).collect(),
        public_href: format!("/{}/consiglio", staff.tenant.slug),
    };
    Ok(render(status, &page))
}

/// `GET /{town}/staff/consiglio`: the sessions and the form to schedule one.
async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    let mut form = Fields::default();
    form.set("body", BodyKind::Council.as_str());
    form.set("time", "18:00");
    render_list(&state, &staff, form, Errors::default(), StatusCode::OK).await
}

/// `POST /{town}/staff/consiglio`: schedules a session and shows its members' links once.
async fn schedule(State(state): State<AppState>, Posted { staff, form }: Posted) -> Result<Response, PageError> {
    if !can_manage(&staff) {
        return Err(staff.forbidden());
    }
    let draft = match read_draft(&form, &staff.tenant, staff.lang) {
        Ok(d) => d,
        Err(errors) => return render_list(&state, &staff, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    match state.desk.schedule_council(&staff.tenant, &staff.grant(), draft, staff.lang).await {
        Ok((id, links)) => render_session(&state, &staff, id, links).await,
        Err(DeskError::Fields(fields)) => {
            let mut errors = Errors::default();
            for f in fields {
                // The desk names fields as the form does, or by list entry ("members.3").
                let field = f.field.split('.').next().unwrap_or("").to_owned();
                let field =
                    if ["body", "body_name", "title", "date", "time", "items", "members", "quorum", "speech_minutes"]
                        .contains(&field.as_str())
                    {
                        field
                    } else {
                        "title".to_owned()
                    };
                errors.add(&field, f.message);
            }
            render_list(&state, &staff, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(desk_error(&staff, e)),
    }
}

async fn render_session(
    state: &AppState,
    staff: &Staff,
    id: CouncilSessionId,
    links: Vec<MemberLink>,
) -> Result<Response, PageError> {
    let view: CouncilView = match state.desk.council_session(&staff.tenant, id).await {
        Ok(v) => v,
        Err(DeskError::NotFound) => return Err(back_to_list(staff)),
        Err(e) => return Err(desk_error(staff, e)),
    };
    let lang = staff.lang;
    let s = &view.summary;
    let name = if s.title.is_empty() { s.body_name.clone() } else { format!("{} – {}", s.body_name, s.title) };
    let members = view
        .setup
        .members
        .iter()
        .map(|m| MemberRow {
            id: m.id.0,
            name: m.name.clone(),
            role: m.role.label(lang),
            email: view.emails.iter().find(|(id, _)| *id == m.id).and_then(|(_, e)| e.clone()).unwrap_or_default(),
            present: view.snapshot.members.iter().any(|v| v.id == m.id && v.present),
        })
        .collect();
    let q = &view.snapshot.quorum;
    let page = SessionPage {
        p: staff.page(&name),
        css: asset_url("public.css"),
        id: id.0,
        when: when(&staff.tenant, s.starts_at, lang),
        state: s.state.label(lang),
        members,
        links: links
            .into_iter()
            .map(|l| LinkRow { name: l.name, role: l.role.label(lang), url: l.url, emailed: l.emailed })
            .collect(),
        can_manage: can_manage(staff),
        public_href: format!("/{}/consiglio/{}", staff.tenant.slug, id),
        agenda: view.setup.items.iter().map(|i| (i.number.0, i.title.clone())).collect(),
        quorum: format!("{} / {}", q.present, q.needed),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /{town}/staff/consiglio/{id}`.
async fn session(
    State(state): State<AppState>,
    staff: Staff,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = session_id(&staff, &id)?;
    render_session(&state, &staff, id, Vec::new()).await
}

/// `POST /{town}/staff/consiglio/{id}/membri/{member}/link`: a new personal link for one
/// member (the old one stops working), shown once.
async fn new_link(
    State(state): State<AppState>,
    Path((_, id, member)): Path<(String, String, String)>,
    Posted { staff, .. }: Posted,
) -> Result<Response, PageError> {
    if !can_manage(&staff) {
        return Err(staff.forbidden());
    }
    let id = session_id(&staff, &id)?;
    let member = member.parse::<i64>().ok().filter(|n| *n > 0).map(MemberId).ok_or_else(|| back_to_list(&staff))?;
    let link = state.desk.council_new_link(&staff.tenant, &staff.grant(), id, member).await.map_err(|e| match e {
        DeskError::NotFound => back_to_list(&staff),
        e => desk_error(&staff, e),
    })?;
    render_session(&state, &staff, id, vec![link]).await
}

fn time_of(tenant: &ricevo_store::Tenant, t: Timestamp) -> String {
    t.to_zoned(zone_of(tenant)).strftime("%H:%M").to_string()
}

fn span(tenant: &ricevo_store::Tenant, from: Timestamp, to: Option<Timestamp>) -> String {
    match to {
        Some(to) => format!("{}–{}", time_of(tenant, from), time_of(tenant, to)),
        None => format!("{}–", time_of(tenant, from)),
    }
}

async fn minutes_of(state: &AppState, staff: &Staff, id: &str) -> Result<(CouncilSessionId, Minutes), PageError> {
    let id = session_id(staff, id)?;
    match state.desk.council_minutes(&staff.tenant, id).await {
        Ok(m) => Ok((id, m)),
        Err(DeskError::NotFound) => Err(back_to_list(staff)),
        Err(e) => Err(desk_error(staff, e)),
    }
}

/// `GET /{town}/staff/consiglio/{id}/verbale`: the minutes' skeleton, to print.
async fn minutes_page(
    State(state): State<AppState>,
    staff: Staff,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (id, m) = minutes_of(&state, &staff, &id).await?;
    let lang = staff.lang;
    let t = &staff.tenant;
    let name = if m.title.is_empty() { m.body_name.clone() } else { format!("{} – {}", m.body_name, m.title) };
    let page = MinutesPage {
        p: staff.page(staff.t("Verbale della seduta", "Minutes of the session")),
        css: asset_url("public.css"),
        id: id.0,
        town: t.name.clone(),
        name,
        when: when(t, m.starts_at, lang),
        opened: m.opened_at.map(|o| time_of(t, o)).unwrap_or_else(|| "—".into()),
        closed: m.closed_at.map(|c| time_of(t, c)).unwrap_or_else(|| "—".into()),
        state: m.state.label(lang),
        presences: m
            .presences
            .iter()
            .map(|p| {
                let spans = p.spans.iter().map(|s| span(t, s.from, s.to)).collect::<Vec<_>>().join(", ");
                let spans = if spans.is_empty() { staff.t("assente", "absent").to_owned() } else { spans };
                (p.name.clone(), p.role.label(lang), spans)
            })
            .collect(),
        opening: m.opening_speakers.iter().map(|s| (s.name.clone(), span(t, s.from, s.to))).collect(),
        items: m
            .items
            .iter()
            .map(|i| MinutesItemRow {
                title: format!("{}. {}", i.number, i.title),
                discussed: i.discussed_from.map(|d| time_of(t, d)).unwrap_or_default(),
                speakers: i.speakers.iter().map(|s| (s.name.clone(), span(t, s.from, s.to))).collect(),
                votes: i.votes.iter().map(|v| ResultRow::of(v, lang)).collect(),
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /{town}/staff/consiglio/{id}/verbale.json`: the same skeleton as JSON.
async fn minutes_json(
    State(state): State<AppState>,
    staff: Staff,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (id, m) = minutes_of(&state, &staff, &id).await?;
    let mut resp = axum::Json(m).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"verbale-{}-{id}.json\"", staff.tenant.slug)) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

// ---- recording retention ----

/// What the retention radio buttons say: `forever`, `days` or `remove`.
fn keep_choice(s: CouncilSettings) -> (&'static str, String) {
    match s.recording_keep_days {
        None => ("forever", String::new()),
        Some(0) => ("remove", String::new()),
        Some(n) => ("days", n.to_string()),
    }
}

/// Reads the retention form.
pub(crate) fn read_settings(form: &Fields, lang: Lang) -> Result<CouncilSettings, String> {
    match form.get("keep") {
        "forever" => Ok(CouncilSettings { recording_keep_days: None }),
        "remove" => Ok(CouncilSettings { recording_keep_days: Some(0) }),
        "days" => match form.get("days").trim().parse::<u16>() {
            Ok(n) if (1..=3650).contains(&n) => Ok(CouncilSettings { recording_keep_days: Some(n) }),
            _ => {
                Err(tr(lang, "Indica un numero di giorni tra 1 e 3650.", "Enter a number of days from 1 to 3650.")
                    .into())
            }
        },
        _ => Err(tr(lang, "Scegli per quanto tenere le registrazioni.", "Choose how long recordings are kept.").into()),
    }
}

fn settings_page(staff: &Staff, keep: &'static str, days: String, error: Option<String>, saved: bool) -> Response {
    let page = SettingsPage {
        p: staff.page(staff.t("Registrazioni delle sedute", "Recordings of sessions")),
        css: asset_url("public.css"),
        keep,
        days,
        error,
        saved,
    };
    render(if page.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK }, &page)
}

/// `GET /{town}/staff/consiglio/impostazioni`.
async fn settings(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    if !can_manage(&staff) {
        return Err(staff.forbidden());
    }
    let s = state.desk.council_settings(&staff.tenant).await.map_err(|e| desk_error(&staff, e))?;
    let (keep, days) = keep_choice(s);
    Ok(settings_page(&staff, keep, days, None, false))
}

/// `POST /{town}/staff/consiglio/impostazioni`.
async fn save_settings(State(state): State<AppState>, Posted { staff, form }: Posted) -> Result<Response, PageError> {
    if !can_manage(&staff) {
        return Err(staff.forbidden());
    }
    match read_settings(&form, staff.lang) {
        Ok(s) => {
            state
                .desk
                .set_council_settings(&staff.tenant, &staff.grant(), s)
                .await
                .map_err(|e| desk_error(&staff, e))?;
            let (keep, days) = keep_choice(s);
            Ok(settings_page(&staff, keep, days, None, true))
        }
        Err(why) => {
            let keep = match form.get("keep") {
                "remove" => "remove",
                "days" => "days",
                _ => "forever",
            };
            Ok(settings_page(&staff, keep, form.get("days").to_owned(), Some(why), false))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_member_line_reads_name_role_and_optional_e_mail() {
        let m = member_line("Maria Rossi; presidente; maria@comune.it", Lang::It).unwrap();
        assert_eq!(
            (m.name.as_str(), m.role, m.email.as_deref()),
            ("Maria Rossi", Role::Chair, Some("maria@comune.it"))
        );
        let m = member_line("  Luca Bianchi ;Consigliere ", Lang::It).unwrap();
        assert_eq!((m.name.as_str(), m.role, m.email), ("Luca Bianchi", Role::Councillor, None));
        assert!(member_line("Luca Bianchi", Lang::It).unwrap_err().contains("manca il ruolo"));
        assert!(member_line("Luca; re", Lang::En).unwrap_err().contains("unknown role"));
        assert!(member_line("Luca; sindaco; non una mail", Lang::It).unwrap_err().contains("e-mail non valida"));
        assert!(member_line("; sindaco", Lang::En).unwrap_err().contains("name is missing"));
    }

    #[test]
    fn the_retention_form_reads_forever_days_or_removal() {
        let form =
            |pairs: &[(&str, &str)]| Fields(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
        assert_eq!(read_settings(&form(&[("keep", "forever")]), Lang::It).unwrap().recording_keep_days, None);
        assert_eq!(read_settings(&form(&[("keep", "remove")]), Lang::It).unwrap().recording_keep_days, Some(0));
        assert_eq!(
            read_settings(&form(&[("keep", "days"), ("days", "30")]), Lang::It).unwrap().recording_keep_days,
            Some(30)
        );
        assert!(read_settings(&form(&[("keep", "days"), ("days", "0")]), Lang::En).is_err());
        assert!(read_settings(&form(&[("keep", "days"), ("days", "x")]), Lang::En).is_err());
        assert!(read_settings(&form(&[]), Lang::En).is_err());
    }
}
