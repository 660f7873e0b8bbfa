"""Export, then hard delete, of one tenant of two, checked against every table that can hold a
tenant's data — read from the database catalogue, so a table added later without seeding here
fails the test rather than escaping it."""

from __future__ import annotations

import json
import uuid
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.types.json import Jsonb

from carebot.composition import open_database, open_tenants
from carebot.db.scope import tenant_scope
from carebot.tenants.admin import NewChannel, NewTenant, TenantAdmin
from tests.conftest import settings_for
from tests.test_channels import serving

ADMIN_TOKEN = "platform-automation-token-0123456789"
# Besides every table with a tenant_id: where a tenant lives only in a thread id.
THREAD_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")
QUEUE_TABLES = ("procrastinate_jobs", "procrastinate_events")

pytestmark = pytest.mark.slow


def tenant_tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
        " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attname = 'tenant_id'"
        " ORDER BY c.relname"
    ).fetchall()
    return [r[0] for r in rows]


def counts(conn: psycopg.Connection[Any], tenant: UUID) -> dict[str, int]:
    """Rows of `tenant` in every table that can hold them, read as the owner (who sees every row)."""
    prefix = f"{tenant}:"
    found = {
        table: conn.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", (tenant,)).fetchone()[0]  # type: ignore[index]
        for table in tenant_tables(conn)
    }
    for table in THREAD_TABLES:
        found[table] = conn.execute(
            f"SELECT count(*) FROM {table} WHERE starts_with(thread_id, %s)",  # type: ignore[arg-type]
            (prefix,),
        ).fetchone()[0]  # type: ignore[index]
    jobs = "SELECT id FROM procrastinate_jobs WHERE starts_with(args->>'thread_id', %s)"
    found["procrastinate_jobs"] = conn.execute(f"SELECT count(*) FROM ({jobs}) j", (prefix,)).fetchone()[0]  # type: ignore[index]
    found["procrastinate_events"] = conn.execute(
        f"SELECT count(*) FROM procrastinate_events WHERE job_id IN ({jobs})",  # type: ignore[arg-type]
        (prefix,),
    ).fetchone()[0]  # type: ignore[index]
    return found


