"""What a finished turn did — one shape read by `/chat`, `carebot chat --json`, the delivery
worker and the eval runner: the answer and its reading, the hand-over reason, the nodes it went
through, the tools it used (with the arguments that matter) and the help-centre sources it drew
on. Evaluations compare the last two with a dataset's `tool_calls` and `sources`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage

from carebot.domain import EscalationReason
from carebot.graph.nodes import latest_question


@dataclass(frozen=True, slots=True)
class TurnResult:
    """What one customer message led to."""

    thread_id: str
    answer: str
    intent: str | None
    language: str
    escalate: bool
    escalation_reason: EscalationReason | None = None
    escalation_detail: str | None = None
    """What went wrong, for the colleague taking over; never shown to the customer."""
    draft: str | None = None
    """The answer the bot drafted before a check handed the turn over (a suggestion for the operator)."""
    steps: tuple[str, ...] = ()
    """The graph nodes the turn went through, in order."""
    tool_calls: tuple[dict[str, Any], ...] = ()
    """`{"name", "args"}` of each tool the turn used (order lookup, help-centre search, verification)."""
    sources: tuple[str, ...] = ()
    """Help-centre documents retrieved for the answer, best first."""
    off_topic: float | None = None
    """The classifier's evidence that the message was about something other than the shop (for evaluations)."""
    action: Mapping[str, Any] | None = None
    """What the turn did about an action on an order (`graph.state.ActionOutcome`), or None."""

    @classmethod
    def of_run(cls, thread_id: str, steps: Sequence[str], values: Mapping[str, Any]) -> TurnResult:
        """The result of a graph run, from the nodes it streamed and its final state."""
        answer = next((m.text for m in reversed(values["messages"]) if isinstance(m, AIMessage)), "")
        turn = values.get("turn", {})
        escalation = turn.get("escalation")
        return cls(
            thread_id=thread_id,
            answer=answer,
            intent=values.get("intent"),
            language=values.get("language", "en"),
            escalate=escalation is not None,
            escalation_reason=escalation["reason"] if escalation else None,
            escalation_detail=escalation.get("detail") if escalation else None,
            draft=turn.get("draft") or None,
            steps=tuple(steps),
            tool_calls=tuple(tool_calls(steps, values)),
            sources=tuple(sources(values)),
            off_topic=turn.get("off_topic"),
            action=turn.get("action"),
        )

    def as_json(self) -> dict[str, Any]:
        """What a caller sees of the turn (`/chat`, `carebot chat --json`, the inbox's answer)."""
        return {
            "thread_id": self.thread_id,
            "answer": self.answer,
            "intent": self.intent,
            "language": self.language,
            "escalate": self.escalate,
            "escalation_reason": self.escalation_reason,
            "action": dict(self.action) if self.action else None,
        }


def tool_calls(steps: Sequence[str], values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`[{"name", "args"}]` for each tool node the turn ran, in order."""
    calls: list[dict[str, Any]] = []
    turn = values.get("turn", {})
    for step in steps:
        if step == "lookup_order":
            # The number the customer asked about (none: "where is my order?").
            order = turn.get("order") or {}
            number = turn.get("order_number") or order.get("requested_number")
            calls.append({"name": step, "args": {"order_number": number}})
        elif step == "retrieve":
            calls.append({"name": step, "args": {"query": latest_question(values.get("messages", []))}})
        elif step == "gather_action":
            # Which action the customer asked for (the turn's outcome says how far it got).
            action = turn.get("action") or {}
            calls.append({"name": step, "args": {"kind": action.get("kind")}})
        elif step == "lookup_product":
            calls.append({"name": step, "args": {}})
        elif step == "verify_customer":
            # What was checked, never the contact or code itself (reports are shared).
            calls.append({"name": step, "args": {"checked": "code" if turn.get("code") else "contact"}})
    return calls


def sources(values: Mapping[str, Any]) -> list[str]:
    """The distinct help-centre sources retrieved this turn, best first."""
    return list(dict.fromkeys(d["source"] for d in values.get("turn", {}).get("documents", [])))
