"""Whether a message is for the shop at all, and what to do when the model cannot tell.

Three outcomes, not two: answer (a confident shop intent), decline (confident evidence that the
message is about something else: weather, recipes, banking, trivia, …), or ask which topic the
customer means (a numbered list of the shop's topics). A wrong decline is a dead end for a
customer who needed the shop; a question back costs one more message. The costs below say so,
and the thresholds are the ones that cost least on the training examples, each read by classifiers
fitted without it (five folds; never on an evaluation set): `choose_thresholds`, run when the
examples change and shipped with them (`shipped_scope.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True, slots=True)
class ScopeCosts:
    """What each outcome costs, relative to a right answer (0)."""

    in_scope_declined: float = 10.0
    """"Sorry, that's not something I can help with" to a customer with a shop question: a dead end."""
    in_scope_wrong_intent: float = 3.0
    """An answer about the wrong topic: the customer has to say it again."""
    in_scope_asked: float = 1.0
    """"Is it about 1. shipping 2. returns …?": one more message, then the right answer."""
    off_topic_answered: float = 3.0
    """A shop answer to a question about something else: confusing, and it hides what the bot is for."""
    off_topic_asked: float = 0.5
    """The list of topics tells an off-topic customer what the bot does: nearly as good as a decline."""


COSTS = ScopeCosts()


@dataclass(frozen=True, slots=True)
class ScopeThresholds:
    decline: float
    """Decline when the probability that the message is about something else reaches this."""
    answer: float
    """Answer when the best shop intent's probability reaches this; otherwise ask which topic."""


@dataclass(frozen=True, slots=True)
class ScopeReading:
    """What the intent model makes of one labelled message, for choosing thresholds."""

    expected: str
    best_intent: str
    """The most probable shop intent (never out of scope)."""
    intent_probability: float
    off_topic: float
    """The evidence that the message is about something other than the shop, in [0, 1]."""
    names_the_shop: bool = False
    """The message names the shop's things or an order: never declined, however it reads."""


def decide(reading: ScopeReading, thresholds: ScopeThresholds) -> str:
    """`decline`, `answer` or `ask`.

    A message that names the shop's things but reads as about something else ("my Rappi order is
    late", "Movistar charged me a penalty") is asked about rather than declined or answered: the
    shop word forbids the dead end, the evidence forbids a shop answer to another company's order.
    """
    if reading.off_topic >= thresholds.decline:
        return "ask" if named_but_elsewhere(reading, thresholds) else "decline"
    return "answer" if reading.intent_probability >= thresholds.answer else "ask"


def named_but_elsewhere(reading: ScopeReading, thresholds: ScopeThresholds) -> bool:
    """Naming the shop's things, but off topic enough that it would otherwise be declined."""
    return reading.names_the_shop and reading.off_topic >= thresholds.decline


def cost(reading: ScopeReading, thresholds: ScopeThresholds, costs: ScopeCosts = COSTS) -> float:
    outcome = decide(reading, thresholds)
    if reading.expected == OUT_OF_SCOPE:
        return {"decline": 0.0, "ask": costs.off_topic_asked, "answer": costs.off_topic_answered}[outcome]
    if outcome == "decline":
        return costs.in_scope_declined
    if outcome == "ask":
        return costs.in_scope_asked
    return 0.0 if reading.best_intent == reading.expected else costs.in_scope_wrong_intent


# The grid the thresholds are chosen from (hundredths: finer would fit the readings' noise).
DECLINE_GRID = tuple(round(0.30 + 0.05 * i, 2) for i in range(14))  # 0.30 … 0.95
ANSWER_GRID = tuple(round(0.05 * i, 2) for i in range(13))  # 0.00 … 0.60


def choose_thresholds(readings: Sequence[ScopeReading], costs: ScopeCosts = COSTS) -> ScopeThresholds:
    """The thresholds of least total cost on `readings`; ties go to the higher decline threshold
    (fewer declines) and the lower answer threshold (fewer questions back)."""
    candidates = [ScopeThresholds(decline=d, answer=a) for d in DECLINE_GRID for a in ANSWER_GRID]
    return min(
        candidates,
        key=lambda t: (round(sum(cost(r, t, costs) for r in readings), 6), -t.decline, t.answer),
    )


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One decline threshold and what it does to a set of messages."""

    threshold: float
    in_scope_declined: float | None
    """Share of the shop's messages declined (false alarms)."""
    off_topic_declined: float | None
    """Share of the off-topic messages declined (the others are asked about or answered)."""


def trade_off_curve(
    off_topic: Sequence[float], is_off_topic: Sequence[bool], thresholds: Sequence[float] = DECLINE_GRID
) -> list[CurvePoint]:
    """False alarms against off-topic messages declined, for each decline threshold."""
    pairs = list(zip(off_topic, is_off_topic, strict=True))
    in_scope = [p for p, off in pairs if not off]
    off_topic_only = [p for p, off in pairs if off]

    def share(values: list[float], threshold: float) -> float | None:
        return round(sum(v >= threshold for v in values) / len(values), 4) if values else None

    return [CurvePoint(t, share(in_scope, t), share(off_topic_only, t)) for t in thresholds]
