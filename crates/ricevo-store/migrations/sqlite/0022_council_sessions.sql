-- Council sessions (issue 17): a town's council, Giunta or commission meeting by video, with
-- an agenda, members holding personal links, an append-only event log and the votes.

CREATE TABLE council_sessions (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- council, executive (Giunta) or commission.
    body TEXT NOT NULL,
    body_name TEXT NOT NULL,
    title TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    -- Voting members present needed; NULL: a majority of the voting members.
    quorum INTEGER,
    -- Minutes per speech; NULL: no limit.
    speech_minutes INTEGER,
    -- scheduled, open or closed (kept in step with the event log, for lists).
    state TEXT NOT NULL DEFAULT 'scheduled',
    opened_at INTEGER,
    closed_at INTEGER,
    -- When the recording was removed under the town's setting.
    recording_removed_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX council_sessions_town ON council_sessions(tenant_id, starts_at);

CREATE TABLE council_agenda_items (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    session_id INTEGER NOT NULL REFERENCES council_sessions(id) ON DELETE CASCADE,
    -- 1 is the first item.
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    PRIMARY KEY (session_id, number)
);

-- One seat per member and session; the personal link's token is stored as its SHA-256 only.
CREATE TABLE council_members (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    session_id INTEGER NOT NULL REFERENCES council_sessions(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    -- chair, mayor, councillor, assessor, secretary, invited.
    role TEXT NOT NULL,
    email TEXT,
    token_hash TEXT NOT NULL UNIQUE
);
CREATE INDEX council_members_session ON council_members(session_id, position);

-- The session's events (JSON), appended with the next sequence number: two nodes appending
-- after the same event collide on the key, and the loser replays and retries.
CREATE TABLE council_events (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    session_id INTEGER NOT NULL REFERENCES council_sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);

-- Each vote cast: the key makes a second vote of one member in one vote impossible.
CREATE TABLE council_votes (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    session_id INTEGER NOT NULL REFERENCES council_sessions(id) ON DELETE CASCADE,
    vote_number INTEGER NOT NULL,
    member_id INTEGER NOT NULL REFERENCES council_members(id) ON DELETE CASCADE,
    -- favorevole, contrario, astenuto.
    choice TEXT NOT NULL,
    cast_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, vote_number, member_id)
);

-- A town's council settings. recording_keep_days: NULL keeps recordings forever; 0 removes a
-- recording when its session closes.
CREATE TABLE council_settings (
    tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    recording_keep_days INTEGER
);
