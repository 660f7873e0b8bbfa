"""Gathering an action on an order, one question at a time, up to the exact change to confirm.

`advance` takes what the customer has said so far (`PendingAction`, kept in the conversation's state)
and their latest message, and returns the next step: ask for a missing detail with numbered choices,
refuse (the policy or the order does not allow it), or propose the change — which `plan` has checked
and priced — for the customer's yes. It reads the shop's data and writes nothing: the write happens in
the graph's `confirm_action`, after the yes. Questions come in a fixed order: the order (when the
customer has several it could be), the items (when the order has several), the detail (reason, address,
new variant, refund method), then how a price difference is paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, NotRequired, TypedDict

from carebot.domain import parse_order_number
from carebot.graph.action_words import (
    cancel_reason,
    chosen_numbers,
    matching_choices,
    matching_words,
    parse_address,
    quantity,
    refund_preference,
    says_all,
)
from carebot.phrases import ORDER_STATUS_WORDS, phrase
from carebot.shop.actions import (
    ActionRequest,
    Plan,
    Refusal,
    find_order,
    payment_choices,
    plan,
    price_in_order,
    refund_targets,
    within_window,
)
from carebot.shop.policy import Policy
from carebot.shop.records import ActionKind, Address, Item, OrderRecord, PaymentMethod, Product, ShopCustomer, Variant

Slot = Literal["order", "items", "reason", "address", "variant", "refund", "payment"]


class PendingAction(TypedDict):
    """An action the customer asked for, as far as it is known; kept across turns until done or dropped."""

    kind: ActionKind
    order_number: str | None
    item_ids: list[str]
    new_variant_ids: list[str]
    address: dict[str, str | None] | None
    reason: str | None
    payment_method_id: str | None
    request_text: str
    """The message that asked for it: details named there ("to size L", "to my gift card") are taken from it."""
    asking: Slot | None
    """The detail the last reply asked for; `choices` are the values behind its numbered list."""
    choices: list[str]
    labels: list[str]
    tries: int
    """Replies to the current question that could not be read; a second one drops the action."""
    request: NotRequired[dict[str, object]]
    """The complete request, once proposed (an `ActionRequest` as data)."""
    confirmation_id: NotRequired[str]
    """Names the confirmation: with the conversation, the idempotency key of the write."""
    done_text: NotRequired[str]
    """What the customer is told once it is done, worded with the plan when it was proposed."""


def new_pending(kind: ActionKind, text: str, told: dict[str, Any] | None = None) -> PendingAction:
    """A new action from the customer's request; `told` is what a model's tool call read in it, taken as
    the customer's words (an order number still resolves only among their orders; everything is
    confirmed before it happens)."""
    told = told or {}
    address = told.get("address")
    said = " ".join(
        str(told[k]) for k in ("reason", "item", "items", "new_option", "pay_with", "refund_to") if told.get(k)
    )
    return {
        "kind": kind,
        "order_number": parse_order_number(str(told.get("order_number") or "")),
        "item_ids": [],
        "new_variant_ids": [],
        "address": _told_address(address),
        "reason": None,
        "payment_method_id": None,
        "request_text": f"{text} {said.replace('gift_card', 'gift card')}".strip(),
        "asking": None,
        "choices": [],
        "labels": [],
        "tries": 0,
    }


@dataclass(frozen=True, slots=True)
class Ask:
    pending: PendingAction
    text: str


@dataclass(frozen=True, slots=True)
class Refuse:
    code: str
    text: str
    order_number: str | None


@dataclass(frozen=True, slots=True)
class Propose:
    pending: PendingAction
    request: ActionRequest
    plan: Plan
    text: str


@dataclass(frozen=True, slots=True)
class ShopView:
    """What `advance` reads: the customer, their orders, the catalogue, the policy and the time."""

    customer: ShopCustomer
    orders: list[OrderRecord]
    products: dict[str, Product]
    policy: Policy
    now: datetime
    language: str


def _told_address(address: object) -> dict[str, str | None] | None:
    try:
        return Address.model_validate(address).model_dump() if address else None
    except ValueError:
        return None  # an address the tool call got wrong is asked for


def take_answer(pending: PendingAction, text: str, named_order: str | None, shop: ShopView) -> bool:
    """Fill the detail the last reply asked for from the customer's answer; False when it says none."""
    slot, choices = pending["asking"], pending["choices"]
    if slot is None:
        return True
    if slot == "address":
        address = parse_address(text)
        if address is not None:
            pending["address"] = address.model_dump()
        return address is not None
    if slot == "order" and named_order:
        pending["order_number"] = named_order
        return True
    if slot == "items":
        picked = picked_items(text, pending["labels"])
        pending["item_ids"] = [choices[n - 1] for n in picked]
        return bool(picked)
    reason = cancel_reason(text, choices) if slot == "reason" else None
    picked = [choices.index(reason) + 1] if reason else chosen_numbers(text, len(choices))
    picked = picked or matching_choices(text, pending["labels"])
    if not picked and slot in ("refund", "payment"):
        picked = _method_by_preference(text, pending, shop)
    if len(picked) != 1:
        return False
    value = choices[picked[0] - 1]
    if slot == "order":
        pending["order_number"] = value
    elif slot == "reason":
        pending["reason"] = value
    elif slot == "variant":
        pending["new_variant_ids"].append(value)
    else:  # refund, payment
        pending["payment_method_id"] = value
    return True


