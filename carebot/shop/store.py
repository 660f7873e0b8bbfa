"""The shop's data in the app's own tables: the catalogue, customers with their payment methods,
orders as `OrderRecord`s, and actions done once per idempotency key (`ShopActions`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from carebot.db.pool import Pool
from carebot.shop.action_log import record_action
from carebot.shop.actions import ActionRefused, ActionRequest, Actor, Done, Plan, Refusal, plan
from carebot.shop.policy import Policy
from carebot.shop.records import OrderRecord, Product, ShopCustomer

# One order with its customer's shop id, payments and actions, in `OrderRecord`'s shape.
_ORDER_SELECT = """
SELECT o.id AS row_id, o.number, coalesce(c.shop_id, 'customer-' || c.id) AS customer_id, o.status,
       o.created_at AS placed_at, o.delivered_at, o.currency, o.address, o.items, o.tracking_number,
       o.carrier, o.shipped_at, o.estimated_delivery, o.cancel_reason, o.items_changed,
       o.return_request AS "return", o.exchange_request AS exchange,
       coalesce((SELECT jsonb_agg(jsonb_build_object('payment_method_id', p.payment_method_id,
                                                     'amount', p.amount::text, 'kind', p.kind)
                                  ORDER BY p.position)
                 FROM order_payments p WHERE p.order_id = o.id), '[]') AS payments,
       coalesce((SELECT jsonb_agg(jsonb_build_object('kind', a.kind, 'by', a.actor, 'at', a.at,
                                                     'operator', a.operator_email, 'conversation', a.thread_id,
                                                     'confirming_message', a.confirming_message,
                                                     'request', a.request)
                                  ORDER BY a.at, a.id)
                 FROM order_actions a WHERE a.order_id = o.id), '[]') AS actions
