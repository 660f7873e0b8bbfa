"""The tenants and their channels, as stored (`tenants`, `tenant_channels`; migration 0012).

These are the platform's tables, readable without a tenant scope: a webhook finds its tenant here
from what the provider signed before any tenant-owned row is touched. Secrets are stored sealed
(`tenants/secrets.py`) and only ever come back through `secrets_of`.
"""

from __future__ import annotations

import builtins
import time
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from cryptography.fernet import InvalidToken
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from carebot.db.pool import Pool
from carebot.db.scope import DEFAULT_TENANT_ID, TenantRef
from carebot.tenants.secrets import SecretBox, SecretsUnreadable, hint

ChannelKind = Literal["whatsapp", "discord", "web"]
SLUG_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$"
# A tenant read within this many seconds is not read again: a turn asks for it several times, and
# a change through the CLI or /admin/tenants reaches every process within it.
_CACHE_SECONDS = 5.0


class Tenant(BaseModel):
    """A shop on this deployment (secrets excluded)."""

    id: UUID
    slug: str = Field(pattern=SLUG_PATTERN)
    name: str
    languages: list[str]
    default_language: str
    currency: str
    support_hours: dict[str, Any] | None = None
    branding: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    messages_per_month: int | None = None
    messages_per_minute: int | None = None
    disabled_at: datetime | None = None
    created_at: datetime

    @property
    def ref(self) -> TenantRef:
        return TenantRef(self.id, self.slug)

    @property
    def is_default(self) -> bool:
        return self.id == DEFAULT_TENANT_ID

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


class Channel(BaseModel):
    """One of a tenant's channels, by the address the provider names: a WhatsApp number (E.164)
    or messaging service SID, a Discord application id, a web chat site key."""

    id: int
    tenant_id: UUID
    kind: ChannelKind
    address: str
    config: dict[str, Any] = Field(default_factory=dict)
    hints: dict[str, str] = Field(default_factory=dict)
    """Each secret's last four characters (what the API shows)."""


class TenantExists(ValueError):
    pass


