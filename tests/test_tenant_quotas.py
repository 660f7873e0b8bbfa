"""A shop's monthly message quota, its messages per minute and its switch, as customers meet them
over real HTTP (WhatsApp through a fake Twilio, the web chat): over the quota the bot stops and
the customer is told once that a person will reply; over the rate the web chat says when to try
again and WhatsApp messages wait their turn; a disabled shop takes nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import psycopg
import pytest

from carebot.composition import open_database
from carebot.db.scope import DEFAULT_TENANT_ID
from carebot.desk.stats import tenant_stats
from carebot.tenants.registry import Tenant
from tests.conftest import settings_for
from tests.loopback import LoopbackServer
from tests.test_channels import (
    ALEX,
    SITI,
    FakeTwilio,
    channel_settings,
    post_signed,
    serving,
    sid,
    twilio_form,
    wait_for,
)


def set_limits(url: str, **columns: object) -> None:
    """As the tables' owner, as `carebot tenants` or the platform's admin API would."""
    with psycopg.connect(url, autocommit=True) as conn:
        for column, value in columns.items():
            conn.execute(f"UPDATE tenants SET {column} = %s WHERE id = %s", (value, DEFAULT_TENANT_ID))  # type: ignore[arg-type]


def inbox_row(url: str, external_id: str) -> tuple[str, str | None] | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT status, error FROM inbox WHERE external_id = %s", (external_id,)).fetchone()
    return (row[0], row[1]) if row else None


def conversation_of(url: str, sender: str) -> tuple[str, str | None]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT status, reason FROM conversations WHERE sender = %s", (sender,)).fetchone()
    assert row is not None
    return row[0], row[1]


async def test_over_the_monthly_quota_the_bot_stops_and_the_customer_is_told_once_that_a_person_will_reply(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    set_limits(url, messages_per_month=2)
    twilio = FakeTwilio()
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        async with serving(channel_settings(url, fake.url, discord.url, seed_demo_data=False)) as client:
            for n, text in enumerate(["hello", "hi there"], start=1):
                assert (
                    await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(n), ALEX, text))
                ).status_code == 200
                await wait_for(lambda n=n: len(twilio.sent) == n)
            # The third message of the month: stored, handed to the shop's people, one notice.
            over = await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(3), ALEX, "are you there?"))
            await wait_for(lambda: len(twilio.sent) == 3)
            again = await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(4), ALEX, "hello??"))
            web = await client.post("/chat", json={"text": "hello"})
    assert over.status_code == again.status_code == 200
    assert "unavailable" in twilio.sent[2]["Body"] and "person will reply" in twilio.sent[2]["Body"]
    assert len(twilio.sent) == 3  # the fourth message got no second notice (decided when it was stored)
    assert inbox_row(url, sid(3)) == inbox_row(url, sid(4)) == ("ignored", "over_quota")
    assert conversation_of(url, f"whatsapp:{ALEX}") == ("waiting", "quota_exceeded")
    assert web.status_code == 429 and "monthly message quota" in web.json()["detail"]
    async with open_database(settings_for(url, seed_demo_data=False)) as pool:
        async with pool.connection() as conn:
            row = await (await conn.execute("SELECT * FROM tenants WHERE id = %s", (DEFAULT_TENANT_ID,))).fetchone()
        stats = await tenant_stats(pool, Tenant.model_validate(row))
    assert stats.messages == 5 and stats.messages_per_month == 2 and stats.quota_used_share == 2.5
    assert stats.handovers == 2 and stats.with_people == 2


async def _not_near_a_minutes_end() -> None:
    """The rate is counted per calendar minute: keep the burst inside one."""
    second = datetime.now(UTC).second
    if second > 45:
        await asyncio.sleep(61 - second)


async def test_over_the_rate_the_web_chat_says_when_to_retry_and_whatsapp_waits_its_turn(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    set_limits(url, messages_per_minute=2)
    twilio = FakeTwilio()
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        async with serving(channel_settings(url, fake.url, discord.url, seed_demo_data=False)) as client:
            await _not_near_a_minutes_end()
            answered = [await client.post("/chat", json={"text": text}) for text in ("hello", "hi there")]
            refused = await client.post("/chat", json={"text": "and again"})
            waiting = await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(20), SITI, "halo"))
            with psycopg.connect(url) as conn:
                job = conn.execute(
                    "SELECT scheduled_at - now() FROM procrastinate_jobs WHERE args ->> 'thread_id' LIKE %s"
                    " AND status = 'todo'",
                    ("%:whatsapp:%",),
                ).fetchone()
    assert [r.status_code for r in answered] == [200, 200]
    assert refused.status_code == 429 and "too many messages" in refused.json()["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    with psycopg.connect(url) as conn:
        stored = conn.execute("SELECT count(*) FROM inbox WHERE channel = 'web'").fetchone()
    assert stored == (2,)  # the refused one was not kept: the visitor sends it again
    # The WhatsApp message cannot be sent again: it is kept, and its turn waits for the next minute.
    assert waiting.status_code == 200 and inbox_row(url, sid(20)) == ("pending", None)
    assert job is not None and 0 < job[0].total_seconds() <= 61


async def test_a_disabled_shop_takes_no_messages(empty_database_url: str) -> None:
    url = empty_database_url
    set_limits(url, disabled_at=datetime.now(UTC))
    with LoopbackServer(FakeTwilio()) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        async with serving(channel_settings(url, fake.url, discord.url, seed_demo_data=False)) as client:
            webhook = await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(30), ALEX, "hello"))
            web = await client.post("/chat", json={"text": "hello"})
    assert webhook.status_code == 403 and inbox_row(url, sid(30)) is None
    assert web.status_code == 403 and web.json()["detail"] == "this shop's assistant is disabled"


@pytest.mark.parametrize("quota", [None, 1000])
async def test_a_shop_without_limits_writes_no_counter(empty_database_url: str, quota: int | None) -> None:
    """Counting costs only the shops that have a limit."""
    url = empty_database_url
    set_limits(url, messages_per_month=quota)
    with LoopbackServer(FakeTwilio()) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        async with serving(channel_settings(url, fake.url, discord.url, seed_demo_data=False)) as client:
            assert (await client.post("/chat", json={"text": "hello"})).status_code == 200
    with psycopg.connect(url) as conn:
        counted = conn.execute("SELECT period, messages FROM tenant_usage ORDER BY period").fetchall()
    assert counted == ([] if quota is None else [("minute", 1), ("month", 1)])
