"""The FastAPI application: `create_app()` and the lifespan that owns the running service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from carebot import __version__
from carebot.api import admin, chat, discord, health, whatsapp
from carebot.api.limits import BodySizeLimit
from carebot.channels.delivery import Delivery, trigger_words
from carebot.channels.senders import build_senders
from carebot.service import open_service
from carebot.settings import Settings, get_settings

# How often a process looks for messages nobody is answering (e.g. their process died).
_SWEEP_SECONDS = 30.0


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app; the database, checkpointer and graph open in its lifespan, not here."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_service(settings) as service:
            delivery = Delivery(
                service,
                build_senders(settings),
                triggers=trigger_words(settings.bot_trigger_words),
                send_attempts=settings.send_attempts,
                send_backoff=settings.send_backoff,
            )
            app.state.service, app.state.delivery = service, delivery
            # Whatever a previous process accepted but did not answer or send goes out now.
            resumed = asyncio.create_task(delivery.resume())
            sweeper = asyncio.create_task(delivery.sweep_forever(_SWEEP_SECONDS))
            try:
                yield
            finally:
                for task in (resumed, sweeper):
                    task.cancel()
                await asyncio.gather(resumed, sweeper, return_exceptions=True)
                await delivery.aclose()

    app = FastAPI(title="carebot", version=__version__, lifespan=lifespan)
    app.include_router(health.router)
    app.include_router(chat.router)
    app.include_router(admin.router)
    app.include_router(whatsapp.router)
    app.include_router(discord.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/ui")

    return app
