"""A tenant's data as one JSON document (`carebot tenants export`, `GET /admin/tenants/{slug}/export`):
what a shop leaving the platform, or asking what is held about it, takes away.

Every tenant-owned row is read inside the tenant's scope, so row-level security decides what is
read: a query here that forgot its tenant would still see only this tenant's rows. Secrets are not
exported (channels show their hints), nor one-time code hashes, password hashes or search vectors;
LangGraph's checkpoints are the graph's working state, and the conversation they hold is the
transcript (`messages`). Amounts and other non-integer numbers come out as decimal strings, as in
the shop files, never as rounded floats.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from carebot.db.scope import tenant_scope
from carebot.tenants.admin import TenantAdmin
from carebot.tenants.registry import Tenant

EXPORT_FORMAT = "carebot-tenant-export/1"

# Section → one query yielding a `doc` (jsonb) per row, related rows nested. Tables are read
# without a tenant WHERE on purpose: the scope's policy is what filters them.
_SECTIONS: dict[str, str] = {
    "customers": """
        SELECT to_jsonb(c) - 'tenant_id' || jsonb_build_object('payment_methods', (
                   SELECT coalesce(jsonb_agg(to_jsonb(p) - 'tenant_id' ORDER BY p.id), '[]')
                   FROM payment_methods p WHERE p.customer_id = c.id)) AS doc
        FROM customers c ORDER BY c.id""",
    "catalogue": """
        SELECT to_jsonb(p) - 'tenant_id' || jsonb_build_object('variants', (
                   SELECT coalesce(jsonb_agg(to_jsonb(v) - 'tenant_id' ORDER BY v.id), '[]')
                   FROM product_variants v WHERE v.product_id = p.id)) AS doc
        FROM products p ORDER BY p.id""",
    "orders": """
        SELECT to_jsonb(o) - 'tenant_id' || jsonb_build_object(
                   'payments', (SELECT coalesce(jsonb_agg(to_jsonb(x) - 'tenant_id' ORDER BY x.position, x.id), '[]')
                                FROM order_payments x WHERE x.order_id = o.id),
                   'actions', (SELECT coalesce(jsonb_agg(to_jsonb(x) - 'tenant_id' ORDER BY x.id), '[]')
                               FROM order_actions x WHERE x.order_id = o.id),
                   'shipment_events', (
                       SELECT coalesce(jsonb_agg(to_jsonb(x) - 'tenant_id' ORDER BY x.happened_at, x.id), '[]')
                       FROM shipment_events x WHERE x.order_id = o.id)) AS doc
        FROM orders o ORDER BY o.id""",
    "order_api_requests": "SELECT to_jsonb(r) - 'tenant_id' AS doc FROM order_api_requests r ORDER BY r.at",
    "help_centre": """
        SELECT to_jsonb(d) - 'tenant_id' || jsonb_build_object('chunks', (
                   SELECT coalesce(jsonb_agg(to_jsonb(c) - 'tenant_id' - 'tsv' ORDER BY c.ordinal), '[]')
                   FROM kb_chunks c WHERE c.document_id = d.id)) AS doc
        FROM kb_documents d ORDER BY d.id""",
    "conversations": """
        SELECT to_jsonb(c) - 'tenant_id' || jsonb_build_object('messages', (
                   SELECT coalesce(jsonb_agg(to_jsonb(m) - 'tenant_id' ORDER BY m.id), '[]')
                   FROM messages m WHERE m.thread_id = c.thread_id)) AS doc
        FROM conversations c ORDER BY c.thread_id""",
    "inbox": "SELECT to_jsonb(i) - 'tenant_id' AS doc FROM inbox i ORDER BY i.id",
    "outbox": "SELECT to_jsonb(o) - 'tenant_id' AS doc FROM outbox o ORDER BY o.id",
    "verified_links": "SELECT to_jsonb(v) - 'tenant_id' AS doc FROM verified_links v ORDER BY v.verified_at",
    "verification_codes": (
        "SELECT to_jsonb(v) - 'tenant_id' - 'code_hash' AS doc FROM verification_codes v ORDER BY v.id"
    ),
    "opt_outs": "SELECT to_jsonb(s) - 'tenant_id' AS doc FROM sender_controls s ORDER BY s.thread_id",
}


async def export_tenant(admin: TenantAdmin, tenant: Tenant) -> dict[str, Any]:
    """Everything stored for `tenant`, as JSON-ready values (its rows read in one transaction)."""
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": datetime.now(UTC).isoformat(),
        "tenant": tenant.model_dump(mode="json"),
        "channels": [
            c.model_dump(mode="json", exclude={"tenant_id"}) for c in await admin.registry.channels(tenant.id)
        ],
        "operators": [m.model_dump() for m in await admin.members(tenant)],
    }
    with tenant_scope(tenant.ref):
        async with admin.pool.connection() as conn:
            for section, query in _SECTIONS.items():
                document[section] = await _documents(conn, query)
    return document


async def _documents(conn: AsyncConnection[DictRow], query: str) -> list[Any]:
    cur = await conn.execute(
        f"SELECT coalesce(jsonb_agg(s.doc), '[]')::text AS docs FROM ({query}) AS s"  # type: ignore[arg-type]  # fixed queries above
    )
    row = await cur.fetchone()
    assert row is not None
    # Parsed here rather than by psycopg so that numeric amounts stay exact (as strings).
    docs: list[Any] = json.loads(row["docs"], parse_float=str)
    return docs
