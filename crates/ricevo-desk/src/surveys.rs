//! Questionnaires: built, opened and closed by staff, answered at a kiosk (a tablet at a
//! counter) or by link, their results read back without anyone's identity.
//!
//! Who may do what: an administrator every questionnaire of the town; a manager those of the
//! offices they manage (a questionnaire for the whole town is the administrators'); an
//! operator none, but any staff member may start a kiosk for an open questionnaire of the town
//! or of their offices, since they are the ones at the counter. Every change is audited.
//!
//! A kiosk runs on a pass, not on the staff session that started it: starting a kiosk mints a
//! random token (stored hashed) that opens only that questionnaire's kiosk at that place for
//! [`KIOSK_DAYS`] days, so the tablet keeps working when the session ends and never opens a
//! staff page. Closing the questionnaire or stopping the kiosk ends it at once.

use jiff::SignedDuration;
use ricevo_core::Lang;
use ricevo_core::audit::{Act, Subject};
use ricevo_core::survey::{
    Answers, Questionnaire, QuestionnaireId, SurveyChannel, SurveyKind, SurveyStatus, results::Results,
};
use ricevo_core::text::single_line;
use ricevo_store::{
    Grant, KioskPass, NewQuestionnaire, NewResponse, ResponseFilter, Role, StoredQuestionnaire, Tenant,
};

use crate::audit::Record;
use crate::{Desk, DeskError, tokens};

/// How long a kiosk pass lasts before staff must start the kiosk again.
pub const KIOSK_DAYS: i64 = 30;
/// Longest questionnaire title.
pub const TITLE_MAX: usize = 200;
/// Longest kiosk place name.
pub const PLACE_MAX: usize = 80;

fn said(lang: Lang, it: &str, en: &str) -> DeskError {
    DeskError::Invalid(match lang {
        Lang::It => it.to_owned(),
        Lang::En => en.to_owned(),
    })
}

/// The refusal of an answer to a questionnaire that is not open.
fn not_open(lang: Lang) -> DeskError {
    said(
        lang,
        "Questo questionario è chiuso: non accetta risposte.",
        "This questionnaire is closed: it takes no answers.",
    )
}

/// Whether `grant` may build, open, close and read the results of `q`.
pub fn may_manage(grant: &Grant, q: &StoredQuestionnaire) -> bool {
    grant.tenant_id == q.tenant_id
        && match grant.role {
            Role::Admin => true,
            Role::Manager => q.office_id.is_some_and(|o| grant.manages_office(o)),
            Role::Operator => false,
        }
}

/// Whether `grant` may run a kiosk of `q` (any staff of its town, for an office they cover).
pub fn may_run_kiosk(grant: &Grant, q: &StoredQuestionnaire) -> bool {
    grant.tenant_id == q.tenant_id && q.kind == SurveyKind::Survey && q.office_id.is_none_or(|o| grant.covers_office(o))
}

impl Desk {
    /// The questionnaires `grant` may see: to manage, or (operators) to run at a kiosk.
    pub async fn questionnaires(&self, tenant: &Tenant, grant: &Grant) -> Result<Vec<StoredQuestionnaire>, DeskError> {
        if grant.tenant_id != tenant.id {
            return Err(DeskError::Forbidden);
        }
        let all = self.store.questionnaires(tenant.id).await?;
        Ok(all
            .into_iter()
            .filter(|q| may_manage(grant, q) || (q.status == SurveyStatus::Open && may_run_kiosk(grant, q)))
            .collect())
    }

    /// One questionnaire of this town, if `grant` may manage it: `NotFound` for no such
    /// questionnaire here, `Forbidden` for one of an office they do not manage.
    pub async fn managed_questionnaire(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: QuestionnaireId,
    ) -> Result<StoredQuestionnaire, DeskError> {
        if grant.tenant_id != tenant.id {
            return Err(DeskError::Forbidden);
        }
        let q = self.store.questionnaire(tenant.id, id).await?.ok_or(DeskError::NotFound)?;
        if may_manage(grant, &q) { Ok(q) } else { Err(DeskError::Forbidden) }
    }

