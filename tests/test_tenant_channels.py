"""Channels per tenant, over real HTTP: each shop's WhatsApp (its own Twilio account, token and
number), Discord application and web chat site key lead to that shop alone. What the provider
signed decides the shop, not the URL: a payload signed with one shop's token naming another's
number, a Discord key vouching for another application, another shop's session or site key, are
refused or start afresh; the same phone number writing to two shops is two customers."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import jwt
import psycopg
from nacl.signing import SigningKey
from twilio.request_validator import RequestValidator

from carebot.composition import open_database, open_tenants
from carebot.db.scope import tenant_scope
from carebot.settings import Settings
from carebot.shop.importer import import_shop, read_shop
from tests.conftest import forget_unfinished_work, settings_for
from tests.loopback import LoopbackServer, Recorded
from tests.test_channels import FakeTwilio, channel_settings, serving, wait_for

PUBLIC = "https://bot.example.com"
SMALL_SHOP = Path(__file__).parent / "fixtures" / "small_shop"
YUSUF_EMAIL, YUSUF_ORDER = "yusuf.rossi7301@example.com", "W4817420"
ORDER_DETAIL = "Desk Lamp"  # what the order holds: shown only once the customer is verified


@dataclass(frozen=True)
class Shop:
    """A tenant with a channel of each kind, and what its providers sign with."""

    id: UUID
    slug: str
    number: str
    account_sid: str
    auth_token: str
    discord_key: SigningKey
    application_id: str
    site_key: str
    identity_secret: str

    def form(self, sid: str, sender: str, body: str, **extra: str) -> dict[str, str]:
        """An inbound message as Twilio posts it for this shop's number."""
        return {
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": f"whatsapp:{sender}",
            "To": f"whatsapp:{self.number}",
            "Body": body,
            "NumMedia": "0",
            **extra,
        }


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex


def phone() -> str:
    return "+1555" + str(uuid.uuid4().int)[:7]


async def add_shop(settings: Settings, name: str, *, branding: dict[str, Any] | None = None) -> Shop:
    """A tenant with its own Twilio account and number, Discord application and web site key, and
    the small test shop's customers and orders."""
    key = SigningKey.generate()
    shop = Shop(
        id=uuid.uuid4(),
        slug=f"{name}-{uuid.uuid4().hex[:8]}",
        number=phone(),
        account_sid="AC" + uuid.uuid4().hex,
        auth_token=f"{name}-token-{uuid.uuid4().hex}",
        discord_key=key,
        application_id=str(uuid.uuid4().int)[:18],
        site_key=f"site-{uuid.uuid4().hex}",
        identity_secret=f"{name}-identity-secret-{uuid.uuid4().hex}",
    )
    async with open_database(settings) as pool:
        registry = await open_tenants(settings, pool)
        tenant = await registry.add(slug=shop.slug, name=f"Shop {name}", branding=branding or {})
        shop = Shop(**{**shop.__dict__, "id": tenant.id})
        await registry.add_channel(
            tenant.id,
            "whatsapp",
            shop.number,
            config={"account_sid": shop.account_sid},
            secrets={"auth_token": shop.auth_token},
        )
        await registry.add_channel(
            tenant.id, "discord", shop.application_id, config={"public_key": key.verify_key.encode().hex()}
        )
        await registry.add_channel(tenant.id, "web", shop.site_key, secrets={"identity_secret": shop.identity_secret})
        with tenant_scope(tenant.ref):
            await import_shop(pool, read_shop(SMALL_SHOP))
    return shop


async def post_twilio(client: httpx.AsyncClient, path: str, form: dict[str, str], *, token: str) -> httpx.Response:
    """Posted as Twilio would, signed with `token` over the public URL of `path`."""
    signature = RequestValidator(token).compute_signature(f"{PUBLIC}{path}", form)
    return await client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def owner_rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """What the database holds, read as its owner (who sees every tenant's rows)."""
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


@asynccontextmanager
async def two_shops_served(url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Shop, Shop, FakeTwilio, list[Recorded]]]:
    """Shops A and B on one running app, with a fake Twilio and a fake Discord API on loopback."""
    twilio, discord_calls = FakeTwilio(), []

    def discord_api(request: Recorded) -> tuple[int, Any]:
        discord_calls.append(request)
        return 200, {"id": "1"}

    with LoopbackServer(twilio) as fake, LoopbackServer(discord_api) as discord:
        settings = channel_settings(url, fake.url, discord.url)
        a, b = (
            await add_shop(settings, "a"),
            await add_shop(settings, "b", branding={"title": "Bee", "colour": "#aa3300"}),
        )
        try:
            async with serving(settings) as client:
                yield client, a, b, twilio, discord_calls
        finally:
            forget_shops_work(url, a, b)


