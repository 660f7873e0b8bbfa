"""Twilio WhatsApp: the inbound-message webhook and the status callback."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from carebot.api.deps import ComponentsDep, InboxDep, JobsDep, acknowledging
from carebot.composition import Components
from carebot.db.scope import enter_tenant
from carebot.delivery.channels.whatsapp import record_delivery_status
from carebot.delivery.inbox import InboundMessage, Inbox
from carebot.delivery.jobs import JobQueue
from carebot.domain import E164
from carebot.settings import Settings
from carebot.tenants.channels import enabled_tenant, owned_by_account, whatsapp_channel

log = logging.getLogger(__name__)
# Acknowledgements go before this process's turns (AckFirst).
router = APIRouter(prefix="/webhooks/whatsapp", tags=["whatsapp"], dependencies=[Depends(acknowledging)])
# A tenant's own Twilio account signs these; `{tenant}` is its slug ("status" is the old route's).
tenant_router = APIRouter(
    prefix="/webhooks/whatsapp/{tenant}", tags=["whatsapp"], dependencies=[Depends(acknowledging)]
)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# Twilio message SIDs: SM (or MM for media) and 32 hex digits. Checking the shape stops a signed
# request from being replayed with its fields re-split (the signature covers names and values
# run together, so "NumMedia=0" can be moved into the end of MessageSid to make a "new" SID).
_MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-f]{32}")
_WHATSAPP_SENDER = re.compile(rf"whatsapp:{E164.pattern}")
_STATUS = re.compile(r"[a-z_]{1,32}")
_MAX_MEDIA = 10


@dataclass(frozen=True, slots=True)
class SignedForm:
    """A tenant's Twilio form, checked, and the channel (shop's number or service) it came through."""

    params: dict[str, str]
    via: str


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


async def posted_form(request: Request) -> dict[str, str]:
    """The form Twilio posted (not yet trusted)."""
    form = await request.form()  # Starlette answers a malformed multipart body with 400
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


def check_signature(request: Request, settings: Settings, token: str | None, params: dict[str, str]) -> None:
    """403 unless `X-Twilio-Signature` is Twilio's, with `token`, over the URL Twilio called."""
    from twilio.request_validator import RequestValidator

    signature = request.headers.get("x-twilio-signature", "")
    url = public_url(request, settings)
    if token is None or not signature or not RequestValidator(token).validate(url, params, signature):
        log.warning("signature_rejected", extra={"channel": "whatsapp", "url": url})
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or invalid X-Twilio-Signature")


async def verified_params(request: Request, settings: Settings) -> dict[str, str]:
    """The default tenant's form, once its signature checks out with the deployment's
    TWILIO_AUTH_TOKEN (403 otherwise)."""
    params = await posted_form(request)
    if settings.twilio_validate_signature:
        token = settings.twilio_auth_token
        check_signature(request, settings, token.get_secret_value() if token else None, params)
    return params


async def tenant_params(request: Request, components: Components, slug: str, *, shop_field: str) -> SignedForm:
    """A tenant route's form, trusted only when it is all the tenant's: the shop's number it names
    (`shop_field`, else its messaging service) is one of the tenant's WhatsApp channels, the
    signature checks out with that channel's auth token, and `AccountSid` owns that channel.
    Then the request works in the tenant's scope. 404/403 for an unknown/disabled tenant, 403
    for anything else (the signature is always checked here: it is what binds a request to a shop)."""
    registry = components.tenants
    tenant = await enabled_tenant(registry, slug)
    params = await posted_form(request)
    channel = await whatsapp_channel(
        registry,
        tenant.id,
        number=params.get(shop_field, ""),
        messaging_service_sid=params.get("MessagingServiceSid", ""),
    )
    if channel is None:
        log.warning("channel_not_the_tenants", extra={"channel": "whatsapp", "tenant": slug})
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{shop_field} is not one of this shop's WhatsApp numbers")
    check_signature(request, components.settings, (await registry.secrets_of(channel)).get("auth_token"), params)
    if not owned_by_account(channel, params.get("AccountSid", "")):
        log.warning("account_not_the_channels", extra={"channel": "whatsapp", "tenant": slug})
        raise HTTPException(status.HTTP_403_FORBIDDEN, "AccountSid does not own this shop's number")
    enter_tenant(tenant.ref)
    return SignedForm(params, via=channel.address)


async def tenant_inbound_form(request: Request, components: ComponentsDep, tenant: str) -> SignedForm:
    # An inbound message is addressed `To` the shop's number.
    return await tenant_params(request, components, tenant, shop_field="To")


async def tenant_status_form(request: Request, components: ComponentsDep, tenant: str) -> SignedForm:
    # A status callback is about a message sent `From` the shop's number.
    return await tenant_params(request, components, tenant, shop_field="From")


TenantInboundForm = Annotated[SignedForm, Depends(tenant_inbound_form)]
TenantStatusForm = Annotated[SignedForm, Depends(tenant_status_form)]


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
    """Store the message, acknowledge at once with empty TwiML, answer in the background (the
    default tenant, with the deployment's Twilio settings)."""
    return await accept_message(await verified_params(request, components.settings), inbox, jobs)


@tenant_router.post("", response_class=Response)
async def tenant_inbound(form: TenantInboundForm, inbox: InboxDep, jobs: JobsDep) -> Response:
    """A tenant's inbound message: stored and answered in the tenant's scope, the reply going out
    from the number it was sent to."""
    return await accept_message(form.params, inbox, jobs, via=form.via)


async def accept_message(params: dict[str, str], inbox: Inbox, jobs: JobQueue, *, via: str | None = None) -> Response:
    """Store the message, acknowledge at once with empty TwiML, answer in the background."""
    sid = message_sid(params)
    [sender] = required(params, "From")
    if not _WHATSAPP_SENDER.fullmatch(sender):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "From must be whatsapp:+<E.164 number>")
    # Media are recorded, never fetched: the bot answers text, and asks for text otherwise.
    media = [
        {"url": params.get(f"MediaUrl{i}", ""), "content_type": params.get(f"MediaContentType{i}", "")}
        for i in range(media_count(params))
    ]
    payload = {"reply_to": sender, "media": media, "message_type": params.get("MessageType", "")}
    message = InboundMessage(
        channel="whatsapp",
        external_id=sid,
        sender=sender,
        body=params.get("Body", "")[:4000],
        # `via`: the tenant's number the customer wrote to, which the replies go out from.
        payload=payload | ({"via": via} if via else {}),
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
    return await record_status(await verified_params(request, components.settings), components)


@tenant_router.post("/status", response_class=Response)
async def tenant_status_callback(form: TenantStatusForm, components: ComponentsDep) -> Response:
    """A tenant's delivery status: it can only touch that tenant's sent messages (its scope)."""
    return await record_status(form.params, components)


async def record_status(params: dict[str, str], components: Components) -> Response:
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
