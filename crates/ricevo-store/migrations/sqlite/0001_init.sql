-- Ricevo schema for SQLite. Instants are Unix seconds (UTC); civil dates are 'YYYY-MM-DD'.
CREATE TABLE tenants (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL DEFAULT 'Europe/Rome',
    patron_day TEXT,
    contact_email TEXT NOT NULL,
    privacy_notice TEXT NOT NULL,
    retention_days INTEGER NOT NULL DEFAULT 365,
    created_at INTEGER NOT NULL
);

CREATE TABLE offices (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    address TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    desks INTEGER NOT NULL DEFAULT 1 CHECK (desks >= 1)
);
CREATE INDEX offices_tenant ON offices(tenant_id);

CREATE TABLE opening_ranges (
    office_id INTEGER NOT NULL REFERENCES offices(id) ON DELETE CASCADE,
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_minute INTEGER NOT NULL,
    end_minute INTEGER NOT NULL,
    CHECK (start_minute < end_minute)
);
CREATE INDEX opening_ranges_office ON opening_ranges(office_id);

CREATE TABLE closures (
    id INTEGER PRIMARY KEY,
    office_id INTEGER NOT NULL REFERENCES offices(id) ON DELETE CASCADE,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX closures_office ON closures(office_id);

CREATE TABLE services (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    office_id INTEGER NOT NULL REFERENCES offices(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL,
    buffer_minutes INTEGER NOT NULL,
    modes TEXT NOT NULL,
    min_notice_hours INTEGER NOT NULL,
    horizon_days INTEGER NOT NULL,
    what_to_bring TEXT NOT NULL,
    questions TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX services_tenant ON services(tenant_id);

CREATE TABLE appointments (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    office_id INTEGER NOT NULL REFERENCES offices(id),
    service_id INTEGER NOT NULL REFERENCES services(id),
    status TEXT NOT NULL,
    start_at INTEGER NOT NULL,
    end_at INTEGER NOT NULL,
    occupied_until INTEGER NOT NULL,
    mode TEXT NOT NULL,
    citizen_name TEXT NOT NULL,
    citizen_email TEXT NOT NULL,
    citizen_phone TEXT,
    fiscal_code TEXT,
    notes TEXT,
    answers TEXT NOT NULL,
    lang TEXT NOT NULL,
    sequence INTEGER NOT NULL DEFAULT 0,
    anonymised INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX appointments_tenant_start ON appointments(tenant_id, start_at);
CREATE INDEX appointments_office_start ON appointments(office_id, start_at);

-- One row per office, five-minute step and seat: the primary key is the no-double-booking rule.
CREATE TABLE seats (
    office_id INTEGER NOT NULL,
    step INTEGER NOT NULL,
    seat INTEGER NOT NULL,
    appointment_id INTEGER NOT NULL REFERENCES appointments(id) ON DELETE CASCADE,
    PRIMARY KEY (office_id, step, seat)
) WITHOUT ROWID;
CREATE INDEX seats_appointment ON seats(appointment_id);

CREATE TABLE idempotency_keys (
    tenant_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL,
    appointment_id INTEGER,
    kind TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    retractable INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox(sent_at, due_at);
CREATE INDEX outbox_appointment ON outbox(appointment_id);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (tenant_id, email)
);

CREATE TABLE user_offices (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    office_id INTEGER NOT NULL REFERENCES offices(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, office_id)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    role TEXT NOT NULL,
    office_id INTEGER REFERENCES offices(id),
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
