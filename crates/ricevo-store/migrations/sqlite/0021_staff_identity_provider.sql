-- Staff sign-in with the town's own OpenID Connect provider (issue 16).

-- One row per town, written by its administrators. The client secret is stored as given (the
-- token request needs it); pages never show it back in full.
-- email_domains: the allowed e-mail domains, separated by spaces (at least one).
-- role_mappings: JSON list of {"value", "role", "offices"}: a value of the groups claim and
-- the role and offices it grants.
-- passwords_off: staff of the town sign in through the provider only.
CREATE TABLE town_identity_providers (
    tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id),
    issuer_url TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret TEXT,
    email_domains TEXT NOT NULL DEFAULT '',
    groups_claim TEXT NOT NULL DEFAULT 'groups',
    role_mappings TEXT NOT NULL DEFAULT '[]',
    create_unknown INTEGER NOT NULL DEFAULT 0,
    passwords_off INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);

-- A sign-in sent to the provider and not back yet: bound to the browser by the hash of a
-- cookie's token, used once (deleted when the provider sends the browser back).
CREATE TABLE staff_provider_sign_ins (
    browser_hash TEXT PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    state TEXT NOT NULL,
    nonce TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Whether a session was opened through the town's provider: only an administrator signed in
-- that way may turn passwords off (so nobody locks the town out).
ALTER TABLE sessions ADD COLUMN via_provider INTEGER NOT NULL DEFAULT 0;
