"""Where a turn goes next. Routers only read state: the node that finds a reason to hand over
(screen_message, classify, lookup_order, retrieve, check_guardrails) records it in the turn's `escalation`."""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import AIMessage

from carebot.graph.nodes import asks_topic_unless_found, latest_question
from carebot.graph.state import State
from carebot.shop.help_centre.search import names_item_problem

ORDER_INTENTS = frozenset({"order_status", "order_change"})


def route_after_screen(state: State) -> Literal["classify", "escalate"]:
    return "escalate" if state.turn["escalation"] else "classify"


def route_after_classify(
    state: State,
) -> Literal[
    "retrieve", "lookup_order", "lookup_product", "verify_customer", "generate", "escalate", "decline", "gather_action"
]:
    if state.turn["escalation"]:
        return "escalate"
    if state.verification is not None and (state.turn["contact"] or state.turn["code"]):
        return "verify_customer"
    if state.turn["requested_action"] or (state.action is not None and state.action["asking"] is not None):
        return "gather_action"  # an action asked for, or the answer to a question gathering one
    return route_by_reading(state)


def route_by_reading(state: State) -> Literal["retrieve", "lookup_order", "lookup_product", "generate", "decline"]:
    """Where the message's reading sends it: the help centre, the order tool, the catalogue, a greeting,
    a polite no."""
    if state.turn["catalogue_question"]:
        return "lookup_product"
    if state.turn["unsure_reading"]:
        return "retrieve"  # search first; ask which topic only when nothing relevant is found
    if state.intent == "out_of_scope":
        # Searched first when the classifier ranked the shop's topics: a plain answer outweighs the reading.
        return "retrieve" if state.turn["topics"] else "decline"
    if state.intent in ORDER_INTENTS:
        return "lookup_order"
    if state.intent == "greeting":
        return "generate"
    return "retrieve"


def route_after_verify(state: State) -> Literal["lookup_order", "gather_action", "escalate", "__end__"]:
    if state.turn["escalation"]:
        return "escalate"
    if state.verification is not None:
        return "__end__"  # the node has replied: what verification still needs
    # Verified: go on with what led to verification, an action or the order question.
    return "gather_action" if state.action is not None else "lookup_order"


def route_after_gather(state: State) -> Literal["confirm_action", "lookup_order", "escalate", "__end__"]:
    if state.turn["escalation"]:
        return "escalate"
    if state.turn["needs_identity"]:
        return "lookup_order"  # asks the customer to verify; the action waits in the state
    action = state.turn["action"]
    return "confirm_action" if action is not None and action["state"] == "proposed" else "__end__"


def route_after_product(state: State) -> Literal["retrieve", "__end__"]:
    # The catalogue answered, or the question goes to the help centre (no product of the catalogue named).
    return "__end__" if isinstance(state.messages[-1], AIMessage) else "retrieve"


def route_after_confirm(state: State) -> Literal["escalate", "__end__"]:
    return "escalate" if state.turn["escalation"] else "__end__"


def route_after_lookup(state: State) -> Literal["retrieve", "generate", "escalate", "__end__"]:
    if state.turn["escalation"]:
        return "escalate"
    if isinstance(state.messages[-1], AIMessage):
        return "__end__"  # lookup_order has replied: what verification still needs
    # Changing an order depends on the shop's policy as well as on the order itself. A customer who
    # must verify first may get the help centre's answer with the request to verify (a damaged or
    # missing item's policy, a general question about orders): `retrieve` keeps it only when relevant.
    # A message naming its order asks about that order only, unless it says what went wrong with it.
    if state.intent == "order_change":
        return "retrieve"
    if state.verification is None:
        return "generate"
    item_problem = names_item_problem(latest_question(state.messages), state.language)
    return "retrieve" if item_problem or state.turn["order_number"] is None else "generate"


def route_after_retrieve(
    state: State,
) -> Literal["generate", "escalate", "ask_to_rephrase", "ask_topic", "decline"]:
    if state.turn["escalation"]:
        return "escalate"
    if state.intent == "out_of_scope":
        return "decline"  # no passage answered it plainly
    if asks_topic_unless_found(state) and not state.turn["documents"]:
        return "ask_topic"
    return "ask_to_rephrase" if state.turn["unsure"] else "generate"


def route_after_guardrails(state: State) -> Literal["escalate", "__end__"]:
    return "escalate" if state.turn["escalation"] else "__end__"
