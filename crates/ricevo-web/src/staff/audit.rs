//! The town's audit log for its administrators: who did what to which record, newest first,
//! filtered by act, by account and by days, fifty entries a page.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::civil::Date;
use ricevo_core::audit::{Act, Actor, Subject};
use ricevo_core::{Lang, UserId};
use ricevo_desk::town::zone_of;
use ricevo_store::{AuditEntry, AuditFilter};

use super::common::{Errors, Fields, PageError, Staff, render};
use super::day::{QueryPairs, query_fields};
use super::form::tr;
use super::views::{AuditPage, AuditRow, Choice, ChoiceField, Field, Summary};
use crate::error::InLang;
use crate::state::AppState;

/// An act in words, in `lang`.
pub(crate) fn act_name(act: Act, lang: Lang) -> &'static str {
    let (it, en) = match act {
        Act::SignIn => ("Accesso", "Sign-in"),
        Act::SignInFailed => ("Accesso non riuscito", "Failed sign-in"),
        Act::SignOut => ("Uscita", "Sign-out"),
        Act::AppointmentBooked => ("Prenotazione per conto del cittadino", "Booking on a citizen's behalf"),
        Act::AppointmentMoved => ("Appuntamento spostato", "Appointment moved"),
        Act::AppointmentCancelled => ("Appuntamento annullato", "Appointment cancelled"),
        Act::AppointmentStatus => ("Stato dell'appuntamento", "Appointment status"),
        Act::EntryAdmitted => ("Ammesso alla videochiamata", "Admitted to the call"),
        Act::EntryHeld => ("Invitato ad attendere", "Asked to wait"),
        Act::EntryRefused => ("Respinto", "Refused"),
        Act::EntryNoShow => ("Segnato come assente", "Marked as not present"),
        Act::EntryTransferred => ("Trasferito ad altro ufficio", "Sent to another office"),
        Act::MeetingModerated => ("Moderazione della riunione", "Meeting moderation"),
        Act::MeetingEnded => ("Riunione terminata", "Meeting ended"),
        Act::DocumentDownloaded => ("Documento scaricato", "Document downloaded"),
        Act::CitizenExported => ("Dati del cittadino esportati", "Citizen's data exported"),
        Act::CitizenErased => ("Dati del cittadino cancellati", "Citizen's data erased"),
        Act::AccountCreated => ("Account creato", "Account created"),
        Act::AccountChanged => ("Account modificato", "Account changed"),
        Act::AccountDisabled => ("Account disattivato", "Account disabled"),
        Act::AccountEnabled => ("Account riattivato", "Account enabled"),
        Act::PasswordChanged => ("Password cambiata", "Password changed"),
        Act::SecondFactorChanged => ("Secondo fattore modificato", "Second factor changed"),
        Act::TokenCreated => ("Token API creato", "API token created"),
        Act::TokenRevoked => ("Token API revocato", "API token revoked"),
        Act::WebhookAdded => ("Webhook aggiunto", "Webhook added"),
        Act::WebhookRemoved => ("Webhook rimosso", "Webhook removed"),
        Act::SettingsChanged => ("Impostazioni del comune", "Town settings"),
        Act::OfficeChanged => ("Ufficio modificato", "Office changed"),
        Act::QuestionnaireChanged => ("Questionario modificato", "Questionnaire changed"),
        Act::ContactsImported => ("Contatti importati", "Contacts imported"),
        Act::CampaignChanged => ("Campagna modificata", "Campaign changed"),
    };
    tr(lang, it, en)
}

/// Who acted, in words.
fn actor_name(actor: &Actor, lang: Lang) -> String {
    let t = |it, en| tr(lang, it, en).to_owned();
    match actor {
        Actor::Staff { name, .. } => name.clone(),
        Actor::Token { label, .. } => format!("{}: {label}", t("Token API", "API token")),
        Actor::Official { name } => format!("{} ({})", name, t("dal collegamento", "by link")),
        Actor::Citizen => t("Il cittadino", "The citizen"),
        Actor::Anonymous { name } if name.is_empty() => t("Sconosciuto", "Unknown"),
        Actor::Anonymous { name } => format!("{} ({name})", t("Sconosciuto", "Unknown")),
        Actor::System => t("Sistema", "System"),
    }
}

