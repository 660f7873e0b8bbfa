"""Third parties on loopback: an OpenAI-compatible chat model that answers every call after a fixed
delay, and Twilio's Messages API recording what the app sends. Both are asyncio servers (aiohttp),
so they hold hundreds of slow requests at once without becoming the bottleneck."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# What the classify step's structured output (carebot/models/llm.py ClassificationOutput) must
# hold: a shipping question goes through retrieve and generate, so a turn costs two model calls.
CLASSIFICATION = {"intent": "shipping", "language": "en", "sentiment": 0.0, "confidence": 0.95, "order_number": None}
ANSWER = "Standard shipping takes 3 to 5 business days.\n\nSource: Shipping"


@asynccontextmanager
async def serving(routes: list[web.RouteDef]) -> AsyncIterator[str]:
    """An aiohttp app on a free loopback port; yields its base URL."""
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    # A burst of hundreds of connections must not be refused by a short listen queue.
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@dataclass
class SlowModel:
    """Chat completions after `delay` seconds: JSON matching the classify schema when asked for
    structured output (`response_format`), a plain answer otherwise."""

    delay: float
    calls: int = 0
    in_flight: int = 0
    most_in_flight: int = 0

    async def complete(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)  # the model thinking: the delay is what is being simulated
        finally:
            self.in_flight -= 1
        content = json.dumps(CLASSIFICATION) if "response_format" in body else ANSWER
        return web.json_response(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            }
        )

    def forget(self) -> None:
        """Count from here on (after a warm-up)."""
        self.calls = self.most_in_flight = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1/chat/completions", self.complete)]


@dataclass
class FakeTwilio:
    """Twilio's Messages API: accepts every send and records when each recipient first got one."""

    expected_recipients: int
    everyone_replied: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once `expected_recipients` distinct recipients got a message."""
    sends: int = 0
    first_reply_at: dict[str, float] = field(default_factory=dict)
    """Recipient (`whatsapp:+…`) → `time.monotonic()` of the first message sent to it."""

    async def create_message(self, request: web.Request) -> web.Response:
        form = await request.post()
        to, body = str(form.get("To", "")), str(form.get("Body", ""))
        self.sends += 1
        self.first_reply_at.setdefault(to, time.monotonic())
        if len(self.first_reply_at) >= self.expected_recipients:
            self.everyone_replied.set()
        sid = "SM" + uuid.uuid4().hex
        payload: dict[str, Any] = {"sid": sid, "status": "queued", "to": to, "from": form.get("From"), "body": body}
        return web.json_response(payload, status=201)

    def expect(self, recipients: int) -> None:
        """Forget what was sent so far (a warm-up) and wait for `recipients` new ones."""
        self.expected_recipients, self.sends = recipients, 0
        self.first_reply_at.clear()
        self.everyone_replied.clear()

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/2010-04-01/Accounts/{account}/Messages.json", self.create_message)]