def seed(conn: psycopg.Connection[Any], tenant: UUID, marker: str, operator_id: int) -> None:
    """One row (or more) carrying `marker` in every table that can hold a tenant's data, written as
    the owner in the tenant's setting (so triggers that log events file them under it)."""
    t, thread = str(tenant), f"{tenant}:web:{marker}"
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (t,))

    def one(query: str, *params: Any) -> Any:
        cur = conn.execute(query, params)  # type: ignore[arg-type]  # test queries
        row = cur.fetchone() if cur.description else None
        return row[0] if row else None

    customer = one(
        "INSERT INTO customers (tenant_id, name, email) VALUES (%s, %s, %s) RETURNING id",
        t,
        marker,
        f"{marker}@x.example",
    )
    one("INSERT INTO products (tenant_id, id, name) VALUES (%s, %s, %s)", t, f"p-{marker}", marker)
    one(
        "INSERT INTO product_variants (tenant_id, id, product_id, price) VALUES (%s, %s, %s, 1)",
        t,
        f"v-{marker}",
        f"p-{marker}",
    )
    one(
        "INSERT INTO payment_methods (tenant_id, id, customer_id, kind, label) VALUES (%s, %s, %s, 'card', %s)",
        t,
        f"pm-{marker}",
        customer,
        marker,
    )
    order = one(
        "INSERT INTO orders (tenant_id, number, customer_id, status, items, total, currency, created_at)"
        " VALUES (%s, %s, %s, 'pending', %s, 1, 'USD', now()) RETURNING id",
        t,
        f"N-{marker}",
        customer,
        Jsonb([{"name": marker}]),
    )
    one(
        "INSERT INTO order_payments (tenant_id, order_id, position, payment_method_id, amount, kind)"
        " VALUES (%s, %s, 0, %s, 1, 'payment')",
        t,
        order,
        f"pm-{marker}",
    )
    one(
        "INSERT INTO order_actions (tenant_id, idempotency_key, order_id, kind, actor, request, before, after,"
        " thread_id)"
        " VALUES (%s, %s, %s, 'cancel', 'bot', %s, '{}', '{}', %s)",
        t,
        marker,
        order,
        Jsonb({"why": marker}),
        thread,
    )
    one(
        "INSERT INTO order_api_requests (tenant_id, idempotency_key, plan) VALUES (%s, %s, %s)",
        t,
        marker,
        Jsonb({"m": marker}),
    )
    one(
        "INSERT INTO shipment_events (tenant_id, order_id, happened_at, status, description)"
        " VALUES (%s, %s, now(), 'shipped', %s)",
        t,
        order,
        marker,
    )
    document = one(
        "INSERT INTO kb_documents (tenant_id, source, title, language, content_hash) VALUES (%s, %s, %s, 'en', %s)"
        " RETURNING id",
        t,
        f"{marker}.md",
        marker,
        marker,
    )
    chunk = one(
        "INSERT INTO kb_chunks (tenant_id, document_id, ordinal, body, ts_config)"
        " VALUES (%s, %s, 0, %s, 'english') RETURNING id",
        t,
        document,
        marker,
    )
    if "kb_chunk_embeddings" in tenant_tables(conn):
        one(
            "INSERT INTO kb_chunk_embeddings (tenant_id, chunk_id, model, embedding) VALUES (%s, %s, %s, '[1,0,0]')",
            t,
            chunk,
            marker,
        )
    one(
        "INSERT INTO conversations (tenant_id, thread_id, channel, sender) VALUES (%s, %s, 'web', %s)",
        t,
        thread,
        marker,
    )
    one("INSERT INTO messages (tenant_id, thread_id, role, text) VALUES (%s, %s, 'customer', %s)", t, thread, marker)
    inbox = one(
        "INSERT INTO inbox (tenant_id, channel, external_id, thread_id, sender, body)"
        " VALUES (%s, 'web', %s, %s, %s, %s) RETURNING id",
        t,
        marker,
        thread,
        marker,
        marker,
    )
    one(
        "INSERT INTO outbox (tenant_id, inbox_id, part, channel, recipient, body, thread_id)"
        " VALUES (%s, %s, 0, 'web', %s, %s, %s)",
        t,
        inbox,
        marker,
        marker,
        thread,
    )
    one(
        "INSERT INTO events (tenant_id, kind, thread_id, data) VALUES (%s, 'message', %s, %s)",
        t,
        thread,
        Jsonb({"m": marker}),
    )
    one(
        "INSERT INTO verification_codes (tenant_id, sender_key, contact_kind, delivery, expires_at, code_hash)"
        " VALUES (%s, %s, 'email', 'own', now() + interval '1 hour', %s)",
        t,
        thread,
        f"hash-{marker}",
    )
    one("INSERT INTO verification_failures (tenant_id, sender_key) VALUES (%s, %s)", t, thread)
    one(
        "INSERT INTO verified_links (tenant_id, sender_key, customer_id, expires_at)"
        " VALUES (%s, %s, %s, now() + interval '1 day')",
        t,
        thread,
        customer,
    )
    one(
        "INSERT INTO dev_mailbox (tenant_id, recipient, subject, body) VALUES (%s, %s, %s, %s)",
        t,
        marker,
        marker,
        marker,
    )
    one("INSERT INTO sender_controls (tenant_id, thread_id, opted_out_at) VALUES (%s, %s, now())", t, thread)
    one("INSERT INTO tenant_usage (tenant_id, period, starts_at, messages) VALUES (%s, 'month', now(), 7)", t)
    one("INSERT INTO operator_memberships (operator_id, tenant_id, role) VALUES (%s, %s, 'agent')", operator_id, t)
    one(
        "INSERT INTO operator_sessions (token_hash, operator_id, expires_at, tenant_id)"
        " VALUES (%s, %s, now() + interval '1 day', %s)",
        f"session-{marker}",
        operator_id,
        t,
    )
    one(
        "INSERT INTO checkpoints (thread_id, checkpoint_id, checkpoint) VALUES (%s, '1', %s)",
        thread,
        Jsonb({"m": marker}),
    )
    one(
        "INSERT INTO checkpoint_blobs (thread_id, channel, version, type, blob)"
        " VALUES (%s, 'messages', '1', 'json', %s)",
        thread,
        marker.encode(),
    )
    one(
        "INSERT INTO checkpoint_writes (thread_id, checkpoint_id, task_id, idx, channel, blob)"
        " VALUES (%s, '1', 't', 0, 'messages', %s)",
        thread,
        marker.encode(),
    )
    one(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, queueing_lock, args)"
        " VALUES ('turns', 'answer', %s, %s, %s)",
        f"turn:{thread}",
        f"turn:{thread}",
        Jsonb({"thread_id": thread}),
    )


