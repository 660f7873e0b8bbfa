"""Forgetting what is no longer needed: a Discord interaction token lets anyone holding it post
in the user's channel for 15 minutes, so the inbox drops it once that life is over."""

from __future__ import annotations

import asyncio
import logging

from carebot.db.pool import Pool

log = logging.getLogger(__name__)

DISCORD_TOKEN_LIFE_MINUTES = 15


async def forget_expired_interaction_tokens(pool: Pool) -> int:
    """Remove Discord interaction tokens older than their 15-minute life; return how many."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE inbox SET payload = payload - 'token' WHERE channel = 'discord' AND payload ? 'token'"
            " AND received_at < now() - make_interval(mins => %s)",
            (DISCORD_TOKEN_LIFE_MINUTES,),
        )
        forgotten = cur.rowcount
    if forgotten:
        log.info("interaction_tokens_forgotten", extra={"count": forgotten})
    return forgotten


async def forget_forever(pool: Pool, interval: float) -> None:
    """Run the retention jobs every `interval` seconds, for the life of the process."""
    while True:
        try:
            await forget_expired_interaction_tokens(pool)
        except Exception:
            log.exception("retention_failed")
        await asyncio.sleep(interval)
