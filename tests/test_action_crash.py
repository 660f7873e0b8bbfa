"""A worker killed between the customer's yes and the write — or after the write, before the
conversation is saved — does the action exactly once after a restart, and tells the customer once.

Real processes (`carebot serve`), a real SIGKILL, WhatsApp through a fake Twilio. The moment is held by
Postgres itself: the test locks what the worker must write next (the order's row; then the checkpoint
table), waits until the worker is blocked on that lock, and kills it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from twilio.request_validator import RequestValidator

from carebot.db.pool import open_pool
from carebot.shop.importer import import_shop, read_shop
from tests.conftest import forget_unfinished_work
from tests.loopback import LoopbackServer
from tests.test_channels import AUTH_TOKEN, FakeTwilio, sid, twilio_env, twilio_form, wait_for
from tests.test_scale_out import start_server
from tests.test_shop_actions import SHOP, recent

MEI = "+12125550199"  # the small shop's customer with a phone on file: WhatsApp names her
ORDER = "#W6390527"  # her delivered water bottle


@pytest.fixture
def shop_env(empty_database_url: str, cli_env: dict[str, str]) -> Iterator[dict[str, str]]:
    async def load() -> None:
        pool = await open_pool(empty_database_url)
        try:
            await import_shop(pool, recent(read_shop(SHOP)))
        finally:
            await pool.close()

    asyncio.run(load())
    yield {
        **cli_env,
        "DATABASE_URL": empty_database_url,
        "POLICY_FILE": str(SHOP / "policy.toml"),
        # A killed worker is noticed within seconds, not the production minute.
        "JOB_HEARTBEAT_SECONDS": "0.5",
        "STALLED_AFTER_SECONDS": "3",
        "SWEEP_SECONDS": "1",
    }
    forget_unfinished_work(empty_database_url)


def send(port: int, n: int, text: str) -> None:
    form = twilio_form(sid(7700 + n), MEI, text)
    signature = RequestValidator(AUTH_TOKEN).compute_signature("https://bot.example.com/webhooks/whatsapp", form)
    response = httpx.post(
        f"http://127.0.0.1:{port}/webhooks/whatsapp", data=form, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200


def blocked_on_a_lock(url: str, query_part: str) -> bool:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute(
            "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE %s",
            (f"%{query_part}%",),
        ).fetchall()
    return bool(rows)


def actions_and_status(url: str) -> tuple[int, str, int]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        row = conn.execute(
            "SELECT o.status, (SELECT count(*) FROM order_actions a WHERE a.order_id = o.id) AS actions,"
            " (SELECT count(*) FROM inbox i WHERE i.status = 'pending') AS unanswered"
            " FROM orders o WHERE o.number = %s",
            (ORDER,),
        ).fetchone()
    assert row is not None
    return int(row["actions"]), str(row["status"]), int(row["unanswered"])


def done_replies(twilio: FakeTwilio) -> list[str]:
    return [b for b in twilio.bodies() if b.startswith("Done:")]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("held", "lock_sql"),
    [
        # Between the yes and the write: the worker waits for the order's row.
        ("FOR UPDATE", f"SELECT 1 FROM orders WHERE number = '{ORDER}' FOR UPDATE"),
        # After the write, before the conversation is saved: the worker waits to write its checkpoint.
        ("checkpoint", "LOCK TABLE checkpoints IN SHARE MODE"),
    ],
)
def test_a_worker_killed_around_the_write_does_the_action_once(
    shop_env: dict[str, str], tmp_path: Path, held: str, lock_sql: str
) -> None:
    url = shop_env["DATABASE_URL"]
    twilio = FakeTwilio()
    with LoopbackServer(twilio) as fake:
        env = twilio_env(shop_env, fake.url, SEND_BACKOFF="0.1")
        first, port = start_server(env, tmp_path / "first.log")
        second: Any = None
        try:
            send(port, 1, f"hi, I'd like to return order {ORDER[1:]}")
            asyncio.run(wait_for(lambda: any("yes" in b and ORDER in b for b in twilio.bodies()), within=60))
            with psycopg.connect(url) as holder:
                holder.execute(lock_sql)  # held until the rollback below
                send(port, 2, "yes please")
                asyncio.run(wait_for(lambda: blocked_on_a_lock(url, held), within=60))
                first.kill()
                first.wait(20)
                # The killed worker's blocked statement goes on once the lock is free (Postgres finds the
                # client gone only when it answers): in the first case its transaction dies with it and the
                # next worker writes; in the second the checkpoint is saved whole, with the reply unsent.
                holder.rollback()
            second, port = start_server(env, tmp_path / "second.log")
            asyncio.run(wait_for(lambda: actions_and_status(url)[1] == "return_requested", within=90))
            asyncio.run(wait_for(lambda: len(done_replies(twilio)) >= 1 and actions_and_status(url)[2] == 0, within=90))
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    process.terminate()
                    process.wait(20)
    actions, status, _ = actions_and_status(url)
    assert (actions, status) == (1, "return_requested")
    assert len(done_replies(twilio)) == 1, twilio.bodies()
    with psycopg.connect(url, row_factory=dict_row) as conn:
        payments = conn.execute(
            "SELECT count(*) AS n FROM order_payments p JOIN orders o ON o.id = p.order_id WHERE o.number = %s",
            (ORDER,),
        ).fetchone()
    assert payments is not None and payments["n"] == 1  # the original payment; a return refunds later
