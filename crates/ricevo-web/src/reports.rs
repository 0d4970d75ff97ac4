//! Reports of the service for staff: `GET /{town}/staff/reports` (a period, an office and a
//! service chosen with a plain GET form; charts drawn here as SVG, each beside its table; a
//! print stylesheet for a clean printed or PDF report), `GET /{town}/staff/reports/export`
//! (each table as CSV, or every table as an ODS spreadsheet), and through the API
//! `GET /api/v1/{tenant}/reports` ([`api`]). The desk decides who sees which offices
//! (`ricevo_desk::reports`); no page or file names a citizen.

pub mod api;
mod export;
mod svg;
mod tables;

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ricevo_core::report::{Period, PeriodError, Report};
use ricevo_core::{Lang, OfficeId, ServiceId};
use ricevo_desk::reports::{ReportFilter, period_message};
use ricevo_store::Role;

use crate::error::InLang;
use crate::staff::common::{PageError, Staff, render};
use crate::staff::form::{Errors, Fields, tr};
use crate::staff::views::{Choice, ChoiceField, Field, Page, Summary};
use crate::state::AppState;
use svg::Bar;
use tables::{Cell, Table};

type QueryPairs = Result<axum::extract::Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

fn query_fields(q: QueryPairs, lang: Lang) -> Result<Fields, PageError> {
    q.map(|axum::extract::Query(pairs)| Fields(pairs)).map_err(|_| PageError::bad_request(lang, "query"))
}

/// The routes of the staff report pages.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/{tenant}/staff/reports", get(page))
        .route("/{tenant}/staff/reports/export", get(export_file))
}

/// A chart with its table and download links.
pub(crate) struct Block {
    /// The chart (inline SVG), if the table has one.
    pub(crate) svg: Option<String>,
    /// The table.
    pub(crate) table: Table,
    /// The CSV download.
    pub(crate) csv: String,
}

/// The report page.
#[derive(Template)]
#[template(path = "reports/report.html")]
pub(crate) struct ReportPage {
    pub(crate) p: Page,
    pub(crate) summary: Summary,
    pub(crate) from: Field,
    pub(crate) to: Field,
    pub(crate) office: ChoiceField,
    pub(crate) service: ChoiceField,
    /// "1 gennaio 2026 – 30 gennaio 2026" and the scope, when a report is shown.
    pub(crate) heading: String,
    pub(crate) blocks: Vec<Block>,
    /// The ODS of every table.
    pub(crate) ods: String,
}

impl ReportPage {
    fn cell(&self, c: &Cell) -> String {
        c.text(true)
    }
}

/// What the form asked for, checked.
struct Asked {
    period: Option<Period>,
    filter: ReportFilter,
    errors: Errors,
}

/// An id from a form or query: empty is none; anything but a positive number is an error.
fn id_of(raw: &str) -> Result<Option<i64>, ()> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<i64>().ok().filter(|n| *n > 0).map(Some).ok_or(())
}

fn read(state: &AppState, staff: &Staff, q: &Fields) -> Asked {
    let lang = staff.lang;
    let mut errors = Errors::default();
    let period = match Period::parse(Some(q.get("from")), Some(q.get("to")), state.desk.today_in(&staff.tenant)) {
        Ok(p) => Some(p),
        Err(e) => {
            let field = if matches!(e, PeriodError::From(_)) { "from" } else { "to" };
            errors.add(field, period_message(e, lang));
            None
        }
    };
    let mut filter = ReportFilter::default();
    match id_of(q.get("office")) {
        Ok(o) => filter.office = o.map(OfficeId),
        Err(()) => errors.add("office", tr(lang, "Ufficio sconosciuto.", "Unknown office.")),
    }
    match id_of(q.get("service")) {
        Ok(s) => filter.service = s.map(ServiceId),
        Err(()) => errors.add("service", tr(lang, "Servizio sconosciuto.", "Unknown service.")),
    }
    Asked { period, filter, errors }
}

