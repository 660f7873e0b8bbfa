"""The order tool against real sources: the shop's HTTP API (a fake on loopback) and the
demo shop in PostgreSQL, with hostile input and the ops commands."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import pytest

from carebot.composition import Components, open_components
from carebot.domain import parse_order_number
from carebot.shop.order_api import HttpOrderSource
from carebot.shop.orders import lookup_order
from tests.conftest import BIN, settings_for
from tests.loopback import LoopbackServer, Recorded

ALEX, SITI, LUCIA = "+14155550100", "+6281234500001", "+34600100001"

ANN = {"id": 7, "name": "Ann Lee", "email": "ann@example.com", "phone": "+15550001", "language": "en"}
LAMP_ORDER = {
    "number": "B2001",
    "status": "shipped",
    "items": [{"name": "Oak desk lamp", "quantity": 2, "unit_price": "49.00"}],
    "total": "98.00",
    "currency": "USD",
    "created_at": "2026-11-15T10:00:00Z",
    "carrier": "UPS",
    "tracking_number": "1Z123",
    "estimated_delivery": "2026-11-24",
}


def shop_api(request: Recorded) -> tuple[int, Any]:
    """A shop's order API with one customer, Ann, and one order."""
    routes: dict[str, tuple[int, Any]] = {
        "/customers?phone=%2B15550001": (200, {"customers": [ANN]}),
        "/customers?email=ann%40example.com": (200, {"customers": [ANN]}),
        "/customers/7": (200, ANN),
        "/customers/7/orders?limit=5": (200, {"orders": [LAMP_ORDER]}),
        "/customers/7/orders/B2001": (200, LAMP_ORDER),
    }
    if request.headers.get("Authorization") != "Bearer s3cret":
        return 401, {"error": "unauthorised"}
    return routes.get(request.path, (404, {"error": "not found"}))


async def test_http_source_answers_the_callers_own_orders() -> None:
    with LoopbackServer(shop_api) as api:
        source = HttpOrderSource(api.url, token="s3cret", timeout=2)
        try:
            mine = await lookup_order(source, channel="whatsapp", sender="whatsapp:+15550001", order_number=None)
            specific = await lookup_order(source, channel="whatsapp", sender="+15550001", order_number="B2001")
            other = await lookup_order(source, channel="whatsapp", sender="+15550001", order_number="B9999")
            stranger = await lookup_order(source, channel="whatsapp", sender="+15550002", order_number=None)
            by_email = await source.customer_by_contact("Ann@Example.com")
        finally:
            await source.aclose()
    assert mine.kind == "order" and mine.orders[0].summary == "2× Oak desk lamp"
    assert mine.orders[0].tracking_number == "1Z123" and mine.customer_name == "Ann Lee"
    assert specific.kind == "order" and specific.orders[0].number == "B2001"
    assert other.kind == "not_found" and other.orders == ()
    assert stranger.kind == "unknown_customer"
    assert by_email is not None and by_email.id == 7


@pytest.mark.parametrize(
    ("behaviour", "expected_calls", "problem"),
    [
        ("slow", 3, "timed out"),
        ("503", 3, "answered 503"),
        ("401", 1, "answered 401"),  # a configuration error: retrying cannot help
        ("garbage", 1, "unreadable"),
    ],
)
async def test_http_source_failures_become_unavailable_after_bounded_retries(
    behaviour: str, expected_calls: int, problem: str
) -> None:
    def failing(request: Recorded) -> tuple[int, Any]:
        if behaviour == "slow":
            time.sleep(0.5)
            return 200, {"customers": [ANN]}
        if behaviour == "garbage":
            return 200, {"customers": [{"id": "not a number"}]}
        return int(behaviour), {"error": behaviour}

    with LoopbackServer(failing) as api:
        source = HttpOrderSource(api.url, timeout=0.2, retries=2, backoff=0.01)
        try:
            lookup = await lookup_order(source, channel="whatsapp", sender="+15550001", order_number=None)
        finally:
            await source.aclose()
        assert len(api.requests) == expected_calls
    assert lookup.kind == "unavailable" and problem in lookup.detail


