"""Trust, over real HTTP: nobody sees a customer's data without proving to be them (a signed web
identity, the WhatsApp number on file, or a one-time code sent to a contact on file), guessing
is throttled across threads, replays and stale requests are refused, and consent is honoured."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import jwt
import psycopg

from tests.conftest import free_port, settings_for
from tests.loopback import LoopbackServer, Recorded
from tests.test_channels import (
    ALEX,
    AUTH_TOKEN,
    BOT_NUMBER,
    SIGNING_KEY,
    FakeTwilio,
    channel_settings,
    post_signed,
    serving,
    sid,
    signed,
    twilio_form,
    wait_for,
)

SITI_EMAIL = "siti.rahayu@example.com"
WEB_SECRET = "shop-signing-secret-of-at-least-32-bytes!"
STRANGER = "+19995550123"


def identity_token(sub: str, *, expires_in: float = 300, secret: str = WEB_SECRET, **claims: Any) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time() + expires_in), **claims}, secret, algorithm="HS256")


async def mailbox_codes(database_url: str, recipient: str) -> list[str]:
    """The codes the dev mailbox received for `recipient`, oldest first."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT body FROM dev_mailbox WHERE recipient = %s ORDER BY id", (recipient,))
        rows = await cur.fetchall()
    return [re.search(r"\b(\d{6})\b", body).group(1) for (body,) in rows]  # type: ignore[union-attr]


