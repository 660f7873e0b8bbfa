"""Actions on a shop that is not the demo: imported from its own files, under its own policy file.

The shop (`tests/fixtures/small_shop`) has τ-bench-style ids, `#W` order numbers and a stricter
policy than the demo's; every action is checked on the saved data, as `carebot orders show` prints it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from carebot.db.pool import Pool, open_pool
from carebot.shop.actions import ActionRefused, ActionRequest, Actor, Plan, Refusal, plan
from carebot.shop.importer import ShopData, ShopFileError, import_shop, read_shop
from carebot.shop.policy import PolicyFileError, load_policy
from carebot.shop.records import Address
from carebot.shop.store import ShopStore

SHOP = Path(__file__).parent / "fixtures" / "small_shop"
YUSUF = "yusuf.rossi7301@example.com"
BOT = Actor(by="bot", conversation="web:test", confirming_message="yes")


def recent(data: ShopData) -> ShopData:
    """The fixture's dates moved so its delivered order was delivered three days ago, whatever today is."""
    shift = timedelta(days=(datetime.now(UTC) - datetime(2026, 11, 25, 15, tzinfo=UTC)).days - 3)
    orders = [
        o.model_copy(
            update={"placed_at": o.placed_at + shift, "delivered_at": o.delivered_at and o.delivered_at + shift}
        )
        for o in data.orders
    ]
    return ShopData(products=data.products, customers=data.customers, orders=orders)


@pytest.fixture
async def shop(empty_database_url: str) -> AsyncIterator[tuple[ShopStore, Pool]]:
    pool = await open_pool(empty_database_url)
    try:
        await import_shop(pool, recent(read_shop(SHOP)))
        yield ShopStore(pool, load_policy(SHOP / "policy.toml")), pool
    finally:
        await pool.close()


async def customer_id(pool: Pool, email: str) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id FROM customers WHERE email = %s", (email,))
        row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


async def test_import_twice_changes_nothing_and_reads_back_in_the_files_shape(
    shop: tuple[ShopStore, Pool],
) -> None:
    store, pool = shop
    before = await store.order("W2378156")  # without the "#"
    assert before is not None and before.number == "#W2378156"
    assert [i.variant_id for i in before.items] == ["9690244451", "6469567736"]
    assert before.payments[0].amount == Decimal("284.35")
    await import_shop(pool, recent(read_shop(SHOP)))
    assert await store.order("#W2378156") == before
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM order_payments")
        assert (await cur.fetchone())["n"] == 3  # type: ignore[index]


async def test_cancel_refunds_each_payment_once_however_often_the_confirmation_is_run(
    shop: tuple[ShopStore, Pool],
) -> None:
    store, pool = shop
    yusuf = await customer_id(pool, YUSUF)
    request = ActionRequest(kind="cancel", order_number="#W2378156", reason="ordered by mistake")
    key = request.idempotency_key("web:test", "confirmation-1")
    runs = await asyncio.gather(*(store.perform(yusuf, request, key=key, actor=BOT) for _ in range(3)))
    assert sorted(r.repeated for r in runs) == [False, True, True]
    order = await store.order("#W2378156")
    assert order is not None
    assert (order.status, order.cancel_reason) == ("cancelled", "ordered by mistake")
    assert [(p.kind, p.amount) for p in order.payments] == [
        ("payment", Decimal("284.35")),
        ("refund", Decimal("284.35")),
    ]
    assert [(a.kind, a.by, a.confirming_message) for a in order.actions] == [("cancel", "bot", "yes")]


async def test_the_shops_own_policy_refuses_what_the_demo_would_allow(shop: tuple[ShopStore, Pool]) -> None:
    store, pool = shop
    yusuf = await customer_id(pool, YUSUF)
    shipped = ActionRequest(kind="cancel", order_number="#W4817420", reason="no longer needed")
    with pytest.raises(ActionRefused) as refused:
        await store.perform(yusuf, shipped, key="k-shipped", actor=BOT)
    assert refused.value.refusal.code == "status"
    # Mei's order is not Yusuf's: the same answer as an order that does not exist.
    theirs = ActionRequest(kind="return", order_number="#W6390527", item_ids=["8384507844"], payment_method_id="x")
    with pytest.raises(ActionRefused) as refused:
        await store.perform(yusuf, theirs, key="k-theirs", actor=BOT)
    assert refused.value.refusal.code == "not_found"
    assert (await store.order("#W6390527")).status == "delivered"  # type: ignore[union-attr]


