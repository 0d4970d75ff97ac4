-- Staff accounts, second factor, API token use and town settings (issue 12).

-- Town settings: text left empty means "not given".
ALTER TABLE tenants ADD COLUMN website TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN pec TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN languages TEXT NOT NULL DEFAULT 'it,en';
ALTER TABLE tenants ADD COLUMN privacy_controller TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN privacy_dpo_contact TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN privacy_legal_basis TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN accessibility_statement_url TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN accessibility_statement_text TEXT NOT NULL DEFAULT '';
-- Set while the instance administrator suspends the town; nothing else changes.
ALTER TABLE tenants ADD COLUMN disabled_at BIGINT;

-- The emblem's bytes live apart, so reading a town never reads an image.
CREATE TABLE tenant_emblems (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    body BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A disabled account signs in nowhere; its sessions are deleted when it is disabled.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
-- The confirmed TOTP secret (base32) and the last time step accepted (no replay).
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- One-time recovery codes, stored hashed; a used code is deleted.
CREATE TABLE recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- A session waiting for the second factor (1) opens no page.
ALTER TABLE sessions ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;

ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN revoked_at BIGINT;