    /// Checks what the builder produced: a title of one line, an office the grant manages (a
    /// manager must name one), a service of that office, and a definition that passes
    /// `Questionnaire::check` (a feedback one together with the built-in questions it extends,
    /// none of whose keys it may reuse).
    async fn check_questionnaire(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        new: &NewQuestionnaire,
        lang: Lang,
    ) -> Result<NewQuestionnaire, DeskError> {
        let title = single_line(&new.title, TITLE_MAX).map_err(|e| DeskError::Invalid(e.message(lang).to_owned()))?;
        match new.office_id {
            Some(o) => {
                self.managed_office(tenant, grant, o).await?;
            }
            None if grant.role != Role::Admin => {
                return Err(said(
                    lang,
                    "Scegli uno dei tuoi uffici: un questionario per tutto il comune lo crea un amministratore.",
                    "Choose one of your offices: a questionnaire for the whole town is created by an administrator.",
                ));
            }
            None => {}
        }
        if let Some(s) = new.service_id {
            let service = self.store.service(tenant.id, s).await?.ok_or(DeskError::NotFound)?;
            if new.office_id != Some(service.office_id) {
                return Err(said(
                    lang,
                    "Il servizio scelto non è dell'ufficio scelto.",
                    "The service chosen is not one of the office chosen.",
                ));
            }
        }
        let checked = match new.kind {
            SurveyKind::Survey => new.definition.check(),
            SurveyKind::Feedback => {
                let base = Questionnaire::feedback_default();
                let all = base.with_extra(&new.definition);
                if all.questions().count() != base.questions().count() + new.definition.questions().count() {
                    return Err(said(
                        lang,
                        "Una domanda aggiuntiva usa la chiave di una domanda del feedback predefinito (rating, difficulties, liked, details).",
                        "An extra question uses the key of a built-in feedback question (rating, difficulties, liked, details).",
                    ));
                }
                all.check()
            }
        };
        checked.map_err(|e| DeskError::Invalid(e.message(lang).to_owned()))?;
        Ok(NewQuestionnaire { title, ..new.clone() })
    }

    /// Creates a questionnaire as a draft (see [`Desk::check_questionnaire`] for what is
    /// refused, worded in `lang`).
    pub async fn create_questionnaire(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        new: &NewQuestionnaire,
        lang: Lang,
    ) -> Result<StoredQuestionnaire, DeskError> {
        if grant.tenant_id != tenant.id || grant.role == Role::Operator {
            return Err(DeskError::Forbidden);
        }
        let new = self.check_questionnaire(tenant, grant, new, lang).await?;
        let q = self.store.create_questionnaire(tenant.id, &new, self.now()).await?;
        tracing::info!(tenant = %tenant.slug, questionnaire = %q.id, "questionnaire created");
        self.record(grant, Record::new(Act::QuestionnaireChanged, Subject::Questionnaire(q.id.0)).detail("created"))
            .await;
        Ok(q)
    }

    /// Replaces a draft's title, office, service and questions; an open or closed
    /// questionnaire keeps its questions, since its answers were given to them.
    pub async fn update_questionnaire(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: QuestionnaireId,
        new: &NewQuestionnaire,
        lang: Lang,
    ) -> Result<(), DeskError> {
        let q = self.managed_questionnaire(tenant, grant, id).await?;
        if !q.status.is_editable() {
            return Err(said(
                lang,
                "Un questionario aperto o chiuso non si modifica più: le risposte date valgono per le sue domande.",
                "An open or closed questionnaire can no longer change: the answers given are for its questions.",
            ));
        }
        let new = self.check_questionnaire(tenant, grant, new, lang).await?;
        self.store.update_questionnaire(tenant.id, id, &new, self.now()).await?;
        self.record(grant, Record::new(Act::QuestionnaireChanged, Subject::Questionnaire(id.0)).detail("changed"))
            .await;
        Ok(())
    }

    /// Opens, closes or reopens a questionnaire (`SurveyStatus::can_become`).
    pub async fn set_questionnaire_status(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: QuestionnaireId,
        to: SurveyStatus,
        lang: Lang,
    ) -> Result<(), DeskError> {
        let q = self.managed_questionnaire(tenant, grant, id).await?;
        if !q.status.can_become(to) {
            return Err(said(
                lang,
                "Questo cambio di stato non è possibile.",
                "This change of status is not possible.",
            ));
        }
        self.store.set_questionnaire_status(tenant.id, id, to, self.now()).await?;
        tracing::info!(tenant = %tenant.slug, questionnaire = %id, status = to.as_str(), "questionnaire status");
        self.record(grant, Record::new(Act::QuestionnaireChanged, Subject::Questionnaire(id.0)).detail(to.as_str()))
            .await;
        Ok(())
    }

    /// Starts a kiosk of an open questionnaire at `place`: returns the pass's token (for the
    /// tablet's cookie; only its hash is stored) and the pass.
    pub async fn start_kiosk(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: QuestionnaireId,
        place: &str,
        lang: Lang,
    ) -> Result<(String, KioskPass), DeskError> {
        if grant.tenant_id != tenant.id {
            return Err(DeskError::Forbidden);
        }
        let q = self.store.questionnaire(tenant.id, id).await?.ok_or(DeskError::NotFound)?;
        if !may_run_kiosk(grant, &q) {
            return Err(DeskError::Forbidden);
        }
        if q.status != SurveyStatus::Open {
            return Err(not_open(lang));
        }
        let place = single_line(place, PLACE_MAX).map_err(|_| {
            said(
                lang,
                "Indica il luogo della postazione (una riga, al massimo 80 caratteri), ad esempio «Anagrafe».",
                "Give the kiosk's place (one line, at most 80 characters), such as \"Registry office\".",
            )
        })?;
        let now = self.now();
        let token = tokens::new_token();
        let user = match grant.actor {
            ricevo_core::audit::Actor::Staff { id, .. } => Some(id),
            _ => None,
        };
        let pass = KioskPass {
            id: 0,
            tenant_id: tenant.id,
            questionnaire_id: id,
            place,
            created_by: user,
            created_at: now,
            expires_at: now + SignedDuration::from_hours(24 * KIOSK_DAYS),
        };
        let pass = self.store.start_kiosk(&tokens::hash(&token), &pass).await?;
        self.record(
            grant,
            Record::new(Act::QuestionnaireChanged, Subject::Questionnaire(id.0))
                .detail(format!("kiosk {} started: {}", pass.id, pass.place)),
        )
        .await;
        Ok((token, pass))
    }

