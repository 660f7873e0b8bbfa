"""Loading a shop from its files (`carebot shop import DIR`): `products.json`, `customers.json` and
`orders.json` in the documented schema (README, "Shop data files"), upserted by id in one
transaction, so importing the same files twice changes nothing and a bad file changes nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from pydantic import BaseModel, TypeAdapter, ValidationError

from carebot.db.pool import Pool
from carebot.shop.records import Product, ShopCustomer, ShopOrder

M = TypeVar("M", bound=BaseModel)
SHOP_FILES = ("products.json", "customers.json", "orders.json")


class ShopFileError(ValueError):
    """A shop file is missing, not JSON, or not in the schema; the message names the file and the place."""


@dataclass(frozen=True, slots=True)
class ShopData:
    products: list[Product] = field(default_factory=list)
    customers: list[ShopCustomer] = field(default_factory=list)
    orders: list[ShopOrder] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImportCounts:
    products: int
    variants: int
    customers: int
    payment_methods: int
    orders: int


def read_shop(folder: Path) -> ShopData:
    """The three files of a shop, validated; anything wrong is a `ShopFileError`."""
    data = ShopData(
        products=_read(folder / "products.json", Product),
        customers=_read(folder / "customers.json", ShopCustomer),
        orders=_read(folder / "orders.json", ShopOrder),
    )
    _check_references(data)
    return data


def _read(path: Path, model: type[M]) -> list[M]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ShopFileError(f"{path}: missing (a shop is {', '.join(SHOP_FILES)})") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ShopFileError(f"{path}: {exc}") from exc
    try:
        return TypeAdapter(list[model]).validate_python(raw)  # type: ignore[valid-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ShopFileError(f"{path}: [{where}] {first['msg']}") from exc


def _check_references(data: ShopData) -> None:
    customers = {c.id: c for c in data.customers}
    variants = {v.id for p in data.products for v in p.variants}
    seen_items: set[str] = set()
    for order in data.orders:
        if order.customer_id not in customers:
            raise ShopFileError(f"orders.json: order {order.number} names unknown customer {order.customer_id}")
        methods = {m.id for m in customers[order.customer_id].payment_methods}
        for item in order.items:
            if item.id in seen_items:
                raise ShopFileError(f"orders.json: item id {item.id} appears twice (item ids are unique in a shop)")
            seen_items.add(item.id)
            if variants and item.variant_id not in variants:
                raise ShopFileError(f"orders.json: order {order.number} names unknown variant {item.variant_id}")
        for payment in order.payments:
            if payment.payment_method_id not in methods:
                raise ShopFileError(
                    f"orders.json: order {order.number} is paid with {payment.payment_method_id},"
                    f" not one of customer {order.customer_id}'s payment methods"
                )


async def import_shop(pool: Pool, data: ShopData) -> ImportCounts:
    """Upsert the shop's catalogue, customers (with payment methods) and orders (with payments)."""
    async with pool.connection() as conn, conn.transaction():
        return await write_shop(conn, data)


async def write_shop(conn: AsyncConnection[Any], data: ShopData) -> ImportCounts:
    """`import_shop` inside the caller's transaction (the demo seeds its shop under a lock it holds)."""
    await _upsert_products(conn, data.products)
    await _upsert_customers(conn, data.customers)
    await _upsert_orders(conn, data.orders)
    return ImportCounts(
        products=len(data.products),
        variants=sum(len(p.variants) for p in data.products),
        customers=len(data.customers),
        payment_methods=sum(len(c.payment_methods) for c in data.customers),
        orders=len(data.orders),
    )


async def _upsert_products(conn: AsyncConnection[Any], products: list[Product]) -> None:
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO products (id, name) VALUES (%s, %s)"
            " ON CONFLICT (tenant_id, id) DO UPDATE SET name = EXCLUDED.name",
            [(p.id, p.name) for p in products],
        )
        await cur.executemany(
            "INSERT INTO product_variants (id, product_id, options, price, available, position)"
            " VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (tenant_id, id) DO UPDATE SET product_id = EXCLUDED.product_id,"
            " options = EXCLUDED.options, price = EXCLUDED.price, available = EXCLUDED.available,"
            " position = EXCLUDED.position",
            [
                (v.id, p.id, Jsonb(v.options), v.price, v.available, position)
                for p in products
                for position, v in enumerate(p.variants)
            ],
        )


