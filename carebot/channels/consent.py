"""Consent and abuse, per sender and shared by every process (Postgres, not process memory).

- STOP (and the usual opt-out words in the customers' languages) gets one confirmation, then
  nothing more goes out to that sender until START: WhatsApp requires honouring opt-outs, and
  Twilio's automatic STOP handling does not cover WhatsApp.
- More than RATE_LIMIT_PER_MINUTE messages a minute: the first one over gets a notice in the
  customer's language, the rest are stored and not answered.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from carebot.db.pool import Pool

# Whole-message keywords only: "stop sending me the wrong size" is a question, not an opt-out.
STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "optout", "opt-out", "baja", "berhenti"})
START_WORDS = frozenset({"start", "unstop", "subscribe", "mulai", "alta"})
# The web chat has no outbound messages to stop: a visitor just closes the page.
CONSENT_CHANNELS = frozenset({"whatsapp", "discord"})

Handling = Literal["answer", "stop", "start", "opted_out", "rate_notice", "rate_limited"]
"""`answer` runs the turn; `stop`/`start`/`rate_notice` get a fixed reply; the rest are stored only."""


def consent_word(body: str) -> Literal["stop", "start"] | None:
    word = re.sub(r"[\s.!¡]+", "", body.strip().lower())
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None


class SenderControls:
    """Decides, per inbox message, whether it is answered, by looking at its sender's consent
    and recent messages (`sender_controls` and `inbox`, keyed by thread id)."""

    def __init__(self, pool: Pool, *, per_minute: int) -> None:
        self._pool = pool
        self._per_minute = per_minute

    async def handling(self, row: dict[str, Any]) -> Handling:
        thread_id = row["thread_id"]
        word = consent_word(row["body"]) if row["channel"] in CONSENT_CHANNELS else None
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO sender_controls (thread_id) VALUES (%s) ON CONFLICT DO NOTHING", (thread_id,)
            )
            cur = await conn.execute(
                "SELECT opted_out_at IS NOT NULL AS opted_out,"
                " rate_notice_at > %s - interval '1 minute' AS noticed"
                " FROM sender_controls WHERE thread_id = %s FOR UPDATE",
                (row["received_at"], thread_id),
            )
            controls = await cur.fetchone()
            assert controls is not None
            if word == "stop":
                if controls["opted_out"]:
                    return "opted_out"  # one confirmation only
                await conn.execute("UPDATE sender_controls SET opted_out_at = now() WHERE thread_id = %s", (thread_id,))
                return "stop"
            if controls["opted_out"]:
                if word != "start":
                    return "opted_out"
                await conn.execute("UPDATE sender_controls SET opted_out_at = NULL WHERE thread_id = %s", (thread_id,))
                return "start"
            cur = await conn.execute(
                "SELECT count(*) AS n FROM inbox WHERE thread_id = %s AND id <= %s"
                " AND received_at > %s - interval '1 minute'",
                (thread_id, row["id"], row["received_at"]),
            )
            recent = await cur.fetchone()
            if recent is None or recent["n"] <= self._per_minute:
                return "answer"
            if controls["noticed"]:
                return "rate_limited"
            await conn.execute(
                "UPDATE sender_controls SET rate_notice_at = %s WHERE thread_id = %s", (row["received_at"], thread_id)
            )
            return "rate_notice"
