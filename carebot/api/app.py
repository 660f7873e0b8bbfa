"""The FastAPI application: `create_app()` and the lifespan that owns the running components."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from psycopg import OperationalError
from psycopg_pool import PoolTimeout

from carebot import __version__
from carebot.api import (
    admin,
    admin_pages,
    admin_tenants,
    chat,
    discord,
    health,
    live_events,
    operator_actions,
    operator_auth,
    operator_inbox,
    whatsapp,
)
from carebot.api.deps import in_default_tenant
from carebot.api.input_errors import install_input_errors
from carebot.api.limits import BodySizeLimit
from carebot.api.live_events import EventHub
from carebot.api.operator_auth import current_operator, outside_any_tenant
from carebot.api.web_identity import web_site
from carebot.composition import embedded_workers, open_components, open_delivery
from carebot.db.notifications import Notifications
from carebot.delivery.acks import AckFirst
from carebot.delivery.inbox import ANSWERED_CHANNEL, AnswerSignals, Inbox
from carebot.settings import Settings, get_settings
from carebot.tenants.channels import TenantDisabled, UnknownTenant
from carebot.tenants.quotas import RateLimited

log = logging.getLogger(__name__)


def _lifespan(settings: Settings, *, with_worker: bool) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """What the app opens for its life: the components, the job queue and desk (with this
    process's workers unless `with_worker` is off), the inbox and the live events' listener."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        signals = AnswerSignals()
        app.state.acks = acks = AckFirst()
        async with (
            # Ready before the models are: its workers warm them up first (EmbeddedWorkers).
            open_components(settings, warm_up=False) as components,
            open_delivery(components, on_answered=signals.answered, acks=acks) as delivery,
        ):
            app.state.components, app.state.jobs, app.state.desk = components, delivery.jobs, delivery.desk
            app.state.inbox = Inbox(
                components.pool,
                components.turns.thread_id,
                signals,
                quotas=components.quotas,
                shops=components.shop_settings,
            )
            app.state.event_hub = hub = EventHub()
            notifications = Notifications(str(components.pool.conninfo))
            notifications.on(live_events.CHANNEL, hub.wake)
            notifications.on(ANSWERED_CHANNEL, signals.poke)
            listening = asyncio.create_task(notifications.run())
            workers = embedded_workers(components, delivery.jobs) if with_worker else None
            app.state.workers = workers
            if workers is not None:
                workers.start()
            try:
                yield
            finally:
                listening.cancel()
                if workers is not None:
                    await workers.stop()

    return lifespan


def create_app(settings: Settings | None = None, *, with_worker: bool = True) -> FastAPI:
    """The app; the database, checkpointer and graph open in its lifespan, not here. With
    `with_worker` the process also runs the job queue's workers (`carebot serve`); without,
    it only accepts messages and others answer them (`carebot serve --no-worker`)."""
    settings = settings or get_settings()

    app = FastAPI(title="carebot", version=__version__, lifespan=_lifespan(settings, with_worker=with_worker))
    app.include_router(health.router)
    app.include_router(admin_tenants.router)  # the platform's, in no tenant's scope: platform admins only
    default_tenant = [Depends(in_default_tenant)]
    # The web chat's shop is the one its X-Site-Key names (the default tenant without one).
    app.include_router(chat.router, dependencies=[Depends(web_site)])
    # Sign-in and the app's pages read only the platform's tables (no shop); the operator API
    # works in the shop of the operator's session (or the admin token's header).
    no_tenant, operators_shop = [Depends(outside_any_tenant)], [Depends(current_operator)]
    app.include_router(operator_auth.router, dependencies=no_tenant)
    app.include_router(operator_inbox.router, dependencies=operators_shop)
    app.include_router(operator_actions.router, dependencies=operators_shop)
    app.include_router(live_events.router, dependencies=operators_shop)
    app.include_router(admin_pages.router, dependencies=no_tenant)
    app.include_router(admin.router, dependencies=operators_shop)
    app.include_router(whatsapp.router, dependencies=default_tenant)
    app.include_router(discord.router, dependencies=default_tenant)
    # A tenant's routes find their tenant from what the provider signed (tenants/channels.py).
    app.include_router(whatsapp.tenant_router)
    app.include_router(discord.tenant_router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    install_input_errors(app)

    @app.exception_handler(PoolTimeout)
    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # Nothing was stored half-way (each write is one statement or one transaction): the
        # channel retries (Twilio, Discord) or the person sends again (web).
        log.error("database_unavailable", extra={"path": request.url.path, "error": type(exc).__name__})
        return JSONResponse(
            {"detail": "the service is briefly unavailable; try again"}, status_code=503, headers={"Retry-After": "5"}
        )

    @app.exception_handler(TenantDisabled)
    async def tenant_disabled(request: Request, exc: Exception) -> JSONResponse:
        # Nothing is stored: a provider that retries gets the same answer until the shop is back.
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(UnknownTenant)
    async def unknown_tenant(request: Request, exc: Exception) -> JSONResponse:
        # A route's slug or a web chat's site key that names no shop.
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(RateLimited)
    async def tenant_rate_limited(request: Request, exc: Exception) -> JSONResponse:
        wait = exc.retry_after if isinstance(exc, RateLimited) else 60
        return JSONResponse(
            {"detail": f"this shop receives too many messages just now: send yours again in {wait} seconds"},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/ui")

    return app
