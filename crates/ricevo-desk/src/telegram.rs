//! Booking through Telegram: one update from a chat, run against the conversation model
//! (`ricevo_core::chat_booking`) and the desk's ordinary use cases (slots, booking, cancel,
//! move, walk-in tickets), so that the bot has the same slots, seats, rules and refusals as the
//! pages. Returns what to send back; the adapters (the webhook, the long-polling loop) send it.
//!
//! What the bot books carries the chat's id (`telegram_chat_id`), so that confirmations,
//! reminders, "your turn is near" and the join link reach the chat through the channels route.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};
use ricevo_core::chat_booking::texts::{self, Listed, Problem, Reply};
use ricevo_core::chat_booking::{self, Action, Callback, Conversation, Input, Refusal, Step};
use ricevo_core::citizen::BookingInput;
use ricevo_core::{Lang, OfficeId, ServiceId, TenantId};
use ricevo_store::{Appointment, ChatState, Office, Service, Tenant};

use crate::booking::{Booker, BookingRequest, BookingResult};
use crate::town::zone_of;
use crate::{Desk, DeskError};

/// How long a conversation left half-way is kept before the chat starts over.
const CONVERSATION_HOURS: i64 = 24;

/// How many days ahead the bot looks for free time.
const DAYS_AHEAD: i64 = 27;

/// At most so many day buttons and time buttons in one message.
const MAX_DAYS: usize = 10;
const MAX_TIMES: usize = 24;

/// Which bot an update came to.
#[derive(Debug, Clone)]
pub enum Bot {
    /// A town's own bot (its token in the town's channel settings): it serves that town only.
    Town(Box<Tenant>),
    /// The instance's one bot (configured in `[telegram]`): each chat chooses its town.
    Instance,
}

impl Bot {
    /// The key the bot's chats and updates are stored under.
    pub fn key(&self) -> String {
        match self {
            Bot::Town(t) => format!("town:{}", t.id.0),
            Bot::Instance => "instance".into(),
        }
    }

    fn town_id(&self) -> Option<i64> {
        match self {
            Bot::Town(t) => Some(t.id.0),
            Bot::Instance => None,
        }
    }
}

/// One update from a private chat, as an adapter parsed it from Telegram's JSON.
#[derive(Debug, Clone)]
pub struct ChatUpdate {
    /// Telegram's `update_id` (replays are recognised by it).
    pub update_id: i64,
    /// The chat.
    pub chat_id: i64,
    /// The sender's `language_code`, for a new chat's language.
    pub language_code: Option<String>,
    /// What the citizen did.
    pub input: Input,
}

/// What to send back to the chat (nothing for a replayed update).
#[derive(Debug, Clone, Default)]
pub struct ChatAnswer {
    /// The messages, in order.
    pub replies: Vec<Reply>,
}

impl Desk {
    /// Runs one update of a chat with `bot`: a replayed `update_id` changes nothing and
    /// answers nothing; a refused input (forged or stale buttons, bad text) changes nothing and
    /// says why; anything else moves the conversation on and does what it asks.
    pub async fn telegram_update(&self, bot: &Bot, update: &ChatUpdate) -> Result<ChatAnswer, DeskError> {
        let now = self.now();
        let key = bot.key();
        if !self.store.telegram_update_first_seen(&key, update.update_id, now).await? {
            tracing::info!(bot = %key, update = update.update_id, "telegram update replayed, ignored");
            return Ok(ChatAnswer::default());
        }
        let stored = self.store.telegram_chat(&key, update.chat_id, now).await?;
        let conv = stored
            .and_then(|s| serde_json::from_str::<Conversation>(&s.state).ok())
            // A town's bot talks about its own town only, whatever was stored.
            .filter(|c| bot.town_id().is_none() || c.town == bot.town_id())
            .unwrap_or_else(|| chat_booking::start(update.language_code.as_deref(), bot.town_id()));
        let (next, action) = match chat_booking::advance(&conv, &update.input) {
            Ok(moved) => moved,
            Err(refusal) => {
                let mut replies = vec![texts::refusal(conv.lang, refusal)];
                // A refused name or number: ask for it again.
                if matches!(refusal, Refusal::Text(_) | Refusal::NotOwnContact) {
                    replies.push(texts::step_hint(&conv));
                }
                return Ok(ChatAnswer { replies });
            }
        };
        let turn = Turn { desk: self, bot, chat: update.chat_id, now };
        let (next, replies) = match turn.act(next, action).await {
            Ok(done) => done,
            // Refused by the desk: the conversation stays where it was.
            Err(problem) => return Ok(ChatAnswer { replies: vec![texts::problem(conv.lang, &problem)] }),
        };
        let state = serde_json::to_string(&next).map_err(|e| DeskError::Internal(e.to_string()))?;
        self.store
            .save_telegram_chat(&ChatState {
                bot: key,
                chat_id: update.chat_id,
                tenant_id: next.town.map(TenantId),
                state,
                lang: next.lang,
                updated_at: now,
                expires_at: now + SignedDuration::from_hours(CONVERSATION_HOURS),
            })
            .await?;
        Ok(ChatAnswer { replies })
    }
}

