-- Reports of the service (issue 14): through which channel each appointment was booked.
-- Rows booked before this column existed say 'unknown' rather than guess.
ALTER TABLE appointments ADD COLUMN booked_via TEXT NOT NULL DEFAULT 'unknown';

-- Reports read a town's period from each table by one index that holds every column they
-- count by (an index-only scan: measured in BENCHMARKS.md, "Reports of the service").
CREATE INDEX appointments_report ON appointments(tenant_id, start_at, office_id, service_id, booked_via, mode, status, sequence, created_at);
CREATE INDEX entries_report ON entries(tenant_id, arrived_at, office_id, kind, status, admitted_at, appointment_id);
CREATE INDEX meetings_report ON meetings(tenant_id, started_at, office_id, ended_at, appointment_id);
CREATE INDEX survey_responses_report ON survey_responses(tenant_id, submitted_at, channel, office_id, service_id, rating);