def _method_by_preference(text: str, pending: PendingAction, shop: ShopView) -> list[int]:
    """A refund or payment choice named by kind: "gift card", "my card", "the original way"."""
    preference = refund_preference(text)
    offered = [shop.customer.payment_method(c) for c in pending["choices"]]
    order = find_order(shop.orders, pending["order_number"] or "")
    original = order.original_payment_method_id if order else None
    for n, method in enumerate(offered, start=1):
        if method is None:
            continue
        if preference == "gift_card" and method.kind == "gift_card":
            return [n]
        if preference == "original" and method.id == original:
            return [n]
    cards = [n for n, m in enumerate(offered, start=1) if m is not None and m.kind == "card"]
    return cards if preference == "original" and len(cards) == 1 else []


def picked_items(text: str, labels: list[str]) -> list[int]:
    """The items a reply names: by number, by name ("the lamp"; "both mugs" when two lines are the same
    product), or all of them ("everything", "semua", "todo")."""
    if (says_all(text) and not matching_choices(text, labels)) or quantity(text) == len(labels):
        return list(range(1, len(labels) + 1))  # "both", "las dos", "semua"
    numbers = chosen_numbers(text, len(labels))
    if numbers and not says_all(text):
        return numbers
    named = matching_choices(text, labels)
    if named:
        if len({labels[n - 1] for n in named}) > 1 or says_all(text):
            return named
        # Identical lines ("2× mug"): as many as the reply says ("2 mugs", "dua mug"), else one.
        return named[: quantity(text) or 1]
    return list(range(1, len(labels) + 1)) if says_all(text) else []


def advance(pending: PendingAction, text: str, named_order: str | None, shop: ShopView) -> Ask | Refuse | Propose:
    """The next step of gathering `pending`, after the customer's latest message `text`."""
    if named_order and pending["order_number"] is None:
        pending["order_number"] = named_order
    order = _resolve_order(pending, shop)
    if not isinstance(order, OrderRecord):
        return order
    pending["order_number"] = order.number
    pending["kind"] = _kind_for(pending["kind"], order, shop.policy)
    if (refused := _refuse_early(pending["kind"], order, shop)) is not None:
        return refused
    if pending["kind"] in ("change_items", "return", "exchange") and not pending["item_ids"]:
        items = _items_named(pending, text, order)
        if not items:
            choices = [(i.id, i.describe()) for i in order.items]
            return _ask(pending, "items", choices, shop.language, number=order.number)
        pending["item_ids"] = items
    step = _DETAILS[pending["kind"]](pending, text, order, shop)
    if step is not None:
        return step
    return _propose(pending, order, shop)


