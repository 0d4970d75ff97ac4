//! A town's privacy notice and accessibility statement, from its settings.
//!
//! The notice shown before booking and before a walk-in ticket names the data controller and
//! the DPO and states the basis a town relies on: a task in the public interest (GDPR art.
//! 6(1)(e)), not consent; the citizen declares having read it. The full notice is at
//! `/{tenant}/privacy`. The accessibility statement AgID requires is at `/{tenant}/accessibilita`,
//! linked from every footer: the town's own (a link or a text) when set, else one generated on
//! AgID's model, with the feedback address and AgID's enforcement procedure.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use ricevo_core::Lang;
use ricevo_store::Tenant;

use super::layout::{Ctx, Layout};
use super::texts::Texts;
use crate::error::ApiError;
use crate::lang::tr;
use crate::request;
use crate::state::AppState;

/// The routes of the town's privacy notice and accessibility statement.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/privacy", get(notice_page))
        .route("/{tenant}/accessibilita", get(accessibility_page))
        .route("/{tenant}/note-legali", get(legal_page))
}

/// The privacy notice's page of a town.
pub(crate) fn privacy_path(t: &Tenant) -> String {
    format!("/{}/privacy", t.slug)
}

/// The accessibility statement's page of a town.
pub(crate) fn accessibility_path(t: &Tenant) -> String {
    format!("/{}/accessibilita", t.slug)
}

/// AgID's page on the enforcement procedure (the Difensore civico per il digitale), for a
/// citizen whose feedback got no answer or an unsatisfactory one.
pub(crate) const AGID_PROCEDURE: &str = "https://www.agid.gov.it/it/design-servizi/accessibilita/procedura-attuazione";

/// The privacy and accessibility settings of a town; `None` where it set nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct TownNotice {
    /// The data controller (name and contacts).
    pub controller: Option<String>,
    /// How to reach the data protection officer.
    pub dpo: Option<String>,
    /// The legal basis in the town's words.
    pub legal_basis: Option<String>,
    /// The town's own accessibility statement, published elsewhere (AgID's form).
    pub statement_url: Option<String>,
    /// The town's own accessibility statement, as text.
    pub statement_text: Option<String>,
}

