"""What can be done to an order, within the shop's policy: cancel it, change its address, change its
items, request a return or an exchange.

`plan` is the whole of the rules: given the request, the order, its customer, the catalogue and the
policy, it either refuses (with a reason the customer is told) or computes the order as it will be
and the money that moves. It is pure, so the bot, an operator and the order API back-end share it,
and nothing a model says can widen it. `ShopActions` is what the graph and the desk talk to; each
back-end (`shop.store` over the app's tables, `shop.order_api` over a shop's own API) plans again
inside its write and runs a confirmed request once per idempotency key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from carebot.shop.policy import Policy
from carebot.shop.records import (
    ActionKind,
    Address,
    ExchangeRequest,
    Item,
    OrderRecord,
    Payment,
    PaymentMethod,
    Product,
    ReturnRequest,
    ShopCustomer,
    Variant,
)

RefusalCode = Literal[
    "not_found",
    "status",
    "window",
    "once",
    "same_product",
    "unavailable",
    "unknown_item",
    "unknown_variant",
    "reason",
    "refund_method",
    "payment_method",
    "gift_card_balance",
    "incomplete",
    "nothing_to_change",
]


class ActionRequest(BaseModel):
    """A fully specified action, as the customer (or an operator) confirms it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ActionKind
    order_number: str
    item_ids: list[str] = Field(default_factory=list)
    """change_items, return, exchange: the order lines concerned."""
    new_variant_ids: list[str] = Field(default_factory=list)
    """change_items, exchange: the variant each of `item_ids` becomes, aligned with it."""
    address: Address | None = None
    """change_address: the new shipping address."""
    reason: str | None = None
    """cancel: one of the policy's reasons, verbatim."""
    payment_method_id: str | None = None
    """return: where the refund goes; change_items/exchange: the method that pays or receives a price
    difference (an exchange without one records the order's original method)."""

    def idempotency_key(self, conversation: str, confirmation_id: str) -> str:
        """One key per confirmed request: the same confirmation run twice (a retried job, a restarted
        worker) is the same key, so the action happens once."""
        material = f"{conversation}\n{confirmation_id}\n{self.model_dump_json()}"
        return hashlib.sha256(material.encode()).hexdigest()


class Refusal(BaseModel):
    """Why the policy (or the order) does not allow a request; `allowed` lists what would be."""

    model_config = ConfigDict(frozen=True)

    code: RefusalCode
    detail: str
    """For the colleague and the logs, in English."""
    allowed: list[str] = Field(default_factory=list)


class Plan(BaseModel):
    """What a request will do, before it is done: the exact change and its money effect."""

    model_config = ConfigDict(frozen=True)

    request: ActionRequest
    before: OrderRecord
    after: OrderRecord
    money: list[Payment] = Field(default_factory=list)
    """Payment and refund rows the action adds to the order now."""
    balances: dict[str, Decimal] = Field(default_factory=dict)
    """Gift card id → change of its balance (credited +, debited −)."""
    difference: Decimal = Decimal("0")
    """change_items/exchange: what the new variants cost more (+) or less (−) than the old ones;
    cancel: what is refunded (−); return: what will be refunded once the items are back (−)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does an action, and on whose word."""

    by: Literal["bot", "operator"]
    conversation: str | None = None
    confirming_message: str | None = None
    operator_email: str | None = None


class Done(BaseModel):
    """An action done (now, or before under the same key: `repeated`)."""

    action_id: int | str
    kind: ActionKind
    order: OrderRecord
    repeated: bool = False


