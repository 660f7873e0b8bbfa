-- A live event belongs to the tenant of the row that changed, not to whoever's scope wrote it:
-- maintenance as the owner (no scope) updating a tenant's outbox or messages must still record
-- the event under that tenant (the column's default, the scope's tenant, was NULL there).
CREATE FUNCTION carebot_tenant_event(tenant uuid, kind text, thread text, data jsonb) RETURNS void AS $$
DECLARE
    event_id bigint;
BEGIN
    INSERT INTO events (tenant_id, kind, thread_id, data) VALUES (tenant, kind, thread, data) RETURNING id INTO event_id;
    -- Ids, not bodies: a NOTIFY payload is limited to 8,000 bytes.
    PERFORM pg_notify('carebot_events', event_id::text);
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION conversation_changed() RETURNS trigger AS $$
BEGIN
    PERFORM carebot_tenant_event(NEW.tenant_id, 'conversation', NEW.thread_id, jsonb_build_object(
        'id', NEW.thread_id, 'channel', NEW.channel, 'status', NEW.status, 'reason', NEW.reason,
        'assignee_id', NEW.assignee_id, 'unread', NEW.unread, 'customer_name', NEW.customer_name,
        'last_message_at', NEW.last_message_at, 'waiting_since', NEW.waiting_since,
        'suggested_reply', NEW.suggested_reply));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION message_changed() RETURNS trigger AS $$
BEGIN
    PERFORM carebot_tenant_event(NEW.tenant_id, 'message', NEW.thread_id, jsonb_build_object(
        'id', NEW.id, 'conversation', NEW.thread_id, 'role', NEW.role, 'text', NEW.text,
        'author', NEW.author, 'at', NEW.at, 'status', NEW.status));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Called by the app (inside a scope) for events of its own, e.g. an action line.
CREATE OR REPLACE FUNCTION carebot_event(kind text, thread text, data jsonb) RETURNS void AS $$
BEGIN
    PERFORM carebot_tenant_event(app_tenant(), kind, thread, data);
END;
$$ LANGUAGE plpgsql;
