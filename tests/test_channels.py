"""WhatsApp (Twilio) and Discord over real HTTP: the app under uvicorn on a free port, and fake
Twilio REST and Discord APIs on loopback that record what they receive."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from nacl.signing import SigningKey
from twilio.request_validator import RequestValidator

from carebot.api.app import create_app
from carebot.delivery.channels.formatting import split_message, to_whatsapp
from carebot.settings import Settings
from tests.conftest import BIN, REPO, forget_unfinished_work, free_port, settings_for
from tests.loopback import LoopbackServer, Recorded

ALEX, SITI, LUCIA = "+14155550100", "+6281234500001", "+34600100001"
ACCOUNT_SID, AUTH_TOKEN, BOT_NUMBER = "AC" + "1" * 32, "twilio-test-token", "whatsapp:+14155238886"
SIGNING_KEY = SigningKey(bytes(range(32)))
PUBLIC_KEY = SIGNING_KEY.verify_key.encode().hex()


@dataclass
class FakeTwilio:
    """Twilio's Messages API: answers each send with the next scripted status (201 by default)."""

    script: list[int] = field(default_factory=list)
    error_code: int = 20500
    sent: list[dict[str, str]] = field(default_factory=list)
    """Messages accepted (201), in order."""
    lookups: list[dict[str, str]] = field(default_factory=list)
    """Queries of the message list (reconciling a send whose answer was lost)."""

    def __call__(self, request: Recorded) -> tuple[int, Any]:
        if request.method == "GET":
            return 200, self.listing(request)
        status = self.script.pop(0) if self.script else 201
        if status != 201:
            return status, {"code": self.error_code, "message": "scripted failure", "status": status}
        form = dict(urllib.parse.parse_qsl(request.body.decode()))
        form["path"], form["auth"] = request.path, request.headers.get("Authorization", "")
        self.sent.append(form)
        sid = "SM" + uuid.uuid4().hex
        form["sid"] = sid
        return 201, {
            "sid": sid,
            "status": "queued",
            "to": form["To"],
            "from": form.get("From"),
            "body": form.get("Body", ""),
        }

    def bodies(self) -> list[str]:
        return [m.get("Body", "") for m in self.sent]

    def listing(self, request: Recorded) -> dict[str, Any]:
        """`GET …/Messages.json?To=…&DateSent>=…`: what was accepted for that recipient."""
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.path).query))
        self.lookups.append(query)
        messages = [
            {"sid": m["sid"], "to": m["To"], "from": m.get("From"), "body": m.get("Body", ""), "status": "sent"}
            for m in self.sent
            if m["To"] == query.get("To")
        ]
        return {"messages": messages, "next_page_uri": None, "page": 0, "page_size": 50, "uri": request.path}


def channel_settings(database_url: str, twilio_url: str, discord_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_whatsapp_from": BOT_NUMBER,
        "twilio_api_base_url": twilio_url,
        "public_base_url": "https://bot.example.com",
        "discord_application_id": "4242",
        "discord_public_key": PUBLIC_KEY,
        "discord_api_base_url": discord_url,
        "send_backoff": 0.01,
        **overrides,
    }
    return settings_for(database_url, **values)


