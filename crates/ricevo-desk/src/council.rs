//! Council sessions: a town schedules a session of its council, Giunta or a commission with
//! personal links for its members; the members run it through [`Desk::council_act`] (the
//! rules are the core's `council` module); viewers read [`Desk::council_public`]; the minutes'
//! skeleton comes from [`Desk::council_minutes`].
//!
//! Every change is an event appended to the session's log with the next sequence number; two
//! nodes acting at once collide on the (session, seq) key and the loser replays and retries, so
//! no event is lost. A vote is also a row keyed by (session, vote, member): a second vote is
//! impossible even across nodes.

use jiff::Timestamp;
use ricevo_core::citizen::FieldError;
use ricevo_core::council::{
    BodyKind, Command, CouncilSessionId, Member, MemberId, Minutes, Phase, PublicSnapshot, Refusal, Role, Session,
    Setup, Snapshot,
};
use ricevo_core::text::{Email, PersonName};
use ricevo_core::{Lang, TenantId};
use ricevo_notify::citizen_message::render_email;
use ricevo_notify::{CitizenMessage, MessageKind, Outgoing};
use ricevo_store::{
    CouncilAppend, CouncilSessionFull, CouncilSessionRecord, Grant, NewCouncilMember, NewCouncilSession,
    NewOutboxMessage, Role as StaffRole, StoreError, Tenant,
};
use serde::Serialize;

use crate::town::zone_of;
use crate::{Desk, DeskError, tokens};

/// A member to seat in a new session, as the schedule form gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDraft {
    /// The member's name.
    pub name: String,
    /// The member's role (exactly one chair per session).
    pub role: Role,
    /// Where to send the personal link; `None`: staff hand it over.
    pub email: Option<String>,
}

/// A session to schedule, as the schedule form gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDraft {
    /// The kind of body.
    pub body: BodyKind,
    /// The body's name ("Consiglio comunale", "Commissione bilancio"); empty: the kind's name.
    pub body_name: String,
    /// The session's title ("Seduta ordinaria").
    pub title: String,
    /// When it is called for.
    pub starts_at: Timestamp,
    /// The agenda items' titles, in order.
    pub items: Vec<String>,
    /// Who sits (at most [`MAX_MEMBERS`]).
    pub members: Vec<MemberDraft>,
    /// Voting members present needed for the quorum; `None`: a majority of the voting members.
    pub quorum: Option<u16>,
    /// The length of a speech in minutes; `None`: no limit.
    pub speech_minutes: Option<u16>,
}

/// Most members one session seats (everyone speaks and shows video).
pub const MAX_MEMBERS: usize = 50;
/// Most agenda items.
pub const MAX_ITEMS: usize = 100;

/// A member's personal link, returned once (only its hash is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberLink {
    /// The seat.
    pub member: MemberId,
    /// The member's name.
    pub name: String,
    /// The member's role.
    pub role: Role,
    /// The link (`{public_url}/{town}/consiglio/membro/{token}`).
    pub url: String,
    /// Whether an e-mail with the link was queued.
    pub emailed: bool,
}

/// A session in the town's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouncilSummary {
    /// The session.
    pub id: CouncilSessionId,
    /// The kind of body.
    pub body: BodyKind,
    /// The body's name.
    pub body_name: String,
    /// The title.
    pub title: String,
    /// When called for.
    pub starts_at: Timestamp,
    /// Its state.
    pub state: Phase,
    /// When it closed.
    pub closed_at: Option<Timestamp>,
}

/// A session as staff see it: the setup, members with their e-mails, and the state now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouncilView {
    /// Its place in the list.
    pub summary: CouncilSummary,
    /// The facts it was scheduled with.
    pub setup: Setup,
    /// Each member's e-mail, by seat (`None`: no e-mail).
    pub emails: Vec<(MemberId, Option<String>)>,
    /// The state now.
    pub snapshot: Snapshot,
}

/// Who a member's link opened: their seat in one session of one town.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouncilSeat {
    /// The town.
    pub tenant: TenantId,
    /// The session.
    pub session: CouncilSessionId,
    /// The seat.
    pub member: MemberId,
    /// The role.
    pub role: Role,
    /// The member's name.
    pub name: String,
}

/// A town's council settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CouncilSettings {
    /// Days a session's recording is kept after it closes; `None`: forever; 0: removed when
    /// the session closes.
    pub recording_keep_days: Option<u16>,
}