async def clear_verification(database_url: str) -> None:
    """Limits are per account across threads and tests share the demo shop: start from none."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        for table in ("verification_codes", "verification_failures", "verified_links", "dev_mailbox"):
            await conn.execute(f"DELETE FROM {table}")  # type: ignore[arg-type]


async def say(client: httpx.AsyncClient, text: str, **headers: str) -> httpx.Response:
    return await client.post("/chat", json={"text": text}, headers=headers)


# --- the web: sessions and signed identities ------------------------------------------------


async def test_a_claimed_id_on_chat_gets_no_data_and_a_signed_identity_does(postgres_url: str) -> None:
    async with serving(settings_for(postgres_url, web_identity_secret=WEB_SECRET)) as client:
        claimed = await client.post("/chat", json={"user_id": ALEX, "text": "where is my order?"})
        assert claimed.status_code == 200
        assert "A1001" not in claimed.json()["answer"] and "one-time code" in claimed.json()["answer"]
        assert claimed.json()["session_id"] and "carebot_session" in claimed.cookies
        signed_in = await say(client, "where is my order?", Authorization=f"Bearer {identity_token(ALEX)}")
        assert signed_in.status_code == 200 and "A1001" in signed_in.json()["answer"]
        assert signed_in.json()["session_id"] is None
        by_email = await say(client, "where is my order?", Authorization=f"Bearer {identity_token(SITI_EMAIL)}")
        assert "A1004" in by_email.json()["answer"] or "A1005" in by_email.json()["answer"]
        refused = [
            identity_token(ALEX, expires_in=-60),  # expired
            identity_token(ALEX, secret="someone-elses-secret-of-32-bytes-or-more"),  # forged
            jwt.encode({"sub": ALEX}, WEB_SECRET, algorithm="HS256"),  # no exp
            identity_token("alex"),  # neither an email nor a phone number
            "not-a-jwt",
        ]
        for token in refused:
            response = await say(client, "where is my order?", Authorization=f"Bearer {token}")
            assert response.status_code == 401, token
            assert "A1001" not in response.text


async def test_identity_tokens_are_refused_when_the_shop_has_no_secret(postgres_url: str) -> None:
    async with serving(settings_for(postgres_url)) as client:
        response = await say(client, "where is my order?", Authorization=f"Bearer {identity_token(ALEX)}")
    assert response.status_code == 401 and "WEB_IDENTITY_SECRET" in response.json()["detail"]


async def test_a_web_visitor_proves_an_account_with_the_code_sent_to_its_email(postgres_url: str) -> None:
    await clear_verification(postgres_url)
    async with serving(settings_for(postgres_url)) as client:
        asked = await say(client, "where is my order A1004?")
        session = {"X-Session-Id": asked.json()["session_id"]}
        assert "Matte steel kettle" not in asked.json()["answer"]
        sent = await say(client, f"it's {SITI_EMAIL}", **session)
        assert "6-digit code" in sent.json()["answer"] and "A1004" not in sent.json()["answer"]
        [code] = await mailbox_codes(postgres_url, SITI_EMAIL)
        # Another visitor (or a forged session id) does not share the proof.
        async with httpx.AsyncClient(base_url=client.base_url) as other:  # no cookie of the visitor's
            stranger = await say(other, code, **{"X-Session-Id": "forged.0000"})
        assert stranger.status_code == 200 and "A1004" not in stranger.json()["answer"]
        verified = await say(client, code, **session)
        assert verified.status_code == 200 and "A1004" in verified.json()["answer"]
        assert "Matte steel kettle" in verified.json()["answer"]
        again = await say(client, "where is my order A1004?", **session)
        assert "A1004" in again.json()["answer"]  # the link holds for the session


async def test_typing_another_customers_email_from_an_unknown_number_shows_nothing(postgres_url: str) -> None:
    await clear_verification(postgres_url)
    twilio = FakeTwilio()
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        async with serving(channel_settings(postgres_url, fake.url, discord.url)) as client:
            texts = ["where is my order A1004?", SITI_EMAIL] + [f"{n}{n}{n}{n}{n}{n}" for n in range(1, 6)]
            for n, text in enumerate(texts):
                await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(1300 + n), STRANGER, text))
                await wait_for(lambda n=n: len(twilio.sent) == n + 1)
    bodies = twilio.bodies()
    assert all("Matte steel kettle" not in b and "A1004:" not in b for b in bodies)
    assert "6-digit code" in bodies[1] and all("isn't right" in b for b in bodies[2:6])
    assert "passed this to a colleague" in bodies[6]  # the fifth wrong code: a person takes over
    assert len(await mailbox_codes(postgres_url, SITI_EMAIL)) == 1  # the code went to Siti, not the stranger


async def test_asking_for_codes_from_ten_threads_is_throttled_per_account(postgres_url: str) -> None:
    await clear_verification(postgres_url)
    async with serving(settings_for(postgres_url)) as client:
        replies = []
        for _ in range(10):  # ten new web sessions: new threads cost nothing, the account's limit holds
            client.cookies.clear()
            asked = await say(client, "where is my order A1004?")
            session = {"X-Session-Id": asked.json()["session_id"]}
            replies.append((await say(client, SITI_EMAIL, **session)).json())
    assert [r["escalate"] for r in replies] == [False] * 5 + [True] * 5
    assert {r["escalation_reason"] for r in replies[5:]} == {"verification_failed"}
    assert len(await mailbox_codes(postgres_url, SITI_EMAIL)) == 5


# --- code delivery: SMTP and Twilio Verify ---------------------------------------------------


@contextmanager
def smtp_server() -> Iterator[tuple[int, list[str]]]:
    """A real SMTP server (aiosmtpd) on loopback; yields its port and the messages it received."""
    from aiosmtpd.controller import Controller

    received: list[str] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope.content.decode())
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


async def test_codes_go_by_smtp_to_the_address_on_file(postgres_url: str) -> None:
    await clear_verification(postgres_url)
    with smtp_server() as (port, received):
        settings = settings_for(
            postgres_url, smtp_url=f"smtp://127.0.0.1:{port}", smtp_from="care@lumen.example", dev_mailbox=False
        )
        async with serving(settings) as client:
            asked = await say(client, "where is my order A1004?")
            session = {"X-Session-Id": asked.json()["session_id"]}
            await say(client, "+62 812-3450-0001", **session)  # Siti's phone names the account
            await wait_for(lambda: len(received) == 1)
            mail = received[0]
            assert f"To: {SITI_EMAIL}" in mail and "From: care@lumen.example" in mail
            code = re.search(r"code is (\d{6})", mail).group(1)  # type: ignore[union-attr]
            wrong = await say(client, "000000" if code != "000000" else "111111", **session)
            assert "isn't right" in wrong.json()["answer"]
            verified = await say(client, code, **session)
    assert "A1004" in verified.json()["answer"]


async def test_codes_go_through_twilio_verify_when_configured(postgres_url: str) -> None:
    await clear_verification(postgres_url)
    verify_calls: list[dict[str, str]] = []

    def fake_verify(request: Recorded) -> tuple[int, Any]:
        import urllib.parse

        form = dict(urllib.parse.parse_qsl(request.body.decode()))
        verify_calls.append({"path": request.path, **form})
        status = "approved" if request.path.endswith("/VerificationCheck") and form["Code"] == "424242" else "pending"
        return 201 if status == "pending" else 200, {"sid": "VE" + "0" * 32, "status": status, "to": form["To"]}

    with LoopbackServer(fake_verify) as verify:
        settings = settings_for(
            postgres_url,
            twilio_account_sid="AC" + "1" * 32,
            twilio_auth_token=AUTH_TOKEN,
            twilio_whatsapp_from=BOT_NUMBER,
            twilio_verify_service_sid="VA" + "2" * 32,
            twilio_verify_api_base_url=verify.url,
            twilio_verify_channel="whatsapp",
        )
        async with serving(settings) as client:
            asked = await say(client, "where is my order A1004?")
            session = {"X-Session-Id": asked.json()["session_id"]}
            await say(client, "my phone is +6281234500001", **session)
            wrong = await say(client, "111111", **session)
            right = await say(client, "424242", **session)
    start, *checks = verify_calls
    assert start["path"] == f"/v2/Services/VA{'2' * 32}/Verifications"
    assert start["To"] == "+6281234500001" and start["Channel"] == "whatsapp"
    assert [c["Code"] for c in checks] == ["111111", "424242"]
    assert "isn't right" in wrong.json()["answer"] and "A1004" in right.json()["answer"]


# --- replays and freshness -------------------------------------------------------------------


async def test_a_signed_request_re_split_into_a_new_sid_is_refused(postgres_url: str) -> None:
    twilio = FakeTwilio()
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        async with serving(channel_settings(postgres_url, fake.url, discord.url)) as client:
            form = twilio_form(sid(1400), ALEX, "how long do refunds take?")
            first = await post_signed(client, "/webhooks/whatsapp", form)
            await wait_for(lambda: len(twilio.sent) == 1)
            from twilio.request_validator import RequestValidator

            signature = RequestValidator(AUTH_TOKEN).compute_signature(
                "https://bot.example.com/webhooks/whatsapp", form
            )
            resplit = {k: v for k, v in form.items() if k != "NumMedia"}
            resplit["MessageSid"] = form["MessageSid"] + "NumMedia0"  # same signature, "new" SID
            assert RequestValidator(AUTH_TOKEN).validate(
                "https://bot.example.com/webhooks/whatsapp", resplit, signature
            )
            replay = await client.post("/webhooks/whatsapp", data=resplit, headers={"X-Twilio-Signature": signature})
            await asyncio.sleep(0.5)
    assert first.status_code == 200 and replay.status_code == 400 and "MessageSid" in replay.json()["detail"]
    assert len(twilio.sent) == 1


async def test_discord_requests_older_than_five_minutes_are_refused(postgres_url: str) -> None:
    from nacl.signing import SigningKey

    assert isinstance(SIGNING_KEY, SigningKey)
    with LoopbackServer(FakeTwilio()) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        async with serving(channel_settings(postgres_url, fake.url, discord.url)) as client:
            raw, headers = signed({"type": 1, "id": "1", "application_id": "4242"})
            fresh = await client.post("/webhooks/discord", content=raw, headers=headers)
            stale_time = str(int(time.time()) - 301)
            stale_headers = {
                **headers,
                "X-Signature-Timestamp": stale_time,
                "X-Signature-Ed25519": SIGNING_KEY.sign(stale_time.encode() + raw).signature.hex(),
            }
            stale = await client.post("/webhooks/discord", content=raw, headers=stale_headers)
    assert fresh.status_code == 200 and stale.status_code == 401


# --- consent and rate limits -----------------------------------------------------------------


async def test_stop_gets_one_confirmation_then_silence_until_start(postgres_url: str) -> None:
    twilio = FakeTwilio()
    sender = "+14155550177"
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        async with serving(channel_settings(postgres_url, fake.url, discord.url)) as client:

            async def send(n: int, text: str) -> None:
                assert (await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(n), sender, text))).is_success

            await send(1500, "hola, ¿cuánto tarda el envío?")
            await wait_for(lambda: len(twilio.sent) == 1)
            await send(1501, "BAJA")
            await wait_for(lambda: len(twilio.sent) == 2)
            for n, text in enumerate(["¿y a Canarias?", "STOP", "hola?"], start=1502):
                await send(n, text)
            await send(1505, "START")
            await wait_for(lambda: len(twilio.sent) == 3)
            await send(1506, "¿cuánto tarda el envío?")
            await wait_for(lambda: len(twilio.sent) == 4)
    bodies = twilio.bodies()
    assert "No recibirás más mensajes" in bodies[1]  # in the customer's language
    assert "Bienvenido de nuevo" in bodies[2] and "días laborables" in bodies[3]
    async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM inbox WHERE external_id = ANY(%s) AND status = 'ignored'",
            ([sid(n) for n in (1502, 1503, 1504)],),
        )
        assert (await cur.fetchone())[0] == 3  # type: ignore[index]  # stored, not answered


async def test_a_sender_over_the_rate_limit_is_told_once_then_stored_not_answered(postgres_url: str) -> None:
    twilio = FakeTwilio()
    sender = "+14155550178"
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        settings = channel_settings(postgres_url, fake.url, discord.url, rate_limit_per_minute=2)
        async with serving(settings) as client:
            for n in range(6):
                form = twilio_form(sid(1600 + n), sender, "how long do refunds take?")
                assert (await post_signed(client, "/webhooks/whatsapp", form)).is_success
            await wait_for(lambda: len(twilio.sent) == 3)
            await asyncio.sleep(1.0)  # time for any further reply to show up
            web = [await say(client, "hi", **{"X-Session-Id": "x"}) for _ in range(1)]
    bodies = twilio.bodies()
    assert len(bodies) == 3 and "faster than I can answer" in bodies[2]
    assert web[0].status_code == 200
    async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
        cur = await conn.execute(
            "SELECT status, error FROM inbox WHERE external_id = ANY(%s) ORDER BY id",
            ([sid(1600 + n) for n in range(6)],),
        )
        rows = await cur.fetchall()
    assert [r[0] for r in rows] == ["answered"] * 3 + ["ignored"] * 3
    assert {r[1] for r in rows[3:]} == {"rate_limited"}


async def test_the_web_chat_answers_429_past_the_rate_limit(postgres_url: str) -> None:
    async with serving(settings_for(postgres_url, rate_limit_per_minute=1)) as client:
        first = await say(client, "hi")
        session = {"X-Session-Id": first.json()["session_id"]}
        notice = await say(client, "hi again", **session)
        limited = await say(client, "and again", **session)
    assert first.status_code == 200 and "faster than I can answer" in notice.json()["answer"]
    assert limited.status_code == 429
