"""The web chat: a JSON endpoint and the small page that uses it."""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from carebot.api.dependencies import ServiceDep

router = APIRouter(tags=["chat"])


class ChatRequest(BaseModel):
    user_id: str = Field(min_length=1, max_length=128, description="Who is writing: a phone number, email or any id.")
    text: str = Field(min_length=1, max_length=4000, description="The customer's message.")


class ChatResponse(BaseModel):
    answer: str
    intent: str | None
    escalate: bool
    thread_id: str
    language: str


@router.post("/chat")
async def chat(body: ChatRequest, service: ServiceDep) -> ChatResponse:
    """Answer one web-chat message (the conversation continues per `user_id`)."""
    result = await service.chat(channel="web", sender=body.user_id, text=body.text)
    return ChatResponse(
        answer=result.answer,
        intent=result.intent,
        escalate=result.escalate,
        thread_id=result.thread_id,
        language=result.language,
    )


@cache
def _chat_page_html() -> str:
    return (resources.files("carebot.api") / "static" / "chat.html").read_text(encoding="utf-8")


@router.get("/ui", response_class=HTMLResponse)
async def chat_page() -> HTMLResponse:
    """A small chat page for trying the agent in a browser."""
    return HTMLResponse(_chat_page_html())
