"""Customers have things done in conversation: the bot gathers what an action needs, states the exact
change and does it only after an explicit yes — once, whatever happens to the worker in between.

The shop is `tests/fixtures/small_shop` (not the demo), under its own policy file; customers write on
the web as a signed identity (their email), which counts as verified.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

from carebot.composition import Components, open_components
from carebot.graph.outcome import TurnResult
from carebot.shop.importer import import_shop, read_shop
from carebot.shop.store import ShopStore
from tests.conftest import settings_for
from tests.loopback import LoopbackServer, Recorded
from tests.test_shop_actions import SHOP, recent

YUSUF = "yusuf.rossi7301@example.com"
MEI = "mei.kovacs8232@example.com"


@pytest.fixture
async def shop(empty_database_url: str) -> AsyncIterator[Components]:
    settings = settings_for(empty_database_url, policy_file=SHOP / "policy.toml")
    async with open_components(settings) as components:
        await import_shop(components.pool, recent(read_shop(SHOP)))
        yield components


async def converse(components: Components, user: str, *messages: str, thread: str | None = None) -> list[TurnResult]:
    thread = thread or f"web:test-{uuid.uuid4().hex}"
    return [await components.turns.chat(channel="web", sender=user, text=m, thread_id=thread) for m in messages]


async def order(components: Components, number: str) -> dict[str, object]:
    store = (await components.shops.current()).actions
    assert isinstance(store, ShopStore)
    found = await store.order(number)
    assert found is not None
    return found.as_json()


async def test_a_cancel_is_stated_then_done_only_after_yes(shop: Components) -> None:
    thread = f"web:test-{uuid.uuid4().hex}"
    asked, proposed = await converse(shop, YUSUF, "hi, please cancel my order W2378156", "2", thread=thread)
    assert asked.action is not None and asked.action["state"] == "asking"
    assert "ordered by mistake" in asked.answer and "1." in asked.answer
    assert proposed.action is not None and proposed.action["state"] == "proposed"
    assert "#W2378156" in proposed.answer and "284.35 USD" in proposed.answer and "yes" in proposed.answer
    saved = await order(shop, "#W2378156")
    assert saved["status"] == "pending"  # nothing happens before the yes
    (done,) = await converse(shop, YUSUF, "yes please", thread=thread)
    assert done.action is not None and done.action["state"] == "done"
    saved = await order(shop, "#W2378156")
    assert (saved["status"], saved["cancel_reason"]) == ("cancelled", "ordered by mistake")
    actions = saved["actions"]
    assert isinstance(actions, list) and len(actions) == 1 and actions[0]["confirming_message"] == "yes please"


async def test_a_turn_reads_its_conversation_once_unless_a_confirmation_waits(
    shop: Components, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The throughput of issue 23's regression: each turn looked at its thread, then ran it, reading
    the saved conversation twice. Only a turn with something pending (the answer to a confirmation)
    reads it again, and the action is still done once."""
    reads: list[str] = []
    read = AsyncPostgresSaver.aget_tuple

    async def counted(saver: AsyncPostgresSaver, config: RunnableConfig) -> CheckpointTuple | None:
        reads.append(config["configurable"]["thread_id"])
        return await read(saver, config)

    monkeypatch.setattr(AsyncPostgresSaver, "aget_tuple", counted)
    thread = f"web:test-{uuid.uuid4().hex}"
    per_turn = []
    for text in ("hello", "how long does shipping take?", "cancel W2378156 please, I ordered it by mistake", "yes",
                 "thanks"):  # fmt: skip
        reads.clear()
        (result,) = await converse(shop, YUSUF, text, thread=thread)
        per_turn.append((result.action or {}).get("state"))
        assert reads.count(thread) == (2 if text == "yes" else 1), text
    assert per_turn == [None, None, "proposed", "done", None]
    assert len((await order(shop, "#W2378156"))["actions"]) == 1  # type: ignore[arg-type]


async def test_anything_but_yes_leaves_the_order_as_it_was(shop: Components) -> None:
    before = await order(shop, "#W2378156")
    for answer in ("no", "hmm wait", "yes but actually no", "what about my other order?"):
        turns = await converse(shop, YUSUF, "cancel W2378156 please, I ordered it by mistake", answer)
        assert turns[-1].action is not None and turns[-1].action["state"] == "declined", answer
        assert "haven't changed anything" in turns[-1].answer
    assert await order(shop, "#W2378156") == before


async def test_a_yes_before_the_question_is_no_confirmation(shop: Components) -> None:
    turns = await converse(shop, YUSUF, "cancel order W2378156, ordered by mistake. yes I confirm, do it")
    assert turns[0].action is not None and turns[0].action["state"] == "proposed"
    assert (await order(shop, "#W2378156"))["status"] == "pending"


async def test_the_policy_refuses_in_the_customers_language_and_offers_a_person(shop: Components) -> None:
    refused, handed_over = await converse(shop, YUSUF, "quiero cancelar el pedido W4817420, ya no lo necesito", "sí")
    assert refused.action is not None and refused.action["state"] == "refused" and refused.action["code"] == "status"
    assert refused.language == "es" and "en camino" in refused.answer and "compañero" in refused.answer
    assert handed_over.escalate and handed_over.escalation_reason == "human_requested"
    assert (await order(shop, "#W4817420"))["status"] == "shipped"


async def test_another_customers_order_is_not_found_and_untouched(shop: Components) -> None:
    before = await order(shop, "#W6390527")
    (turn,) = await converse(shop, YUSUF, "I want to return order W6390527")
    assert turn.action is not None and turn.action["code"] == "not_found"
    assert "Mei" not in turn.answer and "47.84" not in turn.answer
    assert await order(shop, "#W6390527") == before


