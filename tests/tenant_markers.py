"""Two shops in one database, every row of each marked: the ground the isolation tests stand on.

`seed_tenant` writes, as the tables' owner (who bypasses row-level security), one row or more in
EVERY tenant-owned table for a tenant, each text a marker naming the tenant, the table and the
column (`MARK-B-orders-carrier-…`). Whatever a tenant-A request or query returns must then
contain no `MARK-B`. What a request names in its URL or body (a thread id, an order number, a
help-centre source, a Twilio SID) carries no marker: a 404 that echoes the id asked for is not a
leak. The catalogue, not this file, says which tables are tenant-owned (`tenant_tables`), so a
table added later without a seed here fails the tests that use it.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from carebot.db.scope import DEFAULT_TENANT_ID, DEFAULT_TENANT_SLUG

PASSWORD = "correct horse battery"
# Platform tables with a tenant_id column that row-level security does not guard: they are how a
# request finds its tenant before it has one (migration 0012).
PLATFORM_TABLES = frozenset({"tenant_channels", "operator_memberships", "operator_sessions"})


@dataclass
class Seeded:
    """One tenant's marked rows, and the ids a request names them by."""

    tenant_id: UUID
    mark: str
    """`MARK-A` or `MARK-B`: in every text of this tenant's rows."""
    nonce: str
    customer_id: int = 0
    customer_email: str = ""
    customer_phone: str = ""
    customer_discord_id: str = ""
    order_id: int = 0
    order_number: str = ""
    item_id: str = ""
    thread_id: str = ""
    """A web conversation waiting for a person, with the customer, their order and a transcript."""
    kb_source: str = ""
    provider_id: str = ""
    """The Twilio SID of a sent WhatsApp reply (what a status callback names)."""
    operator_id: int = 0
    operator_email: str = ""
    """A shop admin who is a member of this tenant only."""
    tables: dict[str, int] = field(default_factory=dict)
    """Rows written per table."""

    @property
    def slug(self) -> str:
        """The slug in the tenant's URLs (`add_tenant`'s, or the default tenant's)."""
        return DEFAULT_TENANT_SLUG if self.tenant_id == DEFAULT_TENANT_ID else f"shop-{self.tenant_id.hex[:10]}"

    def marker(self, table: str, column: str) -> str:
        return f"{self.mark}-{table}-{column}-{self.nonce}"

    def ids(self) -> Iterator[str]:
        """What names this tenant's rows and no one types: a listing for another tenant shows none
        (an order number or an email may well be in what another shop's customer wrote)."""
        yield from (self.thread_id, self.kb_source, self.provider_id)


async def tenant_tables(owner_url: str) -> set[str]:
    """Every table of the app's schema with a tenant_id column, platform tables aside."""
    async with await psycopg.AsyncConnection.connect(owner_url) as conn:
        cur = await conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'"
            " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND NOT a.attisdropped"
        )
        return {str(r[0]) for r in await cur.fetchall()} - PLATFORM_TABLES


async def add_tenant(owner_url: str, mark: str = "MARK-B") -> UUID:
    """A second shop (its name marked: the platform's list of shops is not a shop's business)."""
    tenant_id = uuid.uuid4()
    async with await psycopg.AsyncConnection.connect(owner_url) as conn:
        await conn.execute(
            "INSERT INTO tenants (id, slug, name) VALUES (%s, %s, %s)",
            (tenant_id, f"shop-{tenant_id.hex[:10]}", f"{mark}-tenants-name"),
        )
    return tenant_id


async def seed_tenant(owner_url: str, tenant_id: UUID = DEFAULT_TENANT_ID, mark: str = "MARK-A") -> Seeded:
    """Marked rows in every tenant-owned table for `tenant_id`, in one transaction whose scope
    is that tenant (so the tables' defaults and the event triggers fill tenant_id as the app's
    own writes would)."""
    seeded = Seeded(tenant_id=tenant_id, mark=mark, nonce=secrets.token_hex(4))
    hashed = await asyncio.to_thread(_password_hash)
    async with await psycopg.AsyncConnection.connect(owner_url, row_factory=dict_row) as conn, conn.transaction():
        await conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
        writer = _Writer(conn, seeded)
        await _seed_shop(writer, seeded)
        await _seed_help_centre(writer, seeded)
        await _seed_operator(conn, seeded, hashed)
        await _seed_conversation(writer, seeded)
        await _seed_delivery(writer, seeded)
        await _seed_verification(writer, seeded)
    return seeded


def _password_hash() -> str:
    from carebot.desk.operators import _hasher

    return str(_hasher().hash(PASSWORD))


# Tenant tables whose rows have no free text to carry a marker (every text column is constrained).
UNMARKED_TABLES = frozenset({"tenant_usage"})


