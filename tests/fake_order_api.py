"""A shop's own order API on 127.0.0.1, as the README's "Your own order API" describes it: customers
with their addresses and payment methods, orders in the shop-data shape, the catalogue, and the
action POSTs, each done once per `Idempotency-Key` (a repeated key gets the first answer again,
marked `Idempotent-Replayed: true`).

Tests script trouble for the next POSTs (`FakeOrderApi.trouble`): an error status before anything is
done, or the action done and its answer sent later than the client waits.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.loopback import LoopbackServer, Recorded

TOKEN = "s3cret"
ANN, BOB = 7, 8


@dataclass(frozen=True)
class Trouble:
    """What the next POST meets: `status` (and `body`) instead of the action, or the action done
    and its answer held back `delay` seconds."""

    status: int | None = None
    body: Any = None
    delay: float = 0.0


def _item(line: str, product: str, variant: str, name: str, colour: str, price: str) -> dict[str, Any]:
    return {"id": line, "product_id": product, "variant_id": variant, "name": name,
            "options": {"colour": colour}, "price": price}  # fmt: skip


def _when(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


def _shop() -> tuple[dict[int, dict[str, Any]], dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Ann (a pending, a shipped and a recently delivered order, a card and a gift card) and Bob."""
    customers = {
        ANN: {"id": ANN, "name": "Ann Lee", "email": "ann@example.com", "phone": "+15550001", "language": "en",
              "address": {"line1": "1 Oak Lane", "line2": None, "city": "Austin", "state": "TX", "country": "USA",
                          "zip": "78701"},
              "payment_methods": [{"id": "card-7", "kind": "card", "label": "Visa ending 4242"},
                                  {"id": "gift-7", "kind": "gift_card", "label": "Gift card", "balance": "20.00"}]},
        BOB: {"id": BOB, "name": "Bob Ray", "email": "bob@example.com", "phone": "+15550002", "language": "en",
              "payment_methods": [{"id": "paypal-8", "kind": "paypal", "label": "PayPal bob@example.com"}]},
    }  # fmt: skip
    lamp_black = ("lamp", "lamp-black", "Oak desk lamp", "black", "49.00")
    mug_blue = ("mug", "mug-blue", "Stoneware mug", "blue", "12.00")
    orders = [
        {"number": "#B2001", "customer_id": ANN, "status": "pending", "placed_at": _when(1), "currency": "USD",
         "address": customers[ANN]["address"],
         "items": [_item("B2001-1", *lamp_black), _item("B2001-2", *mug_blue)],
         "payments": [{"payment_method_id": "card-7", "amount": "61.00", "kind": "payment"}]},
        {"number": "#B2002", "customer_id": ANN, "status": "shipped", "placed_at": _when(3), "currency": "USD",
         "items": [_item("B2002-1", "lamp", "lamp-white", "Oak desk lamp", "white", "49.00")],
         "payments": [{"payment_method_id": "card-7", "amount": "49.00", "kind": "payment"}],
         "carrier": "UPS", "tracking_number": "1Z999"},
        {"number": "#B2003", "customer_id": ANN, "status": "delivered", "placed_at": _when(10),
         "delivered_at": _when(5), "currency": "USD",
         "items": [_item("B2003-1", *mug_blue), _item("B2003-2", *mug_blue)],
         "payments": [{"payment_method_id": "card-7", "amount": "24.00", "kind": "payment"}]},
        {"number": "#B3001", "customer_id": BOB, "status": "pending", "placed_at": _when(2), "currency": "USD",
         "items": [_item("B3001-1", *lamp_black)],
         "payments": [{"payment_method_id": "paypal-8", "amount": "49.00", "kind": "payment"}]},
    ]  # fmt: skip
    products = [
        {"id": "lamp", "name": "Oak desk lamp", "variants": [
            {"id": "lamp-black", "options": {"colour": "black"}, "price": "49.00", "available": True},
            {"id": "lamp-white", "options": {"colour": "white"}, "price": "49.00", "available": True},
            {"id": "lamp-brass", "options": {"colour": "brass"}, "price": "59.00", "available": True}]},
        {"id": "mug", "name": "Stoneware mug", "variants": [
            {"id": "mug-blue", "options": {"colour": "blue"}, "price": "12.00", "available": True},
            {"id": "mug-green", "options": {"colour": "green"}, "price": "12.00", "available": True},
            {"id": "mug-grey", "options": {"colour": "grey"}, "price": "12.00", "available": False}]},
    ]  # fmt: skip
    return customers, {o["number"]: o for o in orders}, products


