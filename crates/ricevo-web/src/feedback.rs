//! After-contact feedback pages: `/{town}/feedback/{token}`, the personal link of the
//! follow-up e-mail, and the form on a video call's closing page, posted to the citizen's own
//! link (`/a/{token}/feedback`) so the request's token never reaches a page (and an official's
//! or invitee's link finds no request at all). Both show the Designers Italia questions plus
//! the town's extra ones (`survey`'s partial) and store the answer through
//! `Desk::answer_feedback`: once, before the link expires, without the citizen's identity.

use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use ricevo_core::Lang;
use ricevo_core::feedback::{ContactMode, Refusal, answerable};
use ricevo_core::lobby::{Entry, EntryStatus};
use ricevo_core::survey::{Questionnaire, QuestionnaireId};
use ricevo_store::{FeedbackRequest, Tenant};

use crate::assets;
use crate::error::{ApiError, InLang};
use crate::pages::layout::{CSRF_FIELD, Ctx, Layout};
use crate::pages::texts::Texts;
use crate::room::texts::room_texts;
use crate::state::AppState;
use crate::survey::form::{self, SurveyView};

type Posted = Result<Form<Vec<(String, String)>>, FormRejection>;
/// A form's fields, in order.
type Pairs = Vec<(String, String)>;

/// The routes of the feedback pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/feedback/{token}", get(page).post(submit))
        .route("/a/{token}/feedback", post(closing_submit))
}

/// The words of the feedback pages.
pub(crate) struct FeedbackTexts {
    title: &'static str,
    intro: &'static str,
    office: &'static str,
    service: &'static str,
    contact: &'static str,
    send: &'static str,
    anonymous: &'static str,
    thanks_title: &'static str,
    thanks_text: &'static str,
    back_home: &'static str,
}

const IT: FeedbackTexts = FeedbackTexts {
    title: "Com'è andata?",
    intro: "Ci aiuti a migliorare il servizio? Bastano pochi clic.",
    office: "Ufficio",
    service: "Servizio",
    contact: "Contatto",
    send: "Invia la risposta",
    anonymous: "Le risposte sono anonime: l'ufficio non vede chi le ha date.",
    thanks_title: "Grazie!",
    thanks_text: "La tua risposta è stata registrata. Ci aiuterà a migliorare il servizio.",
    back_home: "Torna alla pagina del Comune",
};

const EN: FeedbackTexts = FeedbackTexts {
    title: "How did it go?",
    intro: "Will you help us improve the service? It takes a few clicks.",
    office: "Office",
    service: "Service",
    contact: "Contact",
    send: "Send your answer",
    anonymous: "Answers are anonymous: the office does not see who gave them.",
    thanks_title: "Thank you!",
    thanks_text: "Your answer has been recorded. It will help us improve the service.",
    back_home: "Back to the town's page",
};

fn texts(lang: Lang) -> &'static FeedbackTexts {
    match lang {
        Lang::It => &IT,
        Lang::En => &EN,
    }
}

fn mode_words(mode: ContactMode, lang: Lang) -> &'static str {
    match (mode, lang) {
        (ContactMode::Video, Lang::It) => "videochiamata",
        (ContactMode::InPerson, Lang::It) => "appuntamento in presenza",
        (ContactMode::Phone, Lang::It) => "telefonata",
        (ContactMode::WalkIn, Lang::It) => "sportello senza appuntamento",
        (ContactMode::Video, Lang::En) => "video call",
        (ContactMode::InPerson, Lang::En) => "visit to the office",
        (ContactMode::Phone, Lang::En) => "phone call",
        (ContactMode::WalkIn, Lang::En) => "walk-in desk",
    }
}

/// The feedback page of a follow-up e-mail's link.
#[derive(Template)]
#[template(path = "feedback/page.html", whitespace = "minimize")]
struct FeedbackPage {
    l: Layout,
    t: &'static Texts,
    f: &'static FeedbackTexts,
    facts: Vec<(&'static str, String)>,
    action: String,
    csrf: String,
    survey: SurveyView,
}

/// The call's closing page with the feedback form (or the thanks, once answered).
#[derive(Template)]
#[template(path = "feedback/closing.html", whitespace = "minimize")]
struct ClosingPage {
    l: Layout,
    t: &'static Texts,
    f: &'static FeedbackTexts,
    title: &'static str,
    message: &'static str,
    /// Said instead of the form (answered already).
    notice: Option<&'static str>,
    form: Option<ClosingForm>,
}

/// The form on a closing page.
struct ClosingForm {
    action: String,
    csrf: String,
    survey: SurveyView,
}

/// The thank-you page after an answer.
#[derive(Template)]
#[template(path = "feedback/thanks.html", whitespace = "minimize")]
struct ThanksPage {
    l: Layout,
    t: &'static Texts,
    f: &'static FeedbackTexts,
    home: String,
}

/// What a posted form holds besides its token: the answers, in their order. A body that is
/// not a form, or too large, is refused with its own status (413 for too large).
fn answers_of(posted: &Posted, lang: Lang) -> Result<(Option<String>, Pairs), ApiError> {
    let Form(pairs) = match posted {
        Ok(form) => form,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(ApiError::TooLarge(lang)),
        Err(rejection) => return Err(ApiError::BadRequest(lang, rejection.body_text())),
    };
    let csrf = pairs.iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.clone());
    Ok((csrf, pairs.iter().filter(|(k, _)| k != CSRF_FIELD).cloned().collect()))
}

