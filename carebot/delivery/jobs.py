"""The job queue: turns and sends as procrastinate jobs on the app's own Postgres.

- `answer_conversation(thread_id)`: answers the conversation's pending inbox messages. Its
  `lock` is the conversation, so one turn runs at a time per conversation, in order, across
  every worker process (LangGraph would let two runs fork a thread's checkpoints); its
  `queueing_lock` is the conversation too, so at most one waits (it reads every pending message).
- `send_replies(thread_id)`: sends the conversation's queued parts in order, on its own queue
  and worker slots, so a provider that hangs never holds up turns; after a transient failure it
  defers itself again after a backoff pause.
- `sweep` (periodic): re-runs jobs of dead workers, defers jobs for messages nobody has picked
  up (e.g. accepted while the database was failing over), drops expired Discord tokens, and runs
  the hand-over timers (tell customers nobody took that they wait; return conversations no
  operator is answering, or whose operator signed out).
- `retention` (hourly): deletes idle conversations and old inbox/outbox rows, transcripts and events.

No job holds a database connection while a model or a provider is awaited: the queue's locks
are rows in its own tables, not session advisory locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued, UniqueViolation
from procrastinate.job_context import JobContext
from procrastinate.jobs import Status
from procrastinate.worker import Worker
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from carebot.db.pool import CheckedWhenIdle, Pool
from carebot.db.retention import (
    delete_expired_operator_sessions,
    delete_idle_threads,
    delete_old_events,
    delete_old_messages,
    delete_old_transcripts,
    forget_expired_interaction_tokens,
    prune_thread,
)
from carebot.db.scope import TenantRef, tenant_scope
from carebot.db.tenant_list import for_each_tenant
from carebot.delivery.acks import AckFirst
from carebot.delivery.answering import PendingTurns
from carebot.delivery.outbox import Outbox, SendLater
from carebot.settings import Settings
from carebot.threads import tenant_of

log = logging.getLogger(__name__)

TURNS, SENDS, MAINTENANCE = "turns", "sends", "maintenance"
# Someone waiting on the web chat goes before a backlog of WhatsApp messages.
WEB_PRIORITY = 10
# Sends get their own slots: a provider that hangs holds these, never the turns'.
_SEND_CONCURRENCY = 32


async def wake_fetch_after_job(call_next: Callable[[], Awaitable[Any]], context: JobContext, worker: Worker) -> Any:
    """Worker middleware: fetch again as soon as a job is recorded finished.

    procrastinate fetches on a new job's notification or after its polling interval; a job that
    was notified while it waited for this job's lock (the same conversation's next message) would
    otherwise sit until the next poll. The job's task ends once its status is persisted, and the
    lock is free from then on.
    """
    task = asyncio.current_task()
    new_job = getattr(worker, "_new_job_event", None)  # procrastinate 3.x's fetch trigger (see new_worker)
    if task is not None and new_job is not None:
        task.add_done_callback(lambda _: new_job.set())
    return await call_next()


class KeepsLateWakeups(asyncio.Event):
    """procrastinate's "new job" event for a worker, minus a lost wake-up.

    The worker clears the event after every fetch, so a job notified while a fetch was under
    way (the query ran before the job was committed) waited for the next poll, which with 8 web
    users at once was most of their wait. Here `clear()` forgets only the notifications the fetch
    it follows could have seen (those before the worker woke up, or before the previous clear);
    one that came during the fetch keeps the event set, and the worker fetches once more.

    It replaces the private `Worker._new_job_event`: procrastinate (3.10) has no public way to
    wake a worker or to keep a notification across a fetch. The clear after every fetch came
    with its single fetch loop (procrastinate-org/procrastinate#1114, "refactor worker", in
    3.0); no upstream issue reports the lost wake-up yet. `new_worker` is the one place that
    installs it; tests/test_job_queue.py shows the wake-up kept.
    """

    def __init__(self) -> None:
        super().__init__()
        self._notified = 0
        self._seen = 0

    def set(self) -> None:
        self._notified += 1
        super().set()

    async def wait(self) -> Literal[True]:
        await super().wait()
        self._seen = self._notified  # the worker fetches next: it sees these
        return True

    def clear(self) -> None:
        if self._notified == self._seen:
            super().clear()
        self._seen = self._notified


def new_worker(app: App, **options: Any) -> Worker:
    """A procrastinate worker of `app` (`options` as `Worker` takes them) that keeps a wake-up
    arriving during a fetch (`KeepsLateWakeups`)."""
    worker = Worker(app=app, **options)
    worker._new_job_event = KeepsLateWakeups()  # private in procrastinate 3.x: see KeepsLateWakeups
    return worker


# A notification lost anyway (e.g. while the LISTEN connection reconnects) waits this long at most;
# an idle worker pays about five small queries a second.
_FETCH_POLL_SECONDS = 0.2

# A turn that failed (a model outage, a bug) is tried again after this pause; each message gives
# up after MAX_TURN_ATTEMPTS failures, so a broken conversation does not spin.
_TURN_RETRY_SECONDS = 5.0


async def _autocommit(conn: AsyncConnection[Any]) -> None:
    await conn.set_autocommit(True)


def _checked_when_idle_pool(**options: Any) -> AsyncConnectionPool[Any]:
    return AsyncConnectionPool(**{**options, "check": CheckedWhenIdle()})


def thread_tenant(thread_id: str) -> TenantRef:
    """A job's tenant: the one its thread id names (built on the server, so it is the one the
    message came for). A thread id naming none is a bug, not a tenant to guess."""
    tenant = tenant_of(thread_id)
    if tenant is None:
        raise ValueError(f"thread id {thread_id!r} names no tenant")
    return TenantRef(tenant)


class JobQueue:
    """Defers and runs the jobs above; dependencies are injected, tasks registered per instance."""

    def __init__(
        self,
        pool: Pool,
        answering: PendingTurns,
        outbox: Outbox,
        settings: Settings,
        *,
        acks: AckFirst | None = None,
        timers: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._pool = pool
        self._acks = acks
        self._answering = answering
        self._outbox = outbox
        self._settings = settings
        self.timers = timers
        """The hand-over timers the sweep runs (the desk's, which wakes conversations through this queue)."""
        # The queue's own connections: its workers LISTEN for new jobs on one of them. Autocommit:
        # each of its queries is one call of a database function, atomic by itself, so the BEGIN
        # and COMMIT around it would only add two round trips to every defer, fetch and finish.
        # Checked like the app's (procrastinate checks every connection it takes: a round trip).
        self.app = App(
            connector=PsycopgConnector(
                conninfo=pool.conninfo,
                min_size=1,
                max_size=4,
                kwargs={"prepare_threshold": 0},
                configure=_autocommit,
                timeout=30,
                pool_factory=_checked_when_idle_pool,
            )
        )
        # No task uses procrastinate's retry: a retried job becomes "todo" again, and when the same
        # conversation already has a waiting job the queueing lock's unique index refuses it,
        # leaving the job "doing" for ever with the conversation's lock held. A job that must run
        # again defers a new one after a pause instead (or leaves it to the one already waiting).
        self._answer = self.app.task(name="answer_conversation", queue=TURNS)(self._answer_conversation)
        self._send = self.app.task(
            name="send_replies",
            queue=SENDS,
        )(self._send_replies)
        sweep = self.app.task(name="sweep", queue=MAINTENANCE)(self._sweep_task)
        self.app.periodic(cron=f"* * * * * */{settings.sweep_seconds}", periodic_id="sweep")(sweep)
        retention = self.app.task(name="retention", queue=MAINTENANCE)(self._retention_task)
        self.app.periodic(cron="17 * * * *", periodic_id="retention")(retention)
        # Stopping is a request kept here, not only a cancellation: see stop_workers.
        self._stopping = asyncio.Event()
        self._running: set[Worker] = set()

    async def answer_soon(self, thread_id: str, *, priority: int = 0, after: float = 0) -> None:
        """Have the conversation's pending messages answered (by any worker, in order)."""
        await self._defer(self._answer, thread_id, lock=f"turn:{thread_id}", priority=priority, after=after)

    async def send_soon(self, thread_id: str, *, after: float = 0) -> None:
        await self._defer(self._send, thread_id, lock=f"send:{thread_id}", after=after)

    async def sweep(self) -> None:
        """Re-run jobs whose worker died, defer jobs for work nobody has picked up, forget expired
        Discord tokens and run the hand-over timers. Each step runs even if another failed."""
        for step in (
            self._retry_stalled_jobs,
            self._defer_forgotten_work,
            self._forget_expired_tokens,
            self.run_handover_timers,
        ):
            try:
                await step()
            except Exception:
                log.exception("sweep_step_failed", extra={"step": step.__name__})

    async def _retry_stalled_jobs(self) -> None:
        manager = self.app.job_manager
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=self._settings.stalled_after_seconds):
            try:
                await manager.retry_job(job)
                log.warning("stalled_job_retried", extra={"task": job.task_name, "job_id": job.id})
            except UniqueViolation:
                # The conversation already has a job of this kind waiting (the queueing lock): it
                # reads everything the dead one would have. Closing the dead one frees the lock.
                await manager.finish_job(job, status=Status.FAILED, delete_job=True)
                log.warning("stalled_job_superseded", extra={"task": job.task_name, "job_id": job.id})

    async def _defer_forgotten_work(self) -> None:
        await for_each_tenant(self._pool, self._defer_tenants_forgotten_work)

    async def _defer_tenants_forgotten_work(self) -> None:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT DISTINCT thread_id FROM inbox WHERE status = 'pending'")
            unanswered = [r["thread_id"] for r in await cur.fetchall()]
        for thread_id in unanswered:
            await self.answer_soon(thread_id)
        for thread_id in await self._outbox.unsent_threads():
            await self.send_soon(thread_id)

    async def _forget_expired_tokens(self) -> None:
        await for_each_tenant(self._pool, lambda: forget_expired_interaction_tokens(self._pool))

    async def run_handover_timers(self) -> None:
        if self.timers is not None:
            await for_each_tenant(self._pool, self.timers)

    def stop_workers(self) -> None:
        """Have this process's workers stop for good: each finishes the jobs it is running (as on
        a cancellation), and `run_workers` returns once both have.

        Cancelling `run_workers` does this too. A cancellation alone could be lost: on Python
        3.11, a task cancelled just as psycopg_pool hands it the connection it queued for gets the
        connection and no CancelledError (asyncio.wait_for, python/cpython#86296, fixed only in
        3.12; psycopg/psycopg#1345, #1413). A worker cancelled while registering (it queues for
        one of the job queue's four connections) then ran on, and the task group waiting for it
        hung the app's shutdown, 1 run in 10 of the knowledge admin tests. A request is state, read
        where each worker (re)starts and by the worker's own loop (`Worker.stop`), so it holds
        whenever it comes."""
        self._stopping.set()
        for worker in self._running:
            worker.stop()  # type: ignore[no-untyped-call]  # procrastinate leaves it unannotated

    async def run_workers(self, *, concurrency: int) -> None:
        """Run this process's workers until cancelled or `stop_workers()`: turns and maintenance on
        `concurrency` slots, sends on slots of their own. A database outage restarts them."""
        await self.sweep()
        if self._stopping.is_set():  # asked to stop during the sweep (a cancellation may be lost there too)
            return
        options: dict[str, Any] = {
            "install_signal_handlers": False,
            "delete_jobs": "successful",  # the inbox and outbox are the record; jobs are work
            "update_heartbeat_interval": self._settings.job_heartbeat_seconds,
            "stalled_worker_timeout": self._settings.stalled_after_seconds,
            "fetch_job_polling_interval": _FETCH_POLL_SECONDS,
            "worker_middleware": [wake_fetch_after_job],
        }
        turn_options = options
        if self._acks is not None:
            turn_options = {**options, "worker_middleware": [wake_fetch_after_job, self._after_acks]}
        # A task group, not gather: cancelled, gather finishes as soon as one worker has stopped
        # and leaves the other shutting down on a pool its caller is about to close (a test's
        # loop teardown hung on it); a task group waits for both.
        async with asyncio.TaskGroup() as workers:
            workers.create_task(
                self._supervised(queues=[TURNS, MAINTENANCE], concurrency=concurrency, name="turns", **turn_options)
            )
            workers.create_task(
                self._supervised(queues=[SENDS], concurrency=_SEND_CONCURRENCY, name="sends", **options)
            )
            try:
                await self._stopping.wait()
            except asyncio.CancelledError:
                self.stop_workers()
                raise

    async def _after_acks(self, call_next: Callable[[], Awaitable[Any]], context: JobContext, worker: Worker) -> Any:
        """Worker middleware: a turn starts once the webhooks being handled are acknowledged."""
        if self._acks is not None and context.job.queue == TURNS:
            await self._acks.before_turn()
        return await call_next()

    async def _supervised(self, **options: Any) -> None:
        # procrastinate stops a worker whose LISTEN connection fails (e.g. the database restarted);
        # only a stop (shutdown) ends ours. Between registering a worker and its run() starting
        # there is no await, so a stop_workers() always finds it in _running or finds it unborn.
        while not self._stopping.is_set():
            worker = new_worker(self.app, **options)
            self._running.add(worker)
            try:
                await worker.run()  # type: ignore[no-untyped-call]  # procrastinate leaves it unannotated
                if not self._stopping.is_set():
                    log.warning("worker_stopped", extra={"worker": options["name"]})
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker_failed", extra={"worker": options["name"]})
            finally:
                self._running.discard(worker)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):  # a pause before a restart, cut short by a stop
                    await self._stopping.wait()

    async def _defer(self, task: Any, thread_id: str, *, lock: str, priority: int = 0, after: float = 0) -> None:
        # A job already waiting reads every pending row when it runs: one is enough.
        options: dict[str, Any] = {"lock": lock, "queueing_lock": lock, "priority": priority}
        if after > 0:
            options["schedule_in"] = {"seconds": after}
        with contextlib.suppress(AlreadyEnqueued):
            await task.configure(**options).defer_async(thread_id=thread_id)

    async def _answer_conversation(self, thread_id: str) -> None:
        with tenant_scope(thread_tenant(thread_id)):
            await self._answer_in_scope(thread_id)

    async def _answer_in_scope(self, thread_id: str) -> None:
        sends = [thread_id]  # after a failure: whatever was queued before it
        try:
            sends = await self._answering.answer_all(thread_id)
            # Bounded storage as part of the turn: the thread is small again before its reply goes.
            await prune_thread(self._pool, thread_id, keep=self._settings.checkpoints_kept)
        except Exception:
            log.exception("turn_will_be_retried", extra={"thread_id": thread_id})
            await self.answer_soon(thread_id, after=_TURN_RETRY_SECONDS)
        finally:
            for key in sends:  # whatever was answered goes out, even if a later turn failed
                await self.send_soon(key)

    async def _send_replies(self, thread_id: str) -> None:
        with tenant_scope(thread_tenant(thread_id)):
            try:
                await self._outbox.send_pending(thread_id)
            except SendLater as exc:
                await self.send_soon(thread_id, after=exc.after)

    async def _sweep_task(self, timestamp: int) -> None:
        await self.sweep()

    async def _retention_task(self, timestamp: int) -> None:
        await for_each_tenant(self._pool, self._tenants_retention)
        await delete_expired_operator_sessions(self._pool)

    async def _tenants_retention(self) -> None:
        await delete_idle_threads(self._pool, idle_days=self._settings.thread_ttl_days)
        await delete_old_messages(self._pool, older_than_days=self._settings.message_retention_days)
        await delete_old_transcripts(self._pool, older_than_days=self._settings.transcript_retention_days)
        await delete_old_events(self._pool)