class _Writer:
    """Inserts a row, filling every text column not given with its marker."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], seeded: Seeded) -> None:
        self.conn, self.seeded = conn, seeded
        self._texts: dict[str, list[str]] = {}

    async def text_columns(self, table: str) -> list[str]:
        if table not in self._texts:
            cur = await self.conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public'"
                " AND table_name = %s AND data_type = 'text'",
                (table,),
            )
            self._texts[table] = [r["column_name"] for r in await cur.fetchall()]
        return self._texts[table]

    async def insert(self, table: str, **values: Any) -> dict[str, Any]:
        for column in await self.text_columns(table):
            values.setdefault(column, self.seeded.marker(table, column))
        columns = ", ".join(f'"{c}"' for c in values)
        placeholders = ", ".join(["%s"] * len(values))
        cur = await self.conn.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING *",  # type: ignore[arg-type]
            tuple(values.values()),
        )
        row = await cur.fetchone()
        assert row is not None
        self.seeded.tables[table] = self.seeded.tables.get(table, 0) + 1
        return row


async def _seed_shop(w: _Writer, s: Seeded) -> None:
    m = s.marker
    product = await w.insert("products", id=f"prod-{s.nonce}")
    variant = await w.insert(
        "product_variants",
        id=f"var-{s.nonce}",
        product_id=product["id"],
        options=Jsonb({"colour": m("v", "o")}),
        price=10,
    )
    s.customer_email = f"customer-{s.nonce}@shop.example"
    s.customer_phone = "+628" + str(uuid.uuid4().int)[:10]
    s.customer_discord_id = str(uuid.uuid4().int)[:18]
    address = {"line1": m("customers", "line1"), "city": m("customers", "city"), "country": "ID", "zip": "10110"}
    customer = await w.insert(
        "customers",
        email=s.customer_email,
        phone=s.customer_phone,
        discord_id=s.customer_discord_id,
        language="en",
        address=Jsonb(address),
    )
    s.customer_id = customer["id"]
    method = await w.insert("payment_methods", id=m("payment_methods", "id"), customer_id=s.customer_id, kind="card")
    s.item_id = f"item-{s.nonce}"
    item = {
        "id": s.item_id,
        "product_id": product["id"],
        "variant_id": variant["id"],
        "name": m("orders", "item"),
        "options": {"colour": m("orders", "option")},
        "price": "10.00",
    }
    s.order_number = f"N{s.nonce}"
    order = await w.insert(
        "orders",
        number=s.order_number,
        customer_id=s.customer_id,
        status="shipped",
        items=Jsonb([item]),
        total=10,
        currency="USD",
        created_at=datetime(2025, 1, 2, tzinfo=UTC),
        shipped_at=datetime(2025, 1, 3, tzinfo=UTC),
        address=Jsonb(address),
    )
    s.order_id = order["id"]
    await w.insert(
        "order_payments", order_id=s.order_id, position=0, payment_method_id=method["id"], amount=10, kind="payment"
    )
    await w.insert("shipment_events", order_id=s.order_id, happened_at=datetime(2025, 1, 3, tzinfo=UTC))
    before = {
        "number": s.order_number,
        "customer_id": m("order_actions", "customer"),
        "status": "shipped",
        "placed_at": "2025-01-02T00:00:00Z",
        "items": [item],
    }
    await w.insert(
        "order_actions",
        order_id=s.order_id,
        order_number=s.order_number,
        kind="cancel",
        actor="operator",
        request=Jsonb({"kind": "cancel", "order_number": s.order_number, "reason": m("order_actions", "reason")}),
        before=Jsonb(before),
        after=Jsonb({**before, "status": "cancelled", "cancel_reason": m("order_actions", "after")}),
    )
    await w.insert("order_api_requests", plan=Jsonb({"note": m("order_api_requests", "plan")}))
    # Quota counters hold no text to mark (`UNMARKED_TABLES`): a row, to be seen or not.
    await w.insert("tenant_usage", period="month", starts_at=datetime.now(UTC), messages=7)


async def _seed_help_centre(w: _Writer, s: Seeded) -> None:
    s.kb_source = f"kb-{s.nonce}.md"
    document = await w.insert("kb_documents", source=s.kb_source, language="en")
    chunk = await w.insert(
        "kb_chunks",
        document_id=document["id"],
        ordinal=0,
        ts_config="english",
        # Words a search of the other shop's help centre would find, were it not kept apart.
        body=f"{s.marker('kb_chunks', 'body')} refund returns shipping delivery days order",
    )
    exists = await w.conn.execute("SELECT to_regclass('kb_chunk_embeddings') IS NOT NULL AS present")
    if (await exists.fetchone() or {}).get("present"):
        await w.insert("kb_chunk_embeddings", chunk_id=chunk["id"], embedding="[1,0,0]")


async def _seed_operator(conn: psycopg.AsyncConnection[Any], s: Seeded, hashed: str) -> None:
    """A shop admin of this tenant only (operators are the platform's: no row-level security)."""
    s.operator_email = f"admin-{s.nonce}@shop.example"
    cur = await conn.execute(
        "INSERT INTO operators (email, name, role, password_hash) VALUES (%s, %s, 'admin', %s) RETURNING id",
        (s.operator_email, s.marker("operators", "name"), hashed),
    )
    row = await cur.fetchone()
    assert row is not None
    s.operator_id = row["id"]
    await conn.execute(
        "INSERT INTO operator_memberships (operator_id, tenant_id, role) VALUES (%s, %s, 'admin')",
        (s.operator_id, s.tenant_id),
    )


async def _seed_conversation(w: _Writer, s: Seeded) -> None:
    s.thread_id = f"{s.tenant_id}:web:{secrets.token_hex(12)}"
    await w.insert(
        "conversations",
        thread_id=s.thread_id,
        channel="web",
        sender=s.customer_email,  # a customer the shop's site signed in: known by their email
        language="en",
        status="waiting",
        reason="human_requested",
        assignee_id=s.operator_id,
        last_customer_at=datetime.now(UTC),
        waiting_since=datetime.now(UTC),
    )
    await w.insert("messages", thread_id=s.thread_id, role="customer", status=None, meta=Jsonb({}))
    await w.insert(
        "messages", thread_id=s.thread_id, role="bot", status=None, meta=Jsonb({"note": s.marker("m", "meta")})
    )
    await w.insert("events", kind="message", thread_id=s.thread_id, data=Jsonb({"text": s.marker("events", "data")}))
    await w.insert("sender_controls", thread_id=f"{s.tenant_id}:whatsapp:{s.marker('sender_controls', 'thread')}")


async def _seed_delivery(w: _Writer, s: Seeded) -> None:
    inbox = await w.insert(
        "inbox",
        channel="whatsapp",
        thread_id=s.thread_id,
        sender=f"whatsapp:{s.customer_phone}",
        status="answered",
        answer=Jsonb({"answer": s.marker("inbox", "answer")}),
        error=None,
    )
    operator = await w.insert(
        "messages", thread_id=s.thread_id, role="operator", operator_id=s.operator_id, status="sent", meta=Jsonb({})
    )
    s.provider_id = "SM" + secrets.token_hex(16)
    await w.insert(
        "outbox",
        inbox_id=inbox["id"],
        part=0,
        channel="whatsapp",
        status="sent",
        provider_id=s.provider_id,
        thread_id=s.thread_id,
        message_id=operator["id"],
        error_code=None,
        error=None,
    )
    await w.insert("dev_mailbox")


async def _seed_verification(w: _Writer, s: Seeded) -> None:
    far = datetime(2100, 1, 1, tzinfo=UTC)
    await w.insert(
        "verification_codes", customer_id=s.customer_id, contact_kind="email", delivery="own", expires_at=far
    )
    await w.insert("verification_failures", customer_id=s.customer_id)
    await w.insert("verified_links", customer_id=s.customer_id, expires_at=far)


async def seed_web_thread(owner_url: str, seeded: Seeded, thread_id: str) -> str:
    """A web conversation of `seeded`'s tenant on `thread_id` holding an operator's reply (what
    `/chat/updates` shows its visitor); returns the reply's text."""
    text = seeded.marker("web_updates", "text")
    async with await psycopg.AsyncConnection.connect(owner_url, row_factory=dict_row) as conn, conn.transaction():
        await conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(seeded.tenant_id),))
        w = _Writer(conn, seeded)
        await w.insert("conversations", thread_id=thread_id, channel="web", status="human", reason=None)
        await w.insert("messages", thread_id=thread_id, role="operator", text=text, status="sent", meta=Jsonb({}))
    return text


async def rows_of_tenant(owner_url: str, tenant_id: UUID) -> dict[str, list[str]]:
    """Every row of the tenant in every tenant table, as JSON text, in a stable order (to compare
    before and after: nothing done for another tenant may change them)."""
    found: dict[str, list[str]] = {}
    async with await psycopg.AsyncConnection.connect(owner_url) as conn:
        for table in sorted(await tenant_tables(owner_url)):
            cur = await conn.execute(
                f"SELECT row_to_json(t)::text FROM {table} t WHERE tenant_id = %s",  # type: ignore[arg-type]
                (tenant_id,),
            )
            found[table] = sorted(str(r[0]) for r in await cur.fetchall())
    return found
