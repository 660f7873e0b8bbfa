"""FastAPI dependencies: what the lifespan opened, as Annotated aliases.

Dependencies are `async def` even when they do no I/O: FastAPI runs a plain `def` one on a
worker thread, a hop that costs more than the dependency itself on every request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from carebot.composition import Components
from carebot.db.scope import DEFAULT_TENANT, enter_tenant
from carebot.delivery.acks import AckFirst
from carebot.delivery.inbox import Inbox
from carebot.delivery.jobs import JobQueue
from carebot.desk.desk import Desk


async def get_components(request: Request) -> Components:
    components: Components = request.app.state.components
    return components


ComponentsDep = Annotated[Components, Depends(get_components)]


async def get_inbox(request: Request) -> Inbox:
    inbox: Inbox = request.app.state.inbox
    return inbox


InboxDep = Annotated[Inbox, Depends(get_inbox)]


async def get_jobs(request: Request) -> JobQueue:
    jobs: JobQueue = request.app.state.jobs
    return jobs


JobsDep = Annotated[JobQueue, Depends(get_jobs)]


async def acknowledging(request: Request) -> AsyncIterator[None]:
    """A webhook's whole handling: this process's turns wait for it (`AckFirst`)."""
    acks: AckFirst = request.app.state.acks
    with acks.acknowledging():
        yield


async def get_desk(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


DeskDep = Annotated[Desk, Depends(get_desk)]


async def in_default_tenant() -> None:
    """The default tenant's scope for the request (the old single-shop URLs serve it)."""
    enter_tenant(DEFAULT_TENANT)
