-- The audit log: who did what to which record of a town. Append-only: a trigger refuses any
-- change except forgetting the citizen's name (anonymisation, erasure); retention deletes
-- whole entries past the audit log's own retention.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    at INTEGER NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id INTEGER,
    actor_name TEXT NOT NULL,
    act TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id INTEGER,
    citizen_name TEXT,
    detail TEXT NOT NULL,
    source TEXT
);
-- The page reads newest first, filtered by act, actor or subject: one index per filter,
-- each ending in (at, id) so a page of 50 is read straight from the index.
CREATE INDEX audit_log_tenant_at ON audit_log(tenant_id, at, id);
CREATE INDEX audit_log_tenant_act ON audit_log(tenant_id, act, at, id);
CREATE INDEX audit_log_tenant_actor ON audit_log(tenant_id, actor_kind, actor_id, at, id);
CREATE INDEX audit_log_tenant_subject ON audit_log(tenant_id, subject_kind, subject_id, at, id);
CREATE INDEX audit_log_at ON audit_log(at);

CREATE TRIGGER audit_log_append_only
BEFORE UPDATE OF id, tenant_id, at, actor_kind, actor_id, actor_name, act, subject_kind, subject_id, detail, source
ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
