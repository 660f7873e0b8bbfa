"""Live updates for operators: `GET /admin/events`, Server-Sent Events of every conversation and
message change of the operator's shop, from any process.

A stream reads the `events` table inside the shop's tenant scope (opened by `current_operator`
for the request, inherited by the stream's tasks), so row-level security keeps other shops'
events out of it; the NOTIFY that wakes it carries only an id. A stream stays in the shop it was
opened in: the app reopens it after switching shops.

Database triggers number each change in the `events` table and NOTIFY its id. The process's
LISTEN connection (`carebot.db.notifications`) wakes the open streams through the `EventHub`,
and each stream reads the events after the last one it sent — so a reconnecting browser, which
sends `Last-Event-ID`, gets what it missed, and a NOTIFY lost during a database restart only
delays an event until the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from carebot.api.deps import ComponentsDep
from carebot.api.operator_auth import OPERATOR_COOKIE, OperatorDep
from carebot.composition import Components
from carebot.db.pool import Pool
from carebot.desk.operators import Operator, OperatorAccounts

CHANNEL = "carebot_events"
# Without a NOTIFY (a database restart dropped one), streams still look this often.
_POLL_SECONDS = 5.0
_BATCH = 500


class EventHub:
    """Wakes this process's event streams when any process records an event (`wake`, on each
    NOTIFY of `CHANNEL`, through the process's `Notifications`)."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Event] = set()

    @contextmanager
    def subscribe(self) -> Iterator[asyncio.Event]:
        woken = asyncio.Event()
        self._waiters.add(woken)
        try:
            yield woken
        finally:
            self._waiters.discard(woken)

    def wake(self, _payload: str | None = None) -> None:
        for woken in self._waiters:
            woken.set()


async def events_after(pool: Pool, last_id: int) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            # Only events whose transaction is older than any still running: an event with a
            # lower id committed later would otherwise be skipped for good.
            "SELECT id, kind, data FROM events WHERE id > %s AND tx < pg_snapshot_xmin(pg_current_snapshot())"
            " ORDER BY id LIMIT %s",
            (last_id, _BATCH),
        )
        return await cur.fetchall()


async def latest_event_id(pool: Pool) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT coalesce(max(id), 0) AS id FROM events WHERE tx < pg_snapshot_xmin(pg_current_snapshot())"
        )
        row = await cur.fetchone()
    return int(row["id"]) if row else 0


def _still_in_shop(components: Components, operator: Operator, session: str | None) -> Callable[[], Awaitable[bool]]:
    """Whether a stream may go on: its session has not ended and still works in the stream's shop
    (not removed from it, not switched elsewhere), checked at most every poll interval. The
    browser reconnects by itself, in the session's shop as it is then."""
    shop = operator.shop.tenant_id if operator.shop else None
    checked = time.monotonic()

    async def still_here() -> bool:
        nonlocal checked
        if session is None or time.monotonic() - checked < _POLL_SECONDS:
            return True
        checked = time.monotonic()
        account = await OperatorAccounts(components.pool).session_operator(session)
        return account is not None and account.shop is not None and account.shop.tenant_id == shop

    return still_here


router = APIRouter(prefix="/admin", tags=["operators"])


@router.get("/events", response_class=EventSourceResponse)
async def events(
    request: Request,
    components: ComponentsDep,
    operator: OperatorDep,
    last_event_id: Annotated[str | None, Header()] = None,
    session: Annotated[str | None, Cookie(alias=OPERATOR_COOKIE)] = None,
    after: Annotated[int | None, Query(ge=0, description="Replay events after this id (as Last-Event-ID).")] = None,
) -> EventSourceResponse:
    """Server-Sent Events: `conversation` (status, unread, assignee, …) and `message` (a transcript
    line, or its delivery status) for every change; each event's `id` resumes the stream."""
    hub: EventHub = request.app.state.event_hub
    pool = components.pool
    start = after
    if start is None and last_event_id is not None and last_event_id.isdigit():
        start = int(last_event_id)
    if start is None:
        start = await latest_event_id(pool)

    still_here = _still_in_shop(components, operator, session)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        last = start
        with hub.subscribe() as woken:
            while await still_here():
                woken.clear()  # before reading: an event recorded after the read wakes the wait below
                batch = await events_after(pool, last)
                for event in batch:
                    last = event["id"]
                    yield ServerSentEvent(
                        data=json.dumps(event["data"], default=str), event=event["kind"], id=str(last)
                    )
                if len(batch) < _BATCH:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(woken.wait(), _POLL_SECONDS)

    return EventSourceResponse(stream(), ping=15)
