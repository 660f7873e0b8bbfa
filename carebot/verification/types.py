"""What the graph asks of identity proof, and what it answers (no I/O here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol

from carebot.domain import PHONE

CODE_LENGTH = 6
# Six digits on their own ("123 456" and "123-456" too): never an order number, which has a letter.
_CODE = re.compile(r"(?<!\d)(\d{3})[ -]?(\d{3})(?!\d)")

SendOutcome = Literal["sent", "throttled", "unavailable"]
"""`sent` also when the contact matched no account: the customer is told the same either way."""

CheckOutcome = Literal["verified", "wrong", "expired", "locked"]
"""`locked`: too many wrong codes (for this code, the sender or the account): a person takes over."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    outcome: CheckOutcome
    customer_id: int | None = None
    """The customer proved, when `verified`."""


class IdentityVerifier(Protocol):
    """One-time codes and the links they prove. `conversation` is the run's thread id, which in
    production is the keyed hash of (channel, sender): limits and links hold across threads."""

    async def verified_customer(self, conversation: str) -> int | None:
        """The customer this conversation's sender proved to be, while the link lasts."""
        ...

    async def send_code(self, conversation: str, *, contact: str, language: str) -> SendOutcome:
        """Send a code to the account's own contact (the email or phone on file) named by `contact`."""
        ...

    async def check_code(self, conversation: str, code: str) -> CheckResult:
        """Check a code the customer sent back."""
        ...


def parse_code(text: str) -> str | None:
    """The 6-digit code in a customer's reply, or None."""
    match = _CODE.search(text[:500])
    return match.group(1) + match.group(2) if match else None


def parse_phone(text: str) -> str | None:
    """A phone number the customer wrote, as +E.164 digits, or None."""
    match = PHONE.search(text[:500])
    if not match:
        return None
    digits = re.sub(r"\D", "", match.group(0))
    return f"+{digits}" if 8 <= len(digits) <= 15 else None
