"""Each tenant's shop behind one object: the graph, the verifier and the desk hold a
`TenantOrderSource` and a `TenantShopActions`, which hand every call to the running tenant's own
order source and actions (its policy file, its order API or the database's orders).

What a tenant's shop is made of comes from `source_of` (the tenant's settings, read through a
cache); the objects are built on a tenant's first call in this process, built again when its
settings change, and closed with `aclose` (the process's shutdown). The database's orders need
nothing per tenant beyond the scope: row-level security keeps each tenant's rows its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

from carebot.db.pool import Pool
from carebot.db.scope import current_tenant
from carebot.domain import Customer, Order
from carebot.shop.actions import ActionRequest, Actor, Done, ShopActions
from carebot.shop.order_api import HttpOrderSource
from carebot.shop.order_api_actions import OrderApiActions
from carebot.shop.orders import OrderSource, PostgresOrderSource
from carebot.shop.policy import Policy, demo_policy_path, load_policy
from carebot.shop.records import OrderRecord, Product, ShopCustomer
from carebot.shop.store import ShopStore


@dataclass(frozen=True, slots=True)
class ShopSource:
    """What a tenant's shop objects are built from; a change rebuilds them."""

    policy_file: Path | None
    """None: the demo shop's policy."""
    orders_api_url: str | None
    """None: the database's orders."""
    orders_api_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class OpenShop:
    """One tenant's order source and actions, as built from `source`."""

    source: ShopSource
    orders: OrderSource
    actions: ShopActions
    client: HttpOrderSource | None
    """The order API's HTTP client, closed at shutdown."""


class TenantShops:
    """Builds, caches and closes each tenant's `OpenShop`."""

    def __init__(
        self,
        pool: Pool,
        source_of: Callable[[UUID], Awaitable[ShopSource]],
        *,
        timeout: float = 5.0,
        retries: int = 2,
    ) -> None:
        self._pool = pool
        self._source_of = source_of
        self._timeout = timeout
        self._retries = retries
        self._open: dict[UUID, OpenShop] = {}
        self._retired: list[HttpOrderSource] = []
        self._building = asyncio.Lock()

    async def current(self) -> OpenShop:
        """The running tenant's shop (built on first use, rebuilt after its settings changed)."""
        tenant_id = current_tenant().id
        source = await self._source_of(tenant_id)
        shop = self._open.get(tenant_id)
        if shop is not None and shop.source == source:
            return shop
        async with self._building:
            shop = self._open.get(tenant_id)
            if shop is None or shop.source != source:
                if shop is not None and shop.client is not None:
                    # Calls in flight may still use it: closed at shutdown, not now.
                    self._retired.append(shop.client)
                shop = self._open[tenant_id] = await self._build(source)
        return shop

    def running(self) -> OpenShop:
        """The running tenant's shop as built by an earlier `current()` (every path that reads a
        policy has asked the shop something first); a tenant never asked is a bug, not a reason
        to check actions against another shop's rules."""
        shop = self._open.get(current_tenant().id)
        if shop is None:
            raise RuntimeError("this tenant's shop was read before it was opened (await TenantShops.current first)")
        return shop

    async def _build(self, source: ShopSource) -> OpenShop:
        policy = await asyncio.to_thread(load_policy, source.policy_file or demo_policy_path())
        if not source.orders_api_url:
            return OpenShop(source, PostgresOrderSource(self._pool), ShopStore(self._pool, policy), None)
        client = HttpOrderSource(
            source.orders_api_url, token=source.orders_api_token, timeout=self._timeout, retries=self._retries
        )
        return OpenShop(source, client, OrderApiActions(client, self._pool, policy), client)

    async def aclose(self) -> None:
        clients = [shop.client for shop in self._open.values() if shop.client is not None] + self._retired
        self._open.clear()
        self._retired.clear()
        for client in clients:
            await client.aclose()


class TenantOrderSource:
    """`OrderSource` of the running tenant's shop."""

    def __init__(self, shops: TenantShops) -> None:
        self._shops = shops

    async def _orders(self) -> OrderSource:
        return (await self._shops.current()).orders

    async def find_customer(self, *, channel: str, sender: str) -> Customer | None:
        return await (await self._orders()).find_customer(channel=channel, sender=sender)

    async def customer_by_contact(self, contact: str) -> Customer | None:
        return await (await self._orders()).customer_by_contact(contact)

    async def customer_by_id(self, customer_id: int) -> Customer | None:
        return await (await self._orders()).customer_by_id(customer_id)

    async def recent_orders(self, customer_id: int, *, limit: int = 5) -> list[Order]:
        return await (await self._orders()).recent_orders(customer_id, limit=limit)

    async def customer_order(self, customer_id: int, number: str) -> Order | None:
        return await (await self._orders()).customer_order(customer_id, number)


class TenantShopActions:
    """`ShopActions` of the running tenant's shop, under its own policy."""

    def __init__(self, shops: TenantShops) -> None:
        self._shops = shops

    @property
    def policy(self) -> Policy:
        return self._shops.running().actions.policy

    async def actions(self) -> ShopActions:
        """The running tenant's own actions object (a `ShopStore` or `OrderApiActions`)."""
        return (await self._shops.current()).actions

    async def customer(self, customer_id: int) -> ShopCustomer | None:
        return await (await self.actions()).customer(customer_id)

    async def orders(self, customer_id: int) -> list[OrderRecord]:
        return await (await self.actions()).orders(customer_id)

    async def products(self, product_ids: set[str] | None = None) -> dict[str, Product]:
        return await (await self.actions()).products(product_ids)

    async def perform(self, customer_id: int, request: ActionRequest, *, key: str, actor: Actor) -> Done:
        return await (await self.actions()).perform(customer_id, request, key=key, actor=actor)
