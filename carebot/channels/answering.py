"""Running a conversation's pending turns: each stored message of a thread, oldest first, goes
through the turn runner; the answer and its outgoing parts are recorded in one transaction
before anything is sent, so after a crash nothing is answered twice or lost."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from psycopg.types.json import Jsonb

from carebot.channels.consent import Handling, SenderControls
from carebot.channels.formatting import DISCORD_LIMIT, WHATSAPP_LIMIT, split_message, to_whatsapp
from carebot.channels.outbox import enqueue
from carebot.db.pool import Pool
from carebot.graph.outcome import TurnResult
from carebot.phrases import phrase
from carebot.turns import TurnRunner

log = logging.getLogger(__name__)

# A turn that keeps failing (a model outage, a bug) is given up after this many tries.
MAX_TURN_ATTEMPTS = 3


def trigger_words(setting: str) -> list[str]:
    """`BOT_TRIGGER_WORDS` as a list: "Lumen, lumi" → ["lumen", "lumi"]."""
    return [w.strip().lower() for w in setting.split(",") if w.strip()]


def reply_parts(channel: str, text: str) -> list[str]:
    """The messages an answer goes out as on `channel` (the web chat reads it from the inbox)."""
    if channel == "whatsapp":
        return split_message(to_whatsapp(text), WHATSAPP_LIMIT)
    if channel == "discord":
        return split_message(text, DISCORD_LIMIT)
    return []


class PendingTurns:
    """Answers a thread's pending inbox messages. The caller makes sure only one runs per thread."""

    def __init__(
        self,
        pool: Pool,
        turns: TurnRunner,
        *,
        triggers: Sequence[str] = (),
        controls: SenderControls | None = None,
        on_answered: Callable[[int], None] = lambda inbox_id: None,
    ) -> None:
        self._pool = pool
        self._turns = turns
        self._controls = controls
        self._on_answered = on_answered
        self._triggers = [re.compile(rf"(?<!\w){re.escape(t)}(?!\w)", re.IGNORECASE) for t in triggers]

    async def answer_all(self, thread_id: str) -> None:
        """Answer every pending message of the thread, oldest first; a failure stops the thread
        (its later messages must not overtake it) and is counted against the message."""
        while (row := await self._next_pending(thread_id)) is not None:
            try:
                await self._answer(row)
            except Exception as exc:
                await self._count_failure(row, exc)
                raise

    async def _next_pending(self, thread_id: str) -> dict[str, Any] | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT * FROM inbox WHERE thread_id = %s AND status = 'pending' ORDER BY id LIMIT 1", (thread_id,)
            )
            return await cur.fetchone()

    def _question(self, channel: str, body: str) -> str | None:
        """What the bot should answer, or None when the message is not for the bot: with
        trigger words set, a WhatsApp message must name the bot ("Lumen, where is my order?"),
        and the name is not part of the question."""
        if channel != "whatsapp" or not self._triggers:
            return body
        if not any(t.search(body) for t in self._triggers):
            return None
        for trigger in self._triggers:
            body = trigger.sub("", body)
        return body.strip(" ,:;-!")

    async def _answer(self, row: dict[str, Any]) -> None:
        started = time.perf_counter()
        channel, sender, thread_id = row["channel"], row["sender"], row["thread_id"]
        context = {"thread_id": thread_id, "channel": channel}
        # Consent and the rate limit come before everything, trigger words included.
        handling = await self._controls.handling(row) if self._controls else "answer"
        if handling != "answer":
            await self._answer_control(row, handling)
            log.info("message_controlled", extra={**context, "handling": handling})
            return
        question = self._question(channel, row["body"])
        if question is None:
            await self._finish(row, status="ignored", result=None, reason="no trigger word")
            log.info("message_ignored", extra={**context, "reason": "no trigger word"})
            return
        if not question.strip():
            # Media only (image, voice, location, sticker): ask for text, in the thread's language.
            language = await self._turns.thread_language(channel=channel, sender=sender)
            result = TurnResult(
                thread_id=thread_id,
                answer=phrase(language, "text_only"),
                intent=None,
                language=language,
                escalate=False,
            )
        else:
            result = await self._turns.chat(channel=channel, sender=sender, text=question, turn_id=f"inbox-{row['id']}")
            if result.escalate:
                log.info("escalated", extra={**context, "reason": result.escalation_reason})
        await self._finish(row, status="answered", result=result)
        log.info("turn_answered", extra={**context, "latency_ms": round((time.perf_counter() - started) * 1000, 1)})

    async def _answer_control(self, row: dict[str, Any], handling: Handling) -> None:
        """STOP/START confirmations and the rate-limit notice, in the thread's language; opted-out
        and over-the-limit messages are stored, not answered."""
        if handling in ("opted_out", "rate_limited"):
            await self._finish(row, status="ignored", result=None, reason=handling)
            return
        language = await self._turns.thread_language(channel=row["channel"], sender=row["sender"])
        key = {"stop": "stop_confirmed", "start": "start_confirmed", "rate_notice": "rate_limited"}[handling]
        text = phrase(language, key, shop=self._turns.shop_name)
        result = TurnResult(thread_id=row["thread_id"], answer=text, intent=None, language=language, escalate=False)
        await self._finish(row, status="answered", result=result)

    async def _finish(
        self, row: dict[str, Any], *, status: str, result: TurnResult | None, reason: str | None = None
    ) -> None:
        """Record the answer (or why there is none) and queue its messages in one transaction."""
        answer = Jsonb(result.as_json()) if result is not None else None
        parts = reply_parts(row["channel"], result.answer) if result is not None else []
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                "UPDATE inbox SET status = %s, answer = %s, error = %s, answered_at = now() WHERE id = %s",
                (status, answer, reason, row["id"]),
            )
            recipient = row["payload"].get("reply_to", row["sender"])
            await enqueue(conn, inbox_id=row["id"], channel=row["channel"], recipient=recipient, parts=parts)
        self._on_answered(row["id"])

    async def _count_failure(self, row: dict[str, Any], error: Exception) -> None:
        """A turn that keeps failing (a model outage, a bug) must not block its thread forever."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE inbox SET attempts = attempts + 1, error = %s,"
                " status = CASE WHEN attempts + 1 >= %s THEN 'failed' ELSE status END WHERE id = %s",
                (f"{type(error).__name__}: {error}"[:500], MAX_TURN_ATTEMPTS, row["id"]),
            )
        if row["attempts"] + 1 >= MAX_TURN_ATTEMPTS:
            log.error("turn_failed", extra={"thread_id": row["thread_id"], "channel": row["channel"]})
