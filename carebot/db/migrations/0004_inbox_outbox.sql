-- Durable delivery: every inbound message is stored before it is acknowledged, and every
-- reply before it is sent, so a crash loses nothing and a redelivery answers nothing twice.

CREATE TABLE inbox (
    id           bigserial PRIMARY KEY,
    channel      text NOT NULL CHECK (channel IN ('whatsapp', 'discord', 'web')),
    external_id  text NOT NULL,              -- Twilio MessageSid, Discord interaction id, web request id
    thread_id    text NOT NULL,
    sender       text NOT NULL,              -- needed to answer (phone number, Discord user id)
    body         text NOT NULL DEFAULT '',
    payload      jsonb NOT NULL DEFAULT '{}', -- channel details: media, Discord token and application
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'answered', 'ignored', 'failed')),
    answer       jsonb,                      -- the turn's result once the graph has run
    error        text,
    attempts     int NOT NULL DEFAULT 0,      -- turns that failed; at 3 the message is given up
    received_at  timestamptz NOT NULL DEFAULT now(),
    answered_at  timestamptz,
    UNIQUE (channel, external_id)
);
-- Messages still to answer, oldest first per thread (the worker's and the start-up sweep's query).
CREATE INDEX inbox_pending ON inbox (thread_id, id) WHERE status = 'pending';

CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    inbox_id     bigint NOT NULL REFERENCES inbox (id) ON DELETE CASCADE,
    part         int NOT NULL,               -- 0, 1, … for an answer split into several messages
    channel      text NOT NULL,
    recipient    text NOT NULL,
    body         text NOT NULL,
    status       text NOT NULL DEFAULT 'pending', -- pending, failed, or the provider's (queued, sent, delivered, read, …)
    provider_id  text UNIQUE,                -- Twilio's message SID
    error_code   text,
    error        text,
    attempts     int NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (inbox_id, part)
);
CREATE INDEX outbox_pending ON outbox (inbox_id, part) WHERE status = 'pending';