async def two_tenants(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Tenants A and B (made as a platform admin would), each with a web channel holding a secret."""
    made = []
    async with open_database(settings_for(url)) as pool:
        with tenant_scope(None):
            admin = TenantAdmin(pool, await open_tenants(settings_for(url), pool))
            for name in ("a", "b"):
                marker = f"MARK{name.upper()}{uuid.uuid4().hex[:10]}"
                tenant = await admin.create(NewTenant(slug=f"shop-{name}-{marker[5:].lower()}", name=f"Shop {marker}"))
                secret = f"identity-secret-{marker}"
                await admin.add_channel(
                    tenant.slug,
                    NewChannel(kind="web", address=f"site-{marker}", identity_secret=secret),  # type: ignore[arg-type]
                )
                made.append({"tenant": tenant, "marker": marker, "secret": secret})
    return made[0], made[1]


async def test_exporting_then_deleting_a_tenant_leaves_none_of_its_rows_anywhere_and_the_other_untouched(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    a, b = await two_tenants(url)
    with psycopg.connect(url) as conn:
        operator_id = conn.execute(
            "INSERT INTO operators (email, name, role, password_hash) VALUES ('both@x.example', 'Both', 'agent', 'x')"
            " RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        for side in (a, b):
            with conn.transaction():
                seed(conn, side["tenant"].id, side["marker"], operator_id)
        before_a, before_b = counts(conn, a["tenant"].id), counts(conn, b["tenant"].id)
    for side, found in ((a, before_a), (b, before_b)):
        empty = sorted(table for table, n in found.items() if n == 0)
        assert not empty, f"no row of tenant {side['tenant'].slug} in {empty}: seed every tenant table in this test"

    # No start-up embedding: it would add embeddings to B's seeded chunk while the test runs.
    settings = settings_for(url, admin_token=ADMIN_TOKEN, embeddings="none")
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with serving(settings, with_worker=False) as client:
        exported = await client.get(f"/admin/tenants/{a['tenant'].slug}/export", headers=bearer)
        assert exported.status_code == 200
        assert "attachment" in exported.headers["content-disposition"]
        document, text = exported.json(), exported.text
        assert b["marker"] not in text, "tenant B's data leaked into A's export"
        assert a["secret"] not in text and f"hash-{a['marker']}" not in text, "a secret or code hash was exported"
        for section in (
            "customers",
            "catalogue",
            "orders",
            "help_centre",
            "conversations",
            "inbox",
            "outbox",
            "verified_links",
            "channels",
        ):
            assert document[section], f"{section} is empty in the export"
        assert a["marker"] in json.dumps(document["conversations"][0]["messages"])
        assert a["marker"] in json.dumps(document["orders"][0]["shipment_events"])
        assert document["customers"][0]["payment_methods"][0]["label"] == a["marker"]
        assert document["orders"][0]["payments"][0]["amount"] == "1.00"  # exact, as the shop files write it
        assert document["channels"][0]["hints"] == {"identity_secret": "…" + a["secret"][-4:]}

        refused = await client.delete(f"/admin/tenants/{a['tenant'].slug}", headers=bearer)
        assert refused.status_code == 409, "an enabled tenant must be disabled before it is deleted"
        assert (await client.post(f"/admin/tenants/{a['tenant'].slug}/disable", headers=bearer)).status_code == 200
        deleted = await client.delete(f"/admin/tenants/{a['tenant'].slug}", headers=bearer)
        assert deleted.status_code == 200
        assert deleted.json()["rows"]["checkpoints"] == before_a["checkpoints"]
        gone = await client.get(f"/admin/tenants/{a['tenant'].slug}", headers=bearer)
        assert gone.status_code == 404

    with psycopg.connect(url) as conn:
        after_a, after_b = counts(conn, a["tenant"].id), counts(conn, b["tenant"].id)
        assert conn.execute("SELECT count(*) FROM tenants WHERE id = %s", (a["tenant"].id,)).fetchone()[0] == 0  # type: ignore[index]
        operator_left = conn.execute("SELECT count(*) FROM operators WHERE id = %s", (operator_id,)).fetchone()[0]  # type: ignore[index]
    assert {table: n for table, n in after_a.items() if n} == {}
    assert after_b == before_b
    assert operator_left == 1, "an operator account is the platform's: it stays (it may belong to other shops)"
