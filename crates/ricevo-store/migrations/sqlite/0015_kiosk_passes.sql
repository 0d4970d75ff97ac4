-- (surveys, issue 14) Kiosk passes: kept apart from 0011, which some databases had already
-- applied when the kiosk was designed.
-- A tablet at a counter answering one questionnaire: the pass a staff member started it with
-- (its token hashed, held by the tablet in a cookie). It opens nothing but that
-- questionnaire's kiosk, so the tablet keeps working after the staff session ends, and stops
-- when the pass is revoked or expires or the questionnaire closes.
CREATE TABLE kiosk_passes (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    questionnaire_id INTEGER NOT NULL REFERENCES questionnaires(id),
    place TEXT NOT NULL,
    created_by INTEGER,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX kiosk_passes_questionnaire ON kiosk_passes(tenant_id, questionnaire_id);