/// The page that refuses an answer: 409 answered, 410 expired, in the request's language.
fn refused(ctx: &Ctx, tenant: &Tenant, why: Refusal) -> Response {
    let status = match why {
        Refusal::Answered => StatusCode::CONFLICT,
        Refusal::Expired => StatusCode::GONE,
    };
    let home = ctx.href(&format!("/{}", tenant.slug));
    ctx.problem(status, why.title(ctx.lang), why.message(ctx.lang).to_owned(), Some((texts(ctx.lang).back_home, home)))
}

fn thanks(ctx: &Ctx, tenant: &Tenant) -> Response {
    let f = texts(ctx.lang);
    let page = ThanksPage {
        l: ctx.layout(
            format!("{} – {}", f.thanks_title, tenant.name),
            ctx.crumbs(vec![
                (tenant.name.clone(), Some(ctx.href(&format!("/{}", tenant.slug)))),
                (f.thanks_title.into(), None),
            ]),
            Some(tenant),
            true,
        ),
        t: ctx.t,
        f,
        home: ctx.href(&format!("/{}", tenant.slug)),
    };
    ctx.page(StatusCode::OK, &page)
}

/// The office's and service's names and the mode, for the page.
async fn facts(state: &AppState, ctx: &Ctx, r: &FeedbackRequest) -> Vec<(&'static str, String)> {
    let f = texts(ctx.lang);
    let mut facts = Vec::new();
    if let Ok(Some(o)) = state.store.office(r.tenant_id, r.office_id).await {
        facts.push((f.office, o.name));
    }
    if let Some(id) = r.service_id
        && let Ok(Some(s)) = state.store.service(r.tenant_id, id).await
    {
        facts.push((f.service, s.name));
    }
    facts.push((f.contact, mode_words(r.mode, ctx.lang).to_owned()));
    facts
}

/// Renders the feedback page of `r`, filled with `form` and the refusal `error` if any.
async fn feedback_page(
    state: &AppState,
    ctx: &Ctx,
    tenant: &Tenant,
    r: &FeedbackRequest,
    q: &Questionnaire,
    form: &[(String, String)],
    error: Option<&ricevo_core::survey::SurveyError>,
) -> Response {
    let f = texts(ctx.lang);
    let title = f.title;
    let page = FeedbackPage {
        l: ctx.layout(
            format!("{title} – {}", tenant.name),
            ctx.crumbs(vec![(tenant.name.clone(), Some(ctx.href(&format!("/{}", tenant.slug)))), (title.into(), None)]),
            Some(tenant),
            true,
        ),
        t: ctx.t,
        f,
        facts: facts(state, ctx, r).await,
        action: ctx.here(),
        csrf: ctx.csrf.clone(),
        survey: SurveyView::refill(q, ctx.lang, form, error),
    };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    ctx.form_page(status, &page)
}

/// `GET /{town}/feedback/{token}`: the questions, or why they take no answer.
async fn page(State(state): State<AppState>, ctx: Ctx, Path((slug, token)): Path<(String, String)>) -> Response {
    let run = async {
        if let Ok(t) = state.desk.town(&slug).await {
            ctx.in_town(&t);
        }
        let (tenant, r) = state.desk.feedback_by_token(&slug, &token).await.in_lang(ctx.lang)?;
        if let Err(why) = answerable(r.answered_at, r.expires_at, state.now()) {
            return Ok(refused(&ctx, &tenant, why));
        }
        let (q, _) = state.desk.feedback_questions(&r).await.in_lang(ctx.lang)?;
        Ok::<_, ApiError>(feedback_page(&state, &ctx, &tenant, &r, &q, &[], None).await)
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}

/// `POST /{town}/feedback/{token}`: checks the answers and stores them once.
async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, token)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let run = async {
        if let Ok(t) = state.desk.town(&slug).await {
            ctx.in_town(&t);
        }
        let (tenant, r) = state.desk.feedback_by_token(&slug, &token).await.in_lang(ctx.lang)?;
        let (csrf, pairs) = answers_of(&posted, ctx.lang)?;
        if !ctx.csrf_ok(csrf.as_deref()) {
            return Ok(ctx.csrf_refused(ctx.here()));
        }
        if let Err(why) = answerable(r.answered_at, r.expires_at, state.now()) {
            return Ok(refused(&ctx, &tenant, why));
        }
        let (q, extra) = state.desk.feedback_questions(&r).await.in_lang(ctx.lang)?;
        let answers = match form::read(&q, &pairs) {
            Ok(a) => a,
            Err(e) => return Ok(feedback_page(&state, &ctx, &tenant, &r, &q, &pairs, Some(&e)).await),
        };
        Ok::<_, ApiError>(
            match state.desk.answer_feedback(&r, &q, extra, answers, ctx.lang).await.in_lang(ctx.lang)? {
                Ok(_) => thanks(&ctx, &tenant),
                Err(why) => refused(&ctx, &tenant, why),
            },
        )
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}