def _resolve_order(pending: PendingAction, shop: ShopView) -> OrderRecord | Ask | Refuse:
    if pending["order_number"]:
        order = find_order(shop.orders, pending["order_number"])
        if order is None:
            number = pending["order_number"]
            return Refuse("not_found", phrase(shop.language, "action_refused_not_found", number=number), number)
        return order
    candidates = [o for o in shop.orders if _could_apply(pending["kind"], o, shop)]
    if pending["kind"] in ("change_items", "exchange"):
        # "a different size" means an item change before shipping, an exchange after delivery: the orders
        # of the kind the customer's words name first ("exchange the shirt I received").
        preferred = [o for o in candidates if o.status in shop.policy.statuses(pending["kind"])]
        candidates = preferred or candidates
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        past = phrase(shop.language, f"action_past_{pending['kind']}")
        return Refuse("no_orders", phrase(shop.language, "action_refused_no_orders", past=past), None)
    choices = [(o.number, _order_label(o, shop.language)) for o in candidates[:9]]
    verb = phrase(shop.language, f"action_verb_{pending['kind']}")
    return _ask(pending, "order", choices, shop.language, verb=verb)


def _could_apply(kind: ActionKind, order: OrderRecord, shop: ShopView) -> bool:
    for candidate in _kinds_meant(kind):
        if order.status not in shop.policy.statuses(candidate):
            continue
        if candidate in ("return", "exchange"):
            days = shop.policy.return_.within_days if candidate == "return" else shop.policy.exchange.within_days
            if not within_window(order, days, shop.now):
                continue
        return True
    return False


def _kinds_meant(kind: ActionKind) -> tuple[ActionKind, ...]:
    return ("change_items", "exchange") if kind in ("change_items", "exchange") else (kind,)


def _kind_for(kind: ActionKind, order: OrderRecord, policy: Policy) -> ActionKind:
    """A variant change is an item change before the order ships and an exchange after it is delivered."""
    if kind == "exchange" and order.status in policy.statuses("change_items"):
        return "change_items"
    changeable = order.status in policy.statuses("change_items")
    if kind == "change_items" and not changeable and order.status in policy.statuses("exchange"):
        return "exchange"
    return kind


def _refuse_early(kind: ActionKind, order: OrderRecord, shop: ShopView) -> Refuse | None:
    """The refusals that need no detail: the order's status, the return window, items changed once."""
    language, number = shop.language, order.number
    allowed = shop.policy.statuses(kind)
    past = phrase(language, f"action_past_{kind}")
    if order.status not in allowed:
        words = ORDER_STATUS_WORDS.get(language, ORDER_STATUS_WORDS["en"])
        status = words.get(order.status, order.status)
        allowed_words = _or(language, [words.get(s, s) for s in allowed])
        text = phrase(language, "action_refused_status", number=number, past=past, status=status, allowed=allowed_words)
        return Refuse("status", text, number)
    if kind in ("return", "exchange"):
        days = shop.policy.return_.within_days if kind == "return" else shop.policy.exchange.within_days
        if not within_window(order, days, shop.now):
            return Refuse(
                "window", phrase(language, "action_refused_window", number=number, days=days, past=past), number
            )
    if kind == "change_items" and shop.policy.change_items.once and order.items_changed:
        return Refuse("once", phrase(language, "action_refused_once", number=number), number)
    return None


def _items_named(pending: PendingAction, text: str, order: OrderRecord) -> list[str]:
    """The order's only item, or the items the request or the latest message names ("the lamp", "everything")."""
    if len(order.items) == 1:
        return [order.items[0].id]
    labels = [i.describe() for i in order.items]
    for said in (text, pending["request_text"]):
        picked = picked_items(said, labels) if matching_choices(said, labels) or says_all(said) else []
        if picked:
            return [order.items[n - 1].id for n in picked]
    return []


def _cancel_details(pending: PendingAction, text: str, order: OrderRecord, shop: ShopView) -> Ask | Refuse | None:
    reasons = shop.policy.cancel.reasons
    if pending["reason"] is None:
        pending["reason"] = cancel_reason(text, reasons) or cancel_reason(pending["request_text"], reasons)
    if pending["reason"] is None:
        choices = [(r, _reason_words(shop.language, r)) for r in reasons]
        return _ask(pending, "reason", choices, shop.language, number=order.number)
    return None


def _address_details(pending: PendingAction, text: str, order: OrderRecord, shop: ShopView) -> Ask | Refuse | None:
    if pending["address"] is None:
        address = parse_address(text)
        if address is None:
            return _ask(pending, "address", [], shop.language, number=order.number)
        pending["address"] = address.model_dump()
    return None


