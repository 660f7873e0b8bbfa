"""The job queue's workers: they stop when the app shuts down even if a cancellation is lost,
and a job notified while a worker was fetching runs without waiting for the next poll."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from fastapi import FastAPI
from procrastinate import App
from procrastinate.manager import JobManager
from procrastinate.testing import InMemoryConnector

from carebot.api.app import create_app
from carebot.delivery.jobs import new_worker
from tests.conftest import settings_for


async def test_the_app_shuts_down_even_when_its_workers_lose_their_cancellation(
    empty_database_url: str, monkeypatch: Any
) -> None:
    # On Python 3.11, a task cancelled just as psycopg_pool hands it the connection it queued
    # for gets the connection and no CancelledError (asyncio.wait_for, CPython gh-86296). A
    # worker starting up queues for one to prune stalled workers; here that step loses every
    # cancellation the same way, every time, instead of 1 shutdown in 10.
    starting = 0
    both_starting = asyncio.Event()  # the turns' worker and the sends'
    real_prune = JobManager.prune_stalled_workers

    async def prune_losing_the_cancellation(self: JobManager, seconds_since_heartbeat: float) -> Any:
        nonlocal starting
        starting += 1
        if starting == 2:
            both_starting.set()
        # What wait_for does when the connection arrives with the cancellation: it returns.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.get_running_loop().create_future()  # until cancelled
        return await real_prune(self, seconds_since_heartbeat)

    monkeypatch.setattr(JobManager, "prune_stalled_workers", prune_losing_the_cancellation)
    app: FastAPI = create_app(settings_for(empty_database_url, seed_demo_data=False))

    async def start_then_shut_down() -> None:
        async with app.router.lifespan_context(app):
            await both_starting.wait()

    lifespan = asyncio.create_task(start_then_shut_down())
    done, _ = await asyncio.wait({lifespan}, timeout=60)
    if not done:  # cancel again what lost its cancellation, so the failure does not hang the loop's teardown
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()
        pytest.fail("the app's shutdown hung on a worker that lost its cancellation")
    lifespan.result()


class ListeningConnector(InMemoryConnector):
    """procrastinate's in-memory connector (a defer notifies at once), telling when a worker listens."""

    def __init__(self) -> None:
        super().__init__()
        self.listening = asyncio.Event()

    async def listen_notify(self, on_notification: Any, channels: Any) -> None:
        await super().listen_notify(on_notification, channels)
        self.listening.set()


async def test_a_job_notified_during_a_fetch_runs_without_waiting_for_the_poll() -> None:
    connector = ListeningConnector()
    app = App(connector=connector)
    ran = asyncio.Event()

    @app.task(queue="q", name="arrived")
    async def arrived() -> None:
        ran.set()

    real_fetch = app.job_manager.fetch_job
    fetches = 0

    async def fetch_during_which_a_job_arrives(queues: Any, worker_id: int) -> Any:
        nonlocal fetches
        fetches += 1
        job = await real_fetch(queues=queues, worker_id=worker_id)
        if fetches == 1:
            assert job is None
            async with asyncio.timeout(5):  # the worker's listener starts alongside its first fetch
                await connector.listening.wait()
            # Committed after the fetch's query ran: its notification comes while the fetch is
            # still under way, and the worker clears its "new job" flag once the fetch returns.
            await arrived.defer_async()
        return job

    async with app.open_async():
        worker = new_worker(app, queues=["q"], fetch_job_polling_interval=60, install_signal_handlers=False)
        app.job_manager.fetch_job = fetch_during_which_a_job_arrives  # type: ignore[method-assign]
        running = asyncio.create_task(worker.run())  # type: ignore[no-untyped-call]
        try:
            async with asyncio.timeout(10):  # well before the 60 s poll would find it
                await ran.wait()
        finally:
            worker.stop()  # type: ignore[no-untyped-call]
            await running
    assert fetches >= 2
