"""The team's hand-over webhook (Slack-compatible): notifications go through the outbox like any
outbound message, on an outbox "channel" of their own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from carebot.delivery.channels.errors import PermanentSendError, TransientSendError

WEBHOOK_CHANNEL = "webhook"


class WebhookSender:
    """Hand-over notifications to the team's webhook (Slack-compatible): the body is the JSON."""

    def __init__(self, *, timeout: float = 15.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def send(self, *, recipient: str, body: str, part: int, payload: dict[str, Any]) -> str | None:
        try:
            response = await self._client.post(
                recipient, content=body.encode(), headers={"Content-Type": "application/json"}
            )
        except httpx.TimeoutException as exc:
            raise TransientSendError("the hand-over webhook did not answer in time", outcome_unknown=True) from exc
        except httpx.HTTPError as exc:
            raise TransientSendError(f"the hand-over webhook is unreachable ({type(exc).__name__})") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientSendError(f"the hand-over webhook answered {response.status_code}")
        if response.is_error:
            raise PermanentSendError(f"the hand-over webhook answered {response.status_code}: {response.text[:200]}")
        return None

    async def find_sent(
        self, *, recipient: str, body: str, part: int, payload: dict[str, Any], since: datetime
    ) -> str | None:
        """A webhook cannot be asked what it received: a notification may come twice, never not at all."""
        return None

    async def aclose(self) -> None:
        await self._client.aclose()
