"""What was done to orders, as operators read it: each action a conversation led to as a line
of its transcript, and counts of actions by kind and by who did them.

Both read `order_actions` (the record `ShopActions.perform` writes), so the bot's actions and
operators' show alike, whichever wrote them; nothing is copied into the transcript.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ValidationError

from carebot.db.pool import Pool
from carebot.desk.action_words import KIND_LABELS, Names, by_words, describe
from carebot.shop.actions import ActionRequest
from carebot.shop.records import ActionKind, OrderRecord

log = logging.getLogger(__name__)

RECENT_ACTIONS = 20

# An action with what its wording needs: the order's number, its customer's payment methods'
# labels, and the options of the variants it named.
_ACTIONS = """
SELECT a.id, a.kind, a.actor, a.operator_email, a.confirming_message, a.thread_id, a.at, a.request, a.before,
    a.after, o.number,
    coalesce((SELECT jsonb_object_agg(m.id, m.label) FROM payment_methods m WHERE m.customer_id = o.customer_id),
             '{}') AS methods,
    coalesce((SELECT jsonb_object_agg(v.id, v.options) FROM product_variants v
              WHERE v.id IN (SELECT jsonb_array_elements_text(a.request -> 'new_variant_ids'))), '{}') AS variants
FROM order_actions a JOIN orders o ON o.id = a.order_id
"""


class ActionNote(BaseModel):
    """Which action a transcript line is."""

    id: int
    kind: ActionKind
    order_number: str
    by: Literal["bot", "operator"]
    operator: str | None
    """The operator's email (None: the bot, or automation with the admin token)."""


class ActionLine(BaseModel):
    """An action on an order, as a system line of the transcript. Its `id` ("action:12") is apart
    from messages' numeric ids; `at` places it among them."""

    id: str
    role: Literal["system"] = "system"
    text: str
    author: str | None = None
    at: datetime
    status: str | None = None
    action: ActionNote


def line_of(row: dict[str, Any]) -> ActionLine:
    """An `_ACTIONS` row as its transcript line."""
    names = Names(methods=row["methods"], variants=row["variants"])
    try:
        change = describe(
            ActionRequest.model_validate(row["request"]),
            OrderRecord.model_validate(row["before"]),
            OrderRecord.model_validate(row["after"]),
            names,
        )
    except ValidationError:  # a record from another version: say what and where, at least
        log.warning("action_record_unreadable", extra={"action_id": row["id"]})
        change = f"{KIND_LABELS[row['kind']]}: order {row['number']}"
    return ActionLine(
        id=f"action:{row['id']}",
        text=f"{change} · {by_words(row['actor'], row['operator_email'], row['confirming_message'])}",
        at=row["at"],
        action=ActionNote(
            id=row["id"], kind=row["kind"], order_number=row["number"], by=row["actor"], operator=row["operator_email"]
        ),
    )


async def conversation_actions(
    conn: AsyncConnection[DictRow], thread_id: str, *, since: datetime | None, limit: int
) -> list[ActionLine]:
    """The conversation's actions from `since` on (None: all), the latest `limit`, oldest first."""
    cur = await conn.execute(
        _ACTIONS + " WHERE a.thread_id = %s AND (%s::timestamptz IS NULL OR a.at >= %s)"
        " ORDER BY a.at DESC, a.id DESC LIMIT %s",
        (thread_id, since, since, limit),
    )
    return [line_of(r) for r in reversed(await cur.fetchall())]


async def action_line(conn: AsyncConnection[DictRow], action_id: int | str) -> ActionLine | None:
    cur = await conn.execute(_ACTIONS + " WHERE a.id = %s", (action_id,))
    row = await cur.fetchone()
    return line_of(row) if row else None


async def announce(conn: AsyncConnection[DictRow], thread_id: str, line: ActionLine) -> None:
    """Tell the operators' live views (every process's event stream) of a new action line, as a
    `message` event: open conversations add it to their transcript."""
    data = {**line.model_dump(mode="json"), "conversation": thread_id}
    await conn.execute("SELECT carebot_event('message', %s, %s)", (thread_id, Jsonb(data)))


class RecentAction(BaseModel):
    order_number: str
    kind: ActionKind
    by: str
    """ "bot", the operator's email, or "automation" (the admin token)."""
    at: datetime
    conversation: str | None


class ActionStats(BaseModel):
    """Actions on orders over the last `days` days."""

    days: int
    total: int
    by_kind: dict[str, int]
    by_who: dict[str, int]
    """ "bot", each operator's email, "automation"."""
    recent: list[RecentAction]
    """The latest, newest first."""


_WHO = "CASE WHEN a.actor = 'bot' THEN 'bot' ELSE coalesce(a.operator_email, 'automation') END"
_SINCE = "a.at >= now() - make_interval(days => %(days)s)"


async def action_stats(pool: Pool, *, days: int) -> ActionStats:
    params = {"days": days, "limit": RECENT_ACTIONS}
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT a.kind, count(*) AS n FROM order_actions a WHERE {_SINCE} GROUP BY 1 ORDER BY n DESC", params
        )
        by_kind = {r["kind"]: r["n"] for r in await cur.fetchall()}
        cur = await conn.execute(
            f"SELECT {_WHO} AS who, count(*) AS n FROM order_actions a WHERE {_SINCE} GROUP BY 1 ORDER BY n DESC",
            params,
        )
        by_who = {r["who"]: r["n"] for r in await cur.fetchall()}
        cur = await conn.execute(
            f"SELECT o.number AS order_number, a.kind, {_WHO} AS by, a.at, a.thread_id AS conversation"
            f" FROM order_actions a JOIN orders o ON o.id = a.order_id WHERE {_SINCE}"
            " ORDER BY a.at DESC, a.id DESC LIMIT %(limit)s",
            params,
        )
        recent = [RecentAction.model_validate(r) for r in await cur.fetchall()]
    return ActionStats(days=days, total=sum(by_kind.values()), by_kind=by_kind, by_who=by_who, recent=recent)
