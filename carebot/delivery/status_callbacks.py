"""Provider status callbacks: what became of a reply after the provider accepted it."""

from __future__ import annotations

import logging

from carebot.db.pool import Pool

log = logging.getLogger(__name__)


# Twilio's statuses in the order a message goes through them. Callbacks can arrive out of order
# (a late "sent" after "delivered"): a status only ever moves forward.
_PROGRESS = ["accepted", "scheduled", "queued", "sending", "sent", "delivered", "read"]
_FINAL = ["failed", "undelivered", "canceled"]


async def record_status(pool: Pool, provider_id: str, status: str, error_code: str | None) -> None:
    """A provider's status for a sent message (queued → sent → delivered → read, or failed/undelivered)."""
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE outbox SET status = %(status)s, error_code = coalesce(%(code)s, error_code), updated_at = now()"
            " WHERE provider_id = %(sid)s AND NOT status = ANY(%(final)s)"
            " AND coalesce(array_position(%(progress)s, status), 0)"
            " < coalesce(array_position(%(progress)s, %(status)s),"
            " CASE WHEN %(status)s = ANY(%(final)s) THEN 1000 END)",
            {"status": status, "code": error_code, "sid": provider_id, "progress": _PROGRESS, "final": _FINAL},
        )
    if status in ("failed", "undelivered"):
        log.error("twilio_send_error", extra={"provider_id": provider_id, "status": status, "error_code": error_code})
