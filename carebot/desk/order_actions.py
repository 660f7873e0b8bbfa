"""Operators acting on a conversation's customer's orders: a preview of exactly what an action
will change and what money moves (`plan()`, the same check the bot's actions pass), then the
action itself through `ShopActions.perform`, once per idempotency key, recorded as the operator's.

The customer is whoever the conversation's customer card shows (the channel's identity or a
verified link), never an id the operator's browser sends; an order number only resolves among
that customer's orders. Nothing is sent to the customer: the operator replies as usual, and the
transcript (and every operator's live view) shows the action line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from carebot.db.pool import Pool
from carebot.desk.action_log import ActionLine, action_line, announce
from carebot.desk.action_options import products_needed
from carebot.desk.action_words import Names, describe, refusal_words
from carebot.desk.operators import Operator
from carebot.desk.views import ConversationViews
from carebot.domain import Customer
from carebot.shop.actions import ActionRefused, ActionRequest, Actor, Plan, Refusal, ShopActions, find_order, plan
from carebot.shop.records import ActionKind, Product, ShopCustomer
from carebot.shop.store import money

log = logging.getLogger(__name__)


class CustomerUnknown(LookupError):
    """The conversation's customer is not identified (an anonymous visitor, not yet verified)."""


class ActionNotAllowed(Exception):
    """The policy (or the order) refuses the request; `message` says why in an operator's words."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message


class MoneyMove(BaseModel):
    kind: Literal["payment", "refund"]
    amount: str
    """With the order's currency, e.g. "39.00 USD"."""
    method: str
    """The payment method's label, e.g. "Visa ending 4242"."""


class ActionPreview(BaseModel):
    """What an action will do, before the operator confirms it."""

    request: ActionRequest
    """What to send back to do it."""
    summary: str
    """The exact change in one sentence (the transcript's line will say the same)."""
    status_before: str
    status_after: str
    money: list[MoneyMove]
    """Payments and refunds the action makes now."""
    difference: str
    """What the change costs more (+) or less (−), or what is refunded (−), as a decimal string."""
    currency: str


class ActionDone(BaseModel):
    action_id: int | str
    kind: ActionKind
    order_number: str
    status: str
    """The order's status now."""
    line: ActionLine | None
    """The transcript's line for it (None when the shop keeps the record elsewhere)."""
    repeated: bool = Field(default=False, exclude=True)
    """Done before under the same key (the API says so in a header: the answer itself is the same)."""


def preview_of(planned: Plan, names: Names) -> ActionPreview:
    currency = planned.before.currency
    return ActionPreview(
        request=planned.request,
        summary=describe(
            planned.request,
            planned.before,
            planned.after,
            names,
            difference=planned.difference if planned.request.kind == "exchange" else None,
        ),
        status_before=planned.before.status,
        status_after=planned.after.status,
        money=[
            MoneyMove(kind=r.kind, amount=money(r.amount, currency), method=names.method(r.payment_method_id))
            for r in planned.money
        ],
        difference=str(planned.difference),
        currency=currency,
    )


def names_of(customer: ShopCustomer, products: dict[str, Product]) -> Names:
    return Names(
        methods={m.id: m.label for m in customer.payment_methods},
        variants={v.id: v.options for p in products.values() for v in p.variants},
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderActions:
    pool: Pool
    shop: ShopActions
    views: ConversationViews

    async def _customer(self, thread_id: str) -> tuple[Customer, ShopCustomer]:
        """The conversation's customer (raises `ConversationNotFound`, `CustomerUnknown`)."""
        customer = await self.views.customer_of(thread_id)
        shop_customer = await self.shop.customer(customer.id) if customer else None
        if customer is None or shop_customer is None:
            raise CustomerUnknown(thread_id)
        return customer, shop_customer

    async def preview(self, thread_id: str, request: ActionRequest) -> ActionPreview:
        """The plan for `request` on the conversation's customer's order; raises `ActionNotAllowed`."""
        customer, shop_customer = await self._customer(thread_id)
        order = find_order(await self.shop.orders(customer.id), request.order_number)
        products = await self.shop.products(products_needed([order], self.shop.policy)) if order else {}
        names = names_of(shop_customer, products)
        planned = plan(
            request, order=order, customer=shop_customer, products=products, policy=self.shop.policy, now=_now()
        )
        if isinstance(planned, Refusal):
            status = order.status if order else None
            raise ActionNotAllowed(planned, refusal_words(planned, request, names, status=status))
        return preview_of(planned, names)

    async def perform(self, thread_id: str, request: ActionRequest, *, key: str, operator: Operator) -> ActionDone:
        """Do `request` once per (conversation, `key`, request): the same confirmation sent again
        gets the same action back. Raises `ActionNotAllowed`; `ShopRejected` and
        `OrderSourceUnavailable` from the shop's own API pass through."""
        customer, shop_customer = await self._customer(thread_id)
        actor = Actor(by="operator", conversation=thread_id, operator_email=operator.email)
        try:
            done = await self.shop.perform(
                customer.id, request, key=request.idempotency_key(thread_id, key), actor=actor
            )
        except ActionRefused as refused:
            order = find_order(await self.shop.orders(customer.id), request.order_number)
            status = order.status if order else None
            words = refusal_words(refused.refusal, request, names_of(shop_customer, {}), status=status)
            raise ActionNotAllowed(refused.refusal, words) from None
        line = None
        if isinstance(done.action_id, int):  # recorded in this database (`order_actions`)
            async with self.pool.connection() as conn:
                line = await action_line(conn, done.action_id)
                if line is not None and not done.repeated:
                    await announce(conn, thread_id, line)
        log.info(
            "operator_action_done",
            extra={"thread_id": thread_id, "kind": request.kind, "repeated": done.repeated},
        )
        return ActionDone(
            action_id=done.action_id,
            kind=done.kind,
            order_number=done.order.number,
            status=done.order.status,
            line=line,
            repeated=done.repeated,
        )


def _now() -> datetime:
    return datetime.now(UTC)
