"""A shop of its own for `carebot eval --shop DIR`: its files (`products.json`, `customers.json`,
`orders.json`, `meta.json`, `policy.toml`) loaded into the app's database before every case, read
back after it, and removed when the run ends, so a developer's demo database is left as it was.

`meta.json`'s `as_of` is the moment the files were written for: every date is moved by (now −
as_of) on import, so "delivered 10 days ago" stays inside a 30-day return window on any day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from carebot.db.pool import Pool
from carebot.evals.end_state import ShopState, order_key
from carebot.shop.importer import ShopData, ShopFileError, import_shop, read_shop
from carebot.shop.policy import Policy, load_policy
from carebot.shop.store import ShopStore


@dataclass(frozen=True, slots=True)
class EvalShop:
    """A shop's files, read and checked before the agent opens."""

    folder: Path
    data: ShopData
    as_of: datetime
    """When the files' dates were true (meta.json)."""
    policy: Policy

    @property
    def policy_path(self) -> Path:
        return self.folder / "policy.toml"

    def customer_by_email(self, email: str) -> str | None:
        """The shop's id of the customer writing from this address (a case's `inputs.user`)."""
        wanted = email.strip().lower()
        return next((c.id for c in self.data.customers if c.email == wanted), None)

    def owners(self) -> dict[str, dict[str, str]]:
        """Each order number and payment method id → its customer's id in the files."""
        return {
            "orders": {o.number: o.customer_id for o in self.data.orders},
            "payment_methods": {m.id: c.id for c in self.data.customers for m in c.payment_methods},
        }


