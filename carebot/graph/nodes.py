"""The care graph's nodes: one async verb each, returning a partial state update."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, RemoveMessage
from langgraph.runtime import Runtime
from pydantic import TypeAdapter

from carebot.graph.context import Context
from carebot.graph.guardrails import check_answer
from carebot.graph.state import Escalation, EscalationReason, RetrievedDocument, State, Verification
from carebot.models.offline import format_order_lookup
from carebot.models.types import AnswerRequest, Classification, Classifier, Responder
from carebot.phrases import phrase
from carebot.tools.knowledge import KnowledgeBase, Passage
from carebot.tools.orders import OrderLookup, OrderSource, OrderSourceUnavailable, lookup_order, parse_email

_ORDER_LOOKUP = TypeAdapter(OrderLookup)

# Intents a short, unsure follow-up ("and to Bali?", "what about A1042") may continue.
_CONTINUABLE = frozenset(
    {"order_status", "order_change", "shipping", "returns_refunds", "payment", "account", "product"}
)
# How sure the language identifier must be before a message may switch the conversation's language.
_LANGUAGE_SWITCH_CONFIDENCE = 0.75


@dataclass(frozen=True, slots=True)
class GraphDeps:
    """What the graph's nodes talk to; tests pass fakes."""

    classifier: Classifier
    responder: Responder
    knowledge: KnowledgeBase
    orders: OrderSource


def latest_question(messages: list[AnyMessage]) -> str:
    """The text of the customer's latest message."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message.text
    return ""


def previous_question(messages: list[AnyMessage]) -> str:
    """The text of the customer's message before the latest one ('' on a first message)."""
    asked = [m.text for m in messages if isinstance(m, HumanMessage)]
    return asked[-2] if len(asked) > 1 else ""


def bounded_append(messages: list[AnyMessage], text: str, context: Context) -> list[AIMessage | RemoveMessage]:
    """The update that appends the reply `text` and drops the oldest messages beyond the limit."""
    reply_id = f"{context.turn_id}-reply" if context.turn_id else None
    if reply_id and any(m.id == reply_id for m in messages):
        return [AIMessage(text, id=reply_id)]  # the same turn run again: replace its reply
    overflow = max(0, len(messages) + 1 - context.history_limit)
    return [RemoveMessage(id=m.id) for m in messages[:overflow] if m.id] + [AIMessage(text, id=reply_id)]


def _escalation(reason: EscalationReason, detail: str = "") -> Escalation:
    escalation: Escalation = {"reason": reason, "status": "pending_human"}
    if detail:
        escalation["detail"] = detail
    return escalation


def _hand_over_reason(reading: Classification, context: Context) -> EscalationReason | None:
    if reading.intent == "human_agent":
        return "human_requested"
    if reading.intent == "out_of_scope":
        return "out_of_scope"
    if reading.sentiment <= context.escalation_sentiment:
        return "negative_sentiment"
    return None


def _order_lookup(state: State) -> OrderLookup | None:
    return _ORDER_LOOKUP.validate_python(state.order) if state.order else None


