//! Survey campaigns by e-mail (the Prato way): a town imports its contact list from a
//! spreadsheet, writes a campaign for one questionnaire, starts, pauses, resumes and finishes
//! it; the sender hands its messages to the outbox at the town's rate; each contact answers
//! once through a personal link, or unsubscribes through it at once.
//!
//! The personal link's token is made when the message is queued, in the transaction that
//! writes the outbox row: the raw token exists only in that row's payload, which the outbox
//! forgets once the message is sent (`Store::outbox_sent`); the recipient keeps its hash.

use std::collections::HashMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ricevo_core::Lang;
use ricevo_core::campaign::{self, CampaignAction, CampaignStatus, ContactImport};
use ricevo_core::survey::{Answers, QuestionnaireId, SurveyChannel, SurveyKind, SurveyStatus};
use ricevo_store::{
    Campaign, CampaignLink, CampaignProgress, ContactsImported, Grant, NewCampaign, NewContact, NewOutboxMessage,
    NewResponse, QueuedMessage, StoredQuestionnaire, Tenant,
};
use tokio::sync::watch;

use crate::audit::Record;
use crate::staff::require_admin;
use crate::{Desk, DeskError, tokens};
use ricevo_core::audit::{Act, Subject};

/// Most messages one transaction queues.
pub const QUEUE_BATCH: i64 = 500;
/// How often the sender looks for work.
pub const SENDER_INTERVAL: Duration = Duration::from_secs(1);

/// Longest subject, in characters.
const MAX_SUBJECT: usize = 200;
/// Longest opening text, in characters.
const MAX_INTRO: usize = 4000;

/// What happens when a personal link is used to unsubscribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsubscribed {
    /// Done now.
    Now,
    /// They had already unsubscribed.
    Already,
}

fn invalid(lang: Lang, it: &str, en: &str) -> DeskError {
    DeskError::Invalid(if lang == Lang::It { it } else { en }.to_owned())
}

fn text(value: &str, max: usize, required: bool, lang: Lang, it: &str, en: &str) -> Result<String, DeskError> {
    let v = value.trim();
    if (required && v.is_empty()) || v.chars().count() > max {
        return Err(invalid(lang, it, en));
    }
    Ok(v.to_owned())
}

impl Desk {
    /// Reads a contact file without storing anything (the preview); administrators only.
    pub fn preview_contacts(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        bytes: &[u8],
        lang: Lang,
    ) -> Result<ContactImport, DeskError> {
        require_admin(tenant, grant)?;
        campaign::parse_contacts(bytes).map_err(|e| DeskError::Invalid(e.message(lang).to_owned()))
    }

    /// Reads a contact file and imports what it holds, in one transaction; administrators only.
    pub async fn import_contacts(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        bytes: &[u8],
        lang: Lang,
    ) -> Result<(ContactImport, ContactsImported), DeskError> {
        let read = self.preview_contacts(tenant, grant, bytes, lang)?;
        let contacts: Vec<NewContact> = read
            .contacts
            .iter()
            .map(|c| NewContact {
                email: c.email.as_str().to_lowercase(),
                name: c.name.clone(),
                consent_date: c.consent_date.to_string(),
                lang: c.lang,
            })
            .collect();
        let done = self.store.import_contacts(tenant.id, &contacts, self.now()).await?;
        tracing::info!(town = %tenant.slug, added = done.added, updated = done.updated, "contacts imported");
        let detail = format!("added {}, updated {}, refused {}", done.added, done.updated, read.refused.len());
        self.record(grant, Record::new(Act::ContactsImported, Subject::Town).detail(detail)).await;
        Ok((read, done))
    }

