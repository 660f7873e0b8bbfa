"""The operator web app, served by the app itself (no CDN): the sign-in page, and the inbox,
conversation and stats views, a small client over the operator API and its event stream."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Cookie, HTTPException, Path, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carebot.api.deps import ComponentsDep
from carebot.api.operator_auth import OPERATOR_COOKIE
from carebot.desk.operators import OperatorAccounts

router = APIRouter(prefix="/admin", include_in_schema=False)

_ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
# Pages and scripts come from this app only; the event stream and the API are same-origin.
_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"


@cache
def _asset(name: str) -> str:
    return (resources.files("carebot.api") / "static" / "admin" / name).read_text(encoding="utf-8")


def _page(name: str) -> HTMLResponse:
    return HTMLResponse(_asset(name), headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-store"})


@router.get("", response_class=HTMLResponse)
async def operator_app(
    components: ComponentsDep, session: Annotated[str | None, Cookie(alias=OPERATOR_COOKIE)] = None
) -> Response:
    """The inbox (signed-out visitors go to the sign-in page, as do operators of no shop)."""
    account = await OperatorAccounts(components.pool).session_operator(session) if session else None
    if account is None:
        return RedirectResponse("/admin/login", status_code=status.HTTP_303_SEE_OTHER)
    if account.shop is None:
        return RedirectResponse("/admin/login?error=no-shop", status_code=status.HTTP_303_SEE_OTHER)
    return _page("index.html")


@router.get("/login", response_class=HTMLResponse)
async def login_page() -> HTMLResponse:
    return _page("login.html")


@router.get("/assets/{name}")
async def asset(name: Annotated[str, Path(pattern=r"^[a-z0-9_-]+\.(js|css|svg)$")]) -> Response:
    suffix = name[name.rindex(".") :]
    try:
        text = _asset(name)
    except FileNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such asset") from None
    return Response(text, media_type=_ASSET_TYPES[suffix], headers={"Cache-Control": "no-cache"})