async def test_http_source_recovers_when_a_retry_succeeds() -> None:
    calls: list[str] = []

    def flaky(request: Recorded) -> tuple[int, Any]:
        calls.append(request.path)
        return (502, {}) if len(calls) < 3 else (200, {"customers": [ANN]})

    with LoopbackServer(flaky) as api:
        source = HttpOrderSource(api.url, retries=2, backoff=0.01)
        try:
            customer = await source.find_customer(channel="whatsapp", sender="+15550001")
        finally:
            await source.aclose()
    assert customer is not None and customer.name == "Ann Lee" and len(calls) == 3


async def test_order_api_down_gives_an_honest_answer_and_a_reason_for_the_colleague(postgres_url: str) -> None:
    def down(request: Recorded) -> tuple[int, Any]:
        return 500, {"error": "database on fire"}

    with LoopbackServer(down) as api:
        settings = settings_for(postgres_url, orders_api_url=api.url, orders_api_retries=1)
        async with open_components(settings) as components:
            result = await components.turns.chat(channel="whatsapp", sender=ALEX, text="where is my order?")
            state = (await components.graph.aget_state({"configurable": {"thread_id": result.thread_id}})).values
    assert result.escalate and result.escalation_reason == "order_unavailable"
    assert "can't check orders right now" in result.answer
    assert state["turn"]["escalation"]["detail"] == "order API answered 500 after 2 attempts"
    assert "A1001" not in result.answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#A1001' OR 1=1 --", "A1001"),
        ("order # a 1001 pls", "A1001"),
        ("a-1001", "A1001"),
        ("A1001; DROP TABLE orders;", "A1001"),
        ("📦📦 A1001 🙏", "A1001"),
        ("call me at 555 1234", None),
        ("x" * 10_000 + " A1001", None),  # beyond what is read, so never a regex workout
    ],
)
def test_order_numbers_are_read_as_customers_write_them(text: str, expected: str | None) -> None:
    assert parse_order_number(text) == expected


@pytest.mark.parametrize(
    "text",
    ["#A1001' OR 1=1 --", "where is A1001' UNION SELECT * FROM customers --", "A1001" + "🙏" * 3000],
)
async def test_hostile_order_questions_reveal_nothing_of_another_customer(components: Components, text: str) -> None:
    # A1001 is Alex's (an Oak desk lamp, shipped with UPS); Lucía asks about it.
    result = await components.turns.chat(channel="whatsapp", sender=LUCIA, text=text)
    for leak in ("Alex", "Morgan", "lamp", "UPS", "1Z", "on its way", "en camino"):
        assert leak.lower() not in result.answer.lower(), result.answer
    # The shop's tables are intact.
    async with components.pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM orders")
        assert (await cur.fetchone())["n"] == 1011  # type: ignore[index]


async def test_very_long_and_emoji_messages_still_get_the_callers_order(components: Components) -> None:
    emoji = await components.turns.chat(channel="whatsapp", sender=ALEX, text="📦📦 where is my order?? 🙏🙏")
    assert "A1001" in emoji.answer
    rambling = await components.turns.chat(
        channel="whatsapp", sender=ALEX, text="where is my order? " + "please " * 1500
    )
    assert rambling.answer and "Alex" not in rambling.answer


@pytest.mark.slow
def test_ops_commands_list_customers_and_their_orders(cli_env: dict[str, str]) -> None:
    def carebot(*args: str) -> Any:
        done = subprocess.run([str(BIN / "carebot"), *args], env=cli_env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    customers = carebot("customers", "list", "--json")
    # 200 generated customers with 1,000 orders, then the 3 whose 11 orders are there to act on.
    assert len(customers) == 203 and sum(c["orders"] for c in customers) == 1011
    assert {c["language"] for c in customers} == {"en", "id", "es"}
    siti = next(c for c in customers if c["phone"] == SITI)
    orders = carebot("orders", "list", "--customer", SITI, "--json")
    assert [o["number"] for o in orders] == ["A1004", "A1005", "A1006"] and siti["orders"] == 3
    assert orders[1]["status"] == "shipped" and orders[1]["carrier"] in {"JNE", "SiCepat"}
    missing = subprocess.run(
        [str(BIN / "carebot"), "orders", "list", "--customer", "+10000000000"], env=cli_env, capture_output=True
    )
    assert missing.returncode == 1
