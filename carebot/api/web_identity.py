"""Who is writing on the web chat: an anonymous session, or a customer a shop's site vouches for.

A claimed id never grants anything. A visitor without a token is a session: a random id the
server signs and hands back (cookie and response body), which names no customer until the
visitor proves one with a one-time code. A shop's site that has signed its customer in passes
an identity token instead: a JWT (HS256, `WEB_IDENTITY_SECRET`) whose `sub` is the customer's
email or phone number and whose `exp` is required.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Cookie, Depends, Header, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from carebot.api.deps import ComponentsDep
from carebot.domain import E164
from carebot.shop.orders import ANONYMOUS_PREFIX

SESSION_COOKIE = "carebot_session"
SESSION_HEADER = "X-Session-Id"
SESSION_MAX_AGE = 30 * 24 * 3600
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")

_bearer = HTTPBearer(auto_error=False, description="A web identity token (JWT, HS256) signed by the shop's site.")


@dataclass(frozen=True, slots=True)
class WebVisitor:
    sender: str
    """The sender the conversation runs as: `session:<hash>` for a session, else the signed
    customer's email or phone number."""
    session_id: str | None
    """The session to hand back to the visitor; None for a signed identity."""


def _signature(key: bytes, token: str) -> str:
    return hmac.new(key, f"web-session:{token}".encode(), hashlib.sha256).hexdigest()[:32]


def new_session(key: bytes) -> str:
    """A fresh, unguessable session id, signed so that only ids this server issued are accepted."""
    token = secrets.token_urlsafe(24)
    return f"{token}.{_signature(key, token)}"


def session_is_valid(key: bytes, session_id: str) -> bool:
    token, _, signature = session_id.partition(".")
    return bool(token) and len(session_id) <= 200 and hmac.compare_digest(_signature(key, token), signature)


def session_sender(session_id: str) -> str:
    """The session as a sender: hashed, so the inbox and the logs never hold the session id itself."""
    return ANONYMOUS_PREFIX + hashlib.sha256(session_id.encode()).hexdigest()[:32]


def signed_customer(secret: str | None, token: str) -> str:
    """The customer (email or phone) a valid identity token names; 401 otherwise."""
    import jwt

    if not secret:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "identity tokens are not enabled: set WEB_IDENTITY_SECRET")
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.InvalidTokenError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, f"invalid identity token: {exc}", {"WWW-Authenticate": "Bearer"}
        ) from None
    subject = str(claims["sub"]).strip()
    if _EMAIL.fullmatch(subject):
        return subject.lower()
    if E164.fullmatch(subject):
        return subject
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the identity token's sub must be an email or +E.164 phone")


async def web_visitor(
    components: ComponentsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Cookie(alias=SESSION_COOKIE, include_in_schema=False)] = None,
    header: Annotated[str | None, Header(alias=SESSION_HEADER, description="The session_id a reply gave.")] = None,
) -> WebVisitor:
    """The visitor of a web request: a signed identity, the session they carry, or a new session
    (an unknown or forged session id starts a new one: it never joins someone else's)."""
    if credentials is not None:
        secret = components.settings.web_identity_secret
        customer = signed_customer(secret.get_secret_value() if secret else None, credentials.credentials)
        return WebVisitor(sender=customer, session_id=None)
    key = components.signing_key
    session_id = header or cookie
    if session_id is None or not session_is_valid(key, session_id):
        session_id = new_session(key)
    return WebVisitor(sender=session_sender(session_id), session_id=session_id)


WebVisitorDep = Annotated[WebVisitor, Depends(web_visitor)]
