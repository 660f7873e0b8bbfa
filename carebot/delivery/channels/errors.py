"""What sending can fail with. Senders raise `TransientSendError` for what may pass on a retry
(network, timeout, 429, 5xx) and `PermanentSendError` for what will not (e.g. Twilio 63016,
outside the 24-hour window); a channel raises `CannotSend` before anything is queued when it does
not let the shop write now."""

from __future__ import annotations


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


class CannotSend(Exception):
    """The channel refuses this message now (WhatsApp's window closed, a Discord token expired)."""
