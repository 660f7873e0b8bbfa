"""The web chat: a JSON endpoint and the small page that uses it."""

from __future__ import annotations

import re
import uuid
from functools import cache
from html import escape
from importlib import resources
from string import Template
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, ValidationError

from carebot.api.deps import ComponentsDep, InboxDep, JobsDep
from carebot.api.web_identity import SESSION_MAX_AGE, WebSiteDep, WebVisitorDep
from carebot.delivery.inbox import InboundMessage
from carebot.delivery.jobs import WEB_PRIORITY
from carebot.tenants.channels import web_site

router = APIRouter(tags=["chat"])

# A person is waiting: past this, say so rather than keep the request open.
_ANSWER_WITHIN_SECONDS = 30.0


class ChatRequest(BaseModel):
    text: str = Field(min_length=1, max_length=4000, description="The customer's message.")


async def chat_request(request: Request) -> ChatRequest:
    """The JSON body, parsed by pydantic's own parser, which refuses JSON nested past its limit
    with a 422; the standard library's parser would raise RecursionError deep in the server."""
    try:
        return ChatRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False)) from None


ChatRequestDep = Annotated[ChatRequest, Depends(chat_request)]


class ChatResponse(BaseModel):
    answer: str
    intent: str | None
    escalate: bool
    escalation_reason: str | None
    thread_id: str
    language: str
    session_id: str | None = Field(
        description="The visitor's session (also set as a cookie): send it back in X-Session-Id to continue "
        "the conversation. None when an identity token named the customer."
    )
    with_person: bool = Field(
        default=False,
        description="A person from the shop has the conversation: the bot does not answer (`answer` is empty); "
        "their replies arrive through GET /chat/updates.",
    )


@router.post(
    "/chat",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": ChatRequest.model_json_schema()}}}
    },
)
async def chat(
    body: ChatRequestDep,
    site: WebSiteDep,
    visitor: WebVisitorDep,
    inbox: InboxDep,
    jobs: JobsDep,
    request: Request,
    response: Response,
) -> ChatResponse:
    """Answer one web-chat message, as an anonymous session (order data only after a one-time
    code) or as the customer an identity token (`Authorization: Bearer <JWT>`) names.

    A shop's site names the shop with `X-Site-Key` (without it: the default tenant). It goes
    through the same inbox and per-thread ordering as WhatsApp and Discord, and waits for its answer.
    """
    if visitor.session_id is not None:
        response.set_cookie(
            site.session_cookie,
            visitor.session_id,
            max_age=SESSION_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    accepted = await inbox.accept(
        InboundMessage(channel="web", external_id=uuid.uuid4().hex, sender=visitor.sender, body=body.text)
    )
    assert accepted.inbox_id is not None  # a fresh id is never a duplicate
    if accepted.over_quota:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "this shop's assistant is unavailable right now (its monthly message quota is used up):"
            " your message was passed to the team, and a person will reply here",
        )
    await jobs.answer_soon(accepted.thread_id, priority=WEB_PRIORITY)
    outcome = await inbox.wait_for_answer(accepted.inbox_id, within=_ANSWER_WITHIN_SECONDS)
    if outcome is not None and outcome.unanswered == "rate_limited":
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many messages: wait a minute before writing again")
    if outcome is not None and outcome.unanswered == "with_operator":
        return ChatResponse(
            answer="",
            intent=None,
            escalate=False,
            escalation_reason=None,
            thread_id=accepted.thread_id,
            language="en",
            session_id=visitor.session_id,
            with_person=True,
        )
    if outcome is None or outcome.status != "answered" or outcome.answer is None:
        await inbox.give_up(accepted.inbox_id, "web request could not be answered")
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the assistant could not answer just now; try again")
    answer = outcome.answer
    return ChatResponse(
        answer=answer["answer"],
        intent=answer["intent"],
        escalate=answer["escalate"],
        escalation_reason=answer.get("escalation_reason"),
        thread_id=accepted.thread_id,
        language=answer["language"],
        session_id=visitor.session_id,
    )


class ChatUpdate(BaseModel):
    id: int
    role: str
    text: str
    author: str | None
    at: str


@router.get("/chat/updates")
async def chat_updates(
    visitor: WebVisitorDep,
    components: ComponentsDep,
    after: Annotated[int, Query(ge=0, description="The last update's id the page has shown.")] = 0,
) -> dict[str, list[ChatUpdate]]:
    """Messages the shop sent this visitor outside a `/chat` answer: operators' replies and
    notices (e.g. that everyone is busy), after `after`. The chat page polls it."""
    thread_id = components.turns.thread_id("web", visitor.sender)
    async with components.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, role, text, author, at FROM messages WHERE thread_id = %s AND id > %s"
            " AND (role = 'operator' OR (role = 'bot' AND meta ? 'event')) ORDER BY id LIMIT 100",
            (thread_id, after),
        )
        rows = await cur.fetchall()
    return {
        "updates": [
            ChatUpdate(id=r["id"], role=r["role"], text=r["text"], author=r["author"], at=r["at"].isoformat())
            for r in rows
        ]
    }


# A colour from a tenant's branding goes into the page's CSS: only a plain hex colour is taken.
_COLOUR = re.compile(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?")
_DEFAULT_TITLE, _DEFAULT_COLOUR = "carebot", "#128c7e"


@cache
def _chat_page_template() -> Template:
    return Template((resources.files("carebot.api") / "static" / "chat.html").read_text(encoding="utf-8"))


def chat_page_html(branding: dict[str, Any] | None = None, *, name: str = _DEFAULT_TITLE) -> str:
    """The chat page in a shop's colours and name (`tenants.branding`: `title`, `colour`)."""
    branding = branding or {}
    title = branding.get("title") if isinstance(branding.get("title"), str) else name
    colour = branding.get("colour") or branding.get("color")
    return _chat_page_template().safe_substitute(
        shop_title=escape(str(title)[:80]),
        shop_colour=colour if isinstance(colour, str) and _COLOUR.fullmatch(colour) else _DEFAULT_COLOUR,
    )


@router.get("/ui", response_class=HTMLResponse)
async def chat_page(
    components: ComponentsDep,
    site: Annotated[str | None, Query(max_length=200, description="The shop's web chat site key.")] = None,
) -> HTMLResponse:
    """A small chat page for trying the agent in a browser; `/ui?site=KEY` is the shop's page (in
    its branding), and it sends the key with every message (`X-Site-Key`)."""
    if not site:
        return HTMLResponse(chat_page_html())
    tenant, _ = await web_site(components.tenants, site)
    return HTMLResponse(chat_page_html(tenant.branding, name=tenant.name))
