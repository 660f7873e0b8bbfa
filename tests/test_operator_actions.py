"""Operators acting on a customer's orders from a conversation, over real HTTP: the customer card
offers what the policy allows, a preview says exactly what will change, the action is done once
per Idempotency-Key, refusals change nothing, another customer's order stays hidden, the
transcript and other operators' live views show the action line, and /admin/actions counts it.

Each test imports a tiny shop into a database of its own, so the demo shop, which other tests
count on, is left alone."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from carebot.db.pool import open_pool
from carebot.shop.importer import ShopData, import_shop
from carebot.shop.records import Address, Item, Payment, PaymentMethod, Product, ShopCustomer, ShopOrder, Variant
from tests.test_channels import post_signed, sid, twilio_form, wait_for
from tests.test_operator_inbox import (
    add_operator,
    new_phone,
    read_events,
    rows,
    shop,
    sign_in,
    until,
    whatsapp_thread,
)

HOME = Address(line1="12 Main St", city="Austin", state="TX", country="USA", zip="78701")


class TinyShop:
    """A customer (Sam) with a card and a gift card and four orders — pending, shipped, delivered
    three days ago, pending with a lamp to swap — and another customer with a pending order."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.phone = new_phone()
        self.card, self.gift = f"card-{tag}", f"gift-{tag}"
        # Numbers as shops write them ("#W2378156"), unique to this shop.
        serial = str(uuid.uuid4().int)[:6]
        self.pending, self.shipped, self.delivered, self.lamp = (f"#W{serial}{n}" for n in (1, 2, 3, 4))
        self.others = f"#W{serial}9"
        self.white, self.black, self.kettle = f"lamp-white-{tag}", f"lamp-black-{tag}", f"kettle-{tag}"
        now = datetime.now(UTC)
        lamp = Product(
            id=f"lamp-{tag}",
            name="Oak desk lamp",
            variants=[
                Variant(id=self.white, options={"colour": "white"}, price=Decimal("49.00")),
                Variant(id=self.black, options={"colour": "black"}, price=Decimal("59.00")),
            ],
        )
        kettle = Product(
            id=f"k-{tag}", name="Matte steel kettle", variants=[Variant(id=self.kettle, price=Decimal("39.00"))]
        )

        def line(n: int, variant: str) -> Item:
            product = lamp if variant == self.white else kettle
            found = product.variant(variant)
            assert found is not None
            return Item(
                id=f"i{n}-{tag}", product_id=product.id, variant_id=variant, name=product.name,
                options=found.options, price=found.price,
            )  # fmt: skip

        def order(number: str, customer: str, status: str, item: Item, method: str, **more: Any) -> ShopOrder:
            return ShopOrder.model_validate(
                {
                    "number": number, "customer_id": customer, "status": status, "address": HOME,
                    "placed_at": now - timedelta(days=5), "items": [item],
                    "payments": [Payment(payment_method_id=method, amount=item.price, kind="payment")], **more,
                }
            )  # fmt: skip

        sam, other = f"sam-{tag}", f"lee-{tag}"
        three_days_ago = now - timedelta(days=3)
        self.data = ShopData(
            products=[lamp, kettle],
            customers=[
                ShopCustomer(
                    id=sam, name="Sam Taylor", email=f"sam-{tag}@example.com", phone=self.phone, address=HOME,
                    payment_methods=[
                        PaymentMethod(id=self.card, kind="card", label="Visa ending 4242"),
                        PaymentMethod(id=self.gift, kind="gift_card", label="Gift card", balance=Decimal("20.00")),
                    ],
                ),
                ShopCustomer(
                    id=other, name="Lee Park", email=f"lee-{tag}@example.com", phone=new_phone(),
                    payment_methods=[PaymentMethod(id=f"card2-{tag}", kind="card", label="Mastercard ending 1111")],
                ),
            ],
            orders=[
                order(self.pending, sam, "pending", line(1, self.kettle), self.card),
                order(self.shipped, sam, "shipped", line(2, self.white), self.card, tracking_number="1Z999"),
                order(self.delivered, sam, "delivered", line(3, self.white), self.card, delivered_at=three_days_ago),
                order(self.lamp, sam, "pending", line(4, self.white), self.card),
                order(self.others, other, "pending", line(9, self.kettle), f"card2-{tag}"),
            ],
        )  # fmt: skip

    async def load(self, database_url: str) -> None:
        pool = await open_pool(database_url)
        try:
            await import_shop(pool, self.data)
        finally:
            await pool.close()


