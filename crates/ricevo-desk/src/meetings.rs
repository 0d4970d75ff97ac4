//! Meetings: inviting someone with a personal link, ending a meeting, the documents shared in
//! it (who may upload and read which, and what is accepted), its chat (kept with the case),
//! what the official sees of the citizen's case beside the call, and what the official does to
//! other participants from inside the meeting (mute, let speak, remove, let back in, end).

use jiff::Timestamp;
use ricevo_core::audit::{Act, Actor, Subject};
use ricevo_core::lobby::{Abilities, Entry, EntryKind, EntryStatus};
use ricevo_core::{DocumentId, EntryId, MeetingId};
use ricevo_store::{ChatLine, DocumentMeta, Grant, Meeting, NewEntry, StoreError, Tenant};

use crate::audit::Record;
use crate::messages::token_link;
use crate::waiting_room::{Granted, Opened, covers};
use crate::{Desk, DeskError, tokens};

/// What a named role may do; `None` for an unknown role. `participant` (the default) may speak,
/// show video and share screen and documents; `speaker` speak and show video; `viewer` only
/// watch; `official` everything, moderation included; or a comma list of `speak`, `video`,
/// `screen`, `documents` (moderation is never granted by a list).
pub fn role_abilities(role: &str) -> Option<(EntryKind, Abilities)> {
    let role = role.trim();
    let named = match role {
        "" | "participant" => Some(Abilities::citizen()),
        "speaker" => Some(Abilities { speak: true, video: true, ..Abilities::default() }),
        "viewer" => Some(Abilities::default()),
        "official" => return Some((EntryKind::Official, Abilities::official())),
        _ => None,
    };
    if let Some(a) = named {
        return Some((EntryKind::Invitee, a));
    }
    let words_ok = role.split(',').all(|w| matches!(w.trim(), "speak" | "video" | "screen" | "documents"));
    words_ok.then(|| (EntryKind::Invitee, Abilities::parse(role)))
}

pub use ricevo_core::document::{clean_name, sniff};

/// Longest chat line, in characters.
pub const MAX_CHAT_CHARS: usize = 1000;

/// The citizen's case as the official sees it beside the call: who they are, what for, when,
/// and what they wrote when booking. Only for a participant who may moderate.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CaseSheet {
    /// The citizen's name.
    pub name: String,
    /// The service's name.
    pub service: String,
    /// The booked time, for an appointment.
    pub booked_start: Option<Timestamp>,
    /// The ticket number, for a walk-in.
    pub ticket_number: Option<i32>,
    /// The appointment's reference code (what the citizen quotes).
    pub reference: Option<String>,
    /// The citizen's notes when booking.
    pub notes: Option<String>,
    /// The answers to the service's intake questions, each with its question's label.
    pub answers: Vec<(String, String)>,
}

/// What the official does to another participant of their meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moderation {
    /// Silences their microphone until let speak again.
    Mute,
    /// Lets them speak again.
    Unmute,
    /// Sends them out of the meeting (they may be let back in).
    Remove,
}

impl Desk {
    /// A meeting of this town that `grant` may act on, ended or not (`NotFound`, `Forbidden`).
    pub async fn meeting_for(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: MeetingId,
    ) -> Result<Granted<Meeting>, DeskError> {
        let m = self.store.meeting(tenant.id, id).await?.ok_or(DeskError::NotFound)?;
        if !covers(grant, tenant, m.office_id) {
            return Err(DeskError::Forbidden);
        }
        Ok(Granted::new(m, grant.actor.clone()))
    }

    /// [`Desk::meeting_for`] of a meeting that goes on (`NotActive` once ended).
    pub async fn open_meeting_for(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: MeetingId,
    ) -> Result<Granted<Meeting>, DeskError> {
        let m = self.meeting_for(tenant, grant, id).await?;
        if m.ended_at.is_some() {
            return Err(DeskError::NotActive);
        }
        Ok(m)
    }

