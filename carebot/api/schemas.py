"""What the operator API answers with, where it is not the desk's own models (conversations and
messages are `desk.views` and `desk.transcript` models, declared once)."""

from __future__ import annotations

from pydantic import BaseModel

from carebot.desk.views import ConversationSummary


class ConversationsOut(BaseModel):
    conversations: list[ConversationSummary]


class MeOut(BaseModel):
    id: int | None
    name: str
    email: str | None
    role: str
    csrf_token: str | None
    """Sent back as `X-CSRF-Token` with every change."""
