"""Every route of the app, called over real HTTP as one shop (A, the default tenant: its operator,
its web chat, webhooks signed for it) with A's ids and with another shop's (B's): no answer holds
anything of B's, B's ids are not found, and B's rows are exactly as they were.

The routes come from the app itself: a route missing from ROUTES fails the sweep, naming it, so a
new route cannot ship without saying how it keeps shops apart. Routes with no shop data (health,
the static pages) are listed as such; the platform's own routes (`/admin/tenants…`) answer a
shop's admin 403.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from carebot.api.app import create_app
from carebot.api.web_identity import SESSION_HEADER, new_session, session_sender
from carebot.settings import Settings
from carebot.threads import thread_id_for
from tests.conftest import free_port
from tests.loopback import LoopbackServer
from tests.tenant_markers import (
    PASSWORD,
    Seeded,
    add_tenant,
    rows_of_tenant,
    seed_tenant,
    seed_web_thread,
)
from tests.test_channels import ACCOUNT_SID, FakeTwilio, channel_settings, post_signed, signed, twilio_form, wait_for

PLATFORM_PREFIX = "/admin/tenants"


@dataclass
class Shop:
    """The running app, seen by A's operator (signed in) and A's web visitor."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    owner_url: str
    a: Seeded
    b: Seeded
    session_id: str = ""
    csrf: dict[str, str] = field(default_factory=dict)

    async def sign_in(self, email: str) -> httpx.Response:
        response = await self.client.post("/admin/login", data={"email": email, "password": PASSWORD})
        if response.status_code == 303 and response.headers["location"] == "/admin":
            me = (await self.client.get("/admin/me")).json()
            self.csrf = {"X-CSRF-Token": me["csrf_token"]}
        return response


