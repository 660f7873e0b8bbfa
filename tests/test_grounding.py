"""The grounding check: every time, amount, percentage and date an answer states must be in the
material it was written from, however either side writes it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from carebot.checks.claims import extract_claims, parse_number, ungrounded_claims
from carebot.checks.guardrails import check_answer
from tests.test_graph import answer, make_graph, turn

SHIPPING = (
    "Orders placed before 14:00 local time on a working day leave the warehouse the same day. Standard delivery "
    "takes 3 to 5 working days. Standard shipping costs 5.99 USD, 25,000 IDR or 4.99 EUR. Tracking can take up "
    "to 24 hours to show the first scan. Sale items can be returned within 14 days."
)


@pytest.mark.parametrize(
    "answer_text",
    [
        "Standard delivery takes 3-5 working days.",
        "Standard delivery takes 3–5 business days.",
        "Pengiriman reguler 3 sampai 5 hari kerja.",
        "El envío estándar tarda entre 3 y 5 días hábiles.",
        "It usually arrives within 5 working days.",  # one end of the material's range
        "Ongkirnya Rp25.000.",
        "Ongkirnya Rp 25rb.",
        "Cuesta 4,99 EUR.",
        "Shipping is $5.99.",
        "Order before 2 pm and it leaves today.",
        "Pesan sebelum pukul 14.00.",
        "The first scan can take a day to show.",  # 24 hours
        "La primera lectura puede tardar veinticuatro horas.",
        "Sale items: two weeks.",  # 14 days
    ],
)
def test_claims_written_differently_from_the_material_still_match(answer_text: str) -> None:
    assert ungrounded_claims(answer_text, SHIPPING) == []


@pytest.mark.parametrize(
    ("answer_text", "claim"),
    [
        ("Standard delivery takes 2-4 working days.", "2-4 working days"),
        ("Standard delivery takes 3 to 5 days.", "3 to 5 days"),  # working days are not days
        ("Shipping costs $6.99.", "$6.99"),
        ("Ongkirnya Rp30.000.", "Rp30.000"),
        ("You get 10% off your next order.", "10%"),
        ("Tracking shows within 48 hours.", "48 hours"),
        ("Sale items can be returned within a month.", "a month"),
        ("Order before 5 pm.", "5 pm"),
        ("Your parcel arrives on 3 December 2026.", "3 December 2026"),
        ("Se reembolsa en diez días.", "diez días"),
    ],
)
def test_a_claim_missing_from_the_material_is_named(answer_text: str, claim: str) -> None:
    assert [c.text for c in ungrounded_claims(answer_text, SHIPPING)] == [claim]


def test_dates_match_across_formats_and_languages() -> None:
    facts = "Order A1001: on its way\nExpected delivery: 25 Nov 2026"
    for written in ("25 November 2026", "November 25", "25 de noviembre", "25 Nov", "2026-11-25", "25/11/2026"):
        assert ungrounded_claims(f"It arrives {written}.", facts) == [], written
    assert [c.text for c in ungrounded_claims("It arrives 26 Nov 2026.", facts)] == ["26 Nov 2026"]
    assert [c.text for c in ungrounded_claims("It arrives 25 Nov 2027.", facts)] == ["25 Nov 2027"]


def test_words_that_only_look_like_claims_are_not_read_as_claims() -> None:
    assert extract_claims("Order A1001, Wool rug 160x230, 2× Stoneware mug, you may 3 times try") == []
    assert extract_claims("We post twice a day and once a week") == []
    assert [c.kind for c in extract_claims("It ships 14.99 USD")] == ["amount"]  # not 14:99


@pytest.mark.parametrize(
    ("written", "value"),
    [("1.500.000", "1500000"), ("750,000", "750000"), ("4,99", "4.99"), ("14.99", "14.99"), ("1,299.50", "1299.50")],
)
def test_numbers_read_with_either_decimal_mark(written: str, value: str) -> None:
    assert parse_number(written) == Decimal(value)


def test_the_answer_check_names_the_ungrounded_claim() -> None:
    issues = check_answer("Refunds take 24 hours and cost $2.", allowed_order_numbers=[], material=SHIPPING)
    assert issues == ["claims not in the passages, order facts or question: '$2'"]


async def test_an_llm_answer_with_an_invented_time_goes_to_a_colleague_with_the_claim_named() -> None:
    from tests.fakes import EchoResponder

    invented = "Standard delivery takes 1 to 2 working days, and we refund 10% of the shipping."
    graph, _, _, _ = make_graph(responder=EchoResponder(override=invented))
    state = await turn(graph, "how long is shipping?")
    escalation = state["turn"]["escalation"]
    assert escalation["reason"] == "guardrail"
    assert "'1 to 2 working days'" in escalation["detail"] and "'10%'" in escalation["detail"]
    assert "colleague" in answer(state) and "10%" not in answer(state)


async def test_an_answer_that_repeats_the_material_is_sent() -> None:
    from tests.fakes import EchoResponder

    grounded = "Standard delivery takes 3 to 5 working days (3–5 hari kerja)."
    graph, _, _, _ = make_graph(responder=EchoResponder(override=grounded))
    state = await turn(graph, "how long is shipping?")
    assert state["turn"]["escalation"] is None and answer(state) == grounded
