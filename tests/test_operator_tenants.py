"""Operators across shops, over real HTTP: an operator sees only the shop their session works in
(B's conversations, orders and help centre are 404 or absent for an operator of A, live events
included), one login working in two shops switches between them with the role of each, and the
admin token names its shop with a header."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from carebot.composition import open_database
from carebot.db.scope import TenantRef, tenant_scope
from carebot.desk.operators import OperatorAccounts, Role
from carebot.settings import Settings
from tests.test_operator_inbox import PASSWORD, read_events, shop

ADMIN_TOKEN = "automation-token-for-tenants"


@dataclass(frozen=True)
class SeededShop:
    """A shop with one waiting conversation of an identified customer who has one order; every
    string of it carries `marker`, so a leak shows up wherever it lands."""

    tenant: UUID
    slug: str
    name: str
    marker: str
    thread: str
    customer_id: int
    order: str
    phone: str


def a_phone() -> str:
    return "+62813" + str(uuid.uuid4().int)[:7]


async def seed_shop(owner_url: str, label: str) -> SeededShop:
    """A new tenant with its rows, written as the owner in that tenant's setting (the rows take
    their tenant from it, as the app's do)."""
    marker = f"MARK{label.upper()}{uuid.uuid4().hex[:8]}"
    slug = f"{label}-{uuid.uuid4().hex[:8]}"
    phone = a_phone()
    async with await psycopg.AsyncConnection.connect(owner_url, autocommit=True, row_factory=dict_row) as conn:
        cur = await conn.execute(
            "INSERT INTO tenants (slug, name) VALUES (%s, %s) RETURNING id", (slug, f"{label.upper()} {marker} shop")
        )
        tenant = (await cur.fetchone() or {})["id"]
        await conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant),))
        cur = await conn.execute(
            "INSERT INTO customers (name, email, phone, shop_id) VALUES (%s, %s, %s, %s) RETURNING id",
            (f"{marker} Customer", f"{marker.lower()}@example.com", phone, f"cust-{marker}"),
        )
        customer_id = (await cur.fetchone() or {})["id"]
        order = f"{marker}-1"
        item = {"id": f"{order}-1-1", "product_id": "p1", "variant_id": "v1", "name": f"{marker} lamp"}
        await conn.execute(
            "INSERT INTO orders (number, customer_id, status, items, total, currency, created_at)"
            " VALUES (%s, %s, 'processing', %s, 10, 'USD', now())",
            (order, customer_id, Jsonb([{**item, "options": {}, "price": "10.00"}])),
        )
        thread = f"{tenant}:whatsapp:{marker.lower()}"
        await conn.execute(
            "INSERT INTO conversations (thread_id, channel, sender, customer_id, customer_name, status, reason,"
            " reason_detail, waiting_since, last_customer_at, unread, handovers)"
            " VALUES (%s, 'whatsapp', %s, %s, %s, 'waiting', 'human_requested', %s, now(), now(), 1, 1)",
            (thread, f"whatsapp:{phone}", customer_id, f"{marker} Customer", f"{marker} wants a person"),
        )
        for role, text in (("customer", f"{marker} where is my parcel?"), ("bot", f"{marker} a colleague is coming")):
            await conn.execute("INSERT INTO messages (thread_id, role, text) VALUES (%s, %s, %s)", (thread, role, text))
    return SeededShop(tenant, slug, f"{label.upper()} {marker} shop", marker, thread, customer_id, order, phone)


async def say_in(owner_url: str, seeded: SeededShop, text: str) -> None:
    """A new customer line in the shop's conversation (the trigger records the event)."""
    async with await psycopg.AsyncConnection.connect(owner_url, autocommit=True) as conn:
        await conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(seeded.tenant),))
        await conn.execute(
            "INSERT INTO messages (thread_id, role, text) VALUES (%s, 'customer', %s)", (seeded.thread, text)
        )


