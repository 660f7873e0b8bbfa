-- Tenants: many shops on one deployment, isolated by Postgres row-level security.
--
-- Every tenant-owned table gets `tenant_id NOT NULL` (existing rows belong to the default tenant),
-- defaulting to the transaction's `app.tenant_id` setting, and a policy that shows and accepts
-- only that tenant's rows (ENABLE and FORCE: the tables' owner is held to it too). A session with
-- no setting sees nothing. The platform's own tables (tenants, their channels, operators' logins
-- and memberships, the deployment's secrets) carry no such policy: they are how a request finds
-- its tenant before it has one. LangGraph's checkpoint tables are isolated by the tenant in the
-- thread id (`<tenant uuid>:<channel>:<hash>`), which this migration prefixes on existing threads.

CREATE TABLE tenants (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug                  text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'),
    name                  text NOT NULL,
    languages             text[] NOT NULL DEFAULT '{en,id,es}',
    default_language      text NOT NULL DEFAULT 'en',
    currency              text NOT NULL DEFAULT 'USD',
    support_hours         jsonb,                         -- {"timezone", "days": {"mon": ["09:00", "17:00"], …}}
    branding              jsonb NOT NULL DEFAULT '{}',   -- web chat: {"title", "colour", "logo_url", "greeting"}
    config                jsonb NOT NULL DEFAULT '{}',   -- policy file, order API URL, templates (not secret)
    secrets               text,                          -- Fernet token of a JSON object (order API token, …)
    messages_per_month    int CHECK (messages_per_month IS NULL OR messages_per_month >= 0),
    messages_per_minute   int CHECK (messages_per_minute IS NULL OR messages_per_minute > 0),
    disabled_at           timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now()
);

-- The deployment's first tenant: what a single-shop install always was. Its channels are the
-- ones configured in the environment (TWILIO_AUTH_TOKEN, DISCORD_PUBLIC_KEY, …) at the old URLs.
INSERT INTO tenants (id, slug, name) VALUES ('00000000-0000-0000-0000-000000000001', 'default', 'Default shop');

-- A tenant's channels, by what the provider names in what it signs: a WhatsApp number (`To`,
-- E.164) or messaging service SID, a Discord application id, a web chat site key.
CREATE TABLE tenant_channels (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('whatsapp', 'discord', 'web')),
    address     text NOT NULL,
    config      jsonb NOT NULL DEFAULT '{}',   -- account_sid, messaging_service_sid, public_key, origins, …
    secrets     text,                          -- Fernet token of a JSON object (auth_token, bot_token, identity_secret)
    hints       jsonb NOT NULL DEFAULT '{}',   -- each secret's last four characters, for display
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, address)
);
CREATE INDEX tenant_channels_tenant ON tenant_channels (tenant_id, kind);

-- One login may belong to several shops, with a role in each.
CREATE TABLE operator_memberships (
    operator_id  bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    role         text NOT NULL DEFAULT 'agent' CHECK (role IN ('admin', 'agent')),
    PRIMARY KEY (operator_id, tenant_id)
);
INSERT INTO operator_memberships (operator_id, tenant_id, role)
SELECT id, '00000000-0000-0000-0000-000000000001', role FROM operators;
-- Platform administrators manage tenants (`/admin/tenants`); a shop's admin is not one.
ALTER TABLE operators ADD COLUMN platform_admin boolean NOT NULL DEFAULT false;
-- The shop a signed-in browser is working in (its tenant picker's choice).
ALTER TABLE operator_sessions ADD COLUMN tenant_id uuid REFERENCES tenants (id) ON DELETE SET NULL;

CREATE FUNCTION app_tenant() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'customers', 'orders', 'shipment_events', 'kb_documents', 'kb_chunks', 'kb_chunk_embeddings',
        'inbox', 'outbox', 'verification_codes', 'verification_failures', 'verified_links', 'dev_mailbox',
        'sender_controls', 'conversations', 'messages', 'events', 'products', 'product_variants',
        'payment_methods', 'order_payments', 'order_actions', 'order_api_requests'
    ] LOOP
        CONTINUE WHEN to_regclass(t) IS NULL;  -- kb_chunk_embeddings exists only with pgvector
        EXECUTE format('ALTER TABLE %I ADD COLUMN tenant_id uuid NOT NULL'
                       ' DEFAULT %L REFERENCES tenants (id) ON DELETE CASCADE',
                       t, '00000000-0000-0000-0000-000000000001');
        EXECUTE format('ALTER TABLE %I ALTER COLUMN tenant_id SET DEFAULT app_tenant()', t);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant())'
                       ' WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
