//! The walk-in virtual desk: a citizen takes a numbered ticket (name, optional e-mail, to which
//! the number and the personal link are sent) and waits in the same waiting room as booked
//! citizens, until an official calls the next one. Managers set when each office's desk is open.

use crate::audit::Record;
use jiff::Timestamp;
use jiff::civil::Date;
use ricevo_core::audit::{Act, Subject};
use ricevo_core::citizen::FieldError;
use ricevo_core::lobby::{self, Abilities, Entry, EntryKind, WalkInDesk};
use ricevo_core::slots::closed_on;
use ricevo_core::text::{Email, PersonName};
use ricevo_core::{Lang, OfficeId};
use ricevo_notify::{Outgoing, TicketNotice};
use ricevo_store::{Grant, NewEntry, NewOutboxMessage, Office, Tenant};

use crate::messages::token_link;
use crate::town::zone_of;
use crate::waiting_room::manages;
use crate::{Desk, DeskError, tokens};

/// The outbox row of the e-mail that gives ticket `number` of `day` its link, if the citizen
/// gave an address (`notice`).
pub fn ticket_email(
    notice: Option<&TicketNotice>,
    from: &str,
    office: &Office,
    day: Date,
    number: i32,
    now: Timestamp,
) -> Vec<NewOutboxMessage> {
    let Some(notice) = notice else { return Vec::new() };
    // A ticket is named for good by its office, day and number: numbers are never reused.
    let uid = format!("ticket:{}:{day}:{number}", office.id.0);
    let ticket = TicketNotice { uid: uid.clone(), ticket_number: number, ..notice.clone() };
    let outgoing = Outgoing::Ticket { ticket: Box::new(ticket), from: from.to_owned() };
    match outgoing.to_payload() {
        Ok(payload) => vec![NewOutboxMessage {
            kind: outgoing.kind().into(),
            dedupe_key: format!("{uid}:email"),
            payload,
            due_at: now,
            retractable: false,
        }],
        // Unreachable: JSON of strings and numbers cannot fail. The ticket is still worth more
        // to the citizen than the e-mail, so it is kept.
        Err(e) => {
            tracing::error!(error = %e, ticket = %uid, "ticket e-mail could not be queued");
            Vec::new()
        }
    }
}

fn field_error(field: &'static str, message: &'static str) -> DeskError {
    DeskError::Fields(vec![FieldError::new(field, message)])
}

impl Desk {
    /// Whether an office's walk-in desk takes tickets now (its hours, the town's holidays and
    /// the office's closures).
    pub async fn walk_in_open(&self, tenant: &Tenant, office: &Office) -> Result<bool, DeskError> {
        let desk = self.store.walk_in(tenant.id, office.id).await?;
        if desk.always_open {
            return Ok(true);
        }
        let facts = self.office_facts(tenant, office).await?;
        Ok(lobby::walk_in_open(&desk, &zone_of(tenant), self.now(), |d| closed_on(d, facts.patron, &facts.closures)))
    }

    /// Takes the next ticket of an office's walk-in desk for `source` (a client address, a
    /// chat), within its hourly budget of tickets (`BudgetSpent`). The e-mail with the number
    /// and the personal link, if an address is given, is queued in the ticket's own
    /// transaction. Field messages are in `lang`, and so is the e-mail. Returns the place and
    /// its join link.
    pub async fn take_ticket(
        &self,
        tenant: &Tenant,
        office: &Office,
        name: &str,
        email: Option<&str>,
        source: &str,
        lang: Lang,
    ) -> Result<(Entry, String), DeskError> {
        self.take_ticket_reaching(tenant, office, name, email, None, source, lang).await
    }

    /// [`Desk::take_ticket`] from a Telegram chat: "your turn is near" and the link reach the chat.
    pub async fn take_ticket_for_chat(
        &self,
        tenant: &Tenant,
        office: &Office,
        name: &str,
        chat: i64,
        source: &str,
        lang: Lang,
    ) -> Result<(Entry, String), DeskError> {
        self.take_ticket_reaching(tenant, office, name, None, Some(chat), source, lang).await
    }

    // A ticket for whoever gave an e-mail address or a chat.
    #[allow(clippy::too_many_arguments)]
    async fn take_ticket_reaching(
        &self,
        tenant: &Tenant,
        office: &Office,
        name: &str,
        email: Option<&str>,
        chat: Option<i64>,
        source: &str,
        lang: Lang,
    ) -> Result<(Entry, String), DeskError> {
        let name = PersonName::parse(name).map_err(|e| field_error("name", e.message(lang)))?;
        let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
            Some(raw) => Some(Email::parse(raw).map_err(|e| field_error("email", e.message(lang)))?),
            None => None,
        };
        if !self.walk_in_open(tenant, office).await? {
            return Err(DeskError::WalkInClosed);
        }
        let now = self.now();
        // A budget of tickets per source and hour, so one machine cannot fill the queue.
        if !self.ticket_budget.allow(source, now) {
            self.ticket_budget.give_back(source, now);
            return Err(DeskError::BudgetSpent { retry_after_seconds: self.ticket_budget.retry_after(now) });
        }
        let token = tokens::new_token();
        let new = NewEntry {
            tenant_id: tenant.id,
            office_id: office.id,
            kind: EntryKind::Ticket,
            appointment_id: None,
            meeting_id: None,
            name: name.as_str().to_owned(),
            email: email.map(|e| e.as_str().to_owned()),
            service: String::new(),
            booked_start: None,
            booked_end: None,
            abilities: Abilities::citizen(),
            direct: false,
            token_hash: Some(tokens::hash(&token)),
            phone: None,
            telegram_chat_id: chat,
        };
        let day = now.to_zoned(zone_of(tenant)).date();
        let join_url = token_link(&self.settings.public_url, &token, "/join");
        // The e-mail keeps the personal link for a citizen who closes the tab. It is queued in
        // the ticket's own transaction, which alone knows the number.
        let notice = new.email.as_ref().map(|email| TicketNotice {
            uid: String::new(),
            tenant_name: tenant.name.clone(),
            tenant_email: tenant.contact_email.clone(),
            office_name: office.name.clone(),
            ticket_number: 0,
            citizen_name: new.name.clone(),
            citizen_email: email.clone(),
            join_url: join_url.clone(),
            lang,
        });
        let from = self.mail_from(tenant);
        let outbox = |number: i32| ticket_email(notice.as_ref(), &from, office, day, number, now);
        let entry = self.store.take_ticket(&new, day, now, &outbox).await?;
        self.office_changed(office.id);
        Ok((entry, join_url))
    }

    /// Sets when an office's walk-in desk takes tickets: for an administrator or a manager of
    /// the office (`Forbidden` otherwise), in this town (`NotFound`).
    pub async fn set_walk_in(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        office: OfficeId,
        desk: &WalkInDesk,
    ) -> Result<(), DeskError> {
        let office = self.store.office(tenant.id, office).await?.ok_or(DeskError::NotFound)?;
        if !manages(grant, tenant, office.id) {
            return Err(DeskError::Forbidden);
        }
        self.store.set_walk_in(tenant.id, office.id, desk).await?;
        tracing::info!(tenant = %tenant.slug, office = %office.id, "walk-in desk set");
        self.record(grant, Record::new(Act::OfficeChanged, Subject::Office(office.id)).detail("walk-in desk")).await;
        Ok(())
    }
}