def forget_shops_work(url: str, *shops: Shop) -> None:
    """`forget_unfinished_work`, for the shops' rows: their outbox's triggers write events, which
    take the tenant from the transaction's scope (an owner's session has none)."""
    with psycopg.connect(url) as conn:
        for shop in shops:
            with conn.transaction():
                conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(shop.id),))
                conn.execute(
                    "UPDATE outbox SET status = 'failed', error = 'left by a test'"
                    " WHERE tenant_id = %s AND status IN ('pending', 'sending')",
                    (shop.id,),
                )
    forget_unfinished_work(url)


async def test_a_webhook_signed_for_one_shop_cannot_speak_for_another(postgres_url: str) -> None:
    async with two_shops_served(postgres_url) as (client, a, b, _, _):
        stranger = phone()
        # A's number is in a messaging service of A's (its pool may hold numbers not listed as channels).
        service = "MG" + uuid.uuid4().hex
        owner_rows(
            postgres_url,
            "UPDATE tenant_channels SET config = config || jsonb_build_object('messaging_service_sid', %s::text)"
            " WHERE kind = 'whatsapp' AND address = %s RETURNING id",
            service,
            a.number,
        )
        refused = {
            "B's number, vouched for by A's messaging service": (
                f"/webhooks/whatsapp/{a.slug}",
                b.form(new_sid(), stranger, "hi", AccountSid=a.account_sid, MessagingServiceSid=service),
                a,
            ),
            "A's token, B's number, A's route": (f"/webhooks/whatsapp/{a.slug}", b.form(new_sid(), stranger, "hi"), a),
            "A's token and number, B's route": (f"/webhooks/whatsapp/{b.slug}", a.form(new_sid(), stranger, "hi"), a),
            "A's token, B's number, B's route": (f"/webhooks/whatsapp/{b.slug}", b.form(new_sid(), stranger, "hi"), a),
            "A's number, B's account": (
                f"/webhooks/whatsapp/{a.slug}",
                a.form(new_sid(), stranger, "hi", AccountSid=b.account_sid),
                a,
            ),
        }
        for case, (path, form, signer) in refused.items():
            response = await post_twilio(client, path, form, token=signer.auth_token)
            assert response.status_code == 403, case
        unknown = await post_twilio(
            client, "/webhooks/whatsapp/no-such-shop", a.form(new_sid(), stranger, "hi"), token=a.auth_token
        )
        assert unknown.status_code == 404
        sids = [form["MessageSid"] for _, form, _ in refused.values()]
        assert owner_rows(postgres_url, "SELECT 1 FROM inbox WHERE external_id = ANY(%s)", sids) == []

        pooled = await post_twilio(
            client,
            f"/webhooks/whatsapp/{a.slug}",
            a.form(new_sid(), stranger, "hi", To=f"whatsapp:{phone()}", MessagingServiceSid=service),
            token=a.auth_token,
        )
        assert pooled.status_code == 200  # another number of A's service: A's, by the service
        accepted = await post_twilio(
            client, f"/webhooks/whatsapp/{a.slug}", a.form(sid := new_sid(), stranger, "hi"), token=a.auth_token
        )
        assert accepted.status_code == 200 and accepted.text.endswith("<Response/>")
        [(tenant, thread_id)] = owner_rows(
            postgres_url, "SELECT tenant_id, thread_id FROM inbox WHERE external_id = %s", sid
        )
        assert tenant == a.id and thread_id.startswith(f"{a.id}:whatsapp:")

        # A switched-off shop answers nothing, even correctly signed.
        c = await add_shop(settings_for(postgres_url), "c")
        owner_rows(postgres_url, "UPDATE tenants SET disabled_at = now() WHERE id = %s RETURNING id", c.id)
        disabled = await post_twilio(
            client, f"/webhooks/whatsapp/{c.slug}", c.form(new_sid(), stranger, "hi"), token=c.auth_token
        )
        assert disabled.status_code == 403


