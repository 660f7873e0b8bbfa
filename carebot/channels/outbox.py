"""Sending outbound messages: a reply's parts are queued in the `outbox` in the same transaction
that records the answer, then sent in order through the channel's sender, with retries."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import DictRow

from carebot.channels.senders import PermanentSendError, Sender, TransientSendError
from carebot.db.pool import Pool
from carebot.retry import with_backoff

log = logging.getLogger(__name__)


async def enqueue(
    conn: AsyncConnection[DictRow], *, inbox_id: int, channel: str, recipient: str, parts: Sequence[str]
) -> None:
    """Queue a reply's parts on `conn` (inside the caller's transaction); idempotent per part."""
    async with conn.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO outbox (inbox_id, part, channel, recipient, body) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (inbox_id, part) DO NOTHING",
            [(inbox_id, i, channel, recipient, part) for i, part in enumerate(parts)],
        )


class Outbox:
    """Sends what is queued: network errors, timeouts, 429 and 5xx are retried with exponential
    backoff; permanent errors (e.g. Twilio 63016) are recorded and not retried."""

    def __init__(self, pool: Pool, senders: dict[str, Sender], *, attempts: int = 4, backoff: float = 0.5) -> None:
        self._pool = pool
        self._senders = senders
        self._attempts = attempts
        self._backoff = backoff

    async def send_pending(self, thread_id: str) -> None:
        """Send the thread's unsent parts, oldest reply first, in part order."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT o.*, i.payload, i.received_at, i.thread_id FROM outbox o JOIN inbox i ON i.id = o.inbox_id"
                " WHERE i.thread_id = %s AND o.status = 'pending' ORDER BY o.inbox_id, o.part",
                (thread_id,),
            )
            rows = await cur.fetchall()
        for row in rows:
            await self._send(row)

    async def aclose(self) -> None:
        for sender in self._senders.values():
            await sender.aclose()

    async def _send(self, row: dict[str, Any]) -> None:
        sender = self._senders.get(row["channel"])
        context = {"thread_id": row["thread_id"], "channel": row["channel"], "part": row["part"]}
        if sender is None:
            await self._record(row["id"], status="failed", error=f"no sender configured for {row['channel']}")
            log.error("send_not_configured", extra=context)
            return
        attempt = 0
        try:
            async for try_ in with_backoff(attempts=self._attempts, backoff=self._backoff, retry_on=TransientSendError):
                with try_:
                    attempt = try_.retry_state.attempt_number
                    try:
                        provider_id = await sender.send(
                            recipient=row["recipient"], body=row["body"], part=row["part"], payload=row["payload"]
                        )
                    except TransientSendError as exc:
                        await self._record(row["id"], attempts=attempt, error=str(exc), error_code=exc.code)
                        raise
        except (TransientSendError, PermanentSendError) as exc:
            await self._record(row["id"], status="failed", attempts=attempt, error=str(exc), error_code=exc.code)
            event = "twilio_send_error" if row["channel"] == "whatsapp" else "send_error"
            log.error(event, extra={**context, "error": str(exc), "error_code": exc.code})
            return
        await self._record(row["id"], status="sent", attempts=attempt, provider_id=provider_id)
        latency = (time.time() - row["received_at"].timestamp()) * 1000
        log.info("reply_sent", extra={**context, "attempts": attempt, "latency_ms": round(latency, 1)})

    async def _record(self, outbox_id: int, **fields: Any) -> None:
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder()) for name in fields
        )
        query = sql.SQL("UPDATE outbox SET {}, updated_at = now() WHERE id = %s").format(assignments)
        async with self._pool.connection() as conn:
            await conn.execute(query, (*fields.values(), outbox_id))