    /// The meeting `official` is in, when they may moderate it now (`Forbidden` otherwise): the
    /// same acts an official's grant allows from the dashboard, from inside the meeting.
    pub async fn moderated_by(&self, official: &Entry) -> Result<Granted<Meeting>, DeskError> {
        if !official.abilities.moderate || !official.may_join_media() {
            return Err(DeskError::Forbidden);
        }
        let actor = Actor::Official { name: official.name.clone() };
        self.open_meeting_of(official).await?.map(|m| Granted::new(m, actor)).ok_or(DeskError::Forbidden)
    }

    /// A new personal link into a meeting that goes on (`NotActive` once ended). `direct` enters without the waiting
    /// room. Returns the invitee's place and link.
    pub async fn invite(
        &self,
        meeting: &Granted<Meeting>,
        name: String,
        kind: EntryKind,
        abilities: Abilities,
        direct: bool,
    ) -> Result<(Entry, String), DeskError> {
        // Read again: it may have ended since it was checked.
        let current = self.store.meeting(meeting.tenant_id, meeting.id).await?.ok_or(DeskError::NotFound)?;
        if current.ended_at.is_some() {
            return Err(DeskError::NotActive);
        }
        let token = tokens::new_token();
        let new = NewEntry {
            tenant_id: meeting.tenant_id,
            office_id: meeting.office_id,
            kind,
            appointment_id: None,
            meeting_id: Some(meeting.id),
            name,
            email: None,
            service: String::new(),
            booked_start: None,
            booked_end: None,
            abilities,
            direct,
            token_hash: Some(tokens::hash(&token)),
            phone: None,
            telegram_chat_id: None,
        };
        let entry = self.store.add_entry(&new, self.now()).await?;
        self.office_changed(meeting.office_id);
        Ok((entry, token_link(&self.settings.public_url, &token, "/join")))
    }

    /// Ends a meeting for everyone: their places done, the appointment done, media closed.
    pub async fn end_meeting(&self, meeting: &Granted<Meeting>) -> Result<(), DeskError> {
        self.finish_meeting(meeting, meeting.actor().clone(), "").await.map(|_| ())
    }

    /// Ends `meeting` for everyone on behalf of `actor` (`detail` says why in the audit log):
    /// the same end whoever decides it. Returns whether it finished anyone's place (false: it
    /// had already ended).
    pub(crate) async fn finish_meeting(
        &self,
        meeting: &Meeting,
        actor: Actor,
        detail: &str,
    ) -> Result<bool, DeskError> {
        // The citizen is asked for feedback in the transaction that ends the meeting.
        let asks = self.meeting_feedback(meeting).await;
        let finished = self.store.end_meeting_asking_feedback(meeting.tenant_id, meeting.id, self.now(), &asks).await?;
        self.live.meeting_ended(meeting.id);
        if !finished.is_empty() {
            let record = Record::new(Act::MeetingEnded, Subject::Meeting(meeting.id)).detail(detail);
            self.record_as(meeting.tenant_id, actor, record).await;
        }
        for e in &finished {
            self.entry_changed(e.id);
        }
        self.office_changed(meeting.office_id);
        Ok(!finished.is_empty())
    }

    /// The meeting a link's person may upload documents to now, checked before a byte of the
    /// document is read: admitted to a meeting that goes on, with the right to share documents
    /// (`Forbidden`), and a declared length within the limit (`DocumentTooLarge`).
    pub async fn may_upload(&self, entry: &Entry, declared_bytes: Option<u64>) -> Result<Meeting, DeskError> {
        let meeting = self.open_meeting_of(entry).await?.ok_or(DeskError::Forbidden)?;
        if !entry.may_join_media() || !entry.abilities.share_documents {
            return Err(DeskError::Forbidden);
        }
        let max = self.settings.max_document_bytes;
        if declared_bytes.is_some_and(|n| n > max as u64) {
            return Err(self.too_large());
        }
        Ok(meeting)
    }

    /// The limit as the refusal states it, in megabytes.
    pub fn too_large(&self) -> DeskError {
        DeskError::DocumentTooLarge(self.settings.max_document_bytes / (1024 * 1024))
    }