Caller = Callable[[Shop, Seeded], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Route:
    """How to call a route as A: `a` with A's ids (answered `a_status`, showing `shows`, proof
    the call reached A's data), then each of `b` with B's ids (answered `b_status`)."""

    a: Caller
    b: tuple[Caller, ...] = ()
    a_status: frozenset[int] = frozenset({200})
    b_status: int = 404
    shows: str = ""
    """A template (`{s.thread_id}`) the answer with A's ids contains."""
    public: bool = False
    """No shop data behind it (health, static pages): called, and only checked for markers."""


def get(template: str, **params: Any) -> Caller:
    async def call(shop: Shop, s: Seeded) -> httpx.Response:
        query = {k: v.format(s=s) if isinstance(v, str) else v for k, v in params.items()}
        return await shop.client.get(template.format(s=s), params=query)

    return call


def post(template: str, body: dict[str, Any] | None = None, **headers: str) -> Caller:
    async def call(shop: Shop, s: Seeded) -> httpx.Response:
        payload = json.loads(json.dumps(body).replace("{s.order_number}", s.order_number)) if body else None
        return await shop.client.post(template.format(s=s), json=payload, headers={**shop.csrf, **headers})

    return call


async def ask_action(shop: Shop, s: Seeded, *, thread: str, do: bool) -> httpx.Response:
    body = {"kind": "cancel", "order_number": s.order_number}
    path = f"/admin/conversations/{thread}/actions" + ("" if do else "/preview")
    headers = {**shop.csrf, "Idempotency-Key": secrets.token_hex(8)}
    return await shop.client.post(path, json=body, headers=headers)


def action(*, do: bool, own_thread: bool) -> Caller:
    """An action on `s`'s order, in `s`'s conversation or (own_thread False) in A's."""

    async def call(shop: Shop, s: Seeded) -> httpx.Response:
        return await ask_action(shop, s, thread=s.thread_id if own_thread else shop.a.thread_id, do=do)

    return call


async def sign_in_route(shop: Shop, s: Seeded) -> httpx.Response:
    return await shop.sign_in(s.operator_email)


async def chat(shop: Shop, s: Seeded) -> httpx.Response:
    text = f"where is my order {s.order_number}? my email is {s.customer_email}"
    return await shop.client.post("/chat", json={"text": text}, headers={SESSION_HEADER: shop.session_id})


async def chat_updates(shop: Shop, s: Seeded) -> httpx.Response:
    return await shop.client.get("/chat/updates", headers={SESSION_HEADER: shop.session_id})


async def live_events(shop: Shop, s: Seeded) -> httpx.Response:
    """The event stream from the start, read up to A's latest event (B's were recorded between)."""
    async with await psycopg.AsyncConnection.connect(shop.owner_url) as conn:
        cur = await conn.execute("SELECT max(id) FROM events WHERE tenant_id = %s", (s.tenant_id,))
        last = int((await cur.fetchone() or (0,))[0])
    lines: list[str] = []
    async with asyncio.timeout(30), shop.client.stream("GET", "/admin/events", params={"after": 0}) as response:
        async for line in response.aiter_lines():
            lines.append(line)
            if line.startswith("id:") and int(line[3:]) >= last:
                break
    return httpx.Response(response.status_code, text="\n".join(lines))


async def put_document(shop: Shop, s: Seeded) -> httpx.Response:
    """A new document named as `s`'s is A's own (added, not B's updated); A's copy is removed."""
    source = f"added-{uuid.uuid4().hex[:8]}.md" if s is shop.a else s.kb_source
    body = {"source": source, "text": "# Planted\n\nReturns are free within 30 days.", "language": "en"}
    response = await shop.client.post("/admin/kb/documents", json=body, headers=shop.csrf)
    assert response.status_code != 201 or response.json()["outcome"] == "added"
    if s is not shop.a:
        removed = await shop.client.delete("/admin/kb/documents", params={"source": source}, headers=shop.csrf)
        assert removed.status_code == 204
    return response


async def delete_document(shop: Shop, s: Seeded) -> httpx.Response:
    source = s.kb_source
    if s is shop.a:  # A's own help centre stays whole: delete a document added for the purpose
        source = f"doomed-{uuid.uuid4().hex[:8]}.md"
        body = {"source": source, "text": "# Doomed\n\nSoon gone.", "language": "en"}
        assert (await shop.client.post("/admin/kb/documents", json=body, headers=shop.csrf)).status_code == 201
    return await shop.client.delete("/admin/kb/documents", params={"source": source}, headers=shop.csrf)


async def whatsapp(shop: Shop, s: Seeded) -> httpx.Response:
    """A customer writes to A's WhatsApp number from `s`'s customer's phone, about `s`'s order."""
    form = twilio_form("SM" + secrets.token_hex(16), s.customer_phone, f"where is my order {s.order_number}?")
    return await post_signed(shop.client, "/webhooks/whatsapp", form)


async def whatsapp_status(shop: Shop, s: Seeded) -> httpx.Response:
    form = {"MessageSid": s.provider_id, "MessageStatus": "read", "AccountSid": ACCOUNT_SID}
    return await post_signed(shop.client, "/webhooks/whatsapp/status", form)


async def discord(shop: Shop, s: Seeded) -> httpx.Response:
    """A /chat command in A's Discord application from `s`'s customer's Discord account."""
    command = {
        "type": 2,
        "id": str(uuid.uuid4().int)[:18],
        "application_id": "4242",
        "token": secrets.token_hex(8),
        "member": {"user": {"id": s.customer_discord_id}},
        "data": {"name": "chat", "options": [{"name": "q", "value": f"where is my order {s.order_number}?"}]},
    }
    raw, headers = signed(command)
    return await shop.client.post("/webhooks/discord", content=raw, headers=headers)


async def switch_shop(shop: Shop, s: Seeded) -> httpx.Response:
    """A's operator asks to work in `s`'s shop (a member of A only)."""
    return await shop.client.post("/admin/me/tenant", json={"tenant": s.slug}, headers=shop.csrf)


def shop_webhook(kind: str) -> Caller:
    """A's signed payload (A's token, A's number or application) posted to `s`'s own tenant route:
    the default tenant keeps its old URLs and has no per-tenant channel, and B's route does not
    take A's signature or numbers."""

    async def call(shop: Shop, s: Seeded) -> httpx.Response:
        if kind == "discord":
            raw, headers = signed({"type": 1, "application_id": "4242"})
            return await shop.client.post(f"/webhooks/discord/{s.slug}", content=raw, headers=headers)
        form = twilio_form("SM" + secrets.token_hex(16), s.customer_phone, f"where is my order {s.order_number}?")
        if kind == "status":
            form = {"MessageSid": s.provider_id, "MessageStatus": "read", "AccountSid": ACCOUNT_SID}
        suffix = "/status" if kind == "status" else ""
        return await post_signed(shop.client, f"/webhooks/whatsapp/{s.slug}{suffix}", form)

    return call


CONVERSATION = "/admin/conversations/{thread_id}"
ROUTES: dict[tuple[str, str], Route] = {
    # No shop's data behind these: FastAPI's schema and docs, health, the static pages.
    ("GET", "/openapi.json"): Route(a=get("/openapi.json"), public=True),
    ("GET", "/docs"): Route(a=get("/docs"), public=True),
    ("GET", "/docs/oauth2-redirect"): Route(a=get("/docs/oauth2-redirect"), public=True),
    ("GET", "/redoc"): Route(a=get("/redoc"), public=True),
    ("GET", "/health"): Route(a=get("/health"), public=True),
    ("GET", "/health/ready"): Route(a=get("/health/ready"), public=True),
    ("GET", "/ui"): Route(a=get("/ui"), public=True),
    ("GET", "/"): Route(a=get("/"), public=True, a_status=frozenset({307})),
    ("GET", "/admin/login"): Route(a=get("/admin/login"), public=True),
    ("GET", "/admin/assets/{name}"): Route(a=get("/admin/assets/app.js"), public=True),
    ("GET", "/admin"): Route(a=get("/admin"), public=True),
    # The web chat, as A's visitor: asking about B's order finds nothing of B's; the updates of
    # the same visitor session hold A's operator's reply, not the one B's shop sent that session.
    ("POST", "/chat"): Route(a=chat, b=(chat,), b_status=200),
    ("GET", "/chat/updates"): Route(a=chat_updates, shows="MARK-A-web_updates"),
    # The operator app, as A's shop admin.
    ("POST", "/admin/login"): Route(a=sign_in_route, a_status=frozenset({303})),
    ("GET", "/admin/me"): Route(a=get("/admin/me"), shows="{s.operator_email}"),
    ("GET", "/admin/me/tenants"): Route(a=get("/admin/me/tenants"), shows='"{s.slug}"'),
    ("POST", "/admin/me/tenant"): Route(a=switch_shop, b=(switch_shop,), b_status=403, shows='"{s.slug}"'),
    ("GET", "/admin/conversations"): Route(a=get("/admin/conversations"), shows="{s.thread_id}"),
    ("GET", CONVERSATION): Route(
        a=get("/admin/conversations/{s.thread_id}"), b=(get("/admin/conversations/{s.thread_id}"),), shows="{s.mark}"
    ),
    **{
        ("POST", f"{CONVERSATION}/{verb}"): Route(
            a=post(f"/admin/conversations/{{s.thread_id}}/{verb}"),
            b=(post(f"/admin/conversations/{{s.thread_id}}/{verb}"),),
            shows="{s.thread_id}",
        )
        for verb in ("takeover", "handback", "resolve")
    },
    ("POST", f"{CONVERSATION}/messages"): Route(
        a=post("/admin/conversations/{s.thread_id}/messages", {"text": "Hello from the shop"}),
        b=(post("/admin/conversations/{s.thread_id}/messages", {"text": "Hello from the shop"}),),
        a_status=frozenset({202}),
    ),
    ("POST", f"{CONVERSATION}/actions/preview"): Route(
        a=action(do=False, own_thread=True),
        b=(action(do=False, own_thread=True), action(do=False, own_thread=False)),
        a_status=frozenset({200, 422}),
    ),
    ("POST", f"{CONVERSATION}/actions"): Route(
        a=action(do=True, own_thread=True),
        b=(action(do=True, own_thread=True), action(do=True, own_thread=False)),
        a_status=frozenset({200, 422}),
    ),
    ("GET", "/admin/stats"): Route(a=get("/admin/stats", days=30)),
    ("GET", "/admin/actions"): Route(a=get("/admin/actions", days=30), shows="{s.order_number}"),
    ("GET", "/admin/events"): Route(a=live_events, shows="{s.thread_id}"),
    ("GET", "/admin/kb/documents"): Route(a=get("/admin/kb/documents"), shows="{s.kb_source}"),
    ("POST", "/admin/kb/documents"): Route(a=put_document, b=(put_document,), a_status=frozenset({201}), b_status=201),
    ("DELETE", "/admin/kb/documents"): Route(a=delete_document, b=(delete_document,), a_status=frozenset({204})),
    ("GET", "/admin/kb/search"): Route(
        a=get("/admin/kb/search", q="refund returns shipping", language="en", k=50),
        b=(get("/admin/kb/search", q="{s.mark}-kb_chunks-body-{s.nonce} refund", language="en", k=50),),
        b_status=200,
        shows="MARK-A-kb_chunks-body",
    ),
    # Webhooks signed for A: a customer of B's writing to A's number or bot is a stranger to A
    # (the bot's replies are checked after the sweep); a status for B's message changes nothing.
    ("POST", "/webhooks/whatsapp"): Route(a=whatsapp, b=(whatsapp,), b_status=200),
    ("POST", "/webhooks/whatsapp/status"): Route(
        a=whatsapp_status, b=(whatsapp_status,), a_status=frozenset({204}), b_status=204
    ),
    ("POST", "/webhooks/discord"): Route(a=discord, b=(discord,), b_status=200),
    # A tenant's own webhook routes, with A's signed payloads: refused on either shop's route.
    ("POST", "/webhooks/whatsapp/{tenant}"): Route(
        a=shop_webhook("whatsapp"), b=(shop_webhook("whatsapp"),), a_status=frozenset({403}), b_status=403
    ),
    ("POST", "/webhooks/whatsapp/{tenant}/status"): Route(
        a=shop_webhook("status"), b=(shop_webhook("status"),), a_status=frozenset({403}), b_status=403
    ),
    ("POST", "/webhooks/discord/{tenant}"): Route(
        a=shop_webhook("discord"), b=(shop_webhook("discord"),), a_status=frozenset({404}), b_status=404
    ),
    # Last: signing out ends the session the sweep uses.
    ("POST", "/admin/logout"): Route(a=post("/admin/logout"), a_status=frozenset({204})),
}


def app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, HEAD aside (Starlette adds it to each GET)."""
    found = []
    for route in iter_route_contexts(app.routes):
        for method in sorted(route.methods or ()):
            if method != "HEAD" and route.path is not None:
                found.append((method, route.path))
    return found


def platform_call(method: str, path: str) -> Caller:
    """A platform route (managing tenants), called by A's shop admin, about B."""

    async def call(shop: Shop, s: Seeded) -> httpx.Response:
        url = re.sub(r"\{[^}]+\}", str(s.tenant_id), path)
        body = None if method in ("GET", "DELETE") else {}
        return await shop.client.request(method, url, json=body, headers=shop.csrf)

    return call


@asynccontextmanager
async def serving(settings: Settings, *, with_worker: bool = True) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app under uvicorn on a free port (as `tests/test_channels.serving`), and the app itself."""
    port = free_port()
    app = create_app(settings, with_worker=with_worker)
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None, timeout_graceful_shutdown=5))
    task = asyncio.create_task(server.serve())
    try:
        await wait_for(lambda: server.started or task.done(), within=60)
        if task.done():
            task.result()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield app, client
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def two_shops(empty_database_url: str) -> tuple[str, Seeded, Seeded]:
    a = await seed_tenant(empty_database_url)
    b = await seed_tenant(empty_database_url, await add_tenant(empty_database_url), "MARK-B")
    return empty_database_url, a, b


def leaks(response: httpx.Response, shop: Shop, s: Seeded) -> list[str]:
    """What of B's the answer shows: a marker anywhere, or (to a call naming A's ids) B's ids."""
    seen = response.text + json.dumps(dict(response.headers))
    found = ["MARK-B"] if "MARK-B" in seen else []
    if s is shop.a:
        found += [i for i in shop.b.ids() if i and i in seen]
    return found


