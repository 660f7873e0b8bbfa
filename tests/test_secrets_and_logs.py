"""Secrets and personal data: a generated thread-id salt kept in the database, demo data only
where it belongs, Discord tokens forgotten after their life, and no phone number, email or
token in the logs of a full `carebot serve` run."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from psycopg.types.json import Jsonb
from twilio.request_validator import RequestValidator

from carebot.composition import open_components, open_database
from carebot.db.pool import open_pool
from carebot.db.retention import forget_expired_interaction_tokens
from tests.conftest import BIN, REPO, free_port, new_database, settings_for
from tests.loopback import LoopbackServer, running_process
from tests.test_channels import (
    ALEX,
    AUTH_TOKEN,
    PUBLIC_KEY,
    FakeTwilio,
    sid,
    signed,
    twilio_env,
    twilio_form,
)
from tests.test_trust import WEB_SECRET, identity_token


async def test_without_a_salt_the_thread_ids_use_one_generated_and_kept_in_the_database(postgres_url: str) -> None:
    settings = settings_for(postgres_url, thread_id_salt=None)
    async with open_components(settings) as first:
        salt = first.settings.thread_id_salt
        thread = first.turns.thread_id("whatsapp", ALEX)
    async with open_components(settings) as second:
        assert second.turns.thread_id("whatsapp", ALEX) == thread  # the same across restarts and processes
    assert salt is not None and len(salt.get_secret_value()) == 64 and salt.get_secret_value() != "carebot"
    public = settings_for(postgres_url, thread_id_salt="carebot")
    async with open_components(public) as old:
        assert old.turns.thread_id("whatsapp", ALEX) != thread


async def test_demo_data_goes_into_a_database_url_only_when_asked(postgres_server: str) -> None:
    for seed, expected in ((None, 0), (True, 203)):
        with new_database(postgres_server) as url:
            async with open_database(settings_for(url, seed_demo_data=seed)) as pool, pool.connection() as conn:
                cur = await conn.execute("SELECT count(*) AS n FROM customers")
                assert (await cur.fetchone())["n"] == expected  # type: ignore[index]


async def test_discord_tokens_are_forgotten_after_their_15_minutes(empty_database_url: str) -> None:
    pool = await open_pool(empty_database_url)
    try:
        async with pool.connection() as conn:
            for external_id, age in (("old", "16 minutes"), ("fresh", "1 minute")):
                await conn.execute(
                    "INSERT INTO inbox (channel, external_id, thread_id, sender, body, payload, received_at)"
                    " VALUES ('discord', %s, 'discord:x', '1', 'q', %s, now() - %s::interval)",
                    (external_id, Jsonb({"token": "secret", "application_id": "1"}), age),
                )
        assert await forget_expired_interaction_tokens(pool) == 1
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT external_id, payload FROM inbox ORDER BY external_id")
            rows = {r["external_id"]: r["payload"] for r in await cur.fetchall()}
    finally:
        await pool.close()
    assert "token" not in rows["old"] and rows["old"]["application_id"] == "1"
    assert rows["fresh"]["token"] == "secret"


@pytest.mark.slow
def test_a_full_run_logs_no_phone_number_email_or_token(
    postgres_url: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    twilio = FakeTwilio(script=[201, 400], error_code=21211)  # the second send fails: an error line too
    port = free_port()
    log = tmp_path / "serve.log"
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        env = twilio_env(
            cli_env,
            fake.url,
            DISCORD_APPLICATION_ID="4242",
            DISCORD_PUBLIC_KEY=PUBLIC_KEY,
            DISCORD_API_BASE_URL=discord.url,
            WEB_IDENTITY_SECRET=WEB_SECRET,
            LOG_LEVEL="DEBUG",
        )
        base = f"http://127.0.0.1:{port}"
        command = [str(BIN / "carebot"), "serve", "--port", str(port)]
        with (
            running_process(command, env=env, ready_url=f"{base}/health", cwd=REPO, log=log),
            httpx.Client(base_url=base, timeout=60) as client,
        ):
            for n, text in enumerate(["where is my order?", "hi"]):
                form = twilio_form(sid(1800 + n), ALEX, text)
                signature = RequestValidator(AUTH_TOKEN).compute_signature(
                    "https://bot.example.com/webhooks/whatsapp", form
                )
                client.post("/webhooks/whatsapp", data=form, headers={"X-Twilio-Signature": signature})
            token = identity_token("siti.rahayu@example.com")
            signed_in = {"Authorization": f"Bearer {token}"}
            assert client.post("/chat", json={"text": "where is my order?"}, headers=signed_in).status_code == 200
            session = client.post("/chat", json={"text": "where is my order A1004?"}).json()["session_id"]
            client.post("/chat", json={"text": "it's siti.rahayu@example.com"}, headers={"X-Session-Id": session})
            interaction = {
                "type": 2,
                "id": "5551",
                "application_id": "4242",
                "token": "discord-interaction-token-abc",
                "member": {"user": {"id": "100000000000000003"}},
                "data": {"name": "chat", "options": [{"name": "q", "value": "where is my order?"}]},
            }
            raw, headers = signed(interaction)
            assert client.post("/webhooks/discord", content=raw, headers=headers).status_code == 200
            wait_until(lambda: "twilio_send_error" in log.read_text() and len(discord.requests) == 1)
    text = log.read_text()
    assert "turn_answered" in text and "twilio_send_error" in text
    secrets = [ALEX, ALEX.lstrip("+"), "siti.rahayu@example.com", token, session, "discord-interaction-token-abc"]
    leaked = [s for s in secrets if s in text]
    assert leaked == [], leaked
    assert not re.search(r"\+\d{8,15}", text)


def wait_until(condition: Callable[[], bool], within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)
