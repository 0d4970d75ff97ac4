-- The waiting room, meetings, shared documents and walk-in desks.

CREATE TABLE meetings (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    office_id INTEGER NOT NULL REFERENCES offices(id),
    public_id TEXT NOT NULL UNIQUE,
    appointment_id INTEGER REFERENCES appointments(id),
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    -- The node whose SFU carries the meeting's media (its public URL); others send people there.
    node TEXT
);
CREATE INDEX meetings_tenant ON meetings(tenant_id);

-- One person who waits and/or meets (see ricevo_core::lobby::Entry).
CREATE TABLE entries (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    office_id INTEGER NOT NULL REFERENCES offices(id),
    kind TEXT NOT NULL,
    appointment_id INTEGER REFERENCES appointments(id),
    ticket_day TEXT,
    ticket_number INTEGER,
    meeting_id INTEGER REFERENCES meetings(id),
    token_hash TEXT UNIQUE,
    name TEXT NOT NULL,
    email TEXT,
    service TEXT NOT NULL,
    booked_start INTEGER,
    booked_end INTEGER,
    abilities TEXT NOT NULL,
    direct INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    message TEXT,
    arrived_at INTEGER NOT NULL,
    admitted_at INTEGER,
    joined_at INTEGER,
    ended_at INTEGER
);
CREATE INDEX entries_office_status ON entries(office_id, status);
CREATE INDEX entries_meeting ON entries(meeting_id);
CREATE INDEX entries_tenant_arrived ON entries(tenant_id, arrived_at);
CREATE INDEX entries_appointment ON entries(appointment_id);
-- Tickets are numbered per office and civil day.
CREATE UNIQUE INDEX entries_ticket ON entries(office_id, ticket_day, ticket_number) WHERE ticket_number IS NOT NULL;
-- An appointment's citizen holds one active place at a time, even with two tabs on two nodes.
CREATE UNIQUE INDEX entries_one_active_per_appointment ON entries(appointment_id)
    WHERE kind = 'appointment' AND (status IN ('waiting', 'held', 'admitted', 'in_meeting')
        OR (status = 'left' AND admitted_at IS NOT NULL AND meeting_id IS NOT NULL));

-- The last ticket number given per office and day: numbers are never reused.
CREATE TABLE ticket_counters (
    office_id INTEGER NOT NULL REFERENCES offices(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    last_number INTEGER NOT NULL,
    PRIMARY KEY (office_id, day)
) WITHOUT ROWID;

CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    meeting_id INTEGER NOT NULL REFERENCES meetings(id),
    entry_id INTEGER NOT NULL REFERENCES entries(id),
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    body BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX documents_meeting ON documents(meeting_id);
CREATE INDEX documents_created ON documents(created_at);

-- The walk-in desk: weekly ranges like opening_ranges, or open at all hours.
CREATE TABLE walk_in_ranges (
    office_id INTEGER NOT NULL REFERENCES offices(id) ON DELETE CASCADE,
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_minute INTEGER NOT NULL,
    end_minute INTEGER NOT NULL,
    CHECK (start_minute < end_minute)
);
CREATE INDEX walk_in_ranges_office ON walk_in_ranges(office_id);
ALTER TABLE offices ADD COLUMN walk_in_always INTEGER NOT NULL DEFAULT 0;
ALTER TABLE offices ADD COLUMN walk_in_desks INTEGER NOT NULL DEFAULT 1 CHECK (walk_in_desks >= 1);
