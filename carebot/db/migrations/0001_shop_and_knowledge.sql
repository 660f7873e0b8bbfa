-- The demo shop's customers and orders, and the help-centre knowledge base.

CREATE TABLE customers (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    email       text NOT NULL UNIQUE,
    phone       text UNIQUE CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    discord_id  text UNIQUE,
    language    text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'id', 'es')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
    id                  bigserial PRIMARY KEY,
    number              text NOT NULL UNIQUE,
    customer_id         bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    status              text NOT NULL CHECK (status IN
                            ('pending', 'processing', 'shipped', 'delivered', 'cancelled', 'returned')),
    items               jsonb NOT NULL,            -- [{"sku", "name", "quantity", "unit_price"}]
    total               numeric(12, 2) NOT NULL,
    currency            text NOT NULL,
    carrier             text,
    tracking_number     text,
    created_at          timestamptz NOT NULL,
    shipped_at          timestamptz,
    estimated_delivery  date,
    delivered_at        timestamptz
);
CREATE INDEX orders_customer_recent ON orders (customer_id, created_at DESC);

CREATE TABLE shipment_events (
    id           bigserial PRIMARY KEY,
    order_id     bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    happened_at  timestamptz NOT NULL,
    status       text NOT NULL,
    location     text,
    description  text NOT NULL
);
CREATE INDEX shipment_events_order ON shipment_events (order_id, happened_at);

CREATE TABLE kb_documents (
    id            bigserial PRIMARY KEY,
    source        text NOT NULL UNIQUE,       -- path or URL the document was ingested from
    title         text NOT NULL,
    language      text NOT NULL,
    url           text,
    content_hash  text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kb_chunks (
    id           bigserial PRIMARY KEY,
    document_id  bigint NOT NULL REFERENCES kb_documents (id) ON DELETE CASCADE,
    ordinal      int NOT NULL,
    heading      text NOT NULL DEFAULT '',
    body         text NOT NULL,
    ts_config    regconfig NOT NULL,
    -- Title and heading count more than the body: they say what a chunk is about.
    tsv          tsvector GENERATED ALWAYS AS (
                     setweight(to_tsvector(ts_config, heading), 'A') ||
                     setweight(to_tsvector(ts_config, body), 'B')) STORED,
    UNIQUE (document_id, ordinal)
);
CREATE INDEX kb_chunks_tsv ON kb_chunks USING gin (tsv);
