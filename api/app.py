"""The FastAPI application: `create_app()` and the lifespan that owns the running service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from carebot import __version__
from carebot.api import admin, chat, health
from carebot.service import open_service
from carebot.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app; the database, checkpointer and graph open in its lifespan, not here."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_service(settings) as service:
            app.state.service = service
            yield

    app = FastAPI(title="carebot", version=__version__, lifespan=lifespan)
    app.include_router(health.router)
    app.include_router(chat.router)
    app.include_router(admin.router)

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/ui")

    return app
