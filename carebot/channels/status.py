"""Provider status callbacks: what became of a reply after the provider accepted it."""

from __future__ import annotations

import logging

from carebot.db.pool import Pool

log = logging.getLogger(__name__)


async def record_status(pool: Pool, provider_id: str, status: str, error_code: str | None) -> None:
    """A provider's status for a sent message (queued → sent → delivered → read, or failed/undelivered)."""
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE outbox SET status = %s, error_code = coalesce(%s, error_code), updated_at = now()"
            " WHERE provider_id = %s",
            (status, error_code, provider_id),
        )
    if status in ("failed", "undelivered"):
        log.error("twilio_send_error", extra={"provider_id": provider_id, "status": status, "error_code": error_code})