class TenantRegistry:
    """Reads and writes tenants and their channels; secrets sealed with `box`."""

    def __init__(self, pool: Pool, box: SecretBox) -> None:
        self._pool = pool
        self._box = box
        self._cache: dict[object, tuple[float, Tenant | None]] = {}
        self._channel_cache: dict[tuple[str, str], tuple[float, Channel]] = {}

    async def get(self, tenant_id: UUID) -> Tenant | None:
        return await self._cached(tenant_id, "SELECT * FROM tenants WHERE id = %s", tenant_id)

    async def by_slug(self, slug: str) -> Tenant | None:
        return await self._cached(("slug", slug), "SELECT * FROM tenants WHERE slug = %s", slug)

    async def list(self) -> list[Tenant]:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT * FROM tenants ORDER BY created_at, slug")
            return [Tenant.model_validate(row) for row in await cur.fetchall()]

    async def _cached(self, key: object, query: str, value: object) -> Tenant | None:
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < _CACHE_SECONDS:
            return hit[1]
        async with self._pool.connection() as conn:
            cur = await conn.execute(query, (value,))  # type: ignore[arg-type]  # one of the two above
            row = await cur.fetchone()
        tenant = Tenant.model_validate(row) if row else None
        self._cache[key] = (now, tenant)
        return tenant

    def forget(self) -> None:
        """Drop what this process cached (after it changed a tenant itself)."""
        self._cache.clear()
        self._channel_cache.clear()

    async def add(self, *, slug: str, name: str, **fields: Any) -> Tenant:
        columns = ["slug", "name", *fields]
        values = [slug, name, *(Jsonb(v) if isinstance(v, dict) else v for v in fields.values())]
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT 1 FROM tenants WHERE slug = %s", (slug,))
            if await cur.fetchone():
                raise TenantExists(f"a tenant with the slug {slug!r} already exists")
            cur = await conn.execute(
                f"INSERT INTO tenants ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(values))}) RETURNING *",  # type: ignore[arg-type]  # column names from the model, not from input
                values,
            )
            row = await cur.fetchone()
        assert row is not None
        return Tenant.model_validate(row)

    async def channel(self, kind: ChannelKind, address: str) -> Channel | None:
        """The channel the provider's signed `address` names, if any tenant has it (cached like the
        tenants: every web chat request names its site key)."""
        now = time.monotonic()
        hit = self._channel_cache.get((kind, address))
        if hit is not None and now - hit[0] < _CACHE_SECONDS:
            return hit[1]
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT * FROM tenant_channels WHERE kind = %s AND address = %s", (kind, address))
            row = await cur.fetchone()
        if row is None:
            return None  # not remembered: a channel added a moment ago (by the CLI) works at once
        channel = Channel.model_validate(row)
        self._channel_cache[(kind, address)] = (now, channel)
        return channel

    async def channels(self, tenant_id: UUID, kind: ChannelKind | None = None) -> builtins.list[Channel]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT * FROM tenant_channels WHERE tenant_id = %s AND (%s::text IS NULL OR kind = %s) ORDER BY id",
                (tenant_id, kind, kind),
            )
            return [Channel.model_validate(row) for row in await cur.fetchall()]

    async def add_channel(
        self,
        tenant_id: UUID,
        kind: ChannelKind,
        address: str,
        *,
        config: dict[str, Any] | None = None,
        secrets: dict[str, str] | None = None,
    ) -> Channel:
        secrets = secrets or {}
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO tenant_channels (tenant_id, kind, address, config, secrets, hints)"
                " VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
                (
                    tenant_id,
                    kind,
                    address,
                    Jsonb(config or {}),
                    self._box.seal(secrets) if secrets else None,
                    Jsonb({name: hint(value) for name, value in secrets.items()}),
                ),
            )
            row = await cur.fetchone()
        assert row is not None
        return Channel.model_validate(row)

    async def secrets_of(self, channel: Channel) -> dict[str, str]:
        """The channel's secrets, decrypted (for checking a signature or calling the provider)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT secrets FROM tenant_channels WHERE id = %s", (channel.id,))
            row = await cur.fetchone()
        return self._box.open(row["secrets"] if row else None)

    async def update(self, tenant_id: UUID, **fields: Any) -> Tenant | None:
        """Change the given columns (validated by the caller); None for an unknown tenant."""
        if not fields:
            return await self.get(tenant_id)
        assignments = ", ".join(f"{column} = %s" for column in fields)
        values = [Jsonb(v) if isinstance(v, dict) else v for v in fields.values()]
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"UPDATE tenants SET {assignments} WHERE id = %s RETURNING *",  # type: ignore[arg-type]  # column names from the model, not from input
                [*values, tenant_id],
            )
            row = await cur.fetchone()
        self.forget()
        return Tenant.model_validate(row) if row else None

    async def set_enabled(self, tenant_id: UUID, enabled: bool) -> Tenant | None:
        """Enable or disable a tenant (a disabled one keeps its data; its channels are refused)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE tenants SET disabled_at = CASE WHEN %s THEN NULL ELSE coalesce(disabled_at, now()) END"
                " WHERE id = %s RETURNING *",
                (enabled, tenant_id),
            )
            row = await cur.fetchone()
        self.forget()
        return Tenant.model_validate(row) if row else None

    async def remove_channel(self, tenant_id: UUID, kind: ChannelKind, address: str) -> bool:
        """Remove one of this tenant's channels (another tenant's address is left alone)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM tenant_channels WHERE tenant_id = %s AND kind = %s AND address = %s",
                (tenant_id, kind, address),
            )
            return cur.rowcount > 0

    async def rotate_secrets(self) -> int:
        """Re-seal every stored secret under the current SECRET_KEY (run after adding a new key,
        before dropping the old one from SECRET_KEYS_RETIRED); returns how many values were re-sealed."""
        rotated = 0
        async with self._pool.connection() as conn, conn.transaction():
            for table in ("tenants", "tenant_channels"):
                cur = await conn.execute(
                    f"SELECT id, secrets FROM {table} WHERE secrets IS NOT NULL FOR UPDATE"  # type: ignore[arg-type]  # one of two names above
                )
                for row in await cur.fetchall():
                    try:
                        resealed = self._box.rotate(row["secrets"])
                    except InvalidToken:
                        raise SecretsUnreadable(
                            f"{table} row {row['id']} is sealed under a key not in SECRET_KEY/SECRET_KEYS_RETIRED"
                        ) from None
                    await conn.execute(
                        f"UPDATE {table} SET secrets = %s WHERE id = %s",  # type: ignore[arg-type]  # one of two names above
                        (resealed, row["id"]),
                    )
                    rotated += 1
        return rotated