async def conversation_with(client: httpx.AsyncClient, settings: Any, shop_data: TinyShop, n: int) -> str:
    """Sam asks for a person on WhatsApp (the bot then stays out of it); the conversation's id."""
    await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(n), shop_data.phone, "I want to talk to a human"))
    thread = whatsapp_thread(settings, shop_data.phone)

    async def handed_over() -> bool:
        found = await rows(settings.database_url, "SELECT status FROM conversations WHERE thread_id = %s", thread)
        return bool(found) and found[0]["status"] == "waiting"

    await until(handed_over)
    return thread


async def order_state(url: str, number: str) -> dict[str, Any]:
    [order] = await rows(
        url,
        "SELECT o.status, o.cancel_reason, (SELECT count(*) FROM order_payments p WHERE p.order_id = o.id) AS payments,"
        " (SELECT count(*) FROM order_actions a WHERE a.order_id = o.id) AS actions FROM orders o WHERE o.number = %s",
        number,
    )
    return order


def cancel(number: str) -> dict[str, Any]:
    return {"kind": "cancel", "order_number": number, "reason": "no longer needed"}


async def test_an_operator_previews_and_cancels_a_pending_order_once(empty_database_url: str) -> None:
    tiny = TinyShop()
    await tiny.load(empty_database_url)
    async with shop(empty_database_url, admin_token="automation-token") as (client, twilio, settings):
        email = await add_operator(settings, name="Ana")
        thread = await conversation_with(client, settings, tiny, 9601)
        await wait_for(lambda: len(twilio.sent) == 1)  # the bot's word that a person will answer
        headers = await sign_in(client, email)
        base = f"/admin/conversations/{thread}/actions"

        # The card offers what the policy allows on each order, and nothing on a shipped one.
        detail = (await client.get(f"/admin/conversations/{thread}")).json()
        offers = {o["number"]: [a["kind"] for a in o["actions"]] for o in detail["orders"]}
        assert offers[tiny.pending] == ["cancel", "change_address"]  # the kettle has no other variant
        assert offers[tiny.lamp] == ["cancel", "change_address", "change_items"]
        assert offers[tiny.shipped] == [] and offers[tiny.delivered] == ["return", "exchange"]
        swap = next(
            a for o in detail["orders"] if o["number"] == tiny.lamp for a in o["actions"] if a["kind"] == "change_items"
        )
        assert swap["items"][0]["variants"] == [{"id": tiny.black, "label": "black"}]

        preview = await client.post(f"{base}/preview", json=cancel(tiny.pending), headers=headers)
        assert preview.status_code == 200, preview.text
        planned = preview.json()
        assert (
            planned["summary"]
            == f"Order {tiny.pending} cancelled (no longer needed) — refund 39.00 USD to Visa ending 4242"
        )
        assert (planned["status_before"], planned["status_after"]) == ("pending", "cancelled")
        assert planned["money"] == [{"kind": "refund", "amount": "39.00 USD", "method": "Visa ending 4242"}]
        assert (await order_state(empty_database_url, tiny.pending))["status"] == "pending"  # a preview changes nothing

        missing_key = await client.post(base, json=cancel(tiny.pending), headers=headers)
        assert missing_key.status_code == 422 and "Idempotency-Key" in missing_key.text

        # The dialog's key sent twice at once (a double click, a retried request): done once.
        key = {**headers, "Idempotency-Key": uuid.uuid4().hex}
        first, second = await asyncio.gather(
            *(client.post(base, json=cancel(tiny.pending), headers=key) for _ in range(2))
        )
        assert first.status_code == second.status_code == 200, first.text
        assert first.json() == second.json()
        assert sorted(r.headers.get("Idempotent-Replayed", "") for r in (first, second)) == ["", "true"]
        done = first.json()
        assert done["status"] == "cancelled" and done["order_number"] == tiny.pending
        line = f"Order {tiny.pending} cancelled (no longer needed) — refund 39.00 USD to Visa ending 4242 · by {email}"
        assert done["line"]["text"] == line and done["line"]["role"] == "system"
        state = await order_state(empty_database_url, tiny.pending)
        assert (state["status"], state["cancel_reason"], state["payments"], state["actions"]) == (
            "cancelled", "no longer needed", 2, 1,
        )  # fmt: skip

        # The transcript shows it as a system line after the hand-over; the card offers nothing more.
        detail = (await client.get(f"/admin/conversations/{thread}")).json()
        assert [m["text"] for m in detail["messages"]][-1] == line
        assert detail["messages"][-1]["action"]["kind"] == "cancel"
        cancelled = next(o for o in detail["orders"] if o["number"] == tiny.pending)
        assert cancelled["status"] == "cancelled" and cancelled["actions"] == []

        stats = await client.get("/admin/actions", params={"days": 7}, headers=headers)
        assert stats.status_code == 200
        counted = stats.json()
        assert counted["by_kind"]["cancel"] >= 1 and counted["by_who"][email] == 1
        assert any(
            r["order_number"] == tiny.pending and r["by"] == email and r["conversation"] == thread
            for r in counted["recent"]
        )
        for days in (0, 366, "week"):
            assert (await client.get("/admin/actions", params={"days": days})).status_code == 422
        assert len(twilio.sent) == 1  # the customer is not messaged: the operator replies as usual