@asynccontextmanager
async def serving(settings: Settings, *, with_worker: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """The app under uvicorn on a free port, and a client for it, for the duration of the block."""
    port = free_port()
    app = create_app(settings, with_worker=with_worker)
    # A request still waiting when the test ends (it failed) must not hold the shutdown up.
    config = uvicorn.Config(app, port=port, log_config=None, lifespan="on", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(600):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        server.should_exit = True
        await task


def twilio_env(cli_env: dict[str, str], twilio_url: str, **extra: str) -> dict[str, str]:
    """Environment for a `carebot serve` subprocess that sends WhatsApp replies to a fake Twilio."""
    return {
        **cli_env,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WHATSAPP_FROM": BOT_NUMBER,
        "TWILIO_API_BASE_URL": twilio_url,
        "PUBLIC_BASE_URL": "https://bot.example.com",
        **extra,
    }


def twilio_form(sid: str, sender: str, body: str, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": f"whatsapp:{sender}",
        "To": BOT_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Customer",
        "WaId": sender.lstrip("+"),
        **extra,
    }


async def post_signed(client: httpx.AsyncClient, path: str, form: dict[str, str]) -> httpx.Response:
    # Twilio signs the public URL it called, not the internal one the app listens on.
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"https://bot.example.com{path}", form)
    return await client.post(path, data=form, headers={"X-Twilio-Signature": signature})


async def wait_for(condition: Callable[[], bool], within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


def sid(n: int) -> str:
    return f"SM{n:032x}"


async def test_signed_message_is_acknowledged_at_once_and_answered_through_twilio(postgres_url: str) -> None:
    twilio = FakeTwilio()
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        async with serving(channel_settings(postgres_url, fake.url, discord.url)) as client:
            reply = await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(1), ALEX, "where is my order?"))
            assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/xml")
            assert reply.text.endswith("<Response/>")
            await wait_for(lambda: len(twilio.sent) == 1)
            sent = twilio.sent[0]
            assert sent["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
            assert sent["To"] == f"whatsapp:{ALEX}" and sent["From"] == BOT_NUMBER
            assert "A1001" in sent["Body"] and "UPS" in sent["Body"]
            assert sent["StatusCallback"] == "https://bot.example.com/webhooks/whatsapp/status"
            assert sent["auth"].startswith("Basic ")
            # Twilio reports delivery after it answered the send (the fake records the send first).
            await wait_for_outbox_status(postgres_url, sent["sid"], "sent")
            status = await post_signed(
                client,
                "/webhooks/whatsapp/status",
                {"MessageSid": sent["sid"], "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID},
            )
            assert status.status_code == 204
            assert await outbox_status(postgres_url, sent["sid"]) == "delivered"
            forged = await client.post(
                "/webhooks/whatsapp/status", data={"MessageSid": "SMx", "MessageStatus": "failed"}
            )
            assert forged.status_code == 403


async def test_unsigned_or_tampered_messages_are_refused_and_not_stored(postgres_url: str) -> None:
    twilio = FakeTwilio()
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        async with serving(channel_settings(postgres_url, fake.url, discord.url)) as client:
            form = twilio_form(sid(2), ALEX, "where is my order?")
            unsigned = await client.post("/webhooks/whatsapp", data=form)
            signature = RequestValidator(AUTH_TOKEN).compute_signature(
                "https://bot.example.com/webhooks/whatsapp", form
            )
            tampered = await client.post(
                "/webhooks/whatsapp", data={**form, "Body": "refund me"}, headers={"X-Twilio-Signature": signature}
            )
            wrong_url = RequestValidator(AUTH_TOKEN).compute_signature("https://evil.example/webhooks/whatsapp", form)
            elsewhere = await client.post("/webhooks/whatsapp", data=form, headers={"X-Twilio-Signature": wrong_url})
        for response in (unsigned, tampered, elsewhere):
            assert response.status_code == 403 and "X-Twilio-Signature" in response.json()["detail"]
    assert twilio.sent == []
    assert await inbox_count(postgres_url, sid(2)) == 0


async def inbox_count(database_url: str, external_id: str) -> int:
    import psycopg

    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM inbox WHERE external_id = %s", (external_id,))
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def outbox_status(database_url: str, provider_id: str) -> str | None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT status FROM outbox WHERE provider_id = %s", (provider_id,))
        row = await cur.fetchone()
    return str(row[0]) if row else None


async def wait_for_outbox_status(database_url: str, provider_id: str, status: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while await outbox_status(database_url, provider_id) != status:
        if time.monotonic() > deadline:
            raise AssertionError(f"the part sent as {provider_id} never became {status}")
        await asyncio.sleep(0.05)


async def test_the_same_message_delivered_five_times_is_answered_once(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    twilio = FakeTwilio()
    caplog.set_level(logging.INFO)
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        async with serving(channel_settings(postgres_url, fake.url, discord.url)) as client:
            form = twilio_form(sid(3), LUCIA, "¿cuánto tarda el envío?")
            replies = await asyncio.gather(*(post_signed(client, "/webhooks/whatsapp", form) for _ in range(5)))
            assert all(r.status_code == 200 for r in replies)
            await wait_for(lambda: len(twilio.sent) >= 1)
            await asyncio.sleep(1.0)  # time for any second answer to show up
    assert len(twilio.sent) == 1 and "días laborables" in twilio.sent[0]["Body"]
    assert sum(r.getMessage() == "duplicate_ignored" for r in caplog.records) == 4


async def test_five_rapid_messages_get_five_replies_in_order(postgres_url: str) -> None:
    twilio = FakeTwilio()
    texts = ["hi", "status of A1002?", "status of A1003?", "how much is shipping?", "status of A1001?"]
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        async with serving(channel_settings(postgres_url, fake.url, discord.url)) as client:
            for n, text in enumerate(texts):
                response = await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(10 + n), ALEX, text))
                assert response.status_code == 200
            await wait_for(lambda: len(twilio.sent) == 5)
    bodies = twilio.bodies()
    assert bodies[0].startswith("Hi!")
    assert "A1002" in bodies[1] and "A1003" in bodies[2] and "5.99 USD" in bodies[3] and "A1001" in bodies[4]


async def test_media_only_message_gets_a_polite_request_for_text(postgres_url: str) -> None:
    twilio = FakeTwilio()
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        async with serving(channel_settings(postgres_url, fake.url, discord.url)) as client:
            await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(20), SITI, "pesanan saya di mana?"))
            await wait_for(lambda: len(twilio.sent) == 1)
            photo = twilio_form(
                sid(21),
                SITI,
                "",
                NumMedia="1",
                MessageType="image",
                MediaUrl0="https://evil.example/steal-credentials",
                MediaContentType0="image/jpeg",
            )
            await post_signed(client, "/webhooks/whatsapp", photo)
            await wait_for(lambda: len(twilio.sent) == 2)
    # In the conversation's language (Indonesian, from the first message), not English.
    assert "pesan teks" in twilio.sent[1]["Body"]


