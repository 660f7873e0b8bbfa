"""Discord interactions: Ed25519-verified, PING → PONG, `/chat` deferred and answered later."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from carebot.api.deps import ComponentsDep, InboxDep, JobsDep, acknowledging
from carebot.db.scope import enter_tenant
from carebot.delivery.inbox import InboundMessage, Inbox
from carebot.delivery.jobs import JobQueue
from carebot.tenants.channels import discord_channel, enabled_tenant

log = logging.getLogger(__name__)
# Acknowledgements go before this process's turns (AckFirst).
router = APIRouter(prefix="/webhooks/discord", tags=["discord"], dependencies=[Depends(acknowledging)])
# A tenant's own Discord application posts here; `{tenant}` is its slug.
tenant_router = APIRouter(prefix="/webhooks/discord/{tenant}", tags=["discord"], dependencies=[Depends(acknowledging)])

PING, APPLICATION_COMMAND = 1, 2
PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE = 1, 4, 5
# A signed request older (or newer) than this is refused: a captured request cannot be replayed later.
MAX_AGE_SECONDS = 300


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")  # Discord adds fields without notice


class _User(_Loose):
    id: str = Field(min_length=1, max_length=32)


class _Member(_Loose):
    user: _User | None = None


class _Option(_Loose):
    name: str
    value: str | int | float | bool | None = None


class _CommandData(_Loose):
    name: str = ""
    options: list[_Option] = []


class Interaction(_Loose):
    """The parts of a Discord interaction the bot reads; a wrong shape is a 400, not a 500."""

    type: int
    id: str | None = Field(default=None, max_length=32)
    application_id: str | None = Field(default=None, max_length=32)
    token: str | None = Field(default=None, max_length=1000)
    data: _CommandData | None = None
    member: _Member | None = None
    user: _User | None = None


def is_fresh(timestamp: str, *, now: float | None = None) -> bool:
    """The signed timestamp is within MAX_AGE_SECONDS of now."""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    return abs((now if now is not None else time.time()) - int(timestamp)) <= MAX_AGE_SECONDS


def signature_valid(public_key: str | None, signature: str, timestamp: str, body: bytes) -> bool:
    """Ed25519 over timestamp + the raw body, as Discord signs it, and signed in the last minutes."""
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    if not public_key or not signature or not is_fresh(timestamp):
        return False
    try:
        VerifyKey(bytes.fromhex(public_key)).verify(timestamp.encode() + body, bytes.fromhex(signature))
    except (BadSignatureError, ValueError):
        return False
    return True


def verified_interaction(request: Request, public_key: str | None, body: bytes) -> Interaction:
    """The interaction in `body`, once its Ed25519 signature checks out with `public_key` (401
    otherwise, as Discord expects) and it parses (400 otherwise)."""
    if not signature_valid(
        public_key,
        request.headers.get("x-signature-ed25519", ""),
        request.headers.get("x-signature-timestamp", ""),
        body,
    ):
        log.warning("signature_rejected", extra={"channel": "discord"})
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid request signature")
    try:
        return Interaction.model_validate_json(body)
    except (ValidationError, RecursionError):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "body must be a Discord interaction (JSON with a type)"
        ) from None


@router.post("")
async def interaction(request: Request, components: ComponentsDep, inbox: InboxDep, jobs: JobsDep) -> dict[str, Any]:
    """The default tenant's interactions, signed with the deployment's DISCORD_PUBLIC_KEY."""
    body = await request.body()  # the raw bytes: re-serialised JSON would not verify
    return await answer(verified_interaction(request, components.settings.discord_public_key, body), inbox, jobs)


@tenant_router.post("")
async def tenant_interaction(
    tenant: str, request: Request, components: ComponentsDep, inbox: InboxDep, jobs: JobsDep
) -> dict[str, Any]:
    """A tenant's interactions: signed with its application's public key (401 otherwise) and
    naming that application (403 otherwise: a key does not let one app speak for another's)."""
    registry = components.tenants
    shop = await enabled_tenant(registry, tenant)
    channel = await discord_channel(registry, shop.id)
    if channel is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"the shop {tenant!r} has no Discord application")
    public_key = channel.config.get("public_key")
    body = await request.body()
    received = verified_interaction(request, public_key if isinstance(public_key, str) else None, body)
    if received.application_id != channel.address:
        log.warning("application_not_the_tenants", extra={"channel": "discord", "tenant": tenant})
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the interaction is for another application")
    enter_tenant(shop.ref)
    return await answer(received, inbox, jobs)


async def answer(interaction: Interaction, inbox: Inbox, jobs: JobQueue) -> dict[str, Any]:
    """PING → PONG; `/chat` stored, deferred and answered in the background; anything else a hint."""
    if interaction.type == PING:
        return {"type": PONG}
    data = interaction.data
    if interaction.type != APPLICATION_COMMAND or data is None or data.name != "chat":
        return {
            "type": CHANNEL_MESSAGE,
            "data": {"content": "Unknown command: try /chat q:<your question>", "flags": 64},
        }
    question = next((str(o.value or "") for o in data.options if o.name == "q"), "")
    user = (interaction.member.user if interaction.member else None) or interaction.user
    if not question.strip() or user is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "/chat needs a q option and a user")
    if not (interaction.id and interaction.application_id and interaction.token):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "an application command needs id, application_id and token")
    message = InboundMessage(
        channel="discord",
        external_id=interaction.id,
        sender=user.id,
        body=question[:4000],
        # The follow-ups go to this application's webhook with the interaction's own token.
        payload={"application_id": interaction.application_id, "token": interaction.token},
    )
    accepted = await inbox.accept(message)
    if accepted.inbox_id is not None:
        await jobs.answer_soon(accepted.thread_id, after=accepted.answer_after)
    if accepted.notice_queued:  # over the shop's quota: the one notice that a person will reply
        await jobs.send_soon(accepted.thread_id)
    return {"type": DEFERRED_CHANNEL_MESSAGE}