async def test_a_size_change_asks_for_the_item_the_variant_and_the_payment(shop: Components) -> None:
    turns = await converse(
        shop,
        YUSUF,
        "can I change the water bottle on my order to a different one?",
        "the black one",
        "gift card",
        "yes",
    )
    assert [t.action["state"] if t.action else None for t in turns] == ["asking", "asking", "proposed", "done"]
    assert "7.01 USD" in turns[2].answer
    saved = await order(shop, "#W2378156")
    bottle = next(i for i in saved["items"] if i["id"] == "4983901480")  # type: ignore[attr-defined]
    assert (bottle["variant_id"], bottle["price"]) == ("4579334072", "54.85")
    assert saved["payments"][-1] == {"payment_method_id": "gift_card_7006457", "amount": "7.01", "kind": "payment"}  # type: ignore[index]
    customer = await (await shop.shops.current()).actions.customer(await _customer_id(shop, YUSUF))  # type: ignore[union-attr]
    assert customer is not None and customer.gift_card is not None and customer.gift_card.balance == Decimal("52.99")


async def test_a_return_goes_where_the_policy_lets_it(shop: Components) -> None:
    turns = await converse(shop, MEI, "hola, quiero devolver la botella de agua", "sí")
    assert turns[0].action is not None and turns[0].action["state"] == "proposed", turns[0].answer
    assert "PayPal" in turns[0].answer and "47.84 USD" in turns[0].answer
    saved = await order(shop, "#W6390527")
    assert saved["status"] == "return_requested"
    assert saved["return"] == {"items": ["8384507844"], "refund_to": "paypal_7644869"}


async def _customer_id(components: Components, email: str) -> int:
    async with components.pool.connection() as conn:
        cur = await conn.execute("SELECT id FROM customers WHERE email = %s", (email,))
        row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


async def test_a_question_about_a_products_variants_is_answered_from_the_catalogue(shop: Components) -> None:
    (asked,) = await converse(shop, MEI, "do you have the water bottle in black?")
    assert "black" in asked.answer and "54.85 USD" in asked.answer and asked.answer.startswith("Yes")
    (sold_out,) = await converse(shop, MEI, "¿tienen la botella de agua en rojo?")
    # The red one exists but is not available: said so, with what is in stock instead.
    assert "agotado" in sold_out.answer and "47.84 USD" in sold_out.answer and "49.72" not in sold_out.answer
    (care,) = await converse(shop, MEI, "how do I clean the water bottle?")
    assert "54.85" not in care.answer  # not a catalogue question: the help centre's


class ToolCallingModel:
    """An OpenAI-compatible chat server: classifies every message as an order change and, asked with
    tools, calls `tool` with `args` — as a model might, including for an order that is not the customer's."""

    def __init__(self, tool: str, args: dict[str, object]) -> None:
        self.tool, self.args = tool, args
        self.tool_requests: list[dict[str, object]] = []

    def __call__(self, request: Recorded) -> tuple[int, object]:
        body = request.json()
        message: dict[str, object] = {"role": "assistant", "content": "ok"}
        if "response_format" in body:
            reading = {
                "intent": "order_change",
                "language": "en",
                "sentiment": 0,
                "confidence": 0.9,
                "order_number": None,
            }
            message["content"] = json.dumps(reading)
        elif body.get("tools"):
            self.tool_requests.append(body)
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": "call-1",
                    "type": "function",
                    "function": {"name": self.tool, "arguments": json.dumps(self.args)},
                }
            ]
        return 200, {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }  # fmt: skip


async def llm_shop(url: str, model: ToolCallingModel, fake_url: str) -> AsyncIterator[Components]:
    settings = settings_for(
        url, policy_file=SHOP / "policy.toml", model="openai:gpt-test", openai_api_key="sk-test",
        openai_base_url=f"{fake_url}/v1", embeddings="local",
    )  # fmt: skip
    async with open_components(settings, warm_up=False) as components:
        await import_shop(components.pool, recent(read_shop(SHOP)))
        yield components


async def test_a_chat_models_tool_call_is_gathered_checked_and_confirmed_like_any_request(
    empty_database_url: str,
) -> None:
    model = ToolCallingModel("CancelOrder", {"order_number": "#W2378156", "reason": "bought it by accident"})
    with LoopbackServer(model) as fake:
        async for components in llm_shop(empty_database_url, model, fake.url):
            proposed, done = await converse(components, YUSUF, "pls get rid of W2378156, accident", "yes")
    tools = {t["function"]["name"] for t in model.tool_requests[0]["tools"]}  # type: ignore[index]
    assert tools == {"CancelOrder", "ChangeShippingAddress", "ChangeOrderItems", "ReturnItems", "ExchangeItems"}
    assert proposed.action is not None and proposed.action["state"] == "proposed"
    assert "ordered by mistake" in proposed.answer  # the model's words, mapped to the policy's reason
    assert done.action is not None and done.action["state"] == "done"


async def test_a_chat_model_naming_another_customers_order_changes_nothing(empty_database_url: str) -> None:
    model = ToolCallingModel("ReturnItems", {"order_number": "W6390527", "refund_to": "original"})
    with LoopbackServer(model) as fake:
        async for components in llm_shop(empty_database_url, model, fake.url):
            (refused,) = await converse(components, YUSUF, "return W6390527 for me")
            saved = await order(components, "#W6390527")
    assert refused.action is not None and refused.action["code"] == "not_found"
    assert saved["status"] == "delivered" and saved["actions"] == []
