"""The web chat: a JSON endpoint and the small page that uses it."""

from __future__ import annotations

import uuid
from functools import cache
from importlib import resources

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from carebot.api.dependencies import InboxDep, JobsDep
from carebot.channels.inbox import InboundMessage
from carebot.channels.jobs import WEB_PRIORITY

router = APIRouter(tags=["chat"])

# A person is waiting: past this, say so rather than keep the request open.
_ANSWER_WITHIN_SECONDS = 30.0


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
async def chat(body: ChatRequest, inbox: InboxDep, jobs: JobsDep) -> ChatResponse:
    """Answer one web-chat message (the conversation continues per `user_id`).

    It goes through the same inbox and per-thread ordering as WhatsApp and Discord, and waits
    for its answer.
    """
    accepted = await inbox.accept(
        InboundMessage(channel="web", external_id=uuid.uuid4().hex, sender=body.user_id, body=body.text)
    )
    assert accepted.inbox_id is not None  # a fresh id is never a duplicate
    await jobs.answer_soon(accepted.thread_id, priority=WEB_PRIORITY)
    row = await inbox.wait_for_answer(accepted.inbox_id, within=_ANSWER_WITHIN_SECONDS)
    if row is None or row["status"] != "answered":
        await inbox.give_up(accepted.inbox_id, "web request could not be answered")
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the assistant could not answer just now; try again")
    answer = row["answer"]
    return ChatResponse(
        answer=answer["answer"],
        intent=answer["intent"],
        escalate=answer["escalate"],
        thread_id=accepted.thread_id,
        language=answer["language"],
    )


@cache
def _chat_page_html() -> str:
    return (resources.files("carebot.api") / "static" / "chat.html").read_text(encoding="utf-8")


@router.get("/ui", response_class=HTMLResponse)
async def chat_page() -> HTMLResponse:
    """A small chat page for trying the agent in a browser."""
    return HTMLResponse(_chat_page_html())
