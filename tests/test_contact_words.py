"""How the rules read a question about reaching the shop (they decide between the contact page and
a hand-over, and whether hours read as off topic are the shop's)."""

from __future__ import annotations

import pytest

from carebot.graph.contact_words import asks_how_to_reach, asks_the_shop_how_to_reach_it


@pytest.mark.parametrize(
    "text",
    [
        "is there a number I can call?",
        "do u have a helpline",
        "is there live chat",
        "whats ur phone number",
        "when is customer service available",
        "what hours do you answer messages",
        "are you open on weekends",
        "¿a qué hora atienden?",
        "horario de atención?",
        "jam buka kapan kak",
        "nomor CS berapa?",
    ],
)
def test_questions_on_how_to_reach_the_shop(text: str) -> None:
    assert asks_how_to_reach(text)


@pytest.mark.parametrize(
    "text",
    [
        "I want to talk to a human",  # a person now: handed over
        "give me your phone number",
        "minta nomor CS",
        "call me back please",
        "what time does the post office open",  # not a way to reach anyone here
        "where is my order",
    ],
)
def test_not_a_question_on_how_to_reach_the_shop(text: str) -> None:
    assert not asks_how_to_reach(text)


def test_hours_read_as_the_shops_only_when_asked_of_it() -> None:
    assert asks_the_shop_how_to_reach_it("are you open on sundays?")
    assert asks_the_shop_how_to_reach_it("whats ur phone number")
    assert asks_the_shop_how_to_reach_it("jam buka kapan kak")
    assert not asks_the_shop_how_to_reach_it("whats the phone number for comcast support")
    assert not asks_the_shop_how_to_reach_it("a que hora abren los bancos")
