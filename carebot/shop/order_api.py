"""A shop's own order API (JSON over HTTPS, bearer token): an `OrderSource` for "where is my order?",
and the shop data and writes behind actions on its orders (`shop.order_api_actions`).

The API this expects (README, "Your own order API"):

- `GET {base}/customers?phone=…` (or `discord_id=…`, `email=…`) → `{"customers": [customer, …]}`
- `GET {base}/customers/{id}` → customer, or 404
- `GET {base}/customers/{id}/orders?limit=N` → `{"orders": [order, …]}`, newest first
- `GET {base}/customers/{id}/orders/{number}` → order, or 404 when that customer has no such order
- `GET {base}/products?ids=P1,P2` → `{"products": [product, …]}` (without `ids`: the whole catalogue)

A customer is `{"id", "name", "email", "phone", "language"}` plus, for actions, `"address"` and
`"payment_methods"` (DESIGN.md, "Shop data"); `id` is a number. An order is either in the status
shape (the fields of `domain.Order`: `items` of `{"name", "quantity", "unit_price"}`, `total`,
`created_at`, …) or in the shop-data shape (`placed_at`, `items` with their `variant_id`, `payments`,
`address`, `cancel_reason`, `items_changed`, `return`, `exchange`; `customer_id` may be left out, the
URL names the customer). Status lookups read both; actions need the shop-data shape. A product is
`{"id", "name", "variants": [{"id", "options", "price", "available"}]}`.

Actions are POSTs on an order (its number URL-encoded: `#W1002` is `%23W1002`), each with an
`Idempotency-Key` header, one per confirmed request, the same on every retry of it:

- `POST {base}/orders/{number}/cancel` `{"customer_id", "reason"}`
- `POST {base}/orders/{number}/address` `{"customer_id", "address"}`
- `POST {base}/orders/{number}/items` `{"customer_id", "items", "new_variants", "payment_method_id"}`
- `POST {base}/orders/{number}/return` `{"customer_id", "items", "refund_to"}`
- `POST {base}/orders/{number}/exchange` `{"customer_id", "items", "new_variants", "payment_method_id"}`

`items` are order-line ids, `new_variants` the variant each becomes (aligned with `items`),
`refund_to` and `payment_method_id` the customer's payment-method ids (`payment_method_id` of an item
change is null when the price does not change). A 2xx answers the order after the action, in the
shop-data shape; a repeated key should get the first answer again (with `Idempotent-Replayed: true`),
without doing the action twice. A 409 or 422 is the shop refusing the action: its JSON `error`,
`message` or `detail` is shown to the colleague who takes the conversation over.

Timeouts, connection errors, 429 and 5xx are retried with backoff (a POST with the same key); when
the API still fails, or answers something unreadable, the call reports `OrderSourceUnavailable`: the
customer is told honestly that orders can't be checked (or changed) now.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from carebot.domain import Customer, Order, OrderItem
from carebot.retry import with_backoff
from carebot.shop.actions import Plan, ShopRejected
from carebot.shop.orders import OrderSourceUnavailable, contact_key, sender_key
from carebot.shop.records import ActionKind, OrderRecord, Product, ShopCustomer, ShopOrder

log = logging.getLogger(__name__)

_ORDER = TypeAdapter(Order)
_CUSTOMER = TypeAdapter(Customer)
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# The shop refusing an action (the order shipped meanwhile, a rule of its own): not worth a retry.
_REFUSED_STATUS = frozenset({409, 422})
_MESSAGE_LIMIT = 300
# The orders an action may be about: the newest ones (returns close weeks after delivery).
ACTION_ORDERS_LIMIT = 50
T = TypeVar("T")

# The path of each action under `/orders/{number}/`.
ACTION_PATHS: dict[ActionKind, str] = {
    "cancel": "cancel",
    "change_address": "address",
    "change_items": "items",
    "return": "return",
    "exchange": "exchange",
}


class _Customers(BaseModel):
    customers: list[Customer]


class _Orders(BaseModel):
    orders: list[dict[str, Any]]


class _Products(BaseModel):
    products: list[Product]


_CUSTOMER_LIST = TypeAdapter(_Customers)
_ORDER_LIST = TypeAdapter(_Orders)
_PRODUCT_LIST = TypeAdapter(_Products)


@dataclass(frozen=True, slots=True)
class ActionAnswer:
    """What the shop answered an action's POST."""

    order: OrderRecord | None
    """The order after the action; None when the shop's 2xx body could not be read."""
    replayed: bool
    """The shop says it did this key's action before (`Idempotent-Replayed: true`)."""