FROM orders o JOIN customers c ON c.id = o.customer_id
"""

# An order number as customers and files write it: with or without the `#`, any case.
_NUMBER_MATCHES = "upper(ltrim(o.number, '#')) = upper(ltrim(%s, '#'))"


def _record(row: dict[str, Any]) -> OrderRecord:
    return OrderRecord.model_validate({k: v for k, v in row.items() if k != "row_id"})


class ShopStore:
    """`ShopActions` over the app's tables."""

    def __init__(self, pool: Pool, policy: Policy) -> None:
        self._pool = pool
        self.policy = policy

    async def customer(self, customer_id: int) -> ShopCustomer | None:
        async with self._pool.connection() as conn:
            return await _customer(conn, customer_id)

    async def orders(self, customer_id: int) -> list[OrderRecord]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                _ORDER_SELECT + " WHERE o.customer_id = %s ORDER BY o.created_at DESC, o.id DESC", (customer_id,)
            )
            return [_record(r) for r in await cur.fetchall()]

    async def order(self, number: str) -> OrderRecord | None:
        """Any order by number (ops' `carebot orders show`; the bot only ever reads `orders(customer)`)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(_ORDER_SELECT + f" WHERE {_NUMBER_MATCHES}", (number,))
            row = await cur.fetchone()
        return _record(row) if row else None

    async def products(self, product_ids: set[str] | None = None) -> dict[str, Product]:
        async with self._pool.connection() as conn:
            return await _products(conn, product_ids)

    async def perform(self, customer_id: int, request: ActionRequest, *, key: str, actor: Actor) -> Done:
        # The order's row lock serialises every action on it: a second run of the same confirmation
        # waits, then finds its key recorded and does nothing.
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                f"SELECT o.id FROM orders o WHERE o.customer_id = %s AND {_NUMBER_MATCHES} FOR UPDATE",
                (customer_id, request.order_number),
            )
            locked = await cur.fetchone()
            if locked is None:
                raise ActionRefused(Refusal(code="not_found", detail=f"no order {request.order_number}"))
            cur = await conn.execute(
                "SELECT id, kind FROM order_actions WHERE idempotency_key = %s AND order_id = %s", (key, locked["id"])
            )
            if done := await cur.fetchone():
                after = await _order_by_id(conn, locked["id"])
                return Done(action_id=done["id"], kind=done["kind"], order=after, repeated=True)
            order = await _order_by_id(conn, locked["id"])
            customer = await _customer(conn, customer_id)
            assert customer is not None  # the order's owner
            planned = plan(
                request,
                order=order,
                customer=customer,
                products=await _products(conn, {i.product_id for i in order.items}),
                policy=self.policy,
                now=datetime.now(UTC),
            )
            if isinstance(planned, Refusal):
                raise ActionRefused(planned)
            action_id = await _apply(conn, locked["id"], customer_id, planned, key=key, actor=actor)
            return Done(action_id=action_id, kind=request.kind, order=await _order_by_id(conn, locked["id"]))


async def _apply(
    conn: AsyncConnection[Any], order_id: int, customer_id: int, planned: Plan, *, key: str, actor: Actor
) -> int:
    after = planned.after
    await conn.execute(
        "UPDATE orders SET status = %s, cancel_reason = %s, items = %s, address = %s, items_changed = %s,"
        " return_request = %s, exchange_request = %s WHERE id = %s",
        (
            after.status,
            after.cancel_reason,
            Jsonb([i.model_dump(mode="json") for i in after.items]),
            Jsonb(after.address.model_dump(mode="json")) if after.address else None,
            after.items_changed,
            Jsonb(after.return_.model_dump(mode="json")) if after.return_ else None,
            Jsonb(after.exchange.model_dump(mode="json")) if after.exchange else None,
            order_id,
        ),
    )
    start = len(planned.before.payments)
    for position, row in enumerate(planned.money, start=start):
        await conn.execute(
            "INSERT INTO order_payments (order_id, position, payment_method_id, amount, kind)"
            " VALUES (%s, %s, %s, %s, %s)",
            (order_id, position, row.payment_method_id, row.amount, row.kind),
        )
    for card, change in planned.balances.items():
        # The CHECK on balance refuses to spend a gift card below zero (another order spent it meanwhile).
        await conn.execute(
            "UPDATE payment_methods SET balance = balance + %s WHERE id = %s AND customer_id = %s",
            (change, card, customer_id),
        )
    recorded = await record_action(conn, key=key, planned=planned, after=after, actor=actor, order_id=order_id)
    assert recorded is not None  # the key was looked up under the order's lock: not recorded before
    return recorded


async def _order_by_id(conn: AsyncConnection[Any], order_id: int) -> OrderRecord:
    cur = await conn.execute(_ORDER_SELECT + " WHERE o.id = %s", (order_id,))
    row = await cur.fetchone()
    assert row is not None
    return _record(row)


async def _customer(conn: AsyncConnection[Any], customer_id: int) -> ShopCustomer | None:
    cur = await conn.execute(
        "SELECT coalesce(c.shop_id, 'customer-' || c.id) AS id, c.name, c.email, c.phone, c.language, c.discord_id,"
        " c.address,"
        " coalesce((SELECT jsonb_agg(jsonb_build_object('id', m.id, 'kind', m.kind, 'label', m.label,"
        "                                               'balance', m.balance::text) ORDER BY m.position, m.id)"
        "           FROM payment_methods m WHERE m.customer_id = c.id), '[]') AS payment_methods"
        " FROM customers c WHERE c.id = %s",
        (customer_id,),
    )
    row = await cur.fetchone()
    return ShopCustomer.model_validate(row) if row else None


async def _products(conn: AsyncConnection[Any], product_ids: set[str] | None) -> dict[str, Product]:
    cur = await conn.execute(
        "SELECT p.id, p.name, coalesce(jsonb_agg(jsonb_build_object('id', v.id, 'options', v.options,"
        " 'price', v.price::text, 'available', v.available) ORDER BY v.position, v.id)"
        " FILTER (WHERE v.id IS NOT NULL), '[]') AS variants"
        " FROM products p LEFT JOIN product_variants v ON v.product_id = p.id"
        " WHERE %s::text[] IS NULL OR p.id = ANY(%s::text[]) GROUP BY p.tenant_id, p.id ORDER BY p.id",
        (None if product_ids is None else list(product_ids),) * 2,
    )
    return {row["id"]: Product.model_validate(row) for row in await cur.fetchall()}


def money(amount: Decimal, currency: str) -> str:
    """ "49.00 USD" (amounts in messages are written the way the shop's records hold them)."""
    return f"{amount} {currency}"
