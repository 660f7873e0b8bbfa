"""The HTTP answers for a channel route's tenant: 404 for a shop that does not exist, 403 for
one that is switched off (shared by the WhatsApp, Discord and web chat routes)."""

from __future__ import annotations

from fastapi import HTTPException, status

from carebot.tenants.channels import TenantDisabled, UnknownTenant, enabled_tenant, web_site
from carebot.tenants.registry import Channel, Tenant, TenantRegistry


async def route_tenant(registry: TenantRegistry, slug: str) -> Tenant:
    """The enabled tenant a route's `{tenant}` slug names."""
    try:
        return await enabled_tenant(registry, slug)
    except UnknownTenant as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except TenantDisabled as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None


async def site_tenant(registry: TenantRegistry, site_key: str) -> tuple[Tenant, Channel]:
    """The enabled tenant a web chat site key names, and its web channel."""
    try:
        return await web_site(registry, site_key)
    except UnknownTenant as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except TenantDisabled as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
