"""The operator web app at /admin in a real headless Chromium: sign in, open a waiting
conversation, take it over, reply (the fake Twilio receives it), and see the customer's next
message arrive without reloading; the stats page and a phone-sized screen too. Screenshots go
to tmp_path and /tmp/inbox-shots/ for people to look at."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest

from carebot.db.scope import DEFAULT_TENANT_ID
from tests.test_browser import chromium_path
from tests.test_channels import ALEX, post_signed, sid, twilio_form, wait_for
from tests.test_operator_inbox import PASSWORD, add_operator, inbox_settled, new_phone, shop, until, whatsapp_thread

pytestmark = pytest.mark.slow

SHOTS = Path("/tmp/inbox-shots")
TEMPLATES = {"order_update": "HX" + "b" * 32}


def keep(path: Path) -> None:
    """A copy where the team can look at it after the test's tmp_path is gone."""
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


async def shoot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path))
    keep(path)


async def test_operator_answers_a_waiting_customer_and_sees_their_next_message_live(
    postgres_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    executable = chromium_path()
    async with (
        shop(postgres_url, whatsapp_templates=TEMPLATES) as (client, twilio, settings),
        async_playwright() as playwright,
    ):
        email = await add_operator(settings)
        # ALEX is a customer of the demo shop: the conversation shows who they are and their orders.
        thread = whatsapp_thread(settings, ALEX)
        await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(9500), ALEX, "I want to talk to a human"))
        await wait_for(lambda: len(twilio.sent) == 1)
        await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(9501), ALEX, "My order A1001 is late"))
        # Someone the bot is answering on its own, for the other tabs.
        other = new_phone()
        await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(9502), other, "how long does shipping take?"))
        await wait_for(lambda: len(twilio.sent) == 2)
        await until(lambda: inbox_settled(postgres_url, thread, 2))

        browser = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            problems: list[str] = []  # script errors and CSP refusals would mean a broken page
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

            await page.goto(f"{client.base_url}/admin")
            assert page.url.endswith("/admin/login")  # signed out: the sign-in form
            await shoot(page, tmp_path, "sign-in")
            await page.fill("input[name=email]", email)
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{client.base_url}/admin")

            item = page.locator(f'.conversation-item[data-id="{thread}"]')
            await expect(item).to_contain_text("Waiting for you")
            await expect(item).to_contain_text("asked for a person")
            await expect(item.locator(".badge")).to_be_visible()  # unread since the hand-over
            await expect(page.locator(".live.on")).to_be_visible()
            await shoot(page, tmp_path, "inbox-desktop")

            await item.click()
            await expect(page.locator(".msg-customer").first).to_contain_text("I want to talk to a human")
            await expect(page.locator(".reason")).to_contain_text("the customer asked for a person")
            await expect(page.locator(".customer-card")).to_contain_text("A1001")
            await page.click("[data-action=takeover]")
            await expect(page.locator(".conversation-head .sub")).to_contain_text("You are answering")
            await expect(page.locator(".note").last).to_contain_text("took over")

            reply = "Hi, this is Ana. Your order A1001 ships today."
            await page.fill(".composer textarea", reply)
            await page.click(".composer button[type=submit]")
            await wait_for(lambda: len(twilio.sent) == 3)
            assert twilio.sent[2]["To"] == f"whatsapp:{ALEX}" and reply in twilio.sent[2]["Body"]
            await expect(page.locator(".msg-operator")).to_contain_text(reply)
            await expect(page.locator(".msg-operator .msg-meta")).to_contain_text("Sent")  # updated in place

            # The customer answers: it appears in the open conversation and the list, no reload.
            await page.evaluate("window.stillTheSamePage = true")
            await post_signed(client, "/webhooks/whatsapp", twilio_form(sid(9503), ALEX, "Great, thank you Ana!"))
            await expect(page.locator(".msg-customer").last.locator(".msg-text")).to_have_text("Great, thank you Ana!")
            await expect(item.locator(".item-text")).to_have_text("Great, thank you Ana!")
            await expect(item.locator(".badge")).to_have_count(0)  # read, since it is open
            assert await page.evaluate("window.stillTheSamePage") is True
            assert await page.locator(".msg-operator").count() == 1  # the status update did not duplicate it
            await shoot(page, tmp_path, "conversation-desktop")

            await page.click("a[data-nav=stats]")
            await expect(page.locator(".cards .card").first).to_be_visible()
            await expect(page.locator(".chart rect").first).to_be_attached()
            await expect(page.locator(".panel").filter(has_text="Why conversations were handed")).to_contain_text(
                "The customer asked for a person"
            )
            await shoot(page, tmp_path, "stats")

            # A phone: the list and the conversation take turns on one column.
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.reload()  # the stats page at a phone's width, from a fresh load
            await expect(page.locator(".panel").filter(has_text="What customers asked")).to_contain_text("Shipping")
            await shoot(page, tmp_path, "stats-phone")
            await page.click("a[data-nav=inbox]")
            await page.click(".tab[data-status=all]")
            # Other tests share the database: look for this test's two conversations among them.
            await expect(item).to_be_visible()
            await expect(
                page.locator(f'.conversation-item[data-id="{whatsapp_thread(settings, other)}"]')
            ).to_be_visible()
            await expect(page.locator("#conversation")).to_be_hidden()
            await shoot(page, tmp_path, "inbox-phone")
            await item.click()
            await expect(page.locator(".msg-customer").last).to_contain_text("Great, thank you Ana!")
            await expect(page.locator("#inbox")).to_be_hidden()
            await expect(page.locator(".back")).to_be_visible()
            await shoot(page, tmp_path, "conversation-phone")

            # WhatsApp's 24-hour window closes while the conversation is open: the refusal is
            # explained in plain words and an approved message goes out instead.
            await page.click(".back")
            await page.click(f'.conversation-item[data-id="{whatsapp_thread(settings, other)}"]')
            await expect(page.locator(".customer-card")).to_contain_text("not identified")
            async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
                # The change records an event, which belongs to the conversation's tenant.
                await conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(DEFAULT_TENANT_ID),))
                await conn.execute(
                    "UPDATE conversations SET last_customer_at = now() - interval '25 hours' WHERE thread_id = %s",
                    (whatsapp_thread(settings, other),),
                )
            await page.fill(".composer textarea", "Are you still there?")
            await page.click(".composer button[type=submit]")
            await expect(page.locator(".composer-error")).to_contain_text("more than 24 hours ago")
            await page.fill('.composer [data-var="1"]', "A1001")
            await page.click(".composer button[type=submit]")
            await wait_for(lambda: len(twilio.sent) == 4)
            assert twilio.sent[3]["ContentSid"] == TEMPLATES["order_update"]
            await expect(page.locator(".msg-operator").last).to_contain_text("Approved message “order update”: A1001")
            await expect(page.locator(".conversation-head .sub")).to_contain_text("You are answering")
            await expect(page.locator(".composer-error")).to_be_hidden()
            await shoot(page, tmp_path, "template-phone")
            # No script errors, CSP refusals or missing files: only the refusal the operator was shown.
            assert [p for p in problems if "409" not in p] == [] and any("/messages" in p for p in problems)
        finally:
            await browser.close()
