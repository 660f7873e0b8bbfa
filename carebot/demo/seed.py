"""Loading the demo shop and its help centre into an empty database."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from carebot.db.pool import Pool
from carebot.demo.shop import generate_demo_shop
from carebot.shop.help_centre.ingest import upsert_document
from carebot.shop.help_centre.loaders import load_file
from carebot.shop.importer import write_shop

log = logging.getLogger(__name__)


async def seed_demo_shop(pool: Pool) -> int:
    """Import the demo shop (catalogue, customers, orders) unless the shop already has customers.

    It goes in through the same import as any shop's files, plus what only the demo has: its
    shipments' events. Returns how many orders were inserted (0 when the shop had data). Concurrent
    callers are serialised by a transaction-level advisory lock, so the shop is seeded once.
    """
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7310420002)")
        cur = await conn.execute("SELECT EXISTS (SELECT 1 FROM customers) AS seeded")
        row = await cur.fetchone()
        if row and row["seeded"]:
            return 0
        # Generated only when needed: every start-up passes through here.
        shop = generate_demo_shop(today=datetime.now(UTC).date())
        counts = await write_shop(conn, shop.data)
        async with conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO shipment_events (order_id, happened_at, status, location, description)"
                " SELECT id, %s, %s, %s, %s FROM orders WHERE number = %s",
                [(*event, number) for number, events in shop.events.items() for event in events],
            )
    log.info("demo_shop_seeded", extra={"customers": counts.customers, "orders": counts.orders})
    return counts.orders


def demo_help_centre_files() -> list[tuple[Path, str]]:
    """(file, language) for every article of the demo help centre."""
    root = Path(str(resources.files("carebot.demo") / "help_centre"))
    return [(f, f.parent.name) for f in sorted(root.glob("*/*.md"))]


async def seed_demo_help_centre(pool: Pool) -> int:
    """Ingest the demo help centre when the knowledge base is empty; return articles stored."""
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT EXISTS (SELECT 1 FROM kb_documents) AS seeded")
        row = await cur.fetchone()
    if row and row["seeded"]:
        return 0
    stored = 0
    # Files are listed and read in a thread: `langgraph dev` (Studio) refuses blocking calls on its loop.
    for path, language in await asyncio.to_thread(demo_help_centre_files):
        # Named by their path inside the package, as they have always been (eval datasets cite them).
        source = f"demo/help_centre/{language}/{path.name}"
        documents, _ = await asyncio.to_thread(load_file, path, source=source, language=language)
        for document in documents:
            stored += await upsert_document(pool, document) != "unchanged"
    log.info("demo_help_centre_ingested", extra={"documents": stored})
    return stored


# The demo's operator, so `make run` has someone to sign in at /admin as. Only ever created with
# the demo data (the embedded database, unless SEED_DEMO_DATA says otherwise).
DEMO_OPERATOR_EMAIL = "demo@carebot.local"
DEMO_OPERATOR_PASSWORD = "carebot-demo"


async def seed_demo_operator(pool: Pool) -> bool:
    """Add the demo operator (a shop admin) to a database without operators; True if added."""
    from carebot.desk.operators import OperatorAccounts, OperatorExists

    async with pool.connection() as conn:
        cur = await conn.execute("SELECT EXISTS (SELECT 1 FROM operators) AS present")
        row = await cur.fetchone()
    if row and row["present"]:
        return False
    try:
        await OperatorAccounts(pool).add(
            email=DEMO_OPERATOR_EMAIL, name="Demo operator", role="admin", password=DEMO_OPERATOR_PASSWORD
        )
    except OperatorExists:  # another process starting at the same moment added it
        return False
    return True
