"""The FastAPI application: `create_app()` and the lifespan that owns the running service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from carebot import __version__
from carebot.api import admin, chat, discord, health, whatsapp
from carebot.api.input_errors import install_input_errors
from carebot.api.limits import BodySizeLimit
from carebot.channels.answering import PendingTurns, trigger_words
from carebot.channels.consent import SenderControls
from carebot.channels.inbox import Inbox
from carebot.channels.outbox import Outbox
from carebot.channels.retention import forget_forever
from carebot.channels.senders import build_senders
from carebot.channels.worker import Worker
from carebot.composition import open_components
from carebot.settings import Settings, get_settings

# How often a process looks for messages nobody is answering (e.g. their process died).
_SWEEP_SECONDS = 30.0


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app; the database, checkpointer and graph open in its lifespan, not here."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_components(settings) as components:
            answering = PendingTurns(
                components.pool,
                components.turns,
                triggers=trigger_words(settings.bot_trigger_words),
                controls=SenderControls(components.pool, per_minute=settings.rate_limit_per_minute),
            )
            outbox = Outbox(
                components.pool,
                build_senders(settings),
                attempts=settings.send_attempts,
                backoff=settings.send_backoff,
            )
            worker = Worker(components.pool, answering, outbox)
            app.state.components, app.state.worker = components, worker
            app.state.inbox = Inbox(components.pool, components.turns.thread_id)
            # Whatever a previous process accepted but did not answer or send goes out now.
            resumed = asyncio.create_task(worker.resume())
            sweeper = asyncio.create_task(worker.sweep_forever(_SWEEP_SECONDS))
            retention = asyncio.create_task(forget_forever(components.pool, _SWEEP_SECONDS))
            try:
                yield
            finally:
                for task in (resumed, sweeper, retention):
                    task.cancel()
                await asyncio.gather(resumed, sweeper, retention, return_exceptions=True)
                await worker.aclose()

    app = FastAPI(title="carebot", version=__version__, lifespan=lifespan)
    app.include_router(health.router)
    app.include_router(chat.router)
    app.include_router(admin.router)
    app.include_router(whatsapp.router)
    app.include_router(discord.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    install_input_errors(app)

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/ui")

    return app
