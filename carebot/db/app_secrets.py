"""Secrets the app makes for itself: generated once per database, the same for every process."""

from __future__ import annotations

import secrets

from carebot.db.pool import Pool


async def app_secret(pool: Pool, name: str) -> str:
    """The secret `name`, created at random on first use (concurrent first uses agree on one)."""
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO app_secrets (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
            (name, secrets.token_hex(32)),
        )
        cur = await conn.execute("SELECT value FROM app_secrets WHERE name = %s", (name,))
        row = await cur.fetchone()
    assert row is not None  # inserted just above, or by whoever won the race
    return str(row["value"])