async def add_operator(settings: Settings, name: str, *shops: tuple[SeededShop, Role]) -> str:
    """An operator working in each of `shops` with its role: added to the first, then added
    again (same email and password) to each other, which makes the account join it."""
    email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@agency.example"
    async with open_database(settings) as pool:
        for seeded, role in shops:
            with tenant_scope(TenantRef(seeded.tenant, seeded.slug)):
                await OperatorAccounts(pool).add(email=email, name=name, role=role, password=PASSWORD)
    return email


async def revoke(settings: Settings, email: str, seeded: SeededShop) -> None:
    async with open_database(settings) as pool:
        with tenant_scope(TenantRef(seeded.tenant, seeded.slug)):
            assert await OperatorAccounts(pool).revoke(email)


@asynccontextmanager
async def signed_in(base_url: str, email: str) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A browser-like client of its own (its own cookie jar), signed in; and the CSRF header."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.post("/admin/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 303 and response.headers["location"] == "/admin", response.headers
        me = (await client.get("/admin/me")).json()
        yield client, {"X-CSRF-Token": me["csrf_token"]}


def cancel(order: str) -> dict[str, Any]:
    return {"kind": "cancel", "order_number": order, "reason": "Changed my mind"}


async def every_id_route(client: httpx.AsyncClient, headers: dict[str, str], thread: str) -> dict[str, int]:
    """Every operator route that takes a conversation id, called with `thread`: route → status."""
    path = f"/admin/conversations/{thread}"
    calls = {
        "detail": client.get(path),
        "takeover": client.post(f"{path}/takeover", headers=headers),
        "handback": client.post(f"{path}/handback", headers=headers),
        "resolve": client.post(f"{path}/resolve", headers=headers),
        "message": client.post(f"{path}/messages", json={"text": "hello"}, headers=headers),
        "preview": client.post(f"{path}/actions/preview", json=cancel("A1001"), headers=headers),
        "action": client.post(
            f"{path}/actions", json=cancel("A1001"), headers={**headers, "Idempotency-Key": uuid.uuid4().hex}
        ),
    }
    return {name: (await call).status_code for name, call in calls.items()}


async def test_an_operator_of_one_shop_sees_nothing_of_another(postgres_url: str) -> None:
    a, b = await seed_shop(postgres_url, "a"), await seed_shop(postgres_url, "b")
    async with shop(postgres_url, admin_token=ADMIN_TOKEN) as (server, _twilio, settings):
        ana = await add_operator(settings, "Ana", (a, "admin"))
        automation_b = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Carebot-Tenant": b.slug}
        # B's help centre holds a document only B's people may see (put there by automation for B).
        put = await server.post(
            "/admin/kb/documents",
            json={"source": f"{b.marker}.md", "text": f"# {b.marker} returns\n\n{b.marker} returns take 90 days."},
            headers=automation_b,
        )
        assert put.status_code == 201, put.text
        listed_for_b = (await server.get("/admin/kb/documents", headers=automation_b)).text
        assert b.marker in listed_for_b  # so its absence below means something

        async with signed_in(str(server.base_url), ana) as (client, headers):
            me = (await client.get("/admin/me")).json()
            assert me["tenant"]["slug"] == a.slug and me["tenant"]["name"] == a.name and me["role"] == "admin"
            shops = (await client.get("/admin/me/tenants")).json()
            assert [s["slug"] for s in shops["tenants"]] == [a.slug]

            # Everything this operator can read is A's, and none of it mentions B.
            reads = [
                await client.get("/admin/conversations"),
                *[await client.get("/admin/conversations", params={"status": s}) for s in ("waiting", "human", "bot")],
                await client.get(f"/admin/conversations/{a.thread}"),
                await client.get("/admin/stats"),
                await client.get("/admin/actions"),
                await client.get("/admin/kb/documents"),
                await client.get("/admin/kb/search", params={"q": f"{b.marker} returns take 90 days"}),
                await client.get("/admin/me/tenants"),
            ]
            for response in reads:
                assert response.status_code == 200, (response.url, response.text)
                assert b.marker not in response.text and b.slug not in response.text, response.url
            inbox = reads[0].json()["conversations"]
            assert [c["id"] for c in inbox] == [a.thread]
            detail = reads[4].json()
            assert a.marker in json.dumps(detail) and detail["customer"]["name"] == f"{a.marker} Customer"
            assert reads[5].json()["conversations"] == 1  # A's one conversation, not B's too

            # B's conversation ids are not found on any route; nor is B's order on A's customer.
            assert set((await every_id_route(client, headers, b.thread)).values()) == {404}
            preview = await client.post(
                f"/admin/conversations/{a.thread}/actions/preview", json=cancel(b.order), headers=headers
            )
            assert preview.status_code == 404 and b.marker not in preview.text.replace(b.order, "")

            # Switching to a shop one does not work in is refused, and changes nothing.
            for other in (b.slug, str(b.tenant), "no-such-shop"):
                refused = await client.post("/admin/me/tenant", json={"tenant": other}, headers=headers)
                assert refused.status_code == 403
            assert (await client.get("/admin/me")).json()["tenant"]["slug"] == a.slug

            # Live events: B's new line never reaches A's stream; A's, written after it, does.
            seen: list[dict[str, Any]] = []
            async with client.stream("GET", "/admin/events", params={"after": 0}) as stream:
                await say_in(postgres_url, b, f"{b.marker} live line")
                await say_in(postgres_url, a, f"{a.marker} live line")
                await asyncio.wait_for(read_events(stream, f"{a.marker} live line", seen), 30)
            assert seen and all(b.marker not in json.dumps(e) for e in seen)
            assert all(e["data"].get("thread_id", a.thread) == a.thread for e in seen if e["event"] == "message")


