"""Who is calling the operator API, and for which shop: a signed-in operator (session cookie from
`/admin/login`) in the shop their session works in, with their role there; or automation holding
`ADMIN_TOKEN` (`Authorization: Bearer …`), an admin of the default shop or of the one its
`X-Carebot-Tenant` header names; 401 otherwise.

`current_operator` is the operator routers' own dependency: it opens the shop's tenant scope for
the rest of the request, so every query after it sees that shop's rows only. An operator who no
longer works in any enabled shop gets 403. The session's shop is chosen at sign-in (the one used
last, else the first by name) and changed with `POST /admin/me/tenant` (the app's tenant picker).

The cookie is HttpOnly and SameSite=Strict, and a request that changes something with it must
also carry `X-CSRF-Token` (a keyed hash of the session, handed to the app by `GET /admin/me`),
so another site cannot act in an operator's name. The sign-in form itself is refused when the
browser says it was posted from another origin, and too many unsuccessful tries of one email or
from one client address are answered 429 with Retry-After, whether or not the account exists
(`OperatorAccounts.sign_in`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import replace
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Cookie, Depends, Form, Header, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from carebot.api.deps import ComponentsDep
from carebot.composition import Components
from carebot.db.scope import DEFAULT_TENANT_SLUG, enter_tenant
from carebot.desk.operators import Operator, OperatorAccounts, Shop, SignInThrottled

OPERATOR_COOKIE = "carebot_operator"
CSRF_HEADER = "X-CSRF-Token"
TENANT_HEADER = "X-Carebot-Tenant"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_AUTOMATION = Operator(id=None, name="Automation", email=None, role="admin")

_bearer = HTTPBearer(auto_error=False, description="ADMIN_TOKEN, for automation")


def csrf_token(key: bytes, session_token: str) -> str:
    return hmac.new(key, f"csrf:{session_token}".encode(), hashlib.sha256).hexdigest()


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, {"WWW-Authenticate": "Bearer"})


async def current_operator(
    request: Request,
    components: ComponentsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: Annotated[str | None, Cookie(alias=OPERATOR_COOKIE)] = None,
    tenant: Annotated[
        str | None,
        Header(
            alias=TENANT_HEADER,
            max_length=40,
            description="ADMIN_TOKEN: the shop's slug; a session: the shop the page shows (409 if not now).",
        ),
    ] = None,
) -> Operator:
    """The operator behind the request, in their shop's tenant scope from here on; a
    cookie-authenticated change needs the CSRF header (403)."""
    if credentials is not None:
        _check_admin_token(components, credentials)
        return await _automation_in(components, tenant or DEFAULT_TENANT_SLUG)
    if not session:
        raise _unauthorized("sign in at /admin/login, or send Authorization: Bearer <ADMIN_TOKEN>")
    account = await OperatorAccounts(components.pool).session_operator(session)
    if account is None:
        raise _unauthorized("the session has ended: sign in again")
    if request.method not in _SAFE_METHODS:
        expected = csrf_token(components.signing_key, session)
        if not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), expected):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"missing or wrong {CSRF_HEADER}")
    if account.shop is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "you no longer work in any shop here: ask a shop's admin")
    if tenant is not None and tenant not in (account.shop.slug, str(account.shop.tenant_id)):
        # The page was showing another shop (switched in another tab, or removed from it): it
        # reloads rather than mix one shop's screen with another's answers.
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"this session now works in {account.shop.name}: reload the page",
            {TENANT_HEADER: account.shop.slug},
        )
    enter_tenant(account.shop.ref)
    return account


def _check_admin_token(components: Components, credentials: HTTPAuthorizationCredentials) -> None:
    token = components.settings.admin_token
    if token is None:
        raise _unauthorized("bearer tokens are disabled: set ADMIN_TOKEN, or sign in at /admin/login")
    if not secrets.compare_digest(credentials.credentials.encode(), token.get_secret_value().encode()):
        raise _unauthorized("a valid admin bearer token (ADMIN_TOKEN) is required")


async def _automation_in(components: Components, slug: str) -> Operator:
    """The admin token acts as an admin of the shop `slug` (the deployment's token is trusted
    with every shop, as the CLI is)."""
    found = await components.tenants.by_slug(slug)
    if found is None or not found.enabled:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no shop {slug!r} (the {TENANT_HEADER} header)")
    shop = Shop(tenant_id=found.id, slug=found.slug, name=found.name, role="admin")
    enter_tenant(shop.ref)
    return replace(_AUTOMATION, shop=shop)


async def outside_any_tenant() -> None:
    """Sign-in and the app's pages touch only the platform's tables (accounts, sessions): no shop."""
    enter_tenant(None)


OperatorDep = Annotated[Operator, Depends(current_operator)]


async def require_admin_role(operator: OperatorDep) -> Operator:
    """Shop admins (and the admin token) manage the help centre; agents may not."""
    if operator.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only shop admins may do this")
    return operator


router = APIRouter(prefix="/admin", tags=["operators"])


def _same_origin(request: Request) -> bool:
    """The sign-in form came from this site (or from no browser page at all, e.g. curl)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    return urlsplit(origin).netloc == request.headers.get("host", "")


@router.post("/login", include_in_schema=True)
async def login(
    request: Request,
    components: ComponentsDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    """Sign in with the form of `/admin/login`: a session cookie and a redirect to the inbox
    (303), back to the form with an error, or 429 with Retry-After after too many tries."""
    if not _same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "sign in from this site's own sign-in page")
    accounts = OperatorAccounts(components.pool)
    client = request.client.host if request.client else "unknown"
    account = await accounts.sign_in(email, password, client=client)
    if isinstance(account, SignInThrottled):
        return _too_many_tries(account.retry_after)
    if account is None:
        return RedirectResponse("/admin/login?error=1", status_code=status.HTTP_303_SEE_OTHER)
    assert account.id is not None
    shops = await accounts.shops(account.id)
    if not shops:
        return RedirectResponse("/admin/login?error=no-shop", status_code=status.HTTP_303_SEE_OTHER)
    lasts = timedelta(hours=components.settings.operator_session_hours)
    # The shop used last (or the first by name); the app's tenant picker changes it.
    token = await accounts.start_session(account, lasts=lasts, shop=shops[0])
    response = RedirectResponse("/admin", status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        OPERATOR_COOKIE,
        token,
        max_age=int(lasts.total_seconds()),
        path="/admin",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def _too_many_tries(retry_after: int) -> HTMLResponse:
    """The answer to a throttled sign-in: a page the browser shows (the form was posted), 429."""
    minutes = max(1, -(-retry_after // 60))
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in — carebot inbox</title>'
        '<link rel="stylesheet" href="/admin/assets/app.css"></head><body class="login"><main class="login-card">'
        f'<h1>Customer inbox</h1><p class="error">Too many sign-in attempts. Try again in {minutes} minute'
        f'{"s" if minutes > 1 else ""}.</p><p><a href="/admin/login">Back to sign-in</a></p></main></body></html>'
    )
    return HTMLResponse(page, status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(retry_after)})