class CareNodes:
    """The nodes, bound to their dependencies (bound methods keep LangGraph's signatures)."""

    def __init__(self, deps: GraphDeps) -> None:
        self.deps = deps

    async def classify(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        """Read intent, language, sentiment and order number; reset the per-turn fields."""
        question = latest_question(state.messages)
        reading = await self.deps.classifier.classify(question, history=state.messages[:-1])
        first_turn = state.intent is None
        intent = reading.intent
        if (
            not first_turn
            and reading.confidence < runtime.context.follow_up_confidence
            and state.intent in _CONTINUABLE
        ):
            intent = state.intent
        language = reading.language
        if not first_turn and reading.language_confidence < _LANGUAGE_SWITCH_CONFIDENCE:
            language = state.language
        reason = _hand_over_reason(reading, runtime.context)
        email = parse_email(question)
        if email and state.verification is not None:
            # The customer is answering our request for their email: not a new topic.
            intent, reason = "order_status", None
        return {
            "intent": intent,
            "intent_confidence": reading.confidence,
            "language": language,
            "sentiment": reading.sentiment,
            "order_number": reading.order_number,
            "email": email,
            "documents": [],
            "order": None,
            "draft": "",
            "guardrail": None,
            "escalation": _escalation(reason) if reason else None,
        }

    async def lookup_order(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        """Look up the caller's order; identity comes from the run context (and a verification
        earlier in the conversation), never from the message."""
        lookup = await lookup_order(
            self.deps.orders,
            channel=runtime.context.channel,
            sender=runtime.context.sender,
            order_number=state.order_number,
            verified_customer_id=state.verified_customer_id,
        )
        update: dict[str, Any] = {"order": _ORDER_LOOKUP.dump_python(lookup, mode="json")}
        if lookup.kind == "unavailable":
            update["escalation"] = _escalation("order_unavailable", lookup.detail)
        elif lookup.kind in ("unknown_customer", "not_found"):
            # The answer asks for the account's email; failures count across requests.
            failures = state.verification["failures"] if state.verification else 0
            verification: Verification = {"order_number": lookup.requested_number, "failures": failures}
            update["verification"] = verification
        return update

    async def verify_customer(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        """Check the email the customer gave against the account that owns the order asked about.

        A match links the conversation to that customer and answers the pending question; a
        mismatch says only that it does not match (never whether the address or order exists),
        and the last allowed mismatch hands the conversation to a human.
        """
        pending = state.verification or {"order_number": None, "failures": 0}
        limit = runtime.context.verification_attempts
        if pending["failures"] < limit and state.email:
            try:
                customer = await self.deps.orders.customer_by_email(state.email)
                number = pending["order_number"]
                owns_order = customer is not None and (
                    number is None or await self.deps.orders.customer_order(customer.id, number) is not None
                )
            except OrderSourceUnavailable as exc:
                return {"escalation": _escalation("order_unavailable", str(exc))}
            if customer is not None and owns_order:
                return {"verified_customer_id": customer.id, "verification": None, "order_number": number}
        failures = pending["failures"] + 1
        update: dict[str, Any] = {"verification": {**pending, "failures": failures}}
        if failures >= limit:
            update["escalation"] = _escalation("verification_failed", f"{failures} email addresses did not match")
            return update
        text = phrase(state.language, "verify_mismatch", left=limit - failures)
        update["messages"] = bounded_append(state.messages, text, runtime.context)
        return update

    async def retrieve(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        """Find help-centre passages; with nothing relevant enough (and no order to talk
        about) the turn goes to a human rather than to a made-up answer."""
        query = latest_question(state.messages)
        if state.intent_confidence < runtime.context.follow_up_confidence:
            # An unsure reading is a follow-up ("and express?", "kalau dana bisa?"): it means
            # something only with the previous question's topic.
            query = f"{previous_question(state.messages)} {query}".strip()
        passages = await self.deps.knowledge.search(query, language=state.language)
        documents: list[RetrievedDocument] = [asdict(p) for p in passages]  # type: ignore[misc]
        update: dict[str, Any] = {"documents": documents}
        best = passages[0].score if passages else 0.0
        if best < runtime.context.relevance_threshold and state.order is None:
            update["escalation"] = _escalation("low_relevance")
        return update

    async def generate(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        """Draft the answer from the passages and the order result."""
        order = _order_lookup(state)
        request = AnswerRequest(
            question=latest_question(state.messages),
            intent=state.intent or "greeting",
            language=state.language,
            history=state.messages,
            passages=[Passage(**d) for d in state.documents],
            order=order,
            customer_name=order.customer_name if order else None,
            shop_name=runtime.context.shop_name,
        )
        return {"draft": await self.deps.responder.respond(request)}

    async def check_guardrails(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        """Publish the draft if it passes the checks; otherwise hand the turn over."""
        order = _order_lookup(state)
        own_numbers = [o.number for o in order.orders] if order else []
        material = "\n".join(
            [latest_question(state.messages)]
            + [d["text"] for d in state.documents]
            + ([format_order_lookup(order, state.language)] if order else [])
        )
        issues = check_answer(state.draft, allowed_order_numbers=own_numbers, material=material)
        if issues:
            return {"guardrail": {"passed": False, "issues": issues}, "escalation": _escalation("guardrail")}
        return {
            "guardrail": {"passed": True, "issues": []},
            "messages": bounded_append(state.messages, state.draft, runtime.context),
        }

    async def escalate(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        """Tell the customer a colleague will take over, in their language."""
        escalation = state.escalation or _escalation("human_requested")
        text = phrase(state.language, f"escalate_{escalation['reason']}", shop=runtime.context.shop_name)
        return {
            "escalation": escalation,
            "messages": bounded_append(state.messages, text, runtime.context),
        }