async def test_refusals_change_nothing_and_another_customers_order_stays_hidden(empty_database_url: str) -> None:
    tiny = TinyShop()
    await tiny.load(empty_database_url)
    async with shop(empty_database_url) as (client, _twilio, settings):
        email = await add_operator(settings, name="Budi")
        thread = await conversation_with(client, settings, tiny, 9611)
        headers = {**await sign_in(client, email), "Idempotency-Key": uuid.uuid4().hex}
        base = f"/admin/conversations/{thread}/actions"

        for path in (f"{base}/preview", base):
            refused = await client.post(path, json=cancel(tiny.shipped), headers=headers)
            assert refused.status_code == 422
            detail = refused.json()["detail"]
            assert detail["refusal"]["code"] == "status" and detail["refusal"]["allowed"] == ["pending", "processing"]
            assert detail["message"] == (
                "The shop's policy allows “cancel the order” only for orders that are pending or processing;"
                " this one is shipped."
            )
        assert await order_state(empty_database_url, tiny.shipped) == {
            "status": "shipped", "cancel_reason": None, "payments": 1, "actions": 0,
        }  # fmt: skip

        # Lee's order, asked for in Sam's conversation, reads exactly like one that does not exist.
        theirs = await client.post(base, json=cancel(tiny.others), headers=headers)
        nobody = await client.post(base, json=cancel("#W0000000"), headers=headers)
        assert theirs.status_code == nobody.status_code == 404
        assert theirs.json()["detail"]["message"].replace(tiny.others, "N") == nobody.json()["detail"][
            "message"
        ].replace("#W0000000", "N")
        assert (await order_state(empty_database_url, tiny.others))["status"] == "pending"

        # A reason the policy does not list, a second item change, a refund to a method not allowed.
        wrong_reason = {**cancel(tiny.pending), "reason": "found it cheaper"}
        refused = await client.post(f"{base}/preview", json=wrong_reason, headers=headers)
        assert (
            refused.status_code == 422 and "no longer needed, ordered by mistake" in refused.json()["detail"]["message"]
        )
        bad_refund = {
            "kind": "return", "order_number": tiny.delivered, "item_ids": [tiny.data.orders[2].items[0].id],
            "payment_method_id": "someone-elses-card",
        }  # fmt: skip
        refused = await client.post(f"{base}/preview", json=bad_refund, headers=headers)
        assert refused.status_code == 422
        assert (
            refused.json()["detail"]["message"]
            == "The refund cannot go to that method: choose Visa ending 4242 or Gift card."
        )
        assert (await client.post(f"{base}/preview", json={"kind": "cancel"}, headers=headers)).status_code == 422
        assert (
            await client.post(f"{base}/preview", json={**cancel(tiny.pending), "x": 1}, headers=headers)
        ).status_code == 422
        nul = {**cancel(tiny.pending), "reason": "no\x00pe"}
        assert (await client.post(f"{base}/preview", json=nul, headers=headers)).status_code == 422
        unknown = await client.post(
            "/admin/conversations/whatsapp:nobody/actions/preview", json=cancel(tiny.pending), headers=headers
        )
        assert unknown.status_code == 404


