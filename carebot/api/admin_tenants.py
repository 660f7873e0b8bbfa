"""`/admin/tenants`: the platform's shops, for platform admins only.

A platform admin is an operator whose account has `platform_admin` (`carebot tenants
platform-admin EMAIL`), or automation holding `ADMIN_TOKEN`. A shop's own admin is not one: their
role is a membership of that shop, and this API reaches every shop. The routes run in no tenant's
scope (they work on the platform's tables); export opens the tenant's own scope to read its rows.
Channel secrets are write-only: responses show each secret's last four characters (`hints`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Self

from fastapi import APIRouter, Depends, HTTPException, Path, Response, status
from pydantic import BaseModel, model_validator

from carebot.api.deps import ComponentsDep
from carebot.api.operator_auth import OperatorDep
from carebot.delivery.sanitise import clean_json
from carebot.desk.operators import Operator
from carebot.desk.stats import TenantStats, tenant_stats
from carebot.tenants.admin import (
    ChannelTaken,
    InvalidTenantSettings,
    Member,
    NewChannel,
    NewTenant,
    ProtectedTenant,
    TenantAdmin,
    TenantSettings,
    UnknownTenant,
)
from carebot.tenants.deletion import TenantStillEnabled, delete_tenant
from carebot.tenants.export import export_tenant
from carebot.tenants.registry import SLUG_PATTERN, Channel, ChannelKind, Tenant, TenantExists


async def require_platform_admin(operator: OperatorDep, components: ComponentsDep) -> Operator:
    """The admin token, or a signed-in operator with platform rights (403 for anyone else)."""
    if operator.id is None:  # automation with ADMIN_TOKEN
        return operator
    async with components.pool.connection() as conn:
        cur = await conn.execute("SELECT platform_admin FROM operators WHERE id = %s", (operator.id,))
        row = await cur.fetchone()
    if not (row and row["platform_admin"]):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only platform admins manage tenants")
    return operator


router = APIRouter(prefix="/admin/tenants", tags=["tenants"], dependencies=[Depends(require_platform_admin)])
SlugPath = Annotated[str, Path(pattern=SLUG_PATTERN, description="the tenant's slug")]
AddressPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_+-]{1,100}$", description="the channel's address")]


async def get_admin(components: ComponentsDep) -> TenantAdmin:
    return TenantAdmin(components.pool, components.tenants)


AdminDep = Annotated[TenantAdmin, Depends(get_admin)]


class _Storable(BaseModel):
    @model_validator(mode="after")
    def _storable(self) -> Self:
        values = self.model_dump()
        if clean_json(values) != values:
            raise ValueError("must not contain NUL bytes or lone surrogates (Postgres cannot store them)")
        return self


class TenantIn(NewTenant, _Storable):
    pass


class TenantChanges(TenantSettings, _Storable):
    pass


class ChannelIn(NewChannel, _Storable):
    pass


class TenantDetail(Tenant):
    channels: list[Channel]
    """Each with `hints` (the last four characters of each secret), never the secrets."""
    operators: list[Member]


class DeletionOut(BaseModel):
    tenant: str
    rows: dict[str, int]
    """Rows deleted per table."""


@contextmanager
def refusals() -> Iterator[None]:
    """The service's refusals as HTTP answers."""
    try:
        yield
    except UnknownTenant as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except (TenantExists, ChannelTaken, ProtectedTenant, TenantStillEnabled) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except InvalidTenantSettings as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@router.get("")
async def list_tenants(admin: AdminDep) -> list[Tenant]:
    return await admin.registry.list()


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_tenant(body: TenantIn, admin: AdminDep) -> Tenant:
    """A new tenant (409 when the slug is taken)."""
    with refusals():
        return await admin.create(body)


@router.get("/{slug}")
async def show_tenant(slug: SlugPath, admin: AdminDep) -> TenantDetail:
    with refusals():
        tenant = await admin.require(slug)
    return TenantDetail(
        **tenant.model_dump(),
        channels=await admin.registry.channels(tenant.id),
        operators=await admin.members(tenant),
    )


@router.get("/{slug}/stats")
async def stats(slug: SlugPath, admin: AdminDep) -> TenantStats:
    """The tenant's month so far: customer messages against its quota, conversations, hand-overs,
    actions, conversations with a person."""
    with refusals():
        tenant = await admin.require(slug)
    return await tenant_stats(admin.pool, tenant)


@router.patch("/{slug}")
async def update_tenant(slug: SlugPath, body: TenantChanges, admin: AdminDep) -> Tenant:
    """Change the fields given (name, languages, branding, support hours, quotas, config)."""
    with refusals():
        return await admin.update(slug, body)


@router.post("/{slug}/disable")
async def disable_tenant(slug: SlugPath, admin: AdminDep) -> Tenant:
    """Stop serving the tenant; its data stays until it is deleted."""
    with refusals():
        return await admin.set_enabled(slug, False)


@router.post("/{slug}/enable")
async def enable_tenant(slug: SlugPath, admin: AdminDep) -> Tenant:
    with refusals():
        return await admin.set_enabled(slug, True)


@router.post("/{slug}/channels", status_code=status.HTTP_201_CREATED)
async def add_channel(slug: SlugPath, body: ChannelIn, admin: AdminDep) -> Channel:
    """Add a channel; its secrets are sealed and only their hints come back (409 when another
    channel has the address)."""
    with refusals():
        return await admin.add_channel(slug, body)


@router.delete("/{slug}/channels/{kind}/{address}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_channel(slug: SlugPath, kind: ChannelKind, address: AddressPath, admin: AdminDep) -> None:
    with refusals():
        removed = await admin.remove_channel(slug, kind, address)
    if not removed:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{slug} has no {kind} channel {address}")


@router.get("/{slug}/export", response_class=Response)
async def export(slug: SlugPath, admin: AdminDep) -> Response:
    """Everything stored for the tenant, as a JSON download (the format `carebot tenants export` writes)."""
    with refusals():
        tenant = await admin.require(slug)
    document = await export_tenant(admin, tenant)
    return Response(
        json.dumps(document, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{tenant.slug}-export.json"'},
    )


@router.delete("/{slug}")
async def delete(slug: SlugPath, admin: AdminDep) -> DeletionOut:
    """Delete a disabled tenant and every row it owns (409 while it is enabled, and for the default
    tenant); there is no undo: export it first."""
    with refusals():
        report = await delete_tenant(admin.pool, await admin.require(slug))
    admin.registry.forget()
    return DeletionOut(tenant=report.tenant, rows=report.rows)
