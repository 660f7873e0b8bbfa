"""Operators acting on orders from a conversation: preview an action on the customer's order,
do it (once per `Idempotency-Key`), and count the actions taken, by kind and by who."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn, Self

from fastapi import APIRouter, Header, HTTPException, Query, Response, status
from pydantic import Field, model_validator

from carebot.api.deps import ComponentsDep, DeskDep
from carebot.api.operator_auth import OperatorDep
from carebot.delivery.sanitise import has_unstorable_characters
from carebot.desk.action_log import ActionStats, action_stats
from carebot.desk.order_actions import ActionDone, ActionNotAllowed, ActionPreview, CustomerUnknown
from carebot.desk.status import ConversationNotFound
from carebot.shop.actions import ActionRequest, ShopRejected
from carebot.shop.orders import OrderSourceUnavailable

router = APIRouter(prefix="/admin", tags=["operators"])

REPLAYED_HEADER = "Idempotent-Replayed"


class ActionIn(ActionRequest):
    """An action on one of the conversation's customer's orders, fully specified (as the
    preview answered it)."""

    order_number: str = Field(min_length=1, max_length=40)
    reason: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def storable(self) -> Self:
        if any(has_unstorable_characters(text) for text in _strings(self.model_dump())):
            raise ValueError("must not contain NUL bytes or lone surrogates")
        return self

    def request(self) -> ActionRequest:
        return ActionRequest.model_validate(self.model_dump())


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _refuse(exc: Exception, thread_id: str) -> NoReturn:
    """The HTTP answer to what stopped an action; anything else is raised as it is."""
    if isinstance(exc, ConversationNotFound):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no conversation {thread_id!r}") from None
    if isinstance(exc, CustomerUnknown):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "We don't know which customer this is yet: they haven't confirmed their account.",
        ) from None
    if isinstance(exc, ActionNotAllowed):
        code = status.HTTP_404_NOT_FOUND if exc.refusal.code == "not_found" else status.HTTP_422_UNPROCESSABLE_CONTENT
        raise HTTPException(code, {"message": exc.message, "refusal": exc.refusal.model_dump()}) from None
    if isinstance(exc, ShopRejected):
        raise HTTPException(status.HTTP_409_CONFLICT, f"The shop's order system refused it: {exc.message}") from None
    if isinstance(exc, OrderSourceUnavailable):
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "The shop's order system is not answering. Nothing was changed; try again in a moment.",
            {"Retry-After": "30"},
        ) from None
    raise exc


@router.post("/conversations/{thread_id}/actions/preview")
async def preview_action(thread_id: str, body: ActionIn, _: OperatorDep, desk: DeskDep) -> ActionPreview:
    """What the action would change on the conversation's customer's order and what money it
    moves, under the shop's policy; nothing is changed. 422 with the policy's reason when it
    does not allow it; 404 for an order that is not this customer's; 409 when the customer is
    not identified."""
    try:
        return await desk.actions.preview(thread_id, body.request())
    except (ConversationNotFound, CustomerUnknown, ActionNotAllowed, OrderSourceUnavailable) as exc:
        _refuse(exc, thread_id)


@router.post("/conversations/{thread_id}/actions")
async def do_action(
    thread_id: str,
    body: ActionIn,
    operator: OperatorDep,
    desk: DeskDep,
    response: Response,
    idempotency_key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            min_length=8,
            max_length=200,
            description="One per confirmation: sent again, the action is not done again; the same answer comes back.",
        ),
    ],
) -> ActionDone:
    """Do the action on the conversation's customer's order, as this operator. The customer is
    not messaged (reply as usual); the transcript and every operator's live view show the action.
    Errors as for the preview, and 409 when the shop's own order API refuses it, 503 when it
    does not answer."""
    try:
        done = await desk.actions.perform(thread_id, body.request(), key=idempotency_key, operator=operator)
    except (ConversationNotFound, CustomerUnknown, ActionNotAllowed, ShopRejected, OrderSourceUnavailable) as exc:
        _refuse(exc, thread_id)
    if done.repeated:
        response.headers[REPLAYED_HEADER] = "true"
    return done


@router.get("/actions")
async def actions(
    _: OperatorDep, components: ComponentsDep, days: Annotated[int, Query(ge=1, le=365)] = 7
) -> ActionStats:
    """Actions on orders over the last `days` days: counts by kind and by who (the bot, each
    operator), and the latest ones with their order and conversation."""
    return await action_stats(components.pool, days=days)
