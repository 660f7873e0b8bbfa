"""Accepting inbound messages: every message is stored (unique per channel message id), with its
conversation and transcript line, before its channel gets an acknowledgement, so nothing a
customer sent is lost when a turn fails later.

The shop's limits are checked here, in the same transaction (`tenants/quotas.py`): a disabled
shop takes nothing; over its monthly quota a message is stored and not answered, the
conversation goes to the shop's people and the customer is told so once; over its messages per
minute a web message is refused (the visitor tries again) and a WhatsApp or Discord one, which
cannot be sent again, is stored and answered when the rate allows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from carebot.db.pool import Pool
from carebot.delivery.channels.base import ReplyTarget
from carebot.delivery.channels.registry import Channels
from carebot.delivery.outgoing import say
from carebot.delivery.sanitise import clean_json, clean_text
from carebot.desk import status as status_of
from carebot.desk.transcript import ACCEPT_INBOUND
from carebot.phrases import phrase
from carebot.tenants.quotas import NO_LIMITS, Limits, Quotas, RateLimited, count_message
from carebot.tenants.settings import ShopSettingsSource
from carebot.turns import sender_language

log = logging.getLogger(__name__)


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
class PendingMessage:
    """A stored customer message waiting for its turn, with its conversation's status."""

    id: int
    channel: str
    thread_id: str
    sender: str
    body: str
    payload: dict[str, Any]
    """The channel details the answer needs (see `InboundMessage.payload`)."""
    attempts: int
    """Turns that failed on it so far."""
    received_at: datetime
    conversation_status: str
    """`bot`, or `waiting`/`human` while a person has the conversation."""


@dataclass(frozen=True, slots=True)
class Accepted:
    inbox_id: int | None
    """None when the message was a duplicate delivery (already stored)."""
    thread_id: str
    over_quota: bool = False
    """Over the shop's monthly quota: stored, handed to the shop's people, not answered by the bot."""
    notice_queued: bool = False
    """The customer's one notice that the assistant is unavailable waits in the outbox (send it)."""
    answer_after: float = 0
    """Over the shop's messages per minute: seconds before its turn may run."""


