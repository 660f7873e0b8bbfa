"""The operator inbox over real HTTP: hand-over, taking over, replying through the fake Twilio,
handing back, the timers, the team webhook, live events and operator sign-in."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from carebot.composition import open_components, open_database
from carebot.db.scope import DEFAULT_TENANT_ID
from carebot.desk.operators import OperatorAccounts
from carebot.settings import Settings
from carebot.threads import thread_id_for
from tests.loopback import LoopbackServer, Recorded
from tests.test_channels import FakeTwilio, channel_settings, post_signed, serving, sid, twilio_form, wait_for

PASSWORD = "correct horse battery"


def new_phone() -> str:
    return "+62812" + str(uuid.uuid4().int)[:7]


def whatsapp_thread(settings: Settings, phone: str) -> str:
    assert settings.thread_id_salt is not None
    salt = settings.thread_id_salt.get_secret_value()
    return thread_id_for("whatsapp", f"whatsapp:{phone}", salt=salt, tenant=DEFAULT_TENANT_ID)


async def add_operator(settings: Settings, *, name: str = "Ana", role: str = "agent") -> str:
    email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@shop.example"
    async with open_database(settings) as pool:
        await OperatorAccounts(pool).add(email=email, name=name, role=role, password=PASSWORD)  # type: ignore[arg-type]
    return email


async def sign_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    """Sign in like the form does; returns the headers a change needs (the CSRF token)."""
    response = await client.post("/admin/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    me = (await client.get("/admin/me")).json()
    return {"X-CSRF-Token": me["csrf_token"]}


async def rows(url: str, query: str, *params: Any) -> list[dict[str, Any]]:
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:
        cur = await conn.execute(query, params)  # type: ignore[arg-type]  # test queries
        return await cur.fetchall()


async def inbox_settled(url: str, thread_id: str, count: int) -> bool:
    found = await rows(url, "SELECT status FROM inbox WHERE thread_id = %s", thread_id)
    return len(found) == count and all(r["status"] != "pending" for r in found)


async def until(check: Any, within: float = 30) -> None:
    """Wait until the async `check()` is true (the condition, not a sleep, is the assertion)."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.1)


@asynccontextmanager
async def shop(postgres_url: str, **overrides: Any) -> AsyncIterator[tuple[httpx.AsyncClient, FakeTwilio, Settings]]:
    twilio = FakeTwilio()
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        settings = channel_settings(postgres_url, fake.url, discord.url, **overrides)
        async with serving(settings) as client:
            yield client, twilio, settings


async def test_hand_over_take_over_reply_and_hand_back_round_trip(postgres_url: str) -> None:
    async with shop(postgres_url) as (client, twilio, settings):
        phone, email = new_phone(), await add_operator(settings)
        thread = whatsapp_thread(settings, phone)
        await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(9001), phone, "I want to talk to a human"))
        await wait_for(lambda: len(twilio.sent) == 1)
        assert "colleague" in twilio.bodies()[0]

        headers = await sign_in(client, email)
        waiting = (await client.get("/admin/conversations", params={"status": "waiting"})).json()["conversations"]
        mine = next(c for c in waiting if c["id"] == thread)
        assert mine["reason"] == "human_requested" and mine["channel"] == "whatsapp" and mine["waiting_since"]

        # While waiting, the bot stays silent; the messages are kept and counted unread.
        for n, text in enumerate(["hello?", "how long does shipping take to Bali?"]):
            await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(9002 + n), phone, text))
        await until(lambda: inbox_settled(postgres_url, thread, 3))
        assert len(twilio.sent) == 1
        listed = (await client.get("/admin/conversations", params={"status": "waiting"})).json()["conversations"]
        assert next(c for c in listed if c["id"] == thread)["unread"] == 3

        # The bot drafts a reply for the operator; it is never sent by itself.
        opened = (await client.get(f"/admin/conversations/{thread}")).json()
        assert "working days" in opened["suggested_reply"] and len(twilio.sent) == 1
        assert opened["reason_label"] == "asked for a person"

        taken = await client.post(f"/admin/conversations/{thread}/takeover", headers=headers)
        assert taken.status_code == 200 and taken.json()["status"] == "human" and taken.json()["assignee"] == "Ana"
        sent = await client.post(
            f"/admin/conversations/{thread}/messages",
            json={"text": "Hi, this is Ana. I've refunded order A1042 to your card today."},
            headers=headers,
        )
        assert sent.status_code == 202 and sent.json()["role"] == "operator" and sent.json()["author"] == "Ana"
        await wait_for(lambda: len(twilio.sent) == 2)
        assert twilio.sent[1]["To"] == f"whatsapp:{phone}" and "refunded order A1042" in twilio.sent[1]["Body"]

        detail = (await client.get(f"/admin/conversations/{thread}")).json()
        roles = [m["role"] for m in detail["messages"]]
        assert roles == ["customer", "bot", "system", "customer", "customer", "system", "operator"]
        assert detail["messages"][-1]["status"] == "sent" and detail["unread"] == 0
        assert detail["window_closes_at"] is not None

        back = await client.post(f"/admin/conversations/{thread}/handback", headers=headers)
        assert back.json()["status"] == "bot"
        await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(9004), phone, "how long does shipping take?"))
        await wait_for(lambda: len(twilio.sent) == 3)
        assert "working days" in twilio.sent[2]["Body"] and "Shipping and delivery" in twilio.sent[2]["Body"]

    # The bot's state holds what the operator said (it was appended before the next turn).
    async with open_components(settings) as components:
        state = await components.turns.graph.aget_state({"configurable": {"thread_id": thread}})
    said = [(m.name, m.text) for m in state.values["messages"]]
    assert ("operator", "Hi, this is Ana. I've refunded order A1042 to your card today.") in said
    assert any(name == "system" and "handed the conversation back" in text for name, text in said)


