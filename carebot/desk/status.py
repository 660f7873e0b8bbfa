"""The conversation's status and record: the one writer of `conversations` (besides the row a
customer message creates or refreshes, `transcript.ACCEPT_INBOUND`, and retention).

    bot ──hand over──▶ waiting ──take──▶ human ──hand back / resolve / idle──▶ bot
                          ▲                │
                          └────release─────┘  (the operator signed out)

Every transition writes its system line in the transcript in the same transaction. The graph's
state learns of it in the conversation's next job (which holds the turn lock), so the
transitions an operator or a timer makes wake that job once they are committed: callers never
have to remember. The functions taking `conn` run inside the caller's transaction (a hand-over is
recorded with the answer that caused it); `ConversationStatus` runs whole transitions.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Literal, Protocol

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from carebot.db.pool import Pool
from carebot.desk.handover import HandoffWebhook, reason_label
from carebot.desk.operators import Operator
from carebot.desk.transcript import add_message
from carebot.domain import EscalationReason, Language

log = logging.getLogger(__name__)

Status = Literal["bot", "waiting", "human"]
HandBack = Literal["handback", "resolved", "idle"]
"""Why a conversation goes back to the bot: an operator handed it back, resolved it, or nobody
wrote for `HANDOFF_IDLE_HOURS`."""

_HAND_BACK_LINES: dict[HandBack, str] = {
    "handback": "{who} handed the conversation back to the assistant.",
    "resolved": "{who} marked the conversation resolved.",
    "idle": "No operator message for a while: the assistant is back.",
}


class ConversationNotFound(LookupError):
    pass


class Wake(Protocol):
    """The job queue, as the desk needs it: have a conversation's job run (its pending messages
    answered, and what the desk did brought into the graph's state)."""

    async def answer_soon(self, thread_id: str) -> None: ...


# ---------- transitions inside the caller's transaction ----------


async def _system_line(
    conn: AsyncConnection[DictRow], thread_id: str, text: str, event: str, operator: Operator | None = None
) -> None:
    """The transcript's line for a transition (the graph's state gets take-over, hand-back and
    resolve lines as notes, by their `event`)."""
    await add_message(
        conn,
        thread_id=thread_id,
        role="system",
        text=text,
        author=operator.name if operator else None,
        operator_id=operator.id if operator else None,
        meta={"event": event},
    )


async def hand_over(
    conn: AsyncConnection[DictRow],
    *,
    thread_id: str,
    reason: EscalationReason,
    detail: str | None,
    webhook: HandoffWebhook | None,
) -> bool:
    """bot → waiting: the reason recorded, a system line, the team notified. False if the bot did
    not have the conversation."""
    cur = await conn.execute(
        "UPDATE conversations SET status = 'waiting', reason = %s, reason_detail = %s, waiting_since = now(),"
        " waiting_notice_at = NULL, assignee_id = NULL, handovers = handovers + 1, unread = greatest(unread, 1)"
        " WHERE thread_id = %s AND status = 'bot' RETURNING channel",
        (reason, detail, thread_id),
    )
    row = await cur.fetchone()
    if row is None:
        return False
    await add_message(
        conn,
        thread_id=thread_id,
        role="system",
        text=f"Handed over: the customer {reason_label(reason)}.",
        meta={"event": "handover", "reason": reason, "detail": detail},
    )
    if webhook is not None:
        await webhook.enqueue(conn, thread_id=thread_id, channel=row["channel"], reason=reason, detail=detail)
    return True


async def take(conn: AsyncConnection[DictRow], thread_id: str, operator: Operator) -> bool:
    """→ human: the operator has the conversation from now on, with a system line saying so;
    False when there is no such conversation."""
    cur = await conn.execute(
        "UPDATE conversations SET status = 'human', assignee_id = %s, taken_at = now(),"
        " last_operator_at = now(), unread = 0 WHERE thread_id = %s RETURNING thread_id",
        (operator.id, thread_id),
    )
    if await cur.fetchone() is None:
        return False
    await _system_line(conn, thread_id, f"{operator.name} took over the conversation.", "takeover", operator)
    return True


async def hand_back(conn: AsyncConnection[DictRow], thread_id: str, operator: Operator | None, event: HandBack) -> bool:
    """→ bot (counted as resolved for `resolved`), with a system line; False when there is no such
    conversation."""
    cur = await conn.execute(
        "UPDATE conversations SET status = 'bot', assignee_id = NULL, waiting_since = NULL, reason = NULL,"
        " reason_detail = NULL, unread = 0, resolved_at = CASE WHEN %s THEN now() ELSE resolved_at END"
        " WHERE thread_id = %s RETURNING thread_id",
        (event == "resolved", thread_id),
    )
    if await cur.fetchone() is None:
        return False
    text = _HAND_BACK_LINES[event].format(who=operator.name if operator else "Nobody")
    await _system_line(conn, thread_id, text, "resolved" if event == "resolved" else "handback", operator)
    return True


