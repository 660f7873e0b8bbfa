"""The customer channels by name (as rows and thread ids carry it), with the senders the settings
configure; the outbox sends through them, and everything else asks them for their rules."""

from __future__ import annotations

from collections.abc import Iterator

from carebot.delivery.channels.base import Channel, Sender
from carebot.delivery.channels.discord import DiscordChannel, DiscordSender
from carebot.delivery.channels.web import WebChannel
from carebot.delivery.channels.webhook import WEBHOOK_CHANNEL, WebhookSender
from carebot.delivery.channels.whatsapp import TenantTwilioSenders, TwilioSender, WhatsAppChannel
from carebot.settings import Settings
from carebot.tenants.registry import TenantRegistry


class Channels:
    """WhatsApp, Discord and the web chat; `Channels()` has their rules and no senders."""

    def __init__(self, *channels: Channel, notifications: Sender | None = None) -> None:
        given = {channel.name: channel for channel in channels}
        self._channels: dict[str, Channel] = {
            kind.name: given.get(kind.name) or kind() for kind in (WhatsAppChannel, DiscordChannel, WebChannel)
        }
        self._notifications = notifications

    def __getitem__(self, name: str) -> Channel:
        return self._channels[name]

    def get(self, name: str) -> Channel | None:
        return self._channels.get(name)

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._channels.values())

    def senders(self) -> dict[str, Sender]:
        """What the outbox sends through, by the outbox row's channel (the team webhook included)."""
        senders = {channel.name: channel.sender for channel in self if channel.sender is not None}
        if self._notifications is not None:
            senders[WEBHOOK_CHANNEL] = self._notifications
        return senders

    async def aclose(self) -> None:
        for sender in self.senders().values():
            await sender.aclose()


def build_channels(settings: Settings, tenants: TenantRegistry | None = None) -> Channels:
    """The channels with the senders the settings configure (WhatsApp needs Twilio credentials and
    a sender number or messaging service; Discord its application id; notifications a webhook URL).
    With `tenants`, WhatsApp sends with the credentials of the tenant a job works for (the
    deployment's for the default tenant), and Discord answers any tenant's application."""
    deployment = _deployment_twilio(settings)
    whatsapp = WhatsAppChannel(deployment)
    if tenants is not None:
        whatsapp = WhatsAppChannel(
            TenantTwilioSenders(
                tenants,
                deployment=deployment,
                public_base_url=settings.public_base_url,
                api_base_url=settings.twilio_api_base_url,
                timeout=settings.send_timeout,
            )
        )
    discord = DiscordChannel()
    # An interaction's follow-ups need only its application id and token (in the inbound payload).
    if settings.discord_application_id or tenants is not None:
        discord = DiscordChannel(
            DiscordSender(api_base_url=settings.discord_api_base_url, timeout=settings.send_timeout)
        )
    notifications = WebhookSender(timeout=settings.send_timeout) if settings.handoff_webhook_url else None
    return Channels(whatsapp, discord, notifications=notifications)


def _deployment_twilio(settings: Settings) -> TwilioSender | None:
    """The default tenant's sender, from TWILIO_* (None when they are not set)."""
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        return None
    callback = f"{settings.public_base_url.rstrip('/')}/webhooks/whatsapp/status" if settings.public_base_url else None
    return TwilioSender(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token.get_secret_value(),
        whatsapp_from=settings.twilio_whatsapp_from,
        messaging_service_sid=settings.twilio_messaging_service_sid,
        api_base_url=settings.twilio_api_base_url,
        status_callback=callback,
        timeout=settings.send_timeout,
    )
