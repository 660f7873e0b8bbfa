"""Messages that ask two things at once: "where is my order A1001 and how do I return the shoes?",
"berapa ongkir ke bali? terus bisa bayar cod?".

The graph answers one intent per turn: the offline classifier reads such a message as its first
question, and the offline responder answers it and names the other topic, so the customer is not
left thinking the second question was read and ignored.
A message counts as two questions only when it splits into parts that are each confidently
about the shop and about different things: "what's the cheapest option and how long does it
take" is one shipping question asked twice.
"""

from __future__ import annotations

import re

from carebot.models.text_models import IntentModel, IntentReading

_JOINING_WORDS = r"(?:and also|and|also|plus|btw|terus|trus|lalu|sama|juga|dan|y|además|también)"
# Where a second question starts: after a question mark or a line break, or at a joining word.
_SPLIT = re.compile(rf"[?？]+\s*|\n+|\s*[,;]?\s+\b{_JOINING_WORDS}\b\s+", re.IGNORECASE)
# "y ¿cómo devuelvo…", "terus bisa bayar cod": the joining word says nothing about the question.
_LEADING_JOINING_WORD = re.compile(rf"^{_JOINING_WORDS}\b[\s,¿¡]*", re.IGNORECASE)
# A part needs a few words to be read on its own ("and", "ok" are no question).
_MIN_WORDS = 3
# How sure the intent model must be of each part, on its own.
_CONFIDENT = 0.55
# Intents that are a question a customer may ask beside another one.
_QUESTION_INTENTS = frozenset(
    {"order_status", "order_change", "shipping", "returns_refunds", "payment", "account", "product"}
)


def question_parts(text: str) -> list[str]:
    """The message cut where a second question may start, parts too short to stand alone dropped."""
    parts = (_LEADING_JOINING_WORD.sub("", p.strip(" ¿¡,")) for p in _SPLIT.split(text))
    return [p for p in parts if len(p.split()) >= _MIN_WORDS]


def two_questions(text: str, model: IntentModel) -> tuple[IntentReading, IntentReading] | None:
    """The readings of the first two parts about different shop topics, each read confidently on
    its own, in the order the customer asked them; None for a message with one question."""
    parts = question_parts(text)
    if len(parts) < 2:
        return None
    readings = [
        r
        for r in (model.predict(part) for part in parts)
        if r.label in _QUESTION_INTENTS and r.confidence >= _CONFIDENT
    ]
    second = next((r for r in readings[1:] if r.label != readings[0].label), None) if readings else None
    return (readings[0], second) if second else None


def other_question_intent(text: str, answered: str, model: IntentModel) -> str | None:
    """The intent of a second question in `text` that is not the `answered` one, or None."""
    if answered not in _QUESTION_INTENTS:
        return None
    pair = two_questions(text, model)
    if pair is None or answered not in (pair[0].label, pair[1].label):
        return None  # no second question, or the answer was about something else altogether
    return pair[1].label if pair[0].label == answered else pair[0].label


def first_question(text: str, intent: str, model: IntentModel) -> IntentReading | None:
    """For a message read as one shop question that holds two, the first: the customer asked it
    first, and the answer names the other (`other_question_intent`)."""
    if intent not in _QUESTION_INTENTS:
        return None  # a complaint or a request for a person stays what it is
    pair = two_questions(text, model)
    return pair[0] if pair else None
