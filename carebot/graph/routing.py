"""Where a turn goes next. Routers only read state: the node that finds a reason to hand over
(screen_message, classify, lookup_order, retrieve, check_guardrails) records it in the turn's `escalation`."""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import AIMessage

from carebot.graph.nodes import latest_question
from carebot.graph.state import State
from carebot.shop.help_centre.search import names_item_problem

ORDER_INTENTS = frozenset({"order_status", "order_change"})


def route_after_screen(state: State) -> Literal["classify", "escalate"]:
    return "escalate" if state.turn["escalation"] else "classify"


def route_after_classify(
    state: State,
) -> Literal["retrieve", "lookup_order", "verify_customer", "generate", "escalate", "decline"]:
    if state.turn["escalation"]:
        return "escalate"
    if state.verification is not None and (state.turn["contact"] or state.turn["code"]):
        return "verify_customer"
    if state.turn["unsure_reading"]:
        return "retrieve"  # search first; ask which topic only when nothing relevant is found
    if state.intent == "out_of_scope":
        return "decline"
    if state.intent in ORDER_INTENTS:
        return "lookup_order"
    if state.intent == "greeting":
        return "generate"
    return "retrieve"


def route_after_verify(state: State) -> Literal["lookup_order", "escalate", "__end__"]:
    if state.turn["escalation"]:
        return "escalate"
    # Verified: answer the question that led to verification. Otherwise the node has replied.
    return "lookup_order" if state.verification is None else "__end__"


def route_after_lookup(state: State) -> Literal["retrieve", "generate", "escalate", "__end__"]:
    if state.turn["escalation"]:
        return "escalate"
    if isinstance(state.messages[-1], AIMessage):
        return "__end__"  # lookup_order has replied: what verification still needs
    # Changing an order depends on the shop's policy as well as on the order itself. A customer who
    # must verify first and says an item arrived damaged or never arrived gets the help centre's
    # policy and next step with the request to verify; "where is my order?" gets the request alone.
    if state.intent == "order_change":
        return "retrieve"
    pending = state.verification is not None
    return "retrieve" if pending and names_item_problem(latest_question(state.messages), state.language) else "generate"


def route_after_retrieve(state: State) -> Literal["generate", "escalate", "ask_to_rephrase", "ask_topic"]:
    if state.turn["escalation"]:
        return "escalate"
    if state.turn["unsure_reading"] and not state.turn["documents"]:
        return "ask_topic"
    return "ask_to_rephrase" if state.turn["unsure"] else "generate"


def route_after_guardrails(state: State) -> Literal["escalate", "__end__"]:
    return "escalate" if state.turn["escalation"] else "__end__"