/// How often an act is replayed and tried again after another node appended first.
const APPEND_RETRIES: usize = 32;
/// Longest title, body name or agenda item, in characters.
const MAX_TEXT: usize = 300;
/// Longest speech limit, in minutes.
const MAX_SPEECH_MINUTES: u16 = 240;
/// Longest recording retention, in days (100 years).
const MAX_KEEP_DAYS: u16 = 36_500;

/// Who may schedule sessions and change the council settings: the town's administrators and
/// managers.
pub fn may_schedule(tenant: &Tenant, grant: &Grant) -> bool {
    grant.tenant_id == tenant.id && matches!(grant.role, StaffRole::Admin | StaffRole::Manager)
}

fn require_scheduler(tenant: &Tenant, grant: &Grant) -> Result<(), DeskError> {
    if may_schedule(tenant, grant) { Ok(()) } else { Err(DeskError::Forbidden) }
}

fn say(lang: Lang, it: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::It => it,
        Lang::En => en,
    }
}

/// One line of 1 to `max` characters, trimmed.
fn line(s: &str, max: usize) -> Option<String> {
    let t = s.trim();
    (!t.is_empty() && t.chars().count() <= max && !t.chars().any(char::is_control)).then(|| t.to_owned())
}

/// A draft checked: every problem at once, worded in `lang`.
fn check_draft(draft: &SessionDraft, lang: Lang) -> Result<SessionDraft, DeskError> {
    let mut errors = Vec::new();
    let title = line(&draft.title, MAX_TEXT).unwrap_or_else(|| {
        errors.push(FieldError::new(
            "title",
            say(
                lang,
                "Scrivi il titolo della seduta (al massimo 300 caratteri).",
                "Write the session's title (at most 300 characters).",
            ),
        ));
        String::new()
    });
    let body_name = if draft.body_name.trim().is_empty() {
        draft.body.label(Lang::It).to_owned()
    } else {
        line(&draft.body_name, MAX_TEXT).unwrap_or_else(|| {
            errors.push(FieldError::new(
                "body_name",
                say(lang, "Il nome dell'organo è troppo lungo.", "The body's name is too long."),
            ));
            String::new()
        })
    };
    if draft.items.len() > MAX_ITEMS {
        errors.push(FieldError::new(
            "items",
            say(lang, "Al massimo 100 punti all'ordine del giorno.", "At most 100 agenda items."),
        ));
    }
    let mut items = Vec::new();
    for (i, item) in draft.items.iter().enumerate() {
        match line(item, MAX_TEXT) {
            Some(t) => items.push(t),
            None if item.trim().is_empty() => {}
            None => errors.push(FieldError::new(
                format!("items.{i}"),
                say(lang, "Un punto all'ordine del giorno è troppo lungo.", "An agenda item is too long."),
            )),
        }
    }
    if draft.members.is_empty() || draft.members.len() > MAX_MEMBERS {
        errors.push(FieldError::new("members", say(lang, "Indica da 1 a 50 componenti.", "Name 1 to 50 members.")));
    }
    if draft.members.iter().filter(|m| m.role == Role::Chair).count() != 1 {
        errors.push(FieldError::new("members", say(lang, "Indica un solo presidente.", "Name exactly one chair.")));
    }
    let mut members = Vec::new();
    for (i, m) in draft.members.iter().enumerate() {
        let name = match PersonName::parse(m.name.trim()) {
            Ok(n) => n.as_str().to_owned(),
            Err(_) => {
                errors.push(FieldError::new(
                    format!("members.{i}.name"),
                    say(lang, "Scrivi il nome del componente.", "Write the member's name."),
                ));
                String::new()
            }
        };
        let email = match m.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            None => None,
            Some(e) => match Email::parse(e) {
                Ok(e) => Some(e.as_str().to_owned()),
                Err(_) => {
                    errors.push(FieldError::new(
                        format!("members.{i}.email"),
                        say(lang, "Indirizzo e-mail non valido.", "Not a valid e-mail address."),
                    ));
                    None
                }
            },
        };
        members.push(MemberDraft { name, role: m.role, email });
    }
    let voters = draft.members.iter().filter(|m| m.role.votes()).count();
    if let Some(q) = draft.quorum
        && (q == 0 || usize::from(q) > voters)
    {
        errors.push(FieldError::new(
            "quorum",
            say(
                lang,
                "Il numero legale va da 1 al numero dei componenti con diritto di voto.",
                "The quorum goes from 1 to the number of voting members.",
            ),
        ));
    }
    if let Some(m) = draft.speech_minutes
        && (m == 0 || m > MAX_SPEECH_MINUTES)
    {
        errors.push(FieldError::new(
            "speech_minutes",
            say(lang, "La durata di un intervento va da 1 a 240 minuti.", "A speech lasts 1 to 240 minutes."),
        ));
    }
    if !errors.is_empty() {
        return Err(DeskError::Fields(errors));
    }
    Ok(SessionDraft {
        body: draft.body,
        body_name,
        title,
        starts_at: draft.starts_at,
        items,
        members,
        quorum: draft.quorum,
        speech_minutes: draft.speech_minutes,
    })
}

