//! A citizen's rights over what a town holds about them (GDPR): access (art. 15, the export)
//! and erasure (art. 17), asked of the town's administrators, who find the citizen by one key
//! within their own town.
//!
//! Erasure anonymises appointments as the retention job does, removes names and e-mails from
//! waiting-room places and tickets, and deletes shared documents, the chat of their meetings
//! and queued messages, in one transaction. An appointment still to come is not erased behind
//! the office's back: the erasure is refused, naming it, until staff cancel it through the
//! usual path (which frees the seats and tells the citizen, with the reason, if they gave an
//! e-mail). Meeting chat is kept with the case (`Desk::chat`): the export lists it, erasure and
//! the town's retention delete it.

use ricevo_core::citizen::FieldError;
use ricevo_core::quota::normal_phone;
use ricevo_core::text::{Email, Phone};
use ricevo_core::{DocumentId, FiscalCode, Lang, MeetingId};
use ricevo_store::{CitizenLookup, CitizenRecord, DocumentMeta, Erasure, ErasureCounts, Grant, Tenant};

use crate::audit::Record;
use crate::staff::require_admin;
use crate::{Desk, DeskError};
use ricevo_core::audit::{Act, Subject};

/// The one key a citizen is looked up by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CitizenKey {
    /// Their e-mail address.
    Email(Email),
    /// Their phone number.
    Phone(Phone),
    /// Their codice fiscale.
    FiscalCode(FiscalCode),
}

impl CitizenKey {
    /// Exactly one of the three, checked (field messages in `lang`, under the field's name:
    /// `email`, `phone`, `fiscal_code`). Blank values count as not given.
    pub fn parse(
        email: Option<&str>,
        phone: Option<&str>,
        fiscal_code: Option<&str>,
        lang: Lang,
    ) -> Result<CitizenKey, DeskError> {
        let field = |name: &str, message: &'static str| DeskError::Fields(vec![FieldError::new(name, message)]);
        match (given(email), given(phone), given(fiscal_code)) {
            (Some(e), None, None) => {
                Email::parse(e).map(CitizenKey::Email).map_err(|err| field("email", err.message(lang)))
            }
            (None, Some(p), None) => {
                Phone::parse(p).map(CitizenKey::Phone).map_err(|err| field("phone", err.message(lang)))
            }
            (None, None, Some(cf)) => {
                FiscalCode::parse(cf).map(CitizenKey::FiscalCode).map_err(|err| field("fiscal_code", err.message(lang)))
            }
            (None, None, None) => Err(DeskError::Invalid(
                match lang {
                    Lang::It => "indica l'e-mail, il telefono o il codice fiscale del cittadino",
                    Lang::En => "give the citizen's e-mail, phone or fiscal code",
                }
                .into(),
            )),
            _ => Err(DeskError::Invalid(
                match lang {
                    Lang::It => "indica una sola chiave: l'e-mail, il telefono o il codice fiscale",
                    Lang::En => "give one key only: the e-mail, the phone or the fiscal code",
                }
                .into(),
            )),
        }
    }

    /// The field it came from (`email`, `phone`, `fiscal_code`).
    pub fn field(&self) -> &'static str {
        match self {
            CitizenKey::Email(_) => "email",
            CitizenKey::Phone(_) => "phone",
            CitizenKey::FiscalCode(_) => "fiscal_code",
        }
    }

    /// The value as given (normalised).
    pub fn value(&self) -> &str {
        match self {
            CitizenKey::Email(e) => e.as_str(),
            CitizenKey::Phone(p) => p.as_str(),
            CitizenKey::FiscalCode(cf) => cf.as_str(),
        }
    }

    /// How the store finds the citizen: an address without regard to case, a number however
    /// it was written (`+39 333 123 4567` is `3331234567`), a code in capitals.
    pub fn lookup(&self) -> CitizenLookup {
        match self {
            CitizenKey::Email(e) => CitizenLookup::Email(e.as_str().to_lowercase()),
            CitizenKey::Phone(p) => CitizenLookup::Phone(normal_phone(p.as_str())),
            CitizenKey::FiscalCode(cf) => CitizenLookup::FiscalCode(cf.as_str().to_ascii_uppercase()),
        }
    }
}

