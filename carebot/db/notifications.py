"""One LISTEN connection per process for everything a NOTIFY from another process wakes: the
operators' live event streams and web chats whose turn another worker process ran."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

# Called with a notification's payload, or with None after (re)connecting: notifications sent
# while not listening are gone, so whoever waits should look for themselves.
Handler = Callable[[str | None], None]


class Notifications:
    """Dispatches NOTIFYs on the channels handlers were registered for. Handlers run on the
    listener's loop and must not block."""

    _RECONNECT_SECONDS = 1.0

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._handlers: dict[str, list[Handler]] = {}

    def on(self, channel: str, handler: Handler) -> None:
        """Register before `run` starts: channels are LISTENed to when it connects."""
        self._handlers.setdefault(channel, []).append(handler)

    def _dispatch(self, channel: str, payload: str | None) -> None:
        for handler in self._handlers.get(channel, ()):
            try:
                handler(payload)
            except Exception:  # one faulty handler must not stop the others' wake-ups
                log.exception("notification_handler_failed", extra={"channel": channel})

    async def run(self) -> None:
        """LISTEN until cancelled, reconnecting after a database outage."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as conn:
                    for channel in self._handlers:
                        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    for channel in self._handlers:
                        self._dispatch(channel, None)
                    async for notify in conn.notifies():
                        self._dispatch(notify.channel, notify.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("notification_listener_reconnecting", extra={"error": type(exc).__name__})
            await asyncio.sleep(self._RECONNECT_SECONDS)