fn given(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

/// What a town set (the one place that reads these settings from [`Tenant`]). The controller
/// gets the town's address and PEC when the town gave them and the controller text lacks them.
pub(crate) fn town_notice(t: &Tenant) -> TownNotice {
    let controller = given(&t.privacy_controller).map(|c| {
        let mut c = c.trim_end_matches('.').to_owned();
        for extra in [&t.address, &t.pec] {
            if !extra.trim().is_empty() && !c.contains(extra.trim()) {
                c.push_str(", ");
                c.push_str(extra.trim());
            }
        }
        c
    });
    TownNotice {
        controller,
        dpo: given(&t.privacy_dpo_contact).map(|d| d.trim_end_matches('.').to_owned()),
        legal_basis: given(&t.privacy_legal_basis),
        statement_url: given(&t.accessibility_statement_url),
        statement_text: given(&t.accessibility_statement_text),
    }
}

/// The short notice above the booking and ticket forms.
pub(crate) struct Notice {
    /// "Data controller: ...".
    pub controller: String,
    /// "Data protection officer: ...".
    pub dpo: String,
    /// Why and on what basis.
    pub basis: String,
    /// The town's own words (its `privacy_notice` setting), if any.
    pub town_text: String,
    /// The full notice.
    pub href: String,
    /// The link's text.
    pub link: &'static str,
}

impl Notice {
    /// The notice of town `t` in the request's language.
    pub(crate) fn of(ctx: &Ctx, t: &Tenant) -> Notice {
        let facts = Facts::of(t, ctx.lang);
        Notice {
            controller: format!(
                "{}: {}.",
                tr(ctx.lang, "Titolare del trattamento", "Data controller"),
                facts.controller
            ),
            dpo: format!(
                "{}: {}.",
                tr(ctx.lang, "Responsabile della protezione dei dati (RPD/DPO)", "Data protection officer (DPO)"),
                facts.dpo
            ),
            basis: facts.basis,
            town_text: t.privacy_notice.trim().to_owned(),
            href: ctx.href(&privacy_path(t)),
            link: tr(ctx.lang, "Leggi l'informativa completa", "Read the full privacy notice"),
        }
    }
}

/// The facts every notice states, with defaults where the town set nothing.
struct Facts {
    controller: String,
    dpo: String,
    basis: String,
}

impl Facts {
    fn of(t: &Tenant, lang: Lang) -> Facts {
        let set = town_notice(t);
        let controller = set.controller.unwrap_or_else(|| match lang {
            Lang::It => format!("{}, contattabile all'indirizzo {}", t.name, t.contact_email),
            Lang::En => format!("{}, reachable at {}", t.name, t.contact_email),
        });
        let dpo = set.dpo.unwrap_or_else(|| match lang {
            Lang::It => {
                format!("il Responsabile della protezione dei dati del Comune, scrivendo a {}", t.contact_email)
            }
            Lang::En => format!("the town's data protection officer, by writing to {}", t.contact_email),
        });
        let basis = set.legal_basis.unwrap_or_else(|| {
            tr(
                lang,
                "I dati sono trattati per gestire la prenotazione, l'attesa e l'incontro con l'ufficio, \
                 nell'esecuzione di un compito di interesse pubblico o connesso all'esercizio di pubblici poteri \
                 del Comune (art. 6, par. 1, lett. e, del Regolamento UE 2016/679): il trattamento non si basa \
                 sul consenso.",
                "The data is processed to manage the booking, the wait and the meeting with the office, to carry \
                 out a task in the public interest or in the exercise of the town's official authority (art. 6(1)(e) \
                 of Regulation (EU) 2016/679): processing is not based on consent.",
            )
            .to_owned()
        });
        Facts { controller, dpo, basis }
    }
}

/// The full privacy notice of a town.
#[derive(Template)]
#[template(path = "privacy.html", whitespace = "minimize")]
struct NoticePage {
    l: Layout,
    t: &'static Texts,
    it: bool,
    town: String,
    controller: String,
    dpo: String,
    basis: String,
    retention_days: i32,
    town_text: String,
    contact: String,
    accessibility_href: String,
}

async fn notice_page(State(state): State<AppState>, ctx: Ctx, Path(slug): Path<String>) -> Response {
    let result = async {
        let t = request::tenant(&state, &slug, ctx.lang).await?;
        ctx.in_town(&t);
        let title = tr(ctx.lang, "Informativa sul trattamento dei dati personali", "Privacy notice");
        let crumbs =
            ctx.crumbs(vec![(t.name.clone(), Some(ctx.href(&format!("/{}", t.slug)))), (title.to_owned(), None)]);
        let facts = Facts::of(&t, ctx.lang);
        let page = NoticePage {
            l: ctx.layout(format!("{title} – {}", t.name), crumbs, Some(&t), false),
            t: ctx.t,
            it: ctx.lang == Lang::It,
            town: t.name.clone(),
            controller: facts.controller,
            dpo: facts.dpo,
            basis: facts.basis,
            retention_days: t.retention_days,
            town_text: t.privacy_notice.trim().to_owned(),
            contact: t.contact_email.clone(),
            accessibility_href: ctx.href(&accessibility_path(&t)),
        };
        Ok::<_, ApiError>(ctx.page(StatusCode::OK, &page))
    };
    result.await.unwrap_or_else(|e| ctx.error(&e, None))
}

/// The accessibility statement of a town.
#[derive(Template)]
#[template(path = "accessibility.html", whitespace = "minimize")]
struct AccessibilityPage {
    l: Layout,
    t: &'static Texts,
    it: bool,
    town: String,
    /// The town's own statement, published elsewhere.
    statement_url: Option<String>,
    /// The town's own statement, as paragraphs.
    statement_text: Vec<String>,
    /// Where this service is.
    service_url: String,
    /// The feedback mechanism: a mailto link with a subject.
    feedback_href: String,
    contact: String,
    agid: &'static str,
}

async fn accessibility_page(State(state): State<AppState>, ctx: Ctx, Path(slug): Path<String>) -> Response {
    let result = async {
        let t = request::tenant(&state, &slug, ctx.lang).await?;
        ctx.in_town(&t);
        let title = tr(ctx.lang, "Dichiarazione di accessibilità", "Accessibility statement");
        let crumbs =
            ctx.crumbs(vec![(t.name.clone(), Some(ctx.href(&format!("/{}", t.slug)))), (title.to_owned(), None)]);
        let set = town_notice(&t);
        let subject = tr(ctx.lang, "Segnalazione di accessibilità", "Accessibility feedback");
        let page = AccessibilityPage {
            l: ctx.layout(format!("{title} – {}", t.name), crumbs, Some(&t), false),
            t: ctx.t,
            it: ctx.lang == Lang::It,
            town: t.name.clone(),
            statement_url: set.statement_url.filter(|u| u.starts_with("https://") || u.starts_with("http://")),
            statement_text: set
                .statement_text
                .map(|s| s.split("\n\n").map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect())
                .unwrap_or_default(),
            service_url: format!("{}/{}", state.config.public_url, t.slug),
            feedback_href: format!(
                "mailto:{}?subject={}",
                t.contact_email,
                super::layout::encode(&format!("{subject} – {}", t.name))
            ),
            contact: t.contact_email.clone(),
            agid: AGID_PROCEDURE,
        };
        Ok::<_, ApiError>(ctx.page(StatusCode::OK, &page))
    };
    result.await.unwrap_or_else(|e| ctx.error(&e, None))
}

/// The legal notes of a town's booking pages (copyright, licences, links), as the national
/// model of municipal sites asks every footer to link.
#[derive(Template)]
#[template(path = "legal.html", whitespace = "minimize")]
struct LegalPage {
    l: Layout,
    t: &'static Texts,
    it: bool,
    town: String,
    pec: String,
    contact: String,
    privacy_href: String,
    accessibility_href: String,
}

async fn legal_page(State(state): State<AppState>, ctx: Ctx, Path(slug): Path<String>) -> Response {
    let result = async {
        let t = request::tenant(&state, &slug, ctx.lang).await?;
        ctx.in_town(&t);
        let title = ctx.t.legal_notes;
        let crumbs =
            ctx.crumbs(vec![(t.name.clone(), Some(ctx.href(&format!("/{}", t.slug)))), (title.to_owned(), None)]);
        let page = LegalPage {
            l: ctx.layout(format!("{title} – {}", t.name), crumbs, Some(&t), false),
            t: ctx.t,
            it: ctx.lang == Lang::It,
            town: t.name.clone(),
            pec: t.pec.trim().to_owned(),
            contact: t.contact_email.clone(),
            privacy_href: ctx.href(&privacy_path(&t)),
            accessibility_href: ctx.href(&accessibility_path(&t)),
        };
        Ok::<_, ApiError>(ctx.page(StatusCode::OK, &page))
    };
    result.await.unwrap_or_else(|e| ctx.error(&e, None))
}
