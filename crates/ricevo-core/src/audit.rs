//! The audit log's vocabulary: who acted ([`Actor`]), what they did ([`Act`]) and to what
//! ([`Subject`]). The log itself is append-only (the store has no way to change an entry, only
//! to forget the citizen's name in it and to drop entries past their retention).

use serde::Serialize;

use crate::{AppointmentId, DocumentId, EntryId, MeetingId, OfficeId, ServiceId, UserId};

/// Who did something a town must be able to account for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A staff member signed in to the staff pages.
    Staff {
        /// Their account.
        id: UserId,
        /// Their name and e-mail at the time.
        name: String,
    },
    /// An integration using an API token.
    Token {
        /// The token's id.
        id: i64,
        /// The token's label.
        label: String,
    },
    /// An official inside a meeting or at a desk, through their personal link.
    Official {
        /// The name on their place in the meeting.
        name: String,
    },
    /// A citizen through their own personal link.
    Citizen,
    /// Someone not signed in (a failed sign-in names the account that was tried).
    Anonymous {
        /// What they typed as their account, if anything.
        name: String,
    },
    /// Ricevo itself or its command line, run by whoever runs the server.
    System,
}

impl Actor {
    /// The stored kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Staff { .. } => "staff",
            Actor::Token { .. } => "token",
            Actor::Official { .. } => "official",
            Actor::Citizen => "citizen",
            Actor::Anonymous { .. } => "anonymous",
            Actor::System => "system",
        }
    }

    /// The stored id of the account or token, if the actor has one.
    pub fn id(&self) -> Option<i64> {
        match self {
            Actor::Staff { id, .. } => Some(id.0),
            Actor::Token { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// The stored name.
    pub fn name(&self) -> &str {
        match self {
            Actor::Staff { name, .. } | Actor::Official { name } | Actor::Anonymous { name } => name,
            Actor::Token { label, .. } => label,
            Actor::Citizen | Actor::System => "",
        }
    }

    /// Rebuilds an actor from its stored columns; `None` for an unknown kind.
    pub fn from_parts(kind: &str, id: Option<i64>, name: String) -> Option<Actor> {
        Some(match (kind, id) {
            ("staff", Some(id)) => Actor::Staff { id: UserId(id), name },
            ("token", Some(id)) => Actor::Token { id, label: name },
            ("official", _) => Actor::Official { name },
            ("citizen", _) => Actor::Citizen,
            ("anonymous", _) => Actor::Anonymous { name },
            ("system", _) => Actor::System,
            _ => return None,
        })
    }
}

macro_rules! acts {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)*) => {
        /// What was done. The code is what is stored and what the API filters by; it never
        /// changes once released.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(into = "&'static str")]
        pub enum Act {
            $($(#[$doc])* $variant,)*
        }

        impl Act {
            /// Every act, in the order the audit page offers them.
            pub const ALL: &'static [Act] = &[$(Act::$variant,)*];

            /// The stored code, such as `appointment.cancel`.
            pub fn code(self) -> &'static str {
                match self {
                    $(Act::$variant => $code,)*
                }
            }

            /// The act a stored code names.
            pub fn parse(code: &str) -> Option<Act> {
                match code {
                    $($code => Some(Act::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

acts! {
    /// A staff member signed in.
    SignIn => "sign_in",
    /// A sign-in was refused (wrong password, unknown account, disabled account, wrong code).
    SignInFailed => "sign_in_failed",
    /// A staff member signed out.
    SignOut => "sign_out",
    /// An appointment was booked by staff or an integration for a citizen.
    AppointmentBooked => "appointment.book",
    /// An appointment was moved.
    AppointmentMoved => "appointment.move",
    /// An appointment was cancelled.
    AppointmentCancelled => "appointment.cancel",
    /// An appointment's status changed (checked in, done, no-show).
    AppointmentStatus => "appointment.status",
    /// Someone waiting was let in.
    EntryAdmitted => "entry.admit",
    /// Someone waiting was asked to wait.
    EntryHeld => "entry.hold",
    /// Someone waiting was refused.
    EntryRefused => "entry.refuse",
    /// Someone waiting was marked as not present.
    EntryNoShow => "entry.no_show",
    /// Someone waiting was sent to another office.
    EntryTransferred => "entry.transfer",
    /// A participant of a meeting was muted, unmuted, removed or let back.
    MeetingModerated => "meeting.moderate",
    /// A meeting was ended.
    MeetingEnded => "meeting.end",
    /// A document of a meeting was downloaded.
    DocumentDownloaded => "document.download",
    /// A citizen's data was exported.
    CitizenExported => "citizen.export",
    /// A citizen's data was erased on request.
    CitizenErased => "citizen.erase",
    /// A staff account was created.
    AccountCreated => "account.create",
    /// A staff account was changed (name, e-mail, role, offices).
    AccountChanged => "account.change",
    /// A staff account was disabled.
    AccountDisabled => "account.disable",
    /// A staff account was enabled again.
    AccountEnabled => "account.enable",
    /// A password was set by an administrator or changed by its owner.
    PasswordChanged => "account.password",
    /// A second factor was turned on, off or reset.
    SecondFactorChanged => "account.second_factor",
    /// An API token was created.
    TokenCreated => "token.create",
    /// An API token was revoked.
    TokenRevoked => "token.revoke",
    /// A webhook was added.
    WebhookAdded => "webhook.add",
    /// A webhook was removed.
    WebhookRemoved => "webhook.remove",
    /// The town's settings changed.
    SettingsChanged => "town.settings",
    /// An office, its hours, closures, services or walk-in desk changed.
    OfficeChanged => "office.change",
    // ---- surveys ----
    /// A questionnaire was created, changed, opened or closed, or a kiosk started or stopped.
    QuestionnaireChanged => "questionnaire.change",
    // ---- end surveys ----
    /// Contacts for e-mailed questionnaires were imported.
    ContactsImported => "contacts.import",
    /// A survey campaign was created, started, paused, resumed or finished.
    CampaignChanged => "campaign.change",
}

impl From<Act> for &'static str {
    fn from(a: Act) -> &'static str {
        a.code()
    }
}

/// What an act was done to: a kind and the record's id (never a citizen's personal data).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Subject {
    /// An appointment.
    Appointment(AppointmentId),
    /// A place in a waiting room or meeting.
    Entry(EntryId),
    /// A meeting.
    Meeting(MeetingId),
    /// A document of a meeting.
    Document(DocumentId),
    /// A staff account.
    Account(UserId),
    /// An API token.
    Token(i64),
    /// A webhook.
    Webhook(i64),
    /// An office.
    Office(OfficeId),
    /// A service.
    Service(ServiceId),
    /// The town itself (its settings, a citizen's data found by a search).
    Town,
    /// A questionnaire (surveys).
    Questionnaire(i64),
    /// A survey campaign by e-mail.
    Campaign(i64),
}

impl Subject {
    /// The stored kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Appointment(_) => "appointment",
            Subject::Entry(_) => "entry",
            Subject::Meeting(_) => "meeting",
            Subject::Document(_) => "document",
            Subject::Account(_) => "account",
            Subject::Token(_) => "token",
            Subject::Webhook(_) => "webhook",
            Subject::Office(_) => "office",
            Subject::Service(_) => "service",
            Subject::Town => "town",
            Subject::Questionnaire(_) => "questionnaire",
            Subject::Campaign(_) => "campaign",
        }
    }

    /// The stored id (`None` for the town).
    pub fn id(&self) -> Option<i64> {
        match self {
            Subject::Appointment(id) => Some(id.0),
            Subject::Entry(id) => Some(id.0),
            Subject::Meeting(id) => Some(id.0),
            Subject::Document(id) => Some(id.0),
            Subject::Account(id) => Some(id.0),
            Subject::Token(id) | Subject::Webhook(id) => Some(*id),
            Subject::Office(id) => Some(id.0),
            Subject::Service(id) => Some(id.0),
            Subject::Town => None,
            Subject::Questionnaire(id) => Some(*id),
            Subject::Campaign(id) => Some(*id),
        }
    }

    /// Rebuilds a subject from its stored columns; `None` for an unknown kind or missing id.
    pub fn from_parts(kind: &str, id: Option<i64>) -> Option<Subject> {
        Some(match (kind, id) {
            ("appointment", Some(id)) => Subject::Appointment(AppointmentId(id)),
            ("entry", Some(id)) => Subject::Entry(EntryId(id)),
            ("meeting", Some(id)) => Subject::Meeting(MeetingId(id)),
            ("document", Some(id)) => Subject::Document(DocumentId(id)),
            ("account", Some(id)) => Subject::Account(UserId(id)),
            ("token", Some(id)) => Subject::Token(id),
            ("webhook", Some(id)) => Subject::Webhook(id),
            ("office", Some(id)) => Subject::Office(OfficeId(id)),
            ("service", Some(id)) => Subject::Service(ServiceId(id)),
            ("town", _) => Subject::Town,
            ("questionnaire", Some(id)) => Subject::Questionnaire(id),
            ("campaign", Some(id)) => Subject::Campaign(id),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_act_code_is_unique_and_parses_back() {
        let mut seen = std::collections::HashSet::new();
        for act in Act::ALL {
            assert!(seen.insert(act.code()), "duplicate code {}", act.code());
            assert_eq!(Act::parse(act.code()), Some(*act));
        }
        assert_eq!(Act::parse("appointment.delete"), None);
    }

    #[test]
    fn actors_and_subjects_survive_their_stored_columns() {
        let actors = [
            Actor::Staff { id: UserId(3), name: "Anna Rossi <anna@comune.it>".into() },
            Actor::Token { id: 9, label: "CRM".into() },
            Actor::Official { name: "Ufficio anagrafe".into() },
            Actor::Citizen,
            Actor::Anonymous { name: "someone@example.org".into() },
            Actor::System,
        ];
        for a in actors {
            assert_eq!(Actor::from_parts(a.kind(), a.id(), a.name().to_owned()), Some(a.clone()));
        }
        assert_eq!(Actor::from_parts("staff", None, String::new()), None, "a staff actor has an account");
        let subjects = [
            Subject::Appointment(AppointmentId(1)),
            Subject::Entry(EntryId(2)),
            Subject::Meeting(MeetingId(3)),
            Subject::Document(DocumentId(4)),
            Subject::Account(UserId(5)),
            Subject::Token(6),
            Subject::Webhook(7),
            Subject::Office(OfficeId(8)),
            Subject::Service(ServiceId(9)),
            Subject::Town,
            Subject::Questionnaire(10),
            Subject::Campaign(11),
        ];
        for s in subjects {
            assert_eq!(Subject::from_parts(s.kind(), s.id()), Some(s.clone()));
        }
        assert_eq!(Subject::from_parts("appointment", None), None);
    }
}
