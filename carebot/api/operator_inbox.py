"""The operator API: the conversations waiting for a person, a conversation's transcript and
customer, take over / hand back / resolve, replies on the customer's channel, and the stats — all
of the shop the operator works in now (`current_operator` opens its scope); and the shops they
work in, to switch between (the app's tenant picker)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from fastapi import APIRouter, Cookie, HTTPException, Query, Response, status
from pydantic import BaseModel, Field, model_validator

from carebot.api.deps import ComponentsDep, DeskDep
from carebot.api.input_errors import StorableStr
from carebot.api.operator_auth import OPERATOR_COOKIE, TENANT_HEADER, OperatorDep, csrf_token
from carebot.api.schemas import ConversationsOut, MeOut, ShopOut, ShopsOut, SwitchIn
from carebot.composition import Components
from carebot.delivery.channels.errors import CannotSend
from carebot.desk.desk import Desk
from carebot.desk.operators import Operator, OperatorAccounts, Shop
from carebot.desk.replies import UnknownTemplate
from carebot.desk.stats import InboxStats, inbox_stats
from carebot.desk.status import ConversationNotFound
from carebot.desk.transcript import Message
from carebot.desk.views import ConversationDetail

router = APIRouter(prefix="/admin", tags=["operators"])


def _not_found(thread_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no conversation {thread_id!r}")


async def _opened(desk: Desk, thread_id: str) -> ConversationDetail:
    return await desk.views.conversation(thread_id, mark_read=False)


class MessageIn(BaseModel):
    """Free text, or (on WhatsApp outside the 24-hour window) an approved template."""

    text: StorableStr | None = Field(default=None, min_length=1, max_length=4000)
    template: str | None = Field(default=None, min_length=1, max_length=100, description="A WHATSAPP_TEMPLATES name.")
    variables: dict[StorableStr, StorableStr] | None = Field(
        default=None, description='The template\'s variables, e.g. {"1": "A1042"}.'
    )

    @model_validator(mode="after")
    def text_or_template(self) -> MessageIn:
        if (self.text is None) == (self.template is None):
            raise ValueError("send either text or a template")
        if self.text is not None and not self.text.strip():
            raise ValueError("text must not be blank")
        return self


def _shop_out(shop: Shop | None) -> ShopOut | None:
    return None if shop is None else ShopOut(id=shop.tenant_id, slug=shop.slug, name=shop.name, role=shop.role)


def _me(operator: Operator, components: Components, session: str | None) -> MeOut:
    return MeOut(
        id=operator.id,
        name=operator.name,
        email=operator.email,
        role=operator.role,
        tenant=_shop_out(operator.shop),
        csrf_token=csrf_token(components.signing_key, session) if session and operator.id else None,
    )


@router.get("/me")
async def me(
    operator: OperatorDep,
    components: ComponentsDep,
    session: Annotated[str | None, Cookie(alias=OPERATOR_COOKIE)] = None,
) -> MeOut:
    """Who is signed in, the shop they work in now with their role there, and the CSRF token the
    app sends with every change (`X-CSRF-Token`)."""
    return _me(operator, components, session)


@router.get("/me/tenants")
async def my_shops(operator: OperatorDep, components: ComponentsDep) -> ShopsOut:
    """The shops this operator works in (the tenant picker's list), with their role in each."""
    current = operator.shop.tenant_id if operator.shop else None
    if operator.id is None:  # the admin token: the shop its header names
        return ShopsOut(current=current, tenants=[s for s in [_shop_out(operator.shop)] if s])
    shops = await OperatorAccounts(components.pool).shops(operator.id)
    return ShopsOut(current=current, tenants=[s for s in map(_shop_out, shops) if s])


@router.post("/me/tenant")
async def switch_shop(
    body: SwitchIn,
    operator: OperatorDep,
    components: ComponentsDep,
    session: Annotated[str | None, Cookie(alias=OPERATOR_COOKIE)] = None,
) -> MeOut:
    """Work in another of my shops from now on (this browser session; the next sign-in opens in
    it too). 403 for a shop I do not work in; the admin token names its shop per request instead."""
    if operator.id is None or not session:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"the admin token names its shop with {TENANT_HEADER}")
    shop = await OperatorAccounts(components.pool).switch(session, body.tenant)
    if shop is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "you do not work in that shop")
    return _me(replace(operator, role=shop.role, shop=shop), components, session)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    operator: OperatorDep,
    components: ComponentsDep,
    desk: DeskDep,
    response: Response,
    session: Annotated[str | None, Cookie(alias=OPERATOR_COOKIE)] = None,
) -> None:
    """Sign out; conversations this operator held (and no other session of theirs) wait for someone else."""
    if session:
        await OperatorAccounts(components.pool).end_session(session)
    await desk.conversations.release()
    response.delete_cookie(OPERATOR_COOKIE, path="/admin")