/// The core's setup of a stored session.
fn setup_of(full: &CouncilSessionFull) -> Setup {
    let s = &full.session;
    Setup {
        id: s.id,
        body: s.body,
        body_name: s.body_name.clone(),
        title: s.title.clone(),
        starts_at: s.starts_at,
        items: full.items.clone(),
        members: full.members.iter().map(|m| Member { id: m.id, name: m.name.clone(), role: m.role }).collect(),
        quorum: s.quorum,
        speech_minutes: s.speech_minutes,
    }
}

fn summary_of(s: &CouncilSessionRecord) -> CouncilSummary {
    CouncilSummary {
        id: s.id,
        body: s.body,
        body_name: s.body_name.clone(),
        title: s.title.clone(),
        starts_at: s.starts_at,
        state: s.state,
        closed_at: s.closed_at,
    }
}

/// The address a member's token opens.
pub fn member_link(base: &str, town: &str, token: &str) -> String {
    format!("{}/{town}/consiglio/membro/{token}", base.trim_end_matches('/'))
}

impl Desk {
    /// The e-mail with a member's personal link, as an outbox row (`None` if it cannot be
    /// rendered, which JSON of strings never fails).
    fn council_link_email(
        &self,
        tenant: &Tenant,
        session: &SessionDraft,
        name: &str,
        email: &str,
        url: &str,
        dedupe_key: String,
    ) -> Option<NewOutboxMessage> {
        let when = ricevo_notify::human_datetime(Lang::It, &session.starts_at.to_zoned(zone_of(tenant)));
        let long = format!(
            "Gentile {name},\n\nè convocata la seduta \"{title}\" ({body}) per {when}.\n\n\
             Partecipi in video con il tuo link personale, da non inoltrare a nessuno:\n{url}\n\n\
             Il link vale solo per te e solo per questa seduta.",
            title = session.title,
            body = session.body_name,
        );
        let message = CitizenMessage {
            // A convocation confirms the member's seat; the message's kind names only its
            // Message-ID, unique with the dedupe key.
            kind: MessageKind::Confirmation,
            lang: Lang::It,
            town: tenant.name.clone(),
            subject: format!("Convocazione: {}", session.title).chars().take(120).collect(),
            short: format!("Convocazione {}: {url}", session.title),
            long,
            due_date: Some(session.starts_at),
            link: Some(url.to_owned()),
        };
        let rendered = render_email(&message, name, email, &tenant.contact_email, &self.mail_from(tenant), &dedupe_key);
        match Outgoing::Email(rendered).to_payload() {
            Ok(payload) => Some(NewOutboxMessage {
                kind: "email".into(),
                dedupe_key,
                payload,
                due_at: self.now(),
                retractable: false,
            }),
            Err(e) => {
                tracing::error!(error = %e, "council link e-mail could not be queued");
                None
            }
        }
    }

    /// Schedules a session (administrators and managers of the town). Returns its id and each
    /// member's personal link, once; members with an e-mail get theirs by e-mail too, queued
    /// in the same transaction. Field errors are worded in `lang`.
    pub async fn schedule_council(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        draft: SessionDraft,
        lang: Lang,
    ) -> Result<(CouncilSessionId, Vec<MemberLink>), DeskError> {
        require_scheduler(tenant, grant)?;
        let draft = check_draft(&draft, lang)?;
        let now = self.now();
        let mut tokens_of = Vec::with_capacity(draft.members.len());
        let mut members = Vec::with_capacity(draft.members.len());
        let mut outbox = Vec::new();
        for m in &draft.members {
            let token = tokens::new_token();
            let hash = tokens::hash(&token);
            let url = member_link(&self.settings.public_url, &tenant.slug, &token);
            let emailed = match &m.email {
                Some(email) => {
                    let key = format!("council-link:{}:{}", tenant.id, &hash[..32]);
                    let row = self.council_link_email(tenant, &draft, &m.name, email, &url, key);
                    let queued = row.is_some();
                    outbox.extend(row);
                    queued
                }
                None => false,
            };
            tokens_of.push((url, emailed));
            members.push(NewCouncilMember {
                name: m.name.clone(),
                role: m.role,
                email: m.email.clone(),
                token_hash: hash,
            });
        }
        let new = NewCouncilSession {
            tenant_id: tenant.id,
            body: draft.body,
            body_name: draft.body_name.clone(),
            title: draft.title.clone(),
            starts_at: draft.starts_at,
            items: draft.items.clone(),
            members,
            quorum: draft.quorum,
            speech_minutes: draft.speech_minutes,
            outbox,
            now,
        };
        let full = self.store.create_council_session(&new).await?;
        tracing::info!(tenant = %tenant.slug, session = %full.session.id, members = full.members.len(), "council session scheduled");
        let links = full
            .members
            .iter()
            .zip(tokens_of)
            .map(|(m, (url, emailed))| MemberLink { member: m.id, name: m.name.clone(), role: m.role, url, emailed })
            .collect();
        Ok((full.session.id, links))
    }

