//! The town's audit log: every act on a citizen's data, an account, a token or the town's
//! settings is appended with who did it, and administrators read it.
//!
//! Recording never undoes the act it records: the act is already committed when it is
//! recorded, so a failure to record is logged (with everything the entry would have said) for
//! the operator rather than turned into an error the official cannot do anything about.

use jiff::Timestamp;
use ricevo_core::TenantId;
use ricevo_core::audit::{Act, Actor, Subject};
use ricevo_store::{AuditEntry, AuditFilter, Grant, NewAuditEntry, Role};

use crate::{Desk, DeskError};

/// How many entries one page of the audit log shows.
pub const AUDIT_PAGE: i64 = 50;

/// One act to record.
#[derive(Debug, Clone)]
pub struct Record {
    /// What.
    pub act: Act,
    /// To what.
    pub subject: Subject,
    /// The citizen concerned, by name.
    pub citizen_name: Option<String>,
    /// What changed, in a few words.
    pub detail: String,
    /// The client address, when the channel knows it.
    pub source: Option<String>,
}

impl Record {
    /// An act on `subject`, with no citizen and no detail yet.
    pub fn new(act: Act, subject: Subject) -> Record {
        Record { act, subject, citizen_name: None, detail: String::new(), source: None }
    }

    /// Names the citizen concerned.
    pub fn citizen(mut self, name: &str) -> Record {
        self.citizen_name = (!name.is_empty()).then(|| name.to_owned());
        self
    }

    /// Says what changed.
    pub fn detail(mut self, detail: impl Into<String>) -> Record {
        self.detail = detail.into();
        self
    }

    /// Notes the client address.
    pub fn from_address(mut self, source: Option<String>) -> Record {
        self.source = source;
        self
    }
}

impl Desk {
    /// Appends `record`, done by `grant`'s holder in its town.
    pub async fn record(&self, grant: &Grant, record: Record) {
        self.record_as(grant.tenant_id, grant.actor.clone(), record).await
    }

    /// Appends `record`, done by `actor` in town `tenant` (sign-ins, where no grant exists yet,
    /// and acts through a personal link).
    pub async fn record_as(&self, tenant: TenantId, actor: Actor, record: Record) {
        let entry = NewAuditEntry {
            tenant_id: tenant,
            at: self.now(),
            actor,
            act: record.act,
            subject: record.subject,
            citizen_name: record.citizen_name,
            detail: record.detail,
            source: record.source,
        };
        if let Err(e) = self.store.record_audit(&entry).await {
            tracing::error!(
                error = %e,
                tenant = entry.tenant_id.0,
                actor = entry.actor.kind(),
                actor_name = entry.actor.name(),
                act = entry.act.code(),
                subject = entry.subject.kind(),
                subject_id = entry.subject.id(),
                "could not append to the audit log"
            );
        }
    }

    /// A page of the town's audit log for an administrator of that town (`Forbidden`
    /// otherwise); `filter.limit` is set to [`AUDIT_PAGE`] when zero.
    pub async fn audit_log(
        &self,
        grant: &Grant,
        tenant: TenantId,
        filter: AuditFilter,
    ) -> Result<Vec<AuditEntry>, DeskError> {
        if grant.tenant_id != tenant || grant.role != Role::Admin {
            return Err(DeskError::Forbidden);
        }
        let filter = AuditFilter { limit: if filter.limit <= 0 { AUDIT_PAGE } else { filter.limit }, ..filter };
        Ok(self.store.audit_log(tenant, &filter).await?)
    }

    /// Retention of the audit log: forgets entries older than `before`.
    pub async fn purge_audit(&self, before: Timestamp) -> Result<u64, DeskError> {
        Ok(self.store.purge_audit(before).await?)
    }
}