async def test_operator_api_needs_a_session_or_the_admin_token_and_a_csrf_header(postgres_url: str) -> None:
    async with shop(postgres_url, admin_token="automation-token") as (client, twilio, settings):
        email = await add_operator(settings)
        assert (await client.get("/admin/conversations")).status_code == 401
        assert (await client.get("/admin/conversations", headers={"Authorization": "Bearer wrong"})).status_code == 401
        automation = {"Authorization": "Bearer automation-token"}
        assert (await client.get("/admin/conversations", headers=automation)).status_code == 200
        bad_login = await client.post("/admin/login", data={"email": email, "password": "not the password"})
        assert bad_login.status_code == 303 and "error" in bad_login.headers["location"]
        forged_login = await client.post(
            "/admin/login", data={"email": email, "password": PASSWORD}, headers={"Origin": "https://evil.example"}
        )
        assert forged_login.status_code == 403

        headers = await sign_in(client, email)
        cookie = next(c for c in client.cookies.jar if c.name == "carebot_operator")
        assert cookie.has_nonstandard_attr("HttpOnly") and cookie.path == "/admin"
        phone = new_phone()
        await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(9101), phone, "hello"))
        thread = whatsapp_thread(settings, phone)
        await wait_for(lambda: len(twilio.sent) == 1)
        # The cookie alone (what a forged cross-site form would carry) cannot change anything.
        assert (await client.post(f"/admin/conversations/{thread}/takeover")).status_code == 403
        wrong = {"X-CSRF-Token": "0" * 64}
        assert (await client.post(f"/admin/conversations/{thread}/takeover", headers=wrong)).status_code == 403
        assert (await client.post(f"/admin/conversations/{thread}/takeover", headers=headers)).status_code == 200
        # Agents answer customers; only admins manage the help centre.
        assert (await client.get("/admin/kb/documents")).status_code == 403

        # Signing out ends the session, and the conversation goes back to waiting for someone else.
        assert (await client.post("/admin/logout", headers=headers)).status_code == 204
        assert (await client.get("/admin/conversations")).status_code == 401
        listed = (await client.get("/admin/conversations", headers=automation)).json()["conversations"]
        assert next(c for c in listed if c["id"] == thread)["status"] == "waiting"


