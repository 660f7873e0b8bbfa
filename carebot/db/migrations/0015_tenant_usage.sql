-- What a tenant's quota and rate limit count: its customer messages this calendar month (UTC) and
-- this minute, one row per period (its `starts_at` moves on when a new one begins). Kept only for
-- tenants with a `messages_per_month` or `messages_per_minute`; a tenant's stats count the
-- transcript itself. Updated in the transaction that stores the message.
CREATE TABLE tenant_usage (
    tenant_id   uuid NOT NULL DEFAULT app_tenant() REFERENCES tenants (id) ON DELETE CASCADE,
    period      text NOT NULL CHECK (period IN ('month', 'minute')),
    starts_at   timestamptz NOT NULL,
    messages    int NOT NULL,
    PRIMARY KEY (tenant_id, period)
);
ALTER TABLE tenant_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_usage USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());