def _variant_details(pending: PendingAction, text: str, order: OrderRecord, shop: ShopView) -> Ask | Refuse | None:
    rule = shop.policy.change_items if pending["kind"] == "change_items" else shop.policy.exchange
    while len(pending["new_variant_ids"]) < len(pending["item_ids"]):
        item = order.item(pending["item_ids"][len(pending["new_variant_ids"])])
        assert item is not None  # ids come from the order
        siblings = _siblings(item, shop.products, same_product=rule.same_product)
        named = _variant_named(item, siblings, text) or _variant_named(item, siblings, pending["request_text"])
        if named is not None and not named.available:
            wanted = named.describe()
            return Refuse("unavailable", _refusal_text("unavailable", order, shop, item=item.name, wanted=wanted),
                          order.number)  # fmt: skip
        if named is not None:
            pending["new_variant_ids"].append(named.id)
            continue
        available = [v for v in siblings if v.available]
        if not available:
            wanted = phrase(shop.language, "action_another_option")
            return Refuse("unavailable", _refusal_text("unavailable", order, shop, item=item.name, wanted=wanted),
                          order.number)  # fmt: skip
        choices = [
            (v.id, f"{v.describe()} — {price_in_order(item, v, shop.products)} {order.currency}") for v in available
        ]
        return _ask(pending, "variant", choices, shop.language, item=item.describe())
    return _payment_details(pending, text, order, shop)


def _payment_details(pending: PendingAction, text: str, order: OrderRecord, shop: ShopView) -> Ask | Refuse | None:
    """How a price difference is paid or refunded: named in a message, or asked."""
    if pending["payment_method_id"] is not None:
        return None
    probe = plan(_request(pending), order=order, customer=shop.customer, products=shop.products,
                 policy=shop.policy, now=shop.now)  # fmt: skip
    if not isinstance(probe, Refusal) or probe.code != "payment_method":
        return None  # no difference to pay, or a refusal `_propose` reports
    difference = _difference(pending, order, shop)
    methods, original = shop.customer.payment_methods, order.original_payment_method_id
    named = _method_named(methods, text, original) or _method_named(methods, pending["request_text"], original)
    if named is not None:
        pending["payment_method_id"] = named.id
        return None
    methods = payment_choices(shop.customer, difference)
    key = "action_ask_payment_pay" if difference > 0 else "action_ask_payment_refund"
    amount = f"{abs(difference)} {order.currency}"
    return _ask(pending, "payment", [(m.id, m.label) for m in methods], shop.language, key=key, amount=amount)


def _return_details(pending: PendingAction, text: str, order: OrderRecord, shop: ShopView) -> Ask | Refuse | None:
    if pending["payment_method_id"] is not None:
        return None
    targets = refund_targets(order, shop.customer, shop.policy)
    preference = refund_preference(text) or refund_preference(pending["request_text"])
    if preference == "gift_card":
        card = shop.customer.gift_card
        if card is None or card not in targets:
            return Refuse("refund_method", _refusal_text("policy", order, shop), order.number)
        pending["payment_method_id"] = card.id
        return None
    original = shop.customer.payment_method(order.original_payment_method_id)
    if preference == "original" and original is not None and original in targets:
        pending["payment_method_id"] = original.id
        return None
    if len(targets) == 1:
        pending["payment_method_id"] = targets[0].id
        return None
    if not targets:
        return Refuse("refund_method", _refusal_text("policy", order, shop), order.number)
    refund = sum((i.price for i in order.items if i.id in pending["item_ids"]), Decimal("0"))
    choices = [(m.id, _method_label(m, order, shop.language)) for m in targets]
    return _ask(pending, "refund", choices, shop.language, amount=f"{refund} {order.currency}")


_DETAILS = {
    "cancel": _cancel_details,
    "change_address": _address_details,
    "change_items": _variant_details,
    "exchange": _variant_details,
    "return": _return_details,
}


