"""What operators see: the inbox list (newest first, customers named) and one conversation with
its transcript (actions on orders included), customer and recent orders with the actions the
shop's policy allows on each, the hand-over's reason, the channel's reply window and the bot's
suggested reply."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from psycopg.rows import class_row
from pydantic import BaseModel

from carebot.db.pool import Pool
from carebot.delivery.channels.registry import Channels
from carebot.desk import status
from carebot.desk.action_log import ActionLine, conversation_actions
from carebot.desk.action_options import ActionOption, action_options, products_needed
from carebot.desk.handover import reason_label
from carebot.desk.status import ConversationNotFound, Status
from carebot.desk.transcript import Message, message_of
from carebot.domain import Customer
from carebot.shop.actions import ShopActions
from carebot.shop.orders import OrderSource
from carebot.shop.records import OrderRecord
from carebot.shop.store import money
from carebot.verification.types import IdentityVerifier

log = logging.getLogger(__name__)

_TRANSCRIPT_LIMIT = 500
_RECENT_ORDERS = 5
_LOOKUPS_AT_ONCE = 4


@dataclass(slots=True)
class ConversationRow:
    """A `conversations` row with its assignee's name and the last thing said."""

    thread_id: str
    channel: str
    sender: str
    customer_id: int | None
    customer_name: str | None
    language: str
    status: Status
    reason: str | None
    reason_detail: str | None
    assignee_id: int | None
    assignee: str | None
    unread: int
    last_message_at: datetime
    last_customer_at: datetime | None
    waiting_since: datetime | None
    suggested_reply: str | None
    last_text: str | None


_CONVERSATIONS = """
SELECT c.thread_id, c.channel, c.sender, c.customer_id, c.customer_name, c.language, c.status, c.reason,
    c.reason_detail, c.assignee_id, o.name AS assignee, c.unread, c.last_message_at, c.last_customer_at,
    c.waiting_since, c.suggested_reply,
    (SELECT m.text FROM messages m WHERE m.thread_id = c.thread_id AND m.role <> 'system'
     ORDER BY m.id DESC LIMIT 1) AS last_text
FROM conversations c LEFT JOIN operators o ON o.id = c.assignee_id
"""


class ConversationSummary(BaseModel):
    """A row of the inbox."""

    id: str
    channel: str
    status: Status
    reason: str | None
    reason_label: str | None
    assignee: str | None
    unread: int
    customer: str | None
    """The customer's name, once known."""
    language: str
    last_message_at: datetime
    waiting_since: datetime | None
    last_message: str | None


class CustomerCard(BaseModel):
    id: int
    name: str
    email: str | None
    phone: str | None


class RecentOrder(BaseModel):
    number: str
    status: str
    summary: str
    total: str
    ordered_at: str
    actions: list[ActionOption] = []
    """What the shop's policy lets an operator do to it now."""


class ConversationDetail(ConversationSummary):
    """One conversation as an operator opens it: the summary's fields with the whole customer."""

    customer: CustomerCard | None  # type: ignore[assignment]  # the detail has the customer, not only the name
    reason_detail: str | None
    orders: list[RecentOrder]
    window_closes_at: datetime | None
    """Until when the channel takes free text (None: no such limit)."""
    templates: list[str]
    """Approved templates the shop may send here (after the window closes)."""
    suggested_reply: str | None
    messages: list[Message | ActionLine]
    """The latest lines, oldest first: messages, and actions on orders at their time."""


