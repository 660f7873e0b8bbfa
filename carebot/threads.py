"""Thread ids: one conversation per customer per channel, stable, without the raw sender."""

from __future__ import annotations

import hashlib
import hmac
from uuid import UUID

CHANNELS = ("whatsapp", "discord", "web")
# Twilio names WhatsApp senders `whatsapp:+14155550100`; the number is who they are.
_ADDRESS_PREFIXES = {"whatsapp": "whatsapp:"}


def normalise_sender(channel: str, sender: str) -> str:
    """The sender as the channel's adapters pass it: WhatsApp numbers without the prefix."""
    sender = sender.strip()
    return sender.removeprefix(_ADDRESS_PREFIXES.get(channel, ""))


def thread_id_for(channel: str, sender: str, *, salt: str, tenant: UUID) -> str:
    """`<tenant id>:<channel>:<keyed hash of the sender>`, e.g. `00000000-…-000000000001:whatsapp:3f9a…`.

    Keyed (HMAC) so a thread id cannot be turned back into a phone number by trying them all. The
    tenant comes first: the same number writing to two shops is two conversations, and LangGraph's
    checkpoints (which row-level security cannot reach) are kept apart by it.
    """
    digest = hmac.new(salt.encode(), normalise_sender(channel, sender).encode(), hashlib.sha256).hexdigest()
    return f"{tenant}:{channel}:{digest[:24]}"


def tenant_of(key: str) -> UUID | None:
    """The tenant a thread id names, None if it names none (not one of ours). A key made from a
    thread id with one prefix of its own (`handoff:<thread id>`, the team notifications' outbox
    thread) names its thread's tenant."""
    parts = key.split(":", 2)
    for head in parts[:-1]:  # the tenant is never the last part: `<tenant>:<channel>:<hash>`
        try:
            return UUID(head)
        except ValueError:
            continue
    return None
