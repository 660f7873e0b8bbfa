"""What every channel is: how an answer is shaped for it, whether and how long it lets the shop
write first, and how a message reaches the customer (its `Sender`, which raises `errors`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol


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


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """Where a message the shop starts (an operator's reply, a notice) goes on the channel."""

    recipient: str
    payload: dict[str, Any] = field(default_factory=dict)
    """What the channel's sender needs besides the text (Discord's interaction token, …)."""


@dataclass(frozen=True, slots=True)
class LatestContact:
    """What the channel needs to know about the customer's last message to write to them now."""

    sender: str
    last_customer_at: datetime | None
    now: datetime
    last_payload: dict[str, Any] = field(default_factory=dict)
    """The channel details of the customer's last message (its inbox row's `payload`)."""
    last_received_at: datetime | None = None


class Channel:
    """A customer channel's rules. Subclasses set the class attributes and override what differs;
    `sender` is None where the channel is not configured (or, like the web chat, needs none)."""

    name: ClassVar[str]
    consent_words: ClassVar[bool] = False
    """Whether STOP/START words are honoured (channels that message customers outside a page)."""
    trigger_words: ClassVar[bool] = False
    """Whether `BOT_TRIGGER_WORDS` apply (a shared WhatsApp number read by people too)."""
    templates: ClassVar[bool] = False
    """Whether the shop can send approved templates (outside the free-text window)."""
    reads_transcript: ClassVar[bool] = False
    """The customer's page reads the answer and later messages itself: nothing is pushed."""
    send_error_event: ClassVar[str] = "send_error"
    """The log event for a message the provider refused."""

    def __init__(self, sender: Sender | None = None) -> None:
        self.sender = sender

    def reply_parts(self, text: str) -> list[str]:
        """The messages an answer goes out as (none where the customer's page reads it)."""
        return []

    def window_closes_at(self, last_customer_at: datetime | None) -> datetime | None:
        """Until when the shop may write free text to the customer (None: no such limit)."""
        return None

    def reply_target(self, contact: LatestContact, *, free_text: bool) -> ReplyTarget | None:
        """Where a message the shop starts now goes (None: the customer's page reads it). Raises
        `CannotSend` when the channel does not let the shop write now."""
        return None
