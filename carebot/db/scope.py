"""Which tenant the running code works for: a context variable every database checkout reads.

Entry points open a scope (a webhook from what the provider signed, a job from its thread id, an
operator request from the session's shop, a CLI command from `--tenant`); everything they await
inherits it, including tasks they start. The pool (`db/pool.py`) turns it into the transaction
setting the row-level security policies read, so a query without a scope sees no tenant's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from uuid import UUID

# The deployment's first tenant (migration 0012): what a single-shop install always was.
DEFAULT_TENANT_ID = UUID("00000000-0000-0000-0000-000000000001")
DEFAULT_TENANT_SLUG = "default"


class NoTenantScope(RuntimeError):
    """Tenant-owned data was asked for outside any tenant's scope (a bug: every entry point opens one)."""


@dataclass(frozen=True, slots=True)
class TenantRef:
    """A tenant as the database knows it: the id its rows carry, and (where known) the slug in its
    URLs, for logs."""

    id: UUID
    slug: str = ""


DEFAULT_TENANT = TenantRef(DEFAULT_TENANT_ID, DEFAULT_TENANT_SLUG)

_current: ContextVar[TenantRef | None] = ContextVar("carebot_tenant", default=None)


def scoped_tenant() -> TenantRef | None:
    """The tenant of the running code, None outside any scope."""
    return _current.get()


def current_tenant() -> TenantRef:
    """The tenant of the running code; raises NoTenantScope outside any scope."""
    tenant = _current.get()
    if tenant is None:
        raise NoTenantScope("no tenant scope is open (open one with carebot.db.scope.tenant_scope)")
    return tenant


@contextmanager
def tenant_scope(tenant: TenantRef | None) -> Iterator[TenantRef | None]:
    """Work for `tenant` inside the block (None: for no tenant, e.g. a platform task)."""
    token = _current.set(tenant)
    try:
        yield tenant
    finally:
        _current.reset(token)


def enter_tenant(tenant: TenantRef | None) -> None:
    """Work for `tenant` from here to the end of the running task (a request's dependency: each
    request runs in a task of its own, so the scope ends with it)."""
    _current.set(tenant)
