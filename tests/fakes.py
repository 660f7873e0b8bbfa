"""Fakes for the graph's dependencies: scripted, in memory, recording what they were asked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from langchain_core.messages import BaseMessage

from carebot.domain import Customer, Intent, Language, Order, OrderItem, Passage
from carebot.models.types import AnswerRequest, Classification
from carebot.shop.orders import OrderSourceUnavailable
from carebot.verification.types import CheckResult, SendOutcome


def reading(
    intent: Intent,
    language: Language = "en",
    *,
    sentiment: float = 0.0,
    confidence: float = 0.95,
    language_confidence: float = 0.95,
    order_number: str | None = None,
) -> Classification:
    return Classification(
        intent=intent,
        language=language,
        sentiment=sentiment,
        confidence=confidence,
        language_confidence=language_confidence,
        order_number=order_number,
    )


@dataclass
class ScriptedClassifier:
    """Answers each known message with its scripted reading."""

    script: dict[str, Classification]
    seen: list[str] = field(default_factory=list)

    async def classify(self, text: str, *, history: Sequence[BaseMessage] = ()) -> Classification:
        self.seen.append(text)
        return self.script[text]


@dataclass
class EchoResponder:
    """Writes a transparent answer from what it was given, so tests can see the inputs."""

    requests: list[AnswerRequest] = field(default_factory=list)
    override: str | None = None

    async def respond(self, request: AnswerRequest) -> str:
        self.requests.append(request)
        if self.override is not None:
            return self.override
        parts = [f"{request.intent}/{request.language}"]
        if request.order is not None:
            parts.append(f"order:{request.order.kind}:" + ",".join(o.number for o in request.order.orders))
        if request.passages:
            parts.append(f"source:{request.passages[0].title}")
        return " ".join(parts)


@dataclass
class FakeKnowledgeBase:
    passages: list[Passage] = field(default_factory=list)
    queries: list[tuple[str, str]] = field(default_factory=list)
    finds_only_with: str | None = None
    """A word the query must contain for the passages to be found (a help centre that has nothing
    on anything else); None: every query finds them."""

    async def search(self, query: str, *, language: str, k: int = 4) -> list[Passage]:
        self.queries.append((query, language))
        if self.finds_only_with is not None and self.finds_only_with not in query.lower():
            return []
        return self.passages[:k]


def passage(
    title: str = "Shipping", text: str = "Standard delivery takes 3 to 5 working days.", score: float = 0.9
) -> Passage:
    return Passage(title=title, source=f"kb/{title.lower()}.md", heading="", text=text, language="en", score=score)


def order(number: str, status: str = "shipped") -> Order:
    return Order(
        number=number,
        status=status,  # type: ignore[arg-type]
        items=(OrderItem(name="Oak desk lamp", quantity=1, unit_price=Decimal("49.00")),),
        total=Decimal("49.00"),
        currency="USD",
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
        carrier="UPS",
        tracking_number="1Z999",
        estimated_delivery=date(2026, 11, 25),
    )


@dataclass
class FakeOrderSource:
    """Two customers; records every identity it was asked about."""

    customers: dict[str, Customer] = field(
        default_factory=lambda: {
            "+15550001": Customer(id=1, name="Ann Lee", email="ann@example.com", phone="+15550001", language="en"),
            "+15550002": Customer(id=2, name="Bo Kim", email="bo@example.com", phone="+15550002", language="en"),
        }
    )
    orders: dict[int, list[Order]] = field(
        default_factory=lambda: {1: [order("A1001"), order("A0999", "delivered")], 2: [order("A2002")]}
    )
    asked: list[tuple[str, str]] = field(default_factory=list)
    fail: bool = False

    async def find_customer(self, *, channel: str, sender: str) -> Customer | None:
        self.asked.append((channel, sender))
        if self.fail:
            raise OrderSourceUnavailable("order API timed out")
        return self.customers.get(sender)

    async def recent_orders(self, customer_id: int, *, limit: int = 5) -> list[Order]:
        return self.orders.get(customer_id, [])[:limit]

    async def customer_order(self, customer_id: int, number: str) -> Order | None:
        return next((o for o in self.orders.get(customer_id, []) if o.number == number), None)

    async def customer_by_contact(self, contact: str) -> Customer | None:
        contact = contact.lower()
        return next((c for c in self.customers.values() if contact in (c.email, c.phone)), None)

    async def customer_by_id(self, customer_id: int) -> Customer | None:
        return next((c for c in self.customers.values() if c.id == customer_id), None)


@dataclass
class FakeVerifier:
    """One-time codes in memory: every code sent is `code`; three wrong tries lock; links never expire."""

    orders: FakeOrderSource
    code: str = "246810"
    sent: list[tuple[str, str]] = field(default_factory=list)
    """(conversation, the address on file the code went to)."""
    pending: dict[str, int | None] = field(default_factory=dict)
    wrong: dict[str, int] = field(default_factory=dict)
    links: dict[str, int] = field(default_factory=dict)

    async def verified_customer(self, conversation: str) -> int | None:
        return self.links.get(conversation)

    async def send_code(self, conversation: str, *, contact: str, language: str) -> SendOutcome:
        customer = await self.orders.customer_by_contact(contact)
        self.pending[conversation] = customer.id if customer else None
        if customer:
            self.sent.append((conversation, customer.email))
        return "sent"

    async def check_code(self, conversation: str, code: str) -> CheckResult:
        if self.wrong.get(conversation, 0) >= 3:
            return CheckResult("locked")
        if conversation not in self.pending:
            return CheckResult("expired")
        customer_id = self.pending[conversation]
        if code == self.code and customer_id is not None:
            del self.pending[conversation]
            self.links[conversation] = customer_id
            return CheckResult("verified", customer_id=customer_id)
        self.wrong[conversation] = self.wrong.get(conversation, 0) + 1
        return CheckResult("locked" if self.wrong[conversation] >= 3 else "wrong")