// A value typed into a form: blank is not given.
fn given(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

impl Desk {
    /// Everything the town holds about the citizen `key` names: for the town's
    /// administrators only (`Forbidden` otherwise, and for a grant of another town).
    pub async fn citizen_record(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        key: &CitizenKey,
    ) -> Result<CitizenRecord, DeskError> {
        require_admin(tenant, grant)?;
        let record = self.store.citizen_record(tenant.id, &key.lookup()).await?;
        // The log names the citizen (a name the retention job blanks), not the key looked up.
        let name = record.appointments.first().map(|a| a.citizen_name.as_str()).unwrap_or_default();
        let detail = format!(
            "by {}: {} appointments, {} places, {} documents, {} messages, {} chat lines",
            key.field(),
            record.appointments.len(),
            record.entries.len(),
            record.documents.len(),
            record.messages.len(),
            record.chat.len()
        );
        self.record(grant, Record::new(Act::CitizenExported, Subject::Town).citizen(name).detail(detail)).await;
        Ok(record)
    }

    /// Erases the citizen `key` names, for the town's administrators only. Refused with
    /// [`DeskError::ActiveAppointments`] (nothing changed) while one of their appointments is
    /// still to come: staff cancel it first, and the citizen is told.
    pub async fn erase_citizen(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        key: &CitizenKey,
    ) -> Result<ErasureCounts, DeskError> {
        require_admin(tenant, grant)?;
        match self.store.erase_citizen(tenant.id, &key.lookup(), self.now()).await? {
            Erasure::Erased(counts) => {
                // Recorded without the citizen's name: that is what was erased.
                let detail = format!(
                    "by {}: {} appointments anonymised, {} places, {} documents, {} messages, {} audit names, \
                     {} chat lines",
                    key.field(),
                    counts.appointments,
                    counts.entries,
                    counts.documents,
                    counts.messages,
                    counts.audit_names,
                    counts.chat_lines
                );
                self.record(grant, Record::new(Act::CitizenErased, Subject::Town).detail(detail)).await;
                Ok(counts)
            }
            Erasure::ActiveAppointments(list) => {
                Err(DeskError::ActiveAppointments(list.into_iter().map(|a| a.public_id).collect()))
            }
        }
    }

    /// A document listed in a citizen's record, with its bytes, for the town's administrators.
    pub async fn citizen_document(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        meeting: MeetingId,
        id: DocumentId,
    ) -> Result<(DocumentMeta, Vec<u8>), DeskError> {
        require_admin(tenant, grant)?;
        let found = self.store.document(tenant.id, meeting, id).await?.ok_or(DeskError::NotFound)?;
        let record =
            Record::new(Act::DocumentDownloaded, Subject::Document(id)).detail("from a citizen's data (privacy)");
        self.record(grant, record).await;
        Ok(found)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_citizen_is_looked_up_by_exactly_one_checked_key() {
        let key = CitizenKey::parse(Some(" Maria@Example.IT "), None, Some(""), Lang::It).unwrap();
        assert_eq!(key.lookup(), CitizenLookup::Email("maria@example.it".into()));
        let key = CitizenKey::parse(None, Some("+39 333 123 4567"), None, Lang::It).unwrap();
        assert_eq!(key.lookup(), CitizenLookup::Phone("3331234567".into()));
        let key = CitizenKey::parse(None, None, Some("rssmra85t10a562s"), Lang::It).unwrap();
        assert_eq!(key.lookup(), CitizenLookup::FiscalCode("RSSMRA85T10A562S".into()));

        assert!(
            matches!(CitizenKey::parse(None, None, None, Lang::En), Err(DeskError::Invalid(m)) if m.contains("e-mail"))
        );
        assert!(matches!(
            CitizenKey::parse(Some("a@b.it"), Some("3331234567"), None, Lang::It),
            Err(DeskError::Invalid(m)) if m.contains("una sola")
        ));
        let Err(DeskError::Fields(f)) = CitizenKey::parse(Some("not an address"), None, None, Lang::En) else {
            panic!("expected a field error");
        };
        assert_eq!(f[0].field, "email");
        assert!(matches!(CitizenKey::parse(None, None, Some("RSSMRA85T10A562X"), Lang::It), Err(DeskError::Fields(_))));
    }
}
