"""Accepting inbound messages: every message is stored (unique per channel message id), with its
conversation and transcript line, before its channel gets an acknowledgement, so nothing a
customer sent is lost when a turn fails later."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb

from carebot.channels.sanitise import clean_json, clean_text
from carebot.channels.transcript import ACCEPT_INBOUND
from carebot.db.pool import Pool

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
class Accepted:
    inbox_id: int | None
    """None when the message was a duplicate delivery (already stored)."""
    thread_id: str


Outcome = dict[str, Any]
"""A handled message's `status`, `answer` (a `TurnResult.as_json()`) and `error`, as the inbox row has them."""


class AnswerSignals:
    """Hands a message's outcome to whoever waits for it in this process (the web chat) as soon
    as a worker in this process has recorded it, sparing the waiter a query; waiters on other
    processes' workers poll instead. Woken thread-safely, so a worker on any loop may call it."""

    def __init__(self) -> None:
        self._waiters: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Outcome]]] = {}

    def answered(self, inbox_id: int, outcome: Outcome) -> None:
        if (waiting := self._waiters.get(inbox_id)) is not None:
            loop, future = waiting
            loop.call_soon_threadsafe(_resolve, future, outcome)

    @contextmanager
    def listening(self, inbox_id: int) -> Iterator[asyncio.Future[Outcome]]:
        """A future resolved with the message's outcome; register it before checking the row, so
        an answer recorded in between is not missed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._waiters[inbox_id] = (loop, future)
        try:
            yield future
        finally:
            self._waiters.pop(inbox_id, None)


def _resolve(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():
        future.set_result(outcome)


class Inbox:
    """The `inbox` table as the webhooks and `/chat` see it. Fast: no model runs here."""

    # A waiter not woken by a signal (the worker runs in another process) checks this often.
    _POLL_SECONDS = 0.25

    def __init__(self, pool: Pool, thread_id: Callable[[str, str], str], signals: AnswerSignals | None = None) -> None:
        self._pool = pool
        self._thread_id = thread_id
        self._signals = signals or AnswerSignals()

    async def accept(self, message: InboundMessage) -> Accepted:
        """Store the message unless this delivery was seen before."""
        message = InboundMessage(
            channel=message.channel,
            external_id=clean_text(message.external_id),
            sender=clean_text(message.sender),
            body=clean_text(message.body),
            payload=clean_json(message.payload),
        )
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
        event = "message_received" if row else "duplicate_ignored"
        log.info(event, extra={"thread_id": thread_id, "channel": message.channel, "external_id": message.external_id})
        return Accepted(row["id"] if row else None, thread_id)

    async def answer_of(self, inbox_id: int) -> Outcome | None:
        """The message's status, answer (a `TurnResult.as_json()`) and error."""
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT status, answer, error FROM inbox WHERE id = %s", (inbox_id,))
            return await cur.fetchone()

    async def wait_for_answer(self, inbox_id: int, *, within: float) -> Outcome | None:
        """The outcome of a message just accepted (so still pending: the first look is after a
        wait), or None after `within` seconds."""
        deadline = time.monotonic() + within
        with self._signals.listening(inbox_id) as answered:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                with contextlib.suppress(TimeoutError):
                    return await asyncio.wait_for(asyncio.shield(answered), min(left, self._POLL_SECONDS))
                if (row := await self.answer_of(inbox_id)) is None or row["status"] != "pending":
                    return row

    async def give_up(self, inbox_id: int, reason: str) -> None:
        """Mark a message failed so that no later sweep answers it behind its sender's back."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE inbox SET status = 'failed', error = %s WHERE id = %s AND status = 'pending'",
                (reason, inbox_id),
            )