/// What was acted on, in words.
fn subject_name(subject: &Subject, lang: Lang) -> String {
    let t = |it, en| tr(lang, it, en);
    match subject {
        Subject::Appointment(id) => format!("{} {}", t("Appuntamento", "Appointment"), id.0),
        Subject::Entry(id) => format!("{} {}", t("Posto in attesa", "Waiting place"), id.0),
        Subject::Meeting(id) => format!("{} {}", t("Riunione", "Meeting"), id.0),
        Subject::Document(id) => format!("{} {}", t("Documento", "Document"), id.0),
        Subject::Account(id) => format!("{} {}", t("Account", "Account"), id.0),
        Subject::Token(id) => format!("{} {id}", t("Token", "Token")),
        Subject::Webhook(id) => format!("Webhook {id}"),
        Subject::Office(id) => format!("{} {}", t("Ufficio", "Office"), id.0),
        Subject::Service(id) => format!("{} {}", t("Servizio", "Service"), id.0),
        Subject::Town => t("Comune", "Town").to_owned(),
        Subject::Questionnaire(id) => format!("{} {id}", t("Questionario", "Questionnaire")),
        Subject::Campaign(id) => format!("{} {id}", t("Campagna", "Campaign")),
    }
}

/// The details the desk and the sign-in page record, in words; anything else (a URL, a
/// label, a status change) as recorded.
fn detail_words(detail: &str, lang: Lang) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("wrong password", "password errata"),
        ("unknown account", "account inesistente"),
        ("reset by an administrator", "reimpostata da un amministratore"),
        ("created", "creato"),
        ("description", "descrizione"),
        ("hours", "orari"),
        ("walk-in desk", "sportello senza appuntamento"),
        ("service created", "servizio creato"),
        ("service changed", "servizio modificato"),
        ("call next", "chiama il prossimo"),
        ("mute", "microfono disattivato"),
        ("unmute", "microfono riattivato"),
        ("remove", "allontanato"),
    ];
    match (lang, WORDS.iter().find(|(en, _)| *en == detail)) {
        (Lang::It, Some((_, it))) => (*it).to_owned(),
        _ => detail.to_owned(),
    }
}

/// The filters of the page, read from its query.
struct Query {
    filter: AuditFilter,
    errors: Errors,
}

// `who`: as the API reads it (see [`crate::audit_api::parse_who`]), or empty for everyone.
fn parse_who(raw: &str) -> Option<Option<(String, Option<i64>)>> {
    if raw.is_empty() { Some(None) } else { crate::audit_api::parse_who(raw).map(Some) }
}

fn parse_day(raw: &str) -> Option<Option<Date>> {
    if raw.is_empty() {
        return Some(None);
    }
    raw.parse::<Date>().ok().filter(|d| (2000..=2199).contains(&d.year())).map(Some)
}

fn read_query(staff: &Staff, q: &Fields) -> Query {
    let lang = staff.lang;
    let zone = zone_of(&staff.tenant);
    let mut errors = Errors::default();
    let mut filter = AuditFilter::default();
    match q.get("act") {
        "" => {}
        code => match Act::parse(code) {
            Some(act) => filter.act = Some(act),
            None => errors.add("act", tr(lang, "Azione sconosciuta.", "Unknown action.")),
        },
    }
    match parse_who(q.get("who")) {
        Some(actor) => filter.actor = actor,
        None => errors.add("who", tr(lang, "Autore sconosciuto.", "Unknown author.")),
    }
    let day_error = tr(lang, "Data non valida (aaaa-mm-gg).", "Invalid date (yyyy-mm-dd).");
    let start_of = |d: Date| d.to_zoned(zone.clone()).ok().map(|z| z.timestamp());
    match parse_day(q.get("from")) {
        Some(d) => filter.from = d.and_then(start_of),
        None => errors.add("from", day_error),
    }
    match parse_day(q.get("to")) {
        // Up to the end of that day.
        Some(d) => filter.until = d.and_then(|d| d.tomorrow().ok()).and_then(start_of),
        None => errors.add("to", day_error),
    }
    if let (Some(from), Some(until)) = (filter.from, filter.until)
        && until <= from
    {
        errors.add("to", tr(lang, "La fine viene prima dell'inizio.", "The end is before the start."));
    }
    // The cursor of the next page: `<unix seconds>-<id>` of the last entry shown.
    filter.before = crate::audit_api::parse_cursor(q.get("before"));
    Query { filter, errors }
}

fn row(e: &AuditEntry, staff: &Staff) -> AuditRow {
    let lang = staff.lang;
    AuditRow {
        when: {
            let at = e.at.to_zoned(zone_of(&staff.tenant));
            format!("{}, {}", super::views::short_date(at.date(), lang), at.strftime("%H:%M:%S"))
        },
        who: actor_name(&e.actor, lang),
        what: act_name(e.act, lang).to_owned(),
        subject: subject_name(&e.subject, lang),
        citizen: e.citizen_name.clone().unwrap_or_default(),
        detail: detail_words(&e.detail, lang),
        source: e.source.clone().unwrap_or_default(),
    }
}

