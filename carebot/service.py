"""The running agent: database, checkpointer, models and graph, opened and closed together.

The API's lifespan, the CLI and the Studio entry point all open it the same way.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import langsmith
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph.state import CompiledStateGraph

from carebot.db.embedded import resolve_database_url
from carebot.db.migrations import apply_migrations
from carebot.db.pool import Pool, open_pool
from carebot.demo.seed import seed_demo_help_centre, seed_demo_shop
from carebot.graph import GRAPH_NAME, Context, GraphDeps, build_graph
from carebot.graph.outcome import sources, tool_calls
from carebot.identity import thread_id_for
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

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TurnResult:
    """What one customer message led to."""

    thread_id: str
    answer: str
    intent: str | None
    language: str
    escalate: bool
    escalation_reason: str | None = None
    steps: tuple[str, ...] = ()
    """The graph nodes the turn went through, in order."""
    tool_calls: tuple[dict[str, Any], ...] = ()
    """`{"name", "args"}` of each tool the turn used (order lookup, help-centre search, verification)."""
    sources: tuple[str, ...] = ()
    """Help-centre documents retrieved for the answer, best first."""

    def as_json(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "answer": self.answer,
            "intent": self.intent,
            "language": self.language,
            "escalate": self.escalate,
        }


class CareService:
    """Runs customer turns through the checkpointed graph."""

    def __init__(
        self,
        *,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        deps: GraphDeps,
        pool: Pool,
        settings: Settings,
        models: Models,
        embedder: Embedder | None = None,
    ) -> None:
        self.graph = graph
        self.deps = deps
        self.pool = pool
        self.settings = settings
        self.models = models
        self.embedder = embedder

    def thread_id(self, channel: str, sender: str) -> str:
        return thread_id_for(channel, sender, salt=self.settings.thread_id_salt.get_secret_value())

    def context(self, channel: str, sender: str, turn_id: str | None = None) -> Context:
        return Context(
            channel=channel,
            sender=sender,
            turn_id=turn_id,
            shop_name=self.settings.shop_name,
            history_limit=self.settings.history_limit,
            relevance_threshold=self.settings.relevance_threshold,
        )

    async def chat(
        self, *, channel: str, sender: str, text: str, turn_id: str | None = None, thread_id: str | None = None
    ) -> TurnResult:
        """Answer one customer message and remember it in the customer's thread.

        With LangSmith tracing on, the turn is one trace named for the graph; its metadata
        (thread id, channel, and the intent once classify has run) groups a conversation's
        turns into a LangSmith thread. The sender itself is never sent. `turn_id` (the inbox
        message's id) makes running the same message again replace, not repeat, the turn.
        `thread_id` overrides the sender's own thread (evaluations give every case a fresh one).
        """
        thread_id = thread_id or self.thread_id(channel, sender)
        metadata = {"thread_id": thread_id, "channel": channel}
        async with langsmith.trace(
            GRAPH_NAME, "chain", inputs={"text": text}, metadata=metadata, tags=[f"channel:{channel}"]
        ) as run:
            steps: list[str] = []
            state: dict[str, Any] = {}
            async for mode, chunk in self.graph.astream(
                {"messages": [HumanMessage(text, id=turn_id)]},
                config={"configurable": {"thread_id": thread_id}, "metadata": metadata},
                context=self.context(channel, sender, turn_id),
                stream_mode=["updates", "values"],
            ):
                if mode == "updates":
                    steps.extend(chunk)
                else:
                    state = cast(dict[str, Any], chunk)
            answer = next((m.text for m in reversed(state["messages"]) if isinstance(m, AIMessage)), "")
            escalation = state.get("escalation")
            result = TurnResult(
                thread_id=thread_id,
                answer=answer,
                intent=state.get("intent"),
                language=state.get("language", "en"),
                escalate=escalation is not None,
                escalation_reason=escalation["reason"] if escalation else None,
                steps=tuple(steps),
                tool_calls=tuple(tool_calls(steps, state)),
                sources=tuple(sources(state)),
            )
            run.add_metadata({"intent": result.intent, "language": result.language, "escalated": result.escalate})
            run.end(outputs=result.as_json())
        return result

    async def thread_language(self, *, channel: str, sender: str) -> str:
        """The language the thread was last in ('en' for a new thread)."""
        snapshot = await self.graph.aget_state({"configurable": {"thread_id": self.thread_id(channel, sender)}})
        return str((snapshot.values or {}).get("language", "en"))

    async def history(self, *, channel: str, sender: str) -> list[dict[str, str]]:
        """The thread's messages as the checkpoint holds them, oldest first."""
        thread_id = self.thread_id(channel, sender)
        snapshot = await self.graph.aget_state({"configurable": {"thread_id": thread_id}})
        messages = snapshot.values.get("messages", []) if snapshot.values else []
        return [{"role": "customer" if isinstance(m, HumanMessage) else "bot", "text": m.text} for m in messages]


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Pool]:
    """The database, migrated (checkpoint tables included) and, if configured, seeded with the
    demo shop when empty. Ops commands that need no model open only this."""
    url = await resolve_database_url(settings.database_url, settings.data_dir)
    pool = await open_pool(url, max_size=settings.db_pool_max_size)
    try:
        await AsyncPostgresSaver(pool).setup()  # type: ignore[arg-type]
        await apply_migrations(pool)
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
async def open_service(settings: Settings) -> AsyncIterator[CareService]:
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
        yield CareService(graph=graph, deps=deps, pool=pool, settings=settings, models=models, embedder=embedder)