class EmbeddedWorkers:
    """`carebot serve`'s workers: a task on the API's own event loop, sharing its pool and graph.

    They used to run on a loop of their own in a second thread, so that a burst of turns would
    not queue acknowledgements behind it. In one interpreter that made the two loops contend for
    the GIL at every wake-up instead, and one loop measured better on everything (`make bench`,
    same code otherwise): 500 WhatsApp conversations answered in 15.9 s instead of 17.3 s, a web
    chat during them in 2.4 s instead of 3.3 s, acks no slower (p50 0.36 s instead of 0.45 s), a
    lone `/chat` turn 18 ms instead of 20 ms. The models warm up first, their files read in a
    thread: the API is ready (accepting and storing messages) meanwhile.
    """

    def __init__(self, warm_up: Callable[[], Awaitable[None]], jobs: JobQueue, *, concurrency: int) -> None:
        self._warm_up = warm_up
        self._jobs = jobs
        self._concurrency = concurrency
        self._task: asyncio.Task[None] | None = None

    @property
    def failure(self) -> BaseException | None:
        """What stopped the workers, if anything did (readiness reports it)."""
        if self._task is None or not self._task.done() or self._task.cancelled():
            return None
        return self._task.exception()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="carebot-workers")

    async def stop(self) -> None:
        """Stop the workers: the jobs they are running finish first (procrastinate's graceful
        stop); a start still warming the models up is cancelled."""
        self._jobs.stop_workers()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        try:
            await self._warm_up()
            await self._jobs.run_workers(concurrency=self._concurrency)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("workers_failed")
            raise
