"""Versioned SQL migrations for the app's own tables, applied once each at start-up."""

from __future__ import annotations

import logging
from importlib import resources

from procrastinate.schema import SchemaManager

from carebot.db.pool import Pool

log = logging.getLogger(__name__)

# Any constant works; it only has to be the same in every process sharing the database.
_MIGRATION_LOCK_KEY = 7_310_420_001


def migration_files() -> list[tuple[str, str]]:
    """(version, SQL) for every migration shipped with the package, in order."""
    folder = resources.files("carebot.db") / "migrations"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in files]


async def apply_migrations(pool: Pool) -> list[str]:
    """Apply the migrations this database has not seen yet; return their versions.

    An advisory lock makes concurrent start-ups (several app processes) apply each one once;
    each migration commits together with its row in schema_migrations.
    """
    applied: list[str] = []
    async with pool.connection() as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK_KEY,))
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur = await conn.execute("SELECT version FROM schema_migrations")
            done = {row["version"] for row in await cur.fetchall()}
            for version, sql in migration_files():
                if version in done:
                    continue
                async with conn.transaction():
                    # A migration holds several statements, which cannot be a prepared statement.
                    await conn.execute(sql, prepare=False)  # type: ignore[arg-type]  # trusted, shipped SQL
                    await conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
                log.info("migration_applied", extra={"version": version})
                applied.append(version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK_KEY,))
    return applied


async def pending_migrations(pool: Pool) -> list[str]:
    """Versions shipped with the package but not yet applied (for the readiness check)."""
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
        row = await cur.fetchone()
        done: set[str] = set()
        if row and row["present"]:
            cur = await conn.execute("SELECT version FROM schema_migrations")
            done = {r["version"] for r in await cur.fetchall()}
    return [version for version, _ in migration_files() if version not in done]


async def apply_job_queue_schema(pool: Pool) -> None:
    """Create procrastinate's tables once (several processes may start together)."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7310420003)")
        cur = await conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present")
        row = await cur.fetchone()
        if not (row and row["present"]):
            await conn.execute(SchemaManager.get_schema(), prepare=False)
