"""Sending replies: Twilio's REST API (through the twilio SDK) and Discord's interaction webhooks.

Both raise `TransientSendError` for what may pass on a retry (network, timeout, 429, 5xx) and
`PermanentSendError` for what will not (e.g. Twilio 63016, outside the 24-hour window).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from carebot.settings import Settings

# Twilio stamps DateSent with its own clock: look a little before our attempt started.
_CLOCK_SKEW = timedelta(minutes=2)


class SendError(Exception):
    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class TransientSendError(SendError):
    """Worth retrying with backoff."""

    def __init__(self, message: str, *, code: str | None = None, outcome_unknown: bool = False) -> None:
        super().__init__(message, code=code)
        self.outcome_unknown = outcome_unknown
        """The provider may have taken the message (a timeout): check before sending it again."""


class PermanentSendError(SendError):
    """Recorded and logged, never retried."""


class Sender(Protocol):
    async def send(self, *, recipient: str, body: str, part: int, payload: dict[str, Any]) -> str | None:
        """Deliver one message; return the provider's id for it, if it has one."""
        ...

    async def find_sent(
        self, *, recipient: str, body: str, part: int, payload: dict[str, Any], since: datetime
    ) -> str | None:
        """The provider's id of this message if an earlier attempt, whose answer was lost, did
        send it (None if it did not). Providers without idempotency keys need this to avoid copies."""
        ...

    async def aclose(self) -> None: ...


class TwilioSender:
    """WhatsApp messages through Twilio's Messages API (the SDK's async client)."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        whatsapp_from: str | None,
        messaging_service_sid: str | None,
        api_base_url: str | None = None,
        status_callback: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        from twilio.http.async_http_client import AsyncTwilioHttpClient
        from twilio.rest import Client

        if not (whatsapp_from or messaging_service_sid):
            raise ValueError("set TWILIO_WHATSAPP_FROM or TWILIO_MESSAGING_SERVICE_SID to send WhatsApp replies")
        self._http = AsyncTwilioHttpClient()
        self._client = Client(account_sid, auth_token, http_client=self._http)
        if api_base_url:
            self._client.api.base_url = api_base_url.rstrip("/")
        sender = {"messaging_service_sid": messaging_service_sid} if messaging_service_sid else {}
        if not sender:
            prefix = "" if (whatsapp_from or "").startswith("whatsapp:") else "whatsapp:"
            sender = {"from_": f"{prefix}{whatsapp_from}"}
        self._sender = sender
        self._status_callback = status_callback
        self._timeout = timeout

    async def send(self, *, recipient: str, body: str, part: int, payload: dict[str, Any]) -> str | None:
        from aiohttp import ClientError
        from twilio.base.exceptions import TwilioRestException

        extra: dict[str, Any] = {"status_callback": self._status_callback} if self._status_callback else {}
        if template := payload.get("template"):
            # An approved template (outside the 24-hour window): Twilio fills it, no free text.
            extra |= {"content_sid": template["sid"], "content_variables": json.dumps(template["variables"])}
        else:
            extra["body"] = body
        try:
            message = await asyncio.wait_for(
                self._client.messages.create_async(to=recipient, **self._sender, **extra),
                self._timeout,
            )
        except TwilioRestException as exc:
            code = str(exc.code) if exc.code else None
            error = TransientSendError if exc.status == 429 or exc.status >= 500 else PermanentSendError
            raise error(f"Twilio answered {exc.status}: {exc.msg}", code=code) from exc
        except TimeoutError as exc:
            raise TransientSendError("Twilio did not answer in time", outcome_unknown=True) from exc
        except (ClientError, OSError) as exc:
            raise TransientSendError(f"Twilio unreachable ({type(exc).__name__})") from exc
        return str(message.sid)

    async def find_sent(
        self, *, recipient: str, body: str, part: int, payload: dict[str, Any], since: datetime
    ) -> str | None:
        """Twilio has no idempotency key: list what went to the recipient since the attempt and
        match the body (PROTOCOLS.md, "Twilio Messages have no idempotency key"). A template's
        text is Twilio's to fill in, so it cannot be matched: it may be sent again."""
        from aiohttp import ClientError
        from twilio.base.exceptions import TwilioRestException

        try:
            messages = await asyncio.wait_for(
                self._client.messages.list_async(to=recipient, date_sent_after=since - _CLOCK_SKEW, limit=50),
                self._timeout,
            )
        except TwilioRestException as exc:
            raise TransientSendError(f"Twilio answered {exc.status} to a lookup", outcome_unknown=True) from exc
        except (ClientError, TimeoutError, OSError) as exc:
            raise TransientSendError(f"Twilio lookup failed ({type(exc).__name__})", outcome_unknown=True) from exc
        if payload.get("template"):
            return None
        return next((str(m.sid) for m in messages if m.body == body), None)

    async def aclose(self) -> None:
        await self._http.close()


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


def build_senders(settings: Settings) -> dict[str, Sender]:
    """The senders the settings configure (WhatsApp needs Twilio credentials and a sender)."""
    senders: dict[str, Sender] = {}
    if settings.twilio_account_sid and settings.twilio_auth_token:
        callback = (
            f"{settings.public_base_url.rstrip('/')}/webhooks/whatsapp/status" if settings.public_base_url else None
        )
        senders["whatsapp"] = TwilioSender(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            whatsapp_from=settings.twilio_whatsapp_from,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            api_base_url=settings.twilio_api_base_url,
            status_callback=callback,
            timeout=settings.send_timeout,
        )
    if settings.discord_application_id:
        senders["discord"] = DiscordSender(api_base_url=settings.discord_api_base_url, timeout=settings.send_timeout)
    if settings.handoff_webhook_url:
        senders["webhook"] = WebhookSender(timeout=settings.send_timeout)
    return senders