async def test_twilio_failing_twice_then_succeeding_sends_one_reply(postgres_url: str) -> None:
    twilio = FakeTwilio(script=[503, 500])
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        async with serving(channel_settings(postgres_url, fake.url, discord.url)) as client:
            await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(30), ALEX, "how long do refunds take?"))
            await wait_for(lambda: len(twilio.sent) == 1)
        assert len(fake.requests) == 3
    assert "5 working days" in twilio.sent[0]["Body"]


async def test_outside_the_24_hour_window_is_recorded_not_retried(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    twilio = FakeTwilio(script=[400], error_code=63016)
    caplog.set_level(logging.INFO)
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        async with serving(channel_settings(postgres_url, fake.url, discord.url)) as client:
            await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(40), ALEX, "hi"))
            await wait_for(lambda: any(r.getMessage() == "twilio_send_error" for r in caplog.records))
        assert len(fake.requests) == 1
    error = next(r for r in caplog.records if r.getMessage() == "twilio_send_error")
    assert error.error_code == "63016"  # type: ignore[attr-defined]


LONG_ANSWER = " ".join(f"Sentence number {i} of a long and careful answer about our returns policy." for i in range(55))


def long_answer_llm(request: Recorded) -> tuple[int, Any]:
    answer = LONG_ANSWER[:4000].rsplit(" ", 1)[0] + "."
    message = {"role": "assistant", "content": answer}
    return 200, {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "fake",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


async def test_a_4000_character_answer_arrives_as_several_messages_in_order(postgres_url: str) -> None:
    twilio = FakeTwilio()
    with (
        LoopbackServer(twilio) as fake,
        LoopbackServer(lambda r: (200, {})) as discord,
        LoopbackServer(long_answer_llm) as llm,
    ):
        settings = channel_settings(
            postgres_url,
            fake.url,
            discord.url,
            model="openai:fake",
            classifier_model="offline",
            openai_api_key="sk-test",
            openai_base_url=llm.url,
        )
        async with serving(settings) as client:
            await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(50), ALEX, "how do returns work?"))
            await wait_for(lambda: len(twilio.sent) >= 3)
            await asyncio.sleep(0.5)
    bodies = twilio.bodies()
    expected = long_answer_llm(Recorded("POST", "/", {}, b""))[1]["choices"][0]["message"]["content"]
    assert len(expected) > 3900 and len(bodies) == 3 and all(len(b) <= 1600 for b in bodies)
    assert " ".join(bodies) == expected
    assert all(b.endswith(".") for b in bodies)  # cut between sentences


