"""Twilio WhatsApp: the inbound-message webhook and the status callback."""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from carebot.api.deps import ComponentsDep, InboxDep, JobsDep, acknowledging
from carebot.delivery.channels.whatsapp import record_delivery_status
from carebot.delivery.inbox import InboundMessage
from carebot.domain import E164
from carebot.settings import Settings

log = logging.getLogger(__name__)
# Acknowledgements go before this process's turns (AckFirst).
router = APIRouter(prefix="/webhooks/whatsapp", tags=["whatsapp"], dependencies=[Depends(acknowledging)])

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# Twilio message SIDs: SM (or MM for media) and 32 hex digits. Checking the shape stops a signed
# request from being replayed with its fields re-split (the signature covers names and values
# run together, so "NumMedia=0" can be moved into the end of MessageSid to make a "new" SID).
_MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-f]{32}")
_WHATSAPP_SENDER = re.compile(rf"whatsapp:{E164.pattern}")
_STATUS = re.compile(r"[a-z_]{1,32}")
_MAX_MEDIA = 10


def public_url(request: Request, settings: Settings) -> str:
    """The URL Twilio called (and signed): behind a proxy or tunnel the app sees another one."""
    if settings.public_base_url:
        url = settings.public_base_url.rstrip("/") + request.url.path
    elif settings.trust_proxy:
        proto = request.headers.get("x-forwarded-proto", request.url.scheme).split(",")[0].strip()
        host = request.headers.get("x-forwarded-host", request.headers.get("host", "")).split(",")[0].strip()
        url = f"{proto}://{host}{request.url.path}"
    else:
        url = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
    return f"{url}?{request.url.query}" if request.url.query else url


async def verified_params(request: Request, settings: Settings) -> dict[str, str]:
    """The form Twilio posted, once its `X-Twilio-Signature` checks out (403 otherwise)."""
    form = await request.form()  # Starlette answers a malformed multipart body with 400
    params = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    if settings.twilio_validate_signature:
        from twilio.request_validator import RequestValidator

        token = settings.twilio_auth_token
        signature = request.headers.get("x-twilio-signature", "")
        url = public_url(request, settings)
        if (
            token is None
            or not signature
            or not RequestValidator(token.get_secret_value()).validate(url, params, signature)
        ):
            log.warning("signature_rejected", extra={"channel": "whatsapp", "url": url})
            raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or invalid X-Twilio-Signature")
    return params


def required(params: dict[str, str], *names: str) -> list[str]:
    """The named form fields, or 400 naming them when any is missing."""
    if not all(params.get(name) for name in names):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{' and '.join(names)} are required")
    return [params[name] for name in names]


def message_sid(params: dict[str, str]) -> str:
    """The MessageSid, when it looks like one of Twilio's (400 otherwise)."""
    [sid] = required(params, "MessageSid")
    if not _MESSAGE_SID.fullmatch(sid):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "MessageSid must be SM or MM followed by 32 hex digits")
    return sid


def media_count(params: dict[str, str]) -> int:
    """NumMedia as a small number (Twilio sends 0–10); anything else is refused with 400."""
    declared = params.get("NumMedia", "0")
    if not (declared.isascii() and declared.isdigit() and len(declared) <= 2):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "NumMedia must be a number from 0 to 10")
    return min(int(declared), _MAX_MEDIA)


@router.post("", response_class=Response)
async def inbound(request: Request, components: ComponentsDep, inbox: InboxDep, jobs: JobsDep) -> Response:
    """Store the message, acknowledge at once with empty TwiML, answer in the background."""
    params = await verified_params(request, components.settings)
    sid = message_sid(params)
    [sender] = required(params, "From")
    if not _WHATSAPP_SENDER.fullmatch(sender):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "From must be whatsapp:+<E.164 number>")
    # Media are recorded, never fetched: the bot answers text, and asks for text otherwise.
    media = [
        {"url": params.get(f"MediaUrl{i}", ""), "content_type": params.get(f"MediaContentType{i}", "")}
        for i in range(media_count(params))
    ]
    message = InboundMessage(
        channel="whatsapp",
        external_id=sid,
        sender=sender,
        body=params.get("Body", "")[:4000],
        payload={"reply_to": sender, "media": media, "message_type": params.get("MessageType", "")},
    )
    accepted = await inbox.accept(message)
    if accepted.inbox_id is not None:
        await jobs.answer_soon(accepted.thread_id, after=accepted.answer_after)
    if accepted.notice_queued:  # over the shop's quota: the one notice that a person will reply
        await jobs.send_soon(accepted.thread_id)
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/status", response_class=Response)
async def status_callback(request: Request, components: ComponentsDep) -> Response:
    """Twilio's delivery status for a reply (queued, sent, delivered, read, failed, undelivered)."""
    params = await verified_params(request, components.settings)
    sid = message_sid(params)
    [state] = required(params, "MessageStatus")
    if not _STATUS.fullmatch(state):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "MessageStatus must be one of Twilio's status words")
    error_code = params.get("ErrorCode", "")
    await record_delivery_status(
        components.pool,
        sid,
        state,
        error_code if error_code.isascii() and error_code.isdigit() and len(error_code) <= 10 else None,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