def _propose(pending: PendingAction, order: OrderRecord, shop: ShopView) -> Refuse | Propose:
    request = _request(pending)
    planned = plan(request, order=order, customer=shop.customer, products=shop.products, policy=shop.policy,
                   now=shop.now)  # fmt: skip
    if isinstance(planned, Refusal):
        return _refusal(planned, order, shop, _difference(pending, order, shop))
    change = describe_change(planned, shop.language)
    text = phrase(shop.language, "action_confirm", change=change, money=describe_money(planned, shop))
    pending.update({"asking": None, "choices": [], "labels": [], "request": request.model_dump(mode="json")})
    return Propose(pending, request, planned, text.replace("  ", " ").strip())


def describe_change(planned: Plan, language: str) -> str:
    """ "Please confirm: cancel order A3001 (Wool rug), reason: no longer needed."."""
    request, order = planned.request, planned.before
    values: dict[str, object] = {"number": order.number}
    items = [i for i in order.items if i.id in request.item_ids]
    if request.kind == "cancel":
        values.update(
            items=", ".join(i.describe() for i in order.items), reason=_reason_words(language, request.reason or "")
        )
    elif request.kind == "change_address":
        old = order.address.one_line() if order.address else "—"
        values.update(address=request.address.one_line() if request.address else "", old=old)
    elif request.kind == "return":
        values.update(items=", ".join(i.describe() for i in items))
    else:
        values.update(changes=describe_swaps(planned, language))
    return phrase(language, f"action_change_{request.kind}", **values)


def describe_swaps(planned: Plan, language: str) -> str:
    after = {i.id: i for i in planned.after.items}
    swaps = []
    for item_id, variant_id in zip(planned.request.item_ids, planned.request.new_variant_ids, strict=False):
        old = planned.before.item(item_id)
        new = after.get(item_id)
        variant = new.describe() if new is not None and new.variant_id == variant_id else variant_id
        if old is not None:
            label = ", ".join(old.options.values()) or old.name
            new_label = ", ".join(new.options.values()) if new is not None and new.variant_id == variant_id else variant
            swaps.append(phrase(language, "action_swap", item=f"{old.name} ({label})", variant=new_label))
    return "; ".join(swaps)


def describe_money(planned: Plan, shop: ShopView, *, done: bool = False) -> str:
    """What the action does to the customer's money, in words: as it will be (the confirmation) or as
    it was (`done`: a price difference "has been charged")."""
    order, language = planned.before, shop.language
    currency = order.currency
    methods = {m.id: m for m in shop.customer.payment_methods}

    def label(method_id: str | None) -> str:
        method = methods.get(method_id or "")
        return method.label if method else (method_id or "")

    request = planned.request
    if request.kind == "cancel":
        refunds = [(f"{r.amount} {currency}", label(r.payment_method_id)) for r in planned.money]
        return " ".join(phrase(language, "action_money_refund", amount=a, method=m) for a, m in refunds)
    if request.kind == "return":
        amount = f"{-planned.difference} {currency}"
        return phrase(language, "action_money_later_refund", amount=amount, method=label(request.payment_method_id))
    if request.kind == "change_address":
        return ""
    if planned.difference == 0:
        return phrase(language, "action_money_none")
    amount = f"{abs(planned.difference)} {currency}"
    if request.kind == "exchange":
        key = "action_money_later_pay" if planned.difference > 0 else "action_money_later_refund"
        return phrase(language, key, amount=amount, method=label(request.payment_method_id))
    key = "action_money_pay" if planned.difference > 0 else "action_money_refund"
    if done and planned.difference > 0:
        key = "action_money_charged"
    return phrase(language, key, amount=amount, method=label(request.payment_method_id))


def _request(pending: PendingAction) -> ActionRequest:
    address = pending["address"]
    return ActionRequest(
        kind=pending["kind"],
        order_number=pending["order_number"] or "",
        item_ids=pending["item_ids"],
        new_variant_ids=pending["new_variant_ids"],
        address=Address.model_validate(address) if address else None,
        reason=pending["reason"],
        payment_method_id=pending["payment_method_id"],
    )