class ActionRefused(Exception):
    """The policy refused the request when it was about to be done (the order changed since it was
    proposed, or an operator asked for something the policy does not allow)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal


class ShopRejected(Exception):
    """The shop's own order API refused the action (409 or 422): the customer is told and a person takes over."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class ShopActions(Protocol):
    """The shop's data an action needs, and the action itself; identity is the caller's to establish."""

    @property
    def policy(self) -> Policy:
        """The shop's rules for actions (its policy file)."""
        ...

    async def customer(self, customer_id: int) -> ShopCustomer | None:
        """The customer with their address and payment methods."""
        ...

    async def orders(self, customer_id: int) -> list[OrderRecord]:
        """The customer's orders, newest first."""
        ...

    async def products(self, product_ids: set[str] | None = None) -> dict[str, Product]:
        """The catalogue (or the named products), by id."""
        ...

    async def perform(self, customer_id: int, request: ActionRequest, *, key: str, actor: Actor) -> Done:
        """Plan again and do the request once per `key`; raises `ActionRefused`, `ShopRejected`,
        or `OrderSourceUnavailable` (the job retries: the key keeps it to one)."""
        ...


def find_order(orders: list[OrderRecord], number: str) -> OrderRecord | None:
    """The order with this number among `orders`, written with or without its `#`, any case."""
    wanted = number.strip().lstrip("#").upper()
    return next((o for o in orders if o.number.lstrip("#").upper() == wanted), None)


def plan(
    request: ActionRequest,
    *,
    order: OrderRecord | None,
    customer: ShopCustomer,
    products: dict[str, Product],
    policy: Policy,
    now: datetime,
) -> Plan | Refusal:
    """The request checked against the policy and the order, and its effect; or why not."""
    if order is None or order.customer_id != customer.id:
        return Refusal(code="not_found", detail=f"no order {request.order_number} for this customer")
    allowed = policy.statuses(request.kind)
    if order.status not in allowed:
        return Refusal(code="status", detail=f"{request.kind} not allowed when {order.status}", allowed=list(allowed))
    planner = _PLANNERS[request.kind]
    return planner(request, order, customer, products, policy, now)


def _plan_cancel(
    request: ActionRequest, order: OrderRecord, customer: ShopCustomer, products: dict[str, Product], policy: Policy,
    now: datetime,
) -> Plan | Refusal:  # fmt: skip
    reasons = policy.cancel.reasons
    if request.reason not in reasons:
        return Refusal(code="reason", detail=f"reason {request.reason!r} is not one of the policy's", allowed=reasons)
    refunds = [
        Payment(payment_method_id=p.payment_method_id, amount=p.amount, kind="refund")
        for p in order.payments
        if p.kind == "payment"
    ]
    after = order.model_copy(
        update={"status": "cancelled", "cancel_reason": request.reason, "payments": [*order.payments, *refunds]}
    )
    return Plan(
        request=request,
        before=order,
        after=after,
        money=refunds,
        balances=_gift_card_moves(customer, refunds),
        difference=-sum((r.amount for r in refunds), Decimal("0")),
    )


def _plan_change_address(
    request: ActionRequest, order: OrderRecord, customer: ShopCustomer, products: dict[str, Product], policy: Policy,
    now: datetime,
) -> Plan | Refusal:  # fmt: skip
    if request.address is None:
        return Refusal(code="incomplete", detail="no new address")
    if request.address == order.address:
        return Refusal(code="nothing_to_change", detail="the order already goes to this address")
    return Plan(request=request, before=order, after=order.model_copy(update={"address": request.address}))


def _plan_change_items(
    request: ActionRequest, order: OrderRecord, customer: ShopCustomer, products: dict[str, Product], policy: Policy,
    now: datetime,
) -> Plan | Refusal:  # fmt: skip
    rule = policy.change_items
    if rule.once and order.items_changed:
        return Refusal(code="once", detail="this order's items were changed once already")
    swaps = _swaps(request, order, products, same_product=rule.same_product)
    if isinstance(swaps, Refusal):
        return swaps
    difference = sum((price_in_order(item, new, products) - item.price for item, new in swaps), Decimal("0"))
    money = _difference_payment(request, customer, difference)
    if isinstance(money, Refusal):
        return money
    changed = {item.id: new for item, new in swaps}
    items = [
        item.model_copy(
            update={"variant_id": new.id, "options": dict(new.options), "price": price_in_order(item, new, products)}
        )
        if (new := changed.get(item.id))
        else item
        for item in order.items
    ]
    after = order.model_copy(update={"items": items, "items_changed": True, "payments": [*order.payments, *money]})
    return Plan(
        request=request,
        before=order,
        after=after,
        money=money,
        balances=_gift_card_moves(customer, money),
        difference=difference,
    )


