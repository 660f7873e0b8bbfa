"""The async connection pool shared by the checkpointer and the app's own queries."""

from __future__ import annotations

import time
import weakref
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

Pool = AsyncConnectionPool[AsyncConnection[DictRow]]

# AsyncPostgresSaver needs autocommit (its setup() runs CREATE INDEX CONCURRENTLY) and dict
# rows; prepare_threshold=0 keeps it working behind pgbouncer in transaction mode.
CONNECTION_KWARGS: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}


class CheckedWhenIdle:
    """A pool `check`: a connection handed out within the last `fresh_for` seconds is taken as
    working; one idle for longer is tried with an empty query first.

    Checking every connection costs a round trip each time one is taken (a dozen per turn);
    the pool already discards a connection returned broken, so only those that sat idle
    through an outage need the query to be found out and replaced.
    """

    def __init__(self, fresh_for: float = 2.0) -> None:
        self._fresh_for = fresh_for
        self._handed_out: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()

    async def __call__(self, conn: AsyncConnection[Any]) -> None:
        now = time.monotonic()
        last = self._handed_out.get(conn)
        self._handed_out[conn] = now
        if last is not None and now - last < self._fresh_for and not conn.closed:
            return
        await AsyncConnectionPool.check_connection(conn)


async def open_pool(url: str, *, max_size: int = 20, acquire_timeout: float = 2.0) -> Pool:
    """Open a pool on `url` and wait until one connection works (fails fast on a bad URL).

    `acquire_timeout` bounds the wait for a connection: during a database outage a request fails within
    it (503) instead of hanging past Twilio's 15 s and Discord's 3 s. Connections idle for a while
    are checked when taken, so those broken by an outage are replaced and the app recovers
    without a restart.
    """
    pool: Pool = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        kwargs={**CONNECTION_KWARGS, "connect_timeout": 1},
        open=False,
        connection_class=AsyncConnection[DictRow],
        timeout=acquire_timeout,
        check=CheckedWhenIdle(),
    )
    await pool.open(wait=True, timeout=30)
    return pool