async def test_one_phone_number_writing_to_two_shops_is_two_customers(postgres_url: str) -> None:
    """Two conversations, two verifications (A's code does not verify in B), two transcripts, and
    each shop's replies go from its own number through its own Twilio account."""
    async with two_shops_served(postgres_url) as (client, a, b, twilio, _):
        customer = phone()

        async def say(shop: Shop, text: str) -> dict[str, str]:
            before = len(twilio.sent)
            path = f"/webhooks/whatsapp/{shop.slug}"
            response = await post_twilio(client, path, shop.form(new_sid(), customer, text), token=shop.auth_token)
            assert response.status_code == 200
            await wait_for(lambda: len(twilio.sent) > before)
            return twilio.sent[-1]

        for shop in (a, b):
            asked = await say(shop, f"where is my order {YUSUF_ORDER}?")
            assert asked["From"] == f"whatsapp:{shop.number}"
            assert asked["path"] == f"/2010-04-01/Accounts/{shop.account_sid}/Messages.json"
            assert asked["StatusCallback"] == f"{PUBLIC}/webhooks/whatsapp/{shop.slug}/status"
            assert ORDER_DETAIL not in asked["Body"]
            code_sent = await say(shop, YUSUF_EMAIL)
            assert "6-digit code" in code_sent["Body"]
        codes = {
            tenant: re.search(r"\b(\d{6})\b", body).group(1)  # type: ignore[union-attr]
            for tenant, body in owner_rows(
                postgres_url,
                "SELECT tenant_id, body FROM dev_mailbox WHERE recipient = %s AND tenant_id = ANY(%s)",
                YUSUF_EMAIL,
                [a.id, b.id],
            )
        }
        assert set(codes) == {a.id, b.id}

        not_in_b = await say(b, codes[a.id])  # A's code, sent to B
        assert ORDER_DETAIL not in not_in_b["Body"] and "isn't right" in not_in_b["Body"]
        verified_in_a = await say(a, codes[a.id])
        assert ORDER_DETAIL in verified_in_a["Body"] and verified_in_a["From"] == f"whatsapp:{a.number}"
        assert all(auth_of(m) == (a if m["From"] == f"whatsapp:{a.number}" else b).account_sid for m in twilio.sent)

        transcripts = owner_rows(
            postgres_url,
            "SELECT tenant_id, thread_id, string_agg(text, ' | ' ORDER BY id) FROM messages"
            " WHERE tenant_id = ANY(%s) GROUP BY tenant_id, thread_id",
            [a.id, b.id],
        )
        by_tenant = {tenant: (thread, text) for tenant, thread, text in transcripts}
        assert len(transcripts) == 2 and by_tenant[a.id][0] != by_tenant[b.id][0]
        assert ORDER_DETAIL in by_tenant[a.id][1] and ORDER_DETAIL not in by_tenant[b.id][1]
        assert YUSUF_ORDER in by_tenant[b.id][1] and "isn't right" in by_tenant[b.id][1]
        links = owner_rows(postgres_url, "SELECT tenant_id FROM verified_links WHERE tenant_id = ANY(%s)", [a.id, b.id])
        assert links == [(a.id,)]

        # A delivery receipt reaches only the shop whose account sent the message.
        delivered = {"MessageSid": verified_in_a["sid"], "MessageStatus": "delivered"}
        await post_twilio(
            client,
            f"/webhooks/whatsapp/{b.slug}/status",
            {**delivered, "AccountSid": b.account_sid, "From": f"whatsapp:{b.number}"},
            token=b.auth_token,
        )
        assert owner_rows(postgres_url, "SELECT status FROM outbox WHERE provider_id = %s", verified_in_a["sid"]) != [
            ("delivered",)
        ]
        receipt = await post_twilio(
            client,
            f"/webhooks/whatsapp/{a.slug}/status",
            {**delivered, "AccountSid": a.account_sid, "From": f"whatsapp:{a.number}"},
            token=a.auth_token,
        )
        assert receipt.status_code == 204
        assert owner_rows(postgres_url, "SELECT status FROM outbox WHERE provider_id = %s", verified_in_a["sid"]) == [
            ("delivered",)
        ]


def auth_of(message: dict[str, str]) -> str:
    """The account SID a request to the fake Twilio authenticated as (HTTP Basic user)."""
    import base64

    return base64.b64decode(message["auth"].removeprefix("Basic ")).decode().partition(":")[0]


