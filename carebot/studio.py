"""The graph as LangGraph Studio / `langgraph dev` loads it (see langgraph.json).

The server calls `make_graph` for every run and supplies its own checkpointer, so the
database, models and tools are opened once per process and reused.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from carebot.composition import Components, open_components
from carebot.db.scope import DEFAULT_TENANT, enter_tenant
from carebot.graph import build_graph
from carebot.settings import get_settings

_stack: AsyncExitStack | None = None
_components: Components | None = None
_lock = asyncio.Lock()


async def _shared_components() -> Components:
    global _stack, _components
    async with _lock:
        if _components is None:
            # Kept open for the life of the dev server process.
            _stack = AsyncExitStack()
            _components = await _stack.enter_async_context(open_components(get_settings()))
    return _components


async def make_graph(config: RunnableConfig) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The care graph over the shared database; Studio's checkpointer replaces ours. Studio works
    for the default tenant (the run is awaited in the task that asked for its graph)."""
    enter_tenant(DEFAULT_TENANT)
    return build_graph((await _shared_components()).deps)