// One update being answered.
struct Turn<'a> {
    desk: &'a Desk,
    bot: &'a Bot,
    chat: i64,
    now: Timestamp,
}

// What the desk refused, in the citizen's terms; storage failures are logged and said plainly.
fn problem(e: DeskError) -> Problem {
    match e {
        // (citizen) A service asking for SPID or CIE is not offered in a chat.
        DeskError::NotFound
        | DeskError::ServiceNotFound
        | DeskError::Forbidden
        | DeskError::Suspended
        | DeskError::IdentityRequired => Problem::NotOffered,
        DeskError::Unavailable { .. } => Problem::TimeGone,
        DeskError::NotActive | DeskError::StatusChange(_) | DeskError::Conflict => Problem::NotActive,
        DeskError::CitizenLimit(n) => Problem::CitizenLimit(n),
        DeskError::BudgetSpent { .. } => Problem::TooMany,
        DeskError::WalkInClosed => Problem::WalkInClosed,
        DeskError::Fields(fields) => Problem::Detail(fields.iter().map(|f| f.message).collect::<Vec<_>>().join(" ")),
        DeskError::Invalid(message) => Problem::Detail(message),
        other => {
            tracing::error!(error = %other, "telegram update failed");
            Problem::Failure
        }
    }
}

type Answer = Result<(Conversation, Vec<Reply>), Problem>;

