"""The composition root: database (migrated, and seeded with the demo shop where allowed),
models, knowledge base, order source and graph, opened and closed together.

The API's lifespan, the CLI, the Studio entry point and the worker all open it the same way;
nothing else builds these from settings.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph.state import CompiledStateGraph

from carebot.db.embedded import resolve_database_url
from carebot.db.migrations import apply_job_queue_schema, apply_migrations
from carebot.db.pool import Pool, open_pool
from carebot.demo.seed import seed_demo_help_centre, seed_demo_shop
from carebot.graph import GraphDeps, build_graph
from carebot.models.factory import Models, build_embedder, build_models
from carebot.settings import Settings
from carebot.tools.knowledge import (
    Embedder,
    KnowledgeBase,
    PostgresKnowledgeBase,
    bedrock_knowledge_base,
    check_embeddings_table,
    embed_pending_chunks,
)
from carebot.tools.order_api import HttpOrderSource
from carebot.tools.orders import OrderSource, PostgresOrderSource
from carebot.turns import TurnRunner

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Components:
    """Everything a process opens once and shares: the API, the CLI, Studio and the worker."""

    settings: Settings
    pool: Pool
    models: Models
    embedder: Embedder | None
    deps: GraphDeps
    """What the graph's nodes talk to (Studio builds its own graph over the same ones)."""
    graph: CompiledStateGraph[Any, Any, Any, Any]
    """The care graph on the Postgres checkpointer."""
    turns: TurnRunner


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Pool]:
    """The database, migrated (checkpoint tables included) and, if configured, seeded with the
    demo shop when empty. Ops commands that need no model open only this."""
    url = await resolve_database_url(settings.database_url, settings.data_dir)
    pool = await open_pool(url, max_size=settings.db_pool_max_size, acquire_timeout=settings.db_timeout)
    try:
        await AsyncPostgresSaver(pool).setup()  # type: ignore[arg-type]
        await apply_migrations(pool)
        await apply_job_queue_schema(pool)
        if settings.seed_demo_data:
            await seed_demo_shop(pool)
            await seed_demo_help_centre(pool)
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def open_order_source(settings: Settings, pool: Pool) -> AsyncIterator[OrderSource]:
    """The shop's order API when ORDERS_API_URL is set, else the database's orders."""
    if not settings.orders_api_url:
        yield PostgresOrderSource(pool)
        return
    source = HttpOrderSource(
        settings.orders_api_url,
        token=settings.orders_api_token.get_secret_value() if settings.orders_api_token else None,
        timeout=settings.orders_api_timeout,
        retries=settings.orders_api_retries,
    )
    try:
        yield source
    finally:
        await source.aclose()


async def open_knowledge_base(settings: Settings, pool: Pool, embedder: Embedder | None) -> KnowledgeBase:
    """Bedrock's Knowledge Base when KNOWLEDGE_BASE_ID is set; else the database's help centre,
    with every chunk embedded first when EMBEDDINGS is on."""
    if settings.knowledge_base_id:
        return bedrock_knowledge_base(
            settings.knowledge_base_id, region=settings.aws_region, endpoint_url=settings.bedrock_agent_endpoint_url
        )
    if embedder is not None:
        await check_embeddings_table(pool)
        embedded = await embed_pending_chunks(pool, embedder)
        if embedded:
            log.info("kb_embedded", extra={"chunks": embedded, "model": embedder.name})
    return PostgresKnowledgeBase(pool, embedder=embedder)


@asynccontextmanager
async def open_components(settings: Settings) -> AsyncIterator[Components]:
    """Start everything a turn needs; close it all on exit."""
    models = build_models(settings)  # fails fast on a bad MODEL before touching the database
    embedder = build_embedder(settings)
    async with open_database(settings) as pool, open_order_source(settings, pool) as orders:
        deps = GraphDeps(
            classifier=models.classifier,
            responder=models.responder,
            knowledge=await open_knowledge_base(settings, pool, embedder),
            orders=orders,
        )
        graph = build_graph(deps, checkpointer=AsyncPostgresSaver(pool))  # type: ignore[arg-type]
        await models.warm_up()
        log.info("service_started", extra={"model": models.description, "embeddings": settings.embeddings})
        yield Components(
            settings=settings,
            pool=pool,
            models=models,
            embedder=embedder,
            deps=deps,
            graph=graph,
            turns=TurnRunner(graph, settings),
        )
