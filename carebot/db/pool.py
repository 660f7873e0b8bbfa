"""The async connection pool shared by the checkpointer and the app's own queries."""

from __future__ import annotations

import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from carebot.db.scope import scoped_tenant

log = logging.getLogger(__name__)


class ScopedPool(AsyncConnectionPool[AsyncConnection[DictRow]]):
    """A pool whose connections work inside the current tenant's scope (`db/scope.py`).

    Inside a scope, a checkout is one transaction that starts by setting `app.tenant_id` for
    itself (`set_config(…, true)`: it ends with the transaction, so the next user of the pooled
    connection starts with none); the row-level security policies read it. A `conn.transaction()`
    inside becomes a savepoint. BEGIN and the setting go in one round trip, COMMIT in another.
    Outside any scope the connection is handed out as it is (autocommit) and sees no tenant's rows.
    """

    @asynccontextmanager
    async def connection(
        self,
        timeout: float | None = None,  # noqa: ASYNC109  # psycopg_pool's signature, overridden
    ) -> AsyncIterator[AsyncConnection[DictRow]]:
        async with super().connection(timeout) as conn:
            tenant = scoped_tenant()
            if tenant is None:
                yield conn
                return
            # A UUID's text is hex and dashes only: safe in the statement, which lets BEGIN and the
            # setting share one simple query (parameters would need a round trip of their own).
            await conn.execute(f"BEGIN; SELECT set_config('app.tenant_id', '{tenant.id}', true)", prepare=False)  # type: ignore[arg-type]
            try:
                yield conn
            except BaseException:
                # The block's own error is the one to raise: a connection lost with it cannot roll
                # back either, and the pool discards it when it comes back broken.
                with contextlib.suppress(psycopg.Error):
                    await conn.execute("ROLLBACK")
                raise
            if conn.pgconn.transaction_status == TransactionStatus.INERROR:
                # The block caught an error of its own and went on: nothing it did after can commit.
                log.warning("scoped_transaction_rolled_back", extra={"tenant": tenant.slug})
                await conn.execute("ROLLBACK")
            else:
                await conn.execute("COMMIT")


Pool = ScopedPool

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
    pool = ScopedPool(
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
