"""Thread ids: one conversation per customer per channel, stable, without the raw sender."""

from __future__ import annotations

import hashlib
import hmac

CHANNELS = ("whatsapp", "discord", "web")
# Twilio names WhatsApp senders `whatsapp:+14155550100`; the number is who they are.
_ADDRESS_PREFIXES = {"whatsapp": "whatsapp:"}


def normalise_sender(channel: str, sender: str) -> str:
    """The sender as the channel's adapters pass it: WhatsApp numbers without the prefix."""
    sender = sender.strip()
    return sender.removeprefix(_ADDRESS_PREFIXES.get(channel, ""))


def thread_id_for(channel: str, sender: str, *, salt: str) -> str:
    """`<channel>:<keyed hash of the sender>`, e.g. `whatsapp:3f9a…`.

    Keyed (HMAC) so a thread id cannot be turned back into a phone number by trying them all.
    """
    digest = hmac.new(salt.encode(), normalise_sender(channel, sender).encode(), hashlib.sha256).hexdigest()
    return f"{channel}:{digest[:24]}"
