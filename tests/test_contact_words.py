"""How the rules read a question about reaching the shop (they decide between the contact page and
a hand-over, and whether hours read as off topic are the shop's)."""

from __future__ import annotations

import pytest

from carebot.graph.action_words import asks_how_to
from carebot.graph.contact_words import (
    asks_how_to_reach,
    asks_the_shop_how_to_reach_it,
    contact_search_key,
    names_someone,
)


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
        "whats the best way to reach your support team, email or chat?",
        "is someone available at weekends or only mon-fri",
        "can i just call someone?",
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


@pytest.mark.parametrize(
    "text",
    [
        "real person pls",
        "can i get a callback",
        "is anyone there?",
        "this bot is useless",
        "necesito un asesor",
        "llámenme por favor",
        "mau ngobrol sama CS",
        "minta ditelpon balik kak",
        "can i get someone on the phone",
        "give me your phone number",
    ],
)
def test_a_request_for_a_person_names_someone(text: str) -> None:
    assert names_someone(text)


@pytest.mark.parametrize(
    "text",
    [
        "is there a rewards club",
        "can i shop from my phone with an app",
        "¿tienen tarjetas de regalo?",
        "ada aplikasinya?",
    ],
)
def test_a_question_about_the_shop_names_no_one(text: str) -> None:
    assert not names_someone(text)


def test_asking_how_to_do_something_is_told_from_asking_about_one_thing() -> None:
    assert asks_how_to("how do i follow my delivery")
    assert asks_how_to("where can i see where my parcel is")
    assert asks_how_to("¿dónde puedo ver mi pedido?")
    assert asks_how_to("gimana cara lacak paket")
    assert asks_how_to("wheres my parcel rn?? is there a link to follow it")
    assert not asks_how_to("where is my order")
    assert not asks_how_to("paket saya dimana")
    assert not asks_how_to("has my order shipped")


def test_a_contact_question_is_searched_with_the_words_of_the_way_it_names() -> None:
    # A help centre with a row for the phone line and one for the hours answers each with its own.
    assert contact_search_key("can i ring you") == "contact_search_phone"
    assert contact_search_key("nomor CS berapa?") == "contact_search_phone"
    assert contact_search_key("are you open on sundays") == "contact_search_hours"
    assert contact_search_key("¿a qué hora atienden?") == "contact_search_hours"
    assert contact_search_key("how do i contact you") == "contact_search"
