"""A customer on /ui, in a real headless Chromium, has the demo shop act for them: verified with the
dev mailbox's one-time code, they cancel a pending order, return a delivered lamp to their gift card
and change a sheet set's size before it ships — each only after their yes. `carebot orders show`
prints the result, and the operator app's transcript shows each action as a line.

Screenshots go to tmp_path and /tmp/action-shots/ for people to look at."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import BIN, REPO, settings_for
from tests.test_browser import chromium_path
from tests.test_channels import serving
from tests.test_operator_actions_browser import shoot
from tests.test_operator_inbox import PASSWORD, add_operator
from tests.test_trust import mailbox_codes

pytestmark = pytest.mark.slow

SAM = "sam.taylor@example.com"  # the demo's customer with orders to act on (README, "Two commands")


async def say(page: Any, text: str, replies: int) -> str:
    """Send `text` on /ui and return the bot's reply (the `replies`-th of the conversation)."""
    await page.fill("#text", text)
    await page.click("#go")
    reply = page.locator(".msg.bot").nth(replies - 1)
    await reply.wait_for(timeout=30_000)
    return str(await reply.inner_text())


def order_shown(database_url: str, number: str) -> dict[str, Any]:
    """`carebot orders show NUMBER --json`, as ops would run it."""
    env = {**os.environ, "DATABASE_URL": database_url}
    done = subprocess.run(
        [str(BIN / "carebot"), "orders", "show", number, "--json"], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


async def test_a_customer_on_the_web_chat_has_orders_changed_after_saying_yes(
    empty_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    executable = chromium_path()
    settings = settings_for(empty_database_url, seed_demo_data=True)
    async with serving(settings) as client, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 900, "height": 1000})
            await page.goto(f"{client.base_url}/ui")
            asked = await say(page, "hi, I'd like to cancel my order A3001, I don't need it anymore", 1)
            assert "verify" in asked
            await say(page, SAM, 2)  # the code goes to the address on file
            (code,) = await mailbox_codes(empty_database_url, SAM)
            proposed = await say(page, code, 3)
            assert "A3001" in proposed and "yes" in proposed and "refunded" in proposed
            assert order_shown(empty_database_url, "A3001")["status"] == "pending"  # nothing before the yes
            assert (await say(page, "yes please", 4)).startswith("Done")

            proposed = await say(page, "I also want to return the lamp from A3003, refund to my gift card", 5)
            assert "A3003" in proposed and "gift card" in proposed.lower()
            assert (await say(page, "yes", 6)).startswith("Done")

            asked = await say(page, "can you change the sheet set on A3002 to king size?", 7)
            assert "10.00 USD more" in asked and "pay the difference" in asked, asked  # king costs more
            proposed = await say(page, "with my card", 8)
            assert "A3002" in proposed and "king" in proposed.lower(), proposed
            assert (await say(page, "yep go ahead", 9)).startswith("Done")
            await shoot(page, tmp_path, "customer-actions-ui")

            cancelled, returned, changed = (order_shown(empty_database_url, n) for n in ("A3001", "A3003", "A3002"))
            assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "no longer needed")
            assert [p["kind"] for p in cancelled["payments"]] == ["payment", "refund"]
            with psycopg.connect(empty_database_url) as conn:
                gift_card = conn.execute(
                    "SELECT m.id FROM payment_methods m JOIN customers c ON c.id = m.customer_id"
                    " WHERE c.email = %s AND m.kind = 'gift_card'",
                    (SAM,),
                ).fetchone()
            assert gift_card is not None
            assert returned["status"] == "return_requested" and returned["return"]["refund_to"] == gift_card[0]
            assert changed["items_changed"] and any(i["options"].get("size") == "king" for i in changed["items"])
            for order in (cancelled, returned, changed):
                assert [(a["by"], a["kind"]) for a in order["actions"]] == [("bot", order["actions"][0]["kind"])]

            with psycopg.connect(empty_database_url) as conn:
                row = conn.execute("SELECT thread_id FROM inbox ORDER BY id DESC LIMIT 1").fetchone()
            assert row is not None
            operator = await add_operator(settings, name="Ana")
            admin = await browser.new_page(viewport={"width": 1280, "height": 900})
            await admin.goto(f"{client.base_url}/admin/login")
            await admin.fill("input[name=email]", operator)
            await admin.fill("input[name=password]", PASSWORD)
            await admin.click("button[type=submit]")
            await admin.wait_for_url(f"{client.base_url}/admin")
            await admin.goto(f"{client.base_url}/admin#/conversations/{row[0]}")
            transcript = admin.locator(".transcript, .messages, main").first
            for number in ("A3001", "A3003", "A3002"):
                await admin.get_by_text(f"Order {number}", exact=False).first.wait_for(timeout=15_000)
            await shoot(admin, tmp_path, "operator-transcript-actions")
            assert "by the bot" in await transcript.inner_text()
        finally:
            await browser.close()
