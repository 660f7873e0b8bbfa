"""The agent on the real embedded PostgreSQL with the demo shop and the offline model."""

from __future__ import annotations

import json
import subprocess

import pytest

from carebot.composition import Components
from carebot.shop.help_centre.search import PostgresKnowledgeBase
from tests.conftest import BIN

ALEX, SITI, LUCIA = "+14155550100", "+6281234500001", "+34600100001"


@pytest.mark.parametrize(
    ("sender", "text", "language", "intent", "expected"),
    [
        (ALEX, "where is my order?", "en", "order_status", ["A1001", "on its way", "UPS"]),
        (SITI, "pesanan saya sudah sampai mana?", "id", "order_status", ["A1004", "A1005", "Balas dengan nomor"]),
        (LUCIA, "¿dónde está mi pedido?", "es", "order_status", ["A1007", "entregado"]),
        (ALEX, "how much does shipping cost?", "en", "shipping", ["5.99 USD", "Source: Shipping and delivery"]),
        (
            SITI,
            "berapa lama pengiriman ke Surabaya?",
            "id",
            "shipping",
            ["3 sampai 5 hari kerja", "Sumber: Pengiriman"],
        ),
        (LUCIA, "¿cuánto tarda el envío?", "es", "shipping", ["3 a 5 días laborables", "Fuente: Envíos y entregas"]),
        (ALEX, "how long do refunds take?", "en", "returns_refunds", ["5 working days", "Source: Returns and refunds"]),
        (SITI, "bagaimana cara retur barang?", "id", "returns_refunds", ["label retur", "Sumber: Retur"]),
        (SITI, "kapan refund saya masuk?", "id", "returns_refunds", ["5 hari kerja", "Sumber: Retur"]),
        (
            LUCIA,
            "¿cuál es el plazo para devolver un artículo?",
            "es",
            "returns_refunds",
            ["30 días", "Fuente: Devoluciones"],
        ),
    ],
)
async def test_common_questions_answered_correctly_in_three_languages(
    components: Components, sender: str, text: str, language: str, intent: str, expected: list[str]
) -> None:
    result = await components.turns.chat(channel="whatsapp", sender=sender, text=text)
    assert (result.intent, result.language, result.escalate) == (intent, language, False)
    for fragment in expected:
        assert fragment in result.answer, result.answer


async def test_someone_elses_order_number_reveals_nothing(components: Components) -> None:
    # A1004 is Siti's (a Matte steel kettle being prepared); Alex asks about it.
    theirs = await components.turns.chat(channel="whatsapp", sender=ALEX, text="what's the status of order A1004?")
    missing = await components.turns.chat(channel="whatsapp", sender=ALEX, text="what's the status of order A9999?")
    for leak in ("kettle", "Siti", "prepared", "JNE", "SiCepat"):
        assert leak.lower() not in theirs.answer.lower()
    assert theirs.answer == missing.answer.replace("A9999", "A1004")


async def test_unknown_sender_is_asked_to_verify(components: Components) -> None:
    result = await components.turns.chat(channel="whatsapp", sender="+19995550000", text="where is my order?")
    assert "email address" in result.answer and not result.escalate


async def test_a_question_outside_the_help_centre_is_not_guessed_and_then_handed_over(
    components: Components,
) -> None:
    first = await components.turns.chat(
        channel="web", sender=ALEX, text="do you sell garden furniture made of teak for yachts?"
    )
    # The first miss: not a made-up answer, but a request to rephrase with a person offered.
    assert not first.escalate and "not sure" in first.answer and "colleague" in first.answer
    second = await components.turns.chat(channel="web", sender=ALEX, text="teak yacht furniture, do you sell it")
    assert second.escalate and second.escalation_reason == "low_relevance"


async def test_knowledge_search_finds_the_right_article_first(components: Components) -> None:
    kb = PostgresKnowledgeBase(components.pool)
    cases = [
        ("how do I reset my password", "en", "Your account"),
        ("can I pay with PayPal", "en", "Payments and invoices"),
        ("bisa bayar pakai OVO?", "id", "Pembayaran dan faktur"),
        ("¿la garantía cubre mi lámpara?", "es", "Garantía y cuidado de los productos"),
    ]
    for question, language, title in cases:
        passages = await kb.search(question, language=language)
        assert passages and passages[0].title == title, (question, [p.title for p in passages])
        assert 0 < passages[0].score <= 1


async def test_history_is_read_back_from_the_checkpoint(components: Components) -> None:
    await components.turns.chat(channel="web", sender=ALEX, text="hi")
    await components.turns.chat(channel="web", sender=ALEX, text="where is my order?")
    history = await components.turns.history(channel="web", sender=ALEX)
    assert [m["role"] for m in history] == ["customer", "bot", "customer", "bot"]
    assert history[2]["text"] == "where is my order?" and "A1001" in history[3]["text"]


@pytest.mark.slow
def test_conversation_continues_in_a_second_process(cli_env: dict[str, str]) -> None:
    def carebot(*args: str) -> str:
        done = subprocess.run([str(BIN / "carebot"), *args], env=cli_env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    first = json.loads(carebot("chat", "pesanan saya di mana?", "--user", SITI, "--channel", "whatsapp", "--json"))
    assert "A1004" in first["answer"] and first["language"] == "id"
    # A bare order number says nothing about language: the restarted process must know the
    # conversation is in Indonesian from the checkpoint alone.
    second = json.loads(carebot("chat", "A1005", "--user", SITI, "--channel", "whatsapp", "--json"))
    assert second["thread_id"] == first["thread_id"]
    assert second["language"] == "id" and "dalam pengiriman" in second["answer"]
    history = json.loads(carebot("history", "--user", SITI, "--channel", "whatsapp", "--json"))
    assert [m["text"] for m in history["messages"] if m["role"] == "customer"] == ["pesanan saya di mana?", "A1005"]


async def test_a_follow_up_is_answered_on_the_previous_questions_topic(components: Components) -> None:
    """ "kalau dana bisa?" ("and with DANA?") alone could be about refunds ("dana" is also
    "funds"); after a payment question it is about paying with the DANA wallet."""
    await components.turns.chat(channel="whatsapp", sender=SITI, text="bisa bayar pakai gopay?")
    follow_up = await components.turns.chat(channel="whatsapp", sender=SITI, text="kalau dana bisa?")
    assert follow_up.intent == "payment" and not follow_up.escalate
    assert "DANA" in follow_up.answer and "Pembayaran" in follow_up.answer
