"""Each tenant's own shop in its turns: its name, language and currency, its policy file and its
order source (the database's orders, or its own order API with its own sealed token), while the
default tenant keeps the environment's shop, as a single-shop install always had it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from carebot.composition import Components, open_components, secret_box
from carebot.db.scope import DEFAULT_TENANT, tenant_scope
from carebot.shop.actions import ActionRefused, ActionRequest, Actor
from carebot.shop.order_api import HttpOrderSource
from carebot.shop.policy import demo_policy_path, load_policy
from carebot.tenants.registry import Tenant
from tests.conftest import settings_for
from tests.fake_order_api import ANN, TOKEN, FakeOrderApi

# A shop that lets customers cancel nothing (the demo's lets pending orders be cancelled).
NO_CANCEL_POLICY = """
[cancel]
statuses = []
[return]
statuses = ["delivered"]
within_days = 14
"""


@pytest.fixture
def api() -> Iterator[FakeOrderApi]:
    with FakeOrderApi() as fake:
        yield fake


@pytest.fixture
async def shop(empty_database_url: str) -> AsyncIterator[Components]:
    """The app on a database of its own, its default tenant the environment's shop."""
    settings = settings_for(empty_database_url, seed_demo_data=False, shop_name="Lumen Home", shop_currency="USD")
    async with open_components(settings) as components:
        yield components


async def kedai(components: Components, tmp_path: Path, **config: object) -> Tenant:
    policy = tmp_path / "kedai-policy.toml"
    policy.write_text(NO_CANCEL_POLICY, encoding="utf-8")
    return await components.tenants.add(
        slug="kedai",
        name="Kedai Nusantara",
        languages=["id", "en"],
        default_language="id",
        currency="IDR",
        support_hours={"timezone": "Asia/Jakarta", "days": {"mon": ["09:00", "17:00"], "tue": ["09:00", "17:00"]}},
        config={"policy_file": str(policy), **config},
    )


async def test_a_tenants_turns_speak_for_its_shop_and_the_default_keeps_the_environments(
    shop: Components, tmp_path: Path
) -> None:
    tenant = await kedai(shop, tmp_path)
    with tenant_scope(tenant.ref):
        hello = await shop.turns.chat(channel="web", sender=f"session:{uuid.uuid4().hex}", text="hello")
        # Too short to tell its language: a new conversation's first message gets the shop's.
        short = await shop.turns.chat(channel="web", sender=f"session:{uuid.uuid4().hex}", text="A1001")
        kedai_shop = await shop.turns.shop()
    with tenant_scope(DEFAULT_TENANT):
        lumen = await shop.turns.chat(channel="web", sender=f"session:{uuid.uuid4().hex}", text="hello")
        lumen_short = await shop.turns.chat(channel="web", sender=f"session:{uuid.uuid4().hex}", text="A1001")
    assert "Kedai Nusantara" in hello.answer and "Lumen" not in hello.answer
    assert "Lumen Home" in lumen.answer and "Kedai" not in lumen.answer
    assert short.language == "id" and lumen_short.language == "en"
    assert kedai_shop.currency == "IDR" and kedai_shop.languages == ("id", "en")
    assert kedai_shop.support_hours == "Mon 09:00–17:00, Tue 09:00–17:00 (Asia/Jakarta)"


async def test_each_tenant_acts_under_its_own_policy_file(shop: Components, tmp_path: Path) -> None:
    tenant = await kedai(shop, tmp_path)
    assert shop.deps.shop is not None
    with tenant_scope(tenant.ref):
        await shop.deps.shop.products()  # the tenant's shop opens on its first call
        kedai_policy = shop.deps.shop.policy
        with pytest.raises(ActionRefused) as refused:
            await shop.deps.shop.perform(
                1,
                ActionRequest(kind="cancel", order_number="K1", reason="ordered by mistake"),
                key=uuid.uuid4().hex,
                actor=Actor(by="bot", conversation="web:k", confirming_message="yes"),
            )
    with tenant_scope(DEFAULT_TENANT):
        await shop.deps.shop.products()
        default_policy = shop.deps.shop.policy
    assert kedai_policy == load_policy(tmp_path / "kedai-policy.toml") and kedai_policy.cancel.statuses == []
    assert default_policy == load_policy(demo_policy_path()) and default_policy.cancel.statuses
    assert refused.value.refusal is not None


async def test_a_tenants_orders_come_from_its_own_api_with_its_own_sealed_token(
    shop: Components, api: FakeOrderApi, tmp_path: Path
) -> None:
    box = await secret_box(shop.settings, shop.pool)
    tenant = await kedai(shop, tmp_path, orders_api_url=api.url)
    async with shop.pool.connection() as conn:
        await conn.execute(
            "UPDATE tenants SET secrets = %s WHERE id = %s", (box.seal({"orders_api_token": TOKEN}), tenant.id)
        )
    with tenant_scope(tenant.ref):
        anns = await shop.deps.orders.recent_orders(ANN)
        opened = await shop.shops.current()
    with tenant_scope(DEFAULT_TENANT):
        defaults = await shop.deps.orders.recent_orders(ANN)  # the database's orders: this one has none
    assert [o.number for o in anns] and all(o.number.startswith("#B") for o in anns)
    assert {r.headers.get("Authorization") for r in api.requests} == {f"Bearer {TOKEN}"}
    assert isinstance(opened.client, HttpOrderSource) and defaults == []
    # A new token (rotated by the shop): once the cache has it, the tenant's client is built again with it.
    async with shop.pool.connection() as conn:
        await conn.execute(
            "UPDATE tenants SET secrets = %s WHERE id = %s", (box.seal({"orders_api_token": "wrong"}), tenant.id)
        )
    shop.shop_settings.forget()
    with tenant_scope(tenant.ref):
        rebuilt = await shop.shops.current()
    assert rebuilt is not opened and rebuilt.source.orders_api_token == "wrong"
