"""The chat page in a real headless Chromium (Debian's `chromium`, driven by Playwright)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import settings_for
from tests.test_channels import serving

pytestmark = pytest.mark.slow


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); the /ui browser test needs it")
    return path


async def test_chat_page_is_an_anonymous_session_that_shows_no_order_data(postgres_url: str, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    executable = chromium_path()
    async with serving(settings_for(postgres_url)) as client, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.goto(f"{client.base_url}/ui")
            assert await page.locator("#user").count() == 0  # no "You are" box: nobody is who they type
            for n, text in enumerate(["¿cuánto tarda el envío?", "¿dónde está mi pedido A1007?"], start=1):
                await page.fill("#text", text)
                await page.click("#go")
                await page.locator(".msg.bot").nth(n - 1).wait_for(timeout=30_000)
            replies = await page.locator(".msg.bot").all_inner_texts()
            await page.screenshot(path=str(tmp_path / "chat.png"))
            assert "días laborables" in replies[0]
            # An anonymous visitor is asked to verify, and sees nothing of the order.
            assert "código" in replies[1] and "Blue lounge chair" not in replies[1]
            cookies = await page.context.cookies()
            session = next(c for c in cookies if c["name"] == "carebot_session")
            assert session["httpOnly"]
        finally:
            await browser.close()
