"""The shop's vocabulary, shared by tools, models and the graph: intents, languages, customers,
orders, what the order tool found and the help-centre passages an answer may draw on.

Plain data and the parsers that read it out of a customer's text, with no I/O, so that every
layer above may depend on it and it depends on nothing of carebot's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, get_args

# The demo shop's first customer: Studio runs (which send only messages) and eval cases without
# a user act as them.
DEMO_SENDER = "+14155550100"

Intent = Literal[
    "greeting",
    "order_status",
    "order_change",
    "shipping",
    "returns_refunds",
    "payment",
    "account",
    "product",
    "complaint",
    "human_agent",
    "out_of_scope",
]
INTENTS: tuple[Intent, ...] = get_args(Intent)

Language = Literal["en", "id", "es"]
LANGUAGES: tuple[Language, ...] = get_args(Language)

EscalationReason = Literal[
    "human_requested",
    "negative_sentiment",
    "repeated_question",
    "low_relevance",
    "guardrail",
    "order_unavailable",
    "verification_failed",
    "action_rejected",
    "quota_exceeded",
]
"""Why the bot hands a conversation to a person: the graph decides it, the customer is told it in
their language (`phrases`: `escalate_<reason>`), the inbox shows it in the shop's words
(`desk.handover.REASON_LABELS`); a test checks that every reason has both."""
ESCALATION_REASONS: tuple[EscalationReason, ...] = get_args(EscalationReason)


OrderStatus = Literal[
    "pending", "processing", "shipped", "delivered", "cancelled", "returned", "return_requested", "exchange_requested"
]
ACTIVE_STATUSES = frozenset({"pending", "processing", "shipped"})

# Order numbers look like A1042 (or #W2378156 in a shop of its own); customers write "#a1042", "A 1042", "a-1042".
ORDER_NUMBER = re.compile(r"(?<![A-Za-z0-9])#?\s?([A-Za-z])\s?-?\s?(\d{4,8})(?![0-9])")


# Loose on purpose: the address is only ever compared with the one on an account (or, by the
# guardrail, with the addresses in an answer's material).
EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")

# A phone number in E.164, as a channel or a signed identity gives it (+14155550100).
E164 = re.compile(r"\+[1-9]\d{6,14}")

# A phone number as customers write it: +, digits, spaces, dots, dashes, brackets.
PHONE = re.compile(r"(?<![\w+])\+?\d[\d\s().-]{6,18}\d(?!\w)")


def parse_order_number(text: str) -> str | None:
    """The order number a customer wrote, normalised (`A1042`), or None when there is none."""
    match = ORDER_NUMBER.search(text[:2000])
    return _order_number(match) if match else None


def order_numbers(text: str) -> set[str]:
    """Every order number in `text`, normalised (`A1042`)."""
    return {_order_number(match) for match in ORDER_NUMBER.finditer(text)}


def _order_number(match: re.Match[str]) -> str:
    return f"{match.group(1).upper()}{match.group(2)}"


def parse_email(text: str) -> str | None:
    """The email address a customer wrote, lower-cased, or None when there is none."""
    match = EMAIL.search(text[:2000])
    return match.group(0).lower().rstrip(".") if match else None


@dataclass(frozen=True, slots=True)
class Customer:
    """A shop customer, as far as the care agent needs to know them."""

    id: int
    name: str
    email: str
    phone: str | None
    language: str


@dataclass(frozen=True, slots=True)
class OrderItem:
    name: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class Order:
    """One of the caller's own orders."""

    number: str
    status: OrderStatus
    items: tuple[OrderItem, ...]
    total: Decimal
    currency: str
    created_at: datetime
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: datetime | None = None
    estimated_delivery: date | None = None
    delivered_at: datetime | None = None

    @property
    def summary(self) -> str:
        """A one-line summary of the items, e.g. "2× Linen sheet set, Oak desk lamp"."""
        parts = [f"{i.quantity}× {i.name}" if i.quantity > 1 else i.name for i in self.items]
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class OrderLookup:
    """What the order tool found for the caller; `kind` says which case it is.

    - `order`: one of the caller's orders (the one asked for, or their only recent one);
    - `choose`: several recent orders: the answer lists them and asks which one;
    - `no_orders`: the caller has no orders;
    - `not_found`: the number asked for is not one of the caller's (whether or not it exists:
      the answer is the same, so nothing leaks);
    - `unknown_customer`: the sender is not linked to a customer;
    - `unavailable`: the order system could not be reached.
    """

    kind: Literal["order", "choose", "no_orders", "not_found", "unknown_customer", "unavailable"]
    orders: tuple[Order, ...] = ()
    requested_number: str | None = None
    customer_name: str | None = None
    detail: str = field(default="", compare=False)


# A passage's place in the help centre's fused ranking: its semantic relevance plus this share of
# its lexical coverage (both in [0, 1]). Reciprocal rank fusion was used before and lost on
# paraphrases: it hears only each list's order, so a chunk that shares one common word with the
# question ranked with the one whose label says what the question means. Measured on the FAQ dev
# set and the demo retrieval sets (evals/faq/README.md); 0.3–0.7 are within a case of each other.
LEXICAL_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class Passage:
    """One help-centre chunk that matched a question."""

    title: str
    """Title of the document the chunk comes from."""
    source: str
    """Where the document was ingested from (path or URL); names the source in answers."""
    heading: str
    """The section heading the chunk sits under ('' for a document's opening)."""
    text: str
    """The chunk's text."""
    language: str
    """The document's language code."""
    score: float
    """Relevance in [0, 1]: the share of the question's key terms the chunk contains, fused with
    the embedding similarity when embeddings are on."""
    semantic: float | None = None
    """The embedding relevance alone, in [0, 1], when `score` fuses it with `lexical` (None without embeddings)."""
    lexical: float | None = None
    """The share of the question's key terms the chunk contains, when `score` fuses it with `semantic`."""

    @property
    def rank(self) -> float:
        """Its place in the search's ranking, higher first: semantic relevance plus `LEXICAL_WEIGHT`
        of lexical coverage; a passage with one score only (no embeddings, Bedrock) ranks by it."""
        if self.semantic is None or self.lexical is None:
            return self.score
        return self.semantic + LEXICAL_WEIGHT * self.lexical