async def test_outside_the_whatsapp_window_free_text_is_refused_and_a_template_goes_out(postgres_url: str) -> None:
    templates = {"order_update": "HX" + "a" * 32}
    async with shop(postgres_url, whatsapp_templates=templates) as (client, twilio, settings):
        headers = await sign_in(client, await add_operator(settings))
        phone = new_phone()
        thread = whatsapp_thread(settings, phone)
        await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(9201), phone, "I want to talk to a person"))
        await wait_for(lambda: len(twilio.sent) == 1)
        async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
            # The change records an event, which belongs to the conversation's tenant.
            await conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(DEFAULT_TENANT_ID),))
            await conn.execute(
                "UPDATE conversations SET last_customer_at = now() - interval '25 hours' WHERE thread_id = %s",
                (thread,),
            )
        refused = await client.post(f"/admin/conversations/{thread}/messages", json={"text": "Hi!"}, headers=headers)
        assert refused.status_code == 409 and "24 hours" in refused.json()["detail"]
        unknown = await client.post(
            f"/admin/conversations/{thread}/messages", json={"template": "nope"}, headers=headers
        )
        assert unknown.status_code == 422
        sent = await client.post(
            f"/admin/conversations/{thread}/messages",
            json={"template": "order_update", "variables": {"1": "A1042"}},
            headers=headers,
        )
        assert sent.status_code == 202
        await wait_for(lambda: len(twilio.sent) == 2)
        template = twilio.sent[1]
        assert template["ContentSid"] == templates["order_update"] and "Body" not in template
        assert json.loads(template["ContentVariables"]) == {"1": "A1042"}
        detail = (await client.get(f"/admin/conversations/{thread}")).json()
        assert detail["templates"] == ["order_update"]


async def test_the_team_webhook_hears_of_every_hand_over(postgres_url: str) -> None:
    calls: list[Recorded] = []

    def team_webhook(request: Recorded) -> tuple[int, Any]:
        calls.append(request)
        return (500, {}) if len(calls) == 1 else (200, {"ok": True})  # down once: retried like any send

    with LoopbackServer(team_webhook) as webhook:
        async with shop(postgres_url, handoff_webhook_url=f"{webhook.url}/hooks/team") as (client, _, settings):
            phone = new_phone()
            await post_signed(
                client,
                "/webhooks/whatsapp",
                twilio_form(sid(9301), phone, "this is ridiculous, I'm furious, worst shop ever"),
            )
            await wait_for(lambda: len(calls) == 2)
    body = calls[1].json()
    thread = whatsapp_thread(settings, phone)
    assert calls[1].path == "/hooks/team" and body["conversation_id"] == thread
    assert body["reason"] == "negative_sentiment" and body["link"].endswith(f"/admin#/conversations/{thread}")
    assert "upset" in body["text"] and thread in body["text"]


async def test_a_customer_nobody_takes_is_told_once_and_an_idle_operator_hands_back(postgres_url: str) -> None:
    # Short timers: told after ~1 s of waiting; back to the bot after ~2 s without an operator message.
    timers = {"handoff_wait_minutes": 1 / 60, "handoff_idle_hours": 2 / 3600, "sweep_seconds": 1}
    async with shop(postgres_url, **timers) as (client, twilio, settings):
        headers = await sign_in(client, await add_operator(settings))
        phone = new_phone()
        thread = whatsapp_thread(settings, phone)
        await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(9401), phone, "saya mau bicara dengan manusia"))

        # The database is shared with other tests, whose waiting customers are told too: look at this one's.
        def to_customer() -> list[str]:
            return [m.get("Body", "") for m in twilio.sent if m["To"] == f"whatsapp:{phone}"]

        await wait_for(lambda: len(to_customer()) == 2)  # the hand-over, then the wait notice
        assert "Terima kasih sudah menunggu" in to_customer()[1]  # in the customer's language
        detail = (await client.get(f"/admin/conversations/{thread}")).json()
        assert detail["status"] == "waiting"

        await client.post(f"/admin/conversations/{thread}/takeover", headers=headers)

        async def back_with_the_bot() -> bool:
            found = (await client.get(f"/admin/conversations/{thread}")).json()
            return bool(found["status"] == "bot")

        await until(back_with_the_bot)
        notes = [m["text"] for m in (await client.get(f"/admin/conversations/{thread}")).json()["messages"]]
        assert "No operator message for a while: the assistant is back." in notes
        # Many sweeps have run by now: the waiting customer was told once.
        assert sum("Terima kasih sudah menunggu" in body for body in to_customer()) == 1
        await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(9402), phone, "berapa lama pengiriman?"))
        await wait_for(lambda: len(to_customer()) == 3)
        assert "hari kerja" in to_customer()[2]