    /// Stores a document a link's person shares in their meeting, with the rights checked
    /// again (they may have been removed while it arrived); its type comes from its bytes
    /// (`UnsupportedDocument`), its name is cleaned (see [`clean_name`]).
    pub async fn add_document(
        &self,
        link: &Opened,
        raw_name: &str,
        body: &[u8],
    ) -> Result<(Meeting, DocumentMeta), DeskError> {
        let meeting = self.may_upload(&link.entry, Some(body.len() as u64)).await?;
        let kind = sniff(body).ok_or(DeskError::UnsupportedDocument)?;
        let name = clean_name(raw_name);
        let doc =
            self.store.add_document(link.tenant.id, meeting.id, link.entry.id, &name, kind, body, self.now()).await?;
        Ok((meeting, doc))
    }

    /// A document of a link's own meeting: its participants while it lasts, its official also
    /// after (`NotFound` for anyone else, so nobody learns it exists).
    pub async fn link_document(&self, link: &Opened, id: DocumentId) -> Result<(DocumentMeta, Vec<u8>), DeskError> {
        let meeting = link.entry.meeting_id.ok_or(DeskError::NotFound)?;
        let open = self.open_meeting_of(&link.entry).await?.is_some();
        if !link.entry.may_read_documents(open) {
            return Err(DeskError::NotFound);
        }
        self.store.document(link.tenant.id, meeting, id).await?.ok_or(DeskError::NotFound)
    }

    /// A document of a meeting of the grant's offices, also after the meeting ended: the
    /// office keeps the case's documents until the retention job removes them.
    pub async fn meeting_document(
        &self,
        meeting: &Granted<Meeting>,
        id: DocumentId,
    ) -> Result<(DocumentMeta, Vec<u8>), DeskError> {
        let found = self.store.document(meeting.tenant_id, meeting.id, id).await?.ok_or(DeskError::NotFound)?;
        let record =
            Record::new(Act::DocumentDownloaded, Subject::Document(id)).detail(format!("meeting {}", meeting.id.0));
        self.record_as(meeting.tenant_id, meeting.actor().clone(), record).await;
        Ok(found)
    }

    /// The documents shared so far in a meeting, oldest first.
    pub async fn documents(&self, meeting: &Meeting) -> Result<Vec<DocumentMeta>, DeskError> {
        Ok(self.store.documents(meeting.tenant_id, meeting.id).await?)
    }

    /// Stores a chat line `entry` writes in meeting `m` (one line of at most
    /// [`MAX_CHAT_CHARS`], `Invalid` otherwise) and returns it as kept with the case. The caller
    /// has checked that `entry` takes part in `m` now; the store checks it belongs to the
    /// meeting, which goes on (`NotFound`).
    pub async fn chat(&self, m: &Meeting, entry: &Entry, text: &str) -> Result<ChatLine, DeskError> {
        let text = ricevo_core::text::single_line(text.trim(), MAX_CHAT_CHARS)
            .map_err(|_| DeskError::Invalid("chat messages are one line of at most 1000 characters".into()))?;
        if text.is_empty() {
            return Err(DeskError::Invalid("empty chat message".into()));
        }
        Ok(self.store.add_chat_line(m.tenant_id, m.id, entry.id, &entry.name, &text, self.now()).await?)
    }

    /// The chat of a meeting so far, oldest first (what a page shows after a reload).
    pub async fn chat_lines(&self, m: &Meeting) -> Result<Vec<ChatLine>, DeskError> {
        Ok(self.store.chat_lines(m.tenant_id, m.id).await?)
    }