def discord_request(key: SigningKey, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    timestamp = str(int(time.time()))
    signature = key.sign(timestamp.encode() + raw).signature.hex()
    return raw, {
        "X-Signature-Ed25519": signature,
        "X-Signature-Timestamp": timestamp,
        "Content-Type": "application/json",
    }


def chat_command(application_id: str, user: str, question: str) -> dict[str, Any]:
    return {
        "type": 2,
        "id": str(uuid.uuid4().int)[:18],
        "application_id": application_id,
        "token": f"token-{uuid.uuid4().hex}",
        "data": {"name": "chat", "options": [{"name": "q", "value": question}]},
        "user": {"id": user},
    }


async def test_discord_interactions_are_checked_with_the_shops_key_and_application(postgres_url: str) -> None:
    async with two_shops_served(postgres_url) as (client, a, b, _, discord_calls):
        route = f"/webhooks/discord/{a.slug}"
        command = chat_command(a.application_id, "8001", "what is your return policy?")
        wrong_key = await client.post(
            route, content=(req := discord_request(b.discord_key, command))[0], headers=req[1]
        )
        assert wrong_key.status_code == 401
        for_b = chat_command(b.application_id, "8001", "what is your return policy?")
        other_app = await client.post(route, content=(req := discord_request(a.discord_key, for_b))[0], headers=req[1])
        assert other_app.status_code == 403
        ping = await client.post(
            route,
            content=(req := discord_request(a.discord_key, {"type": 1, "application_id": a.application_id}))[0],
            headers=req[1],
        )
        assert ping.json() == {"type": 1}
        ok = await client.post(route, content=(req := discord_request(a.discord_key, command))[0], headers=req[1])
        assert ok.status_code == 200 and ok.json() == {"type": 5}
        await wait_for(lambda: len(discord_calls) >= 1)
        assert discord_calls[0].path == f"/webhooks/{a.application_id}/{command['token']}/messages/@original"
        [(tenant,)] = owner_rows(postgres_url, "SELECT tenant_id FROM inbox WHERE external_id = %s", command["id"])
        assert tenant == a.id
        assert owner_rows(postgres_url, "SELECT 1 FROM inbox WHERE external_id = %s", for_b["id"]) == []


async def test_web_chat_site_keys_keep_shops_apart(postgres_url: str) -> None:
    async with two_shops_served(postgres_url) as (client, a, b, _, _):

        async def say(text: str, **headers: str) -> httpx.Response:
            return await client.post("/chat", json={"text": text}, headers=headers)

        in_a = await say("hello", **{"X-Site-Key": a.site_key})
        in_b = await say("hello", **{"X-Site-Key": b.site_key})
        assert in_a.status_code == in_b.status_code == 200
        assert in_a.json()["thread_id"].startswith(f"{a.id}:web:") and in_b.json()["thread_id"].startswith(
            f"{b.id}:web:"
        )
        b_session = in_b.json()["session_id"]
        again_in_b = await say("hello again", **{"X-Site-Key": b.site_key, "X-Session-Id": b_session})
        assert again_in_b.json()["thread_id"] == in_b.json()["thread_id"]
        # B's session presented on A's site: a new visitor of A, never B's conversation.
        b_session_on_a = await say("hello", **{"X-Site-Key": a.site_key, "X-Session-Id": b_session})
        assert b_session_on_a.status_code == 200
        assert b_session_on_a.json()["session_id"] != b_session
        assert b_session_on_a.json()["thread_id"].startswith(f"{a.id}:web:")
        assert b_session_on_a.json()["thread_id"] != in_a.json()["thread_id"]
        # The same with cookies: each shop's session cookie is its own, and one presented under
        # the other's name is not valid there.
        assert f"carebot_session_{b.id.hex}" in client.cookies and f"carebot_session_{a.id.hex}" in client.cookies
        async with httpx.AsyncClient(
            base_url=client.base_url, cookies={f"carebot_session_{a.id.hex}": b_session}
        ) as b_cookie_on_a:
            cookie_on_a = await b_cookie_on_a.post("/chat", json={"text": "hello"}, headers={"X-Site-Key": a.site_key})
        assert cookie_on_a.json()["session_id"] != b_session
        assert cookie_on_a.json()["thread_id"] not in (in_b.json()["thread_id"], in_a.json()["thread_id"])
        updates = await client.get("/chat/updates", headers={"X-Site-Key": a.site_key, "X-Session-Id": b_session})
        assert updates.status_code == 200 and updates.json() == {"updates": []}

        assert (await say("hello", **{"X-Site-Key": "no-such-site"})).status_code == 404
        token = jwt.encode({"sub": YUSUF_EMAIL, "exp": int(time.time()) + 300}, a.identity_secret, algorithm="HS256")
        signed_in_a = await say(
            f"where is my order {YUSUF_ORDER}?", **{"X-Site-Key": a.site_key, "Authorization": f"Bearer {token}"}
        )
        assert signed_in_a.status_code == 200 and ORDER_DETAIL in signed_in_a.json()["answer"]
        signed_for_a_on_b = await say("hi", **{"X-Site-Key": b.site_key, "Authorization": f"Bearer {token}"})
        assert signed_for_a_on_b.status_code == 401

        page = await client.get("/ui", params={"site": b.site_key})
        assert page.status_code == 200 and "<h1>Bee</h1>" in page.text and "--green: #aa3300" in page.text
        assert "<h1>carebot</h1>" in (await client.get("/ui")).text
        assert (await client.get("/ui", params={"site": "no-such-site"})).status_code == 404
