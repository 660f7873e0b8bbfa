"""The operators' inbox list names its customers without letting the order source hold it up: an
outage leaves the rows unnamed (and is logged), a slow source is waited for only so long, and a
customer found once is named from the conversation afterwards."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest

from carebot.db.pool import open_pool
from carebot.delivery.channels.registry import Channels
from carebot.desk.views import ConversationViews
from carebot.domain import Customer
from tests.fakes import FakeOrderSource, FakeVerifier


class SlowOrderSource(FakeOrderSource):
    async def find_customer(self, *, channel: str, sender: str) -> Customer | None:
        await asyncio.sleep(30)  # a remote order API that does not answer
        return None


async def _waiting(url: str, senders: list[str]) -> list[str]:
    """Conversations handed over and not yet named, one per sender; returns their thread ids."""
    threads = [f"whatsapp:views-{uuid.uuid4().hex[:12]}" for _ in senders]
    pool = await open_pool(url)
    try:
        async with pool.connection() as conn:
            for thread, sender in zip(threads, senders, strict=True):
                await conn.execute(
                    "INSERT INTO conversations (thread_id, channel, sender, status, waiting_since, last_message_at)"
                    " VALUES (%s, 'whatsapp', %s, 'waiting', now(), now() + interval '1 day')",
                    (thread, sender),
                )
    finally:
        await pool.close()
    return threads


async def _listed(url: str, orders: FakeOrderSource, lookup_timeout: float = 2.0) -> dict[str, str | None]:
    pool = await open_pool(url)
    try:
        views = ConversationViews(
            pool=pool,
            orders=orders,
            verifier=FakeVerifier(orders),
            channels=Channels(),
            templates={},
            lookup_timeout=lookup_timeout,
        )
        return {row.id: row.customer for row in await views.conversations("waiting")}
    finally:
        await pool.close()


async def test_customers_are_named_once_and_then_from_the_conversation(postgres_url: str) -> None:
    orders = FakeOrderSource()
    ann, bo = await _waiting(postgres_url, ["+15550001", "+15550002"])
    listed = await _listed(postgres_url, orders)
    assert (listed[ann], listed[bo]) == ("Ann Lee", "Bo Kim")
    asked = len(orders.asked)
    again = await _listed(postgres_url, orders)
    assert (again[ann], again[bo]) == ("Ann Lee", "Bo Kim") and len(orders.asked) == asked


async def test_an_order_source_outage_leaves_the_rows_unnamed_and_is_logged(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    [thread] = await _waiting(postgres_url, ["+15550001"])
    with caplog.at_level(logging.WARNING, logger="carebot.desk.views"):
        listed = await _listed(postgres_url, FakeOrderSource(fail=True))
    assert thread in listed and listed[thread] is None
    assert any(r.message == "inbox_customer_lookup_failed" for r in caplog.records)


async def test_a_slow_order_source_is_waited_for_only_within_the_bound(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    [thread] = await _waiting(postgres_url, ["+15550002"])
    with caplog.at_level(logging.WARNING, logger="carebot.desk.views"):
        listed = await asyncio.wait_for(_listed(postgres_url, SlowOrderSource(), lookup_timeout=0.5), 10)
    assert thread in listed and listed[thread] is None
    assert any(r.message == "inbox_customer_lookup_timed_out" for r in caplog.records)
