-- The shop's side of every conversation: operators, the conversation record with its status,
-- the whole transcript, and a numbered event log that live views follow (and resume from).

CREATE TABLE operators (
    id             bigserial PRIMARY KEY,
    email          text NOT NULL UNIQUE,
    name           text NOT NULL,
    role           text NOT NULL DEFAULT 'agent' CHECK (role IN ('admin', 'agent')),
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- A signed-in browser. The cookie holds a random token; only its hash is stored, so a leaked
-- table signs nobody in. Signing out (or expiry) ends it.
CREATE TABLE operator_sessions (
    token_hash   text PRIMARY KEY,
    operator_id  bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);

-- One row per thread. `status`: bot → waiting (handed over) → human (taken) → bot.
CREATE TABLE conversations (
    thread_id         text PRIMARY KEY,
    channel           text NOT NULL,
    sender            text NOT NULL,            -- who to write to (as the inbox keeps it)
    customer_id       bigint,
    customer_name     text,
    language          text NOT NULL DEFAULT 'en',
    status            text NOT NULL DEFAULT 'bot' CHECK (status IN ('bot', 'waiting', 'human')),
    reason            text,                     -- why it was handed over
    reason_detail     text,
    assignee_id       bigint REFERENCES operators (id) ON DELETE SET NULL,
    unread            int NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_message_at   timestamptz NOT NULL DEFAULT now(),
    last_customer_at  timestamptz,              -- opens WhatsApp's 24-hour window
    waiting_since     timestamptz,
    waiting_notice_at timestamptz,              -- the "nobody is free yet" message went out
    taken_at          timestamptz,
    last_operator_at  timestamptz,              -- the idle timer counts from here
    handovers         int NOT NULL DEFAULT 0,
    resolved_at       timestamptz,
    suggested_reply   text,                     -- the bot's draft for the customer's latest message
    synced_message_id bigint NOT NULL DEFAULT 0 -- operator/system lines up to here are in the graph's state
);
CREATE INDEX conversations_status ON conversations (status, last_message_at DESC);

-- The whole transcript, independent of the graph's trimmed message window.
CREATE TABLE messages (
    id          bigserial PRIMARY KEY,
    thread_id   text NOT NULL REFERENCES conversations (thread_id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('customer', 'bot', 'operator', 'system')),
    text        text NOT NULL DEFAULT '',
    author      text,                           -- the operator's name, for operator messages
    operator_id bigint REFERENCES operators (id) ON DELETE SET NULL,
    inbox_id    bigint,                         -- the customer message, or the one a bot reply answers
    status      text,                           -- delivery: pending, sent, delivered, read, failed…
    intent      text,
    meta        jsonb NOT NULL DEFAULT '{}',    -- media, hand-over reason, template
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_thread ON messages (thread_id, id);
CREATE INDEX messages_at ON messages (at);

-- Conversations that began before this record existed: their threads and what the inbox kept.
INSERT INTO conversations (thread_id, channel, sender, created_at, last_message_at, last_customer_at)
SELECT DISTINCT ON (thread_id) thread_id, channel, sender, received_at, received_at, received_at
FROM inbox ORDER BY thread_id, id DESC;
INSERT INTO messages (thread_id, role, text, inbox_id, at)
SELECT thread_id, role, text, id, at FROM (
    SELECT thread_id, 'customer' AS role, body AS text, id, received_at AS at, 0 AS n FROM inbox
    UNION ALL
    SELECT thread_id, 'bot', answer ->> 'answer', id, coalesce(answered_at, received_at), 1 FROM inbox
    WHERE answer ->> 'answer' <> ''
) backfill ORDER BY id, n;

-- Operator messages and hand-over notifications go through the outbox too; they answer no
-- inbox row, so the outbox names its thread (and, for the transcript, its message) itself.
ALTER TABLE outbox ALTER COLUMN inbox_id DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN thread_id text;
ALTER TABLE outbox ADD COLUMN message_id bigint REFERENCES messages (id) ON DELETE SET NULL;
-- Channel details when there is no inbox row: reply_to, Discord's token, a WhatsApp template.
ALTER TABLE outbox ADD COLUMN payload jsonb;
UPDATE outbox o SET thread_id = i.thread_id FROM inbox i WHERE i.id = o.inbox_id;
ALTER TABLE outbox ALTER COLUMN thread_id SET NOT NULL;
CREATE UNIQUE INDEX outbox_message_part ON outbox (message_id, part) WHERE inbox_id IS NULL;
DROP INDEX outbox_unsent;
CREATE INDEX outbox_unsent ON outbox (thread_id, id) WHERE status IN ('pending', 'sending');

-- Every change an operator's screen shows, numbered: live views follow it through NOTIFY and
-- resume after a reconnect from the last id they saw (SSE Last-Event-ID). Ids are handed out
-- before commit, so a later id can become visible before an earlier one: readers take only
-- events of transactions older than every transaction still running (`tx` below the snapshot's
-- xmin), so none is skipped.
CREATE TABLE events (
    id         bigserial PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('conversation', 'message')),
    thread_id  text NOT NULL,
    data       jsonb NOT NULL,
    tx         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_at ON events (at);

CREATE FUNCTION carebot_event(kind text, thread text, data jsonb) RETURNS void AS $$
DECLARE
    event_id bigint;
BEGIN
    INSERT INTO events (kind, thread_id, data) VALUES (kind, thread, data) RETURNING id INTO event_id;
    -- Ids, not bodies: a NOTIFY payload is limited to 8,000 bytes.
    PERFORM pg_notify('carebot_events', event_id::text);
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION conversation_changed() RETURNS trigger AS $$
BEGIN
    PERFORM carebot_event('conversation', NEW.thread_id, jsonb_build_object(
        'id', NEW.thread_id, 'channel', NEW.channel, 'status', NEW.status, 'reason', NEW.reason,
        'assignee_id', NEW.assignee_id, 'unread', NEW.unread, 'customer_name', NEW.customer_name,
        'last_message_at', NEW.last_message_at, 'waiting_since', NEW.waiting_since,
        'suggested_reply', NEW.suggested_reply));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER conversations_event AFTER INSERT OR UPDATE ON conversations
    FOR EACH ROW EXECUTE FUNCTION conversation_changed();

CREATE FUNCTION message_changed() RETURNS trigger AS $$
BEGIN
    PERFORM carebot_event('message', NEW.thread_id, jsonb_build_object(
        'id', NEW.id, 'conversation', NEW.thread_id, 'role', NEW.role, 'text', NEW.text,
        'author', NEW.author, 'at', NEW.at, 'status', NEW.status));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER messages_event AFTER INSERT OR UPDATE ON messages
    FOR EACH ROW EXECUTE FUNCTION message_changed();

-- A transcript message shows how its delivery went (the outbox part's provider status).
CREATE FUNCTION outbox_status_to_message() RETURNS trigger AS $$
BEGIN
    IF NEW.message_id IS NOT NULL AND NEW.status IS DISTINCT FROM OLD.status THEN
        UPDATE messages SET status = NEW.status WHERE id = NEW.message_id AND status IS DISTINCT FROM NEW.status;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER outbox_status_event AFTER UPDATE OF status ON outbox
    FOR EACH ROW EXECUTE FUNCTION outbox_status_to_message();
