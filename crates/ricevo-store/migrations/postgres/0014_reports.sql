-- Reports of the service (issue 14): through which channel each appointment was booked.
-- Rows booked before this column existed say 'unknown' rather than guess.
ALTER TABLE appointments ADD COLUMN booked_via TEXT NOT NULL DEFAULT 'unknown';
