"""Conversations customers had with the offline model on /ui (issue 22), replayed in a real headless
Chromium: each reply must address what was asked, in a fresh visitor session per conversation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import settings_for
from tests.test_browser import chromium_path
from tests.test_channels import serving

pytestmark = pytest.mark.slow

# (name, [(message, words every one of which the reply must contain)], words no reply may contain)
CONVERSATIONS: list[tuple[str, list[tuple[str, list[str]]]]] = [
    (
        "shipping-follow-ups",
        [
            ("do you deliver to bali?", ["Indonesia"]),  # Bali is in Indonesia: the regions we deliver to
            ("how much is it?", ["5.99", "free"]),  # the same topic: shipping costs
            ("and how long?", ["working days"]),  # and delivery times
            ("ok and who pays return shipping?", ["return fee", "faulty"]),
        ],
    ),
    ("login", [("I can't log in to my account", ["Forgot password"])]),
    # Damaged on arrival: the policy and the next step (a photo within 48 hours), before any verification.
    ("damaged-es", [("me llegó la lámpara rota", ["foto", "48 horas"])]),
    (
        "missing-parcel-then-frustration",
        [
            ("my parcel says delivered but I never got it!!", ["neighbours", "within 7 days", "verify"]),
            ("this is ridiculous", ["sorry", "colleague"]),
        ],
    ),
    # Asked how to reach us: the contact page at once, and a person if they say yes.
    (
        "contact-then-person",
        [
            ("how do I get in touch with you?", ["Contact and opening hours", 'reply "yes"']),
            ("yes", ["passed", "colleague"]),
        ],
    ),
    (
        "order-number-instead-of-email",
        [
            ("where is my order?", ["email address or phone number"]),
            ("A1042", ["A1042", "still need", "email address or phone number"]),
        ],
    ),
]
NEVER = ["not sure I understood", "No estoy seguro", "not something I can help with"]


async def test_customer_conversations_get_replies_that_address_them(postgres_url: str, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    executable = chromium_path()
    async with serving(settings_for(postgres_url)) as client, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            for name, turns in CONVERSATIONS:
                context = await browser.new_context()  # a new visitor: a new session and thread
                page = await context.new_page()
                await page.goto(f"{client.base_url}/ui")
                for n, (text, wanted) in enumerate(turns, start=1):
                    await page.fill("#text", text)
                    await page.click("#go")
                    reply_box = page.locator(".msg.bot").nth(n - 1)
                    await reply_box.wait_for(timeout=30_000)
                    reply = await reply_box.inner_text()
                    missing = [w for w in wanted if w.casefold() not in reply.casefold()]
                    assert not missing, f"{name}: {text!r} → {reply!r} lacks {missing}"
                    assert not any(p.casefold() in reply.casefold() for p in NEVER), f"{name}: {text!r} → {reply!r}"
                await page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
                await context.close()
        finally:
            await browser.close()
