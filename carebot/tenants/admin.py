"""Platform administration of tenants: what `carebot tenants …` and `/admin/tenants` both do.

The input models validate once for both doors (the CLI builds the same models the API receives),
so a tenant made from the command line obeys the same rules as one made over HTTP. Secrets come
in here and leave only sealed (`TenantRegistry.add_channel`); what goes back out is their hints.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal, Self

from psycopg.errors import UniqueViolation
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from carebot.db.pool import Pool
from carebot.tenants.registry import SLUG_PATTERN, Channel, ChannelKind, Tenant, TenantExists, TenantRegistry

Language = Literal["en", "id", "es"]
"""The languages the bot answers in (its phrases, prompts and offline model know these)."""
Role = Literal["admin", "agent"]

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MESSAGING_SERVICE_SID = r"^MG[0-9a-fA-F]{32}$"
_ADDRESS = {
    "whatsapp": (
        re.compile(rf"{E164.pattern}|{MESSAGING_SERVICE_SID}"),
        "a number in E.164 (+14155550100) or a messaging service SID (MG…)",
    ),
    "discord": (re.compile(r"^\d{5,25}$"), "the Discord application id (digits)"),
    "web": (re.compile(r"^[A-Za-z0-9_-]{8,100}$"), "a site key of 8 to 100 letters, digits, - or _"),
}  # fmt: skip
# What each kind of channel needs (required, then optional), in config and in secrets.
_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "whatsapp": ({"account_sid", "auth_token"}, {"messaging_service_sid"}),
    "discord": ({"public_key", "bot_token"}, set()),
    "web": (set(), {"identity_secret"}),
}
_REQUIRED_COLUMNS = ("name", "languages", "default_language", "currency", "branding", "config")
_SECRET_FIELDS = ("auth_token", "bot_token", "identity_secret")
_CONFIG_FIELDS = ("account_sid", "messaging_service_sid", "public_key")


class UnknownTenant(LookupError):
    pass


class UnknownOperator(LookupError):
    pass


class InvalidTenantSettings(ValueError):
    """Settings that are each valid but do not fit together (or with what is stored)."""


class ProtectedTenant(ValueError):
    """The default tenant serves the old single-shop URLs: it cannot be disabled or deleted."""


class ChannelTaken(ValueError):
    """Another channel (of this or another tenant) already has this address: the provider's
    address is how a message finds its tenant, so it names one channel only."""


class TenantSettings(BaseModel):
    """What a platform admin may change on a tenant (every field optional: a change names only
    what changes)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    languages: list[Language] | None = Field(default=None, min_length=1, max_length=3)
    default_language: Language | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. USD")
    support_hours: dict[str, Any] | None = Field(
        default=None, description='{"timezone": "Asia/Jakarta", "days": {"mon": ["09:00", "17:00"], …}}'
    )
    branding: dict[str, Any] | None = Field(default=None, description='web chat: {"title", "colour", "logo_url", …}')
    config: dict[str, Any] | None = Field(default=None, description="not secret: policy, order API URL, templates")
    messages_per_month: int | None = Field(default=None, ge=0, description="monthly message quota (none: no quota)")
    messages_per_minute: int | None = Field(default=None, gt=0, description="rate limit (none: no limit)")

    @model_validator(mode="after")
    def _fits_the_columns(self) -> Self:
        if self.languages is not None and len(set(self.languages)) != len(self.languages):
            raise ValueError("languages lists a language twice")
        # Omitted means unchanged; null is a value only where "none" means something (quotas, hours).
        if nulls := sorted(f for f in _REQUIRED_COLUMNS if f in self.model_fields_set and getattr(self, f) is None):
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the caller set (a quota set to null is a change: no quota)."""
        return self.model_dump(include=self.model_fields_set)


class NewTenant(TenantSettings):
    slug: str = Field(pattern=SLUG_PATTERN, description="in URLs: /webhooks/whatsapp/{slug}")
    name: str = Field(min_length=1, max_length=200)  # type: ignore[assignment]  # required here


class NewChannel(BaseModel):
    """A channel as the provider names it, with what checking its signatures and answering on it
    needs. Secrets are write-only: they are sealed on the way in and shown only as hints."""

    model_config = ConfigDict(extra="forbid")

    kind: ChannelKind
    address: str = Field(min_length=1, max_length=100, description="WhatsApp number/MG SID, Discord app id, site key")
    account_sid: str | None = Field(default=None, pattern=r"^AC[0-9a-fA-F]{32}$", description="Twilio (sub)account")
    messaging_service_sid: str | None = Field(default=None, pattern=MESSAGING_SERVICE_SID)
    public_key: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$", description="Discord app's public key")
    auth_token: SecretStr | None = Field(default=None, min_length=8, description="Twilio auth token of account_sid")
    bot_token: SecretStr | None = Field(default=None, min_length=8, description="Discord bot token")
    identity_secret: SecretStr | None = Field(default=None, min_length=16, description="web identity JWT key")

    @model_validator(mode="after")
    def _fits_its_kind(self) -> Self:
        pattern, expected = _ADDRESS[self.kind]
        if not pattern.match(self.address):
            raise ValueError(f"a {self.kind} channel's address is {expected}")
        required, optional = _FIELDS[self.kind]
        given = {name for name in (*_CONFIG_FIELDS, *_SECRET_FIELDS) if getattr(self, name) is not None}
        if missing := sorted(required - given):
            raise ValueError(f"a {self.kind} channel needs {', '.join(missing)}")
        if foreign := sorted(given - required - optional):
            raise ValueError(f"a {self.kind} channel has no {', '.join(foreign)}")
        return self

    def config(self) -> dict[str, str]:
        return {name: value for name in _CONFIG_FIELDS if (value := getattr(self, name)) is not None}

    def secrets(self) -> dict[str, str]:
        return {name: value.get_secret_value() for name in _SECRET_FIELDS if (value := getattr(self, name)) is not None}


class Member(BaseModel):
    email: str
    name: str
    role: Role


class TenantAdmin:
    """Creates, changes and finds tenants for a platform admin (no tenant scope needed: these are
    the platform's tables)."""

    def __init__(self, pool: Pool, registry: TenantRegistry) -> None:
        self.pool = pool
        self.registry = registry

    async def require(self, slug: str) -> Tenant:
        """The tenant as stored now (not from another process's cache); UnknownTenant if none."""
        self.registry.forget()
        tenant = await self.registry.by_slug(slug)
        if tenant is None:
            raise UnknownTenant(f"no tenant with the slug {slug!r}")
        return tenant

    async def create(self, new: NewTenant) -> Tenant:
        fields = new.changes()
        fields.pop("slug", None)
        fields.pop("name", None)
        _check_default_language(new.languages or ["en", "id", "es"], new.default_language or "en")
        try:
            return await self.registry.add(slug=new.slug, name=new.name, **fields)
        except UniqueViolation:  # the same slug added at the same moment elsewhere
            raise TenantExists(f"a tenant with the slug {new.slug!r} already exists") from None

    async def update(self, slug: str, changes: TenantSettings) -> Tenant:
        tenant = await self.require(slug)
        fields = changes.changes()
        _check_default_language(
            fields.get("languages") or tenant.languages, fields.get("default_language") or tenant.default_language
        )
        updated = await self.registry.update(tenant.id, **fields)
        if updated is None:
            raise UnknownTenant(f"no tenant with the slug {slug!r}")
        return updated

    async def set_enabled(self, slug: str, enabled: bool) -> Tenant:
        tenant = await self.require(slug)
        if not enabled and tenant.is_default:
            raise ProtectedTenant("the default tenant serves the old URLs and cannot be disabled")
        updated = await self.registry.set_enabled(tenant.id, enabled)
        if updated is None:
            raise UnknownTenant(f"no tenant with the slug {slug!r}")
        return updated

    async def add_channel(self, slug: str, channel: NewChannel) -> Channel:
        tenant = await self.require(slug)
        try:
            return await self.registry.add_channel(
                tenant.id, channel.kind, channel.address, config=channel.config(), secrets=channel.secrets()
            )
        except UniqueViolation:
            raise ChannelTaken(f"the {channel.kind} address {channel.address} already belongs to a channel") from None

    async def remove_channel(self, slug: str, kind: ChannelKind, address: str) -> bool:
        tenant = await self.require(slug)
        return await self.registry.remove_channel(tenant.id, kind, address)

    async def grant(self, email: str, slug: str, role: Role) -> None:
        """Make an operator a member of a tenant with `role` (or change their role there)."""
        tenant = await self.require(slug)
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO operator_memberships (operator_id, tenant_id, role)"
                " SELECT id, %s, %s FROM operators WHERE email = %s"
                " ON CONFLICT (operator_id, tenant_id) DO UPDATE SET role = excluded.role",
                (tenant.id, role, email.strip().lower()),
            )
            if cur.rowcount == 0:
                raise UnknownOperator(f"no operator with the email {email}: add one with `carebot operators add`")

    async def revoke(self, email: str, slug: str) -> bool:
        tenant = await self.require(slug)
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM operator_memberships m USING operators o"
                " WHERE m.operator_id = o.id AND o.email = %s AND m.tenant_id = %s",
                (email.strip().lower(), tenant.id),
            )
            return cur.rowcount > 0

    async def members(self, tenant: Tenant) -> list[Member]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT o.email, o.name, m.role FROM operator_memberships m JOIN operators o ON o.id = m.operator_id"
                " WHERE m.tenant_id = %s ORDER BY o.email",
                (tenant.id,),
            )
            return [Member.model_validate(row) for row in await cur.fetchall()]


def _check_default_language(languages: Sequence[str], default_language: str) -> None:
    if default_language not in languages:
        raise InvalidTenantSettings(f"the default language {default_language!r} is not among the languages {languages}")


async def set_platform_admin(pool: Pool, email: str, on: bool) -> None:
    """Let an operator manage every tenant (`/admin/tenants`), or stop them; a shop's admin role
    is a membership, not this."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE operators SET platform_admin = %s WHERE email = %s", (on, email.strip().lower())
        )
        if cur.rowcount == 0:
            raise UnknownOperator(f"no operator with the email {email}: add one with `carebot operators add`")
