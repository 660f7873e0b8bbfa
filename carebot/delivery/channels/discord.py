"""Discord: answers to deferred `/chat` interactions, split under Discord's size limit; the shop
can write only while the interaction's token lives (15 minutes after the customer's command)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from carebot.delivery.channels.base import Channel, LatestContact, ReplyTarget
from carebot.delivery.channels.errors import CannotSend, PermanentSendError, TransientSendError
from carebot.delivery.channels.formatting import split_message

DISCORD_LIMIT = 2000
# A Discord interaction token lets the app post for 15 minutes after the customer's command.
DISCORD_REPLY_WINDOW = timedelta(minutes=15)


class DiscordChannel(Channel):
    name: ClassVar[str] = "discord"
    consent_words = True

    def reply_parts(self, text: str) -> list[str]:
        return split_message(text, DISCORD_LIMIT)

    def reply_target(self, contact: LatestContact, *, free_text: bool) -> ReplyTarget | None:
        payload, received = contact.last_payload, contact.last_received_at
        if "token" not in payload or received is None or contact.now - received > DISCORD_REPLY_WINDOW:
            raise CannotSend("Discord lets the app answer only within 15 minutes of the customer's last /chat command")
        # Part 0 of a bot answer edits the "thinking…" message; a message the shop starts follows it.
        return ReplyTarget(
            contact.sender,
            {"application_id": payload["application_id"], "token": payload["token"], "followup": True},
        )


class DiscordSender:
    """Answers to deferred `/chat` interactions: the first part edits the "thinking…" message,
    the rest are follow-ups."""

    def __init__(
        self, *, api_base_url: str, timeout: float = 15.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._client = httpx.AsyncClient(base_url=api_base_url.rstrip("/"), timeout=timeout, transport=transport)

    async def send(self, *, recipient: str, body: str, part: int, payload: dict[str, Any]) -> str | None:
        if "token" not in payload:
            raise PermanentSendError("the Discord interaction token expired (15 minutes) before the answer went out")
        hook = f"/webhooks/{payload['application_id']}/{payload['token']}"
        try:
            if part == 0 and not payload.get("followup"):
                response = await self._client.patch(f"{hook}/messages/@original", json={"content": body})
            else:
                response = await self._client.post(hook, json={"content": body})
        except httpx.TimeoutException as exc:
            raise TransientSendError("Discord did not answer in time", outcome_unknown=True) from exc
        except httpx.HTTPError as exc:
            raise TransientSendError(f"Discord unreachable ({type(exc).__name__})") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientSendError(f"Discord answered {response.status_code}", code=str(response.status_code))
        if response.is_error:
            raise PermanentSendError(f"Discord answered {response.status_code}: {response.text[:200]}")
        message_id = response.json().get("id") if response.content else None
        return str(message_id) if message_id else None

    async def find_sent(
        self, *, recipient: str, body: str, part: int, payload: dict[str, Any], since: datetime
    ) -> str | None:
        """Part 0 edits the interaction's original message, which is safe to repeat; a follow-up
        is looked for among none (Discord lists no follow-ups), so it may repeat after a timeout."""
        return None

    async def aclose(self) -> None:
        await self._client.aclose()
