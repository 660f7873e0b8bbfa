"""Two questions in one message, through the graph with the offline model: the first one is
answered and the other is named, in the customer's language, for them to ask on its own."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from carebot.graph import GraphDeps, build_graph
from carebot.models.offline import OfflineClassifier, OfflineResponder
from carebot.models.text_models import TextModels, default_text_models
from carebot.phrases import phrase
from tests.fakes import FakeKnowledgeBase, FakeOrderSource, FakeVerifier, passage
from tests.test_graph import answer, turn


@pytest.fixture(scope="module")
def text_models() -> TextModels:
    return default_text_models()


def offline_graph(models: TextModels) -> Any:
    orders = FakeOrderSource()
    deps = GraphDeps(
        classifier=OfflineClassifier(models),
        responder=OfflineResponder(models),
        knowledge=FakeKnowledgeBase(passages=[passage()]),
        orders=orders,
        verifier=FakeVerifier(orders),
    )
    return build_graph(deps, checkpointer=InMemorySaver())


async def test_an_order_question_with_a_returns_question_answers_the_order_and_names_returns(
    text_models: TextModels,
) -> None:
    state = await turn(offline_graph(text_models), "where is my order A1001 and how do I return the shoes?")
    assert state["intent"] == "order_status" and state["turn"]["escalation"] is None
    also = phrase("en", "also_asked", topic=phrase("en", "topic_returns_refunds"))
    assert answer(state).startswith("Order A1001") and answer(state).endswith(also)


async def test_the_second_question_is_named_in_the_customers_language(text_models: TextModels) -> None:
    state = await turn(offline_graph(text_models), "berapa ongkir ke bali? terus bisa bayar cod?")
    assert (state["intent"], state["language"]) == ("shipping", "id")
    assert answer(state).endswith(phrase("id", "also_asked", topic=phrase("id", "topic_payment")))


@pytest.mark.parametrize(
    "text",
    [
        "what's the cheapest delivery option and how long does it take",  # one topic, asked twice
        "hey quick one, does the kettle have auto shut off? and is it cordless?",
        "how long does shipping take?",
    ],
)
async def test_one_question_gets_no_second_topic(text_models: TextModels, text: str) -> None:
    state = await turn(offline_graph(text_models), text)
    assert "also asked" not in answer(state)
