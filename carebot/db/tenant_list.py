"""The tenants a platform task (the sweep, retention, start-up embedding) walks, one scope each."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from carebot.db.pool import Pool
from carebot.db.scope import TenantRef, tenant_scope

T = TypeVar("T")
log = logging.getLogger(__name__)


async def all_tenants(pool: Pool, *, include_disabled: bool = True) -> list[TenantRef]:
    """Every tenant (the `tenants` table is the platform's: readable without a scope)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, slug FROM tenants WHERE %s OR disabled_at IS NULL ORDER BY created_at, slug",
            (include_disabled,),
        )
        return [TenantRef(row["id"], row["slug"]) for row in await cur.fetchall()]


async def for_each_tenant(pool: Pool, work: Callable[[], Awaitable[T]]) -> dict[TenantRef, T]:
    """Run `work` once in each tenant's scope; one tenant's failure does not stop the others'."""
    results: dict[TenantRef, T] = {}
    for tenant in await all_tenants(pool):
        with tenant_scope(tenant):
            try:
                results[tenant] = await work()
            except Exception:
                log.exception("tenant_task_failed", extra={"tenant": tenant.slug})
    return results
