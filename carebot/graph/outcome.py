"""What a finished turn did, read from the nodes it passed through and its final state: the
tools it used (with the arguments that matter) and the help-centre sources it drew on.
Evaluations compare these with a dataset's `tool_calls` and `sources`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from carebot.graph.nodes import latest_question


def tool_calls(steps: Sequence[str], values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`[{"name", "args"}]` for each tool node the turn ran, in order."""
    calls: list[dict[str, Any]] = []
    for step in steps:
        if step == "lookup_order":
            # The number the customer asked about (none: "where is my order?").
            order = values.get("order") or {}
            number = values.get("order_number") or order.get("requested_number")
            calls.append({"name": step, "args": {"order_number": number}})
        elif step == "retrieve":
            calls.append({"name": step, "args": {"query": latest_question(values.get("messages", []))}})
        elif step == "verify_customer":
            calls.append({"name": step, "args": {"email": values.get("email")}})
    return calls


def sources(values: Mapping[str, Any]) -> list[str]:
    """The distinct help-centre sources retrieved this turn, best first."""
    return list(dict.fromkeys(d["source"] for d in values.get("documents", [])))
