//! `GET /api/v1/{tenant}/audit`: the town's audit log for an integration holding an
//! administrator's token (a security information system, an archive), newest first, filtered
//! like the staff page, with a cursor for the next page.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use ricevo_core::Lang;
use ricevo_core::audit::Act;
use ricevo_core::citizen::FieldError;
use ricevo_store::{AuditEntry, AuditFilter};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, InLang};
use crate::lang::ReqLang;
use crate::request::{ApiQuery, bearer, parse_instant, tenant};
use crate::state::AppState;

/// Query of the audit log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditParams {
    /// Only this act (its code, such as `appointment.cancel`; see `AuditEntryView.act`).
    pub act: Option<String>,
    /// Only this author: `staff:<account id>`, `token`, `official`, `citizen`, `anonymous` or
    /// `system`.
    pub who: Option<String>,
    /// Only acts at or after this instant (RFC 3339).
    pub from: Option<String>,
    /// Only acts before this instant (RFC 3339).
    pub until: Option<String>,
    /// The `next` cursor of the previous page.
    pub before: Option<String>,
    /// Entries per page, 1 to 500 (default 50).
    pub limit: Option<i64>,
}

/// One entry of the audit log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntryView {
    /// Id.
    pub id: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who: `staff`, `token`, `official`, `citizen`, `anonymous` or `system`.
    pub actor_kind: String,
    /// The account or token id, for `staff` and `token`.
    pub actor_id: Option<i64>,
    /// Their name (a staff member's name and e-mail, a token's label, the account a failed
    /// sign-in tried).
    pub actor_name: String,
    /// What, as a stable code such as `sign_in`, `appointment.cancel`, `document.download`.
    pub act: String,
    /// On what: `appointment`, `entry`, `meeting`, `document`, `account`, `token`, `webhook`,
    /// `office`, `service` or `town`.
    pub subject_kind: String,
    /// Its id (none for the town).
    pub subject_id: Option<i64>,
    /// The citizen concerned; null once anonymised or erased.
    pub citizen_name: Option<String>,
    /// What changed, in a few words.
    pub detail: String,
    /// The client address, when known.
    pub source: Option<String>,
}

/// A page of the audit log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPageView {
    /// Newest first.
    pub entries: Vec<AuditEntryView>,
    /// Pass as `before` for the next (older) page; null on the last page.
    pub next: Option<String>,
}

/// An entry as the API and the command line show it.
pub fn view(e: &AuditEntry) -> AuditEntryView {
    AuditEntryView {
        id: e.id,
        at: e.at.to_string(),
        actor_kind: e.actor.kind().to_owned(),
        actor_id: e.actor.id(),
        actor_name: e.actor.name().to_owned(),
        act: e.act.code().to_owned(),
        subject_kind: e.subject.kind().to_owned(),
        subject_id: e.subject.id(),
        citizen_name: e.citizen_name.clone(),
        detail: e.detail.clone(),
        source: e.source.clone(),
    }
}

/// `staff:<id>`, a kind without id, or `None` when the text names no author.
pub fn parse_who(raw: &str) -> Option<(String, Option<i64>)> {
    match raw {
        "token" | "citizen" | "official" | "anonymous" | "system" => Some((raw.to_owned(), None)),
        _ => {
            let id = raw.strip_prefix("staff:")?.parse::<i64>().ok().filter(|id| *id > 0)?;
            Some(("staff".to_owned(), Some(id)))
        }
    }
}

/// A page cursor `<unix seconds>-<id>`.
pub(crate) fn parse_cursor(raw: &str) -> Option<(jiff::Timestamp, i64)> {
    let (at, id) = raw.split_once('-')?;
    let at = jiff::Timestamp::from_second(at.parse::<i64>().ok()?).ok()?;
    Some((at, id.parse::<i64>().ok()?))
}

/// The cursor after `e`.
pub(crate) fn cursor_after(e: &AuditEntry) -> String {
    format!("{}-{}", e.at.as_second(), e.id)
}

