"""The turn runner: one customer message through the checkpointed graph, and what it did.

It knows nothing of channels, inboxes or HTTP: the delivery worker, `/chat` (through the
worker), the CLI and the eval runner all answer a message by calling `chat`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, cast

import langsmith
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple, copy_checkpoint, get_checkpoint_id
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from carebot.db.scope import current_tenant
from carebot.domain import Language
from carebot.graph import GRAPH_NAME, Context
from carebot.graph.outcome import TurnResult
from carebot.settings import Settings
from carebot.tenants.settings import ShopSettings, ShopSettingsSource, environment_shop
from carebot.threads import thread_id_for
from carebot.verification.codes import OneTimeCodes

# Countries whose calling code makes a WhatsApp sender's language likely: Indonesia, Spain and Spanish-speaking
# Latin America. A first message too short to tell ("status A1001") is answered in it.
_CALLING_CODE_LANGUAGES: dict[str, Language] = {
    "62": "id",
    **dict.fromkeys(
        ("34", "51", "52", "53", "54", "56", "57", "58", "502", "503", "504", "505", "506", "507", "591", "593", "595"),
        "es",
    ),
}


# The checkpoint a turn read to choose how to run, by thread and namespace, until its run reads it.
# None outside `TurnRunner.chat`.
_TURN_READ: ContextVar[dict[tuple[str, str], CheckpointTuple | None] | None] = ContextVar("turn_read", default=None)


class TurnCheckpointer(AsyncPostgresSaver):
    """The Postgres checkpointer, reading a turn's checkpoint once. `TurnRunner.chat` looks at the
    thread's state before running the message (a question waiting for its answer, a step to finish, a
    message already answered); the run then read the same row again: a second round trip and the
    conversation's messages decoded twice, about a sixth of a turn's CPU. Within a turn, the run is
    handed the checkpoint the look read, as long as nothing was pending on it: the turn holds its
    conversation's lock, so the row cannot change in between. A checkpoint with pending writes (an
    interrupt, a saved answer not acted on) is read afresh, as before: the look applies those writes
    to what it read."""

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        kept = _TURN_READ.get()
        if kept is None or get_checkpoint_id(config):
            return await super().aget_tuple(config)
        configurable = config["configurable"]
        key = (str(configurable["thread_id"]), str(configurable.get("checkpoint_ns", "")))
        if key in kept:
            return kept.pop(key)  # once: a second run in the turn reads what the first one saved
        saved = await super().aget_tuple(config)
        if saved is None or not saved.pending_writes:
            # A copy of the checkpoint's dicts, which a run updates in place (versions, values seen).
            kept[key] = saved._replace(checkpoint=copy_checkpoint(saved.checkpoint)) if saved else None
        return saved


@asynccontextmanager
async def _one_checkpoint_read() -> AsyncIterator[None]:
    """Within the block, the runner's look at a thread and the run after it share one checkpoint read
    (with a `TurnCheckpointer`; other checkpointers read twice)."""
    token = _TURN_READ.set({})
    try:
        yield
    finally:
        _TURN_READ.reset(token)


def _answered(values: dict[str, Any], turn_id: str) -> bool:
    """Whether the thread's latest reply is the one to the message `turn_id` (replies carry its id)."""
    replies = [m for m in values.get("messages", []) if isinstance(m, AIMessage)]
    return bool(replies) and replies[-1].id == f"{turn_id}-reply"


def sender_language(channel: str, sender: str) -> Language | None:
    """The language a WhatsApp sender's country suggests; None elsewhere (a Discord id or a web session
    says nothing)."""
    number = sender.removeprefix("whatsapp:")
    if channel != "whatsapp" or not number.startswith("+"):
        return None
    digits = number[1:]
    return next((_CALLING_CODE_LANGUAGES[digits[:n]] for n in (3, 2) if digits[:n] in _CALLING_CODE_LANGUAGES), None)


