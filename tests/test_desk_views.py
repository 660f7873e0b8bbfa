"""The operators' inbox list names its customers without letting the order source hold it up: an
outage leaves the rows unnamed (and is logged), a slow source is waited for only so long, and a
customer found once is named from the conversation afterwards. A conversation's transcript shows
the actions on orders among its messages, within the transcript's limit."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from carebot.db.pool import open_pool
from carebot.delivery.channels.registry import Channels
from carebot.desk.views import ConversationViews
from carebot.domain import Customer
from carebot.shop.actions import ActionRequest, Actor
from carebot.shop.policy import demo_policy_path, load_policy
from carebot.shop.store import ShopStore
from tests.fakes import FakeOrderSource, FakeVerifier
from tests.test_operator_actions import TinyShop


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

    # Only these two: the shared database may hold other tests' conversations (an anonymous web
    # visitor handed over by the browser tests), which have no customer to name.
    def asked() -> int:
        return sum(1 for asked_for in orders.asked if asked_for[1] in ("+15550001", "+15550002"))

    before = asked()
    again = await _listed(postgres_url, orders)
    assert (again[ann], again[bo]) == ("Ann Lee", "Bo Kim") and asked() == before


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


async def test_the_transcript_places_actions_at_their_time_and_stays_bounded(empty_database_url: str) -> None:
    """Actions on orders (here the bot's, on the customer's yes) show as lines among the messages,
    at their time, as far back as the messages shown go; the whole stays within the limit."""
    tiny = TinyShop()
    await tiny.load(empty_database_url)
    thread = f"whatsapp:views-{uuid.uuid4().hex[:12]}"
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    pool = await open_pool(empty_database_url)
    try:
        async with pool.connection() as conn:
            await conn.execute(
                "INSERT INTO conversations (thread_id, channel, sender) VALUES (%s, 'whatsapp', %s)",
                (thread, tiny.phone),
            )
            await conn.execute(
                "INSERT INTO messages (thread_id, role, text, at) SELECT %s, 'customer', 'm' || n,"
                " %s + make_interval(secs => n) FROM generate_series(0, 501) n",
                (thread, start),
            )
            cur = await conn.execute("SELECT id FROM customers WHERE phone = %s", (tiny.phone,))
            customer = (await cur.fetchone() or {})["id"]
        store = ShopStore(pool, load_policy(demo_policy_path()))
        bot = Actor(by="bot", conversation=thread, confirming_message="yes  please,\n go ahead")
        requests = [
            ActionRequest(kind="cancel", order_number=tiny.pending, reason="no longer needed"),
            ActionRequest(kind="cancel", order_number=tiny.lamp, reason="ordered by mistake"),
            ActionRequest(
                kind="return", order_number=tiny.delivered, item_ids=[tiny.data.orders[2].items[0].id],
                payment_method_id=tiny.card,
            ),
        ]  # fmt: skip
        # Before the oldest message shown, between m100 and m101, after the last message.
        for request, seconds in zip(requests, (0.5, 100.5, 1000), strict=True):
            done = await store.perform(customer, request, key=uuid.uuid4().hex, actor=bot)
            async with pool.connection() as conn:
                await conn.execute(
                    "UPDATE order_actions SET at = %s WHERE id = %s",
                    (start + timedelta(seconds=seconds), done.action_id),
                )
        views = ConversationViews(
            pool=pool,
            orders=FakeOrderSource(),
            verifier=FakeVerifier(FakeOrderSource()),
            channels=Channels(),
            templates={},
        )
        lines = (await views.conversation(thread)).messages
    finally:
        await pool.close()
    texts = [line.text for line in lines]
    assert len(lines) == 500 and texts[0] == "m4" and texts[-2] == "m501"  # the latest 500 lines
    assert not any(tiny.pending in text for text in texts)  # older than every message shown
    middle = texts.index("m101") - 1
    assert texts[middle - 1] == "m100"
    assert texts[middle] == (
        f"Order {tiny.lamp} cancelled (ordered by mistake) — refund 49.00 USD to Visa ending 4242"
        " · by the bot, on the customer's “yes please, go ahead”"
    )
    assert texts[-1] == (
        f"Return requested for order {tiny.delivered}: Oak desk lamp (white) — refund 49.00 USD to Visa ending 4242"
        " once the items are back · by the bot, on the customer's “yes please, go ahead”"
    )