END
$$;

-- What was unique in the deployment is unique per tenant: two shops may both have a customer
-- with the same email, an order A1001, a product "lamp-oak".
ALTER TABLE customers DROP CONSTRAINT customers_email_key, ADD UNIQUE (tenant_id, email);
ALTER TABLE customers DROP CONSTRAINT customers_phone_key, ADD UNIQUE (tenant_id, phone);
ALTER TABLE customers DROP CONSTRAINT customers_discord_id_key, ADD UNIQUE (tenant_id, discord_id);
ALTER TABLE customers DROP CONSTRAINT customers_shop_id_key, ADD UNIQUE (tenant_id, shop_id);
ALTER TABLE orders DROP CONSTRAINT orders_number_key, ADD UNIQUE (tenant_id, number);
ALTER TABLE kb_documents DROP CONSTRAINT kb_documents_source_key, ADD UNIQUE (tenant_id, source);
ALTER TABLE inbox DROP CONSTRAINT inbox_channel_external_id_key, ADD UNIQUE (tenant_id, channel, external_id);
ALTER TABLE verified_links DROP CONSTRAINT verified_links_pkey, ADD PRIMARY KEY (tenant_id, sender_key);
ALTER TABLE order_actions DROP CONSTRAINT order_actions_idempotency_key_key, ADD UNIQUE (tenant_id, idempotency_key);
ALTER TABLE order_api_requests DROP CONSTRAINT order_api_requests_pkey, ADD PRIMARY KEY (tenant_id, idempotency_key);
ALTER TABLE product_variants DROP CONSTRAINT product_variants_product_id_fkey;
ALTER TABLE products DROP CONSTRAINT products_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE product_variants DROP CONSTRAINT product_variants_pkey, ADD PRIMARY KEY (tenant_id, id),
    ADD FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE payment_methods DROP CONSTRAINT payment_methods_pkey, ADD PRIMARY KEY (tenant_id, id);
CREATE INDEX conversations_tenant_status ON conversations (tenant_id, status, last_message_at DESC);

-- Existing threads become the default tenant's: `whatsapp:3f9a…` → `<default uuid>:whatsapp:3f9a…`.
ALTER TABLE messages DROP CONSTRAINT messages_thread_id_fkey,
    ADD FOREIGN KEY (thread_id) REFERENCES conversations (thread_id) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE conversations DISABLE TRIGGER conversations_event;
ALTER TABLE messages DISABLE TRIGGER messages_event;
DO $$
DECLARE
    prefix constant text := '00000000-0000-0000-0000-000000000001:';
    item record;
BEGIN
    FOR item IN SELECT * FROM (VALUES
        ('conversations', 'thread_id'), ('inbox', 'thread_id'), ('outbox', 'thread_id'),
        ('events', 'thread_id'), ('sender_controls', 'thread_id'), ('order_actions', 'thread_id'),
        ('verification_codes', 'sender_key'), ('verification_failures', 'sender_key'),
        ('verified_links', 'sender_key'), ('checkpoints', 'thread_id'), ('checkpoint_blobs', 'thread_id'),
        ('checkpoint_writes', 'thread_id')
    ) AS v (tbl, col) LOOP
        CONTINUE WHEN to_regclass(item.tbl) IS NULL;
        EXECUTE format('UPDATE %I SET %I = %L || %I WHERE %I NOT LIKE %L',
                       item.tbl, item.col, prefix, item.col, item.col, prefix || '%');
    END LOOP;
    IF to_regclass('procrastinate_jobs') IS NOT NULL THEN
        UPDATE procrastinate_jobs
        SET args = jsonb_set(args, '{thread_id}', to_jsonb(prefix || (args->>'thread_id'))),
            lock = regexp_replace(lock, '^(turn|send):', '\1:' || prefix),  -- "turn:<thread id>"
            queueing_lock = regexp_replace(queueing_lock, '^(turn|send):', '\1:' || prefix)
        WHERE args ? 'thread_id' AND args->>'thread_id' NOT LIKE prefix || '%'
          AND status IN ('todo', 'doing');
    END IF;
END
$$;
ALTER TABLE conversations ENABLE TRIGGER conversations_event;
ALTER TABLE messages ENABLE TRIGGER messages_event;
