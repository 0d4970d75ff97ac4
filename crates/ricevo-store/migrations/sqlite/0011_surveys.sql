-- Questionnaires and their answers (issue 14). A 'survey' questionnaire is asked at a kiosk,
-- by e-mail or by link; a 'feedback' one holds a town's extra questions appended to the
-- after-contact feedback of an office or service. `definition` is ricevo_core::survey's
-- Questionnaire as JSON.
CREATE TABLE questionnaires (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    title TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('survey', 'feedback')),
    office_id INTEGER REFERENCES offices(id),
    service_id INTEGER REFERENCES services(id),
    definition TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'open', 'closed')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX questionnaires_tenant ON questionnaires(tenant_id, id);

-- One row per answered questionnaire. Never the citizen's identity: only the context of the
-- contact (office, service, mode, wait, duration) and where it was given.
-- questionnaire_id NULL is the built-in after-contact feedback.
CREATE TABLE survey_responses (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    questionnaire_id INTEGER REFERENCES questionnaires(id),
    channel TEXT NOT NULL CHECK (channel IN ('after_contact', 'kiosk', 'email', 'link')),
    place TEXT,
    office_id INTEGER REFERENCES offices(id),
    service_id INTEGER REFERENCES services(id),
    mode TEXT,
    wait_seconds INTEGER,
    duration_seconds INTEGER,
    rating INTEGER,
    answers TEXT NOT NULL,
    lang TEXT NOT NULL,
    submitted_at INTEGER NOT NULL
);
CREATE INDEX survey_responses_tenant_submitted ON survey_responses(tenant_id, submitted_at);
CREATE INDEX survey_responses_questionnaire ON survey_responses(questionnaire_id);