    /// The live kiosks of a questionnaire `grant` manages.
    pub async fn kiosks(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: QuestionnaireId,
    ) -> Result<Vec<KioskPass>, DeskError> {
        let q = self.managed_questionnaire(tenant, grant, id).await?;
        Ok(self.store.kiosk_passes(tenant.id, q.id, self.now()).await?)
    }

    /// Stops a kiosk of a questionnaire `grant` manages, at once.
    pub async fn stop_kiosk(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: QuestionnaireId,
        pass: i64,
    ) -> Result<(), DeskError> {
        let q = self.managed_questionnaire(tenant, grant, id).await?;
        if !self.store.kiosk_passes(tenant.id, q.id, self.now()).await?.iter().any(|p| p.id == pass) {
            return Err(DeskError::NotFound);
        }
        self.store.revoke_kiosk_pass(tenant.id, pass, self.now()).await?;
        self.record(
            grant,
            Record::new(Act::QuestionnaireChanged, Subject::Questionnaire(id.0))
                .detail(format!("kiosk {pass} stopped")),
        )
        .await;
        Ok(())
    }

    /// What a kiosk's token opens in this town: its pass and its questionnaire (whatever its
    /// status: the kiosk says when it is closed). `Unauthorized` for no live pass of this town
    /// for this questionnaire.
    pub async fn kiosk(
        &self,
        tenant: &Tenant,
        id: QuestionnaireId,
        token: &str,
    ) -> Result<(KioskPass, StoredQuestionnaire), DeskError> {
        if !tokens::looks_like_token(token) {
            return Err(DeskError::Unauthorized);
        }
        let pass = self.store.kiosk_pass(&tokens::hash(token), self.now()).await?;
        let Some(pass) = pass.filter(|p| p.tenant_id == tenant.id && p.questionnaire_id == id) else {
            return Err(DeskError::Unauthorized);
        };
        let q = self.store.questionnaire(tenant.id, id).await?.ok_or(DeskError::NotFound)?;
        Ok((pass, q))
    }

    /// Stores answers given to an open questionnaire of this town through `channel` (at a
    /// kiosk: with its place). The answers were read with `Questionnaire::read_answers` of
    /// this very questionnaire; its rating goes to its own column for reports. No identity
    /// is stored.
    pub async fn answer_questionnaire(
        &self,
        q: &StoredQuestionnaire,
        channel: SurveyChannel,
        place: Option<&str>,
        answers: Answers,
        lang: Lang,
    ) -> Result<i64, DeskError> {
        if q.status != SurveyStatus::Open {
            return Err(not_open(lang));
        }
        let response = NewResponse {
            tenant_id: q.tenant_id,
            questionnaire_id: Some(q.id),
            channel,
            place: place.map(str::to_owned),
            office_id: q.office_id,
            service_id: q.service_id,
            mode: None,
            wait_seconds: None,
            duration_seconds: None,
            rating: answers.rating(&q.definition),
            answers,
            lang,
            submitted_at: self.now(),
        };
        match self.store.add_response(&response).await {
            Ok(id) => Ok(id),
            // Closed between the read and the write.
            Err(ricevo_store::StoreError::Stale) => Err(not_open(lang)),
            Err(e) => Err(e.into()),
        }
    }

    /// The results of a questionnaire `grant` manages, tallied from every response so far.
    pub async fn questionnaire_results(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: QuestionnaireId,
        filter: &ResponseFilter,
    ) -> Result<(StoredQuestionnaire, Results), DeskError> {
        let q = self.managed_questionnaire(tenant, grant, id).await?;
        let responses = self.store.responses(tenant.id, Some(q.id), filter).await?;
        let services = self.store.services(tenant.id).await?;
        let rows: Vec<_> = responses
            .iter()
            .map(|r| ricevo_core::survey::results::Given {
                channel: r.response.channel,
                service: r
                    .response
                    .service_id
                    .and_then(|s| services.iter().find(|x| x.id == s))
                    .map(|s| s.name.clone()),
                answers: &r.response.answers,
            })
            .collect();
        let results = Results::tally(&q.definition, &rows);
        Ok((q, results))
    }
}
