"""What the operator API answers with, where it is not the desk's own models (conversations and
messages are `desk.views` and `desk.transcript` models, declared once)."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from carebot.desk.views import ConversationSummary


class ConversationsOut(BaseModel):
    conversations: list[ConversationSummary]


class ShopOut(BaseModel):
    """A shop (tenant) an operator works in, and their role there."""

    id: UUID
    slug: str
    name: str
    role: str


class MeOut(BaseModel):
    id: int | None
    name: str
    email: str | None
    role: str
    """The role in the current shop (`tenant`): admin or agent."""
    tenant: ShopOut | None = None
    """The shop this session works in: every other operator route answers for it alone."""
    csrf_token: str | None
    """Sent back as `X-CSRF-Token` with every change."""


class ShopsOut(BaseModel):
    current: UUID | None
    tenants: list[ShopOut]
    """The shops this operator works in, the one used last first."""


class SwitchIn(BaseModel):
    tenant: str = Field(min_length=1, max_length=64, description="The shop's slug (or id).")
