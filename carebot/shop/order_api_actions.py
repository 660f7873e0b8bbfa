"""`ShopActions` over a shop's own order API (ORDERS_API_URL): the customer, their orders and the
catalogue are read from the API, and each confirmed action is POSTed there once per idempotency key.

The policy file is checked here first, with the same `plan` the bot and the desk use, so a request
it refuses is never sent; the shop may still refuse (409/422: `ShopRejected`, the conversation hands
over). Every action the shop did is recorded in the app's `order_actions` as well, by order number
(the app holds no row of an API shop's orders), so the transcript, the stats and the desk see it as
they see any other.

Once, across retries and restarts: the plan is saved (`order_api_requests`) before its POST. A run
that finds its key there sends it again with the same key, without planning again (the shop may have
done it already, and the policy would then refuse what is in fact done), and the shop answers its
first result; a run that finds its key in `order_actions` answers from there and calls nobody.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from psycopg.types.json import Jsonb

from carebot.db.pool import Pool
from carebot.shop.action_log import record_action
from carebot.shop.actions import (
    ActionRefused,
    ActionRequest,
    Actor,
    Done,
    Plan,
    Refusal,
    ShopRejected,
    find_order,
    plan,
)
from carebot.shop.order_api import ActionAnswer, HttpOrderSource
from carebot.shop.policy import Policy
from carebot.shop.records import OrderRecord, Product, ShopCustomer

log = logging.getLogger(__name__)


class OrderApiActions:
    """`ShopActions` over the shop's order API, sharing the order source's HTTP client."""

    def __init__(self, api: HttpOrderSource, pool: Pool, policy: Policy) -> None:
        self._api = api
        self._pool = pool
        self.policy = policy

    async def customer(self, customer_id: int) -> ShopCustomer | None:
        return await self._api.shop_customer(customer_id)

    async def orders(self, customer_id: int) -> list[OrderRecord]:
        return await self._api.shop_orders(customer_id)

    async def products(self, product_ids: set[str] | None = None) -> dict[str, Product]:
        return await self._api.products(product_ids)

    async def perform(self, customer_id: int, request: ActionRequest, *, key: str, actor: Actor) -> Done:
        state = await self._state(key)
        if state is None:
            state = await self._plan_and_remember(customer_id, request, key)
        if isinstance(state, Done):
            return state
        try:
            answer = await self._api.act(customer_id, state, key=key)
        except ShopRejected as exc:
            # The shop's refusal is final for this request: nothing to send again.
            await self._forget(key)
            log.info("order_action_rejected", extra={"kind": request.kind, "status": exc.status})
            raise
        return await self._record(state, answer, key=key, actor=actor)

    async def _state(self, key: str) -> Done | Plan | None:
        """This confirmation done (recorded), sent and not yet answered (its plan), or neither."""
        async with self._pool.connection() as conn:
            # One statement: recording an action and forgetting its plan commit together.
            cur = await conn.execute(
                "SELECT a.id, a.kind, a.after, r.plan FROM (SELECT %s::text AS key) k"
                " LEFT JOIN order_actions a ON a.idempotency_key = k.key"
                " LEFT JOIN order_api_requests r ON r.idempotency_key = k.key",
                (key,),
            )
            row = await cur.fetchone()
        assert row is not None
        if row["id"] is not None:
            order = OrderRecord.model_validate(row["after"])
            return Done(action_id=row["id"], kind=row["kind"], order=order, repeated=True)
        return None if row["plan"] is None else Plan.model_validate(row["plan"])

    async def _plan_and_remember(self, customer_id: int, request: ActionRequest, key: str) -> Plan | Done:
        try:
            planned = await self._plan(customer_id, request)
        except ActionRefused:
            # The policy may refuse because a concurrent run of this same confirmation just did it.
            if (state := await self._state(key)) is not None:
                return state
            raise
        await self._remember(key, planned)
        return planned

    async def _plan(self, customer_id: int, request: ActionRequest) -> Plan:
        """The request checked against the policy on the order as the shop has it now."""
        # The order is read under the customer's own URL: another customer's is a 404, as a missing one.
        order = await self._api.shop_order(customer_id, request.order_number)
        if order is None:
            # The number as the customer wrote it ("w2378156" for the shop's "#W2378156").
            order = find_order(await self._api.shop_orders(customer_id), request.order_number)
        customer = None if order is None else await self._api.shop_customer(customer_id)
        if order is None or customer is None:
            raise ActionRefused(Refusal(code="not_found", detail=f"no order {request.order_number} for this customer"))
        planned = plan(
            request,
            order=order,
            customer=customer,
            products=await self._catalogue_for(request, order),
            policy=self.policy,
            now=datetime.now(UTC),
        )
        if isinstance(planned, Refusal):
            raise ActionRefused(planned)
        return planned

    async def _catalogue_for(self, request: ActionRequest, order: OrderRecord) -> dict[str, Product]:
        """The products `plan` looks new variants up in: only a change of variant reads any, and only
        the order's own products when the policy keeps a change within the same product."""
        if request.kind == "change_items":
            same_product = self.policy.change_items.same_product
        elif request.kind == "exchange":
            same_product = self.policy.exchange.same_product
        else:
            return {}
        return await self._api.products({i.product_id for i in order.items} if same_product else None)

    async def _remember(self, key: str, planned: Plan) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO order_api_requests (idempotency_key, plan) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (key, Jsonb(planned.model_dump(mode="json", by_alias=True))),
            )

    async def _forget(self, key: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("DELETE FROM order_api_requests WHERE idempotency_key = %s", (key,))

    async def _record(self, planned: Plan, answer: ActionAnswer, *, key: str, actor: Actor) -> Done:
        """The shop's answer recorded as the action, once per key."""
        # A 2xx the app could not read is still the shop's yes: the order is as planned.
        after = answer.order or planned.after
        repeated = answer.replayed
        async with self._pool.connection() as conn, conn.transaction():
            action_id = await record_action(conn, key=key, planned=planned, after=after, actor=actor, order_id=None)
            if action_id is None:  # a concurrent run of the same confirmation recorded it first
                cur = await conn.execute("SELECT id FROM order_actions WHERE idempotency_key = %s", (key,))
                row = await cur.fetchone()
                action_id = row["id"] if row else None
                repeated = True
            await conn.execute("DELETE FROM order_api_requests WHERE idempotency_key = %s", (key,))
        assert action_id is not None  # recorded now or by the run that got there first
        log.info("order_action_done", extra={"kind": planned.request.kind, "by": actor.by, "repeated": repeated})
        return Done(action_id=action_id, kind=planned.request.kind, order=after, repeated=repeated)
