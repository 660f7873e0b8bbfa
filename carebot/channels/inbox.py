"""Accepting inbound messages: every message is stored (unique per channel message id) before
its channel gets an acknowledgement, so nothing a customer sent is lost when a turn fails later."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb

from carebot.channels.sanitise import clean_json, clean_text
from carebot.db.pool import Pool

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    channel: str
    external_id: str
    """The channel's id for the message (Twilio MessageSid, Discord interaction id)."""
    sender: str
    body: str
    payload: dict[str, Any] = field(default_factory=dict)
    """Channel details the answer needs: `reply_to`, `media`, Discord's `application_id`/`token`."""


@dataclass(frozen=True, slots=True)
class Accepted:
    inbox_id: int | None
    """None when the message was a duplicate delivery (already stored)."""
    thread_id: str


class Inbox:
    """The `inbox` table as the webhooks and `/chat` see it. Fast: no model runs here."""

    def __init__(self, pool: Pool, thread_id: Callable[[str, str], str]) -> None:
        self._pool = pool
        self._thread_id = thread_id

    async def accept(self, message: InboundMessage) -> Accepted:
        """Store the message unless this delivery was seen before."""
        message = InboundMessage(
            channel=message.channel,
            external_id=clean_text(message.external_id),
            sender=clean_text(message.sender),
            body=clean_text(message.body),
            payload=clean_json(message.payload),
        )
        thread_id = self._thread_id(message.channel, message.sender)
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO inbox (channel, external_id, thread_id, sender, body, payload)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (channel, external_id) DO NOTHING RETURNING id",
                (message.channel, message.external_id, thread_id, message.sender, message.body, Jsonb(message.payload)),
            )
            row = await cur.fetchone()
        event = "message_received" if row else "duplicate_ignored"
        log.info(event, extra={"thread_id": thread_id, "channel": message.channel, "external_id": message.external_id})
        return Accepted(row["id"] if row else None, thread_id)

    async def answer_of(self, inbox_id: int) -> dict[str, Any] | None:
        """The message's status, answer (a `TurnResult.as_json()`) and error."""
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT status, answer, error FROM inbox WHERE id = %s", (inbox_id,))
            return await cur.fetchone()

    async def give_up(self, inbox_id: int, reason: str) -> None:
        """Mark a message failed so that no later sweep answers it behind its sender's back."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE inbox SET status = 'failed', error = %s WHERE id = %s AND status = 'pending'",
                (reason, inbox_id),
            )
