"""Per-run choices: who is asking and the thresholds the graph applies."""

from __future__ import annotations

from dataclasses import dataclass

from carebot.domain import DEMO_SENDER, Language


@dataclass(kw_only=True)
class Context:
    """Runtime context of one run (`graph.ainvoke(..., context=Context(...))`)."""

    channel: str = "web"
    """whatsapp | discord | web: with `sender`, says who is asking."""
    sender: str = DEMO_SENDER
    """The channel's sender id (phone number, Discord user id, web user id). Identity for
    the order tool comes from here, never from what the customer or the model wrote."""
    shop_name: str = "Lumen Home"
    default_language: Language = "en"
    """The shop's language: a new conversation's first message too short to tell is answered in it."""
    history_limit: int = 20
    """Messages kept in the thread's state."""
    relevance_threshold: float = 0.3
    """Below this best passage score the bot does not answer from the help centre."""
    unsure_relevance: float = 0.55
    """The best passage score that answers a message the classifier is unsure about; below it the
    bot asks which topic is meant. Stricter than `relevance_threshold`, as nothing else says the
    message is for the shop: the least-cost threshold (scope.py's costs) on the unsure readings of
    the FAQ dev set and the golden set's dev cases, where right passages scored 0.40–1.0 and wrong
    ones and off-topic requests 0.25–0.83."""
    escalation_sentiment: float = -0.6
    """At or below this sentiment the conversation goes to a human."""
    follow_up_confidence: float = 0.5
    """Below this intent confidence a message is read as a follow-up of the previous intent."""
    turn_id: str | None = None
    """An id for this turn (the inbox message's). The customer message and the reply get ids
    derived from it, so running a turn again after a crash replaces them instead of adding more."""