    /// A new link for one member (the old one stops working), e-mailed when they have an
    /// e-mail (administrators and managers).
    pub async fn council_new_link(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        session: CouncilSessionId,
        member: MemberId,
    ) -> Result<MemberLink, DeskError> {
        require_scheduler(tenant, grant)?;
        let full = self.store.council_session(tenant.id, session).await?.ok_or(DeskError::NotFound)?;
        let seat = full.members.iter().find(|m| m.id == member).ok_or(DeskError::NotFound)?;
        let token = tokens::new_token();
        let hash = tokens::hash(&token);
        self.store.set_council_member_token(tenant.id, session, member, &hash).await?;
        let url = member_link(&self.settings.public_url, &tenant.slug, &token);
        let mut emailed = false;
        if let Some(email) = &seat.email {
            let s = &full.session;
            let draft = SessionDraft {
                body: s.body,
                body_name: s.body_name.clone(),
                title: s.title.clone(),
                starts_at: s.starts_at,
                items: Vec::new(),
                members: Vec::new(),
                quorum: None,
                speech_minutes: None,
            };
            let key = format!("council-link:{}:{}", tenant.id, &hash[..32]);
            if let Some(row) = self.council_link_email(tenant, &draft, &seat.name, email, &url, key) {
                self.store.queue_outbox(tenant.id, &[row], self.now()).await?;
                emailed = true;
            }
        }
        Ok(MemberLink { member, name: seat.name.clone(), role: seat.role, url, emailed })
    }

    /// The town's sessions, the latest called for first.
    pub async fn council_sessions(&self, tenant: &Tenant) -> Result<Vec<CouncilSummary>, DeskError> {
        Ok(self.store.council_sessions(tenant.id).await?.iter().map(summary_of).collect())
    }

    /// A session and its state rebuilt from its log.
    async fn council_load(
        &self,
        tenant: TenantId,
        id: CouncilSessionId,
    ) -> Result<(CouncilSessionFull, Session), DeskError> {
        let full = self.store.council_session(tenant, id).await?.ok_or(DeskError::NotFound)?;
        let events = self.store.council_events(tenant, id).await?;
        let session = Session::replay(setup_of(&full), &events);
        Ok((full, session))
    }

    /// One session as staff see it.
    pub async fn council_session(&self, tenant: &Tenant, id: CouncilSessionId) -> Result<CouncilView, DeskError> {
        let (full, session) = self.council_load(tenant.id, id).await?;
        Ok(CouncilView {
            summary: summary_of(&full.session),
            setup: session.setup().clone(),
            emails: full.members.iter().map(|m| (m.id, m.email.clone())).collect(),
            snapshot: session.snapshot(),
        })
    }

    /// What a member's link opens: their seat. `NotFound` for an unknown token or another
    /// town's.
    pub async fn council_member(&self, tenant: &Tenant, token: &str) -> Result<CouncilSeat, DeskError> {
        if !tokens::looks_like_token(token) {
            return Err(DeskError::NotFound);
        }
        let m =
            self.store.council_member_by_token(tenant.id, &tokens::hash(token)).await?.ok_or(DeskError::NotFound)?;
        if m.tenant_id != tenant.id {
            return Err(DeskError::NotFound);
        }
        Ok(CouncilSeat { tenant: m.tenant_id, session: m.session_id, member: m.id, role: m.role, name: m.name })
    }

    /// The session now, as members see it.
    pub async fn council_snapshot(&self, seat: &CouncilSeat) -> Result<Snapshot, DeskError> {
        Ok(self.council_load(seat.tenant, seat.session).await?.1.snapshot())
    }