def load_eval_shop(folder: Path) -> EvalShop:
    """Read a shop's files, its `as_of` and its policy; `ShopFileError` or `PolicyFileError` names
    what is wrong."""
    meta = folder / "meta.json"
    try:
        as_of = datetime.fromisoformat(json.loads(meta.read_text(encoding="utf-8"))["as_of"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ShopFileError(f'{meta}: expected {{"as_of": "<ISO 8601 time>"}} ({exc})') from None
    if as_of.tzinfo is None:
        raise ShopFileError(f"{meta}: as_of needs a time zone (…Z)")
    return EvalShop(folder=folder, data=read_shop(folder), as_of=as_of, policy=load_policy(folder / "policy.toml"))


def shifted(data: ShopData, by: timedelta) -> ShopData:
    """The shop with every order's dates moved by `by` (a date moves with noon of its day)."""

    def moved(value: datetime | None) -> datetime | None:
        return value + by if value is not None else None

    def moved_day(value: date | None) -> date | None:
        return (datetime.combine(value, time(12), UTC) + by).date() if value is not None else None

    orders = [
        o.model_copy(
            update={
                "placed_at": moved(o.placed_at),
                "shipped_at": moved(o.shipped_at),
                "delivered_at": moved(o.delivered_at),
                "estimated_delivery": moved_day(o.estimated_delivery),
            }
        )
        for o in data.orders
    ]
    return ShopData(products=data.products, customers=data.customers, orders=orders)


def _customer_keys(shop: EvalShop) -> tuple[list[str], list[str]]:
    return [c.id for c in shop.data.customers], [c.email for c in shop.data.customers]


# Rows of the database's own shop that the eval shop's ids or contacts would overwrite or mix with:
# a customer with one of its ids or contacts but not both its id and email, an order with one of its
# numbers (with or without `#`) of someone else, a payment method of someone else, a product named
# otherwise or with other variants, a variant of another product.
_CLASHES = """
WITH ours AS (SELECT c.id FROM customers c JOIN unnest(%(ids)s::text[], %(emails)s::text[]) AS f(id, email)
              ON c.shop_id = f.id AND c.email = f.email)
SELECT 'customer ' || coalesce(shop_id, email) AS clash FROM customers
 WHERE (shop_id = ANY(%(ids)s) OR email = ANY(%(emails)s) OR phone = ANY(%(phones)s)
        OR discord_id = ANY(%(discord)s)) AND id NOT IN (SELECT id FROM ours)
UNION ALL
SELECT 'order ' || number FROM orders
 WHERE upper(ltrim(number, '#')) = ANY(%(numbers)s) AND customer_id NOT IN (SELECT id FROM ours)
UNION ALL
SELECT 'payment method ' || id FROM payment_methods
 WHERE id = ANY(%(methods)s) AND customer_id NOT IN (SELECT id FROM ours)
UNION ALL
SELECT 'product ' || p.id FROM products p JOIN unnest(%(products)s::text[], %(names)s::text[]) AS f(id, name)
    ON p.id = f.id
 WHERE p.name <> f.name OR EXISTS (SELECT 1 FROM product_variants v WHERE v.product_id = p.id
                                   AND NOT v.id = ANY(%(variants)s))
UNION ALL
SELECT 'variant ' || v.id FROM product_variants v JOIN unnest(%(variants)s::text[], %(variant_products)s::text[])
    AS f(id, product_id) ON v.id = f.id
 WHERE v.product_id <> f.product_id
"""


async def clashes(pool: Pool, shop: EvalShop) -> list[str]:
    """What of the database's own data the shop's files would overwrite (nothing, or the run must
    not start). Rows an earlier run left (same id and email) are the shop's own, not a clash."""
    ids, emails = _customer_keys(shop)
    data = shop.data
    variants = [(v.id, p.id) for p in data.products for v in p.variants]
    params = {
        "ids": ids,
        "emails": emails,
        "phones": [c.phone for c in data.customers if c.phone],
        "discord": [c.discord_id for c in data.customers if c.discord_id],
        "numbers": [order_key(o.number) for o in data.orders],
        "methods": [m.id for c in data.customers for m in c.payment_methods],
        "products": [p.id for p in data.products],
        "names": [p.name for p in data.products],
        "variants": [v for v, _ in variants],
        "variant_products": [p for _, p in variants],
    }
    async with pool.connection() as conn:
        cur = await conn.execute(_CLASHES, params)
        return [row["clash"] for row in await cur.fetchall()]


async def reset(pool: Pool, shop: EvalShop, *, shift: timedelta) -> None:
    """The shop as its files say, dates moved by `shift`: statuses, items, addresses, payments and
    gift-card balances come back (the import is an upsert), and what actions recorded is gone."""
    await import_shop(pool, shifted(shop.data, shift))
    async with pool.connection() as conn:
        await conn.execute(
            "DELETE FROM order_actions WHERE order_id IN (SELECT id FROM orders WHERE number = ANY(%s))",
            ([o.number for o in shop.data.orders],),
        )


async def snapshot(pool: Pool, shop: EvalShop) -> ShopState:
    """Every order of the shop as `ShopStore.order` reads it (without `actions`), and every payment
    method's balance with its owner."""
    store = ShopStore(pool, shop.policy)
    orders: dict[str, dict[str, Any]] = {}
    for number in (o.number for o in shop.data.orders):
        record = await store.order(number)
        if record is not None:
            orders[number] = {k: v for k, v in record.as_json().items() if k != "actions"}
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT m.id, m.balance::text AS balance, c.shop_id AS customer_id FROM payment_methods m"
            " JOIN customers c ON c.id = m.customer_id WHERE m.id = ANY(%s)",
            ([m.id for c in shop.data.customers for m in c.payment_methods],),
        )
        methods = {
            row["id"]: {"balance": row["balance"], "customer_id": row["customer_id"]} for row in await cur.fetchall()
        }
    return ShopState(orders=orders, payment_methods=methods)


async def remove(pool: Pool, shop: EvalShop) -> None:
    """Delete the shop's customers (with their payment methods, orders, payments and actions) and
    its products (with their variants)."""
    ids, emails = _customer_keys(shop)
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM customers c USING unnest(%s::text[], %s::text[]) AS f(id, email)"
            " WHERE c.shop_id = f.id AND c.email = f.email",
            (ids, emails),
        )
        await conn.execute("DELETE FROM products WHERE id = ANY(%s)", ([p.id for p in shop.data.products],))
