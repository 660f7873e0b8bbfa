"""Operators writing to customers on the customer's own channel: free text within the channel's
reply window, an approved WhatsApp template after it. Replying takes the conversation over. The
message is queued in the outbox in the same transaction that records it, like the bot's answers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from psycopg import AsyncConnection
from psycopg.rows import DictRow, class_row

from carebot.db.pool import Pool
from carebot.delivery.channels.base import LatestContact, ReplyTarget
from carebot.delivery.channels.registry import Channels
from carebot.delivery.outgoing import say
from carebot.desk import status
from carebot.desk.operators import Operator
from carebot.desk.status import ConversationNotFound, Status
from carebot.desk.transcript import Message, message_of

log = logging.getLogger(__name__)


class UnknownTemplate(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Addressee:
    """What writing to a conversation's customer needs to know of the conversation."""

    thread_id: str
    channel: str
    sender: str
    language: str
    status: Status
    assignee_id: int | None
    last_customer_at: datetime | None


ADDRESSEE_COLUMNS = "thread_id, channel, sender, language, status, assignee_id, last_customer_at"


class Sends(Protocol):
    """The job queue, as replies need it."""

    async def answer_soon(self, thread_id: str) -> None: ...

    async def send_soon(self, thread_id: str) -> None: ...


async def reply_target(
    conn: AsyncConnection[DictRow], channels: Channels, conversation: Addressee, *, free_text: bool
) -> ReplyTarget | None:
    """Where a message the shop starts goes now (None: the customer's page reads the transcript).
    Raises `CannotSend` when the channel does not let the shop write now."""
    cur = await conn.execute(
        "SELECT now() AS now, i.payload, i.received_at FROM (SELECT 1) one LEFT JOIN LATERAL"
        " (SELECT payload, received_at FROM inbox WHERE thread_id = %s ORDER BY id DESC LIMIT 1) i ON true",
        (conversation.thread_id,),
    )
    found = await cur.fetchone()
    assert found is not None
    contact = LatestContact(
        sender=conversation.sender,
        last_customer_at=conversation.last_customer_at,
        now=found["now"],
        last_payload=found["payload"] or {},
        last_received_at=found["received_at"],
    )
    return channels[conversation.channel].reply_target(contact, free_text=free_text)


def template_text(name: str, variables: dict[str, str]) -> str:
    """How a template reads in the transcript (the structure itself is kept in `meta`)."""
    fills = ", ".join(variables.values())
    return f"Approved message “{name.replace('_', ' ')}”" + (f": {fills}" if fills else "")


class Replies:
    def __init__(self, pool: Pool, *, channels: Channels, templates: dict[str, str], jobs: Sends) -> None:
        self._pool = pool
        self._channels = channels
        self._templates = templates
        self._jobs = jobs

    async def reply(
        self,
        thread_id: str,
        operator: Operator,
        *,
        text: str | None = None,
        template: str | None = None,
        variables: dict[str, str] | None = None,
    ) -> Message:
        """Queue an operator message (replying takes the conversation over). Raises `CannotSend`
        when the channel refuses free text now and `UnknownTemplate` for a template not configured."""
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.cursor(row_factory=class_row(Addressee)).execute(
                f"SELECT {ADDRESSEE_COLUMNS} FROM conversations WHERE thread_id = %s FOR UPDATE", (thread_id,)
            )
            conversation = await cur.fetchone()
            if conversation is None:
                raise ConversationNotFound(thread_id)
            channel = self._channels[conversation.channel]
            if template is not None:
                sid = self._template_sid(template, allowed=channel.templates)
                variables = variables or {}
                shown = template_text(template, variables)
                parts: list[str] | None = [shown]  # the body is Twilio's to fill in: this is for the record
                meta: dict[str, Any] | None = {"template": {"name": template, "variables": variables}}
            else:
                assert text is not None
                shown, parts, meta, sid = text, None, None, None
            target = await reply_target(conn, self._channels, conversation, free_text=template is None)
            if conversation.status != "human" or conversation.assignee_id != operator.id:
                await status.take(conn, thread_id, operator)
            if sid is not None and target is not None:
                target = ReplyTarget(
                    target.recipient, {**target.payload, "template": {"sid": sid, "variables": variables}}
                )
            said = await say(
                conn,
                channel=channel,
                thread_id=thread_id,
                role="operator",
                text=shown,
                target=target,
                parts=parts,
                author=operator.name,
                operator_id=operator.id,
                meta=meta,
            )
            await status.note_operator_message(conn, thread_id)
        log.info("operator_replied", extra={"thread_id": thread_id, "template": template})
        if said.queued:
            await self._jobs.send_soon(thread_id)
        await self._jobs.answer_soon(thread_id)  # the bot's state learns what the operator said
        return message_of(said.row)

    def _template_sid(self, name: str, *, allowed: bool) -> str:
        if not allowed:
            raise UnknownTemplate("templates are for WhatsApp conversations")
        if name not in self._templates:
            raise UnknownTemplate(f"no WhatsApp template named {name!r} (WHATSAPP_TEMPLATES)")
        return self._templates[name]
