"""Sending outbound messages: a reply's parts are queued in the `outbox` in the same transaction
that records the answer, then sent in order, one thread at a time, by the job queue.

A transient failure (network, timeout, 429, 5xx) stops the thread's sending and is retried
later with backoff, so parts and replies never overtake each other and nothing is dropped until
a reply is older than `SEND_MAX_AGE` (past WhatsApp's 24-hour window free text fails anyway).
A part whose outcome is unknown (the provider did not answer, or the process died mid-request)
is reconciled with the provider before it is sent again, so a retry does not make a copy.
A part whose recipient opted out (STOP) after it was queued is not sent (`consent`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import DictRow, class_row
from psycopg.types.json import Jsonb

from carebot.db.pool import Pool
from carebot.delivery.channels.errors import PermanentSendError, TransientSendError
from carebot.delivery.channels.registry import Channels
from carebot.delivery.consent import OPTED_OUT, confirms_stop

log = logging.getLogger(__name__)


async def enqueue(
    conn: AsyncConnection[DictRow],
    *,
    thread_id: str,
    channel: str,
    recipient: str,
    parts: Sequence[str],
    inbox_id: int | None = None,
    message_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Queue a message's parts on `conn` (inside the caller's transaction). A bot reply names the
    inbox row it answers (idempotent per part); an operator message, its transcript line; both
    carry the channel details (`payload`) when there is no inbox row to read them from."""
    async with conn.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO outbox (thread_id, inbox_id, message_id, part, channel, recipient, body, payload)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [
                (thread_id, inbox_id, message_id, i, channel, recipient, part, Jsonb(payload) if payload else None)
                for i, part in enumerate(parts)
            ],
        )


class SendLater(Exception):
    """The thread's next part could not go out now; the job queue tries again `after` seconds."""

    def __init__(self, message: str, *, after: float) -> None:
        super().__init__(message)
        self.after = after


@dataclass(frozen=True, slots=True)
class QueuedPart:
    """One part of a message waiting to go out, with what sending it needs to know."""

    id: int
    thread_id: str
    part: int
    channel: str
    recipient: str
    body: str
    status: str
    """`pending`, or `sending` when an earlier attempt's outcome is unknown."""
    attempts: int
    attempted_at: datetime | None
    payload: dict[str, Any]
    """The channel details: the part's own, else its inbox message's."""
    in_reply_to: str | None
    """The customer's message it answers (None for an operator's message or a notice)."""
    opted_out: bool
    """The customer has opted out (STOP)."""
    received_at: datetime
    age: timedelta


