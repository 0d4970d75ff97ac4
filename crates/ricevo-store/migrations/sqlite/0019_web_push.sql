-- (webpush, issue 15) Web Push for the waiting room: a citizen who leaves the waiting-room tab
-- is told "tocca a te" by a push notification through their browser's own push service.
-- Off until the town's administrator turns it on.
ALTER TABLE tenants ADD COLUMN web_push INTEGER NOT NULL DEFAULT 0;
-- One browser's push subscription (RFC 8030 endpoint and the RFC 8291 keys it gave) for one
-- place in a waiting room: a walk-in ticket or a booked citizen's arrival (with the appointment,
-- so a citizen who comes back to the queue keeps it). Deleted when the visit ends, when the push
-- service answers that it is gone (404/410), at expiry, and with the citizen's erasure and the
-- town's retention.
CREATE TABLE push_subscriptions (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    entry_id INTEGER NOT NULL REFERENCES entries(id),
    appointment_id INTEGER REFERENCES appointments(id),
    endpoint TEXT NOT NULL,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    lang TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    UNIQUE (entry_id, endpoint)
);
CREATE INDEX push_subscriptions_appointment ON push_subscriptions(tenant_id, appointment_id);
CREATE INDEX push_subscriptions_expiry ON push_subscriptions(expires_at);
