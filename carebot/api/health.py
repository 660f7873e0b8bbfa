"""Liveness and readiness for load balancers and ops."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from carebot import __version__
from carebot.api.deps import ComponentsDep
from carebot.db.migrations import pending_migrations

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(components: ComponentsDep) -> dict[str, str]:
    """The process is up."""
    return {"status": "ok", "version": __version__, "model": components.models.description}


@router.get("/health/ready")
async def ready(components: ComponentsDep, request: Request) -> JSONResponse:
    """The database answers, every migration is applied, and this process's workers (if it runs
    any) have not failed; 503 otherwise. Messages are accepted (stored) from then on, while the
    workers may still be warming their models up."""
    workers = getattr(request.app.state, "workers", None)
    if workers is not None and workers.failure is not None:
        failure = f"failed: {type(workers.failure).__name__}"
        return JSONResponse({"status": "unavailable", "workers": failure}, status_code=503)
    try:
        pending = await pending_migrations(components.pool)
    except Exception as exc:  # any database failure means "not ready", with the reason
        return JSONResponse({"status": "unavailable", "database": f"error: {type(exc).__name__}"}, status_code=503)
    if pending:
        return JSONResponse({"status": "unavailable", "database": "ok", "pending_migrations": pending}, status_code=503)
    return JSONResponse({"status": "ready", "database": "ok"})
