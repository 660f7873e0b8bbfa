"""Saying something to a customer: the transcript line and its outbox parts, written together
inside the caller's transaction (a bot answer, an operator's reply, a notice from a timer), so a
line shown as sent is one that was queued, and a crash loses or doubles neither."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from carebot.delivery.channels.base import Channel, ReplyTarget
from carebot.delivery.outbox import enqueue
from carebot.desk.transcript import Role, add_message


@dataclass(frozen=True, slots=True)
class Said:
    row: dict[str, Any]
    """The transcript line."""
    queued: bool
    """Whether parts went to the outbox (a send job is due)."""


async def say(
    conn: AsyncConnection[DictRow],
    *,
    channel: Channel,
    thread_id: str,
    role: Role,
    text: str,
    target: ReplyTarget | None,
    parts: list[str] | None = None,
    inbox_id: int | None = None,
    intent: str | None = None,
    author: str | None = None,
    operator_id: int | None = None,
    meta: dict[str, Any] | None = None,
) -> Said:
    """Record `text` in the transcript and queue it for `target` (as the channel splits it, unless
    `parts` says otherwise). With no target the customer's page reads the transcript itself (the
    web chat: the line counts as sent), or nothing can reach them now (the line counts as failed)."""
    parts = (channel.reply_parts(text) if parts is None else parts) if target is not None else []
    status = "pending" if parts else ("sent" if channel.reads_transcript else "failed")
    line = await add_message(
        conn,
        thread_id=thread_id,
        role=role,
        text=text,
        status=status,
        author=author,
        operator_id=operator_id,
        inbox_id=inbox_id,
        intent=intent,
        meta=meta,
    )
    if parts and target is not None:
        await enqueue(
            conn,
            thread_id=thread_id,
            inbox_id=inbox_id,
            message_id=line["id"],
            channel=channel.name,
            recipient=target.recipient,
            parts=parts,
            payload=target.payload or None,
        )
    return Said(line, queued=bool(parts))
