"""The graph factory: wires the nodes and routers around injected dependencies."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from carebot.graph.context import Context
from carebot.graph.nodes import CareNodes, GraphDeps
from carebot.graph.routing import (
    route_after_classify,
    route_after_confirm,
    route_after_gather,
    route_after_guardrails,
    route_after_lookup,
    route_after_product,
    route_after_retrieve,
    route_after_screen,
    route_after_verify,
)
from carebot.graph.state import InputState, State

GRAPH_NAME = "carebot"


def build_graph(
    deps: GraphDeps, *, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> CompiledStateGraph[State, Context, InputState, State]:
    """The care graph: classify → retrieve and/or lookup_order → generate → check_guardrails → reply,
    or escalate; an email given when asked for goes through verify_customer first; out-of-scope
    requests are declined, an action on an order (cancel, new address, other size, return, exchange) is
    gathered by gather_action and done by confirm_action only after the customer's yes (an interrupt),
    a question about a product's variants, stock or price is answered from the catalogue (lookup_product),
    a message the classifier cannot place is answered from the help centre
    when a passage is clearly relevant and otherwise gets the topics to choose from (ask_topic), and
    a first miss in the help centre asks to rephrase. Pass a
    checkpointer to keep conversations between turns. With a message screen in `deps`, every
    turn starts at screen_message, which hands a blocked message straight to escalate."""
    nodes = CareNodes(deps)
    builder = StateGraph(State, context_schema=Context, input_schema=InputState)
    builder.add_node("classify", nodes.classify)
    builder.add_node("lookup_order", nodes.lookup_order)
    builder.add_node("verify_customer", nodes.verify_customer)
    builder.add_node("retrieve", nodes.retrieve)
    builder.add_node("generate", nodes.generate)
    builder.add_node("check_guardrails", nodes.check_guardrails)
    builder.add_node("escalate", nodes.escalate)
    builder.add_node("ask_to_rephrase", nodes.ask_to_rephrase)
    builder.add_node("decline", nodes.decline)
    builder.add_node("ask_topic", nodes.ask_topic)
    builder.add_node("lookup_product", nodes.lookup_product)
    builder.add_node("gather_action", nodes.gather_action)
    builder.add_node("confirm_action", nodes.confirm_action)
    if deps.screen is not None:
        # A configured screen (a Bedrock Guardrail) sees each message before any model does.
        builder.add_node("screen_message", nodes.screen_message)
        builder.add_edge(START, "screen_message")
        builder.add_conditional_edges("screen_message", route_after_screen)
    else:
        builder.add_edge(START, "classify")
    builder.add_conditional_edges("classify", route_after_classify)
    builder.add_conditional_edges("verify_customer", route_after_verify)
    builder.add_conditional_edges("lookup_order", route_after_lookup)
    builder.add_conditional_edges("retrieve", route_after_retrieve)
    builder.add_conditional_edges("lookup_product", route_after_product)
    builder.add_conditional_edges("gather_action", route_after_gather)
    builder.add_conditional_edges("confirm_action", route_after_confirm)
    builder.add_edge("generate", "check_guardrails")
    builder.add_conditional_edges("check_guardrails", route_after_guardrails)
    builder.add_edge("escalate", "__end__")
    builder.add_edge("ask_to_rephrase", "__end__")
    builder.add_edge("decline", "__end__")
    builder.add_edge("ask_topic", "__end__")
    return builder.compile(checkpointer=checkpointer, name=GRAPH_NAME)
