"""Discord interactions: Ed25519-verified, PING → PONG, `/chat` deferred and answered later."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from carebot.api.dependencies import ComponentsDep, InboxDep, JobsDep
from carebot.channels.inbox import InboundMessage

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/discord", tags=["discord"])

PING, APPLICATION_COMMAND = 1, 2
PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE = 1, 4, 5


def signature_valid(public_key: str | None, signature: str, timestamp: str, body: bytes) -> bool:
    """Ed25519 over timestamp + the raw body, as Discord signs it."""
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    if not public_key or not signature or not timestamp:
        return False
    try:
        VerifyKey(bytes.fromhex(public_key)).verify(timestamp.encode() + body, bytes.fromhex(signature))
    except (BadSignatureError, ValueError):
        return False
    return True


@router.post("")
async def interaction(request: Request, components: ComponentsDep, inbox: InboxDep, jobs: JobsDep) -> dict[str, Any]:
    body = await request.body()  # the raw bytes: re-serialised JSON would not verify
    if not signature_valid(
        components.settings.discord_public_key,
        request.headers.get("x-signature-ed25519", ""),
        request.headers.get("x-signature-timestamp", ""),
        body,
    ):
        log.warning("signature_rejected", extra={"channel": "discord"})
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid request signature")
    try:
        payload = json.loads(body)
        kind = payload["type"]
    except (ValueError, KeyError, TypeError):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "body must be a Discord interaction (JSON with a type)"
        ) from None
    if kind == PING:
        return {"type": PONG}
    data = payload.get("data") or {}
    if kind != APPLICATION_COMMAND or data.get("name") != "chat":
        return {
            "type": CHANNEL_MESSAGE,
            "data": {"content": "Unknown command: try /chat q:<your question>", "flags": 64},
        }
    question = next((str(o.get("value", "")) for o in data.get("options") or [] if o.get("name") == "q"), "")
    user = (payload.get("member") or {}).get("user") or payload.get("user") or {}
    if not question.strip() or not user.get("id"):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "/chat needs a q option and a user")
    message = InboundMessage(
        channel="discord",
        external_id=str(payload["id"]),
        sender=str(user["id"]),
        body=question[:4000],
        payload={"application_id": str(payload["application_id"]), "token": str(payload["token"])},
    )
    accepted = await inbox.accept(message)
    if accepted.inbox_id is not None:
        await jobs.answer_soon(accepted.thread_id)
    return {"type": DEFERRED_CHANNEL_MESSAGE}