    /// The case of the citizen in `official`'s meeting, for the panel beside the official's
    /// call: `Forbidden` unless `official` may moderate that meeting now; `None` when no
    /// citizen (appointment or walk-in) is in it.
    pub async fn case_sheet(&self, official: &Entry) -> Result<Option<CaseSheet>, DeskError> {
        let m = self.moderated_by(official).await?;
        let entries = self.store.meeting_entries(m.tenant_id, m.id).await?;
        let citizen = entries.into_iter().find(|e| matches!(e.kind, EntryKind::Appointment | EntryKind::Ticket));
        let appointment_id = citizen.as_ref().and_then(|e| e.appointment_id).or(m.appointment_id);
        let appointment = match appointment_id {
            Some(id) => self.store.appointment(m.tenant_id, id).await?,
            None => None,
        };
        if citizen.is_none() && appointment.is_none() {
            return Ok(None);
        }
        let mut sheet = CaseSheet::default();
        if let Some(e) = &citizen {
            sheet.name = e.name.clone();
            sheet.service = e.service.clone();
            sheet.booked_start = e.booked_start;
            sheet.ticket_number = e.ticket_number;
        }
        if let Some(a) = appointment {
            let service = self.store.service(m.tenant_id, a.service_id).await?;
            if sheet.name.is_empty() {
                sheet.name = a.citizen_name.clone();
            }
            if sheet.service.is_empty()
                && let Some(s) = &service
            {
                sheet.service = s.name.clone();
            }
            sheet.booked_start = sheet.booked_start.or(Some(a.start));
            sheet.reference = Some(a.public_id.clone());
            sheet.notes = a.notes.clone().filter(|n| !n.trim().is_empty());
            sheet.answers = answers_with_labels(&a.answers, service.as_ref());
        }
        Ok(Some(sheet))
    }

    /// A participant's media about to join their meeting, decided before the media server is
    /// asked: the place as it will be recorded once it answered (`None`: already recorded as in
    /// the meeting), or `NotQueued` when they may not join now.
    pub fn joining_media(&self, e: &Entry) -> Result<Option<Entry>, DeskError> {
        if e.status == EntryStatus::InMeeting {
            return Ok(None);
        }
        e.join_media(self.now()).map(Some).map_err(|_| DeskError::NotQueued)
    }