async def release_abandoned(conn: AsyncConnection[DictRow]) -> list[str]:
    """human → waiting for conversations whose operator has no live session left (signed out, or
    expired), so another operator sees them."""
    cur = await conn.execute(
        "UPDATE conversations c SET status = 'waiting', assignee_id = NULL, waiting_since = now(),"
        " waiting_notice_at = NULL"
        " WHERE c.status = 'human' AND c.assignee_id IS NOT NULL AND NOT EXISTS ("
        "   SELECT 1 FROM operator_sessions s WHERE s.operator_id = c.assignee_id AND s.expires_at > now())"
        " RETURNING c.thread_id"
    )
    released = [r["thread_id"] for r in await cur.fetchall()]
    for thread_id in released:
        await _system_line(
            conn, thread_id, "The operator signed out: the conversation is waiting for someone else.", "released"
        )
    return released


# ---------- the record beside the status ----------


async def note_answer(conn: AsyncConnection[DictRow], thread_id: str, language: Language | str) -> None:
    """The bot answered: the conversation's language and last activity."""
    await conn.execute(
        "UPDATE conversations SET language = %s, last_message_at = now() WHERE thread_id = %s", (language, thread_id)
    )


async def keep_suggestion(conn: AsyncConnection[DictRow], thread_id: str, suggestion: str | None) -> None:
    """The bot's draft for the operator (None: it had nothing to suggest)."""
    await conn.execute("UPDATE conversations SET suggested_reply = %s WHERE thread_id = %s", (suggestion, thread_id))


async def note_operator_message(conn: AsyncConnection[DictRow], thread_id: str) -> None:
    """An operator wrote: the suggestion answered the customer's last message, this reply does instead."""
    await conn.execute(
        "UPDATE conversations SET last_operator_at = now(), last_message_at = now(), unread = 0,"
        " suggested_reply = NULL WHERE thread_id = %s",
        (thread_id,),
    )


async def mark_synced(conn: AsyncConnection[DictRow], thread_id: str, message_id: int) -> None:
    """The graph's state holds the transcript's operator lines and events up to `message_id`."""
    await conn.execute(
        "UPDATE conversations SET synced_message_id = greatest(synced_message_id, %s) WHERE thread_id = %s",
        (message_id, thread_id),
    )


async def mark_read(conn: AsyncConnection[DictRow], thread_id: str) -> None:
    await conn.execute("UPDATE conversations SET unread = 0 WHERE thread_id = %s AND unread > 0", (thread_id,))


async def name_customer(conn: AsyncConnection[DictRow], thread_id: str, *, customer_id: int, name: str) -> None:
    """Who the customer turned out to be, kept so the inbox can show the name."""
    await conn.execute(
        "UPDATE conversations SET customer_id = %s, customer_name = %s WHERE thread_id = %s",
        (customer_id, name, thread_id),
    )


async def claim_wait_notice(conn: AsyncConnection[DictRow], thread_id: str) -> bool:
    """Whether this caller is the one to tell a waiting customer they wait (once per hand-over);
    False when the conversation was taken, or the customer told, meanwhile."""
    cur = await conn.execute(
        "UPDATE conversations SET waiting_notice_at = now() WHERE thread_id = %s"
        " AND status = 'waiting' AND waiting_notice_at IS NULL RETURNING thread_id",
        (thread_id,),
    )
    return await cur.fetchone() is not None


# ---------- whole transitions, with the wake-up ----------


class ConversationStatus:
    """The transitions operators and timers make, each in its own transaction, followed by the
    conversation's job being woken so the bot's state learns of it."""

    def __init__(self, pool: Pool, wake: Wake) -> None:
        self._pool = pool
        self._wake = wake

    async def take_over(self, thread_id: str, operator: Operator) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            if not await take(conn, thread_id, operator):
                raise ConversationNotFound(thread_id)
        log.info("conversation_taken", extra={"thread_id": thread_id})
        await self._wake.answer_soon(thread_id)

    async def hand_back(self, thread_id: str, operator: Operator | None, event: HandBack = "handback") -> None:
        """Back to the bot, which answers the customer's next message knowing what was said."""
        async with self._pool.connection() as conn, conn.transaction():
            if not await hand_back(conn, thread_id, operator, event):
                raise ConversationNotFound(thread_id)
        log.info("conversation_handed_back", extra={"thread_id": thread_id, "event": event})
        await self._wake.answer_soon(thread_id)

    async def return_idle(self, *, idle: timedelta) -> list[str]:
        """Taken conversations with no operator message for `idle` go back to the bot."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT thread_id FROM conversations WHERE status = 'human'"
                " AND coalesce(last_operator_at, taken_at) < now() - make_interval(secs => %s)",
                (idle.total_seconds(),),
            )
            idle_threads = [r["thread_id"] for r in await cur.fetchall()]
        for thread_id in idle_threads:
            await self.hand_back(thread_id, None, "idle")
        return idle_threads

    async def release(self) -> list[str]:
        """Conversations held by an operator with no live session left wait for someone else."""
        async with self._pool.connection() as conn, conn.transaction():
            released = await release_abandoned(conn)
        for thread_id in released:
            await self._wake.answer_soon(thread_id)
        return released