class TurnRunner:
    """Runs customer turns through the graph, one thread per customer per channel."""

    def __init__(
        self,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        settings: Settings,
        verifier: OneTimeCodes,
        *,
        shops: ShopSettingsSource | None = None,
    ) -> None:
        if settings.thread_id_salt is None:
            raise ValueError("the thread-id salt must be resolved first (composition.with_database_secrets)")
        self.graph = graph
        self._settings = settings
        self._salt = settings.thread_id_salt.get_secret_value()
        self._verifier = verifier
        # Each tenant's shop (name, currency, language); without it, the environment's for every turn.
        self._shops = shops
        self._environment_shop = environment_shop(settings)
        # The same graph without a checkpointer: drafts for operators, which must not touch the thread.
        self._detached_graph = graph.copy(update={"checkpointer": None})

    @property
    def shop_name(self) -> str:
        """The running tenant's shop name, as last read (fixed notices cannot wait on the database)."""
        return self._shops.last_known().name if self._shops else self._settings.shop_name

    async def shop(self) -> ShopSettings:
        """The running tenant's shop (cached: a warm cache asks the database nothing)."""
        return await self._shops.current() if self._shops else self._environment_shop

    def thread_id(self, channel: str, sender: str) -> str:
        return thread_id_for(channel, sender, salt=self._salt, tenant=current_tenant().id)

    def context(
        self, channel: str, sender: str, turn_id: str | None = None, *, shop: ShopSettings | None = None
    ) -> Context:
        shop = shop or self._environment_shop
        return Context(
            channel=channel,
            sender=sender,
            turn_id=turn_id,
            shop_name=shop.name,
            currency=shop.currency,
            default_language=sender_language(channel, sender) or shop.default_language,
            history_limit=self._settings.history_limit,
            relevance_threshold=self._settings.relevance_threshold,
            unsure_signal_floor=self._settings.unsure_signal_floor,
            unsure_relevance=self._settings.unsure_relevance_threshold,
            plain_answer_semantic=self._settings.plain_answer_semantic,
            plain_answer_lexical=self._settings.plain_answer_lexical,
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
        async with (
            langsmith.trace(
                GRAPH_NAME, "chain", inputs={"text": text}, metadata=metadata, tags=[f"channel:{channel}"]
            ) as run,
            _one_checkpoint_read(),
        ):
            config: Any = {"configurable": {"thread_id": thread_id}, "metadata": metadata}
            context = self.context(channel, sender, turn_id, shop=await self.shop())
            message: Any = {"messages": [HumanMessage(text, id=turn_id)]}
            snapshot = await self.graph.aget_state(config)
            steps: list[str]
            if turn_id is not None and _answered(snapshot.values, turn_id):
                # This message's turn was saved whole before the worker died (or its answer was lost on the
                # way): the saved answer stands; running it again could act twice or answer differently.
                steps, values = [], dict(snapshot.values)
            elif snapshot.interrupts:
                # The thread waits on a question (the confirmation of an action): this is the answer.
                steps, values = await self._run(Command(resume={"text": text, "turn_id": turn_id}), config, context)
            elif snapshot.tasks:
                # A run that died after its step but before its checkpoint (or with the answer to its
                # question saved but not acted on) is finished first, from what it saved; the message
                # then runs as usual unless that run was already this message's.
                steps, values = await self._run(None, config, context)
                if turn_id is None or not any(m.id == turn_id for m in values.get("messages", [])):
                    steps, values = await self._run(message, config, context)
            else:
                steps, values = await self._run(message, config, context)
            result = TurnResult.of_run(thread_id, steps, values)
            run.add_metadata({"intent": result.intent, "language": result.language, "escalated": result.escalate})
            run.end(outputs=result.as_json())
        return result

    async def _run(self, graph_input: Any, config: Any, context: Context) -> tuple[list[str], dict[str, Any]]:
        """One graph run: the nodes it went through and its final state."""
        steps: list[str] = []
        values: dict[str, Any] = {}
        async for mode, chunk in self.graph.astream(
            graph_input,
            config=config,
            context=context,
            stream_mode=["updates", "values"],
            # One checkpoint when the turn ends instead of one per node: a crash mid-turn loses
            # the partial turn, and the inbox runs the message again.
            durability="exit",
        ):
            if mode == "updates":
                steps.extend(chunk)
            else:
                values = cast(dict[str, Any], chunk)
        return steps, values

    async def suggest(self, *, channel: str, sender: str, text: str) -> str | None:
        """The bot's draft answer to `text` in the sender's conversation, for an operator to use or
        not: the conversation's state is read, never written (the graph runs without a checkpointer),
        and nothing is sent. None when the bot would hand the message over without a draft."""
        thread_id = self.thread_id(channel, sender)
        snapshot = await self.graph.aget_state({"configurable": {"thread_id": thread_id}})
        history = list((snapshot.values or {}).get("messages", []))
        # The thread id still names the conversation (the verifier's links are kept per sender).
        values = await self._detached_graph.ainvoke(
            {"messages": [*history, HumanMessage(text)]},
            config={"configurable": {"thread_id": thread_id}},
            context=self.context(channel, sender, shop=await self.shop()),
        )
        result = TurnResult.of_run(thread_id, (), values)
        if result.escalate:
            return result.draft
        return result.answer or None

    async def add_notes(self, thread_id: str, notes: list[AIMessage]) -> None:
        """Append what an operator said and hand-over events to the conversation's state, so the
        bot's next turn (and Studio) sees them. The caller holds the conversation's turn lock."""
        if notes:
            config: Any = {"configurable": {"thread_id": thread_id}}
            await self.graph.aupdate_state(config, {"messages": notes}, as_node="escalate")

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

    async def forget(self, thread_id: str) -> None:
        """Delete a thread, its checkpoints and its verification records (evaluation threads are
        deleted after each case)."""
        checkpointer = self.graph.checkpointer
        if checkpointer is not None and not isinstance(checkpointer, bool):
            await checkpointer.adelete_thread(thread_id)
        await self._verifier.forget(thread_id)
