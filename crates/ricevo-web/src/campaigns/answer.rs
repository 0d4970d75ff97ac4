//! What a contact's personal link opens: the campaign's questionnaire (`/{town}/sondaggio/{token}`),
//! answered once, and the unsubscribe (`/{town}/disiscriviti/{token}`).
//!
//! Unsubscribing takes a POST: a confirmation button on the page (mail scanners follow links,
//! they do not press buttons) or the one-click POST of RFC 8058 that mail clients send from
//! the List-Unsubscribe header. The token is the credential, so that POST needs no form token.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use ricevo_core::survey::SurveyStatus;
use ricevo_desk::DeskError;
use ricevo_desk::campaigns::Unsubscribed;
use ricevo_store::Tenant;

use crate::error::{ApiError, InLang};
use crate::lang::tr;
use crate::pages::layout::{CSRF_FIELD, Ctx, Layout};
use crate::pages::texts::Texts;
use crate::state::AppState;
use crate::survey::form::{self, SurveyView};

/// The questionnaire of a campaign.
#[derive(Template)]
#[template(path = "campaigns/answer.html", whitespace = "minimize")]
struct AnswerPage {
    l: Layout,
    t: &'static Texts,
    heading: String,
    intro: String,
    action: String,
    csrf: String,
    survey: SurveyView,
    send: &'static str,
}

/// A short page with a heading, a message and maybe a button.
#[derive(Template)]
#[template(path = "campaigns/message.html", whitespace = "minimize")]
struct MessagePage {
    l: Layout,
    t: &'static Texts,
    heading: String,
    message: String,
    success: bool,
    /// A form posting to `.0` with the button `.1`.
    button: Option<(String, String)>,
}

fn message(
    ctx: &Ctx,
    tenant: &Tenant,
    status: StatusCode,
    heading: &str,
    text: String,
    success: bool,
    button: Option<(String, String)>,
) -> Response {
    let crumbs = ctx
        .crumbs(vec![(tenant.name.clone(), Some(ctx.href(&format!("/{}", tenant.slug)))), (heading.to_owned(), None)]);
    let with_form = button.is_some();
    let page = MessagePage {
        l: ctx.layout(format!("{heading} – {}", tenant.name), crumbs, Some(tenant), true),
        t: ctx.t,
        heading: heading.to_owned(),
        message: text,
        success,
        button,
    };
    if with_form { ctx.form_page(status, &page) } else { ctx.page(status, &page) }
}

fn already(ctx: &Ctx, tenant: &Tenant) -> Response {
    let l = ctx.lang;
    message(
        ctx,
        tenant,
        StatusCode::CONFLICT,
        tr(l, "Hai già risposto", "You have already answered"),
        tr(
            l,
            "Questo link vale per una sola risposta, e la tua è già arrivata. Grazie!",
            "This link takes one answer, and yours has arrived. Thank you!",
        )
        .to_owned(),
        false,
        None,
    )
}

fn closed(ctx: &Ctx, tenant: &Tenant) -> Response {
    let l = ctx.lang;
    message(
        ctx,
        tenant,
        StatusCode::GONE,
        tr(l, "Questionario chiuso", "Questionnaire closed"),
        tr(
            l,
            "Il questionario è chiuso: non raccoglie più risposte. Grazie comunque!",
            "The questionnaire is closed and takes no more answers. Thank you anyway!",
        )
        .to_owned(),
        false,
        None,
    )
}

async fn town(state: &AppState, ctx: &Ctx, slug: &str) -> Result<Tenant, Response> {
    let tenant = crate::request::tenant(state, slug, ctx.lang).await.map_err(|e| ctx.error(&e, None))?;
    ctx.in_town(&tenant);
    Ok(tenant)
}

fn answer_page(
    ctx: &Ctx,
    tenant: &Tenant,
    token: &str,
    title: &str,
    intro: &str,
    survey: SurveyView,
    status: StatusCode,
) -> Response {
    let heading = title.to_owned();
    let crumbs =
        ctx.crumbs(vec![(tenant.name.clone(), Some(ctx.href(&format!("/{}", tenant.slug)))), (heading.clone(), None)]);
    let page = AnswerPage {
        l: ctx.layout(format!("{heading} – {}", tenant.name), crumbs, Some(tenant), true),
        t: ctx.t,
        heading,
        intro: intro.to_owned(),
        action: ctx.href(&format!("/{}/sondaggio/{token}", tenant.slug)),
        csrf: ctx.csrf.clone(),
        survey,
        send: tr(ctx.lang, "Invia le risposte", "Send the answers"),
    };
    ctx.form_page(status, &page)
}