async def _upsert_customers(conn: AsyncConnection[Any], customers: list[ShopCustomer]) -> None:
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO customers (shop_id, name, email, phone, discord_id, language, address)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, shop_id) DO UPDATE SET name = EXCLUDED.name,"
            " email = EXCLUDED.email, phone = EXCLUDED.phone, discord_id = EXCLUDED.discord_id,"
            " language = EXCLUDED.language, address = EXCLUDED.address",
            [
                (
                    c.id, c.name, c.email, c.phone, c.discord_id, c.language,
                    Jsonb(c.address.model_dump(mode="json")) if c.address else None,
                )
                for c in customers
            ],
        )  # fmt: skip
        await cur.executemany(
            "INSERT INTO payment_methods (id, customer_id, kind, label, balance, position)"
            " SELECT %s, id, %s, %s, %s, %s FROM customers WHERE shop_id = %s"
            " ON CONFLICT (tenant_id, id) DO UPDATE SET customer_id = EXCLUDED.customer_id, kind = EXCLUDED.kind,"
            " label = EXCLUDED.label, balance = EXCLUDED.balance, position = EXCLUDED.position",
            [
                (m.id, m.kind, m.label, m.balance, position, c.id)
                for c in customers
                for position, m in enumerate(c.payment_methods)
            ],
        )


async def _upsert_orders(conn: AsyncConnection[Any], orders: list[ShopOrder]) -> None:
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO orders (number, customer_id, status, items, total, currency, carrier, tracking_number,"
            " created_at, shipped_at, estimated_delivery, delivered_at, address, cancel_reason, items_changed,"
            " return_request, exchange_request)"
            " SELECT %s, id, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s"
            " FROM customers WHERE shop_id = %s"
            " ON CONFLICT (tenant_id, number) DO UPDATE SET customer_id = EXCLUDED.customer_id,"
            " status = EXCLUDED.status,"
            " items = EXCLUDED.items, total = EXCLUDED.total, currency = EXCLUDED.currency,"
            " carrier = EXCLUDED.carrier, tracking_number = EXCLUDED.tracking_number,"
            " created_at = EXCLUDED.created_at, shipped_at = EXCLUDED.shipped_at,"
            " estimated_delivery = EXCLUDED.estimated_delivery, delivered_at = EXCLUDED.delivered_at,"
            " address = EXCLUDED.address, cancel_reason = EXCLUDED.cancel_reason,"
            " items_changed = EXCLUDED.items_changed, return_request = EXCLUDED.return_request,"
            " exchange_request = EXCLUDED.exchange_request",
            [_order_row(o) for o in orders],
        )
        # An order's payments are the file's: replaced, so a second import leaves them as they were.
        await cur.executemany(
            "DELETE FROM order_payments WHERE order_id = (SELECT id FROM orders WHERE number = %s)",
            [(o.number,) for o in orders],
        )
        await cur.executemany(
            "INSERT INTO order_payments (order_id, position, payment_method_id, amount, kind)"
            " SELECT id, %s, %s, %s, %s FROM orders WHERE number = %s",
            [
                (position, p.payment_method_id, p.amount, p.kind, o.number)
                for o in orders
                for position, p in enumerate(o.payments)
            ],
        )


def _order_row(order: ShopOrder) -> tuple[Any, ...]:
    def json_or_none(value: BaseModel | None) -> Jsonb | None:
        return Jsonb(value.model_dump(mode="json")) if value is not None else None

    return (
        order.number,
        order.status,
        Jsonb([i.model_dump(mode="json") for i in order.items]),
        order.total,
        order.currency,
        order.carrier,
        order.tracking_number,
        order.placed_at,
        order.shipped_at,
        order.estimated_delivery,
        order.delivered_at,
        json_or_none(order.address),
        order.cancel_reason,
        order.items_changed,
        json_or_none(order.return_),
        json_or_none(order.exchange),
        order.customer_id,
    )