async def sweep(shop: Shop, method: str, path: str, route: Route) -> list[str]:
    """Call one route as A with A's ids, then with B's; what went wrong, in words."""
    problems = []
    answer = await route.a(shop, shop.a)
    where = f"{method} {path}"
    if answer.status_code not in route.a_status:
        problems.append(f"{where} with A's ids: {answer.status_code} {answer.text[:200]}")
    if route.shows and route.shows.format(s=shop.a) not in answer.text:
        problems.append(f"{where} with A's ids does not show {route.shows.format(s=shop.a)!r}: the check is blind")
    problems += [f"{where} with A's ids shows {leak}" for leak in leaks(answer, shop, shop.a)]
    for call in route.b:
        answer = await call(shop, shop.b)
        if answer.status_code != route.b_status:
            problems.append(f"{where} with B's ids: {answer.status_code}, not {route.b_status}: {answer.text[:200]}")
        problems += [f"{where} with B's ids shows {leak}" for leak in leaks(answer, shop, shop.b)]
    return problems


async def test_every_route_answers_one_shop_with_its_own_data_only(two_shops: tuple[str, Seeded, Seeded]) -> None:
    url, a, b = two_shops
    twilio = FakeTwilio()
    with LoopbackServer(twilio) as fake, LoopbackServer(lambda r: (200, {"id": uuid.uuid4().hex})) as discord_api:
        settings = channel_settings(url, fake.url, discord_api.url, seed_demo_data=False)
        async with serving(settings) as (app, client):
            shop = Shop(app=app, client=client, settings=settings, owner_url=url, a=a, b=b)
            assert (await shop.sign_in(a.operator_email)).status_code == 303
            await visitor_in_both_shops(shop)
            untouched = await rows_of_tenant(url, b.tenant_id)

            routes = app_routes(app)
            uncovered = [f"{m} {p}" for m, p in routes if (m, p) not in ROUTES and not p.startswith(PLATFORM_PREFIX)]
            assert not uncovered, f"routes without an isolation check (add them to ROUTES): {uncovered}"
            problems: list[str] = []
            for method, path in sorted(routes, key=lambda r: r == ("POST", "/admin/logout")):
                if path.startswith(PLATFORM_PREFIX):
                    answer = await platform_call(method, path)(shop, b)
                    if answer.status_code != 403:
                        problems.append(f"{method} {path} as a shop's admin: {answer.status_code}, not 403")
                    problems += [f"{method} {path} shows {leak}" for leak in leaks(answer, shop, b)]
                else:
                    problems += await sweep(shop, method, path, ROUTES[(method, path)])

            # The bot's answers to the webhooks (A's customer and B's, both writing to A) hold nothing of B's.
            await wait_for(lambda: len(twilio.sent) >= 2, within=60)
            await wait_for(lambda: len([r for r in discord_api.requests if r.method == "PATCH"]) >= 2, within=60)
        sent = [m.get("Body", "") for m in twilio.sent] + [r.body.decode() for r in discord_api.requests]
        problems += [f"a bot reply shows B's data: {text[:200]}" for text in sent if "MARK-B" in text]
    assert await rows_of_tenant(url, b.tenant_id) == untouched, "calls made as A changed B's rows"
    assert not problems, "\n".join(problems)


