"""Malformed input gets a 4xx with a message, whatever it holds.

FastAPI's own 422 echoes each invalid input back; an input nested thousands deep (or holding
characters JSON cannot encode) then fails to render and turns into a 500. The 422 here says
where and what, without the input. Fields stored as text refuse what Postgres cannot hold.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator

from carebot.delivery.sanitise import clean_text, has_unstorable_characters


def _storable(value: str) -> str:
    if has_unstorable_characters(value):
        raise ValueError("must not contain NUL bytes or lone surrogates")
    return value


StorableStr = Annotated[str, AfterValidator(_storable)]
"""A string Postgres can store, else a 422."""


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 naming each problem's location and message, never echoing the input."""
    assert isinstance(exc, RequestValidationError)
    detail = [
        {
            "loc": [clean_text(str(part))[:100] for part in error.get("loc", ())][:10],
            "msg": clean_text(str(error.get("msg", "")))[:500],
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()[:20]
    ]
    return JSONResponse({"detail": detail}, status_code=422)


def install_input_errors(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
