"""Acknowledgements before turns, where one event loop serves webhooks and runs turns (`carebot serve`).

A provider waits for its acknowledgement (Discord gives up after 3 s, Twilio after 15 s) while a
turn has no deadline of seconds. On one loop, a burst of new conversations would start as many
turns as webhooks arrive, and every acknowledgement would wait behind their CPU work; here a
turn starts only when no webhook is being handled, or after `longest_hold` at most, so a
steady stream of webhooks never starves the turns. Measured (`make bench`, P2, 500 new WhatsApp
conversations over 64 connections): acks p50/p99 127/443 ms without it, 99/376 ms with it, the
time until every customer had an answer unchanged (15.8-16.2 s).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from contextlib import contextmanager


class AckFirst:
    """Counts webhooks being handled; turns wait for none to be (or for `longest_hold`)."""

    def __init__(self, *, longest_hold: float = 1.0) -> None:
        self._longest_hold = longest_hold
        self._handling = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextmanager
    def acknowledging(self) -> Iterator[None]:
        self._handling += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._handling -= 1
            if self._handling == 0:
                self._idle.set()

    async def before_turn(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), self._longest_hold)
