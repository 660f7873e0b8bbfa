"""The async connection pool shared by the checkpointer and the app's own queries."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

Pool = AsyncConnectionPool[AsyncConnection[DictRow]]

# AsyncPostgresSaver needs autocommit (its setup() runs CREATE INDEX CONCURRENTLY) and dict
# rows; prepare_threshold=0 keeps it working behind pgbouncer in transaction mode.
CONNECTION_KWARGS: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}


async def open_pool(url: str, *, max_size: int = 10) -> Pool:
    """Open a pool on `url` and wait until one connection works (fails fast on a bad URL)."""
    pool: Pool = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        kwargs=CONNECTION_KWARGS,
        open=False,
        connection_class=AsyncConnection[DictRow],
    )
    await pool.open(wait=True, timeout=30)
    return pool