@router.get("/conversations")
async def conversations(
    _: OperatorDep, desk: DeskDep, status: Literal["waiting", "human", "bot"] | None = None
) -> ConversationsOut:
    """Conversations, newest first; `status` filters (waiting: handed over, nobody has it yet)."""
    return ConversationsOut(conversations=await desk.views.conversations(status))


@router.get("/conversations/{thread_id}")
async def conversation(thread_id: str, _: OperatorDep, desk: DeskDep) -> ConversationDetail:
    """The whole transcript (customer, bot, operators, system events), the customer and their
    recent orders, the hand-over reason and detail, the channel's reply window and the bot's
    suggested reply (never sent on its own). Opening it marks it read."""
    try:
        return await desk.views.conversation(thread_id)
    except ConversationNotFound:
        raise _not_found(thread_id) from None


@router.post("/conversations/{thread_id}/takeover")
async def take_over(thread_id: str, operator: OperatorDep, desk: DeskDep) -> ConversationDetail:
    """Take the conversation: the bot stays silent until it is handed back."""
    try:
        await desk.conversations.take_over(thread_id, operator)
    except ConversationNotFound:
        raise _not_found(thread_id) from None
    return await _opened(desk, thread_id)


@router.post("/conversations/{thread_id}/handback")
async def hand_back(thread_id: str, operator: OperatorDep, desk: DeskDep) -> ConversationDetail:
    """Back to the bot, which answers the customer's next message knowing what was said."""
    try:
        await desk.conversations.hand_back(thread_id, operator)
    except ConversationNotFound:
        raise _not_found(thread_id) from None
    return await _opened(desk, thread_id)


@router.post("/conversations/{thread_id}/resolve")
async def resolve(thread_id: str, operator: OperatorDep, desk: DeskDep) -> ConversationDetail:
    """Resolved: back to the bot, counted as resolved."""
    try:
        await desk.conversations.hand_back(thread_id, operator, "resolved")
    except ConversationNotFound:
        raise _not_found(thread_id) from None
    return await _opened(desk, thread_id)


@router.post("/conversations/{thread_id}/messages", status_code=status.HTTP_202_ACCEPTED)
async def send_message(thread_id: str, body: MessageIn, operator: OperatorDep, desk: DeskDep) -> Message:
    """Queue a message to the customer on their channel (202; its `status` follows delivery).
    Replying takes the conversation over. 409 when the channel refuses free text now (WhatsApp
    outside the 24-hour window: send a `template`), 422 for an unknown template."""
    try:
        message = await desk.replies.reply(
            thread_id, operator, text=body.text, template=body.template, variables=body.variables
        )
    except ConversationNotFound:
        raise _not_found(thread_id) from None
    except CannotSend as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except UnknownTemplate as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return message


@router.get("/stats")
async def stats(_: OperatorDep, components: ComponentsDep, days: Annotated[int, Query(ge=1, le=365)] = 7) -> InboxStats:
    """Conversations, messages, the share the bot resolved alone, hand-overs by reason,
    first-response times (bot and people, p50/p95), intents, per day."""
    return await inbox_stats(components.pool, days=days)