async def test_an_operator_of_two_shops_switches_and_has_the_role_of_each(postgres_url: str) -> None:
    a, b = await seed_shop(postgres_url, "a"), await seed_shop(postgres_url, "b")
    async with shop(postgres_url) as (server, _twilio, settings):
        dewi = await add_operator(settings, "Dewi", (a, "admin"), (b, "agent"))
        async with signed_in(str(server.base_url), dewi) as (client, headers):
            shops = (await client.get("/admin/me/tenants")).json()["tenants"]
            assert {(s["slug"], s["role"]) for s in shops} == {(a.slug, "admin"), (b.slug, "agent")}

            switched = await client.post("/admin/me/tenant", json={"tenant": a.slug}, headers=headers)
            assert switched.status_code == 200 and switched.json()["tenant"]["slug"] == a.slug
            assert switched.json()["role"] == "admin"
            ids = [c["id"] for c in (await client.get("/admin/conversations")).json()["conversations"]]
            assert ids == [a.thread]
            assert (await client.get("/admin/kb/documents")).status_code == 200  # an admin here

            switched = await client.post("/admin/me/tenant", json={"tenant": b.slug}, headers=headers)
            assert switched.json()["tenant"]["slug"] == b.slug and switched.json()["role"] == "agent"
            assert (await client.get("/admin/me")).json()["role"] == "agent"
            ids = [c["id"] for c in (await client.get("/admin/conversations")).json()["conversations"]]
            assert ids == [b.thread]
            assert (await client.get(f"/admin/conversations/{a.thread}")).status_code == 404
            assert (await client.get(f"/admin/conversations/{b.thread}")).status_code == 200
            # An agent in B: B's help centre is for B's admins.
            assert (await client.get("/admin/kb/documents")).status_code == 403
            taken = await client.post(f"/admin/conversations/{b.thread}/takeover", headers=headers)
            assert taken.status_code == 200 and taken.json()["assignee"] == "Dewi"

            # A switch is a change: without the CSRF header another site could make it.
            assert (await client.post("/admin/me/tenant", json={"tenant": a.slug})).status_code == 403

        # The next sign-in opens in the shop used last.
        async with signed_in(str(server.base_url), dewi) as (client, headers):
            assert (await client.get("/admin/me")).json()["tenant"]["slug"] == b.slug
            # Removed from B, the session works in the shop left to them.
            await revoke(settings, dewi, b)
            me = (await client.get("/admin/me")).json()
            assert me["tenant"]["slug"] == a.slug and me["role"] == "admin"
            assert [c["id"] for c in (await client.get("/admin/conversations")).json()["conversations"]] == [a.thread]
            # Removed from every shop: refused, and a new sign-in says why.
            await revoke(settings, dewi, a)
            assert (await client.get("/admin/conversations")).status_code == 403
            again = await client.post("/admin/login", data={"email": dewi, "password": PASSWORD})
            assert again.status_code == 303 and again.headers["location"] == "/admin/login?error=no-shop"