Unanswered = Literal["with_operator", "rate_limited", "opted_out", "no_trigger_word", "over_quota"]
"""Why a message was stored and not answered: a person has the conversation, the sender writes
too fast or opted out (STOP), the message did not name the bot (`BOT_TRIGGER_WORDS`), or the
shop's monthly quota is used up."""
_UNANSWERED: tuple[Unanswered, ...] = get_args(Unanswered)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a handled message, as its inbox row records it."""

    status: Literal["pending", "answered", "ignored", "failed"]
    answer: dict[str, Any] | None = None
    """A `TurnResult.as_json()`, when answered."""
    unanswered: Unanswered | None = None
    """Why an `ignored` message was not answered."""

    error: str | None = None
    """What went wrong, for a message that `failed` (the last try's error); else the reason as stored."""

    @classmethod
    def of_row(cls, row: dict[str, Any]) -> Outcome:
        error = row["error"]
        return cls(row["status"], row["answer"], error if error in _UNANSWERED else None, error)


# Workers NOTIFY this with the inbox id when they answer a web message: a `/chat` waiting in
# another process (an API-only replica, or a turn another worker process ran) looks right away.
ANSWERED_CHANNEL = "carebot_answered"


class _Waiter:
    __slots__ = ("loop", "outcome", "woken")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.woken = asyncio.Event()
        self.outcome: Outcome | None = None


class AnswerSignals:
    """Wakes whoever waits for a message's outcome in this process (the web chat): with the
    outcome itself when a worker in this process recorded it (no query needed), or, on a NOTIFY
    from another process's worker (`poke`), to read it from the row. Thread-safe, so a worker on
    any loop may call it."""

    def __init__(self) -> None:
        self._waiters: dict[int, _Waiter] = {}

    def answered(self, inbox_id: int, outcome: Outcome) -> None:
        if (waiter := self._waiters.get(inbox_id)) is not None:
            waiter.outcome = outcome
            waiter.loop.call_soon_threadsafe(waiter.woken.set)

    def poke(self, payload: str | None) -> None:
        """A NOTIFY on `ANSWERED_CHANNEL`; None (the listener reconnected, notifications may
        have been missed) wakes every waiter."""
        if payload is None:
            waiters = list(self._waiters.values())
        elif payload.isdigit() and (waiter := self._waiters.get(int(payload))) is not None:
            waiters = [waiter]
        else:
            return
        for waiter in waiters:
            waiter.loop.call_soon_threadsafe(waiter.woken.set)

    @contextmanager
    def listening(self, inbox_id: int) -> Iterator[_Waiter]:
        """Register before checking the row, so an answer recorded in between is not missed."""
        waiter = _Waiter(asyncio.get_running_loop())
        self._waiters[inbox_id] = waiter
        try:
            yield waiter
        finally:
            self._waiters.pop(inbox_id, None)


class Inbox:
    """The `inbox` table as the webhooks and `/chat` see it. Fast: no model runs here."""

    # A waiter woken neither by this process's worker nor by a NOTIFY (lost while the listener
    # reconnected) still checks the row this often.
    _POLL_SECONDS = 2.0

    def __init__(
        self,
        pool: Pool,
        thread_id: Callable[[str, str], str],
        signals: AnswerSignals | None = None,
        *,
        quotas: Quotas | None = None,
        shops: ShopSettingsSource | None = None,
    ) -> None:
        self._pool = pool
        self._thread_id = thread_id
        self._signals = signals or AnswerSignals()
        # Without them (tests of the inbox alone, the CLI) no limit applies.
        self._quotas = quotas
        self._shops = shops
        self._channels = Channels()  # their rules only (how a notice is split); senders are the outbox's

    async def accept(self, message: InboundMessage) -> Accepted:
        """Store the message unless this delivery was seen before, counted against the shop's
        limits; raises `TenantDisabled`, or `RateLimited` for a web message over the rate."""
        message = InboundMessage(
            channel=message.channel,
            external_id=clean_text(message.external_id),
            sender=clean_text(message.sender),
            body=clean_text(message.body),
            payload=clean_json(message.payload),
        )
        limits = await self._quotas.limits() if self._quotas else NO_LIMITS
        thread_id = self._thread_id(message.channel, message.sender)
        # Media and message type are shown in the operator's transcript; tokens are not.
        meta = {k: message.payload[k] for k in ("media", "message_type") if message.payload.get(k)}
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                ACCEPT_INBOUND,
                {
                    "channel": message.channel,
                    "external_id": message.external_id,
                    "thread": thread_id,
                    "sender": message.sender,
                    "body": message.body,
                    "payload": Jsonb(message.payload),
                    "meta": Jsonb(meta),
                },
            )
            row = await cur.fetchone()
            accepted = Accepted(row["id"] if row else None, thread_id)
            if row is not None and limits.counted:
                accepted = await self._within_limits(conn, message, accepted, limits)
        event = "message_received" if row else "duplicate_ignored"
        log.info(event, extra={"thread_id": thread_id, "channel": message.channel, "external_id": message.external_id})
        return accepted

    async def _within_limits(
        self, conn: AsyncConnection[DictRow], message: InboundMessage, accepted: Accepted, limits: Limits
    ) -> Accepted:
        """Count the stored message against the shop's limits (in its transaction) and apply them."""
        usage = await count_message(conn)
        verdict = usage.verdict(limits)
        if verdict == "over_rate":
            wait = usage.wait(limits)
            log.info("tenant_rate_limited", extra={"thread_id": accepted.thread_id, "retry_after": wait})
            if self._channels[message.channel].reads_transcript:
                raise RateLimited(wait)  # rolls the message back: the visitor sends it again
            return Accepted(accepted.inbox_id, accepted.thread_id, answer_after=wait)
        if verdict == "over_quota":
            log.warning("tenant_over_quota", extra={"thread_id": accepted.thread_id, "quota": limits.per_month})
            assert accepted.inbox_id is not None
            queued = await self._over_quota(conn, message, accepted.inbox_id, accepted.thread_id)
            return Accepted(accepted.inbox_id, accepted.thread_id, over_quota=True, notice_queued=queued)
        return accepted

    async def _over_quota(
        self, conn: AsyncConnection[DictRow], message: InboundMessage, inbox_id: int, thread_id: str
    ) -> bool:
        """The message is not for the bot: the conversation goes to the shop's people and, the
        first time (while the bot had it), the customer is told in their language. Whether the
        notice waits in the outbox."""
        await conn.execute(
            "UPDATE inbox SET status = 'ignored', error = 'over_quota', answered_at = now() WHERE id = %s", (inbox_id,)
        )
        if not await status_of.hand_over(conn, thread_id=thread_id, reason="quota_exceeded", detail=None, webhook=None):
            return False  # a person has it already, and the customer was told
        cur = await conn.execute(
            "SELECT c.language, EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = c.thread_id AND m.role = 'bot')"
            " AS spoken FROM conversations c WHERE c.thread_id = %s",
            (thread_id,),
        )
        conversation = await cur.fetchone()
        shop = await self._shops.current() if self._shops else None
        language = (
            conversation["language"]
            if conversation and conversation["spoken"]
            else sender_language(message.channel, message.sender) or (shop.default_language if shop else "en")
        )
        channel = self._channels[message.channel]
        said = await say(
            conn,
            channel=channel,
            thread_id=thread_id,
            role="bot",
            text=phrase(language, "escalate_quota_exceeded", shop=shop.name if shop else "the shop"),
            target=None if channel.reads_transcript else ReplyTarget(message.payload.get("reply_to", message.sender)),
            inbox_id=inbox_id,
            meta={"event": "quota_exceeded"},
        )
        return said.queued

    async def answer_of(self, inbox_id: int) -> Outcome | None:
        """What became of the message so far."""
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT status, answer, error FROM inbox WHERE id = %s", (inbox_id,))
            row = await cur.fetchone()
        return Outcome.of_row(row) if row is not None else None

    async def wait_for_answer(self, inbox_id: int, *, within: float) -> Outcome | None:
        """The outcome of a message just accepted (so still pending: the first look is after a
        wait), or None after `within` seconds."""
        deadline = time.monotonic() + within
        with self._signals.listening(inbox_id) as waiter:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.woken.wait(), min(left, self._POLL_SECONDS))
                waiter.woken.clear()  # before reading the row: a later poke wakes the next wait
                if waiter.outcome is not None:
                    return waiter.outcome
                if (outcome := await self.answer_of(inbox_id)) is None or outcome.status != "pending":
                    return outcome

    async def give_up(self, inbox_id: int, reason: str) -> None:
        """Mark a message failed so that no later sweep answers it behind its sender's back."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE inbox SET status = 'failed', error = %s WHERE id = %s AND status = 'pending'",
                (reason, inbox_id),
            )