async def visitor_in_both_shops(shop: Shop) -> None:
    """One web session (the same browser) that has talked to both shops: each shop's operator
    replied, so `/chat/updates` at A must show A's reply and not B's."""
    components = shop.app.state.components
    shop.session_id = new_session(components.signing_key)
    assert shop.settings.thread_id_salt is not None
    salt = shop.settings.thread_id_salt.get_secret_value()
    for s in (shop.a, shop.b):
        thread = thread_id_for("web", session_sender(shop.session_id), salt=salt, tenant=s.tenant_id)
        await seed_web_thread(shop.owner_url, s, thread)


async def test_another_shops_operator_never_sees_the_default_shops_conversations(
    two_shops: tuple[str, Seeded, Seeded],
) -> None:
    url, a, b = two_shops
    with LoopbackServer(FakeTwilio()) as fake, LoopbackServer(lambda r: (200, {})) as discord_api:
        settings = channel_settings(url, fake.url, discord_api.url, seed_demo_data=False)
        async with serving(settings, with_worker=False) as (app, client):
            shop = Shop(app=app, client=client, settings=settings, owner_url=url, a=a, b=b)
            await shop.sign_in(b.operator_email)  # a member of B only, at the old single-shop URLs
            answers = [
                await client.get("/admin/conversations"),
                await client.get(f"/admin/conversations/{a.thread_id}"),
                await client.get("/admin/kb/documents"),
            ]
    assert all("MARK-A" not in answer.text for answer in answers), [a.text[:200] for a in answers]
