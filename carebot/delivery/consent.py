"""Consent and abuse, per sender and shared by every process (Postgres, not process memory).

- STOP (and the usual opt-out words in the customers' languages) gets one confirmation, then
  nothing more goes out to that sender until START: WhatsApp requires honouring opt-outs, and
  Twilio's automatic STOP handling does not cover WhatsApp. The outbox reads the opt-out with
  the parts it sends (`confirms_stop` lets the STOP's own confirmation through), so what was
  queued before the STOP (a reply to a message that came just before it, a reply waiting for a
  retry, an operator's message) is not sent after it. Only channels whose `consent_words` are on
  take part: the web chat has no outbound messages to stop (a visitor just closes the page).
- More than RATE_LIMIT_PER_MINUTE messages a minute: the first one over gets a notice in the
  customer's language, the rest are stored and not answered.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from psycopg import sql

from carebot.db.pool import Pool
from carebot.delivery.channels.registry import Channels

if TYPE_CHECKING:  # the inbox says what it did with a message through the outbox, which reads consent
    from carebot.delivery.inbox import PendingMessage

# Whole-message keywords only: "stop sending me the wrong size" is a question, not an opt-out.
STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "optout", "opt-out", "baja", "berhenti"})
START_WORDS = frozenset({"start", "unstop", "subscribe", "mulai", "alta"})

# Why a queued message was not sent (the outbox part's error; the transcript shows it undelivered).
OPTED_OUT = "not sent: the customer opted out (STOP) after it was queued"

Handling = Literal["answer", "stop", "start", "opted_out", "rate_notice", "rate_limited"]
"""`answer` runs the turn; `stop`/`start`/`rate_notice` get a fixed reply; the rest are stored only."""


def consent_word(body: str) -> Literal["stop", "start"] | None:
    word = re.sub(r"[\s.!¡]+", "", body.strip().lower())
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None


def confirms_stop(in_reply_to: str | None) -> bool:
    """Whether a queued message is the STOP's own confirmation (it answers the message that opted
    the customer out), the one message that still goes out to them."""
    return in_reply_to is not None and consent_word(in_reply_to) == "stop"


class SenderControls:
    """Decides, per inbox message, whether it is answered, by looking at its sender's consent
    and recent messages (`sender_controls` and `inbox`, keyed by thread id)."""

    def __init__(self, pool: Pool, *, per_minute: int, channels: Channels | None = None) -> None:
        self._pool = pool
        self._per_minute = per_minute
        self._channels = channels or Channels()

    async def handling(self, row: PendingMessage) -> Handling:
        thread_id = row.thread_id
        word = consent_word(row.body) if self._channels[row.channel].consent_words else None
        # One round trip in the common case (a message to answer). The conversation's turns run
        # one at a time (the job queue's lock), so nothing else changes these rows meanwhile.
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT coalesce((SELECT opted_out_at IS NOT NULL FROM sender_controls WHERE thread_id = %(thread)s),"
                " false) AS opted_out,"
                " coalesce((SELECT rate_notice_at > %(at)s - interval '1 minute' FROM sender_controls"
                " WHERE thread_id = %(thread)s), false) AS noticed,"
                " (SELECT count(*) FROM inbox WHERE thread_id = %(thread)s AND id <= %(id)s"
                " AND received_at > %(at)s - interval '1 minute') AS recent",
                {"thread": thread_id, "at": row.received_at, "id": row.id},
            )
            controls = await cur.fetchone()
            assert controls is not None
            if word == "stop":
                if controls["opted_out"]:
                    return "opted_out"  # one confirmation only
                await self._set(conn, thread_id, "opted_out_at", datetime.now(UTC))
                return "stop"
            if controls["opted_out"]:
                if word != "start":
                    return "opted_out"
                await self._set(conn, thread_id, "opted_out_at", None)
                return "start"
            if controls["recent"] <= self._per_minute:
                return "answer"
            if controls["noticed"]:
                return "rate_limited"
            await self._set(conn, thread_id, "rate_notice_at", row.received_at)
            return "rate_notice"

    @staticmethod
    async def _set(
        conn: Any, thread_id: str, column: Literal["opted_out_at", "rate_notice_at"], value: datetime | None
    ) -> None:
        """Record a consent change or the rate-limit notice for the sender."""
        await conn.execute(
            sql.SQL(
                "INSERT INTO sender_controls (thread_id, {column}) VALUES (%s, %s)"
                " ON CONFLICT (thread_id) DO UPDATE SET {column} = excluded.{column}"
            ).format(column=sql.Identifier(column)),
            (thread_id, value),
        )
