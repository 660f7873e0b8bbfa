"""What every section shares: the embedded PostgreSQL, a template database migrated and seeded
once by `carebot serve` itself, and a work directory for logs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.postgres import create_database, database_name
from bench.processes import carebot_env, carebot_serve


@dataclass(frozen=True)
class Lab:
    server_url: str
    template: str
    """A database with every migration applied and the demo shop loaded."""
    workdir: Path
    first_start_seconds: float
    """`carebot serve` to ready on an empty database (migrations and the demo shop included)."""
    ready_seconds: list[float] = field(default_factory=list)
    """`carebot serve` (offline model) to ready on an existing database, from every section that
    started one: the cold-start section only adds starts of its own up to the number it needs."""

    def fresh_database(self) -> str:
        """A new database with the demo shop, none of whose threads any other scenario touched."""
        return create_database(self.server_url, template=self.template)


async def prepare_lab(server_url: str, workdir: Path) -> Lab:
    url = create_database(server_url)
    async with carebot_serve(carebot_env(url), workdir, "template") as server:
        first_start = server.seconds_to_ready
    return Lab(server_url=server_url, template=database_name(url), workdir=workdir, first_start_seconds=first_start)