/// The query string of a report (period and filter), for links.
fn query_of(period: &Period, filter: &ReportFilter, more: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> =
        vec![("from".into(), period.from.to_string()), ("to".into(), period.to.to_string())];
    if let Some(o) = filter.office {
        pairs.push(("office".into(), o.0.to_string()));
    }
    if let Some(s) = filter.service {
        pairs.push(("service".into(), s.0.to_string()));
    }
    pairs.extend(more.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn chart_of(table: &Table, lang: Lang) -> Option<String> {
    let bars = |t: &Table| -> Vec<Bar> {
        t.rows
            .iter()
            .filter_map(|r| match (r.first(), r.get(1)) {
                (Some(Cell::Text(label)), Some(Cell::Int(n))) => Some(Bar { label: label.clone(), value: *n }),
                _ => None,
            })
            .collect()
    };
    let id = format!("chart-{}", table.key);
    match table.key {
        "channels" | "modes" | "weekdays" => Some(svg::bars(&id, &table.title, &bars(table))),
        "hours" => Some(svg::columns(&id, &table.title, &bars(table), 3)),
        "satisfaction" => {
            let b = bars(table);
            // Fewer than five answers: no distribution, so no chart either.
            (!b.is_empty()).then(|| {
                let title = format!("{} ({})", table.title, tr(lang, "numero di risposte", "number of answers"));
                svg::bars(&id, &title, &b)
            })
        }
        _ => None,
    }
}

fn long_date(d: jiff::civil::Date, lang: Lang) -> String {
    crate::staff::views::short_date(d, lang)
}

/// `GET /{tenant}/staff/reports`.
pub(crate) async fn page(State(state): State<AppState>, staff: Staff, q: QueryPairs) -> Result<Response, PageError> {
    let lang = staff.lang;
    let fields = query_fields(q, lang)?;
    let Asked { period, filter, errors } = read(&state, &staff, &fields);
    let grant = staff.grant();
    let report = match period {
        Some(period) if errors.is_empty() => Some(
            state.desk.report(&staff.tenant, &grant, period, filter).await.in_lang(lang).map_err(|e| staff.err(e))?,
        ),
        _ => None,
    };
    let offices = state.store.offices(staff.tenant.id).await.map_err(|e| staff.err(e.into()))?;
    let services = state.store.services(staff.tenant.id).await.map_err(|e| staff.err(e.into()))?;
    let mine = |o: OfficeId| grant.role == Role::Admin || grant.offices.contains(&o);
    let t = |it, en| tr(lang, it, en).to_owned();
    let mut office_choices = vec![Choice {
        value: String::new(),
        label: if staff.is_admin() { t("Tutto il comune", "The whole town") } else { t("I miei uffici", "My offices") },
        selected: filter.office.is_none(),
    }];
    office_choices.extend(offices.iter().filter(|o| mine(o.id)).map(|o| Choice {
        value: o.id.0.to_string(),
        label: o.name.clone(),
        selected: filter.office == Some(o.id),
    }));
    let mut service_choices = vec![Choice {
        value: String::new(),
        label: t("Tutti i servizi", "All services"),
        selected: filter.service.is_none(),
    }];
    service_choices.extend(services.iter().filter(|s| mine(s.office_id)).map(|s| Choice {
        value: s.id.0.to_string(),
        label: s.name.clone(),
        selected: filter.service == Some(s.id),
    }));
    // The form shows the period actually reported (the default filled in).
    let mut shown = fields.clone();
    if let Some(p) = period {
        shown.0.retain(|(k, _)| k != "from" && k != "to");
        shown.0.push(("from".into(), p.from.to_string()));
        shown.0.push(("to".into(), p.to.to_string()));
    }
    let base = format!("{}/reports", staff.base());
    let (heading, blocks, ods) = match (&report, period) {
        (Some(r), Some(p)) => {
            let scope = match (filter.office, filter.service) {
                (_, Some(s)) => services.iter().find(|x| x.id == s).map(|x| x.name.clone()),
                (Some(o), None) => offices.iter().find(|x| x.id == o).map(|x| x.name.clone()),
                (None, None) if staff.is_admin() => Some(staff.tenant.name.clone()),
                (None, None) => Some(t("I miei uffici", "My offices")),
            }
            .unwrap_or_default();
            let heading = format!("{scope}: {} – {}", long_date(p.from, lang), long_date(p.to, lang));
            let blocks = tables::tables(r, lang)
                .into_iter()
                .map(|table| Block {
                    svg: chart_of(&table, lang),
                    csv: format!("{base}/export?{}", query_of(&p, &filter, &[("table", table.key), ("format", "csv")])),
                    table,
                })
                .collect();
            let ods = format!("{base}/export?{}", query_of(&p, &filter, &[("table", "all"), ("format", "ods")]));
            (heading, blocks, ods)
        }
        _ => (String::new(), Vec::new(), String::new()),
    };
    let page = ReportPage {
        p: staff.page(staff.t("Statistiche del servizio", "Service reports")),
        summary: Summary::of(&errors),
        from: Field::new("from", tr(lang, "Dal giorno", "From"), "date", &shown, &errors),
        to: Field::new("to", tr(lang, "Al giorno", "To"), "date", &shown, &errors),
        office: ChoiceField::new("office", tr(lang, "Ufficio", "Office"), office_choices, &errors),
        service: ChoiceField::new("service", tr(lang, "Servizio", "Service"), service_choices, &errors),
        heading,
        blocks,
        ods,
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render(status, &page))
}

/// `GET /{tenant}/staff/reports/export?table=KEY&format=csv|ods` (`table=all` for every
/// table in one ODS), with the page's period and filter.
pub(crate) async fn export_file(
    State(state): State<AppState>,
    staff: Staff,
    q: QueryPairs,
) -> Result<Response, PageError> {
    let lang = staff.lang;
    let fields = query_fields(q, lang)?;
    let bad = |it: &'static str, en: &'static str| {
        staff.err(crate::error::ApiError::BadRequest(lang, tr(lang, it, en).into()))
    };
    let format = fields.get("format");
    if format != "csv" && format != "ods" {
        return Err(bad("Formato sconosciuto: scegli csv o ods.", "Unknown format: choose csv or ods."));
    }
    let key = fields.get("table").to_owned();
    let known = tables::KEYS.contains(&key.as_str()) || (key == "all" && format == "ods");
    if !known {
        return Err(bad(
            "Tabella sconosciuta (con il formato csv scegli una tabella alla volta).",
            "Unknown table (with the csv format choose one table at a time).",
        ));
    }
    let Asked { period, filter, errors } = read(&state, &staff, &fields);
    let period = match (period, errors.0.first()) {
        (Some(p), None) => p,
        (_, Some((_, message))) => return Err(staff.err(crate::error::ApiError::BadRequest(lang, message.clone()))),
        (None, None) => return Err(bad("Periodo non valido.", "Invalid period.")),
    };
    let report: Report = state
        .desk
        .report(&staff.tenant, &staff.grant(), period, filter)
        .await
        .in_lang(lang)
        .map_err(|e| staff.err(e))?;
    let all = tables::tables(&report, lang);
    let name = format!("ricevo-{}-{}-{}-{key}", staff.tenant.slug, period.from, period.to);
    let (body, content_type, ext) = if format == "csv" {
        let table = all.iter().find(|t| t.key == key).ok_or_else(|| staff.not_found())?;
        (export::csv(table), "text/csv; charset=utf-8", "csv")
    } else {
        let chosen: Vec<&Table> = all.iter().filter(|t| key == "all" || t.key == key).collect();
        (export::ods(&chosen), export::ODS_TYPE, "ods")
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.{ext}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}
