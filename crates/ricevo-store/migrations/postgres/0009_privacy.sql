-- GDPR access and erasure find one citizen's records by e-mail or codice fiscale within a town
-- (ricevo_store::privacy); retention deletes a town's old outbox rows and documents. Phone
-- numbers are matched however they were written, so that lookup reads the town's rows.
CREATE INDEX appointments_tenant_email ON appointments(tenant_id, LOWER(citizen_email));
CREATE INDEX appointments_tenant_fiscal_code ON appointments(tenant_id, UPPER(COALESCE(fiscal_code, '')));
CREATE INDEX entries_tenant_email ON entries(tenant_id, LOWER(COALESCE(email, '')));
CREATE INDEX outbox_tenant_created ON outbox(tenant_id, created_at);
CREATE INDEX documents_tenant_created ON documents(tenant_id, created_at);