async def read_events(response: httpx.Response, until_text: str, seen: list[dict[str, Any]]) -> None:
    """Collect SSE events (id, event, data) from `response` until one's data mentions `until_text`."""
    event: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if line.startswith(("id:", "event:", "data:")):
            field, _, value = line.partition(":")
            event[field] = value.strip()
        elif line == "" and "data" in event:
            event["data"] = json.loads(event["data"])
            seen.append(event)
            if until_text in json.dumps(event["data"], ensure_ascii=False):
                return
            event = {}


async def test_live_events_come_from_another_process_and_replay_after_a_reconnect(
    postgres_url: str, cli_env: dict[str, str], tmp_path: Any
) -> None:
    from tests.test_channels import twilio_env
    from tests.test_scale_out import start_server

    automation = {"Authorization": "Bearer automation-token"}
    twilio = FakeTwilio()
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {})) as discord:
        other, port = start_server(twilio_env(cli_env, fake.url), tmp_path / "other.log")
        try:
            settings = channel_settings(postgres_url, fake.url, discord.url, admin_token="automation-token")
            async with serving(settings) as client, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as other_app:
                phone = new_phone()
                seen: list[dict[str, Any]] = []
                async with client.stream("GET", "/admin/events", headers=automation) as stream:
                    assert stream.headers["content-type"].startswith("text/event-stream")
                    # Written to the *other* process; this one's stream reports it.
                    await post_signed(other_app, "/webhooks/whatsapp", twilio_form(sid(9411), phone, "first message"))
                    await asyncio.wait_for(read_events(stream, "first message", seen), 30)
                first = seen[-1]
                assert first["event"] == "message" and first["data"]["role"] == "customer"

                # While nobody listens: the bot answers, and the customer writes again.
                await wait_for(lambda: len(twilio.sent) == 1)
                await post_signed(other_app, "/webhooks/whatsapp", twilio_form(sid(9412), phone, "second message"))
                await wait_for(lambda: len(twilio.sent) == 2)
                missed: list[dict[str, Any]] = []
                resume = {**automation, "Last-Event-ID": first["id"]}
                async with client.stream("GET", "/admin/events", headers=resume) as stream:
                    await asyncio.wait_for(read_events(stream, "second message", missed), 30)
        finally:
            other.terminate()
            other.wait(15)
    ids = [int(e["id"]) for e in missed]
    assert ids == sorted(ids) and ids[0] > int(first["id"])
    kinds = {(e["event"], e["data"].get("role")) for e in missed}
    assert ("message", "bot") in kinds and ("message", "customer") in kinds and ("conversation", None) in kinds


async def test_an_operator_reply_reaches_the_web_chat_and_a_discord_user(postgres_url: str) -> None:
    calls: list[Recorded] = []

    def discord_api(request: Recorded) -> tuple[int, Any]:
        calls.append(request)
        return 200, {"id": uuid.uuid4().hex}  # Discord's ids are unique, like the outbox's provider ids

    from tests.test_channels import signed

    with LoopbackServer(FakeTwilio()) as fake, LoopbackServer(discord_api) as discord:
        settings = channel_settings(postgres_url, fake.url, discord.url)
        async with serving(settings) as client:
            headers = await sign_in(client, await add_operator(settings, name="Budi"))
            # The web chat: the visitor asks for a person, then writes while waiting.
            visitor = httpx.AsyncClient(base_url=str(client.base_url))
            asked = (await visitor.post("/chat", json={"text": "can I talk to a real person please"})).json()
            assert asked["escalate"] and asked["escalation_reason"] == "human_requested"
            meanwhile = (await visitor.post("/chat", json={"text": "it's about a gift order"})).json()
            assert meanwhile["with_person"] and meanwhile["answer"] == ""
            reply = await client.post(
                f"/admin/conversations/{asked['thread_id']}/messages", json={"text": "Hi! Budi here."}, headers=headers
            )
            assert reply.status_code == 202
            updates = (await visitor.get("/chat/updates")).json()["updates"]
            assert [(u["role"], u["text"], u["author"]) for u in updates] == [("operator", "Hi! Budi here.", "Budi")]
            await visitor.aclose()

            # Discord: the operator's message follows the bot's answer in the interaction.
            command = {
                "type": 2,
                "id": "99887701",
                "application_id": "4242",
                "token": "interaction-token-2",
                "member": {"user": {"id": "100000000000000077", "username": "rio"}},
                "data": {"name": "chat", "options": [{"name": "q", "type": 3, "value": "I need a human"}]},
            }
            raw, signature = signed(command)
            await client.post("/webhooks/discord", content=raw, headers=signature)
            await wait_for(lambda: len(calls) == 1)
            waiting = (await client.get("/admin/conversations", params={"status": "waiting"})).json()["conversations"]
            thread = next(c["id"] for c in waiting if c["channel"] == "discord")
            sent = await client.post(
                f"/admin/conversations/{thread}/messages", json={"text": "Budi from the shop here."}, headers=headers
            )
            assert sent.status_code == 202
            await wait_for(lambda: len(calls) == 2)
    assert calls[0].method == "PATCH"
    follow_up = calls[1]
    assert follow_up.method == "POST" and follow_up.path == "/webhooks/4242/interaction-token-2"
    assert follow_up.json()["content"] == "Budi from the shop here."