class FakeOrderApi:
    """The shop's order API, with its state: `orders` (by number) as the shop has them now,
    `applied` the actions it did, `requests` every request it got."""

    def __init__(self) -> None:
        self.customers, self.orders, self.products = _shop()
        self.applied: list[tuple[str, str, str]] = []
        """(idempotency key, action, order number) of each action done."""
        self.trouble: list[Trouble] = []
        self._answers: dict[str, tuple[int, Any]] = {}
        self._lock = threading.Lock()
        self._server = LoopbackServer(self.respond)
        self.url = self._server.url

    def __enter__(self) -> FakeOrderApi:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    @property
    def requests(self) -> list[Recorded]:
        return self._server.requests

    @property
    def posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    def respond(self, request: Recorded) -> tuple[int, Any] | tuple[int, Any, dict[str, str]]:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"error": "unauthorised"}
        url = urlsplit(request.path)
        path = [unquote(part) for part in url.path.strip("/").split("/")]
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if request.method == "POST" and len(path) == 3 and path[0] == "orders":
            return self._act(request, number=path[1], action=path[2])
        with self._lock:
            return self._read(path, query)

    def _read(self, path: list[str], query: dict[str, str]) -> tuple[int, Any]:
        match path:
            case ["customers"]:
                found = [c for c in self.customers.values() if any(c.get(k) == v for k, v in query.items())]
                return 200, {"customers": found}
            case ["customers", customer] if int(customer) in self.customers:
                return 200, self.customers[int(customer)]
            case ["customers", customer, "orders"]:
                theirs = [o for o in self.orders.values() if str(o["customer_id"]) == customer]
                theirs.sort(key=lambda o: o["placed_at"], reverse=True)
                return 200, {"orders": theirs[: int(query.get("limit", 50))]}
            case ["customers", customer, "orders", number]:
                order = self.orders.get(number)
                return (200, order) if order and str(order["customer_id"]) == customer else (404, {"error": "no order"})
            case ["products"]:
                wanted = query["ids"].split(",") if "ids" in query else None
                return 200, {"products": [p for p in self.products if wanted is None or p["id"] in wanted]}
        return 404, {"error": "not found"}

    def _act(self, request: Recorded, *, number: str, action: str) -> tuple[int, Any] | tuple[int, Any, dict[str, str]]:
        key = request.headers.get("Idempotency-Key")
        if not key:
            return 400, {"error": "Idempotency-Key required"}
        with self._lock:
            trouble = self.trouble.pop(0) if self.trouble else Trouble()
            if trouble.status is not None:
                return trouble.status, trouble.body
            if key in self._answers:
                status, body = self._answers[key]
                replayed: tuple[int, Any, dict[str, str]] = (status, body, {"Idempotent-Replayed": "true"})
                answer: tuple[int, Any] | tuple[int, Any, dict[str, str]] = replayed
            else:
                answer = self._answers[key] = self._apply(request.json(), number, action, key)
        if trouble.delay:
            time.sleep(trouble.delay)  # done, but answered after the client stopped waiting
        return answer

    def _apply(self, body: dict[str, Any], number: str, action: str, key: str) -> tuple[int, Any]:
        order = self.orders.get(number)
        if order is None or order["customer_id"] != body.get("customer_id"):
            return 404, {"error": "no such order for this customer"}
        changed = copy.deepcopy(order)
        if action == "cancel":
            refunds = [{**p, "kind": "refund"} for p in order["payments"] if p["kind"] == "payment"]
            changed.update(status="cancelled", cancel_reason=body["reason"], payments=order["payments"] + refunds)
        elif action == "address":
            changed["address"] = body["address"]
        elif action == "items":
            self._swap(changed, body)
            if body["payment_method_id"]:
                difference = sum(Decimal(i["price"]) for i in changed["items"]) - sum(
                    Decimal(i["price"]) for i in order["items"]
                )
                paid = {"payment_method_id": body["payment_method_id"], "amount": str(abs(difference)),
                        "kind": "payment" if difference > 0 else "refund"}  # fmt: skip
                changed["payments"] = order["payments"] + [paid]
            changed["items_changed"] = True
        elif action == "return":
            changed.update(
                status="return_requested", **{"return": {"items": body["items"], "refund_to": body["refund_to"]}}
            )
        elif action == "exchange":
            exchange = {k: body[k] for k in ("items", "new_variants", "payment_method_id")}
            changed.update(status="exchange_requested", exchange=exchange)
        else:
            return 404, {"error": f"no action {action}"}
        self.orders[number] = changed
        self.applied.append((key, action, number))
        return 200, changed

    def _swap(self, order: dict[str, Any], body: dict[str, Any]) -> None:
        variants = {v["id"]: v for p in self.products for v in p["variants"]}
        new = dict(zip(body["items"], body["new_variants"], strict=True))
        for item in order["items"]:
            if variant := variants.get(new.get(item["id"], "")):
                item.update(variant_id=variant["id"], options=variant["options"], price=variant["price"])
