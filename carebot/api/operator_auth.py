"""Who is calling the operator API: a signed-in operator (session cookie from `/admin/login`) or
automation holding `ADMIN_TOKEN` (`Authorization: Bearer …`); 401 otherwise.

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
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Cookie, Depends, Form, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from carebot.api.deps import ComponentsDep
from carebot.desk.operators import Operator, OperatorAccounts, SignInThrottled

OPERATOR_COOKIE = "carebot_operator"
CSRF_HEADER = "X-CSRF-Token"
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
) -> Operator:
    """The operator behind the request; a cookie-authenticated change needs the CSRF header (403)."""
    if credentials is not None:
        token = components.settings.admin_token
        given = credentials.credentials.encode()
        if token is None:
            raise _unauthorized("bearer tokens are disabled: set ADMIN_TOKEN, or sign in at /admin/login")
        if not secrets.compare_digest(given, token.get_secret_value().encode()):
            raise _unauthorized("a valid admin bearer token (ADMIN_TOKEN) is required")
        return _AUTOMATION
    if not session:
        raise _unauthorized("sign in at /admin/login, or send Authorization: Bearer <ADMIN_TOKEN>")
    account = await OperatorAccounts(components.pool).session_operator(session)
    if account is None:
        raise _unauthorized("the session has ended: sign in again")
    if request.method not in _SAFE_METHODS:
        expected = csrf_token(components.signing_key, session)
        if not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), expected):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"missing or wrong {CSRF_HEADER}")
    return account


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
    lasts = timedelta(hours=components.settings.operator_session_hours)
    token = await accounts.start_session(account, lasts=lasts)
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