    /// Creates a campaign as a draft; administrators only.
    pub async fn create_campaign(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        draft: &NewCampaign,
        lang: Lang,
    ) -> Result<Campaign, DeskError> {
        require_admin(tenant, grant)?;
        let title =
            text(&draft.title, 200, true, lang, "Scrivi un nome per la campagna.", "Give the campaign a name.")?;
        let subject_it = text(
            &draft.subject_it,
            MAX_SUBJECT,
            true,
            lang,
            "Scrivi l'oggetto dell'e-mail (fino a 200 caratteri).",
            "Write the e-mail's subject (up to 200 characters).",
        )?;
        let subject_en = text(
            &draft.subject_en,
            MAX_SUBJECT,
            false,
            lang,
            "Oggetto in inglese troppo lungo.",
            "English subject too long.",
        )?;
        let intro_it = text(
            &draft.intro_it,
            MAX_INTRO,
            true,
            lang,
            "Scrivi il testo dell'e-mail (fino a 4000 caratteri).",
            "Write the e-mail's text (up to 4000 characters).",
        )?;
        let intro_en =
            text(&draft.intro_en, MAX_INTRO, false, lang, "Testo in inglese troppo lungo.", "English text too long.")?;
        self.campaign_questionnaire(tenant, draft.questionnaire_id, lang).await?;
        let new =
            NewCampaign { questionnaire_id: draft.questionnaire_id, title, subject_it, subject_en, intro_it, intro_en };
        let campaign = self.store.create_campaign(tenant.id, &new, self.now()).await?;
        self.record(grant, Record::new(Act::CampaignChanged, Subject::Campaign(campaign.id)).detail("created")).await;
        Ok(campaign)
    }

    /// The questionnaire, if it is one of the town's surveys.
    async fn campaign_questionnaire(
        &self,
        tenant: &Tenant,
        id: i64,
        lang: Lang,
    ) -> Result<StoredQuestionnaire, DeskError> {
        match self.store.questionnaire(tenant.id, QuestionnaireId(id)).await? {
            Some(q) if q.kind == SurveyKind::Survey => Ok(q),
            _ => Err(invalid(lang, "Scegli un questionario del Comune.", "Choose one of the town's questionnaires.")),
        }
    }

    /// The town's questionnaires a campaign can send; administrators only.
    pub async fn campaign_questionnaires(
        &self,
        tenant: &Tenant,
        grant: &Grant,
    ) -> Result<Vec<StoredQuestionnaire>, DeskError> {
        require_admin(tenant, grant)?;
        let all = self.store.questionnaires(tenant.id).await?;
        Ok(all.into_iter().filter(|q| q.kind == SurveyKind::Survey && q.status != SurveyStatus::Closed).collect())
    }

    /// What a personal link shows: the campaign, and its questionnaire as it is now.
    pub async fn campaign_survey(
        &self,
        tenant: &Tenant,
        token: &str,
    ) -> Result<(CampaignLink, StoredQuestionnaire), DeskError> {
        let link = self.campaign_link(tenant, token).await?;
        let q = self
            .store
            .questionnaire(tenant.id, QuestionnaireId(link.campaign.questionnaire_id))
            .await?
            .ok_or(DeskError::NotFound)?;
        Ok((link, q))
    }

