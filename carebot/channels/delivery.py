"""The durable inbox, the worker that answers it, and the outbox it sends from.

Every inbound message is stored (unique per channel message id) before the channel gets its
acknowledgement. A thread's messages are then answered one at a time, in arrival order: an
asyncio lock per thread inside a process, and a Postgres advisory lock per thread across
processes (LangGraph itself would let two runs fork a thread's checkpoints). The answer and its
outgoing messages are stored in one transaction before anything is sent, so after a crash the
start-up sweep answers what was pending and sends what was unsent — once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb

from carebot.channels.formatting import DISCORD_LIMIT, WHATSAPP_LIMIT, split_message, to_whatsapp
from carebot.channels.senders import PermanentSendError, Sender, TransientSendError
from carebot.phrases import phrase
from carebot.service import CareService

log = logging.getLogger(__name__)

# Namespace of the per-thread advisory locks (the second key is the thread id's hash).
_THREAD_LOCK_SPACE = 7_310_420
_MAX_CONCURRENT_THREADS = 4
_MAX_TURN_ATTEMPTS = 3


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


def trigger_words(setting: str) -> list[str]:
    return [w.strip().lower() for w in setting.split(",") if w.strip()]


class Delivery:
    """Accepts inbound messages and answers them through the graph, in order, once."""

    def __init__(
        self,
        service: CareService,
        senders: dict[str, Sender],
        *,
        triggers: Sequence[str] = (),
        send_attempts: int = 4,
        send_backoff: float = 0.5,
    ) -> None:
        self._service = service
        self._pool = service.pool
        self._senders = senders
        self._triggers = [re.compile(rf"(?<!\w){re.escape(t)}(?!\w)", re.IGNORECASE) for t in triggers]
        self._send_attempts = send_attempts
        self._send_backoff = send_backoff
        self._thread_locks: dict[str, asyncio.Lock] = {}
        self._slots = asyncio.Semaphore(_MAX_CONCURRENT_THREADS)
        self._tasks: set[asyncio.Task[None]] = set()

    # --- inbound -----------------------------------------------------------------------------

    async def accept(self, message: InboundMessage) -> Accepted:
        """Store the message unless this delivery was seen before. Fast: no model runs here."""
        thread_id = self._service.thread_id(message.channel, message.sender)
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

    def kick(self, thread_id: str) -> None:
        """Answer the thread's pending messages in the background."""
        task = asyncio.create_task(self.process_thread(thread_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def give_up(self, inbox_id: int, reason: str) -> None:
        """Mark a message failed so that no later sweep answers it behind its sender's back."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE inbox SET status = 'failed', error = %s WHERE id = %s AND status = 'pending'",
                (reason, inbox_id),
            )

    async def answer_of(self, inbox_id: int) -> dict[str, Any] | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT status, answer, error FROM inbox WHERE id = %s", (inbox_id,))
            row = await cur.fetchone()
        return row

    # --- the worker --------------------------------------------------------------------------

    async def process_thread(self, thread_id: str) -> None:
        """Answer every pending message of one thread, oldest first, then send what is unsent."""
        lock = self._thread_locks.setdefault(thread_id, asyncio.Lock())
        try:
            async with self._slots, lock, self._pool.connection() as lock_conn:
                await lock_conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (_THREAD_LOCK_SPACE, thread_id))
                try:
                    while (row := await self._next_pending(thread_id)) is not None:
                        try:
                            await self._answer(row)
                        except Exception as exc:
                            await self._count_failure(row, exc)
                            raise
                    await self._send_pending(thread_id)
                finally:
                    await lock_conn.execute(
                        "SELECT pg_advisory_unlock(%s, hashtext(%s))", (_THREAD_LOCK_SPACE, thread_id)
                    )
        except Exception:
            # The rows stay pending: the next kick or sweep tries again.
            log.exception("thread_processing_failed", extra={"thread_id": thread_id})
        finally:
            if not lock.locked():
                self._thread_locks.pop(thread_id, None)

    async def resume(self) -> int:
        """Answer and send whatever a previous process left behind; return how many threads."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT DISTINCT thread_id FROM inbox WHERE status = 'pending'"
                " UNION SELECT DISTINCT i.thread_id FROM outbox o JOIN inbox i ON i.id = o.inbox_id"
                " WHERE o.status = 'pending'"
            )
            threads = [r["thread_id"] for r in await cur.fetchall()]
        await asyncio.gather(*(self.process_thread(t) for t in threads))
        if threads:
            log.info("inbox_resumed", extra={"threads": len(threads)})
        return len(threads)

    async def sweep_forever(self, interval: float) -> None:
        """Resume periodically: catches messages whose process died before answering them."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.resume()
            except Exception:
                log.exception("sweep_failed")

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for sender in self._senders.values():
            await sender.aclose()

    async def _count_failure(self, row: dict[str, Any], error: Exception) -> None:
        """A turn that keeps failing (a model outage, a bug) must not block its thread forever."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE inbox SET attempts = attempts + 1, error = %s,"
                " status = CASE WHEN attempts + 1 >= %s THEN 'failed' ELSE status END WHERE id = %s",
                (f"{type(error).__name__}: {error}"[:500], _MAX_TURN_ATTEMPTS, row["id"]),
            )
        if row["attempts"] + 1 >= _MAX_TURN_ATTEMPTS:
            log.error("turn_failed", extra={"thread_id": row["thread_id"], "channel": row["channel"]})

    async def _next_pending(self, thread_id: str) -> dict[str, Any] | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT * FROM inbox WHERE thread_id = %s AND status = 'pending' ORDER BY id LIMIT 1", (thread_id,)
            )
            return await cur.fetchone()

    def _triggered(self, body: str) -> bool:
        return any(t.search(body) for t in self._triggers)

    async def _answer(self, row: dict[str, Any]) -> None:
        started = time.perf_counter()
        channel, sender, body = row["channel"], row["sender"], row["body"]
        context = {"thread_id": row["thread_id"], "channel": channel}
        if channel == "whatsapp" and self._triggers:
            if not self._triggered(body):
                await self._finish(row, status="ignored", answer=None, parts=[])
                log.info("message_ignored", extra={**context, "reason": "no trigger word"})
                return
            # "Lumen, where is my order?": the name calls the bot, it is not part of the question.
            for trigger in self._triggers:
                body = trigger.sub("", body)
            body = body.strip(" ,:;-!")
        if not body.strip():
            # Media only (image, voice, location, sticker): ask for text, in the thread's language.
            language = await self._service.thread_language(channel=channel, sender=sender)
            text = phrase(language, "text_only")
            answer: dict[str, Any] = {"answer": text, "intent": None, "language": language, "escalate": False}
        else:
            result = await self._service.chat(channel=channel, sender=sender, text=body, turn_id=f"inbox-{row['id']}")
            answer = {**result.as_json(), "escalation_reason": result.escalation_reason}
            text = result.answer
            if result.escalate:
                log.info("escalated", extra={**context, "reason": result.escalation_reason})
        parts: list[str] = []
        if channel == "whatsapp":
            parts = split_message(to_whatsapp(text), WHATSAPP_LIMIT)
        elif channel == "discord":
            parts = split_message(text, DISCORD_LIMIT)
        await self._finish(row, status="answered", answer=answer, parts=parts)
        log.info("turn_answered", extra={**context, "latency_ms": round((time.perf_counter() - started) * 1000, 1)})

    async def _finish(
        self, row: dict[str, Any], *, status: str, answer: dict[str, Any] | None, parts: list[str]
    ) -> None:
        """Record the answer and queue its messages in one transaction."""
        recipient = row["payload"].get("reply_to", row["sender"])
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                "UPDATE inbox SET status = %s, answer = %s, answered_at = now() WHERE id = %s",
                (status, Jsonb(answer) if answer is not None else None, row["id"]),
            )
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO outbox (inbox_id, part, channel, recipient, body) VALUES (%s, %s, %s, %s, %s)"
                    " ON CONFLICT (inbox_id, part) DO NOTHING",
                    [(row["id"], i, row["channel"], recipient, part) for i, part in enumerate(parts)],
                )

    async def _send_pending(self, thread_id: str) -> None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT o.*, i.payload, i.received_at, i.thread_id FROM outbox o JOIN inbox i ON i.id = o.inbox_id"
                " WHERE i.thread_id = %s AND o.status = 'pending' ORDER BY o.inbox_id, o.part",
                (thread_id,),
            )
            rows = await cur.fetchall()
        for row in rows:
            await self._send(row)

    async def _send(self, row: dict[str, Any]) -> None:
        sender = self._senders.get(row["channel"])
        context = {"thread_id": row["thread_id"], "channel": row["channel"], "part": row["part"]}
        if sender is None:
            await self._record(row["id"], status="failed", error=f"no sender configured for {row['channel']}")
            log.error("send_not_configured", extra=context)
            return
        error: Exception | None = None
        for attempt in range(1, self._send_attempts + 1):
            try:
                provider_id = await sender.send(
                    recipient=row["recipient"], body=row["body"], part=row["part"], payload=row["payload"]
                )
            except TransientSendError as exc:
                error = exc
                await self._record(row["id"], attempts=attempt, error=str(exc), error_code=exc.code)
                if attempt < self._send_attempts:
                    await asyncio.sleep(self._send_backoff * 2 ** (attempt - 1))
                continue
            except PermanentSendError as exc:
                error = exc
                await self._record(row["id"], status="failed", attempts=attempt, error=str(exc), error_code=exc.code)
                break
            await self._record(row["id"], status="sent", attempts=attempt, provider_id=provider_id)
            latency = (time.time() - row["received_at"].timestamp()) * 1000
            log.info("reply_sent", extra={**context, "attempts": attempt, "latency_ms": round(latency, 1)})
            return
        if error is not None and not isinstance(error, PermanentSendError):
            await self._record(row["id"], status="failed")
        event = "twilio_send_error" if row["channel"] == "whatsapp" else "send_error"
        code = getattr(error, "code", None)
        log.error(event, extra={**context, "error": str(error), "error_code": code})

    async def _record(self, outbox_id: int, **fields: Any) -> None:
        columns = ", ".join(f"{name} = %s" for name in fields)  # names come from this module only
        async with self._pool.connection() as conn:
            await conn.execute(
                f"UPDATE outbox SET {columns}, updated_at = now() WHERE id = %s",  # type: ignore[arg-type]
                (*fields.values(), outbox_id),
            )

    async def record_status(self, provider_id: str, status: str, error_code: str | None) -> None:
        """A provider's status callback (queued → sent → delivered → read, or failed/undelivered)."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE outbox SET status = %s, error_code = coalesce(%s, error_code), updated_at = now()"
                " WHERE provider_id = %s",
                (status, error_code, provider_id),
            )
        if status in ("failed", "undelivered"):
            log.error(
                "twilio_send_error", extra={"provider_id": provider_id, "status": status, "error_code": error_code}
            )
