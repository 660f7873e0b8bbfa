"""Who is writing on the web chat: an anonymous session, or a customer a shop's site vouches for.

A site key (`X-Site-Key`, a tenant's web channel address) names the shop; without one the
visitor talks to the default tenant. A claimed id never grants anything. A visitor without a
token is a session: a random id the server signs and hands back (cookie and response body),
which names no customer until the visitor proves one with a one-time code. A shop's site that
has signed its customer in passes an identity token instead: a JWT (HS256,
`WEB_IDENTITY_SECRET`) whose `sub` is the customer's email or phone number and whose `exp` is
required. A tenant's site signs with its web channel's `identity_secret`; the default tenant
with WEB_IDENTITY_SECRET. A session is signed for one shop: presented with another shop's site
key it is not valid there, and a new session starts.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from carebot.api.deps import ComponentsDep
from carebot.db.scope import DEFAULT_TENANT, DEFAULT_TENANT_ID, TenantRef, enter_tenant
from carebot.domain import E164
from carebot.shop.orders import ANONYMOUS_PREFIX
from carebot.tenants import channels
from carebot.tenants.registry import Channel, Tenant

SESSION_COOKIE = "carebot_session"
SESSION_HEADER = "X-Session-Id"
SITE_HEADER = "X-Site-Key"
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


@dataclass(frozen=True, slots=True)
class WebSite:
    """The shop a web chat request is for: the one its site key names, else the default tenant."""

    tenant: TenantRef
    shop: Tenant | None = None
    """The tenant's record (name, branding); None for the default tenant without a site key."""
    channel: Channel | None = None
    """The web channel the site key names; None without a site key."""

    @property
    def session_cookie(self) -> str:
        """A cookie per shop: a visitor of two shops' chats (on one carebot host) keeps both."""
        return SESSION_COOKIE if self.channel is None else f"{SESSION_COOKIE}_{self.tenant.id.hex}"


async def web_site(
    components: ComponentsDep,
    site_key: Annotated[
        str | None, Header(alias=SITE_HEADER, max_length=200, description="The shop's web chat site key.")
    ] = None,
) -> WebSite:
    """The request's shop (404 for an unknown site key, 403 for a disabled shop), whose scope the
    request then works in."""
    if not site_key:
        enter_tenant(DEFAULT_TENANT)
        return WebSite(DEFAULT_TENANT)
    tenant, channel = await channels.web_site(components.tenants, site_key)
    enter_tenant(tenant.ref)
    return WebSite(tenant.ref, tenant, channel)


WebSiteDep = Annotated[WebSite, Depends(web_site)]


def _signature(key: bytes, token: str, tenant: TenantRef) -> str:
    # The default tenant's sessions keep the form they had before tenants (still valid after the upgrade).
    scope = "" if tenant.id == DEFAULT_TENANT_ID else f"{tenant.id}:"
    return hmac.new(key, f"web-session:{scope}{token}".encode(), hashlib.sha256).hexdigest()[:32]


def new_session(key: bytes, tenant: TenantRef = DEFAULT_TENANT) -> str:
    """A fresh, unguessable session id, signed for the tenant, so that only ids this server issued
    for this shop are accepted."""
    token = secrets.token_urlsafe(24)
    return f"{token}.{_signature(key, token, tenant)}"


def session_is_valid(key: bytes, session_id: str, tenant: TenantRef = DEFAULT_TENANT) -> bool:
    token, _, signature = session_id.partition(".")
    return bool(token) and len(session_id) <= 200 and hmac.compare_digest(_signature(key, token, tenant), signature)


def session_sender(session_id: str) -> str:
    """The session as a sender: hashed, so the inbox and the logs never hold the session id itself."""
    return ANONYMOUS_PREFIX + hashlib.sha256(session_id.encode()).hexdigest()[:32]


def signed_customer(secret: str | None, token: str, *, secret_name: str = "WEB_IDENTITY_SECRET") -> str:
    """The customer (email or phone) a valid identity token names; 401 otherwise."""
    import jwt

    if not secret:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"identity tokens are not enabled: set {secret_name}")
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


async def identity_secret(components: ComponentsDep, site: WebSite) -> tuple[str | None, str]:
    """The secret a shop's site signs identity tokens with, and where it is set: the tenant's web
    channel's `identity_secret`, or (the default tenant) WEB_IDENTITY_SECRET."""
    if site.channel is not None:
        secret = (await components.tenants.secrets_of(site.channel)).get("identity_secret")
        if secret or site.tenant.id != DEFAULT_TENANT_ID:
            return secret, "the web channel's identity_secret"
    deployment = components.settings.web_identity_secret
    return (deployment.get_secret_value() if deployment else None), "WEB_IDENTITY_SECRET"


async def web_visitor(
    request: Request,
    components: ComponentsDep,
    site: WebSiteDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Header(alias=SESSION_HEADER, description="The session_id a reply gave.")] = None,
) -> WebVisitor:
    """The visitor of a web request: a signed identity, the session they carry, or a new session
    (an unknown or forged session id, or one another shop issued, starts a new one: it never joins
    someone else's conversation)."""
    if credentials is not None:
        secret, secret_name = await identity_secret(components, site)
        return WebVisitor(
            sender=signed_customer(secret, credentials.credentials, secret_name=secret_name), session_id=None
        )
    key = components.signing_key
    session_id = header or request.cookies.get(site.session_cookie)
    if session_id is None or not session_is_valid(key, session_id, site.tenant):
        session_id = new_session(key, site.tenant)
    return WebVisitor(sender=session_sender(session_id), session_id=session_id)


WebVisitorDep = Annotated[WebVisitor, Depends(web_visitor)]