    /// Records a join decided by [`Desk::joining_media`] from `before`, after the media server
    /// answered. `Ok` also when another connection of the same link recorded it meanwhile;
    /// `Conflict` when the place changed otherwise (removed, the meeting ended): the caller
    /// undoes the join.
    pub async fn record_joined(&self, before: &Entry, joined: &Entry) -> Result<(), DeskError> {
        match self.store.update_entry(joined, before.status).await {
            Ok(()) => Ok(()),
            Err(StoreError::Stale) => {
                let now = self.store.entry(before.tenant_id, before.id).await?;
                let same = now.is_some_and(|n| n.status == EntryStatus::InMeeting && n.meeting_id == joined.meeting_id);
                if same { Ok(()) } else { Err(DeskError::Conflict) }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The official mutes, lets speak again or removes another participant of the meeting
    /// they moderate. Each is a stored change of the person's place (so it holds through a
    /// reload, a new offer or another node); a removal also takes them out of the media and
    /// tells their page and the dashboards. Returns the person as they are now (already
    /// removed or gone for good: as they were). `Forbidden` for someone who may not moderate,
    /// `NotFound` for someone not in that meeting.
    pub async fn moderate(&self, official: &Entry, target: EntryId, what: Moderation) -> Result<Entry, DeskError> {
        let m = self.moderated_by(official).await?;
        let now = self.now();
        let mut tries = 0;
        let other = loop {
            let other = match self.store.entry(m.tenant_id, target).await? {
                Some(o) if o.meeting_id == Some(m.id) && o.id != official.id => o,
                _ => return Err(DeskError::NotFound),
            };
            let changed = match what {
                Moderation::Mute => other.set_muted(true),
                Moderation::Unmute => other.set_muted(false),
                Moderation::Remove => other.remove(now),
            };
            let Ok(changed) = changed else {
                // Already removed, or gone for good: nothing left to do to them.
                break other;
            };
            match self.store.update_entry(&changed, other.status).await {
                Ok(()) => break changed,
                // They reconnected or left meanwhile: read them again and decide again.
                Err(StoreError::Stale) if tries < 5 => tries += 1,
                Err(e) => return Err(e.into()),
            }
        };
        let record = Record::new(Act::MeetingModerated, Subject::Entry(other.id))
            .citizen(&other.name)
            .detail(format!("{what:?}").to_lowercase());
        self.record_as(m.tenant_id, m.actor().clone(), record).await;
        if what == Moderation::Remove {
            // Their page reads the removal and closes; the media drop them now, even if that
            // page is gone.
            self.live.left_media(other.id);
            self.entry_changed(other.id);
            self.office_changed(other.office_id);
        }
        Ok(other)
    }

    /// The official lets someone they removed back into the meeting they moderate (the same
    /// admission as the dashboard's); their link opens the meeting again. `NotFound` when
    /// nobody removed from that meeting has this id.
    pub async fn readmit(&self, official: &Entry, target: EntryId) -> Result<Entry, DeskError> {
        let m = self.moderated_by(official).await?;
        let other = match self.store.entry(m.tenant_id, target).await? {
            Some(o) if o.meeting_id == Some(m.id) && o.status == EntryStatus::Removed => o,
            _ => return Err(DeskError::NotFound),
        };
        let (back, _) = self.admit(Granted::new(other, m.actor().clone())).await?;
        Ok(back)
    }
}

/// Intake answers (stored by question key) each with its question's label when the service
/// still has that question, in the service's order, the rest after.
fn answers_with_labels(answers: &serde_json::Value, service: Option<&ricevo_store::Service>) -> Vec<(String, String)> {
    let Some(map) = answers.as_object() else { return Vec::new() };
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let questions = service.map(|s| s.questions.as_slice()).unwrap_or_default();
    let mut out: Vec<(String, String)> =
        questions.iter().filter_map(|q| map.get(&q.key).map(|v| (q.label.clone(), text(v)))).collect();
    for (k, v) in map {
        if !questions.iter().any(|q| &q.key == k) {
            out.push((k.clone(), text(v)));
        }
    }
    out.retain(|(_, v)| !v.trim().is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_name_what_an_invitee_may_do() {
        let (kind, a) = role_abilities("viewer").expect("viewer");
        assert_eq!(kind, EntryKind::Invitee);
        assert!(!a.speak && !a.video && !a.share_screen && !a.share_documents && !a.moderate);
        let (kind, a) = role_abilities("official").expect("official");
        assert_eq!(kind, EntryKind::Official);
        assert!(a.moderate);
        let (_, a) = role_abilities("speak,documents").expect("list");
        assert!(a.speak && a.share_documents && !a.video && !a.moderate);
        assert!(role_abilities("moderate").is_none(), "moderation is not granted by a word list");
        assert!(role_abilities("admin").is_none());
    }

    #[test]
    fn types_come_from_the_bytes_not_the_name() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), None, "a WAV file is not a WebP");
        assert_eq!(sniff("Ciao, ecco la ricevuta.\n".as_bytes()), Some("text/plain; charset=utf-8"));
        assert_eq!(sniff(b"MZ\x90\0\x03\0"), None, "executables are refused");
        assert_eq!(sniff(b"PK\x03\x04"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn names_lose_paths_quotes_and_control_characters() {
        assert_eq!(clean_name("..%2F..%2Fetc%2Fpasswd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\me\\carta%20identit%C3%A0.pdf"), "carta identità.pdf");
        assert_eq!(clean_name("a\"b;\r\nc.txt"), "abc.txt");
        assert_eq!(clean_name(""), "documento");
        assert_eq!(clean_name(".."), "documento");
    }

    #[test]
    fn names_lose_bidirectional_overrides_and_invisible_characters() {
        // `fattura<RLO>fdp.exe` shows as `fatturaexe.pdf` wherever the override is honoured.
        assert_eq!(clean_name("fattura%E2%80%AEfdp.exe"), "fatturafdp.exe");
        assert_eq!(clean_name("fattura\u{202E}fdp.exe"), "fatturafdp.exe");
        for c in ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}']
            .into_iter()
            .chain(['\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{2060}', '\u{FEFF}'])
        {
            assert_eq!(clean_name(&format!("ricevuta{c}.pdf")), "ricevuta.pdf", "U+{:04X}", u32::from(c));
        }
        assert_eq!(clean_name("\u{202E}\u{2066}"), "documento", "nothing visible left");
    }
}
