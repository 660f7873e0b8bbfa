"""The care graph: state, context, nodes, routers and the graph factory."""

from carebot.graph.builder import GRAPH_NAME, build_graph
from carebot.graph.context import Context
from carebot.graph.nodes import GraphDeps
from carebot.graph.state import InputState, State

__all__ = ["GRAPH_NAME", "Context", "GraphDeps", "InputState", "State", "build_graph"]
