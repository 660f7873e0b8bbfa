-- Trust: secrets generated once per database, one-time codes and the links they prove,
-- consent (STOP/START) and the per-sender rate-limit notice.

-- Secrets the app generates for itself when none is configured (e.g. the thread-id salt).
CREATE TABLE app_secrets (
    name        text PRIMARY KEY,
    value       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per code asked for. `sender_key` is the keyed hash of (channel, sender) — the same
-- as the sender's thread id — so no phone number is stored here. `customer_id` is NULL when the
-- contact given matched no account: the customer is told the same thing either way, and every
-- code they try fails.
CREATE TABLE verification_codes (
    id           bigserial PRIMARY KEY,
    sender_key   text NOT NULL,
    customer_id  bigint,
    contact_kind text NOT NULL CHECK (contact_kind IN ('email', 'phone')),
    delivery     text NOT NULL CHECK (delivery IN ('own', 'twilio_verify')),
    code_hash    text,                        -- HMAC of our own code; NULL when Twilio Verify holds it
    tries        int NOT NULL DEFAULT 0,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX verification_codes_sender ON verification_codes (sender_key, created_at DESC);
CREATE INDEX verification_codes_customer ON verification_codes (customer_id, created_at DESC);

-- Wrong codes, counted per sender and per account across all threads.
CREATE TABLE verification_failures (
    id           bigserial PRIMARY KEY,
    sender_key   text NOT NULL,
    customer_id  bigint,
    failed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX verification_failures_sender ON verification_failures (sender_key, failed_at);
CREATE INDEX verification_failures_customer ON verification_failures (customer_id, failed_at);

-- A sender proved to be a customer (by a one-time code), until `expires_at`.
CREATE TABLE verified_links (
    sender_key   text PRIMARY KEY,
    customer_id  bigint NOT NULL,
    verified_at  timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);

-- The demo's stand-in for email: codes of our own land here when no delivery is configured.
CREATE TABLE dev_mailbox (
    id          bigserial PRIMARY KEY,
    recipient   text NOT NULL,
    subject     text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Per sender (keyed by thread id): opted out of messages (STOP until START), and when the
-- sender was last told they write too fast (told once, then stored-not-answered).
CREATE TABLE sender_controls (
    thread_id       text PRIMARY KEY,
    opted_out_at    timestamptz,
    rate_notice_at  timestamptz
);

-- The rate limit counts a sender's recent messages.
CREATE INDEX inbox_thread_received ON inbox (thread_id, received_at);
