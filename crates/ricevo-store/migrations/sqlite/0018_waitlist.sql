-- The waitlist (issue 15): citizens waiting for a time per service, the offers of freed slots
-- made to them, and the seats an offer holds while it waits for an answer.

CREATE TABLE waitlist_entries (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    office_id INTEGER NOT NULL REFERENCES offices(id) ON DELETE CASCADE,
    service_id INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    citizen_name TEXT NOT NULL,
    citizen_email TEXT NOT NULL DEFAULT '',
    citizen_phone TEXT,
    fiscal_code TEXT,
    telegram_chat_id INTEGER,
    mode TEXT NOT NULL,
    lang TEXT NOT NULL,
    -- Bit 0 Monday .. bit 6 Sunday; never 0.
    weekdays INTEGER NOT NULL,
    -- `09:00-12:00,14:00-16:00`; empty: any time the office is open.
    time_ranges TEXT NOT NULL DEFAULT '',
    -- Only slots before this instant (a citizen who wants an earlier time than their appointment).
    earlier_than INTEGER,
    -- The appointment an accepted offer replaces (cancelled once the new one is booked).
    replaces_appointment_id INTEGER REFERENCES appointments(id) ON DELETE SET NULL,
    -- The citizen's first key (e-mail, phone or codice fiscale): one waiting entry per service.
    contact_key TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'waiting',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX waitlist_entries_one_per_citizen ON waitlist_entries(service_id, contact_key)
    WHERE status = 'waiting';
CREATE INDEX waitlist_entries_line ON waitlist_entries(tenant_id, service_id, status, created_at);

CREATE TABLE waitlist_offers (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entry_id INTEGER NOT NULL REFERENCES waitlist_entries(id) ON DELETE CASCADE,
    office_id INTEGER NOT NULL,
    service_id INTEGER NOT NULL,
    start_at INTEGER NOT NULL,
    end_at INTEGER NOT NULL,
    occupied_until INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'offered',
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    decided_at INTEGER,
    appointment_id INTEGER REFERENCES appointments(id) ON DELETE SET NULL,
    -- The hash of the link the offer's message carries (it opens the entry's page too).
    token_hash TEXT NOT NULL UNIQUE
);
-- One open offer per entry at a time.
CREATE UNIQUE INDEX waitlist_offers_one_open ON waitlist_offers(entry_id) WHERE state = 'offered';
CREATE INDEX waitlist_offers_lapsing ON waitlist_offers(state, expires_at);
CREATE INDEX waitlist_offers_slot ON waitlist_offers(service_id, start_at);
CREATE INDEX waitlist_offers_office ON waitlist_offers(office_id, state, start_at);

-- A seat is taken by an appointment or held by an open offer: the same primary key keeps
-- both apart, so a held slot cannot be booked by anyone else. SQLite cannot drop NOT NULL
-- in place: the table is rebuilt.
CREATE TABLE seats_new (
    office_id INTEGER NOT NULL,
    step INTEGER NOT NULL,
    seat INTEGER NOT NULL,
    appointment_id INTEGER REFERENCES appointments(id) ON DELETE CASCADE,
    offer_id INTEGER REFERENCES waitlist_offers(id) ON DELETE CASCADE,
    PRIMARY KEY (office_id, step, seat),
    CHECK ((appointment_id IS NULL) <> (offer_id IS NULL))
) WITHOUT ROWID;
INSERT INTO seats_new (office_id, step, seat, appointment_id) SELECT office_id, step, seat, appointment_id FROM seats;
DROP TABLE seats;
ALTER TABLE seats_new RENAME TO seats;
CREATE INDEX seats_appointment ON seats(appointment_id);
CREATE INDEX seats_offer ON seats(offer_id);
