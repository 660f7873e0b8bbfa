"""An `OrderSource` over a shop's own order API (JSON over HTTPS, bearer token).

The API this expects (README, "Your own order API"):

- `GET {base}/customers?phone=…` (or `discord_id=…`, `email=…`) → `{"customers": [customer, …]}`
- `GET {base}/customers/{id}` → customer, or 404
- `GET {base}/customers/{id}/orders?limit=N` → `{"orders": [order, …]}`, newest first
- `GET {base}/customers/{id}/orders/{number}` → order, or 404 when that customer has no such order

A customer is `{"id", "name", "email", "phone", "language"}`; an order has the fields of
`tools.orders.Order` (dates in ISO 8601). Timeouts, connection errors, 429 and 5xx are retried
with backoff; when the API still fails, or answers something unreadable, the lookup reports
`OrderSourceUnavailable` and the customer is told honestly that orders can't be checked now.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from carebot.domain import Customer, Order
from carebot.retry import with_backoff
from carebot.shop.orders import OrderSourceUnavailable, contact_key, sender_key

log = logging.getLogger(__name__)

_ORDER = TypeAdapter(Order)
_CUSTOMER = TypeAdapter(Customer)
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
T = TypeVar("T")


class _Customers(BaseModel):
    customers: list[Customer]


class _Orders(BaseModel):
    orders: list[Order]


_CUSTOMER_LIST = TypeAdapter(_Customers)
_ORDER_LIST = TypeAdapter(_Orders)


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
        return None if body is None else self._parse(_CUSTOMER, body)

    async def recent_orders(self, customer_id: int, *, limit: int = 5) -> list[Order]:
        body = await self._get(f"/customers/{customer_id}/orders", params={"limit": limit})
        return [] if body is None else self._parse(_ORDER_LIST, body).orders[:limit]

    async def customer_order(self, customer_id: int, number: str) -> Order | None:
        body = await self._get(f"/customers/{customer_id}/orders/{number}")
        return None if body is None else self._parse(_ORDER, body)

    async def _first_customer(self, params: dict[str, str]) -> Customer | None:
        body = await self._get("/customers", params=params)
        customers = [] if body is None else self._parse(_CUSTOMER_LIST, body).customers
        return customers[0] if customers else None

    @staticmethod
    def _parse(adapter: TypeAdapter[T], body: Any) -> T:
        try:
            return adapter.validate_python(body)
        except ValidationError as exc:
            raise OrderSourceUnavailable(f"order API sent an unreadable answer ({exc.error_count()} errors)") from exc

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any | None:
        """The JSON body of a GET, None on 404; retries what may pass on a second try."""
        attempt = 0
        try:
            async for try_ in with_backoff(attempts=self._retries + 1, backoff=self._backoff, retry_on=_MayPass):
                with try_:
                    attempt = try_.retry_state.attempt_number
                    return await self._get_once(path, params)
        except _ApiProblem as exc:
            problem = str(exc)
        attempts = f"after {attempt} attempt{'s' if attempt > 1 else ''}"
        log.warning("order_api_failed", extra={"path": path.split("/")[1], "problem": problem, "attempts": attempt})
        raise OrderSourceUnavailable(f"{problem} {attempts}")

    async def _get_once(self, path: str, params: dict[str, Any] | None) -> Any | None:
        try:
            response = await self._client.get(path, params=params)
        except httpx.TimeoutException:
            raise _MayPass("order API timed out") from None
        except httpx.TransportError as exc:
            raise _MayPass(f"order API unreachable ({type(exc).__name__})") from None
        if response.status_code == 404:
            return None
        if response.status_code in _RETRYABLE_STATUS:
            raise _MayPass(f"order API answered {response.status_code}")
        if response.is_error:
            # 401/403/400: retrying will not help; a human should look at the configuration.
            raise _ApiProblem(f"order API answered {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise _ApiProblem("order API sent a body that is not JSON") from None


class _ApiProblem(Exception):
    """The order API failed in a way a retry will not mend."""


class _MayPass(_ApiProblem):
    """A timeout, a connection error, 429 or 5xx: worth another try after a pause."""