def test_whatsapp_formatting_and_splitting() -> None:
    assert to_whatsapp("## Refunds\n**5 days**, see [our page](https://x.example/r)\n* item") == (
        "*Refunds*\n*5 days*, see our page (https://x.example/r)\n- item"
    )
    paragraphs = ["First paragraph. " * 30, "Second one! " * 40, "y" * 1700]
    parts = split_message("\n\n".join(paragraphs), 1600)
    assert all(0 < len(p) <= 1600 for p in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == "".join(paragraphs).replace(" ", "")
    assert split_message("short", 1600) == ["short"] and split_message("   ", 1600) == []


# --- Discord ----------------------------------------------------------------------------------


def signed(body: dict[str, Any], key: SigningKey = SIGNING_KEY) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    timestamp = str(int(time.time()))
    signature = key.sign(timestamp.encode() + raw).signature.hex()
    headers = {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": timestamp, "Content-Type": "application/json"}
    return raw, headers


async def test_discord_ping_signature_and_chat_deferred_then_edited(postgres_url: str) -> None:
    calls: list[Recorded] = []

    def discord_api(request: Recorded) -> tuple[int, Any]:
        calls.append(request)
        return 200, {"id": f"msg{len(calls)}"}

    with LoopbackServer(FakeTwilio()) as fake, LoopbackServer(discord_api) as discord:
        async with serving(channel_settings(postgres_url, fake.url, discord.url)) as client:
            raw, headers = signed({"type": 1, "id": "1", "application_id": "4242"})
            pong = await client.post("/webhooks/discord", content=raw, headers=headers)
            assert pong.status_code == 200 and pong.json() == {"type": 1}
            other_key = SigningKey(bytes(32))
            raw, bad_headers = signed({"type": 1}, other_key)
            assert (await client.post("/webhooks/discord", content=raw, headers=bad_headers)).status_code == 401
            assert (await client.post("/webhooks/discord", content=raw)).status_code == 401
            garbage, garbage_headers = b"{not json", signed({})[1]
            garbage_headers["X-Signature-Ed25519"] = SIGNING_KEY.sign(
                garbage_headers["X-Signature-Timestamp"].encode() + garbage
            ).signature.hex()
            assert (await client.post("/webhooks/discord", content=garbage, headers=garbage_headers)).status_code == 400
            command = {
                "type": 2,
                "id": "998877",
                "application_id": "4242",
                "token": "interaction-token",
                "member": {"user": {"id": "100000000000000003", "username": "lucia"}},
                "data": {"name": "chat", "options": [{"name": "q", "type": 3, "value": "¿dónde está mi pedido?"}]},
            }
            raw, headers = signed(command)
            deferred = await client.post("/webhooks/discord", content=raw, headers=headers)
            assert deferred.json() == {"type": 5}
            await wait_for(lambda: len(calls) == 1)
    edit = calls[0]
    assert edit.method == "PATCH" and edit.path == "/webhooks/4242/interaction-token/messages/@original"
    assert "A1007" in edit.json()["content"]  # Lucía's order: the Discord id is linked to her


async def test_bad_input_gets_clear_4xx_never_500(postgres_url: str) -> None:
    with LoopbackServer(FakeTwilio()) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        async with serving(channel_settings(postgres_url, fake.url, discord.url, max_body_bytes=4096)) as client:
            assert (await client.get("/webhooks/whatsapp")).status_code == 405
            assert (await client.get("/chat")).status_code == 405
            big = await client.post("/chat", content=b"x" * 10_000, headers={"Content-Type": "application/json"})
            assert big.status_code == 413 and "larger than 4096" in big.json()["detail"]

            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(10):
                    yield b"y" * 1000

            form_type = {"Content-Type": "application/x-www-form-urlencoded"}
            chunked = await client.post("/webhooks/whatsapp", content=chunks(), headers=form_type)
            assert chunked.status_code == 413
            malformed = await client.post("/chat", content=b"{oops", headers={"Content-Type": "application/json"})
            assert malformed.status_code == 422
            no_text = await client.post("/chat", json={})
            assert no_text.status_code == 422 and "text" in no_text.text
            web = await client.post("/chat", json={"text": "how long do refunds take?"})
            assert web.status_code == 200 and "5 working days" in web.json()["answer"]


# --- Crash after the acknowledgement ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("twilio_took_it", [False, True], ids=["before-twilio-took-it", "after-twilio-took-it"])
def test_killed_after_the_acknowledgement_the_message_is_answered_once_after_restart(
    postgres_url: str, cli_env: dict[str, str], tmp_path: Any, twilio_took_it: bool
) -> None:
    release = threading.Event()
    twilio = FakeTwilio()
    hung: list[Recorded] = []

    def hang_first(request: Recorded) -> tuple[int, Any]:
        if not hung:
            hung.append(request)
            if twilio_took_it:
                twilio(request)  # Twilio has the message; its answer never reaches the killed process
            release.wait(60)  # the process is killed while Twilio "thinks"; this answer goes nowhere
            return 500, {}
        return twilio(request)

    port = free_port()
    with LoopbackServer(hang_first) as fake:
        # The killed worker's job is run again once its heartbeat is this stale.
        env = twilio_env(
            cli_env,
            fake.url,
            SEND_BACKOFF="0.01",
            JOB_HEARTBEAT_SECONDS="0.5",
            STALLED_AFTER_SECONDS="2",
            SWEEP_SECONDS="1",
        )
        command = [str(BIN / "carebot"), "serve", "--port", str(port)]
        form = twilio_form(sid(60 + twilio_took_it), SITI, "berapa ongkir ke Surabaya?")
        signature = RequestValidator(AUTH_TOKEN).compute_signature("https://bot.example.com/webhooks/whatsapp", form)
        first = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until_up(port, first)
            ack = httpx.post(
                f"http://127.0.0.1:{port}/webhooks/whatsapp", data=form, headers={"X-Twilio-Signature": signature}
            )
            assert ack.status_code == 200
            deadline = time.monotonic() + 60
            while not hung and time.monotonic() < deadline:
                time.sleep(0.05)
            assert hung, "the reply was never attempted"
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        release.set()
        second = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until_up(port, second)
            deadline = time.monotonic() + 60
            while not twilio.sent and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)
            # A redelivery by Twilio after the restart is acknowledged, never answered again.
            again = httpx.post(
                f"http://127.0.0.1:{port}/webhooks/whatsapp", data=form, headers={"X-Twilio-Signature": signature}
            )
            assert again.status_code == 200
            time.sleep(1.0)
        finally:
            second.terminate()
            second.wait(15)
            forget_unfinished_work(postgres_url)
    assert len(twilio.sent) == 1 and "Gratis ongkir" in twilio.sent[0]["Body"]


def wait_until_up(port: int, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"carebot serve exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("carebot serve did not come up")


@pytest.mark.slow
def test_register_commands_puts_the_chat_command(cli_env: dict[str, str]) -> None:
    with LoopbackServer(lambda r: (200, [{"id": "1", "name": "chat"}])) as discord:
        env = {
            **cli_env,
            "DISCORD_APPLICATION_ID": "4242",
            "DISCORD_BOT_TOKEN": "bot-token",
            "DISCORD_API_BASE_URL": discord.url,
        }
        done = subprocess.run(
            [str(BIN / "carebot"), "discord", "register-commands"], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        request = discord.requests[0]
    assert request.method == "PUT" and request.path == "/applications/4242/commands"
    assert request.headers["Authorization"] == "Bot bot-token"
    [command] = request.json()
    assert command["name"] == "chat" and command["options"][0]["name"] == "q" and command["options"][0]["required"]


async def test_with_trigger_words_only_messages_naming_the_bot_are_answered(postgres_url: str) -> None:
    twilio = FakeTwilio()
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        settings = channel_settings(postgres_url, fake.url, discord.url, bot_trigger_words="lumen, bot")
        async with serving(settings) as client:
            await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(70), ALEX, "see you at lunch, Sam"))
            await post_signed(
                client, "/webhooks/whatsapp", twilio_form(sid(71), ALEX, "Lumen: how long do refunds take?")
            )
            await wait_for(lambda: len(twilio.sent) == 1)
            await asyncio.sleep(0.5)
    assert len(twilio.sent) == 1 and "5 working days" in twilio.sent[0]["Body"]
    assert await inbox_count(postgres_url, sid(70)) == 1  # stored, not answered


async def test_a_turn_that_keeps_failing_is_given_up_after_three_tries(postgres_url: str) -> None:
    from carebot.composition import open_components
    from carebot.delivery.answering import PendingTurns
    from carebot.delivery.inbox import InboundMessage, Inbox

    def broken_llm(request: Recorded) -> tuple[int, Any]:
        return 400, {"error": {"message": "model not found", "type": "invalid_request_error"}}

    with LoopbackServer(broken_llm) as llm:
        settings = settings_for(
            postgres_url,
            model="openai:gone",
            classifier_model="offline",
            openai_api_key="sk-x",
            openai_base_url=llm.url,
        )
        async with open_components(settings) as components:
            inbox = Inbox(components.pool, components.turns.thread_id)
            answering = PendingTurns(components.pool, components.turns)
            accepted = await inbox.accept(InboundMessage("whatsapp", sid(80), f"whatsapp:{ALEX}", "refund times?"))
            assert accepted.inbox_id is not None
            states = []
            for _ in range(3):
                with pytest.raises(Exception, match="model not found"):  # the job queue retries the job
                    await answering.answer_all(accepted.thread_id)
                outcome = await inbox.answer_of(accepted.inbox_id)
                assert outcome is not None
                states.append(outcome.status)
    assert states == ["pending", "pending", "failed"] and "400" in (outcome.error or "")
