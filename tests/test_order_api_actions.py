"""Actions on a shop that keeps its orders in its own API (ORDERS_API_URL): the policy is checked
here before anything is sent, each confirmed action is one POST with its idempotency key, and the
shop's answers (done, replayed, refused, down) become what the conversation says; every action done
is recorded in the app too, by order number. Against a fake of the shop's API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest

from carebot.composition import open_database, open_order_source, shop_actions
from carebot.db.pool import Pool, open_pool
from carebot.shop.actions import ActionRefused, ActionRequest, Actor, ShopRejected
from carebot.shop.order_api import HttpOrderSource
from carebot.shop.order_api_actions import OrderApiActions
from carebot.shop.orders import OrderSourceUnavailable, lookup_order
from carebot.shop.policy import demo_policy_path, load_policy
from carebot.shop.records import Address
from carebot.shop.store import ShopStore
from tests.conftest import settings_for
from tests.fake_order_api import ANN, BOB, TOKEN, FakeOrderApi, Trouble

BOT = Actor(by="bot", conversation="web:ann", confirming_message="yes please")
CANCEL = ActionRequest(kind="cancel", order_number="#B2001", reason="ordered by mistake")


def key_for(request: ActionRequest) -> str:
    return request.idempotency_key("web:ann", uuid.uuid4().hex)


@pytest.fixture
def api() -> Iterator[FakeOrderApi]:
    with FakeOrderApi() as fake:
        yield fake


@pytest.fixture
async def pool(empty_database_url: str) -> AsyncIterator[Pool]:
    pool = await open_pool(empty_database_url)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def actions(api: FakeOrderApi, pool: Pool) -> AsyncIterator[OrderApiActions]:
    source = HttpOrderSource(api.url, token=TOKEN, timeout=0.3, retries=2, backoff=0.01)
    try:
        yield OrderApiActions(source, pool, load_policy(demo_policy_path()))
    finally:
        await source.aclose()


async def recorded(pool: Pool) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT order_id, order_number, kind, actor, thread_id, confirming_message, request, before, after"
            " FROM order_actions ORDER BY id"
        )
        return await cur.fetchall()


async def in_flight(pool: Pool) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM order_api_requests")
        row = await cur.fetchone()
    assert row is not None
    return int(row["n"])


async def test_a_confirmed_cancel_is_one_post_with_its_key_the_token_and_the_body(
    api: FakeOrderApi, actions: OrderApiActions, pool: Pool
) -> None:
    key = key_for(CANCEL)
    done = await actions.perform(ANN, CANCEL, key=key, actor=BOT)
    [post] = api.posts
    assert post.path == "/orders/%23B2001/cancel"
    assert post.headers["Idempotency-Key"] == key and post.headers["Authorization"] == f"Bearer {TOKEN}"
    assert post.json() == {"customer_id": ANN, "reason": "ordered by mistake"}
    # The Done is the shop's order after the action, refund included.
    assert not done.repeated and (done.order.status, done.order.cancel_reason) == ("cancelled", "ordered by mistake")
    assert [(p.kind, p.amount) for p in done.order.payments] == [
        ("payment", Decimal("61.00")),
        ("refund", Decimal("61.00")),
    ]
    # The app keeps the action too, by order number: the transcript and the stats see it.
    [row] = await recorded(pool)
    assert (row["order_id"], row["order_number"], row["kind"], row["actor"]) == (None, "#B2001", "cancel", "bot")
    assert (row["thread_id"], row["confirming_message"]) == ("web:ann", "yes please")
    assert (row["before"]["status"], row["after"]["status"]) == ("pending", "cancelled")
    assert row["request"]["reason"] == "ordered by mistake"
    # The same confirmation run again (a retried job) is answered from the record: no second POST.
    again = await actions.perform(ANN, CANCEL, key=key, actor=BOT)
    assert again.repeated and again.action_id == done.action_id and again.order.status == "cancelled"
    assert len(api.posts) == 1 and len(api.applied) == 1 and await in_flight(pool) == 0


async def test_a_503_then_success_is_one_action_and_one_done(
    api: FakeOrderApi, actions: OrderApiActions, pool: Pool
) -> None:
    api.trouble = [Trouble(status=503, body={"error": "busy"})]
    key = key_for(CANCEL)
    done = await actions.perform(ANN, CANCEL, key=key, actor=BOT)
    assert [p.headers["Idempotency-Key"] for p in api.posts] == [key, key]
    assert [a[1:] for a in api.applied] == [("cancel", "#B2001")]
    assert done.order.status == "cancelled" and not done.repeated
    assert len(await recorded(pool)) == 1


async def test_an_answer_lost_to_a_timeout_is_replayed_by_the_shop_not_done_twice(
    api: FakeOrderApi, actions: OrderApiActions, pool: Pool
) -> None:
    # The shop cancels, but answers after the client gave up; the retry gets the first answer again.
    api.trouble = [Trouble(delay=1.0)]
    done = await actions.perform(ANN, CANCEL, key=key_for(CANCEL), actor=BOT)
    assert len(api.posts) == 2 and len(api.applied) == 1
    assert done.repeated and done.order.status == "cancelled"
    assert [row["kind"] for row in await recorded(pool)] == ["cancel"]


async def test_the_same_confirmation_run_three_times_at_once_is_one_action(
    api: FakeOrderApi, actions: OrderApiActions, pool: Pool
) -> None:
    key = key_for(CANCEL)
    runs = await asyncio.gather(*(actions.perform(ANN, CANCEL, key=key, actor=BOT) for _ in range(3)))
    assert len(api.applied) == 1 and len(await recorded(pool)) == 1
    assert {r.action_id for r in runs} == {runs[0].action_id}
    assert {r.order.status for r in runs} == {"cancelled"}


async def test_a_yes_from_the_shop_the_app_cannot_read_is_done_as_planned(
    api: FakeOrderApi, actions: OrderApiActions, pool: Pool
) -> None:
    api.trouble = [Trouble(status=200, body="OK")]
    done = await actions.perform(ANN, CANCEL, key=key_for(CANCEL), actor=BOT)
    assert (done.order.status, done.order.payments[-1].kind) == ("cancelled", "refund")
    [row] = await recorded(pool)
    assert row["after"]["status"] == "cancelled"


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (409, {"error": "Order #B2001 is already being packed"}, "Order #B2001 is already being packed"),
        (422, {"message": "Reason not accepted"}, "Reason not accepted"),
        (422, {"detail": "x" * 1000}, "x" * 299 + "…"),
    ],
)
async def test_the_shops_refusal_is_shop_rejected_with_its_message(
    api: FakeOrderApi, actions: OrderApiActions, pool: Pool, status: int, body: Any, message: str
) -> None:
    api.trouble = [Trouble(status=status, body=body)]
    with pytest.raises(ShopRejected) as rejected:
        await actions.perform(ANN, CANCEL, key=key_for(CANCEL), actor=BOT)
    assert (rejected.value.status, rejected.value.message) == (status, message)
    assert len(api.posts) == 1  # a refusal is not retried
    assert api.orders["#B2001"]["status"] == "pending"
    assert await recorded(pool) == [] and await in_flight(pool) == 0


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (ActionRequest(kind="cancel", order_number="#B2002", reason="no longer needed"), "status"),  # shipped
        (ActionRequest(kind="cancel", order_number="#B2001", reason="found it cheaper"), "reason"),
        (ActionRequest(kind="return", order_number="#B2003", item_ids=["B2003-1"], payment_method_id="paypal-8"),
         "refund_method"),  # not a method of Ann's
        (ActionRequest(kind="exchange", order_number="#B2003", item_ids=["B2003-1"], new_variant_ids=["mug-grey"]),
         "unavailable"),
        (ActionRequest(kind="change_items", order_number="#B2001", item_ids=["B2001-1"],
                       new_variant_ids=["mug-green"]), "same_product"),
    ],
)  # fmt: skip
async def test_a_policy_refusal_sends_nothing(
    api: FakeOrderApi, actions: OrderApiActions, pool: Pool, request_: ActionRequest, code: str
) -> None:
    with pytest.raises(ActionRefused) as refused:
        await actions.perform(ANN, request_, key=key_for(request_), actor=BOT)
    assert refused.value.refusal.code == code
    assert api.posts == [] and await recorded(pool) == [] and await in_flight(pool) == 0


async def test_another_customers_order_is_not_found_and_nothing_is_sent(
    api: FakeOrderApi, actions: OrderApiActions, pool: Pool
) -> None:
    bobs = ActionRequest(kind="cancel", order_number="#B3001", reason="no longer needed")
    with pytest.raises(ActionRefused) as refused:
        await actions.perform(ANN, bobs, key=key_for(bobs), actor=BOT)
    assert refused.value.refusal.code == "not_found"
    assert api.posts == [] and api.orders["#B3001"]["status"] == "pending"
    assert [o.number for o in await actions.orders(ANN)] == ["#B2001", "#B2002", "#B2003"]
    assert await recorded(pool) == []


async def test_a_shop_still_down_after_the_retries_leaves_the_action_to_the_next_run_once(
    api: FakeOrderApi, actions: OrderApiActions, pool: Pool
) -> None:
    # Every try times out (the first cancels, unseen): the job is told the shop is unavailable.
    api.trouble = [Trouble(delay=1.0)] * 3
    key = key_for(CANCEL)
    with pytest.raises(OrderSourceUnavailable, match="timed out after 3 attempts"):
        await actions.perform(ANN, CANCEL, key=key, actor=BOT)
    assert len(api.posts) == 3 and len(api.applied) == 1
    assert await recorded(pool) == [] and await in_flight(pool) == 1
    # The job runs again later: the order is cancelled by now, which the policy would refuse, but the
    # request already went out, so it is sent again with its key and the shop answers the first result.
    done = await actions.perform(ANN, CANCEL, key=key, actor=BOT)
    assert done.repeated and done.order.status == "cancelled"
    assert [p.headers["Idempotency-Key"] for p in api.posts] == [key] * 4 and len(api.applied) == 1
    [row] = await recorded(pool)
    assert row["before"]["status"] == "pending" and await in_flight(pool) == 0


async def test_each_action_posts_its_documented_body_and_the_shops_order_comes_back(
    api: FakeOrderApi, actions: OrderApiActions
) -> None:
    new_home = Address(line1="9 Elm St", city="Austin", state="TX", country="USA", zip="78702")
    cases = [
        (ActionRequest(kind="change_address", order_number="#B2001", address=new_home),
         "address", {"address": new_home.model_dump(mode="json")}),
        # black (49.00) becomes brass (59.00): 10.00 more, from the gift card (20.00).
        (ActionRequest(kind="change_items", order_number="#B2001", item_ids=["B2001-1"],
                       new_variant_ids=["lamp-brass"], payment_method_id="gift-7"),
         "items", {"items": ["B2001-1"], "new_variants": ["lamp-brass"], "payment_method_id": "gift-7"}),
        (ActionRequest(kind="return", order_number="#B2003", item_ids=["B2003-1"], payment_method_id="gift-7"),
         "return", {"items": ["B2003-1"], "refund_to": "gift-7"}),
    ]  # fmt: skip
    for request, path, body in cases:
        done = await actions.perform(ANN, request, key=key_for(request), actor=BOT)
        assert api.posts[-1].path == f"/orders/{request.order_number.replace('#', '%23')}/{path}"
        assert api.posts[-1].json() == {"customer_id": ANN, **body}
        assert done.kind == request.kind and done.order.number == request.order_number
    assert done.order.status == "return_requested" and done.order.return_ is not None
    changed = api.orders["#B2001"]
    assert changed["address"]["line1"] == "9 Elm St" and changed["items_changed"]
    assert changed["payments"][-1] == {"payment_method_id": "gift-7", "amount": "10.00", "kind": "payment"}
    # An exchange at the same price records the order's own payment method, as the plan resolved it.
    exchange = ActionRequest(
        kind="exchange", order_number="#B2002", item_ids=["B2002-1"], new_variant_ids=["lamp-black"]
    )
    with pytest.raises(ActionRefused):  # shipped, not delivered
        await actions.perform(ANN, exchange, key=key_for(exchange), actor=BOT)
    api.orders["#B2002"].update(status="delivered", delivered_at=api.orders["#B2003"]["delivered_at"])
    done = await actions.perform(ANN, exchange, key=key_for(exchange), actor=BOT)
    assert api.posts[-1].json() == {
        "customer_id": ANN, "items": ["B2002-1"], "new_variants": ["lamp-black"], "payment_method_id": "card-7"
    }  # fmt: skip
    assert done.order.status == "exchange_requested"


async def test_the_shop_data_reads_carry_what_actions_need(actions: OrderApiActions, api: FakeOrderApi) -> None:
    ann = await actions.customer(ANN)
    assert ann is not None and ann.id == str(ANN) and ann.address is not None and ann.address.city == "Austin"
    assert ann.gift_card is not None and ann.gift_card.balance == Decimal("20.00")
    orders = await actions.orders(ANN)
    assert [o.number for o in orders] == ["#B2001", "#B2002", "#B2003"]  # newest first
    assert orders[0].customer_id == ann.id and orders[0].items[0].variant_id == "lamp-black"
    assert list(await actions.products({"mug"})) == ["mug"]
    assert api.requests[-1].path == "/products?ids=mug"
    assert set(await actions.products()) == {"lamp", "mug"}
    assert await actions.customer(99) is None


async def test_status_lookups_read_orders_in_the_shop_data_shape(api: FakeOrderApi) -> None:
    source = HttpOrderSource(api.url, token=TOKEN, timeout=2)
    try:
        mine = await lookup_order(source, channel="whatsapp", sender="+15550001", order_number=None)
        delivered = await lookup_order(source, channel="whatsapp", sender="+15550001", order_number="#B2003")
        bobs = await lookup_order(source, channel="whatsapp", sender="+15550001", order_number="#B3001")
    finally:
        await source.aclose()
    # Two active orders: the customer is asked which one, each summed up with its options.
    assert mine.kind == "choose" and [o.number for o in mine.orders] == ["#B2001", "#B2002"]
    assert mine.orders[0].summary == "Oak desk lamp (black), Stoneware mug (blue)"
    assert mine.orders[0].total == Decimal("61.00") and mine.orders[1].tracking_number == "1Z999"
    assert delivered.kind == "order" and delivered.orders[0].summary == "2× Stoneware mug (blue)"
    assert delivered.orders[0].delivered_at is not None
    assert bobs.kind == "not_found"


async def test_with_orders_api_url_the_app_acts_through_the_shops_api(
    api: FakeOrderApi, empty_database_url: str
) -> None:
    settings = settings_for(empty_database_url, orders_api_url=api.url, orders_api_token=TOKEN, seed_demo_data=False)
    async with open_database(settings) as pool, open_order_source(settings, pool) as source:
        assert isinstance(shop_actions(settings.model_copy(update={"orders_api_url": None}), pool), ShopStore)
        actions = shop_actions(settings, pool, source)
        assert isinstance(actions, OrderApiActions)
        done = await actions.perform(BOB, CANCEL.model_copy(update={"order_number": "b3001"}), key="k", actor=BOT)
        with pytest.raises(ValueError, match="ORDERS_API_URL"):
            shop_actions(settings, pool)
    assert done.order.status == "cancelled" and api.applied == [("k", "cancel", "#B3001")]
