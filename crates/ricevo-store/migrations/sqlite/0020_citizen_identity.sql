-- (citizen, issue 16) Signing in with SPID or CIE: optional for citizens, never needed to book.
--
-- A sign-in that has gone to the identity provider and not come back yet: found by the hash of
-- its `state`, bound to the browser that started it (the hash of a cookie's value), consumed
-- once (deleted when the callback reads it) and refused after `expires_at`.
CREATE TABLE citizen_sign_ins (
    state_hash TEXT PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    browser_hash TEXT NOT NULL,
    pending TEXT NOT NULL,
    next_path TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX citizen_sign_ins_expiry ON citizen_sign_ins(expires_at);
-- A signed-in citizen of one town: the identity the provider verified, for a short time (the
-- cookie carries the token, the table its hash). Deleted at logout, at expiry, with the
-- citizen's erasure and the town's retention.
CREATE TABLE citizen_sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    fiscal_code TEXT NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    acr TEXT NOT NULL,
    id_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX citizen_sessions_expiry ON citizen_sessions(expires_at);
CREATE INDEX citizen_sessions_fiscal_code ON citizen_sessions(tenant_id, fiscal_code);
-- An appointment booked by a signed-in citizen: how the identity was verified (`spid`, `cie`).
-- The verified fiscal code is the appointment's own `fiscal_code` (the form cannot change it).
CREATE TABLE appointment_identities (
    appointment_id INTEGER PRIMARY KEY REFERENCES appointments(id),
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    verified_at INTEGER NOT NULL
);
-- A service the town books only for a verified identity (certificates, ...); off by default.
ALTER TABLE services ADD COLUMN requires_identity INTEGER NOT NULL DEFAULT 0;
-- How many active appointments per service a verified citizen may hold in this town; NULL: the
-- instance's setting.
ALTER TABLE tenants ADD COLUMN verified_max_active INTEGER;