async def test_the_admin_token_names_its_shop_with_a_header(postgres_url: str) -> None:
    a = await seed_shop(postgres_url, "a")
    async with shop(postgres_url, admin_token=ADMIN_TOKEN) as (server, _twilio, _settings):
        bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        in_a = (await server.get("/admin/conversations", headers={**bearer, "X-Carebot-Tenant": a.slug})).json()
        assert [c["id"] for c in in_a["conversations"]] == [a.thread]
        me = (await server.get("/admin/me", headers={**bearer, "X-Carebot-Tenant": a.slug})).json()
        assert me["role"] == "admin" and me["tenant"]["slug"] == a.slug
        # Without the header: the default shop, as before tenants (none of A's conversations).
        default = (await server.get("/admin/conversations", headers=bearer)).text
        assert a.marker not in default
        unknown = await server.get("/admin/conversations", headers={**bearer, "X-Carebot-Tenant": "no-such-shop"})
        assert unknown.status_code == 404
        switch = await server.post("/admin/me/tenant", json={"tenant": a.slug}, headers=bearer)
        assert switch.status_code == 400


async def test_adding_an_existing_email_to_another_shop_needs_its_password(postgres_url: str) -> None:
    a, b = await seed_shop(postgres_url, "a"), await seed_shop(postgres_url, "b")
    async with shop(postgres_url) as (_server, _twilio, settings):
        email = await add_operator(settings, "Rudi", (a, "agent"))
        async with open_database(settings) as pool:
            accounts = OperatorAccounts(pool)
            with tenant_scope(TenantRef(b.tenant, b.slug)):
                try:
                    await accounts.add(email=email, name="Rudi", role="agent", password="not the password")
                except ValueError as exc:
                    assert "already exists" in str(exc)
                else:
                    raise AssertionError("joined a shop without the account's password")
                assert [o.email for o in await accounts.list()] == []
                granted = await accounts.grant(email, "admin")
                assert granted.role == "admin"
                assert [(o.email, o.role) for o in await accounts.list()] == [(email, "admin")]
            with tenant_scope(TenantRef(a.tenant, a.slug)):
                assert [(o.email, o.role) for o in await accounts.list()] == [(email, "agent")]


async def test_a_page_of_another_shop_is_told_to_reload_and_a_removed_operators_stream_ends(
    postgres_url: str,
) -> None:
    a, b = await seed_shop(postgres_url, "a"), await seed_shop(postgres_url, "b")
    async with shop(postgres_url) as (server, _twilio, settings):
        dewi = await add_operator(settings, "Dewi", (a, "admin"), (b, "agent"))
        async with signed_in(str(server.base_url), dewi) as (client, headers):
            await client.post("/admin/me/tenant", json={"tenant": a.slug}, headers=headers)
            page_of_a = {"X-Carebot-Tenant": a.slug}
            assert (await client.get("/admin/conversations", headers=page_of_a)).status_code == 200
            # Another tab switches to B: this page, still showing A, is told so instead of answered.
            await client.post("/admin/me/tenant", json={"tenant": b.slug}, headers=headers)
            stale = await client.get("/admin/conversations", headers=page_of_a)
            assert stale.status_code == 409 and stale.headers["X-Carebot-Tenant"] == b.slug
            assert "conversations" not in stale.json()

            # Removed from B while B's stream is open: the stream ends (the browser reconnects,
            # in the shop the session is left with).
            async with client.stream("GET", "/admin/events") as stream:
                assert stream.status_code == 200
                lines = stream.aiter_lines()
                await revoke(settings, dewi, b)

                async def ended() -> None:
                    async for _line in lines:
                        pass

                await asyncio.wait_for(ended(), 30)
            assert (await client.get("/admin/me")).json()["tenant"]["slug"] == a.slug