class Outbox:
    """Sends what is queued for a thread, in order; the job queue runs one of these per thread."""

    def __init__(
        self,
        pool: Pool,
        channels: Channels,
        *,
        max_age: timedelta = timedelta(hours=24),
        backoff: float = 1.0,
        backoff_max: float = 300.0,
    ) -> None:
        self._pool = pool
        self._channels = channels
        self._senders = channels.senders()
        self._max_age = max_age
        self._backoff = backoff
        self._backoff_max = backoff_max

    async def unsent_threads(self) -> list[str]:
        """Threads with parts still to send (for the sweep)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT DISTINCT thread_id FROM outbox WHERE status IN ('pending', 'sending')")
            return [r["thread_id"] for r in await cur.fetchall()]

    async def send_pending(self, thread_id: str) -> None:
        """Send the thread's unsent parts, oldest reply first, in part order. Raises `SendLater`
        at the first part that may go through later: the rest wait behind it."""
        async with self._pool.connection() as conn:
            cur = await conn.cursor(row_factory=class_row(QueuedPart)).execute(
                "SELECT o.id, o.thread_id, o.part, o.channel, o.recipient, o.body, o.status, o.attempts,"
                " o.attempted_at, coalesce(o.payload, i.payload, '{}') AS payload, i.body AS in_reply_to,"
                " EXISTS (SELECT 1 FROM sender_controls s WHERE s.thread_id = o.thread_id"
                " AND s.opted_out_at IS NOT NULL) AS opted_out,"
                " coalesce(i.received_at, o.created_at) AS received_at, now() - o.created_at AS age"
                " FROM outbox o LEFT JOIN inbox i ON i.id = o.inbox_id"
                " WHERE o.thread_id = %s AND o.status IN ('pending', 'sending') ORDER BY o.id",
                (thread_id,),
            )
            rows = await cur.fetchall()
        for row in rows:
            await self._send(row)

    async def aclose(self) -> None:
        for sender in self._senders.values():
            await sender.aclose()

    def _opted_out(self, row: QueuedPart) -> bool:
        """The customer opted out (STOP) after this was queued: it is not sent, unless it is the
        STOP's own confirmation. Read with the thread's parts, one query per send job."""
        channel = self._channels.get(row.channel)
        honours = channel is not None and channel.consent_words
        return honours and row.opted_out and not confirms_stop(row.in_reply_to)

    async def _send(self, row: QueuedPart) -> None:
        sender = self._senders.get(row.channel)
        context = {"thread_id": row.thread_id, "channel": row.channel, "part": row.part}
        if sender is None:
            await self._record(row.id, status="failed", error=f"no sender configured for {row.channel}")
            log.error("send_not_configured", extra=context)
            return
        message: dict[str, Any] = {
            "recipient": row.recipient,
            "body": row.body,
            "part": row.part,
            "payload": row.payload,
        }
        attempt = row.attempts + 1
        try:
            if row.status == "sending" and row.attempted_at is not None:
                found = await sender.find_sent(**message, since=row.attempted_at)
                if found is not None:
                    await self._mark_sent(row.id, found)
                    log.info("reply_reconciled", extra={**context, "attempts": row.attempts})
                    return
            if self._opted_out(row):
                await self._record(row.id, status="failed", error=OPTED_OUT)
                log.info("send_skipped_opted_out", extra=context)
                return
            if row.age > self._max_age:
                raise PermanentSendError(f"not sent within {self._max_age}; given up")
            # Marked before the request: if this process dies mid-request, the next try reconciles.
            await self._record(row.id, status="sending", attempts=attempt, attempted_at=sql.SQL("now()"))
            provider_id = await sender.send(**message)
        except TransientSendError as exc:
            status = "sending" if exc.outcome_unknown else "pending"
            await self._record(row.id, status=status, error=str(exc), error_code=exc.code)
            log.warning("send_retry_later", extra={**context, "attempts": attempt, "error": str(exc)})
            pause = min(self._backoff_max, self._backoff * 2 ** (attempt - 1))  # `attempt` counts from 1
            raise SendLater(str(exc), after=pause) from exc
        except PermanentSendError as exc:
            await self._record(row.id, status="failed", error=str(exc), error_code=exc.code)
            channel = self._channels.get(row.channel)  # None: the team webhook
            event = channel.send_error_event if channel is not None else "send_error"
            log.error(event, extra={**context, "error": str(exc), "error_code": exc.code})
            return
        await self._mark_sent(row.id, provider_id)
        latency = (time.time() - row.received_at.timestamp()) * 1000
        log.info("reply_sent", extra={**context, "attempts": attempt, "latency_ms": round(latency, 1)})

    async def _mark_sent(self, outbox_id: int, provider_id: str | None) -> None:
        # A status callback may have come first (delivered): never move it back to "sent".
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE outbox SET provider_id = %s, updated_at = now(),"
                " status = CASE WHEN status IN ('pending', 'sending') THEN 'sent' ELSE status END WHERE id = %s",
                (provider_id, outbox_id),
            )

    async def _record(self, outbox_id: int, **fields: Any) -> None:
        values = [v for v in fields.values() if not isinstance(v, sql.Composable)]
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(name), v if isinstance(v, sql.Composable) else sql.Placeholder())
            for name, v in fields.items()
        )
        query = sql.SQL("UPDATE outbox SET {}, updated_at = now() WHERE id = %s").format(assignments)
        async with self._pool.connection() as conn:
            await conn.execute(query, (*values, outbox_id))
