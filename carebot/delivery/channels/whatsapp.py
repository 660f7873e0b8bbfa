"""WhatsApp through Twilio: answers formatted as WhatsApp shows them and split under its size
limit, free text only within 24 hours of the customer's last message (approved templates after
that), STOP/START honoured, trigger words on a shared number, and Twilio's delivery receipts."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from typing import Any, ClassVar

from carebot.db.pool import Pool
from carebot.db.scope import DEFAULT_TENANT_ID, current_tenant
from carebot.delivery.channels.base import Channel, LatestContact, ReplyTarget
from carebot.delivery.channels.errors import CannotSend, PermanentSendError, TransientSendError
from carebot.delivery.channels.formatting import split_message, to_whatsapp
from carebot.tenants.registry import Channel as TenantChannel
from carebot.tenants.registry import TenantRegistry

log = logging.getLogger(__name__)

# WhatsApp accepts free text only within 24 hours of the customer's last message.
WHATSAPP_WINDOW = timedelta(hours=24)
WHATSAPP_LIMIT = 1600
# Twilio stamps DateSent with its own clock: look a little before our attempt started.
_CLOCK_SKEW = timedelta(minutes=2)
# Twilio's statuses in the order a message goes through them. Callbacks can arrive out of order
# (a late "sent" after "delivered"): a status only ever moves forward.
_PROGRESS = ["accepted", "scheduled", "queued", "sending", "sent", "delivered", "read"]
_FINAL = ["failed", "undelivered", "canceled"]


class WhatsAppChannel(Channel):
    name: ClassVar[str] = "whatsapp"
    consent_words = True
    trigger_words = True
    templates = True
    send_error_event = "twilio_send_error"

    def reply_parts(self, text: str) -> list[str]:
        return split_message(to_whatsapp(text), WHATSAPP_LIMIT)

    def window_closes_at(self, last_customer_at: datetime | None) -> datetime | None:
        return last_customer_at + WHATSAPP_WINDOW if last_customer_at is not None else None

    def reply_target(self, contact: LatestContact, *, free_text: bool) -> ReplyTarget | None:
        closes = self.window_closes_at(contact.last_customer_at)
        if free_text and (closes is None or contact.now > closes):
            raise CannotSend(
                "WhatsApp only delivers free text within 24 hours of the customer's last message: "
                "send an approved template instead"
            )
        # From the shop's number the customer last wrote to (a tenant may have several).
        via = contact.last_payload.get("via")
        return ReplyTarget(contact.sender, {"reply_to": contact.sender} | ({"via": via} if via else {}))


async def record_delivery_status(pool: Pool, provider_id: str, status: str, error_code: str | None) -> None:
    """Twilio's status for a sent message (queued → sent → delivered → read, or failed/undelivered)."""
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE outbox SET status = %(status)s, error_code = coalesce(%(code)s, error_code), updated_at = now()"
            " WHERE provider_id = %(sid)s AND NOT status = ANY(%(final)s)"
            " AND coalesce(array_position(%(progress)s, status), 0)"
            " < coalesce(array_position(%(progress)s, %(status)s),"
            " CASE WHEN %(status)s = ANY(%(final)s) THEN 1000 END)",
            {"status": status, "code": error_code, "sid": provider_id, "progress": _PROGRESS, "final": _FINAL},
        )
    if status in ("failed", "undelivered"):
        log.error("twilio_send_error", extra={"provider_id": provider_id, "status": status, "error_code": error_code})


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


class TenantTwilioSenders:
    """WhatsApp messages through the Twilio account of the shop the running job works for: from
    the tenant's number the customer wrote to (the inbound payload's `via`), else its first
    number; the default tenant, written to at the old URL, keeps the deployment's TWILIO_* sender.

    One SDK client per channel, kept while its credentials stay the same (a changed token or
    number builds a new one on the next send)."""

    def __init__(
        self,
        tenants: TenantRegistry,
        *,
        deployment: TwilioSender | None,
        public_base_url: str | None,
        api_base_url: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self._tenants = tenants
        self._deployment = deployment
        self._public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self._api_base_url = api_base_url
        self._timeout = timeout
        self._senders: dict[int, tuple[tuple[str, ...], TwilioSender]] = {}
        self._retired: list[TwilioSender] = []

    async def send(self, *, recipient: str, body: str, part: int, payload: dict[str, Any]) -> str | None:
        sender = await self._sender(payload)
        return await sender.send(recipient=recipient, body=body, part=part, payload=payload)

    async def find_sent(
        self, *, recipient: str, body: str, part: int, payload: dict[str, Any], since: datetime
    ) -> str | None:
        sender = await self._sender(payload)
        return await sender.find_sent(recipient=recipient, body=body, part=part, payload=payload, since=since)

    async def aclose(self) -> None:
        senders = [s for _, s in self._senders.values()] + self._retired
        if self._deployment is not None:
            senders.append(self._deployment)
        for sender in senders:
            await sender.aclose()

    async def _sender(self, payload: dict[str, Any]) -> TwilioSender:
        tenant = current_tenant()
        via = payload.get("via")
        if via is None and tenant.id == DEFAULT_TENANT_ID and self._deployment is not None:
            return self._deployment  # the old single-shop path: no lookups
        channels = await self._tenants.channels(tenant.id, "whatsapp")
        channel = next((c for c in channels if c.address == via), None)
        if channel is None and tenant.id == DEFAULT_TENANT_ID and self._deployment is not None:
            return self._deployment
        channel = channel or (channels[0] if channels else None)
        if channel is None:
            raise PermanentSendError("this shop has no WhatsApp number configured (carebot tenants channels)")
        return await self._channel_sender(channel)

    async def _channel_sender(self, channel: TenantChannel) -> TwilioSender:
        account_sid = str(channel.config.get("account_sid") or "")
        token = (await self._tenants.secrets_of(channel)).get("auth_token", "")
        if not (account_sid and token):
            raise PermanentSendError("the shop's WhatsApp channel has no account_sid or auth_token")
        service = channel.address if channel.address.startswith("MG") else channel.config.get("messaging_service_sid")
        credentials = (account_sid, token, channel.address, str(service or ""))
        cached = self._senders.get(channel.id)
        if cached is not None and cached[0] == credentials:
            return cached[1]
        tenant = await self._tenants.get(channel.tenant_id)
        callback = (
            f"{self._public_base_url}/webhooks/whatsapp/{tenant.slug}/status"
            if self._public_base_url and tenant is not None
            else None
        )
        sender = TwilioSender(
            account_sid=account_sid,
            auth_token=token,
            whatsapp_from=None if service else channel.address,
            messaging_service_sid=str(service) if service else None,
            api_base_url=self._api_base_url,
            status_callback=callback,
            timeout=self._timeout,
        )
        if cached is not None:
            self._retired.append(cached[1])  # a send may still be using it: closed with the rest
        self._senders[channel.id] = (credentials, sender)
        return sender