async def test_stats_count_hand_overs_first_responses_and_intents(postgres_url: str) -> None:
    async with shop(postgres_url, admin_token="automation-token") as (client, twilio, settings):
        automation = {"Authorization": "Bearer automation-token"}
        before = (await client.get("/admin/stats", params={"days": 1}, headers=automation)).json()
        phone = new_phone()
        await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(9421), phone, "how long does shipping take?"))
        await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(9422), phone, "I want to talk to a human"))
        await wait_for(lambda: len(twilio.sent) == 2)
        thread = whatsapp_thread(settings, phone)
        await client.post(f"/admin/conversations/{thread}/messages", json={"text": "Hello!"}, headers=automation)
        after = (await client.get("/admin/stats", params={"days": 1}, headers=automation)).json()
        assert (await client.get("/admin/stats", params={"days": 0}, headers=automation)).status_code == 422
    assert after["conversations"] == before["conversations"] + 1
    assert (
        after["handovers_by_reason"]["human_requested"] == before["handovers_by_reason"].get("human_requested", 0) + 1
    )
    assert after["intents"]["shipping"] >= 1 and after["first_response"]["bot"]["p50_seconds"] is not None
    assert after["first_response"]["human"]["p50_seconds"] is not None
    assert after["per_day"][-1]["handovers"] >= 1 and len(after["per_day"]) == 1
    assert 0 <= after["resolved_by_bot_share"] < 1


def test_operators_are_added_and_listed_from_the_cli(cli_env: dict[str, str]) -> None:
    import subprocess

    from tests.conftest import BIN, REPO

    email = f"lead-{uuid.uuid4().hex[:6]}@shop.example"
    env = {**cli_env, "CAREBOT_OPERATOR_PASSWORD": PASSWORD}
    carebot = [str(BIN / "carebot"), "operators"]
    added = subprocess.run(
        [*carebot, "add", email, "--name", "Dewi", "--role", "admin"], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert added.returncode == 0, added.stderr
    again = subprocess.run([*carebot, "add", email], env=env, cwd=REPO, capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr
    short = {**env, "CAREBOT_OPERATOR_PASSWORD": "short"}
    weak = subprocess.run([*carebot, "add", "x" + email], env=short, cwd=REPO, capture_output=True, text=True)
    assert weak.returncode == 2 and "10 characters" in weak.stderr
    listed = subprocess.run([*carebot, "list", "--json"], env=env, cwd=REPO, capture_output=True, text=True)
    dewi = next(o for o in json.loads(listed.stdout) if o["email"] == email)
    assert dewi["name"] == "Dewi" and dewi["role"] == "admin" and "password" not in json.dumps(dewi)

    async def stored_hash() -> str:
        found = await rows(cli_env["DATABASE_URL"], "SELECT password_hash FROM operators WHERE email = %s", email)
        return str(found[0]["password_hash"])

    assert asyncio.run(stored_hash()).startswith("$argon2id$")
