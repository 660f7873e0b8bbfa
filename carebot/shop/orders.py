"""The order-status tool: a customer's own orders, and nothing about anyone else's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from psycopg import sql
from pydantic import TypeAdapter

from carebot.db.pool import Pool
from carebot.domain import ACTIVE_STATUSES, Customer, Order, OrderItem, OrderLookup
from carebot.shop.records import Item
from carebot.threads import normalise_sender


class OrderSource(Protocol):
    """Where orders come from: the shop's database, or the shop's own order API."""

    async def find_customer(self, *, channel: str, sender: str) -> Customer | None:
        """The customer a channel sender belongs to, if any."""
        ...

    async def customer_by_contact(self, contact: str) -> Customer | None:
        """The customer with this email address or phone number on file (verification), if any."""
        ...

    async def customer_by_id(self, customer_id: int) -> Customer | None:
        """A customer this conversation was already verified as."""
        ...

    async def recent_orders(self, customer_id: int, *, limit: int = 5) -> list[Order]:
        """The customer's orders, newest first."""
        ...

    async def customer_order(self, customer_id: int, number: str) -> Order | None:
        """The order with this number, only if it belongs to this customer."""
        ...


class OrderSourceUnavailable(Exception):
    """The order source failed (timeout, 5xx, connection refused)."""


# The customer column a channel's own sender id is: WhatsApp's number, Discord's user id. A web
# sender is a signed identity's email or phone, or an anonymous session.
_SENDER_COLUMNS = {"whatsapp": "phone", "discord": "discord_id"}
# Web senders that are anonymous sessions (`session:<hash>`) name no customer.
ANONYMOUS_PREFIX = "session:"


def contact_key(contact: str) -> tuple[str, str]:
    """The customer column an email address or phone number is matched against, and the value."""
    return ("email", contact.strip().lower()) if "@" in contact else ("phone", contact.strip())


def sender_key(channel: str, sender: str) -> tuple[str, str] | None:
    """Which customer column identifies a sender on a channel, and the value to match; None for
    an anonymous web session, which is nobody until it proves otherwise."""
    sender = normalise_sender(channel, sender)
    if column := _SENDER_COLUMNS.get(channel):
        return column, sender
    if sender.startswith(ANONYMOUS_PREFIX):
        return None
    # A signed web identity (or the trusted CLI) names the customer by email or phone.
    return contact_key(sender)


async def lookup_order(
    source: OrderSource,
    *,
    channel: str,
    sender: str,
    order_number: str | None,
    verified_customer_id: int | None = None,
) -> OrderLookup:
    """Look up the caller's order: the number they asked for, or their recent orders.

    Args:
        source: Where orders come from.
        channel: The channel the caller writes on.
        sender: The caller's id on that channel (phone number, Discord id).
        order_number: The number the customer asked about, if any.
        verified_customer_id: The customer this sender proved to be (by a one-time code), which
            takes precedence over the sender's own account.

    Identity comes from the channel, the sender and verification, never from what the model
    or the customer wrote, so an order number only ever resolves within the caller's own orders.
    """
    try:
        if verified_customer_id is not None:
            customer = await source.customer_by_id(verified_customer_id)
        else:
            customer = await source.find_customer(channel=channel, sender=sender)
        if customer is None:
            return OrderLookup(kind="unknown_customer", requested_number=order_number)
        if order_number:
            order = await source.customer_order(customer.id, order_number)
            if order is None:
                return OrderLookup(kind="not_found", requested_number=order_number, customer_name=customer.name)
            return OrderLookup(kind="order", orders=(order,), customer_name=customer.name)
        orders = await source.recent_orders(customer.id)
    except OrderSourceUnavailable as exc:
        return OrderLookup(kind="unavailable", requested_number=order_number, detail=str(exc))
    if not orders:
        return OrderLookup(kind="no_orders", customer_name=customer.name)
    active = tuple(o for o in orders if o.status in ACTIVE_STATUSES)
    if len(active) > 1:
        return OrderLookup(kind="choose", orders=active, customer_name=customer.name)
    return OrderLookup(kind="order", orders=(active or tuple(orders))[:1], customer_name=customer.name)


