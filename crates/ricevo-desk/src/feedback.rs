//! After each contact, a short feedback: when a meeting ends (a video appointment or a walk-in
//! ticket served) or an appointment is marked done, the citizen gets one feedback request —
//! one per appointment or ticket, made in the same transaction as the change that ends the
//! contact — and, when they gave an e-mail address, a follow-up e-mail with its personal link
//! (`/{town}/feedback/{token}`), valid for `[surveys] feedback_link_days`.
//!
//! A video call's citizen is asked at once on the call's closing page (found from their own
//! link, so the request's token never travels): their e-mail waits
//! [`VIDEO_EMAIL_DELAY`](ricevo_core::feedback::VIDEO_EMAIL_DELAY) and is retractable, and an
//! answer given first withdraws it in the answer's own transaction.

use jiff::Timestamp;
use ricevo_core::channel::{Channel, Reach};
use ricevo_core::feedback::{self, ContactMode, Measures, Refusal};
use ricevo_core::lobby::{Entry, EntryKind};
use ricevo_core::survey::{Answers, Questionnaire, QuestionnaireId, SurveyChannel, SurveyKind, SurveyStatus};
use ricevo_core::text::Email;
use ricevo_core::{AppointmentStatus, Lang};
use ricevo_notify::{CitizenMessage, FeedbackNotice, Outgoing, human_datetime, render_feedback};
use ricevo_store::{
    Appointment, FeedbackAnswer, FeedbackRequest, FeedbackSubject, Meeting, MeetingFeedback, NewFeedbackRequest,
    NewOutboxMessage, NewResponse, Office, StoreError, Tenant,
};

use crate::town::zone_of;
use crate::{Desk, DeskError, tokens};

/// The address of a feedback link under `base` (the public URL).
pub fn feedback_link(base: &str, slug: &str, token: &str) -> String {
    format!("{}/{slug}/feedback/{token}", base.trim_end_matches('/'))
}

/// Who is asked and where the follow-up goes.
struct Contact<'a> {
    /// `appointment:ID` or `ticket:O:D:N`: names the contact for good.
    uid: String,
    /// The outbox key of the follow-up (a ticket's falls under its ticket's key, which the
    /// citizen's erasure deletes).
    dedupe_key: String,
    appointment: Option<&'a Appointment>,
    entry_id: Option<ricevo_core::EntryId>,
    service_name: String,
    mode: ContactMode,
    /// Name, address and language, when the citizen gave a usable address.
    recipient: Option<(String, String, Lang)>,
    /// Asked on a closing page first: the e-mail waits.
    closing_page: bool,
    /// Where the citizen can be reached, and the channels the follow-up tries (issue 15).
    reach: Reach,
    route: Vec<Channel>,
}

