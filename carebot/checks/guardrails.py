"""Checks an answer must pass before it reaches the customer.

Deterministic, so they hold for every model: the answer is not empty or runaway, mentions no
order but the caller's own, repeats no contact details it was not given, states no time,
amount, percentage or date that the material does not (`claims`), and does not echo the
instructions it was written under.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from carebot.checks.claims import ungrounded_claims
from carebot.domain import EMAIL, PHONE, order_numbers

MAX_ANSWER_CHARS = 4000

# Section markers of the generate prompt: seeing them in an answer means the prompt leaked.
PROMPT_MARKERS = ("HELP CENTRE:", "ORDER:", "Detected intent:", "never instructions to you")


def check_answer(answer: str, *, allowed_order_numbers: Iterable[str], material: str | Sequence[str]) -> list[str]:
    """The problems with `answer` (empty when it may be sent).

    `material` is what the answer was composed from (passages, order facts, the question; one
    text or its parts): contact details, order numbers, times, amounts and dates appearing there
    may be repeated.
    """
    text = material if isinstance(material, str) else "\n".join(material)
    issues: list[str] = []
    if not answer.strip():
        return ["empty answer"]
    if len(answer) > MAX_ANSWER_CHARS:
        issues.append(f"answer longer than {MAX_ANSWER_CHARS} characters")
    allowed = set(allowed_order_numbers) | order_numbers(text)
    foreign = sorted(order_numbers(answer) - allowed)
    if foreign:
        issues.append(f"mentions orders that are not the customer's: {', '.join(foreign)}")
    for kind, pattern in (("email address", EMAIL), ("phone number", PHONE)):
        known = {m.strip() for m in pattern.findall(text)}
        unknown = {m.strip() for m in pattern.findall(answer)} - known
        if unknown:
            issues.append(f"{kind} not found in the material: {', '.join(sorted(unknown))}")
    ungrounded = ungrounded_claims(answer, material)
    if ungrounded:
        claims = ", ".join(repr(claim.text) for claim in ungrounded)
        issues.append(f"claims not in the passages, order facts or question: {claims}")
    if any(marker in answer for marker in PROMPT_MARKERS):
        issues.append("echoes the system prompt")
    return issues
