"""A tenant's effective shop settings: what a turn, a policy check or an order lookup needs to
know about the shop it works for.

The default tenant is the single-shop install of before: its shop is the environment's
(SHOP_NAME, DEFAULT_LANGUAGE, SHOP_CURRENCY, SUPPORT_HOURS, POLICY_FILE, ORDERS_API_URL and
ORDERS_API_TOKEN, WHATSAPP_TEMPLATES), so such an install notices nothing; keys in its `config`
(set through the tenants' admin) override them. Every other tenant's shop is its row: name,
languages, default language, currency and support hours from the columns; `policy_file`,
`orders_api_url` and `whatsapp_templates` from `config`; the order API's token sealed in
`secrets` (`orders_api_token`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from carebot.db.pool import Pool
from carebot.db.scope import DEFAULT_TENANT_ID, current_tenant, scoped_tenant
from carebot.domain import LANGUAGES, Language
from carebot.settings import Settings
from carebot.tenants.registry import Tenant
from carebot.tenants.secrets import SecretBox

# As the registry's: a change through the CLI or the admin API reaches every process within it,
# and a warm cache costs a turn no query.
_CACHE_SECONDS = 5.0
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class ShopSettings:
    """One tenant's shop, as the turn path reads it."""

    tenant_id: UUID
    name: str
    languages: tuple[Language, ...]
    default_language: Language
    currency: str
    support_hours: str | None
    """As told to customers who wait ("Mon–Fri 09:00–17:00 (Europe/Madrid)"), or None."""
    policy_file: Path | None
    """None: the demo shop's policy."""
    orders_api_url: str | None
    """None: the database's orders (kept per tenant by row-level security)."""
    orders_api_token: str | None = field(default=None, repr=False)
    whatsapp_templates: dict[str, str] = field(default_factory=dict)


def environment_shop(settings: Settings, tenant_id: UUID = DEFAULT_TENANT_ID) -> ShopSettings:
    """The shop the environment describes: the default tenant's."""
    return ShopSettings(
        tenant_id=tenant_id,
        name=settings.shop_name,
        languages=LANGUAGES,
        default_language=settings.default_language,
        currency=settings.shop_currency,
        support_hours=settings.support_hours,
        policy_file=settings.policy_file,
        orders_api_url=settings.orders_api_url,
        orders_api_token=settings.orders_api_token.get_secret_value() if settings.orders_api_token else None,
        whatsapp_templates=dict(settings.whatsapp_templates),
    )


def shop_settings(tenant: Tenant, settings: Settings, secrets: dict[str, str]) -> ShopSettings:
    """The shop `tenant` is, its order API token taken from its opened `secrets`."""
    config = tenant.config
    if tenant.is_default:
        # The environment's shop, with what the tenants' admin set for it on top.
        base = environment_shop(settings)
        return ShopSettings(
            tenant_id=tenant.id,
            name=base.name,
            languages=base.languages,
            default_language=base.default_language,
            currency=base.currency,
            support_hours=base.support_hours,
            policy_file=Path(config["policy_file"]) if config.get("policy_file") else base.policy_file,
            orders_api_url=config.get("orders_api_url") or base.orders_api_url,
            orders_api_token=secrets.get("orders_api_token") or base.orders_api_token,
            whatsapp_templates=dict(config.get("whatsapp_templates") or base.whatsapp_templates),
        )
    languages = tuple(code for code in tenant.languages if code in LANGUAGES) or LANGUAGES
    default = tenant.default_language if tenant.default_language in languages else languages[0]
    return ShopSettings(
        tenant_id=tenant.id,
        name=tenant.name,
        languages=languages,
        default_language=default,
        currency=tenant.currency,
        support_hours=support_hours_text(tenant.support_hours),
        policy_file=Path(config["policy_file"]) if config.get("policy_file") else None,
        orders_api_url=config.get("orders_api_url") or None,
        orders_api_token=secrets.get("orders_api_token"),
        whatsapp_templates={str(k): str(v) for k, v in (config.get("whatsapp_templates") or {}).items()},
    )


def support_hours_text(hours: dict[str, Any] | None) -> str | None:
    """The `support_hours` column (`{"timezone", "days": {"mon": ["09:00", "17:00"], …}}`, or
    `{"text": "…"}`) as the sentence customers who wait are told; None when not set."""
    if not hours:
        return None
    if isinstance(hours.get("text"), str):
        return str(hours["text"])
    days = hours.get("days") or {}
    spans = [
        f"{day.capitalize()} {days[day][0]}–{days[day][1]}"
        for day in _DAY_NAMES
        if isinstance(days.get(day), list) and len(days[day]) == 2
    ]
    if not spans:
        return None
    zone = hours.get("timezone")
    return ", ".join(spans) + (f" ({zone})" if zone else "")


class ShopSettingsSource:
    """Each tenant's shop settings, read from `tenants` (secrets opened with `box`) at most once
    per `_CACHE_SECONDS` per process: a turn on a warm cache asks the database nothing."""

    def __init__(self, pool: Pool, box: SecretBox, settings: Settings) -> None:
        self._pool = pool
        self._box = box
        self._settings = settings
        self._environment = environment_shop(settings)
        self._cache: dict[UUID, tuple[float, ShopSettings]] = {}

    async def current(self) -> ShopSettings:
        """The shop of the running code's tenant."""
        return await self.of(current_tenant().id)

    async def of(self, tenant_id: UUID) -> ShopSettings:
        now = time.monotonic()
        hit = self._cache.get(tenant_id)
        if hit is not None and now - hit[0] < _CACHE_SECONDS:
            return hit[1]
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT * FROM tenants WHERE id = %s", (tenant_id,))
            row = await cur.fetchone()
        if row is None:
            # A tenant deleted while a job of its was queued: the job's own queries find nothing.
            shop = environment_shop(self._settings, tenant_id) if tenant_id == DEFAULT_TENANT_ID else None
            if shop is None:
                raise LookupError(f"no tenant {tenant_id}")
        else:
            shop = shop_settings(Tenant.model_validate(row), self._settings, self._box.open(row["secrets"]))
        self._cache[tenant_id] = (now, shop)
        return shop

    def last_known(self) -> ShopSettings:
        """The running tenant's shop as last read, for code that cannot wait on the database (a
        fixed notice's shop name); the environment's shop before the first read or out of scope."""
        tenant = scoped_tenant()
        hit = self._cache.get(tenant.id) if tenant is not None else None
        return hit[1] if hit is not None else self._environment

    def forget(self) -> None:
        """Drop what this process cached (after it changed a tenant itself)."""
        self._cache.clear()
