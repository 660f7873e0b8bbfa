"""The chat page in a real headless Chromium (Debian's `chromium`, driven by Playwright)."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import settings_for
from tests.test_channels import serving

pytestmark = pytest.mark.slow


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); the /ui browser test needs it")
    return path


async def test_chat_page_sends_a_message_and_shows_the_reply(postgres_url: str) -> None:
    from playwright.async_api import async_playwright

    executable = chromium_path()
    async with serving(settings_for(postgres_url)) as client, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.goto(f"{client.base_url}/ui")
            await page.fill("#user", "+34600100001")
            await page.fill("#text", "¿dónde está mi pedido?")
            await page.click("#go")
            reply = page.locator(".msg.bot")
            await reply.wait_for(timeout=30_000)
            text = await reply.inner_text()
            assert "A1007" in text and "entregado" in text
            assert await page.locator(".msg.customer").inner_text() == "¿dónde está mi pedido?"
        finally:
            await browser.close()