def _plan_return(
    request: ActionRequest, order: OrderRecord, customer: ShopCustomer, products: dict[str, Product], policy: Policy,
    now: datetime,
) -> Plan | Refusal:  # fmt: skip
    rule = policy.return_
    if (late := _outside_window(order, rule.within_days, now)) is not None:
        return late
    items = _items(request, order)
    if isinstance(items, Refusal):
        return items
    targets = refund_targets(order, customer, policy)
    if request.payment_method_id not in {m.id for m in targets}:
        return Refusal(
            code="refund_method", detail="the refund cannot go to that method", allowed=[m.id for m in targets]
        )
    assert request.payment_method_id is not None  # one of the targets
    after = order.model_copy(
        update={
            "status": "return_requested",
            "return_": ReturnRequest(items=[i.id for i in items], refund_to=request.payment_method_id),
        }
    )
    return Plan(request=request, before=order, after=after, difference=-sum((i.price for i in items), Decimal("0")))


def _plan_exchange(
    request: ActionRequest, order: OrderRecord, customer: ShopCustomer, products: dict[str, Product], policy: Policy,
    now: datetime,
) -> Plan | Refusal:  # fmt: skip
    rule = policy.exchange
    if (late := _outside_window(order, rule.within_days, now)) is not None:
        return late
    swaps = _swaps(request, order, products, same_product=rule.same_product)
    if isinstance(swaps, Refusal):
        return swaps
    difference = sum((price_in_order(item, new, products) - item.price for item, new in swaps), Decimal("0"))
    if difference:
        checked = _difference_payment(request, customer, difference)
        if isinstance(checked, Refusal):
            return checked
        method = request.payment_method_id
    else:
        own = customer.payment_method(request.payment_method_id)
        method = own.id if own else order.original_payment_method_id
    if method is None:
        return Refusal(code="payment_method", detail="no payment method to record the exchange against")
    exchange = ExchangeRequest(
        items=[i.id for i, _ in swaps], new_variants=[v.id for _, v in swaps], payment_method_id=method
    )
    after = order.model_copy(update={"status": "exchange_requested", "exchange": exchange})
    # The difference is charged or refunded when the exchange is processed, not now.
    return Plan(request=request, before=order, after=after, difference=difference)


_PLANNERS = {
    "cancel": _plan_cancel,
    "change_address": _plan_change_address,
    "change_items": _plan_change_items,
    "return": _plan_return,
    "exchange": _plan_exchange,
}


def refund_targets(order: OrderRecord, customer: ShopCustomer, policy: Policy) -> list[PaymentMethod]:
    """The payment methods a return's refund may go to, in the policy's order."""
    targets: list[PaymentMethod] = []
    for target in policy.return_.refund_to:
        if target == "original":
            method = customer.payment_method(order.original_payment_method_id)
        else:
            method = customer.gift_card
        if method is not None and method not in targets:
            targets.append(method)
    return targets


def variant_choices(item: Item, products: dict[str, Product], *, same_product: bool) -> list[Variant]:
    """The variants a line may become: available, not its own, of its product when the policy says so."""
    candidates = (
        products[item.product_id].variants
        if same_product and item.product_id in products
        else [v for p in products.values() for v in p.variants]
    )
    return [v for v in candidates if v.available and v.id != item.variant_id]


