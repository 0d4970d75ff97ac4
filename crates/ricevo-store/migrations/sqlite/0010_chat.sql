-- The chat of a meeting, kept with the case (a reload shows it; the office keeps it under the
-- town's retention, and a citizen's export and erasure include it: ricevo_store::privacy).
CREATE TABLE chat_lines (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    meeting_id INTEGER NOT NULL REFERENCES meetings(id),
    entry_id INTEGER NOT NULL REFERENCES entries(id),
    name TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX chat_lines_meeting ON chat_lines(meeting_id, id);
CREATE INDEX chat_lines_tenant_created ON chat_lines(tenant_id, created_at);