async def test_item_changes_returns_and_exchanges_read_as_they_were_done(empty_database_url: str) -> None:
    tiny = TinyShop()
    await tiny.load(empty_database_url)
    async with shop(empty_database_url, admin_token="automation-token") as (client, _twilio, settings):
        thread = await conversation_with(client, settings, tiny, 9621)
        automation = {"Authorization": "Bearer automation-token"}
        base = f"/admin/conversations/{thread}/actions"
        lamp_item = tiny.data.orders[3].items[0].id
        delivered_item = tiny.data.orders[2].items[0].id
        requests = [
            {
                "kind": "change_items", "order_number": tiny.lamp, "item_ids": [lamp_item],
                "new_variant_ids": [tiny.black], "payment_method_id": tiny.card,
            },
            {
                "kind": "change_address", "order_number": tiny.pending,
                "address": {"line1": "9 Elm Rd", "city": "Denver", "state": "CO", "country": "USA", "zip": "80202"},
            },
            {
                "kind": "return", "order_number": tiny.delivered, "item_ids": [delivered_item],
                "payment_method_id": tiny.gift,
            },
        ]  # fmt: skip
        said = []
        for body in requests:
            preview = await client.post(f"{base}/preview", json=body, headers=automation)
            assert preview.status_code == 200, preview.text
            done = await client.post(
                base, json=preview.json()["request"], headers={**automation, "Idempotency-Key": uuid.uuid4().hex}
            )
            assert done.status_code == 200, done.text
            assert done.json()["line"]["text"].startswith(preview.json()["summary"])
            said.append(done.json()["line"]["text"])
        assert said == [
            f"Order {tiny.lamp} items changed: Oak desk lamp (white → black) — charge 10.00 USD to Visa ending 4242"
            " · by the shop's automation (admin token)",
            f"Order {tiny.pending} now ships to 9 Elm Rd, Denver, CO, 80202, USA"
            " (was 12 Main St, Austin, TX, 78701, USA) · by the shop's automation (admin token)",
            f"Return requested for order {tiny.delivered}: Oak desk lamp (white) — refund 49.00 USD to Gift card"
            " once the items are back · by the shop's automation (admin token)",
        ]
        # Items change once per order: the card stops offering it, and asking again is refused.
        detail = (await client.get(f"/admin/conversations/{thread}", headers=automation)).json()
        assert "change_items" not in [
            a["kind"] for o in detail["orders"] if o["number"] == tiny.lamp for a in o["actions"]
        ]
        again = {**requests[0], "new_variant_ids": [tiny.white]}
        refused = await client.post(f"{base}/preview", json=again, headers=automation)
        assert refused.status_code == 422 and refused.json()["detail"]["refusal"]["code"] == "once"
        assert [m["text"] for m in detail["messages"] if "action" in m] == said


async def test_other_operators_see_the_action_line_live(empty_database_url: str) -> None:
    tiny = TinyShop()
    await tiny.load(empty_database_url)
    async with shop(empty_database_url, admin_token="automation-token") as (client, _twilio, settings):
        email = await add_operator(settings, name="Citra")
        thread = await conversation_with(client, settings, tiny, 9631)
        headers = {**await sign_in(client, email), "Idempotency-Key": uuid.uuid4().hex}
        seen: list[dict[str, Any]] = []
        async with client.stream(
            "GET", "/admin/events", headers={"Authorization": "Bearer automation-token"}
        ) as stream:
            done = await client.post(f"/admin/conversations/{thread}/actions", json=cancel(tiny.lamp), headers=headers)
            assert done.status_code == 200
            await asyncio.wait_for(read_events(stream, f"Order {tiny.lamp} cancelled", seen), 30)
        event = seen[-1]
        assert event["event"] == "message" and event["data"]["conversation"] == thread
        assert event["data"]["id"] == done.json()["line"]["id"] and event["data"]["role"] == "system"


async def test_the_bots_action_shows_in_the_operators_transcript(empty_database_url: str) -> None:
    """The bot cancels on the customer's yes; an operator opening the conversation reads what it did."""
    tiny = TinyShop()
    await tiny.load(empty_database_url)
    async with shop(empty_database_url) as (client, twilio, settings):
        email = await add_operator(settings, name="Eko")
        said = f"please cancel my order {tiny.pending}, I no longer need it"
        await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(9641), tiny.phone, said))
        await wait_for(lambda: len(twilio.sent) == 1)
        assert "39.00 USD" in twilio.bodies()[0], twilio.bodies()
        await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(9642), tiny.phone, "yes"))
        await wait_for(lambda: len(twilio.sent) == 2)
        await sign_in(client, email)
        thread = whatsapp_thread(settings, tiny.phone)
        lines = (await client.get(f"/admin/conversations/{thread}")).json()["messages"]
    texts = [m["text"] for m in lines]
    done = (
        f"Order {tiny.pending} cancelled (no longer needed) — refund 39.00 USD to Visa ending 4242"
        " · by the bot, on the customer's “yes”"
    )
    assert texts.index(done) == texts.index("yes") + 1  # after the yes, before the bot's reply to it
    assert lines[texts.index(done)]["action"] == {
        "id": lines[texts.index(done)]["action"]["id"], "kind": "cancel", "order_number": tiny.pending,
        "by": "bot", "operator": None,
    }  # fmt: skip
