"""Hard delete of a tenant: every row it owns, in one transaction.

Deleting the `tenants` row removes every tenant-owned table's rows (their `tenant_id` references it
ON DELETE CASCADE; a cascade is run by the table owner's referential trigger, so row-level security
does not hide rows from it), its channels and its operators' memberships. What carries the tenant
only inside a thread id is deleted by that prefix first: LangGraph's checkpoints and the job
queue's jobs (their events cascade; procrastinate unlinks periodic defers itself). Browser
sessions working in the shop are ended. Operator accounts are the platform's and stay (an
operator may belong to other shops).

A tenant must be disabled first: a disabled tenant's channels are refused, so no new message is
landing while its rows go, and the two-step order makes deleting the wrong shop harder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from psycopg import AsyncConnection, sql
from psycopg.rows import DictRow

from carebot.db.pool import Pool
from carebot.db.scope import tenant_scope
from carebot.tenants.admin import ProtectedTenant
from carebot.tenants.registry import Tenant

# Tables that carry the tenant only in a thread id (`<tenant uuid>:<channel>:<hash>`).
_CHECKPOINT_TABLES = ("checkpoint_writes", "checkpoint_blobs", "checkpoints")


class TenantStillEnabled(ValueError):
    """Deleting an enabled tenant is refused: disable it first."""


@dataclass(slots=True)
class DeletionReport:
    tenant: str
    rows: dict[str, int] = field(default_factory=dict)
    """Rows deleted per table (tables with none left out)."""


async def tenant_tables(conn: AsyncConnection[DictRow]) -> list[str]:
    """Every table in `public` with a `tenant_id` column, from the catalogue (so a table added
    later is covered without a list to update)."""
    cur = await conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
        " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
        " AND a.attname = 'tenant_id' AND NOT a.attisdropped ORDER BY c.relname"
    )
    return [row["relname"] for row in await cur.fetchall()]


async def delete_tenant(pool: Pool, tenant: Tenant) -> DeletionReport:
    """Delete `tenant` and everything it owns; refuses the default tenant and an enabled one."""
    if tenant.is_default:
        raise ProtectedTenant("the default tenant serves the old URLs and cannot be deleted")
    if tenant.enabled:
        raise TenantStillEnabled(f"disable the tenant {tenant.slug!r} first (`carebot tenants disable {tenant.slug}`)")
    report = DeletionReport(tenant=tenant.slug)
    # In the tenant's scope (one transaction) so that counting its rows sees them; the cascade
    # itself would reach them in any scope.
    with tenant_scope(tenant.ref):
        async with pool.connection() as conn:
            prefix = f"{tenant.id}:"
            for table in _CHECKPOINT_TABLES:
                await _count(report, table, conn, "DELETE FROM {} WHERE starts_with(thread_id, %s)", table, prefix)
            await _count(
                report,
                "procrastinate_jobs",
                conn,
                "DELETE FROM {} WHERE starts_with(args->>'thread_id', %s) OR args->>'tenant_id' = %s",
                "procrastinate_jobs",
                prefix,
                str(tenant.id),
            )
            await _count(
                report, "operator_sessions", conn, "DELETE FROM {} WHERE tenant_id = %s", "operator_sessions", tenant.id
            )
            for table in await tenant_tables(conn):
                await _count(report, table, conn, "SELECT count(*) AS n FROM {} WHERE tenant_id = %s", table, tenant.id)
            await conn.execute("DELETE FROM tenants WHERE id = %s", (tenant.id,))
    return report


async def _count(
    report: DeletionReport, name: str, conn: AsyncConnection[DictRow], query: str, table: str, *params: object
) -> None:
    cur = await conn.execute(sql.SQL(query).format(sql.Identifier(table)), params)  # type: ignore[arg-type]  # fixed queries above
    found = (await cur.fetchone() or {}).get("n", 0) if cur.description else cur.rowcount
    if found:
        report.rows[name] = report.rows.get(name, 0) + found
