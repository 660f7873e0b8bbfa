"""Every reason the graph can hand a conversation over for is told to the customer in their
language and shown to operators in the shop's words: one vocabulary, checked end to end."""

from __future__ import annotations

import pytest

from carebot.desk.handover import REASON_LABELS, reason_label
from carebot.domain import ESCALATION_REASONS, LANGUAGES
from carebot.phrases import phrase


@pytest.mark.parametrize("reason", ESCALATION_REASONS)
def test_every_reason_has_an_operator_label_and_a_customer_phrase_in_each_language(reason: str) -> None:
    assert reason in REASON_LABELS and reason_label(reason) != reason
    for language in LANGUAGES:
        told = phrase(language, f"escalate_{reason}", shop="Lumen")
        assert told and not told.startswith("escalate_"), (reason, language)


def test_no_label_is_left_for_a_reason_the_graph_cannot_give() -> None:
    assert set(REASON_LABELS) == set(ESCALATION_REASONS)
