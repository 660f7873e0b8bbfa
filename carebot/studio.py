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

from carebot.graph import build_graph
from carebot.service import CareService, open_service
from carebot.settings import get_settings

_services: AsyncExitStack | None = None
_service: CareService | None = None
_lock = asyncio.Lock()


async def _shared_service() -> CareService:
    global _services, _service
    async with _lock:
        if _service is None:
            # Kept open for the life of the dev server process.
            _services = AsyncExitStack()
            _service = await _services.enter_async_context(open_service(get_settings()))
    return _service


async def make_graph(config: RunnableConfig) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The care graph over the shared database; Studio's checkpointer replaces ours."""
    return build_graph((await _shared_service()).deps)