impl Turn<'_> {
    async fn town(&self, conv: &Conversation) -> Result<Tenant, Problem> {
        match self.bot {
            Bot::Town(t) => Ok((**t).clone()),
            Bot::Instance => {
                let id = conv.town.ok_or(Problem::NotOffered)?;
                self.desk.town_by_id(TenantId(id)).await.map_err(problem)
            }
        }
    }

    async fn act(&self, next: Conversation, action: Action) -> Answer {
        let lang = next.lang;
        if action == Action::Towns {
            let towns = self.desk.store.tenants().await.map_err(|e| problem(e.into()))?;
            let list: Vec<(i64, String)> =
                towns.into_iter().filter(|t| !t.disabled).map(|t| (t.id.0, t.name)).collect();
            return Ok((next, vec![texts::towns(lang, &list)]));
        }
        let town = self.town(&next).await?;
        let one = |r: Reply| vec![r];
        match action {
            Action::Towns => unreachable_towns(next, lang),
            Action::Menu | Action::TownChosen(_) => {
                let menu = texts::menu(lang, &town.name);
                Ok((next, one(menu)))
            }
            Action::Offices => {
                let services = self.bookable(&town).await?;
                let offices = self.desk.store.offices(town.id).await.map_err(|e| problem(e.into()))?;
                let list: Vec<(i64, String)> = offices
                    .into_iter()
                    .filter(|o| services.iter().any(|s| s.office_id == o.id))
                    .map(|o| (o.id.0, o.name))
                    .collect();
                Ok((next, one(texts::offices(lang, &list))))
            }
            Action::Services(office) => {
                let office = self.office(&town, office).await?;
                let list: Vec<(i64, String)> = self
                    .bookable(&town)
                    .await?
                    .into_iter()
                    .filter(|s| s.office_id == office.id)
                    .map(|s| (s.id.0, s.name))
                    .collect();
                Ok((next, one(texts::services(lang, &list))))
            }
            Action::Modes(service) => {
                let (service, _) = self.service(&town, &next, service).await?;
                if let [only] = service.rules.modes() {
                    // One way to meet: chosen for the citizen, straight to the days.
                    let (next, action) = chat_booking::advance(&next, &Input::Button(Callback::Mode(*only).encode()))
                        .map_err(|_| Problem::NotOffered)?;
                    return Box::pin(self.act(next, action)).await;
                }
                Ok((next, one(texts::modes(lang, service.rules.modes()))))
            }
            Action::Days(service) => {
                let (service, office) = self.service(&town, &next, service).await?;
                Ok((next, one(texts::days(lang, &self.free_days(&town, &service, &office).await?))))
            }
            Action::Times(service, day) => {
                let (service, office) = self.service(&town, &next, service).await?;
                Ok((next, one(texts::times(lang, &self.free_times(&town, &service, &office, day).await?))))
            }
            Action::TimeChosen(service, start) => {
                let (service, office) = self.service(&town, &next, service).await?;
                let start = Timestamp::from_second(start).map_err(|_| Problem::NotOffered)?;
                let day = start.to_zoned(zone_of(&town)).date();
                let free = self.free_times(&town, &service, &office, day).await?;
                if !free.iter().any(|z| z.timestamp() == start) {
                    return Err(Problem::TimeGone);
                }
                Ok((next, one(texts::ask_name(lang))))
            }
            Action::AskContact => Ok((next, one(texts::ask_contact(lang)))),
            Action::Privacy => {
                let url = format!("{}/{}/privacy", self.desk.settings.public_url, town.slug);
                Ok((next, one(texts::privacy(lang, &url))))
            }
            Action::Summary => {
                let d = &next.draft;
                let (service, office) = self.service(&town, &next, d.service.unwrap_or_default()).await?;
                let when = self.when(&town, d.start.unwrap_or_default())?;
                let contact = d
                    .email
                    .as_ref()
                    .map(|e| e.as_str().to_owned())
                    .or_else(|| d.phone.as_ref().map(|p| p.as_str().to_owned()))
                    .unwrap_or_default();
                let name = d.name.as_ref().map(|n| n.as_str()).unwrap_or_default();
                let mode = d.mode.unwrap_or(ricevo_core::Mode::InPerson);
                let summary = texts::summary(lang, &service.name, &office.name, mode, &when, name, &contact);
                Ok((next, one(summary)))
            }
            Action::Book => self.book(&town, next).await,
            Action::Mine => {
                let listed = self.listed(&town).await?;
                Ok((next, one(texts::mine(lang, &listed))))
            }
            Action::AskCancel(id) => {
                let listed = self.listed(&town).await?;
                let a = listed.iter().find(|a| a.id == id).ok_or(Problem::NotOffered)?;
                Ok((next, one(texts::ask_cancel(lang, a))))
            }
            Action::Cancel(id) => {
                let (a, listed) = self.own(&town, id).await?;
                self.desk.cancel(&town, &a).await.map_err(problem)?;
                Ok((next, one(texts::cancelled(lang, &listed))))
            }
            Action::MoveDays(id) => {
                let (a, _) = self.own(&town, id).await?;
                let (service, office) = self.desk.service_and_office(&town, a.service_id).await.map_err(problem)?;
                Ok((next, one(texts::days(lang, &self.free_days(&town, &service, &office).await?))))
            }
            Action::MoveTimes(id, day) => {
                let (a, _) = self.own(&town, id).await?;
                let (service, office) = self.desk.service_and_office(&town, a.service_id).await.map_err(problem)?;
                Ok((next, one(texts::times(lang, &self.free_times(&town, &service, &office, day).await?))))
            }
            Action::Move(id, start) => {
                let (a, _) = self.own(&town, id).await?;
                let start = Timestamp::from_second(start).map_err(|_| Problem::NotOffered)?;
                match self.desk.reschedule(&town, &a, None, start).await {
                    Ok(moved) => {
                        let when = moved.start.to_zoned(zone_of(&town));
                        Ok((next, one(texts::moved(lang, &moved.public_id, &when))))
                    }
                    Err(DeskError::Unavailable { alternatives, .. }) => {
                        // Choose again among the nearest free times of the same appointment.
                        let mut again = next;
                        let day = start.to_zoned(zone_of(&town)).date();
                        again.step = Step::MoveTime { appointment: id, day };
                        let times: Vec<Zoned> = alternatives.into_iter().map(|s| s.start).collect();
                        Ok((again, vec![texts::problem(lang, &Problem::TimeGone), texts::times(lang, &times)]))
                    }
                    Err(e) => Err(problem(e)),
                }
            }
            Action::TicketOffices => {
                let offices = self.desk.store.offices(town.id).await.map_err(|e| problem(e.into()))?;
                let mut open = Vec::new();
                for o in offices {
                    if self.desk.walk_in_open(&town, &o).await.map_err(problem)? {
                        open.push((o.id.0, o.name));
                    }
                }
                Ok((next, one(texts::ticket_offices(lang, &open))))
            }
            Action::TicketName(office) => {
                let office = self.office(&town, office).await?;
                if !self.desk.walk_in_open(&town, &office).await.map_err(problem)? {
                    return Err(Problem::WalkInClosed);
                }
                Ok((next, one(texts::ask_name(lang))))
            }
            Action::TakeTicket(office, name) => {
                let office = self.office(&town, office).await?;
                let source = format!("telegram:{}", self.chat);
                let (entry, join_url) = self
                    .desk
                    .take_ticket_for_chat(&town, &office, name.as_str(), self.chat, &source, lang)
                    .await
                    .map_err(problem)?;
                let number = entry.ticket_number.unwrap_or_default();
                Ok((next, one(texts::ticket(lang, number, &office.name, &join_url))))
            }
        }
    }

    async fn book(&self, town: &Tenant, next: Conversation) -> Answer {
        let lang = next.lang;
        let d = next.draft.clone();
        let (service, _) = self.service(town, &next, d.service.unwrap_or_default()).await?;
        let start = Timestamp::from_second(d.start.unwrap_or_default()).map_err(|_| Problem::NotOffered)?;
        let input = BookingInput {
            name: d.name.map(|n| n.as_str().to_owned()).unwrap_or_default(),
            email: d.email.map(|e| e.as_str().to_owned()).unwrap_or_default(),
            phone: d.phone.map(|p| p.as_str().to_owned()),
            fiscal_code: None,
            mode: d.mode.map(|m| m.as_str()).unwrap_or_default().to_owned(),
            notes: None,
            answers: Default::default(),
            privacy_accepted: d.privacy,
            lang,
        };
        let req = BookingRequest {
            service_id: service.id,
            start,
            input,
            idempotency: None,
            source: format!("telegram:{}", self.chat),
        };
        match self.desk.book_as(town, req, lang, Booker::Telegram { chat: self.chat }).await {
            Ok(BookingResult::Booked { receipt, .. }) => {
                let when = self.when(town, start.as_second())?;
                let reply = texts::booked(lang, &receipt.id, &service.name, &when, &receipt.manage_url);
                Ok((next.booked(), vec![reply]))
            }
            // No idempotency key is given, so there is no earlier answer to replay.
            Ok(BookingResult::Replay(_)) => Err(Problem::Failure),
            Err(DeskError::Unavailable { alternatives, .. }) => {
                let times: Vec<Zoned> = alternatives.into_iter().map(|s| s.start).collect();
                Ok((
                    next.choose_time_again(),
                    vec![texts::problem(lang, &Problem::TimeGone), texts::times(lang, &times)],
                ))
            }
            Err(e) => Err(problem(e)),
        }
    }

    // The town's services a chat can book: active, and without required intake questions
    // (those are asked by the booking page's form).
    async fn bookable(&self, town: &Tenant) -> Result<Vec<Service>, Problem> {
        let services = self.desk.bookable_services(town).await.map_err(problem)?;
        Ok(services.into_iter().filter(|s| !s.questions.iter().any(|q| q.required)).collect())
    }

    async fn office(&self, town: &Tenant, id: i64) -> Result<Office, Problem> {
        let office = self.desk.store.office(town.id, OfficeId(id)).await.map_err(|e| problem(e.into()))?;
        office.ok_or(Problem::NotOffered)
    }

    // The draft's service, bookable by chat, of the draft's office, in this town.
    async fn service(&self, town: &Tenant, conv: &Conversation, id: i64) -> Result<(Service, Office), Problem> {
        let service =
            self.bookable(town).await?.into_iter().find(|s| s.id == ServiceId(id)).ok_or(Problem::NotOffered)?;
        if conv.draft.office.is_some_and(|o| o != service.office_id.0) {
            return Err(Problem::NotOffered);
        }
        let office = self.office(town, service.office_id.0).await?;
        Ok((service, office))
    }

    async fn free_days(&self, town: &Tenant, service: &Service, office: &Office) -> Result<Vec<Date>, Problem> {
        let today = self.now.to_zoned(zone_of(town)).date();
        let to = today.checked_add(DAYS_AHEAD.days()).unwrap_or(today);
        let slots = self.desk.slots_between(town, service, office, today, to).await.map_err(problem)?;
        let mut days: Vec<Date> = slots.iter().filter(|s| s.available > 0).map(|s| s.start.date()).collect();
        days.dedup();
        days.truncate(MAX_DAYS);
        Ok(days)
    }

    async fn free_times(
        &self,
        town: &Tenant,
        service: &Service,
        office: &Office,
        day: Date,
    ) -> Result<Vec<Zoned>, Problem> {
        let slots = self.desk.slots_between(town, service, office, day, day).await.map_err(problem)?;
        let mut times: Vec<Zoned> =
            slots.into_iter().filter(|s| s.available > 0 && s.start.date() == day).map(|s| s.start).collect();
        times.truncate(MAX_TIMES);
        Ok(times)
    }

    fn when(&self, town: &Tenant, start: i64) -> Result<Zoned, Problem> {
        Timestamp::from_second(start).map(|t| t.to_zoned(zone_of(town))).map_err(|_| Problem::NotOffered)
    }

    async fn chat_appointments(&self, town: &Tenant) -> Result<Vec<Appointment>, Problem> {
        let all = self
            .desk
            .store
            .telegram_chat_appointments(town.id, self.chat, self.now)
            .await
            .map_err(|e| problem(e.into()))?;
        Ok(all.into_iter().filter(|a| a.status.is_active()).collect())
    }

    async fn listed(&self, town: &Tenant) -> Result<Vec<Listed>, Problem> {
        let mut listed = Vec::new();
        for a in self.chat_appointments(town).await? {
            let service = self.desk.store.service(town.id, a.service_id).await.map_err(|e| problem(e.into()))?;
            listed.push(Listed {
                id: a.id.0,
                reference: a.public_id.clone(),
                service: service.map(|s| s.name).unwrap_or_default(),
                when: a.start.to_zoned(zone_of(town)),
            });
        }
        Ok(listed)
    }

    // An active appointment of this town booked from this chat: any other id is not offered.
    async fn own(&self, town: &Tenant, id: i64) -> Result<(Appointment, Listed), Problem> {
        let listed = self.listed(town).await?.into_iter().find(|l| l.id == id).ok_or(Problem::NotOffered)?;
        let a = self.chat_appointments(town).await?.into_iter().find(|a| a.id.0 == id).ok_or(Problem::NotOffered)?;
        Ok((a, listed))
    }
}

// `Towns` is answered before the town is looked up.
fn unreachable_towns(next: Conversation, lang: Lang) -> Answer {
    Ok((next, vec![texts::refusal(lang, Refusal::StaleButton)]))
}