def order_as_json(order: Order) -> dict[str, Any]:
    """An order as JSON-ready data (dates in ISO 8601, amounts as strings)."""
    return _ORDER_JSON.dump_python(order, mode="json")  # type: ignore[no-any-return]


def _order_from_row(row: dict[str, Any]) -> Order:
    return Order(
        number=row["number"],
        status=row["status"],
        items=order_items([Item.model_validate(line) for line in row["items"]], set(row["first_variants"])),
        total=row["total"],
        currency=row["currency"],
        created_at=row["created_at"],
        carrier=row["carrier"],
        tracking_number=row["tracking_number"],
        shipped_at=row["shipped_at"],
        estimated_delivery=row["estimated_delivery"],
        delivered_at=row["delivered_at"],
    )


def order_items(lines: list[Item], first_variants: set[str]) -> tuple[OrderItem, ...]:
    """An order's lines (one per unit) as the customer reads them: the units of one variant at one
    price are one item with a quantity ("2× Stoneware mug"), and a variant's options are named
    ("Linen sheet set (queen, white)") unless it is its product's first, the one every order had
    before the catalogue had variants, so those orders read as they always have."""
    quantities: dict[tuple[str, str, Decimal], int] = {}
    for line in lines:
        name = line.name if line.variant_id in first_variants else line.describe()
        key = (line.variant_id, name, line.price)
        quantities[key] = quantities.get(key, 0) + 1
    return tuple(OrderItem(name=name, quantity=n, unit_price=price) for (_, name, price), n in quantities.items())


_ORDER_JSON: TypeAdapter[Order] = TypeAdapter(Order)
# An order's lines name their variants; `first_variants` are those that are their product's first.
_ORDER_SELECT = """
SELECT o.number, o.status, o.items, o.total, o.currency, o.created_at, o.carrier, o.tracking_number,
       o.shipped_at, o.estimated_delivery, o.delivered_at,
       ARRAY(SELECT v.id FROM product_variants v
             WHERE v.position = 0 AND v.id IN (SELECT line->>'variant_id' FROM jsonb_array_elements(o.items) line))
         AS first_variants
FROM orders o
"""


class PostgresOrderSource:
    """Orders from the app's own `customers` and `orders` tables."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def find_customer(self, *, channel: str, sender: str) -> Customer | None:
        key = sender_key(channel, sender)
        return await self._customer(*key) if key else None

    async def customer_by_contact(self, contact: str) -> Customer | None:
        return await self._customer(*contact_key(contact))

    async def customer_by_id(self, customer_id: int) -> Customer | None:
        return await self._customer("id", customer_id)

    async def _customer(self, column: str, value: object) -> Customer | None:
        query = sql.SQL("SELECT id, name, email, phone, language FROM customers WHERE {} = %s").format(
            sql.Identifier(column)
        )
        async with self._pool.connection() as conn:
            cur = await conn.execute(query, (value,))
            row = await cur.fetchone()
        return Customer(**row) if row else None

    async def recent_orders(self, customer_id: int, *, limit: int = 5) -> list[Order]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                _ORDER_SELECT + " WHERE o.customer_id = %s ORDER BY o.created_at DESC LIMIT %s", (customer_id, limit)
            )
            rows = await cur.fetchall()
        return [_order_from_row(r) for r in rows]

    async def customer_order(self, customer_id: int, number: str) -> Order | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                _ORDER_SELECT + " WHERE o.customer_id = %s AND upper(ltrim(o.number, '#')) = upper(ltrim(%s, '#'))",
                (customer_id, number),
            )
            row = await cur.fetchone()
        return _order_from_row(row) if row else None