    /// Applies `command` from `actor` and appends its events; when another node appended
    /// first, replays and tries again, so no event is lost and each is checked against the
    /// state it follows.
    async fn council_run(
        &self,
        tenant: TenantId,
        id: CouncilSessionId,
        actor: MemberId,
        command: Command,
    ) -> Result<Session, DeskError> {
        let full = self.store.council_session(tenant, id).await?.ok_or(DeskError::NotFound)?;
        let setup = setup_of(&full);
        for _ in 0..APPEND_RETRIES {
            let log = self.store.council_events(tenant, id).await?;
            let mut session = Session::replay(setup.clone(), &log);
            let after = session.seq();
            let now = self.now();
            let events = session.apply(now, actor, command).map_err(DeskError::Council)?;
            if events.is_empty() {
                return Ok(session);
            }
            let append = CouncilAppend { tenant_id: tenant, session_id: id, after, events: &events, outbox: &[], now };
            match self.store.append_council_events(&append).await {
                Ok(()) => {
                    self.announce(format!("council:{}:{}", tenant.0, id.0));
                    return Ok(session);
                }
                Err(StoreError::Stale) => tokio::task::yield_now().await,
                // The votes table's key: the member voted already (through another node).
                Err(StoreError::Duplicate) => return Err(DeskError::Council(Refusal::AlreadyVoted)),
                Err(e) => return Err(e.into()),
            }
        }
        Err(DeskError::Conflict)
    }

    /// A member's command (from their socket). A refusal is `DeskError::Council`; the
    /// system's commands (connected, disconnected) are refused here: see
    /// [`Desk::council_presence`].
    pub async fn council_act(&self, seat: &CouncilSeat, command: Command) -> Result<Snapshot, DeskError> {
        if command.is_system() {
            return Err(DeskError::Council(Refusal::Malformed));
        }
        Ok(self.council_run(seat.tenant, seat.session, seat.member, command).await?.snapshot())
    }

    /// A member's page connected or disconnected (a member who drops out before voting is
    /// absent for the open vote; one who dropped out while present is present again on
    /// reconnecting). Call it on the first socket of a member opening and the last closing.
    pub async fn council_presence(&self, seat: &CouncilSeat, connected: bool) -> Result<Snapshot, DeskError> {
        let member = seat.member;
        let command = if connected { Command::Connected { member } } else { Command::Disconnected { member } };
        Ok(self.council_run(seat.tenant, seat.session, member, command).await?.snapshot())
    }

    /// The skeleton of a session's minutes.
    pub async fn council_minutes(&self, tenant: &Tenant, id: CouncilSessionId) -> Result<Minutes, DeskError> {
        Ok(self.council_load(tenant.id, id).await?.1.minutes())
    }

    /// A session as viewers see it.
    pub async fn council_public(&self, tenant: &Tenant, id: CouncilSessionId) -> Result<PublicSnapshot, DeskError> {
        Ok(self.council_load(tenant.id, id).await?.1.public())
    }

    /// The town's council settings.
    pub async fn council_settings(&self, tenant: &Tenant) -> Result<CouncilSettings, DeskError> {
        Ok(CouncilSettings { recording_keep_days: self.store.council_recording_keep_days(tenant.id).await? })
    }

    /// Changes the town's council settings (administrators and managers); at most 36,500 days.
    pub async fn set_council_settings(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        settings: CouncilSettings,
    ) -> Result<(), DeskError> {
        require_scheduler(tenant, grant)?;
        if settings.recording_keep_days.is_some_and(|d| d > MAX_KEEP_DAYS) {
            return Err(DeskError::Fields(vec![FieldError::new(
                "recording_keep_days",
                "Al massimo 36500 giorni. / At most 36,500 days.",
            )]));
        }
        self.store.set_council_recording_keep_days(tenant.id, settings.recording_keep_days).await?;
        Ok(())
    }

    /// Closed sessions whose recording is due for removal under their town's setting, and not
    /// removed yet.
    pub async fn council_recordings_due(&self) -> Result<Vec<(TenantId, CouncilSessionId)>, DeskError> {
        Ok(self.store.council_recordings_due(self.now()).await?)
    }

    /// Records that a session's recording was removed (it is not offered any more).
    pub async fn council_recording_removed(&self, tenant: TenantId, id: CouncilSessionId) -> Result<(), DeskError> {
        Ok(self.store.mark_council_recording_removed(tenant, id, self.now()).await?)
    }

    /// Whether a session's recording is still kept (not removed).
    pub async fn council_recording_kept(&self, tenant: &Tenant, id: CouncilSessionId) -> Result<bool, DeskError> {
        let full = self.store.council_session(tenant.id, id).await?.ok_or(DeskError::NotFound)?;
        Ok(full.session.recording_removed_at.is_none())
    }
}
