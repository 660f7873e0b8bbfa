"""Thread ids: one conversation per customer per channel, stable, without the raw sender."""

from __future__ import annotations

import hashlib
import hmac

CHANNELS = ("whatsapp", "discord", "web")


def normalise_sender(channel: str, sender: str) -> str:
    """The sender as the channel's adapters pass it: WhatsApp numbers without the prefix."""
    sender = sender.strip()
    return sender.removeprefix("whatsapp:") if channel == "whatsapp" else sender


def thread_id_for(channel: str, sender: str, *, salt: str) -> str:
    """`<channel>:<keyed hash of the sender>`, e.g. `whatsapp:3f9a…`.

    Keyed (HMAC) so a thread id cannot be turned back into a phone number by trying them all.
    """
    digest = hmac.new(salt.encode(), normalise_sender(channel, sender).encode(), hashlib.sha256).hexdigest()
    return f"{channel}:{digest[:24]}"
