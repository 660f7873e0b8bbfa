"""What every `carebot` subcommand shares: the console, JSON output, and running async work
on the database or on everything a turn needs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from carebot.db.scope import DEFAULT_TENANT_SLUG, TenantRef, tenant_scope
from carebot.logs import configure_logging
from carebot.settings import Settings, get_settings

if TYPE_CHECKING:
    from carebot.composition import Components
    from carebot.db.pool import Pool

console = Console()
errors = Console(stderr=True)
T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
TENANT_ENV = "CAREBOT_TENANT"
TenantOption = Annotated[
    str | None,
    typer.Option(
        "--tenant",
        envvar=TENANT_ENV,
        help="The shop to work on, by its slug (`carebot tenants list`).",
        show_default="default",
    ),
]


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into a normal exit, as Ctrl-C already is. uvicorn re-raises the signal it
    caught once it has shut down; with the default handler the process would die there, before
    the exit hooks that stop the embedded PostgreSQL it started."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, default=str))


def say(text: str, **style: Any) -> None:
    """Print plain text (no Rich markup or highlighting: customer text is not markup)."""
    console.print(text, markup=False, highlight=False, **style)


async def open_tenant(pool: Pool, slug: str | None) -> TenantRef:
    """The tenant a command works for: `slug`, else CAREBOT_TENANT, else the default one; an
    unknown slug ends the command (exit 2) before anything is read or written."""
    slug = slug or os.environ.get(TENANT_ENV) or DEFAULT_TENANT_SLUG
    async with pool.connection() as conn:  # `tenants` is the platform's table: no scope needed
        cur = await conn.execute("SELECT id, slug FROM tenants WHERE slug = %s", (slug,))
        row = await cur.fetchone()
    if row is None:
        errors.print(f"No tenant with the slug {slug!r}: see `carebot tenants list`.", markup=False)
        raise typer.Exit(2)
    return TenantRef(row["id"], row["slug"])


def with_components(
    work: Callable[[Components], Awaitable[T]], *, settings: Settings | None = None, tenant: str | None = None
) -> T:
    """Run `work` with the whole agent open (database, models, graph), on `settings` (by default
    the configured ones), in the scope of the tenant named `tenant` (see `open_tenant`)."""
    settings = settings or get_settings()
    configure_logging("WARNING")

    from carebot.composition import open_components  # the graph's libraries: only commands that run turns

    async def run() -> T:
        async with open_components(settings) as components:
            with tenant_scope(await open_tenant(components.pool, tenant)):
                return await work(components)

    try:
        return asyncio.run(run())
    finally:
        # A short-lived process must hand its LangSmith traces over before it exits.
        from langchain_core.tracers.langchain import wait_for_all_tracers

        wait_for_all_tracers()


def with_database(
    work: Callable[[Pool, Settings], Awaitable[T]], *, seed: bool = False, tenant: str | None = None
) -> T:
    """Run `work` on the migrated database, without loading any model, in the scope of the tenant
    named `tenant` (see `open_tenant`); `seed` loads the demo shop into an empty database when the
    settings allow it."""
    settings = get_settings()
    settings = settings.model_copy(update={"seed_demo_data": seed and settings.seeds_demo_data})
    configure_logging("WARNING")

    from carebot.composition import open_database

    async def run() -> T:
        async with open_database(settings) as pool:
            with tenant_scope(await open_tenant(pool, tenant)):
                return await work(pool, settings)

    return asyncio.run(run())
