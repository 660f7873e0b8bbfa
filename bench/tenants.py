"""A second shop on the same deployment (`--tenants 2`): P1's users and P2's senders are split
between the default shop (the old URLs) and this one (its own WhatsApp number, Twilio account and
token at `/webhooks/whatsapp/{slug}`, its web chat site key), made as an operator makes one, with
`carebot tenants add`, `carebot tenants channel-add` and `carebot kb ingest --tenant` (the demo
shop's help centre, so both shops answer the same questions the same way)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.processes import CAREBOT, REPO, wall_time
from bench.whatsapp import ACCOUNT_SID, AUTH_TOKEN, BOT_NUMBER, WEBHOOK_PATH


@dataclass(frozen=True)
class Shop:
    """How a bench client reaches one shop."""

    slug: str | None
    """None: the default shop, at the old URLs."""
    number: str
    account_sid: str
    auth_token: str
    site_key: str | None

    @property
    def webhook_path(self) -> str:
        return f"{WEBHOOK_PATH}/{self.slug}" if self.slug else WEBHOOK_PATH


DEFAULT_SHOP = Shop(slug=None, number=BOT_NUMBER, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, site_key=None)
SECOND_SHOP = Shop(
    slug="bench-two",
    number="whatsapp:+14155238887",
    account_sid="AC" + "c" * 32,
    auth_token="bench-twilio-token-two",
    site_key="bench-two-site",
)


def shops(tenants: int) -> tuple[Shop, ...]:
    return (DEFAULT_SHOP, SECOND_SHOP)[: max(1, min(tenants, 2))]


async def add_second_shop(env: Mapping[str, str], workdir: Path) -> None:
    """The second shop in the database `env` names, through the CLI (before the app starts)."""
    shop = SECOND_SHOP
    assert shop.slug is not None and shop.site_key is not None
    commands = [
        ["tenants", "add", shop.slug, "--name", "Bench Two", "--currency", "USD"],
        ["tenants", "channel-add", shop.slug, "whatsapp", shop.number.removeprefix("whatsapp:"),
         "--account-sid", shop.account_sid, "--auth-token", shop.auth_token],
        ["tenants", "channel-add", shop.slug, "web", shop.site_key],
    ]  # fmt: skip
    commands += [
        ["kb", "ingest", str(REPO / "carebot" / "demo" / "help_centre" / language), "--language", language]
        for language in ("en", "id", "es")
    ]
    for command in commands:
        in_shop = {"CAREBOT_TENANT": shop.slug} if command[0] == "kb" else {}
        await wall_time([CAREBOT, *command], env={**env, **in_shop}, cwd=workdir)
