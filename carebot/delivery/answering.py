"""Running a conversation's pending turns: each stored message of a thread, oldest first, goes
through the turn runner; the answer, its transcript line, its outgoing parts and a hand-over
are recorded in one transaction before anything is sent, so after a crash nothing is answered
twice or lost. While a person has the conversation (`waiting` or `human`) the graph does not
answer: the message is stored, counted unread, and the bot only drafts a suggested reply."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from langchain_core.messages import AIMessage
from psycopg import AsyncConnection
from psycopg.rows import DictRow, class_row
from psycopg.types.json import Jsonb

from carebot.db.pool import Pool
from carebot.delivery.channels.base import ReplyTarget
from carebot.delivery.channels.registry import Channels
from carebot.delivery.consent import Handling, SenderControls
from carebot.delivery.inbox import ANSWERED_CHANNEL, Outcome, PendingMessage, Unanswered
from carebot.delivery.outgoing import say
from carebot.desk import status as status_of
from carebot.desk.handover import NOTIFICATION_PREFIX, HandoffWebhook
from carebot.graph.outcome import TurnResult
from carebot.phrases import phrase
from carebot.turns import TurnRunner

log = logging.getLogger(__name__)

# A turn that keeps failing (a model outage, a bug) is given up after this many tries.
MAX_TURN_ATTEMPTS = 3


_NEXT_PENDING = (
    "SELECT i.id, i.channel, i.thread_id, i.sender, i.body, i.payload, i.attempts, i.received_at,"
    " coalesce(c.status, 'bot') AS conversation_status FROM inbox i"
    " LEFT JOIN conversations c ON c.thread_id = i.thread_id"
    " WHERE i.thread_id = %s AND i.status = 'pending' ORDER BY i.id LIMIT 1"
)
# What operators said, and take-over/hand-back events, that the graph's state does not have yet.
_UNSYNCED_NOTES = (
    "SELECT m.id, m.role, m.text, m.author FROM messages m JOIN conversations c USING (thread_id)"
    " WHERE m.thread_id = %s AND m.id > c.synced_message_id"
    " AND (m.role = 'operator' OR m.meta ->> 'event' IN ('takeover', 'handback', 'resolved'))"
    " ORDER BY m.id"
)


def trigger_words(setting: str) -> list[str]:
    """`BOT_TRIGGER_WORDS` as a list: "Lumen, lumi" → ["lumen", "lumi"]."""
    return [w.strip().lower() for w in setting.split(",") if w.strip()]


class PendingTurns:
    """Answers a thread's pending inbox messages. The caller makes sure only one runs per thread."""

    def __init__(
        self,
        pool: Pool,
        turns: TurnRunner,
        *,
        triggers: Sequence[str] = (),
        controls: SenderControls | None = None,
        on_answered: Callable[[int, Outcome], None] = lambda inbox_id, outcome: None,
        webhook: HandoffWebhook | None = None,
        channels: Channels | None = None,
    ) -> None:
        self._pool = pool
        self._channels = channels or Channels()
        self._turns = turns
        self._controls = controls
        self._on_answered = on_answered
        self._webhook = webhook
        self._triggers = [re.compile(rf"(?<!\w){re.escape(t)}(?!\w)", re.IGNORECASE) for t in triggers]

    async def answer_all(self, thread_id: str) -> list[str]:
        """Bring what operators said into the conversation's state, then answer every pending
        message of the thread, oldest first; a failure stops the thread (its later messages
        must not overtake it) and is counted against the message. Returns the outbox threads
        that have something new to send (the conversation's, and its hand-over notification)."""
        # One round trip for both: notes to sync are rare, a pending message is why the job runs.
        async with self._pool.connection() as conn, conn.pipeline():
            notes_cursor = await conn.execute(_UNSYNCED_NOTES, (thread_id,))
            pending_cursor = await conn.cursor(row_factory=class_row(PendingMessage)).execute(
                _NEXT_PENDING, (thread_id,)
            )
            notes, row = await notes_cursor.fetchall(), await pending_cursor.fetchone()
        if notes:
            await self._sync_notes(thread_id, notes)
        sends: list[str] = []
        while row is not None:
            try:
                sends += [key for key in await self._answer(row) if key not in sends]
            except Exception as exc:
                await self._count_failure(row, exc)
                raise
            row = await self._next_pending(thread_id)
        return sends

    async def _next_pending(self, thread_id: str) -> PendingMessage | None:
        async with self._pool.connection() as conn:
            cur = await conn.cursor(row_factory=class_row(PendingMessage)).execute(_NEXT_PENDING, (thread_id,))
            return await cur.fetchone()

    async def _sync_notes(self, thread_id: str, notes: list[dict[str, Any]]) -> None:
        """Operator messages and take-over/hand-back events not yet in the graph's state are
        appended to it (this job holds the conversation's turn lock, so no turn runs meanwhile)."""
        await self._turns.add_notes(
            thread_id,
            [
                AIMessage(
                    n["text"], name="operator" if n["role"] == "operator" else "system", id=f"transcript-{n['id']}"
                )
                for n in notes
            ],
        )
        async with self._pool.connection() as conn:
            await status_of.mark_synced(conn, thread_id, notes[-1]["id"])

    def _question(self, channel: str, body: str) -> str | None:
        """What the bot should answer, or None when the message is not for the bot: with
        trigger words set, a WhatsApp message must name the bot ("Lumen, where is my order?"),
        and the name is not part of the question."""
        if not self._channels[channel].trigger_words or not self._triggers:
            return body
        if not any(t.search(body) for t in self._triggers):
            return None
        for trigger in self._triggers:
            body = trigger.sub("", body)
        return body.strip(" ,:;-!")

    async def _answer(self, row: PendingMessage) -> list[str]:
        """Answer one message; returns the outbox threads it queued something on."""
        started = time.perf_counter()
        channel, sender, thread_id = row.channel, row.sender, row.thread_id
        context = {"thread_id": thread_id, "channel": channel}
        # Consent and the rate limit come before everything, trigger words included.
        handling = await self._controls.handling(row) if self._controls else "answer"
        if handling != "answer":
            sends = await self._answer_control(row, handling)
            log.info("message_controlled", extra={**context, "handling": handling})
            return sends
        question = self._question(channel, row.body)
        if question is None:
            await self._finish(row, status="ignored", result=None, reason="no_trigger_word")
            log.info("message_ignored", extra={**context, "reason": "no_trigger_word"})
            return []
        if row.conversation_status != "bot":
            # A person has the conversation: the bot stays silent and only drafts a suggestion.
            suggestion = await self._turns.suggest(channel=channel, sender=sender, text=question) if question else None
            await self._finish(row, status="ignored", result=None, reason="with_operator", suggestion=suggestion)
            log.info("message_for_operator", extra=context)
            return []
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
            result = await self._turns.chat(channel=channel, sender=sender, text=question, turn_id=f"inbox-{row.id}")
            if result.escalate:
                log.info("escalated", extra={**context, "reason": result.escalation_reason})
        sends = await self._finish(row, status="answered", result=result)
        log.info("turn_answered", extra={**context, "latency_ms": round((time.perf_counter() - started) * 1000, 1)})
        return sends

    async def _answer_control(self, row: PendingMessage, handling: Handling) -> list[str]:
        """STOP/START confirmations and the rate-limit notice, in the thread's language; opted-out
        and over-the-limit messages are stored, not answered."""
        if handling in ("opted_out", "rate_limited"):
            return await self._finish(row, status="ignored", result=None, reason=handling)
        language = await self._turns.thread_language(channel=row.channel, sender=row.sender)
        key = {"stop": "stop_confirmed", "start": "start_confirmed", "rate_notice": "rate_limited"}[handling]
        text = phrase(language, key, shop=self._turns.shop_name)
        result = TurnResult(thread_id=row.thread_id, answer=text, intent=None, language=language, escalate=False)
        return await self._finish(row, status="answered", result=result)

    async def _finish(
        self,
        row: PendingMessage,
        *,
        status: Literal["answered", "ignored"],
        result: TurnResult | None,
        reason: Unanswered | None = None,
        suggestion: str | None = None,
    ) -> list[str]:
        """Record the answer (or why there is none), its transcript line, its messages and a
        hand-over in one transaction; returns the outbox threads with something new to send
        (none for the web chat, whose answer goes back in the HTTP response)."""
        answer: dict[str, Any] | None = result.as_json() if result is not None else None
        channel = self._channels[row.channel]
        sends: list[str] = []
        # Pipelined: the statements go out together, not one round trip each.
        async with self._pool.connection() as conn, conn.pipeline(), conn.transaction():
            await conn.execute(
                "UPDATE inbox SET status = %s, answer = %s, error = %s, answered_at = now() WHERE id = %s",
                (status, Jsonb(answer) if answer is not None else None, reason, row.id),
            )
            if channel.reads_transcript:
                # Its `/chat` may be waiting in another process; delivered at commit.
                await conn.execute("SELECT pg_notify(%s, %s)", (ANSWERED_CHANNEL, str(row.id)))
            if result is not None and result.answer and await self._record_answer(conn, row, result):
                sends.append(row.thread_id)
            if reason == "with_operator" or (result is not None and result.escalate):
                # The bot's draft for the operator (or none, for a message it could not answer); a
                # hand-over's draft is what the bot would have said, had a check not stopped it.
                draft = result.draft if result is not None and result.escalate else suggestion
                await status_of.keep_suggestion(conn, row.thread_id, draft)
            if result is not None and result.escalate and await self._hand_over(conn, row.thread_id, result):
                sends.append(NOTIFICATION_PREFIX + row.thread_id)
        self._on_answered(row.id, Outcome(status, answer, reason, reason))
        return sends

    async def _record_answer(self, conn: AsyncConnection[DictRow], row: PendingMessage, result: TurnResult) -> bool:
        """The answer's transcript line and parts (the web chat's goes back in the HTTP response);
        whether parts were queued."""
        channel = self._channels[row.channel]
        target = None if channel.reads_transcript else ReplyTarget(row.payload.get("reply_to", row.sender))
        said = await say(
            conn,
            channel=channel,
            thread_id=row.thread_id,
            role="bot",
            text=result.answer,
            target=target,
            inbox_id=row.id,
            intent=result.intent,
        )
        await status_of.note_answer(conn, row.thread_id, result.language)
        return said.queued

    async def _hand_over(self, conn: AsyncConnection[DictRow], thread_id: str, result: TurnResult) -> bool:
        """Whether the team is to be notified of a new hand-over."""
        handed_over = await status_of.hand_over(
            conn,
            thread_id=thread_id,
            reason=result.escalation_reason or "human_requested",
            detail=result.escalation_detail,
            webhook=self._webhook,
        )
        return handed_over and self._webhook is not None

    async def _count_failure(self, row: PendingMessage, error: Exception) -> None:
        """A turn that keeps failing (a model outage, a bug) must not block its thread forever."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE inbox SET attempts = attempts + 1, error = %s,"
                " status = CASE WHEN attempts + 1 >= %s THEN 'failed' ELSE status END WHERE id = %s",
                (f"{type(error).__name__}: {error}"[:500], MAX_TURN_ATTEMPTS, row.id),
            )
        if row.attempts + 1 >= MAX_TURN_ATTEMPTS:
            log.error("turn_failed", extra={"thread_id": row.thread_id, "channel": row.channel})
