"""Which tenant a provider's request is for, decided from what the provider signed.

A webhook names its shop in the URL (`/webhooks/whatsapp/{slug}`), but the URL is not what makes
the request the shop's: a shop holding its own Twilio token could sign a payload naming another
shop's number and post it to its own route. So the payload's own addresses must be the tenant's
channels too: for WhatsApp the number Twilio delivered to (`To`, or the messaging service), with
the owning `AccountSid`; for Discord the application id; for the web chat the site key.
"""

from __future__ import annotations

from uuid import UUID

from carebot.tenants.registry import Channel, Tenant, TenantRegistry

WHATSAPP_PREFIX = "whatsapp:"


class UnknownTenant(LookupError):
    """No tenant has this slug or site key (the API answers 404)."""


class TenantDisabled(PermissionError):
    """The tenant exists but is switched off (the API answers 403)."""


async def enabled_tenant(registry: TenantRegistry, slug: str) -> Tenant:
    """The tenant a route's slug names, if it is switched on."""
    tenant = await registry.by_slug(slug)
    if tenant is None:
        raise UnknownTenant(f"no shop is called {slug!r}")
    if not tenant.enabled:
        raise TenantDisabled(f"the shop {slug!r} is disabled")
    return tenant


def whatsapp_address(value: str) -> str:
    """A WhatsApp address as channels store it: `whatsapp:+14155238886` → `+14155238886`."""
    return value.strip().removeprefix(WHATSAPP_PREFIX)


async def whatsapp_channel(
    registry: TenantRegistry, tenant_id: UUID, *, number: str, messaging_service_sid: str = ""
) -> Channel | None:
    """The tenant's WhatsApp channel a Twilio payload names: by the shop's number first, then by
    the messaging service (lookups by messaging service alone have failed for others: PROTOCOLS.md,
    "Tenancy in Postgres"). None when the payload names none of this tenant's channels."""
    channels = await registry.channels(tenant_id, "whatsapp")
    address = whatsapp_address(number)
    by_number = next((c for c in channels if address and whatsapp_address(c.address) == address), None)
    if by_number is not None or not messaging_service_sid:
        return by_number
    if address and await registry.channel("whatsapp", address) is not None:
        return None  # the number is another shop's: its own service cannot vouch for it
    return next(
        (c for c in channels if messaging_service_sid in (c.address, c.config.get("messaging_service_sid"))),
        None,
    )


def owned_by_account(channel: Channel, account_sid: str) -> bool:
    """The payload's `AccountSid` is the account the channel's number belongs to."""
    expected = channel.config.get("account_sid")
    return bool(account_sid) and isinstance(expected, str) and expected == account_sid


async def discord_channel(registry: TenantRegistry, tenant_id: UUID) -> Channel | None:
    """The tenant's Discord application (one per tenant: its public key checks the signature)."""
    channels = await registry.channels(tenant_id, "discord")
    return channels[0] if channels else None


async def web_site(registry: TenantRegistry, site_key: str) -> tuple[Tenant, Channel]:
    """The tenant a web chat site key names, and its web channel, if the tenant is switched on."""
    channel = await registry.channel("web", site_key) if site_key else None
    tenant = await registry.get(channel.tenant_id) if channel is not None else None
    if channel is None or tenant is None:
        raise UnknownTenant("no shop has this site key")
    if not tenant.enabled:
        raise TenantDisabled(f"the shop {tenant.slug!r} is disabled")
    return tenant, channel