def payment_choices(customer: ShopCustomer, amount: Decimal) -> list[PaymentMethod]:
    """The methods that may pay `amount` (>0) or receive it (<0): a gift card pays only what its balance covers."""
    return [
        m
        for m in customer.payment_methods
        if amount <= 0 or m.kind != "gift_card" or (m.balance or Decimal("0")) >= amount
    ]


def within_window(order: OrderRecord, days: int, now: datetime) -> bool:
    """Delivered no more than `days` ago (0: no limit)."""
    if days == 0:
        return True
    return order.delivered_at is not None and now - order.delivered_at <= timedelta(days=days)


def _outside_window(order: OrderRecord, days: int, now: datetime) -> Refusal | None:
    if within_window(order, days, now):
        return None
    return Refusal(code="window", detail=f"delivered more than {days} days ago", allowed=[str(days)])


def _items(request: ActionRequest, order: OrderRecord) -> list[Item] | Refusal:
    if not request.item_ids:
        return Refusal(code="incomplete", detail="no items named")
    items = [order.item(i) for i in dict.fromkeys(request.item_ids)]
    found = [i for i in items if i is not None]
    if len(found) != len(items):
        return Refusal(code="unknown_item", detail="an item is not on this order")
    return found


def _swaps(
    request: ActionRequest, order: OrderRecord, products: dict[str, Product], *, same_product: bool
) -> list[tuple[Item, Variant]] | Refusal:
    items = _items(request, order)
    if isinstance(items, Refusal):
        return items
    if len(request.new_variant_ids) != len(items):
        return Refusal(code="incomplete", detail="a new variant is needed for each item")
    variants = {v.id: (p, v) for p in products.values() for v in p.variants}
    swaps = []
    for item, variant_id in zip(items, request.new_variant_ids, strict=True):
        found = variants.get(variant_id)
        if found is None:
            return Refusal(code="unknown_variant", detail=f"no variant {variant_id}")
        product, variant = found
        if same_product and product.id != item.product_id:
            return Refusal(code="same_product", detail="the new variant must be of the same product")
        if not variant.available:
            return Refusal(code="unavailable", detail=f"variant {variant_id} is not available")
        if variant.id == item.variant_id:
            return Refusal(code="nothing_to_change", detail="the item already is that variant")
        swaps.append((item, variant))
    return swaps


def price_in_order(item: Item, new: Variant, products: dict[str, Product]) -> Decimal:
    """The new variant's price in the order's currency: the catalogue price scaled as the line's own
    price is to its variant's (1 for a shop selling in its catalogue's currency), rounded as the line."""
    product = products.get(item.product_id)
    old = product.variant(item.variant_id) if product else None
    price = new.price if old is None or old.price == 0 else new.price * item.price / old.price
    return price.quantize(item.price)


def _difference_payment(request: ActionRequest, customer: ShopCustomer, difference: Decimal) -> list[Payment] | Refusal:
    if difference == 0:
        return []
    method = customer.payment_method(request.payment_method_id)
    if method is None:
        return Refusal(
            code="payment_method",
            detail="the price difference needs one of the customer's payment methods",
            allowed=[m.id for m in payment_choices(customer, difference)],
        )
    if difference > 0 and method.kind == "gift_card" and (method.balance or Decimal("0")) < difference:
        return Refusal(code="gift_card_balance", detail="the gift card's balance does not cover the difference")
    kind: Literal["payment", "refund"] = "payment" if difference > 0 else "refund"
    return [Payment(payment_method_id=method.id, amount=abs(difference), kind=kind)]


def _gift_card_moves(customer: ShopCustomer, money: list[Payment]) -> dict[str, Decimal]:
    moves: dict[str, Decimal] = {}
    for row in money:
        method = customer.payment_method(row.payment_method_id)
        if method is not None and method.kind == "gift_card":
            sign = 1 if row.kind == "refund" else -1
            moves[method.id] = moves.get(method.id, Decimal("0")) + sign * row.amount
    return moves