async def test_change_items_pays_the_difference_from_the_gift_card_and_only_once(shop: tuple[ShopStore, Pool]) -> None:
    store, pool = shop
    yusuf = await customer_id(pool, YUSUF)
    # The blue glass bottle (47.84) becomes the black one (54.85): 7.01 more, from the gift card (60.00).
    change = ActionRequest(
        kind="change_items",
        order_number="#W2378156",
        item_ids=["4983901480"],
        new_variant_ids=["4579334072"],
        payment_method_id="gift_card_7006457",
    )
    done = await store.perform(yusuf, change, key="k-change", actor=BOT)
    line = done.order.item("4983901480")
    assert line is not None and (line.variant_id, line.price, line.options["color"]) == (
        "4579334072",
        Decimal("54.85"),
        "black",
    )
    assert done.order.items_changed and done.order.status == "pending"
    assert done.order.payments[-1].model_dump() == {
        "payment_method_id": "gift_card_7006457", "amount": Decimal("7.01"), "kind": "payment"
    }  # fmt: skip
    customer = await store.customer(yusuf)
    assert customer is not None and customer.gift_card is not None
    assert customer.gift_card.balance == Decimal("52.99")
    again = change.model_copy(update={"new_variant_ids": ["1434748144"]})
    with pytest.raises(ActionRefused) as refused:
        await store.perform(yusuf, again, key="k-change-2", actor=BOT)
    assert refused.value.refusal.code == "once"


async def test_return_goes_only_where_this_shops_policy_allows(shop: tuple[ShopStore, Pool]) -> None:
    store, pool = shop
    mei = await customer_id(pool, "mei.kovacs8232@example.com")
    to_paypal = ActionRequest(
        kind="return", order_number="#W6390527", item_ids=["8384507844"], payment_method_id="paypal_7644869"
    )
    done = await store.perform(mei, to_paypal, key="k-return", actor=Actor(by="operator", operator_email="op@shop"))
    assert done.order.status == "return_requested"
    assert done.order.return_ is not None and done.order.return_.refund_to == "paypal_7644869"
    assert done.order.actions[0].by == "operator" and done.order.actions[0].operator == "op@shop"


def test_plan_closes_returns_after_the_window_and_address_changes_after_shipping() -> None:
    data = read_shop(SHOP)
    policy = load_policy(SHOP / "policy.toml")
    products = {p.id: p for p in data.products}
    mei = data.customers[1]
    from carebot.shop.records import OrderRecord

    delivered = OrderRecord.model_validate(data.orders[2].model_dump(by_alias=True))
    request = ActionRequest(
        kind="return", order_number="#W6390527", item_ids=["8384507844"], payment_method_id="paypal_7644869"
    )
    assert delivered.delivered_at is not None
    in_time = plan(request, order=delivered, customer=mei, products=products, policy=policy,
                   now=delivered.delivered_at + timedelta(days=14))  # fmt: skip
    late = plan(request, order=delivered, customer=mei, products=products, policy=policy,
                now=delivered.delivered_at + timedelta(days=15))  # fmt: skip
    assert isinstance(in_time, Plan) and in_time.after.status == "return_requested"
    assert isinstance(late, Refusal) and late.code == "window"
    yusuf = data.customers[0]
    shipped = OrderRecord.model_validate(data.orders[1].model_dump(by_alias=True))
    move = ActionRequest(
        kind="change_address",
        order_number="#W4817420",
        address=Address(line1="1 Elm St", city="Austin", state="TX", country="USA", zip="78701"),
    )
    refused = plan(move, order=shipped, customer=yusuf, products=products, policy=policy, now=datetime.now(UTC))
    assert isinstance(refused, Refusal) and (refused.code, refused.allowed) == ("status", ["pending"])


def test_bad_shop_files_and_policy_files_say_what_is_wrong(tmp_path: Path) -> None:
    for name in ("products.json", "customers.json"):
        (tmp_path / name).write_text((SHOP / name).read_text())
    (tmp_path / "orders.json").write_text('[{"number": "#1", "customer_id": "nobody", "status": "lost"}]')
    with pytest.raises(ShopFileError, match=r"orders.json: \[0\.status\]"):
        read_shop(tmp_path)
    (tmp_path / "policy.toml").write_text("[cancel]\nstatuses = ['pending']\nreason = ['typo']\n")
    with pytest.raises(PolicyFileError, match="reason"):
        load_policy(tmp_path / "policy.toml")
