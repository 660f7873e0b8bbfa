"""Recording an action on an order (`order_actions`): who did it, on whose word, the request, and the
order before and after — one row per idempotency key, whichever back-end did the action."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from carebot.shop.actions import Actor, Plan
from carebot.shop.records import OrderRecord


async def record_action(
    conn: AsyncConnection[Any], *, key: str, planned: Plan, after: OrderRecord, actor: Actor, order_id: int | None
) -> int | None:
    """Insert the action's row; its id, or None when a row with this key exists already (the same
    confirmation, recorded by a run before this one). `order_id` is None for a shop's own order API."""
    cur = await conn.execute(
        "INSERT INTO order_actions (idempotency_key, order_id, order_number, kind, actor, operator_email, thread_id,"
        " confirming_message, request, before, after) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id",
        (
            key,
            order_id,
            planned.before.number,
            planned.request.kind,
            actor.by,
            actor.operator_email,
            actor.conversation,
            actor.confirming_message,
            Jsonb(planned.request.model_dump(mode="json")),
            Jsonb(_as_recorded(planned.before)),
            Jsonb(_as_recorded(after)),
        ),
    )
    row = await cur.fetchone()
    return int(row["id"]) if row else None


def _as_recorded(order: OrderRecord) -> dict[str, Any]:
    return order.model_dump(mode="json", by_alias=True, exclude={"actions"})