fn filter_of(p: &AuditParams, lang: Lang) -> Result<AuditFilter, ApiError> {
    let t = |it: &'static str, en: &'static str| if lang == Lang::It { it } else { en };
    let mut errors = Vec::new();
    let mut f = AuditFilter { limit: p.limit.unwrap_or(ricevo_desk::audit::AUDIT_PAGE), ..AuditFilter::default() };
    if !(1..=500).contains(&f.limit) {
        errors.push(FieldError::new("limit", t("Da 1 a 500.", "From 1 to 500.")));
    }
    if let Some(code) = p.act.as_deref() {
        match Act::parse(code) {
            Some(act) => f.act = Some(act),
            None => errors.push(FieldError::new("act", t("Azione sconosciuta.", "Unknown action."))),
        }
    }
    if let Some(who) = p.who.as_deref() {
        match parse_who(who) {
            Some(actor) => f.actor = Some(actor),
            None => errors.push(FieldError::new("who", t("Autore sconosciuto.", "Unknown author."))),
        }
    }
    let instant_error = t("Istante non valido (RFC 3339).", "Invalid instant (RFC 3339).");
    for (name, raw, slot) in [("from", &p.from, &mut f.from), ("until", &p.until, &mut f.until)] {
        if let Some(raw) = raw.as_deref() {
            match parse_instant(raw) {
                Some(at) => *slot = Some(at),
                None => errors.push(FieldError::new(name, instant_error)),
            }
        }
    }
    if let Some(raw) = p.before.as_deref() {
        match parse_cursor(raw) {
            Some(c) => f.before = Some(c),
            None => errors.push(FieldError::new("before", t("Cursore non valido.", "Invalid cursor."))),
        }
    }
    if errors.is_empty() { Ok(f) } else { Err(ApiError::Fields(lang, errors)) }
}

/// The town's audit log (Bearer token of an administrator).
#[utoipa::path(get, path = "/api/v1/{tenant}/audit", params(("tenant" = String, Path, description = "Town slug"), AuditParams),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of the audit log, newest first", body = AuditPageView),
        (status = 400, description = "`bad_request`: the query cannot be read", body = crate::error::ErrorBody),
        (status = 401, description = "`unauthorized`: no token, or not one of this town", body = crate::error::ErrorBody),
        (status = 403, description = "`forbidden`: the token is not an administrator's", body = crate::error::ErrorBody),
        (status = 404, description = "`not_found`: no such town", body = crate::error::ErrorBody),
        (status = 422, description = "`invalid_fields`: an unknown act or author, a bad instant, cursor or limit", body = crate::error::ErrorBody)))]
pub async fn audit(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> Result<Json<AuditPageView>, ApiError> {
    let t = tenant(&state, &slug, lang).await?;
    let grant = bearer(&state, &headers, &t, lang).await?;
    let filter = filter_of(&p, lang)?;
    let limit = filter.limit;
    let entries = state.desk.audit_log(&grant, t.id, filter).await.in_lang(lang)?;
    let next = (entries.len() as i64 == limit).then(|| entries.last().map(cursor_after)).flatten();
    Ok(Json(AuditPageView { entries: entries.iter().map(view).collect(), next }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authors_and_cursors_are_read_strictly() {
        assert_eq!(parse_who("staff:12"), Some(("staff".into(), Some(12))));
        assert_eq!(parse_who("citizen"), Some(("citizen".into(), None)));
        for bad in ["", "staff:", "staff:-1", "staff:x", "robot", "staff:0"] {
            assert_eq!(parse_who(bad), None, "{bad}");
        }
        assert_eq!(parse_cursor("1700000000-42").map(|(at, id)| (at.as_second(), id)), Some((1_700_000_000, 42)));
        for bad in ["", "1700000000", "x-1", "1-y", "99999999999999999-1"] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
    }
}
