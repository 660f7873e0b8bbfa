"""Platform administration as its users do it: `carebot tenants …` in a subprocess, and
`/admin/tenants` over real HTTP for a platform admin, a shop admin and nobody."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from carebot.composition import open_database, open_tenants
from carebot.db.scope import tenant_scope
from carebot.desk.operators import OperatorAccounts
from tests.conftest import BIN, settings_for
from tests.test_channels import serving
from tests.test_operator_inbox import PASSWORD, sign_in

SMALL_SHOP = Path(__file__).parent / "fixtures" / "small_shop"
ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-token-of-shop-x-9f3e"

pytestmark = pytest.mark.slow


def carebot(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "carebot"), *args], env=env, capture_output=True, text=True, timeout=120, input=stdin
    )


@pytest.fixture
def empty_env(cli_env: dict[str, str], empty_database_url: str) -> dict[str, str]:
    return {**cli_env, "DATABASE_URL": empty_database_url, "SEED_DEMO_DATA": "false", "SECRET_KEY": "first key"}


async def test_a_tenant_is_added_given_channels_its_secrets_never_shown_and_rotated_to_a_new_key(
    empty_env: dict[str, str], empty_database_url: str
) -> None:
    added = carebot(empty_env, "tenants", "add", "shop-x", "--name", "Shop X", "--languages", "en,es",
                    "--language", "es", "--currency", "EUR", "--messages-per-month", "1000")  # fmt: skip
    assert added.returncode == 0, added.stderr
    again = carebot(empty_env, "tenants", "add", "shop-x", "--name", "Again")
    assert again.returncode == 2 and "already exists" in again.stderr

    # The auth token from the environment, the bot token from stdin: neither is an argument `ps` shows.
    whatsapp = carebot({**empty_env, "CAREBOT_AUTH_TOKEN": AUTH_TOKEN}, "tenants", "channel-add", "shop-x",
                       "whatsapp", "+14155550123", "--account-sid", ACCOUNT_SID)  # fmt: skip
    assert whatsapp.returncode == 0, whatsapp.stderr
    discord = carebot(empty_env, "tenants", "channel-add", "shop-x", "discord", "123456789012",
                      "--public-key", "ab" * 32, "--bot-token", "-", stdin="bot-token-from-stdin-7a7a\n")  # fmt: skip
    assert discord.returncode == 0, discord.stderr

    shown = carebot(empty_env, "tenants", "show", "shop-x", "--json")
    assert shown.returncode == 0, shown.stderr
    tenant = json.loads(shown.stdout)
    assert (tenant["languages"], tenant["default_language"], tenant["currency"]) == (["en", "es"], "es", "EUR")
    assert tenant["messages_per_month"] == 1000
    hints = {c["kind"]: c["hints"] for c in tenant["channels"]}
    assert hints == {"whatsapp": {"auth_token": "…9f3e"}, "discord": {"bot_token": "…7a7a"}}
    assert AUTH_TOKEN not in shown.stdout and "bot-token-from-stdin" not in shown.stdout
    assert carebot(empty_env, "tenants", "channel-remove", "shop-x", "discord", "123456789012").returncode == 0

    rotated = carebot({**empty_env, "SECRET_KEY": "second key", "SECRET_KEYS_RETIRED": '["first key"]'},
                      "tenants", "rotate-secrets")  # fmt: skip
    assert rotated.returncode == 0, rotated.stderr
    assert "Re-sealed 1" in rotated.stdout
    settings = settings_for(empty_database_url, secret_key="second key")  # the first key is gone now
    async with open_database(settings) as pool:
        with tenant_scope(None):
            tenants = await open_tenants(settings, pool)
            channel = await tenants.channel("whatsapp", "+14155550123")
            assert channel is not None
            assert await tenants.secrets_of(channel) == {"auth_token": AUTH_TOKEN}


def test_shop_commands_work_on_the_tenant_named_and_only_a_disabled_one_is_deleted(empty_env: dict[str, str]) -> None:
    assert carebot(empty_env, "tenants", "add", "shop-x", "--name", "Shop X").returncode == 0
    imported = carebot(empty_env, "shop", "import", str(SMALL_SHOP), "--tenant", "shop-x")
    assert imported.returncode == 0, imported.stderr

    in_x = carebot(empty_env, "orders", "show", "#W2378156", "--json", "--tenant", "shop-x")
    assert in_x.returncode == 0, in_x.stderr
    assert json.loads(in_x.stdout)["customer_id"] == "yusuf_rossi_9620"
    from_env = carebot({**empty_env, "CAREBOT_TENANT": "shop-x"}, "orders", "show", "#W2378156", "--json")
    assert from_env.returncode == 0, from_env.stderr
    in_default = carebot(empty_env, "orders", "show", "#W2378156", "--json")
    assert in_default.returncode != 0, "the default shop must not see shop-x's order"
    unknown = carebot(empty_env, "orders", "show", "#W2378156", "--tenant", "no-such-shop")
    assert unknown.returncode == 2 and "no-such-shop" in unknown.stderr

    assert carebot(empty_env, "tenants", "delete", "shop-x").returncode == 2  # no --yes
    enabled = carebot(empty_env, "tenants", "delete", "shop-x", "--yes")
    assert enabled.returncode == 2 and "disable" in enabled.stderr
    default = carebot(empty_env, "tenants", "delete", "default", "--yes")
    assert default.returncode == 2 and "default" in default.stderr

    exported = carebot(empty_env, "tenants", "export", "shop-x")
    assert exported.returncode == 0, exported.stderr
    assert {o["number"] for o in json.loads(exported.stdout)["orders"]} == {"#W2378156", "#W4817420", "#W6390527"}
    assert carebot(empty_env, "tenants", "disable", "shop-x").returncode == 0
    deleted = carebot(empty_env, "tenants", "delete", "shop-x", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert "3 orders" in deleted.stdout


def test_the_second_demo_shop_is_one_command_with_its_own_shop_articles_and_admin(
    empty_env: dict[str, str],
) -> None:
    demo = {**empty_env, "CAREBOT_OPERATOR_PASSWORD": PASSWORD}
    made = carebot(demo, "operators", "add", "demo@carebot.local", "--role", "admin", "--platform-admin")
    assert made.returncode == 0, made.stderr
    added = carebot(demo, "tenants", "add-demo")
    assert added.returncode == 0, added.stderr
    exported = carebot(demo, "tenants", "export", "second-shop")
    assert exported.returncode == 0, exported.stderr
    shop = json.loads(exported.stdout)
    assert shop["tenant"]["name"] == "Second Demo Shop"
    assert shop["operators"] == [{"email": "demo@carebot.local", "name": "demo", "role": "admin"}]
    assert [c["address"] for c in shop["channels"] if c["kind"] == "web"] == ["second-shop-site"]
    assert {o["number"]: o["currency"] for o in shop["orders"]} == {"T-2001": "EUR", "T-2002": "EUR"}
    assert len(shop["help_centre"]) == 3
    # Alex Morgan's number in the first demo shop is Rosa's here: the same person, two shops.
    assert [c["name"] for c in shop["customers"] if c["phone"] == "+14155550100"] == ["Rosa Lindqvist"]
    with psycopg.connect(demo["DATABASE_URL"]) as conn:
        row = conn.execute("SELECT platform_admin FROM operators WHERE email = 'demo@carebot.local'").fetchone()
    assert row == (True,)


async def add_operator(url: str, *, role: str, platform_admin: bool = False) -> str:
    email = f"{role}-{uuid.uuid4().hex[:6]}@platform.example"
    async with open_database(settings_for(url)) as pool:
        await OperatorAccounts(pool).add(email=email, name=role, role=role, password=PASSWORD)  # type: ignore[arg-type]
        if platform_admin:
            async with pool.connection() as conn:
                await conn.execute("UPDATE operators SET platform_admin = true WHERE email = %s", (email,))
    return email


async def test_only_platform_admins_manage_tenants_over_http(empty_database_url: str) -> None:
    url = empty_database_url
    shop_admin = await add_operator(url, role="admin")
    platform = await add_operator(url, role="agent", platform_admin=True)
    settings = settings_for(url, embeddings="none")
    async with serving(settings, with_worker=False) as client:
        assert (await client.get("/admin/tenants")).status_code == 401

        headers = await sign_in(client, shop_admin)
        assert (await client.get("/admin/tenants")).status_code == 403
        refused = await client.post("/admin/tenants", json={"slug": "shop-z", "name": "Z"}, headers=headers)
        assert refused.status_code == 403
        await client.post("/admin/logout", headers=headers)
        client.cookies.clear()

        headers = await sign_in(client, platform)
        created = await client.post(
            "/admin/tenants", json={"slug": "shop-z", "name": "Shop Z", "languages": ["en", "id"]}, headers=headers
        )
        assert created.status_code == 201, created.text
        assert (
            await client.post("/admin/tenants", json={"slug": "shop-z", "name": "Z"}, headers=headers)
        ).status_code == 409
        assert (
            await client.post("/admin/tenants", json={"slug": "Bad Slug", "name": "Z"}, headers=headers)
        ).status_code == 422
        no_csrf = await client.post("/admin/tenants", json={"slug": "shop-w", "name": "W"})
        assert no_csrf.status_code == 403

        changed = await client.patch(
            "/admin/tenants/shop-z",
            json={"name": "Shop Zed", "branding": {"title": "Zed"}, "messages_per_minute": 30},
            headers=headers,
        )
        assert changed.status_code == 200, changed.text
        assert (changed.json()["name"], changed.json()["branding"], changed.json()["messages_per_minute"]) == (
            "Shop Zed", {"title": "Zed"}, 30,
        )  # fmt: skip
        wrong_language = await client.patch("/admin/tenants/shop-z", json={"default_language": "es"}, headers=headers)
        assert wrong_language.status_code == 422
        assert (await client.get("/admin/tenants/nope")).status_code == 404

        channel = {"kind": "whatsapp", "address": "+14155550177", "account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}
        added = await client.post("/admin/tenants/shop-z/channels", json=channel, headers=headers)
        assert added.status_code == 201, added.text
        assert added.json()["hints"] == {"auth_token": "…9f3e"} and AUTH_TOKEN not in added.text
        again = await client.post("/admin/tenants/default/channels", json=channel, headers=headers)
        assert again.status_code == 409, "an address names one channel: it is how a message finds its shop"
        no_secret = {k: v for k, v in channel.items() if k != "auth_token"} | {"address": "+14155550178"}
        assert (await client.post("/admin/tenants/shop-z/channels", json=no_secret, headers=headers)).status_code == 422
        shown = await client.get("/admin/tenants/shop-z")
        assert shown.status_code == 200 and AUTH_TOKEN not in shown.text
        assert [c["address"] for c in shown.json()["channels"]] == ["+14155550177"]
        listed: list[dict[str, Any]] = (await client.get("/admin/tenants")).json()
        assert [t["slug"] for t in listed] == ["default", "shop-z"]
        month = await client.get("/admin/tenants/shop-z/stats")
        assert month.status_code == 200, month.text
        assert (month.json()["slug"], month.json()["messages"], month.json()["messages_per_minute"]) == (
            "shop-z",
            0,
            30,
        )
        assert (await client.get("/admin/tenants/nope/stats")).status_code == 404

        removed = await client.delete("/admin/tenants/shop-z/channels/whatsapp/+14155550177", headers=headers)
        assert removed.status_code == 204
        assert (await client.post("/admin/tenants/shop-z/disable", headers=headers)).json()["disabled_at"]
        assert (await client.post("/admin/tenants/default/disable", headers=headers)).status_code == 409
        assert (await client.delete("/admin/tenants/shop-z", headers=headers)).status_code == 200
        assert (await client.get("/admin/tenants/shop-z")).status_code == 404
