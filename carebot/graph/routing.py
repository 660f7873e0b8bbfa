"""Where a turn goes next. Routers only read state: the node that finds a reason to hand over
(screen_message, classify, lookup_order, retrieve, check_guardrails) records it in the turn's `escalation`."""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import AIMessage

from carebot.graph.state import State

ORDER_INTENTS = frozenset({"order_status", "order_change"})


def route_after_screen(state: State) -> Literal["classify", "escalate"]:
    return "escalate" if state.turn["escalation"] else "classify"


def route_after_classify(
    state: State,
) -> Literal["retrieve", "lookup_order", "verify_customer", "generate", "escalate", "decline", "ask_topic"]:
    if state.turn["escalation"]:
        return "escalate"
    if state.verification is not None and (state.turn["contact"] or state.turn["code"]):
        return "verify_customer"
    if state.turn["ask_topic"]:
        return "ask_topic"
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
    # Changing an order depends on the shop's policy as well as on the order itself; a customer
    # who must verify first gets what the help centre says (a damaged or missing parcel, what a
    # status means) together with the request to verify, not the request alone.
    return "retrieve" if state.intent == "order_change" or state.verification is not None else "generate"


def route_after_retrieve(state: State) -> Literal["generate", "escalate", "ask_to_rephrase"]:
    if state.turn["escalation"]:
        return "escalate"
    return "ask_to_rephrase" if state.turn["unsure"] else "generate"


def route_after_guardrails(state: State) -> Literal["escalate", "__end__"]:
    return "escalate" if state.turn["escalation"] else "__end__"
