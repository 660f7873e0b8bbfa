"""What the graph asks of a model, whichever model it is (offline, Bedrock, OpenAI)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.messages import BaseMessage

from carebot.domain import Intent, Language, OrderLookup, Passage


@dataclass(frozen=True, slots=True)
class Classification:
    """The classify step's reading of one customer message."""

    intent: Intent
    language: Language
    sentiment: float
    """From -1 (furious) to 1 (delighted)."""
    confidence: float
    """How sure the classifier is of `intent`, in [0, 1]."""
    language_confidence: float = 1.0
    """How sure it is of `language`; short messages ("ok", "A1042") are often unsure."""
    order_number: str | None = None
    off_topic: float | None = None
    """The evidence that the message is about something other than the shop, in [0, 1]; None
    from a model that does not say (the eval report's trade-off curve reads it)."""
    unsure: bool = False
    """Neither a confident shop intent nor confidently off topic: `intent` is only the best guess,
    and the graph searches the help centre, then asks with `topics` as the choices."""
    topics: tuple[Intent, ...] = ()
    """The likeliest shop topics, best first, to offer when unsure; with an `out_of_scope` reading,
    the topic it is answered under if the help centre plainly answers it (none: declined unsearched)."""
    elsewhere: bool = False
    """Unsure because the message names the shop's things but reads as about something else
    ("my Rappi order is late"): the graph asks which topic at once, without searching the help centre."""


@dataclass(frozen=True, slots=True)
class AnswerRequest:
    """Everything an answer may be composed from."""

    question: str
    intent: Intent
    language: Language
    history: Sequence[BaseMessage] = ()
    passages: Sequence[Passage] = ()
    order: OrderLookup | None = None
    customer_name: str | None = None
    shop_name: str = "our shop"


@dataclass(frozen=True, slots=True)
class ActionCall:
    """A request to act on an order, as a model read it: the action and what the customer said of it."""

    kind: str
    """cancel | change_address | change_items | return | exchange"""
    args: dict[str, Any]
    """The tool call's typed arguments (order number, reason, address, item, new option, refund target)."""


class ActionReader(Protocol):
    async def read(self, text: str, *, history: Sequence[BaseMessage] = ()) -> ActionCall | None:
        """The action the latest message asks for, or None."""
        ...


class GuardrailIntervened(Exception):
    """A guardrail of the model provider (Amazon Bedrock Guardrails) blocked the call; the message
    says which guardrail and why, for the colleague who takes the conversation over."""


class Classifier(Protocol):
    async def classify(self, text: str, *, history: Sequence[BaseMessage] = ()) -> Classification:
        """Read the intent, language, sentiment and any order number of a customer message."""
        ...


class Responder(Protocol):
    async def respond(self, request: AnswerRequest) -> str:
        """Write the answer to the customer, in `request.language`; raises `GuardrailIntervened`
        when the provider's guardrail blocks it."""
        ...