class HttpOrderSource:
    """Orders from the shop's order API; close it with `aclose()`."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json", "User-Agent": "carebot"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        self._retries = retries
        self._backoff = backoff

    async def aclose(self) -> None:
        await self._client.aclose()

    async def find_customer(self, *, channel: str, sender: str) -> Customer | None:
        key = sender_key(channel, sender)
        return await self._first_customer(dict([key])) if key else None

    async def customer_by_contact(self, contact: str) -> Customer | None:
        return await self._first_customer(dict([contact_key(contact)]))

    async def customer_by_id(self, customer_id: int) -> Customer | None:
        body = await self._get(f"/customers/{customer_id}")
        return None if body is None else _parse(_CUSTOMER.validate_python, body)

    async def recent_orders(self, customer_id: int, *, limit: int = 5) -> list[Order]:
        body = await self._get(f"/customers/{customer_id}/orders", params={"limit": limit})
        orders = [] if body is None else _parse(_ORDER_LIST.validate_python, body).orders[:limit]
        return [_parse(_status_order, order) for order in orders]

    async def customer_order(self, customer_id: int, number: str) -> Order | None:
        body = await self._get(_order_path(customer_id, number))
        return None if body is None else _parse(_status_order, body)

    async def shop_customer(self, customer_id: int) -> ShopCustomer | None:
        """The customer with their address and payment methods (`ShopCustomer.id` is the API's id, as text)."""
        body = await self._get(f"/customers/{customer_id}")
        return None if body is None else _parse(_shop_customer, body)

    async def shop_orders(self, customer_id: int, *, limit: int = ACTION_ORDERS_LIMIT) -> list[OrderRecord]:
        """The customer's newest orders in the shop-data shape."""
        body = await self._get(f"/customers/{customer_id}/orders", params={"limit": limit})
        orders = [] if body is None else _parse(_ORDER_LIST.validate_python, body).orders[:limit]
        return [_parse(_shop_order, _owned(order, customer_id)) for order in orders]

    async def shop_order(self, customer_id: int, number: str) -> OrderRecord | None:
        """The customer's order with this number in the shop-data shape; None when it is not theirs."""
        body = await self._get(_order_path(customer_id, number))
        return None if body is None else _parse(_shop_order, _owned(body, customer_id))

    async def products(self, product_ids: Collection[str] | None = None) -> dict[str, Product]:
        """The catalogue, or the named products, by id."""
        if product_ids is not None and not product_ids:
            return {}
        params = None if product_ids is None else {"ids": ",".join(sorted(product_ids))}
        body = await self._get("/products", params=params)
        products = [] if body is None else _parse(_PRODUCT_LIST.validate_python, body).products
        return {p.id: p for p in products}

    async def act(self, customer_id: int, planned: Plan, *, key: str) -> ActionAnswer:
        """POST the planned action with its idempotency key; raises `ShopRejected` on 409/422 and
        `OrderSourceUnavailable` when the shop cannot be reached after the retries."""
        request = planned.request
        path = f"/orders/{quote(planned.before.number, safe='')}/{ACTION_PATHS[request.kind]}"
        response = await self._send(
            "POST",
            path,
            body=action_body(customer_id, planned),
            headers={"Idempotency-Key": key},
            passes=_REFUSED_STATUS,
        )
        if response.status_code in _REFUSED_STATUS:
            raise ShopRejected(response.status_code, _shop_message(response))
        replayed = response.headers.get("Idempotent-Replayed", "").lower() == "true"
        try:
            order = _shop_order(_owned(response.json(), customer_id))
        except ValueError as exc:  # not JSON, or not an order (pydantic's ValidationError is a ValueError)
            # The shop did it (2xx): the caller falls back on the planned order rather than
            # telling the customer it failed.
            log.warning(
                "order_api_unreadable_action_answer", extra={"kind": request.kind, "problem": type(exc).__name__}
            )
            order = None
        return ActionAnswer(order=order, replayed=replayed)

    async def _first_customer(self, params: dict[str, str]) -> Customer | None:
        body = await self._get("/customers", params=params)
        customers = [] if body is None else _parse(_CUSTOMER_LIST.validate_python, body).customers
        return customers[0] if customers else None

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any | None:
        """The JSON body of a GET, None on 404."""
        response = await self._send("GET", path, params=params, passes=frozenset({404}))
        if response.status_code == 404:
            return None
        try:
            return response.json()
        except ValueError:
            log.warning("order_api_failed", extra={"path": _resource(path), "problem": "not JSON", "attempts": 1})
            raise OrderSourceUnavailable("order API sent a body that is not JSON") from None

    async def _send(
        self,
        method: str,
        path: str,
        *,
        passes: frozenset[int],
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A 2xx response, or one with a status in `passes`; retries what may pass on a second try."""
        attempt = 0
        try:
            async for try_ in with_backoff(attempts=self._retries + 1, backoff=self._backoff, retry_on=_MayPass):
                with try_:
                    attempt = try_.retry_state.attempt_number
                    return await self._send_once(method, path, passes, params=params, json=body, headers=headers)
        except _ApiProblem as exc:
            problem = str(exc)
        attempts = f"after {attempt} attempt{'s' if attempt > 1 else ''}"
        log.warning(
            "order_api_failed",
            extra={"method": method, "path": _resource(path), "problem": problem, "attempts": attempt},
        )
        raise OrderSourceUnavailable(f"{problem} {attempts}")

    async def _send_once(self, method: str, path: str, passes: frozenset[int], **options: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, path, **options)
        except httpx.TimeoutException:
            raise _MayPass("order API timed out") from None
        except httpx.TransportError as exc:
            raise _MayPass(f"order API unreachable ({type(exc).__name__})") from None
        if response.status_code in passes:
            return response
        if response.status_code in _RETRYABLE_STATUS:
            raise _MayPass(f"order API answered {response.status_code}")
        if response.is_error:
            # 401/403/400: retrying will not help; a human should look at the configuration.
            raise _ApiProblem(f"order API answered {response.status_code}")
        return response


def action_body(customer_id: int, planned: Plan) -> dict[str, Any]:
    """The JSON an action's POST carries: what the customer confirmed, as the plan resolved it."""
    request, after = planned.request, planned.after
    body: dict[str, Any] = {"customer_id": customer_id}
    if request.kind == "cancel":
        body["reason"] = request.reason
    elif request.kind == "change_address":
        body["address"] = request.address.model_dump(mode="json") if request.address else None
    elif request.kind == "change_items":
        payer = planned.money[0].payment_method_id if planned.money else None
        body.update(items=request.item_ids, new_variants=request.new_variant_ids, payment_method_id=payer)
    elif request.kind == "return" and after.return_ is not None:
        body.update(items=after.return_.items, refund_to=after.return_.refund_to)
    elif request.kind == "exchange" and after.exchange is not None:
        exchange = after.exchange
        body.update(
            items=exchange.items, new_variants=exchange.new_variants, payment_method_id=exchange.payment_method_id
        )
    return body


def status_order(order: ShopOrder) -> Order:
    """An order in the shop-data shape (one line per unit) as the status answer shows it: like
    lines counted together, each named with its options ("2× Oak desk lamp (white)")."""
    lines: dict[tuple[str, Decimal], int] = {}
    for item in order.items:
        line = (item.describe(), item.price)
        lines[line] = lines.get(line, 0) + 1
    return Order(
        number=order.number,
        status=order.status,
        items=tuple(OrderItem(name=name, quantity=n, unit_price=price) for (name, price), n in lines.items()),
        total=order.total,
        currency=order.currency,
        created_at=order.placed_at,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        shipped_at=order.shipped_at,
        estimated_delivery=order.estimated_delivery,
        delivered_at=order.delivered_at,
    )


def _status_order(body: Any) -> Order:
    if isinstance(body, dict) and "placed_at" in body:
        return status_order(_shop_order(body))
    return _ORDER.validate_python(body)


def _shop_customer(body: Any) -> ShopCustomer:
    # The API's customer ids are numbers; the shop-data models keep ids as text.
    return ShopCustomer.model_validate(
        {**body, "id": str(body["id"])} if isinstance(body, dict) and "id" in body else body
    )


def _shop_order(body: Any) -> OrderRecord:
    if not isinstance(body, dict):
        return OrderRecord.model_validate(body)
    # What the app did to an order is its own record (order_actions), not the shop's `actions`.
    data = {k: v for k, v in body.items() if k != "actions"}
    if "customer_id" in data:
        data["customer_id"] = str(data["customer_id"])
    return OrderRecord.model_validate(data)


def _owned(body: Any, customer_id: int) -> Any:
    """An order read under `/customers/{id}/…` belongs to that customer when it does not say otherwise."""
    return {"customer_id": customer_id, **body} if isinstance(body, dict) else body


def _order_path(customer_id: int, number: str) -> str:
    return f"/customers/{customer_id}/orders/{quote(number, safe='')}"


def _parse(read: Callable[[Any], T], body: Any) -> T:
    try:
        return read(body)
    except ValidationError as exc:
        raise OrderSourceUnavailable(f"order API sent an unreadable answer ({exc.error_count()} errors)") from exc


def _shop_message(response: httpx.Response) -> str:
    """The shop's reason for refusing: its JSON `error`, `message` or `detail`, else the body's text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    found = next((body[k] for k in ("error", "message", "detail") if isinstance(body, dict) and body.get(k)), None)
    if found is None:
        message = response.text.strip()
    else:
        message = found if isinstance(found, str) else json.dumps(found, ensure_ascii=False)
    message = message or f"HTTP {response.status_code}"
    return message if len(message) <= _MESSAGE_LIMIT else message[: _MESSAGE_LIMIT - 1] + "…"


def _resource(path: str) -> str:
    """The first segment of a path ("customers", "orders"): logged without ids or order numbers."""
    return path.split("/")[1].split("?")[0]


class _ApiProblem(Exception):
    """The order API failed in a way a retry will not mend."""


class _MayPass(_ApiProblem):
    """A timeout, a connection error, 429 or 5xx: worth another try after a pause."""