/// `GET /{town}/sondaggio/{token}`: the questionnaire, or why it cannot be answered.
pub(crate) async fn form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let tenant = match town(&state, &ctx, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (link, q) = match state.desk.campaign_survey(&tenant, &token).await.in_lang(ctx.lang) {
        Ok(x) => x,
        Err(e) => return ctx.error(&e, None),
    };
    if link.answered_at.is_some() {
        return already(&ctx, &tenant);
    }
    if !link.campaign.status.takes_answers() || q.status != SurveyStatus::Open {
        return closed(&ctx, &tenant);
    }
    let survey = SurveyView::new(&q.definition, ctx.lang);
    answer_page(&ctx, &tenant, &token, &q.title, link.campaign.intro(ctx.lang), survey, StatusCode::OK)
}

/// `POST /{town}/sondaggio/{token}`: the answers, stored once with channel e-mail.
pub(crate) async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, token)): Path<(String, String)>,
    posted: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let tenant = match town(&state, &ctx, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let pairs = match posted {
        Ok(Form(p)) => p,
        Err(_) => {
            return ctx.error(
                &ApiError::BadRequest(ctx.lang, tr(ctx.lang, "modulo non leggibile", "unreadable form").into()),
                None,
            );
        }
    };
    let csrf = pairs.iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.as_str());
    if !ctx.csrf_ok(csrf) {
        return ctx.csrf_refused(ctx.href(&format!("/{slug}/sondaggio/{token}")));
    }
    let (link, q) = match state.desk.campaign_survey(&tenant, &token).await.in_lang(ctx.lang) {
        Ok(x) => x,
        Err(e) => return ctx.error(&e, None),
    };
    let answers = match form::read(&q.definition, &pairs) {
        Ok(a) => a,
        Err(err) => {
            let survey = SurveyView::refill(&q.definition, ctx.lang, &pairs, Some(&err));
            return answer_page(
                &ctx,
                &tenant,
                &token,
                &q.title,
                link.campaign.intro(ctx.lang),
                survey,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    match state.desk.answer_campaign(&tenant, &token, answers, ctx.lang).await {
        Ok(()) => {
            let l = ctx.lang;
            message(
                &ctx,
                &tenant,
                StatusCode::OK,
                tr(l, "Grazie!", "Thank you!"),
                tr(
                    l,
                    "Le tue risposte sono arrivate. Ci aiutano a migliorare i servizi del Comune.",
                    "Your answers have arrived. They help the town improve its services.",
                )
                .to_owned(),
                true,
                None,
            )
        }
        Err(DeskError::Conflict) => already(&ctx, &tenant),
        Err(DeskError::NotActive) => closed(&ctx, &tenant),
        Err(e) => ctx.error(&ApiError::from_desk(ctx.lang, e), None),
    }
}

/// `GET /{town}/disiscriviti/{token}`: asks to confirm with a button.
pub(crate) async fn unsubscribe_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let tenant = match town(&state, &ctx, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let link = match state.desk.campaign_link(&tenant, &token).await.in_lang(ctx.lang) {
        Ok(l) => l,
        Err(e) => return ctx.error(&e, None),
    };
    let l = ctx.lang;
    if link.unsubscribed_at.is_some() {
        return message(
            &ctx,
            &tenant,
            StatusCode::OK,
            tr(l, "Sei già disiscritto", "Already unsubscribed"),
            tr(
                l,
                "Il tuo indirizzo non riceve più questionari da questo Comune.",
                "Your address gets no more questionnaires from this town.",
            )
            .to_owned(),
            true,
            None,
        );
    }
    message(
        &ctx,
        &tenant,
        StatusCode::OK,
        tr(l, "Non ricevere più questionari", "Stop receiving questionnaires"),
        format!(
            "{} {}",
            tr(
                l,
                "Premi il pulsante e non ti scriveremo più per i questionari di",
                "Press the button and we will not write to you again with questionnaires of"
            ),
            tenant.name
        ),
        false,
        Some((ctx.href(&format!("/{slug}/disiscriviti/{token}")), tr(l, "Disiscrivimi", "Unsubscribe me").to_owned())),
    )
}

/// `POST /{town}/disiscriviti/{token}`: unsubscribes at once (the page's button, or RFC 8058).
pub(crate) async fn unsubscribe(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let tenant = match town(&state, &ctx, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let l = ctx.lang;
    match state.desk.unsubscribe(&tenant, &token).await {
        Ok(Unsubscribed::Now | Unsubscribed::Already) => message(
            &ctx,
            &tenant,
            StatusCode::OK,
            tr(l, "Fatto: sei disiscritto", "Done: you are unsubscribed"),
            tr(
                l,
                "Non riceverai più questionari da questo Comune, nemmeno da quelli già in corso.",
                "You will get no more questionnaires from this town, not even from those already running.",
            )
            .to_owned(),
            true,
            None,
        ),
        Err(e) => ctx.error(&ApiError::from_desk(l, e), None),
    }
}