/// The closing page of a citizen's link whose meeting is over, with the feedback form when
/// their appointment or ticket has an open request; `None` when there is none (an invitee's or
/// official's link, or a contact never asked): the usual closing page is shown.
pub(crate) async fn closing_page(
    state: &AppState,
    ctx: &Ctx,
    tenant: &Tenant,
    entry: &Entry,
    token: &str,
) -> Option<Response> {
    if entry.status != EntryStatus::Done {
        return None;
    }
    let r = match state.desk.closing_feedback(tenant, entry).await {
        Ok(r) => r?,
        Err(e) => {
            tracing::warn!(error = %e, "the closing page shows no feedback form");
            return None;
        }
    };
    let q = match answerable(r.answered_at, r.expires_at, state.now()) {
        Ok(()) => Some(state.desk.feedback_questions(&r).await.ok()?.0),
        Err(_) => None,
    };
    Some(render_closing(ctx, tenant, &r, q.as_ref(), token, &[], None))
}

fn render_closing(
    ctx: &Ctx,
    tenant: &Tenant,
    r: &FeedbackRequest,
    q: Option<&Questionnaire>,
    token: &str,
    form: &[(String, String)],
    error: Option<&ricevo_core::survey::SurveyError>,
) -> Response {
    let rt = room_texts(ctx.lang);
    let notice = r.answered_at.is_some().then(|| Refusal::Answered.message(ctx.lang));
    let form = q.map(|q| ClosingForm {
        action: ctx.href(&format!("/a/{token}/feedback")),
        csrf: ctx.csrf.clone(),
        survey: SurveyView::refill(q, ctx.lang, form, error),
    });
    let page = ClosingPage {
        l: Layout {
            extra_css: Some(assets::url("room.css")),
            ..ctx.layout(format!("{} – {}", rt.closed_title, tenant.name), ctx.crumbs(Vec::new()), Some(tenant), true)
        },
        t: ctx.t,
        f: texts(ctx.lang),
        title: rt.closed_title,
        message: rt.closed_text,
        notice,
        form,
    };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    ctx.form_page(status, &page)
}

/// `POST /a/{token}/feedback`: the closing page's answer, found through the citizen's own link.
async fn closing_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    posted: Posted,
) -> Response {
    let run = async {
        let opened = state.desk.open(&token).await.in_lang(ctx.lang)?;
        let tenant = opened.tenant;
        ctx.in_town(&tenant);
        let (csrf, pairs) = answers_of(&posted, ctx.lang)?;
        if !ctx.csrf_ok(csrf.as_deref()) {
            return Ok(ctx.csrf_refused(ctx.href(&format!("/a/{token}/join"))));
        }
        let r = match state.desk.closing_feedback(&tenant, &opened.entry).await.in_lang(ctx.lang)? {
            Some(r) if opened.entry.status == EntryStatus::Done => r,
            _ => return Err(ApiError::NotFound(ctx.lang)),
        };
        if let Err(why) = answerable(r.answered_at, r.expires_at, state.now()) {
            return Ok(refused(&ctx, &tenant, why));
        }
        let (q, extra): (Questionnaire, Option<QuestionnaireId>) =
            state.desk.feedback_questions(&r).await.in_lang(ctx.lang)?;
        let answers = match form::read(&q, &pairs) {
            Ok(a) => a,
            Err(e) => return Ok(render_closing(&ctx, &tenant, &r, Some(&q), &token, &pairs, Some(&e))),
        };
        Ok::<_, ApiError>(
            match state.desk.answer_feedback(&r, &q, extra, answers, ctx.lang).await.in_lang(ctx.lang)? {
                Ok(_) => thanks(&ctx, &tenant),
                Err(why) => refused(&ctx, &tenant, why),
            },
        )
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}

/// Where a citizen's page goes when their meeting ends: its closing page with the feedback
/// form, when they were asked; `None` for everyone else (the page shows its own closing part).
pub(crate) async fn after_meeting_url(
    state: &AppState,
    tenant: &Tenant,
    entry: &Entry,
    token: &str,
    lang: Lang,
) -> Option<String> {
    let r = state.desk.closing_feedback(tenant, entry).await.ok()??;
    answerable(r.answered_at, r.expires_at, state.now()).ok()?;
    let query = if lang == Lang::En { "?lang=en" } else { "" };
    Some(format!("/a/{token}/join{query}"))
}