/// `GET /{tenant}/staff/audit`: the audit log (administrators only).
pub(crate) async fn audit(State(state): State<AppState>, staff: Staff, q: QueryPairs) -> Result<Response, PageError> {
    staff.require_admin()?;
    let lang = staff.lang;
    let fields = query_fields(q, lang)?;
    let Query { filter, errors } = read_query(&staff, &fields);
    let entries = if errors.is_empty() {
        state.desk.audit_log(&staff.grant(), staff.tenant.id, filter).await.in_lang(lang).map_err(|e| staff.err(e))?
    } else {
        Vec::new()
    };
    let users: HashMap<UserId, String> = state
        .store
        .users(staff.tenant.id)
        .await
        .map_err(|e| staff.err(e.into()))?
        .into_iter()
        .map(|u| (u.id, format!("{} <{}>", u.name, u.email)))
        .collect();
    let next = (entries.len() as i64 == ricevo_desk::audit::AUDIT_PAGE).then(|| {
        let last = entries.last().map(crate::audit_api::cursor_after).unwrap_or_default();
        let mut pairs: Vec<(String, String)> =
            fields.0.iter().filter(|(k, _)| k != "before" && k != "lang").cloned().collect();
        pairs.push(("before".into(), last));
        let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        format!("{}/audit?{query}", staff.base())
    });
    let t = |it, en| tr(lang, it, en).to_owned();
    let chosen = fields.get("act");
    let mut acts = vec![Choice { value: String::new(), label: t("Tutte", "All"), selected: chosen.is_empty() }];
    acts.extend(Act::ALL.iter().map(|a| Choice {
        value: a.code().to_owned(),
        label: act_name(*a, lang).to_owned(),
        selected: chosen == a.code(),
    }));
    let who = fields.get("who");
    let mut authors = vec![Choice { value: String::new(), label: t("Tutti", "Everyone"), selected: who.is_empty() }];
    let mut staff_names: Vec<(UserId, String)> = users.into_iter().collect();
    staff_names.sort_by(|a, b| a.1.cmp(&b.1));
    authors.extend(staff_names.into_iter().map(|(id, name)| {
        let value = format!("staff:{}", id.0);
        Choice { selected: who == value, value, label: name }
    }));
    for (value, label) in [
        ("token", t("Token API", "API tokens")),
        ("official", t("Funzionari dal collegamento", "Officials by link")),
        ("citizen", t("Cittadini", "Citizens")),
        ("anonymous", t("Sconosciuti (accessi non riusciti)", "Unknown (failed sign-ins)")),
        ("system", t("Sistema", "System")),
    ] {
        authors.push(Choice { value: value.into(), label, selected: who == value });
    }
    let page = AuditPage {
        p: staff.page(staff.t("Registro delle attività", "Audit log")),
        summary: Summary::of(&errors),
        act: ChoiceField::new("act", tr(lang, "Azione", "Action"), acts, &errors),
        who: ChoiceField::new("who", tr(lang, "Autore", "Author"), authors, &errors),
        from: Field::new("from", tr(lang, "Dal giorno", "From"), "date", &fields, &errors),
        to: Field::new("to", tr(lang, "Al giorno", "To"), "date", &fields, &errors),
        rows: entries.iter().map(|e| row(e, &staff)).collect(),
        next,
        first_page: fields.get("before").is_empty(),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render(status, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_act_has_words_in_both_languages() {
        for act in Act::ALL {
            assert!(!act_name(*act, Lang::It).is_empty());
            assert!(!act_name(*act, Lang::En).is_empty());
        }
    }

    #[test]
    fn the_author_filter_takes_only_known_kinds_and_positive_ids() {
        assert_eq!(parse_who(""), Some(None));
        assert_eq!(parse_who("staff:12"), Some(Some(("staff".into(), Some(12)))));
        assert_eq!(parse_who("citizen"), Some(Some(("citizen".into(), None))));
        for bad in ["staff:", "staff:-1", "staff:x", "robot", "staff:0"] {
            assert_eq!(parse_who(bad), None, "{bad}");
        }
        assert_eq!(parse_day("2026-12-06").map(|d| d.map(|d| d.to_string())), Some(Some("2026-12-06".into())));
        assert_eq!(parse_day("1999-01-01"), None);
        assert_eq!(parse_day("06/12/2026"), None);
    }
}