def summary_of(row: ConversationRow) -> ConversationSummary:
    return ConversationSummary(
        id=row.thread_id,
        channel=row.channel,
        status=row.status,
        reason=row.reason,
        reason_label=reason_label(row.reason) if row.reason else None,
        assignee=row.assignee,
        unread=row.unread,
        customer=row.customer_name,
        language=row.language,
        last_message_at=row.last_message_at,
        waiting_since=row.waiting_since,
        last_message=row.last_text,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationViews:
    """Reads conversations for the operator API (opening one marks it read)."""

    pool: Pool
    orders: OrderSource
    verifier: IdentityVerifier
    channels: Channels
    templates: dict[str, str]
    shop: ShopActions | None = None
    """The shop's records and policy: each recent order with the actions allowed on it (without
    it, the order source's list, with no actions)."""
    lookup_timeout: float = 2.0
    """How long the inbox waits to name customers (the order source may be a remote API)."""

    async def conversations(
        self, status_filter: Status | None = None, *, limit: int = 200
    ) -> list[ConversationSummary]:
        """Newest first; waiting ones by how long they have waited would hide new ones, so the
        inbox shows the wait next to each instead."""
        where, params = ("WHERE c.status = %s", [status_filter]) if status_filter else ("", [])
        async with self.pool.connection() as conn:
            cur = await conn.cursor(row_factory=class_row(ConversationRow)).execute(
                f"{_CONVERSATIONS} {where} ORDER BY c.last_message_at DESC LIMIT %s",  # fixed fragments
                (*params, limit),
            )
            rows = await cur.fetchall()
        await self._name_customers([r for r in rows if r.customer_name is None and r.status != "bot"])
        return [summary_of(r) for r in rows]

    async def _name_customers(self, rows: list[ConversationRow]) -> None:
        """Name the customers operators are to answer, all at once and within `lookup_timeout`
        (the order source may be a remote API); named once, then kept on the conversation. An
        outage leaves them unnamed in this listing, and is logged."""
        if not rows:
            return
        # A few at a time: each lookup takes a pooled connection (and may call the shop's API),
        # and a long unnamed list must not take every connection the API's requests need.
        slots = asyncio.Semaphore(_LOOKUPS_AT_ONCE)

        async def find(row: ConversationRow) -> Customer | None:
            async with slots:
                return await self._find_customer(row)

        try:
            async with asyncio.timeout(self.lookup_timeout):
                found = await asyncio.gather(*(find(r) for r in rows), return_exceptions=True)
        except TimeoutError:
            log.warning("inbox_customer_lookup_timed_out", extra={"conversations": len(rows)})
            return
        failures = [f for f in found if isinstance(f, BaseException)]
        if failures:
            log.warning(
                "inbox_customer_lookup_failed",
                extra={"conversations": len(failures), "error": f"{type(failures[0]).__name__}: {failures[0]}"},
            )

    async def conversation(self, thread_id: str, *, mark_read: bool = True) -> ConversationDetail:
        async with self.pool.connection() as conn:
            if mark_read:
                await status.mark_read(conn, thread_id)
            cur = await conn.cursor(row_factory=class_row(ConversationRow)).execute(
                f"{_CONVERSATIONS} WHERE c.thread_id = %s", (thread_id,)
            )
            row = await cur.fetchone()
            if row is None:
                raise ConversationNotFound(thread_id)
            cur2 = await conn.execute(
                "SELECT * FROM (SELECT * FROM messages WHERE thread_id = %s ORDER BY id DESC LIMIT %s) t ORDER BY id",
                (thread_id, _TRANSCRIPT_LIMIT),
            )
            messages = [message_of(m) for m in await cur2.fetchall()]
            # Actions as far back as the messages shown go (all of them when every message is shown).
            since = messages[0].at if len(messages) == _TRANSCRIPT_LIMIT else None
            actions = await conversation_actions(conn, thread_id, since=since, limit=_TRANSCRIPT_LIMIT)
        customer, orders = await self._customer(row)
        channel = self.channels[row.channel]
        return ConversationDetail.model_validate(
            {
                **summary_of(row).model_dump(),
                "customer": customer,
                "reason_detail": row.reason_detail,
                "orders": orders,
                "window_closes_at": channel.window_closes_at(row.last_customer_at),
                "templates": sorted(self.templates) if channel.templates else [],
                "suggested_reply": row.suggested_reply,
                "messages": interleave(messages, actions)[-_TRANSCRIPT_LIMIT:],
            }
        )

    async def customer_of(self, thread_id: str) -> Customer | None:
        """The conversation's customer, as its customer card shows them (None: not identified)."""
        async with self.pool.connection() as conn:
            cur = await conn.cursor(row_factory=class_row(ConversationRow)).execute(
                f"{_CONVERSATIONS} WHERE c.thread_id = %s", (thread_id,)
            )
            row = await cur.fetchone()
        if row is None:
            raise ConversationNotFound(thread_id)
        return await self._find_customer(row)

    async def _find_customer(self, row: ConversationRow) -> Customer | None:
        """Who the customer is, by the channel's identity or a verified link; remembered on the
        conversation so the inbox can show the name."""
        customer = await self.orders.find_customer(channel=row.channel, sender=row.sender)
        if customer is None and (linked := await self.verifier.verified_customer(row.thread_id)):
            customer = await self.orders.customer_by_id(linked)
        if customer is not None and row.customer_name != customer.name:
            async with self.pool.connection() as conn:
                await status.name_customer(conn, row.thread_id, customer_id=customer.id, name=customer.name)
            row.customer_name = customer.name
        return customer

    async def _customer(self, row: ConversationRow) -> tuple[CustomerCard | None, list[RecentOrder]]:
        """The customer and their recent orders."""
        try:
            customer = await self._find_customer(row)
            if customer is None:
                return None, []
            orders = await self._recent_orders(customer.id)
        except Exception as exc:  # the order system being down must not hide the conversation
            log.warning("customer_lookup_failed", extra={"thread_id": row.thread_id, "error": type(exc).__name__})
            return None, []
        return CustomerCard(id=customer.id, name=customer.name, email=customer.email, phone=customer.phone), orders

    async def _recent_orders(self, customer_id: int) -> list[RecentOrder]:
        """From the shop's records, with what may be done to each; from the order source when
        there is no shop to act on, or its records cannot be read (the card still lists them)."""
        if self.shop is not None:
            try:
                return await self._actionable_orders(self.shop, customer_id)
            except Exception as exc:
                log.warning("shop_records_unreadable", extra={"customer_id": customer_id, "error": type(exc).__name__})
        return [
            RecentOrder(
                number=o.number,
                status=o.status,
                summary=o.summary,
                total=f"{o.total} {o.currency}",
                ordered_at=o.created_at.date().isoformat(),
            )
            for o in await self.orders.recent_orders(customer_id, limit=_RECENT_ORDERS)
        ]

    async def _actionable_orders(self, shop: ShopActions, customer_id: int) -> list[RecentOrder]:
        orders = (await shop.orders(customer_id))[:_RECENT_ORDERS]
        customer = await shop.customer(customer_id)
        if customer is None:
            return []
        products = await shop.products(products_needed(orders, shop.policy)) if orders else {}
        now = datetime.now(UTC)
        return [
            RecentOrder(
                number=o.number,
                status=o.status,
                summary=order_summary(o),
                total=money(o.total, o.currency),
                ordered_at=o.placed_at.date().isoformat(),
                actions=action_options(o, customer, products, shop.policy, now),
            )
            for o in orders
        ]


def order_summary(order: OrderRecord) -> str:
    """ "2× Linen sheet set, Oak desk lamp (white)" (lines are one per unit)."""
    counts: dict[str, int] = {}
    for item in order.items:
        counts[item.describe()] = counts.get(item.describe(), 0) + 1
    return ", ".join(f"{n}× {name}" if n > 1 else name for name, n in counts.items())


def interleave(messages: list[Message], actions: list[ActionLine]) -> list[Message | ActionLine]:
    """Messages in their order, each action before the first message said after it."""
    lines: list[Message | ActionLine] = []
    pending = iter(actions)
    action = next(pending, None)
    for message in messages:
        while action is not None and action.at < message.at:
            lines.append(action)
            action = next(pending, None)
        lines.append(message)
    if action is not None:
        lines.append(action)
        lines.extend(pending)
    return lines