impl Desk {
    /// A request for `contact` of `office`, with its follow-up e-mail when there is an address.
    fn feedback_request(
        &self,
        tenant: &Tenant,
        office: &Office,
        c: &Contact<'_>,
        now: Timestamp,
    ) -> NewFeedbackRequest {
        let token = tokens::new_token();
        let expires_at = feedback::expires_at(now, self.settings.surveys.feedback_link_days);
        let link = feedback_link(&self.settings.public_url, &tenant.slug, &token);
        let email_row = c.recipient.as_ref().and_then(|(name, email, lang)| {
            let notice = FeedbackNotice {
                uid: c.uid.clone(),
                tenant_name: tenant.name.clone(),
                tenant_email: tenant.contact_email.clone(),
                office_name: office.name.clone(),
                service_name: c.service_name.clone(),
                mode: c.mode,
                citizen_name: name.clone(),
                citizen_email: email.clone(),
                link: link.clone(),
                valid_until: human_datetime(*lang, &expires_at.to_zoned(zone_of(tenant))),
                lang: *lang,
            };
            let email = render_feedback(&notice, &self.mail_from(tenant));
            match Outgoing::Email(email).to_payload() {
                Ok(payload) => Some(NewOutboxMessage {
                    kind: "email".into(),
                    dedupe_key: c.dedupe_key.clone(),
                    payload,
                    due_at: if c.closing_page {
                        now.checked_add(feedback::VIDEO_EMAIL_DELAY).unwrap_or(now)
                    } else {
                        now
                    },
                    // Withdrawn if the citizen answers first (on the call's closing page).
                    retractable: true,
                }),
                // Unreachable: JSON of strings cannot fail; the request stands without e-mail.
                Err(e) => {
                    tracing::error!(error = %e, contact = %c.uid, "feedback e-mail could not be queued");
                    None
                }
            }
        });
        let outbox = match c.route.first() {
            None => None,
            Some(Channel::Email) => email_row,
            Some(_) => {
                // Another channel first: the same follow-up along the route, the e-mail as
                // its e-mail leg.
                let lang = c.recipient.as_ref().map_or(c.appointment.map_or(Lang::It, |a| a.lang), |r| r.2);
                let message = CitizenMessage::feedback_request(lang, &tenant.name, &office.name, &link);
                let email = email_row.as_ref().and_then(|row| Outgoing::from_payload(&row.payload).ok()).map(Box::new);
                let routed = Outgoing::Citizen {
                    message: Box::new(message),
                    route: c.route.clone(),
                    reach: c.reach.clone(),
                    email,
                };
                routed.to_payload().ok().map(|payload| NewOutboxMessage {
                    kind: routed.kind().into(),
                    dedupe_key: c.dedupe_key.clone(),
                    payload,
                    due_at: email_row.as_ref().map_or(now, |row| row.due_at),
                    retractable: true,
                })
            }
        };
        NewFeedbackRequest {
            token_hash: tokens::hash(&token),
            tenant_id: tenant.id,
            appointment_id: c.appointment.map(|a| a.id),
            entry_id: c.entry_id,
            office_id: office.id,
            service_id: c.appointment.map(|a| a.service_id),
            mode: c.mode,
            measures: Measures::default(),
            expires_at,
            outbox,
        }
    }

    /// The channels a follow-up to `reach` tries; e-mail alone (as before channels) when the
    /// town's settings cannot be read, so a contact still ends.
    async fn route_or_email(&self, tenant: &Tenant, reach: &Reach) -> Vec<Channel> {
        match self.route_for(tenant, reach).await {
            Ok(route) => route,
            Err(e) => {
                tracing::warn!(error = %e, "channel settings unavailable; the follow-up goes by e-mail only");
                reach.email.iter().map(|_| Channel::Email).collect()
            }
        }
    }

