"""The operator app across shops in a real headless Chromium: an operator of shop A sees A's
conversation and nothing of B anywhere on the page (inbox, conversation, customer card, stats);
an operator of both picks B in the header's tenant picker and sees B's, with A gone, and their
other tab, still on A, follows into B by itself. Screenshots
go to tmp_path and /tmp/inbox-shots/ (names starting with "tenants-")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_browser import chromium_path
from tests.test_operator_browser import shoot
from tests.test_operator_inbox import PASSWORD, shop
from tests.test_operator_tenants import SeededShop, add_operator, seed_shop

pytestmark = pytest.mark.slow


async def nothing_of(page: Any, other: SeededShop) -> None:
    """No trace of the other shop anywhere in the page: text, attributes (thread ids), title."""
    html = (await page.content()).lower()
    for trace in (other.marker.lower(), str(other.tenant), other.slug):
        assert trace not in html, f"{trace} is on the page"


async def sign_in(page: Any, base_url: str, email: str) -> None:
    await page.goto(f"{base_url}/admin")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base_url}/admin")


async def test_an_operator_sees_only_their_shop_and_one_of_two_shops_switches(
    postgres_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    executable = chromium_path()
    a, b = await seed_shop(postgres_url, "a"), await seed_shop(postgres_url, "b")
    async with shop(postgres_url) as (client, _twilio, settings), async_playwright() as playwright:
        ana = await add_operator(settings, "Ana", (a, "agent"))
        dewi = await add_operator(settings, "Dewi", (a, "admin"), (b, "agent"))
        base = str(client.base_url)
        browser = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            problems: list[str] = []

            async def new_page(width: int = 1280, height: int = 800) -> Any:
                context = await browser.new_context(viewport={"width": width, "height": height})
                page = await context.new_page()
                page.on("pageerror", lambda e: problems.append(str(e)))
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                return page

            # Ana works in A only: A's name in the header, no picker, nothing of B anywhere.
            page = await new_page()
            await sign_in(page, base, ana)
            item = page.locator(f'.conversation-item[data-id="{a.thread}"]')
            await expect(item).to_contain_text(f"{a.marker} Customer")
            await expect(page.locator("#shop")).to_have_text(a.name)
            await expect(page.locator("#shop-picker")).to_have_count(0)
            await expect(page.locator(".conversation-item")).to_have_count(1)
            await nothing_of(page, b)
            await shoot(page, tmp_path, "tenants-a-inbox")
            await item.click()
            await expect(page.locator(".msg-customer").first).to_contain_text(f"{a.marker} where is my parcel?")
            await expect(page.locator(".customer-card")).to_contain_text(f"{a.marker} Customer")
            await nothing_of(page, b)
            await shoot(page, tmp_path, "tenants-a-conversation")
            await page.click("a[data-nav=stats]")
            await expect(page.locator(".cards .card").first).to_be_visible()
            await nothing_of(page, b)
            await shoot(page, tmp_path, "tenants-a-stats")
            await page.context.close()

            # Dewi works in both: the picker lists both; picking one reloads the inbox in it.
            page = await new_page()
            await sign_in(page, base, dewi)
            picker = page.locator("#shop-picker")
            await expect(picker.locator("option")).to_have_count(2)
            await picker.select_option(a.slug)
            await expect(page.locator(f'.conversation-item[data-id="{a.thread}"]')).to_be_visible()
            await expect(page.locator("#shop-picker")).to_have_value(a.slug)
            await expect(page.locator(".conversation-item")).to_have_count(1)
            await expect(page).to_have_title(f"{a.name} — Customer inbox")
            await shoot(page, tmp_path, "tenants-both-in-a")

            # A second tab of the same browser, on A: when the first picks B, it follows by itself.
            other_tab = await page.context.new_page()
            other_tab.on("pageerror", lambda e: problems.append(str(e)))
            await other_tab.goto(f"{base}/admin")
            await expect(other_tab.locator(f'.conversation-item[data-id="{a.thread}"]')).to_be_visible()
            await expect(other_tab.locator(".live.on")).to_be_visible()

            await page.locator("#shop-picker").select_option(b.slug)
            b_item = page.locator(f'.conversation-item[data-id="{b.thread}"]')
            await expect(b_item).to_contain_text(f"{b.marker} Customer")
            await expect(page.locator(".conversation-item")).to_have_count(1)
            await expect(page.locator("#shop-picker")).to_have_value(b.slug)
            await b_item.click()
            await expect(page.locator(".customer-card")).to_contain_text(f"{b.marker} Customer")
            await expect(page.locator(".customer-card")).to_contain_text(b.order)
            # Apart from the picker's own option naming A, nothing of A is on the page.
            await page.locator("#shop-picker option", has_text=a.name).evaluate("o => o.remove()")
            await nothing_of(page, a)
            await shoot(page, tmp_path, "tenants-both-in-b")
            await expect(other_tab.locator("#shop-picker")).to_have_value(b.slug, timeout=30_000)
            await expect(other_tab.locator(f'.conversation-item[data-id="{b.thread}"]')).to_be_visible()
            await expect(other_tab.locator(f'.conversation-item[data-id="{a.thread}"]')).to_have_count(0)

            # A phone: the shop's picker stays in the header.
            phone = await new_page(390, 844)
            await sign_in(phone, base, dewi)  # the shop used last: B
            await expect(phone.locator("#shop-picker")).to_have_value(b.slug)
            await expect(phone.locator("#shop-picker")).to_be_visible()
            await expect(phone.locator(f'.conversation-item[data-id="{b.thread}"]')).to_be_visible()
            await shoot(phone, tmp_path, "tenants-phone")
            assert problems == []
        finally:
            await browser.close()
