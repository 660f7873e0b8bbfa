"""Acting on orders in the operator app, in a real headless Chromium: open a conversation, open
an action from the customer card, check the change, confirm it in the dialog and see the action
line in the transcript; a refusal explained in the dialog; the stats page's actions. Screenshots
go to tmp_path and /tmp/action-shots/ for people to look at."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.test_browser import chromium_path
from tests.test_channels import wait_for
from tests.test_operator_actions import TinyShop, conversation_with, order_state
from tests.test_operator_inbox import PASSWORD, add_operator, shop

pytestmark = pytest.mark.slow

SHOTS = Path("/tmp/action-shots")


def keep(path: Path) -> None:
    """A copy where the team can look at it after the test's tmp_path is gone."""
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


async def shoot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path))
    keep(path)


async def test_an_operator_cancels_and_changes_orders_through_the_card(empty_database_url: str, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    executable = chromium_path()
    tiny = TinyShop()
    await tiny.load(empty_database_url)
    async with shop(empty_database_url) as (client, twilio, settings), async_playwright() as playwright:
        email = await add_operator(settings, name="Dewi")
        thread = await conversation_with(client, settings, tiny, 9701)
        await wait_for(lambda: len(twilio.sent) == 1)  # the bot's word that a person will answer
        browser = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 860})
            problems: list[str] = []  # script errors and CSP refusals would mean a broken page
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

            await page.goto(f"{client.base_url}/admin/login")
            await page.fill("input[name=email]", email)
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{client.base_url}/admin")
            await page.click(f'.conversation-item[data-id="{thread}"]')
            card = page.locator(".customer-card")
            await expect(card).to_contain_text("Sam Taylor")
            pending = card.locator(f'[data-order="{tiny.pending}"]')
            await expect(pending.locator("[data-order-action]")).to_have_text(
                ["Cancel the order", "Change the address"]
            )
            await expect(card.locator(f'[data-order="{tiny.shipped}"] [data-order-action]')).to_have_count(0)

            # Cancel: pick the reason, check the change, confirm it.
            await pending.locator("[data-order-action=cancel]").click()
            dialog = page.locator("dialog.action-dialog")
            await expect(dialog).to_be_visible()
            await dialog.locator("select[name=reason]").select_option("ordered by mistake")
            await dialog.locator("[data-step=check]").click()
            summary = f"Order {tiny.pending} cancelled (ordered by mistake) — refund 39.00 USD to Visa ending 4242"
            await expect(dialog.locator(".preview-summary")).to_have_text(summary)
            await expect(dialog.locator(".preview-facts")).to_contain_text("pending → cancelled")
            assert (await order_state(empty_database_url, tiny.pending))["status"] == "pending"
            await shoot(page, tmp_path, "cancel-preview")
            await dialog.locator("[data-step=confirm]").click()
            await expect(dialog).to_have_count(0)
            await expect(page.locator(".note-action").last.locator("span")).to_have_text(f"{summary} · by {email}")
            await expect(pending.locator(".order-status")).to_have_text("cancelled")
            await expect(pending.locator("[data-order-action]")).to_have_count(0)
            assert (await order_state(empty_database_url, tiny.pending))["status"] == "cancelled"
            await shoot(page, tmp_path, "cancel-done")

            # Change an item: the lamp to black costs 10.00 more, paid with the card.
            lamp = card.locator(f'[data-order="{tiny.lamp}"]')
            await lamp.locator("[data-order-action=change_items]").click()
            await dialog.locator("input[name=item]").check()
            await dialog.locator("select[name^=variant-]").select_option(label="black")
            await dialog.locator("select[name=payment_method_id]").select_option(label="Visa ending 4242")
            await dialog.locator("[data-step=check]").click()
            await expect(dialog.locator(".preview-summary")).to_have_text(
                f"Order {tiny.lamp} items changed: Oak desk lamp (white → black) — charge 10.00 USD to Visa ending 4242"
            )
            await expect(dialog.locator(".money")).to_contain_text("Charge 10.00 USD to Visa ending 4242")
            await shoot(page, tmp_path, "change-items-preview")
            await dialog.locator("[data-step=confirm]").click()
            await expect(page.locator(".note-action").last).to_contain_text("Oak desk lamp (white → black)")
            await expect(lamp.locator("[data-order-action=change_items]")).to_have_count(0)  # once per order

            # The order moves on while the dialog is open: the check says why it can't be done.
            await lamp.locator("[data-order-action=change_address]").click()
            await dialog.locator("input[name=line1]").fill("9 Elm Rd")
            async with await psycopg.AsyncConnection.connect(empty_database_url) as conn:
                await conn.execute("UPDATE orders SET status = 'shipped' WHERE number = %s", (tiny.lamp,))
            await dialog.locator("[data-step=check]").click()
            await expect(dialog.locator(".action-error")).to_have_text(
                "The shop's policy allows “change the address” only for orders that are pending or processing;"
                " this one is shipped."
            )
            await expect(dialog.locator("[data-step=confirm]")).to_be_disabled()
            await shoot(page, tmp_path, "refused")
            await dialog.locator("button.link").click()
            await expect(dialog).to_have_count(0)

            await page.click("a[data-nav=stats]")
            actions = page.locator(".panel").filter(has_text="Actions on orders")
            await expect(actions).to_contain_text("Orders cancelled")
            await expect(actions).to_contain_text("Items changed")
            await expect(page.locator(".panel").filter(has_text="Who did them")).to_contain_text(email)
            await expect(page.locator(".latest-actions")).to_contain_text(f"Order {tiny.pending}")
            await actions.scroll_into_view_if_needed()
            await shoot(page, tmp_path, "stats-actions")

            # A phone: the card and the dialog fit one column.
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.goto(f"{client.base_url}/admin#/conversations/{thread}")
            await page.reload()  # the conversation laid out for a phone, from a fresh load
            await page.locator(".customer-card summary").click()
            await card.locator(f'[data-order="{tiny.delivered}"] [data-order-action=return]').click()
            await dialog.locator("input[name=item]").check()
            await dialog.locator("select[name=refund_to]").select_option(label="Gift card (balance 20.00 USD)")
            await dialog.locator("[data-step=check]").click()
            await expect(dialog.locator(".preview-summary")).to_contain_text("refund 49.00 USD to Gift card")
            await shoot(page, tmp_path, "return-preview-phone")
            assert len(twilio.sent) == 1  # only the bot's hand-over message: actions message nobody
            assert [p for p in problems if "422" not in p] == [] and any("/actions/preview" in p for p in problems)
        finally:
            await browser.close()
