"""Actions on orders in an operator's words: the transcript's line for an action done, the
preview of one about to be done, and why the policy refuses one.

One wording serves the preview and the transcript, so what an operator confirmed is what the
transcript says was done. It reads the order before and after (the shop's `OrderRecord`s, as
`plan()` computes them and `order_actions` keeps them), so it needs no access to anything else
but the names of payment methods and variants, which the caller looks up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from carebot.shop.actions import ActionRequest, Refusal
from carebot.shop.records import Item, OrderRecord, Payment
from carebot.shop.store import money

KIND_LABELS = {
    "cancel": "Cancel the order",
    "change_address": "Change the address",
    "change_items": "Change items",
    "return": "Return items",
    "exchange": "Exchange items",
}


@dataclass(frozen=True, slots=True)
class Names:
    """What ids in an order stand for: payment methods' labels ("Visa ending 4242") and variants'
    options ({"colour": "black"})."""

    methods: Mapping[str, str] = field(default_factory=dict)
    variants: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def method(self, method_id: str | None) -> str:
        if method_id is None:
            return "the original payment method"
        return self.methods.get(method_id, method_id)

    def variant(self, variant_id: str) -> str:
        options = self.variants.get(variant_id)
        return ", ".join(options.values()) if options else variant_id


def by_words(actor: str, operator_email: str | None, confirming_message: str | None = None) -> str:
    """ "by the bot, on the customer's “sí, por favor”", "by ana@shop.example"."""
    if actor == "bot":
        said = " ".join((confirming_message or "").split()) or "yes"
        return f"by the bot, on the customer's “{said if len(said) <= 40 else said[:39] + '…'}”"
    return f"by {operator_email}" if operator_email else "by the shop's automation (admin token)"


def describe(
    request: ActionRequest, before: OrderRecord, after: OrderRecord, names: Names, *, difference: Decimal | None = None
) -> str:
    """The change in one sentence, e.g. "Order A1004 cancelled (no longer needed) — refund 39.00 USD
    to Visa ending 4242". `difference` (an exchange's, known when it is planned) is added when given."""
    return _DESCRIBERS[request.kind](request, before, after, names, difference)


def _new_money(before: OrderRecord, after: OrderRecord) -> list[Payment]:
    return after.payments[len(before.payments) :]


def _money_words(rows: list[Payment], currency: str, names: Names) -> str:
    """ "refund 39.00 USD to Visa ending 4242", "charge 10.00 USD to PayPal"."""
    words = [
        f"refund {money(r.amount, currency)} to {names.method(r.payment_method_id)}"
        if r.kind == "refund"
        else f"charge {money(r.amount, currency)} to {names.method(r.payment_method_id)}"
        for r in rows
    ]
    return " and ".join(words)


def _items_words(items: list[Item]) -> str:
    return ", ".join(i.describe() for i in items)


def _swap_words(old: Item, new_options: str) -> str:
    """ "Oak desk lamp (white → black)"."""
    was = ", ".join(old.options.values()) or "standard"
    return f"{old.name} ({was} → {new_options or 'standard'})"


def _cancel(
    request: ActionRequest, before: OrderRecord, after: OrderRecord, names: Names, difference: Decimal | None
) -> str:
    text = f"Order {before.number} cancelled ({after.cancel_reason or request.reason})"
    refunds = _new_money(before, after)
    return f"{text} — {_money_words(refunds, before.currency, names)}" if refunds else f"{text} — nothing to refund"


def _change_address(
    request: ActionRequest, before: OrderRecord, after: OrderRecord, names: Names, difference: Decimal | None
) -> str:
    new = after.address.one_line() if after.address else "no address"
    old = f" (was {before.address.one_line()})" if before.address else ""
    return f"Order {before.number} now ships to {new}{old}"


def _change_items(
    request: ActionRequest, before: OrderRecord, after: OrderRecord, names: Names, difference: Decimal | None
) -> str:
    swaps = []
    for item_id in request.item_ids:
        old, new = before.item(item_id), after.item(item_id)
        if old is not None and new is not None:
            swaps.append(_swap_words(old, ", ".join(new.options.values())))
    moves = _new_money(before, after)
    settled = _money_words(moves, before.currency, names) if moves else "same price"
    return f"Order {before.number} items changed: {'; '.join(swaps)} — {settled}"


def _return(
    request: ActionRequest, before: OrderRecord, after: OrderRecord, names: Names, difference: Decimal | None
) -> str:
    returned = after.return_
    items = [i for i in before.items if returned is not None and i.id in returned.items]
    total = sum((i.price for i in items), Decimal("0"))
    refund_to = names.method(returned.refund_to if returned else request.payment_method_id)
    return (
        f"Return requested for order {before.number}: {_items_words(items)} — refund"
        f" {money(total, before.currency)} to {refund_to} once the items are back"
    )


def _exchange(
    request: ActionRequest, before: OrderRecord, after: OrderRecord, names: Names, difference: Decimal | None
) -> str:
    exchange = after.exchange
    pairs = zip(exchange.items, exchange.new_variants, strict=True) if exchange else ()
    swaps = [_swap_words(old, names.variant(v)) for i, v in pairs if (old := before.item(i)) is not None]
    method = names.method(exchange.payment_method_id if exchange else request.payment_method_id)
    text = f"Exchange requested for order {before.number}: {'; '.join(swaps)}"
    if difference is None:
        return f"{text} — any price difference settled with {method}"
    if difference > 0:
        return f"{text} — the customer pays {money(difference, before.currency)} more with {method}"
    if difference < 0:
        return f"{text} — refund {money(-difference, before.currency)} to {method}"
    return f"{text} — same price"


_DESCRIBERS: dict[str, Callable[[ActionRequest, OrderRecord, OrderRecord, Names, Decimal | None], str]] = {
    "cancel": _cancel,
    "change_address": _change_address,
    "change_items": _change_items,
    "return": _return,
    "exchange": _exchange,
}


def refusal_words(refusal: Refusal, request: ActionRequest, names: Names, *, status: str | None = None) -> str:
    """Why not, for the operator: the policy's rule in plain words, with what it allows."""
    what = KIND_LABELS[request.kind].lower()
    detail = f"{refusal.detail[:1].upper()}{refusal.detail[1:]}"
    match refusal.code:
        case "not_found":
            # The same words whether the order is someone else's or nobody's.
            return f"This customer has no order {request.order_number}."
        case "status" if refusal.allowed:
            allowed = " or ".join(s.replace("_", " ") for s in refusal.allowed)
            now = f"; this one is {status.replace('_', ' ')}" if status else ""
            return f"The shop's policy allows “{what}” only for orders that are {allowed}{now}."
        case "status":
            return f"The shop's policy does not allow “{what}”."
        case "window":
            return f"The shop's policy allows “{what}” only within {refusal.allowed[0]} days of delivery."
        case "once":
            return "This order's items were changed once already; the shop's policy allows it only once."
        case "reason":
            return f"Pick one of the policy's reasons: {', '.join(refusal.allowed)}."
        case "refund_method" | "payment_method" if refusal.allowed:
            return f"{detail}: choose {' or '.join(names.method(m) for m in refusal.allowed)}."
    return f"{detail}."
