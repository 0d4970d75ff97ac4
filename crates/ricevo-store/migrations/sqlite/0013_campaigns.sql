-- Survey campaigns by e-mail (issue 14): a town's contact list imported from CSV, campaigns
-- that send one questionnaire to every subscribed contact, and one row per contact per
-- campaign recording what happened to their message and their answer.

-- A town's contacts. The e-mail is stored in lower case, one row per address and town; an
-- unsubscribe is kept (a re-import updates name, consent and language, never unsubscribed_at).
CREATE TABLE survey_contacts (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    consent_date TEXT NOT NULL,
    lang TEXT NOT NULL,
    imported_at INTEGER NOT NULL,
    unsubscribed_at INTEGER,
    UNIQUE (tenant_id, email)
);
CREATE INDEX survey_contacts_imported ON survey_contacts(tenant_id, imported_at);

-- A campaign: one questionnaire (surveys' questionnaires.id) mailed to the town's list.
-- status: draft, running, paused, finished.
CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    questionnaire_id INTEGER NOT NULL,
    title TEXT NOT NULL,
    subject_it TEXT NOT NULL,
    subject_en TEXT NOT NULL,
    intro_it TEXT NOT NULL,
    intro_en TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER
);
CREATE INDEX campaigns_tenant ON campaigns(tenant_id, id);
CREATE INDEX campaigns_status ON campaigns(status);

-- One contact of one campaign. token_hash is set when the message is queued (the raw token
-- only lives in the outbox payload until it is sent); the outbox row's dedupe key is
-- 'campaign:<campaign_id>:<contact_id>', so a contact is never queued twice.
CREATE TABLE campaign_recipients (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    contact_id INTEGER NOT NULL REFERENCES survey_contacts(id),
    token_hash TEXT UNIQUE,
    queued_at INTEGER,
    sent_at INTEGER,
    error TEXT,
    bounced_at INTEGER,
    answered_at INTEGER,
    UNIQUE (campaign_id, contact_id)
);
CREATE INDEX campaign_recipients_pending ON campaign_recipients(campaign_id, queued_at, id);
CREATE INDEX campaign_recipients_rate ON campaign_recipients(tenant_id, queued_at);
CREATE INDEX campaign_recipients_contact ON campaign_recipients(contact_id);
