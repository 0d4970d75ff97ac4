-- After-contact feedback (ricevo_core::feedback): one request per appointment or walk-in
-- ticket, opened by a link token stored hashed like every citizen token. It holds what the
-- answer is stored with (office, service, mode, wait, duration), never who the citizen is; a
-- citizen's erasure and the town's retention delete it (ricevo_store::privacy).
CREATE TABLE feedback_requests (
    token_hash TEXT PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    appointment_id BIGINT REFERENCES appointments(id),
    entry_id BIGINT REFERENCES entries(id),
    office_id BIGINT NOT NULL REFERENCES offices(id),
    service_id BIGINT REFERENCES services(id),
    -- 'video', 'in_person', 'phone' or 'walk_in'.
    mode TEXT NOT NULL,
    wait_seconds BIGINT,
    duration_seconds BIGINT,
    expires_at BIGINT NOT NULL,
    answered_at BIGINT,
    -- The follow-up e-mail's outbox key, retracted when the answer comes first.
    outbox_key TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX feedback_requests_appointment ON feedback_requests(appointment_id) WHERE appointment_id IS NOT NULL;
CREATE UNIQUE INDEX feedback_requests_entry ON feedback_requests(entry_id) WHERE entry_id IS NOT NULL;
CREATE INDEX feedback_requests_tenant_created ON feedback_requests(tenant_id, created_at);