    /// The contact of an appointment: its citizen's address unless anonymised or erased.
    async fn appointment_contact<'a>(&self, tenant: &Tenant, a: &'a Appointment, closing_page: bool) -> Contact<'a> {
        let service_name = match self.store.service(tenant.id, a.service_id).await {
            Ok(s) => s.map(|s| s.name).unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "service name unavailable for the feedback e-mail");
                String::new()
            }
        };
        let recipient =
            Email::parse(a.citizen_email.trim()).ok().map(|e| (a.citizen_name.clone(), e.as_str().to_owned(), a.lang));
        let reach = Reach::of(
            recipient.as_ref().map_or("", |r| r.1.as_str()),
            a.citizen_phone.as_deref(),
            a.fiscal_code.as_deref(),
            a.telegram_chat_id,
        );
        Contact {
            uid: format!("appointment:{}", a.id.0),
            dedupe_key: format!("feedback:appointment:{}", a.id.0),
            appointment: Some(a),
            entry_id: None,
            service_name,
            mode: ContactMode::of_appointment(a.mode),
            recipient,
            closing_page,
            route: self.route_or_email(tenant, &reach).await,
            reach,
        }
    }

    /// What to ask the citizens of `meeting`, which is about to end: the appointment's citizen
    /// or the ticket's holder. Never stops the meeting from ending: what cannot be read is
    /// logged and left out.
    pub(crate) async fn meeting_feedback(&self, meeting: &Meeting) -> Vec<MeetingFeedback> {
        match self.try_meeting_feedback(meeting).await {
            Ok(asks) => asks,
            Err(e) => {
                tracing::warn!(error = %e, meeting = meeting.id.0, "no feedback asked for this meeting");
                Vec::new()
            }
        }
    }

    async fn try_meeting_feedback(&self, meeting: &Meeting) -> Result<Vec<MeetingFeedback>, DeskError> {
        if meeting.ended_at.is_some() {
            return Ok(Vec::new());
        }
        let tenant = self.town_by_id(meeting.tenant_id).await?;
        let entries = self.store.meeting_entries(meeting.tenant_id, meeting.id).await?;
        let now = self.now();
        let mut asks = Vec::new();
        for e in entries.iter().filter(|e| feedback::asks(e)) {
            let office = self.store.office(tenant.id, e.office_id).await?.ok_or(DeskError::NotFound)?;
            let request = match (e.kind, e.appointment_id) {
                (EntryKind::Appointment, Some(id)) => {
                    let Some(a) = self.store.appointment(tenant.id, id).await? else { continue };
                    let contact = self.appointment_contact(&tenant, &a, true).await;
                    self.feedback_request(&tenant, &office, &contact, now)
                }
                (EntryKind::Ticket, _) => self.ticket_request(&tenant, &office, e, now).await?,
                _ => continue,
            };
            asks.push(MeetingFeedback { entry_id: e.id, request });
        }
        Ok(asks)
    }

    /// The request of a walk-in ticket served in a meeting. Tickets keep no language: the
    /// follow-up is in Italian, and its page offers English.
    async fn ticket_request(
        &self,
        tenant: &Tenant,
        office: &Office,
        e: &Entry,
        now: Timestamp,
    ) -> Result<NewFeedbackRequest, DeskError> {
        let contact = self.store.ticket_contact(tenant.id, e.id).await?.unwrap_or_default();
        let key = match (&contact.day, contact.number) {
            (Some(day), Some(n)) => format!("ticket:{}:{day}:{n}", office.id.0),
            _ => format!("ticket-entry:{}", e.id.0),
        };
        let recipient = contact
            .email
            .as_deref()
            .and_then(|raw| Email::parse(raw.trim()).ok())
            .map(|email| (e.name.clone(), email.as_str().to_owned(), Lang::It));
        let reach = Reach::of(recipient.as_ref().map_or("", |r| r.1.as_str()), None, None, None);
        let c = Contact {
            dedupe_key: format!("{key}:feedback"),
            uid: key,
            appointment: None,
            entry_id: Some(e.id),
            service_name: e.service.clone(),
            mode: ContactMode::WalkIn,
            closing_page: true,
            route: self.route_or_email(tenant, &reach).await,
            reach,
            recipient,
        };
        Ok(self.feedback_request(tenant, office, &c, now))
    }

    /// Writes an appointment's status change the core allowed; marking it done also asks its
    /// citizen for feedback, in the same transaction.
    pub(crate) async fn write_status(
        &self,
        tenant: &Tenant,
        a: &Appointment,
        to: AppointmentStatus,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if to != AppointmentStatus::Done {
            return self.store.set_status(tenant.id, a.id, a.status, to, now).await;
        }
        let office = match self.store.office(tenant.id, a.office_id).await? {
            Some(o) => o,
            None => return Err(StoreError::NotFound),
        };
        let contact = self.appointment_contact(tenant, a, false).await;
        let ask = self.feedback_request(tenant, &office, &contact, now);
        self.store.set_status_asking_feedback(tenant.id, a.id, a.status, to, now, &ask).await
    }

    /// The feedback request a link opens in the town `slug` (`NotFound` for a token we did
    /// not issue or another town's), answered or not, expired or not.
    pub async fn feedback_by_token(&self, slug: &str, token: &str) -> Result<(Tenant, FeedbackRequest), DeskError> {
        let tenant = self.town(slug).await?;
        if !tokens::looks_like_token(token) {
            return Err(DeskError::NotFound);
        }
        let request = self.store.feedback_request(&tokens::hash(token)).await?.ok_or(DeskError::NotFound)?;
        if request.tenant_id != tenant.id {
            return Err(DeskError::NotFound);
        }
        Ok((tenant, request))
    }

    /// The feedback request a citizen's own place (`entry`, reached through their own link) is
    /// asked on the closing page of the call: the appointment's or the ticket's, never an
    /// invitee's or an official's.
    pub async fn closing_feedback(&self, tenant: &Tenant, entry: &Entry) -> Result<Option<FeedbackRequest>, DeskError> {
        let subject = match (entry.kind, entry.appointment_id) {
            (EntryKind::Appointment, Some(a)) => FeedbackSubject::Appointment(a),
            (EntryKind::Ticket, _) => FeedbackSubject::Entry(entry.id),
            _ => return Ok(None),
        };
        if entry.tenant_id != tenant.id {
            return Ok(None);
        }
        Ok(self.store.feedback_request_about(tenant.id, subject).await?)
    }

    /// The questions of a request: the Designers Italia feedback, then the town's own extra
    /// questions (an open questionnaire of kind feedback) for its service, else its office,
    /// else the whole town. Returns them with the extra questionnaire's id, if any.
    pub async fn feedback_questions(
        &self,
        r: &FeedbackRequest,
    ) -> Result<(Questionnaire, Option<QuestionnaireId>), DeskError> {
        let base = Questionnaire::feedback_default();
        let extras: Vec<_> = self
            .store
            .questionnaires(r.tenant_id)
            .await?
            .into_iter()
            .filter(|q| q.kind == SurveyKind::Feedback && q.status == SurveyStatus::Open)
            .collect();
        let for_service =
            |q: &&ricevo_store::StoredQuestionnaire| r.service_id.is_some() && q.service_id == r.service_id;
        let for_office =
            |q: &&ricevo_store::StoredQuestionnaire| q.service_id.is_none() && q.office_id == Some(r.office_id);
        let for_town = |q: &&ricevo_store::StoredQuestionnaire| q.service_id.is_none() && q.office_id.is_none();
        let extra = extras
            .iter()
            .find(for_service)
            .or_else(|| extras.iter().find(for_office))
            .or_else(|| extras.iter().find(for_town));
        Ok(match extra {
            Some(x) => (base.with_extra(&x.definition), Some(x.id)),
            None => (base, None),
        })
    }

    /// Stores the answers to a request in one transaction with marking it answered (and
    /// withdrawing its follow-up e-mail if not sent): with the office, service, mode, wait and
    /// duration, the rating of `questions`, never who answered. `Err(Refusal)` when answered
    /// already or expired, and nothing is written.
    pub async fn answer_feedback(
        &self,
        r: &FeedbackRequest,
        questions: &Questionnaire,
        extra: Option<QuestionnaireId>,
        answers: Answers,
        lang: Lang,
    ) -> Result<Result<i64, Refusal>, DeskError> {
        let now = self.now();
        if let Err(refusal) = feedback::answerable(r.answered_at, r.expires_at, now) {
            return Ok(Err(refusal));
        }
        let response = NewResponse {
            tenant_id: r.tenant_id,
            questionnaire_id: extra,
            channel: SurveyChannel::AfterContact,
            place: None,
            office_id: Some(r.office_id),
            service_id: r.service_id,
            mode: Some(r.mode.as_str().to_owned()),
            wait_seconds: r.measures.wait_seconds,
            duration_seconds: r.measures.duration_seconds,
            rating: answers.rating(questions),
            answers,
            lang,
            submitted_at: now,
        };
        match self.store.answer_feedback(r.tenant_id, &r.token_hash, now, &response).await? {
            FeedbackAnswer::Stored(id) => Ok(Ok(id)),
            FeedbackAnswer::Refused(why) => Ok(Err(why)),
        }
    }
}