    /// Stores the answer given through a personal link (channel e-mail) and marks the link
    /// used, in one transaction. `Conflict` when it was already used, `NotActive` when the
    /// campaign or the questionnaire is closed.
    pub async fn answer_campaign(
        &self,
        tenant: &Tenant,
        token: &str,
        answers: Answers,
        lang: Lang,
    ) -> Result<(), DeskError> {
        let (link, q) = self.campaign_survey(tenant, token).await?;
        if link.answered_at.is_some() {
            return Err(DeskError::Conflict);
        }
        if !link.campaign.status.takes_answers() || q.status != SurveyStatus::Open {
            return Err(DeskError::NotActive);
        }
        let now = self.now();
        let response = NewResponse {
            tenant_id: tenant.id,
            questionnaire_id: Some(q.id),
            channel: SurveyChannel::Email,
            place: None,
            office_id: None,
            service_id: None,
            mode: None,
            wait_seconds: None,
            duration_seconds: None,
            rating: answers.rating(&q.definition),
            answers,
            lang,
            submitted_at: now,
        };
        match self.store.answer_campaign(tenant.id, link.recipient_id, &response, now).await {
            Ok(()) => Ok(()),
            // Answered meanwhile (a second tab), or closed meanwhile.
            Err(ricevo_store::StoreError::Stale) => match self.campaign_link(tenant, token).await?.answered_at {
                Some(_) => Err(DeskError::Conflict),
                None => Err(DeskError::NotActive),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// One campaign of the town; administrators only.
    pub async fn campaign(&self, tenant: &Tenant, grant: &Grant, id: i64) -> Result<Campaign, DeskError> {
        require_admin(tenant, grant)?;
        self.store.campaign(tenant.id, id).await?.ok_or(DeskError::NotFound)
    }

    /// A campaign's figures, with what the outbox knows copied in first; administrators only.
    pub async fn campaign_progress(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: i64,
    ) -> Result<(Campaign, CampaignProgress), DeskError> {
        let c = self.campaign(tenant, grant, id).await?;
        if c.status != CampaignStatus::Draft {
            self.store.sync_campaign(tenant.id, id).await?;
        }
        Ok((c.clone(), self.store.campaign_progress(tenant.id, id).await?))
    }

    /// Starts, pauses, resumes or finishes a campaign; administrators only. `Conflict` when
    /// the campaign is not in a state the action applies to.
    pub async fn campaign_action(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: i64,
        action: CampaignAction,
        lang: Lang,
    ) -> Result<Campaign, DeskError> {
        let c = self.campaign(tenant, grant, id).await?;
        let to = c.status.after(action).ok_or(DeskError::Conflict)?;
        if to == CampaignStatus::Running {
            let q = self.store.questionnaire(tenant.id, QuestionnaireId(c.questionnaire_id)).await?;
            if q.is_none_or(|q| q.status != SurveyStatus::Open) {
                return Err(invalid(
                    lang,
                    "Il questionario non è aperto: aprilo prima di inviare la campagna.",
                    "The questionnaire is not open: open it before sending the campaign.",
                ));
            }
        }
        let added = self.store.set_campaign_status(tenant.id, id, c.status, to, self.now()).await?;
        if action == CampaignAction::Start {
            tracing::info!(town = %tenant.slug, campaign = id, recipients = added, "campaign started");
        }
        self.record(grant, Record::new(Act::CampaignChanged, Subject::Campaign(id)).detail(to.as_str())).await;
        self.store.campaign(tenant.id, id).await?.ok_or(DeskError::NotFound)
    }

    /// What a personal link of the town `tenant` opens; `NotFound` for an unknown token or
    /// another town's.
    pub async fn campaign_link(&self, tenant: &Tenant, token: &str) -> Result<CampaignLink, DeskError> {
        if !tokens::looks_like_token(token) {
            return Err(DeskError::NotFound);
        }
        let link = self.store.campaign_link(&tokens::hash(token)).await?.ok_or(DeskError::NotFound)?;
        if link.campaign.tenant_id != tenant.id {
            return Err(DeskError::NotFound);
        }
        Ok(link)
    }

    /// Unsubscribes the contact a personal link names, at once: no campaign writes to them
    /// again and their messages still waiting are dropped.
    pub async fn unsubscribe(&self, tenant: &Tenant, token: &str) -> Result<Unsubscribed, DeskError> {
        let link = self.campaign_link(tenant, token).await?;
        if self.store.unsubscribe_contact(tenant.id, link.contact_id, self.now()).await? {
            Ok(Unsubscribed::Now)
        } else {
            Ok(Unsubscribed::Already)
        }
    }

    /// One round of the sender at `now`: for each town with running campaigns, hands the
    /// outbox as many messages as its rate allows this minute, each recipient's mark and
    /// message in one transaction. Returns how many were queued.
    pub async fn send_campaigns(&self, now: Timestamp) -> Result<u64, DeskError> {
        let running = self.store.running_campaigns().await?;
        let mut left: HashMap<ricevo_core::TenantId, i64> = HashMap::new();
        let mut queued = 0;
        for c in running {
            if let std::collections::hash_map::Entry::Vacant(e) = left.entry(c.tenant_id) {
                let last_minute =
                    self.store.campaign_queued_since(c.tenant_id, now - SignedDuration::from_secs(60)).await?;
                e.insert(campaign::allowance(self.settings.surveys.campaign_messages_per_minute, last_minute));
            }
            let allowed = left.get(&c.tenant_id).copied().unwrap_or(0);
            self.store.sync_campaign(c.tenant_id, c.id).await?;
            if allowed <= 0 {
                continue;
            }
            let tenant = self.town_by_id(c.tenant_id).await?;
            if tenant.disabled {
                continue;
            }
            let n = self.queue_campaign(&tenant, &c, allowed, now).await?;
            left.insert(c.tenant_id, allowed - i64::try_from(n).unwrap_or(0));
            queued += n;
        }
        Ok(queued)
    }

    /// Queues up to `allowed` messages of `c`, in transactions of [`QUEUE_BATCH`].
    pub async fn queue_campaign(
        &self,
        tenant: &Tenant,
        c: &Campaign,
        allowed: i64,
        now: Timestamp,
    ) -> Result<u64, DeskError> {
        let from = self.mail_from(tenant);
        let base = self.settings.public_url.trim_end_matches('/').to_owned();
        let mut queued = 0u64;
        let mut left = allowed;
        while left > 0 {
            let pending = self.store.pending_recipients(tenant.id, c.id, left.min(QUEUE_BATCH)).await?;
            if pending.is_empty() {
                break;
            }
            let mut messages = Vec::with_capacity(pending.len());
            for r in &pending {
                let token = tokens::new_token();
                let notice = ricevo_notify::SurveyNotice {
                    uid: campaign::dedupe_key(c.id, r.contact_id),
                    tenant_name: tenant.name.clone(),
                    tenant_email: tenant.contact_email.clone(),
                    subject: c.subject(r.lang).to_owned(),
                    intro: c.intro(r.lang).to_owned(),
                    name: r.name.clone(),
                    email: r.email.clone(),
                    answer_url: format!("{base}/{}/sondaggio/{token}", tenant.slug),
                    unsubscribe_url: format!("{base}/{}/disiscriviti/{token}", tenant.slug),
                    lang: r.lang,
                };
                let outgoing = ricevo_notify::Outgoing::Survey { survey: Box::new(notice), from: from.clone() };
                let payload = outgoing.to_payload().map_err(|e| DeskError::Internal(e.to_string()))?;
                messages.push(QueuedMessage {
                    recipient_id: r.id,
                    token_hash: tokens::hash(&token),
                    message: NewOutboxMessage {
                        kind: outgoing.kind().to_owned(),
                        dedupe_key: campaign::dedupe_key(c.id, r.contact_id),
                        payload,
                        due_at: now,
                        retractable: false,
                    },
                });
            }
            let n = self.store.queue_campaign_messages(tenant.id, c.id, &messages, now).await?;
            queued += n;
            left -= i64::try_from(pending.len()).unwrap_or(i64::MAX);
            // Paused, finished, or everyone left unsubscribed meanwhile.
            if n == 0 {
                break;
            }
        }
        Ok(queued)
    }
}

/// The campaign sender: a round every [`SENDER_INTERVAL`] until `shutdown` turns true. After
/// a crash it simply goes on: what was queued is marked, what was not is still pending.
pub async fn run_sender(desk: Desk, mut shutdown: watch::Receiver<bool>) {
    tracing::info!("campaign sender started");
    loop {
        if *shutdown.borrow_and_update() {
            break;
        }
        match desk.send_campaigns(desk.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(queued = n, "campaign messages queued"),
            Err(e) => tracing::warn!(error = %e, "campaign round failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(SENDER_INTERVAL) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    tracing::info!("campaign sender stopped");
}
