"""The care graph with fake dependencies: every route, and what each turn leaves in state."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver

from carebot.graph import Context, GraphDeps, build_graph
from carebot.models.llm import ChatResponder
from carebot.models.types import Responder
from carebot.shop.actions import ShopActions
from carebot.turns import sender_language
from tests.fakes import (
    EchoResponder,
    FakeKnowledgeBase,
    FakeOrderSource,
    FakeVerifier,
    ScriptedClassifier,
    passage,
    reading,
)

SCRIPT = {
    "hi": reading("greeting"),
    "where is my order?": reading("order_status"),
    "status of A2002?": reading("order_status", order_number="A2002"),
    "status of A1001?": reading("order_status", order_number="A1001"),
    "A2002 arrived broken": reading("order_status", order_number="A2002"),
    "A2002: you sent me a blue one instead of the red": reading("order_status", order_number="A2002"),
    "cancel A1001": reading("order_change", order_number="A1001"),
    "how long is shipping?": reading("shipping"),
    "¿cuánto tarda el envío?": reading("shipping", "es"),
    "and to Bali?": reading("greeting", confidence=0.3, language_confidence=0.4),
    "I want a human": reading("human_agent"),
    "tell me a joke": reading("out_of_scope"),
    "WORST SHOP EVER!!!": reading("complaint", sentiment=-0.8),
    "this was slow": reading("complaint", sentiment=-0.3),
    # What the text models make of a bare email address is anyone's guess.
    "it's bo@example.com": reading("out_of_scope"),
    "ann@example.com": reading("out_of_scope"),
    "nobody@example.com": reading("greeting"),
    "246810": reading("greeting", confidence=0.2),
    "111111": reading("greeting", confidence=0.2),
    "my number is +1 555 0002": reading("account"),
    "what is the shipping duration": reading("shipping"),
    "yes please": reading("greeting", confidence=0.3),
    "how long is shipping to Bali?": reading("shipping"),
    "what about the moon base": reading("shipping"),
    "How long is shipping??": reading("shipping"),
    "how long is shipping": reading("shipping"),
    "barangnya kok gitu sih": replace(
        reading("payment", "id", confidence=0.3),
        unsure=True,
        off_topic=0.4,
        topics=("payment", "returns_refunds", "order_status"),
    ),
    "when is the next full moon": replace(
        reading("shipping", confidence=0.3), unsure=True, off_topic=0.5, topics=("shipping", "order_status")
    ),
    "my uber eats order is 40 min late, can you chase it": replace(
        reading("order_status", confidence=0.3),
        unsure=True,
        off_topic=0.0,
        topics=("order_status", "shipping", "order_change"),
        elsewhere=True,
    ),
    "2": reading("greeting", "es", confidence=0.2, language_confidence=0.5),
    "4": reading("greeting", "es", confidence=0.2, language_confidence=0.5),
    "ok": reading("greeting", "es", language_confidence=0.8),
    "A1042": reading("order_status", "en", language_confidence=0.5, order_number="A1042"),
    "¿y cuánto cuesta el envío exprés a Valencia?": reading("shipping", "es", language_confidence=0.8),
    "what does processing mean on my order": reading("order_status"),
    "is there a number I can call?": reading("human_agent"),
    "and how long?": reading("shipping"),
    "give me your phone number": reading("human_agent"),
    "are you open on weekends?": reading("out_of_scope"),
    "what time does the post office open on weekends?": reading("out_of_scope"),
    "is there live chat": reading("human_agent"),
    "is there a rewards club": reading("human_agent"),
    "is there an app for iphone": replace(reading("out_of_scope"), topics=("product", "account")),
    "how do i follow my delivery": reading("order_status"),
    "my box showed up all smashed, what now": replace(
        reading("complaint", confidence=0.3),
        unsure=True,
        off_topic=0.4,
        topics=("returns_refunds", "order_status"),
    ),
    "I want to exchange my shoes for another size": replace(
        reading("returns_refunds", confidence=0.3),
        unsure=True,
        off_topic=0.1,
        topics=("returns_refunds", "order_change"),
    ),
}


def make_graph(
    *,
    passages: list[Any] | None = None,
    responder: Responder | None = None,
    orders: FakeOrderSource | None = None,
    verifier: FakeVerifier | None = None,
) -> tuple[Any, FakeKnowledgeBase, FakeOrderSource, Responder]:
    kb = FakeKnowledgeBase(passages=[passage()] if passages is None else passages)
    orders = orders or (verifier.orders if verifier else FakeOrderSource())
    responder = responder or EchoResponder()
    deps = GraphDeps(
        classifier=ScriptedClassifier(SCRIPT),
        responder=responder,
        knowledge=kb,
        orders=orders,
        verifier=verifier or FakeVerifier(orders),
    )
    return build_graph(deps, checkpointer=InMemorySaver()), kb, orders, responder


async def turn(graph: Any, text: str, *, thread: str = "t1", **context: Any) -> dict[str, Any]:
    context.setdefault("sender", "+15550001")
    config = {"configurable": {"thread_id": thread}}
    await graph.ainvoke({"messages": [{"role": "user", "content": text}]}, config, context=Context(**context))
    values: dict[str, Any] = (await graph.aget_state(config)).values
    return values


def answer(state: dict[str, Any]) -> str:
    return str(state["messages"][-1].content)


async def test_greeting_is_answered_without_tools() -> None:
    graph, kb, orders, _ = make_graph()
    state = await turn(graph, "hi")
    assert answer(state) == "greeting/en"
    assert kb.queries == [] and orders.asked == []
    assert state["turn"]["escalation"] is None and state["turn"]["guardrail"]["passed"]


async def test_order_question_uses_the_callers_identity_from_context() -> None:
    graph, kb, orders, _ = make_graph()
    state = await turn(graph, "where is my order?", channel="whatsapp", sender="+15550001")
    assert orders.asked == [("whatsapp", "+15550001")]
    assert answer(state) == "order_status/en order:order:A1001"
    assert state["turn"]["order"]["kind"] == "order" and kb.queries == []


async def test_another_customers_order_number_resolves_to_nothing() -> None:
    graph, _, _, _ = make_graph()
    state = await turn(graph, "status of A2002?", sender="+15550001")
    assert state["turn"]["order"]["kind"] == "not_found"
    assert state["turn"]["order"]["orders"] == []
    own = await turn(graph, "status of A1001?", sender="+15550001", thread="t2")
    assert own["turn"]["order"]["kind"] == "order" and own["turn"]["order"]["orders"][0]["number"] == "A1001"


async def test_order_change_consults_both_the_order_and_the_policy() -> None:
    graph, kb, orders, _ = make_graph()
    state = await turn(graph, "cancel A1001")
    assert orders.asked and kb.queries == [("cancel A1001", "en")]
    assert answer(state) == "order_change/en order:order:A1001 source:Shipping"


async def test_policy_question_is_answered_from_retrieved_passages_in_the_customers_language() -> None:
    graph, kb, _, _ = make_graph()
    state = await turn(graph, "¿cuánto tarda el envío?")
    assert kb.queries == [("¿cuánto tarda el envío?", "es")]
    assert state["turn"]["documents"][0]["title"] == "Shipping"
    assert answer(state) == "shipping/es source:Shipping"


async def test_nothing_relevant_asks_to_rephrase_then_a_second_miss_hands_over() -> None:
    graph, _, _, responder = make_graph(passages=[passage(score=0.1)])
    state = await turn(graph, "how long is shipping?")
    assert state["turn"]["escalation"] is None and state["offered_human"]
    assert "other words" in answer(state) and '"yes"' in answer(state)
    state = await turn(graph, "what is the shipping duration")
    assert state["turn"]["escalation"] == {"reason": "low_relevance", "status": "pending_human"}
    assert isinstance(responder, EchoResponder) and responder.requests == []
    assert "colleague" in answer(state)


async def test_saying_yes_to_the_offer_of_a_person_hands_over() -> None:
    graph, _, _, _ = make_graph(passages=[passage(score=0.1)])
    await turn(graph, "how long is shipping?")
    state = await turn(graph, "yes please")
    assert state["turn"]["escalation"] == {"reason": "human_requested", "status": "pending_human"}


async def test_an_answer_in_between_resets_the_misses() -> None:
    graph, kb, _, _ = make_graph(passages=[passage(score=0.1)])
    await turn(graph, "how long is shipping?")
    kb.passages = [passage()]
    await turn(graph, "how long is shipping to Bali?")
    kb.passages = [passage(score=0.1)]
    state = await turn(graph, "what about the moon base")
    assert state["turn"]["escalation"] is None and state["offered_human"]


async def test_the_same_question_three_times_hands_over() -> None:
    graph, _, _, _ = make_graph()
    for text in ["how long is shipping?", "How long is shipping??", "how long is shipping"]:
        state = await turn(graph, text)
    assert state["turn"]["escalation"] == {"reason": "repeated_question", "status": "pending_human"}


async def test_out_of_scope_is_declined_politely_without_a_hand_over() -> None:
    graph, kb, orders, responder = make_graph()
    state = await turn(graph, "tell me a joke")
    assert state["turn"]["escalation"] is None and state["intent"] == "out_of_scope"
    assert "not something I can help with" in answer(state) and "orders" in answer(state)
    assert kb.queries == [] and orders.asked == []
    assert isinstance(responder, EchoResponder) and responder.requests == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I want a human", "human_requested"),
        ("WORST SHOP EVER!!!", "negative_sentiment"),
    ],
)
async def test_hand_over_triggers_escalate_without_generating(text: str, reason: str) -> None:
    graph, kb, orders, responder = make_graph()
    state = await turn(graph, text)
    assert state["turn"]["escalation"] == {"reason": reason, "status": "pending_human"}
    assert kb.queries == [] and orders.asked == []
    assert isinstance(responder, EchoResponder) and responder.requests == []


async def test_mild_complaint_is_answered_not_escalated() -> None:
    graph, _, _, _ = make_graph()
    state = await turn(graph, "this was slow")
    assert state["turn"]["escalation"] is None
    assert answer(state).startswith("complaint/en")


async def test_order_system_down_escalates_with_the_reason() -> None:
    graph, _, _, _ = make_graph(orders=FakeOrderSource(fail=True))
    state = await turn(graph, "where is my order?")
    assert state["turn"]["escalation"]["reason"] == "order_unavailable"
    assert "can't check orders" in answer(state)


async def test_guardrail_stops_an_answer_naming_another_order() -> None:
    graph, _, _, _ = make_graph(responder=EchoResponder(override="Your order A2002 is on its way."))
    state = await turn(graph, "where is my order?")
    assert state["turn"]["guardrail"]["passed"] is False
    assert any("A2002" in issue for issue in state["turn"]["guardrail"]["issues"])
    assert state["turn"]["escalation"]["reason"] == "guardrail"
    assert all("A2002" not in str(m.content) for m in state["messages"])


async def test_history_stays_bounded_however_long_the_conversation() -> None:
    graph, _, _, _ = make_graph()
    for _ in range(15):
        state = await turn(graph, "hi", history_limit=6)
    assert len(state["messages"]) == 6
    assert answer(state) == "greeting/en"


async def test_unsure_follow_up_keeps_the_previous_intent_and_language() -> None:
    graph, kb, _, _ = make_graph()
    kb.finds_only_with = "envío"  # a help centre with nothing on "and to Bali?" alone
    await turn(graph, "¿cuánto tarda el envío?")
    state = await turn(graph, "and to Bali?")
    assert state["intent"] == "shipping" and state["language"] == "es"
    # Read with the conversation's topic, the follow-up is answered from the shipping article.
    assert answer(state) == "shipping/es source:Shipping"


async def test_per_turn_fields_are_reset_each_turn() -> None:
    graph, _, _, _ = make_graph()
    await turn(graph, "I want a human")
    state = await turn(graph, "hi")
    assert state["turn"]["escalation"] is None and state["turn"]["order"] is None and state["turn"]["documents"] == []


async def test_chat_model_responder_writes_the_published_answer() -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage("Standard delivery takes 3 to 5 working days.")]))
    graph, _, _, _ = make_graph(responder=ChatResponder(model))
    state = await turn(graph, "how long is shipping?")
    assert answer(state) == "Standard delivery takes 3 to 5 working days."
    assert state["turn"]["guardrail"] == {"passed": True, "issues": []}


async def test_a_damaged_item_gets_the_policy_before_verification_and_a_plain_status_question_does_not() -> None:
    damage = passage("Damaged items", "Send us a photo within 48 hours of delivery.")
    graph, kb, _, _ = make_graph(passages=[damage])
    broken = await turn(graph, "A2002 arrived broken", sender="+15550001")
    assert broken["verification"] == {"order_number": "A2002"}
    assert answer(broken) == "order_status/en order:not_found: source:Damaged items"
    status = await turn(graph, "status of A2002?", sender="+15550001", thread="t2")
    assert answer(status) == "order_status/en order:not_found:" and len(kb.queries) == 1
    # Not the item ordered is a problem with the item too: its policy comes with the request.
    wrong = await turn(graph, "A2002: you sent me a blue one instead of the red", sender="+15550001", thread="t3")
    assert answer(wrong) == "order_status/en order:not_found: source:Damaged items" and len(kb.queries) == 2


async def test_a_general_question_about_orders_gets_its_answer_with_the_request_to_verify() -> None:
    statuses = replace(
        passage("What does each order status mean?", "Processing: being prepared for shipment."),
        semantic=0.99,
        lexical=1.0,
    )
    graph, _, _, _ = make_graph(passages=[statuses])
    general = await turn(graph, "what does processing mean on my order", sender="+15559999")
    assert general["verification"] == {"order_number": None}
    assert answer(general) == "order_status/en order:unknown_customer: source:What does each order status mean?"
    # "Where is my order?" shares words with a passage on changing orders, not its meaning.
    cancelling = replace(passage("Changing or cancelling an order", "Cancel any time."), semantic=0.54, lexical=1.0)
    graph, kb, _, _ = make_graph(passages=[cancelling])
    plain = await turn(graph, "where is my order?", sender="+15559999")
    assert answer(plain) == "order_status/en order:unknown_customer:" and len(kb.queries) == 1


async def test_another_question_while_verification_is_pending_keeps_its_relevant_answer() -> None:
    # The bar for a general order question (its meaning) is not the bar for a shipping question
    # asked meanwhile: a passage relevant by its words and meaning together still answers it.
    delivery = replace(
        passage("Delivery times", "Standard delivery takes 3 to 5 working days."), semantic=0.5, lexical=1.0
    )
    graph, _, _, _ = make_graph(passages=[delivery])
    asked = await turn(graph, "where is my order?", sender="+15559999")
    assert (
        asked["verification"] == {"order_number": None} and answer(asked) == "order_status/en order:unknown_customer:"
    )
    meanwhile = await turn(graph, "how long is shipping?", sender="+15559999")
    assert meanwhile["verification"] is not None and answer(meanwhile) == "shipping/en source:Delivery times"


async def test_a_confident_follow_up_the_help_centre_cannot_answer_alone_is_read_with_its_topic() -> None:
    graph, kb, _, _ = make_graph(passages=[passage("Delivery times")])
    kb.finds_only_with = "shipping"  # a help centre that answers only what names shipping
    await turn(graph, "how long is shipping?")
    state = await turn(graph, "and how long?")
    assert answer(state) == "shipping/en source:Delivery times"
    assert [q for q, _ in kb.queries][-2:] == ["and how long?", "and how long? shipping"]


async def test_an_unsure_request_for_an_action_asks_to_verify_not_which_topic() -> None:
    # The shop can act; the sender is unknown, so the exchange waits for verification. The reading
    # is unsure, but the turn has its answer (the request to verify): no list of topics after it.
    graph, kb, orders, _ = make_graph(passages=[])
    graph = build_graph(
        GraphDeps(
            classifier=ScriptedClassifier(SCRIPT),
            responder=EchoResponder(),
            knowledge=kb,
            orders=orders,
            verifier=FakeVerifier(orders),
            shop=cast(ShopActions, object()),  # never reached before the customer is verified
        ),
        checkpointer=InMemorySaver(),
    )
    state = await turn(graph, "I want to exchange my shoes for another size", sender="+15559999")
    assert state["action"] is not None and state["action"]["kind"] == "exchange"
    assert answer(state) == "returns_refunds/en order:unknown_customer:"
    assert state["topic_choices"] == []


async def test_asking_how_to_reach_the_shop_gets_the_contact_page_and_the_offer_of_a_person() -> None:
    contact = passage("Contact us", "Call us on 1-800-123-4567, Mon-Fri 9-17.")
    graph, kb, _, _ = make_graph(passages=[contact])
    asked = await turn(graph, "is there a number I can call?")
    assert answer(asked) == "human_agent/en source:Contact us" and asked["turn"]["escalation"] is None
    assert "phone support" in kb.queries[0][0]  # searched with the words of a help centre's phone line
    taken = await turn(graph, "yes please")
    assert taken["turn"]["escalation"]["reason"] == "human_requested"
    # A demand for a way to reach a person, or a help centre with no contact page: a colleague at once.
    demanded = await turn(graph, "give me your phone number", thread="t2")
    assert demanded["turn"]["escalation"]["reason"] == "human_requested"
    graph, _, _, _ = make_graph(passages=[passage("Contact us", score=0.1)])
    nothing = await turn(graph, "is there a number I can call?")
    assert nothing["turn"]["escalation"]["reason"] == "human_requested"


async def test_the_shops_hours_asked_of_it_get_the_contact_page_even_when_read_as_off_topic() -> None:
    hours = passage("Contact us", "Live chat and phone Mon-Fri 9-17, Sat 10-14.")
    graph, _, _, _ = make_graph(passages=[hours])
    # Opening hours sound like any business's, and the classifier read them so; asked of the shop
    # ("are you …"), they are the contact page's, with the offer of a person.
    weekend = await turn(graph, "are you open on weekends?")
    assert answer(weekend) == "human_agent/en source:Contact us" and weekend["turn"]["escalation"] is None
    live_chat = await turn(graph, "is there live chat", thread="t2")
    assert answer(live_chat) == "human_agent/en source:Contact us" and live_chat["turn"]["escalation"] is None
    # Another business's hours are still declined.
    post_office = await turn(graph, "what time does the post office open on weekends?", thread="t3")
    assert post_office["intent"] == "out_of_scope" and "not something I can help with" in answer(post_office)


async def test_a_question_read_as_a_request_for_a_person_that_asks_for_no_one_gets_the_answer_and_the_offer() -> None:
    loyalty = replace(
        passage("Do you have a loyalty program?", "Earn 1 point per $1 spent."), semantic=0.8, lexical=0.5
    )
    graph, _, _, _ = make_graph(passages=[loyalty])
    # The intent model read "is there a rewards club" as a request for a person; it names no one.
    asked = await turn(graph, "is there a rewards club")
    assert answer(asked) == "human_agent/en source:Do you have a loyalty program?"
    assert asked["turn"]["escalation"] is None and asked["offered_human"]
    taken = await turn(graph, "yes please")
    assert taken["turn"]["escalation"]["reason"] == "human_requested"
    # Nothing in the help centre clearly answers it: a person does, as before.
    graph, _, _, _ = make_graph(passages=[replace(loyalty, semantic=0.2)])
    unanswered = await turn(graph, "is there a rewards club")
    assert unanswered["turn"]["escalation"]["reason"] == "human_requested"
    # Asking for a person is a hand-over whatever the help centre holds.
    graph, kb, _, _ = make_graph(passages=[loyalty])
    human = await turn(graph, "I want a human")
    assert human["turn"]["escalation"]["reason"] == "human_requested" and kb.queries == []


async def test_asking_how_to_follow_an_order_gets_the_help_centres_answer_with_the_request_to_verify() -> None:
    tracking = replace(
        passage("Can I track my order?", "Use the link in your shipping email."), semantic=0.6, lexical=0.5
    )
    graph, _, _, _ = make_graph(passages=[tracking])
    how = await turn(graph, "how do i follow my delivery", sender="+15559999")
    assert how["verification"] == {"order_number": None}
    assert answer(how) == "order_status/en order:unknown_customer: source:Can I track my order?"
    # "Where is my order?" asks about one order: the request to verify, alone, at the same relevance.
    where = await turn(graph, "where is my order?", sender="+15559999", thread="t2")
    assert answer(where) == "order_status/en order:unknown_customer:"


async def test_a_question_read_as_off_topic_that_the_help_centre_answers_plainly_is_answered() -> None:
    app = passage("Is there a mobile app?", "Yes: search for us in the App Store or Google Play.")
    graph, _, _, _ = make_graph(passages=[replace(app, semantic=0.9, lexical=0.5)])
    answered = await turn(graph, "is there an app for iphone")
    assert answered["intent"] == "product" and answer(answered) == "product/en source:Is there a mobile app?"
    # A passage that only resembles it: declined, as read.
    graph, _, _, _ = make_graph(passages=[replace(app, semantic=0.6, lexical=0.5)])
    declined = await turn(graph, "is there an app for iphone")
    assert declined["intent"] == "out_of_scope" and "not something I can help with" in answer(declined)
    # A classifier that ranks no shop topics (a chat model's reading): declined without a search.
    graph, kb, _, _ = make_graph(passages=[replace(app, semantic=0.9, lexical=0.5)])
    joke = await turn(graph, "tell me a joke")
    assert joke["intent"] == "out_of_scope" and kb.queries == []


def with_verifier() -> tuple[Any, FakeVerifier]:
    verifier = FakeVerifier(FakeOrderSource())
    return make_graph(verifier=verifier)[0], verifier


async def test_a_code_sent_to_the_owners_address_on_file_verifies_and_answers_the_pending_question() -> None:
    graph, verifier = with_verifier()
    asked = await turn(graph, "status of A2002?", sender="+15550001")
    assert asked["verification"] == {"order_number": "A2002"} and answer(asked).endswith("not_found:")
    sent = await turn(graph, "it's bo@example.com", sender="+15550001")
    assert "6-digit code" in answer(sent) and verifier.sent == [("t1", "bo@example.com")]
    assert "A2002" not in answer(sent)  # nothing shown before the code comes back
    state = await turn(graph, "246810", sender="+15550001")
    assert state["verification"] is None and state["turn"]["escalation"] is None
    assert answer(state) == "order_status/en order:order:A2002"
    # From now on this sender is Bo, by the verified link.
    assert answer(await turn(graph, "where is my order?", sender="+15550001")) == "order_status/en order:order:A2002"


async def test_a_phone_number_names_the_account_and_the_code_still_goes_to_the_contact_on_file() -> None:
    graph, verifier = with_verifier()
    await turn(graph, "where is my order?", sender="+15559999")
    await turn(graph, "my number is +1 555 0002", sender="+15559999")
    assert verifier.sent == [("t1", "bo@example.com")]
    assert answer(await turn(graph, "246810", sender="+15559999")) == "order_status/en order:order:A2002"


async def test_an_unknown_contact_gets_the_same_reply_and_no_code_unlocks_it() -> None:
    graph, verifier = with_verifier()
    await turn(graph, "status of A2002?", sender="+15550001")
    unknown = await turn(graph, "nobody@example.com", sender="+15550001")
    graph2, _, _, _ = make_graph()
    await turn(graph2, "status of A2002?", sender="+15550001")
    known = await turn(graph2, "it's bo@example.com", sender="+15550001")
    assert answer(unknown) == answer(known)  # no hint whether the address exists
    assert verifier.sent == []
    state = await turn(graph, "246810", sender="+15550001")
    assert "isn't right" in answer(state) and "A2002" not in answer(state)


async def test_wrong_codes_are_refused_then_hand_over_and_a_right_one_afterwards_does_not_unlock() -> None:
    graph, _, _, _ = make_graph()
    await turn(graph, "status of A2002?", sender="+15550001")
    await turn(graph, "it's bo@example.com", sender="+15550001")
    for _ in range(2):
        state = await turn(graph, "111111", sender="+15550001")
        assert "isn't right" in answer(state) and state["turn"]["escalation"] is None
    third = await turn(graph, "111111", sender="+15550001")
    assert third["turn"]["escalation"]["reason"] == "verification_failed"
    late = await turn(graph, "246810", sender="+15550001")
    assert "A2002" not in answer(late)


async def test_an_email_without_a_pending_verification_is_just_a_message() -> None:
    graph, verifier = with_verifier()
    state = await turn(graph, "it's bo@example.com", sender="+15550001")
    assert state["intent"] == "out_of_scope" and "not something I can help with" in answer(state)
    assert verifier.sent == []


async def test_an_unsure_reading_with_nothing_clearly_relevant_asks_which_topic_and_a_number_picks_one() -> None:
    graph, kb, orders, responder = make_graph(passages=[passage(score=0.4)])
    state = await turn(graph, "barangnya kok gitu sih")
    # The help centre has nothing clearly relevant: neither declined nor answered, but the likeliest
    # topics and a person, numbered, in the customer's language.
    assert state["turn"]["escalation"] is None and state["intent"] != "out_of_scope"
    assert "1. pembayaran\n2. retur dan refund\n3. pesanan Anda\n4. bicara dengan rekan kami" in answer(state)
    assert len(kb.queries) == 1 and orders.asked == []
    assert isinstance(responder, EchoResponder) and responder.requests == []

    kb.passages = [passage()]
    state = await turn(graph, "2")
    assert state["intent"] == "returns_refunds" and state["language"] == "id"
    # Searched for the topic chosen, in the conversation's language.
    assert "retur dan refund" in kb.queries[-1][0] and kb.queries[-1][1] == "id"
    assert answer(state) == "returns_refunds/id source:Shipping" and state["topic_choices"] == []


async def test_an_unsure_reading_is_answered_when_the_help_centre_has_a_clearly_relevant_passage() -> None:
    graph, _, _, _ = make_graph(passages=[passage("Payments", "We accept Visa and PayPal.", score=0.9)])
    state = await turn(graph, "barangnya kok gitu sih")
    assert answer(state) == "payment/id source:Payments"  # not a question back
    assert state["topic_choices"] == [] and state["turn"]["escalation"] is None  # no list offered


async def test_an_off_topic_unsure_message_sharing_a_word_with_a_passage_is_not_answered_from_it() -> None:
    # "next" is a third of the question's key words and in "…until the end of the next working
    # day": lexical coverage alone (and the fused score, 0.67) would answer it; its meaning does not.
    missing = passage("Shipping", "If your parcel shows delivered, wait until the end of the next working day.")
    graph, kb, _, responder = make_graph(passages=[replace(missing, score=0.6667, semantic=0.0, lexical=0.6667)])
    state = await turn(graph, "when is the next full moon")
    assert len(kb.queries) == 1  # searched, then asked about rather than answered
    assert "1. " in answer(state) and "source:" not in answer(state)
    assert state["topic_choices"] == ["shipping", "order_status", "human_agent"]
    assert isinstance(responder, EchoResponder) and responder.requests == []

    # The same passage with meaning and words both matching is answered.
    graph, _, _, _ = make_graph(passages=[replace(missing, score=0.8, semantic=0.6, lexical=0.5)])
    assert answer(await turn(graph, "when is the next full moon")) == "shipping/en source:Shipping"


async def test_an_unsure_message_about_a_damaged_item_gets_the_policy_not_a_list_of_topics() -> None:
    # Meaning and words are each short of the floor (the customer says "smashed", the help centre
    # "damaged"), but an item that arrived broken is the help centre's business: its policy answers.
    damaged = passage("Lost or damaged parcels", "Send us a photo of the damage within 48 hours.")
    graph, kb, _, _ = make_graph(passages=[replace(damaged, score=0.54, semantic=0.38, lexical=0.25)])
    state = await turn(graph, "my box showed up all smashed, what now")
    assert answer(state).endswith("source:Lost or damaged parcels") and "1. " not in answer(state)
    assert state["topic_choices"] == [] and state["turn"]["escalation"] is None and len(kb.queries) == 1
    # The same signals for a message naming no damaged or missing item are asked about.
    graph, _, _, _ = make_graph(passages=[replace(damaged, score=0.54, semantic=0.38, lexical=0.25)])
    assert "1. " in answer(await turn(graph, "barangnya kok gitu sih"))


async def test_another_companys_order_is_asked_about_without_an_answer_from_the_help_centre() -> None:
    # "order" and "late" would find the shop's own passage on late orders, clearly relevant: the
    # classifier read the message as about another company, so the bot asks which topic instead.
    late = passage("Shipping", "Orders that are late by more than 5 working days are refunded.", score=0.9)
    graph, kb, orders, responder = make_graph(passages=[replace(late, semantic=0.8, lexical=0.7)])
    state = await turn(graph, "my uber eats order is 40 min late, can you chase it")
    assert kb.queries == [] and orders.asked == []
    assert "1. " in answer(state) and "source:" not in answer(state) and "not something" not in answer(state)
    assert state["topic_choices"] == ["order_status", "shipping", "order_change", "human_agent"]
    assert isinstance(responder, EchoResponder) and responder.requests == []


async def test_the_last_choice_of_an_unsure_reading_hands_over() -> None:
    graph, _, _, _ = make_graph(passages=[passage(score=0.4)])
    await turn(graph, "barangnya kok gitu sih")
    state = await turn(graph, "4")
    assert state["turn"]["escalation"]["reason"] == "human_requested" and state["language"] == "id"


async def test_a_short_message_does_not_switch_the_conversations_language_but_a_clear_one_does() -> None:
    graph, _, _, _ = make_graph()
    await turn(graph, "how long is shipping?")
    assert (await turn(graph, "ok"))["language"] == "en"  # "ok" read as Spanish, a little unsure
    assert (await turn(graph, "¿y cuánto cuesta el envío exprés a Valencia?"))["language"] == "es"


async def test_an_email_address_or_order_number_says_nothing_of_the_language() -> None:
    graph, _, _, _ = make_graph()
    await turn(graph, "barangnya kok gitu sih")
    assert (await turn(graph, "ann@example.com"))["language"] == "id"  # read as English, and sure of it


async def test_a_first_message_too_short_to_tell_is_answered_in_the_channels_language() -> None:
    graph, _, _, _ = make_graph()
    state = await turn(graph, "A1042", default_language="id")
    assert state["language"] == "id"


def test_a_whatsapp_senders_calling_code_suggests_the_language() -> None:
    assert sender_language("whatsapp", "+6281234500001") == "id"
    assert sender_language("whatsapp", "whatsapp:+34600100001") == "es"
    assert sender_language("whatsapp", "+5215512345678") == "es"
    assert sender_language("whatsapp", "+14155550100") is None
    assert sender_language("discord", "100000000000000001") is None
