"""The conversation record and its transcript, written in the same transactions that move
messages: a customer message when it is stored, a bot reply when it is recorded, an operator
message when it is queued. One row per thread in `conversations` holds its status
(`bot` → `waiting` → `human` → `bot`); `messages` holds everything said, whoever said it,
independent of the graph's trimmed message window. Database triggers number every change in
`events` and NOTIFY it, so live views follow without polling.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from pydantic import BaseModel

Status = Literal["bot", "waiting", "human"]
Role = Literal["customer", "bot", "operator", "system"]

# Stores the message, creates or refreshes its conversation and adds it to the transcript in one
# statement (one round trip while a webhook waits). While a person has the conversation, the
# customer's messages count as unread.
ACCEPT_INBOUND = """
WITH new AS (
    INSERT INTO inbox (channel, external_id, thread_id, sender, body, payload)
    VALUES (%(channel)s, %(external_id)s, %(thread)s, %(sender)s, %(body)s, %(payload)s)
    ON CONFLICT (tenant_id, channel, external_id) DO NOTHING
    RETURNING id, received_at
), conversation AS (
    INSERT INTO conversations AS c (thread_id, channel, sender, last_message_at, last_customer_at)
    SELECT %(thread)s, %(channel)s, %(sender)s, received_at, received_at FROM new
    ON CONFLICT (thread_id) DO UPDATE SET
        sender = excluded.sender,
        last_message_at = excluded.last_message_at,
        last_customer_at = excluded.last_customer_at,
        unread = c.unread + CASE WHEN c.status = 'bot' THEN 0 ELSE 1 END
    RETURNING thread_id
), transcript AS (
    INSERT INTO messages (thread_id, role, text, inbox_id, meta, at)
    SELECT (SELECT thread_id FROM conversation), 'customer', %(body)s, id, %(meta)s, received_at FROM new
)
SELECT id FROM new
"""


async def add_message(
    conn: AsyncConnection[DictRow],
    *,
    thread_id: str,
    role: Role,
    text: str,
    status: str | None = None,
    author: str | None = None,
    operator_id: int | None = None,
    inbox_id: int | None = None,
    intent: str | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Append to the transcript (inside the caller's transaction); returns the row."""
    cur = await conn.execute(
        "INSERT INTO messages (thread_id, role, text, status, author, operator_id, inbox_id, intent, meta)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (thread_id, role, text, status, author, operator_id, inbox_id, intent, Jsonb(meta or {})),
    )
    row = await cur.fetchone()
    assert row is not None
    return row


class TemplateSent(BaseModel):
    """An approved WhatsApp template an operator sent: its name and fill-ins."""

    name: str
    variables: dict[str, str]


class Message(BaseModel):
    """A transcript line as operators see it: the customer's, the bot's, an operator's or a system event."""

    id: int
    role: Role
    text: str
    author: str | None
    at: datetime
    status: str | None
    """Delivery: pending, sent, delivered, read, failed…"""
    template: TemplateSent | None = None
    """Set for an approved template; `text` reads it out."""


def message_of(row: dict[str, Any]) -> Message:
    template = row["meta"].get("template")
    return Message.model_validate({**row, "template": template if isinstance(template, dict) else None})
