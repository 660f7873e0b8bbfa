"""Twilio WhatsApp: the inbound-message webhook and the status callback."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, Response, status

from carebot.api.dependencies import ComponentsDep, InboxDep, JobsDep
from carebot.channels.inbox import InboundMessage
from carebot.channels.status import record_status
from carebot.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/whatsapp", tags=["whatsapp"])

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


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


@router.post("", response_class=Response)
async def inbound(request: Request, components: ComponentsDep, inbox: InboxDep, jobs: JobsDep) -> Response:
    """Store the message, acknowledge at once with empty TwiML, answer in the background."""
    params = await verified_params(request, components.settings)
    sid, sender = required(params, "MessageSid", "From")
    declared = params.get("NumMedia", "0")
    count = int(declared) if declared.isdigit() else 0
    # Media are recorded, never fetched: the bot answers text, and asks for text otherwise.
    media = [
        {"url": params.get(f"MediaUrl{i}", ""), "content_type": params.get(f"MediaContentType{i}", "")}
        for i in range(min(count, 10))
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
        await jobs.answer_soon(accepted.thread_id)
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/status", response_class=Response)
async def status_callback(request: Request, components: ComponentsDep) -> Response:
    """Twilio's delivery status for a reply (queued, sent, delivered, read, failed, undelivered)."""
    params = await verified_params(request, components.settings)
    sid, state = required(params, "MessageSid", "MessageStatus")
    await record_status(components.pool, sid, state, params.get("ErrorCode") or None)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
