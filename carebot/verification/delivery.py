"""Getting a one-time code to the customer: Twilio Verify (it makes, sends and checks the code),
or a code of our own by email (SMTP), or — in the demo — into the dev mailbox table."""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage
from typing import Literal, Protocol
from urllib.parse import unquote, urlsplit

from carebot.db.pool import Pool

log = logging.getLogger(__name__)

_TIMEOUT = 15.0


class DeliveryFailed(Exception):
    """The code could not be handed to the provider (network, refused, misconfigured)."""


class Mailer(Protocol):
    async def send(self, *, to: str, subject: str, body: str) -> None: ...


class SmtpMailer:
    """Email through an SMTP server (`smtp://user:pass@host:587` with STARTTLS when offered,
    `smtps://…:465` for TLS from the start)."""

    def __init__(self, url: str, sender: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465")
        self._host = parts.hostname
        self._port = parts.port or (465 if parts.scheme == "smtps" else 587)
        self._tls = parts.scheme == "smtps"
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._sender = sender

    async def send(self, *, to: str, subject: str, body: str) -> None:
        import aiosmtplib

        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self._sender, to, subject
        message.set_content(body)
        try:
            await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._tls,
                timeout=_TIMEOUT,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP server refused or unreachable ({type(exc).__name__})") from exc


class DevMailbox:
    """The demo's mailbox: a table anyone running the demo can read (`carebot dev mailbox`)."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def send(self, *, to: str, subject: str, body: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO dev_mailbox (recipient, subject, body) VALUES (%s, %s, %s)", (to, subject, body)
            )
        log.info("dev_mailbox_delivered", extra={"hint": "read it with `carebot dev mailbox`"})


async def read_dev_mailbox(pool: Pool, *, limit: int = 20) -> list[dict[str, object]]:
    """The newest messages in the dev mailbox, newest first."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, recipient, subject, body, created_at FROM dev_mailbox ORDER BY id DESC LIMIT %s", (limit,)
        )
        return list(await cur.fetchall())


class TwilioVerify:
    """Twilio Verify: it makes the code, sends it (SMS, WhatsApp with its authentication template,
    or email), expires it and rate-limits per recipient; we only start and check."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        service_sid: str,
        phone_channel: Literal["sms", "whatsapp"],
        api_base_url: str | None = None,
    ) -> None:
        from twilio.http.async_http_client import AsyncTwilioHttpClient
        from twilio.rest import Client

        self._http = AsyncTwilioHttpClient()
        client = Client(account_sid, auth_token, http_client=self._http)
        if api_base_url:
            client.verify.base_url = api_base_url.rstrip("/")
        self._service = client.verify.v2.services(service_sid)
        self._phone_channel = phone_channel

    def _channel(self, contact_kind: str) -> str:
        return "email" if contact_kind == "email" else self._phone_channel

    async def start(self, *, to: str, contact_kind: str, language: str) -> None:
        from aiohttp import ClientError
        from twilio.base.exceptions import TwilioRestException

        try:
            await asyncio.wait_for(
                self._service.verifications.create_async(to=to, channel=self._channel(contact_kind), locale=language),
                _TIMEOUT,
            )
        except (TwilioRestException, ClientError, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"Twilio Verify refused or unreachable ({type(exc).__name__})") from exc

    async def check(self, *, to: str, code: str) -> bool:
        """True when Verify approves the code; a wrong, expired or unknown one is False."""
        from aiohttp import ClientError
        from twilio.base.exceptions import TwilioRestException

        try:
            result = await asyncio.wait_for(self._service.verification_checks.create_async(to=to, code=code), _TIMEOUT)
        except TwilioRestException:
            return False  # 404: no pending verification for this recipient (expired or approved)
        except (ClientError, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"Twilio Verify unreachable ({type(exc).__name__})") from exc
        return bool(result.status == "approved")

    async def aclose(self) -> None:
        await self._http.close()
