-- The normalised keys (e-mail, phone, codice fiscale) a booking's citizen is recognised by,
-- so the booking transaction can count a citizen's active appointments for a service
-- (ricevo_core::quota). Personal data: anonymisation deletes them.
CREATE TABLE citizen_keys (
    service_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    appointment_id BIGINT NOT NULL REFERENCES appointments(id) ON DELETE CASCADE,
    PRIMARY KEY (service_id, key, appointment_id)
);
CREATE INDEX citizen_keys_appointment ON citizen_keys(appointment_id);

-- Appointments booked before this table existed count by their e-mail and codice fiscale.
INSERT INTO citizen_keys (service_id, key, appointment_id)
    SELECT service_id, 'email:' || LOWER(citizen_email), id FROM appointments
    WHERE status IN ('booked', 'checked_in') AND anonymised = 0 AND citizen_email <> '';
INSERT INTO citizen_keys (service_id, key, appointment_id)
    SELECT service_id, 'cf:' || UPPER(fiscal_code), id FROM appointments
    WHERE status IN ('booked', 'checked_in') AND anonymised = 0 AND fiscal_code IS NOT NULL AND fiscal_code <> '';
