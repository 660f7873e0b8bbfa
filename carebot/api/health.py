"""Liveness and readiness for load balancers and ops."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from carebot import __version__
from carebot.api.dependencies import ComponentsDep
from carebot.db.migrations import pending_migrations

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(components: ComponentsDep) -> dict[str, str]:
    """The process is up."""
    return {"status": "ok", "version": __version__, "model": components.models.description}


@router.get("/health/ready")
async def ready(components: ComponentsDep) -> JSONResponse:
    """The database answers and every migration is applied; 503 otherwise."""
    try:
        pending = await pending_migrations(components.pool)
    except Exception as exc:  # any database failure means "not ready", with the reason
        return JSONResponse({"status": "unavailable", "database": f"error: {type(exc).__name__}"}, status_code=503)
    if pending:
        return JSONResponse({"status": "unavailable", "database": "ok", "pending_migrations": pending}, status_code=503)
    return JSONResponse({"status": "ready", "database": "ok"})
