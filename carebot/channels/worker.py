"""The worker: schedules each conversation's pending turns and sends, one thread at a time.

A thread's messages are answered in arrival order: an asyncio lock per thread inside a process,
and a Postgres advisory lock per thread across processes (LangGraph itself would let two runs
fork a thread's checkpoints). At start-up, and by a periodic sweep, it picks up whatever a
previous process accepted but did not answer or send.
"""

from __future__ import annotations

import asyncio
import logging

from carebot.channels.answering import PendingTurns
from carebot.channels.outbox import Outbox
from carebot.db.pool import Pool

log = logging.getLogger(__name__)

# Namespace of the per-thread advisory locks (the second key is the thread id's hash).
_THREAD_LOCK_SPACE = 7_310_420
_MAX_CONCURRENT_THREADS = 4


class Worker:
    """Answers and sends for threads in the background (`kick`) or right away (`process_thread`)."""

    def __init__(self, pool: Pool, answering: PendingTurns, outbox: Outbox) -> None:
        self._pool = pool
        self._answering = answering
        self._outbox = outbox
        self._thread_locks: dict[str, asyncio.Lock] = {}
        self._slots = asyncio.Semaphore(_MAX_CONCURRENT_THREADS)
        self._tasks: set[asyncio.Task[None]] = set()

    def kick(self, thread_id: str) -> None:
        """Answer the thread's pending messages in the background."""
        task = asyncio.create_task(self.process_thread(thread_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def process_thread(self, thread_id: str) -> None:
        """Answer every pending message of one thread, oldest first, then send what is unsent."""
        lock = self._thread_locks.setdefault(thread_id, asyncio.Lock())
        try:
            async with self._slots, lock, self._pool.connection() as lock_conn:
                await lock_conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (_THREAD_LOCK_SPACE, thread_id))
                try:
                    await self._answering.answer_all(thread_id)
                    await self._outbox.send_pending(thread_id)
                finally:
                    await lock_conn.execute(
                        "SELECT pg_advisory_unlock(%s, hashtext(%s))", (_THREAD_LOCK_SPACE, thread_id)
                    )
        except Exception:
            # The rows stay pending: the next kick or sweep tries again.
            log.exception("thread_processing_failed", extra={"thread_id": thread_id})
        finally:
            if not lock.locked():
                self._thread_locks.pop(thread_id, None)

    async def resume(self) -> int:
        """Answer and send whatever a previous process left behind; return how many threads."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT DISTINCT thread_id FROM inbox WHERE status = 'pending'"
                " UNION SELECT DISTINCT i.thread_id FROM outbox o JOIN inbox i ON i.id = o.inbox_id"
                " WHERE o.status = 'pending'"
            )
            threads = [r["thread_id"] for r in await cur.fetchall()]
        await asyncio.gather(*(self.process_thread(t) for t in threads))
        if threads:
            log.info("inbox_resumed", extra={"threads": len(threads)})
        return len(threads)

    async def sweep_forever(self, interval: float) -> None:
        """Resume periodically: catches messages whose process died before answering them."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.resume()
            except Exception:
                log.exception("sweep_failed")

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._outbox.aclose()
