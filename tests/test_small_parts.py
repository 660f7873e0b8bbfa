"""Order-number parsing, guardrails, prompts, phrases, thread ids and settings."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from carebot.checks.guardrails import check_answer
from carebot.db.scope import DEFAULT_TENANT_ID
from carebot.delivery.acks import AckFirst
from carebot.domain import parse_order_number
from carebot.models.factory import ModelConfigError, build_models
from carebot.models.offline import OfflineClassifier
from carebot.phrases import ORDER_STATUS_WORDS, PHRASES
from carebot.prompts import placeholders, prompt_names, render_prompt
from carebot.settings import Settings
from carebot.threads import tenant_of, thread_id_for
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("where is A1042", "A1042"),
        ("order #a1042 please", "A1042"),
        ("pedido A 1042", "A1042"),
        ("a-1042?", "A1042"),
        ("#A1001' OR 1=1 --", "A1001"),
        ("no number here", None),
        ("call 5551234", None),
        ("🙂" * 5000 + "A1042", None),  # only the start of a flood is read
    ],
)
def test_order_numbers_in_the_forms_customers_write_them(text: str, number: str | None) -> None:
    assert parse_order_number(text) == number


def test_guardrail_rejects_foreign_orders_unknown_contacts_and_prompt_echo() -> None:
    material = "Email help@lumenhome.example for help."
    assert check_answer("Order A1001 is on its way.", allowed_order_numbers=["A1001"], material=material) == []
    assert check_answer("Write to help@lumenhome.example.", allowed_order_numbers=[], material=material) == []
    assert check_answer("", allowed_order_numbers=[], material="") == ["empty answer"]
    issues = check_answer(
        "A2002 belongs to bob@evil.example, call +1 555 010 9999. HELP CENTRE: ...",
        allowed_order_numbers=["A1001"],
        material=material,
    )
    assert len(issues) == 4


def test_every_prompt_renders_with_its_placeholders() -> None:
    assert set(prompt_names()) >= {"classify", "generate"}
    for name in prompt_names():
        values = {key: f"<{key}>" for key in placeholders(name)}
        rendered = render_prompt(name, **values)
        assert all(f"<{key}>" in rendered for key in values)
        with pytest.raises(KeyError):
            render_prompt(name)


def test_every_language_has_every_phrase() -> None:
    keys = set(PHRASES["en"])
    for language in ("id", "es"):
        assert set(PHRASES[language]) == keys
        assert set(ORDER_STATUS_WORDS[language]) == set(ORDER_STATUS_WORDS["en"])


def test_thread_ids_are_stable_per_channel_and_tenant_and_hide_the_number() -> None:
    shop_a, shop_b = DEFAULT_TENANT_ID, uuid.UUID("6f1c0d2e-0000-4000-8000-00000000000b")
    a = thread_id_for("whatsapp", "whatsapp:+14155550100", salt="s", tenant=shop_a)
    assert a == thread_id_for("whatsapp", "+14155550100", salt="s", tenant=shop_a)
    assert a != thread_id_for("web", "+14155550100", salt="s", tenant=shop_a)
    assert a.startswith(f"{shop_a}:whatsapp:") and "4155550100" not in a
    assert a != thread_id_for("whatsapp", "+14155550100", salt="other", tenant=shop_a)
    # The same number writing to two shops is two conversations, each naming its shop.
    b = thread_id_for("whatsapp", "+14155550100", salt="s", tenant=shop_b)
    assert a != b and tenant_of(a) == shop_a and tenant_of(b) == shop_b
    assert tenant_of("whatsapp:3f9a") is None and tenant_of("nonsense") is None


def test_model_settings_are_checked_before_anything_starts() -> None:
    offline = build_models(Settings(_env_file=None, model="offline"))
    assert isinstance(offline.classifier, OfflineClassifier) and offline.description == "offline"
    with pytest.raises(ModelConfigError, match="OPENAI_API_KEY"):
        build_models(Settings(_env_file=None, model="openai:gpt-4o-mini", openai_api_key=None))
    with pytest.raises(ModelConfigError, match="AWS_REGION"):
        build_models(Settings(_env_file=None, model="bedrock:anthropic.claude", aws_region=None))
    with pytest.raises(ModelConfigError, match="unknown provider"):
        build_models(Settings(_env_file=None, model="llama:7b"))
    mixed = build_models(Settings(_env_file=None, model="openai:gpt-x", openai_api_key="k", classifier_model="offline"))
    assert isinstance(mixed.classifier, OfflineClassifier) and mixed.description == "openai:gpt-x (classifier: offline)"


def test_every_setting_is_documented_in_env_example_and_the_readme() -> None:
    env_example = (REPO / ".env.example").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    undocumented = [
        name.upper() for name in Settings.model_fields if name.upper() not in env_example or name.upper() not in readme
    ]
    assert undocumented == []


async def test_a_turn_waits_for_the_webhooks_being_acknowledged_but_not_for_ever() -> None:
    acks = AckFirst(longest_hold=30)
    with acks.acknowledging():
        turn = asyncio.create_task(acks.before_turn())
        await asyncio.sleep(0)  # the turn is now waiting
        with acks.acknowledging():
            pass
        assert not turn.done()  # another webhook came and went: the first is still being handled
    await asyncio.wait_for(turn, 5)  # the last acknowledgement lets it start

    impatient = AckFirst(longest_hold=0.01)
    with impatient.acknowledging():
        # A stream of webhooks that never pauses does not hold the turn back past longest_hold.
        await asyncio.wait_for(impatient.before_turn(), 5)