def _refusal(refusal: Refusal, order: OrderRecord, shop: ShopView, difference: Decimal) -> Refuse:
    if refusal.code == "gift_card_balance":
        amount = f"{abs(difference)} {order.currency}"
        return Refuse(refusal.code, _refusal_text("gift_card_balance", order, shop, amount=amount), order.number)
    if refusal.code in ("nothing_to_change", "not_found", "unavailable"):
        item = order.items[0].name if order.items else ""
        wanted = phrase(shop.language, "action_another_option")
        return Refuse(refusal.code, _refusal_text(refusal.code, order, shop, item=item, wanted=wanted), order.number)
    return Refuse(refusal.code, _refusal_text("policy", order, shop), order.number)


def _refusal_text(code: str, order: OrderRecord, shop: ShopView, **values: object) -> str:
    return phrase(shop.language, f"action_refused_{code}", number=order.number, **values)


def _difference(pending: PendingAction, order: OrderRecord, shop: ShopView) -> Decimal:
    total = Decimal("0")
    for item_id, variant_id in zip(pending["item_ids"], pending["new_variant_ids"], strict=False):
        item = order.item(item_id)
        variant = next((v for p in shop.products.values() for v in p.variants if v.id == variant_id), None)
        if item is not None and variant is not None:
            total += price_in_order(item, variant, shop.products) - item.price
    return total


def _siblings(item: Item, products: dict[str, Product], *, same_product: bool) -> list[Variant]:
    variants = (
        products[item.product_id].variants
        if same_product and item.product_id in products
        else [v for p in products.values() for v in p.variants]
    )
    return [v for v in variants if v.id != item.variant_id]


def _variant_named(item: Item, siblings: list[Variant], text: str) -> Variant | None:
    """The sibling variant a message names ("size L", "in white", "the M"): the one whose differences from
    the item the message names most, with the fewest it does not name; None when unclear."""
    said = set(_option_words(text))
    best: tuple[int, int] | None = None
    found: list[Variant] = []
    for variant in siblings:
        changed = [value for key, value in variant.options.items() if item.options.get(key) != value]
        named = sum(1 for value in changed if set(_option_words(value)) <= said)
        if named == 0:
            continue
        score = (named, -(len(changed) - named))
        if best is None or score > best:
            best, found = score, [variant]
        elif score == best:
            found.append(variant)
    return found[0] if len(found) == 1 else None


def _option_words(text: str) -> list[str]:
    return matching_words(text)


def _method_named(methods: list[PaymentMethod], text: str, original: str | None) -> PaymentMethod | None:
    """The payment method a message names: by its label ("my amex", "PayPal"), "gift card", or "the same
    card" (the order's original method)."""
    picked = matching_choices(text, [m.label for m in methods])
    if len(picked) == 1:
        return methods[picked[0] - 1]
    preference = refund_preference(text)
    if preference == "gift_card":
        return next((m for m in methods if m.kind == "gift_card"), None)
    if preference == "original":
        return next((m for m in methods if m.id == original), None)
    return None


def _method_label(method: PaymentMethod, order: OrderRecord, language: str) -> str:
    if method.id == order.original_payment_method_id:
        return phrase(language, "action_original_method", method=method.label)
    return method.label


def _order_label(order: OrderRecord, language: str) -> str:
    words = ORDER_STATUS_WORDS.get(language, ORDER_STATUS_WORDS["en"])
    items = ", ".join(dict.fromkeys(i.describe() for i in order.items))
    return f"{order.number} — {items} ({words.get(order.status, order.status)})"


def _reason_words(language: str, reason: str) -> str:
    try:
        return phrase(language, f"reason_{reason}")
    except KeyError:
        return reason  # a shop's own reason, in its own words


def _or(language: str, words: list[str]) -> str:
    joiner = {"en": " or ", "id": " atau ", "es": " o "}.get(language, " or ")
    return joiner.join(words)


def _ask(
    pending: PendingAction, slot: Slot, choices: list[tuple[str, str]], language: str, *, key: str | None = None,
    **values: object,
) -> Ask:  # fmt: skip
    again = pending["asking"] == slot and pending["tries"] > 0
    pending.update({"asking": slot, "choices": [c for c, _ in choices], "labels": [label for _, label in choices]})
    listed = "\n".join(f"{n}. {label}" for n, (_, label) in enumerate(choices, start=1))
    text = phrase(language, key or f"action_ask_{slot}", choices=listed, **values)
    return Ask(pending, (phrase(language, "action_again") if again else "") + text)
