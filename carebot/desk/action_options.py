"""What an operator may do to each of a customer's orders, and what each action asks for: the
actions the shop's policy allows for the order's status (and, for returns and exchanges, its
delivery window), with the choices the operator picks from.

These are the same rules `plan()` applies, read from the same policy and helpers, so the customer
card offers only what a preview will accept; the preview and the action itself check again.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from carebot.desk.action_words import KIND_LABELS
from carebot.shop.actions import refund_targets, variant_choices, within_window
from carebot.shop.policy import Policy
from carebot.shop.records import ActionKind, Address, Item, OrderRecord, PaymentMethod, Product, ShopCustomer
from carebot.shop.store import money


class Choice(BaseModel):
    id: str
    label: str


class ItemChoice(Choice):
    """An order line, with the variants it may become (change_items, exchange). What a new variant
    costs in the order's currency is the preview's to say (`plan()` converts it)."""

    price: str
    variants: list[Choice] = Field(default_factory=list)


class ActionOption(BaseModel):
    """One action the policy allows on an order now, with what the operator chooses from."""

    kind: ActionKind
    label: str
    reasons: list[str] = Field(default_factory=list)
    """cancel: the policy's reasons, one of which is recorded verbatim."""
    address: Address | None = None
    """change_address: where the order goes now (the form starts from it)."""
    items: list[ItemChoice] = Field(default_factory=list)
    """change_items, exchange: lines that have another variant to become; return: every line."""
    refund_to: list[Choice] = Field(default_factory=list)
    """return: where the policy lets the refund go."""
    payment_methods: list[Choice] = Field(default_factory=list)
    """change_items, exchange: the customer's methods, for a price difference (whether a gift card
    covers it is known once the difference is: the preview says)."""


def action_options(
    order: OrderRecord, customer: ShopCustomer, products: dict[str, Product], policy: Policy, now: datetime
) -> list[ActionOption]:
    """The actions the policy allows on `order` now, in the policy's order."""
    options = []
    for kind, offer in _OFFERS.items():
        if order.status in policy.statuses(kind) and (option := offer(order, customer, products, policy, now)):
            options.append(option)
    return options


def _method_choice(method: PaymentMethod, currency: str) -> Choice:
    label = method.label
    if method.kind == "gift_card" and method.balance is not None:
        label = f"{label} (balance {money(method.balance, currency)})"
    return Choice(id=method.id, label=label)


def _item_choice(item: Item, currency: str, variants: list[Choice] | None = None) -> ItemChoice:
    return ItemChoice(id=item.id, label=item.describe(), price=money(item.price, currency), variants=variants or [])


def _swappable(order: OrderRecord, products: dict[str, Product], *, same_product: bool) -> list[ItemChoice]:
    lines = []
    for item in order.items:
        choices = variant_choices(item, products, same_product=same_product)
        if choices:
            variants = [Choice(id=v.id, label=v.describe()) for v in choices]
            lines.append(_item_choice(item, order.currency, variants))
    return lines


def _cancel(
    order: OrderRecord, customer: ShopCustomer, products: dict[str, Product], policy: Policy, now: datetime
) -> ActionOption:
    return ActionOption(kind="cancel", label=KIND_LABELS["cancel"], reasons=list(policy.cancel.reasons))


def _change_address(
    order: OrderRecord, customer: ShopCustomer, products: dict[str, Product], policy: Policy, now: datetime
) -> ActionOption:
    current = order.address or customer.address
    return ActionOption(kind="change_address", label=KIND_LABELS["change_address"], address=current)


def _change_items(
    order: OrderRecord, customer: ShopCustomer, products: dict[str, Product], policy: Policy, now: datetime
) -> ActionOption | None:
    rule = policy.change_items
    if rule.once and order.items_changed:
        return None
    items = _swappable(order, products, same_product=rule.same_product)
    if not items:
        return None
    methods = [_method_choice(m, order.currency) for m in customer.payment_methods]
    return ActionOption(kind="change_items", label=KIND_LABELS["change_items"], items=items, payment_methods=methods)


def _return(
    order: OrderRecord, customer: ShopCustomer, products: dict[str, Product], policy: Policy, now: datetime
) -> ActionOption | None:
    targets = refund_targets(order, customer, policy)
    if not within_window(order, policy.return_.within_days, now) or not order.items or not targets:
        return None
    return ActionOption(
        kind="return",
        label=KIND_LABELS["return"],
        items=[_item_choice(i, order.currency) for i in order.items],
        refund_to=[_method_choice(m, order.currency) for m in targets],
    )


def _exchange(
    order: OrderRecord, customer: ShopCustomer, products: dict[str, Product], policy: Policy, now: datetime
) -> ActionOption | None:
    rule = policy.exchange
    if not within_window(order, rule.within_days, now):
        return None
    items = _swappable(order, products, same_product=rule.same_product)
    if not items:
        return None
    methods = [_method_choice(m, order.currency) for m in customer.payment_methods]
    return ActionOption(kind="exchange", label=KIND_LABELS["exchange"], items=items, payment_methods=methods)


_OFFERS = {
    "cancel": _cancel,
    "change_address": _change_address,
    "change_items": _change_items,
    "return": _return,
    "exchange": _exchange,
}


def products_needed(orders: list[OrderRecord], policy: Policy) -> set[str] | None:
    """The catalogue the options need: the orders' own products when every swap stays within its
    product, else all of it (None)."""
    if policy.change_items.same_product and policy.exchange.same_product:
        return {i.product_id for o in orders for i in o.items}
    return None
