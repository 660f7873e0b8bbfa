"""The shop's data in the documented file schema (DESIGN.md, "Shop data"): what `carebot shop import`
reads, what `carebot orders show --json` prints, what the order API sends, and what actions plan on.

Amounts are `Decimal` (decimal strings in JSON), every id a string, times ISO 8601.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from carebot.domain import Language

ShopOrderStatus = Literal[
    "pending", "processing", "shipped", "delivered", "cancelled", "returned", "return_requested", "exchange_requested"
]
PaymentKind = Literal["card", "paypal", "bank_transfer", "cod", "gift_card"]
ActionKind = Literal["cancel", "change_address", "change_items", "return", "exchange"]
ACTION_KINDS: tuple[ActionKind, ...] = ("cancel", "change_address", "change_items", "return", "exchange")


class _Record(BaseModel):
    # Extra keys in a shop's files are ignored (a shop's export carries more than we need).
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Address(_Record):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    state: str | None = Field(default=None, max_length=100)
    country: str = Field(min_length=1, max_length=100)
    zip: str = Field(min_length=1, max_length=20)

    def one_line(self) -> str:
        """ "12 Main St, Apt 4, Austin, TX, 78701, USA"."""
        parts = (self.line1, self.line2, self.city, self.state, self.zip, self.country)
        return ", ".join(p for p in parts if p)


class PaymentMethod(_Record):
    id: str = Field(min_length=1)
    kind: PaymentKind
    label: str
    balance: Decimal | None = None
    """A gift card's balance; None for every other kind."""


class Variant(_Record):
    id: str = Field(min_length=1)
    options: dict[str, str] = Field(default_factory=dict)
    price: Decimal = Field(ge=0)
    available: bool = True

    def describe(self) -> str:
        """ "white, M" (or "standard" for a variant without options)."""
        return ", ".join(self.options.values()) or "standard"


class Product(_Record):
    id: str = Field(min_length=1)
    name: str
    variants: list[Variant] = Field(default_factory=list)

    def variant(self, variant_id: str) -> Variant | None:
        return next((v for v in self.variants if v.id == variant_id), None)


class ShopCustomer(_Record):
    id: str = Field(min_length=1)
    name: str
    email: str
    phone: str | None = None
    language: Language = "en"
    discord_id: str | None = None
    address: Address | None = None
    payment_methods: list[PaymentMethod] = Field(default_factory=list)

    @field_validator("email")
    @classmethod
    def _lower_email(cls, value: str) -> str:
        return value.strip().lower()

    def payment_method(self, method_id: str | None) -> PaymentMethod | None:
        return next((m for m in self.payment_methods if m.id == method_id), None)

    @property
    def gift_card(self) -> PaymentMethod | None:
        return next((m for m in self.payment_methods if m.kind == "gift_card"), None)


class Item(_Record):
    id: str = Field(min_length=1)
    product_id: str
    variant_id: str
    name: str
    options: dict[str, str] = Field(default_factory=dict)
    price: Decimal = Field(ge=0)

    def describe(self) -> str:
        """ "Oak desk lamp (white)"."""
        options = ", ".join(self.options.values())
        return f"{self.name} ({options})" if options else self.name


class Payment(_Record):
    payment_method_id: str
    amount: Decimal = Field(ge=0)
    kind: Literal["payment", "refund"]


class ReturnRequest(_Record):
    items: list[str]
    refund_to: str


class ExchangeRequest(_Record):
    items: list[str]
    new_variants: list[str]
    payment_method_id: str


class ShopOrder(_Record):
    """An order as a shop's `orders.json` gives it (the optional shipping fields feed "where is my order?")."""

    number: str = Field(min_length=1, max_length=40)
    customer_id: str
    status: ShopOrderStatus
    placed_at: datetime
    delivered_at: datetime | None = None
    currency: str = "USD"
    address: Address | None = None
    items: list[Item] = Field(default_factory=list)
    payments: list[Payment] = Field(default_factory=list)
    tracking_number: str | None = None
    carrier: str | None = None
    shipped_at: datetime | None = None
    estimated_delivery: date | None = None
    cancel_reason: str | None = None
    items_changed: bool = False
    return_: ReturnRequest | None = Field(default=None, alias="return")
    exchange: ExchangeRequest | None = None

    def item(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)

    @property
    def total(self) -> Decimal:
        return sum((i.price for i in self.items), Decimal("0"))

    @property
    def original_payment_method_id(self) -> str | None:
        """The method the order was paid with (its first payment)."""
        return next((p.payment_method_id for p in self.payments if p.kind == "payment"), None)


class ActionRecord(_Record):
    """One action taken on an order, as `orders show` lists it."""

    kind: ActionKind
    by: Literal["bot", "operator"]
    at: datetime
    operator: str | None = None
    conversation: str | None = None
    confirming_message: str | None = None
    request: dict[str, Any] = Field(default_factory=dict)


class OrderRecord(ShopOrder):
    """An order with what was done to it: `carebot orders show NUMBER --json`."""

    actions: list[ActionRecord] = Field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
